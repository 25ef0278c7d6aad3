//! The one clock: Unix seconds, from tokio's clock (so tests drive it with paused time), or set by
//! hand (replaying events at their own times). Everything that asks "what time is it" takes one.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

/// Unix time for enrichment, from tokio's clock, so tests drive it with paused time; or a manual
/// clock that reads whatever it was last set to (replaying labelled events at their own times).
#[derive(Debug, Clone)]
pub struct Clock {
    origin: tokio::time::Instant,
    /// Unix time at `origin`, with its fraction of a second: truncating it separately from the
    /// elapsed time would make the clock read up to a second behind the wall clock.
    origin_unix: std::time::Duration,
    /// Set: the clock reads this instead (see [`Clock::manual`]).
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// Wall-clock time (anchored once, then monotonic).
    pub fn system() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            origin: tokio::time::Instant::now(),
            origin_unix: unix,
            manual: None,
        }
    }

    /// A clock that reads `unix` now and advances with tokio's clock.
    pub fn starting_at(unix: i64) -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            origin_unix: std::time::Duration::from_secs(unix.max(0) as u64),
            manual: None,
        }
    }

    /// A clock that reads `unix` until [`Clock::set`] moves it (clones share the time).
    pub fn manual(unix: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(unix))),
            ..Self::starting_at(unix)
        }
    }

    /// Moves a manual clock to `unix`; a running clock ignores it.
    pub fn set(&self, unix: i64) {
        if let Some(m) = &self.manual {
            m.store(unix, Ordering::Release);
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match &self.manual {
            Some(m) => m.load(Ordering::Acquire),
            None => (self.origin_unix + self.origin.elapsed()).as_secs() as i64,
        }
    }
}
