//! The Stripe events riskgate learns from, and the charges they are about.
//!
//! `radar.early_fraud_warning.created|updated` and `charge.dispute.created|closed` arrive as
//! Stripe sends them: `data.object.charge` is the charge's **id** (an expandable field, not expanded
//! in events), so the card fingerprint, customer, email and addresses are not in the event. A
//! [`WebhookJob`] is what is kept of an accepted event until a worker has fetched its charge
//! (`GET /v1/charges/{id}`) and applied it; an already expanded charge object (older API
//! versions, hand-made events) is used as it is.
//!
//! Only a dispute with reason `fraudulent` is a fraud label; other reasons are recorded as such
//! (service or other disputes). Every early fraud warning is a fraud label. A label is applied
//! once per warning or dispute (its `created` and `updated`/`closed` events count once).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use riskgate_core::{
    input::Address,
    signals::{KeyKind, OutcomeLabel},
};

/// The event types riskgate learns from.
pub const HANDLED_EVENTS: &[&str] = &[
    "radar.early_fraud_warning.created",
    "radar.early_fraud_warning.updated",
    "charge.dispute.created",
    "charge.dispute.closed",
];

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    EarlyFraudWarning,
    Dispute,
}

/// The charge an event names: its id (as Stripe sends events), or the object when expanded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeRef {
    Id(String),
    Expanded(Value),
}

/// An accepted event, until its charge is fetched and the label applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookJob {
    /// `evt_…`.
    pub event: String,
    /// The event type (one of [`HANDLED_EVENTS`]).
    pub kind: String,
    pub subject: Subject,
    /// The warning's or dispute's id (`issfr_…`, `du_…`): its label is applied once.
    pub object: String,
    pub charge: ChargeRef,
    /// The dispute's `reason`, or the warning's `fraud_type`.
    pub reason: String,
    /// When Stripe created the warning or dispute (Unix seconds; 0 = unknown, now).
    pub created: i64,
    pub payment_intent: Option<String>,
}

/// Why an event cannot be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("an event needs `id` and `type`")]
    NoId,
    #[error("{kind} event {event}: data.object has no {field}")]
    Missing {
        kind: String,
        event: String,
        field: &'static str,
    },
}

impl WebhookJob {
    /// The job for `event` (a parsed Stripe event of a [`HANDLED_EVENTS`] type); `Ok(None)` for
    /// other types.
    pub fn from_event(event: &Value) -> Result<Option<Self>, EventError> {
        let id = event["id"].as_str().unwrap_or_default();
        let kind = event["type"].as_str().unwrap_or_default();
        if id.is_empty() || kind.is_empty() {
            return Err(EventError::NoId);
        }
        if !HANDLED_EVENTS.contains(&kind) {
            return Ok(None);
        }
        let object = &event["data"]["object"];
        let missing = |field| EventError::Missing {
            kind: kind.to_owned(),
            event: id.to_owned(),
            field,
        };
        let subject = if kind.starts_with("radar.early_fraud_warning") {
            Subject::EarlyFraudWarning
        } else {
            Subject::Dispute
        };
        let charge = match &object["charge"] {
            Value::String(id) if !id.is_empty() => ChargeRef::Id(id.clone()),
            v @ Value::Object(_) => ChargeRef::Expanded(v.clone()),
            _ => return Err(missing("charge")),
        };
        let object_id = object["id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("id"))?;
        let reason = match subject {
            Subject::EarlyFraudWarning => object["fraud_type"].as_str(),
            Subject::Dispute => object["reason"].as_str(),
        }
        .unwrap_or("unknown");
        let payment_intent = match &object["payment_intent"] {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        Ok(Some(Self {
            event: id.to_owned(),
            kind: kind.to_owned(),
            subject,
            object: object_id.to_owned(),
            charge,
            reason: reason.to_owned(),
            created: object["created"].as_i64().unwrap_or(0),
            payment_intent,
        }))
    }

    /// The label it teaches outcome memory.
    pub fn label(&self) -> OutcomeLabel {
        match self.subject {
            Subject::EarlyFraudWarning => OutcomeLabel::EarlyFraudWarning,
            Subject::Dispute => OutcomeLabel::from_dispute_reason(&self.reason),
        }
    }

    /// The charge's id (for logs and the labels file).
    pub fn charge_id(&self) -> &str {
        match &self.charge {
            ChargeRef::Id(id) => id,
            ChargeRef::Expanded(v) => v["id"].as_str().unwrap_or_default(),
        }
    }
}

/// What riskgate keys a charge by: the entities outcome memory labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeFacts {
    pub id: String,
    /// `payment_method_details.card.fingerprint`.
    pub fingerprint: Option<String>,
    /// `payment_method` (`pm_…`): the card key when there is no fingerprint.
    pub payment_method: Option<String>,
    /// `customer` (an id, or an expanded customer's id).
    pub customer: Option<String>,
    /// `billing_details.email`, else `receipt_email`.
    pub email: Option<String>,
    pub billing: Option<AddressFacts>,
    pub shipping: Option<AddressFacts>,
}

/// An address as a charge carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressFacts {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl AddressFacts {
    fn from_json(v: &Value) -> Option<Self> {
        let get = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let a = Self {
            line1: get("line1"),
            line2: get("line2"),
            city: get("city"),
            state: get("state"),
            postal_code: get("postal_code"),
            country: get("country"),
        };
        (a != Self::default()).then_some(a)
    }

    fn as_address(&self) -> Address<'_> {
        Address {
            line1: self.line1.as_deref(),
            line2: self.line2.as_deref(),
            city: self.city.as_deref(),
            state: self.state.as_deref(),
            postal_code: self.postal_code.as_deref(),
            country: self.country.as_deref(),
        }
    }
}

impl ChargeFacts {
    /// The facts of a Stripe charge object (`GET /v1/charges/{id}`).
    pub fn from_json(charge: &Value) -> Self {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let customer = match &charge["customer"] {
            Value::Object(o) => o.get("id").and_then(text_of),
            v => text(v),
        };
        let payment_method = match &charge["payment_method"] {
            Value::Object(o) => o.get("id").and_then(text_of),
            v => text(v),
        };
        Self {
            id: text(&charge["id"]).unwrap_or_default(),
            fingerprint: text(&charge["payment_method_details"]["card"]["fingerprint"]),
            payment_method,
            customer,
            email: text(&charge["billing_details"]["email"])
                .or_else(|| text(&charge["receipt_email"])),
            billing: AddressFacts::from_json(&charge["billing_details"]["address"]),
            shipping: AddressFacts::from_json(&charge["shipping"]["address"]),
        }
    }

    /// The outcome-memory keys of this charge, computed as an evaluation's are (the same card,
    /// email, customer and addresses give the same keys). IP and device are not on a charge.
    pub fn keys(&self, hasher: &crate::enrich::KeyHasher) -> [Option<u64>; KeyKind::COUNT] {
        hasher.entity_keys(&crate::enrich::keys::Entities {
            fingerprint: self.fingerprint.as_deref(),
            payment_method: self.payment_method.as_deref(),
            email: self.email.as_deref(),
            customer: self.customer.as_deref(),
            billing: self.billing.as_ref().map(AddressFacts::as_address),
            shipping: self.shipping.as_ref().map(AddressFacts::as_address),
        })
    }

    /// Whether it names anything outcome memory can key (a card at least).
    pub fn has_card(&self) -> bool {
        self.fingerprint.is_some() || self.payment_method.is_some()
    }
}

fn text_of(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn efw(charge: Value) -> Value {
        serde_json::json!({
            "id": "evt_1", "object": "event", "type": "radar.early_fraud_warning.created",
            "data": {"object": {
                "id": "issfr_1", "object": "radar.early_fraud_warning", "actionable": true,
                "fraud_type": "made_with_stolen_card", "created": 1_795_000_000,
                "charge": charge, "payment_intent": "pi_1",
            }},
        })
    }

    #[test]
    fn events_as_stripe_sends_them_name_the_charge_by_id() {
        let job = WebhookJob::from_event(&efw("ch_3Q".into()))
            .unwrap()
            .unwrap();
        assert_eq!(job.charge, ChargeRef::Id("ch_3Q".into()));
        assert_eq!(job.object, "issfr_1");
        assert_eq!(job.label(), OutcomeLabel::EarlyFraudWarning);
        assert_eq!(job.created, 1_795_000_000);
        assert_eq!(job.payment_intent.as_deref(), Some("pi_1"));
        let expanded = serde_json::json!({"id": "ch_x", "object": "charge"});
        let job = WebhookJob::from_event(&efw(expanded.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(job.charge, ChargeRef::Expanded(expanded));
        assert_eq!(job.charge_id(), "ch_x");

        let dispute = |kind: &str, reason: &str| {
            serde_json::json!({"id": "evt_2", "type": kind, "data": {"object": {
                "id": "du_1", "object": "dispute", "charge": "ch_2", "reason": reason,
                "status": "needs_response"}}})
        };
        let job = WebhookJob::from_event(&dispute("charge.dispute.closed", "fraudulent"))
            .unwrap()
            .unwrap();
        assert_eq!(job.label(), OutcomeLabel::FraudulentDispute);
        let job = WebhookJob::from_event(&dispute("charge.dispute.created", "duplicate"))
            .unwrap()
            .unwrap();
        assert_eq!(job.label(), OutcomeLabel::ServiceDispute);

        let other = serde_json::json!({"id": "evt_3", "type": "charge.succeeded"});
        assert_eq!(WebhookJob::from_event(&other), Ok(None));
        assert_eq!(
            WebhookJob::from_event(&serde_json::json!({"type": "x"})),
            Err(EventError::NoId)
        );
        let no_charge = serde_json::json!({"id": "evt_4", "type": "charge.dispute.created",
            "data": {"object": {"id": "du_2"}}});
        assert!(matches!(
            WebhookJob::from_event(&no_charge),
            Err(EventError::Missing {
                field: "charge",
                ..
            })
        ));
    }

    #[test]
    fn charges_give_the_keys_an_evaluation_of_them_had() {
        let charge = serde_json::json!({
            "id": "ch_1", "object": "charge", "customer": "cus_9",
            "payment_method": "pm_9", "receipt_email": "Receipt@Example.com",
            "billing_details": {"email": " Jenny@Example.com ", "address": {
                "line1": "510 Townsend St", "city": "San Francisco", "postal_code": "94103",
                "country": "US", "state": "CA", "line2": null}},
            "shipping": {"address": {"line1": "1 Drop Lane", "postal_code": "10001", "country": "US"}},
            "payment_method_details": {"card": {"fingerprint": "fpCharge"}},
        });
        let facts = ChargeFacts::from_json(&charge);
        assert_eq!(facts.email.as_deref(), Some(" Jenny@Example.com "));
        assert_eq!(facts.customer.as_deref(), Some("cus_9"));
        assert!(facts.has_card());
        let hasher = crate::enrich::KeyHasher::new(&crate::pseudonym::PseudonymKey::generate());
        let keys = facts.keys(&hasher);
        for kind in [
            KeyKind::Card,
            KeyKind::Email,
            KeyKind::Customer,
            KeyKind::BillingAddress,
            KeyKind::ShippingAddress,
        ] {
            assert!(keys[kind as usize].is_some(), "{kind:?}");
        }
        assert_eq!(keys[KeyKind::Ip as usize], None);
        assert_eq!(keys[KeyKind::Device as usize], None);

        // No billing email: the receipt email; no fingerprint: the payment method.
        let bare = serde_json::json!({"id": "ch_2", "payment_method": "pm_2",
            "receipt_email": "r@example.com", "customer": {"id": "cus_x", "object": "customer"}});
        let facts = ChargeFacts::from_json(&bare);
        assert_eq!(facts.email.as_deref(), Some("r@example.com"));
        assert_eq!(facts.customer.as_deref(), Some("cus_x"));
        assert_eq!(facts.fingerprint, None);
        assert!(facts.keys(&hasher)[KeyKind::Card as usize].is_some());
        assert!(!ChargeFacts::from_json(&serde_json::json!({"id": "ch_3"})).has_card());
    }
}
