//! Reviews in Redis, shared by every replica.
//!
//! Keys (`P` is `redis.key_prefix`; the part in braces is the Redis Cluster hash tag, so every
//! atomic step touches one key and the layout is ready for Redis Cluster):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `P` `review:{rev_…}` | hash | `doc` (the review as JSON, the same document the journal keeps), `v` (its version); no TTL while open, `reviews.retention_secs` once closed |
//! | `P` `reviews:{open}` | sorted set | open review ids, scored by creation time: the queue |
//! | `P` `reviews:{all}` | sorted set | every review id, scored by creation time (listing closed and all) |
//! | `P` `reviews:link:{card_fingerprint:…}` | sorted set | ids of reviews sharing a card, email or customer (pseudonymous link keys), scored by creation; TTL refreshed on each review |
//!
//! The review's hash is the truth; the sorted sets are indexes. Commands that touch several
//! slots (the indexes of one review, the documents of a page) go out together with
//! [`Conn::each`](crate::stores::redis::Conn::each): one pipeline on one Redis, one command each
//! on a cluster. Opening writes the hash (a Lua
//! script that refuses an existing id), then the indexes. A change reads the document, applies
//! [`super::types::apply`] and writes it back with a compare-and-set on `v` (a Lua script on the
//! one key), retrying on a conflict: of two concurrent closes, one wins and the other is refused,
//! whichever replica each came through. The close then leaves the open queue. An index entry whose
//! hash has expired is removed when a listing or [`RedisReviews::sweep`] finds it.

use std::time::Duration;

use redis::{AsyncCommands, Cmd, Script};

use super::{Change, Query, QueueStats, Review, ReviewStore, StateFilter, types};
use crate::{config::RedisConfig, stores::StoreError};

/// Longest wait for Redis per call: reviews are off the payment path, so this is an analyst's
/// patience, not a payment's budget.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Ids fetched per round trip while a listing scans for reviews that pass its filters.
const SCAN_BATCH: usize = 100;
/// Most index entries one listing looks at; past it, the page ends early with `has_more`.
const SCAN_LIMIT: usize = 10_000;
/// Compare-and-set attempts before a change gives up as contended.
const CAS_ATTEMPTS: usize = 8;
/// Link sets live this much longer than the retention of closed reviews, refreshed on each new
/// review (an open review's links are always younger).
const LINK_TTL_SLACK_SECS: u64 = 30 * 86_400;

/// Creates the review hash unless it exists. KEYS[1] review; ARGV[1] the document.
const OPEN_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'v', 1)
return 1
";

/// Writes the document if its version is still ARGV[1]. KEYS[1] review; ARGV[2] document;
/// ARGV[3] TTL in seconds, or 0 for none.
const CAS_SCRIPT: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'v', tonumber(v) + 1)
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
";

/// Reviews in Redis (see the module docs).
pub struct RedisReviews {
    conn: crate::stores::redis::RedisClient,
    prefix: String,
    open_script: Script,
    cas_script: Script,
    retention_secs: u64,
    max_open: usize,
}

impl std::fmt::Debug for RedisReviews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReviews")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("reviews are kept in Redis, which failed: {e}"))
}

fn corrupt(id: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("review {id} in Redis does not read: {e}"))
}

impl RedisReviews {
    /// A client for `redis.url` (connected lazily, reconnecting by itself).
    pub fn new(
        redis: &RedisConfig,
        retention_secs: u64,
        max_open: usize,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            conn: crate::stores::redis::RedisClient::new(redis, CALL_TIMEOUT)?,
            prefix: redis.key_prefix.clone(),
            open_script: Script::new(OPEN_SCRIPT),
            cas_script: Script::new(CAS_SCRIPT),
            retention_secs,
            max_open,
        })
    }

    fn review_key(&self, id: &str) -> String {
        format!("{}review:{{{id}}}", self.prefix)
    }

    fn open_key(&self) -> String {
        format!("{}reviews:{{open}}", self.prefix)
    }

    fn all_key(&self) -> String {
        format!("{}reviews:{{all}}", self.prefix)
    }

    fn link_key(&self, link: &str) -> String {
        format!("{}reviews:link:{{{link}}}", self.prefix)
    }

    /// The documents of `ids` (in order; `None` where the hash is gone).
    async fn docs(&self, ids: &[String]) -> Result<Vec<Option<Review>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cmds = ids
            .iter()
            .map(|id| Cmd::hget(self.review_key(id), "doc"))
            .collect();
        let conn = self.conn.conn().await?;
        let raw: Vec<Option<String>> = conn.each(cmds).await.map_err(err)?;
        ids.iter()
            .zip(raw)
            .map(|(id, doc)| {
                doc.map(|d| serde_json::from_str(&d).map_err(|e| corrupt(id, e)))
                    .transpose()
            })
            .collect()
    }

    /// Removes `ids` from the index `key` (their hashes expired).
    async fn prune(&self, key: &str, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.conn().await?;
        conn.zrem::<_, _, ()>(key, ids).await.map_err(err)
    }

    /// The next `n` entries of the index `key` after `after` (score, id) — ascending or
    /// descending, scores within `[lo, hi]` — with their scores.
    async fn batch(
        &self,
        key: &str,
        after: Option<&(i64, String)>,
        ascending: bool,
        (lo, hi): (i64, i64),
        n: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut conn = self.conn.conn().await?;
        let mut out = Vec::new();
        let (from_excl, mut lo, mut hi) = (after.map(|(s, _)| *s), lo, hi);
        if let Some((s, id)) = after {
            // Entries with the cursor's own score follow it by id, as the journal orders them.
            if (lo..=hi).contains(s) {
                let mut ties: Vec<(String, i64)> = conn
                    .zrangebyscore_withscores(key, *s, *s)
                    .await
                    .map_err(err)?;
                ties.retain(|(m, _)| if ascending { m > id } else { m < id });
                if !ascending {
                    ties.reverse();
                }
                out.extend(ties);
            }
            if ascending {
                lo = lo.max(*s);
            } else {
                hi = hi.min(*s);
            }
        }
        if out.len() >= n || lo > hi {
            out.truncate(n);
            return Ok(out);
        }
        let excl = |v: i64| match from_excl {
            Some(s) if s == v => format!("({v}"),
            _ => v.to_string(),
        };
        let limit = (n - out.len()) as isize;
        let rest: Vec<(String, i64)> = if ascending {
            conn.zrangebyscore_limit_withscores(key, excl(lo), hi, 0, limit)
                .await
                .map_err(err)?
        } else {
            conn.zrevrangebyscore_limit_withscores(key, excl(hi), lo, 0, limit)
                .await
                .map_err(err)?
        };
        out.extend(rest);
        Ok(out)
    }
}

#[tonic::async_trait]
impl ReviewStore for RedisReviews {
    async fn open(&self, review: Review, _now: i64) -> Result<(), StoreError> {
        let mut conn = self.conn.conn().await?;
        let open: usize = conn.zcard(self.open_key()).await.map_err(err)?;
        if open >= self.max_open {
            return Err(StoreError::Refused(format!(
                "{} reviews are open, the most reviews.max_open allows",
                self.max_open
            )));
        }
        let doc = serde_json::to_string(&review).expect("reviews serialize");
        let created: i64 = self
            .open_script
            .key(self.review_key(&review.id))
            .arg(doc)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        if created == 0 {
            return Err(StoreError::AlreadyExists {
                field: "id",
                message: format!("review {} exists", review.id),
            });
        }
        // The indexes live in different slots (`{open}`, `{all}`, one per link).
        let mut cmds = vec![
            Cmd::zadd(self.open_key(), &review.id, review.created),
            Cmd::zadd(self.all_key(), &review.id, review.created),
        ];
        for l in &review.links {
            let key = self.link_key(l);
            cmds.push(Cmd::zadd(&key, &review.id, review.created));
            cmds.push(Cmd::expire(
                &key,
                (self.retention_secs + LINK_TTL_SLACK_SECS) as i64,
            ));
        }
        conn.each::<redis::Value>(cmds).await.map_err(err)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Review, StoreError> {
        self.docs(&[id.to_owned()])
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| StoreError::NotFound {
                kind: "review",
                id: id.to_owned(),
            })
    }

    async fn change(
        &self,
        id: &str,
        change: &Change,
        actor: &str,
        now: i64,
    ) -> Result<Review, StoreError> {
        let key = self.review_key(id);
        let mut conn = self.conn.conn().await?;
        for _ in 0..CAS_ATTEMPTS {
            let (doc, version): (Option<String>, Option<String>) = redis::pipe()
                .hget(&key, "doc")
                .hget(&key, "v")
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            let (Some(doc), Some(version)) = (doc, version) else {
                return Err(StoreError::NotFound {
                    kind: "review",
                    id: id.to_owned(),
                });
            };
            let current: Review = serde_json::from_str(&doc).map_err(|e| corrupt(id, e))?;
            let changed = types::apply(current, change, actor, now)?;
            let ttl = if changed.open {
                0
            } else {
                self.retention_secs.max(1)
            };
            let written: i64 = self
                .cas_script
                .key(&key)
                .arg(&version)
                .arg(serde_json::to_string(&changed).expect("reviews serialize"))
                .arg(ttl)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            match written {
                1 => {
                    if !changed.open {
                        conn.zrem::<_, _, ()>(self.open_key(), id)
                            .await
                            .map_err(err)?;
                    }
                    return Ok(changed);
                }
                -1 => {
                    return Err(StoreError::NotFound {
                        kind: "review",
                        id: id.to_owned(),
                    });
                }
                _ => continue,
            }
        }
        Err(StoreError::Unavailable(format!(
            "review {id} changed under {CAS_ATTEMPTS} attempts in a row; try again"
        )))
    }

    async fn list(&self, query: &Query<'_>, now: i64) -> Result<(Vec<Review>, bool), StoreError> {
        let key = match query.state {
            StateFilter::Open => self.open_key(),
            StateFilter::Closed | StateFilter::All => self.all_key(),
        };
        let mut cursor = match query.starting_after {
            Some(id) => {
                let r = self.get(id).await.map_err(|_| StoreError::Invalid {
                    field: "starting_after",
                    message: format!("no such review: {id}"),
                })?;
                Some((r.created, r.id))
            }
            None => None,
        };
        let bounds = (
            query.max_age_secs.map_or(i64::MIN, |a| now - a as i64),
            query.min_age_secs.map_or(i64::MAX, |a| now - a as i64),
        );
        let size = query.page_size();
        let (mut page, mut scanned) = (Vec::new(), 0usize);
        loop {
            let batch = self
                .batch(
                    &key,
                    cursor.as_ref(),
                    query.oldest_first,
                    bounds,
                    SCAN_BATCH,
                )
                .await?;
            if batch.is_empty() {
                return Ok((page, false));
            }
            scanned += batch.len();
            let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            let docs = self.docs(&ids).await?;
            let gone: Vec<String> = ids
                .iter()
                .zip(&docs)
                .filter(|(_, d)| d.is_none())
                .map(|(id, _)| id.clone())
                .collect();
            self.prune(&key, &gone).await?;
            for doc in docs.into_iter().flatten() {
                if query.matches(&doc, now) {
                    if page.len() == size {
                        return Ok((page, true));
                    }
                    page.push(doc);
                }
            }
            cursor = batch.last().map(|(id, s)| (*s, id.clone()));
            if scanned >= SCAN_LIMIT {
                // Looked far enough: what is found is a page, and more may follow.
                return Ok((page, true));
            }
        }
    }

    async fn related(
        &self,
        links: &[String],
        exclude: &str,
        limit: usize,
    ) -> Result<Vec<Review>, StoreError> {
        let mut conn = self.conn.conn().await?;
        let mut ids = Vec::new();
        for l in links {
            let some: Vec<String> = conn
                .zrevrange(self.link_key(l), 0, limit as isize)
                .await
                .map_err(err)?;
            ids.extend(some.into_iter().filter(|id| id != exclude));
        }
        ids.sort();
        ids.dedup();
        let mut found: Vec<Review> = self.docs(&ids).await?.into_iter().flatten().collect();
        found.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn stats(&self, now: i64, sla_secs: u64) -> Result<QueueStats, StoreError> {
        let mut conn = self.conn.conn().await?;
        let due = now - sla_secs as i64;
        let (open, oldest, over): (u64, Vec<(String, i64)>, u64) = redis::pipe()
            .zcard(self.open_key())
            .zrange_withscores(self.open_key(), 0, 0)
            .zcount(self.open_key(), "-inf", format!("({due}"))
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(QueueStats {
            open,
            oldest_open_created: oldest.first().map(|(_, s)| *s),
            over_sla: over,
        })
    }

    /// Removes index entries of closed reviews whose hashes expired (up to [`SCAN_LIMIT`] of
    /// the oldest per call).
    async fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let cutoff = now - self.retention_secs as i64;
        let mut conn = self.conn.conn().await?;
        let old: Vec<String> = conn
            .zrangebyscore_limit(self.all_key(), "-inf", cutoff, 0, SCAN_LIMIT as isize)
            .await
            .map_err(err)?;
        let mut removed = 0;
        for chunk in old.chunks(SCAN_BATCH) {
            let cmds = chunk
                .iter()
                .map(|id| Cmd::exists(self.review_key(id)))
                .collect();
            let exists: Vec<bool> = conn.each(cmds).await.map_err(err)?;
            let gone: Vec<String> = chunk
                .iter()
                .zip(exists)
                .filter(|(_, e)| !e)
                .map(|(id, _)| id.clone())
                .collect();
            removed += gone.len();
            self.prune(&self.all_key(), &gone).await?;
        }
        Ok(removed)
    }
}
