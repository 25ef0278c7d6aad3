//! Explaining a [`RuleSet`]'s decision: every rule, whether it matched and decided, and each leaf
//! clause with the values it read. Evaluates fully (no short-circuit), so it allocates; the
//! request path uses [`RuleSet::evaluate`].

use super::{
    ast::{Operand, Span},
    compile::{Node, RuleSet, Src},
    eval::{Tracer, eval, read},
};
use crate::{attributes::Attributes, decision::Action};

impl RuleSet {
    /// Every rule, whether it matches, and the truth of each clause.
    pub fn explain(&self, attrs: &Attributes<'_>) -> Vec<Explanation> {
        let mut decided = false;
        self.rules()
            .iter()
            .map(|r| {
                let mut trace = Trace::default();
                let matched = eval(&r.condition, attrs, &mut trace);
                let decides = matched && !decided;
                decided |= matched;
                Explanation {
                    id: r.id.clone(),
                    action: r.action,
                    predicate: r.predicate.clone(),
                    line: r.line,
                    matched,
                    decides,
                    clauses: trace.clauses,
                }
            })
            .collect()
    }
}

/// Why one rule matched or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub id: String,
    pub action: Action,
    pub predicate: String,
    pub line: usize,
    pub matched: bool,
    /// This rule is the first match: it decides the action.
    pub decides: bool,
    pub clauses: Vec<Clause>,
}

/// One leaf of a condition and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The clause as printed from the rule.
    pub text: String,
    pub result: bool,
    /// The values the clause read (`:amount_in_usd: = 129.5`, `:email: is missing`).
    pub values: Vec<String>,
}

#[derive(Default)]
struct Trace {
    clauses: Vec<Clause>,
}

impl Tracer for Trace {
    const FULL: bool = true;
    fn clause(&mut self, _: Span, node: &Node, attrs: &Attributes<'_>, result: bool) {
        let (text, srcs): (String, Vec<&Src>) = match node {
            Node::Missing(s, _) => (format!("is_missing({})", src_text(s)), vec![s]),
            Node::Truthy(s, _) => (src_text(s), vec![s]),
            Node::Cmp(l, op, r, _) => (
                format!("{} {} {}", src_text(l), op.as_str(), src_text(r)),
                vec![l, r],
            ),
            Node::InSet(l, items, _) => (
                format!(
                    "{} IN ({})",
                    src_text(l),
                    items.iter().map(src_text).collect::<Vec<_>>().join(", ")
                ),
                vec![l],
            ),
            Node::InList(l, cell, _) => (format!("{} IN @{}", src_text(l), cell.alias()), vec![l]),
            Node::Like(l, like, _) => (
                format!(
                    "{} LIKE '{}{}{}'",
                    src_text(l),
                    if like.anchored_start { "" } else { "%" },
                    like.pieces.join("%"),
                    if like.anchored_end { "" } else { "%" }
                ),
                vec![l],
            ),
            Node::Includes(l, r, _) => (
                format!("{} INCLUDES {}", src_text(l), src_text(r)),
                vec![l, r],
            ),
            Node::Or(_) | Node::And(_) | Node::Not(_) => return,
        };
        let values = srcs
            .into_iter()
            .filter(|s| matches!(s, Src::Attr(_) | Src::Scaled(..) | Src::Meta(_)))
            .map(|s| match read(s, attrs) {
                Some(v) => format!("{} = {v}", src_text(s)),
                None => format!("{} is missing", src_text(s)),
            })
            .collect();
        self.clauses.push(Clause {
            text,
            result,
            values,
        });
    }
}

fn src_text(s: &Src) -> String {
    match s {
        Src::Attr(a) => format!(":{}:", a.name()),
        Src::Scaled(_, _, name) => format!(":{name}:"),
        Src::Meta(k) => format!("::{k}::"),
        Src::Text(t) => Operand::Str(t.to_string()).to_string(),
        Src::Num(n) => n.to_string(),
        Src::Bool(b) => b.to_string(),
    }
}
