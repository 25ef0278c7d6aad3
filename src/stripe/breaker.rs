//! A circuit breaker per upstream. Two triggers open it:
//! - `failure_threshold` consecutive failures (a hard outage);
//! - an error rate: over the last `window` (a rolling window of [`WINDOW_BUCKETS`] buckets), at
//!   least `min_calls` calls of which at least `error_rate` failed (an upstream failing every other
//!   call never reaches the consecutive count, yet wastes every second caller's budget).
//!
//! After `open_for` one probe call is let through (half-open); the probe's success closes it (and
//! clears the window), its failure opens it again. The clock is passed in (`now`), so the state
//! machine is pure and tests drive it with paused tokio time.

use std::{collections::VecDeque, sync::Mutex};

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

/// The rolling window is kept in this many buckets: a bucket leaves the window whole, so the
/// window really covers between `window × (1 − 1/WINDOW_BUCKETS)` and `window`.
pub const WINDOW_BUCKETS: u32 = 10;

/// The error-rate trigger's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRate {
    /// Failed ÷ all calls in the window at or above which the breaker opens (0 < ratio ≤ 1).
    pub ratio: f64,
    /// The rolling window's length.
    pub window: Duration,
    /// Fewer calls than this in the window never open the breaker (a single failure is not a
    /// 100 % error rate worth acting on).
    pub min_calls: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: Instant,
    calls: u32,
    failures: u32,
}

#[derive(Debug)]
struct Inner {
    state: State,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
    /// Calls of the rolling window, oldest first (closed state only).
    buckets: VecDeque<Bucket>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Breaker {
    name: &'static str,
    failure_threshold: u32,
    open_for: Duration,
    error_rate: Option<ErrorRate>,
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
            error_rate: None,
            inner: Mutex::new(Inner {
                state: State::Closed,
                consecutive_failures: 0,
                opened_at: None,
                probe_in_flight: false,
                buckets: VecDeque::with_capacity(WINDOW_BUCKETS as usize + 1),
            }),
        };
        b.export(State::Closed);
        b
    }

    /// Also opens on the error rate (see the module docs). `None` (or a ratio of 0, or a zero
    /// window) leaves only the consecutive-failure trigger.
    pub fn with_error_rate(mut self, error_rate: Option<ErrorRate>) -> Self {
        self.error_rate = error_rate.filter(|r| r.ratio > 0.0 && !r.window.is_zero());
        self
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
                inner.buckets.clear();
                self.export(State::Closed);
                tracing::info!(upstream = self.name, "circuit breaker closed");
            } else {
                self.count(&mut inner, false, now);
            }
            return;
        }
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let closed = inner.state == State::Closed;
        let rate = if closed {
            self.count(&mut inner, true, now)
        } else {
            None
        };
        let consecutive = closed && inner.consecutive_failures >= self.failure_threshold;
        if permit.probe || consecutive || rate.is_some() {
            inner.state = State::Open;
            inner.opened_at = Some(now);
            inner.buckets.clear();
            self.export(State::Open);
            tracing::warn!(
                upstream = self.name,
                consecutive_failures = inner.consecutive_failures,
                error_rate = rate.map(|(failed, calls)| format!("{failed}/{calls}")),
                "circuit breaker open"
            );
        }
    }

    /// Counts a call of the closed state in the rolling window; returns `(failures, calls)` when
    /// the error rate trips the breaker.
    fn count(&self, inner: &mut Inner, failed: bool, now: Instant) -> Option<(u32, u32)> {
        let rate = self.error_rate?;
        let bucket_len = rate.window / WINDOW_BUCKETS;
        while inner
            .buckets
            .front()
            .is_some_and(|b| now.saturating_duration_since(b.start) >= rate.window)
        {
            inner.buckets.pop_front();
        }
        match inner.buckets.back_mut() {
            Some(b) if now.saturating_duration_since(b.start) < bucket_len => {
                b.calls += 1;
                b.failures += u32::from(failed);
            }
            _ => inner.buckets.push_back(Bucket {
                start: now,
                calls: 1,
                failures: u32::from(failed),
            }),
        }
        if !failed {
            return None;
        }
        let (calls, failures) = inner
            .buckets
            .iter()
            .fold((0u32, 0u32), |(c, f), b| (c + b.calls, f + b.failures));
        (calls >= rate.min_calls.max(1) && f64::from(failures) >= rate.ratio * f64::from(calls))
            .then_some((failures, calls))
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

    fn call(b: &Breaker, ok: bool) {
        let p = b.try_acquire(Instant::now()).expect("closed");
        b.record(p, ok, Instant::now());
    }

    fn rated(min_calls: u32) -> Breaker {
        // A consecutive threshold that alternating failures never reach.
        Breaker::new("test", 100, Duration::from_secs(5)).with_error_rate(Some(ErrorRate {
            ratio: 0.5,
            window: Duration::from_secs(10),
            min_calls,
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn opens_on_the_error_rate_once_enough_calls_are_seen() {
        let b = rated(10);
        // Every other call fails: never 2 in a row, but a 50 % error rate.
        for i in 0..9 {
            call(&b, i % 2 == 0);
        }
        assert_eq!(b.state(), State::Closed, "9 calls are below min_calls");
        call(&b, false);
        assert_eq!(b.state(), State::Open, "5 of 10 calls failed");

        // It recovers like any open breaker, and the window starts empty again.
        tokio::time::advance(Duration::from_secs(5)).await;
        let probe = b.try_acquire(Instant::now()).unwrap();
        b.record(probe, true, Instant::now());
        assert_eq!(b.state(), State::Closed);
        for _ in 0..9 {
            call(&b, false);
        }
        assert_eq!(
            b.state(),
            State::Closed,
            "the old failures left with the open state"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_that_left_the_window_do_not_count() {
        let b = rated(10);
        for _ in 0..4 {
            call(&b, false);
        }
        for _ in 0..5 {
            call(&b, true);
        }
        // 10 s later the 4 failures (and 5 successes) are out of the window.
        tokio::time::advance(Duration::from_secs(10)).await;
        for _ in 0..6 {
            call(&b, true);
        }
        for _ in 0..4 {
            call(&b, false);
        }
        assert_eq!(
            b.state(),
            State::Closed,
            "4 of 10 in the window is below 50 %"
        );
        call(&b, false);
        assert_eq!(b.state(), State::Closed, "5 of 11");
        call(&b, false);
        assert_eq!(b.state(), State::Open, "6 of 12 is 50 %");
    }

    #[tokio::test(start_paused = true)]
    async fn a_low_error_rate_keeps_it_closed_and_without_a_rate_only_streaks_count() {
        let b = rated(10);
        for i in 0..100 {
            call(&b, i % 4 != 0);
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        assert_eq!(b.state(), State::Closed, "25 % errors stay under 50 %");

        let plain = Breaker::new("test", 3, Duration::from_secs(5)).with_error_rate(None);
        for i in 0..100 {
            call(&plain, i % 2 == 0);
        }
        assert_eq!(plain.state(), State::Closed);
    }
}
