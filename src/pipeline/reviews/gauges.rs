//! The queue as operators watch it: `riskgate_reviews_open`, `…_oldest_open_age_seconds` and
//! `…_over_sla`, refreshed after each change and by the desk's upkeep.

use crate::{stores::reviews::ReviewStore, telemetry};

/// Reads the queue's size and age from `store` and sets the gauges; a failure leaves them as
/// they were (and is logged at debug: the next refresh tries again).
pub async fn refresh(store: &dyn ReviewStore, now: i64, sla_secs: u64) {
    match store.stats(now, sla_secs).await {
        Ok(s) => {
            metrics::gauge!(telemetry::REVIEWS_OPEN).set(s.open as f64);
            metrics::gauge!(telemetry::REVIEWS_OLDEST_AGE).set(
                s.oldest_open_created
                    .map_or(0.0, |c| (now - c).max(0) as f64),
            );
            metrics::gauge!(telemetry::REVIEWS_OVER_SLA).set(s.over_sla as f64);
            metrics::gauge!(telemetry::REVIEWS_SLA).set(sla_secs as f64);
        }
        Err(e) => tracing::debug!(error = %e, "review queue gauges not refreshed"),
    }
}
