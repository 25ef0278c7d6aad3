//! The warm-up evaluation: run once through validation and the whole decision pipeline before any
//! listener is bound, so lazy initialisation happens before the first real payment and a broken
//! model or configuration fails start-up instead of payments.

use super::ServeError;
use crate::{
    api::validate,
    proto::v1::{
        CreatePaymentEvaluationRequest, CustomerDetails, PaymentDetails, PaymentMethodDetails,
    },
};
use riskgate_core::engine::Engine;

/// Runs one evaluation through validation and the whole decision pipeline, so that lazy
/// initialisation happens before the first real payment and a broken model or configuration fails
/// start-up instead of payments. Pure calls only: the warm-up records no metrics and keeps no state.
pub(super) fn warm_up(engine: &Engine) -> Result<(), ServeError> {
    // The call and stage timers' TSC clock calibrates itself on its first read (up to 200 ms).
    quanta::Instant::now();
    let request = CreatePaymentEvaluationRequest {
        customer_details: Some(CustomerDetails::default()),
        payment_details: Some(PaymentDetails {
            amount: 1000,
            currency: "usd".into(),
            payment_method_details: Some(PaymentMethodDetails {
                payment_method: "pm_warmup".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let input = validate::payment_evaluation(&request)
        .map_err(|v| ServeError::WarmUp(format!("warm-up request refused: {v:?}")))?;
    let (_, verdict) = engine.evaluate(&input, 0);
    if verdict.risk_score > 99 {
        return Err(ServeError::WarmUp(format!(
            "score {} out of range",
            verdict.risk_score
        )));
    }
    Ok(())
}
