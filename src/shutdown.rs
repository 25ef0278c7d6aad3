//! The shutdown signal every long-running task listens to: a `watch` channel that turns `true` once
//! the server starts shutting down.

use tokio::sync::watch;

/// Resolves once shutdown has been requested (or the sender is gone).
pub async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
