//! The open loop: calls on a fixed schedule whatever the server does, latency measured from each
//! slot's scheduled time (no coordinated omission).

use std::{
    io,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use tonic::transport::Channel;

use crate::{
    LoadConfig, LoadError, record::Shared, schedule::stepped_slot_offset, transport::call,
};

/// Sends the open-loop schedule from `start` to the window's end at `rate` (after a linear ramp
/// of `ramp`, changing once at `step`): a pacing thread emits the due slots, each becomes one call.
pub(crate) async fn open_loop(
    config: &LoadConfig,
    channels: &[Channel],
    shared: &Arc<Shared>,
    start: Instant,
    rate: f64,
    ramp: Duration,
    step: Option<(Duration, f64)>,
) -> Result<(), LoadError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(LoadError::BadRate);
    }
    let total = shared.window_end - start;
    // A plain thread paces the schedule: tokio's timer ticks in whole milliseconds, which would add
    // up to 1 ms of the generator's own delay to every measured latency; thread::sleep is finer.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let slack = config.pacing_slack;
    let pacer = std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || -> io::Result<()> {
            if let Some(slack) = slack {
                set_timer_slack(slack)?;
            }
            let mut i = 0u64;
            loop {
                let offset = stepped_slot_offset(i, rate, ramp, step);
                if offset >= total {
                    return Ok(());
                }
                let due = start + offset;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                // Emit every slot that is due by now (a batch when the sleep overshot).
                let now = Instant::now();
                loop {
                    let offset = stepped_slot_offset(i, rate, ramp, step);
                    let due = start + offset;
                    if offset >= total || due > now {
                        break;
                    }
                    if tx.send((i, due)).is_err() {
                        return Ok(());
                    }
                    i += 1;
                }
            }
        })
        .map_err(LoadError::Pacer)?;

    let mut tasks = tokio::task::JoinSet::new();
    while let Some((i, due)) = rx.recv().await {
        let live = &shared.live;
        if live.in_flight.load(Ordering::Relaxed) >= config.max_in_flight {
            if shared.in_window(due) {
                live.not_sent.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        live.in_flight.fetch_add(1, Ordering::Relaxed);
        live.sent.fetch_add(1, Ordering::Relaxed);
        let channel = channels[(i % channels.len() as u64) as usize].clone();
        let body = config.requests[(i % config.requests.len() as u64) as usize].clone();
        let shared = shared.clone();
        let timeout = config.timeout;
        tasks.spawn(async move {
            let sent_at = Instant::now();
            let result = call(channel, body, timeout).await;
            shared.finish(due, sent_at, result, true);
        });
        // Reap finished tasks as we go so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    let paced = pacer.join();
    while tasks.join_next().await.is_some() {}
    match paced {
        Ok(result) => result.map_err(LoadError::Pacer),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Lets the calling thread's sleeps end up to `slack` late (`PR_SET_TIMERSLACK`), so that the
/// kernel wakes it once for slots due close together.
#[cfg(target_os = "linux")]
fn set_timer_slack(slack: Duration) -> io::Result<()> {
    // 0 would mean "the default again": at least 1 ns.
    let ns = libc::c_ulong::try_from(slack.as_nanos())
        .unwrap_or(libc::c_ulong::MAX)
        .max(1);
    // SAFETY: PR_SET_TIMERSLACK takes a number and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_timer_slack(_: Duration) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--pacing-slack-us needs Linux (PR_SET_TIMERSLACK)",
    ))
}
