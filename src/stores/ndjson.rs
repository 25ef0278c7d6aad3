//! Append-only NDJSON journals (outcome memory, webhook deliveries): replaying one with a torn last
//! line cut, and the directory fsync a created or renamed file needs to be durable.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader},
    path::Path,
};

use serde::de::DeserializeOwned;

use super::StoreError;

/// A journal opened for appending after its replay.
#[derive(Debug)]
pub struct Replayed {
    pub file: File,
    /// Whole lines replayed.
    pub lines: u64,
    /// Their bytes (what the file was cut back to).
    pub len: u64,
}

/// Passes every whole line of the journal at `path` to `replay`, in order, then opens it for
/// appending (created, and its directory synced, when missing). A torn last line (a crash in the
/// middle of an append) is cut; a line that does not parse, or that `replay` refuses, is an error
/// naming the line. `what` names the journal in the log. Blocking.
pub fn replay<L: DeserializeOwned, E: std::fmt::Display>(
    path: &Path,
    what: &str,
    mut replay: impl FnMut(L) -> Result<(), E>,
) -> Result<Replayed, StoreError> {
    let fail = |e: std::io::Error| error(path, e);
    let at_line = |n: u64, e: &dyn std::fmt::Display| error(path, format!("line {n}: {e}"));
    let (mut lines, mut len) = (0u64, 0u64);
    if let Ok(f) = File::open(path) {
        let mut reader = BufReader::new(f);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(fail)?;
            if n == 0 || !buf.ends_with(b"\n") {
                break; // the end, or a torn last line (cut below)
            }
            let line: L = serde_json::from_slice(&buf).map_err(|e| at_line(lines + 1, &e))?;
            replay(line).map_err(|e| at_line(lines + 1, &e))?;
            lines += 1;
            len += n as u64;
        }
    }
    let existed = path.exists();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    if !existed {
        sync_dir(path).map_err(fail)?;
    }
    if file.metadata().map_err(fail)?.len() > len {
        tracing::warn!(path = %path.display(), "{what}: dropping a torn last line");
        file.set_len(len).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    Ok(Replayed { file, lines, len })
}

/// Makes a file created or renamed in `path`'s directory durable.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// A journal error at `path`.
pub fn error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Journal {
        path: path.to_owned(),
        message: e.to_string(),
    }
}
