//! What riskgate writes down: its own log and the decision audit log.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter (`info`, `riskgate=debug,info`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// The decision audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// NDJSON file every decision is appended to (unset = off). Card data, emails, phones and IPs
    /// are hashed or masked.
    pub path: Option<PathBuf>,
    /// Size at which the file is rotated to `<path>.1` (older files shift to `.2` …).
    pub max_bytes: u64,
    /// Rotated files kept.
    pub max_files: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: None,
            max_bytes: 100 * 1024 * 1024,
            max_files: 5,
        }
    }
}
