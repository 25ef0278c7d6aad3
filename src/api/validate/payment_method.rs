//! `payment_details.payment_method_details`: the payment method id, the billing details and the
//! card.

use riskgate_core::input::{Card, Party};

use super::{
    check::{Checker, IdRule, MAX_TEXT, Path, got},
    formats::MAX_NAME,
    payment::PAYMENT,
};
use crate::proto::v1 as pb;

// Paths of the request's messages.
const METHOD: &str = "payment_details.payment_method_details";
const BILLING: &str = "payment_details.payment_method_details.billing_details";
const BILLING_ADDRESS: &str = "payment_details.payment_method_details.billing_details.address";
const CARD: &str = "payment_details.payment_method_details.card";

pub(super) const PAYMENT_METHOD_ID: IdRule = IdRule {
    prefix: "pm_",
    underscore: true,
    what: "a payment method id",
};

/// Vault fingerprints are short opaque tokens.
const MAX_FINGERPRINT: usize = 64;
/// Stripe's card brands (`payment_method.card.brand`).
const CARD_BRANDS: &[&str] = &[
    "amex",
    "cartes_bancaires",
    "diners",
    "discover",
    "eftpos_au",
    "interac",
    "jcb",
    "link",
    "mastercard",
    "unionpay",
    "visa",
    "unknown",
];
/// Stripe's card funding types.
const CARD_FUNDINGS: &[&str] = &["credit", "debit", "prepaid", "unknown"];
/// Stripe's card wallet types.
const CARD_WALLETS: &[&str] = &[
    "amex_express_checkout",
    "apple_pay",
    "google_pay",
    "link",
    "masterpass",
    "samsung_pay",
    "visa_checkout",
];
/// BINs (IINs) are 6 digits, or 8 for networks that moved to 8-digit BINs.
const BIN_DIGITS: std::ops::RangeInclusive<usize> = 6..=8;
/// Card expiry years riskgate accepts: four digits, nothing absurd.
const EXP_YEARS: std::ops::RangeInclusive<u32> = 2000..=2100;

impl Checker {
    /// The payment method id, billing party and card, or `None` when the id is missing or invalid.
    #[allow(clippy::type_complexity)]
    pub(super) fn payment_method_details<'a>(
        &mut self,
        d: Option<&'a pb::PaymentMethodDetails>,
    ) -> Option<(&'a str, Option<Party<'a>>, Option<Card<'a>>)> {
        let Some(d) = d else {
            self.violation(Path::Field(PAYMENT, "payment_method_details"), "required");
            return None;
        };
        let path = Path::Field(METHOD, "payment_method");
        let payment_method = if d.payment_method.is_empty() {
            self.violation(
                path,
                "required: a payment method id such as \"pm_1Q0PsIJvEtkwdCNY\"",
            );
            None
        } else {
            self.id(path, &d.payment_method, &PAYMENT_METHOD_ID)
        };
        let billing = d.billing_details.as_ref().map(|b| Party {
            address: self.address(BILLING_ADDRESS, b.address.as_ref()),
            email: self.email(Path::Field(BILLING, "email"), &b.email),
            name: self.text(Path::Field(BILLING, "name"), &b.name, MAX_NAME),
            phone: self.phone(Path::Field(BILLING, "phone"), &b.phone),
        });
        let card = d.card.as_ref().map(|c| self.card(c));
        Some((payment_method?, billing, card))
    }

    fn card<'a>(&mut self, c: &'a pb::CardDetails) -> Card<'a> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let extras = self.card_extras(c);
        Card {
            bin: self.shaped(
                Path::Field(CARD, "bin"),
                &c.bin,
                MAX_TEXT,
                |s| BIN_DIGITS.contains(&s.len()) && digits(s),
                |s| {
                    format!(
                        "must be the first 6 to 8 digits of the card number{}",
                        got(s)
                    )
                },
            ),
            last4: self.shaped(
                Path::Field(CARD, "last4"),
                &c.last4,
                MAX_TEXT,
                |s| s.len() == 4 && digits(s),
                |s| format!("must be the last 4 digits of the card number{}", got(s)),
            ),
            brand: self.one_of(Path::Field(CARD, "brand"), &c.brand, CARD_BRANDS),
            country: self.country(Path::Field(CARD, "country"), &c.country),
            funding: self.one_of(Path::Field(CARD, "funding"), &c.funding, CARD_FUNDINGS),
            fingerprint: self.shaped(
                Path::Field(CARD, "fingerprint"),
                &c.fingerprint,
                MAX_FINGERPRINT,
                |s| {
                    s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                },
                |_| "must contain only letters, digits, underscores and dashes".into(),
            ),
            exp_month: match c.exp_month {
                0 => None,
                m @ 1..=12 => Some(m),
                m => {
                    self.violation(
                        Path::Field(CARD, "exp_month"),
                        format!("must be 1 to 12 (got {m})"),
                    );
                    None
                }
            },
            exp_year: match c.exp_year {
                0 => None,
                y if EXP_YEARS.contains(&y) => Some(y),
                y => {
                    self.violation(
                        Path::Field(CARD, "exp_year"),
                        format!(
                            "must be a four-digit year from {} to {} (got {y})",
                            EXP_YEARS.start(),
                            EXP_YEARS.end()
                        ),
                    );
                    None
                }
            },
            wallet: self.one_of(Path::Field(CARD, "wallet"), &c.wallet, CARD_WALLETS),
            three_d_secure_supported: c.three_d_secure_supported,
            three_d_secure: extras.three_d_secure,
            three_d_secure_support: extras.three_d_secure_support,
            checks: extras.checks,
            network_token_used: extras.network_token_used,
            issuer: extras.issuer,
            description: extras.description,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::validate::{fixtures::*, payment_evaluation};

    #[test]
    fn required_messages_and_payment_method() {
        let mut req = valid();
        req.customer_details = None;
        assert!(only(&req, "customer_details").starts_with("required"));

        let mut req = valid();
        req.payment_details = None;
        assert_eq!(only(&req, "payment_details"), "required");

        let mut req = valid();
        payment(&mut req).payment_method_details = None;
        assert_eq!(
            only(&req, "payment_details.payment_method_details"),
            "required"
        );

        let mut req = valid();
        method(&mut req).payment_method = String::new();
        assert!(
            only(
                &req,
                "payment_details.payment_method_details.payment_method"
            )
            .starts_with("required")
        );

        method(&mut req).payment_method = "card_123".into();
        let d = only(
            &req,
            "payment_details.payment_method_details.payment_method",
        );
        assert!(d.contains("\"pm_\""), "{d}");
        method(&mut req).payment_method = "pm_12-3".into();
        only(
            &req,
            "payment_details.payment_method_details.payment_method",
        );
    }

    #[test]
    fn card_bin_last4_and_fingerprint() {
        let prefix = "payment_details.payment_method_details.card";
        for (bin, ok) in [
            ("42424", false),
            ("424242", true),
            ("42424242", true),
            ("424242424", false),
            ("4242a2", false),
        ] {
            let mut req = valid();
            card(&mut req).bin = bin.into();
            if ok {
                assert!(payment_evaluation(&req).is_ok(), "{bin}");
            } else {
                let d = only(&req, &format!("{prefix}.bin"));
                assert!(d.contains(&format!("(got \"{bin}\")")), "{d}");
            }
        }
        for last4 in ["424", "42424", "42a4"] {
            let mut req = valid();
            card(&mut req).last4 = last4.into();
            only(&req, &format!("{prefix}.last4"));
        }
        let mut req = valid();
        card(&mut req).fingerprint = "f".repeat(65);
        only(&req, &format!("{prefix}.fingerprint"));
        card(&mut req).fingerprint = "abc=".into();
        only(&req, &format!("{prefix}.fingerprint"));
        card(&mut req).fingerprint = "aB9_-".into();
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn card_expiry_ranges() {
        let prefix = "payment_details.payment_method_details.card";
        let mut req = valid();
        card(&mut req).exp_month = 13;
        card(&mut req).exp_year = 1999;
        assert_eq!(
            fields(&req),
            [format!("{prefix}.exp_month"), format!("{prefix}.exp_year")]
        );
        card(&mut req).exp_month = 1;
        card(&mut req).exp_year = 2101;
        assert_eq!(fields(&req), [format!("{prefix}.exp_year")]);
        card(&mut req).exp_month = 0;
        card(&mut req).exp_year = 0;
        let input = payment_evaluation(&req).unwrap();
        let c = input.card.unwrap();
        assert_eq!((c.exp_month, c.exp_year), (None, None));
    }

    #[test]
    fn card_enum_words() {
        let prefix = "payment_details.payment_method_details.card";
        let mut req = valid();
        card(&mut req).brand = "Visa".into();
        card(&mut req).funding = "charge".into();
        card(&mut req).wallet = "paypal".into();
        let v = violations(&req);
        assert_eq!(
            v.iter().map(|v| v.field.clone()).collect::<Vec<_>>(),
            ["brand", "funding", "wallet"].map(|f| format!("{prefix}.{f}"))
        );
        assert!(
            v[0].description.contains("cartes_bancaires")
                && v[0].description.contains("(got \"Visa\")")
        );

        for brand in CARD_BRANDS {
            card(&mut req).brand = (*brand).into();
            card(&mut req).funding = "unknown".into();
            card(&mut req).wallet = "google_pay".into();
            assert!(payment_evaluation(&req).is_ok(), "{brand}");
        }
    }
}
