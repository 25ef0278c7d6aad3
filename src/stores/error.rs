//! The one error of every state store: the backend failed, or did not answer in time.

/// A state backend that failed or ran out of time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state store unavailable: {0}")]
pub struct StoreError(pub String);
