//! What the simulator writes: one labelled payment per line of NDJSON (`docs/events.md`), with the
//! Radar Session recorded before it (`session`), its ground truth (`label`) and everything learned
//! about it afterwards (`outcomes`, each at its own time).

use std::io::Write;

use serde::{Deserialize, Serialize};

use riskgate::proto::v1::{CreatePaymentEvaluationRequest, RadarSession};

/// Ground truth of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    Legitimate,
    CardTesting,
    StolenCard,
    AccountTakeover,
    FriendlyFraud,
    BinAttack,
    /// A card used again after a fraud outcome on it was reported.
    RepeatFraud,
    /// A fraudster back with a new card but an email, customer account or device seen in earlier
    /// fraud.
    ReturningFraudster,
}

impl Pattern {
    /// Every pattern, legitimate first.
    pub const ALL: [Pattern; 8] = [
        Pattern::Legitimate,
        Pattern::CardTesting,
        Pattern::BinAttack,
        Pattern::StolenCard,
        Pattern::RepeatFraud,
        Pattern::ReturningFraudster,
        Pattern::AccountTakeover,
        Pattern::FriendlyFraud,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Pattern::Legitimate => "legitimate",
            Pattern::CardTesting => "card_testing",
            Pattern::StolenCard => "stolen_card",
            Pattern::AccountTakeover => "account_takeover",
            Pattern::FriendlyFraud => "friendly_fraud",
            Pattern::BinAttack => "bin_attack",
            Pattern::RepeatFraud => "repeat_fraud",
            Pattern::ReturningFraudster => "returning_fraudster",
        }
    }
}

/// `label` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub fraud: bool,
    pub pattern: Pattern,
}

/// What was learned about a payment after its evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Authorized,
    /// `reason`: the issuer's decline code.
    Declined,
    /// `reason`: Stripe's refund reason (`fraudulent`, `requested_by_customer`, `duplicate`).
    Refunded,
    /// `reason`: Stripe's dispute reason (only `fraudulent` is a fraud label).
    Disputed,
    /// `reason`: the warning's `fraud_type` (`made_with_stolen_card`, `unauthorized_use_of_card`, …).
    EarlyFraudWarning,
    /// The merchant learned of the fraud itself (the account owner complained) and reported it.
    MerchantReportedFraud,
    /// An analyst rejected the payment's review as fraud (read from a review verdict; the
    /// simulator does not write it).
    AnalystRejected,
    /// An analyst approved the payment's review (read from a review verdict).
    AnalystApproved,
}

impl OutcomeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Authorized => "authorized",
            OutcomeKind::Declined => "declined",
            OutcomeKind::Refunded => "refunded",
            OutcomeKind::Disputed => "disputed",
            OutcomeKind::EarlyFraudWarning => "early_fraud_warning",
            OutcomeKind::MerchantReportedFraud => "merchant_reported_fraud",
            OutcomeKind::AnalystRejected => "analyst_rejected",
            OutcomeKind::AnalystApproved => "analyst_approved",
        }
    }
}

/// One entry of `outcomes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub occurred_at: i64,
}

impl Outcome {
    /// Whether this outcome says the payment was fraud: an early fraud warning, a dispute or refund
    /// with reason `fraudulent`, a merchant's fraud report.
    pub fn is_fraud(&self) -> bool {
        match self.kind {
            OutcomeKind::EarlyFraudWarning
            | OutcomeKind::MerchantReportedFraud
            | OutcomeKind::AnalystRejected => true,
            OutcomeKind::Disputed | OutcomeKind::Refunded => {
                self.reason.as_deref() == Some("fraudulent")
            }
            OutcomeKind::Authorized | OutcomeKind::Declined | OutcomeKind::AnalystApproved => false,
        }
    }
}

/// One labelled payment (a line of the NDJSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "EventLine")]
pub struct Event {
    pub occurred_at: i64,
    /// The Radar Session the merchant's backend recorded (RecordRadarSession) before this payment;
    /// the request names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<RadarSession>,
    pub request: CreatePaymentEvaluationRequest,
    pub label: Label,
    /// What was learned afterwards, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
}

/// An event as read: `outcomes`, or the single `outcome` of files written before the list.
#[derive(Deserialize)]
struct EventLine {
    occurred_at: i64,
    #[serde(default)]
    session: Option<RadarSession>,
    request: CreatePaymentEvaluationRequest,
    label: Label,
    #[serde(default)]
    outcomes: Vec<Outcome>,
    #[serde(default)]
    outcome: Option<Outcome>,
}

impl From<EventLine> for Event {
    fn from(e: EventLine) -> Self {
        Event {
            occurred_at: e.occurred_at,
            session: e.session,
            request: e.request,
            label: e.label,
            outcomes: merge_outcomes(e.outcomes, e.outcome),
        }
    }
}

/// The outcomes of an event line: `outcomes` and the older single `outcome` together, in time
/// order (readers of other event shapes share this).
pub fn merge_outcomes(mut outcomes: Vec<Outcome>, single: Option<Outcome>) -> Vec<Outcome> {
    outcomes.extend(single);
    outcomes.sort_by_key(|o| o.occurred_at);
    outcomes
}

impl Event {
    /// The event as one NDJSON line (without the newline). Empty request fields are left out.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).expect("events serialize");
        prune(&mut v);
        v.to_string()
    }

    /// When the first fraud outcome about this payment was learned, if any was.
    pub fn fraud_known_at(&self) -> Option<i64> {
        self.outcomes
            .iter()
            .filter(|o| o.is_fraud())
            .map(|o| o.occurred_at)
            .min()
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

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"{"payment_details":{"amount":1000,"currency":"usd"}}"#;

    #[test]
    fn reads_the_single_outcome_of_older_files_as_a_list() {
        let old = format!(
            r#"{{"occurred_at":10,"request":{REQUEST},"label":{{"fraud":true,"pattern":"stolen_card"}},
               "outcome":{{"kind":"disputed","reason":"fraudulent","occurred_at":99}}}}"#
        );
        let e: Event = serde_json::from_str(&old).unwrap();
        assert_eq!(e.outcomes.len(), 1);
        assert_eq!(e.outcomes[0].kind, OutcomeKind::Disputed);
        assert_eq!(e.fraud_known_at(), Some(99));
        assert!(e.session.is_none());
        // Written back in the current shape: a list.
        let line = e.to_json();
        assert!(line.contains(r#""outcomes":[{"kind":"disputed""#), "{line}");
        assert!(!line.contains(r#""outcome":"#), "{line}");
    }

    #[test]
    fn several_outcomes_and_a_session_round_trip() {
        let line = format!(
            r#"{{"occurred_at":10,
                "session":{{"id":"rse_1","device_id":"dev_9","ip":"81.2.3.4","created_at":5}},
                "request":{REQUEST},"label":{{"fraud":true,"pattern":"repeat_fraud"}},
                "outcomes":[{{"kind":"early_fraud_warning","reason":"made_with_stolen_card","occurred_at":500}},
                            {{"kind":"authorized","occurred_at":11}},
                            {{"kind":"refunded","reason":"fraudulent","occurred_at":600}}]}}"#
        );
        let e: Event = serde_json::from_str(&line).unwrap();
        let kinds: Vec<_> = e.outcomes.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["authorized", "early_fraud_warning", "refunded"]);
        assert_eq!(e.fraud_known_at(), Some(500));
        assert_eq!(e.session.as_ref().unwrap().device_id, "dev_9");
        let back: Event = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn only_fraud_reasons_are_fraud() {
        let o = |kind, reason: Option<&str>| Outcome {
            kind,
            reason: reason.map(str::to_owned),
            occurred_at: 0,
        };
        assert!(o(OutcomeKind::Disputed, Some("fraudulent")).is_fraud());
        assert!(!o(OutcomeKind::Disputed, Some("product_not_received")).is_fraud());
        assert!(o(OutcomeKind::Refunded, Some("fraudulent")).is_fraud());
        assert!(!o(OutcomeKind::Refunded, Some("requested_by_customer")).is_fraud());
        assert!(o(OutcomeKind::EarlyFraudWarning, None).is_fraud());
        assert!(o(OutcomeKind::MerchantReportedFraud, None).is_fraud());
        assert!(!o(OutcomeKind::Declined, Some("stolen_card")).is_fraud());
    }
}
