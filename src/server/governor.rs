//! Admission by CPU saturation: when the gateway has no CPU to spare, refuse a share of riskgate
//! calls on arrival so that the rest are answered on time.
//!
//! Why this and not a queue bound: when more calls arrive than the CPU can evaluate, the backlog does
//! not form inside the gateway, where a queue-delay bound could see it. Each connection's task reads
//! requests only as fast as the busy runtime polls it, and every call it reads is evaluated at once,
//! so the excess waits unread in the socket buffers and in the client — invisible to the server,
//! which measures only microseconds of queueing while callers wait for seconds. What the server can
//! see is that its runtime never idles: a worker parks only when every socket is drained. So a
//! controller samples how busy the runtime's workers were (tokio's busy-duration counters, wall
//! clock, so CPU-quota throttling and CPU taken by neighbours count as busy) and adjusts the share
//! of calls admitted:
//!
//! - busy ≥ [`SATURATED`] of two intervals in a row (it never idled for 50 ms: a backlog is
//!   building; one such interval can be a burst): cut it by a quarter;
//! - busy above the target: cut it by √(target ÷ busy);
//! - busy under the target by more than [`BAND`]: raise it by √(target ÷ busy), at most a quarter
//!   and at least [`STEP_UP`] of all calls per interval, so that it is back to all within a few
//!   hundred milliseconds once load drops;
//! - otherwise hold.
//!
//! (Square roots damp the loop: a full proportional step overshoots and oscillates, measured.)
//!
//! A refused call costs only its HTTP/2 handling (no decoding, no evaluation), so at twice the
//! load the gateway can serve, it settles at refusing most of the excess with CPU to spare, the
//! backlog drains, and admitted calls keep their normal latency. When load drops, the share rises
//! back to all within a few hundred milliseconds. Refused calls get RESOURCE_EXHAUSTED with
//! RetryInfo. Health and reflection are never refused.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

use crate::telemetry;

/// Busy share of an interval at which the runtime counts as never idle.
pub const SATURATED: f64 = 0.98;
/// Width of the band under the target where the admitted share holds.
pub const BAND: f64 = 0.10;
/// Raise of the admitted share per calm interval, as a share of all calls.
pub const STEP_UP: f64 = 0.05;
/// The admitted share never falls below this, so the gateway keeps measuring real work.
pub const MIN_ADMITTED: f64 = 0.02;
/// How often the controller samples the runtime.
pub const INTERVAL: Duration = Duration::from_millis(25);

/// Fixed-point unit of the admitted share.
const ONE: u64 = 1 << 16;

// --- The admission gate (read on every call) --------------------------------------------------------

/// The share of calls admitted now, applied evenly: of any run of calls, exactly that share (±1)
/// is admitted, so refusals are spread rather than bunched.
#[derive(Debug)]
pub struct CpuAdmission {
    /// Admitted share in units of 1/65536.
    share: AtomicU32,
    seq: AtomicU64,
}

impl Default for CpuAdmission {
    fn default() -> Self {
        CpuAdmission {
            share: AtomicU32::new(ONE as u32),
            seq: AtomicU64::new(0),
        }
    }
}

impl CpuAdmission {
    /// Whether this call is admitted.
    pub fn admit(&self) -> bool {
        let share = u64::from(self.share.load(Ordering::Relaxed));
        if share >= ONE {
            return true;
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        // Call n is admitted when the running total n × share crosses a whole unit.
        (n.wrapping_mul(share) >> 16) != (n.wrapping_add(1).wrapping_mul(share) >> 16)
    }

    /// The admitted share, 0–1.
    pub fn share(&self) -> f64 {
        f64::from(self.share.load(Ordering::Relaxed)) / ONE as f64
    }

    pub(crate) fn set_share(&self, share: f64) {
        let units = (share.clamp(0.0, 1.0) * ONE as f64).round() as u32;
        self.share.store(units, Ordering::Relaxed);
    }
}

// --- The controller (pure) --------------------------------------------------------------------------

/// Decides the admitted share from how busy the runtime was.
#[derive(Debug, Clone)]
pub struct Governor {
    target: f64,
    admitted: f64,
    /// The previous interval was saturated too.
    saturated: bool,
}

impl Governor {
    /// Keep the runtime's busy share at or under `target` (0–1).
    pub fn new(target: f64) -> Self {
        Governor {
            target: target.clamp(0.1, SATURATED),
            admitted: 1.0,
            saturated: false,
        }
    }

    /// The admitted share after an interval in which the workers were busy `busy` (0–1) of the time.
    pub fn update(&mut self, busy: f64) -> f64 {
        let a = self.admitted;
        // One saturated interval can be a burst of arrivals; two in a row (50 ms without idling)
        // is a backlog building.
        let sustained = busy >= SATURATED && self.saturated;
        self.saturated = busy >= SATURATED;
        self.admitted = if sustained {
            a * 0.75
        } else if busy > self.target {
            a * (self.target / busy).sqrt()
        } else if busy < self.target - BAND {
            (a * (self.target / busy.max(0.01)).sqrt().min(1.25)).max(a + STEP_UP)
        } else {
            a
        }
        .clamp(MIN_ADMITTED, 1.0);
        self.admitted
    }
}

// --- The sampler (I/O: the runtime's counters) ------------------------------------------------------

/// Cumulative counters at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Busy time of all runtime workers so far (wall clock).
    pub busy: Duration,
    /// Runtime workers.
    pub workers: usize,
}

/// Where samples come from: the runtime in the server, a script in tests.
pub trait BusySource: Send + 'static {
    fn sample(&self) -> Sample;
}

/// The share of `wall` the runtime's workers were busy, from two samples. Busy time is wall clock,
/// so time a worker was runnable but not running counts: CPU taken by neighbours, and CPU-quota
/// throttling (a Kubernetes CPU limit) — the quota shows here once it runs out.
pub fn busy_share(before: &Sample, after: &Sample, wall: Duration) -> f64 {
    let wall = wall.as_secs_f64() * after.workers.max(1) as f64;
    if wall <= 0.0 {
        return 0.0;
    }
    (after.busy.saturating_sub(before.busy).as_secs_f64() / wall).clamp(0.0, 1.0)
}

/// The current tokio runtime's workers.
pub struct RuntimeBusy(tokio::runtime::Handle);

impl RuntimeBusy {
    pub fn current() -> Self {
        RuntimeBusy(tokio::runtime::Handle::current())
    }
}

impl BusySource for RuntimeBusy {
    fn sample(&self) -> Sample {
        let metrics = self.0.metrics();
        let workers = metrics.num_workers();
        Sample {
            busy: (0..workers)
                .map(|w| metrics.worker_total_busy_duration(w))
                .sum(),
            workers,
        }
    }
}

/// Runs the controller until `stop` turns true: every [`INTERVAL`], the busy share since the last
/// sample sets `gate`'s admitted share. Exports both as gauges.
pub async fn run(
    source: impl BusySource,
    mut governor: Governor,
    gate: Arc<CpuAdmission>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut last = source.sample();
    let mut last_at = Instant::now();
    metrics::gauge!(telemetry::ADMITTED_SHARE).set(1.0);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let sample = source.sample();
        let now = Instant::now();
        let share = busy_share(&last, &sample, now.saturating_duration_since(last_at));
        (last, last_at) = (sample, now);
        let admitted = governor.update(share);
        gate.set_share(admitted);
        metrics::gauge!(telemetry::RUNTIME_BUSY).set(share);
        metrics::gauge!(telemetry::ADMITTED_SHARE).set(admitted);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn the_gate_admits_exactly_its_share_evenly() {
        let gate = CpuAdmission::default();
        assert!((0..1000).all(|_| gate.admit()));
        gate.set_share(0.25);
        let run: Vec<bool> = (0..1000).map(|_| gate.admit()).collect();
        assert_eq!(run.iter().filter(|a| **a).count(), 250);
        // Spread: every window of 8 calls admits 2.
        assert!(
            run.windows(8)
                .all(|w| w.iter().filter(|a| **a).count() == 2)
        );
        gate.set_share(0.0);
        assert!((0..100).all(|_| !gate.admit()));
    }

    #[test]
    fn the_governor_cuts_when_never_idle_and_recovers_in_proportion() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let mut g = Governor::new(0.9);
        assert_eq!(g.update(0.5), 1.0);
        // One saturated interval: a burst, cut like any interval over the target…
        assert!(close(g.update(1.0), (0.9f64 / 1.0).sqrt()));
        assert_eq!(g.update(0.85), (0.9f64 / 1.0).sqrt());
        g = Governor::new(0.9);
        // …two in a row: a quarter off each.
        g.update(1.0);
        assert!(close(g.update(1.0), 0.9f64.sqrt() * 0.75));
        g = Governor::new(0.9);
        g.update(1.0);
        g.admitted = 0.75;
        assert!(close(g.update(0.99), 0.5625));
        // Busy over the target but idle at times: cut by the square root of target ÷ busy.
        let cut = 0.5625 * (0.9f64 / 0.95).sqrt();
        assert!(close(g.update(0.95), cut));
        // In the band: hold.
        assert!(close(g.update(0.85), cut));
        // Calm: raised by the square root of target ÷ busy, at most by a quarter per interval…
        assert!(close(g.update(0.625), cut * 1.2));
        assert!(close(g.update(0.1), cut * 1.2 * 1.25));
        // …never above all.
        for _ in 0..10 {
            g.update(0.1);
        }
        assert_eq!(g.update(0.1), 1.0);
        // Never below the floor.
        for _ in 0..40 {
            g.update(1.0);
        }
        assert_eq!(g.update(1.0), MIN_ADMITTED);
        // From a small share, raised by at least STEP_UP of all calls.
        assert!(close(g.update(0.79), MIN_ADMITTED + STEP_UP));
    }

    #[test]
    fn busy_share_is_per_worker_and_bounded() {
        let ms = Duration::from_millis;
        let at = |busy: u64| Sample {
            busy: ms(busy),
            workers: 2,
        };
        assert_eq!(busy_share(&at(0), &at(100), ms(100)), 0.5);
        assert_eq!(busy_share(&at(100), &at(400), ms(100)), 1.0);
        assert_eq!(busy_share(&at(0), &at(10), Duration::ZERO), 0.0);
    }

    /// A runtime whose workers are busy a scripted share of each interval.
    struct Scripted {
        busy: Arc<Mutex<Duration>>,
    }

    impl BusySource for Scripted {
        fn sample(&self) -> Sample {
            Sample {
                busy: *self.busy.lock().unwrap(),
                workers: 2,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_follows_the_runtime_and_releases_when_load_drops() {
        let busy = Arc::new(Mutex::new(Duration::ZERO));
        let gate = Arc::new(CpuAdmission::default());
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(
            Scripted { busy: busy.clone() },
            Governor::new(0.9),
            gate.clone(),
            stop_rx,
        ));
        tokio::task::yield_now().await;
        // Two workers busy the whole time for five intervals: the first cut as a burst, then a
        // quarter off each.
        for _ in 0..5 {
            *busy.lock().unwrap() += 2 * INTERVAL;
            tokio::time::advance(INTERVAL).await;
            tokio::task::yield_now().await;
        }
        let cut = 0.9f64.sqrt() * 0.75f64.powi(4);
        assert!((gate.share() - cut).abs() < 1e-3, "{}", gate.share());
        // Idle: back to all within 7 intervals (175 ms), up by a quarter each.
        for _ in 0..7 {
            tokio::time::advance(INTERVAL).await;
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.share(), 1.0);
        stop.send_replace(true);
        task.await.unwrap();
    }
}
