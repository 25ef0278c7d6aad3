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
//! On Redis Cluster the prefix is `<p>{lists}:` instead: the hash tag keeps every list key in one
//! slot, so each script (which declares every key it touches in `KEYS`) runs on one primary.
//!
//! Files: `scripts` (the Lua scripts), `records` (what is read back from Redis), `follow` (the
//! copy following the change log), `store` (the [`ValueListStore`](super::backend::ValueListStore)
//! calls).

mod follow;
pub mod records;
mod scripts;
mod store;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::config::RedisConfig;
use crate::stores::{
    StoreError,
    lists::store::ListStore,
    redis::{Conn, RedisClient},
};
use riskgate_core::lists::{ListCell, ListLookup};
use scripts::Scripts;

/// Longest wait for one Redis call (a mutation, a read of the log, a snapshot). Longer than
/// `redis.budget_ms`: list changes are rare and a snapshot can be large.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one `XREAD BLOCK` waits for changes. Also how often, at most, the sync age is
/// confirmed while nothing changes.
pub const FOLLOW_BLOCK: Duration = Duration::from_secs(1);
/// The change log is trimmed to about this many entries: a replica further behind reloads a
/// snapshot instead.
pub const LOG_MAX_LEN: u64 = 100_000;

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

/// Value lists in Redis, with a local copy that follows them.
pub struct RedisLists {
    /// Mutations, snapshots and catch-up reads.
    client: RedisClient,
    /// `XREAD BLOCK` only: a blocked read holds its connection.
    follow_client: RedisClient,
    /// `<redis.key_prefix>lists:` (standalone), `<redis.key_prefix>{lists}:` (cluster).
    prefixes: [String; 2],
    copy: ListStore,
    /// Held while changes are applied to the copy, so they apply once and in order.
    cursor: tokio::sync::Mutex<Cursor>,
    /// When the copy was last known to match Redis.
    synced_at: Mutex<Option<Instant>>,
    started: Instant,
    scripts: Scripts,
}

impl RedisLists {
    /// A store on `redis.url`. Nothing is read until [`Self::load`].
    pub fn new(redis: &RedisConfig) -> Result<Self, StoreError> {
        let client = RedisClient::new(redis, CALL_TIMEOUT)?;
        let follow_client = RedisClient::new(redis, FOLLOW_BLOCK + CALL_TIMEOUT)?;
        Ok(Self {
            client,
            follow_client,
            prefixes: [
                format!("{}lists:", redis.key_prefix),
                format!("{}{{lists}}:", redis.key_prefix),
            ],
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
}

impl RedisLists {
    /// A connection for mutations and reads, and the key prefix for its kind of Redis.
    async fn conn(&self) -> Result<(Conn, &str), StoreError> {
        let conn = self.client.conn().await?;
        let prefix = &self.prefixes[usize::from(conn.is_cluster())];
        Ok((conn, prefix))
    }

    /// The keys a script touches (its `KEYS`): the sequence, the log, the lists, aliases and items,
    /// and the values of list `values` if given.
    fn keys(prefix: &str, values: Option<&str>) -> Vec<String> {
        let mut keys: Vec<String> = ["seq", "log", "lists", "aliases", "items"]
            .iter()
            .map(|k| format!("{prefix}{k}"))
            .collect();
        if let Some(list) = values {
            keys.push(format!("{prefix}values:{list}"));
        }
        keys
    }
}

impl ListLookup for RedisLists {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        self.copy.lookup(alias)
    }
}
