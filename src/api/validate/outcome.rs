//! ReportPaymentOutcome: what became of an evaluated payment.

use super::{
    FieldViolation,
    check::{Checker, IdRule, Path, got},
    session::MAX_CLOCK_SKEW_SECS,
};
use crate::{
    proto::v1 as pb,
    stores::state::{Outcome, Report},
};
use riskgate_core::signals::OutcomeLabel;

const MAX_DECLINE_REASON: usize = 100;

const EVALUATION_ID: IdRule = IdRule {
    prefix: "peval_",
    underscore: false,
    what: "an evaluation id",
};

/// Stripe's dispute reasons (Dispute object, `reason`).
const DISPUTE_REASONS: &[&str] = &[
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
];

/// Stripe's EarlyFraudWarning `fraud_type` values.
const FRAUD_TYPES: &[&str] = &[
    "card_never_received",
    "fraudulent_card_application",
    "made_with_counterfeit_card",
    "made_with_lost_card",
    "made_with_stolen_card",
    "misc",
    "unauthorized_use_of_card",
];

/// Stripe's refund reasons.
const REFUND_REASONS: &[&str] = &[
    "duplicate",
    "expired_uncaptured_charge",
    "fraudulent",
    "requested_by_customer",
];

/// Checks an optional enum-like detail that only `allowed_with` may carry; `Some(value)` when it
/// is set and valid.
fn detail<'a>(
    c: &mut Checker,
    field: &'static str,
    value: &'a str,
    known: &[&str],
    outcome: Option<Outcome>,
    allowed_with: Outcome,
) -> Option<&'a str> {
    if value.is_empty() {
        return None;
    }
    let path = Path::Field("", field);
    if outcome.is_some_and(|o| o != allowed_with) {
        c.violation(
            path,
            format!("only allowed with the {} outcome", allowed_with.as_str()),
        );
    }
    if !known.contains(&value) {
        c.violation(
            path,
            format!("must be one of {}{}", known.join(", "), got(value)),
        );
        return None;
    }
    Some(value)
}

/// Validates a ReportPaymentOutcome request: the evaluation id, what happened (and the label it
/// teaches outcome memory), and when.
pub fn payment_outcome(
    req: &pb::ReportPaymentOutcomeRequest,
    now: i64,
) -> Result<(&str, Report, i64), Vec<FieldViolation>> {
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
        Ok(pb::PaymentOutcome::MerchantReportedFraud) => Some(Outcome::MerchantReportedFraud),
        Ok(pb::PaymentOutcome::AnalystRejected) => Some(Outcome::AnalystRejected),
        Ok(pb::PaymentOutcome::AnalystApproved) => Some(Outcome::AnalystApproved),
        Ok(pb::PaymentOutcome::Unspecified) | Err(_) => {
            c.violation(
                Path::Field("", "outcome"),
                "required: authorized, declined, refunded, disputed, early_fraud_warning, \
                 merchant_reported_fraud, analyst_rejected or analyst_approved",
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
    let dispute = detail(
        &mut c,
        "dispute_reason",
        &req.dispute_reason,
        DISPUTE_REASONS,
        outcome,
        Outcome::Disputed,
    );
    detail(
        &mut c,
        "fraud_type",
        &req.fraud_type,
        FRAUD_TYPES,
        outcome,
        Outcome::EarlyFraudWarning,
    );
    let refund = detail(
        &mut c,
        "refund_reason",
        &req.refund_reason,
        REFUND_REASONS,
        outcome,
        Outcome::Refunded,
    );
    if req.occurred_at < 0 || req.occurred_at > now + MAX_CLOCK_SKEW_SECS {
        c.violation(
            Path::Field("", "occurred_at"),
            "must be Unix seconds, not in the future (0 = now)",
        );
    }
    match (id, outcome) {
        (Some(id), Some(outcome)) if c.violations.is_empty() => {
            let label = match outcome {
                Outcome::Declined => OutcomeLabel::from_decline_code(&req.decline_reason),
                Outcome::Disputed => {
                    dispute.map_or(outcome.default_label(), OutcomeLabel::from_dispute_reason)
                }
                Outcome::Refunded => {
                    refund.map_or(outcome.default_label(), OutcomeLabel::from_refund_reason)
                }
                _ => outcome.default_label(),
            };
            Ok((id, Report { outcome, label }, req.occurred_at))
        }
        _ => Err(c.violations),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    fn report(outcome: pb::PaymentOutcome) -> pb::ReportPaymentOutcomeRequest {
        pb::ReportPaymentOutcomeRequest {
            evaluation: "peval_1Q0PsIJvEtkwdCNY".into(),
            outcome: outcome as i32,
            decline_reason: String::new(),
            occurred_at: 0,
            ..Default::default()
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
            Ok((
                "peval_1Q0PsIJvEtkwdCNY",
                Report {
                    outcome: Outcome::Declined,
                    label: OutcomeLabel::DeclinedFunds
                },
                NOW - 10
            ))
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
            assert_eq!(payment_outcome(&req, NOW).map(|r| r.1.outcome), Ok(mapped));
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
                    "required: authorized, declined, refunded, disputed, early_fraud_warning, \
                     merchant_reported_fraud, analyst_rejected or analyst_approved"
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

    #[test]
    fn reasons_decide_the_label_and_belong_to_their_outcome() {
        let label = |outcome, f: &dyn Fn(&mut pb::ReportPaymentOutcomeRequest)| {
            let mut req = report(outcome);
            f(&mut req);
            payment_outcome(&req, NOW).map(|r| r.1.label)
        };
        use OutcomeLabel as L;
        use pb::PaymentOutcome as P;
        assert_eq!(label(P::Disputed, &|_| {}), Ok(L::FraudulentDispute));
        assert_eq!(
            label(P::Disputed, &|r| r.dispute_reason = "fraudulent".into()),
            Ok(L::FraudulentDispute)
        );
        assert_eq!(
            label(P::Disputed, &|r| r.dispute_reason =
                "product_not_received".into()),
            Ok(L::ServiceDispute)
        );
        assert_eq!(
            label(P::Disputed, &|r| r.dispute_reason = "unrecognized".into()),
            Ok(L::OtherDispute)
        );
        assert_eq!(label(P::Refunded, &|_| {}), Ok(L::Refunded));
        assert_eq!(
            label(P::Refunded, &|r| r.refund_reason = "fraudulent".into()),
            Ok(L::RefundedAsFraud)
        );
        assert_eq!(
            label(P::EarlyFraudWarning, &|r| r.fraud_type =
                "made_with_stolen_card".into()),
            Ok(L::EarlyFraudWarning)
        );
        assert_eq!(
            label(P::MerchantReportedFraud, &|_| {}),
            Ok(L::MerchantReportedFraud)
        );
        assert_eq!(label(P::AnalystRejected, &|_| {}), Ok(L::AnalystRejected));
        assert_eq!(label(P::AnalystApproved, &|_| {}), Ok(L::AnalystApproved));
        assert_eq!(
            label(P::Declined, &|r| r.decline_reason = "stolen_card".into()),
            Ok(L::DeclinedFraudCode)
        );
        assert_eq!(label(P::Declined, &|_| {}), Ok(L::DeclinedOther));

        // Each detail only with its outcome, and only Stripe's values.
        let mut req = report(P::Authorized);
        req.dispute_reason = "fraudulent".into();
        req.fraud_type = "misc".into();
        req.refund_reason = "fraudulent".into();
        assert_eq!(
            fields(&req),
            ["dispute_reason", "fraud_type", "refund_reason"]
        );
        let mut req = report(P::Disputed);
        req.dispute_reason = "Fraudulent".into();
        let v = payment_outcome(&req, NOW).unwrap_err();
        assert_eq!(v[0].field, "dispute_reason");
        assert!(
            v[0].description
                .starts_with("must be one of bank_cannot_process"),
            "{}",
            v[0].description
        );
        let mut req = report(P::EarlyFraudWarning);
        req.fraud_type = "other".into();
        assert_eq!(fields(&req), ["fraud_type"]);
    }
}
