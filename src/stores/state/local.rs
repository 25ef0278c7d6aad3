//! In-process state: velocity in a byte-bounded sharded map ([`super::velocity::VelocityStore`]),
//! outcome memory in another ([`super::outcomes::OutcomeMemory`], journaled when a data directory
//! is set), sessions in bounded moka caches, evaluations kept for outcome reports in a FIFO log
//! ([`super::evaluations::EvaluationLog`]). Every part has a memory
//! bound (`enrichment.velocity_max_bytes`, `.outcome_max_entities`, `.session_max_bytes`,
//! `.payment_method_session_max_bytes`, `.outcome_max_evaluations`): no flood of new keys,
//! sessions or payment methods grows memory without bound.

use std::{path::Path, sync::Arc, time::Duration};

use moka::{future::Cache, notification::RemovalCause};

use super::{
    DeviceSnapshot, Found, Lookup, OutcomeResult, RadarSession, Report, SetupWrite, StateStore,
    UpstreamRef,
    evaluations::{Claim, EvaluationLog, Kept},
    fill_from_session,
    outcome_journal::OutcomeJournal,
    outcomes::{LabelOp, OutcomeMemory, Retention},
    velocity::VelocityStore,
};
use crate::{config::EnrichmentConfig, stores::StoreError, telemetry};
use riskgate_core::signals::{Counter, KeyKind};

/// In-process state: velocity in a byte-bounded sharded map, outcome memory in a dashmap bounded
/// by entities, sessions in bounded moka caches (bounded by bytes and by count), evaluations kept
/// for outcome reports in an [`EvaluationLog`].
pub struct LocalState {
    velocity: VelocityStore,
    outcomes: Arc<OutcomeMemory>,
    /// Makes outcome memory durable, when a data directory is set.
    journal: Option<OutcomeJournal>,
    sessions: Cache<String, Arc<RadarSession>>,
    payment_methods: Cache<String, Arc<DeviceSnapshot>>,
    evaluations: EvaluationLog,
    /// Evaluations Stripe scored, for outcome forwarding.
    upstream: Cache<String, Arc<UpstreamRef>>,
    idle_expiry_secs: u64,
}

// === byte bounds of the session caches (issue 18) ===

/// What moka keeps per entry besides the key and value themselves (its node, the entry's `Arc`
/// with timestamps, the access-order deque links, the hash table slot), rounded up.
const CACHE_ENTRY_OVERHEAD: usize = 256;

fn opt_len(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

/// Accounted bytes of a kept Radar Session (key, record and the strings it owns).
fn session_bytes(key: &str, s: &RadarSession) -> usize {
    let f = &s.facts;
    CACHE_ENTRY_OVERHEAD
        + key.len()
        + size_of::<RadarSession>()
        + s.id.len()
        + opt_len(&f.user_agent)
        + opt_len(&f.accept_language)
        + opt_len(&f.referrer)
        + opt_len(&f.screen)
        + opt_len(&f.timezone)
        + opt_len(&f.device_id)
        + f.pasted_fields.capacity() * size_of::<String>()
        + f.pasted_fields.iter().map(String::len).sum::<usize>()
        + opt_len(&s.payment_method)
        + opt_len(&s.ip_country)
}

/// Accounted bytes of a payment method's set-up device.
fn device_bytes(key: &str, d: &DeviceSnapshot) -> usize {
    CACHE_ENTRY_OVERHEAD
        + key.len()
        + size_of::<DeviceSnapshot>()
        + opt_len(&d.session)
        + opt_len(&d.device_id)
        + opt_len(&d.user_agent)
        + opt_len(&d.ip_country)
}

/// A moka weight that enforces both bounds with one capacity of `max_bytes`: every entry weighs at
/// least `max_bytes / max_entries`, so the total reaches `max_bytes` by bytes or by count,
/// whichever comes first.
fn weight(bytes: usize, max_bytes: u64, max_entries: u64) -> u32 {
    let floor = max_bytes / max_entries.max(1);
    u32::try_from((bytes as u64).max(floor)).unwrap_or(u32::MAX)
}

/// Counts a session cache's evictions for room and expiry.
fn on_eviction(store: &'static str) -> impl Fn(RemovalCause) + Send + Sync + 'static {
    move |cause| {
        let cause = match cause {
            RemovalCause::Size => "size",
            RemovalCause::Expired => "expired",
            _ => return,
        };
        if store == "radar_sessions" {
            metrics::counter!(telemetry::RADAR_SESSION_EVICTIONS, "cause" => cause).increment(1);
        }
        metrics::counter!(telemetry::STATE_EVICTIONS, "store" => store, "cause" => cause)
            .increment(1);
    }
}

impl LocalState {
    pub fn new(config: &EnrichmentConfig) -> Self {
        let (session_bytes_max, session_entries) =
            (config.session_max_bytes, config.session_max_entries);
        let counted = on_eviction("radar_sessions");
        let sessions = Cache::builder()
            .max_capacity(session_bytes_max)
            .weigher(move |k: &String, v: &Arc<RadarSession>| {
                weight(session_bytes(k, v), session_bytes_max, session_entries)
            })
            .time_to_live(Duration::from_secs(config.session_ttl_secs))
            .eviction_listener(move |_k, _v, cause| counted(cause))
            .build();
        let (device_bytes_max, device_entries) = (
            config.payment_method_session_max_bytes,
            config.payment_method_session_max_entries,
        );
        let counted = on_eviction("payment_method_sessions");
        Self {
            velocity: VelocityStore::new(
                usize::try_from(config.velocity_max_bytes).unwrap_or(usize::MAX),
            ),
            outcomes: Arc::new(OutcomeMemory::new(
                Retention::from_config(config),
                usize::try_from(config.outcome_max_entities).unwrap_or(usize::MAX),
            )),
            journal: None,
            sessions,
            payment_methods: Cache::builder()
                .max_capacity(device_bytes_max)
                .weigher(move |k: &String, v: &Arc<DeviceSnapshot>| {
                    weight(device_bytes(k, v), device_bytes_max, device_entries)
                })
                .time_to_live(Duration::from_secs(config.payment_method_session_ttl_secs))
                .eviction_listener(move |_k, _v, cause| counted(cause))
                .build(),
            evaluations: EvaluationLog::new(
                config.outcome_max_evaluations,
                config.outcome_retention_secs,
            ),
            upstream: Cache::builder()
                .max_capacity(config.outcome_max_evaluations)
                .time_to_live(Duration::from_secs(config.outcome_retention_secs))
                .build(),
            idle_expiry_secs: config.velocity_idle_expiry_secs,
        }
    }

    /// In-process state whose outcome memory is replayed from, and journaled to, `journal`
    /// (`<state.data_dir>/outcomes.journal`). Blocking (reads the journal): call it from a
    /// blocking thread.
    pub fn with_journal(
        config: &EnrichmentConfig,
        journal: &Path,
        now: i64,
    ) -> Result<Self, StoreError> {
        let mut state = Self::new(config);
        state.journal = Some(OutcomeJournal::open(journal, state.outcomes.clone(), now)?);
        Ok(state)
    }

    /// The velocity counters (benchmarks and memory measurements use them directly).
    pub fn velocity(&self) -> &VelocityStore {
        &self.velocity
    }

    /// Outcome memory.
    pub fn outcomes(&self) -> &OutcomeMemory {
        &self.outcomes
    }

    async fn apply(&self, op: LabelOp) -> Result<(), StoreError> {
        let dropped = match &self.journal {
            Some(journal) => journal.apply(op).await?,
            None => self.outcomes.apply(&op),
        };
        if dropped.0 > 0 {
            metrics::counter!(telemetry::OUTCOME_MEMORY_DROPPED).increment(dropped.0 as u64);
        }
        Ok(())
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
        self.evaluations.insert(
            lookup.evaluation_id,
            Kept {
                keys: attempt.keys,
                usd: attempt.usd,
            },
            now,
        );
        Ok(Found {
            session,
            payment_method_session,
            velocity,
            keys: attempt.keys,
            outcomes: self.outcomes.lookup(&attempt.keys, now),
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
        report: Report,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let bit = 1u16 << report.outcome.code();
        let evaluation = match self.evaluations.claim(evaluation_id, bit, now) {
            Claim::NotFound => return Ok(OutcomeResult::NotFound),
            Claim::Duplicate => return Ok(OutcomeResult::Duplicate),
            Claim::Claimed(kept) => kept,
        };
        let op = LabelOp {
            keys: evaluation.keys,
            label: report.label,
            at: now,
        };
        if let Err(e) = self.apply(op).await {
            // Not acknowledged: the caller may report it again.
            self.evaluations.unclaim(evaluation_id, bit);
            return Err(e);
        }
        if let Some(counter) = report.outcome.counter() {
            self.velocity
                .record(&evaluation.keys, counter, evaluation.usd, now);
        }
        Ok(OutcomeResult::Recorded)
    }

    async fn label(&self, op: &LabelOp) -> Result<(), StoreError> {
        self.apply(op.clone()).await
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
        write: SetupWrite,
    ) -> Result<(), StoreError> {
        use moka::ops::compute::{CompResult, Op};
        let device = Arc::new(device);
        let session = device.session.clone();
        // One compute per key: concurrent writers for one payment method run one after another.
        let result = self
            .payment_methods
            .entry_by_ref(payment_method)
            .and_compute_with(|current| async move {
                match (current, write) {
                    (None, _) => Op::Put(device),
                    (Some(_), SetupWrite::KeepEarlier) => Op::Nop,
                    (Some(entry), SetupWrite::SameSession)
                        if session.is_some() && entry.value().session == session =>
                    {
                        Op::Put(device)
                    }
                    (Some(_), SetupWrite::SameSession) => Op::Nop,
                }
            })
            .await;
        match (result, write) {
            (CompResult::Unchanged(_), SetupWrite::SameSession) => {
                Err(super::set_up_elsewhere(payment_method))
            }
            _ => Ok(()),
        }
    }

    fn sweep(&self, now: i64) -> usize {
        self.outcomes.sweep(now);
        self.velocity.sweep(now, self.idle_expiry_secs)
    }

    fn outcome_entities(&self) -> Option<usize> {
        Some(self.outcomes.len())
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
