//! Writing a subcommand's output to a file or, for `-`, to standard output.

use std::{io::Write, path::Path};

/// Runs `write` on a buffered `path` (`-` = standard output) and flushes it.
pub fn output<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<T, String>,
) -> Result<T, String> {
    let mut w: Box<dyn Write> = if path == Path::new("-") {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ))
    };
    let value = write(&mut w)?;
    w.flush()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(value)
}
