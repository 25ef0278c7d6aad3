//! From parsed rules to a [`RuleSet`]: names resolved against the attribute catalog, types checked,
//! lists bound. The compiled form (`Src`, `Node`) is what the evaluator (`super::eval`) reads
//! without allocating, and what explanations (`super::explain`) print.

use std::{fmt, sync::Arc};

use super::{
    ast::{CmpOp, Expr, Operand, Rhs, Rule, Span, Spanned},
    eval::{Like, Val},
    parser::{self, SyntaxError},
};
use crate::{
    attributes::{Attr, Kind},
    decision::Action,
    lists::{ListCell, ListLookup},
    reference::{FxTable, currency},
};

// Explanations were defined here before evaluation and explanation moved to files of their own.
pub use super::explain::{Clause, Explanation};

/// A rule that does not load: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// How many characters the caret covers.
    pub width: usize,
    pub message: String,
    /// The line as written.
    pub source_line: String,
}

impl RuleError {
    fn new(line_no: usize, line: &str, span: (usize, usize), message: String) -> Self {
        let start = span.0.min(line.len());
        let end = span.1.clamp(start, line.len());
        let column = line[..start].chars().count() + 1;
        let width = line[start..end].chars().count().max(1);
        Self {
            line: line_no,
            column,
            width,
            message,
            source_line: line.to_owned(),
        }
    }
}

impl fmt::Display for RuleError {
    /// `3:24: message`, then the line and a caret under the mistake (a long line is shown as an
    /// excerpt around the mistake, [`excerpt`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = self.line.to_string();
        let (shown, column, width) = excerpt(&self.source_line, self.column, self.width);
        writeln!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        writeln!(f, " {gutter} | {shown}")?;
        write!(
            f,
            " {} | {}{}",
            " ".repeat(gutter.len()),
            " ".repeat(column - 1),
            "^".repeat(width)
        )
    }
}

/// Longest source line shown whole in an error, in characters; longer ones are cut to this much
/// around the mistake, so that an error about a huge line (a hostile rules file) stays a few
/// hundred bytes in logs and RPC answers.
const MAX_SHOWN: usize = 100;

/// The part of `line` shown for a mistake at 1-based `column`, `width` characters wide: the
/// excerpt (`…` where cut), and the caret's column and width in it.
fn excerpt(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let chars = line.chars().count();
    if chars <= MAX_SHOWN {
        return (line.to_owned(), column, width);
    }
    let start = column.saturating_sub(1 + MAX_SHOWN / 3);
    let end = (start + MAX_SHOWN).min(chars);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(start).take(end - start));
    if end < chars {
        shown.push('…');
    }
    let caret = column - start + usize::from(start > 0);
    (shown, caret, width.min(end + 1 - column.min(end)).max(1))
}

/// Every error of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

/// Where a value comes from.
#[derive(Debug, Clone)]
pub(super) enum Src {
    Attr(Attr),
    /// `:amount_in_<cur>:`: `amount_in_usd` times a factor fixed at compile time.
    Scaled(Attr, f64, Box<str>),
    Meta(Box<str>),
    Text(Box<str>),
    Num(f64),
    Bool(bool),
}

/// The static type of a value; metadata is text that may be read as a number or a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Number,
    Text,
    Bool,
    Meta,
}

impl Ty {
    fn describe(self) -> &'static str {
        match self {
            Ty::Number => "a number",
            Ty::Text => "a string",
            Ty::Bool => "a boolean",
            Ty::Meta => "metadata",
        }
    }
}

/// A compiled condition. Leaves keep their span in the rule line for explanations.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Or(Box<[Node]>),
    And(Box<[Node]>),
    Not(Box<Node>),
    Missing(Src, Span),
    Truthy(Src, Span),
    Cmp(Src, CmpOp, Src, Span),
    InSet(Src, Box<[Src]>, Span),
    InList(Src, Arc<ListCell>, Span),
    Like(Src, Like, Span),
    Includes(Src, Src, Span),
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The written name, else `line_N`.
    pub id: String,
    pub action: Action,
    /// The rule without its name, printed canonically (`Block if :risk_level: = 'highest'`).
    pub predicate: String,
    /// 1-based line in the file (0 for built-in rules).
    pub line: usize,
    /// The line as written.
    pub source_line: String,
    pub rule: Rule,
    pub(super) condition: Node,
}

/// Rules in evaluation order: Request 3D Secure, Allow, Block, Review; file order within an action.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
}

/// Radar's order of actions.
fn action_rank(a: Action) -> u8 {
    match a {
        Action::RequestThreeDSecure => 0,
        Action::Continue => 1,
        Action::Block => 2,
        Action::Review => 3,
    }
}

impl RuleSet {
    /// Compiles a rules file with the default FX rates; every error is reported, not just the
    /// first.
    pub fn compile(source: &str, lists: &dyn ListLookup) -> Result<Self, RuleErrors> {
        Self::compile_with_fx(source, lists, &FxTable::default())
    }

    /// Compiles a rules file; `fx` converts `:amount_in_<currency>:` (from `amount_in_usd`).
    pub fn compile_with_fx(
        source: &str,
        lists: &dyn ListLookup,
        fx: &FxTable,
    ) -> Result<Self, RuleErrors> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in source.lines().enumerate() {
            if parser::is_blank(line) {
                continue;
            }
            match compile_line(i + 1, line, lists, fx) {
                Ok(rule) => rules.push(rule),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(RuleErrors(errors));
        }
        rules.sort_by_key(|r| action_rank(r.action));
        Ok(Self { rules })
    }

    /// The rules in evaluation order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The lists the rules read, by alias (each once).
    pub fn lists(&self) -> Vec<Arc<ListCell>> {
        fn walk(n: &Node, out: &mut Vec<Arc<ListCell>>) {
            match n {
                Node::Or(items) | Node::And(items) => items.iter().for_each(|i| walk(i, out)),
                Node::Not(i) => walk(i, out),
                Node::InList(_, cell, _) if !out.iter().any(|c| c.alias() == cell.alias()) => {
                    out.push(cell.clone());
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for r in &self.rules {
            walk(&r.condition, &mut out);
        }
        out
    }
}

fn compile_line(
    line_no: usize,
    line: &str,
    lists: &dyn ListLookup,
    fx: &FxTable,
) -> Result<CompiledRule, RuleError> {
    let err = |span: (usize, usize), m: String| RuleError::new(line_no, line, span, m);
    let rule =
        parser::parse_rule(line).map_err(|SyntaxError { span, message }| err(span, message))?;
    let condition = Compiler { lists, fx }
        .expr(&rule.condition)
        .map_err(|(span, m)| err((span.start, span.end), m))?;
    Ok(CompiledRule {
        id: rule
            .name
            .clone()
            .unwrap_or_else(|| format!("line_{line_no}")),
        action: rule.action,
        predicate: format!("{} if {}", rule.action.rule_verb(), rule.condition),
        line: line_no,
        source_line: line.to_owned(),
        rule,
        condition,
    })
}

type CompileResult<T> = Result<T, (Span, String)>;

struct Compiler<'l> {
    lists: &'l dyn ListLookup,
    fx: &'l FxTable,
}

/// The closest catalog name to `name`, if close enough to be a likely typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    Attr::ALL
        .iter()
        .map(|a| (levenshtein(name, a.name()), a.name()))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The catalog attribute named `name`.
pub fn attr_by_name(name: &str) -> Option<Attr> {
    Attr::ALL.iter().copied().find(|a| a.name() == name)
}

impl Compiler<'_> {
    /// The factor from USD to the currency of `amount_in_<cur>`, if `name` is one with a rate.
    fn amount_in(&self, name: &str) -> Option<f64> {
        let code = name.strip_prefix("amount_in_")?;
        let cur = currency(code)?;
        self.fx
            .rate(cur.code)
            .map(|usd_per_unit| 1.0 / usd_per_unit)
    }

    fn expr(&self, e: &Expr) -> CompileResult<Node> {
        Ok(match e {
            Expr::Or(items) => Node::Or(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::And(items) => Node::And(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Node::Not(Box::new(self.expr(inner)?)),
            Expr::IsMissing(o) => Node::Missing(self.operand(o)?.0, o.span),
            Expr::Truthy(o) => {
                let (src, ty) = self.operand(o)?;
                if !matches!(ty, Ty::Bool | Ty::Meta) {
                    return Err((
                        o.span,
                        format!(
                            "{} is {}: it needs a comparison (such as `{} = …`); only boolean attributes stand alone",
                            o.node,
                            ty.describe(),
                            o.node
                        ),
                    ));
                }
                Node::Truthy(src, o.span)
            }
            Expr::Compare { lhs, op, rhs } => self.compare(lhs, op, rhs)?,
        })
    }

    fn operand(&self, o: &Spanned<Operand>) -> CompileResult<(Src, Ty)> {
        Ok(match &o.node {
            Operand::Attr(name)
                if attr_by_name(name).is_none() && self.amount_in(name).is_some() =>
            {
                let factor = self.amount_in(name).expect("checked");
                (
                    Src::Scaled(Attr::AmountInUsd, factor, name.as_str().into()),
                    Ty::Number,
                )
            }
            Operand::Attr(name) => {
                let attr = attr_by_name(name).ok_or_else(|| {
                    let hint = suggest(name)
                        .map(|s| format!("; did you mean `:{s}:`?"))
                        .unwrap_or_else(|| {
                            "; `riskgate rules attributes` lists every attribute".into()
                        });
                    (o.span, format!("unknown attribute `:{name}:`{hint}"))
                })?;
                let ty = match attr.kind() {
                    Kind::Number => Ty::Number,
                    Kind::Text => Ty::Text,
                    Kind::Bool => Ty::Bool,
                };
                (Src::Attr(attr), ty)
            }
            Operand::Meta(k) => (Src::Meta(k.as_str().into()), Ty::Meta),
            Operand::Str(s) => (Src::Text(s.as_str().into()), Ty::Text),
            Operand::Num(n) => (Src::Num(*n), Ty::Number),
            Operand::Bool(b) => (Src::Bool(*b), Ty::Bool),
        })
    }

    fn compare(
        &self,
        lhs: &Spanned<Operand>,
        op: &Spanned<CmpOp>,
        rhs: &Spanned<Rhs>,
    ) -> CompileResult<Node> {
        let (l, lt) = self.operand(lhs)?;
        let span = lhs.span.to(rhs.span);
        let string_ops = |what: &str| {
            (
                op.span,
                format!(
                    "{} is {what}; `{}` does not apply (string attributes accept only =, !=, IN, LIKE and INCLUDES)",
                    lhs.node,
                    op.node.as_str()
                ),
            )
        };
        match (&op.node, &rhs.node) {
            (CmpOp::In, Rhs::SavedList(alias)) | (CmpOp::Eq, Rhs::SavedList(alias)) => {
                if !matches!(lt, Ty::Text | Ty::Meta) {
                    return Err((
                        lhs.span,
                        format!("{} is {}; lists hold strings", lhs.node, lt.describe()),
                    ));
                }
                let cell = self.lists.lookup(alias).ok_or_else(|| {
                    (
                        rhs.span,
                        format!("unknown list `@{alias}`: create it with CreateValueList first"),
                    )
                })?;
                Ok(Node::InList(l, cell, span))
            }
            (_, Rhs::SavedList(_)) => Err((
                op.span,
                format!("expected IN before a list, found `{}`", op.node.as_str()),
            )),
            (CmpOp::In, Rhs::List(items)) => {
                if lt == Ty::Bool {
                    return Err((
                        lhs.span,
                        format!(
                            "{} is a boolean; compare it with = true or = false",
                            lhs.node
                        ),
                    ));
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let (src, ty) = self.operand(item)?;
                    if !matches!(src, Src::Text(_) | Src::Num(_) | Src::Bool(_)) {
                        return Err((
                            item.span,
                            "expected a string or number literal in the list".into(),
                        ));
                    }
                    if lt != Ty::Meta && ty != lt {
                        return Err((
                            item.span,
                            format!(
                                "{} is {}, but this list item is {}",
                                lhs.node,
                                lt.describe(),
                                ty.describe()
                            ),
                        ));
                    }
                    out.push(src);
                }
                Ok(Node::InSet(l, out.into(), span))
            }
            (_, Rhs::List(_)) => Err((
                op.span,
                format!("expected IN before a list, found `{}`", op.node.as_str()),
            )),
            (op_kind, Rhs::Operand(r)) => {
                let r_spanned = Spanned::new(r.clone(), rhs.span);
                let (mut r_src, rt) = self.operand(&r_spanned)?;
                match op_kind {
                    CmpOp::Like => {
                        if !matches!(lt, Ty::Text | Ty::Meta) {
                            return Err(string_ops_only(lhs, op, lt));
                        }
                        let Src::Text(p) = &r_src else {
                            return Err((
                                rhs.span,
                                "expected a string pattern after LIKE, such as '%@example.com'"
                                    .into(),
                            ));
                        };
                        Ok(Node::Like(l, Like::new(p), span))
                    }
                    CmpOp::Includes => {
                        if !matches!(lt, Ty::Text | Ty::Meta) || !matches!(rt, Ty::Text | Ty::Meta)
                        {
                            return Err((
                                span,
                                "INCLUDES compares strings: `:attr: INCLUDES 'text'`".into(),
                            ));
                        }
                        Ok(Node::Includes(l, r_src, span))
                    }
                    CmpOp::Eq | CmpOp::Ne => {
                        // `:is_3d_secure: = 'true'` (Radar's documented form) compares as a boolean.
                        if lt == Ty::Bool
                            && let Src::Text(t) = &r_src
                        {
                            match Val::Text(t).as_bool() {
                                Some(b) => r_src = Src::Bool(b),
                                None => {
                                    return Err((
                                        rhs.span,
                                        format!(
                                            "{} is a boolean; expected true or false, found '{t}'",
                                            lhs.node
                                        ),
                                    ));
                                }
                            }
                        } else if lt != rt && lt != Ty::Meta && rt != Ty::Meta {
                            return Err((
                                rhs.span,
                                format!(
                                    "{} is {}, but {} is {}",
                                    lhs.node,
                                    lt.describe(),
                                    r,
                                    rt.describe()
                                ),
                            ));
                        }
                        Ok(Node::Cmp(l, *op_kind, r_src, span))
                    }
                    CmpOp::Lt | CmpOp::Gt | CmpOp::Le | CmpOp::Ge => {
                        for (side, ty, o) in [(lhs.span, lt, &lhs.node), (rhs.span, rt, r)] {
                            match ty {
                                Ty::Number | Ty::Meta => {}
                                Ty::Text => {
                                    return Err(if side.start == lhs.span.start {
                                        string_ops("a string")
                                    } else {
                                        (
                                            side,
                                            format!(
                                                "{o} is a string; `{}` compares numbers",
                                                op.node.as_str()
                                            ),
                                        )
                                    });
                                }
                                Ty::Bool => {
                                    return Err((
                                        side,
                                        format!(
                                            "{o} is a boolean; `{}` compares numbers",
                                            op.node.as_str()
                                        ),
                                    ));
                                }
                            }
                        }
                        Ok(Node::Cmp(l, *op_kind, r_src, span))
                    }
                    CmpOp::In => unreachable!("IN takes a list; the parser refuses anything else"),
                }
            }
        }
    }
}

fn string_ops_only(lhs: &Spanned<Operand>, op: &Spanned<CmpOp>, lt: Ty) -> (Span, String) {
    (
        op.span,
        format!(
            "{} is {}; `{}` applies to strings only",
            lhs.node,
            lt.describe(),
            op.node.as_str()
        ),
    )
}
