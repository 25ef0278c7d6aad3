//! The enrichment stage, at the edge: before the pure core computes attributes, it looks up what
//! riskgate remembers about the payment — the Radar Session its device data came with, the IP's
//! country, the session its payment method was set up in, the velocity history of its card, email,
//! IP, customer, device and addresses — and returns it as a plain [`Signals`]. It records the
//! attempt in the same step (the history it returns excludes the payment itself); after the
//! decision, [`Enricher::finish`] counts a block and remembers the evaluation's keys so that
//! `ReportPaymentOutcome` can update them later.
//!
//! State lives behind [`crate::stores::state::StateStore`]: in process, or on Redis with in-process
//! fallback.

pub mod geoip;
pub mod ipfacts;
pub mod keys;

use std::{future::Future, net::IpAddr, sync::Arc, time::Duration};

use self::geoip::{GeoIp, GeoIpError};
use self::ipfacts::{IpFactsDatabases, IpFactsError};
pub use self::keys::{KeyHasher, attempt};
use crate::{
    clock::Clock,
    config::{EnrichmentConfig, RedisConfig},
    faults,
    pseudonym::PseudonymKey,
    stores::{
        StoreError,
        state::{
            DeviceSnapshot, Found, Lookup, OutcomeResult, RadarSession, Report, StateStore,
            UpstreamRef, local::LocalState, outcomes::LabelOp, redis::RedisState,
        },
    },
    telemetry,
};
use riskgate_core::{
    input::PaymentInput,
    signals::{Counter, KeyKind, OutcomeLabel, Signals},
};

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

/// Why the enrichment stage cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("enrichment.geoip_mmdb_path: {0}")]
    GeoIp(#[from] GeoIpError),
    #[error(transparent)]
    IpFacts(#[from] IpFactsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The enrichment stage.
pub struct Enricher {
    primary: Arc<dyn StateStore>,
    /// In-process state used while a remote primary is down or slow.
    fallback: Option<Arc<LocalState>>,
    /// Longest wait for the primary per call (remote backends only).
    budget: Option<Duration>,
    geo: Option<GeoIp>,
    /// The GeoIP databases beyond the country one (`ip_state`, `is_anonymous_ip` …).
    ip_facts: IpFactsDatabases,
    clock: Clock,
    /// Velocity and outcome keys under the pseudonym key.
    keys: KeyHasher,
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
    /// Keys under a key generated for this process ([`Enricher::with_pseudonym_key`] sets the
    /// configured one).
    pub fn new(store: Arc<LocalState>, geo: Option<GeoIp>, clock: Clock) -> Self {
        Self {
            primary: store,
            fallback: None,
            budget: None,
            geo,
            ip_facts: IpFactsDatabases::default(),
            clock,
            keys: KeyHasher::new(&PseudonymKey::generate()),
        }
    }

    /// Computes velocity and outcome keys under `key` (every replica sharing a Redis must use the
    /// same).
    pub fn with_pseudonym_key(mut self, key: &PseudonymKey) -> Self {
        self.keys = KeyHasher::new(key);
        self
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
            ip_facts: IpFactsDatabases::default(),
            clock,
            keys: KeyHasher::new(&PseudonymKey::generate()),
        }
    }

    /// Adds the GeoIP databases beyond the country one.
    pub fn with_ip_facts(mut self, ip_facts: IpFactsDatabases) -> Self {
        self.ip_facts = ip_facts;
        self
    }

    /// In-process state with `config`'s bounds, the configured country database and the system
    /// clock.
    pub fn from_config(config: &EnrichmentConfig) -> Result<Self, SetupError> {
        Ok(Self::new(
            Arc::new(LocalState::new(config)),
            geo_from_config(config)?,
            Clock::system(),
        )
        .with_ip_facts(IpFactsDatabases::from_config(config)?))
    }

    /// Redis-backed state (when `redis.url` is set) with `local` as its in-process fallback, else
    /// `local` alone. Also returns the Redis store, for idempotency records.
    pub fn from_configs(
        enrichment: &EnrichmentConfig,
        redis: &RedisConfig,
        clock: Clock,
        local: LocalState,
    ) -> Result<(Self, Option<Arc<RedisState>>), SetupError> {
        let geo = geo_from_config(enrichment)?;
        let ip_facts = IpFactsDatabases::from_config(enrichment)?;
        let local = Arc::new(local);
        if redis.url.is_none() {
            return Ok((Self::new(local, geo, clock).with_ip_facts(ip_facts), None));
        }
        let remote = Arc::new(RedisState::new(redis, enrichment)?);
        let enricher = Self::with_remote(
            remote.clone(),
            Duration::from_millis(redis.budget_ms),
            local,
            geo,
            clock,
        )
        .with_ip_facts(ip_facts);
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

    /// The keys payments and charges are counted and remembered under.
    pub fn keys(&self) -> &KeyHasher {
        &self.keys
    }

    /// The country of `ip`, when a database is configured and knows it: the country database,
    /// else the City database.
    pub fn ip_country(&self, ip: IpAddr) -> Option<String> {
        match &self.geo {
            Some(geo) => geo.country(ip),
            None => self.ip_facts.country(ip),
        }
    }

    /// Runs `call` on the primary within the budget. `point` is the call's fault injection point
    /// ([`crate::faults`]): an injected delay counts against the budget like a slow backend.
    async fn on_primary<T>(
        &self,
        point: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let call = async {
            faults::inject(point)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            call.await
        };
        match self.budget {
            None => call.await,
            Some(budget) => match tokio::time::timeout(budget, call).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "no answer within {budget:?}"
                ))),
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
            attempt: attempt(&self.keys, input, usd),
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
        out.outcomes = found.outcomes;
        out.geo = self.ip_facts.facts(ip);
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
        session.ip_key = session.facts.ip.map(|ip| self.keys.ip_key(ip));
        session.device_key = session
            .facts
            .device_id
            .as_deref()
            .map(|d| self.keys.device_key(d));
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

    /// Counts an outcome of a remembered evaluation at `occurred_at` (Unix seconds; 0 or a future
    /// time = now): its velocity counter, and its label on every key of the evaluation (outcome
    /// memory).
    pub async fn report_outcome(
        &self,
        evaluation_id: &str,
        report: Report,
        occurred_at: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let now = self.when(occurred_at);
        let primary = self
            .on_primary(
                faults::STATE_REPORT,
                self.primary.report_outcome(evaluation_id, report, now),
            )
            .await;
        let result = match (primary, &self.fallback) {
            (Ok(OutcomeResult::NotFound), Some(local)) => {
                // Perhaps evaluated while the primary was down.
                local.report_outcome(evaluation_id, report, now).await?
            }
            (Ok(result), _) => result,
            (Err(e), Some(local)) => {
                match local.report_outcome(evaluation_id, report, now).await? {
                    // Unknown here may be known to the primary: the caller must retry.
                    OutcomeResult::NotFound => return Err(e),
                    found => found,
                }
            }
            (Err(e), None) => return Err(e),
        };
        metrics::counter!(
            telemetry::PAYMENT_OUTCOMES,
            "outcome" => report.outcome.as_str(),
            "result" => result.as_str(),
        )
        .increment(1);
        if result == OutcomeResult::Recorded {
            metrics::counter!(
                telemetry::OUTCOME_LABELS,
                "label" => report.label.as_str(),
                "source" => "report",
            )
            .increment(1);
        }
        Ok(result)
    }

    /// Teaches outcome memory `label`, learned at `occurred_at` (0 or a future time = now), about
    /// the entities `keys` (a charge a Stripe webhook named). Only on the primary: a label kept in
    /// a fallback would be invisible to the other replicas, so the caller retries instead.
    pub async fn label(
        &self,
        keys: [Option<u64>; KeyKind::COUNT],
        label: OutcomeLabel,
        occurred_at: i64,
    ) -> Result<(), StoreError> {
        let op = LabelOp {
            keys,
            label,
            at: self.when(occurred_at),
        };
        self.on_primary(faults::STATE_REPORT, self.primary.label(&op))
            .await?;
        metrics::counter!(
            telemetry::OUTCOME_LABELS,
            "label" => label.as_str(),
            "source" => "webhook",
        )
        .increment(1);
        Ok(())
    }

    /// When something that happened at `occurred_at` is counted: then, never in the future.
    fn when(&self, occurred_at: i64) -> i64 {
        let now = self.clock.now();
        if occurred_at > 0 {
            occurred_at.min(now)
        } else {
            now
        }
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

    /// Removes idle state every `interval`, until the runtime stops. The sweeps walk whole maps,
    /// so they run on a blocking thread.
    pub async fn run_upkeep(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sweep().await;
        }
    }

    /// Removes idle state once; returns how many keys went. A sweep walks whole maps, so it runs
    /// on the blocking pool, never on a runtime worker that serves calls.
    pub async fn sweep(self: &Arc<Self>) -> usize {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.sweep_now()).await {
            Ok(removed) => {
                metrics::counter!(telemetry::VELOCITY_KEYS_EXPIRED).increment(removed as u64);
                removed
            }
            Err(e) => {
                tracing::error!(error = %e, "state sweep failed");
                0
            }
        }
    }

    /// One sweep of idle state (blocking work).
    fn sweep_now(&self) -> usize {
        let now = self.clock.now();
        let mut removed = self.primary.sweep(now);
        let mut entities = self.primary.outcome_entities();
        if let Some(local) = &self.fallback {
            removed += local.sweep(now);
            entities = entities.or(local.outcome_entities());
        }
        if let Some(n) = entities {
            metrics::gauge!(telemetry::OUTCOME_MEMORY_ENTITIES).set(n as f64);
        }
        removed
    }

    fn failed(&self, part: &'static str, e: &StoreError) {
        metrics::counter!(telemetry::ENRICHMENT_DEGRADED, "part" => part).increment(1);
        tracing::warn!(part, error = %e, "enrichment state unavailable; continuing without it");
    }
}

pub fn geo_from_config(config: &EnrichmentConfig) -> Result<Option<GeoIp>, GeoIpError> {
    config
        .geoip_mmdb_path
        .as_deref()
        .map(GeoIp::open)
        .transpose()
}

#[cfg(test)]
mod tests;
