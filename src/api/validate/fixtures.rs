//! The requests the validation tests start from, and helpers to change one field and read the
//! violations.

use std::collections::BTreeMap;

use super::{FieldViolation, payment_evaluation};
use crate::proto::v1::{
    self as pb, BillingDetails, CardDetails, ClientDeviceMetadataDetails,
    CreatePaymentEvaluationRequest, CustomerDetails, MoneyMovementCardDetails,
    MoneyMovementDetails, PaymentDetails, PaymentMethodDetails, ShippingDetails,
};

pub(super) fn address(country: &str) -> pb::Address {
    pb::Address {
        city: "San Francisco".into(),
        country: country.into(),
        line1: "510 Townsend St".into(),
        line2: "Floor 2".into(),
        postal_code: "94103".into(),
        state: "CA".into(),
    }
}

/// A request with every field set and valid.
pub(super) fn valid() -> CreatePaymentEvaluationRequest {
    CreatePaymentEvaluationRequest {
        customer_details: Some(CustomerDetails {
            customer: "cus_NffrFeUfNV2Hib".into(),
            customer_account: "acct_1Nv0FGQ9RKHgCVdK".into(),
            email: "jenny.rosen@example.com".into(),
            name: "Jenny Rosen".into(),
            phone: "+1 (415) 555-2671".into(),
            ..Default::default()
        }),
        payment_details: Some(PaymentDetails {
            amount: 1099,
            currency: "usd".into(),
            description: "Order #1042".into(),
            statement_descriptor: "RISKGATE SHOP".into(),
            payment_method_details: Some(PaymentMethodDetails {
                payment_method: "pm_1Q0PsIJvEtkwdCNY_test".into(),
                billing_details: Some(BillingDetails {
                    address: Some(address("US")),
                    email: "billing@example.com".into(),
                    name: "Jenny Rosen".into(),
                    phone: "+14155552671".into(),
                }),
                card: Some(CardDetails {
                    bin: "424242".into(),
                    last4: "4242".into(),
                    brand: "visa".into(),
                    country: "US".into(),
                    funding: "credit".into(),
                    fingerprint: "Xt5EWLLDS7FJjR1c".into(),
                    exp_month: 12,
                    exp_year: 2030,
                    wallet: "apple_pay".into(),
                    three_d_secure_supported: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            money_movement_details: Some(MoneyMovementDetails {
                money_movement_type: pb::MoneyMovementType::Card as i32,
                card: Some(MoneyMovementCardDetails {
                    customer_presence: pb::CustomerPresence::OnSession as i32,
                    payment_type: pb::PaymentType::SetupRecurring as i32,
                }),
            }),
            shipping_details: Some(ShippingDetails {
                address: Some(address("GB")),
                name: "Jenny Rosen".into(),
                phone: "020 7946 0958".into(),
            }),
            ..Default::default()
        }),
        client_device_metadata_details: Some(ClientDeviceMetadataDetails {
            radar_session: "rse_1Q0PsIJvEtkwdCNY".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15".into(),
            referrer: "https://shop.example.com/cart".into(),
            time_on_page_ms: Some(45_000),
            pasted_fields: vec!["email".into(), "billing.postal_code".into()],
        }),
        metadata: BTreeMap::from([("order_id".into(), "6735".into())]),
        idempotency_key: "7f3c1a9e-2b4d-4e8f-9a1c-5d6e7f8a9b0c".into(),
        expand: vec!["attributes".into()],
        scoring_mode: String::new(),
        account_details: None,
    }
}

pub(super) fn customer(req: &mut CreatePaymentEvaluationRequest) -> &mut CustomerDetails {
    req.customer_details.as_mut().unwrap()
}
pub(super) fn payment(req: &mut CreatePaymentEvaluationRequest) -> &mut PaymentDetails {
    req.payment_details.as_mut().unwrap()
}
pub(super) fn method(req: &mut CreatePaymentEvaluationRequest) -> &mut PaymentMethodDetails {
    payment(req).payment_method_details.as_mut().unwrap()
}
pub(super) fn card(req: &mut CreatePaymentEvaluationRequest) -> &mut CardDetails {
    method(req).card.as_mut().unwrap()
}
pub(super) fn billing(req: &mut CreatePaymentEvaluationRequest) -> &mut BillingDetails {
    method(req).billing_details.as_mut().unwrap()
}
pub(super) fn device(req: &mut CreatePaymentEvaluationRequest) -> &mut ClientDeviceMetadataDetails {
    req.client_device_metadata_details.as_mut().unwrap()
}
pub(super) fn money_card(
    req: &mut CreatePaymentEvaluationRequest,
) -> &mut MoneyMovementCardDetails {
    payment(req)
        .money_movement_details
        .as_mut()
        .unwrap()
        .card
        .as_mut()
        .unwrap()
}

/// The violations of `req` (which must be invalid).
pub(super) fn violations(req: &CreatePaymentEvaluationRequest) -> Vec<FieldViolation> {
    payment_evaluation(req).expect_err("request should be invalid")
}

/// The single violation of `req`, checked to be on `field`.
pub(super) fn only(req: &CreatePaymentEvaluationRequest, field: &str) -> String {
    let v = violations(req);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].field, field, "{v:#?}");
    v.into_iter().next().unwrap().description
}

pub(super) fn fields(req: &CreatePaymentEvaluationRequest) -> Vec<String> {
    violations(req).into_iter().map(|v| v.field).collect()
}
