//! An analyst's verdict on a reviewed evaluation, fed back like an outcome report: it updates the
//! state the next evaluation reads — every key the evaluation carried (card, email, IP, customer,
//! device, addresses), remembered under its id — and is forwarded to Stripe where Stripe has a
//! matching report.
//!
//! | verdict | recorded as | forwarded to Stripe |
//! | --- | --- | --- |
//! | approve (legitimate) | `authorized` | outcome `succeeded`, for evaluations Stripe scored |
//! | reject (fraud) | `refunded` (Stripe closes a review rejected as fraud by refunding it: `refunded_as_fraud`) | not yet: Stripe's matching report is the event `refunded` with `reason=fraudulent`, and the forwarder on main can only send `requested_by_customer`; issue 16's outcome detail (refund reasons) lets [`Verdict::Fraud`] pass `fraudulent` — the one place to change |
//!
//! An outcome counts once per evaluation: a verdict after the merchant already reported the same
//! outcome (or a second verdict) answers `Duplicate` and changes nothing.

use super::Pipeline;
use crate::{
    stores::{
        StoreError,
        state::{Outcome, OutcomeResult},
    },
    stripe::outcomes::OutcomeJob,
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
    /// The outcome the state store records for it (see the module docs). The outcome memory of
    /// issue 15 adds an analyst-rejected fraud label: a reject maps to it once it is on main.
    pub const fn outcome(self) -> Outcome {
        match self {
            Verdict::Legitimate => Outcome::Authorized,
            Verdict::Fraud => Outcome::Refunded,
        }
    }

    /// Whether Stripe is told (see the module docs).
    const fn forwarded(self) -> bool {
        matches!(self, Verdict::Legitimate)
    }
}

impl Pipeline {
    /// Records `verdict` on the evaluation `evaluation_id` at `at` (Unix seconds) for every key it
    /// carried, and forwards it to Stripe when Stripe scored the evaluation and has a matching
    /// report. `NotFound`: the evaluation is unknown or older than the outcome retention.
    pub async fn report_verdict(
        &self,
        evaluation_id: &str,
        verdict: Verdict,
        at: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let outcome = verdict.outcome();
        let result = self
            .enricher
            .report_outcome(evaluation_id, outcome, at)
            .await?;
        if result == OutcomeResult::Recorded
            && verdict.forwarded()
            && let Some(forwarder) = &self.outcomes
        {
            forwarder.submit(OutcomeJob {
                evaluation_id: evaluation_id.to_owned(),
                outcome,
                decline_reason: String::new(),
                occurred_at: at.min(self.clock.now()),
            });
        }
        Ok(result)
    }
}
