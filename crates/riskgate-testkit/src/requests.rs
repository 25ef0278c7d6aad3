//! Requests and answers: the bundled example, the smallest valid request, attributes of an answer.

use riskgate::proto::v1::{self as pb, CreatePaymentEvaluationRequest};

/// The bundled example request (examples/evaluation.json), without its idempotency key.
pub fn example_request() -> CreatePaymentEvaluationRequest {
    let text = include_str!("../../../examples/evaluation.json");
    let mut req: CreatePaymentEvaluationRequest = serde_json::from_str(text).unwrap();
    req.idempotency_key.clear();
    req
}

/// The smallest valid request.
pub fn minimal_request() -> CreatePaymentEvaluationRequest {
    CreatePaymentEvaluationRequest {
        customer_details: Some(pb::CustomerDetails::default()),
        payment_details: Some(pb::PaymentDetails {
            amount: 2000,
            currency: "usd".into(),
            payment_method_details: Some(pb::PaymentMethodDetails {
                payment_method: "pm_123".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The smallest request Stripe accepts: [`minimal_request`] with a customer, as Stripe requires
/// `customer_details` to hold at least one field (a form cannot carry an empty hash).
pub fn minimal_stripe_request() -> CreatePaymentEvaluationRequest {
    let mut req = minimal_request();
    req.customer_details = Some(pb::CustomerDetails {
        customer: "cus_minimal".into(),
        ..Default::default()
    });
    req
}

/// A numeric attribute of an answer (requested with `expand: ["attributes"]`).
pub fn number(answer: &pb::CreatePaymentEvaluationResponse, name: &str) -> Option<f64> {
    match answer.attributes.get(name)?.kind.as_ref()? {
        pb::attribute_value::Kind::Number(n) => Some(*n),
        _ => None,
    }
}
