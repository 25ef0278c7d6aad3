//! The validated payment the core decides on. Built by the gRPC edge from a request that passed
//! validation; borrows the request's strings, so mapping costs no copies.

use std::{collections::BTreeMap, net::IpAddr};

use crate::reference::Currency;

/// Whether the customer is in the checkout flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerPresence {
    OnSession,
    OffSession,
}

/// Stripe's `money_movement_details.card.payment_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentType {
    OneOff,
    Recurring,
    SetupOneOff,
    SetupRecurring,
}

impl PaymentType {
    /// Whether the card is being saved for later use.
    pub fn is_setup(self) -> bool {
        matches!(self, Self::SetupOneOff | Self::SetupRecurring)
    }

    /// Whether this is (or sets up) a recurring payment.
    pub fn is_recurring(self) -> bool {
        matches!(self, Self::Recurring | Self::SetupRecurring)
    }
}

/// A postal address; `country` is a validated ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address<'a> {
    pub city: Option<&'a str>,
    pub country: Option<&'a str>,
    pub line1: Option<&'a str>,
    pub line2: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// Billing or shipping party.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Party<'a> {
    pub address: Option<Address<'a>>,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Non-sensitive card facts from the orchestrator's vault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Card<'a> {
    pub bin: Option<&'a str>,
    pub last4: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub country: Option<&'a str>,
    pub funding: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    pub exp_month: Option<u32>,
    pub exp_year: Option<u32>,
    pub wallet: Option<&'a str>,
    pub three_d_secure_supported: Option<bool>,
    // --- Radar rules fidelity (issue 17) ---
    /// The 3D Secure result the orchestrator got for this payment, if 3DS ran.
    pub three_d_secure: Option<ThreeDSecure<'a>>,
    /// `required`, `recommended`, `optional` or `not_supported`.
    pub three_d_secure_support: Option<&'a str>,
    /// Results of an earlier verification of the card (a set-up or a $0 authorization).
    pub checks: CardChecks<'a>,
    /// Whether a network token (with its device-bound cryptogram) was used.
    pub network_token_used: Option<bool>,
    pub issuer: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// A 3D Secure outcome (Stripe's `payment_method_details.card.three_d_secure`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreeDSecure<'a> {
    /// `authenticated`, `attempt_acknowledged`, `exempted`, `failed`, `not_supported`,
    /// `processing_error`.
    pub result: Option<&'a str>,
    /// `challenge` or `frictionless`.
    pub authentication_flow: Option<&'a str>,
    /// `1.0.2`, `2.1.0`, `2.2.0` …
    pub version: Option<&'a str>,
    /// `01`, `02`, `05`, `06`, `07`.
    pub electronic_commerce_indicator: Option<&'a str>,
    /// Whether the issuer takes the fraud liability (the 3DS server's answer).
    pub liability_shift: Option<bool>,
}

/// Card verification results (Stripe's `payment_method_details.card.checks`): `pass`, `fail`,
/// `unavailable`, `unchecked`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardChecks<'a> {
    pub cvc_check: Option<&'a str>,
    pub address_line1_check: Option<&'a str>,
    pub address_postal_code_check: Option<&'a str>,
}

/// The connected account a platform's payment is for (Radar for Platforms' `account`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectedAccount<'a> {
    /// `acct_…`.
    pub account: Option<&'a str>,
    /// Unix seconds.
    pub created: Option<i64>,
    /// The platform's metadata on the account (`::account:key::`).
    pub metadata: Option<&'a BTreeMap<String, String>>,
}

/// Where the funds go (Stripe's `transfer_data`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transfer<'a> {
    /// `acct_…`.
    pub destination: Option<&'a str>,
    /// The platform's metadata on the destination account (`::destination:key::`).
    pub destination_metadata: Option<&'a BTreeMap<String, String>>,
}

/// The request facts Radar's rules read that the original request did not carry (issue 17).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RadarDetails<'a> {
    /// `payment_details.payment_method_details.type` (`card`, `sepa_debit` …).
    pub payment_method_type: Option<&'a str>,
    /// The Customer object's metadata (`::customer:key::`).
    pub customer_metadata: Option<&'a BTreeMap<String, String>>,
    /// When the customer was created, Unix seconds.
    pub customer_created: Option<i64>,
    pub transfer: Transfer<'a>,
    pub account: ConnectedAccount<'a>,
    /// A Stripe Checkout Session id (`cs_…`).
    pub checkout_session: Option<&'a str>,
}

/// What is known of the customer's device for this payment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Device<'a> {
    pub radar_session: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// `ip` as the request wrote it, when that is its canonical text ([`canonical_ip_text`]):
    /// the `ip_address` attribute borrows it rather than formatting one on every evaluation.
    pub ip_text: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub referrer: Option<&'a str>,
    pub time_on_page_ms: Option<u64>,
    pub pasted_fields: PastedFields<'a>,
}

/// Most pasted field names a payment may list (the gateway refuses more).
pub const MAX_PASTED_FIELDS: usize = 20;

/// The checkout fields the customer pasted into, at most [`MAX_PASTED_FIELDS`], kept inline: an
/// evaluation allocates nothing for them. Reads as a slice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PastedFields<'a> {
    names: [&'a str; MAX_PASTED_FIELDS],
    len: u8,
}

impl<'a> PastedFields<'a> {
    /// Adds `name`; returns `false` (and keeps the list) when it is full.
    pub fn push(&mut self, name: &'a str) -> bool {
        let Some(slot) = self.names.get_mut(usize::from(self.len)) else {
            return false;
        };
        *slot = name;
        self.len += 1;
        true
    }
}

impl<'a> std::ops::Deref for PastedFields<'a> {
    type Target = [&'a str];
    fn deref(&self) -> &[&'a str] {
        &self.names[..usize::from(self.len)]
    }
}

/// The first [`MAX_PASTED_FIELDS`] names.
impl<'a> FromIterator<&'a str> for PastedFields<'a> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Self {
        let mut list = PastedFields::default();
        for name in names {
            if !list.push(name) {
                break;
            }
        }
        list
    }
}

/// A validated payment evaluation request.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentInput<'a> {
    /// Positive, in the currency's minor units.
    pub amount: i64,
    pub currency: Currency,
    pub customer: Option<&'a str>,
    pub customer_account: Option<&'a str>,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub description: Option<&'a str>,
    pub statement_descriptor: Option<&'a str>,
    pub payment_method: &'a str,
    pub billing: Option<Party<'a>>,
    pub card: Option<Card<'a>>,
    pub customer_presence: Option<CustomerPresence>,
    pub payment_type: Option<PaymentType>,
    pub shipping: Option<Party<'a>>,
    pub device: Device<'a>,
    pub metadata: &'a BTreeMap<String, String>,
    /// Facts for Radar's rules beyond Stripe's evaluation request (issue 17).
    pub radar: RadarDetails<'a>,
}

impl<'a> PaymentInput<'a> {
    /// The customer's email: `customer_details.email`, else the billing email.
    pub fn any_email(&self) -> Option<&'a str> {
        self.email.or(self.billing.as_ref().and_then(|b| b.email))
    }

    /// The billing address country.
    pub fn billing_country(&self) -> Option<&'a str> {
        self.billing.as_ref()?.address.as_ref()?.country
    }

    /// The shipping address country.
    pub fn shipping_country(&self) -> Option<&'a str> {
        self.shipping.as_ref()?.address.as_ref()?.country
    }

    /// The card's issuing country.
    pub fn card_country(&self) -> Option<&'a str> {
        self.card.as_ref()?.country
    }
}

/// `text` when it is exactly how `ip` prints (`ip.to_string()`, e.g. `2001:db8::1`, not
/// `2001:DB8:0::1`); compared without allocating.
pub fn canonical_ip_text(text: &str, ip: IpAddr) -> Option<&str> {
    // IPv4: the standard parser takes dotted decimal only, without leading zeros, so a text that
    // parses to `ip` is how it prints (parsing is cheaper than printing).
    if let IpAddr::V4(v4) = ip {
        return (text.parse::<std::net::Ipv4Addr>() == Ok(v4)).then_some(text);
    }
    (crate::small_format!("{ip}") == text).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_text_is_canonical_exactly_when_it_prints_so() {
        let texts = [
            "192.0.2.44",
            "0.0.0.0",
            "255.255.255.255",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3",
            " 1.2.3.4",
            "1.2.3.4 ",
            "0x1.2.3.4",
            "1.2.3.256",
            "2001:db8::1",
            "2001:DB8::1",
            "2001:db8:0::1",
            "::ffff:192.0.2.1",
            "::1",
        ];
        for text in texts {
            for ip in [text.parse::<IpAddr>().ok(), text.trim().parse().ok()]
                .into_iter()
                .flatten()
            {
                let printed = (ip.to_string() == text).then_some(text);
                assert_eq!(canonical_ip_text(text, ip), printed, "{text}");
            }
        }
    }
}
