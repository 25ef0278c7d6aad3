//! Helpers of the configuration tests: environment variables and temporary files.

use std::path::{Path, PathBuf};

pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn write(text: &str) -> TempFile {
    TempFile::new(text)
}

/// A tiny temporary file, removed on drop (avoids a dependency for three tests).
pub(super) struct TempFile(PathBuf);

impl TempFile {
    pub(super) fn new(text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "riskgate-config-{}-{}.toml",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
