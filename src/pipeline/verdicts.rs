//! An analyst's verdict on a reviewed evaluation, fed back to outcome memory as the analyst's own
//! label — the same record `ReportPaymentOutcome` makes for `ANALYST_REJECTED` / `ANALYST_APPROVED`:
//! every entity the evaluation carried (card, customer, email, device, IP, addresses) is marked,
//! so the next payment from any of them reads it (`fraud_outcome_count_on_…`, the default rules
//! `prior_fraud_on_card` and `prior_fraud_on_linked_entity`). Stripe has no report for an analyst's
//! verdict, so riskgate sends the matching one (when `stripe.report_outcomes` is on and Stripe
//! scored the evaluation):
//!
//! | verdict | outcome memory | forwarded to Stripe |
//! | --- | --- | --- |
//! | approve (legitimate) | `analyst_approved` | outcome `succeeded` |
//! | reject (fraud) | `analyst_rejected` (a fraud label) | event `refunded{amount, currency, reason=fraudulent}`: Stripe closes a review rejected as fraud by refunding it (`refunded_as_fraud`) |
//!
//! An outcome counts once per evaluation: a second verdict (or the merchant's own
//! `ANALYST_REJECTED` report before it) answers `Duplicate` and changes nothing.

use super::Pipeline;
use crate::{
    stores::{
        StoreError,
        state::{Outcome, OutcomeResult, Report},
    },
    stripe::outcomes::{OutcomeJob, StripeOutcome},
};

/// What the analyst decided about a reviewed payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Approved: a good payment.
    Legitimate,
    /// Rejected as fraud.
    Fraud,
}

impl Verdict {
    /// What outcome memory learns from it (see the module docs).
    pub const fn report(self) -> Report {
        Report::of(match self {
            Verdict::Legitimate => Outcome::AnalystApproved,
            Verdict::Fraud => Outcome::AnalystRejected,
        })
    }

    /// The report Stripe gets for it (see the module docs).
    pub const fn stripe(self) -> StripeOutcome {
        match self {
            Verdict::Legitimate => StripeOutcome::Succeeded,
            Verdict::Fraud => StripeOutcome::Refunded {
                reason: "fraudulent",
            },
        }
    }
}

impl Pipeline {
    /// Records `verdict` on the evaluation `evaluation_id` at `at` (Unix seconds) for every entity
    /// it carried, and forwards it to Stripe when Stripe scored the evaluation. `NotFound`: the
    /// evaluation is unknown or older than the outcome retention.
    pub async fn report_verdict(
        &self,
        evaluation_id: &str,
        verdict: Verdict,
        at: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let result = self
            .enricher
            .report_outcome(evaluation_id, verdict.report(), at)
            .await?;
        if result == OutcomeResult::Recorded
            && let Some(forwarder) = &self.outcomes
        {
            forwarder.submit(OutcomeJob {
                evaluation_id: evaluation_id.to_owned(),
                outcome: verdict.stripe(),
                occurred_at: at.min(self.clock.now()),
            });
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_core::signals::OutcomeLabel;

    #[test]
    fn a_reject_is_an_analysts_fraud_label_and_an_approve_a_good_one() {
        let fraud = Verdict::Fraud.report();
        assert_eq!(fraud.label, OutcomeLabel::AnalystRejected);
        assert!(fraud.label.is_fraud());
        assert_eq!(
            Verdict::Fraud.stripe(),
            StripeOutcome::Refunded {
                reason: "fraudulent"
            }
        );
        let good = Verdict::Legitimate.report();
        assert_eq!(good.label, OutcomeLabel::AnalystApproved);
        assert!(!good.label.is_fraud());
        assert_eq!(Verdict::Legitimate.stripe(), StripeOutcome::Succeeded);
    }
}
