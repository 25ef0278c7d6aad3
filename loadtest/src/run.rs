//! One run from start to end: checks, connections, the check call, the chosen loop with the
//! progress bar and the CPU sampler beside it, then the summary.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use prost::Message;
use riskgate::proto::v1::CreatePaymentEvaluationResponse;

use crate::{
    LoadConfig, LoadError, Mode, Summary,
    closed_loop::closed_loop,
    code_name,
    open_loop::open_loop,
    process_cpu_seconds,
    progress::progress_bar,
    record::Shared,
    report,
    transport::{call, connect},
};

/// Runs the load described by `config` and summarises it. Fails if the target cannot be reached or
/// its first answer is not an OK `CreatePaymentEvaluationResponse`.
pub async fn run(config: LoadConfig) -> Result<Summary, LoadError> {
    if config.requests.is_empty() {
        return Err(LoadError::NoRequests);
    }
    if config.connections == 0 {
        return Err(LoadError::NoConnections);
    }
    if config.duration.is_zero() {
        return Err(LoadError::ZeroDuration);
    }
    let mut channels = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        channels.push(connect(&config.target).await?);
    }
    // The check call: the target must speak the API and accept the traffic.
    let answer = call(
        channels[0].clone(),
        config.requests[0].clone(),
        config.timeout,
    )
    .await
    .map_err(|s| LoadError::FirstCall {
        code: code_name(s.code()),
        message: s.message().to_owned(),
    })?;
    CreatePaymentEvaluationResponse::decode(answer).map_err(LoadError::NotAResponse)?;

    let ramp = match config.mode {
        Mode::Open { ramp, .. } => ramp,
        Mode::Closed { .. } => Duration::ZERO,
    };
    if let Some(step) = config.step_down {
        if !matches!(config.mode, Mode::Open { .. }) {
            return Err(LoadError::StepDownNeedsOpenLoop);
        }
        if !(step.rate.is_finite() && step.rate > 0.0) {
            return Err(LoadError::BadStepDownRate);
        }
        if step.after.is_zero() || step.after >= config.duration || step.after.subsec_nanos() != 0 {
            return Err(LoadError::BadStepDownTime);
        }
    }
    let lead_in = ramp + config.warmup;
    let start = Instant::now() + Duration::from_millis(20);
    let window_start = start + lead_in;
    let window_end = window_start + config.duration;
    let shared = Arc::new(Shared::new(window_start, window_end, config.duration));

    let progress = progress_bar(&config, lead_in + config.duration, shared.clone(), start);
    // CPU is sampled at the window's edges by a task of its own.
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let (t0, c0) = (Instant::now(), process_cpu_seconds());
        tokio::time::sleep_until(window_end.into()).await;
        (process_cpu_seconds() - c0, t0.elapsed().as_secs_f64())
    });

    match config.mode {
        Mode::Open { rate, ramp } => {
            let step = config
                .step_down
                .map(|s| (window_start + s.after - start, s.rate));
            open_loop(&config, &channels, &shared, start, rate, ramp, step).await?
        }
        Mode::Closed { concurrency } => {
            closed_loop(&config, &channels, &shared, start, concurrency).await
        }
    }
    let (cpu_seconds, wall) = cpu.await.map_err(LoadError::CpuSampler)?;
    progress.stop.store(true, Ordering::Relaxed);
    let _ = progress.task.await;

    Ok(report::summarize(&config, &shared, ramp, cpu_seconds, wall))
}
