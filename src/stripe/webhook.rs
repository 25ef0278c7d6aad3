//! Stripe webhooks: the acceptance of the events riskgate learns from, once the `Stripe-Signature`
//! header says a delivery is genuine ([`crate::stripe::signature`]).
//!
//! Handled events ([`HANDLED_EVENTS`]): `radar.early_fraud_warning.created|updated` and
//! `charge.dispute.created|closed`. A genuine one is accepted into the deliveries ledger
//! ([`crate::stores::webhooks`]: deduplicated by event id, durably) and queued; Stripe hears 2xx as
//! soon as it is accepted. The charge it names is fetched and its label applied off the request
//! path ([`crate::stripe::webhook_worker`]). A delivery the ledger cannot record is answered 500, so
//! Stripe delivers it again.

use std::time::Duration;

use serde_json::Value;

pub use crate::stripe::events::HANDLED_EVENTS;
pub use crate::stripe::signature::{SignatureError, sign_header};
use crate::{
    stores::{StoreError, webhooks::WebhookLedger},
    stripe::{events::WebhookJob, webhook_worker::Queue},
    telemetry,
};

/// What became of a genuine webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A handled event (its type), accepted: its label is applied in the background.
    Accepted { event: String },
    /// Accepted before (Stripe redelivers; here or on another replica): nothing done again.
    Duplicate,
    /// A genuine event of a type riskgate does not act on.
    Ignored,
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("payload: {0}")]
    Payload(String),
    /// The deliveries ledger could not record it (journal, Redis): Stripe delivers it again.
    #[error("deliveries ledger: {0}")]
    Ledger(StoreError),
}

/// Verifies Stripe webhooks and accepts the handled ones.
pub struct WebhookHandler {
    secret: crate::config::Secret,
    tolerance: Duration,
    ledger: WebhookLedger,
    queue: Queue,
}

impl std::fmt::Debug for WebhookHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandler").finish_non_exhaustive()
    }
}

impl WebhookHandler {
    /// A handler accepting into `ledger` and handing accepted events to `queue`.
    pub fn new(
        secret: crate::config::Secret,
        tolerance: Duration,
        ledger: WebhookLedger,
        queue: Queue,
    ) -> Self {
        Self {
            secret,
            tolerance,
            ledger,
            queue,
        }
    }

    /// How far a signature's timestamp may be from now (`webhooks.tolerance_secs`).
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Verifies and accepts one delivery.
    pub async fn handle(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Handled, WebhookError> {
        let count = |outcome: &'static str, event: &'static str| {
            metrics::counter!(telemetry::WEBHOOKS, "outcome" => outcome, "event" => event)
                .increment(1);
        };
        if let Err(e) = crate::stripe::signature::verify(
            signature_header,
            body,
            self.secret.expose(),
            self.tolerance,
            now_unix,
        ) {
            count("bad_signature", "unknown");
            return Err(e.into());
        }
        let event: Value = serde_json::from_slice(body).map_err(|e| {
            count("bad_payload", "unknown");
            WebhookError::Payload(e.to_string())
        })?;
        let job = match WebhookJob::from_event(&event) {
            Ok(Some(job)) => job,
            Ok(None) => {
                count("ignored", "other");
                return Ok(Handled::Ignored);
            }
            Err(e) => {
                count("bad_payload", "unknown");
                return Err(WebhookError::Payload(e.to_string()));
            }
        };
        let kind = HANDLED_EVENTS
            .iter()
            .copied()
            .find(|k| *k == job.kind)
            .unwrap_or("other");
        let kept = serde_json::to_value(&job).expect("jobs serialize");
        match self.ledger.accept(&job.event, kept).await {
            Ok(true) => {}
            Ok(false) => {
                count("duplicate", kind);
                return Ok(Handled::Duplicate);
            }
            Err(e) => {
                count("error", kind);
                return Err(WebhookError::Ledger(e));
            }
        }
        tracing::info!(
            event = %job.event,
            kind,
            object = %job.object,
            charge = %job.charge_id(),
            "stripe webhook accepted"
        );
        self.queue.submit(job);
        count("accepted", kind);
        Ok(Handled::Accepted {
            event: kind.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_795_000_000;
    const TOL: Duration = Duration::from_secs(300);

    fn handler(capacity: usize) -> (WebhookHandler, crate::stripe::webhook_worker::Jobs) {
        let (queue, jobs) = crate::stripe::webhook_worker::queue();
        let ledger = WebhookLedger::in_memory(capacity);
        (WebhookHandler::new(SECRET.into(), TOL, ledger, queue), jobs)
    }

    async fn send(h: &WebhookHandler, body: &str) -> Result<Handled, WebhookError> {
        let sig = sign_header(SECRET, NOW, body.as_bytes());
        h.handle(Some(&sig), body.as_bytes(), NOW).await
    }

    #[tokio::test]
    async fn events_as_stripe_sends_them_are_accepted_once_and_queued() {
        let (h, mut jobs) = handler(100);
        let efw = serde_json::json!({
            "id": "evt_efw_1", "object": "event", "type": "radar.early_fraud_warning.created",
            "data": {"object": {
                "id": "issfr_1", "object": "radar.early_fraud_warning", "actionable": true,
                "fraud_type": "made_with_stolen_card", "created": NOW, "charge": "ch_1",
            }},
        })
        .to_string();
        assert_eq!(
            send(&h, &efw).await.unwrap(),
            Handled::Accepted {
                event: "radar.early_fraud_warning.created".into()
            }
        );
        assert_eq!(send(&h, &efw).await.unwrap(), Handled::Duplicate);
        let job = jobs.try_recv().unwrap();
        assert_eq!(job.event, "evt_efw_1");
        assert_eq!(job.charge_id(), "ch_1");
        assert!(jobs.try_recv().is_err(), "a redelivery is not queued");

        let other = r#"{"id":"evt_c","type":"charge.succeeded","data":{"object":{}}}"#;
        assert_eq!(send(&h, other).await.unwrap(), Handled::Ignored);
        let broken =
            r#"{"id":"evt_d","type":"charge.dispute.created","data":{"object":{"id":"du_1"}}}"#;
        assert!(matches!(
            send(&h, broken).await,
            Err(WebhookError::Payload(_))
        ));
        let sig = sign_header("whsec_other", NOW, efw.as_bytes());
        assert!(matches!(
            h.handle(Some(&sig), efw.as_bytes(), NOW).await,
            Err(WebhookError::Signature(SignatureError::Mismatch))
        ));
    }
}
