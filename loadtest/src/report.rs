//! The summary of a finished run: the window's figures, the per-second timeline, the step-down
//! phases with the time to recover, and the validity verdict.

use std::{sync::atomic::Ordering, time::Duration};

use hdrhistogram::Histogram;

use crate::{
    LoadConfig, Mode, Percentiles, Phase, SecondStats, StepDown, StepDownSummary, Summary,
    record::{Shared, micros, second_histogram},
    validity,
};

/// The summary of a finished run from what `shared` recorded, after a ramp of `ramp`; the generator
/// used `cpu_seconds` of CPU over the window's `wall` seconds.
pub(crate) fn summarize(
    config: &LoadConfig,
    shared: &Shared,
    ramp: Duration,
    cpu_seconds: f64,
    wall: f64,
) -> Summary {
    let generator = validity::generator_cpu(cpu_seconds, wall);
    let mut recorder = shared.recorder.lock().unwrap_or_else(|p| p.into_inner());
    for (stats, h) in recorder.seconds.iter_mut() {
        stats.p99_us = if h.is_empty() {
            0
        } else {
            h.value_at_quantile(0.99)
        };
    }
    let step_down = match (config.step_down, config.mode) {
        (Some(step), Mode::Open { rate, .. }) => Some(step_down_summary(
            &recorder.seconds,
            step,
            rate,
            config.p99_budget,
        )),
        _ => None,
    };
    let not_sent = shared.live.not_sent.load(Ordering::Relaxed);
    let duration_secs = config.duration.as_secs_f64();
    let send_lag = matches!(config.mode, Mode::Open { .. }).then(|| Percentiles::of(&recorder.lag));
    let warnings = validity::warnings(config, &generator, not_sent, send_lag.as_ref());
    let valid = validity::is_valid(&generator, not_sent);
    let (offered_rate, concurrency) = match config.mode {
        Mode::Open { rate, .. } => (Some(rate), None),
        Mode::Closed { concurrency } => (None, Some(concurrency)),
    };
    Summary {
        target: config.target.to_string(),
        mode: if offered_rate.is_some() {
            "open"
        } else {
            "closed"
        },
        offered_rate,
        concurrency,
        connections: config.connections,
        ramp_secs: ramp.as_secs_f64(),
        pacing_slack_us: config
            .pacing_slack
            .filter(|_| matches!(config.mode, Mode::Open { .. }))
            .map(|s| s.as_micros() as u64),
        warmup_secs: config.warmup.as_secs_f64(),
        duration_secs,
        sent: recorder.sent,
        ok: recorder.ok,
        errors: recorder.errors.clone(),
        achieved_rate: recorder.ok as f64 / duration_secs,
        latency_us: Percentiles::of(&recorder.latency),
        send_lag_us: send_lag,
        not_sent,
        calls_total: 1 + shared.live.sent.load(Ordering::Relaxed),
        generator,
        valid,
        warnings,
        timeline: recorder.seconds.iter().map(|(s, _)| s.clone()).collect(),
        step_down,
    }
}

/// The step-down figures from the per-second timeline.
pub(crate) fn step_down_summary(
    seconds: &[(SecondStats, Histogram<u64>)],
    step: StepDown,
    rate: f64,
    budget: Duration,
) -> StepDownSummary {
    let at = step.after.as_secs() as usize;
    let phase = |range: &[(SecondStats, Histogram<u64>)], offered_rate: f64| {
        let mut p = Phase {
            offered_rate,
            seconds: range.len() as u32,
            ..Default::default()
        };
        let mut h = second_histogram();
        for (s, sh) in range {
            p.sent += s.sent;
            p.ok += s.ok;
            p.refused += s.refused;
            p.failed += s.failed;
            let _ = h.add(sh);
        }
        p.refused_share = p.refused as f64 / (p.sent.max(1)) as f64;
        p.ok_rate = p.ok as f64 / (range.len().max(1)) as f64;
        p.latency_us = Percentiles::of(&h);
        p
    };
    let at = at.min(seconds.len());
    let budget_us = micros(budget);
    StepDownSummary {
        at_secs: step.after.as_secs_f64(),
        p99_budget_us: budget_us,
        before: phase(&seconds[..at], rate),
        after: phase(&seconds[at..], step.rate),
        recovered_after_secs: seconds[at..]
            .iter()
            .position(|(s, _)| s.refused == 0 && s.failed == 0 && s.ok > 0 && s.p99_us <= budget_us)
            .map(|n| n as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_is_the_first_clean_second_after_the_step() {
        let second = |n: u32, refused: u64, p99_us: u64| {
            let mut h = second_histogram();
            h.record(p99_us).unwrap();
            (
                SecondStats {
                    second: n,
                    sent: 100,
                    ok: 100 - refused,
                    refused,
                    failed: 0,
                    p99_us,
                },
                h,
            )
        };
        let seconds = vec![
            second(0, 50, 900),
            second(1, 50, 900),
            second(2, 3, 900),    // after the step, still refusing
            second(3, 0, 80_000), // nothing refused, but over the budget
            second(4, 0, 1_000),  // clean
            second(5, 0, 1_000),
        ];
        let step = StepDown {
            after: Duration::from_secs(2),
            rate: 50.0,
        };
        let s = step_down_summary(&seconds, step, 200.0, Duration::from_millis(50));
        assert_eq!(s.recovered_after_secs, Some(2));
        assert_eq!((s.before.sent, s.before.refused), (200, 100));
        assert_eq!(s.before.refused_share, 0.5);
        assert_eq!((s.after.seconds, s.after.refused), (4, 3));
    }
}
