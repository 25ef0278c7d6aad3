//! An analyst's verdict on a reviewed evaluation, fed back through the outcome-report path
//! ([`Pipeline::report_outcome_with`], the same call `ReportPaymentOutcome` and the Stripe webhooks
//! make): it updates the state the next evaluation reads — every key the evaluation carried (card,
//! email, IP, customer, device, addresses), remembered under its id — and is forwarded to Stripe
//! (when `stripe.report_outcomes` is on and Stripe scored the evaluation) as the matching report.
//!
//! | verdict | recorded as | forwarded to Stripe |
//! | --- | --- | --- |
//! | approve (legitimate) | `authorized` | outcome `succeeded` |
//! | reject (fraud) | `refunded`, refund reason `fraudulent` (Stripe closes a review rejected as fraud by refunding it: `refunded_as_fraud`) | event `refunded{amount, currency, reason=fraudulent}` |
//!
//! **Seam for outcome memory (issue 15, branch `loop`, not on main yet):** its state `Outcome`
//! gains `AnalystRejected` and `AnalystApproved`, remembered per entity as the core's
//! `OutcomeLabel::AnalystRejected` (fraud) and `AnalystApproved`. When it lands, [`Verdict::report`]
//! is the one place to change: `Fraud` → `Outcome::AnalystRejected`, `Legitimate` →
//! `Outcome::AnalystApproved` (loop forwards neither to Stripe; keep the refund event above for
//! `Fraud` by reporting it beside, if wanted).
//!
//! An outcome counts once per evaluation: a verdict after the merchant already reported the same
//! outcome (or a second verdict) answers `Duplicate` and changes nothing.

use super::Pipeline;
use crate::{
    stores::{
        StoreError,
        state::{Outcome, OutcomeResult},
    },
    stripe::outcomes::OutcomeDetail,
};

/// What the analyst decided about a reviewed payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Approved: a good payment.
    Legitimate,
    /// Rejected as fraud.
    Fraud,
}

/// Stripe's refund reason for a payment refunded as fraud.
const FRAUDULENT: &str = "fraudulent";

impl Verdict {
    /// The outcome report it makes (see the module docs).
    pub fn report(self) -> (Outcome, OutcomeDetail) {
        match self {
            Verdict::Legitimate => (Outcome::Authorized, OutcomeDetail::default()),
            Verdict::Fraud => (
                Outcome::Refunded,
                OutcomeDetail {
                    refund_reason: FRAUDULENT.to_owned(),
                    ..OutcomeDetail::default()
                },
            ),
        }
    }
}

impl Pipeline {
    /// Records `verdict` on the evaluation `evaluation_id` at `at` (Unix seconds) for every key it
    /// carried, and forwards it to Stripe when Stripe scored the evaluation. `NotFound`: the
    /// evaluation is unknown or older than the outcome retention.
    pub async fn report_verdict(
        &self,
        evaluation_id: &str,
        verdict: Verdict,
        at: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let (outcome, detail) = verdict.report();
        self.report_outcome_with(evaluation_id, outcome, at, &detail)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::outcomes::StripeOutcome;

    #[test]
    fn a_reject_is_reported_to_stripe_as_a_refund_for_fraud_and_an_approve_as_success() {
        let (outcome, detail) = Verdict::Fraud.report();
        assert_eq!(outcome, Outcome::Refunded);
        assert_eq!(
            StripeOutcome::of(outcome, &detail),
            StripeOutcome::Refunded {
                reason: "fraudulent"
            }
        );
        let (outcome, detail) = Verdict::Legitimate.report();
        assert_eq!(outcome, Outcome::Authorized);
        assert_eq!(
            StripeOutcome::of(outcome, &detail),
            StripeOutcome::Succeeded
        );
    }
}
