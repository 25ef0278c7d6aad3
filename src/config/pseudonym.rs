//! The pseudonym key (issue 18): the secret under which velocity keys and audit-log pseudonyms
//! are computed (`src/pseudonym.rs`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The pseudonym key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PseudonymConfig {
    /// File holding the key (at least 32 characters, e.g. `openssl rand -hex 32`; trailing
    /// newline ignored), e.g. a mounted Kubernetes Secret. Required with `redis.url` (every replica
    /// must use the same key). Unset without Redis: a key is generated for each process, so
    /// audit-log pseudonyms change at every restart. Changing the key starts velocity history
    /// afresh.
    pub key_file: Option<PathBuf>,
}
