//! Idempotent answers on disk (issue 18, durable by default): the in-process store writes every
//! new answer here before it is given, so that a retry after a restart — clean or `kill -9` —
//! replays it as the README promises for 24 hours.
//!
//! Records are appended to numbered segment files in their own directory of the data directory,
//! by one writer thread: each batch of answers waiting is written and `fdatasync`ed once (group
//! commit) before any of them is acknowledged. A segment is closed at [`Journal::segment_bytes`];
//! closed segments whose newest record is past retention are deleted, and the oldest go first
//! while the directory holds more than its byte budget (twice `idempotency.max_bytes`: memory
//! keeps at most `max_bytes` of answers, so older ones on disk could not be replayed anyway).
//!
//! A record: `u32` payload length, `u32` checksum (the first 4 bytes of the payload's SHA-256),
//! then the payload: `i64` Unix time stored, `u16` key length, the key, the 32-byte parameter
//! fingerprint, the encoded answer; integers little-endian. At start every segment is read; a torn
//! or corrupt record ends its segment (the last segment is cut back there).

use std::{
    fs::{File, OpenOptions},
    io::{BufReader, Read, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use prost::Message as _;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::Fingerprint;
use crate::{proto::v1::CreatePaymentEvaluationResponse, stores::StoreError, telemetry};

/// Answers waiting for the writer; beyond it, evaluations wait to hand theirs over.
const QUEUE: usize = 1024;
/// The longest an evaluation waits for its answer to be on disk. A disk slower than this (a
/// stalled volume) must not stall evaluations: the answer is given anyway and the record counted
/// in `riskgate_idempotency_journal_errors_total{reason="slow"}`.
pub const WRITE_WAIT: Duration = Duration::from_millis(250);
/// The largest record read back (a key of 255 characters and an answer with every attribute are a
/// few KiB); a longer length field is corruption.
const MAX_RECORD_BYTES: u32 = 1 << 20;
const HEADER_BYTES: usize = 8;

/// Why an answer is not (known to be) on disk.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// Not written within [`WRITE_WAIT`]; it may still be.
    #[error("not on disk within {WRITE_WAIT:?} (it may still be written)")]
    Slow,
    #[error("{0}")]
    Failed(String),
}

impl AppendError {
    /// The `reason` label of `riskgate_idempotency_journal_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            AppendError::Slow => "slow",
            AppendError::Failed(_) => "failed",
        }
    }
}

/// A record read back at start.
#[derive(Debug)]
pub struct Loaded {
    pub key: String,
    pub fingerprint: Fingerprint,
    pub response: CreatePaymentEvaluationResponse,
    pub stored_unix: i64,
}

struct Append {
    bytes: Vec<u8>,
    stored_unix: i64,
    done: oneshot::Sender<Result<(), String>>,
}

/// The writer's handle. Dropping every clone stops the writer thread once its queue is written.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Append>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").finish_non_exhaustive()
    }
}

/// One closed (or the open) segment.
#[derive(Debug, Clone)]
struct Segment {
    seq: u64,
    bytes: u64,
    newest_unix: i64,
}

impl Journal {
    /// The size at which a segment is closed, for a directory budget of `max_disk_bytes`.
    pub fn segment_bytes(max_disk_bytes: u64) -> u64 {
        (max_disk_bytes / 8).clamp(256 * 1024, 64 * 1024 * 1024)
    }

    /// Opens the journal in `dir` (created 0700 when missing), reads back the records still
    /// within `retention` at `now_unix`, and starts the writer thread. Blocking: call it from a
    /// blocking thread.
    pub fn open(
        dir: &Path,
        retention: Duration,
        max_disk_bytes: u64,
        now_unix: i64,
    ) -> Result<(Self, Vec<Loaded>), StoreError> {
        let io = |source: std::io::Error| StoreError::Io {
            path: dir.to_owned(),
            source,
        };
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let retention_secs = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
        let mut segments = Vec::new();
        let mut loaded = Vec::new();
        let mut seqs = list_segments(dir).map_err(io)?;
        seqs.sort_unstable();
        let last = seqs.last().copied();
        for seq in seqs {
            let path = segment_path(dir, seq);
            let (records, good_len, newest) = read_segment(&path).map_err(io)?;
            let len = std::fs::metadata(&path).map_err(io)?.len();
            if good_len < len {
                tracing::warn!(
                    path = %path.display(),
                    kept = good_len,
                    bytes = len,
                    "idempotency journal: a torn or corrupt record ends this segment"
                );
                if Some(seq) == last {
                    // The tail of the last segment was being written when the process stopped.
                    OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|f| f.set_len(good_len))
                        .map_err(io)?;
                }
            }
            loaded.extend(
                records
                    .into_iter()
                    .filter(|r| r.stored_unix.saturating_add(retention_secs) > now_unix),
            );
            segments.push(Segment {
                seq,
                bytes: good_len,
                newest_unix: newest,
            });
        }
        let next = segments.last().map_or(1, |s| s.seq + 1);
        let mut writer = Writer {
            dir: dir.to_owned(),
            current: open_segment(dir, next).map_err(io)?,
            current_meta: Segment {
                seq: next,
                bytes: 0,
                newest_unix: now_unix,
            },
            closed: segments,
            retention_secs,
            max_disk_bytes,
            segment_bytes: Self::segment_bytes(max_disk_bytes),
        };
        writer.prune(now_unix);
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("idempotency-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok((Self { tx }, loaded))
    }

    /// Writes one answer and waits (at most [`WRITE_WAIT`]) until it is on disk.
    pub async fn append(
        &self,
        key: &str,
        fingerprint: &Fingerprint,
        response: &CreatePaymentEvaluationResponse,
        stored_unix: i64,
    ) -> Result<(), AppendError> {
        let bytes = encode(key, fingerprint, response, stored_unix);
        let (done, written) = oneshot::channel();
        let stopped = |_| AppendError::Failed("the journal writer stopped".into());
        let wait = async {
            self.tx
                .send(Append {
                    bytes,
                    stored_unix,
                    done,
                })
                .await
                .map_err(stopped)?;
            written
                .await
                .map_err(|_| AppendError::Failed("the journal writer stopped".into()))?
                .map_err(AppendError::Failed)
        };
        tokio::time::timeout(WRITE_WAIT, wait)
            .await
            .unwrap_or(Err(AppendError::Slow))
    }
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:012}.log"))
}

fn list_segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            seqs.push(seq);
        }
    }
    Ok(seqs)
}

fn open_segment(dir: &Path, seq: u64) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(segment_path(dir, seq))
}

fn checksum(payload: &[u8]) -> u32 {
    let digest = Sha256::digest(payload);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn encode(
    key: &str,
    fingerprint: &Fingerprint,
    response: &CreatePaymentEvaluationResponse,
    stored_unix: i64,
) -> Vec<u8> {
    // Keys are at most 255 characters (validated before the store sees them).
    let key = &key.as_bytes()[..key.len().min(usize::from(u16::MAX))];
    let mut payload = Vec::with_capacity(8 + 2 + key.len() + 32 + response.encoded_len());
    payload.extend_from_slice(&stored_unix.to_le_bytes());
    payload.extend_from_slice(&(key.len() as u16).to_le_bytes());
    payload.extend_from_slice(key);
    payload.extend_from_slice(fingerprint);
    response
        .encode(&mut payload)
        .expect("a Vec grows to fit the message");
    let mut record = Vec::with_capacity(HEADER_BYTES + payload.len());
    record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    record.extend_from_slice(&checksum(&payload).to_le_bytes());
    record.extend_from_slice(&payload);
    record
}

fn decode(payload: &[u8]) -> Option<Loaded> {
    let stored_unix = i64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let key_len = usize::from(u16::from_le_bytes(payload.get(8..10)?.try_into().ok()?));
    let key = std::str::from_utf8(payload.get(10..10 + key_len)?).ok()?;
    let rest = payload.get(10 + key_len..)?;
    let fingerprint: Fingerprint = rest.get(..32)?.try_into().ok()?;
    let response = CreatePaymentEvaluationResponse::decode(&rest[32..]).ok()?;
    Some(Loaded {
        key: key.to_owned(),
        fingerprint,
        response,
        stored_unix,
    })
}

/// The good records of a segment, the length they take, and the newest record's time.
fn read_segment(path: &Path) -> std::io::Result<(Vec<Loaded>, u64, i64)> {
    let mut reader = BufReader::new(File::open(path)?);
    let (mut records, mut good, mut newest) = (Vec::new(), 0u64, i64::MIN);
    loop {
        let mut header = [0u8; HEADER_BYTES];
        match reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let sum = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if len > MAX_RECORD_BYTES {
            break;
        }
        let mut payload = vec![0u8; len as usize];
        match reader.read_exact(&mut payload) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        if checksum(&payload) != sum {
            break;
        }
        let Some(record) = decode(&payload) else {
            break;
        };
        newest = newest.max(record.stored_unix);
        records.push(record);
        good += (HEADER_BYTES + payload.len()) as u64;
    }
    Ok((records, good, newest))
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    current: File,
    current_meta: Segment,
    closed: Vec<Segment>,
    retention_secs: i64,
    max_disk_bytes: u64,
    segment_bytes: u64,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Append>) {
        let mut batch = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < QUEUE {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let result = self.write(&batch).map_err(|e| e.to_string());
            if let Err(e) = &result {
                tracing::warn!(error = %e, records = batch.len(), "idempotency journal: write failed");
            }
            for append in batch.drain(..) {
                let _ = append.done.send(result.clone());
            }
        }
        let _ = self.current.sync_data();
    }

    /// Writes a batch and makes it durable: one write, one fdatasync.
    fn write(&mut self, batch: &[Append]) -> std::io::Result<()> {
        let total: usize = batch.iter().map(|a| a.bytes.len()).sum();
        let mut buf = Vec::with_capacity(total);
        let mut newest = self.current_meta.newest_unix;
        for append in batch {
            buf.extend_from_slice(&append.bytes);
            newest = newest.max(append.stored_unix);
        }
        let before = self.current_meta.bytes;
        if let Err(e) = self
            .current
            .write_all(&buf)
            .and_then(|()| self.current.sync_data())
        {
            // Cut a partial write back, so the next record starts on a boundary.
            let _ = self.current.set_len(before);
            return Err(e);
        }
        self.current_meta.bytes += total as u64;
        self.current_meta.newest_unix = newest;
        if self.current_meta.bytes >= self.segment_bytes {
            self.rotate(newest)?;
        }
        Ok(())
    }

    /// Closes the current segment, opens the next, and deletes what is past retention or over
    /// the budget.
    fn rotate(&mut self, now_unix: i64) -> std::io::Result<()> {
        let next = self.current_meta.seq + 1;
        self.current = open_segment(&self.dir, next)?;
        let closed = std::mem::replace(
            &mut self.current_meta,
            Segment {
                seq: next,
                bytes: 0,
                newest_unix: now_unix,
            },
        );
        self.closed.push(closed);
        // The new segment's directory entry must survive a crash too.
        File::open(&self.dir)?.sync_all()?;
        self.prune(now_unix);
        Ok(())
    }

    fn prune(&mut self, now_unix: i64) {
        let retention = self.retention_secs;
        let mut total: u64 =
            self.closed.iter().map(|s| s.bytes).sum::<u64>() + self.current_meta.bytes;
        let mut keep = Vec::with_capacity(self.closed.len());
        for (i, segment) in self.closed.iter().enumerate() {
            let expired = segment.newest_unix.saturating_add(retention) <= now_unix;
            // The oldest go first while over the budget (this one and every older one are gone).
            let over = total > self.max_disk_bytes && keep.is_empty();
            if expired || over {
                if over && !expired {
                    metrics::counter!(telemetry::IDEMPOTENCY_EVICTIONS).increment(1);
                    tracing::info!(
                        segment = segment.seq,
                        "idempotency journal over its byte budget: the oldest segment goes"
                    );
                }
                let path = segment_path(&self.dir, segment.seq);
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(path = %path.display(), error = %e, "cannot delete an idempotency segment");
                    keep.push(self.closed[i].clone());
                    continue;
                }
                total = total.saturating_sub(segment.bytes);
            } else {
                keep.push(self.closed[i].clone());
            }
        }
        self.closed = keep;
    }
}

#[cfg(test)]
mod tests {
    use super::super::answer_with_id as answer;
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-idem-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[tokio::test]
    async fn answers_survive_a_reopen_until_retention_ends() {
        let dir = scratch("reopen");
        let (journal, loaded) = Journal::open(&dir, DAY, 1 << 20, 1_000).unwrap();
        assert!(loaded.is_empty());
        journal
            .append("k1", &[1; 32], &answer("peval_1"), 1_000)
            .await
            .unwrap();
        journal
            .append("k2", &[2; 32], &answer("peval_2"), 50_000)
            .await
            .unwrap();
        drop(journal);
        let (_, loaded) = Journal::open(&dir, DAY, 1 << 20, 80_000).unwrap();
        let keys: Vec<_> = loaded.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["k1", "k2"]);
        assert_eq!(loaded[1].fingerprint, [2; 32]);
        assert_eq!(loaded[1].response, answer("peval_2"));
        // A day after the first: only the second is still replayable.
        let (_, loaded) = Journal::open(&dir, DAY, 1 << 20, 1_000 + 86_400).unwrap();
        let keys: Vec<_> = loaded.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["k2"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_and_writing_goes_on() {
        let dir = scratch("torn");
        let (journal, _) = Journal::open(&dir, DAY, 1 << 20, 1_000).unwrap();
        journal
            .append("whole", &[1; 32], &answer("peval_1"), 1_000)
            .await
            .unwrap();
        drop(journal);
        let seg = segment_path(&dir, 1);
        let good = std::fs::metadata(&seg).unwrap().len();
        // Half a record, as a crash mid-write (or a lost page) leaves it.
        let torn = encode("torn", &[2; 32], &answer("peval_2"), 1_001);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&torn[..torn.len() / 2]).unwrap();
        drop(f);
        let (journal, loaded) = Journal::open(&dir, DAY, 1 << 20, 1_002).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), good);
        journal
            .append("after", &[3; 32], &answer("peval_3"), 1_003)
            .await
            .unwrap();
        drop(journal);
        let (_, loaded) = Journal::open(&dir, DAY, 1 << 20, 1_004).unwrap();
        let keys: Vec<_> = loaded.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["whole", "after"]);
        // "whole" is in segment 1, "after" in segment 2 (each open starts a new segment). A
        // flipped byte fails the checksum: that record and the rest of its segment are dropped.
        let seg2 = segment_path(&dir, 2);
        let mut bytes = std::fs::read(&seg2).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xff;
        std::fs::write(&seg2, &bytes).unwrap();
        let (_, loaded) = Journal::open(&dir, DAY, 1 << 20, 1_005).unwrap();
        let keys: Vec<_> = loaded.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["whole"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn the_directory_stays_within_its_budget() {
        let dir = scratch("budget");
        let budget = 1 << 20;
        let (journal, _) = Journal::open(&dir, DAY, budget, 1_000).unwrap();
        let big = CreatePaymentEvaluationResponse {
            evaluation: Some(crate::proto::v1::PaymentEvaluation {
                id: "peval_big".into(),
                metadata: [("note".to_owned(), "x".repeat(4000))].into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        for i in 0..1000 {
            journal
                .append(&format!("key-{i}"), &[1; 32], &big, 1_000)
                .await
                .unwrap();
        }
        drop(journal);
        let used: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(
            used <= budget + Journal::segment_bytes(budget),
            "{used} bytes on disk"
        );
        let (_, loaded) = Journal::open(&dir, DAY, budget, 1_001).unwrap();
        // The newest are the ones kept.
        assert_eq!(loaded.last().unwrap().key, "key-999");
        assert!(loaded.len() < 1000);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
