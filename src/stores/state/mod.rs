//! Enrichment state: Radar Sessions, the device each payment method was set up from, velocity
//! counters, the evaluations kept for outcome reports, and outcome memory (what was learned after
//! earlier decisions, per entity: [`outcomes`]). [`StateStore`] is the one interface;
//! [`local::LocalState`] keeps it in process (outcome memory journaled under the data directory),
//! [`redis::RedisState`] on Redis, shared by replicas.

pub mod evaluations;
pub mod local;
pub mod outcome_journal;
pub mod outcomes;
pub mod redis;
pub mod velocity;

use std::{net::IpAddr, sync::Arc};

use serde::{Deserialize, Serialize};

use self::outcomes::LabelOp;
pub use self::velocity::Attempt;
use super::StoreError;
use riskgate_core::signals::{
    Counter, KeyKind, OutcomeLabel, Outcomes, SessionComparison, SessionFacts, Velocity,
};

/// A Radar Session as RecordRadarSession stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RadarSession {
    /// `rse_…`.
    pub id: String,
    pub facts: SessionFacts,
    /// The payment method set up in this session (`pm_…`), if the merchant said so.
    pub payment_method: Option<String>,
    /// Derived when recorded: the IP's country and the velocity keys of its IP and device, so a
    /// backend can count a payment under them in the same round trip that finds the session.
    #[serde(default)]
    pub ip_country: Option<String>,
    #[serde(default)]
    pub ip_key: Option<u64>,
    #[serde(default)]
    pub device_key: Option<u64>,
}

/// The device a payment method was set up from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceSnapshot {
    pub session: Option<String>,
    pub ip: Option<IpAddr>,
    pub device_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip_country: Option<String>,
}

impl DeviceSnapshot {
    /// This device against `earlier`, the one the payment method was set up from.
    pub fn compare(&self, earlier: &DeviceSnapshot) -> SessionComparison {
        if self.session.is_some() && self.session == earlier.session {
            let same = Some(false);
            return SessionComparison {
                ip_changed: same,
                device_changed: same,
                user_agent_changed: same,
                ip_country_changed: same,
            };
        }
        fn changed<T: PartialEq>(now: &Option<T>, then: &Option<T>) -> Option<bool> {
            Some(now.as_ref()? != then.as_ref()?)
        }
        SessionComparison {
            ip_changed: changed(&self.ip, &earlier.ip),
            device_changed: changed(&self.device_id, &earlier.device_id),
            user_agent_changed: changed(&self.user_agent, &earlier.user_agent),
            ip_country_changed: changed(&self.ip_country, &earlier.ip_country),
        }
    }
}

/// How the device of a payment method's set-up is written (issue 18: a session must not overwrite
/// the device another session recorded, or the two-session check compares a payment with the
/// attacker's own device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupWrite {
    /// An evaluation that sets the payment method up: kept only when none is recorded yet.
    KeepEarlier,
    /// A Radar Session naming the payment method: written when none is recorded or the recorded
    /// one came from this same session (a re-record updates it); refused otherwise.
    SameSession,
}

/// The refusal of a [`SetupWrite::SameSession`] write.
pub(crate) fn set_up_elsewhere(payment_method: &str) -> StoreError {
    metrics::counter!(crate::telemetry::PAYMENT_METHOD_SETUP_CONFLICTS).increment(1);
    StoreError::AlreadyExists {
        field: "session.payment_method",
        message: format!(
            "payment method {payment_method} was set up in another Radar Session; its set-up \
             device is recorded once (only the same session may record it again)"
        ),
    }
}

/// What a merchant reports about a payment after the evaluation. Each kind counts once per
/// evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Authorized,
    Declined,
    Refunded,
    Disputed,
    EarlyFraudWarning,
    /// The merchant's own finding that the payment was fraud.
    MerchantReportedFraud,
    /// A fraud analyst rejected the payment as fraud.
    AnalystRejected,
    /// A fraud analyst reviewed the payment and approved it.
    AnalystApproved,
}

impl Outcome {
    /// Stable small number of the kind (the once-per-evaluation marks). The first five are the
    /// velocity counter indexes they were before outcome memory, so marks written then still hold.
    pub const fn code(self) -> u8 {
        match self {
            Outcome::Authorized => 2,
            Outcome::Declined => 3,
            Outcome::Refunded => 4,
            Outcome::Disputed => 5,
            Outcome::EarlyFraudWarning => 6,
            Outcome::MerchantReportedFraud => 7,
            Outcome::AnalystRejected => 8,
            Outcome::AnalystApproved => 9,
        }
    }

    /// The velocity counter it moves (`authorized_charges_per_*`, `declined_charges_per_*`);
    /// disputes, warnings and refunds are counted by outcome memory instead.
    pub const fn counter(self) -> Option<Counter> {
        match self {
            Outcome::Authorized => Some(Counter::Authorized),
            Outcome::Declined => Some(Counter::Declined),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Authorized => "authorized",
            Outcome::Declined => "declined",
            Outcome::Refunded => "refunded",
            Outcome::Disputed => "disputed",
            Outcome::EarlyFraudWarning => "early_fraud_warning",
            Outcome::MerchantReportedFraud => "merchant_reported_fraud",
            Outcome::AnalystRejected => "analyst_rejected",
            Outcome::AnalystApproved => "analyst_approved",
        }
    }

    /// The label it teaches when nothing more precise is known: a dispute without a reason is
    /// taken as fraudulent (as riskgate has always forwarded it to Stripe), a refund without one
    /// as not fraud, a decline without a code as "other".
    pub const fn default_label(self) -> OutcomeLabel {
        match self {
            Outcome::Authorized => OutcomeLabel::Authorized,
            Outcome::Declined => OutcomeLabel::DeclinedOther,
            Outcome::Refunded => OutcomeLabel::Refunded,
            Outcome::Disputed => OutcomeLabel::FraudulentDispute,
            Outcome::EarlyFraudWarning => OutcomeLabel::EarlyFraudWarning,
            Outcome::MerchantReportedFraud => OutcomeLabel::MerchantReportedFraud,
            Outcome::AnalystRejected => OutcomeLabel::AnalystRejected,
            Outcome::AnalystApproved => OutcomeLabel::AnalystApproved,
        }
    }
}

/// One outcome report: what happened, and the label outcome memory learns from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    pub label: OutcomeLabel,
}

impl Report {
    /// `outcome` with its default label.
    pub const fn of(outcome: Outcome) -> Self {
        Self {
            outcome,
            label: outcome.default_label(),
        }
    }
}

/// What became of a reported outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeResult {
    /// Counted.
    Recorded,
    /// This outcome was already reported for this evaluation; counted once.
    Duplicate,
    /// No evaluation with this id is remembered (unknown, or older than the retention).
    NotFound,
}

impl OutcomeResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            OutcomeResult::Recorded => "recorded",
            OutcomeResult::Duplicate => "duplicate",
            OutcomeResult::NotFound => "not_found",
        }
    }
}

/// What riskgate remembers of an evaluation Stripe scored, to forward its outcome: the
/// evaluation's id at Stripe and the amount and currency Stripe's event reports need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRef {
    /// The Payment Evaluation's id at Stripe (`peval_…`).
    pub id: String,
    /// In the currency's smallest unit.
    pub amount: i64,
    pub currency: String,
}

impl UpstreamRef {
    /// `id|amount|currency` (ids and currency codes hold no `|`).
    pub fn encode(&self) -> String {
        format!("{}|{}|{}", self.id, self.amount, self.currency)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, '|');
        let id = parts.next().filter(|p| !p.is_empty())?.to_owned();
        let amount = parts.next()?.parse().ok()?;
        let currency = parts.next()?.to_owned();
        Some(Self {
            id,
            amount,
            currency,
        })
    }
}

/// One evaluation's read-and-record request: everything the stage needs from state, in one call.
#[derive(Debug, Clone)]
pub struct Lookup<'a> {
    /// Remembered with the keys for ReportPaymentOutcome.
    pub evaluation_id: &'a str,
    /// The Radar Session the payment names.
    pub session: Option<&'a str>,
    pub payment_method: &'a str,
    /// Whether to read the session the payment method was set up in.
    pub read_payment_method_session: bool,
    /// The payment's keys. A missing IP (device) key is taken from the session, if it has one.
    pub attempt: Attempt,
}

/// What a [`Lookup`] found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub session: Option<Arc<RadarSession>>,
    pub payment_method_session: Option<Arc<DeviceSnapshot>>,
    /// History of each key before this payment.
    pub velocity: Velocity,
    /// The keys the payment was counted under (the session's IP and device filled in).
    pub keys: [Option<u64>; KeyKind::COUNT],
    /// What was learned about those keys after earlier decisions.
    pub outcomes: Outcomes,
}

/// Where enrichment state lives. `lookup_and_record` is the only call on an ordinary payment's path
/// and is one round trip to a remote backend.
#[tonic::async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Finds the session, the payment method's set-up session and the history of every key before
    /// this payment; records the payment (a total charge, its amount and distinct values, atomically
    /// per key) and remembers its keys under the evaluation id.
    async fn lookup_and_record(&self, lookup: &Lookup<'_>, now: i64) -> Result<Found, StoreError>;

    /// Counts one `counter` (a block, or a reported outcome) for each of `keys`, with `usd` added to
    /// the successful (authorized) or failed (blocked, declined) amount.
    async fn count(
        &self,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Counts an outcome of a remembered evaluation (once per outcome kind): its velocity
    /// counter, if it has one, and its label on every key of the evaluation (outcome memory).
    async fn report_outcome(
        &self,
        evaluation_id: &str,
        report: Report,
        now: i64,
    ) -> Result<OutcomeResult, StoreError>;

    /// Applies a label to the keys it names (outcome memory), for what is learned without an
    /// evaluation id (a Stripe webhook about a charge). Acknowledged = durable.
    async fn label(&self, op: &LabelOp) -> Result<(), StoreError>;

    async fn put_session(&self, session: RadarSession) -> Result<(), StoreError>;

    async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError>;

    /// Remembers the device `payment_method` was set up from, as `write` says. A
    /// [`SetupWrite::SameSession`] refused because another session set the payment method up is
    /// `StoreError::AlreadyExists` on `session.payment_method`.
    async fn put_payment_method_session(
        &self,
        payment_method: &str,
        device: DeviceSnapshot,
        write: SetupWrite,
    ) -> Result<(), StoreError>;

    /// Drops idle state (velocity keys, expired outcome labels); returns how many velocity keys
    /// went. Backends that expire by themselves do nothing.
    fn sweep(&self, _now: i64) -> usize {
        0
    }

    /// Entities in an in-process outcome memory (`None`: the backend keeps them elsewhere).
    fn outcome_entities(&self) -> Option<usize> {
        None
    }

    /// Remembers that Stripe scored `evaluation_id` (for as long as outcomes are kept).
    async fn put_upstream_ref(
        &self,
        evaluation_id: &str,
        upstream: &UpstreamRef,
    ) -> Result<(), StoreError>;

    /// What [`StateStore::put_upstream_ref`] remembered, if anything.
    async fn get_upstream_ref(
        &self,
        evaluation_id: &str,
    ) -> Result<Option<UpstreamRef>, StoreError>;
}

/// Takes the IP and device keys from the session when the payment has none of its own.
pub fn fill_from_session(attempt: &mut Attempt, session: Option<&RadarSession>) {
    if let Some(s) = session {
        fill_session_keys(attempt, s.ip_key, s.device_key);
    }
}

/// [`fill_from_session`] with the session's keys alone (what a Redis gateway hears announced).
pub fn fill_session_keys(attempt: &mut Attempt, ip_key: Option<u64>, device_key: Option<u64>) {
    let ip = &mut attempt.keys[KeyKind::Ip as usize];
    if ip.is_none() {
        *ip = ip_key;
    }
    let device = &mut attempt.keys[KeyKind::Device as usize];
    if device.is_none() {
        *device = device_key;
    }
}
