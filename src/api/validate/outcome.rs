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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::state::Outcome;

    const NOW: i64 = 1_750_000_000;

    fn report(outcome: pb::PaymentOutcome) -> pb::ReportPaymentOutcomeRequest {
        pb::ReportPaymentOutcomeRequest {
            evaluation: "peval_1Q0PsIJvEtkwdCNY".into(),
            outcome: outcome as i32,
            decline_reason: String::new(),
            occurred_at: 0,
        }
    }

    fn fields(req: &pb::ReportPaymentOutcomeRequest) -> Vec<String> {
        payment_outcome(req, NOW)
            .expect_err("report should be invalid")
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn valid_reports_map() {
        let mut req = report(pb::PaymentOutcome::Declined);
        req.decline_reason = "insufficient_funds".into();
        req.occurred_at = NOW - 10;
        assert_eq!(
            payment_outcome(&req, NOW),
            Ok(("peval_1Q0PsIJvEtkwdCNY", Outcome::Declined, NOW - 10))
        );
        for (outcome, mapped) in [
            (pb::PaymentOutcome::Authorized, Outcome::Authorized),
            (pb::PaymentOutcome::Refunded, Outcome::Refunded),
            (pb::PaymentOutcome::Disputed, Outcome::Disputed),
            (
                pb::PaymentOutcome::EarlyFraudWarning,
                Outcome::EarlyFraudWarning,
            ),
        ] {
            let req = report(outcome);
            assert_eq!(payment_outcome(&req, NOW).map(|r| r.1), Ok(mapped));
        }
    }

    #[test]
    fn evaluation_and_outcome_are_required() {
        let req = pb::ReportPaymentOutcomeRequest::default();
        let v = payment_outcome(&req, NOW).unwrap_err();
        assert_eq!(
            v.iter()
                .map(|v| (v.field.as_str(), v.description.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "evaluation",
                    "required: the id of the evaluation, \"peval_…\""
                ),
                (
                    "outcome",
                    "required: authorized, declined, refunded, disputed or early_fraud_warning"
                ),
            ]
        );

        let mut req = report(pb::PaymentOutcome::Authorized);
        req.evaluation = "peval_1_2".into();
        req.outcome = 99;
        assert_eq!(fields(&req), ["evaluation", "outcome"]);
    }

    #[test]
    fn decline_reasons_and_times() {
        let mut req = report(pb::PaymentOutcome::Authorized);
        req.decline_reason = "Insufficient Funds".into();
        req.occurred_at = NOW + MAX_CLOCK_SKEW_SECS + 1;
        let v = payment_outcome(&req, NOW).unwrap_err();
        assert_eq!(
            v.iter().map(|v| v.description.as_str()).collect::<Vec<_>>(),
            [
                "only allowed with the declined outcome",
                "must be a decline code such as \"insufficient_funds\" (got \"Insufficient Funds\")",
                "must be Unix seconds, not in the future (0 = now)",
            ]
        );
        assert_eq!(
            fields(&req),
            ["decline_reason", "decline_reason", "occurred_at"]
        );

        req.decline_reason = String::new();
        req.occurred_at = NOW + MAX_CLOCK_SKEW_SECS;
        assert!(payment_outcome(&req, NOW).is_ok(), "within the skew");
        req.occurred_at = -1;
        assert_eq!(fields(&req), ["occurred_at"]);
    }
}
