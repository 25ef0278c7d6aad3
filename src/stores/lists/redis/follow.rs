//! Following Redis: the local copy applies the change log in order ([`RedisLists::follow`] waits
//! on it with `XREAD BLOCK`; a replica that made a change reads up to it), and reloads a snapshot
//! at start, after a reconnection, and whenever a change is missing or does not fit.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::watch;

use super::{
    Cursor, FOLLOW_BLOCK, RedisLists,
    records::{Entry, RawEntry, corrupt, parse_entry, parse_item, parse_list, unavailable},
};
use crate::stores::{StoreError, lists::types::Op};
use crate::telemetry;

/// Changes read per call when catching up.
const READ_BATCH: usize = 1000;
/// Retry delays while Redis is away (doubling).
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

impl RedisLists {
    /// Follows the change log until `shutdown`: applies changes as they come, reloads a snapshot
    /// after a gap or a reconnection, and keeps `riskgate_value_lists_sync_age_seconds` current.
    pub async fn follow(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut retry = RETRY_MIN;
        let mut healthy = true;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let step = async {
                let reload = {
                    let cursor = self.cursor.lock().await;
                    (!cursor.loaded || !healthy).then_some(if cursor.loaded {
                        "reconnect"
                    } else {
                        "start"
                    })
                };
                if let Some(reason) = reload {
                    let mut cursor = self.cursor.lock().await;
                    self.reload(&mut cursor, reason).await?;
                    drop(cursor);
                    self.ensure_default_lists(unix_now()).await?;
                }
                self.wait_for_changes().await
            };
            let result = tokio::select! {
                r = step => r,
                _ = shutdown.changed() => return,
            };
            match result {
                Ok(()) => {
                    if !healthy {
                        tracing::info!("value lists: following Redis again");
                    }
                    healthy = true;
                    retry = RETRY_MIN;
                }
                Err(e) => {
                    if healthy {
                        tracing::warn!(
                            error = %e,
                            "value lists: cannot follow Redis; evaluations use the last lists known"
                        );
                    }
                    healthy = false;
                    self.publish_age();
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        _ = shutdown.changed() => return,
                    }
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
            self.publish_age();
        }
    }

    /// Seconds since the copy was last known to match Redis (since start if never).
    pub fn sync_age(&self) -> Duration {
        let at = *self.synced_at.lock().unwrap_or_else(|p| p.into_inner());
        at.unwrap_or(self.started).elapsed()
    }

    fn mark_synced(&self, at: Instant) {
        *self.synced_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    fn publish_age(&self) {
        metrics::gauge!(telemetry::VALUE_LISTS_SYNC_AGE).set(self.sync_age().as_secs_f64());
    }

    /// One `XREAD BLOCK` from the last applied change, then applies what it returned.
    async fn wait_for_changes(&self) -> Result<(), StoreError> {
        let after = self.cursor.lock().await.id.clone();
        let asked = Instant::now();
        let mut conn = self.follow_client.conn().await?;
        let prefix = &self.prefixes[usize::from(conn.is_cluster())];
        let reply: Option<Vec<(String, Vec<RawEntry>)>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_BATCH)
            .arg("BLOCK")
            .arg(FOLLOW_BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(format!("{prefix}log"))
            .arg(&after)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let entries = reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .map(parse_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let mut cursor = self.cursor.lock().await;
        if !self.apply(&mut cursor, entries) {
            self.reload(&mut cursor, "gap").await?;
        }
        drop(cursor);
        self.mark_synced(asked);
        Ok(())
    }

    /// Reads the log after the last applied change and applies it, until `target` is applied (or
    /// to the end of the log when `None`).
    pub(super) async fn catch_up(&self, target: Option<u64>) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().await;
        if !cursor.loaded {
            return self.reload(&mut cursor, "start").await;
        }
        loop {
            if target.is_some_and(|t| cursor.seq >= t) {
                return Ok(());
            }
            let asked = Instant::now();
            let (mut conn, prefix) = self.conn().await?;
            let raw: Vec<RawEntry> = redis::cmd("XRANGE")
                .arg(format!("{prefix}log"))
                .arg(format!("({}", cursor.id))
                .arg("+")
                .arg("COUNT")
                .arg(READ_BATCH)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let done = raw.len() < READ_BATCH;
            let entries = raw
                .into_iter()
                .map(parse_entry)
                .collect::<Result<Vec<_>, _>>()?;
            if !self.apply(&mut cursor, entries) {
                return self.reload(&mut cursor, "gap").await;
            }
            if done {
                self.mark_synced(asked);
                if target.is_some_and(|t| cursor.seq < t) {
                    // The change is acknowledged but not in the log: it was trimmed, or Redis lost
                    // it. A snapshot has whatever is there.
                    return self.reload(&mut cursor, "gap").await;
                }
                return Ok(());
            }
        }
    }

    /// Applies log entries in order; false when they do not follow the last applied change (the
    /// caller reloads a snapshot).
    fn apply(&self, cursor: &mut Cursor, entries: Vec<Entry>) -> bool {
        if !cursor.loaded {
            return false;
        }
        for e in entries {
            if e.seq <= cursor.seq {
                if log_id_after(&e.id, &cursor.id) {
                    // A new entry with an old number: the log started over (Redis was flushed).
                    tracing::warn!(seq = e.seq, "value lists: the log started over; reloading");
                    return false;
                }
                // Already in the copy (read by both the follower and a catch-up).
                continue;
            }
            if e.seq != cursor.seq + 1 {
                tracing::warn!(
                    after = cursor.seq,
                    got = e.seq,
                    "value lists: changes are missing from the log; reloading"
                );
                return false;
            }
            if let Err(message) = self.copy.apply_replicated(e.op) {
                tracing::warn!(%message, seq = e.seq, "value lists: copy and log disagree; reloading");
                return false;
            }
            cursor.seq = e.seq;
            cursor.id = e.id;
        }
        true
    }

    /// Replaces the copy with a snapshot of Redis.
    pub(super) async fn reload(
        &self,
        cursor: &mut Cursor,
        reason: &'static str,
    ) -> Result<(), StoreError> {
        let asked = Instant::now();
        let (mut conn, prefix) = self.conn().await?;
        let (seq, id, lists, items): (String, String, Vec<String>, Vec<String>) = self
            .scripts
            .snapshot
            .key(format!("{prefix}log"))
            .key(format!("{prefix}seq"))
            .key(format!("{prefix}lists"))
            .key(format!("{prefix}items"))
            .arg(prefix)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let seq: u64 = seq.parse().map_err(|e| corrupt("sequence number", e))?;
        if cursor.loaded && seq < cursor.seq {
            tracing::error!(
                was = cursor.seq,
                now = seq,
                "value lists: Redis has fewer changes than this replica applied (restarted \
                 without persistence?); following it"
            );
        }
        let mut creations: Vec<(u64, Op)> = Vec::with_capacity(lists.len() + items.len());
        for record in &lists {
            let (seq, list, _) = parse_list(record)?;
            creations.push((seq, Op::CreateList(list)));
        }
        for record in &items {
            let (seq, item) = parse_item(record)?;
            creations.push((seq, Op::CreateItem(item)));
        }
        creations.sort_unstable_by_key(|(seq, _)| *seq);
        self.copy
            .replace_replicated(creations.into_iter().map(|(_, op)| op).collect())
            .map_err(|m| corrupt("snapshot", m))?;
        *cursor = Cursor {
            loaded: true,
            seq,
            id,
        };
        self.mark_synced(asked);
        metrics::counter!(telemetry::VALUE_LISTS_SNAPSHOTS, "reason" => reason).increment(1);
        tracing::info!(
            reason,
            lists = lists.len(),
            items = items.len(),
            seq,
            "value lists: loaded from Redis"
        );
        Ok(())
    }
}

/// Whether stream entry id `a` (`<ms>-<n>`) comes after `b`.
fn log_id_after(a: &str, b: &str) -> bool {
    let parse = |id: &str| {
        let (ms, n) = id.split_once('-')?;
        Some((ms.parse::<u64>().ok()?, n.parse::<u64>().ok()?))
    };
    matches!((parse(a), parse(b)), (Some(a), Some(b)) if a > b)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ids_compare_as_numbers() {
        assert!(log_id_after("1700000000001-0", "1700000000000-5"));
        assert!(log_id_after("10-1", "9-9"));
        assert!(log_id_after("5-10", "5-9"));
        assert!(!log_id_after("5-9", "5-9"));
        assert!(!log_id_after("0-0", "5-9"));
        assert!(!log_id_after("garbage", "0-0"));
    }
}
