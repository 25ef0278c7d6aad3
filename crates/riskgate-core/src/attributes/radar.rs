//! The attributes Stripe Radar's rules read that riskgate's first request did not carry (issue 17,
//! "Radar rules fidelity"): whole addresses, the cardholder name, the set-up flag under Radar's
//! names, the payment method type, earlier card verification results, 3D Secure, the wallet
//! cryptogram, the card's issuer, Connect accounts, the customer's age, Checkout; the GeoIP facts
//! beyond the country; `is_new_card_on_customer` from the customer's kept cards. Also the value
//! vocabularies Radar uses where the request's words differ (`mc` for `mastercard`, `android_pay` for
//! `google_pay`, `none` without a wallet, six-digit BINs).
//!
//! Pure: every value comes from the validated request ([`PaymentInput`]) or from what enrichment
//! found ([`Signals`]).

use std::borrow::Cow;

use crate::{
    attributes::{Attr, Attributes, MetadataScope, Pieces},
    input::{Address, PaymentInput, PaymentType},
    signals::{Dim, KeyKind, Signals},
};

/// Where each attribute of this module that the request carries comes from (for `riskgate rules
/// check`, which says so when a rule uses one: the attribute is missing, or false for a Boolean,
/// when the orchestrator does not send the field).
pub const REQUEST_FIELDS: &[(Attr, &str)] = &[
    (
        Attr::BillingAddressLine2,
        "payment_details.payment_method_details.billing_details.address.line2",
    ),
    (
        Attr::CardholderName,
        "payment_details.payment_method_details.billing_details.name",
    ),
    (
        Attr::IsThreeDSecure,
        "payment_details.payment_method_details.card.three_d_secure.result",
    ),
    (
        Attr::IsThreeDSecureAuthenticated,
        "payment_details.payment_method_details.card.three_d_secure.result",
    ),
    (
        Attr::CardThreeDSecureResult,
        "payment_details.payment_method_details.card.three_d_secure.result",
    ),
    (
        Attr::HasLiabilityShift,
        "payment_details.payment_method_details.card.three_d_secure.liability_shift",
    ),
    (
        Attr::CardThreeDSecureSupport,
        "payment_details.payment_method_details.card.three_d_secure_support",
    ),
    (
        Attr::HasCryptogram,
        "payment_details.payment_method_details.card.network_token.used",
    ),
    (
        Attr::CardIssuer,
        "payment_details.payment_method_details.card.issuer",
    ),
    (
        Attr::CardDescription,
        "payment_details.payment_method_details.card.description",
    ),
    (
        Attr::Destination,
        "payment_details.transfer_data.destination",
    ),
    (Attr::Account, "account_details.account"),
    (Attr::DaysSinceAccountWasCreated, "account_details.created"),
    (Attr::IsCheckout, "payment_details.checkout_session"),
    (
        Attr::HoursSinceCustomerWasCreated,
        "customer_details.created",
    ),
    (
        Attr::MinutesSinceCustomerWasCreated,
        "customer_details.created",
    ),
    (
        Attr::SecondsSinceCustomerWasCreated,
        "customer_details.created",
    ),
];

/// The configuration key of the GeoIP database each IP attribute needs (`ip_country` also reads
/// the City database when the country one is not set).
pub const GEOIP_DATABASES: &[(Attr, &str)] = &[
    (Attr::IpCountry, "enrichment.geoip_mmdb_path"),
    (Attr::IpState, "enrichment.geoip_city_mmdb_path"),
    (
        Attr::IsAnonymousIp,
        "enrichment.geoip_anonymous_ip_mmdb_path",
    ),
    (Attr::IsVpnIp, "enrichment.geoip_anonymous_ip_mmdb_path"),
    (Attr::IsHostingIp, "enrichment.geoip_anonymous_ip_mmdb_path"),
    (Attr::IsTorIp, "enrichment.geoip_anonymous_ip_mmdb_path"),
    (
        Attr::IpAddressConnectionType,
        "enrichment.geoip_connection_type_mmdb_path",
    ),
    (Attr::Isp, "enrichment.geoip_isp_mmdb_path"),
];

/// Radar's word for a card brand (Stripe's `payment_method.card.brand` spells three differently).
pub fn radar_card_brand(brand: &str) -> &str {
    match brand {
        "mastercard" => "mc",
        "discover" => "dscvr",
        "unionpay" => "cup",
        other => other,
    }
}

/// Radar's word for a wallet (`google_pay` is `android_pay` in Radar's rules).
pub fn radar_wallet(wallet: &str) -> &str {
    match wallet {
        "google_pay" => "android_pay",
        other => other,
    }
}

/// Radar's BIN: the first six digits.
pub fn radar_bin(bin: &str) -> &str {
    bin.get(..6).unwrap_or(bin)
}

/// An address in one string, the way Stripe prints it (`1234 Main St #2A Brooklyn, NY 10022 US`):
/// line 1, line 2 and city, then a comma, then state, postal code and country. `None` when every
/// part is missing.
pub fn joined_address(a: &Address<'_>) -> Option<String> {
    let pieces = address_pieces(a);
    (!pieces.is_empty()).then(|| pieces.concat())
}

/// [`joined_address`] as pieces (empty when every part is missing).
fn address_pieces<'p>(a: &Address<'p>) -> Pieces<'p> {
    let mut text = Pieces::new();
    let mut street = false;
    for (i, word) in words([a.line1, a.line2, a.city]).enumerate() {
        if i > 0 {
            text.push(" ");
        }
        text.push(word);
        street = true;
    }
    for (i, word) in words([a.state, a.postal_code, a.country]).enumerate() {
        text.push(match (i, street) {
            (0, false) => "",
            (0, true) => ", ",
            _ => " ",
        });
        text.push(word);
    }
    text
}

/// The present, non-blank parts, trimmed.
fn words(parts: [Option<&str>; 3]) -> impl Iterator<Item = &str> {
    parts
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// Sets the request attributes of this module.
pub fn request_attributes<'a>(a: &mut Attributes<'a>, input: &PaymentInput<'a>, now_unix: i64) {
    let r = &input.radar;
    for (scope, map) in [
        (MetadataScope::Customer, r.customer_metadata),
        (MetadataScope::Destination, r.transfer.destination_metadata),
        (MetadataScope::Account, r.account.metadata),
    ] {
        a.set_scoped_metadata(scope, map);
    }

    for (address, whole, line2) in [
        (
            input.billing.as_ref().and_then(|b| b.address.as_ref()),
            Attr::BillingAddress,
            Attr::BillingAddressLine2,
        ),
        (
            input.shipping.as_ref().and_then(|s| s.address.as_ref()),
            Attr::ShippingAddress,
            Attr::ShippingAddressLine2,
        ),
    ] {
        if let Some(addr) = address {
            a.set_joined(whole, &address_pieces(addr));
            a.set_text(line2, addr.line2);
        }
    }
    a.set_text(
        Attr::CardholderName,
        input.billing.as_ref().and_then(|b| b.name),
    );

    let setup = input.payment_type.map(PaymentType::is_setup);
    a.set_flag(Attr::IsSetupIntent, setup);
    a.set_text(
        Attr::TransactionType,
        setup.map(|s| if s { "setup_intent" } else { "charge" }),
    );
    a.set_text(
        Attr::PaymentMethodType,
        r.payment_method_type
            .or(input.card.as_ref().map(|_| "card")),
    );

    if let Some(card) = &input.card {
        a.set_text(Attr::CvcCheck, card.checks.cvc_check);
        a.set_text(Attr::AddressLine1Check, card.checks.address_line1_check);
        a.set_text(Attr::AddressZipCheck, card.checks.address_postal_code_check);
        let result = card.three_d_secure.as_ref().and_then(|t| t.result);
        a.set_text(Attr::CardThreeDSecureResult, result);
        a.set_flag(
            Attr::IsThreeDSecure,
            result.map(|r| matches!(r, "authenticated" | "attempt_acknowledged")),
        );
        a.set_flag(
            Attr::IsThreeDSecureAuthenticated,
            result.map(|r| r == "authenticated"),
        );
        let liability = card.three_d_secure.as_ref().and_then(|t| t.liability_shift);
        a.set_flag(
            Attr::HasLiabilityShift,
            liability.map(|shift| shift && card.wallet.is_none()),
        );
        a.set_text(
            Attr::CardThreeDSecureSupport,
            card.three_d_secure_support
                .or(match card.three_d_secure_supported {
                    Some(false) => Some("not_supported"),
                    _ => None,
                }),
        );
        a.set_flag(Attr::HasCryptogram, card.network_token_used);
        a.set_text(Attr::CardIssuer, card.issuer);
        a.set_text(Attr::CardDescription, card.description);
    }

    a.set_text(Attr::Destination, r.transfer.destination);
    a.set_text(Attr::Account, r.account.account);
    a.set_number(
        Attr::DaysSinceAccountWasCreated,
        r.account
            .created
            .map(|c| (now_unix.saturating_sub(c).max(0) / 86_400) as f64),
    );
    a.set_flag(Attr::IsCheckout, Some(r.checkout_session.is_some()));
    if let Some(created) = r.customer_created {
        let secs = now_unix.saturating_sub(created).max(0);
        a.set_number(Attr::SecondsSinceCustomerWasCreated, Some(secs as f64));
        a.set_number(
            Attr::MinutesSinceCustomerWasCreated,
            Some((secs / 60) as f64),
        );
        a.set_number(
            Attr::HoursSinceCustomerWasCreated,
            Some((secs / 3600) as f64),
        );
    }
}

/// Sets the attributes that come from enrichment: the GeoIP facts and `is_new_card_on_customer`.
pub fn enriched_attributes<'a>(a: &mut Attributes<'a>, input: &PaymentInput<'_>, e: &'a Signals) {
    let g = &e.geo;
    if let Some(state) = &g.state {
        a.set_text(Attr::IpState, state.as_deref());
    }
    if let Some(anon) = g.anonymous {
        // Radar: "a known proxy or Tor exit node".
        a.set_flag(
            Attr::IsAnonymousIp,
            Some(anon.public_proxy || anon.tor_exit_node),
        );
        a.set_flag(Attr::IsVpnIp, Some(anon.vpn));
        a.set_flag(Attr::IsHostingIp, Some(anon.hosting_provider));
        a.set_flag(Attr::IsTorIp, Some(anon.tor_exit_node));
    }
    if let Some(kind) = &g.connection_type {
        a.set_text(Attr::IpAddressConnectionType, kind.as_deref());
    }
    if let Some(isp) = &g.isp {
        a.set_text(Attr::Isp, isp.as_deref().map(Cow::Borrowed));
    }
    // The customer key keeps the cards (fingerprint, else payment method) it was used with: one not
    // among them is new. Without a customer the Boolean is false (Radar: Booleans are false, not
    // missing); when the state could not be read it is missing.
    let new_card = match input.customer {
        None => Some(false),
        Some(_) => e
            .velocity
            .key(KeyKind::Customer)
            .map(|h| !h.seen_before[Dim::Card as usize]),
    };
    a.set_flag(Attr::IsNewCardOnCustomer, new_card);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_join_the_way_stripe_prints_them() {
        let a = Address {
            line1: Some("1234 Main St"),
            line2: Some("#2A"),
            city: Some("Brooklyn"),
            state: Some("NY"),
            postal_code: Some("10022"),
            country: Some("US"),
        };
        assert_eq!(
            joined_address(&a).as_deref(),
            Some("1234 Main St #2A Brooklyn, NY 10022 US")
        );
        let a = Address {
            postal_code: Some("75001"),
            country: Some("FR"),
            ..Default::default()
        };
        assert_eq!(joined_address(&a).as_deref(), Some("75001 FR"));
        assert_eq!(joined_address(&Address::default()), None);
    }

    #[test]
    fn radar_vocabulary() {
        assert_eq!(radar_card_brand("mastercard"), "mc");
        assert_eq!(radar_card_brand("discover"), "dscvr");
        assert_eq!(radar_card_brand("unionpay"), "cup");
        assert_eq!(radar_card_brand("visa"), "visa");
        assert_eq!(radar_wallet("google_pay"), "android_pay");
        assert_eq!(radar_wallet("apple_pay"), "apple_pay");
        assert_eq!(radar_bin("42424242"), "424242");
        assert_eq!(radar_bin("424242"), "424242");
    }
}
