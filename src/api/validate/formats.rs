//! The formats several fields share: email addresses, phone numbers, country codes and IP
//! addresses, and the length of a name.

use std::net::IpAddr;

use riskgate_core::reference;

use super::check::{Checker, MAX_TEXT, Path, got};

/// Stripe's length limits, in characters.
const MAX_EMAIL: usize = 800;
pub(super) const MAX_NAME: usize = 256;
const MAX_PHONE: usize = 40;

impl Checker {
    /// An optional IP address (IPv4 or IPv6).
    pub(super) fn ip(&mut self, path: Path<'_>, value: &str) -> Option<IpAddr> {
        let text = self.text(path, value, MAX_TEXT)?;
        match text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.violation(
                    path,
                    "must be an IPv4 or IPv6 address such as \"198.51.100.23\"",
                );
                None
            }
        }
    }

    pub(super) fn email<'a>(&mut self, path: Path<'_>, s: &'a str) -> Option<&'a str> {
        self.shaped(path, s, MAX_EMAIL, is_email, |_| {
            "must be an email address such as \"name@example.org\"".into()
        })
    }

    pub(super) fn phone<'a>(&mut self, path: Path<'_>, s: &'a str) -> Option<&'a str> {
        self.shaped(path, s, MAX_PHONE, is_phone, |_| {
            "must be a phone number: digits, spaces and + - ( ) . only, with at least one digit"
                .into()
        })
    }

    pub(super) fn country<'a>(&mut self, path: Path<'_>, s: &'a str) -> Option<&'a str> {
        self.shaped(path, s, MAX_TEXT, reference::is_country, |s| {
            let upper = s.to_ascii_uppercase();
            if reference::is_country(&upper) {
                format!("must be an upper-case ISO 3166-1 alpha-2 country code: use \"{upper}\"")
            } else {
                format!(
                    "must be an ISO 3166-1 alpha-2 country code such as \"US\"{}",
                    got(s)
                )
            }
        })
    }
}

/// One `@`, a non-empty local part, a dotted domain, no whitespace.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// Digits, spaces and `+-().`, with at least one digit.
fn is_phone(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
}

#[cfg(test)]
mod tests {
    use crate::api::validate::fixtures::*;

    #[test]
    fn countries_must_be_alpha_2() {
        let mut req = valid();
        billing(&mut req).address.as_mut().unwrap().country = "USA".into();
        let d = only(
            &req,
            "payment_details.payment_method_details.billing_details.address.country",
        );
        assert_eq!(
            d,
            "must be an ISO 3166-1 alpha-2 country code such as \"US\" (got \"USA\")"
        );

        let mut req = valid();
        card(&mut req).country = "us".into();
        let d = only(&req, "payment_details.payment_method_details.card.country");
        assert!(d.contains("use \"US\""), "{d}");

        let mut req = valid();
        payment(&mut req)
            .shipping_details
            .as_mut()
            .unwrap()
            .address
            .as_mut()
            .unwrap()
            .country = "ZZ".into();
        only(&req, "payment_details.shipping_details.address.country");
    }

    #[test]
    fn emails_are_bounded_and_email_shaped_and_never_echoed() {
        let mut req = valid();
        let long = format!("{}@example.com", "a".repeat(801 - "@example.com".len()));
        assert_eq!(long.len(), 801);
        customer(&mut req).email = long.clone();
        let d = only(&req, "customer_details.email");
        assert_eq!(d, "must be at most 800 characters (got 801)");

        for bad in [
            "jenny",
            "@example.com",
            "jenny@example",
            "jenny@@example.com",
            "jenny rosen@example.com",
            "j@example.",
        ] {
            customer(&mut req).email = bad.into();
            let d = only(&req, "customer_details.email");
            assert!(!d.contains(bad), "{d}");
        }

        let mut req = valid();
        billing(&mut req).email = "nope".into();
        only(
            &req,
            "payment_details.payment_method_details.billing_details.email",
        );
    }

    #[test]
    fn names_and_phones() {
        let mut req = valid();
        customer(&mut req).name = "n".repeat(257);
        only(&req, "customer_details.name");

        let mut req = valid();
        customer(&mut req).phone = "call me".into();
        let d = only(&req, "customer_details.phone");
        assert!(!d.contains("call me"), "{d}");
        customer(&mut req).phone = "+-()".into();
        only(&req, "customer_details.phone");
        customer(&mut req).phone = "1".repeat(41);
        assert_eq!(
            only(&req, "customer_details.phone"),
            "must be at most 40 characters (got 41)"
        );

        let mut req = valid();
        payment(&mut req).shipping_details.as_mut().unwrap().phone = "x1".into();
        payment(&mut req).shipping_details.as_mut().unwrap().name = "n".repeat(257);
        assert_eq!(
            fields(&req),
            [
                "payment_details.shipping_details.name",
                "payment_details.shipping_details.phone"
            ]
        );
    }

    #[test]
    fn ip_must_parse() {
        for bad in ["203.0.113", "203.0.113.7:443", "localhost", "::g"] {
            let mut req = valid();
            device(&mut req).ip = bad.into();
            let d = only(&req, "client_device_metadata_details.ip");
            assert!(!d.contains(bad), "{d}");
        }
    }
}
