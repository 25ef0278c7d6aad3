//! The enrichment stage, at the edge: before the pure core computes attributes, it looks up what
//! riskgate remembers about the payment — the Radar Session its device data came with, the IP's
//! country, the session its payment method was set up in, the velocity history of its card, email,
//! IP, customer, device and addresses — and returns it as a plain [`Enrichment`]. It records the
//! attempt in the same step (the history it returns excludes the payment itself); after the
//! decision, [`Enricher::finish`] counts a block and remembers the evaluation's keys so that
//! `ReportPaymentOutcome` can update them later.
//!
//! State lives behind [`StateStore`]; [`LocalState`] keeps it in process (dashmap + moka).

pub mod geoip;
pub mod velocity;

use std::{
    hash::{Hash, Hasher},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use moka::{future::Cache, notification::RemovalCause};

pub use self::velocity::Attempt;
use self::{geoip::GeoIp, velocity::VelocityStore};
use crate::{
    config::EnrichmentConfig,
    core::{
        enrichment::{
            Counter, Dim, Enrichment, KeyKind, SessionComparison, SessionFacts, Velocity,
        },
        input::{Address, PaymentInput},
    },
    telemetry,
};

/// A Radar Session as RecordRadarSession stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct RadarSession {
    /// `rse_…`.
    pub id: String,
    pub facts: SessionFacts,
    /// The payment method set up in this session (`pm_…`), if the merchant said so.
    pub payment_method: Option<String>,
}

/// The device a payment method was set up from.
#[derive(Debug, Clone, Default, PartialEq)]
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

/// What a merchant reports about a payment after the evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Authorized,
    Declined,
    Refunded,
    Disputed,
    EarlyFraudWarning,
}

impl Outcome {
    pub const fn counter(self) -> Counter {
        match self {
            Outcome::Authorized => Counter::Authorized,
            Outcome::Declined => Counter::Declined,
            Outcome::Refunded => Counter::Refunded,
            Outcome::Disputed => Counter::Disputed,
            Outcome::EarlyFraudWarning => Counter::EarlyFraudWarning,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Authorized => "authorized",
            Outcome::Declined => "declined",
            Outcome::Refunded => "refunded",
            Outcome::Disputed => "disputed",
            Outcome::EarlyFraudWarning => "early_fraud_warning",
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

/// A state backend that failed or ran out of time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state store unavailable: {0}")]
pub struct StoreError(pub String);

/// Where enrichment state lives. Every method is one round trip to the backend.
#[tonic::async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// The history of `attempt`'s keys before it, and the attempt recorded, atomically per key.
    async fn lookup_and_record(&self, attempt: &Attempt, now: i64) -> Result<Velocity, StoreError>;

    /// After the decision: remembers the evaluation's keys for outcome reports and, if it was
    /// blocked, counts the block.
    async fn finish(
        &self,
        evaluation_id: &str,
        attempt: &Attempt,
        blocked: bool,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Counts an outcome of a remembered evaluation (once per outcome kind).
    async fn report_outcome(
        &self,
        evaluation_id: &str,
        outcome: Outcome,
        now: i64,
    ) -> Result<OutcomeResult, StoreError>;

    async fn put_session(&self, session: RadarSession) -> Result<(), StoreError>;

    async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError>;

    /// Remembers the device `payment_method` was set up from; keeps an earlier one unless
    /// `replace`.
    async fn put_payment_method_session(
        &self,
        payment_method: &str,
        device: DeviceSnapshot,
        replace: bool,
    ) -> Result<(), StoreError>;

    async fn get_payment_method_session(
        &self,
        payment_method: &str,
    ) -> Result<Option<Arc<DeviceSnapshot>>, StoreError>;

    /// Drops idle state; returns how many keys went. Backends that expire by themselves do nothing.
    fn sweep(&self, _now: i64) -> usize {
        0
    }
}

/// An evaluation remembered for outcome reports.
#[derive(Debug)]
struct EvaluationKeys {
    keys: [Option<u64>; KeyKind::COUNT],
    usd: f64,
    /// Bit per [`Counter`] already reported.
    reported: AtomicU8,
}

/// In-process state: velocity in a dashmap, sessions and evaluations in bounded moka caches.
pub struct LocalState {
    velocity: VelocityStore,
    sessions: Cache<String, Arc<RadarSession>>,
    payment_methods: Cache<String, Arc<DeviceSnapshot>>,
    evaluations: Cache<String, Arc<EvaluationKeys>>,
    idle_expiry_secs: u64,
}

impl LocalState {
    pub fn new(config: &EnrichmentConfig) -> Self {
        let sessions = Cache::builder()
            .max_capacity(config.session_max_entries)
            .time_to_live(Duration::from_secs(config.session_ttl_secs))
            .eviction_listener(|_k, _v, cause| {
                let cause = match cause {
                    RemovalCause::Size => "size",
                    RemovalCause::Expired => "expired",
                    _ => return,
                };
                metrics::counter!(telemetry::RADAR_SESSION_EVICTIONS, "cause" => cause)
                    .increment(1);
            })
            .build();
        Self {
            velocity: VelocityStore::new(),
            sessions,
            payment_methods: Cache::builder()
                .max_capacity(config.payment_method_session_max_entries)
                .time_to_live(Duration::from_secs(config.payment_method_session_ttl_secs))
                .build(),
            evaluations: Cache::builder()
                .max_capacity(config.outcome_max_evaluations)
                .time_to_live(Duration::from_secs(config.outcome_retention_secs))
                .build(),
            idle_expiry_secs: config.velocity_idle_expiry_secs,
        }
    }

    /// The velocity counters (benchmarks and memory measurements use them directly).
    pub fn velocity(&self) -> &VelocityStore {
        &self.velocity
    }
}

#[tonic::async_trait]
impl StateStore for LocalState {
    async fn lookup_and_record(&self, attempt: &Attempt, now: i64) -> Result<Velocity, StoreError> {
        Ok(self.velocity.lookup_and_record(attempt, now))
    }

    async fn finish(
        &self,
        evaluation_id: &str,
        attempt: &Attempt,
        blocked: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let reported = if blocked {
            self.velocity
                .record(&attempt.keys, Counter::Blocked, attempt.usd, now);
            1 << Counter::Blocked as u8
        } else {
            0
        };
        self.evaluations
            .insert(
                evaluation_id.to_owned(),
                Arc::new(EvaluationKeys {
                    keys: attempt.keys,
                    usd: attempt.usd,
                    reported: AtomicU8::new(reported),
                }),
            )
            .await;
        Ok(())
    }

    async fn report_outcome(
        &self,
        evaluation_id: &str,
        outcome: Outcome,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let Some(evaluation) = self.evaluations.get(evaluation_id).await else {
            return Ok(OutcomeResult::NotFound);
        };
        let counter = outcome.counter();
        let bit = 1u8 << counter as u8;
        if evaluation.reported.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Ok(OutcomeResult::Duplicate);
        }
        self.velocity
            .record(&evaluation.keys, counter, evaluation.usd, now);
        Ok(OutcomeResult::Recorded)
    }

    async fn put_session(&self, session: RadarSession) -> Result<(), StoreError> {
        self.sessions
            .insert(session.id.clone(), Arc::new(session))
            .await;
        Ok(())
    }

    async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError> {
        Ok(self.sessions.get(id).await)
    }

    async fn put_payment_method_session(
        &self,
        payment_method: &str,
        device: DeviceSnapshot,
        replace: bool,
    ) -> Result<(), StoreError> {
        let device = Arc::new(device);
        if replace {
            self.payment_methods
                .insert(payment_method.to_owned(), device)
                .await;
        } else {
            self.payment_methods
                .entry_by_ref(payment_method)
                .or_insert(device)
                .await;
        }
        Ok(())
    }

    async fn get_payment_method_session(
        &self,
        payment_method: &str,
    ) -> Result<Option<Arc<DeviceSnapshot>>, StoreError> {
        Ok(self.payment_methods.get(payment_method).await)
    }

    fn sweep(&self, now: i64) -> usize {
        self.velocity.sweep(now, self.idle_expiry_secs)
    }
}

/// Unix time for enrichment, from tokio's clock, so tests drive it with paused time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: tokio::time::Instant,
    origin_unix: i64,
}

impl Clock {
    /// Wall-clock time (anchored once, then monotonic).
    pub fn system() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Self::starting_at(unix)
    }

    /// A clock that reads `unix` now and advances with tokio's clock.
    pub fn starting_at(unix: i64) -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            origin_unix: unix,
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        self.origin_unix + self.origin.elapsed().as_secs() as i64
    }
}

/// What the enrichment stage found about one payment, and what `finish` needs afterwards.
#[derive(Debug, Default)]
pub struct Enriched {
    pub enrichment: Enrichment,
    pub attempt: Attempt,
    /// Part of the state could not be read (the answer is flagged `degraded`).
    pub degraded: bool,
}

/// The enrichment stage.
pub struct Enricher {
    store: Arc<dyn StateStore>,
    geo: Option<GeoIp>,
    clock: Clock,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("geo", &self.geo)
            .finish_non_exhaustive()
    }
}

impl Enricher {
    pub fn new(store: Arc<dyn StateStore>, geo: Option<GeoIp>, clock: Clock) -> Self {
        Self { store, geo, clock }
    }

    /// In-process state with `config`'s bounds, the configured country database and the system
    /// clock.
    pub fn from_config(config: &EnrichmentConfig) -> Result<Self, String> {
        let geo = match &config.geoip_mmdb_path {
            Some(path) => Some(GeoIp::open(path)?),
            None => None,
        };
        Ok(Self::new(
            Arc::new(LocalState::new(config)),
            geo,
            Clock::system(),
        ))
    }

    /// In-process state with default bounds, no country database (what a service gets unless it is
    /// given an enricher).
    pub fn in_process_default() -> Self {
        Self::new(
            Arc::new(LocalState::new(&EnrichmentConfig::default())),
            None,
            Clock::system(),
        )
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// The country of `ip`, when a database is configured and knows it.
    pub fn ip_country(&self, ip: IpAddr) -> Option<String> {
        self.geo.as_ref()?.country(ip)
    }

    /// Looks up everything known about `input` and records it as an attempt. `usd` is its amount
    /// in US dollars, if the currency has a rate. Never fails: what cannot be read is missing and
    /// the result says `degraded`.
    pub async fn enrich(&self, input: &PaymentInput<'_>, usd: Option<f64>) -> Enriched {
        let now = self.clock.now();
        let mut degraded = false;
        let mut out = Enrichment::default();

        let mut session = None;
        if let Some(id) = input.device.radar_session {
            match self.store.get_session(id).await {
                Ok(found) => {
                    metrics::counter!(
                        telemetry::RADAR_SESSION_LOOKUPS,
                        "outcome" => if found.is_some() { "hit" } else { "miss" }
                    )
                    .increment(1);
                    out.session_found = Some(found.is_some());
                    session = found;
                }
                Err(e) => degraded |= self.failed("session", &e),
            }
        }
        let facts = session.as_ref().map(|s| &s.facts);
        let ip = input.device.ip.or(facts.and_then(|f| f.ip));
        out.ip_country = ip.and_then(|ip| self.ip_country(ip));
        let device = DeviceSnapshot {
            session: input.device.radar_session.map(str::to_owned),
            ip,
            device_id: facts.and_then(|f| f.device_id.clone()),
            user_agent: input
                .device
                .user_agent
                .map(str::to_owned)
                .or(facts.and_then(|f| f.user_agent.clone())),
            ip_country: out.ip_country.clone(),
        };

        let setup = input.payment_type.is_some_and(|t| t.is_setup());
        let has_device = device.session.is_some() || device.ip.is_some();
        if setup && has_device {
            if let Err(e) = self
                .store
                .put_payment_method_session(input.payment_method, device.clone(), false)
                .await
            {
                degraded |= self.failed("payment_method_session", &e);
            }
        } else if !setup {
            match self
                .store
                .get_payment_method_session(input.payment_method)
                .await
            {
                Ok(earlier) => {
                    out.payment_method_session = earlier.map(|earlier| device.compare(&earlier))
                }
                Err(e) => degraded |= self.failed("payment_method_session", &e),
            }
        }

        let attempt = attempt(input, &device, usd);
        match self.store.lookup_and_record(&attempt, now).await {
            Ok(v) => out.velocity = v,
            Err(e) => degraded |= self.failed("velocity", &e),
        }
        if let Some(s) = session {
            out.session = Some(s.facts.clone());
        }
        Enriched {
            enrichment: out,
            attempt,
            degraded,
        }
    }

    /// After the decision: counts a block and remembers the evaluation for outcome reports.
    /// Returns false when the store failed (the answer is already decided; the failure is
    /// counted and logged).
    pub async fn finish(&self, evaluation_id: &str, enriched: &Enriched, blocked: bool) -> bool {
        match self
            .store
            .finish(evaluation_id, &enriched.attempt, blocked, self.clock.now())
            .await
        {
            Ok(()) => true,
            Err(e) => !self.failed("finish", &e),
        }
    }

    /// Records a Radar Session and, if it names one, the payment method it set up.
    pub async fn record_session(&self, session: RadarSession) -> Result<(), StoreError> {
        if let Some(pm) = &session.payment_method {
            let device = DeviceSnapshot {
                session: Some(session.id.clone()),
                ip: session.facts.ip,
                device_id: session.facts.device_id.clone(),
                user_agent: session.facts.user_agent.clone(),
                ip_country: session.facts.ip.and_then(|ip| self.ip_country(ip)),
            };
            self.store
                .put_payment_method_session(pm, device, true)
                .await?;
        }
        self.store.put_session(session).await?;
        metrics::counter!(telemetry::RADAR_SESSIONS_RECORDED).increment(1);
        Ok(())
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError> {
        let found = self.store.get_session(id).await?;
        metrics::counter!(
            telemetry::RADAR_SESSION_LOOKUPS,
            "outcome" => if found.is_some() { "hit" } else { "miss" }
        )
        .increment(1);
        Ok(found)
    }

    pub async fn report_outcome(
        &self,
        evaluation_id: &str,
        outcome: Outcome,
    ) -> Result<OutcomeResult, StoreError> {
        let result = self
            .store
            .report_outcome(evaluation_id, outcome, self.clock.now())
            .await?;
        metrics::counter!(
            telemetry::PAYMENT_OUTCOMES,
            "outcome" => outcome.as_str(),
            "result" => result.as_str(),
        )
        .increment(1);
        Ok(result)
    }

    /// Removes idle state every `interval`, until the runtime stops.
    pub async fn run_upkeep(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let removed = self.store.sweep(self.clock.now());
            metrics::counter!(telemetry::VELOCITY_KEYS_EXPIRED).increment(removed as u64);
        }
    }

    fn failed(&self, part: &'static str, e: &StoreError) -> bool {
        metrics::counter!(telemetry::ENRICHMENT_DEGRADED, "part" => part).increment(1);
        tracing::warn!(part, error = %e, "enrichment state unavailable; continuing without it");
        true
    }
}

/// A stable 64-bit hash of a key's kind and normalized value.
fn key_hash(kind: u8, parts: &[&[u8]]) -> u64 {
    // SipHash-1-3 with fixed keys: the same value gives the same key in every process of a build.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(0x7269_736b_6761_7465, 0x7665_6c6f_6369_7479);
    kind.hash(&mut h);
    for p in parts {
        h.write(p);
        h.write_u8(0xff);
    }
    h.finish()
}

fn normalized(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

fn address_key(kind: KeyKind, a: &Address<'_>) -> Option<u64> {
    a.line1.or(a.postal_code)?;
    let fields = [a.line1, a.line2, a.city, a.state, a.postal_code, a.country];
    let norm: Vec<String> = fields
        .iter()
        .map(|f| f.map(normalized).unwrap_or_default())
        .collect();
    let parts: Vec<&[u8]> = norm.iter().map(|s| s.as_bytes()).collect();
    Some(key_hash(kind as u8, &parts))
}

/// The keys and distinct values `input` is counted under.
pub fn attempt(input: &PaymentInput<'_>, device: &DeviceSnapshot, usd: Option<f64>) -> Attempt {
    let mut a = Attempt {
        usd: usd.unwrap_or(0.0),
        ..Default::default()
    };
    let mut set = |kind: KeyKind, hash: Option<u64>| a.keys[kind as usize] = hash;
    let card = input
        .card
        .as_ref()
        .and_then(|c| c.fingerprint)
        .map(|f| key_hash(KeyKind::Card as u8, &[b"fp", f.as_bytes()]))
        .unwrap_or_else(|| {
            key_hash(
                KeyKind::Card as u8,
                &[b"pm", input.payment_method.as_bytes()],
            )
        });
    set(KeyKind::Card, Some(card));
    let email = input.any_email().map(normalized);
    let email_key = email
        .as_ref()
        .map(|e| key_hash(KeyKind::Email as u8, &[e.as_bytes()]));
    set(KeyKind::Email, email_key);
    set(
        KeyKind::Ip,
        device.ip.map(|ip| match ip {
            IpAddr::V4(v4) => key_hash(KeyKind::Ip as u8, &[&v4.octets()]),
            IpAddr::V6(v6) => key_hash(KeyKind::Ip as u8, &[&v6.octets()]),
        }),
    );
    let customer = input
        .customer
        .map(|c| key_hash(KeyKind::Customer as u8, &[c.as_bytes()]));
    set(KeyKind::Customer, customer);
    set(
        KeyKind::BillingAddress,
        input
            .billing
            .as_ref()
            .and_then(|b| b.address.as_ref())
            .and_then(|addr| address_key(KeyKind::BillingAddress, addr)),
    );
    set(
        KeyKind::ShippingAddress,
        input
            .shipping
            .as_ref()
            .and_then(|s| s.address.as_ref())
            .and_then(|addr| address_key(KeyKind::ShippingAddress, addr)),
    );
    set(
        KeyKind::Device,
        device
            .device_id
            .as_ref()
            .map(|d| key_hash(KeyKind::Device as u8, &[d.as_bytes()])),
    );
    let name = input
        .billing
        .as_ref()
        .and_then(|b| b.name)
        .or(input.name)
        .map(normalized)
        .filter(|n| !n.is_empty())
        .map(|n| key_hash(255, &[n.as_bytes()]));
    let short = |h: u64| (h ^ (h >> 32)) as u32;
    a.dims[Dim::Card as usize] = Some(short(card));
    a.dims[Dim::Email as usize] = email_key.map(short);
    a.dims[Dim::Name as usize] = name.map(short);
    a.dims[Dim::Customer as usize] = customer.map(short);
    a
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::core::{
        input::{Card, Device, PaymentType},
        reference::currency,
    };

    fn input<'a>(md: &'a BTreeMap<String, String>, fingerprint: &'a str) -> PaymentInput<'a> {
        PaymentInput {
            amount: 1000,
            currency: currency("usd").unwrap(),
            customer: Some("cus_1"),
            customer_account: None,
            email: Some(" Jenny@Example.com "),
            name: None,
            phone: None,
            description: None,
            statement_descriptor: None,
            payment_method: "pm_1",
            billing: None,
            card: Some(Card {
                fingerprint: Some(fingerprint),
                ..Default::default()
            }),
            customer_presence: None,
            payment_type: None,
            shipping: None,
            device: Device {
                ip: Some("198.51.100.4".parse().unwrap()),
                ..Default::default()
            },
            metadata: md,
        }
    }

    fn enricher(start: i64) -> Enricher {
        Enricher::new(
            Arc::new(LocalState::new(&EnrichmentConfig::default())),
            None,
            Clock::starting_at(start),
        )
    }

    #[test]
    fn keys_are_normalized() {
        let md = BTreeMap::new();
        let a = attempt(&input(&md, "fpA"), &DeviceSnapshot::default(), Some(10.0));
        let mut other = input(&md, "fpA");
        other.email = Some("jenny@example.com");
        let b = attempt(&other, &DeviceSnapshot::default(), None);
        assert_eq!(
            a.keys[KeyKind::Email as usize],
            b.keys[KeyKind::Email as usize]
        );
        assert_eq!(
            a.keys[KeyKind::Card as usize],
            b.keys[KeyKind::Card as usize]
        );
        let c = attempt(&input(&md, "fpB"), &DeviceSnapshot::default(), None);
        assert_ne!(
            a.keys[KeyKind::Card as usize],
            c.keys[KeyKind::Card as usize]
        );
        assert_eq!(a.keys[KeyKind::Ip as usize], None); // the device snapshot carries the IP
    }

    #[tokio::test(start_paused = true)]
    async fn history_rolls_with_the_clock_and_idle_keys_expire() {
        let e = Arc::new(enricher(1_795_219_200));
        let md = BTreeMap::new();
        let hourly = |en: &Enriched| {
            en.enrichment
                .velocity
                .key(KeyKind::Card)
                .unwrap()
                .count(Counter::Total, 0)
        };
        for _ in 0..3 {
            e.enrich(&input(&md, "fpA"), Some(5.0)).await;
        }
        assert_eq!(hourly(&e.enrich(&input(&md, "fpA"), None).await), 3);
        tokio::time::advance(Duration::from_secs(2 * 3600)).await;
        let later = e.enrich(&input(&md, "fpA"), None).await;
        assert_eq!(hourly(&later), 0);
        assert_eq!(
            later.enrichment.velocity.key(KeyKind::Card).unwrap().counts[0][3],
            4
        );

        // The upkeep task removes keys idle longer than the expiry.
        tokio::spawn(e.clone().run_upkeep(Duration::from_secs(60)));
        tokio::time::advance(Duration::from_secs(
            EnrichmentConfig::default().velocity_idle_expiry_secs + 120,
        ))
        .await;
        tokio::task::yield_now().await;
        let after = e.enrich(&input(&md, "fpA"), None).await;
        assert_eq!(
            after.enrichment.velocity.key(KeyKind::Card).unwrap().counts[0][3],
            0
        );
    }

    #[tokio::test]
    async fn sessions_fill_device_facts_and_the_two_session_check() {
        let e = enricher(1_795_219_200);
        let md = BTreeMap::new();
        e.record_session(RadarSession {
            id: "rse_setup".into(),
            facts: SessionFacts {
                ip: Some("203.0.113.9".parse().unwrap()),
                device_id: Some("dev_a".into()),
                user_agent: Some("UA/1".into()),
                ..Default::default()
            },
            payment_method: Some("pm_1".into()),
        })
        .await
        .unwrap();
        let mut later = input(&md, "fpA");
        later.device = Device {
            radar_session: Some("rse_setup"),
            ..Default::default()
        };
        let same = e.enrich(&later, None).await;
        assert_eq!(same.enrichment.session_found, Some(true));
        let c = same.enrichment.payment_method_session.unwrap();
        assert_eq!(c.ip_changed, Some(false));

        let mut other = input(&md, "fpA");
        other.device = Device {
            radar_session: Some("rse_unknown"),
            ip: Some("198.51.100.4".parse().unwrap()),
            ..Default::default()
        };
        let moved = e.enrich(&other, None).await;
        assert_eq!(moved.enrichment.session_found, Some(false));
        let c = moved.enrichment.payment_method_session.unwrap();
        assert_eq!(c.ip_changed, Some(true));
        assert_eq!(c.device_changed, None); // no device id on this payment

        // A setup payment remembers its device for a new payment method.
        let mut setup = input(&md, "fpC");
        setup.payment_method = "pm_new";
        setup.payment_type = Some(PaymentType::SetupOneOff);
        e.enrich(&setup, None).await;
        let mut next = input(&md, "fpC");
        next.payment_method = "pm_new";
        let seen = e.enrich(&next, None).await;
        assert_eq!(
            seen.enrichment.payment_method_session.unwrap().ip_changed,
            Some(false)
        );
    }

    #[tokio::test]
    async fn outcomes_need_a_remembered_evaluation_and_count_once() {
        let e = enricher(1_795_219_200);
        let md = BTreeMap::new();
        let first = e.enrich(&input(&md, "fpA"), Some(20.0)).await;
        assert!(e.finish("peval_1", &first, true).await);
        assert_eq!(
            e.report_outcome("peval_2", Outcome::Disputed)
                .await
                .unwrap(),
            OutcomeResult::NotFound
        );
        assert_eq!(
            e.report_outcome("peval_1", Outcome::Disputed)
                .await
                .unwrap(),
            OutcomeResult::Recorded
        );
        assert_eq!(
            e.report_outcome("peval_1", Outcome::Disputed)
                .await
                .unwrap(),
            OutcomeResult::Duplicate
        );
        let next = e.enrich(&input(&md, "fpA"), None).await;
        let card = next.enrichment.velocity.key(KeyKind::Card).unwrap();
        assert_eq!(card.count(Counter::Blocked, 0), 1);
        assert_eq!(card.count(Counter::Disputed, 3), 1);
        assert!((card.usd_failed - 20.0).abs() < 1e-6);
    }
}
