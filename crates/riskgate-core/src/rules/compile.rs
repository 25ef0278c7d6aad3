//! From parsed rules to a [`RuleSet`]: names resolved against the attribute catalog (and Stripe's
//! full attribute list, `coverage.rs`), types checked (`check.rs`), lists bound. The compiled form
//! (`Src`, `Node`) is what the evaluator (`super::eval`) reads without allocating, and what
//! explanations (`super::explain`) print.

use std::{fmt, sync::Arc};

use super::{
    ast::{CmpOp, MetaKey, Rule, Span},
    check::Compiler,
    eval::Like,
    parser::{self, SyntaxError},
};
use crate::{
    attributes::Attr,
    decision::Action,
    lists::{ListCell, ListLookup},
    reference::FxTable,
};

// Explanations were defined here before evaluation and explanation moved to files of their own.
pub use super::explain::{Clause, Explanation};

/// A rule that does not load (or loads with a warning): where it is and what is wrong.
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

/// A rule that loads but probably does not do what its author meant (a value Radar does not use, a
/// counter compared beyond its cap, an attribute riskgate only has when the request carries it).
pub type RuleWarning = RuleError;

impl RuleError {
    pub(super) fn new(line_no: usize, line: &str, span: (usize, usize), message: String) -> Self {
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
    /// A Radar Boolean that reads as false when the payment lacks it.
    FalseIfAbsent(Attr),
    /// Another Radar name for the same value (`:total_transactions_per_email_daily:`), as written.
    Alias(Attr, Box<str>),
    /// `:amount_in_<cur>:`: `amount_in_usd` times a factor fixed at compile time.
    Scaled(Attr, f64, Box<str>),
    /// A Radar attribute that is always missing on riskgate's card payments, as written.
    Absent(Box<str>),
    Meta(MetaKey),
    Text(Box<str>),
    Num(f64),
}

/// A compiled condition. Leaves keep their span in the rule line for explanations; `fold` says
/// whether strings compare without regard to case (the attribute's case rule).
#[derive(Debug, Clone)]
pub(super) enum Node {
    Or(Box<[Node]>),
    And(Box<[Node]>),
    Not(Box<Node>),
    Missing(Src, Span),
    Truthy(Src, Span),
    Cmp {
        l: Src,
        op: CmpOp,
        r: Src,
        fold: bool,
        span: Span,
    },
    InSet {
        l: Src,
        items: Box<[Src]>,
        fold: bool,
        span: Span,
    },
    InList(Src, Arc<ListCell>, Span),
    Like {
        l: Src,
        like: Like,
        fold: bool,
        span: Span,
    },
    Includes {
        l: Src,
        r: Src,
        fold: bool,
        span: Span,
    },
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
    /// The attributes the rule reads, by the name written (each once).
    pub attributes: Vec<String>,
    pub(super) condition: Node,
}

/// Rules in evaluation order: Request 3D Secure, Allow, Block, Review; file order within an action
/// (Radar does not order rules of one action; riskgate's file order makes the reported rule
/// deterministic).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    warnings: Vec<RuleWarning>,
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
        let mut warnings = Vec::new();
        for (i, line) in source.lines().enumerate() {
            if parser::is_blank(line) {
                continue;
            }
            match compile_line(i + 1, line, lists, fx, &mut warnings) {
                Ok(rule) => rules.push(rule),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(RuleErrors(errors));
        }
        rules.sort_by_key(|r| action_rank(r.action));
        Ok(Self { rules, warnings })
    }

    /// The rules in evaluation order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// What loaded but deserves a look, in file order.
    pub fn warnings(&self) -> &[RuleWarning] {
        &self.warnings
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
    warnings: &mut Vec<RuleWarning>,
) -> Result<CompiledRule, RuleError> {
    let err = |span: (usize, usize), m: String| RuleError::new(line_no, line, span, m);
    let rule =
        parser::parse_rule(line).map_err(|SyntaxError { span, message }| err(span, message))?;
    let mut compiler = Compiler::new(lists, fx);
    let condition = compiler
        .expr(&rule.condition)
        .map_err(|(span, m)| err((span.start, span.end), m))?;
    warnings.extend(
        compiler
            .warnings
            .into_iter()
            .map(|(span, m)| err((span.start, span.end), m)),
    );
    Ok(CompiledRule {
        id: rule
            .name
            .clone()
            .unwrap_or_else(|| format!("line_{line_no}")),
        action: rule.action,
        predicate: format!("{} if {}", rule.action.rule_verb(), rule.condition),
        line: line_no,
        source_line: line.to_owned(),
        attributes: compiler.attributes,
        rule,
        condition,
    })
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
