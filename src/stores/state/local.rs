//! In-process state: velocity in a sharded map ([`super::velocity::VelocityStore`]), sessions and
//! remembered evaluations in bounded moka caches.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use moka::{future::Cache, notification::RemovalCause};

use super::{
    DeviceSnapshot, Found, Lookup, Outcome, OutcomeResult, RadarSession, SetupWrite, StateStore,
    UpstreamRef, fill_from_session, velocity::VelocityStore,
};
use crate::{config::EnrichmentConfig, stores::StoreError, telemetry};
use riskgate_core::signals::{Counter, KeyKind};

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
