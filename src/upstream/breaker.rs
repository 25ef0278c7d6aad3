//! A circuit breaker per upstream: `failure_threshold` consecutive failures open it; after
//! `open_for` one probe call is let through (half-open); the probe's success closes it, its failure
//! opens it again. The clock is passed in (`now`), so the state machine is pure and tests drive it
//! with paused tokio time.

use std::sync::Mutex;

use tokio::time::{Duration, Instant};

/// The breaker's state, as exported in the `riskgate_upstream_breaker_state` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    /// Gauge value: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::Open => 1.0,
            State::HalfOpen => 2.0,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: State,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

/// See the module docs.
#[derive(Debug)]
pub struct Breaker {
    name: &'static str,
    failure_threshold: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

/// Permission to call, from [`Breaker::try_acquire`]; report how the call went with
/// [`Breaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    probe: bool,
}

impl Breaker {
    pub fn new(name: &'static str, failure_threshold: u32, open_for: Duration) -> Self {
        let b = Self {
            name,
            failure_threshold: failure_threshold.max(1),
            open_for,
            inner: Mutex::new(Inner {
                state: State::Closed,
                consecutive_failures: 0,
                opened_at: None,
                probe_in_flight: false,
            }),
        };
        b.export(State::Closed);
        b
    }

    pub fn state(&self) -> State {
        self.lock().state
    }

    /// May a call go out now? `None` while open (or while the half-open probe is out).
    pub fn try_acquire(&self, now: Instant) -> Option<Permit> {
        let mut inner = self.lock();
        match inner.state {
            State::Closed => Some(Permit { probe: false }),
            State::Open => {
                let opened = inner.opened_at.unwrap_or(now);
                if now.saturating_duration_since(opened) >= self.open_for {
                    inner.state = State::HalfOpen;
                    inner.probe_in_flight = true;
                    self.export(State::HalfOpen);
                    Some(Permit { probe: true })
                } else {
                    None
                }
            }
            State::HalfOpen if !inner.probe_in_flight => {
                inner.probe_in_flight = true;
                Some(Permit { probe: true })
            }
            State::HalfOpen => None,
        }
    }

    /// Records the outcome of a call made under `permit`.
    pub fn record(&self, permit: Permit, success: bool, now: Instant) {
        let mut inner = self.lock();
        if permit.probe {
            inner.probe_in_flight = false;
        }
        if success {
            inner.consecutive_failures = 0;
            if inner.state != State::Closed {
                inner.state = State::Closed;
                inner.opened_at = None;
                self.export(State::Closed);
                tracing::info!(upstream = self.name, "circuit breaker closed");
            }
            return;
        }
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trip = permit.probe
            || (inner.state == State::Closed
                && inner.consecutive_failures >= self.failure_threshold);
        if trip {
            inner.state = State::Open;
            inner.opened_at = Some(now);
            self.export(State::Open);
            tracing::warn!(
                upstream = self.name,
                failures = inner.consecutive_failures,
                "circuit breaker open"
            );
        }
    }

    fn export(&self, state: State) {
        metrics::gauge!(crate::telemetry::UPSTREAM_BREAKER_STATE, "upstream" => self.name)
            .set(state.gauge());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_recovers_through_a_probe() {
        let b = Breaker::new("test", 3, Duration::from_secs(5));
        for _ in 0..2 {
            let p = b.try_acquire(Instant::now()).unwrap();
            b.record(p, false, Instant::now());
        }
        // A success resets the count.
        let p = b.try_acquire(Instant::now()).unwrap();
        b.record(p, true, Instant::now());
        for _ in 0..3 {
            let p = b.try_acquire(Instant::now()).unwrap();
            b.record(p, false, Instant::now());
        }
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.try_acquire(Instant::now()), None);

        tokio::time::advance(Duration::from_secs(5)).await;
        let probe = b.try_acquire(Instant::now()).unwrap();
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.try_acquire(Instant::now()), None, "one probe at a time");
        b.record(probe, false, Instant::now());
        assert_eq!(b.state(), State::Open, "a failed probe opens it again");

        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(b.try_acquire(Instant::now()), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        let probe = b.try_acquire(Instant::now()).unwrap();
        b.record(probe, true, Instant::now());
        assert_eq!(b.state(), State::Closed);
        assert!(b.try_acquire(Instant::now()).is_some());
    }
}
