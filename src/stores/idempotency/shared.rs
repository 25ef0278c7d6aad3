//! Answers shared between replicas (Redis), and the claim that makes concurrent calls with one
//! key on different replicas evaluate once.
//!
//! A replica looks a key up by claiming it (`SET … NX GET` of a *pending* record — the
//! fingerprint and a marker — that lives [`LEASE`]: one command that either claims the key or
//! returns what it holds). Having claimed it, the replica evaluates, then replaces the claim with
//! its answer. A replica that finds a claim waits for the answer, looking again with a growing
//! pause ([`POLL_FIRST`] doubling to [`POLL_MAX`]); the caller's deadline bounds the wait. A claim whose
//! replica failed to evaluate is removed (a retry evaluates afresh); one whose replica died
//! expires with its lease, and the next poll claims it. Without the claim, a retry sent to
//! another replica while the first call was still running (an orchestrator's timeout) was
//! evaluated twice — both counted in velocity — though both answers agreed (the second replica's
//! store-if-absent lost and replayed the first).

use std::{future::Future, sync::Arc, time::Duration};

use prost::Message as _;
use tokio::time::Instant;

use super::{Fingerprint, Record};
use crate::{proto::v1::CreatePaymentEvaluationResponse, stores::StoreError, telemetry};

/// Answers shared between replicas (Redis): opaque bytes by idempotency key.
#[tonic::async_trait]
pub trait SharedRecords: Send + Sync + 'static {
    /// Stores `value` unless the key exists: `None` if stored, else what the key holds.
    async fn put_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` whatever the key holds.
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;
    /// Removes the key if it still holds `value`.
    async fn remove_if(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError>;
}

/// How long a claim holds a key for its replica's evaluation: longer than any evaluation's
/// deadline, short enough that a replica dying mid-call does not hold up retries for long.
pub const LEASE: Duration = Duration::from_secs(10);
/// The first pause of a replica waiting for another's answer.
pub const POLL_FIRST: Duration = Duration::from_millis(1);
/// The longest pause between two looks.
pub const POLL_MAX: Duration = Duration::from_millis(16);

/// What follows the fingerprint in a claim: a byte no encoded answer starts with (field 0, wire
/// type 7 is not protobuf), so that a replica of an earlier version, which does not know claims,
/// fails to decode one and evaluates rather than replaying an empty answer.
const PENDING: u8 = 0x07;

/// A shared record's bytes: the 32-byte fingerprint, then the encoded answer.
pub(super) fn encode_answer(
    fingerprint: &Fingerprint,
    response: &CreatePaymentEvaluationResponse,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32 + response.encoded_len());
    bytes.extend_from_slice(fingerprint);
    response
        .encode(&mut bytes)
        .expect("a Vec grows to fit the message");
    bytes
}

fn encode_claim(fingerprint: &Fingerprint) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(33);
    bytes.extend_from_slice(fingerprint);
    bytes.push(PENDING);
    bytes
}

/// What a key holds.
#[derive(Debug, PartialEq)]
pub(super) enum Shared {
    Answer(Fingerprint, Box<CreatePaymentEvaluationResponse>),
    /// A replica is evaluating.
    Claimed,
}

pub(super) fn decode(bytes: &[u8]) -> Option<Shared> {
    let fingerprint: Fingerprint = bytes.get(..32)?.try_into().ok()?;
    if bytes[32..] == [PENDING] {
        return Some(Shared::Claimed);
    }
    let response = CreatePaymentEvaluationResponse::decode(&bytes[32..]).ok()?;
    Some(Shared::Answer(fingerprint, Box::new(response)))
}

pub(super) fn unavailable(e: &StoreError) {
    metrics::counter!(telemetry::IDEMPOTENCY, "outcome" => "shared_unavailable").increment(1);
    tracing::warn!(error = %e, "shared idempotency records unavailable; keeping answers locally");
}

/// What [`settle`] found.
pub(super) enum Settled {
    /// Another replica's answer (a replay).
    Kept(Fingerprint, Box<CreatePaymentEvaluationResponse>),
    /// This replica claimed the key (`true`), or the shared records failed (`false`): it
    /// evaluates.
    Evaluate { claimed: bool },
}

/// Looks `key` up on the other replicas, waiting while one of them evaluates it, and claims it
/// when nobody holds it.
pub(super) async fn settle(
    shared: &Arc<dyn SharedRecords>,
    key: &str,
    fingerprint: &Fingerprint,
) -> Settled {
    let mut pause = POLL_FIRST;
    // A claim that outlives its lease (a key without expiry, a clock gone wrong) stops the wait.
    let give_up = Instant::now() + LEASE + LEASE;
    loop {
        match shared
            .put_if_absent(key, encode_claim(fingerprint), LEASE)
            .await
        {
            Ok(None) => return Settled::Evaluate { claimed: true },
            Ok(Some(bytes)) => match decode(&bytes) {
                Some(Shared::Answer(fp, response)) => return Settled::Kept(fp, response),
                Some(Shared::Claimed) if Instant::now() < give_up => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(POLL_MAX);
                }
                // Unreadable, or a claim held too long: evaluate and overwrite.
                _ => return Settled::Evaluate { claimed: true },
            },
            Err(e) => {
                unavailable(&e);
                return Settled::Evaluate { claimed: false };
            }
        }
    }
}

/// Publishes this replica's answer over its claim (`claimed`), or, when the shared records failed
/// before, only if nobody stored one meanwhile; returns the record every replica replays.
pub(super) async fn publish(
    shared: &Arc<dyn SharedRecords>,
    key: &str,
    claimed: bool,
    record: Arc<Record>,
    retention: Duration,
) -> Arc<Record> {
    let bytes = encode_answer(&record.fingerprint, &record.response);
    if claimed {
        if let Err(e) = shared.put(key, bytes, retention).await {
            unavailable(&e);
        }
        return record;
    }
    match shared.put_if_absent(key, bytes, retention).await {
        Ok(None) => record,
        // Another replica answered first: its answer is the one kept.
        Ok(Some(bytes)) => match decode(&bytes) {
            Some(Shared::Answer(fingerprint, response)) => Arc::new(Record {
                fingerprint,
                response: *response,
                expires_at: record.expires_at,
            }),
            _ => record,
        },
        Err(e) => {
            unavailable(&e);
            record
        }
    }
}

/// Removes this replica's claim after its evaluation failed, so that a retry evaluates.
pub(super) async fn release(shared: &Arc<dyn SharedRecords>, key: &str, fingerprint: &Fingerprint) {
    if let Err(e) = shared.remove_if(key, encode_claim(fingerprint)).await {
        unavailable(&e);
    }
}

/// This replica's claim on a key while it evaluates: released if the call is dropped before it
/// publishes (the caller's deadline passed, the client went away), so that a retry on another
/// replica does not wait out the lease.
struct Claim<'a> {
    shared: &'a Arc<dyn SharedRecords>,
    key: &'a str,
    fingerprint: Fingerprint,
    held: bool,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let (shared, key, fingerprint) =
            (self.shared.clone(), self.key.to_owned(), self.fingerprint);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { release(&shared, &key, &fingerprint).await });
        }
    }
}

/// Evaluates with `evaluate`, or not: the whole shared path of one call (see the module doc).
pub(super) async fn get_or_evaluate<E, F>(
    shared: &Arc<dyn SharedRecords>,
    key: &str,
    fingerprint: Fingerprint,
    retention: Duration,
    evaluate: F,
) -> Result<(Arc<Record>, bool), E>
where
    F: Future<Output = Result<CreatePaymentEvaluationResponse, E>>,
{
    let expires_at = Instant::now() + retention;
    let claimed = match settle(shared, key, &fingerprint).await {
        Settled::Kept(fingerprint, response) => {
            let record = Record {
                fingerprint,
                response: *response,
                expires_at,
            };
            return Ok((Arc::new(record), true));
        }
        Settled::Evaluate { claimed } => claimed,
    };
    let mut claim = Claim {
        shared,
        key,
        fingerprint,
        held: claimed,
    };
    let response = match evaluate.await {
        Ok(response) => response,
        Err(e) => {
            if claim.held {
                claim.held = false;
                release(shared, key, &fingerprint).await;
            }
            return Err(e);
        }
    };
    claim.held = false;
    let record = Arc::new(Record {
        fingerprint,
        response,
        expires_at,
    });
    let kept = publish(shared, key, claimed, record.clone(), retention).await;
    let replay = !Arc::ptr_eq(&kept, &record);
    Ok((kept, replay))
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{
            Mutex,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use super::super::answer_with_id as answer;
    use super::*;
    use crate::stores::idempotency::IdempotencyStore;

    /// Shared records in memory, with expiry on tokio's clock (what Redis does with `PX`).
    #[derive(Default)]
    struct Memory(Mutex<HashMap<String, (Vec<u8>, Instant)>>);

    impl Memory {
        fn live(&self, key: &str) -> Option<Vec<u8>> {
            let mut map = self.0.lock().unwrap();
            match map.get(key) {
                Some((v, until)) if Instant::now() < *until => Some(v.clone()),
                Some(_) => {
                    map.remove(key);
                    None
                }
                None => None,
            }
        }
    }

    #[tonic::async_trait]
    impl SharedRecords for Memory {
        async fn put_if_absent(
            &self,
            key: &str,
            value: Vec<u8>,
            ttl: Duration,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            if let Some(held) = self.live(key) {
                return Ok(Some(held));
            }
            self.put(key, value, ttl).await?;
            Ok(None)
        }
        async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
            let until = Instant::now() + ttl;
            self.0.lock().unwrap().insert(key.into(), (value, until));
            Ok(())
        }
        async fn remove_if(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
            if self.live(key) == Some(value) {
                self.0.lock().unwrap().remove(key);
            }
            Ok(())
        }
    }

    fn id(r: &Record) -> String {
        r.response.evaluation.as_ref().unwrap().id.clone()
    }

    /// Two replicas' stores over one backend.
    fn replicas() -> (Arc<Memory>, IdempotencyStore, IdempotencyStore) {
        let memory = Arc::new(Memory::default());
        let store = || {
            IdempotencyStore::new(Duration::from_secs(3600), 1 << 20)
                .with_shared(memory.clone() as Arc<dyn SharedRecords>)
        };
        (memory.clone(), store(), store())
    }

    /// An evaluation that takes 40 ms and counts itself.
    async fn evaluation(
        calls: &AtomicUsize,
    ) -> Result<CreatePaymentEvaluationResponse, &'static str> {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(40)).await;
        Ok(answer(&format!("peval_{n}")))
    }

    #[tokio::test(start_paused = true)]
    async fn one_key_on_two_replicas_at_once_is_evaluated_once() {
        let (_, a, b) = replicas();
        let calls = AtomicUsize::new(0);
        let started = Instant::now();
        let (x, y) = tokio::join!(
            a.get_or_evaluate("k", [1; 32], evaluation(&calls)),
            b.get_or_evaluate("k", [1; 32], evaluation(&calls)),
        );
        let ((x, x_replay), (y, y_replay)) = (x.unwrap(), y.unwrap());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "evaluated once");
        assert_eq!((id(&x), id(&y)), ("peval_0".into(), "peval_0".into()));
        assert!(x_replay != y_replay, "one evaluation, one replay");
        // The waiter had the answer within a poll of it (40 ms + at most 16).
        assert!(
            started.elapsed() < Duration::from_millis(60),
            "{:?}",
            started.elapsed()
        );
        // Other parameters under the key are refused on either replica.
        let other = b.get_or_evaluate("k", [2; 32], evaluation(&calls)).await;
        assert!(matches!(
            other,
            Err(super::super::IdempotencyError::Conflict)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_or_dropped_evaluation_gives_the_key_back() {
        let (memory, a, b) = replicas();
        let calls = AtomicUsize::new(0);
        let failed = a
            .get_or_evaluate("k", [1; 32], async {
                Err::<CreatePaymentEvaluationResponse, _>("boom")
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(memory.live("k"), None, "the claim is released");
        // A call dropped mid-evaluation (its deadline passed) releases its claim too.
        let dropped = tokio::time::timeout(
            Duration::from_millis(10),
            a.get_or_evaluate("k2", [1; 32], evaluation(&calls)),
        )
        .await;
        assert!(dropped.is_err());
        tokio::task::yield_now().await;
        assert_eq!(memory.live("k2"), None, "the claim is released");
        let started = Instant::now();
        let (r, replay) = b
            .get_or_evaluate("k2", [1; 32], evaluation(&calls))
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_1".into(), false));
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "no wait for the lease"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_replicas_claim_holds_the_key_for_its_lease_only() {
        let (memory, a, _) = replicas();
        // A replica claimed the key and died.
        memory
            .put("k", encode_claim(&[1; 32]), LEASE)
            .await
            .unwrap();
        let calls = AtomicUsize::new(0);
        let started = Instant::now();
        let (r, replay) = a
            .get_or_evaluate("k", [1; 32], evaluation(&calls))
            .await
            .unwrap();
        assert_eq!((id(&r), replay), ("peval_0".into(), false));
        let waited = started.elapsed();
        assert!(
            waited >= LEASE && waited < LEASE + Duration::from_millis(100),
            "{waited:?}"
        );
        assert!(matches!(
            decode(&memory.live("k").unwrap()),
            Some(Shared::Answer(..))
        ));
    }

    #[test]
    fn claims_and_answers_decode_apart() {
        let claim = encode_claim(&[3; 32]);
        assert_eq!(decode(&claim), Some(Shared::Claimed));
        let bytes = encode_answer(&[3; 32], &answer("peval_x"));
        assert_eq!(
            decode(&bytes),
            Some(Shared::Answer([3; 32], Box::new(answer("peval_x"))))
        );
        // An earlier version's decoder (fingerprint + protobuf) refuses a claim.
        assert!(CreatePaymentEvaluationResponse::decode(&claim[32..]).is_err());
        assert_eq!(decode(&[0; 10]), None);
    }
}
