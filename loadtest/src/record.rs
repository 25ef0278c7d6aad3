//! Recording: the counters every call updates (all phases) and what the measured window records
//! (latency and send-lag histograms, status counts, the per-second timeline).

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use hdrhistogram::Histogram;
use tonic::Status;

use crate::{SecondStats, code_name};

/// Latencies above this are clamped into the histogram's top bucket (and still counted).
const MAX_TRACKED_US: u64 = 60_000_000;

/// A histogram of the window: 1 µs to [`MAX_TRACKED_US`], 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3).expect("static histogram bounds are valid")
}

/// `d` in whole microseconds, within the histograms' range.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TRACKED_US)
}

/// What the measured window recorded.
pub(crate) struct Recorder {
    pub(crate) latency: Histogram<u64>,
    pub(crate) lag: Histogram<u64>,
    pub(crate) sent: u64,
    pub(crate) ok: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Per second of the window: counts and the OK latencies.
    pub(crate) seconds: Vec<(SecondStats, Histogram<u64>)>,
}

/// Per-second histograms: 2 significant digits are plenty for a p99 and keep them small.
pub(crate) fn second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 2).expect("static histogram bounds are valid")
}

/// Counters over every phase, for the progress bar and `calls_total`.
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) sent: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) not_sent: AtomicU64,
}

/// What every caller shares: the window's records, the live counters and the window's bounds.
pub(crate) struct Shared {
    pub(crate) recorder: Mutex<Recorder>,
    pub(crate) live: Live,
    pub(crate) window_start: Instant,
    pub(crate) window_end: Instant,
}

impl Shared {
    /// Nothing recorded yet, for a window from `window_start` to `window_end` (`duration` long).
    pub(crate) fn new(window_start: Instant, window_end: Instant, duration: Duration) -> Self {
        Self {
            recorder: Mutex::new(Recorder {
                latency: histogram(),
                lag: histogram(),
                sent: 0,
                ok: 0,
                errors: BTreeMap::new(),
                seconds: (0..duration.as_secs_f64().ceil() as u32)
                    .map(|second| {
                        (
                            SecondStats {
                                second,
                                ..Default::default()
                            },
                            second_histogram(),
                        )
                    })
                    .collect(),
            }),
            live: Live::default(),
            window_start,
            window_end,
        }
    }

    pub(crate) fn in_window(&self, at: Instant) -> bool {
        at >= self.window_start && at < self.window_end
    }

    /// Records one answered call that was due (`due`) and left (`sent_at`).
    pub(crate) fn finish(
        &self,
        due: Instant,
        sent_at: Instant,
        result: Result<Bytes, Status>,
        lag: bool,
    ) {
        let done = Instant::now();
        self.live.in_flight.fetch_sub(1, Ordering::Relaxed);
        match &result {
            Ok(_) => self.live.ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.live.failed.fetch_add(1, Ordering::Relaxed),
        };
        if !self.in_window(due) {
            return;
        }
        let mut r = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        let second = (due - self.window_start).as_secs() as usize;
        if let Some((stats, h)) = r.seconds.get_mut(second) {
            stats.sent += 1;
            match &result {
                Ok(_) => {
                    stats.ok += 1;
                    h.saturating_record(micros(done - due));
                }
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    stats.refused += 1
                }
                Err(_) => stats.failed += 1,
            }
        }
        r.sent += 1;
        if lag {
            r.lag
                .saturating_record(micros(sent_at.saturating_duration_since(due)));
        }
        match result {
            Ok(_) => {
                r.ok += 1;
                r.latency.saturating_record(micros(done - due));
            }
            Err(status) => {
                *r.errors
                    .entry(code_name(status.code()).to_owned())
                    .or_default() += 1
            }
        }
    }
}
