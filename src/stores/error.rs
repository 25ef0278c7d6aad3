//! The one error of every store: what the caller did wrong (not found, invalid, already exists,
//! refused), or what went wrong underneath (the backend unavailable or too slow, the journal's
//! file).

use std::path::PathBuf;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such {kind}: {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{field}: {message}")]
    AlreadyExists {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Refused(String),
    /// The store's own records disagree (a journal or change log that does not apply); a bug or
    /// corruption, never the caller's fault.
    #[error("internal: {0}")]
    Internal(String),
    /// A backend failed or did not answer in time; nothing was acknowledged. Callers degrade
    /// (evaluations) or answer UNAVAILABLE (writes).
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path} line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// Another journal (outcome memory, webhook deliveries) could not be read or written.
    #[error("journal {path}: {message}")]
    Journal { path: PathBuf, message: String },
}

impl StoreError {
    /// Whether trying again later may succeed (the backend, not the request, was the problem).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
