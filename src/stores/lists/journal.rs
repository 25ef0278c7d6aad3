//! The journal file of the journal store ([`ListStore`]): every change is one NDJSON line
//! appended and `fsync`ed *before* it is applied and acknowledged, so an acknowledged create or
//! delete survives `kill -9`. Opening replays the journal; a torn last line (a crash mid-write,
//! never acknowledged) is cut off. When the journal holds many more lines than live objects it is
//! compacted: a snapshot is written to a temporary file, fsynced, and renamed over the journal
//! (then the directory is fsynced).

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use crate::faults;
use crate::stores::{
    StoreError,
    lists::{state::State, types::Op},
};

// This module held the whole store before it was split by job; its public names stay here.
pub use super::{
    checks::{MAX_ALIAS_LEN, SYSTEM_ACTOR},
    page::{DEFAULT_LIMIT, MAX_LIMIT, Page},
    store::ListStore,
    types::{ValueList, ValueListItem, new_id},
};

/// The journal file, open for appends.
pub(super) struct Journal {
    path: PathBuf,
    file: File,
    /// Lines in the file.
    lines: u64,
    /// Bytes of whole, acknowledged lines: what the file is cut back to when an append fails.
    len: u64,
    /// Set when a failure left the file in a state further appends must not build on (the
    /// journal could not be cut back, or a compaction's rename may not be durable). Every later
    /// change is refused until the process restarts and replays the journal.
    broken: Option<String>,
    /// Compact once the file has more lines than this, and 4× more than live objects.
    compact_min: u64,
}

/// Default for [`ListStore::with_compaction_threshold`]: small journals are never worth rewriting.
pub const COMPACT_MIN_LINES: u64 = 1024;

/// What replaying a journal's content found: the lines that applied, and the length of the
/// content they take (a torn last line after them is not counted).
pub(super) struct Replayed {
    pub(super) lines: u64,
    pub(super) good_len: u64,
}

/// Replays a journal's content into a fresh [`State`]. A torn last line (no newline: written, never
/// acknowledged) is left out; any other line that does not read, or does not apply, is corruption
/// of `path`, reported with its line number. Pure: what `open` and [`ListStore::from_journal`] share
/// (and what `fuzz/fuzz_targets/list_import.rs` feeds with arbitrary bytes).
pub(super) fn replay(path: &Path, content: impl BufRead) -> Result<(State, Replayed), StoreError> {
    let mut reader = content;
    let mut state = State::default();
    let mut lines = 0u64;
    let mut good_len = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| StoreError::Io {
                path: path.to_owned(),
                source,
            })?;
        if n == 0 {
            break;
        }
        let complete = buf.ends_with(b"\n");
        if !complete {
            // A torn last line: written, never acknowledged.
            break;
        }
        let corrupt = |message: String| StoreError::Corrupt {
            path: path.to_owned(),
            line: lines as usize + 1,
            message,
        };
        let op = serde_json::from_slice::<Op>(&buf).map_err(|e| corrupt(e.to_string()))?;
        state.apply(op).map_err(|e| corrupt(e.to_string()))?;
        lines += 1;
        good_len += n as u64;
    }
    Ok((state, Replayed { lines, good_len }))
}

impl Journal {
    /// Opens (or creates) the journal at `path` and replays it into a fresh [`State`]. A torn last
    /// line is cut off; any other line that does not read, or does not apply, is corruption.
    pub(super) fn open(path: &Path) -> Result<(Self, State), StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let (state, Replayed { lines, good_len }) = match File::open(path) {
            Ok(file) => replay(path, BufReader::new(file))?,
            Err(_) => (
                State::default(),
                Replayed {
                    lines: 0,
                    good_len: 0,
                },
            ),
        };
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if !existed {
            // The new file's directory entry must be durable too.
            sync_dir(path).map_err(io)?;
        }
        if file.metadata().map_err(io)?.len() > good_len {
            tracing::warn!(path = %path.display(), "lists journal: dropping a torn last line");
            file.set_len(good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let journal = Journal {
            path: path.to_owned(),
            file,
            lines,
            len: good_len,
            broken: None,
            compact_min: COMPACT_MIN_LINES,
        };
        Ok((journal, state))
    }

    /// Whether the file is worth rewriting: more lines than the threshold, and 4× more than the
    /// `live_objects` a snapshot would hold.
    pub(super) fn wants_compaction(&self, live_objects: u64) -> bool {
        self.lines > self.compact_min && self.lines > 4 * live_objects
    }

    /// Compacts once the file has more than `lines` lines (and 4× more than live objects).
    pub(super) fn set_compaction_threshold(&mut self, lines: u64) {
        self.compact_min = lines;
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one change and waits until it is on disk. On failure nothing of the change stays
    /// in the journal: it is refused, so a replay after a restart must not apply it either.
    pub(super) fn append(&mut self, op: &Op) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(self.io(std::io::Error::other(format!(
                "refusing changes after an earlier failure ({why}); restart to replay the journal"
            ))));
        }
        let mut line = serde_json::to_vec(op).expect("journal entries serialize");
        line.push(b'\n');
        if let Some(e) = faults::error(faults::JOURNAL_APPEND) {
            return Err(self.io(std::io::Error::other(e)));
        }
        let written =
            self.file
                .write_all(&line)
                .and_then(|()| match faults::error(faults::JOURNAL_FSYNC) {
                    Some(e) => Err(std::io::Error::other(e)),
                    None => self.file.sync_data(),
                });
        if let Err(e) = written {
            self.cut_back();
            return Err(self.io(e));
        }
        self.lines += 1;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Removes whatever a failed append left after the last acknowledged line.
    fn cut_back(&mut self) {
        let cut = self
            .file
            .set_len(self.len)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = cut {
            tracing::error!(
                path = %self.path.display(),
                error = %e,
                "lists journal: cannot remove a failed change; refusing changes until restart"
            );
            self.broken = Some(format!("cannot cut back a failed append: {e}"));
        }
    }

    /// Rewrites the journal as `ops` (a snapshot of the state, [`State::snapshot`]), atomically.
    /// Until the rename the journal is untouched, so a failure before it loses nothing; after it,
    /// appends go to the snapshot. The caller holds the writers' lock, not the state's.
    pub(super) fn compact(&mut self, ops: Vec<Op>) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(self.io(std::io::Error::other(format!(
                "not compacting after an earlier failure ({why})"
            ))));
        }
        let tmp = self.path.with_extension("compact.tmp");
        let mut buf = Vec::new();
        for op in &ops {
            serde_json::to_writer(&mut buf, op).expect("journal entries serialize");
            buf.push(b'\n');
        }
        let prepare = || -> std::io::Result<File> {
            let mut f = File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            if let Some(e) = faults::error(faults::JOURNAL_COMPACT) {
                return Err(std::io::Error::other(e));
            }
            // Opened before the rename, this handle is the new journal's once the rename is done:
            // there is no moment when appends could go to the replaced file.
            OpenOptions::new().append(true).open(&tmp)
        };
        let file = match prepare().and_then(|f| std::fs::rename(&tmp, &self.path).map(|()| f)) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(self.io(e));
            }
        };
        self.file = file;
        self.lines = ops.len() as u64;
        self.len = buf.len() as u64;
        if let Err(e) = sync_dir(&self.path) {
            // The rename may not survive a crash, and changes appended after it would be lost
            // with it: refuse them rather than acknowledge them.
            self.broken = Some(format!("compaction rename not durable: {e}"));
            return Err(self.io(e));
        }
        Ok(())
    }
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use riskgate_core::lists::{DEFAULT_LISTS, ItemType, ListLookup};

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-lists-{}-{}-{name}",
            std::process::id(),
            fastrand::u64(..)
        ));
        dir.join("lists.journal")
    }

    #[test]
    fn journal_replays_updates_deletes_and_compacts() {
        let path = temp_path("replay");
        let (list_id, kept, gone) = {
            let s = ListStore::open(&path, 1).unwrap();
            let l = s
                .create_list("vip", "VIP", ItemType::CustomerId, BTreeMap::new(), 1, "t")
                .unwrap();
            let kept = s.create_item(&l.id, "cus_keep", 2, "t").unwrap();
            let gone = s.create_item(&l.id, "cus_gone", 3, "t").unwrap();
            s.delete_item(&gone.id).unwrap();
            s.update_list(
                &l.id,
                Some("Very important"),
                &[("team".to_owned(), "fraud".to_owned())].into(),
            )
            .unwrap();
            (l.id, kept, gone)
        };
        let check = |s: &ListStore| {
            let l = s.retrieve_list(&list_id).unwrap();
            assert_eq!(l.name, "Very important");
            assert_eq!(l.metadata["team"], "fraud");
            assert_eq!(s.retrieve_item(&kept.id).unwrap(), kept);
            assert!(s.retrieve_item(&gone.id).is_err());
            let cell = s.lookup("vip").unwrap();
            assert!(cell.contains("cus_keep") && !cell.contains("cus_gone"));
        };
        let s = ListStore::open(&path, 9).unwrap();
        check(&s);
        s.compact().unwrap();
        drop(s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("delete_item") && !text.contains("cus_gone"));
        let s = ListStore::open(&path, 9).unwrap();
        check(&s);
        // Default lists are created once, not again on every open.
        let (lists, _) = s
            .list_lists(
                Page {
                    limit: 100,
                    ..Default::default()
                },
                None,
            )
            .unwrap();
        assert_eq!(lists.len(), DEFAULT_LISTS.len() + 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn the_journal_compacts_itself_when_mostly_dead() {
        let path = temp_path("autocompact");
        let s = ListStore::open(&path, 1)
            .unwrap()
            .with_compaction_threshold(64);
        for i in 0..60 {
            let item = s
                .create_item("block_list_email", &format!("u{i}@x.io"), 1, "t")
                .unwrap();
            s.delete_item(&item.id).unwrap();
        }
        let kept = s
            .create_item("block_list_email", "kept@x.io", 1, "t")
            .unwrap();
        drop(s);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines < 40, "{lines} lines: not compacted");
        let s = ListStore::open(&path, 1).unwrap();
        assert_eq!(s.retrieve_item(&kept.id).unwrap(), kept);
        assert!(!s.lookup("block_list_email").unwrap().contains("u7@x.io"));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_corruption_is_reported() {
        let path = temp_path("torn");
        {
            let s = ListStore::open(&path, 1).unwrap();
            s.create_item("block_list_email", "a@b.co", 1, "t").unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"create_item","id":"rsli_x","val"#)
            .unwrap();
        drop(f);
        let s = ListStore::open(&path, 1).unwrap();
        assert!(s.lookup("block_list_email").unwrap().contains("a@b.co"));
        s.create_item("block_list_email", "c@d.co", 1, "t").unwrap();
        drop(s);
        let s = ListStore::open(&path, 1).unwrap();
        assert!(s.lookup("block_list_email").unwrap().contains("c@d.co"));
        drop(s);

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        let e = ListStore::open(&path, 1).err().unwrap();
        assert!(e.to_string().contains("line 1"), "{e}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
