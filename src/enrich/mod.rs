//! The enrichment stage, at the edge: before the pure core computes attributes, it looks up what
//! riskgate remembers about the payment — the Radar Session its device data came with, the IP's
//! country, the session its payment method was set up in, the velocity history of its card, email,
//! IP, customer, device and addresses — and returns it as a plain [`Signals`]. It records the
//! attempt in the same step (the history it returns excludes the payment itself); after the
//! decision, [`Enricher::finish`] counts a block and remembers the evaluation's keys so that
//! `ReportPaymentOutcome` can update them later.
//!
//! State lives behind [`StateStore`]; [`LocalState`] keeps it in process (dashmap + moka).

pub mod geoip;
pub mod redis;
pub mod velocity;

use std::{
    future::Future,
    hash::{Hash, Hasher},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU8, Ordering},
    },
    time::Duration,
};

use moka::{future::Cache, notification::RemovalCause};
use serde::{Deserialize, Serialize};

pub use self::velocity::Attempt;
use self::{geoip::GeoIp, velocity::VelocityStore};
use crate::{
    config::{EnrichmentConfig, RedisConfig},
    faults, telemetry,
};
use riskgate_core::{
    input::{Address, PaymentInput},
    signals::{Counter, Dim, KeyKind, SessionComparison, SessionFacts, Signals, Velocity},
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

/// A state backend that failed or ran out of time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state store unavailable: {0}")]
pub struct StoreError(pub String);

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

    /// Drops idle state; returns how many keys went. Backends that expire by themselves do nothing.
    fn sweep(&self, _now: i64) -> usize {
        0
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
    /// Evaluations Stripe scored, for outcome forwarding.
    upstream: Cache<String, Arc<UpstreamRef>>,
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
            upstream: Cache::builder()
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
    async fn lookup_and_record(&self, lookup: &Lookup<'_>, now: i64) -> Result<Found, StoreError> {
        let session = match lookup.session {
            Some(id) => self.sessions.get(id).await,
            None => None,
        };
        let payment_method_session = if lookup.read_payment_method_session {
            self.payment_methods.get(lookup.payment_method).await
        } else {
            None
        };
        let mut attempt = lookup.attempt.clone();
        fill_from_session(&mut attempt, session.as_deref());
        let velocity = self.velocity.lookup_and_record(&attempt, now);
        self.evaluations
            .insert(
                lookup.evaluation_id.to_owned(),
                Arc::new(EvaluationKeys {
                    keys: attempt.keys,
                    usd: attempt.usd,
                    reported: AtomicU8::new(0),
                }),
            )
            .await;
        Ok(Found {
            session,
            payment_method_session,
            velocity,
            keys: attempt.keys,
        })
    }

    async fn count(
        &self,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.velocity.record(keys, counter, usd, now);
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

    fn sweep(&self, now: i64) -> usize {
        self.velocity.sweep(now, self.idle_expiry_secs)
    }

    async fn put_upstream_ref(
        &self,
        evaluation_id: &str,
        upstream: &UpstreamRef,
    ) -> Result<(), StoreError> {
        self.upstream
            .insert(evaluation_id.to_owned(), Arc::new(upstream.clone()))
            .await;
        Ok(())
    }

    async fn get_upstream_ref(
        &self,
        evaluation_id: &str,
    ) -> Result<Option<UpstreamRef>, StoreError> {
        Ok(self
            .upstream
            .get(evaluation_id)
            .await
            .map(|r| r.as_ref().clone()))
    }
}

/// Takes the IP and device keys from the session when the payment has none of its own.
pub fn fill_from_session(attempt: &mut Attempt, session: Option<&RadarSession>) {
    let Some(s) = session else { return };
    let ip = &mut attempt.keys[KeyKind::Ip as usize];
    if ip.is_none() {
        *ip = s.ip_key;
    }
    let device = &mut attempt.keys[KeyKind::Device as usize];
    if device.is_none() {
        *device = s.device_key;
    }
}

/// Unix time for enrichment, from tokio's clock, so tests drive it with paused time; or a manual
/// clock that reads whatever it was last set to (replaying labelled events at their own times).
#[derive(Debug, Clone)]
pub struct Clock {
    origin: tokio::time::Instant,
    origin_unix: i64,
    /// Set: the clock reads this instead (see [`Clock::manual`]).
    manual: Option<Arc<AtomicI64>>,
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
            manual: None,
        }
    }

    /// A clock that reads `unix` until [`Clock::set`] moves it (clones share the time).
    pub fn manual(unix: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(unix))),
            ..Self::starting_at(unix)
        }
    }

    /// Moves a manual clock to `unix`; a running clock ignores it.
    pub fn set(&self, unix: i64) {
        if let Some(m) = &self.manual {
            m.store(unix, Ordering::Release);
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match &self.manual {
            Some(m) => m.load(Ordering::Acquire),
            None => self.origin_unix + self.origin.elapsed().as_secs() as i64,
        }
    }
}

/// Which backend served an evaluation's lookup (its later writes go to the same one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Served {
    #[default]
    Primary,
    /// The primary failed or was too slow; in-process state served instead.
    Fallback,
    /// Nothing could be read.
    Nothing,
}

/// What the enrichment stage found about one payment, and what `finish` needs afterwards.
#[derive(Debug, Default)]
pub struct Enriched {
    pub enrichment: Signals,
    /// The keys the payment was counted under.
    pub keys: [Option<u64>; KeyKind::COUNT],
    pub usd: f64,
    /// A set-up payment's device, remembered for its payment method in `finish`.
    pub setup: Option<(String, DeviceSnapshot)>,
    pub served: Served,
    /// Part of the state could not be read (the answer is flagged `degraded`).
    pub degraded: bool,
}

/// The enrichment stage.
pub struct Enricher {
    primary: Arc<dyn StateStore>,
    /// In-process state used while a remote primary is down or slow.
    fallback: Option<Arc<LocalState>>,
    /// Longest wait for the primary per call (remote backends only).
    budget: Option<Duration>,
    geo: Option<GeoIp>,
    clock: Clock,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("geo", &self.geo)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Enricher {
    /// In-process state only.
    pub fn new(store: Arc<LocalState>, geo: Option<GeoIp>, clock: Clock) -> Self {
        Self {
            primary: store,
            fallback: None,
            budget: None,
            geo,
            clock,
        }
    }

    /// A remote `primary` (Redis) answering within `budget`, with `fallback` serving while it
    /// cannot.
    pub fn with_remote(
        primary: Arc<dyn StateStore>,
        budget: Duration,
        fallback: Arc<LocalState>,
        geo: Option<GeoIp>,
        clock: Clock,
    ) -> Self {
        Self {
            primary,
            fallback: Some(fallback),
            budget: Some(budget),
            geo,
            clock,
        }
    }

    /// In-process state with `config`'s bounds, the configured country database and the system
    /// clock.
    pub fn from_config(config: &EnrichmentConfig) -> Result<Self, String> {
        Ok(Self::new(
            Arc::new(LocalState::new(config)),
            geo_from_config(config)?,
            Clock::system(),
        ))
    }

    /// Redis-backed state (when `redis.url` is set) with in-process fallback, else in-process
    /// state. Also returns the Redis store, for idempotency records.
    pub fn from_configs(
        enrichment: &EnrichmentConfig,
        redis: &RedisConfig,
    ) -> Result<(Self, Option<Arc<self::redis::RedisState>>), String> {
        let geo = geo_from_config(enrichment)?;
        let local = Arc::new(LocalState::new(enrichment));
        if redis.url.is_none() {
            return Ok((Self::new(local, geo, Clock::system()), None));
        }
        let remote = Arc::new(self::redis::RedisState::new(redis, enrichment)?);
        let enricher = Self::with_remote(
            remote.clone(),
            Duration::from_millis(redis.budget_ms),
            local,
            geo,
            Clock::system(),
        );
        Ok((enricher, Some(remote)))
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

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The country of `ip`, when a database is configured and knows it.
    pub fn ip_country(&self, ip: IpAddr) -> Option<String> {
        self.geo.as_ref()?.country(ip)
    }

    /// Runs `call` on the primary within the budget. `point` is the call's fault injection point
    /// ([`crate::faults`]): an injected delay counts against the budget like a slow backend.
    async fn on_primary<T>(
        &self,
        point: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let call = async {
            faults::inject(point).await.map_err(StoreError)?;
            call.await
        };
        match self.budget {
            None => call.await,
            Some(budget) => match tokio::time::timeout(budget, call).await {
                Ok(result) => result,
                Err(_) => Err(StoreError(format!("no answer within {budget:?}"))),
            },
        }
    }

    /// Looks up everything known about `input` and records it as an attempt under
    /// `evaluation_id`. `usd` is its amount in US dollars, if the currency has a rate. Never fails:
    /// what cannot be read is missing and the result says `degraded`.
    pub async fn enrich(
        &self,
        input: &PaymentInput<'_>,
        evaluation_id: &str,
        usd: Option<f64>,
    ) -> Enriched {
        let now = self.clock.now();
        let setup = input.payment_type.is_some_and(|t| t.is_setup());
        let inline_ip_country = input.device.ip.and_then(|ip| self.ip_country(ip));
        let lookup = Lookup {
            evaluation_id,
            session: input.device.radar_session,
            payment_method: input.payment_method,
            read_payment_method_session: !setup,
            attempt: attempt(input, usd),
        };
        let (found, served) = match self
            .on_primary(
                faults::STATE_LOOKUP,
                self.primary.lookup_and_record(&lookup, now),
            )
            .await
        {
            Ok(found) => (found, Served::Primary),
            Err(e) => {
                self.failed("lookup", &e);
                match &self.fallback {
                    Some(local) => match local.lookup_and_record(&lookup, now).await {
                        Ok(found) => (found, Served::Fallback),
                        Err(_) => (Found::default(), Served::Nothing),
                    },
                    None => (Found::default(), Served::Nothing),
                }
            }
        };

        let mut out = Signals::default();
        if lookup.session.is_some() && served != Served::Nothing {
            metrics::counter!(
                telemetry::RADAR_SESSION_LOOKUPS,
                "outcome" => if found.session.is_some() { "hit" } else { "miss" }
            )
            .increment(1);
            out.session_found = Some(found.session.is_some());
        }
        let session = found.session.as_deref();
        let ip = input.device.ip.or(session.and_then(|s| s.facts.ip));
        out.ip_country = match input.device.ip {
            Some(_) => inline_ip_country,
            None => session.and_then(|s| s.ip_country.clone()),
        };
        let device = DeviceSnapshot {
            session: input.device.radar_session.map(str::to_owned),
            ip,
            device_id: session.and_then(|s| s.facts.device_id.clone()),
            user_agent: input
                .device
                .user_agent
                .map(str::to_owned)
                .or(session.and_then(|s| s.facts.user_agent.clone())),
            ip_country: out.ip_country.clone(),
        };
        out.payment_method_session = found
            .payment_method_session
            .as_deref()
            .map(|earlier| device.compare(earlier));
        out.velocity = found.velocity;
        out.session = session.map(|s| s.facts.clone());
        let has_device = device.session.is_some() || device.ip.is_some();
        Enriched {
            enrichment: out,
            keys: found.keys,
            usd: lookup.attempt.usd,
            setup: (setup && has_device).then(|| (input.payment_method.to_owned(), device)),
            served,
            degraded: served != Served::Primary,
        }
    }

    /// After the decision: counts a block and remembers a set-up payment's device for its payment
    /// method, on the backend that served the lookup. Returns false when that failed (the answer is
    /// already decided; the failure is counted and logged).
    pub async fn finish(&self, enriched: &Enriched, blocked: bool) -> bool {
        if !blocked && enriched.setup.is_none() {
            return true;
        }
        let store: &dyn StateStore = match (enriched.served, &self.fallback) {
            (Served::Primary, _) => self.primary.as_ref(),
            (Served::Fallback, Some(local)) => local.as_ref(),
            _ => return false,
        };
        let now = self.clock.now();
        let work = async {
            if blocked {
                store
                    .count(&enriched.keys, Counter::Blocked, enriched.usd, now)
                    .await?;
            }
            if let Some((pm, device)) = &enriched.setup {
                store
                    .put_payment_method_session(pm, device.clone(), false)
                    .await?;
            }
            Ok::<_, StoreError>(())
        };
        let result = match enriched.served {
            Served::Primary => self.on_primary(faults::STATE_FINISH, work).await,
            _ => work.await,
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                self.failed("finish", &e);
                false
            }
        }
    }

    /// Records a Radar Session and, if it names one, the payment method it set up.
    pub async fn record_session(&self, mut session: RadarSession) -> Result<(), StoreError> {
        session.ip_country = session.facts.ip.and_then(|ip| self.ip_country(ip));
        session.ip_key = session.facts.ip.map(ip_key);
        session.device_key = session.facts.device_id.as_deref().map(device_key);
        if let Some(pm) = &session.payment_method {
            let device = DeviceSnapshot {
                session: Some(session.id.clone()),
                ip: session.facts.ip,
                device_id: session.facts.device_id.clone(),
                user_agent: session.facts.user_agent.clone(),
                ip_country: session.ip_country.clone(),
            };
            self.on_primary(
                faults::STATE_SESSIONS,
                self.primary.put_payment_method_session(pm, device, true),
            )
            .await?;
        }
        self.on_primary(faults::STATE_SESSIONS, self.primary.put_session(session))
            .await?;
        metrics::counter!(telemetry::RADAR_SESSIONS_RECORDED).increment(1);
        Ok(())
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError> {
        let found = self
            .on_primary(faults::STATE_SESSIONS, self.primary.get_session(id))
            .await?;
        metrics::counter!(
            telemetry::RADAR_SESSION_LOOKUPS,
            "outcome" => if found.is_some() { "hit" } else { "miss" }
        )
        .increment(1);
        Ok(found)
    }

    /// Counts `outcome` of a remembered evaluation in the windows at `occurred_at` (Unix seconds;
    /// 0 or a future time = now).
    pub async fn report_outcome(
        &self,
        evaluation_id: &str,
        outcome: Outcome,
        occurred_at: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let clock = self.clock.now();
        let now = if occurred_at > 0 {
            occurred_at.min(clock)
        } else {
            clock
        };
        let primary = self
            .on_primary(
                faults::STATE_REPORT,
                self.primary.report_outcome(evaluation_id, outcome, now),
            )
            .await;
        let result = match (primary, &self.fallback) {
            (Ok(OutcomeResult::NotFound), Some(local)) => {
                // Perhaps evaluated while the primary was down.
                local.report_outcome(evaluation_id, outcome, now).await?
            }
            (Ok(result), _) => result,
            (Err(e), Some(local)) => match local.report_outcome(evaluation_id, outcome, now).await?
            {
                // Unknown here may be known to the primary: the caller must retry.
                OutcomeResult::NotFound => return Err(e),
                found => found,
            },
            (Err(e), None) => return Err(e),
        };
        metrics::counter!(
            telemetry::PAYMENT_OUTCOMES,
            "outcome" => outcome.as_str(),
            "result" => result.as_str(),
        )
        .increment(1);
        Ok(result)
    }

    /// Remembers that Stripe scored `evaluation_id`, on the backend that served its lookup (so it
    /// sits next to the evaluation's keys). Returns false when that failed (logged and counted;
    /// the evaluation's outcome will then not be forwarded).
    pub async fn remember_upstream(
        &self,
        evaluation_id: &str,
        upstream: &UpstreamRef,
        served: Served,
    ) -> bool {
        let result = match (served, &self.fallback) {
            (Served::Primary, _) => {
                self.on_primary(
                    faults::STATE_FINISH,
                    self.primary.put_upstream_ref(evaluation_id, upstream),
                )
                .await
            }
            (Served::Fallback, Some(local)) | (Served::Nothing, Some(local)) => {
                local.put_upstream_ref(evaluation_id, upstream).await
            }
            (_, None) => self.primary.put_upstream_ref(evaluation_id, upstream).await,
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                self.failed("upstream_ref", &e);
                false
            }
        }
    }

    /// The Stripe evaluation behind `evaluation_id`, if Stripe scored it and it is still kept:
    /// the primary first, then in-process state (evaluated while the primary was down).
    pub async fn upstream_ref(
        &self,
        evaluation_id: &str,
    ) -> Result<Option<UpstreamRef>, StoreError> {
        let primary = self
            .on_primary(
                faults::STATE_REPORT,
                self.primary.get_upstream_ref(evaluation_id),
            )
            .await;
        match (primary, &self.fallback) {
            (Ok(Some(r)), _) => Ok(Some(r)),
            (Ok(None), Some(local)) => local.get_upstream_ref(evaluation_id).await,
            (Ok(None), None) => Ok(None),
            (Err(e), Some(local)) => match local.get_upstream_ref(evaluation_id).await? {
                Some(r) => Ok(Some(r)),
                None => Err(e),
            },
            (Err(e), None) => Err(e),
        }
    }

    /// Removes idle state every `interval`, until the runtime stops.
    pub async fn run_upkeep(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = self.clock.now();
            let mut removed = self.primary.sweep(now);
            if let Some(local) = &self.fallback {
                removed += local.sweep(now);
            }
            metrics::counter!(telemetry::VELOCITY_KEYS_EXPIRED).increment(removed as u64);
        }
    }

    fn failed(&self, part: &'static str, e: &StoreError) {
        metrics::counter!(telemetry::ENRICHMENT_DEGRADED, "part" => part).increment(1);
        tracing::warn!(part, error = %e, "enrichment state unavailable; continuing without it");
    }
}

pub fn geo_from_config(config: &EnrichmentConfig) -> Result<Option<GeoIp>, String> {
    config
        .geoip_mmdb_path
        .as_deref()
        .map(GeoIp::open)
        .transpose()
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

/// The velocity key of an IP address.
pub fn ip_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => key_hash(KeyKind::Ip as u8, &[&v4.octets()]),
        IpAddr::V6(v6) => key_hash(KeyKind::Ip as u8, &[&v6.octets()]),
    }
}

/// The velocity key of a device id.
pub fn device_key(device_id: &str) -> u64 {
    key_hash(KeyKind::Device as u8, &[device_id.as_bytes()])
}

/// The keys and distinct values `input` is counted under. The IP key is the inline IP's; the
/// device key (and the IP key without an inline IP) comes from the Radar Session, which the state
/// store finds ([`fill_from_session`]).
pub fn attempt(input: &PaymentInput<'_>, usd: Option<f64>) -> Attempt {
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
    set(KeyKind::Ip, input.device.ip.map(ip_key));
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
    use riskgate_core::{
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
        let a = attempt(&input(&md, "fpA"), Some(10.0));
        let mut other = input(&md, "fpA");
        other.email = Some("jenny@example.com");
        let b = attempt(&other, None);
        assert_eq!(
            a.keys[KeyKind::Email as usize],
            b.keys[KeyKind::Email as usize]
        );
        assert_eq!(
            a.keys[KeyKind::Card as usize],
            b.keys[KeyKind::Card as usize]
        );
        let c = attempt(&input(&md, "fpB"), None);
        assert_ne!(
            a.keys[KeyKind::Card as usize],
            c.keys[KeyKind::Card as usize]
        );
        assert_eq!(
            a.keys[KeyKind::Ip as usize],
            Some(ip_key("198.51.100.4".parse().unwrap()))
        );
        assert_eq!(a.keys[KeyKind::Device as usize], None); // only a session has a device id
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
            e.enrich(&input(&md, "fpA"), "peval_t", Some(5.0)).await;
        }
        assert_eq!(
            hourly(&e.enrich(&input(&md, "fpA"), "peval_t", None).await),
            3
        );
        tokio::time::advance(Duration::from_secs(2 * 3600)).await;
        let later = e.enrich(&input(&md, "fpA"), "peval_t", None).await;
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
        let after = e.enrich(&input(&md, "fpA"), "peval_t", None).await;
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
            ip_country: None,
            ip_key: None,
            device_key: None,
        })
        .await
        .unwrap();
        let mut later = input(&md, "fpA");
        later.device = Device {
            radar_session: Some("rse_setup"),
            ..Default::default()
        };
        let same = e.enrich(&later, "peval_t", None).await;
        assert_eq!(same.enrichment.session_found, Some(true));
        let c = same.enrichment.payment_method_session.unwrap();
        assert_eq!(c.ip_changed, Some(false));

        let mut other = input(&md, "fpA");
        other.device = Device {
            radar_session: Some("rse_unknown"),
            ip: Some("198.51.100.4".parse().unwrap()),
            ..Default::default()
        };
        let moved = e.enrich(&other, "peval_t", None).await;
        assert_eq!(moved.enrichment.session_found, Some(false));
        let c = moved.enrichment.payment_method_session.unwrap();
        assert_eq!(c.ip_changed, Some(true));
        assert_eq!(c.device_changed, None); // no device id on this payment

        // A setup payment remembers its device for a new payment method.
        let mut setup = input(&md, "fpC");
        setup.payment_method = "pm_new";
        setup.payment_type = Some(PaymentType::SetupOneOff);
        let saved = e.enrich(&setup, "peval_t", None).await;
        assert!(saved.enrichment.payment_method_session.is_none());
        assert!(e.finish(&saved, false).await);
        let mut next = input(&md, "fpC");
        next.payment_method = "pm_new";
        let seen = e.enrich(&next, "peval_t", None).await;
        assert_eq!(
            seen.enrichment.payment_method_session.unwrap().ip_changed,
            Some(false)
        );
    }

    #[tokio::test]
    async fn outcomes_count_when_they_occurred() {
        let t0 = 1_795_219_200;
        let e = enricher(t0);
        let md = BTreeMap::new();
        e.enrich(&input(&md, "fpA"), "peval_late", Some(20.0)).await;
        assert_eq!(
            e.report_outcome("peval_late", Outcome::Declined, t0 - 7200)
                .await
                .unwrap(),
            OutcomeResult::Recorded
        );
        let next = e.enrich(&input(&md, "fpA"), "peval_next", None).await;
        let card = next.enrichment.velocity.key(KeyKind::Card).unwrap();
        assert_eq!(card.count(Counter::Declined, 0), 0); // two hours ago: not this hour
        assert_eq!(card.count(Counter::Declined, 1), 1);
        assert_eq!(card.count(Counter::Total, 0), 1);
    }

    #[tokio::test]
    async fn outcomes_need_a_remembered_evaluation_and_count_once() {
        let e = enricher(1_795_219_200);
        let md = BTreeMap::new();
        let first = e.enrich(&input(&md, "fpA"), "peval_1", Some(20.0)).await;
        assert!(e.finish(&first, true).await);
        assert_eq!(
            e.report_outcome("peval_2", Outcome::Disputed, 0)
                .await
                .unwrap(),
            OutcomeResult::NotFound
        );
        assert_eq!(
            e.report_outcome("peval_1", Outcome::Disputed, 0)
                .await
                .unwrap(),
            OutcomeResult::Recorded
        );
        assert_eq!(
            e.report_outcome("peval_1", Outcome::Disputed, 0)
                .await
                .unwrap(),
            OutcomeResult::Duplicate
        );
        let next = e.enrich(&input(&md, "fpA"), "peval_t", None).await;
        let card = next.enrichment.velocity.key(KeyKind::Card).unwrap();
        assert_eq!(card.count(Counter::Blocked, 0), 1);
        assert_eq!(card.count(Counter::Disputed, 3), 1);
        assert!((card.usd_failed - 20.0).abs() < 1e-6);
    }
}
