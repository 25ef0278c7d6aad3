//! What a run measured: the [`Summary`] and its parts, as JSON (serde) and as text for a person.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// One second of the window (by scheduled send time).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SecondStats {
    /// Seconds since the window started.
    pub second: u32,
    pub sent: u64,
    pub ok: u64,
    /// RESOURCE_EXHAUSTED answers: shed by the server.
    pub refused: u64,
    /// Every other error.
    pub failed: u64,
    /// p99 of the OK answers, µs (0 when none).
    pub p99_us: u64,
}

/// One phase of a step-down run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Phase {
    pub offered_rate: f64,
    pub seconds: u32,
    pub sent: u64,
    pub ok: u64,
    pub refused: u64,
    pub failed: u64,
    /// `refused ÷ sent`.
    pub refused_share: f64,
    /// OK answers per second.
    pub ok_rate: f64,
    /// Latency of the admitted (OK) calls, µs.
    pub latency_us: Percentiles,
}

/// The overload scenario's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepDownSummary {
    pub at_secs: f64,
    pub p99_budget_us: u64,
    pub before: Phase,
    pub after: Phase,
    /// Seconds from the step to the start of the first second with no errors and p99 within the
    /// budget (0: the very first second after the step was clean); `None`: never within the window.
    pub recovered_after_secs: Option<u32>,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// The generator's own resource use over the measured window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GeneratorCpu {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// `cpu_seconds` ÷ wall seconds: cores kept busy on average.
    pub cores_used: f64,
    /// Cores this process may run on (its affinity mask).
    pub cores_available: usize,
    pub saturated: bool,
}

/// What a run measured. Rates are per second of the measured window; latencies in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub target: String,
    /// `open` or `closed`.
    pub mode: &'static str,
    /// Open loop: the scheduled rate. Closed loop: absent.
    pub offered_rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub connections: usize,
    pub ramp_secs: f64,
    /// Open loop: the pacing thread's timer slack, µs, when set (`--pacing-slack-us`).
    pub pacing_slack_us: Option<u64>,
    pub warmup_secs: f64,
    pub duration_secs: f64,
    /// Calls started in the measured window.
    pub sent: u64,
    /// Of those, answered OK.
    pub ok: u64,
    /// Of those, failed, by canonical gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// OK answers per second of the window.
    pub achieved_rate: f64,
    /// Latency of the OK answers: from the scheduled send time (open loop) or the send (closed).
    pub latency_us: Percentiles,
    /// Open loop: how late calls left relative to their schedule (the generator's own lag).
    pub send_lag_us: Option<Percentiles>,
    /// Open loop: slots not sent because `max_in_flight` calls were outstanding.
    pub not_sent: u64,
    /// Every call sent in every phase (check call, ramp, warm-up, window), to compare with the
    /// server's own request counter.
    pub calls_total: u64,
    pub generator: GeneratorCpu,
    /// False when the generator, not the server, limited the run.
    pub valid: bool,
    pub warnings: Vec<String>,
    /// The window, second by second.
    pub timeline: Vec<SecondStats>,
    /// The step-down (overload) figures, when the run had one.
    pub step_down: Option<StepDownSummary>,
}

impl Summary {
    /// A human-readable summary.
    pub fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "target        {} ({} mode, {} connection(s))",
            self.target, self.mode, self.connections
        );
        match (self.offered_rate, self.concurrency) {
            (Some(rate), _) => {
                let _ = writeln!(
                    s,
                    "rate          offered {rate:.0}/s, achieved {:.0}/s ({:.1} %)",
                    self.achieved_rate,
                    100.0 * self.achieved_rate / rate.max(f64::MIN_POSITIVE)
                );
            }
            (None, Some(c)) => {
                let _ = writeln!(
                    s,
                    "rate          achieved {:.0}/s at concurrency {c}",
                    self.achieved_rate
                );
            }
            (None, None) => {}
        }
        let _ = writeln!(
            s,
            "window        {:.1} s after {:.1} s ramp + {:.1} s warm-up; {} sent, {} OK",
            self.duration_secs, self.ramp_secs, self.warmup_secs, self.sent, self.ok
        );
        let l = &self.latency_us;
        let _ = writeln!(
            s,
            "latency (µs)  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        );
        if let Some(slack) = self.pacing_slack_us {
            let _ = writeln!(s, "pacing        timer slack {slack} µs");
        }
        if let Some(lag) = &self.send_lag_us {
            let _ = writeln!(
                s,
                "send lag (µs) p50 {}  p99 {}  max {}",
                lag.p50, lag.p99, lag.max
            );
        }
        if self.errors.is_empty() {
            let _ = writeln!(s, "errors        none");
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "errors        {}", list.join(", "));
        }
        if self.not_sent > 0 {
            let _ = writeln!(
                s,
                "not sent      {} (too many calls in flight)",
                self.not_sent
            );
        }
        let g = &self.generator;
        let _ = writeln!(
            s,
            "generator CPU {:.2} s, {:.2} of {} core(s){}",
            g.cpu_seconds,
            g.cores_used,
            g.cores_available,
            if g.saturated { " — SATURATED" } else { "" }
        );
        let _ = writeln!(s, "calls total   {} (every phase)", self.calls_total);
        if let Some(sd) = &self.step_down {
            for (name, p) in [("before step", &sd.before), ("after step", &sd.after)] {
                let _ = writeln!(
                    s,
                    "{name:<13} offered {:.0}/s for {} s: OK {:.0}/s, refused {:.1} %, other errors {}, admitted p50 {} µs p99 {} µs",
                    p.offered_rate,
                    p.seconds,
                    p.ok_rate,
                    100.0 * p.refused_share,
                    p.failed,
                    p.latency_us.p50,
                    p.latency_us.p99
                );
            }
            let _ = match sd.recovered_after_secs {
                Some(t) => writeln!(
                    s,
                    "recovery      second +{t} after the step was the first clean one (no errors, p99 ≤ {} µs)",
                    sd.p99_budget_us
                ),
                None => writeln!(
                    s,
                    "recovery      NOT within the window (no second without errors and p99 ≤ {} µs)",
                    sd.p99_budget_us
                ),
            };
        }
        for w in &self.warnings {
            let _ = writeln!(s, "WARNING       {w}");
        }
        if !self.valid {
            let _ = writeln!(s, "RESULT        INVALID: the generator limited this run");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::histogram;

    #[test]
    fn percentiles_of_an_empty_histogram_are_zero() {
        assert_eq!(Percentiles::of(&histogram()), Percentiles::default());
        let mut h = histogram();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!((p.count, p.p50, p.max), (1000, 500, 1000));
        assert_eq!(p.p99, 990);
    }
}
