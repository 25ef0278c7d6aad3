//! The review record, as stored and answered, shaped like Stripe's `review` object
//! (<https://docs.stripe.com/api/radar/reviews/object>): `rev_…` id, `open`, `opened_reason`,
//! `closed_reason`, `created`, `closed_at`, the evaluation it belongs to; plus the evidence an
//! analyst needs and the review's history. Both backends store the same JSON document, and both
//! change it with one pure function, [`apply`], so a review reads and changes the same everywhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stores::StoreError;

/// Most history entries (the opening, notes, the close) one review keeps; a note beyond it is
/// refused, so a review's document stays a few KiB.
pub const MAX_HISTORY: usize = 100;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Why a review was opened (Stripe's `opened_reason`, plus `model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenedReason {
    /// A rule written by an analyst answered REVIEW.
    Rule,
    /// The score decided: a rule on `:risk_level:` / `:risk_score:` only, or no rule (the fail
    /// policy `review`).
    Model,
    /// Someone opened it by hand (ReviewService/OpenReview).
    Manual,
}

impl OpenedReason {
    pub const ALL: [OpenedReason; 3] = [Self::Rule, Self::Model, Self::Manual];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Model => "model",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Why a review was closed (Stripe's `closed_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReason {
    /// An analyst approved the payment.
    Approved,
    /// The payment was refunded (not as fraud).
    Refunded,
    /// An analyst rejected the payment as fraud (Stripe: refunded as fraud).
    RefundedAsFraud,
    /// The payment was disputed.
    Disputed,
    /// The review's personal data was removed.
    Redacted,
}

impl ClosedReason {
    pub const ALL: [ClosedReason; 5] = [
        Self::Approved,
        Self::Refunded,
        Self::RefundedAsFraud,
        Self::Disputed,
        Self::Redacted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Refunded => "refunded",
            Self::RefundedAsFraud => "refunded_as_fraud",
            Self::Disputed => "disputed",
            Self::Redacted => "redacted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What kind of fraud a rejected payment was: Stripe's early-fraud-warning `fraud_type` values,
/// then riskgate's own (the simulator's patterns, which analysts also name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudType {
    CardNeverReceived,
    FraudulentCardApplication,
    MadeWithCounterfeitCard,
    MadeWithLostCard,
    MadeWithStolenCard,
    UnauthorizedUseOfCard,
    Misc,
    CardTesting,
    AccountTakeover,
    FriendlyFraud,
}

impl FraudType {
    pub const ALL: [FraudType; 10] = [
        Self::CardNeverReceived,
        Self::FraudulentCardApplication,
        Self::MadeWithCounterfeitCard,
        Self::MadeWithLostCard,
        Self::MadeWithStolenCard,
        Self::UnauthorizedUseOfCard,
        Self::Misc,
        Self::CardTesting,
        Self::AccountTakeover,
        Self::FriendlyFraud,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CardNeverReceived => "card_never_received",
            Self::FraudulentCardApplication => "fraudulent_card_application",
            Self::MadeWithCounterfeitCard => "made_with_counterfeit_card",
            Self::MadeWithLostCard => "made_with_lost_card",
            Self::MadeWithStolenCard => "made_with_stolen_card",
            Self::UnauthorizedUseOfCard => "unauthorized_use_of_card",
            Self::Misc => "misc",
            Self::CardTesting => "card_testing",
            Self::AccountTakeover => "account_takeover",
            Self::FriendlyFraud => "friendly_fraud",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The card, as the orchestrator's vault described it (never the number).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CardFacts {
    pub brand: Option<String>,
    pub bin: Option<String>,
    pub last4: Option<String>,
    pub country: Option<String>,
    pub funding: Option<String>,
    pub fingerprint: Option<String>,
    pub wallet: Option<String>,
    pub exp_month: Option<u32>,
    pub exp_year: Option<u32>,
}

/// The customer's device and network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceFacts {
    pub ip_address: Option<String>,
    pub ip_country: Option<String>,
    pub user_agent: Option<String>,
    pub browser: Option<String>,
    pub operating_system: Option<String>,
    pub device_id: Option<String>,
    pub radar_session: Option<String>,
}

/// One named fact: an attribute's Radar name and its value as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub name: String,
    pub value: String,
}

/// The rule that decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub action: String,
    pub predicate: String,
}

/// A reason of the decision (the rule's or the model's words).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonRef {
    pub code: String,
    pub message: String,
}

/// What the analyst sees: the payment, the card, the customer, the device, the velocity and the
/// outcomes known when it was evaluated, and why it was sent to review. Personal data (email,
/// customer, IP) is kept in clear here, for the admin; logs and the audit log never carry it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Evidence {
    /// In the currency's smallest unit.
    pub amount: i64,
    pub currency: String,
    pub amount_in_usd: Option<f64>,
    pub card: CardFacts,
    pub payment_method: Option<String>,
    pub customer: Option<String>,
    pub email: Option<String>,
    pub billing_country: Option<String>,
    pub billing_zip: Option<String>,
    pub shipping_country: Option<String>,
    pub device: DeviceFacts,
    pub risk_score: u8,
    pub risk_level: String,
    pub score_source: String,
    pub matched_rule: Option<RuleRef>,
    pub reasons: Vec<ReasonRef>,
    /// Velocity counts that were not zero (`total_charges_per_card_number_daily` …).
    pub velocity: Vec<Fact>,
    /// Outcomes already known on the payment's card, email, IP … (disputes, early fraud warnings,
    /// refunds, blocks, declines) that were not zero.
    pub outcomes: Vec<Fact>,
    pub metadata: BTreeMap<String, String>,
    /// Part of the pipeline fell back when it was evaluated.
    pub degraded: bool,
}

/// One change in a review's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix seconds.
    pub at: i64,
    /// Who: the credential's name (`admin`), with the analyst's name when given
    /// (`alice via admin`); `riskgate` for the gateway itself.
    pub actor: String,
    /// `opened`, `note`, `approved`, `refunded_as_fraud` …
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud_type: Option<FraudType>,
}

/// A review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// `rev_…`.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub open: bool,
    pub opened_reason: OpenedReason,
    #[serde(default)]
    pub closed_reason: Option<ClosedReason>,
    #[serde(default)]
    pub closed_at: Option<i64>,
    #[serde(default)]
    pub closed_by: Option<String>,
    /// Set when rejected.
    #[serde(default)]
    pub fraud_type: Option<FraudType>,
    /// The evaluation (`peval_…`) it belongs to.
    pub payment_evaluation: String,
    #[serde(default)]
    pub evidence: Evidence,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Pseudonymous keys of the payment's card, email and customer ([`link`]): reviews sharing
    /// one are related.
    #[serde(default)]
    pub links: Vec<String>,
}

impl Review {
    /// Stripe's `reason`: why it is open, or why it was closed.
    pub fn reason(&self) -> &'static str {
        match self.closed_reason {
            Some(r) => r.as_str(),
            None => self.opened_reason.as_str(),
        }
    }

    /// Seconds it has waited (open) or waited before it was closed.
    pub fn age(&self, now: i64) -> i64 {
        (self.closed_at.unwrap_or(now) - self.created).max(0)
    }
}

/// A new review id: `rev_` and 24 random base62 characters.
pub fn new_review_id() -> String {
    crate::stores::lists::types::new_id("rev_")
}

/// The link key of an entity (`card_fingerprint`, `email`, `customer`): its kind and 16 hex
/// digits of a SHA-256, so the store's indexes never hold the value itself.
pub fn link(kind: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"riskgate-review-link-v1\0");
    h.update(kind.as_bytes());
    h.update(b"\0");
    h.update(value.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(kind.len() + 17);
    out.push_str(kind);
    out.push(':');
    for b in &digest[..8] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What a change does to a review.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Closes an open review; refused when it is closed already.
    Close {
        reason: ClosedReason,
        fraud_type: Option<FraudType>,
        note: Option<String>,
    },
    /// Adds a note (open or closed).
    Note(String),
}

impl Change {
    /// The history action it records.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Close { reason, .. } => reason.as_str(),
            Change::Note(_) => "note",
        }
    }
}

/// `change` by `actor` at `now`, applied to `review`: the one place both backends change a
/// review. Closing a closed review is refused (the first verdict stands); so is a note past
/// [`MAX_HISTORY`].
pub fn apply(
    mut review: Review,
    change: &Change,
    actor: &str,
    now: i64,
) -> Result<Review, StoreError> {
    if review.history.len() >= MAX_HISTORY {
        return Err(StoreError::Refused(format!(
            "review {} has {MAX_HISTORY} history entries, the most one keeps",
            review.id
        )));
    }
    let mut entry = HistoryEntry {
        at: now,
        actor: actor.to_owned(),
        action: change.action().to_owned(),
        note: None,
        fraud_type: None,
    };
    match change {
        Change::Close {
            reason,
            fraud_type,
            note,
        } => {
            if !review.open {
                return Err(StoreError::Refused(format!(
                    "review {} is already closed ({})",
                    review.id,
                    review.reason()
                )));
            }
            review.open = false;
            review.closed_reason = Some(*reason);
            review.closed_at = Some(now);
            review.closed_by = Some(actor.to_owned());
            review.fraud_type = *fraud_type;
            entry.note = note.clone().filter(|n| !n.trim().is_empty());
            entry.fraud_type = *fraud_type;
        }
        Change::Note(text) => entry.note = Some(text.clone()),
    }
    review.history.push(entry);
    Ok(review)
}

/// Which reviews a listing wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateFilter {
    #[default]
    Open,
    Closed,
    All,
}

impl StateFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::All => "all",
        }
    }
}

/// A listing: filters, then Stripe's paging (`limit` objects after `starting_after`).
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub state: StateFilter,
    /// Stripe's `reason`: an opened reason (`rule`, `model`, `manual`) or a closed one.
    pub reason: Option<&'a str>,
    /// Only reviews created at least this many seconds ago.
    pub min_age_secs: Option<u64>,
    /// Only reviews created at most this many seconds ago.
    pub max_age_secs: Option<u64>,
    /// Amount bounds, in the currency's smallest unit.
    pub amount_gte: Option<i64>,
    pub amount_lte: Option<i64>,
    /// Only payments in this currency (lower case).
    pub currency: Option<&'a str>,
    /// 1 to 100; 0 = 10.
    pub limit: usize,
    /// The id of the last review of the previous page.
    pub starting_after: Option<&'a str>,
    /// Oldest first (an analyst's queue); else newest first (Stripe's order).
    pub oldest_first: bool,
}

impl Query<'_> {
    /// The page size asked for, clamped as Stripe clamps it.
    pub fn page_size(&self) -> usize {
        use crate::stores::lists::page::{DEFAULT_LIMIT, MAX_LIMIT};
        match self.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        }
    }

    /// Whether `review` passes the filters (the state and age ones included), at `now`.
    pub fn matches(&self, review: &Review, now: i64) -> bool {
        let state = match self.state {
            StateFilter::Open => review.open,
            StateFilter::Closed => !review.open,
            StateFilter::All => true,
        };
        let age = now - review.created;
        state
            && self
                .reason
                .is_none_or(|r| review.reason() == r || review.opened_reason.as_str() == r)
            && self.min_age_secs.is_none_or(|a| age >= a as i64)
            && self.max_age_secs.is_none_or(|a| age <= a as i64)
            && self.amount_gte.is_none_or(|a| review.evidence.amount >= a)
            && self.amount_lte.is_none_or(|a| review.evidence.amount <= a)
            && self.currency.is_none_or(|c| review.evidence.currency == c)
    }
}

/// The queue as operators watch it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub open: u64,
    /// Creation time of the oldest open review.
    pub oldest_open_created: Option<i64>,
    /// Open reviews older than the SLA.
    pub over_sla: u64,
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// An open review created at `created` for an amount of `amount`.
    pub fn review(id: &str, created: i64, amount: i64) -> Review {
        Review {
            id: id.to_owned(),
            created,
            open: true,
            opened_reason: OpenedReason::Rule,
            closed_reason: None,
            closed_at: None,
            closed_by: None,
            fraud_type: None,
            payment_evaluation: format!("peval_{id}"),
            evidence: Evidence {
                amount,
                currency: "usd".into(),
                email: Some("jenny@example.com".into()),
                ..Evidence::default()
            },
            history: vec![HistoryEntry {
                at: created,
                actor: "riskgate".into(),
                action: "opened".into(),
                note: None,
                fraud_type: None,
            }],
            links: vec![link("email", "jenny@example.com")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fixtures::review, *};

    #[test]
    fn closing_twice_is_refused_and_the_first_verdict_stands() {
        let r = review("rev_1", 100, 500);
        let closed = apply(
            r,
            &Change::Close {
                reason: ClosedReason::RefundedAsFraud,
                fraud_type: Some(FraudType::MadeWithStolenCard),
                note: Some("stolen".into()),
            },
            "alice via admin",
            160,
        )
        .unwrap();
        assert!(!closed.open);
        assert_eq!(closed.reason(), "refunded_as_fraud");
        assert_eq!(closed.age(1000), 60);
        assert_eq!(closed.history.last().unwrap().actor, "alice via admin");
        let again = apply(
            closed.clone(),
            &Change::Close {
                reason: ClosedReason::Approved,
                fraud_type: None,
                note: None,
            },
            "bob via admin",
            170,
        );
        assert!(
            matches!(again, Err(StoreError::Refused(m)) if m.contains("already closed (refunded_as_fraud)"))
        );
        // Notes still go on a closed review.
        let noted = apply(closed, &Change::Note("chargeback filed".into()), "bob", 180).unwrap();
        assert_eq!(noted.history.len(), 3);
        assert_eq!(noted.closed_reason, Some(ClosedReason::RefundedAsFraud));
    }

    #[test]
    fn history_is_bounded() {
        let mut r = review("rev_2", 0, 1);
        for i in 1..MAX_HISTORY {
            r = apply(r, &Change::Note(format!("n{i}")), "a", i as i64).unwrap();
        }
        assert!(apply(r, &Change::Note("one more".into()), "a", 999).is_err());
    }

    #[test]
    fn queries_filter_state_reason_age_and_amount() {
        let open = review("rev_o", 1000, 5000);
        let mut closed = review("rev_c", 1000, 100);
        closed.open = false;
        closed.closed_reason = Some(ClosedReason::Approved);
        let q = Query::default();
        assert!(q.matches(&open, 2000) && !q.matches(&closed, 2000));
        let q = Query {
            state: StateFilter::All,
            reason: Some("approved"),
            ..Query::default()
        };
        assert!(!q.matches(&open, 2000) && q.matches(&closed, 2000));
        // The opened reason matches a closed review too.
        let q = Query {
            state: StateFilter::All,
            reason: Some("rule"),
            ..Query::default()
        };
        assert!(q.matches(&open, 2000) && q.matches(&closed, 2000));
        let aged = Query {
            min_age_secs: Some(600),
            amount_gte: Some(1000),
            currency: Some("usd"),
            ..Query::default()
        };
        assert!(aged.matches(&open, 1600) && !aged.matches(&open, 1500));
        let small = Query {
            amount_lte: Some(4999),
            ..Query::default()
        };
        assert!(!small.matches(&open, 1600));
        assert_eq!(Query::default().page_size(), 10);
    }

    #[test]
    fn links_hide_the_value_and_names_round_trip() {
        let l = link("email", "jenny@example.com");
        assert!(l.starts_with("email:") && l.len() == 22 && !l.contains("jenny"));
        assert_ne!(l, link("customer", "jenny@example.com"));
        for r in ClosedReason::ALL {
            assert_eq!(ClosedReason::parse(r.as_str()), Some(r));
        }
        for t in FraudType::ALL {
            assert_eq!(FraudType::parse(t.as_str()), Some(t));
        }
        assert!(new_review_id().starts_with("rev_"));
    }
}
