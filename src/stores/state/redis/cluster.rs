//! The state store's calls on Redis Cluster, where a script may only touch keys of one slot.
//!
//! Each entity's keys carry its hash in a hash tag (`<p>v2:{<16 hex>}`), so one entity is one
//! slot and entities spread over every slot; its outcome memory (`<p>o:{<16 hex>}`) shares the
//! tag, so one script reads both. An evaluation sends, all at once, one request per
//! slot: the session (HMGET), the payment method's set-up session (GET), one [`ENTITY_BODY`]
//! script per velocity key (the key's record before this payment, then the payment counted,
//! atomically for that key) and the evaluation record (SET `<p>e:{<id>}`). Requests to one
//! primary are pipelined on its connection, so the evaluation waits for one round trip — two when
//! the payment has no IP (device) of its own and takes it from the Radar Session, whose IP
//! (device) key is known only once the session is read.
//!
//! Counting stays exact: each key is changed by one script, which Redis runs alone. An outcome
//! report claims the outcome on the evaluation's slot ([`CLAIM`]: the record read and the
//! `:o<c>` mark set in one script), then counts each key with [`COUNT_ONE_BODY`]; when a count
//! fails the mark is removed so that a retried report counts again.

use std::sync::Arc;

use futures_util::future::try_join_all;
use redis::Value;

use super::{
    RedisState, bytes_of, err, history_from_record, parse_hex, record_has_seen, text, usd_slot,
};
use crate::stores::{
    StoreError,
    redis::Conn,
    state::{
        DeviceSnapshot, Found, Lookup, OutcomeResult, RadarSession, Report,
        outcomes::{LabelOp, customer_hash},
        redis_outcomes::{self, record_from_hash},
    },
};
use riskgate_core::signals::{Counter, KeyKind, OutcomeLabel, Outcomes, Velocity};

/// One velocity key of an evaluation. KEYS: the velocity key, the entity's outcome key. ARGV: now,
/// idle ttl, usd, then the 4 distinct values (card, email, name, customer; '' = none or not
/// counted on this kind of key). Returns {the key's record before this payment (after expiry;
/// '' = new key), the outcome hash as HGETALL gives it}.
pub(super) const ENTITY_BODY: &str = r#"
local now = tonumber(ARGV[1])
local usd = tonumber(ARGV[3])
local k = KEYS[1]
local K, raw = load_key(k)
if expire(K, k, now) then raw = pack_key(K) end
add(K, k, 1, now)
if usd ~= 0 then K[11] = K[11] + usd end
for d = 1, 4 do
  local v = ARGV[3 + d]
  if v ~= '' then see(K, d, tonumber(v), now) end
end
save(k, K, now, tonumber(ARGV[2]))
return {raw, redis.call('HGETALL', KEYS[2])}
"#;

/// Labels one entity's outcome key. KEYS[1] = the outcome key. ARGV: label, series, at, fraud
/// customer ('' = none), ttl (what `o_label` gives each key of a payment).
pub(super) const LABEL_ONE_BODY: &str = r#"
local c = false
if ARGV[4] ~= '' then c = tonumber(ARGV[4]) end
o_apply(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), c, tonumber(ARGV[5]))
return 1
"#;

/// Counts once on one key. KEYS[1] = the key. ARGV: now, ttl, counter (0-based), usd, usd slot.
pub(super) const COUNT_ONE_BODY: &str = r#"
count_keys({KEYS[1]}, tonumber(ARGV[3]), tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4]),
  tonumber(ARGV[5]))
return 1
"#;

/// Claims an outcome. KEYS: the evaluation record, its outcome mark. Returns {0} not found,
/// {1} already reported, {2, record} claimed (the mark lives as long as the record).
pub(super) const CLAIM: &str = r#"
local rec = redis.call('GET', KEYS[1])
if not rec then return {0} end
local left = redis.call('TTL', KEYS[1])
if left < 1 then left = 1 end
if not redis.call('SET', KEYS[2], 1, 'NX', 'EX', left) then return {1} end
return {2, rec}
"#;

impl RedisState {
    /// `<p>v2:{<hex>}`.
    fn cluster_velocity_key(&self, key: u64) -> String {
        format!("{}v2:{{{key:016x}}}", self.prefix)
    }

    /// `<p>o:{<hex>}` (the same on a single Redis).
    fn cluster_outcome_key(&self, key: u64) -> String {
        format!("{}{{{key:016x}}}", self.outcome_prefix())
    }

    async fn entity(
        &self,
        conn: &Conn,
        kind: usize,
        key: u64,
        lookup: &Lookup<'_>,
        now: i64,
    ) -> Result<Velocity1, StoreError> {
        let a = &lookup.attempt;
        let mut inv = self.entity.key(self.cluster_velocity_key(key));
        inv.key(self.cluster_outcome_key(key));
        inv.arg(now).arg(self.idle_expiry_secs).arg(a.usd);
        for d in 0..4 {
            let v = KeyKind::ALL[kind]
                .dims()
                .iter()
                .any(|x| *x as usize == d)
                .then_some(a.dims[d])
                .flatten()
                .map(|v| v.to_string())
                .unwrap_or_default();
            inv.arg(v);
        }
        let mut conn = conn.clone();
        let reply: Value = inv.invoke_async(&mut conn).await.map_err(err)?;
        let unexpected =
            || StoreError::Unavailable("unexpected reply from the entity script".into());
        let Value::Array(parts) = reply else {
            return Err(unexpected());
        };
        let [raw, outcome_hash] = parts.as_slice() else {
            return Err(unexpected());
        };
        let record = bytes_of(raw)
            .or(matches!(raw, Value::Nil).then_some(&[][..]))
            .ok_or_else(unexpected)?;
        let mut history = history_from_record(record, now).ok_or_else(unexpected)?;
        for &dim in KeyKind::ALL[kind].dims() {
            if let Some(hash) = lookup.attempt.dims[dim as usize] {
                history.seen_before[dim as usize] = record_has_seen(record, dim, hash);
            }
        }
        let outcomes = record_from_hash(outcome_hash)
            .ok_or_else(unexpected)?
            .history(KeyKind::ALL[kind], now, &self.retention);
        Ok(Velocity1 {
            kind,
            history,
            outcomes,
        })
    }

    async fn entities(
        &self,
        conn: &Conn,
        keys: &[Option<u64>; KeyKind::COUNT],
        only: impl Fn(usize) -> bool,
        lookup: &Lookup<'_>,
        now: i64,
    ) -> Result<Vec<Velocity1>, StoreError> {
        try_join_all(
            keys.iter()
                .enumerate()
                .filter(|(i, _)| only(*i))
                .filter_map(|(i, k)| k.map(|k| self.entity(conn, i, k, lookup, now))),
        )
        .await
    }

    async fn put_evaluation(
        &self,
        conn: &Conn,
        id: &str,
        keys: &[Option<u64>; KeyKind::COUNT],
        usd: f64,
    ) -> Result<(), StoreError> {
        let hexes: Vec<String> = keys
            .iter()
            .map(|k| k.map(|k| format!("{k:016x}")).unwrap_or_default())
            .collect();
        let mut conn = conn.clone();
        redis::cmd("SET")
            .arg(self.evaluation_key(id, true))
            .arg(format!("{}|{usd}", hexes.join(",")))
            .arg("EX")
            .arg(self.outcome_retention_secs)
            .query_async::<Value>(&mut conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// [`StateStore::lookup_and_record`](crate::stores::state::StateStore::lookup_and_record) on
    /// a cluster.
    pub(super) async fn cluster_lookup(
        &self,
        conn: &Conn,
        lookup: &Lookup<'_>,
        now: i64,
    ) -> Result<Found, StoreError> {
        let a = &lookup.attempt;
        let (ip, dev) = (KeyKind::Ip as usize, KeyKind::Device as usize);
        // The session may name the IP (device) key the payment lacks: then those keys, and the
        // evaluation record that lists them, wait for it.
        let from_session =
            lookup.session.is_some() && (a.keys[ip].is_none() || a.keys[dev].is_none());
        let session = async {
            let Some(id) = lookup.session else {
                return Ok::<_, StoreError>((None, None, None));
            };
            let mut c = conn.clone();
            let v: Vec<Value> = redis::cmd("HMGET")
                .arg(format!("{}s:{id}", self.prefix))
                .arg("json")
                .arg("ipk")
                .arg("devk")
                .query_async(&mut c)
                .await
                .map_err(err)?;
            let get = |i: usize| v.get(i).and_then(text);
            Ok((get(0), get(1), get(2)))
        };
        let payment_method = async {
            if !lookup.read_payment_method_session {
                return Ok::<_, StoreError>(None);
            }
            let mut c = conn.clone();
            let v: Value = redis::cmd("GET")
                .arg(format!("{}pm:{}", self.prefix, lookup.payment_method))
                .query_async(&mut c)
                .await
                .map_err(err)?;
            Ok(text(&v))
        };
        let record = async {
            if from_session || lookup.evaluation_id.is_empty() {
                return Ok(());
            }
            self.put_evaluation(conn, lookup.evaluation_id, &a.keys, a.usd)
                .await
        };
        let first = self.entities(conn, &a.keys, |_| true, lookup, now);
        let ((session_json, ipk, devk), pm_json, mut histories, ()) =
            tokio::try_join!(session, payment_method, first, record)?;

        let mut keys = a.keys;
        if from_session {
            let mut extra = [None; KeyKind::COUNT];
            for (i, hex) in [(ip, ipk), (dev, devk)] {
                if keys[i].is_none() {
                    keys[i] = hex.as_deref().and_then(parse_hex);
                    extra[i] = keys[i];
                }
            }
            let second = self.entities(conn, &extra, |_| true, lookup, now);
            let record = async {
                if lookup.evaluation_id.is_empty() {
                    return Ok(());
                }
                self.put_evaluation(conn, lookup.evaluation_id, &keys, a.usd)
                    .await
            };
            let (more, ()) = tokio::try_join!(second, record)?;
            histories.extend(more);
        }
        let session = session_json
            .map(|j| serde_json::from_str::<RadarSession>(&j).map(Arc::new))
            .transpose()
            .map_err(err)?;
        let payment_method_session = pm_json
            .map(|j| serde_json::from_str::<DeviceSnapshot>(&j).map(Arc::new))
            .transpose()
            .map_err(err)?;
        let mut velocity = Velocity::default();
        let mut outcomes = Outcomes::EMPTY;
        for h in histories {
            velocity.keys[h.kind] = Some(h.history);
            outcomes.keys[h.kind] = Some(h.outcomes);
        }
        Ok(Found {
            session,
            payment_method_session,
            velocity,
            keys,
            outcomes,
        })
    }

    async fn count_one(
        &self,
        conn: &Conn,
        key: u64,
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut inv = self.count_one.key(self.cluster_velocity_key(key));
        inv.arg(now)
            .arg(self.idle_expiry_secs)
            .arg(counter as u8)
            .arg(usd)
            .arg(usd_slot(counter));
        let mut conn = conn.clone();
        inv.invoke_async::<i64>(&mut conn).await.map_err(err)?;
        Ok(())
    }

    /// Counts `counter` once on each key, all keys at once.
    pub(super) async fn cluster_count(
        &self,
        conn: &Conn,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        try_join_all(
            keys.iter()
                .flatten()
                .map(|k| self.count_one(conn, *k, counter, usd, now)),
        )
        .await?;
        Ok(())
    }

    /// Labels each key's outcome memory as `o_label` does on a single Redis (a fraud label keeps
    /// the customer on the other keys; the IP key lives the IP retention), all keys at once.
    async fn label_keys(
        &self,
        conn: &Conn,
        keys: &[Option<u64>; KeyKind::COUNT],
        label: OutcomeLabel,
        at: i64,
    ) -> Result<(), StoreError> {
        let (label, series, fraud, ttl, ip_ttl) =
            redis_outcomes::label_args(label, &self.retention);
        let customer = keys[KeyKind::Customer as usize]
            .filter(|_| fraud == "1")
            .map(customer_hash);
        try_join_all(keys.iter().enumerate().filter_map(|(i, k)| {
            let k = (*k)?;
            let mut inv = self.label_one.key(self.cluster_outcome_key(k));
            let c = customer
                .filter(|_| i != KeyKind::Customer as usize)
                .map(|c| c.to_string())
                .unwrap_or_default();
            let t = if i == KeyKind::Ip as usize {
                ip_ttl
            } else {
                ttl
            };
            inv.arg(label).arg(&series).arg(at).arg(c).arg(t);
            let mut conn = conn.clone();
            Some(async move { inv.invoke_async::<i64>(&mut conn).await.map_err(err) })
        }))
        .await?;
        Ok(())
    }

    /// [`StateStore::label`](crate::stores::state::StateStore::label) on a cluster.
    pub(super) async fn cluster_label(&self, conn: &Conn, op: &LabelOp) -> Result<(), StoreError> {
        self.label_keys(conn, &op.keys, op.label, op.at).await
    }

    /// An outcome report on a cluster: claimed on the evaluation's slot, then labelled and
    /// counted per key.
    pub(super) async fn cluster_report(
        &self,
        conn: &Conn,
        evaluation_id: &str,
        report: Report,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let record = self.evaluation_key(evaluation_id, true);
        let mark = format!("{record}:o{}", report.outcome.code());
        let mut c = conn.clone();
        let reply: Vec<Value> = self
            .claim
            .key(&record)
            .key(&mark)
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        let status = match reply.first() {
            Some(Value::Int(n)) => *n,
            _ => -1,
        };
        match status {
            0 => return Ok(OutcomeResult::NotFound),
            1 => return Ok(OutcomeResult::Duplicate),
            2 => {}
            _ => {
                return Err(StoreError::Unavailable(
                    "unexpected reply from the claim script".into(),
                ));
            }
        }
        let rec = reply.get(1).and_then(text).unwrap_or_default();
        let (hexes, usd) = rec.split_once('|').unwrap_or((rec.as_str(), "0"));
        let usd: f64 = usd.parse().unwrap_or(0.0);
        let mut keys = [None; KeyKind::COUNT];
        for (slot, hex) in keys.iter_mut().zip(hexes.split(',')) {
            *slot = parse_hex(hex);
        }
        let counted = async {
            match report.outcome.counter() {
                Some(counter) => self.cluster_count(conn, &keys, counter, usd, now).await,
                None => Ok(()),
            }
        };
        let labelled = self.label_keys(conn, &keys, report.label, now);
        if let Err(e) = tokio::try_join!(counted, labelled) {
            // Unclaimed, so a retried report counts again (keys already counted count twice:
            // the price of a shard failing between two keys of one report).
            let mut c = conn.clone();
            let _ = redis::cmd("DEL")
                .arg(&mark)
                .query_async::<Value>(&mut c)
                .await;
            return Err(e);
        }
        Ok(OutcomeResult::Recorded)
    }
}

/// One key's history and outcome memory, by kind.
pub(super) struct Velocity1 {
    kind: usize,
    history: riskgate_core::signals::KeyHistory,
    outcomes: riskgate_core::signals::OutcomeHistory,
}
