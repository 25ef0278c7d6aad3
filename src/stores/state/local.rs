//! In-process state: velocity in a sharded map ([`super::velocity::VelocityStore`]), outcome
//! memory in another ([`super::outcomes::OutcomeMemory`], journaled when a data directory is
//! set), sessions and remembered evaluations in bounded moka caches.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU16, Ordering},
    },
    time::Duration,
};

use moka::{future::Cache, notification::RemovalCause};

use super::{
    DeviceSnapshot, Found, Lookup, OutcomeResult, RadarSession, Report, StateStore, UpstreamRef,
    fill_from_session,
    outcome_journal::OutcomeJournal,
    outcomes::{LabelOp, OutcomeMemory, Retention},
    velocity::VelocityStore,
};
use crate::{config::EnrichmentConfig, stores::StoreError, telemetry};
use riskgate_core::signals::{Counter, KeyKind};

/// An evaluation remembered for outcome reports.
#[derive(Debug)]
struct EvaluationKeys {
    keys: [Option<u64>; KeyKind::COUNT],
    usd: f64,
    /// Bit per outcome kind ([`super::Outcome::code`]) already reported.
    reported: AtomicU16,
}

/// In-process state: velocity and outcome memory in dashmaps, sessions and evaluations in bounded
/// moka caches.
pub struct LocalState {
    velocity: VelocityStore,
    outcomes: Arc<OutcomeMemory>,
    /// Makes outcome memory durable, when a data directory is set.
    journal: Option<OutcomeJournal>,
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
            outcomes: Arc::new(OutcomeMemory::new(
                Retention::from_config(config),
                usize::try_from(config.outcome_max_entities).unwrap_or(usize::MAX),
            )),
            journal: None,
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
        self.evaluations
            .insert(
                lookup.evaluation_id.to_owned(),
                Arc::new(EvaluationKeys {
                    keys: attempt.keys,
                    usd: attempt.usd,
                    reported: AtomicU16::new(0),
                }),
            )
            .await;
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
        let Some(evaluation) = self.evaluations.get(evaluation_id).await else {
            return Ok(OutcomeResult::NotFound);
        };
        let bit = 1u16 << report.outcome.code();
        if evaluation.reported.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Ok(OutcomeResult::Duplicate);
        }
        let op = LabelOp {
            keys: evaluation.keys,
            label: report.label,
            at: now,
        };
        if let Err(e) = self.apply(op).await {
            // Not acknowledged: the caller may report it again.
            evaluation.reported.fetch_and(!bit, Ordering::AcqRel);
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
