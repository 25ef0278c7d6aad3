//! The request fields Radar's rules read that Stripe's evaluation request does not carry (issue 17):
//! the customer's metadata and creation time, the destination and connected account (ids, creation
//! time, metadata), the Checkout Session, the payment method type, and on the card the 3D Secure
//! outcome, 3D Secure support, earlier verification results, the network token, issuer and
//! description.

use riskgate_core::input::{CardChecks, ConnectedAccount, RadarDetails, ThreeDSecure, Transfer};

use super::{
    check::{Checker, IdRule, Path, got},
    customer::CUSTOMER,
    payment::PAYMENT,
};
use crate::proto::v1 as pb;

const METHOD: &str = "payment_details.payment_method_details";
const CARD: &str = "payment_details.payment_method_details.card";
const THREE_D_SECURE: &str = "payment_details.payment_method_details.card.three_d_secure";
const CHECKS: &str = "payment_details.payment_method_details.card.checks";
const TRANSFER: &str = "payment_details.transfer_data";
const ACCOUNT: &str = "account_details";

const ACCOUNT_ID: IdRule = IdRule {
    prefix: "acct_",
    underscore: false,
    what: "an account id",
};
const CHECKOUT_SESSION_ID: IdRule = IdRule {
    prefix: "cs_",
    underscore: true,
    what: "a Checkout Session id",
};

/// Stripe's 3D Secure results (`payment_method_details.card.three_d_secure.result`).
const THREE_D_SECURE_RESULTS: &[&str] = &[
    "authenticated",
    "attempt_acknowledged",
    "exempted",
    "failed",
    "not_supported",
    "processing_error",
];
const AUTHENTICATION_FLOWS: &[&str] = &["challenge", "frictionless"];
const ELECTRONIC_COMMERCE_INDICATORS: &[&str] = &["01", "02", "05", "06", "07"];
const THREE_D_SECURE_SUPPORT: &[&str] = &["required", "recommended", "optional", "not_supported"];
/// Card verification results, Stripe's words (`not_provided`: Radar's, when nothing was given).
const CHECK_RESULTS: &[&str] = &["pass", "fail", "unavailable", "unchecked", "not_provided"];
/// Longest payment method type (Stripe's are short words: `card`, `us_bank_account`).
const MAX_METHOD_TYPE: usize = 40;
/// Longest issuer name or card description.
const MAX_CARD_LABEL: usize = 200;
/// Creation times riskgate accepts, Unix seconds: from 2000 to 2100.
const CREATED: std::ops::RangeInclusive<i64> = 946_684_800..=4_102_444_800;

/// The card fields of this module.
pub(super) struct CardExtras<'a> {
    pub(super) three_d_secure: Option<ThreeDSecure<'a>>,
    pub(super) three_d_secure_support: Option<&'a str>,
    pub(super) checks: CardChecks<'a>,
    pub(super) network_token_used: Option<bool>,
    pub(super) issuer: Option<&'a str>,
    pub(super) description: Option<&'a str>,
}

impl Checker {
    /// `customer_details.metadata`, `customer_details.created`, `payment_details.transfer_data`,
    /// `payment_details.checkout_session`, `payment_details.payment_method_details.type` and
    /// `account_details`.
    pub(super) fn radar_details<'a>(
        &mut self,
        req: &'a pb::CreatePaymentEvaluationRequest,
    ) -> RadarDetails<'a> {
        let customer = req.customer_details.as_ref();
        let payment = req.payment_details.as_ref();
        let customer_metadata = customer.map(|c| &c.metadata).filter(|m| !m.is_empty());
        if let Some(m) = customer_metadata {
            self.metadata_map("customer_details.metadata", m);
        }
        let transfer = payment
            .and_then(|p| p.transfer_data.as_ref())
            .map(|t| self.transfer(t))
            .unwrap_or_default();
        let account = req
            .account_details
            .as_ref()
            .map(|a| self.account(a))
            .unwrap_or_default();
        let payment_method_type = payment
            .and_then(|p| p.payment_method_details.as_ref())
            .and_then(|m| {
                self.shaped(
                    Path::Field(METHOD, "type"),
                    &m.r#type,
                    MAX_METHOD_TYPE,
                    |s| s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    |s| {
                        format!(
                            "must be a payment method type in Stripe's words (card, sepa_debit, us_bank_account …){}",
                            got(s)
                        )
                    },
                )
            });
        let checkout_session = payment.and_then(|p| {
            self.id(
                Path::Field(PAYMENT, "checkout_session"),
                &p.checkout_session,
                &CHECKOUT_SESSION_ID,
            )
        });
        RadarDetails {
            payment_method_type,
            customer_metadata,
            customer_created: customer
                .and_then(|c| self.created(Path::Field(CUSTOMER, "created"), c.created)),
            transfer,
            account,
            checkout_session,
        }
    }

    fn transfer<'a>(&mut self, t: &'a pb::TransferData) -> Transfer<'a> {
        let destination_metadata = Some(&t.destination_metadata).filter(|m| !m.is_empty());
        if let Some(m) = destination_metadata {
            self.metadata_map("payment_details.transfer_data.destination_metadata", m);
        }
        Transfer {
            destination: self.id(
                Path::Field(TRANSFER, "destination"),
                &t.destination,
                &ACCOUNT_ID,
            ),
            destination_metadata,
        }
    }

    fn account<'a>(&mut self, a: &'a pb::AccountDetails) -> ConnectedAccount<'a> {
        let metadata = Some(&a.metadata).filter(|m| !m.is_empty());
        if let Some(m) = metadata {
            self.metadata_map("account_details.metadata", m);
        }
        ConnectedAccount {
            account: self.id(Path::Field(ACCOUNT, "account"), &a.account, &ACCOUNT_ID),
            created: self.created(Path::Field(ACCOUNT, "created"), a.created),
            metadata,
        }
    }

    fn created(&mut self, path: Path<'_>, created: i64) -> Option<i64> {
        match created {
            0 => None,
            c if CREATED.contains(&c) => Some(c),
            c => {
                self.violation(
                    path,
                    format!(
                        "must be Unix seconds from {} to {} (got {c})",
                        CREATED.start(),
                        CREATED.end()
                    ),
                );
                None
            }
        }
    }

    /// The card fields of this module.
    pub(super) fn card_extras<'a>(&mut self, c: &'a pb::CardDetails) -> CardExtras<'a> {
        let three_d_secure = c.three_d_secure.as_ref().map(|t| ThreeDSecure {
            result: self.one_of(
                Path::Field(THREE_D_SECURE, "result"),
                &t.result,
                THREE_D_SECURE_RESULTS,
            ),
            authentication_flow: self.one_of(
                Path::Field(THREE_D_SECURE, "authentication_flow"),
                &t.authentication_flow,
                AUTHENTICATION_FLOWS,
            ),
            version: self.shaped(
                Path::Field(THREE_D_SECURE, "version"),
                &t.version,
                16,
                |s| {
                    let parts: Vec<&str> = s.split('.').collect();
                    parts.len() == 3
                        && parts
                            .iter()
                            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                },
                |s| format!("must be a 3D Secure version such as \"2.2.0\"{}", got(s)),
            ),
            electronic_commerce_indicator: self.one_of(
                Path::Field(THREE_D_SECURE, "electronic_commerce_indicator"),
                &t.electronic_commerce_indicator,
                ELECTRONIC_COMMERCE_INDICATORS,
            ),
            liability_shift: t.liability_shift,
        });
        let checks = c
            .checks
            .as_ref()
            .map(|k| CardChecks {
                cvc_check: self.one_of(
                    Path::Field(CHECKS, "cvc_check"),
                    &k.cvc_check,
                    CHECK_RESULTS,
                ),
                address_line1_check: self.one_of(
                    Path::Field(CHECKS, "address_line1_check"),
                    &k.address_line1_check,
                    CHECK_RESULTS,
                ),
                address_postal_code_check: self.one_of(
                    Path::Field(CHECKS, "address_postal_code_check"),
                    &k.address_postal_code_check,
                    CHECK_RESULTS,
                ),
            })
            .unwrap_or_default();
        CardExtras {
            three_d_secure,
            three_d_secure_support: self.one_of(
                Path::Field(CARD, "three_d_secure_support"),
                &c.three_d_secure_support,
                THREE_D_SECURE_SUPPORT,
            ),
            checks,
            network_token_used: c.network_token.as_ref().map(|n| n.used),
            issuer: self.text(Path::Field(CARD, "issuer"), &c.issuer, MAX_CARD_LABEL),
            description: self.text(
                Path::Field(CARD, "description"),
                &c.description,
                MAX_CARD_LABEL,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::api::validate::{fixtures::*, payment_evaluation};
    use crate::proto::v1 as pb;

    #[test]
    fn radar_fields_map_to_the_input() {
        let mut req = valid();
        customer(&mut req)
            .metadata
            .insert("Trusted".into(), "true".into());
        customer(&mut req).created = 1_700_000_000;
        payment(&mut req).transfer_data = Some(pb::TransferData {
            destination: "acct_1Dest".into(),
            destination_metadata: [("Category".to_owned(), "new".to_owned())].into(),
        });
        payment(&mut req).checkout_session = "cs_test_a1B2".into();
        method(&mut req).r#type = "card".into();
        req.account_details = Some(pb::AccountDetails {
            account: "acct_1Conn".into(),
            created: 1_600_000_000,
            metadata: [("Internal Risk Rating".to_owned(), "high".to_owned())].into(),
        });
        let c = card(&mut req);
        c.three_d_secure = Some(pb::ThreeDSecureDetails {
            result: "authenticated".into(),
            authentication_flow: "challenge".into(),
            version: "2.2.0".into(),
            electronic_commerce_indicator: "05".into(),
            liability_shift: Some(true),
        });
        c.three_d_secure_support = "recommended".into();
        c.checks = Some(pb::CardChecks {
            cvc_check: "pass".into(),
            address_line1_check: "fail".into(),
            address_postal_code_check: "unavailable".into(),
        });
        c.network_token = Some(pb::NetworkToken { used: true });
        c.issuer = "Example Bank".into();
        c.description = "Visa Classic".into();
        let input = payment_evaluation(&req).unwrap();
        let r = &input.radar;
        assert_eq!(r.payment_method_type, Some("card"));
        assert_eq!(r.customer_created, Some(1_700_000_000));
        assert_eq!(r.customer_metadata.unwrap()["Trusted"], "true");
        assert_eq!(r.transfer.destination, Some("acct_1Dest"));
        assert_eq!(r.transfer.destination_metadata.unwrap()["Category"], "new");
        assert_eq!(r.account.account, Some("acct_1Conn"));
        assert_eq!(r.account.created, Some(1_600_000_000));
        assert_eq!(r.checkout_session, Some("cs_test_a1B2"));
        let card = input.card.unwrap();
        let t = card.three_d_secure.unwrap();
        assert_eq!(
            (
                t.result,
                t.authentication_flow,
                t.version,
                t.electronic_commerce_indicator
            ),
            (
                Some("authenticated"),
                Some("challenge"),
                Some("2.2.0"),
                Some("05")
            )
        );
        assert_eq!(t.liability_shift, Some(true));
        assert_eq!(card.three_d_secure_support, Some("recommended"));
        assert_eq!(card.checks.address_line1_check, Some("fail"));
        assert_eq!(card.network_token_used, Some(true));
        assert_eq!(card.issuer, Some("Example Bank"));
    }

    #[test]
    fn radar_fields_are_validated_with_field_paths() {
        let mut req = valid();
        customer(&mut req)
            .metadata
            .insert("k".repeat(41), "v".into());
        customer(&mut req).created = 12;
        payment(&mut req).transfer_data = Some(pb::TransferData {
            destination: "cus_1".into(),
            destination_metadata: [("note".to_owned(), "a\u{7}".to_owned())].into(),
        });
        payment(&mut req).checkout_session = "pi_1".into();
        method(&mut req).r#type = "Card".into();
        req.account_details = Some(pb::AccountDetails {
            account: "acct_1".into(),
            created: -1,
            metadata: (0..51).map(|i| (format!("k{i}"), "v".into())).collect(),
        });
        let c = card(&mut req);
        c.three_d_secure = Some(pb::ThreeDSecureDetails {
            result: "ok".into(),
            authentication_flow: "silent".into(),
            version: "2.2".into(),
            electronic_commerce_indicator: "5".into(),
            liability_shift: None,
        });
        c.three_d_secure_support = "yes".into();
        c.checks = Some(pb::CardChecks {
            cvc_check: "PASS".into(),
            ..Default::default()
        });
        let mut f = fields(&req);
        f.sort();
        let mut expected = vec![
            format!("customer_details.metadata[{}]", "k".repeat(41)),
            "customer_details.created".to_owned(),
            "payment_details.transfer_data.destination_metadata[note]".to_owned(),
            "payment_details.transfer_data.destination".to_owned(),
            "account_details.metadata".to_owned(),
            "account_details.created".to_owned(),
            "payment_details.payment_method_details.type".to_owned(),
            "payment_details.checkout_session".to_owned(),
            "payment_details.payment_method_details.card.three_d_secure.result".to_owned(),
            "payment_details.payment_method_details.card.three_d_secure.authentication_flow"
                .to_owned(),
            "payment_details.payment_method_details.card.three_d_secure.version".to_owned(),
            "payment_details.payment_method_details.card.three_d_secure.electronic_commerce_indicator"
                .to_owned(),
            "payment_details.payment_method_details.card.checks.cvc_check".to_owned(),
            "payment_details.payment_method_details.card.three_d_secure_support".to_owned(),
        ];
        expected.sort();
        assert_eq!(f, expected);
    }
}
