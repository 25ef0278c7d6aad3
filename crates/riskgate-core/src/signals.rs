//! What the enrichment stage (`src/enrich/`) learned about a payment beyond the request: the Radar
//! Session's device facts, the IP's country, the two-session comparison and the velocity history of
//! the payment's keys. Plain data, produced at the edge; [`crate::attributes::extract`] turns it
//! into attributes ([`crate::attributes::windows`] names each windowed count). What was learned
//! after earlier decisions (outcome memory) is in [`outcomes`].

pub mod outcomes;

use std::net::IpAddr;

pub use self::outcomes::{
    OUTCOME_CAP, OUTCOME_WINDOW_SECS, OUTCOME_WINDOWS, OutcomeHistory, OutcomeLabel, OutcomeSeries,
    OutcomeWindow, Outcomes,
};

/// The rolling windows, in the order of every `[_; WINDOWS]` array: hourly, daily, weekly, all time.
pub const WINDOWS: usize = 4;
/// Length of each rolling window in seconds (`None` = all retained history).
pub const WINDOW_SECS: [Option<i64>; WINDOWS] = [Some(3600), Some(86_400), Some(7 * 86_400), None];
/// Distinct counts stop at this value, as Radar's do.
pub const DISTINCT_CAP: u8 = 25;

/// What a velocity key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Counter {
    /// Every evaluated attempt.
    Total,
    /// Attempts riskgate answered BLOCK.
    Blocked,
    /// Attempts reported authorized (ReportPaymentOutcome).
    Authorized,
    /// Attempts reported declined.
    Declined,
    Refunded,
    Disputed,
    EarlyFraudWarning,
}

impl Counter {
    pub const COUNT: usize = 7;
    pub const ALL: [Counter; Self::COUNT] = [
        Counter::Total,
        Counter::Blocked,
        Counter::Authorized,
        Counter::Declined,
        Counter::Refunded,
        Counter::Disputed,
        Counter::EarlyFraudWarning,
    ];
}

/// The keys a payment is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum KeyKind {
    /// Card fingerprint, else the payment method id.
    Card,
    /// Normalized (trimmed, lower-case) email.
    Email,
    Ip,
    Customer,
    BillingAddress,
    ShippingAddress,
    Device,
}

impl KeyKind {
    pub const COUNT: usize = 7;
    pub const ALL: [KeyKind; Self::COUNT] = [
        KeyKind::Card,
        KeyKind::Email,
        KeyKind::Ip,
        KeyKind::Customer,
        KeyKind::BillingAddress,
        KeyKind::ShippingAddress,
        KeyKind::Device,
    ];

    /// Short stable name (Redis key prefixes, metrics).
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyKind::Card => "card",
            KeyKind::Email => "email",
            KeyKind::Ip => "ip",
            KeyKind::Customer => "customer",
            KeyKind::BillingAddress => "billing",
            KeyKind::ShippingAddress => "shipping",
            KeyKind::Device => "device",
        }
    }

    /// The distinct values this key keeps sets of.
    pub const fn dims(self) -> &'static [Dim] {
        match self {
            KeyKind::Card => &[Dim::Email, Dim::Name, Dim::Customer],
            KeyKind::Email => &[Dim::Card, Dim::Customer],
            KeyKind::Ip => &[Dim::Card, Dim::Email],
            KeyKind::Customer
            | KeyKind::BillingAddress
            | KeyKind::ShippingAddress
            | KeyKind::Device => &[Dim::Card],
        }
    }
}

/// A dimension whose distinct values a key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Dim {
    Card,
    Email,
    /// Cardholder (billing) name.
    Name,
    Customer,
}

impl Dim {
    pub const COUNT: usize = 4;
}

/// One key's history before this payment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyHistory {
    /// `counts[counter][window]`.
    pub counts: [[u32; WINDOWS]; Counter::COUNT],
    /// `distinct[dim][window]`, capped at [`DISTINCT_CAP`].
    pub distinct: [[u8; WINDOWS]; Dim::COUNT],
    pub usd_charged: f64,
    pub usd_successful: f64,
    pub usd_failed: f64,
    /// Seconds since the key's first payment; `None` when this payment is its first.
    pub seconds_since_first_seen: Option<u64>,
    /// Whether this payment's value of each dimension was among the distinct values the key kept
    /// before it (on the customer key, `seen_before[Dim::Card]`: the customer paid with this card
    /// before; for `is_new_card_on_customer`).
    pub seen_before: [bool; Dim::COUNT],
}

impl KeyHistory {
    /// The count of `counter` in window `w`.
    pub fn count(&self, counter: Counter, w: usize) -> u32 {
        self.counts[counter as usize][w]
    }
}

/// The history of every key this payment has (`None` = the payment has no such key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Velocity {
    pub keys: [Option<KeyHistory>; KeyKind::COUNT],
}

impl Velocity {
    pub fn key(&self, kind: KeyKind) -> Option<&KeyHistory> {
        self.keys[kind as usize].as_ref()
    }
}

/// Device facts recorded with RecordRadarSession.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionFacts {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    pub referrer: Option<String>,
    pub screen: Option<String>,
    pub timezone: Option<String>,
    pub device_id: Option<String>,
    pub time_on_page_ms: Option<u64>,
    pub pasted_fields: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// This payment's device against the one its payment method was set up with. Each flag is `None`
/// when either side lacks the fact.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionComparison {
    pub ip_changed: Option<bool>,
    pub device_changed: Option<bool>,
    pub user_agent_changed: Option<bool>,
    pub ip_country_changed: Option<bool>,
}

/// Everything the enrichment stage found. `Default` = nothing known (every enrichment attribute
/// missing), which is also what a payment gets when enrichment is unavailable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// `Some(found)` when the request named a Radar Session.
    pub session_found: Option<bool>,
    pub session: Option<SessionFacts>,
    pub ip_country: Option<String>,
    /// `Some` when the payment method's set-up session is known.
    pub payment_method_session: Option<SessionComparison>,
    pub velocity: Velocity,
    /// What was learned after earlier decisions about this payment's keys (outcome memory).
    pub outcomes: Outcomes,
    // --- Radar rules fidelity (issue 17) ---
    /// What the GeoIP databases other than the country one know of the payment's IP address.
    pub geo: GeoFacts,
}

/// IP facts from the optional GeoIP databases (`enrichment.geoip_*_mmdb_path`). A `None` field
/// means its database is not configured (the attribute is missing); with a database, an address it
/// does not list (or a payment without an IP address) gets empty or false facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoFacts {
    /// City database: the subdivision (ISO 3166-2 code without the country, `CA`); `Some(None)` when
    /// the database does not know it.
    pub state: Option<Option<String>>,
    /// Anonymous IP database.
    pub anonymous: Option<AnonymousIp>,
    /// Connection-Type database: `cable/dsl`, `cellular`, `corporate`, `dialup`, `satellite`.
    pub connection_type: Option<Option<String>>,
    /// ISP or ASN database: the provider's name.
    pub isp: Option<Option<String>>,
}

/// Anonymous IP database facts of one address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnonymousIp {
    pub public_proxy: bool,
    pub tor_exit_node: bool,
    pub vpn: bool,
    pub hosting_provider: bool,
}

impl Signals {
    /// Nothing known.
    pub const EMPTY: Signals = Signals {
        session_found: None,
        session: None,
        ip_country: None,
        payment_method_session: None,
        velocity: Velocity {
            keys: [None, None, None, None, None, None, None],
        },
        outcomes: Outcomes::EMPTY,
        geo: GeoFacts {
            state: None,
            anonymous: None,
            connection_type: None,
            isp: None,
        },
    };
}
