//! What a run is told: where the calls go, how they are paced, for how long, and what is sent.

use std::{path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;

/// Where the calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `http://host:port` (plaintext HTTP/2 over TCP).
    Tcp(String),
    /// A Unix domain socket path.
    Uds(PathBuf),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(uri) => f.write_str(uri),
            Target::Uds(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How calls are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// `rate` calls per second on a fixed schedule, reached by a linear ramp of `ramp` first.
    Open { rate: f64, ramp: Duration },
    /// `concurrency` callers, each sending as soon as its previous call is answered.
    Closed { concurrency: usize },
}

/// One run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub target: Target,
    pub mode: Mode,
    /// HTTP/2 connections; calls are spread over them round-robin.
    pub connections: usize,
    /// Not recorded: lets connections, caches and the allocator settle (after any ramp).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Sent as `grpc-timeout` with every call.
    pub timeout: Duration,
    /// Open loop only: calls in flight beyond this are not sent (and the run is invalid).
    pub max_in_flight: u64,
    /// Encoded `CreatePaymentEvaluationRequest`s, sent in order, cycling.
    pub requests: Arc<Vec<Bytes>>,
    pub progress: bool,
    /// Open loop only: change the rate once, this far into the measured window.
    pub step_down: Option<StepDown>,
    /// The p99 an admitted call should stay within; a second above it has not recovered.
    pub p99_budget: Duration,
    /// Open loop only: the pacing thread's timer slack (Linux), how late its sleeps may end.
    /// `None` keeps the system's (50 µs). A larger slack lets one wake-up send several due calls
    /// together: fewer, fuller writes, at the price of calls leaving up to that much late, which
    /// the latency (from the scheduled time) includes.
    pub pacing_slack: Option<Duration>,
}

/// A change of the open-loop rate inside the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepDown {
    /// From the start of the measured window; a whole number of seconds.
    pub after: Duration,
    /// The rate from then on, calls per second.
    pub rate: f64,
}
