//! Opening reviews off the request path: the record stage hands a REVIEW decision's review to
//! [`ReviewOpener::submit`], which writes it in a task of its own. At most
//! `reviews.max_pending_opens` writes run at once; a decision beyond that, a full queue or a
//! failed write opens no review — the evaluation is answered all the same — and is counted in
//! `riskgate_reviews_not_opened_total{cause}`.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::gauges;
use crate::{
    clock::Clock,
    stores::{
        StoreError,
        reviews::{Review, ReviewStore},
    },
    telemetry,
};

/// Opens reviews in the background (see the module docs).
#[derive(Clone)]
pub struct ReviewOpener {
    store: Arc<dyn ReviewStore>,
    pending: Arc<Semaphore>,
    clock: Clock,
    sla_secs: u64,
}

impl std::fmt::Debug for ReviewOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewOpener")
            .field("available", &self.pending.available_permits())
            .finish_non_exhaustive()
    }
}

impl ReviewOpener {
    pub fn new(
        store: Arc<dyn ReviewStore>,
        max_pending: usize,
        clock: Clock,
        sla_secs: u64,
    ) -> Self {
        Self {
            store,
            pending: Arc::new(Semaphore::new(max_pending)),
            clock,
            sla_secs,
        }
    }

    /// Writes `review` in the background; never waits.
    pub fn submit(&self, review: Review) {
        let Ok(permit) = self.pending.clone().try_acquire_owned() else {
            not_opened("overloaded", &review.id, "too many reviews being written");
            return;
        };
        let store = self.store.clone();
        let (now, sla) = (self.clock.now(), self.sla_secs);
        tokio::spawn(async move {
            let _permit = permit;
            let (id, reason) = (review.id.clone(), review.opened_reason);
            match store.open(review, now).await {
                Ok(()) => {
                    metrics::counter!(telemetry::REVIEWS_OPENED, "reason" => reason.as_str())
                        .increment(1);
                    tracing::debug!(review = %id, reason = reason.as_str(), "review opened");
                    gauges::refresh(store.as_ref(), now, sla).await;
                }
                Err(StoreError::Refused(m)) => not_opened("queue_full", &id, &m),
                Err(e) => not_opened("store_error", &id, &e.to_string()),
            }
        });
    }

    /// Waits until every review submitted so far is written (tests, shutdown).
    pub async fn flush(&self, max_pending: usize) {
        let _all = self.pending.acquire_many(max_pending as u32).await;
    }
}

fn not_opened(cause: &'static str, id: &str, why: &str) {
    metrics::counter!(telemetry::REVIEWS_NOT_OPENED, "cause" => cause).increment(1);
    tracing::warn!(review = %id, cause, error = %why, "a REVIEW decision opened no review");
}
