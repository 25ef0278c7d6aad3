//! Blocks, outcome reports and labels on Redis. A count is a native APPEND of one event
//! ([`velocity_codec`](super::velocity_codec)) on each key, all keys at once (on one Redis the
//! commands are pipelined on the one connection; on a cluster each goes to its key's slot). An
//! outcome report first claims the outcome on the evaluation's record ([`CLAIM`]: the record read
//! and the `:o<c>` mark set in one script, so a report counts once), then appends and labels;
//! when that fails the mark is removed so that a retried report counts again.

use futures_util::future::try_join_all;
use redis::Value;

use super::{RedisState, err, parse_hex, text, velocity_codec};
use crate::stores::{
    StoreError,
    redis::Conn,
    state::{
        OutcomeResult, Report,
        outcomes::{LabelOp, customer_hash},
        redis_outcomes,
        velocity::{Event, secs},
    },
};
use riskgate_core::signals::{Counter, KeyKind, OutcomeLabel};

/// Labels one entity's outcome key (cluster). KEYS[1] = the outcome key. ARGV: label, series,
/// at, fraud customer ('' = none), ttl (what `o_label` gives each key of a payment).
pub(super) const LABEL_ONE_BODY: &str = r#"
local c = false
if ARGV[4] ~= '' then c = tonumber(ARGV[4]) end
o_apply(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), c, tonumber(ARGV[5]))
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
    /// Counts `counter` once on each key (APPEND of one event); a key the append created gets
    /// its idle expiry.
    pub(super) async fn append_outcome(
        &self,
        conn: &Conn,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        let event = velocity_codec::encode_event(&Event::outcome(counter, usd, secs(now)));
        let created = try_join_all(keys.iter().flatten().map(|k| {
            let name = self.velocity_key(*k);
            let mut c = conn.clone();
            async move {
                let len: usize = redis::cmd("APPEND")
                    .arg(&name)
                    .arg(&event[..])
                    .query_async(&mut c)
                    .await
                    .map_err(err)?;
                Ok::<_, StoreError>((len == velocity_codec::EVENT_LEN).then_some(name))
            }
        }))
        .await?;
        try_join_all(created.into_iter().flatten().map(|name| {
            let mut c = conn.clone();
            async move {
                redis::cmd("EXPIRE")
                    .arg(name)
                    .arg(self.idle_expiry_secs)
                    .query_async::<Value>(&mut c)
                    .await
                    .map_err(err)
            }
        }))
        .await?;
        Ok(())
    }

    /// Labels each key's outcome memory (a fraud label keeps the customer on the other keys; the
    /// IP key lives the IP retention): one script on one Redis, one per key on a cluster.
    pub(super) async fn label_keys(
        &self,
        conn: &Conn,
        keys: &[Option<u64>; KeyKind::COUNT],
        label: OutcomeLabel,
        at: i64,
    ) -> Result<(), StoreError> {
        if !conn.is_cluster() {
            let op = LabelOp {
                keys: *keys,
                label,
                at,
            };
            let mut inv = self.label.prepare_invoke();
            for arg in
                redis_outcomes::label_invocation(&self.outcome_prefix(), &op, &self.retention)
            {
                inv.arg(arg);
            }
            let mut c = conn.clone();
            inv.invoke_async::<i64>(&mut c).await.map_err(err)?;
            return Ok(());
        }
        let (label, series, fraud, ttl, ip_ttl) =
            redis_outcomes::label_args(label, &self.retention);
        let customer = keys[KeyKind::Customer as usize]
            .filter(|_| fraud == "1")
            .map(customer_hash);
        try_join_all(keys.iter().enumerate().filter_map(|(i, k)| {
            let k = (*k)?;
            let mut inv = self.label_one.key(self.outcome_key(k));
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

    /// An outcome report: claimed on the evaluation's record, then counted and labelled per key.
    pub(super) async fn report(
        &self,
        conn: &Conn,
        evaluation_id: &str,
        report: Report,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let record = self.evaluation_key(evaluation_id, conn.is_cluster());
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
                Some(counter) => self.append_outcome(conn, &keys, counter, usd, now).await,
                None => Ok(()),
            }
        };
        let labelled = self.label_keys(conn, &keys, report.label, now);
        if let Err(e) = tokio::try_join!(counted, labelled) {
            // Unclaimed, so a retried report counts again (keys already counted count twice:
            // the price of a failure between two keys of one report).
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
