//! Shared state on Redis, so every replica sees one history: velocity counters, Radar Sessions,
//! payment-method sessions, evaluations kept for outcome reports, and idempotency records.
//!
//! An ordinary evaluation is **one round trip** of native commands ([`evaluation`]): on one
//! Redis a MULTI/EXEC pipeline with the session (HMGET), the payment method's set-up session
//! (GET), every entity's record before this payment — velocity and outcome memory in one — (one
//! MGET), this payment's event per key (APPEND) and the evaluation record (SET); Redis runs a
//! transaction alone, so two gateways never both see the same count. On a cluster each key's GET
//! and APPEND are one tiny script on the key's slot (all keys at once). Blocks, outcome reports
//! and labels append entries with native APPEND ([`counts`]); a report first claims the outcome
//! so that it counts once.
//!
//! Layout (`<p>` = `redis.key_prefix`):
//! - `<p>v3:{<16 hex>}` — an entity (a card, an email, an IP …): a string, a head holding the
//!   in-process [`KeyState`](super::velocity::KeyState) and outcome memory
//!   ([`EntityRecord`](super::outcomes::EntityRecord)) serialized, then an append-only tail of
//!   24-byte entries — payments, counted outcomes, labels (layout in [`velocity_codec`]). The
//!   gateway reads it by replaying the tail with the in-process methods (bucket rolling, expiry,
//!   distinct values capped at 25, labels' series and fraud customers capped at 25), so both
//!   backends keep the same windows and outcome memory by construction (`tests/redis_windows.rs`
//!   checks it). When a record read has 32 entries in its tail or a head older than an hour, the
//!   gateway, off the answer's path, folds the tail into a new head and writes it with a
//!   compare-and-set script ([`evaluation::COMPACT`]: replaced only if the head is still the one
//!   read; entries appended since are kept) that also pushes back the expiry. A key lives
//!   `enrichment.velocity_idle_expiry_secs` after its last evaluation (up to an hour sooner: the
//!   push-back rides on compactions; a block or a count only makes sure the key has an expiry),
//!   and while any of its labels is within retention (fraud 400 days, other 90, IP 14 by
//!   default, pushed back by each label); an expiry is only ever pushed back
//!   (`EXPIRE … NX` / `GT`, so Redis ≥ 7.0 or Valkey). A key's first APPEND creates it without
//!   expiry, so the gateway that created it (its GET found nothing) sets the expiry right after.
//!   A head is 16 + 25 bytes plus the nonzero counts (1–5 bytes each), ~7 bytes per time bucket
//!   (at most 13 + 25 + 8), 8 per distinct value (at most 25 per dimension) and, with outcome
//!   memory, 3 + 13 per label kind + 5 per label time + 8 per fraud customer; the tail up to 32
//!   entries of 24 bytes: 0.1–1.5 KB of `MEMORY USAGE` per key (BENCHMARKS.md).
//!   (Before `v3:`, velocity keys were hashes under `<p>v2:` and before that `<p>v:`, changed by
//!   Lua scripts; they are no longer read and expire by themselves. Outcome memory was a hash per
//!   entity, `<p>o:{<16 hex>}`, until it moved into the entity's record: such hashes are no
//!   longer read either — what they held is not carried over — and expire with their
//!   retention.)
//! - `<p>s:<rse_id>` — a Radar Session (hash: `json`, `ipk`, `devk`), TTL `session_ttl_secs`;
//!   when recorded, its IP and device keys are announced on the channel `<p>sessions` (one
//!   Redis: [`session_keys`]).
//! - `<p>pm:<pm_id>` — the device a payment method was set up from (JSON), TTL
//!   `payment_method_session_ttl_secs`.
//! - `<p>e:<peval_id>` — an evaluation's keys and amount (`hex,hex,…|usd`), TTL
//!   `outcome_retention_secs`; `<p>e:<peval_id>:o<c>` marks outcome `c` as reported;
//!   `<p>e:<peval_id>:s` holds the Stripe evaluation it was scored by (`peval_…|amount|currency`,
//!   for outcome forwarding), same TTL. On a cluster `<p>e:{<peval_id>}`, so that the marks share
//!   its slot.
//! - `<p>i:<idempotency key>` — a kept answer (32-byte parameter fingerprint, then the protobuf),
//!   or, while a replica evaluates the key, its claim (the fingerprint and the byte 0x07), which
//!   lives 10 s at most (`stores::idempotency::shared`).
//!
//! The client ([`RedisClient`]) reconnects by itself after a failure. Each call has the
//! `redis.budget_ms` budget (enforced by the caller, [`crate::enrich::Enricher`]).

mod counts;
mod evaluation;
mod session_keys;
mod velocity_codec;

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands, Script, Value};

use super::{
    DeviceSnapshot, Found, Lookup, OutcomeResult, RadarSession, Report, SetupWrite, StateStore,
    outcomes::{LabelOp, Retention},
};
use crate::config::{EnrichmentConfig, RedisConfig};
use crate::stores::{StoreError, redis::RedisClient};
use riskgate_core::signals::{Counter, KeyKind};

/// Redis-backed state.
pub struct RedisState {
    client: RedisClient,
    prefix: String,
    /// [`SETUP_SAME_SESSION`].
    setup: Script,
    retention: Retention,
    /// Cluster: one entity's part of an evaluation ([`evaluation::ENTITY`]).
    entity: Script,
    /// An outcome's claim ([`counts::CLAIM`]).
    claim: Script,
    /// A velocity record's compaction ([`evaluation::COMPACT`]).
    compact: Script,
    /// An idempotency claim's release ([`REMOVE_IF`]).
    remove_if: Script,
    /// One Redis: a session's keys counted in the evaluation's transaction
    /// ([`evaluation::SESSION_KEYS`]).
    session_keys: Script,
    /// One Redis: recent sessions' IP and device keys, announced by the gateway that recorded
    /// them ([`session_keys`]).
    sessions: session_keys::SessionKeys,
    idle_expiry_secs: u64,
    session_ttl_secs: u64,
    payment_method_session_ttl_secs: u64,
    outcome_retention_secs: u64,
}

/// Reads an entity record's bytes as an evaluation does and writes them back as a compaction
/// does (the fuzz target `redis_record`). An error for malformed input; a panic is a bug.
#[doc(hidden)]
pub fn check_entity_record(raw: &[u8], now: i64) -> Result<(), StoreError> {
    velocity_codec::check(raw, u32::try_from(now.max(0)).unwrap_or(u32::MAX))
}

/// A payment method's set-up device, written by a Radar Session: KEYS[1] the `pm:` key; ARGV the
/// snapshot (JSON), its TTL, the session id. Writes when the key is absent or holds a snapshot of
/// this same session; returns 1 when written, 0 when another session set the payment method up.
const SETUP_SAME_SESSION: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if not ok or type(old) ~= 'table' or old.session ~= ARGV[3] or ARGV[3] == '' then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"#;

/// What follows `redis.key_prefix` in an entity's key (the hash tag comes next).
const VELOCITY: &str = "v3:";

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisState {
    /// A client for `redis.url`. The connection is made lazily and remade after failures, so a
    /// Redis that is down at start-up only degrades evaluations until it is back.
    pub fn new(redis: &RedisConfig, enrichment: &EnrichmentConfig) -> Result<Self, StoreError> {
        let client = RedisClient::new(redis, Duration::from_millis(redis.budget_ms))?;
        Ok(Self {
            client,
            prefix: redis.key_prefix.clone(),
            setup: Script::new(SETUP_SAME_SESSION),
            retention: Retention::from_config(enrichment),
            entity: Script::new(evaluation::ENTITY),
            claim: Script::new(counts::CLAIM),
            compact: Script::new(evaluation::COMPACT),
            remove_if: Script::new(REMOVE_IF),
            session_keys: Script::new(evaluation::SESSION_KEYS),
            sessions: session_keys::SessionKeys::new(&redis.key_prefix),
            idle_expiry_secs: enrichment.velocity_idle_expiry_secs,
            session_ttl_secs: enrichment.session_ttl_secs,
            payment_method_session_ttl_secs: enrichment.payment_method_session_ttl_secs,
            outcome_retention_secs: enrichment.outcome_retention_secs,
        })
    }

    /// One PING (start-up checks and tests); on one Redis, also starts listening for recorded
    /// sessions' keys ([`session_keys`]).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(err)?;
        if !conn.is_cluster() {
            self.sessions.subscribe(&self.client);
        }
        Ok(())
    }

    /// Whether this gateway heard session `id`'s keys announced (tests and tools).
    #[doc(hidden)]
    pub async fn knows_session(&self, id: &str) -> bool {
        self.sessions.get(id).await.is_some()
    }

    /// `<p>v3:{<hex>}` (hash-tagged on one Redis too: one layout for both).
    fn velocity_key(&self, key: u64) -> String {
        format!("{}{VELOCITY}{{{key:016x}}}", self.prefix)
    }

    /// Velocity keys are `<prefix>v3:{<hex>}`.
    fn velocity_prefix(&self) -> String {
        format!("{}{VELOCITY}", self.prefix)
    }

    /// Whether the client is connected to a cluster (`None` before it first connected).
    pub fn is_cluster(&self) -> Option<bool> {
        self.client.is_cluster()
    }

    /// An evaluation's record, `<p>e:<id>` (`<p>e:{<id>}` on a cluster, so that its outcome marks
    /// `…:o<c>` share its slot).
    fn evaluation_key(&self, id: &str, cluster: bool) -> String {
        if cluster {
            format!("{}e:{{{id}}}", self.prefix)
        } else {
            format!("{}e:{id}", self.prefix)
        }
    }

    /// The key of an idempotency record.
    fn idempotency_key(&self, key: &str) -> String {
        format!("{}i:{key}", self.prefix)
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

#[tonic::async_trait]
impl StateStore for RedisState {
    async fn lookup_and_record(&self, lookup: &Lookup<'_>, now: i64) -> Result<Found, StoreError> {
        let conn = self.client.conn().await?;
        self.evaluate(&conn, lookup, now).await
    }

    async fn count(
        &self,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        let conn = self.client.conn().await?;
        let entries = counts::Entries {
            count: Some((counter, usd)),
            label: None,
        };
        self.append_entries(&conn, keys, entries, now).await
    }

    async fn report_outcome(
        &self,
        evaluation_id: &str,
        report: Report,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let conn = self.client.conn().await?;
        self.report(&conn, evaluation_id, report, now).await
    }

    async fn label(&self, op: &LabelOp) -> Result<(), StoreError> {
        let conn = self.client.conn().await?;
        let entries = counts::Entries {
            count: None,
            label: Some((op.label, op.at)),
        };
        // The label's retention counts from when it was learned, as the expiry does.
        self.append_entries(&conn, &op.keys, entries, op.at).await
    }

    async fn put_session(&self, session: RadarSession) -> Result<(), StoreError> {
        let key = format!("{}s:{}", self.prefix, session.id);
        let json = serde_json::to_string(&session).map_err(err)?;
        let hex = |k: Option<u64>| k.map(|k| format!("{k:016x}")).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&key)
            .ignore()
            .hset(&key, "json", json)
            .ignore();
        if session.ip_key.is_some() {
            pipe.hset(&key, "ipk", hex(session.ip_key)).ignore();
        }
        if session.device_key.is_some() {
            pipe.hset(&key, "devk", hex(session.device_key)).ignore();
        }
        pipe.expire(&key, self.session_ttl_secs as i64).ignore();
        let mut conn = self.client.conn().await?;
        pipe.query_async::<()>(&mut conn).await.map_err(err)?;
        if !conn.is_cluster() {
            // Every gateway learns the session's keys before its payment comes
            // ([`session_keys`]); this one too. Outside the transaction and not awaited: an
            // ACL without PUBLISH must not cost the session, only the shortcut.
            self.sessions.subscribe(&self.client);
            let message = session_keys::SessionKeys::message(
                &session.id,
                [session.ip_key, session.device_key],
            );
            let channel = self.sessions.channel().to_owned();
            tokio::spawn(async move {
                let sent = redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(message)
                    .query_async::<Value>(&mut conn)
                    .await;
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "Radar Session announcement not sent; its payments take the session script");
                }
            });
        }
        Ok(())
    }

    async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError> {
        let mut conn = self.client.conn().await?;
        let json: Option<String> = conn
            .hget(format!("{}s:{id}", self.prefix), "json")
            .await
            .map_err(err)?;
        json.map(|j| serde_json::from_str(&j).map(Arc::new))
            .transpose()
            .map_err(err)
    }

    async fn put_upstream_ref(
        &self,
        evaluation_id: &str,
        upstream: &super::UpstreamRef,
    ) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        conn.set_ex::<_, _, ()>(
            format!(
                "{}:s",
                self.evaluation_key(evaluation_id, conn.is_cluster())
            ),
            upstream.encode(),
            self.outcome_retention_secs,
        )
        .await
        .map_err(err)
    }

    async fn get_upstream_ref(
        &self,
        evaluation_id: &str,
    ) -> Result<Option<super::UpstreamRef>, StoreError> {
        let mut conn = self.client.conn().await?;
        let raw: Option<String> = conn
            .get(format!(
                "{}:s",
                self.evaluation_key(evaluation_id, conn.is_cluster())
            ))
            .await
            .map_err(err)?;
        Ok(raw.as_deref().and_then(super::UpstreamRef::decode))
    }

    async fn put_payment_method_session(
        &self,
        payment_method: &str,
        device: DeviceSnapshot,
        write: SetupWrite,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(&device).map_err(err)?;
        let key = format!("{}pm:{payment_method}", self.prefix);
        let mut conn = self.client.conn().await?;
        match write {
            SetupWrite::KeepEarlier => {
                redis::cmd("SET")
                    .arg(key)
                    .arg(json)
                    .arg("EX")
                    .arg(self.payment_method_session_ttl_secs)
                    .arg("NX")
                    .query_async::<Value>(&mut conn)
                    .await
                    .map_err(err)?;
                Ok(())
            }
            SetupWrite::SameSession => {
                let written: i64 = self
                    .setup
                    .key(key)
                    .arg(json)
                    .arg(self.payment_method_session_ttl_secs)
                    .arg(device.session.as_deref().unwrap_or_default())
                    .invoke_async(&mut conn)
                    .await
                    .map_err(err)?;
                if written == 1 {
                    Ok(())
                } else {
                    Err(super::set_up_elsewhere(payment_method))
                }
            }
        }
    }
}

#[tonic::async_trait]
impl crate::stores::idempotency::SharedRecords for RedisState {
    async fn put_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.client.conn().await?;
        // NX with GET (Redis >= 7.0): stored, or what the key holds, in one command.
        let held: Value = redis::cmd("SET")
            .arg(self.idempotency_key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .arg("NX")
            .arg("GET")
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        match held {
            Value::Nil => Ok(None),
            Value::BulkString(b) => Ok(Some(b)),
            _ => Err(StoreError::Unavailable(
                "unexpected reply to an idempotency SET".into(),
            )),
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        redis::cmd("SET")
            .arg(self.idempotency_key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async::<Value>(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn remove_if(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        self.remove_if
            .key(self.idempotency_key(key))
            .arg(value)
            .invoke_async::<i64>(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }
}

/// Deletes KEYS[1] if it holds ARGV[1]; returns 1 if deleted.
const REMOVE_IF: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;
