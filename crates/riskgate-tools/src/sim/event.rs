//! What the simulator writes: one labelled payment per line of NDJSON (`docs/events.md`), with its
//! ground truth (`label`) and what happened after authorization (`outcome`).

use std::io::Write;

use serde::{Deserialize, Serialize};

use riskgate::proto::v1::CreatePaymentEvaluationRequest;

/// Ground truth of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    Legitimate,
    CardTesting,
    StolenCard,
    AccountTakeover,
    FriendlyFraud,
    BinAttack,
}

impl Pattern {
    pub const fn as_str(self) -> &'static str {
        match self {
            Pattern::Legitimate => "legitimate",
            Pattern::CardTesting => "card_testing",
            Pattern::StolenCard => "stolen_card",
            Pattern::AccountTakeover => "account_takeover",
            Pattern::FriendlyFraud => "friendly_fraud",
            Pattern::BinAttack => "bin_attack",
        }
    }
}

/// `label` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub fraud: bool,
    pub pattern: Pattern,
}

/// What happened after authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Authorized,
    Declined,
    Refunded,
    Disputed,
    EarlyFraudWarning,
}

/// `outcome` of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub occurred_at: i64,
}

/// One labelled payment (a line of the NDJSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub occurred_at: i64,
    pub request: CreatePaymentEvaluationRequest,
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl Event {
    /// The event as one NDJSON line (without the newline). Empty request fields are left out.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).expect("events serialize");
        prune(&mut v);
        v.to_string()
    }
}

/// Drops empty strings, nulls and empty arrays (the request's unset fields). Objects stay, even
/// empty: a present message (`customer_details: {}`) differs from an absent one.
fn prune(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => {
            a.retain_mut(prune);
            !a.is_empty()
        }
        Value::Object(o) => {
            o.retain(|_, v| prune(v));
            true
        }
        _ => true,
    }
}

/// Writes `events` as NDJSON; returns how many.
pub fn write_ndjson(events: &[Event], mut out: impl Write) -> std::io::Result<usize> {
    for e in events {
        writeln!(out, "{}", e.to_json())?;
    }
    Ok(events.len())
}
