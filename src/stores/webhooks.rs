//! The webhook ledger: which Stripe deliveries were accepted, which are still to be applied, and
//! which early fraud warnings and disputes already taught outcome memory their label.
//!
//! - **Deliveries** are deduplicated by event id: an accepted event is never applied twice, and
//!   an accepted event whose label is not yet applied survives a restart (it is applied then).
//! - **Objects** (`issfr_…`, `du_…`, with the label) are claimed once their label is applied, so
//!   a warning's `created` and `updated`, or a dispute's `created` and `closed`, count once. The
//!   claim follows the label: a crash between the two applies the label again at worst, never
//!   loses it.
//!
//! Durability: with a journal (`webhooks.journal_path`) every change is one NDJSON line appended
//! and `fsync`ed (on a blocking thread) before it is acknowledged; opening replays it, cutting a
//! torn last line. With Redis, claims are `SET NX` keys (`<p>wh:e:{evt_…}`, `<p>wh:o:{issfr_…}`,
//! TTL [`REDIS_TTL_SECS`]) shared by every replica, so a redelivery to another replica is a
//! duplicate too; the journal then keeps this replica's pending events. Without either, the ledger
//! lives in memory (a restart forgets it).
//!
//! Memory and the journal are bounded: the most recent `webhooks.dedupe_capacity` event ids and
//! object ids are kept (pending events always), and the journal is compacted to them.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};

use super::{
    StoreError,
    ndjson::{self, Replayed},
};

/// How long Redis remembers a claim (Stripe retries a delivery for up to 3 days).
pub const REDIS_TTL_SECS: u64 = 30 * 86_400;
/// Small journals are never compacted.
const COMPACT_MIN_LINES: usize = 1024;

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Line {
    /// An event accepted; `job` is what the worker needs (opaque here).
    Accepted {
        event: String,
        job: serde_json::Value,
    },
    /// Applied (or given up): no longer pending.
    Done { event: String },
    /// Accepted, then refused before Stripe heard 2xx: Stripe will deliver it again.
    Forgotten { event: String },
    /// A warning's or dispute's label was applied.
    Claimed { object: String },
    /// Its application failed after the claim.
    Released { object: String },
    /// A done event, as compaction writes it.
    Seen { event: String },
}

/// Ids remembered, most recent last, at most `capacity`.
#[derive(Debug, Default)]
struct Recent {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Recent {
    /// Remembers `id`; beyond `capacity`, forgets the oldest ids that are not in `keep`.
    fn insert(&mut self, id: &str, capacity: usize, keep: &HashMap<String, serde_json::Value>) {
        if self.ids.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
        }
        while self.order.len() > capacity.max(1) {
            let Some(at) = self.order.iter().position(|i| !keep.contains_key(i)) else {
                break;
            };
            if let Some(old) = self.order.remove(at) {
                self.ids.remove(&old);
            }
        }
    }

    fn remove(&mut self, id: &str) {
        if self.ids.remove(id) {
            self.order.retain(|i| i != id);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    events: Recent,
    objects: Recent,
    /// Accepted, not yet applied: event id → job.
    pending: HashMap<String, serde_json::Value>,
}

impl State {
    fn apply(&mut self, line: Line, capacity: usize) {
        match line {
            Line::Accepted { event, job } => {
                self.pending.insert(event.clone(), job);
                self.events.insert(&event, capacity, &self.pending);
            }
            Line::Seen { event } => self.events.insert(&event, capacity, &self.pending),
            Line::Done { event } => {
                self.pending.remove(&event);
            }
            Line::Forgotten { event } => {
                self.pending.remove(&event);
                self.events.remove(&event);
            }
            Line::Claimed { object } => self.objects.insert(&object, capacity, &HashMap::new()),
            Line::Released { object } => self.objects.remove(&object),
        }
    }
}

/// The journal file.
struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl Journal {
    fn append(&mut self, line: &Line) -> Result<(), StoreError> {
        let mut text = serde_json::to_string(line).expect("lines serialize");
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| ndjson::error(&self.path, e))?;
        self.lines += 1;
        Ok(())
    }

    fn compact(&mut self, state: &State) -> Result<(), StoreError> {
        let fail = |e: std::io::Error| ndjson::error(&self.path, e);
        let tmp = self.path.with_extension("journal.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp).map_err(fail)?);
        let mut lines = 0;
        let mut write = |line: Line| -> Result<(), std::io::Error> {
            let mut text = serde_json::to_string(&line).expect("lines serialize");
            text.push('\n');
            lines += 1;
            out.write_all(text.as_bytes())
        };
        for event in &state.events.order {
            match state.pending.get(event) {
                Some(job) => write(Line::Accepted {
                    event: event.clone(),
                    job: job.clone(),
                }),
                None => write(Line::Seen {
                    event: event.clone(),
                }),
            }
            .map_err(fail)?;
        }
        for object in &state.objects.order {
            write(Line::Claimed {
                object: object.clone(),
            })
            .map_err(fail)?;
        }
        let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)?;
        ndjson::sync_dir(&self.path).map_err(fail)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        self.lines = lines;
        Ok(())
    }
}

struct Inner {
    state: State,
    journal: Option<Journal>,
    capacity: usize,
}

impl Inner {
    fn record(&mut self, line: Line) -> Result<(), StoreError> {
        if let Some(j) = &mut self.journal {
            j.append(&line)?;
        }
        self.state.apply(line, self.capacity);
        let live = self.state.events.order.len() + self.state.objects.order.len();
        if let Some(j) = &mut self.journal
            && j.lines > COMPACT_MIN_LINES.max(4 * live)
            && let Err(e) = j.compact(&self.state)
        {
            tracing::error!(error = %e, "webhook journal compaction failed");
        }
        Ok(())
    }
}

/// Shared claims on Redis.
#[derive(Clone)]
struct Shared {
    conn: std::sync::Arc<crate::stores::redis::RedisClient>,
    prefix: String,
}

impl Shared {
    /// `SET key 1 NX EX ttl`: true when this call set it.
    async fn claim(&self, key: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn.conn().await?;
        let set: redis::Value = redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(REDIS_TTL_SECS)
            .query_async(&mut conn)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(!matches!(set, redis::Value::Nil))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn.conn().await?;
        redis::cmd("EXISTS")
            .arg(format!("{}{key}", self.prefix))
            .query_async::<i64>(&mut conn)
            .await
            .map(|n| n > 0)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.conn().await?;
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct WebhookLedger {
    inner: Arc<Mutex<Inner>>,
    shared: Option<Shared>,
}

impl std::fmt::Debug for WebhookLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookLedger")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl WebhookLedger {
    /// A ledger in memory only, remembering `capacity` event and object ids.
    pub fn in_memory(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                state: State::default(),
                journal: None,
                capacity,
            })),
            shared: None,
        }
    }

    /// A ledger kept in the journal at `path` (created when missing, replayed when not).
    /// Blocking: call it from a blocking thread.
    pub fn open(path: &Path, capacity: usize) -> Result<Self, StoreError> {
        let mut state = State::default();
        let Replayed { file, lines, .. } =
            ndjson::replay(path, "webhook journal", |line: Line| {
                state.apply(line, capacity);
                Ok::<_, std::convert::Infallible>(())
            })?;
        let lines = lines as usize;
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                state,
                journal: Some(Journal {
                    path: path.to_owned(),
                    file,
                    lines,
                }),
                capacity,
            })),
            shared: None,
        })
    }

    /// Claims are also taken on Redis (`<key_prefix>wh:…`), shared by every replica.
    pub fn with_redis(
        mut self,
        conn: std::sync::Arc<crate::stores::redis::RedisClient>,
        key_prefix: &str,
    ) -> Self {
        self.shared = Some(Shared {
            conn,
            prefix: format!("{key_prefix}wh:"),
        });
        self
    }

    /// Runs `f` on the ledger on a blocking thread (it may fsync).
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("webhook ledger task: {e}")))
    }

    /// Accepts delivery `event` with its `job`: false when it was accepted before (here, or by
    /// another replica). Once true, the job is kept until [`WebhookLedger::done`] (or
    /// [`WebhookLedger::forget`]).
    pub async fn accept(&self, event: &str, job: serde_json::Value) -> Result<bool, StoreError> {
        let id = event.to_owned();
        let seen = self.with(move |i| i.state.events.ids.contains(&id)).await?;
        if seen {
            return Ok(false);
        }
        let key = format!("e:{{{event}}}");
        if let Some(shared) = &self.shared
            && !shared.claim(&key).await?
        {
            return Ok(false);
        }
        let line = Line::Accepted {
            event: event.to_owned(),
            job,
        };
        let id = event.to_owned();
        let recorded = self
            .with(move |i| {
                // Two concurrent deliveries of one event: the second is a duplicate.
                if i.state.events.ids.contains(&id) {
                    return Ok(false);
                }
                i.record(line).map(|()| true)
            })
            .await
            .and_then(|r| r);
        if recorded.is_err()
            && let Some(shared) = &self.shared
        {
            let _ = shared.release(&key).await;
        }
        recorded
    }

    /// Undoes [`WebhookLedger::accept`] before Stripe heard 2xx (it will deliver again).
    pub async fn forget(&self, event: &str) -> Result<(), StoreError> {
        if let Some(shared) = &self.shared {
            shared.release(&format!("e:{{{event}}}")).await?;
        }
        let line = Line::Forgotten {
            event: event.to_owned(),
        };
        self.with(move |i| i.record(line)).await?
    }

    /// The accepted event's label was applied, or given up: no longer pending.
    pub async fn done(&self, event: &str) -> Result<(), StoreError> {
        let line = Line::Done {
            event: event.to_owned(),
        };
        self.with(move |i| i.record(line)).await?
    }

    /// Whether `object` was claimed (here, or by another replica).
    pub async fn claimed(&self, object: &str) -> Result<bool, StoreError> {
        let id = object.to_owned();
        if self
            .with(move |i| i.state.objects.ids.contains(&id))
            .await?
        {
            return Ok(true);
        }
        match &self.shared {
            Some(shared) => shared.exists(&format!("o:{{{object}}}")).await,
            None => Ok(false),
        }
    }

    /// Claims `object` (an early fraud warning's or a dispute's label, once applied): false when
    /// it was claimed before.
    pub async fn claim(&self, object: &str) -> Result<bool, StoreError> {
        let id = object.to_owned();
        if self
            .with(move |i| i.state.objects.ids.contains(&id))
            .await?
        {
            return Ok(false);
        }
        let key = format!("o:{{{object}}}");
        if let Some(shared) = &self.shared
            && !shared.claim(&key).await?
        {
            return Ok(false);
        }
        let line = Line::Claimed {
            object: object.to_owned(),
        };
        let result = self.with(move |i| i.record(line)).await?;
        if result.is_err()
            && let Some(shared) = &self.shared
        {
            let _ = shared.release(&key).await;
        }
        result.map(|()| true)
    }

    /// Undoes [`WebhookLedger::claim`] when the label could not be applied.
    pub async fn release(&self, object: &str) -> Result<(), StoreError> {
        if let Some(shared) = &self.shared {
            shared.release(&format!("o:{{{object}}}")).await?;
        }
        let line = Line::Released {
            object: object.to_owned(),
        };
        self.with(move |i| i.record(line)).await?
    }

    /// Accepted events not applied yet (after a restart: what to apply now).
    pub fn pending(&self) -> Vec<serde_json::Value> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .state
            .events
            .order
            .iter()
            .filter_map(|e| inner.state.pending.get(e).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u32) -> serde_json::Value {
        serde_json::json!({"n": n})
    }

    #[tokio::test]
    async fn deliveries_are_accepted_once_and_pending_ones_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("riskgate-ledger-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("webhooks.journal");
        let l = WebhookLedger::open(&path, 100).unwrap();
        assert!(l.accept("evt_1", job(1)).await.unwrap());
        assert!(!l.accept("evt_1", job(1)).await.unwrap(), "a redelivery");
        assert!(l.accept("evt_2", job(2)).await.unwrap());
        assert!(l.accept("evt_3", job(3)).await.unwrap());
        l.done("evt_1").await.unwrap();
        l.forget("evt_3").await.unwrap();
        assert!(!l.claimed("issfr_1").await.unwrap());
        assert!(l.claim("issfr_1").await.unwrap());
        assert!(l.claimed("issfr_1").await.unwrap());
        assert!(!l.claim("issfr_1").await.unwrap(), "created, then updated");
        assert!(l.claim("du_1").await.unwrap());
        l.release("du_1").await.unwrap();
        drop(l);
        // A torn line from a crash is cut.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"t\":\"acc").unwrap();
        drop(f);

        let l = WebhookLedger::open(&path, 100).unwrap();
        assert_eq!(l.pending(), [job(2)], "accepted, not applied");
        assert!(
            !l.accept("evt_1", job(1)).await.unwrap(),
            "done before the restart"
        );
        assert!(!l.accept("evt_2", job(2)).await.unwrap());
        assert!(
            l.accept("evt_3", job(3)).await.unwrap(),
            "forgotten: delivered again"
        );
        assert!(
            l.claimed("issfr_1").await.unwrap(),
            "claims survive a reopen"
        );
        assert!(!l.claim("issfr_1").await.unwrap());
        assert!(l.claim("du_1").await.unwrap(), "released: claimable again");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn memory_and_the_journal_stay_bounded() {
        let dir = std::env::temp_dir().join(format!("riskgate-ledger-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("webhooks.journal");
        let l = WebhookLedger::open(&path, 10).unwrap();
        assert!(l.accept("evt_pending", job(0)).await.unwrap());
        for i in 0..2000 {
            let e = format!("evt_{i}");
            assert!(l.accept(&e, job(i)).await.unwrap());
            l.done(&e).await.unwrap();
        }
        {
            let inner = l.inner.lock().unwrap();
            assert!(inner.state.events.order.len() <= 11);
            assert!(inner.journal.as_ref().unwrap().lines < 2 * COMPACT_MIN_LINES);
        }
        drop(l);
        let l = WebhookLedger::open(&path, 10).unwrap();
        assert_eq!(l.pending(), [job(0)], "pending events are never forgotten");
        assert!(
            !l.accept("evt_1999", job(0)).await.unwrap(),
            "recent ones are kept"
        );
        assert!(
            l.accept("evt_0", job(0)).await.unwrap(),
            "the oldest were forgotten"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
