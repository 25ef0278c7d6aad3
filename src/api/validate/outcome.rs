//! ReportPaymentOutcome: what became of an evaluated payment.

use super::{
    FieldViolation,
    check::{Checker, IdRule, Path, got},
    session::MAX_CLOCK_SKEW_SECS,
};
use crate::proto::v1 as pb;

const MAX_DECLINE_REASON: usize = 100;

const EVALUATION_ID: IdRule = IdRule {
    prefix: "peval_",
    underscore: false,
    what: "an evaluation id",
};

/// Validates a ReportPaymentOutcome request.
pub fn payment_outcome(
    req: &pb::ReportPaymentOutcomeRequest,
    now: i64,
) -> Result<(&str, crate::stores::state::Outcome, i64), Vec<FieldViolation>> {
    use crate::stores::state::Outcome;
    let mut c = Checker::default();
    let id_path = Path::Field("", "evaluation");
    if req.evaluation.is_empty() {
        c.violation(id_path, "required: the id of the evaluation, \"peval_…\"");
    }
    let id = c.id(id_path, &req.evaluation, &EVALUATION_ID);
    let outcome = match pb::PaymentOutcome::try_from(req.outcome) {
        Ok(pb::PaymentOutcome::Authorized) => Some(Outcome::Authorized),
        Ok(pb::PaymentOutcome::Declined) => Some(Outcome::Declined),
        Ok(pb::PaymentOutcome::Refunded) => Some(Outcome::Refunded),
        Ok(pb::PaymentOutcome::Disputed) => Some(Outcome::Disputed),
        Ok(pb::PaymentOutcome::EarlyFraudWarning) => Some(Outcome::EarlyFraudWarning),
        Ok(pb::PaymentOutcome::Unspecified) | Err(_) => {
            c.violation(
                Path::Field("", "outcome"),
                "required: authorized, declined, refunded, disputed or early_fraud_warning",
            );
            None
        }
    };
    let reason_path = Path::Field("", "decline_reason");
    if !req.decline_reason.is_empty() && outcome.is_some_and(|o| o != Outcome::Declined) {
        c.violation(reason_path, "only allowed with the declined outcome");
    }
    c.shaped(
        reason_path,
        &req.decline_reason,
        MAX_DECLINE_REASON,
        |v| {
            v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        },
        |v| {
            format!(
                "must be a decline code such as \"insufficient_funds\"{}",
                got(v)
            )
        },
    );
    if req.occurred_at < 0 || req.occurred_at > now + MAX_CLOCK_SKEW_SECS {
        c.violation(
            Path::Field("", "occurred_at"),
            "must be Unix seconds, not in the future (0 = now)",
        );
    }
    match (id, outcome) {
        (Some(id), Some(o)) if c.violations.is_empty() => Ok((id, o, req.occurred_at)),
        _ => Err(c.violations),
    }
}
