//! `payment_details`: the amount and currency, the descriptions, how the money moves, and where the
//! goods ship; the payment method has its own file.

use riskgate_core::{
    input::{Card, CustomerPresence, Party, PaymentType},
    reference::{self, Currency},
};

use super::{
    check::{Checker, MAX_TEXT, Path, got},
    formats::MAX_NAME,
};
use crate::proto::v1 as pb;

// Paths of the request's messages.
pub(super) const PAYMENT: &str = "payment_details";
const MONEY_MOVEMENT: &str = "payment_details.money_movement_details";
const MONEY_MOVEMENT_CARD: &str = "payment_details.money_movement_details.card";
const SHIPPING: &str = "payment_details.shipping_details";
const SHIPPING_ADDRESS: &str = "payment_details.shipping_details.address";

/// Largest amount Stripe accepts: a positive integer of up to eight digits in the smallest unit.
const MAX_AMOUNT: i64 = 99_999_999;
/// Stripe's length limit, in characters.
const MAX_DESCRIPTION: usize = 1000;
/// Card networks show at most 22 characters on the cardholder's statement.
const MAX_STATEMENT_DESCRIPTOR: usize = 22;
/// Characters Stripe refuses in a statement descriptor.
const STATEMENT_DESCRIPTOR_FORBIDDEN: &[char] = &['<', '>', '\\', '\'', '"', '*'];

/// The payment fields of a valid request.
pub(super) struct PaymentFields<'a> {
    pub(super) amount: i64,
    pub(super) currency: Currency,
    pub(super) description: Option<&'a str>,
    pub(super) statement_descriptor: Option<&'a str>,
    pub(super) payment_method: &'a str,
    pub(super) billing: Option<Party<'a>>,
    pub(super) card: Option<Card<'a>>,
    pub(super) customer_presence: Option<CustomerPresence>,
    pub(super) payment_type: Option<PaymentType>,
    pub(super) shipping: Option<Party<'a>>,
}

impl Checker {
    pub(super) fn payment_details<'a>(
        &mut self,
        d: Option<&'a pb::PaymentDetails>,
    ) -> Option<PaymentFields<'a>> {
        let Some(d) = d else {
            self.violation(Path::Field("", PAYMENT), "required");
            return None;
        };
        let amount = self.amount(d.amount);
        let currency = self.currency(&d.currency);
        let description = self.text(
            Path::Field(PAYMENT, "description"),
            &d.description,
            MAX_DESCRIPTION,
        );
        let statement_descriptor = self.statement_descriptor(&d.statement_descriptor);
        let method = self.payment_method_details(d.payment_method_details.as_ref());
        let (customer_presence, payment_type) =
            self.money_movement(d.money_movement_details.as_ref());
        let shipping = d.shipping_details.as_ref().map(|s| Party {
            address: self.address(SHIPPING_ADDRESS, s.address.as_ref()),
            email: None,
            name: self.text(Path::Field(SHIPPING, "name"), &s.name, MAX_NAME),
            phone: self.phone(Path::Field(SHIPPING, "phone"), &s.phone),
        });
        let (payment_method, billing, card) = method?;
        Some(PaymentFields {
            amount: amount?,
            currency: currency?,
            description,
            statement_descriptor,
            payment_method,
            billing,
            card,
            customer_presence,
            payment_type,
            shipping,
        })
    }

    fn amount(&mut self, amount: i64) -> Option<i64> {
        let path = Path::Field(PAYMENT, "amount");
        match amount {
            1..=MAX_AMOUNT => return Some(amount),
            0 => self.violation(
                path,
                "required: a positive integer in the currency's smallest unit (1000 = 10.00 usd)",
            ),
            ..0 => self.violation(
                path,
                format!(
                    "must be a positive integer in the currency's smallest unit (got {amount})"
                ),
            ),
            _ => self.violation(
                path,
                format!(
                    "must be at most {MAX_AMOUNT} (eight digits) in the currency's smallest unit \
                     (got {amount})"
                ),
            ),
        }
        None
    }

    fn currency(&mut self, code: &str) -> Option<Currency> {
        let path = Path::Field(PAYMENT, "currency");
        if code.is_empty() {
            self.violation(path, "required: a lowercase ISO 4217 code such as \"usd\"");
            return None;
        }
        let code = self.text(path, code, MAX_TEXT)?;
        if let Some(currency) = reference::currency(code) {
            return Some(currency);
        }
        let lower = code.to_ascii_lowercase();
        if reference::currency(&lower).is_some() {
            self.violation(
                path,
                format!("must be a lowercase ISO 4217 code: use \"{lower}\""),
            );
        } else {
            self.violation(
                path,
                format!(
                    "must be a supported lowercase ISO 4217 code such as \"usd\"{}",
                    got(code)
                ),
            );
        }
        None
    }

    fn statement_descriptor<'a>(&mut self, s: &'a str) -> Option<&'a str> {
        let path = Path::Field(PAYMENT, "statement_descriptor");
        let s = self.text(path, s, MAX_STATEMENT_DESCRIPTOR)?;
        if s.contains(STATEMENT_DESCRIPTOR_FORBIDDEN) {
            self.violation(path, "must not contain any of < > \\ ' \" *");
            None
        } else if !s.chars().any(char::is_alphabetic) {
            self.violation(path, "must contain at least one letter");
            None
        } else {
            Some(s)
        }
    }

    fn money_movement(
        &mut self,
        m: Option<&pb::MoneyMovementDetails>,
    ) -> (Option<CustomerPresence>, Option<PaymentType>) {
        let Some(m) = m else { return (None, None) };
        let path = Path::Field(MONEY_MOVEMENT, "money_movement_type");
        match pb::MoneyMovementType::try_from(m.money_movement_type) {
            Ok(pb::MoneyMovementType::Card) => {}
            Ok(pb::MoneyMovementType::Unspecified) => self.violation(
                path,
                "required when money_movement_details is given: the only type is card \
                 (MONEY_MOVEMENT_TYPE_CARD)",
            ),
            Err(_) => self.violation(
                path,
                format!(
                    "unknown money movement type {}: the only type is card (MONEY_MOVEMENT_TYPE_CARD)",
                    m.money_movement_type
                ),
            ),
        }
        let Some(card) = m.card.as_ref() else {
            return (None, None);
        };
        let presence = match pb::CustomerPresence::try_from(card.customer_presence) {
            Ok(pb::CustomerPresence::Unspecified) => None,
            Ok(pb::CustomerPresence::OnSession) => Some(CustomerPresence::OnSession),
            Ok(pb::CustomerPresence::OffSession) => Some(CustomerPresence::OffSession),
            Err(_) => {
                self.violation(
                    Path::Field(MONEY_MOVEMENT_CARD, "customer_presence"),
                    format!(
                        "unknown customer presence {}: expected on_session (1) or off_session (2)",
                        card.customer_presence
                    ),
                );
                None
            }
        };
        let payment_type = match pb::PaymentType::try_from(card.payment_type) {
            Ok(pb::PaymentType::Unspecified) => None,
            Ok(pb::PaymentType::OneOff) => Some(PaymentType::OneOff),
            Ok(pb::PaymentType::Recurring) => Some(PaymentType::Recurring),
            Ok(pb::PaymentType::SetupOneOff) => Some(PaymentType::SetupOneOff),
            Ok(pb::PaymentType::SetupRecurring) => Some(PaymentType::SetupRecurring),
            Err(_) => {
                self.violation(
                    Path::Field(MONEY_MOVEMENT_CARD, "payment_type"),
                    format!(
                        "unknown payment type {}: expected one_off (1), recurring (2), \
                         setup_one_off (3) or setup_recurring (4)",
                        card.payment_type
                    ),
                );
                None
            }
        };
        (presence, payment_type)
    }
}

#[cfg(test)]
mod tests {
    use riskgate_core::input::{CustomerPresence, PaymentType};

    use crate::api::validate::{fixtures::*, payment_evaluation};
    use crate::proto::v1 as pb;

    #[test]
    fn amount_must_be_positive_and_at_most_eight_digits() {
        let mut req = valid();
        payment(&mut req).amount = -5;
        let d = only(&req, "payment_details.amount");
        assert!(
            d.contains("positive integer") && d.contains("(got -5)"),
            "{d}"
        );

        payment(&mut req).amount = 0;
        assert!(only(&req, "payment_details.amount").starts_with("required"));

        payment(&mut req).amount = 100_000_000;
        assert!(only(&req, "payment_details.amount").contains("99999999"));

        payment(&mut req).amount = 99_999_999;
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn currency_must_be_a_supported_lowercase_code() {
        let mut req = valid();
        payment(&mut req).currency = "USD".into();
        let d = only(&req, "payment_details.currency");
        assert!(d.contains("lowercase") && d.contains("use \"usd\""), "{d}");

        payment(&mut req).currency = "xyz".into();
        assert!(only(&req, "payment_details.currency").contains("(got \"xyz\")"));

        payment(&mut req).currency = String::new();
        assert!(only(&req, "payment_details.currency").starts_with("required"));
    }

    #[test]
    fn description_and_statement_descriptor() {
        let mut req = valid();
        payment(&mut req).description = "d".repeat(1001);
        only(&req, "payment_details.description");

        for bad in [
            "A".repeat(23),
            "12345".into(),
            "SHOP*ONLINE".into(),
            "ACME <3".into(),
            "O'NEIL".into(),
        ] {
            let mut req = valid();
            payment(&mut req).statement_descriptor = bad.clone();
            only(&req, "payment_details.statement_descriptor");
        }
        payment(&mut req).description = String::new();
        payment(&mut req).statement_descriptor = "A".repeat(22);
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn money_movement_enums() {
        let mut req = valid();
        payment(&mut req)
            .money_movement_details
            .as_mut()
            .unwrap()
            .money_movement_type = 0;
        assert!(
            only(
                &req,
                "payment_details.money_movement_details.money_movement_type"
            )
            .starts_with("required")
        );
        payment(&mut req)
            .money_movement_details
            .as_mut()
            .unwrap()
            .money_movement_type = 7;
        let d = only(
            &req,
            "payment_details.money_movement_details.money_movement_type",
        );
        assert!(d.starts_with("unknown money movement type 7"), "{d}");

        let mut req = valid();
        money_card(&mut req).customer_presence = 3;
        money_card(&mut req).payment_type = 9;
        assert_eq!(
            fields(&req),
            [
                "payment_details.money_movement_details.card.customer_presence",
                "payment_details.money_movement_details.card.payment_type"
            ]
        );

        let mut req = valid();
        money_card(&mut req).customer_presence = pb::CustomerPresence::OffSession as i32;
        money_card(&mut req).payment_type = pb::PaymentType::Recurring as i32;
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.customer_presence, Some(CustomerPresence::OffSession));
        assert_eq!(input.payment_type, Some(PaymentType::Recurring));

        payment(&mut req).money_movement_details = None;
        let input = payment_evaluation(&req).unwrap();
        assert_eq!((input.customer_presence, input.payment_type), (None, None));
    }
}
