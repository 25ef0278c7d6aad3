//! [`LoadError`]: why a run, or reading its traffic, failed. The messages are the command line's.

use std::path::PathBuf;

/// Why a load run, or reading its traffic, failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    ReadEvents {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Line `line` (from 1) of an events file is not an event.
    #[error("{}:{line}: {source}", path.display())]
    BadEvent {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{}: no events", path.display())]
    NoEvents { path: PathBuf },
    #[error("no requests to send")]
    NoRequests,
    #[error("--connections must be at least 1")]
    NoConnections,
    #[error("--duration must be positive")]
    ZeroDuration,
    #[error("--rate must be a positive number")]
    BadRate,
    #[error("a step down needs the open loop (--rate)")]
    StepDownNeedsOpenLoop,
    #[error("the step-down rate must be a positive number")]
    BadStepDownRate,
    #[error("the step down must come after a whole number of seconds inside the window")]
    BadStepDownTime,
    #[error("bad target {uri:?}: {source}")]
    BadTarget {
        uri: String,
        source: tonic::transport::Error,
    },
    /// `target`: the URI, or the Unix socket's path.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        source: tonic::transport::Error,
    },
    /// The check call was answered with an error: its canonical code name and message.
    #[error("first call failed: {code}: {message}")]
    FirstCall { code: &'static str, message: String },
    #[error("first answer is not a CreatePaymentEvaluationResponse: {0}")]
    NotAResponse(#[source] prost::DecodeError),
    #[error("the pacing thread failed: {0}")]
    Pacer(#[source] std::io::Error),
    #[error("CPU sampler failed: {0}")]
    CpuSampler(#[source] tokio::task::JoinError),
}
