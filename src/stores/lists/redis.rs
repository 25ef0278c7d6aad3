//! Value lists shared by every replica through Redis (Redis mode: `redis.url` is set).
//!
//! Redis is the source of truth; each replica keeps a copy (a replica [`ListStore`], no journal)
//! that rules read through lock-free [`ListCell`]s and that API reads are answered from.
//!
//! **Writes.** Each mutation is one Lua script, so Redis runs it alone: it checks what must hold
//! (the alias is free, the value is not on the list yet, the list exists, the new id is unused),
//! changes the hashes below and appends the change to the change log, or changes nothing. The
//! replica that made the change then reads the log up to it, so its own reads see the change at
//! once. Ids are random (`rsl_`/`rsli_` + 24 base62 characters) and the script refuses an id that
//! is already taken (the replica draws another), so they are unique across replicas. While Redis
//! does not answer, mutations fail with UNAVAILABLE and change nothing.
//!
//! **Following.** A background task ([`RedisLists::follow`]) waits on the log with `XREAD BLOCK`
//! on a connection of its own and applies each change in order. A change carries its sequence
//! number; one that does not follow the last applied one (the log was trimmed past this replica,
//! or Redis lost data) makes the replica reload a snapshot, as does every reconnection. A snapshot
//! is read atomically (one script) and swapped in list by list, so a rule never sees a list empty
//! while it reloads. While Redis is away, evaluations keep using the last lists known, and
//! `riskgate_value_lists_sync_age_seconds` says how old they are.
//!
//! **Default lists** are created by whichever replica finds them missing, with a script that does
//! nothing when the alias exists, so they are created once.
//!
//! **Durability** is Redis's: an acknowledged change is in Redis's memory. To survive a Redis
//! restart, run Redis with `appendonly yes` (`appendfsync everysec` loses at most about a second of
//! acknowledged changes if the Redis host crashes; `always` loses none). Without persistence a
//! restarted Redis is empty, and replicas follow it: they empty their lists and re-create the
//! default lists.
//!
//! Layout (`<p>` = `redis.key_prefix`):
//! - `<p>lists:seq` — the sequence number of the last change;
//! - `<p>lists:log` — the change log, a stream of `seq` and `op` (the journal's JSON line), trimmed
//!   to about [`LOG_MAX_LEN`] entries;
//! - `<p>lists:lists` — list id → `<creation seq> <list JSON>`;
//! - `<p>lists:aliases` — alias → list id;
//! - `<p>lists:items` — item id → `<creation seq> <item JSON>`;
//! - `<p>lists:values:<list id>` — canonical value → item id (duplicates are refused with it).
//!
//! Like the enrichment scripts, these address keys not declared in `KEYS`: a standalone Redis (or
//! one primary), not Redis Cluster.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{Script, aio::ConnectionManager};
use tokio::sync::watch;

use crate::stores::{
    StoreError,
    lists::{
        backend::ValueListStore,
        checks::{
            SYSTEM_ACTOR, alias_taken, canonical_value, check_alias, check_metadata, check_name,
            duplicate_value, merge_metadata, not_found, refuse_default,
        },
        page::Page,
        store::ListStore,
        types::{Op, ValueList, ValueListItem, new_id},
    },
};
use crate::{config::RedisConfig, telemetry};
use riskgate_core::lists::{DEFAULT_LISTS, ItemType, ListCell, ListLookup};

/// Longest wait for one Redis call (a mutation, a read of the log, a snapshot). Longer than
/// `redis.budget_ms`: list changes are rare and a snapshot can be large.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one `XREAD BLOCK` waits for changes. Also how often, at most, the sync age is
/// confirmed while nothing changes.
pub const FOLLOW_BLOCK: Duration = Duration::from_secs(1);
/// The change log is trimmed to about this many entries: a replica further behind reloads a
/// snapshot instead.
pub const LOG_MAX_LEN: u64 = 100_000;
/// Changes read per call when catching up.
const READ_BATCH: usize = 1000;
/// Retry delays while Redis is away (doubling).
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Attempts at a fresh random id when the script finds one taken.
const ID_ATTEMPTS: usize = 3;

/// Appends change `op` to the log; every mutation script starts with it. ARGV[1] = key prefix,
/// ARGV[2] = log length.
const LOG_FN: &str = r#"
local p = ARGV[1]
local function log(op)
  local seq = redis.call('INCR', p .. 'seq')
  redis.call('XADD', p .. 'log', 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, 'op', op)
  return seq
end
"#;

/// ARGV[3..]: id, alias, list JSON, op JSON, '1' = do nothing if the alias exists.
const CREATE_LIST: &str = r#"
if redis.call('HEXISTS', p .. 'aliases', ARGV[4]) == 1 then
  if ARGV[7] == '1' then return {'exists', 0} end
  return {'alias_taken', 0}
end
if redis.call('HEXISTS', p .. 'lists', ARGV[3]) == 1 then return {'id_taken', 0} end
local seq = log(ARGV[6])
redis.call('HSET', p .. 'lists', ARGV[3], seq .. ' ' .. ARGV[5])
redis.call('HSET', p .. 'aliases', ARGV[4], ARGV[3])
return {'ok', seq}
"#;

/// ARGV[3..]: id, the list JSON the change was computed from, new list JSON, op JSON. Refused
/// (`conflict`) when the list changed meanwhile; the caller recomputes.
const UPDATE_LIST: &str = r#"
local cur = redis.call('HGET', p .. 'lists', ARGV[3])
if not cur then return {'not_found', 0} end
local sp = string.find(cur, ' ', 1, true)
if string.sub(cur, sp + 1) ~= ARGV[4] then return {'conflict', 0} end
local seq = log(ARGV[6])
redis.call('HSET', p .. 'lists', ARGV[3], string.sub(cur, 1, sp) .. ARGV[5])
return {'ok', seq}
"#;

/// ARGV[3..]: id, alias, op JSON.
const DELETE_LIST: &str = r#"
if redis.call('HEXISTS', p .. 'lists', ARGV[3]) == 0 then return {'not_found', 0} end
local vkey = p .. 'values:' .. ARGV[3]
local ids = redis.call('HVALS', vkey)
for i = 1, #ids, 1000 do
  redis.call('HDEL', p .. 'items', unpack(ids, i, math.min(i + 999, #ids)))
end
redis.call('DEL', vkey)
redis.call('HDEL', p .. 'lists', ARGV[3])
if redis.call('HGET', p .. 'aliases', ARGV[4]) == ARGV[3] then
  redis.call('HDEL', p .. 'aliases', ARGV[4])
end
local seq = log(ARGV[5])
return {'ok', seq}
"#;

/// ARGV[3..]: item id, list id, canonical value, item JSON, op JSON.
const CREATE_ITEM: &str = r#"
if redis.call('HEXISTS', p .. 'lists', ARGV[4]) == 0 then return {'not_found', 0} end
local vkey = p .. 'values:' .. ARGV[4]
if redis.call('HEXISTS', vkey, ARGV[5]) == 1 then return {'duplicate', 0} end
if redis.call('HEXISTS', p .. 'items', ARGV[3]) == 1 then return {'id_taken', 0} end
local seq = log(ARGV[7])
redis.call('HSET', p .. 'items', ARGV[3], seq .. ' ' .. ARGV[6])
redis.call('HSET', vkey, ARGV[5], ARGV[3])
return {'ok', seq}
"#;

/// ARGV[3..]: item id, list id, canonical value, op JSON.
const DELETE_ITEM: &str = r#"
if redis.call('HEXISTS', p .. 'items', ARGV[3]) == 0 then return {'not_found', 0} end
redis.call('HDEL', p .. 'items', ARGV[3])
redis.call('HDEL', p .. 'values:' .. ARGV[4], ARGV[5])
local seq = log(ARGV[6])
return {'ok', seq}
"#;

/// ARGV[1] = key prefix. Returns {last seq, last log id, list records, item records}, read at
/// one instant.
const SNAPSHOT: &str = r#"
local p = ARGV[1]
local last = redis.call('XREVRANGE', p .. 'log', '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {redis.call('GET', p .. 'seq') or '0', id,
  redis.call('HVALS', p .. 'lists'), redis.call('HVALS', p .. 'items')}
"#;

/// ARGV[1] = key prefix, ARGV[2] = a list id or alias. Returns the list record, or nil.
const FETCH_LIST: &str = r#"
local p = ARGV[1]
local v = redis.call('HGET', p .. 'lists', ARGV[2])
if v then return v end
local id = redis.call('HGET', p .. 'aliases', ARGV[2])
if id then return redis.call('HGET', p .. 'lists', id) end
return false
"#;

struct Scripts {
    create_list: Script,
    update_list: Script,
    delete_list: Script,
    create_item: Script,
    delete_item: Script,
    snapshot: Script,
    fetch_list: Script,
}

impl Scripts {
    fn new() -> Self {
        let mutation = |body: &str| Script::new(&format!("{LOG_FN}{body}"));
        Self {
            create_list: mutation(CREATE_LIST),
            update_list: mutation(UPDATE_LIST),
            delete_list: mutation(DELETE_LIST),
            create_item: mutation(CREATE_ITEM),
            delete_item: mutation(DELETE_ITEM),
            snapshot: Script::new(SNAPSHOT),
            fetch_list: Script::new(FETCH_LIST),
        }
    }
}

/// How far the local copy has followed the log.
#[derive(Debug, Default)]
struct Cursor {
    /// Whether a snapshot was loaded (nothing is applied before one).
    loaded: bool,
    /// The last change applied.
    seq: u64,
    /// Its log entry id (`0-0` = before the first).
    id: String,
}

/// One change read from the log.
#[derive(Debug)]
struct Entry {
    id: String,
    seq: u64,
    op: Op,
}

/// Value lists in Redis, with a local copy that follows them.
pub struct RedisLists {
    /// Mutations, snapshots and catch-up reads.
    conn: ConnectionManager,
    /// `XREAD BLOCK` only: a blocked read holds its connection.
    follow_conn: ConnectionManager,
    /// `<redis.key_prefix>lists:`
    prefix: String,
    copy: ListStore,
    /// Held while changes are applied to the copy, so they apply once and in order.
    cursor: tokio::sync::Mutex<Cursor>,
    /// When the copy was last known to match Redis.
    synced_at: Mutex<Option<Instant>>,
    started: Instant,
    scripts: Scripts,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!(
        "value lists are kept in Redis, which did not answer ({e}); the change was not acknowledged, retry later"
    ))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("value lists in Redis: unreadable {what}: {e}"))
}

/// Splits a stored record `<seq> <json>`.
fn split_record(record: &str) -> Option<(u64, &str)> {
    let (seq, json) = record.split_once(' ')?;
    Some((seq.parse().ok()?, json))
}

fn parse_list(record: &str) -> Result<(u64, ValueList, &str), StoreError> {
    let (seq, json) = split_record(record).ok_or_else(|| corrupt("list record", record.len()))?;
    let list = serde_json::from_str(json).map_err(|e| corrupt("list record", e))?;
    Ok((seq, list, json))
}

fn parse_item(record: &str) -> Result<(u64, ValueListItem), StoreError> {
    let (seq, json) = split_record(record).ok_or_else(|| corrupt("item record", record.len()))?;
    let item = serde_json::from_str(json).map_err(|e| corrupt("item record", e))?;
    Ok((seq, item))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists serialize")
}

/// A log entry as `XRANGE`/`XREAD` return it: id, then field/value pairs.
type RawEntry = (String, Vec<String>);

fn parse_entry((id, fields): RawEntry) -> Result<Entry, StoreError> {
    let field = |name: &str| {
        fields
            .chunks(2)
            .find(|kv| kv.len() == 2 && kv[0] == name)
            .map(|kv| kv[1].as_str())
            .ok_or_else(|| corrupt("log entry", format!("{id} has no `{name}`")))
    };
    let seq = field("seq")?
        .parse()
        .map_err(|e| corrupt("log entry", format!("{id}: {e}")))?;
    let op = serde_json::from_str(field("op")?)
        .map_err(|e| corrupt("log entry", format!("{id}: {e}")))?;
    Ok(Entry { id, seq, op })
}

impl RedisLists {
    /// A store on `redis.url`. Nothing is read until [`Self::load`].
    pub fn new(redis: &RedisConfig) -> Result<Self, String> {
        let conn = crate::stores::redis::connection_manager(redis, CALL_TIMEOUT)?;
        let follow_conn =
            crate::stores::redis::connection_manager(redis, FOLLOW_BLOCK + CALL_TIMEOUT)?;
        Ok(Self {
            conn,
            follow_conn,
            prefix: format!("{}lists:", redis.key_prefix),
            copy: ListStore::replica(),
            cursor: tokio::sync::Mutex::new(Cursor {
                id: "0-0".into(),
                ..Cursor::default()
            }),
            synced_at: Mutex::new(None),
            started: Instant::now(),
            scripts: Scripts::new(),
        })
    }

    /// Loads the lists from Redis and creates any missing default list. At start-up; when it
    /// fails, [`Self::follow`] keeps trying.
    pub async fn load(&self, now: i64) -> Result<(), StoreError> {
        {
            let mut cursor = self.cursor.lock().await;
            self.reload(&mut cursor, "start").await?;
        }
        self.ensure_default_lists(now).await
    }

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
        let mut conn = self.follow_conn.clone();
        let reply: Option<Vec<(String, Vec<RawEntry>)>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_BATCH)
            .arg("BLOCK")
            .arg(FOLLOW_BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(format!("{}log", self.prefix))
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
    async fn catch_up(&self, target: Option<u64>) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().await;
        if !cursor.loaded {
            return self.reload(&mut cursor, "start").await;
        }
        loop {
            if target.is_some_and(|t| cursor.seq >= t) {
                return Ok(());
            }
            let asked = Instant::now();
            let mut conn = self.conn.clone();
            let raw: Vec<RawEntry> = redis::cmd("XRANGE")
                .arg(format!("{}log", self.prefix))
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
    async fn reload(&self, cursor: &mut Cursor, reason: &'static str) -> Result<(), StoreError> {
        let asked = Instant::now();
        let mut conn = self.conn.clone();
        let (seq, id, lists, items): (String, String, Vec<String>, Vec<String>) = self
            .scripts
            .snapshot
            .arg(&self.prefix)
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

    /// Creates each default list Redis does not have (once across replicas).
    async fn ensure_default_lists(&self, now: i64) -> Result<(), StoreError> {
        for (alias, name, item_type) in DEFAULT_LISTS {
            if self.copy.has_alias(alias) {
                continue;
            }
            match self
                .insert_list(
                    alias,
                    name,
                    *item_type,
                    BTreeMap::new(),
                    now,
                    SYSTEM_ACTOR,
                    true,
                )
                .await
            {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.catch_up(None).await
    }

    /// Runs a mutation script; returns its status and the change's sequence number.
    async fn mutate(&self, script: &Script, args: &[&str]) -> Result<(String, u64), StoreError> {
        let mut inv = script.prepare_invoke();
        inv.arg(&self.prefix).arg(LOG_MAX_LEN);
        for a in args {
            inv.arg(*a);
        }
        let mut conn = self.conn.clone();
        inv.invoke_async(&mut conn).await.map_err(unavailable)
    }

    /// After an acknowledged change: brings the copy up to it, so this replica's reads see it.
    /// The change is made whatever happens here; the follower catches up later if this fails.
    async fn settle(&self, seq: u64) {
        if let Err(e) = self.catch_up(Some(seq)).await {
            tracing::warn!(error = %e, "value lists: change made, but not read back yet");
        }
    }

    /// Brings the copy up to date before a read; when Redis does not answer, the read is
    /// answered from the copy.
    async fn refresh(&self) {
        if let Err(e) = self.catch_up(None).await {
            tracing::debug!(error = %e, "value lists: answering from the local copy");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_list(
        &self,
        alias: &str,
        name: &str,
        item_type: ItemType,
        metadata: BTreeMap<String, String>,
        now: i64,
        created_by: &str,
        if_absent: bool,
    ) -> Result<ValueList, StoreError> {
        let mut list = ValueList {
            id: String::new(),
            alias: alias.to_owned(),
            name: name.to_owned(),
            item_type,
            created: now,
            created_by: created_by.to_owned(),
            metadata,
        };
        for _ in 0..ID_ATTEMPTS {
            list.id = new_id("rsl_");
            let op = to_json(&Op::CreateList(list.clone()));
            let (status, seq) = self
                .mutate(
                    &self.scripts.create_list,
                    &[
                        &list.id,
                        alias,
                        &to_json(&list),
                        &op,
                        if if_absent { "1" } else { "0" },
                    ],
                )
                .await?;
            match status.as_str() {
                "ok" => {
                    self.settle(seq).await;
                    return Ok(list);
                }
                "exists" | "alias_taken" => return Err(alias_taken(alias)),
                "id_taken" => continue,
                other => return Err(unexpected(other)),
            }
        }
        Err(ids_exhausted())
    }

    /// A list record from Redis, by id or alias.
    async fn fetch_list(&self, id_or_alias: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn.clone();
        self.scripts
            .fetch_list
            .arg(&self.prefix)
            .arg(id_or_alias)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
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

fn unexpected(status: &str) -> StoreError {
    StoreError::Refused(format!("internal: unexpected answer `{status}` from Redis"))
}

fn ids_exhausted() -> StoreError {
    StoreError::Refused("internal: no free id after several attempts".into())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl ListLookup for RedisLists {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        self.copy.lookup(alias)
    }
}

#[tonic::async_trait]
impl ValueListStore for RedisLists {
    async fn create_list(
        &self,
        alias: &str,
        name: &str,
        item_type: ItemType,
        metadata: BTreeMap<String, String>,
        now: i64,
        created_by: &str,
    ) -> Result<ValueList, StoreError> {
        check_alias(alias)?;
        check_name(name)?;
        check_metadata(&metadata)?;
        self.insert_list(alias, name, item_type, metadata, now, created_by, false)
            .await
    }

    async fn retrieve_list(&self, id: &str) -> Result<ValueList, StoreError> {
        self.refresh().await;
        self.copy.retrieve_list(id)
    }

    async fn update_list(
        &self,
        id: &str,
        name: Option<&str>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ValueList, StoreError> {
        if let Some(n) = name {
            check_name(n)?;
        }
        // Computed from what Redis holds, and applied only if it still holds that.
        for _ in 0..ID_ATTEMPTS {
            let mut conn = self.conn.clone();
            let record: Option<String> = redis::cmd("HGET")
                .arg(format!("{}lists", self.prefix))
                .arg(id)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let record = record.ok_or_else(|| not_found("value_list", id))?;
            let (_, current, current_json) = parse_list(&record)?;
            let merged = merge_metadata(&current.metadata, metadata)?;
            let updated = ValueList {
                name: name.unwrap_or(&current.name).to_owned(),
                metadata: merged,
                ..current
            };
            let op = to_json(&Op::UpdateList {
                id: id.to_owned(),
                name: updated.name.clone(),
                metadata: updated.metadata.clone(),
            });
            let (status, seq) = self
                .mutate(
                    &self.scripts.update_list,
                    &[id, current_json, &to_json(&updated), &op],
                )
                .await?;
            match status.as_str() {
                "ok" => {
                    self.settle(seq).await;
                    return Ok(updated);
                }
                "not_found" => return Err(not_found("value_list", id)),
                "conflict" => continue,
                other => return Err(unexpected(other)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "value list {id} kept changing while it was updated; retry"
        )))
    }

    async fn delete_list(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let record: Option<String> = redis::cmd("HGET")
            .arg(format!("{}lists", self.prefix))
            .arg(id)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let record = record.ok_or_else(|| not_found("value_list", id))?;
        let (_, list, _) = parse_list(&record)?;
        refuse_default(&list)?;
        let op = to_json(&Op::DeleteList { id: id.to_owned() });
        let (status, seq) = self
            .mutate(&self.scripts.delete_list, &[id, &list.alias, &op])
            .await?;
        match status.as_str() {
            "ok" => {
                self.settle(seq).await;
                Ok(())
            }
            "not_found" => Err(not_found("value_list", id)),
            other => Err(unexpected(other)),
        }
    }

    async fn list_lists(
        &self,
        page: Page<'_>,
        alias: Option<&str>,
    ) -> Result<(Vec<ValueList>, bool), StoreError> {
        self.refresh().await;
        self.copy.list_lists(page, alias)
    }

    async fn create_item(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError> {
        let record = self
            .fetch_list(value_list)
            .await?
            .ok_or_else(|| not_found("value_list", value_list))?;
        let (_, list, _) = parse_list(&record)?;
        let canonical = canonical_value(&list, value)?;
        let mut item = ValueListItem {
            id: String::new(),
            value: canonical,
            value_list: list.id.clone(),
            created: now,
            created_by: created_by.to_owned(),
        };
        for _ in 0..ID_ATTEMPTS {
            item.id = new_id("rsli_");
            let op = to_json(&Op::CreateItem(item.clone()));
            let (status, seq) = self
                .mutate(
                    &self.scripts.create_item,
                    &[&item.id, &list.id, &item.value, &to_json(&item), &op],
                )
                .await?;
            match status.as_str() {
                "ok" => {
                    self.settle(seq).await;
                    return Ok(item);
                }
                "duplicate" => return Err(duplicate_value(&list, &item.value)),
                "not_found" => return Err(not_found("value_list", value_list)),
                "id_taken" => continue,
                other => return Err(unexpected(other)),
            }
        }
        Err(ids_exhausted())
    }

    async fn retrieve_item(&self, id: &str) -> Result<ValueListItem, StoreError> {
        self.refresh().await;
        self.copy.retrieve_item(id)
    }

    async fn delete_item(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let record: Option<String> = redis::cmd("HGET")
            .arg(format!("{}items", self.prefix))
            .arg(id)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let record = record.ok_or_else(|| not_found("value_list_item", id))?;
        let (_, item) = parse_item(&record)?;
        let op = to_json(&Op::DeleteItem { id: id.to_owned() });
        let (status, seq) = self
            .mutate(
                &self.scripts.delete_item,
                &[id, &item.value_list, &item.value, &op],
            )
            .await?;
        match status.as_str() {
            "ok" => {
                self.settle(seq).await;
                Ok(())
            }
            "not_found" => Err(not_found("value_list_item", id)),
            other => Err(unexpected(other)),
        }
    }

    async fn list_items(
        &self,
        value_list: &str,
        page: Page<'_>,
        value: Option<&str>,
    ) -> Result<(Vec<ValueListItem>, bool), StoreError> {
        self.refresh().await;
        self.copy.list_items(value_list, page, value)
    }
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

    #[test]
    fn records_and_log_entries_parse() {
        assert_eq!(split_record("12 {\"a\":1}"), Some((12, "{\"a\":1}")));
        assert_eq!(split_record("x {}"), None);
        let op = to_json(&Op::DeleteItem {
            id: "rsli_1".into(),
        });
        let entry = parse_entry((
            "5-0".into(),
            vec!["seq".into(), "7".into(), "op".into(), op],
        ))
        .unwrap();
        assert_eq!((entry.id.as_str(), entry.seq), ("5-0", 7));
        assert!(matches!(entry.op, Op::DeleteItem { id } if id == "rsli_1"));
        let e = parse_entry(("6-0".into(), vec!["seq".into(), "8".into()])).unwrap_err();
        assert!(e.to_string().contains("6-0 has no `op`"), "{e}");
    }
}
