//! Blocks, outcome reports and labels on Redis: entries appended to each key's record
//! ([`velocity_codec`](super::velocity_codec)) with native commands — per key one APPEND (a count,
//! a label, or both in one) and its expiry (`EXPIRE … NX` for a key the append created; with a
//! label `EXPIRE … GT` to push it back to the label's retention; never shortened), pipelined on
//! the key's connection, all keys at once (on a cluster each key's commands go to its slot). An
//! outcome report first claims the outcome on the evaluation's record ([`CLAIM`]: the record read
//! and the `:o<c>` mark set in one script, so a report counts once), then appends; when that
//! fails the mark is removed so that a retried report counts again.

use futures_util::future::try_join_all;
use redis::Value;

use super::{RedisState, err, parse_hex, text, velocity_codec};
use crate::stores::{
    StoreError,
    redis::Conn,
    state::{
        OutcomeResult, Report,
        outcomes::customer_hash,
        velocity::{Event, secs},
    },
};
use riskgate_core::signals::{Counter, KeyKind, OutcomeLabel};

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

/// What is appended to every key of a payment.
#[derive(Clone, Copy, Default)]
pub(super) struct Entries {
    /// An outcome counted on the key's velocity (a block, an authorization, a decline …) and
    /// the amount in USD.
    pub(super) count: Option<(Counter, f64)>,
    /// An outcome label for its memory, learned at the given Unix second.
    pub(super) label: Option<(OutcomeLabel, i64)>,
}

impl RedisState {
    /// Appends `entries` to each key's record, one APPEND per key; a fraud label keeps the
    /// payment's customer on its other keys. Each key then lives at least the idle expiry, and
    /// with a label until the label leaves retention (the IP key's retention is shorter).
    pub(super) async fn append_entries(
        &self,
        conn: &Conn,
        keys: &[Option<u64>; KeyKind::COUNT],
        entries: Entries,
        now: i64,
    ) -> Result<(), StoreError> {
        let count = entries.count.map(|(counter, usd)| {
            velocity_codec::encode_event(&Event::outcome(counter, usd, secs(now)))
        });
        let customer = entries
            .label
            .filter(|(l, _)| l.is_fraud())
            .and(keys[KeyKind::Customer as usize])
            .map(customer_hash);
        try_join_all(keys.iter().enumerate().filter_map(|(i, k)| {
            let name = self.velocity_key((*k)?);
            let kind = KeyKind::ALL[i];
            let mut bytes = Vec::with_capacity(2 * velocity_codec::EVENT_LEN);
            bytes.extend(count.iter().flatten());
            let mut ttl = self.idle_expiry_secs;
            if let Some((label, at)) = entries.label {
                let c = customer.filter(|_| kind != KeyKind::Customer);
                bytes.extend(velocity_codec::encode_label(label, secs(at), c));
                let until = at.saturating_add(self.retention.of(kind, label)) - now;
                ttl = ttl.max(u64::try_from(until).unwrap_or(0));
            }
            let mut pipe = redis::pipe();
            pipe.cmd("APPEND").arg(&name).arg(bytes).ignore();
            // A key this append created has no expiry yet (NX); a label pushes an existing one
            // back (GT). A count alone follows an evaluation of the same keys, whose compaction
            // pushes the idle expiry back: it only makes sure there is one.
            pipe.cmd("EXPIRE").arg(&name).arg(ttl).arg("NX").ignore();
            if entries.label.is_some() {
                pipe.cmd("EXPIRE").arg(&name).arg(ttl).arg("GT").ignore();
            }
            let mut c = conn.clone();
            Some(async move { pipe.query_async::<()>(&mut c).await.map_err(err) })
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
        let entries = Entries {
            count: report.outcome.counter().map(|c| (c, usd)),
            label: Some((report.label, now)),
        };
        if let Err(e) = self.append_entries(conn, &keys, entries, now).await {
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
