//! Explaining a [`RuleSet`]'s decision: every rule, its condition's value (true, false or missing),
//! whether it decided, and each leaf clause with its value and the values it read. Evaluates
//! fully (no short-circuit), so it allocates; the request path uses [`RuleSet::evaluate`].

use super::{
    ast::Operand,
    compile::{Node, RuleSet, Src},
    eval::{Tracer, Truth, eval, read},
};
use crate::{attributes::Attributes, decision::Action};

impl RuleSet {
    /// Every rule in evaluation order, the value of its condition, and the value of each clause.
    pub fn explain(&self, attrs: &Attributes<'_>) -> Vec<Explanation> {
        let decider = self.evaluate(attrs).map(|r| r as *const _);
        let mut three_ds_matched = false;
        let mut ended = false;
        self.rules()
            .iter()
            .map(|r| {
                let mut trace = Trace::default();
                let result = eval(&r.condition, attrs, &mut trace);
                let matched = result == Truth::True;
                let decides = decider == Some(r as *const _);
                let note = match (matched, decides, r.action) {
                    (true, true, Action::RequestThreeDSecure) => {
                        "decides: 3D Secure is requested; Allow, Block and Review rules still run, and only a Block overrides it"
                    }
                    (true, true, _) => "decides",
                    (true, false, Action::RequestThreeDSecure) => {
                        "matches; an earlier Request 3D Secure rule already asks for 3D Secure"
                    }
                    (true, false, _) if ended => "matches; an earlier rule ended evaluation",
                    (true, false, _) if three_ds_matched => {
                        "matches; 3D Secure is requested first, and this rule applies when the payment is evaluated again with the result"
                    }
                    (true, false, _) => "matches",
                    (false, _, _) if result == Truth::Missing => {
                        "does not match: the condition read a missing value"
                    }
                    (false, _, _) => "does not match",
                };
                if matched {
                    if r.action == Action::RequestThreeDSecure {
                        three_ds_matched = true;
                    } else {
                        ended = true;
                    }
                }
                Explanation {
                    id: r.id.clone(),
                    action: r.action,
                    predicate: r.predicate.clone(),
                    line: r.line,
                    result,
                    matched,
                    decides,
                    note,
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
    /// The value of the whole condition.
    pub result: Truth,
    /// The condition is true.
    pub matched: bool,
    /// This rule decides the answer.
    pub decides: bool,
    /// What the match means for the decision, in words.
    pub note: &'static str,
    pub clauses: Vec<Clause>,
}

/// One leaf of a condition and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The clause as printed from the rule.
    pub text: String,
    /// Where the clause is in the rule's line (byte offsets).
    pub span: (usize, usize),
    pub result: Truth,
    /// The values the clause read (`:amount_in_usd: = 129.5`, `:email: is missing`).
    pub values: Vec<String>,
}

#[derive(Default)]
struct Trace {
    clauses: Vec<Clause>,
}

impl Tracer for Trace {
    const FULL: bool = true;
    fn clause(&mut self, node: &Node, attrs: &Attributes<'_>, result: Truth) {
        let (text, srcs): (String, Vec<&Src>) = match node {
            Node::Missing(s, _) => (format!("is_missing({})", src_text(s)), vec![s]),
            Node::Truthy(s, _) => (src_text(s), vec![s]),
            Node::Cmp { l, op, r, .. } => (
                format!("{} {} {}", src_text(l), op.as_str(), src_text(r)),
                vec![l, r],
            ),
            Node::InSet { l, items, .. } => (
                format!(
                    "{} IN ({})",
                    src_text(l),
                    items.iter().map(src_text).collect::<Vec<_>>().join(", ")
                ),
                vec![l],
            ),
            Node::InList(l, cell, _) => (format!("{} IN @{}", src_text(l), cell.alias()), vec![l]),
            Node::Like { l, like, .. } => (format!("{} LIKE '{}'", src_text(l), like.raw), vec![l]),
            Node::Includes { l, r, .. } => (
                format!("{} INCLUDES {}", src_text(l), src_text(r)),
                vec![l, r],
            ),
            Node::Or(_) | Node::And(_) | Node::Not(_) => return,
        };
        let values = srcs
            .into_iter()
            .filter(|s| !matches!(s, Src::Text(_) | Src::Num(_)))
            .map(|s| match (read(s, attrs), s) {
                (Some(v), Src::FalseIfAbsent(a)) if attrs.get(*a).is_none() => {
                    format!(
                        "{} = {v} (absent; Radar reads a missing Boolean as false)",
                        src_text(s)
                    )
                }
                (Some(v), _) => format!("{} = {v}", src_text(s)),
                (None, _) => format!("{} is missing", src_text(s)),
            })
            .collect();
        let span = match node {
            Node::Missing(_, s)
            | Node::Truthy(_, s)
            | Node::Cmp { span: s, .. }
            | Node::InSet { span: s, .. }
            | Node::InList(_, _, s)
            | Node::Like { span: s, .. }
            | Node::Includes { span: s, .. } => (s.start, s.end),
            Node::Or(_) | Node::And(_) | Node::Not(_) => (0, 0),
        };
        self.clauses.push(Clause {
            text,
            span,
            result,
            values,
        });
    }
}

fn src_text(s: &Src) -> String {
    match s {
        Src::Attr(a) | Src::FalseIfAbsent(a) => format!(":{}:", a.name()),
        Src::Alias(_, name) | Src::Scaled(_, _, name) | Src::Absent(name) => format!(":{name}:"),
        Src::Meta(k) => k.to_string(),
        Src::Text(t) => Operand::Str(t.to_string()).to_string(),
        Src::Num(n) => n.to_string(),
    }
}
