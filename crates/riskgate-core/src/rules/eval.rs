//! Evaluating a [`RuleSet`] against an [`Attributes`] set without allocating: values are read in
//! place, text compares case-insensitively (ASCII in place; other text folded with
//! [`crate::text::fold`], as value lists compare), `%` patterns match piece by piece, and any
//! comparison with a missing value is false.

use std::fmt;

use super::{
    ast::{CmpOp, Span},
    compile::{CompiledRule, Node, RuleSet, Src},
};
use crate::{
    attributes::Attributes,
    text::{eq_folded, fold},
};

/// A value read during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Val<'v> {
    Num(f64),
    Text(&'v str),
    Bool(bool),
}

impl Val<'_> {
    fn as_num(self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(n),
            Val::Text(t) => t.trim().parse().ok(),
            Val::Bool(_) => None,
        }
    }

    pub(super) fn as_bool(self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(b),
            Val::Text(t) if t.eq_ignore_ascii_case("true") => Some(true),
            Val::Text(t) if t.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Num(n) => write!(f, "{n}"),
            Val::Text(t) => write!(f, "'{t}'"),
            Val::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A compiled `%` pattern: literal pieces between wildcards, matched case-insensitively.
#[derive(Debug, Clone)]
pub(super) struct Like {
    pub(super) pieces: Box<[Box<str>]>,
    pub(super) anchored_start: bool,
    pub(super) anchored_end: bool,
}

impl Like {
    pub(super) fn new(pattern: &str) -> Self {
        Self {
            pieces: pattern
                .split('%')
                .filter(|p| !p.is_empty())
                .map(Into::into)
                .collect(),
            anchored_start: !pattern.starts_with('%'),
            anchored_end: !pattern.ends_with('%'),
        }
    }

    fn matches(&self, text: &str) -> bool {
        if text.is_ascii() && self.pieces.iter().all(|p| p.is_ascii()) {
            return self.matches_pieces(text.as_bytes(), &self.pieces);
        }
        // Unicode: both sides folded (crate::text::fold), as lists and velocity keys compare.
        let folded: Vec<std::borrow::Cow<'_, str>> = self.pieces.iter().map(|p| fold(p)).collect();
        self.matches_pieces(fold(text).as_bytes(), &folded)
    }

    fn matches_pieces(&self, t: &[u8], pieces: &[impl AsRef<str>]) -> bool {
        let n = pieces.len();
        if n == 0 {
            // '' matches only the empty string; any pattern of wildcards matches anything.
            return !(self.anchored_start && self.anchored_end) || t.is_empty();
        }
        let mut at = 0;
        for (i, piece) in pieces.iter().enumerate() {
            let p = piece.as_ref().as_bytes();
            let last = i + 1 == n;
            if i == 0 && self.anchored_start {
                if !starts_with_ci(t, p) {
                    return false;
                }
                at = p.len();
                if last && self.anchored_end {
                    return t.len() == p.len();
                }
                continue;
            }
            if last && self.anchored_end {
                return t.len() >= at + p.len() && ends_with_ci(&t[at..], p);
            }
            match find_ci(&t[at..], p) {
                Some(pos) => at += pos + p.len(),
                None => return false,
            }
        }
        true
    }
}

fn starts_with_ci(t: &[u8], p: &[u8]) -> bool {
    t.len() >= p.len() && t[..p.len()].eq_ignore_ascii_case(p)
}

fn ends_with_ci(t: &[u8], p: &[u8]) -> bool {
    t.len() >= p.len() && t[t.len() - p.len()..].eq_ignore_ascii_case(p)
}

/// Whether `needle` occurs in `hay`, compared as [`crate::text::fold`] compares (ASCII without
/// allocating).
fn includes(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        return find_ci(hay.as_bytes(), needle.as_bytes()).is_some();
    }
    fold(hay).contains(fold(needle).as_ref())
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

impl RuleSet {
    /// The first rule that matches, in evaluation order. Does not allocate.
    pub fn evaluate<'r>(&'r self, attrs: &Attributes<'_>) -> Option<&'r CompiledRule> {
        self.rules()
            .iter()
            .find(|r| eval(&r.condition, attrs, &mut NoTrace))
    }

    /// Whether each rule matches (in [`RuleSet::rules`] order), into `out` (for backtests, which
    /// score every rule, not only the first match).
    pub fn match_all(&self, attrs: &Attributes<'_>, out: &mut Vec<bool>) {
        out.clear();
        out.extend(
            self.rules()
                .iter()
                .map(|r| eval(&r.condition, attrs, &mut NoTrace)),
        );
    }
}

/// Records clause results for explanations; the no-op version compiles away.
pub(super) trait Tracer {
    /// Evaluate every child (no short-circuit) so that each clause is reported.
    const FULL: bool;
    fn clause(&mut self, span: Span, node: &Node, attrs: &Attributes<'_>, result: bool);
}

struct NoTrace;

impl Tracer for NoTrace {
    const FULL: bool = false;
    #[inline(always)]
    fn clause(&mut self, _: Span, _: &Node, _: &Attributes<'_>, _: bool) {}
}

#[inline]
pub(super) fn read<'v>(s: &'v Src, attrs: &'v Attributes<'_>) -> Option<Val<'v>> {
    use crate::attributes::Value;
    match s {
        Src::Attr(a) => attrs.get(*a).map(|v| match v {
            Value::Number(n) => Val::Num(*n),
            Value::Text(t) => Val::Text(t),
            Value::Bool(b) => Val::Bool(*b),
        }),
        Src::Scaled(a, factor, _) => attrs.number(*a).map(|n| Val::Num(n * factor)),
        Src::Meta(k) => attrs.metadata(k).map(Val::Text),
        Src::Text(t) => Some(Val::Text(t)),
        Src::Num(n) => Some(Val::Num(*n)),
        Src::Bool(b) => Some(Val::Bool(*b)),
    }
}

/// Equality: numbers numerically (metadata parsed), booleans as booleans, text case-insensitively.
fn equal(a: Val<'_>, b: Val<'_>) -> Option<bool> {
    match (a, b) {
        (Val::Text(x), Val::Text(y)) => Some(eq_folded(x, y)),
        (Val::Num(_), _) | (_, Val::Num(_)) => Some(a.as_num()? == b.as_num()?),
        (Val::Bool(_), _) | (_, Val::Bool(_)) => Some(a.as_bool()? == b.as_bool()?),
    }
}

pub(super) fn eval<T: Tracer>(node: &Node, attrs: &Attributes<'_>, t: &mut T) -> bool {
    let result = match node {
        Node::Or(items) => {
            if T::FULL {
                items.iter().fold(false, |acc, n| eval(n, attrs, t) | acc)
            } else {
                items.iter().any(|n| eval(n, attrs, t))
            }
        }
        Node::And(items) => {
            if T::FULL {
                items.iter().fold(true, |acc, n| eval(n, attrs, t) & acc)
            } else {
                items.iter().all(|n| eval(n, attrs, t))
            }
        }
        Node::Not(inner) => return !eval(inner, attrs, t),
        Node::Missing(s, _) => read(s, attrs).is_none(),
        Node::Truthy(s, _) => read(s, attrs).and_then(Val::as_bool) == Some(true),
        Node::Cmp(l, op, r, _) => match (read(l, attrs), read(r, attrs)) {
            (Some(a), Some(b)) => match op {
                CmpOp::Eq => equal(a, b) == Some(true),
                CmpOp::Ne => equal(a, b) == Some(false),
                _ => match (a.as_num(), b.as_num()) {
                    (Some(x), Some(y)) => match op {
                        CmpOp::Lt => x < y,
                        CmpOp::Gt => x > y,
                        CmpOp::Le => x <= y,
                        _ => x >= y,
                    },
                    _ => false,
                },
            },
            // Radar: any comparison with a missing value is false.
            _ => false,
        },
        Node::InSet(l, items, _) => read(l, attrs).is_some_and(|a| {
            items
                .iter()
                .any(|i| read(i, attrs).and_then(|b| equal(a, b)) == Some(true))
        }),
        Node::InList(l, cell, _) => match read(l, attrs) {
            Some(Val::Text(v)) => cell.contains(v),
            _ => false,
        },
        Node::Like(l, like, _) => match read(l, attrs) {
            Some(Val::Text(v)) => like.matches(v),
            _ => false,
        },
        Node::Includes(l, r, _) => match (read(l, attrs), read(r, attrs)) {
            (Some(Val::Text(h)), Some(Val::Text(n))) => includes(h, n),
            _ => false,
        },
    };
    if T::FULL {
        let span = match node {
            Node::Missing(_, s)
            | Node::Truthy(_, s)
            | Node::Cmp(_, _, _, s)
            | Node::InSet(_, _, s)
            | Node::InList(_, _, s)
            | Node::Like(_, _, s)
            | Node::Includes(_, _, s) => *s,
            _ => Span::default(),
        };
        t.clause(span, node, attrs, result);
    }
    result
}

#[cfg(test)]
mod unicode {
    //! Text compares as value lists and velocity keys do: folded (NFKC + full case folding).

    use std::borrow::Cow;

    use crate::{
        attributes::{Attr, Attributes, Value},
        lists::StaticLists,
        rules::RuleSet,
    };

    #[test]
    fn case_variants_beyond_ascii_match() {
        let mut a = Attributes::default();
        a.set(
            Attr::Email,
            Value::Text(Cow::Borrowed("jörg.straße@example.de")),
        );
        for (cond, expected) in [
            (":email: = 'JÖRG.STRASSE@example.de'", true),
            (":email: != 'JÖRG.STRASSE@example.de'", false),
            (":email: IN ('x@y.co', 'ＪÖＲＧ.straße@EXAMPLE.de')", true),
            (":email: LIKE 'JÖRG%'", true),
            (":email: LIKE '%STRASSE@%'", true),
            (":email: LIKE 'jorg%'", false),
            (":email: INCLUDES 'ÖRG.STRASSE'", true),
            (":email: INCLUDES 'ORG.'", false),
        ] {
            let set = RuleSet::compile(&format!("Block if {cond}"), &StaticLists::default())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(set.evaluate(&a).is_some(), expected, "{cond}");
        }
    }
}
