//! The ids of the webhook events riskgate acted on, kept in a file of the data directory so that a
//! redelivery after a restart is still recognised as a duplicate (issue 18: durable by default).
//!
//! One id per line, appended and fsynced once the event's effects are durable, before the answer.
//! Only the newest `capacity` ids matter (the in-memory window, `webhooks.dedupe_capacity`); the
//! file is rewritten with them (temporary file, fsync, rename) when it holds twice as many. A line
//! that is not an event id (a torn last line after a crash, a hand edit) is skipped.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

/// Longest id kept: Stripe's are `evt_` and 24 characters; 255 leaves room for any other source.
const MAX_ID_LEN: usize = 255;

/// The file, open for appending.
#[derive(Debug)]
pub struct SeenFile {
    path: PathBuf,
    file: File,
    lines: usize,
    capacity: usize,
}

fn is_id(line: &str) -> bool {
    !line.is_empty()
        && line.len() <= MAX_ID_LEN
        && line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SeenFile {
    /// Opens (or creates) the file at `path` and returns it with the newest `capacity` ids it
    /// holds, oldest first. Blocking.
    pub fn open(path: &Path, capacity: usize) -> std::io::Result<(Self, Vec<String>)> {
        let mut ids = Vec::new();
        match File::open(path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line?;
                    if is_id(&line) {
                        ids.push(line);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let keep = ids.len().saturating_sub(capacity);
        ids.drain(..keep);
        rewrite(path, &ids)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((
            Self {
                path: path.to_owned(),
                file,
                lines: ids.len(),
                capacity,
            },
            ids,
        ))
    }

    /// Appends `id` (fsynced). `newest` yields the ids to keep, oldest first, should the file be
    /// compacted now. Blocking.
    pub fn append(
        &mut self,
        id: &str,
        newest: impl FnOnce() -> Vec<String>,
    ) -> std::io::Result<()> {
        if !is_id(id) {
            return Ok(());
        }
        self.file.write_all(format!("{id}\n").as_bytes())?;
        self.file.sync_data()?;
        self.lines += 1;
        if self.lines > self.capacity.saturating_mul(2).max(16) {
            let ids = newest();
            rewrite(&self.path, &ids)?;
            self.file = OpenOptions::new().append(true).open(&self.path)?;
            self.lines = ids.len();
        }
        Ok(())
    }
}

/// Replaces the file with `ids`, atomically.
fn rewrite<S: AsRef<str>>(path: &Path, ids: &[S]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    let mut text = String::new();
    for id in ids {
        text.push_str(id.as_ref());
        text.push('\n');
    }
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_survive_a_reopen_and_the_file_stays_bounded() {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-webhook-seen-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("webhook-events");
        let (mut file, ids) = SeenFile::open(&path, 20).unwrap();
        assert!(ids.is_empty());
        let all: Vec<String> = (0..100).map(|i| format!("evt_{i}")).collect();
        for (i, id) in all.iter().enumerate() {
            file.append(id, || {
                all[..=i].iter().rev().take(20).rev().cloned().collect()
            })
            .unwrap();
        }
        // Never more than twice the capacity on disk.
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 40, "{lines}");
        // A torn last line (a crash mid-write) and junk are skipped.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not an id!\nevt_torn")
            .unwrap();
        drop(file);
        let (_, ids) = SeenFile::open(&path, 20).unwrap();
        assert_eq!(ids.len(), 20);
        assert_eq!(ids.last().map(String::as_str), Some("evt_torn"));
        assert_eq!(ids[18], "evt_99");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
