//! Request validation: checks a `CreatePaymentEvaluationRequest` against Stripe's limits and riskgate's
//! own rules (no card numbers, no control characters), reporting every violation at once, and maps a
//! valid request to the core's [`PaymentInput`], borrowing the request's strings.
//!
//! Field paths are the request's dotted proto field names from the root
//! (`payment_details.payment_method_details.card.bin`), with `[i]` for list entries (`expand[1]`) and
//! `[key]` for metadata (`metadata[order_id]`). Descriptions say what is expected; they echo a value
//! only for short code-like fields (currencies, countries, enum words), never for free text, emails or
//! phones, and never anything that looks like a card number.
//!
//! One file per message: `customer`, `payment` (amount, currency, money movement, shipping),
//! `payment_method` (card, billing), `address`, `device`, `metadata`, `session` (RecordRadarSession,
//! GetRadarSession), `outcome` (ReportPaymentOutcome) and `radar` (the fields Radar's rules read:
//! customer and account metadata, transfer data, 3D Secure, card checks); what they share is in `check` (the
//! violation collector, field paths, id shapes, the text rules), `formats` (emails, phones,
//! countries, IPs) and `pan` (the card-number detector).

mod address;
mod check;
mod customer;
mod device;
mod formats;
mod metadata;
mod outcome;
mod pan;
mod payment;
mod payment_method;
mod radar;
mod session;

#[cfg(test)]
mod fixtures;

use crate::proto::v1::CreatePaymentEvaluationRequest;
use riskgate_core::input::PaymentInput;

use check::{Checker, Path};

pub use outcome::payment_outcome;
pub use pan::contains_pan;
pub use session::{radar_session, radar_session_id};

/// The `expand` values the API knows.
pub const EXPANDABLE: &[&str] = &["attributes"];

/// Stripe's length limit, in characters.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// One violated rule, named by the field's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Validates a request and maps it to the core's input, reporting every violation at once.
pub fn payment_evaluation(
    req: &CreatePaymentEvaluationRequest,
) -> Result<PaymentInput<'_>, Vec<FieldViolation>> {
    let mut c = Checker::default();
    let customer = c.customer_details(req.customer_details.as_ref());
    let payment = c.payment_details(req.payment_details.as_ref());
    let device = c.device(req.client_device_metadata_details.as_ref());
    c.metadata(&req.metadata);
    c.idempotency_key(&req.idempotency_key);
    c.expand(&req.expand);
    let radar = c.radar_details(req);

    match (customer, payment) {
        (Some(customer), Some(payment)) if c.violations.is_empty() => Ok(PaymentInput {
            amount: payment.amount,
            currency: payment.currency,
            customer: customer.customer,
            customer_account: customer.customer_account,
            email: customer.email,
            name: customer.name,
            phone: customer.phone,
            description: payment.description,
            statement_descriptor: payment.statement_descriptor,
            payment_method: payment.payment_method,
            billing: payment.billing,
            card: payment.card,
            customer_presence: payment.customer_presence,
            payment_type: payment.payment_type,
            shipping: payment.shipping,
            device,
            metadata: &req.metadata,
            radar,
        }),
        _ => {
            debug_assert!(
                !c.violations.is_empty(),
                "a required part is missing without a violation"
            );
            Err(c.violations)
        }
    }
}

/// The request's own fields.
impl Checker {
    fn idempotency_key(&mut self, key: &str) {
        self.shaped(
            Path::Field("", "idempotency_key"),
            key,
            MAX_IDEMPOTENCY_KEY,
            |s| s.bytes().all(|b| (b' '..=b'~').contains(&b)),
            |_| "must contain only printable ASCII characters".into(),
        );
    }

    fn expand(&mut self, expand: &[String]) {
        for (i, value) in expand.iter().enumerate() {
            let path = Path::Item("expand", i);
            if value.is_empty() {
                self.violation(
                    path,
                    format!("must not be empty: one of {}", EXPANDABLE.join(", ")),
                );
            } else {
                self.one_of(path, value, EXPANDABLE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use riskgate_core::{
        input::{Address, Card, CustomerPresence, Device, Party, PaymentType},
        reference,
    };

    use super::{fixtures::*, *};
    use crate::proto::v1::{
        self as pb, CardDetails, CustomerDetails, MoneyMovementCardDetails, MoneyMovementDetails,
        PaymentDetails, PaymentMethodDetails,
    };

    #[test]
    fn valid_request_maps_to_input() {
        let req = valid();
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.amount, 1099);
        assert_eq!(input.currency, reference::currency("usd").unwrap());
        assert_eq!(input.customer, Some("cus_NffrFeUfNV2Hib"));
        assert_eq!(input.customer_account, Some("acct_1Nv0FGQ9RKHgCVdK"));
        assert_eq!(input.email, Some("jenny.rosen@example.com"));
        assert_eq!(input.name, Some("Jenny Rosen"));
        assert_eq!(input.phone, Some("+1 (415) 555-2671"));
        assert_eq!(input.description, Some("Order #1042"));
        assert_eq!(input.statement_descriptor, Some("RISKGATE SHOP"));
        assert_eq!(input.payment_method, "pm_1Q0PsIJvEtkwdCNY_test");
        let us = Address {
            city: Some("San Francisco"),
            country: Some("US"),
            line1: Some("510 Townsend St"),
            line2: Some("Floor 2"),
            postal_code: Some("94103"),
            state: Some("CA"),
        };
        assert_eq!(
            input.billing,
            Some(Party {
                address: Some(us.clone()),
                email: Some("billing@example.com"),
                name: Some("Jenny Rosen"),
                phone: Some("+14155552671"),
            })
        );
        assert_eq!(
            input.card,
            Some(Card {
                bin: Some("424242"),
                last4: Some("4242"),
                brand: Some("visa"),
                country: Some("US"),
                funding: Some("credit"),
                fingerprint: Some("Xt5EWLLDS7FJjR1c"),
                exp_month: Some(12),
                exp_year: Some(2030),
                wallet: Some("apple_pay"),
                three_d_secure_supported: Some(true),
                ..Default::default()
            })
        );
        assert_eq!(input.customer_presence, Some(CustomerPresence::OnSession));
        assert_eq!(input.payment_type, Some(PaymentType::SetupRecurring));
        assert_eq!(
            input.shipping,
            Some(Party {
                address: Some(Address {
                    country: Some("GB"),
                    ..us
                }),
                email: None,
                name: Some("Jenny Rosen"),
                phone: Some("020 7946 0958"),
            })
        );
        assert_eq!(
            input.device,
            Device {
                radar_session: Some("rse_1Q0PsIJvEtkwdCNY"),
                ip: Some("203.0.113.7".parse().unwrap()),
                user_agent: Some(
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"
                ),
                referrer: Some("https://shop.example.com/cart"),
                time_on_page_ms: Some(45_000),
                pasted_fields: vec!["email", "billing.postal_code"],
            }
        );
        assert!(std::ptr::eq(input.metadata, &req.metadata));
        assert_eq!(input.billing_country(), Some("US"));
        assert_eq!(input.shipping_country(), Some("GB"));
    }

    #[test]
    fn minimal_request_maps_unset_fields_to_none() {
        let req = CreatePaymentEvaluationRequest {
            customer_details: Some(CustomerDetails::default()),
            payment_details: Some(PaymentDetails {
                amount: 500,
                currency: "jpy".into(),
                payment_method_details: Some(PaymentMethodDetails {
                    payment_method: "pm_1".into(),
                    card: Some(CardDetails::default()),
                    ..Default::default()
                }),
                money_movement_details: Some(MoneyMovementDetails {
                    money_movement_type: pb::MoneyMovementType::Card as i32,
                    card: Some(MoneyMovementCardDetails::default()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.currency.exponent, 0);
        assert_eq!(
            (input.customer, input.email, input.name, input.phone),
            (None, None, None, None)
        );
        assert_eq!(
            (input.description, input.statement_descriptor),
            (None, None)
        );
        assert_eq!(input.billing, None);
        assert_eq!(input.shipping, None);
        assert_eq!(input.card, Some(Card::default()));
        assert_eq!((input.customer_presence, input.payment_type), (None, None));
        assert_eq!(input.device, Device::default());
    }

    #[test]
    fn expand_values_must_be_known() {
        let mut req = valid();
        req.expand.push("scores".into());
        let d = only(&req, "expand[1]");
        assert_eq!(d, "must be one of attributes (got \"scores\")");
        req.expand[1] = String::new();
        only(&req, "expand[1]");
    }

    #[test]
    fn idempotency_key_limits() {
        let mut req = valid();
        req.idempotency_key = "k".repeat(256);
        assert_eq!(
            only(&req, "idempotency_key"),
            "must be at most 255 characters (got 256)"
        );
        req.idempotency_key = "clé".into();
        assert_eq!(
            only(&req, "idempotency_key"),
            "must contain only printable ASCII characters"
        );
        req.idempotency_key = "k".repeat(255);
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut req = valid();
        payment(&mut req).amount = -5;
        payment(&mut req).currency = "USD".into();
        customer(&mut req).email = "not an email".into();
        card(&mut req).exp_month = 13;
        billing(&mut req).address.as_mut().unwrap().country = "USA".into();
        device(&mut req).ip = "nope".into();
        req.metadata
            .insert("note".into(), "4242 4242 4242 4242".into());
        req.idempotency_key = "k".repeat(256);
        req.expand.push("scores".into());
        assert_eq!(
            fields(&req),
            [
                "customer_details.email",
                "payment_details.amount",
                "payment_details.currency",
                "payment_details.payment_method_details.billing_details.address.country",
                "payment_details.payment_method_details.card.exp_month",
                "client_device_metadata_details.ip",
                "metadata[note]",
                "idempotency_key",
                "expand[1]",
            ]
        );

        // Missing required messages don't hide violations elsewhere.
        let mut req = valid();
        req.customer_details = None;
        payment(&mut req).payment_method_details = None;
        payment(&mut req).amount = 0;
        assert_eq!(
            fields(&req),
            [
                "customer_details",
                "payment_details.amount",
                "payment_details.payment_method_details"
            ]
        );
    }
}
