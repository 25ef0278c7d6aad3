//! The progress bar on the terminal while a run goes on.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{LoadConfig, record::Shared};

/// The progress bar's task and the flag that stops it.
pub(crate) struct Progress {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

/// Shows the run's phase, OK rate, failures and calls in flight every 250 ms (hidden unless
/// `config.progress`).
pub(crate) fn progress_bar(
    config: &LoadConfig,
    total: Duration,
    shared: Arc<Shared>,
    start: Instant,
) -> Progress {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = if config.progress {
        ProgressBar::new(total.as_millis() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
        )
        .expect("static template is valid"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let (mut last_ok, mut last_at) = (0u64, Instant::now());
        while !stop2.load(Ordering::Relaxed) {
            tick.tick().await;
            let now = Instant::now();
            let live = &shared.live;
            let ok = live.ok.load(Ordering::Relaxed);
            let rate = (ok - last_ok) as f64 / (now - last_at).as_secs_f64().max(1e-3);
            (last_ok, last_at) = (ok, now);
            let phase = if now < shared.window_start {
                "warm-up"
            } else if now < shared.window_end {
                "measuring"
            } else {
                "draining"
            };
            bar.set_position(now.saturating_duration_since(start).as_millis() as u64);
            bar.set_message(format!(
                "{phase}: {rate:>7.0}/s  ok {ok}  failed {}  in flight {}",
                live.failed.load(Ordering::Relaxed),
                live.in_flight.load(Ordering::Relaxed)
            ));
        }
        bar.finish_and_clear();
    });
    Progress { stop, task }
}
