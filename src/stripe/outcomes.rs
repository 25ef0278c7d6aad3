//! Forwarding `ReportPaymentOutcome` to Stripe, for evaluations Stripe scored.
//!
//! Stripe's Payment Evaluation has two report calls (API reference, version
//! `2026-01-28.preview`):
//! - "Report an Outcome for a Payment Evaluation"
//!   (<https://docs.stripe.com/api/radar/payment-evaluation/report-outcome/report?api-version=2026-01-28.preview>):
//!   `type` = `succeeded | rejected | failed | merchant_blocked | processed_on_stripe`, and
//!   `occurred_at`; a rejection carries the issuer's reason in `rejected[card][reason]`.
//! - "Report an Event for a Payment Evaluation"
//!   (<https://docs.stripe.com/api/radar/payment-evaluation/report?api-version=2026-01-28.preview>):
//!   `events[]` with `type` (`refunded`, `dispute_opened`, `early_fraud_warning_received`, …),
//!   `occurred_at` and the event's details (`amount`, `currency`, `reason` / `fraud_type`).
//!
//! The reference pages name the calls and their parameters; the paths follow Stripe's
//! custom-method convention for evaluations (`POST /v1/radar/customer_evaluations/{id}/report` is
//! the documented sibling): `/v1/radar/payment_evaluations/{id}/report_outcome` and
//! `/v1/radar/payment_evaluations/{id}/report` ([`OUTCOME_SUFFIX`], [`EVENT_SUFFIX`]).
//!
//! riskgate's outcomes map as follows:
//!
//! | riskgate outcome | Stripe call | parameters |
//! | --- | --- | --- |
//! | `authorized` | outcome | `type=succeeded` |
//! | `declined` (+ decline code) | outcome | `type=rejected`, `rejected[card][reason]` from the code ([`rejection_reason`]) |
//! | `refunded` | event | `refunded{amount, currency, reason=requested_by_customer}` (riskgate's outcome has no refund reason) |
//! | `disputed` | event | `dispute_opened{amount, currency, reason=fraudulent}` (riskgate counts disputes as fraud) |
//! | `early_fraud_warning` | event | `early_fraud_warning_received{fraud_type=misc}` |
//!
//! Amounts and currencies are the evaluated payment's. Forwarding never runs in the request path:
//! [`OutcomeForwarder::submit`] puts the report on a bounded queue (a full queue drops it, counted
//! as `riskgate_upstream_outcome_reports_total{result="dropped"}`); a worker looks up the Stripe
//! evaluation (only evaluations Stripe scored have one) and sends the report with the evaluation
//! client's retry policy, within `stripe.outcome_report_budget_ms`, with an `Idempotency-Key`
//! derived from the riskgate evaluation and the outcome, so every retry (and a re-report) is the
//! same request to Stripe.

use std::{sync::Arc, time::Duration};

use tokio::sync::{Semaphore, mpsc};

use crate::{
    enrich::Enricher,
    stores::state::{Outcome, UpstreamRef},
    telemetry,
};
use crate::{
    scoring::remote::ErrorKind,
    stripe::{client::StripeClient, form::Form},
};

/// Appended to `/v1/radar/payment_evaluations/{id}` for "Report an Outcome".
pub const OUTCOME_SUFFIX: &str = "/report_outcome";
/// Appended to `/v1/radar/payment_evaluations/{id}` for "Report an Event".
pub const EVENT_SUFFIX: &str = "/report";

/// Reports sent at the same time; more wait in the queue. Stripe answers in tens of
/// milliseconds, so a few concurrent reports keep up with thousands of outcomes a minute without
/// competing with evaluations for connections.
const CONCURRENT_REPORTS: usize = 8;

/// One request to Stripe: its path (under the base URL) and form body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub path: String,
    pub body: String,
}

/// The Stripe request reporting `outcome` of the Stripe evaluation `upstream`; `None` for the
/// outcomes Stripe's Payment Evaluations have no report for (the merchant's or an analyst's
/// verdict: riskgate's outcome memory learns them, Stripe is not told).
pub fn report(
    upstream: &UpstreamRef,
    outcome: Outcome,
    decline_reason: &str,
    occurred_at: i64,
) -> Option<Report> {
    let base = format!("{}/{}", crate::stripe::client::PATH, upstream.id);
    let at = occurred_at.to_string();
    let mut f = Form::default();
    let suffix = match outcome {
        Outcome::Authorized => {
            f.pair("type", "succeeded");
            f.pair("occurred_at", &at);
            OUTCOME_SUFFIX
        }
        Outcome::Declined => {
            f.pair("type", "rejected");
            f.pair("occurred_at", &at);
            f.pair("rejected[card][reason]", rejection_reason(decline_reason));
            OUTCOME_SUFFIX
        }
        Outcome::Refunded | Outcome::Disputed | Outcome::EarlyFraudWarning => {
            let (kind, details): (&str, [(&str, &str); 1]) = match outcome {
                Outcome::Refunded => ("refunded", [("reason", "requested_by_customer")]),
                Outcome::Disputed => ("dispute_opened", [("reason", "fraudulent")]),
                _ => ("early_fraud_warning_received", [("fraud_type", "misc")]),
            };
            f.pair("events[0][type]", kind);
            f.pair("events[0][occurred_at]", &at);
            if outcome != Outcome::EarlyFraudWarning {
                f.pair(
                    &format!("events[0][{kind}][amount]"),
                    &upstream.amount.to_string(),
                );
                f.pair(&format!("events[0][{kind}][currency]"), &upstream.currency);
            }
            for (k, v) in details {
                f.pair(&format!("events[0][{kind}][{k}]"), v);
            }
            EVENT_SUFFIX
        }
        Outcome::MerchantReportedFraud | Outcome::AnalystRejected | Outcome::AnalystApproved => {
            return None;
        }
    };
    Some(Report {
        path: format!("{base}{suffix}"),
        body: f.finish(),
    })
}

/// Stripe's `rejected[card][reason]` for a processor decline code (Stripe's decline codes and
/// common synonyms); anything else is `other`.
pub fn rejection_reason(decline_code: &str) -> &'static str {
    match decline_code {
        "insufficient_funds" => "insufficient_funds",
        "do_not_honor" | "do_not_try_again" => "do_not_honor",
        "expired_card" | "expired" => "expired",
        "incorrect_cvc" | "invalid_cvc" => "incorrect_cvc",
        "incorrect_number" | "invalid_number" => "incorrect_number",
        "incorrect_zip" | "incorrect_postal_code" => "incorrect_postal_code",
        "invalid_account" => "invalid_account",
        "lost_card" => "lost_card",
        "stolen_card" | "reported_stolen" | "pickup_card" => "reported_stolen",
        "processing_error" => "processing_error",
        "try_again_later" | "issuer_not_available" | "reenter_transaction" => "try_again_later",
        "authentication_required" | "authentication_failed" => "authentication_failed",
        _ => "other",
    }
}

/// The `Idempotency-Key` of the report of `outcome` of riskgate's `evaluation_id`: the same for
/// every retry and every re-report, so Stripe applies it once. ≤ 255 chars.
pub fn idempotency_key(evaluation_id: &str, outcome: Outcome) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(evaluation_id.as_bytes());
    h.update(b"|");
    h.update(outcome.as_str().as_bytes());
    let mut key = String::with_capacity(17 + 64);
    key.push_str("riskgate-outcome-");
    for b in h.finalize() {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// An outcome to forward, as `ReportPaymentOutcome` recorded it.
#[derive(Debug, Clone)]
pub struct OutcomeJob {
    /// riskgate's evaluation id.
    pub evaluation_id: String,
    pub outcome: Outcome,
    /// With `declined` only.
    pub decline_reason: String,
    /// Unix seconds.
    pub occurred_at: i64,
}

/// Forwards outcomes in the background; see the module docs.
#[derive(Clone)]
pub struct OutcomeForwarder {
    tx: mpsc::Sender<OutcomeJob>,
}

impl std::fmt::Debug for OutcomeForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeForwarder")
            .field("capacity", &self.tx.max_capacity())
            .finish()
    }
}

impl OutcomeForwarder {
    /// Starts the worker: at most `capacity` reports wait; each is sent within `budget`.
    pub fn start(
        client: Arc<StripeClient>,
        enricher: Arc<Enricher>,
        capacity: usize,
        budget: Duration,
    ) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(run(rx, client, enricher, budget));
        Self { tx }
    }

    /// Queues `job`; never waits. A full queue drops it (counted and logged).
    pub fn submit(&self, job: OutcomeJob) {
        if let Err(e) = self.tx.try_send(job) {
            let job = match e {
                mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => {
                    job
                }
            };
            count("dropped");
            tracing::warn!(
                evaluation = %job.evaluation_id,
                outcome = job.outcome.as_str(),
                "outcome report queue full; not forwarded to Stripe"
            );
        }
    }
}

fn count(result: &'static str) {
    metrics::counter!(telemetry::UPSTREAM_OUTCOME_REPORTS, "result" => result).increment(1);
}

async fn run(
    mut rx: mpsc::Receiver<OutcomeJob>,
    client: Arc<StripeClient>,
    enricher: Arc<Enricher>,
    budget: Duration,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_REPORTS));
    while let Some(job) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (client, enricher) = (client.clone(), enricher.clone());
        tokio::spawn(async move {
            forward(&client, &enricher, &job, budget).await;
            drop(slot);
        });
    }
}

/// Sends one report, if Stripe scored the evaluation.
async fn forward(client: &StripeClient, enricher: &Enricher, job: &OutcomeJob, budget: Duration) {
    let upstream = match enricher.upstream_ref(&job.evaluation_id).await {
        Ok(Some(upstream)) => upstream,
        // Scored locally (or forgotten): nothing to tell Stripe.
        Ok(None) => return,
        Err(e) => {
            count("error");
            tracing::warn!(
                evaluation = %job.evaluation_id,
                error = %e,
                "outcome not forwarded to Stripe: state unavailable"
            );
            return;
        }
    };
    let Some(request) = report(&upstream, job.outcome, &job.decline_reason, job.occurred_at) else {
        return;
    };
    let key = idempotency_key(&job.evaluation_id, job.outcome);
    match client.report(&request, &key, budget).await {
        Ok(attempts) => {
            count("ok");
            tracing::debug!(
                evaluation = %job.evaluation_id,
                stripe_evaluation = %upstream.id,
                outcome = job.outcome.as_str(),
                attempts,
                "outcome forwarded to Stripe"
            );
        }
        Err(e) => {
            count(match e.kind {
                ErrorKind::BreakerOpen => "breaker_open",
                ErrorKind::Status(s) if !e.retryable && s < 500 => "rejected",
                _ => "error",
            });
            tracing::warn!(
                evaluation = %job.evaluation_id,
                stripe_evaluation = %upstream.id,
                outcome = job.outcome.as_str(),
                error = %e,
                "outcome not forwarded to Stripe"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::form::decode;

    fn upstream() -> UpstreamRef {
        UpstreamRef {
            id: "peval_stripe1".into(),
            amount: 2500,
            currency: "eur".into(),
        }
    }

    fn params(r: &Report) -> Vec<(String, String)> {
        decode(&r.body).unwrap()
    }

    fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
        p.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn outcomes_map_to_stripe_outcome_reports() {
        let r = report(&upstream(), Outcome::Authorized, "", 1_700_000_000).unwrap();
        assert_eq!(
            r.path,
            "/v1/radar/payment_evaluations/peval_stripe1/report_outcome"
        );
        let p = params(&r);
        assert_eq!(get(&p, "type"), Some("succeeded"));
        assert_eq!(get(&p, "occurred_at"), Some("1700000000"));

        let r = report(&upstream(), Outcome::Declined, "stolen_card", 5).unwrap();
        let p = params(&r);
        assert_eq!(get(&p, "type"), Some("rejected"));
        assert_eq!(get(&p, "rejected[card][reason]"), Some("reported_stolen"));
        assert_eq!(rejection_reason(""), "other");
        assert_eq!(rejection_reason("generic_decline"), "other");
        assert_eq!(rejection_reason("expired_card"), "expired");
    }

    #[test]
    fn post_payment_outcomes_map_to_stripe_events() {
        let r = report(&upstream(), Outcome::Disputed, "", 7).unwrap();
        assert_eq!(r.path, "/v1/radar/payment_evaluations/peval_stripe1/report");
        let p = params(&r);
        assert_eq!(get(&p, "events[0][type]"), Some("dispute_opened"));
        assert_eq!(get(&p, "events[0][occurred_at]"), Some("7"));
        assert_eq!(get(&p, "events[0][dispute_opened][amount]"), Some("2500"));
        assert_eq!(get(&p, "events[0][dispute_opened][currency]"), Some("eur"));
        assert_eq!(
            get(&p, "events[0][dispute_opened][reason]"),
            Some("fraudulent")
        );

        let p = params(&report(&upstream(), Outcome::Refunded, "", 7).unwrap());
        assert_eq!(get(&p, "events[0][refunded][amount]"), Some("2500"));
        assert_eq!(
            get(&p, "events[0][refunded][reason]"),
            Some("requested_by_customer")
        );

        let p = params(&report(&upstream(), Outcome::EarlyFraudWarning, "", 7).unwrap());
        assert_eq!(
            get(&p, "events[0][type]"),
            Some("early_fraud_warning_received")
        );
        assert_eq!(
            get(&p, "events[0][early_fraud_warning_received][fraud_type]"),
            Some("misc")
        );
        assert_eq!(
            get(&p, "events[0][early_fraud_warning_received][amount]"),
            None
        );
    }

    #[test]
    fn report_keys_are_stable_per_evaluation_and_outcome() {
        let a = idempotency_key("peval_1", Outcome::Refunded);
        assert_eq!(a, idempotency_key("peval_1", Outcome::Refunded));
        assert_ne!(a, idempotency_key("peval_1", Outcome::Disputed));
        assert_ne!(a, idempotency_key("peval_2", Outcome::Refunded));
        assert!(a.len() <= 255 && a.starts_with("riskgate-outcome-"));
    }

    #[test]
    fn upstream_refs_round_trip() {
        let r = upstream();
        assert_eq!(UpstreamRef::decode(&r.encode()), Some(r));
        assert_eq!(UpstreamRef::decode("|1|usd"), None);
        assert_eq!(UpstreamRef::decode("peval_1|x|usd"), None);
    }
}
