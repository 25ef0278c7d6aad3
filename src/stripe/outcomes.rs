//! Forwarding outcomes to Stripe, for evaluations Stripe scored. **Off by default**
//! (`stripe.report_outcomes`): no published description confirms these calls' paths.
//!
//! What is published: the 2026-01-28.preview API reference has two pages,
//! "Report an Outcome for a Payment Evaluation"
//! (<https://docs.stripe.com/api/radar/payment-evaluation/report-outcome/report?api-version=2026-01-28.preview>:
//! `occurred_at`, `payment_evaluation`, `type`, `events[]`) and
//! "Report an Event for a Payment Evaluation"
//! (<https://docs.stripe.com/api/radar/payment-evaluation/report?api-version=2026-01-28.preview>:
//! `events[]`), which name the parameters but not the method or path; no version of Stripe's
//! OpenAPI description (`stripe/openapi`) and no official SDK has either call (Payment Evaluations
//! have `create` only). The evaluation object of the current spec carries the `outcome` and
//! `events[]` these calls set, with their value sets, and those are what riskgate sends (spec
//! fixture `report_calls`). The paths are inferred, from Stripe's custom-method convention and the
//! sibling resources (`…/customer_evaluations/{id}/report`, `…/account_evaluations/{id}/report_event`,
//! which do not agree on a suffix): `POST /v1/radar/payment_evaluations/{id}/report_outcome`
//! ([`OUTCOME_SUFFIX`]) and `…/{id}/report` ([`EVENT_SUFFIX`]).
//!
//! What is reported ([`StripeOutcome`]; values mapped in [`crate::stripe::report_values`]):
//!
//! | riskgate | Stripe call | parameters |
//! | --- | --- | --- |
//! | `authorized` | outcome | `type=succeeded` |
//! | `declined` (+ decline code) | outcome | `type=rejected`, `rejected[card][reason]` from the code, the card checks `unavailable` (riskgate does not know the issuer's) |
//! | riskgate's own BLOCK | outcome | `type=merchant_blocked`, `merchant_blocked[reason]=blocked_for_fraud` |
//! | `refunded` | event | `refunded{amount, currency, reason}`: the refund's reason, else `other` |
//! | `disputed` | event | `dispute_opened{amount, currency, reason}`: the dispute's reason, else `general` |
//! | `early_fraud_warning` | event | `early_fraud_warning_received{fraud_type}`: the warning's type, else `other` (never `misc`) |
//!
//! Amounts and currencies are the evaluated payment's; the outcome calls also name the evaluation
//! (`payment_evaluation`), as the reference page requires. Forwarding never runs in the request
//! path: [`OutcomeForwarder::submit`] puts the report on a bounded queue (a full queue drops it,
//! counted as `riskgate_upstream_outcome_reports_total{result="dropped"}`); a worker looks up the
//! Stripe evaluation (only evaluations Stripe scored have one) and sends the report with the
//! evaluation client's retry policy, within `stripe.outcome_report_budget_ms`, with an
//! `Idempotency-Key` derived from the riskgate evaluation and the report, so every retry (and a
//! re-report) is the same request to Stripe.

use std::{sync::Arc, time::Duration};

use tokio::sync::{Semaphore, mpsc};

use crate::{
    enrich::Enricher,
    stores::state::{Outcome, UpstreamRef},
    telemetry,
};
use crate::{
    scoring::remote::ErrorKind,
    stripe::{client::StripeClient, form::Form, report_values},
};

/// Appended to `/v1/radar/payment_evaluations/{id}` for "Report an Outcome" (inferred).
pub const OUTCOME_SUFFIX: &str = "/report_outcome";
/// Appended to `/v1/radar/payment_evaluations/{id}` for "Report an Event" (inferred).
pub const EVENT_SUFFIX: &str = "/report";

/// riskgate does not know the issuer's address and CVC check results of a declined payment; the
/// evaluation's `rejected.card` requires all three beside the reason.
const CHECK_UNKNOWN: &str = "unavailable";

/// Reports sent at the same time; more wait in the queue. Stripe answers in tens of
/// milliseconds, so a few concurrent reports keep up with thousands of outcomes a minute without
/// competing with evaluations for connections.
const CONCURRENT_REPORTS: usize = 8;

/// What the orchestrator or a webhook said about an outcome, in the words of Stripe's objects
/// where it has them (empty: not said).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeDetail {
    /// The processor's decline code (`declined`).
    pub decline_code: String,
    /// The dispute's `reason` (`disputed`).
    pub dispute_reason: String,
    /// The early fraud warning's `fraud_type` (`early_fraud_warning`).
    pub fraud_type: String,
    /// The refund's `reason` (`refunded`).
    pub refund_reason: String,
}

/// One report to Stripe on an evaluation, with the values it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeOutcome {
    /// Outcome `succeeded`.
    Succeeded,
    /// Outcome `rejected`, with `rejected[card][reason]`.
    Rejected { reason: &'static str },
    /// Outcome `merchant_blocked` (`blocked_for_fraud`): riskgate blocked the payment.
    MerchantBlocked,
    /// Event `refunded`, with its reason.
    Refunded { reason: &'static str },
    /// Event `dispute_opened`, with its reason.
    DisputeOpened { reason: &'static str },
    /// Event `early_fraud_warning_received`, with its fraud type.
    EarlyFraudWarning { fraud_type: &'static str },
}

impl StripeOutcome {
    /// The report of riskgate's `outcome`, with `detail` mapped onto the report's value sets;
    /// `None` for the outcomes Stripe's Payment Evaluations have no report for (the merchant's or
    /// an analyst's verdict: riskgate's outcome memory learns them, Stripe is not told).
    pub fn of(outcome: Outcome, detail: &OutcomeDetail) -> Option<Self> {
        Some(match outcome {
            Outcome::Authorized => StripeOutcome::Succeeded,
            Outcome::Declined => StripeOutcome::Rejected {
                reason: report_values::rejection_reason(&detail.decline_code),
            },
            Outcome::Refunded => StripeOutcome::Refunded {
                reason: report_values::refund_reason(&detail.refund_reason),
            },
            Outcome::Disputed => StripeOutcome::DisputeOpened {
                reason: report_values::dispute_reason(&detail.dispute_reason),
            },
            Outcome::EarlyFraudWarning => StripeOutcome::EarlyFraudWarning {
                fraud_type: report_values::fraud_type(&detail.fraud_type),
            },
            Outcome::MerchantReportedFraud
            | Outcome::AnalystRejected
            | Outcome::AnalystApproved => {
                return None;
            }
        })
    }

    /// Stripe's word for it (the outcome `type` or the event `type`); also the log field.
    pub fn as_str(self) -> &'static str {
        match self {
            StripeOutcome::Succeeded => "succeeded",
            StripeOutcome::Rejected { .. } => "rejected",
            StripeOutcome::MerchantBlocked => "merchant_blocked",
            StripeOutcome::Refunded { .. } => "refunded",
            StripeOutcome::DisputeOpened { .. } => "dispute_opened",
            StripeOutcome::EarlyFraudWarning { .. } => "early_fraud_warning_received",
        }
    }
}

/// One request to Stripe: its path (under the base URL) and form body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub path: String,
    pub body: String,
}

/// The Stripe request reporting `outcome` of the Stripe evaluation `upstream`, at `occurred_at`
/// (Unix seconds).
pub fn report(upstream: &UpstreamRef, outcome: StripeOutcome, occurred_at: i64) -> Report {
    let base = format!("{}/{}", crate::stripe::client::PATH, upstream.id);
    let at = occurred_at.to_string();
    let mut f = Form::default();
    let kind = outcome.as_str();
    let event = |f: &mut Form, details: &[(&str, &str)]| {
        f.pair("events[0][type]", kind);
        f.pair("events[0][occurred_at]", &at);
        for (k, v) in details {
            f.pair(&format!("events[0][{kind}][{k}]"), v);
        }
    };
    let suffix = match outcome {
        StripeOutcome::Succeeded
        | StripeOutcome::Rejected { .. }
        | StripeOutcome::MerchantBlocked => {
            f.pair("payment_evaluation", &upstream.id);
            f.pair("type", kind);
            f.pair("occurred_at", &at);
            match outcome {
                StripeOutcome::Rejected { reason } => {
                    f.pair("rejected[card][reason]", reason);
                    for check in [
                        "address_line1_check",
                        "address_postal_code_check",
                        "cvc_check",
                    ] {
                        f.pair(&format!("rejected[card][{check}]"), CHECK_UNKNOWN);
                    }
                }
                StripeOutcome::MerchantBlocked => {
                    f.pair("merchant_blocked[reason]", "blocked_for_fraud");
                }
                _ => {}
            }
            OUTCOME_SUFFIX
        }
        StripeOutcome::Refunded { reason } | StripeOutcome::DisputeOpened { reason } => {
            let amount = upstream.amount.to_string();
            event(
                &mut f,
                &[
                    ("amount", &amount),
                    ("currency", &upstream.currency),
                    ("reason", reason),
                ],
            );
            EVENT_SUFFIX
        }
        StripeOutcome::EarlyFraudWarning { fraud_type } => {
            event(&mut f, &[("fraud_type", fraud_type)]);
            EVENT_SUFFIX
        }
    };
    Report {
        path: format!("{base}{suffix}"),
        body: f.finish(),
    }
}

/// The `Idempotency-Key` of the report `kind` (a [`StripeOutcome::as_str`]) of riskgate's
/// `evaluation_id`: the same for every retry and every re-report, so Stripe applies it once.
/// ≤ 255 chars.
pub fn idempotency_key(evaluation_id: &str, kind: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(evaluation_id.as_bytes());
    h.update(b"|");
    h.update(kind.as_bytes());
    let mut key = String::with_capacity(17 + 64);
    key.push_str("riskgate-outcome-");
    for b in h.finalize() {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// A report to forward: riskgate's evaluation, what to report, when it happened.
#[derive(Debug, Clone)]
pub struct OutcomeJob {
    /// riskgate's evaluation id.
    pub evaluation_id: String,
    pub outcome: StripeOutcome,
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
    let request = report(&upstream, job.outcome, job.occurred_at);
    let key = idempotency_key(&job.evaluation_id, job.outcome.as_str());
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

    fn of(outcome: Outcome, detail: OutcomeDetail) -> StripeOutcome {
        StripeOutcome::of(outcome, &detail).expect("Stripe has a report for it")
    }

    #[test]
    fn outcomes_map_to_stripe_outcome_reports() {
        let r = report(&upstream(), StripeOutcome::Succeeded, 1_700_000_000);
        assert_eq!(
            r.path,
            "/v1/radar/payment_evaluations/peval_stripe1/report_outcome"
        );
        let p = params(&r);
        assert_eq!(get(&p, "type"), Some("succeeded"));
        assert_eq!(get(&p, "occurred_at"), Some("1700000000"));
        assert_eq!(get(&p, "payment_evaluation"), Some("peval_stripe1"));

        let declined = of(
            Outcome::Declined,
            OutcomeDetail {
                decline_code: "stolen_card".into(),
                ..Default::default()
            },
        );
        let p = params(&report(&upstream(), declined, 5));
        assert_eq!(get(&p, "type"), Some("rejected"));
        assert_eq!(get(&p, "rejected[card][reason]"), Some("reported_stolen"));
        assert_eq!(get(&p, "rejected[card][cvc_check]"), Some("unavailable"));

        let p = params(&report(&upstream(), StripeOutcome::MerchantBlocked, 5));
        assert_eq!(get(&p, "type"), Some("merchant_blocked"));
        assert_eq!(
            get(&p, "merchant_blocked[reason]"),
            Some("blocked_for_fraud")
        );
    }

    #[test]
    fn post_payment_outcomes_map_to_stripe_events_with_their_own_reasons() {
        let disputed = of(
            Outcome::Disputed,
            OutcomeDetail {
                dispute_reason: "product_not_received".into(),
                ..Default::default()
            },
        );
        let r = report(&upstream(), disputed, 7);
        assert_eq!(r.path, "/v1/radar/payment_evaluations/peval_stripe1/report");
        let p = params(&r);
        assert_eq!(get(&p, "events[0][type]"), Some("dispute_opened"));
        assert_eq!(get(&p, "events[0][occurred_at]"), Some("7"));
        assert_eq!(get(&p, "events[0][dispute_opened][amount]"), Some("2500"));
        assert_eq!(get(&p, "events[0][dispute_opened][currency]"), Some("eur"));
        assert_eq!(
            get(&p, "events[0][dispute_opened][reason]"),
            Some("product_not_received")
        );
        // A dispute nobody gave a reason for is not called fraud.
        let p = params(&report(
            &upstream(),
            of(Outcome::Disputed, OutcomeDetail::default()),
            7,
        ));
        assert_eq!(
            get(&p, "events[0][dispute_opened][reason]"),
            Some("general")
        );

        let p = params(&report(
            &upstream(),
            of(Outcome::Refunded, OutcomeDetail::default()),
            7,
        ));
        assert_eq!(get(&p, "events[0][refunded][amount]"), Some("2500"));
        assert_eq!(get(&p, "events[0][refunded][reason]"), Some("other"));

        let efw = of(
            Outcome::EarlyFraudWarning,
            OutcomeDetail {
                fraud_type: "misc".into(),
                ..Default::default()
            },
        );
        let p = params(&report(&upstream(), efw, 7));
        assert_eq!(
            get(&p, "events[0][type]"),
            Some("early_fraud_warning_received")
        );
        assert_eq!(
            get(&p, "events[0][early_fraud_warning_received][fraud_type]"),
            Some("other")
        );
        assert_eq!(
            get(&p, "events[0][early_fraud_warning_received][amount]"),
            None
        );
    }

    #[test]
    fn report_keys_are_stable_per_evaluation_and_report() {
        let a = idempotency_key("peval_1", "refunded");
        assert_eq!(a, idempotency_key("peval_1", "refunded"));
        assert_ne!(a, idempotency_key("peval_1", "dispute_opened"));
        assert_ne!(a, idempotency_key("peval_2", "refunded"));
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
