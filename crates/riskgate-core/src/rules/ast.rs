//! The syntax tree of a rule, as written. [`std::fmt::Display`] prints a rule that parses back to the
//! same tree (positions aside), which the property test in `parser.rs` checks.

use std::fmt;

use crate::{attributes::MetadataScope, decision::Action};

/// A byte range in the rule's line (`start..end`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Positions are not part of a rule's meaning: two nodes are equal when their contents are, wherever
/// they were written.
impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

/// One rule: `[name:] Action if condition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The optional id or name written before the action.
    pub name: Option<String>,
    pub action: Action,
    pub condition: Expr,
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Two or more alternatives.
    Or(Vec<Expr>),
    /// Two or more conjuncts.
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `is_missing(:attr:)` or `is_missing(::key::)`.
    IsMissing(Spanned<Operand>),
    /// A value standing alone (`:is_off_session:`): true when it is the boolean true.
    Truthy(Spanned<Operand>),
    Compare {
        lhs: Spanned<Operand>,
        op: Spanned<CmpOp>,
        rhs: Spanned<Rhs>,
    },
}

/// A single value: an attribute, a metadata key or a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `:name:`
    Attr(String),
    /// `::key::`, `::customer:key::`, `::destination:key::`, `::account:key::`.
    Meta(MetaKey),
    Str(String),
    /// The pattern after LIKE, as written between the quotes (escapes kept: `\%` is a literal
    /// percent sign, `%` the wildcard).
    Pattern(String),
    Num(f64),
    /// `true` / `false`: not values in Radar's language; parsed so that the compiler can say so.
    Bool(bool),
}

/// A metadata reference: whose metadata, and the key (which may contain spaces and colons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaKey {
    pub scope: MetadataScope,
    pub key: String,
}

impl MetaKey {
    /// Reads `customer:Trusted` as the key `Trusted` of the customer's metadata; a key without one
    /// of the three namespaces is the payment's.
    pub fn parse(written: &str) -> Self {
        for scope in MetadataScope::ALL {
            if let Some(prefix) = scope.prefix()
                && let Some(key) = written
                    .strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix(':'))
                && !key.is_empty()
            {
                return Self {
                    scope,
                    key: key.to_owned(),
                };
            }
        }
        Self {
            scope: MetadataScope::Payment,
            key: written.to_owned(),
        }
    }
}

impl fmt::Display for MetaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope.prefix() {
            Some(p) => write!(f, "::{p}:{}::", self.key),
            None => write!(f, "::{}::", self.key),
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    Operand(Operand),
    /// `('gb', 'ie')`
    List(Vec<Spanned<Operand>>),
    /// `@alias`
    SavedList(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    Includes,
    Like,
}

impl CmpOp {
    pub const fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
            CmpOp::In => "IN",
            CmpOp::Includes => "INCLUDES",
            CmpOp::Like => "LIKE",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name}: ")?;
        }
        write!(f, "{} if {}", self.action.rule_verb(), self.condition)
    }
}

impl Expr {
    /// Binding strength: OR < AND < NOT < atoms.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            Expr::Not(_) => 3,
            _ => 4,
        }
    }

    fn fmt_child(&self, child: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An n-ary child of the same kind is parenthesised too, so the printed rule keeps the shape.
        if child.precedence() <= self.precedence() {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(items) | Expr::And(items) => {
                let sep = if matches!(self, Expr::Or(_)) {
                    " OR "
                } else {
                    " AND "
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    self.fmt_child(item, f)?;
                }
                Ok(())
            }
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                if inner.precedence() < 3 {
                    write!(f, "({inner})")
                } else {
                    write!(f, "{inner}")
                }
            }
            Expr::IsMissing(o) => write!(f, "is_missing({})", o.node),
            Expr::Truthy(o) => write!(f, "{}", o.node),
            Expr::Compare { lhs, op, rhs } => {
                write!(f, "{} {} {}", lhs.node, op.node.as_str(), rhs.node)
            }
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Attr(a) => write!(f, ":{a}:"),
            Operand::Meta(k) => write!(f, "{k}"),
            Operand::Pattern(raw) => write!(f, "'{raw}'"),
            Operand::Str(s) => {
                f.write_str("'")?;
                for c in s.chars() {
                    if c == '\'' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("'")
            }
            Operand::Num(n) => write!(f, "{n}"),
            Operand::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Rhs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rhs::Operand(o) => write!(f, "{o}"),
            Rhs::List(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", item.node)?;
                }
                f.write_str(")")
            }
            Rhs::SavedList(alias) => write!(f, "@{alias}"),
        }
    }
}
