//! Reviews in process: an index in memory and, with a path, an append-only journal of whole
//! review documents (NDJSON, one line per change, the last line of an id wins), `fsync`ed before a
//! change is applied and acknowledged, so an acknowledged verdict survives `kill -9`. Opening
//! replays the journal; a torn last line (a crash mid-write, never acknowledged) is cut off. The
//! file is created 0600: it holds emails and IP addresses for the admin's eyes.
//!
//! Every write — open, note, close — runs on the blocking pool under one mutex that covers the
//! append, the `fsync` and the index update, so two concurrent closes are serialized (the second
//! is refused) and a compaction (a snapshot of the index written aside, fsynced and renamed over
//! the journal) never misses a change. Compaction runs from [`JournalReviews::sweep`] when the
//! journal holds 4× more lines than live reviews (and at least [`COMPACT_MIN_LINES`]).

use std::{
    collections::{BTreeSet, HashMap},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

use super::{Change, Query, QueueStats, Review, ReviewStore, StateFilter, types};
use crate::stores::StoreError;

/// Journals smaller than this are never worth rewriting.
pub const COMPACT_MIN_LINES: u64 = 1024;

/// Reviews kept in process (see the module docs).
#[derive(Clone)]
pub struct JournalReviews {
    inner: Arc<Inner>,
}

struct Inner {
    index: RwLock<Index>,
    /// The journal, when there is a path; the mutex also serializes every write.
    journal: Mutex<Option<Journal>>,
    retention_secs: i64,
    max_open: usize,
}

impl std::fmt::Debug for JournalReviews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalReviews")
            .field("max_open", &self.inner.max_open)
            .finish_non_exhaustive()
    }
}

impl JournalReviews {
    /// Reviews in memory only (lost on restart).
    pub fn in_memory(retention_secs: u64, max_open: usize) -> Self {
        Self::build(None, Index::default(), retention_secs, max_open)
    }

    /// Reviews kept in the journal at `path` (created when missing), replayed; closed reviews past
    /// their retention at `now` are dropped. Blocking (reads and may rewrite the file).
    pub fn open(
        path: &Path,
        retention_secs: u64,
        max_open: usize,
        now: i64,
    ) -> Result<Self, StoreError> {
        let (mut journal, reviews) = Journal::open(path)?;
        let mut index = Index::default();
        for r in reviews {
            index.put(r);
        }
        for id in index.expired(now, retention_secs as i64) {
            index.remove(&id);
        }
        if journal.lines > COMPACT_MIN_LINES && journal.lines > 4 * index.reviews.len() as u64 {
            journal.compact(&index)?;
        }
        tracing::info!(
            path = %path.display(),
            reviews = index.reviews.len(),
            open = index.open.len(),
            "reviews journal replayed"
        );
        Ok(Self::build(Some(journal), index, retention_secs, max_open))
    }

    fn build(journal: Option<Journal>, index: Index, retention_secs: u64, max_open: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                index: RwLock::new(index),
                journal: Mutex::new(journal),
                retention_secs: retention_secs as i64,
                max_open,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.inner.index.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the blocking pool with the write mutex held.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner, &mut Option<Journal>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut journal = inner.journal.lock().unwrap_or_else(|e| e.into_inner());
            f(&inner, &mut journal)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("the review write task failed: {e}")))?
    }
}

impl Inner {
    /// Appends `review` to the journal (when there is one) and then indexes it.
    fn commit(&self, journal: &mut Option<Journal>, review: Review) -> Result<(), StoreError> {
        if let Some(j) = journal {
            j.append(&review)?;
        }
        self.index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .put(review);
        Ok(())
    }
}

#[tonic::async_trait]
impl ReviewStore for JournalReviews {
    async fn open(&self, review: Review, _now: i64) -> Result<(), StoreError> {
        self.write(move |inner, journal| {
            {
                let index = inner.index.read().unwrap_or_else(|e| e.into_inner());
                if index.open.len() >= inner.max_open {
                    return Err(StoreError::Refused(format!(
                        "{} reviews are open, the most reviews.max_open allows",
                        inner.max_open
                    )));
                }
                if index.reviews.contains_key(&review.id) {
                    return Err(StoreError::AlreadyExists {
                        field: "id",
                        message: format!("review {} exists", review.id),
                    });
                }
            }
            inner.commit(journal, review)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Review, StoreError> {
        self.read()
            .reviews
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    async fn change(
        &self,
        id: &str,
        change: &Change,
        actor: &str,
        now: i64,
    ) -> Result<Review, StoreError> {
        let (id, change, actor) = (id.to_owned(), change.clone(), actor.to_owned());
        self.write(move |inner, journal| {
            let current = inner
                .index
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .reviews
                .get(&id)
                .cloned()
                .ok_or_else(|| not_found(&id))?;
            let changed = types::apply(current, &change, &actor, now)?;
            inner.commit(journal, changed.clone())?;
            Ok(changed)
        })
        .await
    }

    async fn list(&self, query: &Query<'_>, now: i64) -> Result<(Vec<Review>, bool), StoreError> {
        let index = self.read();
        let set = match query.state {
            StateFilter::Open => &index.open,
            StateFilter::Closed | StateFilter::All => &index.by_created,
        };
        let cursor = match query.starting_after {
            Some(id) => {
                let r = index.reviews.get(id).ok_or_else(|| StoreError::Invalid {
                    field: "starting_after",
                    message: format!("no such review: {id}"),
                })?;
                Some((r.created, r.id.clone()))
            }
            None => None,
        };
        let size = query.page_size();
        let keys: Box<dyn Iterator<Item = &(i64, String)>> = match (query.oldest_first, &cursor) {
            (true, None) => Box::new(set.iter()),
            (true, Some(c)) => Box::new(set.range((
                std::ops::Bound::Excluded(c.clone()),
                std::ops::Bound::Unbounded,
            ))),
            (false, None) => Box::new(set.iter().rev()),
            (false, Some(c)) => Box::new(set.range(..c.clone()).rev()),
        };
        let mut page = keys
            .filter_map(|(_, id)| index.reviews.get(id))
            .filter(|r| query.matches(r, now))
            .take(size + 1)
            .cloned()
            .collect::<Vec<_>>();
        let more = page.len() > size;
        page.truncate(size);
        Ok((page, more))
    }

    async fn related(
        &self,
        links: &[String],
        exclude: &str,
        limit: usize,
    ) -> Result<Vec<Review>, StoreError> {
        let index = self.read();
        let mut keys: BTreeSet<&(i64, String)> = BTreeSet::new();
        for l in links {
            if let Some(set) = index.links.get(l) {
                keys.extend(set.iter().filter(|(_, id)| id != exclude));
            }
        }
        Ok(keys
            .into_iter()
            .rev()
            .take(limit)
            .filter_map(|(_, id)| index.reviews.get(id).cloned())
            .collect())
    }

    async fn stats(&self, now: i64, sla_secs: u64) -> Result<QueueStats, StoreError> {
        let index = self.read();
        let due = now - sla_secs as i64;
        Ok(QueueStats {
            open: index.open.len() as u64,
            oldest_open_created: index.open.first().map(|(c, _)| *c),
            over_sla: index
                .open
                .iter()
                .take_while(|(created, _)| *created < due)
                .count() as u64,
        })
    }

    async fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        self.write(move |inner, journal| {
            let mut index = inner.index.write().unwrap_or_else(|e| e.into_inner());
            let expired = index.expired(now, inner.retention_secs);
            for id in &expired {
                index.remove(id);
            }
            if let Some(j) = journal
                && j.lines > COMPACT_MIN_LINES
                && j.lines > 4 * index.reviews.len() as u64
            {
                j.compact(&index)?;
            }
            Ok(expired.len())
        })
        .await
    }
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        kind: "review",
        id: id.to_owned(),
    }
}

// === impl Index ===

/// The reviews and their orderings: by creation (all, and open only), by close time (for
/// expiry), and by link.
#[derive(Default)]
struct Index {
    reviews: HashMap<String, Review>,
    by_created: BTreeSet<(i64, String)>,
    open: BTreeSet<(i64, String)>,
    closed_at: BTreeSet<(i64, String)>,
    links: HashMap<String, BTreeSet<(i64, String)>>,
}

impl Index {
    fn put(&mut self, review: Review) {
        if let Some(old) = self.reviews.remove(&review.id) {
            self.unindex(&old);
        }
        let key = (review.created, review.id.clone());
        self.by_created.insert(key.clone());
        if review.open {
            self.open.insert(key.clone());
        } else if let Some(at) = review.closed_at {
            self.closed_at.insert((at, review.id.clone()));
        }
        for l in &review.links {
            self.links.entry(l.clone()).or_default().insert(key.clone());
        }
        self.reviews.insert(review.id.clone(), review);
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.reviews.remove(id) {
            self.unindex(&old);
        }
    }

    fn unindex(&mut self, r: &Review) {
        let key = (r.created, r.id.clone());
        self.by_created.remove(&key);
        self.open.remove(&key);
        if let Some(at) = r.closed_at {
            self.closed_at.remove(&(at, r.id.clone()));
        }
        for l in &r.links {
            if let Some(set) = self.links.get_mut(l) {
                set.remove(&key);
                if set.is_empty() {
                    self.links.remove(l);
                }
            }
        }
    }

    /// Closed reviews whose retention ended by `now`.
    fn expired(&self, now: i64, retention_secs: i64) -> Vec<String> {
        let cutoff = now - retention_secs;
        self.closed_at
            .iter()
            .take_while(|(at, _)| *at <= cutoff)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

// === impl Journal ===

/// The journal file, open for appends.
struct Journal {
    path: PathBuf,
    file: File,
    lines: u64,
    /// Bytes of whole, acknowledged lines: what the file is cut back to when an append fails.
    len: u64,
}

impl Journal {
    /// Opens (creates, 0600) the journal and reads every review in it (the last line of an id
    /// wins). A torn last line is cut off; any other line that does not read is corruption.
    fn open(path: &Path) -> Result<(Self, Vec<Review>), StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut latest: HashMap<String, Review> = HashMap::new();
        let (mut lines, mut good_len) = (0u64, 0u64);
        if let Ok(file) = File::open(path) {
            let mut reader = BufReader::new(file);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                if !buf.ends_with(b"\n") {
                    // Torn: written, never acknowledged.
                    break;
                }
                let review: Review =
                    serde_json::from_slice(&buf).map_err(|e| StoreError::Corrupt {
                        path: path.to_owned(),
                        line: lines as usize + 1,
                        message: e.to_string(),
                    })?;
                latest.insert(review.id.clone(), review);
                lines += 1;
                good_len += n as u64;
            }
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        if !existed {
            sync_dir(path).map_err(io)?;
        }
        if file.metadata().map_err(io)?.len() > good_len {
            tracing::warn!(path = %path.display(), "reviews journal: dropping a torn last line");
            file.set_len(good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let journal = Self {
            path: path.to_owned(),
            file,
            lines,
            len: good_len,
        };
        Ok((journal, latest.into_values().collect()))
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one review document and waits until it is on disk; on failure nothing of it stays.
    fn append(&mut self, review: &Review) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(review).expect("reviews serialize");
        line.push(b'\n');
        if let Err(e) = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
        {
            if let Err(cut) = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data())
            {
                tracing::error!(path = %self.path.display(), error = %cut, "reviews journal: cannot cut back a failed append");
            }
            return Err(self.io(e));
        }
        self.lines += 1;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Rewrites the journal as a snapshot of `index`: written aside, fsynced, renamed over it.
    fn compact(&mut self, index: &Index) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("compact.tmp");
        let mut buf = Vec::new();
        for r in index.reviews.values() {
            serde_json::to_writer(&mut buf, r).expect("reviews serialize");
            buf.push(b'\n');
        }
        let write = || -> std::io::Result<File> {
            let mut f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            sync_dir(&self.path)?;
            OpenOptions::new().append(true).open(&self.path)
        };
        match write() {
            Ok(file) => {
                self.file = file;
                self.lines = index.reviews.len() as u64;
                self.len = buf.len() as u64;
                tracing::info!(path = %self.path.display(), reviews = self.lines, "reviews journal compacted");
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(self.io(e))
            }
        }
    }
}

/// Makes a new or renamed directory entry durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::reviews::{ClosedReason, types::fixtures::review};

    fn close(reason: ClosedReason) -> Change {
        Change::Close {
            reason,
            fraud_type: None,
            note: None,
        }
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "riskgate-reviews-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn pages_filter_and_order_like_stripe() {
        let s = JournalReviews::in_memory(3600, 100);
        for i in 0..25 {
            s.open(review(&format!("rev_{i:02}"), 1000 + i, 100 * i), 0)
                .await
                .unwrap();
        }
        let q = Query {
            limit: 10,
            ..Query::default()
        };
        let (page, more) = s.list(&q, 2000).await.unwrap();
        assert!(more);
        assert_eq!(page[0].id, "rev_24", "newest first");
        let q2 = Query {
            starting_after: Some("rev_15"),
            limit: 10,
            ..Query::default()
        };
        let (page2, more2) = s.list(&q2, 2000).await.unwrap();
        assert_eq!(page2[0].id, "rev_14");
        assert_eq!(page2.len(), 10);
        assert!(more2);
        let oldest = Query {
            oldest_first: true,
            amount_gte: Some(1000),
            limit: 3,
            ..Query::default()
        };
        let (page, _) = s.list(&oldest, 2000).await.unwrap();
        let ids: Vec<_> = page.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["rev_10", "rev_11", "rev_12"]);
        let bad = Query {
            starting_after: Some("rev_nope"),
            ..Query::default()
        };
        assert!(matches!(
            s.list(&bad, 2000).await,
            Err(StoreError::Invalid {
                field: "starting_after",
                ..
            })
        ));
        let stats = s.stats(2000, 990).await.unwrap();
        assert_eq!(stats.open, 25);
        assert_eq!(stats.oldest_open_created, Some(1000));
        assert_eq!(stats.over_sla, 10, "created before 1010");
    }

    #[tokio::test]
    async fn concurrent_closes_one_wins() {
        let s = JournalReviews::in_memory(3600, 100);
        s.open(review("rev_a", 10, 1), 0).await.unwrap();
        let (approve, reject) = (
            close(ClosedReason::Approved),
            close(ClosedReason::RefundedAsFraud),
        );
        let (a, b) = tokio::join!(
            s.change("rev_a", &approve, "alice", 20),
            s.change("rev_a", &reject, "bob", 20),
        );
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        let r = s.get("rev_a").await.unwrap();
        assert_eq!(r.history.len(), 2);
        assert!(!r.open);
        let stats = s.stats(30, 0).await.unwrap();
        assert_eq!(stats.open, 0);
    }

    #[tokio::test]
    async fn max_open_refuses_and_related_reviews_share_links() {
        let s = JournalReviews::in_memory(3600, 2);
        s.open(review("rev_1", 1, 1), 0).await.unwrap();
        s.open(review("rev_2", 2, 1), 0).await.unwrap();
        assert!(matches!(
            s.open(review("rev_3", 3, 1), 0).await,
            Err(StoreError::Refused(_))
        ));
        s.change("rev_1", &close(ClosedReason::Approved), "a", 5)
            .await
            .unwrap();
        s.open(review("rev_3", 3, 1), 0).await.unwrap();
        let related = s
            .related(&review("x", 0, 0).links, "rev_3", 10)
            .await
            .unwrap();
        let ids: Vec<_> = related.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["rev_2", "rev_1"]);
    }

    #[tokio::test]
    async fn the_journal_survives_a_restart_and_forgets_expired_reviews() {
        let d = dir("restart");
        let path = d.join("reviews.journal");
        {
            let s = JournalReviews::open(&path, 100, 10, 0).unwrap();
            s.open(review("rev_keep", 1, 1), 1).await.unwrap();
            s.open(review("rev_old", 2, 1), 2).await.unwrap();
            s.change("rev_old", &close(ClosedReason::RefundedAsFraud), "a", 10)
                .await
                .unwrap();
            s.change("rev_keep", &Change::Note("looks fine".into()), "a", 11)
                .await
                .unwrap();
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // A torn last line (a crash mid-write) is cut off.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"id\":\"rev_torn\"").unwrap();
        drop(f);
        let s = JournalReviews::open(&path, 100, 10, 50).unwrap();
        let kept = s.get("rev_keep").await.unwrap();
        assert_eq!(
            kept.history.last().unwrap().note.as_deref(),
            Some("looks fine")
        );
        assert_eq!(
            s.get("rev_old").await.unwrap().closed_reason,
            Some(ClosedReason::RefundedAsFraud)
        );
        // 100 s after it closed, the old review is gone.
        let s = JournalReviews::open(&path, 100, 10, 111).unwrap();
        assert!(matches!(
            s.get("rev_old").await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(s.get("rev_keep").await.is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn sweep_expires_and_compacts() {
        let d = dir("sweep");
        let path = d.join("reviews.journal");
        let s = JournalReviews::open(&path, 10, 5000, 0).unwrap();
        for i in 0..600 {
            let id = format!("rev_{i}");
            s.open(review(&id, i, 1), i).await.unwrap();
            s.change(&id, &close(ClosedReason::Approved), "a", i)
                .await
                .unwrap();
        }
        s.open(review("rev_live", 700, 1), 700).await.unwrap();
        assert_eq!(s.sweep(700).await.unwrap(), 600);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 1, "compacted to the one live review");
        s.change(
            "rev_live",
            &Change::Note("after compaction".into()),
            "a",
            701,
        )
        .await
        .unwrap();
        drop(s);
        let s = JournalReviews::open(&path, 10, 5000, 702).unwrap();
        assert_eq!(s.get("rev_live").await.unwrap().history.len(), 2);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
