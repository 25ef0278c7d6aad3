//! Evaluating a [`RuleSet`] against an [`Attributes`] set without allocating, with Radar's
//! semantics (rules reference, "missing attributes"): every comparison is true, false or
//! **missing** (it read a missing value: an attribute, a metadata key, an amount without an FX
//! rate, a metadata value that is not a number where one is needed); `NOT` carries missing forward;
//! `AND`/`OR` follow Kleene's three-valued logic (false AND missing = false, true OR missing =
//! true); a rule matches only when its condition is true. `is_missing()` and Radar's Booleans
//! (false when the payment lacks them) are never missing.
//!
//! Strings compare by the attribute's case rule (`fold`): case-insensitively for most — Unicode
//! case, as value lists and velocity keys compare (ASCII in place; other text folded with
//! [`crate::text::fold`]) — exactly for metadata, ids, fingerprints and issuer check results; `%`
//! patterns match piece by piece.

use std::fmt;

use super::{
    ast::CmpOp,
    compile::{CompiledRule, Node, RuleSet, Src},
};
use crate::{
    attributes::Attributes,
    decision::Action,
    text::{eq_folded, fold as fold_text},
};

/// The value of a condition: Radar's two truth values and "missing".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    False,
    True,
    /// The condition read a missing value (it is not true, and NOT does not make it true).
    Missing,
}

impl Truth {
    fn from_bool(b: bool) -> Self {
        if b { Truth::True } else { Truth::False }
    }

    /// Kleene negation: NOT missing is missing.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Missing => Truth::Missing,
        }
    }

    /// Kleene conjunction: false wins, then missing.
    pub fn and(self, other: Self) -> Self {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Missing,
        }
    }

    /// Kleene disjunction: true wins, then missing.
    pub fn or(self, other: Self) -> Self {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Missing,
        }
    }

    /// How explanations print it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Truth::True => "true",
            Truth::False => "false",
            Truth::Missing => "missing",
        }
    }
}

impl fmt::Display for Truth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value read during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Val<'v> {
    Num(f64),
    Text(&'v str),
    Bool(bool),
}

impl Val<'_> {
    /// A number: numbers as they are, strings (metadata) when they read as one.
    fn as_num(self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(n),
            Val::Text(t) => t.trim().parse().ok().filter(|n: &f64| n.is_finite()),
            Val::Bool(_) => None,
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

/// A piece of a `%` pattern.
#[derive(Debug, Clone)]
pub(super) struct Like {
    /// Literal pieces between wildcards (escapes resolved).
    pub(super) pieces: Box<[Box<str>]>,
    pub(super) anchored_start: bool,
    pub(super) anchored_end: bool,
    /// The pattern as written between the quotes.
    pub(super) raw: Box<str>,
}

impl Like {
    /// Compiles a pattern as written: `%` is the wildcard; `\%` a literal percent sign and `\x`
    /// the character x.
    pub(super) fn new(raw: &str) -> Self {
        let mut pieces = Vec::new();
        let mut piece = String::new();
        let mut anchored_start = true;
        let mut anchored_end = true;
        let mut chars = raw.chars().peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(esc) = chars.next() {
                        piece.push(esc);
                    }
                    anchored_end = true;
                }
                '%' => {
                    if first {
                        anchored_start = false;
                    }
                    if !piece.is_empty() {
                        pieces.push(std::mem::take(&mut piece).into_boxed_str());
                    }
                    anchored_end = false;
                }
                c => {
                    piece.push(c);
                    anchored_end = true;
                }
            }
            first = false;
        }
        if !piece.is_empty() {
            pieces.push(piece.into_boxed_str());
        }
        Self {
            pieces: pieces.into(),
            anchored_start,
            anchored_end,
            raw: raw.into(),
        }
    }

    fn matches(&self, text: &str, fold: bool) -> bool {
        if !fold || (text.is_ascii() && self.pieces.iter().all(|p| p.is_ascii())) {
            return self.matches_pieces(text.as_bytes(), &self.pieces, fold);
        }
        // Unicode: both sides folded (crate::text::fold), as lists and velocity keys compare.
        let folded: Vec<std::borrow::Cow<'_, str>> =
            self.pieces.iter().map(|p| fold_text(p)).collect();
        self.matches_pieces(fold_text(text).as_bytes(), &folded, false)
    }

    fn matches_pieces(&self, t: &[u8], pieces: &[impl AsRef<str>], fold: bool) -> bool {
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
                if !starts_with(t, p, fold) {
                    return false;
                }
                at = p.len();
                if last && self.anchored_end {
                    return t.len() == p.len();
                }
                continue;
            }
            if last && self.anchored_end {
                return t.len() >= at + p.len() && ends_with(&t[at..], p, fold);
            }
            match find(&t[at..], p, fold) {
                Some(pos) => at += pos + p.len(),
                None => return false,
            }
        }
        true
    }
}

fn bytes_eq(a: &[u8], b: &[u8], fold: bool) -> bool {
    if fold {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn starts_with(t: &[u8], p: &[u8], fold: bool) -> bool {
    t.len() >= p.len() && bytes_eq(&t[..p.len()], p, fold)
}

fn ends_with(t: &[u8], p: &[u8], fold: bool) -> bool {
    t.len() >= p.len() && bytes_eq(&t[t.len() - p.len()..], p, fold)
}

/// Whether `needle` occurs in `hay`: exactly, or (`fold`) as [`crate::text::fold`] compares (ASCII
/// without allocating).
fn includes(hay: &str, needle: &str, fold: bool) -> bool {
    if !fold || (hay.is_ascii() && needle.is_ascii()) {
        return find(hay.as_bytes(), needle.as_bytes(), fold).is_some();
    }
    fold_text(hay).contains(fold_text(needle).as_ref())
}

fn find(hay: &[u8], needle: &[u8], fold: bool) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len())
        .position(|w| bytes_eq(w, needle, fold))
}

impl RuleSet {
    /// The rule that decides, in Radar's order, or `None` (continue). Request 3D Secure rules run
    /// first but do not end evaluation; Allow, Block and Review follow, and the first of them that
    /// matches ends it. The answer is that rule's action, except that a Request 3D Secure match
    /// stands unless a Block rule matches (then Block decides): an Allow or Review match then
    /// applies when the payment is evaluated again with the 3D Secure result. Does not allocate.
    pub fn evaluate<'r>(&'r self, attrs: &Attributes<'_>) -> Option<&'r CompiledRule> {
        let mut three_ds = None;
        for r in self.rules() {
            if r.action == Action::RequestThreeDSecure {
                if three_ds.is_none() && matches(r, attrs) {
                    three_ds = Some(r);
                }
                continue;
            }
            if matches(r, attrs) {
                return Some(match (r.action, three_ds) {
                    (Action::Block, _) | (_, None) => r,
                    (_, Some(t)) => t,
                });
            }
        }
        three_ds
    }

    /// Whether each rule matches (in [`RuleSet::rules`] order), into `out` (for backtests, which
    /// score every rule, not only the first match).
    pub fn match_all(&self, attrs: &Attributes<'_>, out: &mut Vec<bool>) {
        out.clear();
        out.extend(self.rules().iter().map(|r| matches(r, attrs)));
    }
}

fn matches(r: &CompiledRule, attrs: &Attributes<'_>) -> bool {
    eval(&r.condition, attrs, &mut NoTrace) == Truth::True
}

impl CompiledRule {
    /// Whether this rule's condition is true on `attrs`.
    pub fn matches(&self, attrs: &Attributes<'_>) -> bool {
        matches(self, attrs)
    }
}

/// Records clause results for explanations; the no-op version compiles away.
pub(super) trait Tracer {
    /// Evaluate every child (no short-circuit) so that each clause is reported.
    const FULL: bool;
    fn clause(&mut self, node: &Node, attrs: &Attributes<'_>, result: Truth);
}

struct NoTrace;

impl Tracer for NoTrace {
    const FULL: bool = false;
    #[inline(always)]
    fn clause(&mut self, _: &Node, _: &Attributes<'_>, _: Truth) {}
}

#[inline]
pub(super) fn read<'v>(s: &'v Src, attrs: &'v Attributes<'_>) -> Option<Val<'v>> {
    use crate::attributes::Value;
    let value = |v: &'v Value<'_>| match v {
        Value::Number(n) => Val::Num(*n),
        Value::Text(t) => Val::Text(t),
        Value::Bool(b) => Val::Bool(*b),
    };
    match s {
        Src::Attr(a) | Src::Alias(a, _) => attrs.get(*a).map(value),
        Src::FalseIfAbsent(a) => Some(attrs.get(*a).map_or(Val::Bool(false), value)),
        Src::Scaled(a, factor, _) => attrs.number(*a).map(|n| Val::Num(n * factor)),
        Src::Absent(_) => None,
        Src::Meta(k) => attrs.scoped_metadata(k.scope, &k.key).map(Val::Text),
        Src::Text(t) => Some(Val::Text(t)),
        Src::Num(n) => Some(Val::Num(*n)),
    }
}

/// Equality of two present values: numerically when either is a number (a metadata string that
/// is not a number is missing), else as strings by the case rule.
fn equal(a: Val<'_>, b: Val<'_>, fold: bool) -> Truth {
    match (a, b) {
        (Val::Text(x), Val::Text(y)) => {
            Truth::from_bool(if fold { eq_folded(x, y) } else { x == y })
        }
        (Val::Bool(x), Val::Bool(y)) => Truth::from_bool(x == y),
        _ => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => Truth::from_bool(x == y),
            _ => Truth::Missing,
        },
    }
}

fn text(v: Option<Val<'_>>) -> Option<&str> {
    match v {
        Some(Val::Text(t)) => Some(t),
        _ => None,
    }
}

pub(super) fn eval<T: Tracer>(node: &Node, attrs: &Attributes<'_>, t: &mut T) -> Truth {
    let result = match node {
        Node::Or(items) => {
            let mut acc = Truth::False;
            for n in items.iter() {
                acc = acc.or(eval(n, attrs, t));
                if acc == Truth::True && !T::FULL {
                    break;
                }
            }
            return acc;
        }
        Node::And(items) => {
            let mut acc = Truth::True;
            for n in items.iter() {
                acc = acc.and(eval(n, attrs, t));
                if acc == Truth::False && !T::FULL {
                    break;
                }
            }
            return acc;
        }
        Node::Not(inner) => return eval(inner, attrs, t).not(),
        Node::Missing(s, _) => Truth::from_bool(read(s, attrs).is_none()),
        Node::Truthy(s, _) => match read(s, attrs) {
            Some(Val::Bool(b)) => Truth::from_bool(b),
            _ => Truth::Missing,
        },
        Node::Cmp { l, op, r, fold, .. } => match (read(l, attrs), read(r, attrs)) {
            (Some(a), Some(b)) => match op {
                CmpOp::Eq => equal(a, b, *fold),
                CmpOp::Ne => equal(a, b, *fold).not(),
                _ => match (a.as_num(), b.as_num()) {
                    (Some(x), Some(y)) => Truth::from_bool(match op {
                        CmpOp::Lt => x < y,
                        CmpOp::Gt => x > y,
                        CmpOp::Le => x <= y,
                        _ => x >= y,
                    }),
                    _ => Truth::Missing,
                },
            },
            // Radar: any comparison with a missing value is not true, `!=` included.
            _ => Truth::Missing,
        },
        Node::InSet { l, items, fold, .. } => match read(l, attrs) {
            None => Truth::Missing,
            Some(a) => items.iter().fold(Truth::False, |acc, i| {
                acc.or(read(i, attrs).map_or(Truth::Missing, |b| equal(a, b, *fold)))
            }),
        },
        Node::InList(l, cell, _) => match text(read(l, attrs)) {
            Some(v) => Truth::from_bool(cell.contains(v)),
            None => Truth::Missing,
        },
        Node::Like { l, like, fold, .. } => match text(read(l, attrs)) {
            Some(v) => Truth::from_bool(like.matches(v, *fold)),
            None => Truth::Missing,
        },
        Node::Includes { l, r, fold, .. } => match (text(read(l, attrs)), text(read(r, attrs))) {
            (Some(h), Some(n)) => Truth::from_bool(includes(h, n, *fold)),
            _ => Truth::Missing,
        },
    };
    if T::FULL {
        t.clause(node, attrs, result);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kleene_tables() {
        use Truth::*;
        for (a, b, and, or) in [
            (True, True, True, True),
            (True, False, False, True),
            (True, Missing, Missing, True),
            (False, Missing, False, Missing),
            (Missing, Missing, Missing, Missing),
            (False, False, False, False),
        ] {
            assert_eq!((a.and(b), b.and(a)), (and, and), "{a} AND {b}");
            assert_eq!((a.or(b), b.or(a)), (or, or), "{a} OR {b}");
        }
        assert_eq!(Missing.not(), Missing);
        assert_eq!(True.not(), False);
    }

    #[test]
    fn like_patterns_and_escapes() {
        let l = Like::new(r"50\%%");
        assert!(l.matches("50%OFF", false));
        assert!(!l.matches("50OFF", false));
        assert!(Like::new("a_c").matches("a_c", true));
        assert!(!Like::new("a_c").matches("abc", true));
        assert!(Like::new("%").matches("", true));
        assert!(Like::new("").matches("", true));
        assert!(!Like::new("").matches("x", true));
        assert!(Like::new("fraud%@stripe.com").matches("FRAUD+1@stripe.com", true));
        assert!(!Like::new("fraud%@stripe.com").matches("FRAUD+1@stripe.com", false));
        assert!(!Like::new("fraud%@stripe.com").matches("fraud@stripe.com.evil.io", true));
        assert!(Like::new("a%b%c").matches("axxbyyc", true));
        assert!(!Like::new("a%b%c").matches("acb", true));
    }
}

#[cfg(test)]
mod unicode {
    //! Case-insensitive text compares as value lists and velocity keys do: folded (NFKC + full
    //! case folding); exact text stays exact.

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
