//! Requests and answers: the bundled example, the smallest valid request, attributes of an answer.

use riskgate::proto::v1::{self as pb, CreatePaymentEvaluationRequest};

/// The bundled example request (examples/evaluation.json), without its idempotency key.
pub fn example_request() -> CreatePaymentEvaluationRequest {
    let text = include_str!("../../../examples/evaluation.json");
    let mut req: CreatePaymentEvaluationRequest = serde_json::from_str(text).unwrap();
    req.idempotency_key.clear();
    req
}

/// The example request as another customer sends it: their own card (fingerprint and payment
/// method), email, customer id, IP and Radar Session, picked by `n`, so that payments in one test
/// do not add to each other's velocity (the default model finds a brand-new card paying twice
/// within seconds suspicious).
pub fn example_request_of(n: u8) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    let customer = req.customer_details.as_mut().unwrap();
    customer.customer = format!("cus_Customer{n}");
    customer.email = format!("customer{n}@example.com");
    let pm = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    pm.payment_method = format!("pm_Customer{n}");
    if let Some(billing) = pm.billing_details.as_mut() {
        billing.email = format!("customer{n}@example.com");
    }
    pm.card.as_mut().unwrap().fingerprint = format!("fpCustomer{n:03}");
    let device = req.client_device_metadata_details.as_mut().unwrap();
    device.ip = format!("198.51.100.{n}");
    device.radar_session = format!("rse_Customer{n}");
    req
}

/// The example request (with attributes) for card `fingerprint` (payment method
/// `pm_<fingerprint>`), email `email`, customer `customer`, with device data from IP `ip`.
pub fn card_payment(
    fingerprint: &str,
    email: &str,
    customer: &str,
    ip: &str,
) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    let c = req.customer_details.as_mut().unwrap();
    c.email = email.into();
    c.customer = customer.into();
    let pd = req.payment_details.as_mut().unwrap();
    let pm = pd.payment_method_details.as_mut().unwrap();
    pm.card.as_mut().unwrap().fingerprint = fingerprint.into();
    pm.billing_details.as_mut().unwrap().email = email.into();
    pm.payment_method = format!("pm_{fingerprint}");
    req.client_device_metadata_details.as_mut().unwrap().ip = ip.into();
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

/// The action, the deciding rule's id and the first reason's code of an answer.
pub fn decided(answer: &pb::CreatePaymentEvaluationResponse) -> (pb::Action, String, String) {
    let d = answer.decision.as_ref().unwrap();
    (
        d.action(),
        d.matched_rule
            .as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
        d.reasons
            .first()
            .map(|r| r.code.clone())
            .unwrap_or_default(),
    )
}
