//! Idempotent evaluations: the same `idempotency_key` with the same parameters returns the first
//! answer (same id) for the retention period; with other parameters it is refused, as Stripe's
//! `idempotency_error` is. Concurrent calls with one key are evaluated once: the others wait for
//! the first answer.
//!
//! With a [`SharedRecords`] backend (Redis), answers are also kept there, so every replica replays
//! them: a key unknown locally is looked up in the backend before evaluating, and claimed there
//! while this replica evaluates, so that the same key sent to two replicas at once is evaluated
//! once — the other waits for the answer ([`shared`]). If the backend fails, the store works
//! locally and counts the failure (`outcome="shared_unavailable"`).
//!
//! Memory is bounded by a byte budget (least recently used records go first, counted in
//! `riskgate_idempotency_evictions_total`). Retention is checked against tokio's clock on every
//! read, so tests can drive it with paused time; the cache's own expiry reclaims the memory.
//!
//! Without a shared backend but with a data directory, every new answer is also written to a
//! [`journal::Journal`] before it is given, and read back at start: a retry after a restart
//! replays it (issue 18, durable by default).

pub mod journal;
mod shared;

pub use shared::SharedRecords;

use crate::clock::Clock;
use std::{future::Future, sync::Arc, time::Duration};

use moka::{future::Cache, notification::RemovalCause};
use prost::Message as _;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::{proto::v1::CreatePaymentEvaluationResponse, telemetry};

/// SHA-256 of a request's parameters. Requests are encoded deterministically (maps are ordered), so
/// equal parameters give equal fingerprints.
pub type Fingerprint = [u8; 32];

/// The fingerprint of an encoded message.
pub fn fingerprint(message: &impl prost::Message) -> Fingerprint {
    Sha256::digest(message.encode_to_vec()).into()
}

/// A kept answer.
#[derive(Debug)]
pub struct Record {
    pub fingerprint: Fingerprint,
    pub response: CreatePaymentEvaluationResponse,
    /// When retention ends (records read back from the journal have less of it left).
    expires_at: Instant,
}

/// Why an idempotent call did not get an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyError<E> {
    /// The key was used with other parameters.
    Conflict,
    /// The evaluation itself failed (nothing was kept).
    Evaluation(E),
}

/// Answers kept by idempotency key.
#[derive(Clone)]
pub struct IdempotencyStore {
    cache: Cache<String, Arc<Record>>,
    retention: Duration,
    shared: Option<Arc<dyn SharedRecords>>,
    /// The on-disk copy, and the clock that stamps its records.
    journal: Option<(journal::Journal, Clock)>,
}

/// Bytes a record costs beyond its key and encoded answer (struct, Arc, cache entry).
const RECORD_OVERHEAD_BYTES: u32 = 256;

impl IdempotencyStore {
    /// A store that keeps answers for `retention`, within about `max_bytes` of memory.
    pub fn new(retention: Duration, max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, record: &Arc<Record>| {
                let size = key.len() + record.response.encoded_len();
                u32::try_from(size)
                    .unwrap_or(u32::MAX)
                    .saturating_add(RECORD_OVERHEAD_BYTES)
            })
            .time_to_live(retention)
            .eviction_listener(|_key, _record, cause| {
                if cause == RemovalCause::Size {
                    metrics::counter!(telemetry::IDEMPOTENCY_EVICTIONS).increment(1);
                }
            })
            .build();
        Self {
            cache,
            retention,
            shared: None,
            journal: None,
        }
    }

    /// Also writes every new answer to `journal` (stamped with `clock`) before giving it, and
    /// replays `loaded`, the answers read back from it at start.
    pub async fn with_journal(
        mut self,
        journal: journal::Journal,
        clock: Clock,
        loaded: Vec<journal::Loaded>,
    ) -> Self {
        let now = clock.now();
        let retention = i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX);
        for record in loaded {
            let age = now.saturating_sub(record.stored_unix).max(0);
            let left = retention.saturating_sub(age);
            if left <= 0 {
                continue;
            }
            let expires_at = Instant::now() + Duration::from_secs(left as u64);
            self.cache
                .insert(
                    record.key,
                    Arc::new(Record {
                        fingerprint: record.fingerprint,
                        response: record.response,
                        expires_at,
                    }),
                )
                .await;
        }
        self.journal = Some((journal, clock));
        self
    }

    /// Also keeps answers in `shared`, so other replicas replay them.
    pub fn with_shared(mut self, shared: Arc<dyn SharedRecords>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The answer kept for `key`, or the one `evaluate` produces (kept only if it succeeds). Returns
    /// whether the answer is a replay. Concurrent callers with one key share a single evaluation.
    pub async fn get_or_evaluate<E, F>(
        &self,
        key: &str,
        fingerprint: Fingerprint,
        evaluate: F,
    ) -> Result<(Arc<Record>, bool), IdempotencyError<E>>
    where
        E: Clone + Send + Sync + 'static,
        F: Future<Output = Result<CreatePaymentEvaluationResponse, E>>,
    {
        if let Some(record) = self.cache.get(key).await {
            if Instant::now() < record.expires_at {
                return Self::check(record, fingerprint, true);
            }
            self.cache.invalidate(key).await;
        }
        let mut evaluated = false;
        let shared = self.shared.clone();
        let journal = self.journal.clone();
        let retention = self.retention;
        let record = self
            .cache
            .try_get_with_by_ref(key, async {
                let kept = |fingerprint, response| {
                    Arc::new(Record {
                        fingerprint,
                        response,
                        expires_at: Instant::now() + retention,
                    })
                };
                if let Some(shared) = &shared {
                    let (record, replay) =
                        shared::get_or_evaluate(shared, key, fingerprint, retention, evaluate)
                            .await?;
                    evaluated = !replay;
                    return Ok(record);
                }
                let response = evaluate.await?;
                if let Some((journal, clock)) = &journal
                    && let Err(e) = journal
                        .append(key, &fingerprint, &response, clock.now())
                        .await
                {
                    // The answer is given anyway (it was evaluated, and counted); only a replay
                    // after a restart would miss it.
                    metrics::counter!(telemetry::IDEMPOTENCY_JOURNAL_ERRORS, "reason" => e.reason())
                        .increment(1);
                    tracing::warn!(error = %e, "idempotency record not written to the data directory");
                }
                evaluated = true;
                Ok(kept(fingerprint, response))
            })
            .await
            .map_err(|e: Arc<E>| IdempotencyError::Evaluation(E::clone(&e)))?;
        Self::check(record, fingerprint, !evaluated)
    }

    fn check<E>(
        record: Arc<Record>,
        fingerprint: Fingerprint,
        replay: bool,
    ) -> Result<(Arc<Record>, bool), IdempotencyError<E>> {
        let outcome = match (record.fingerprint == fingerprint, replay) {
            (false, _) => "conflict",
            (true, true) => "replay",
            (true, false) => "new",
        };
        metrics::counter!(telemetry::IDEMPOTENCY, "outcome" => outcome).increment(1);
        if record.fingerprint != fingerprint {
            return Err(IdempotencyError::Conflict);
        }
        Ok((record, replay))
    }
}

/// An answer with only its id (the store's tests).
#[cfg(test)]
fn answer_with_id(id: &str) -> CreatePaymentEvaluationResponse {
    CreatePaymentEvaluationResponse {
        evaluation: Some(crate::proto::v1::PaymentEvaluation {
            id: id.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::answer_with_id as answer;
    use super::*;

    fn id(r: &Record) -> &str {
        &r.response.evaluation.as_ref().unwrap().id
    }

    fn store() -> IdempotencyStore {
        IdempotencyStore::new(Duration::from_secs(3600), 1 << 20)
    }

    #[tokio::test]
    async fn replays_the_first_answer_and_refuses_other_parameters() {
        let s = store();
        let (r, replay) = s
            .get_or_evaluate::<(), _>("k", [1; 32], async { Ok(answer("peval_1")) })
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_1", false));
        let (r, replay) = s
            .get_or_evaluate::<(), _>("k", [1; 32], async { Ok(answer("peval_2")) })
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_1", true));
        let err = s
            .get_or_evaluate::<(), _>("k", [2; 32], async { Ok(answer("peval_3")) })
            .await
            .unwrap_err();
        assert_eq!(err, IdempotencyError::Conflict);
        let (r, _) = s
            .get_or_evaluate::<(), _>("other", [2; 32], async { Ok(answer("peval_4")) })
            .await
            .unwrap();
        assert_eq!(id(&r), "peval_4");
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let s = store();
        let err = s
            .get_or_evaluate("k", [1; 32], async { Err("boom") })
            .await
            .unwrap_err();
        assert_eq!(err, IdempotencyError::Evaluation("boom"));
        let (r, replay) = s
            .get_or_evaluate::<&str, _>("k", [1; 32], async { Ok(answer("peval_1")) })
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_1", false));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_duplicates_are_evaluated_once() {
        let s = store();
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (s, calls) = (s.clone(), calls.clone());
                tokio::spawn(async move {
                    let (r, _) = s
                        .get_or_evaluate::<(), _>("k", [7; 32], async {
                            let n = calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(answer(&format!("peval_{n}")))
                        })
                        .await
                        .unwrap();
                    id(&r).to_owned()
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(ids.iter().all(|i| i == "peval_0"), "{ids:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_expire_after_retention() {
        let s = IdempotencyStore::new(Duration::from_secs(24 * 3600), 1 << 20);
        s.get_or_evaluate::<(), _>("k", [1; 32], async { Ok(answer("peval_1")) })
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(24 * 3600 - 1)).await;
        let (r, _) = s
            .get_or_evaluate::<(), _>("k", [1; 32], async { Ok(answer("peval_2")) })
            .await
            .unwrap();
        assert_eq!(id(&r), "peval_1");
        tokio::time::advance(Duration::from_secs(2)).await;
        let (r, replay) = s
            .get_or_evaluate::<(), _>("k", [9; 32], async { Ok(answer("peval_3")) })
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_3", false));
    }

    #[tokio::test]
    async fn memory_is_bounded() {
        let s = IdempotencyStore::new(Duration::from_secs(3600), 64 * 1024);
        for i in 0..2000 {
            let key = format!("key-{i}");
            s.get_or_evaluate::<(), _>(&key, [1; 32], async { Ok(answer("peval_x")) })
                .await
                .unwrap();
        }
        s.cache.run_pending_tasks().await;
        assert!(
            s.cache.weighted_size() <= 64 * 1024,
            "{}",
            s.cache.weighted_size()
        );
        assert!(s.cache.entry_count() < 2000);
    }

    #[tokio::test]
    async fn a_journal_backed_store_replays_after_a_restart() {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-idem-store-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let clock = Clock::manual(1_000_000);
        let open = |now| journal::Journal::open(&dir, Duration::from_secs(3600), 1 << 20, now);
        let (j, loaded) = open(clock.now()).unwrap();
        let s = store().with_journal(j, clock.clone(), loaded).await;
        s.get_or_evaluate::<(), _>("k", [1; 32], async { Ok(answer("peval_1")) })
            .await
            .unwrap();
        drop(s);
        // "Restart" half an hour later: the answer is replayed, other parameters still refused.
        clock.set(1_000_000 + 1800);
        let (j, loaded) = open(clock.now()).unwrap();
        let s = store().with_journal(j, clock.clone(), loaded).await;
        let (r, replay) = s
            .get_or_evaluate::<(), _>("k", [1; 32], async { Ok(answer("peval_2")) })
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_1", true));
        let err = s
            .get_or_evaluate::<(), _>("k", [9; 32], async { Ok(answer("peval_3")) })
            .await
            .unwrap_err();
        assert_eq!(err, IdempotencyError::Conflict);
        drop(s);
        // After retention: gone.
        clock.set(1_000_000 + 3601);
        let (_, loaded) = open(clock.now()).unwrap();
        assert!(loaded.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fingerprints_follow_parameters() {
        use crate::proto::v1::CreatePaymentEvaluationRequest as Req;
        let mut a = Req {
            idempotency_key: "k".into(),
            ..Default::default()
        };
        a.metadata.insert("b".into(), "2".into());
        a.metadata.insert("a".into(), "1".into());
        let mut b = Req {
            idempotency_key: "k".into(),
            ..Default::default()
        };
        b.metadata.insert("a".into(), "1".into());
        b.metadata.insert("b".into(), "2".into());
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.metadata.insert("b".into(), "3".into());
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
