//! Shadow mode: the local model answers; Stripe scores the same payment in the background, off the
//! request path, and the agreement between the two is recorded.

use std::{sync::Arc, time::Duration};

use crate::{
    enrich::{Enricher, Served},
    scoring::remote::{RemoteRequest, RemoteScorer, UpstreamError},
    stores::state::UpstreamRef,
    stripe::outcomes::{OutcomeForwarder, OutcomeJob, StripeOutcome},
    telemetry,
};
use riskgate_core::{decision::Action, engine::Verdict};

/// What a shadow call needs to make Stripe's evaluation reportable (outcome forwarding on).
pub struct Remember {
    pub enricher: Arc<Enricher>,
    /// riskgate's evaluation id.
    pub evaluation_id: String,
    /// Which state backend served the evaluation.
    pub served: Served,
    /// Where riskgate's own block is reported (`merchant_blocked`).
    pub forwarder: OutcomeForwarder,
    /// The evaluation's time, Unix seconds.
    pub at: i64,
}

/// Scores `request` on `remote` within `budget` in a background task and compares with `answered`.
/// With `remember`, Stripe's evaluation is remembered for outcome forwarding (and, when the
/// answer blocked, that block is reported to Stripe); `payment` carries its amount and currency.
/// A payment that cannot be put in a Stripe request is counted as a failed shadow call.
pub fn spawn(
    remote: Arc<dyn RemoteScorer>,
    request: Result<RemoteRequest, UpstreamError>,
    budget: Duration,
    answered: &Verdict,
    remember: Option<Remember>,
    payment: UpstreamRef,
) {
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            failed(&e);
            return;
        }
    };
    let (action, risk_score) = (answered.action, answered.risk_score);
    tokio::spawn(async move {
        match remote.score(&request, budget).await {
            Ok(rs) => {
                if let Some(r) = &remember
                    && let Some(stripe_id) = rs.id.as_deref().filter(|id| !id.is_empty())
                {
                    let upstream = UpstreamRef {
                        id: stripe_id.to_owned(),
                        ..payment
                    };
                    r.enricher
                        .remember_upstream(&r.evaluation_id, &upstream, r.served)
                        .await;
                    if action == Action::Block {
                        r.forwarder.submit(OutcomeJob {
                            evaluation_id: r.evaluation_id.clone(),
                            outcome: StripeOutcome::MerchantBlocked,
                            occurred_at: r.at,
                        });
                    }
                }
                let agree = rs.recommended_action.as_deref() == Some(action.as_str());
                metrics::counter!(
                    telemetry::SHADOW_COMPARISONS,
                    "agreement" => if agree { "agree" } else { "disagree" }
                )
                .increment(1);
                if let Some(score) = rs.score {
                    metrics::histogram!(telemetry::SHADOW_SCORE_DIFFERENCE)
                        .record((score - f64::from(risk_score)).abs());
                }
            }
            Err(e) => failed(&e),
        }
    });
}

fn failed(e: &UpstreamError) {
    tracing::debug!(error = %e, "shadow Stripe call failed");
    metrics::counter!(telemetry::SHADOW_COMPARISONS, "agreement" => "shadow_failed").increment(1);
}
