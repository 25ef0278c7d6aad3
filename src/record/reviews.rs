//! Review changes in the audit log: who changed which review, when, and what — one NDJSON line
//! beside the decisions (`"kind": "review"`). Like decision lines they carry no personal data:
//! the review and evaluation ids, the action, the fraud type, the actor (a credential's name and
//! the analyst's), and what the verdict fed back.

use serde::Serialize;

/// One change of a review, as written.
#[derive(Debug, Serialize)]
pub struct ReviewAuditRecord<'a> {
    pub ts: i64,
    /// Always `review`.
    pub kind: &'static str,
    pub review: &'a str,
    pub evaluation: &'a str,
    /// `opened`, `note`, `approved`, `refunded_as_fraud` …
    pub action: &'a str,
    pub actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraud_type: Option<&'static str>,
    /// What the verdict fed back: the outcome's result, block list additions (list aliases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub blocked: &'a [String],
}
