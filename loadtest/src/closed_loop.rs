//! The closed loop: a fixed number of callers, each sending as soon as its previous call is
//! answered; a caller refused with RESOURCE_EXHAUSTED first waits the RetryInfo delay.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use tonic::transport::Channel;

use crate::{
    LoadConfig,
    record::Shared,
    transport::{call, refusal_backoff},
};

/// Runs `concurrency` callers from `start` to the window's end, each sending its next call as soon
/// as the previous one is answered (after the RetryInfo delay when it was refused).
pub(crate) async fn closed_loop(
    config: &LoadConfig,
    channels: &[Channel],
    shared: &Arc<Shared>,
    start: Instant,
    concurrency: usize,
) {
    tokio::time::sleep_until(start.into()).await;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let channel = channels[worker % channels.len()].clone();
        let requests = config.requests.clone();
        let (shared, next, timeout) = (shared.clone(), next.clone(), config.timeout);
        tasks.spawn(async move {
            loop {
                let sent_at = Instant::now();
                if sent_at >= shared.window_end {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = requests[(i % requests.len() as u64) as usize].clone();
                shared.live.in_flight.fetch_add(1, Ordering::Relaxed);
                shared.live.sent.fetch_add(1, Ordering::Relaxed);
                let result = call(channel.clone(), body, timeout).await;
                let backoff = result.as_ref().err().and_then(refusal_backoff);
                shared.finish(sent_at, sent_at, result, false);
                // A refused caller waits as the server asked, as a well-behaved client does;
                // retrying at once would measure how fast the server refuses, not what it serves.
                if let Some(wait) = backoff {
                    tokio::time::sleep(wait).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
