//! The outcome journal (`<state.data_dir>/outcomes.journal`): outcome memory that survives a
//! restart. Every label is one NDJSON line appended and `fsync`ed **before** it is applied to the
//! in-process map and acknowledged, so an acknowledged outcome report survives `kill -9`.
//!
//! One writer thread owns the file, so no runtime thread ever waits on the disk: labels arrive on
//! a bounded channel, and every label waiting when the thread wakes is written with one `fsync`
//! (group commit) and then applied in order. Opening replays the journal (a torn last line — a
//! crash mid-write, never acknowledged — is cut off) and drops what expired. When the file holds
//! more than [`COMPACT_MIN_LINES`] lines and four times more lines than entities, the thread
//! writes a snapshot of the map (one `entity` line per entity) to a temporary file, fsyncs it,
//! renames it over the journal and fsyncs the directory; labels that arrive meanwhile wait.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::outcomes::{Dropped, EntityRecord, LabelOp, LabelStat, OutcomeMemory};
use crate::stores::{
    StoreError,
    ndjson::{self, Replayed},
};
use riskgate_core::signals::{KeyKind, OutcomeLabel};

/// Small journals are never worth rewriting.
pub const COMPACT_MIN_LINES: u64 = 4096;
/// Labels waiting for the writer; a full queue makes reporters wait (it never drops).
const QUEUE: usize = 4096;

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Line {
    /// A label learned about a payment, for each of its keys (in `KeyKind` order).
    Label {
        keys: [Option<u64>; KeyKind::COUNT],
        label: String,
        at: i64,
    },
    /// An entity as it stood when the journal was compacted.
    Entity {
        key: u64,
        kind: u8,
        /// (label, count, first, last).
        labels: Vec<(u8, u32, u32, u32)>,
        times: Vec<(u8, u32)>,
        customers: Vec<(u32, u32)>,
    },
}

impl Line {
    fn label(op: &LabelOp) -> Self {
        Line::Label {
            keys: op.keys,
            label: op.label.as_str().to_owned(),
            at: op.at,
        }
    }

    fn entity(key: u64, kind: u8, r: &EntityRecord) -> Self {
        Line::Entity {
            key,
            kind,
            labels: r
                .labels
                .iter()
                .map(|s| (s.label, s.count, s.first, s.last))
                .collect(),
            times: r.times.clone(),
            customers: r.customers.clone(),
        }
    }

    /// Applies this line to `memory`.
    fn replay(self, memory: &OutcomeMemory) -> Result<(), String> {
        match self {
            Line::Label { keys, label, at } => {
                let label = OutcomeLabel::from_name(&label)
                    .ok_or_else(|| format!("unknown label {label:?}"))?;
                memory.apply(&LabelOp { keys, label, at });
            }
            Line::Entity {
                key,
                kind,
                labels,
                times,
                customers,
            } => {
                let record = EntityRecord {
                    labels: labels
                        .into_iter()
                        .map(|(label, count, first, last)| LabelStat {
                            label,
                            count,
                            first,
                            last,
                        })
                        .collect(),
                    times,
                    customers,
                };
                memory.restore(key, kind, record);
            }
        }
        Ok(())
    }
}

type Reply = oneshot::Sender<Result<Dropped, StoreError>>;

/// The journal's writer: send it labels, it answers once they are durable and applied.
#[derive(Debug, Clone)]
pub struct OutcomeJournal {
    tx: mpsc::Sender<(LabelOp, Reply)>,
}

impl OutcomeJournal {
    /// Opens (or creates) the journal at `path`, replays it into `memory` (then drops what expired
    /// by `now`), and starts the writer thread. Blocking: call it from a blocking thread.
    pub fn open(path: &Path, memory: Arc<OutcomeMemory>, now: i64) -> Result<Self, StoreError> {
        let mut file = Writer::open(path, &memory)?;
        memory.sweep(now);
        let (tx, mut rx) = mpsc::channel::<(LabelOp, Reply)>(QUEUE);
        std::thread::Builder::new()
            .name("outcome-journal".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < QUEUE {
                        match rx.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    file.commit(batch, &memory);
                }
            })
            .map_err(|e| ndjson::error(path, e))?;
        Ok(Self { tx })
    }

    /// Appends `op`, waits until it is durable, applies it; what could not be kept for a full
    /// map is returned.
    pub async fn apply(&self, op: LabelOp) -> Result<Dropped, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((op, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the outcome journal writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the outcome journal writer stopped".into()))?
    }
}

/// The open file, owned by the writer thread.
struct Writer {
    path: PathBuf,
    file: File,
    lines: u64,
    /// Bytes of whole, acknowledged lines (what a failed append is cut back to).
    len: u64,
    /// Set when the file could not be cut back after a failed append: every later label is
    /// refused until a restart replays the journal.
    broken: Option<String>,
}

impl Writer {
    fn open(path: &Path, memory: &OutcomeMemory) -> Result<Self, StoreError> {
        let Replayed { file, lines, len } =
            ndjson::replay(path, "outcome journal", |line: Line| line.replay(memory))?;
        tracing::info!(
            path = %path.display(),
            lines,
            entities = memory.len(),
            "outcome journal replayed"
        );
        Ok(Self {
            path: path.to_owned(),
            file,
            lines,
            len,
            broken: None,
        })
    }

    /// Writes `batch` with one fsync, then applies it and answers each sender.
    fn commit(&mut self, batch: Vec<(LabelOp, Reply)>, memory: &OutcomeMemory) {
        let mut text = String::new();
        for (op, _) in &batch {
            text.push_str(&serde_json::to_string(&Line::label(op)).expect("lines serialize"));
            text.push('\n');
        }
        if let Err(e) = self.append(text.as_bytes()) {
            for (_, reply) in batch {
                let _ = reply.send(Err(ndjson::error(&self.path, &e)));
            }
            return;
        }
        self.lines += batch.len() as u64;
        for (op, reply) in batch {
            let _ = reply.send(Ok(memory.apply(&op)));
        }
        if self.lines > COMPACT_MIN_LINES
            && self.lines > 4 * memory.len() as u64
            && let Err(e) = self.compact(memory)
        {
            tracing::error!(
                path = %self.path.display(),
                error = %e,
                "outcome journal compaction failed"
            );
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), String> {
        if let Some(why) = &self.broken {
            return Err(format!("unusable until restart: {why}"));
        }
        let written = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Cut back to the last acknowledged line, so a later append does not build on a
                // half-written one.
                if let Err(cut) = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_all())
                {
                    self.broken = Some(cut.to_string());
                }
                Err(e.to_string())
            }
        }
    }

    /// Rewrites the journal as a snapshot of `memory`.
    fn compact(&mut self, memory: &OutcomeMemory) -> Result<(), std::io::Error> {
        let tmp = self.path.with_extension("journal.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let mut lines = 0u64;
        let mut len = 0u64;
        for (key, kind, record) in memory.snapshot() {
            let mut line = serde_json::to_string(&Line::entity(key, kind, &record))
                .map_err(std::io::Error::other)?;
            line.push('\n');
            out.write_all(line.as_bytes())?;
            lines += 1;
            len += line.len() as u64;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Err(e) = ndjson::sync_dir(&self.path) {
            // The rename may not be durable: appends must not go on until a restart.
            self.broken = Some(format!("directory fsync after compaction: {e}"));
            return Err(e);
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        tracing::info!(path = %self.path.display(), before = self.lines, after = lines, "outcome journal compacted");
        self.lines = lines;
        self.len = len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::state::outcomes::Retention;
    use riskgate_core::signals::{OutcomeSeries, OutcomeWindow};

    const T0: i64 = 1_795_219_200;
    const RET: Retention = Retention {
        fraud_secs: 400 * 86_400,
        other_secs: 90 * 86_400,
        ip_secs: 14 * 86_400,
    };

    fn op(card: u64, label: OutcomeLabel, at: i64) -> LabelOp {
        let mut keys = [None; KeyKind::COUNT];
        keys[KeyKind::Card as usize] = Some(card);
        keys[KeyKind::Email as usize] = Some(9);
        LabelOp { keys, label, at }
    }

    fn fraud_on(m: &OutcomeMemory, card: u64, now: i64) -> u8 {
        let mut keys = [None; KeyKind::COUNT];
        keys[KeyKind::Card as usize] = Some(card);
        m.lookup(&keys, now).keys[0]
            .unwrap()
            .window(OutcomeSeries::Fraud, OutcomeWindow::AllTime)
    }

    #[tokio::test]
    async fn labels_survive_a_reopen_a_torn_line_and_compaction() {
        let dir = std::env::temp_dir().join(format!("riskgate-outcomes-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("outcomes.journal");
        let open = |now| {
            let m = Arc::new(OutcomeMemory::new(RET, 100_000));
            let j = OutcomeJournal::open(&path, m.clone(), now).unwrap();
            (m, j)
        };
        let (m, j) = open(T0);
        j.apply(op(1, OutcomeLabel::EarlyFraudWarning, T0))
            .await
            .unwrap();
        j.apply(op(1, OutcomeLabel::FraudulentDispute, T0 + 10))
            .await
            .unwrap();
        j.apply(op(2, OutcomeLabel::Authorized, T0)).await.unwrap();
        assert_eq!(fraud_on(&m, 1, T0 + 20), 2);
        drop(j);

        // A crash mid-write leaves half a line: it is cut off, the rest replays.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"t\":\"label\",\"keys\":[1,").unwrap();
        drop(f);
        let (m, j) = open(T0 + 20);
        assert_eq!(fraud_on(&m, 1, T0 + 20), 2);
        assert_eq!(m.len(), 3);

        // Many labels on few entities: the journal is compacted, and still replays the same.
        for i in 0..(COMPACT_MIN_LINES as i64 + 10) {
            j.apply(op(2, OutcomeLabel::Authorized, T0 + i))
                .await
                .unwrap();
        }
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() < 100, "{} lines", text.lines().count());
        let (m, _j) = open(T0 + 100_000);
        assert_eq!(fraud_on(&m, 1, T0 + 100_000), 2);
        let mut keys = [None; KeyKind::COUNT];
        keys[KeyKind::Card as usize] = Some(2);
        assert_eq!(
            m.lookup(&keys, T0 + 100_000).keys[0].unwrap().counts
                [OutcomeLabel::Authorized as usize],
            COMPACT_MIN_LINES as u32 + 11
        );
        // Expired labels are dropped at open: after 91 days the authorization is gone.
        drop(_j);
        let (m, _j) = open(T0 + 91 * 86_400 + 100_000);
        assert_eq!(m.len(), 2, "card 1 and the email keep their fraud labels");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
