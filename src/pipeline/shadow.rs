//! Shadow mode: the local model answers; Stripe scores the same payment in the background, off the
//! request path, and the agreement between the two is recorded.

use std::{sync::Arc, time::Duration};

use crate::{
    enrich::{Enricher, Served},
    scoring::remote::{RemoteRequest, RemoteScorer},
    stores::state::UpstreamRef,
    telemetry,
};
use riskgate_core::engine::Verdict;

/// Scores `request` on `remote` within `budget` in a background task and compares with `answered`.
/// With `remember` (the enricher, the evaluation id and which backend served it), Stripe's
/// evaluation is remembered for outcome forwarding; `payment` carries its amount and currency.
pub fn spawn(
    remote: Arc<dyn RemoteScorer>,
    request: RemoteRequest,
    budget: Duration,
    answered: &Verdict,
    remember: Option<(Arc<Enricher>, String, Served)>,
    payment: UpstreamRef,
) {
    let (action, risk_score) = (answered.action, answered.risk_score);
    tokio::spawn(async move {
        match remote.score(&request, budget).await {
            Ok(rs) => {
                if let Some((enricher, id, served)) = &remember
                    && let Some(stripe_id) = rs.id.as_deref().filter(|id| !id.is_empty())
                {
                    let r = UpstreamRef {
                        id: stripe_id.to_owned(),
                        ..payment
                    };
                    enricher.remember_upstream(id, &r, *served).await;
                }
                let agree = rs.recommended_action.as_deref() == Some(action.as_str());
                metrics::counter!(
                    telemetry::SHADOW_COMPARISONS,
                    "agreement" => if agree { "agree" } else { "disagree" }
                )
                .increment(1);
                metrics::histogram!(telemetry::SHADOW_SCORE_DIFFERENCE)
                    .record((rs.score - f64::from(risk_score)).abs());
            }
            Err(e) => {
                tracing::debug!(error = %e, "shadow Stripe call failed");
                metrics::counter!(telemetry::SHADOW_COMPARISONS, "agreement" => "shadow_failed")
                    .increment(1);
            }
        }
    });
}
