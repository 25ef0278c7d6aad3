//! From a validated payment to its attributes. Pure: the clock comes in as an argument.

use std::borrow::Cow;

use crate::{
    attributes::windows::{Stat, WINDOWED},
    attributes::{Attr, Attributes, radar},
    input::{CustomerPresence, PaymentInput},
    reference::FxTable,
    signals::{Counter, KeyKind, Signals},
};

/// Computes every attribute of `input` at Unix time `now_unix`: the request's own, then what the
/// enrichment stage found (`enrichment`; [`Signals::default`] when there is none). Inline device
/// data in the request wins over the Radar Session's.
pub fn attributes<'a>(
    input: &PaymentInput<'a>,
    enrichment: &'a Signals,
    fx: &FxTable,
    now_unix: i64,
) -> Attributes<'a> {
    let mut a = Attributes::default();
    a.set_metadata(input.metadata);
    a.set_number(Attr::AmountInUsd, fx.to_usd(input.currency, input.amount));
    a.set_number(Attr::Amount, Some(input.currency.to_major(input.amount)));
    a.set_text(Attr::Currency, Some(input.currency.code));
    a.set_text(Attr::ChargeDescription, input.description);
    a.set_text(Attr::StatementDescriptor, input.statement_descriptor);
    a.set_flag(
        Attr::IsOffSession,
        input
            .customer_presence
            .map(|p| p == CustomerPresence::OffSession),
    );
    a.set_flag(
        Attr::IsRecurring,
        input.payment_type.map(|t| t.is_recurring()),
    );
    a.set_flag(Attr::IsSetup, input.payment_type.map(|t| t.is_setup()));

    if let Some(card) = &input.card {
        a.set_text(Attr::CardBin, card.bin.map(radar::radar_bin));
        a.set_text(Attr::CardBrand, card.brand.map(radar::radar_card_brand));
        a.set_text(Attr::CardCountry, card.country);
        a.set_text(Attr::CardFunding, card.funding);
        a.set_text(Attr::CardFingerprint, card.fingerprint);
        // Radar: `none` when the card was not presented through a wallet.
        a.set_text(
            Attr::DigitalWallet,
            Some(card.wallet.map_or("none", radar::radar_wallet)),
        );
        a.set_flag(
            Attr::CardThreeDSecureSupported,
            card.three_d_secure_supported,
        );
        if let (Some(month), Some(year)) = (card.exp_month, card.exp_year) {
            let (now_year, now_month) = year_month(now_unix);
            let months = (i64::from(year) - now_year) * 12 + i64::from(month) - now_month;
            a.set_number(Attr::CardExpiresInMonths, Some(months as f64));
        }
    }

    a.set_text(Attr::Customer, input.customer);
    if let Some(email) = input.any_email() {
        // Folded (NFKC + case fold) like list items and velocity keys, so `JÖRG@…` is `jörg@…`.
        let email = crate::text::fold(email);
        let domain = email.rsplit_once('@').map(|(_, d)| d);
        a.set_text(
            Attr::EmailDomain,
            domain.map(|d| match &email {
                Cow::Borrowed(b) => Cow::Borrowed(&b[b.len() - d.len()..]),
                Cow::Owned(_) => Cow::Owned(d.to_owned()),
            }),
        );
        a.set_text(Attr::Email, Some(email));
    }
    if let Some(addr) = input.billing.as_ref().and_then(|b| b.address.as_ref()) {
        a.set_text(Attr::BillingAddressCountry, addr.country);
        a.set_text(Attr::BillingAddressPostalCode, addr.postal_code);
        a.set_text(Attr::BillingAddressCity, addr.city);
        a.set_text(Attr::BillingAddressState, addr.state);
        a.set_text(Attr::BillingAddressLine1, addr.line1);
    }
    if let Some(addr) = input.shipping.as_ref().and_then(|s| s.address.as_ref()) {
        a.set_text(Attr::ShippingAddressCountry, addr.country);
        a.set_text(Attr::ShippingAddressPostalCode, addr.postal_code);
        a.set_text(Attr::ShippingAddressCity, addr.city);
        a.set_text(Attr::ShippingAddressState, addr.state);
        a.set_text(Attr::ShippingAddressLine1, addr.line1);
    }

    let device = &input.device;
    let session = enrichment.session.as_ref();
    a.set_text(
        Attr::IpAddress,
        device
            .ip
            .or(session.and_then(|s| s.ip))
            .map(|ip| Cow::Owned(ip.to_string())),
    );
    a.set_text(
        Attr::UserAgent,
        device
            .user_agent
            .or(session.and_then(|s| s.user_agent.as_deref())),
    );
    a.set_text(
        Attr::Referrer,
        device
            .referrer
            .or(session.and_then(|s| s.referrer.as_deref())),
    );
    a.set_flag(Attr::HasRadarSession, Some(device.radar_session.is_some()));
    a.set_number(
        Attr::TimeOnPageMs,
        device
            .time_on_page_ms
            .or(session.and_then(|s| s.time_on_page_ms))
            .map(|ms| ms as f64),
    );
    let has_device_data = device.radar_session.is_some()
        || device.ip.is_some()
        || device.user_agent.is_some()
        || !device.pasted_fields.is_empty()
        || session.is_some();
    if has_device_data {
        let inline = !device.pasted_fields.is_empty();
        let (pasted_card, pasted_count) = match session {
            Some(s) if !inline => (
                s.pasted_fields.iter().any(|f| is_card_number_field(f)),
                s.pasted_fields.len(),
            ),
            _ => (
                device.pasted_fields.iter().any(|f| is_card_number_field(f)),
                device.pasted_fields.len(),
            ),
        };
        a.set_flag(Attr::PastedCardNumber, Some(pasted_card));
        a.set_number(Attr::PastedFieldsCount, Some(pasted_count as f64));
    }
    enriched(&mut a, enrichment);
    crate::attributes::outcomes::outcome_attributes(&mut a, &enrichment.outcomes, now_unix);
    radar::request_attributes(&mut a, input, now_unix);
    radar::enriched_attributes(&mut a, input, enrichment);
    crate::attributes::derive::derived_attributes(&mut a);
    a
}

fn is_card_number_field(f: &str) -> bool {
    f == "card_number" || f == "number"
}

/// The attributes only the enrichment stage knows: session facts, IP country, the two-session
/// check and velocity.
fn enriched<'a>(a: &mut Attributes<'a>, e: &'a Signals) {
    a.set_flag(Attr::RadarSessionFound, e.session_found);
    if let Some(s) = &e.session {
        a.set_text(Attr::DeviceId, s.device_id.as_deref());
        a.set_text(Attr::AcceptLanguage, s.accept_language.as_deref());
        a.set_text(Attr::Timezone, s.timezone.as_deref());
    }
    a.set_text(Attr::IpCountry, e.ip_country.as_deref());
    a.set_flag(
        Attr::HasPaymentMethodSession,
        Some(e.payment_method_session.is_some()),
    );
    if let Some(c) = &e.payment_method_session {
        a.set_flag(Attr::PaymentMethodSessionIpChanged, c.ip_changed);
        a.set_flag(Attr::PaymentMethodSessionDeviceChanged, c.device_changed);
        a.set_flag(
            Attr::PaymentMethodSessionUserAgentChanged,
            c.user_agent_changed,
        );
        a.set_flag(
            Attr::PaymentMethodSessionIpCountryChanged,
            c.ip_country_changed,
        );
    }

    let v = &e.velocity;
    for (kind, stat, attrs) in WINDOWED {
        let Some(h) = v.key(*kind) else { continue };
        for (w, attr) in attrs.iter().enumerate() {
            let n = match stat {
                Stat::Count(c) => f64::from(h.count(*c, w)),
                Stat::Distinct(d) => f64::from(h.distinct[*d as usize][w]),
            };
            a.set_number(*attr, Some(n));
        }
    }
    const ALL_TIME: usize = 3;
    for (kind, [charged, successful, failed, avg_attempted, avg_successful]) in [
        (
            KeyKind::Card,
            [
                Attr::TotalUsdAmountChargedOnCardAllTime,
                Attr::TotalUsdAmountSuccessfulOnCardAllTime,
                Attr::TotalUsdAmountFailedOnCardAllTime,
                Attr::AverageUsdAmountAttemptedOnCardAllTime,
                Attr::AverageUsdAmountSuccessfulOnCardAllTime,
            ],
        ),
        (
            KeyKind::Customer,
            [
                Attr::TotalUsdAmountChargedOnCustomerAllTime,
                Attr::TotalUsdAmountSuccessfulOnCustomerAllTime,
                Attr::TotalUsdAmountFailedOnCustomerAllTime,
                Attr::AverageUsdAmountAttemptedOnCustomerAllTime,
                Attr::AverageUsdAmountSuccessfulOnCustomerAllTime,
            ],
        ),
    ] {
        let Some(h) = v.key(kind) else { continue };
        a.set_number(charged, Some(h.usd_charged));
        a.set_number(successful, Some(h.usd_successful));
        a.set_number(failed, Some(h.usd_failed));
        let average = |sum: f64, n: u32| (n > 0).then(|| sum / f64::from(n));
        a.set_number(
            avg_attempted,
            average(h.usd_charged, h.count(Counter::Total, ALL_TIME)),
        );
        a.set_number(
            avg_successful,
            average(h.usd_successful, h.count(Counter::Authorized, ALL_TIME)),
        );
    }
    for (kind, [hours, minutes, seconds]) in [
        (
            KeyKind::Card,
            [
                Attr::HoursSinceCardFirstSeen,
                Attr::MinutesSinceCardFirstSeen,
                Attr::SecondsSinceCardFirstSeen,
            ],
        ),
        (
            KeyKind::Email,
            [
                Attr::HoursSinceEmailFirstSeen,
                Attr::MinutesSinceEmailFirstSeen,
                Attr::SecondsSinceEmailFirstSeen,
            ],
        ),
    ] {
        let Some(secs) = v.key(kind).and_then(|h| h.seconds_since_first_seen) else {
            continue;
        };
        a.set_number(seconds, Some(secs as f64));
        a.set_number(minutes, Some((secs / 60) as f64));
        a.set_number(hours, Some((secs / 3600) as f64));
    }
}

/// The UTC calendar (year, month 1–12) of a Unix time (Howard Hinnant's civil-from-days).
fn year_month(unix: i64) -> (i64, i64) {
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        input::{Address, Card, Device, Party, PaymentType},
        reference::currency,
    };

    pub(crate) fn sample<'a>(metadata: &'a BTreeMap<String, String>) -> PaymentInput<'a> {
        PaymentInput {
            amount: 12_345,
            currency: currency("eur").unwrap(),
            customer: Some("cus_123"),
            customer_account: None,
            email: Some("Jenny.Rosen@Example.COM"),
            name: Some("Jenny Rosen"),
            phone: None,
            description: None,
            statement_descriptor: None,
            payment_method: "pm_123",
            billing: Some(Party {
                address: Some(Address {
                    country: Some("FR"),
                    postal_code: Some("75001"),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            card: Some(Card {
                country: Some("US"),
                exp_month: Some(3),
                exp_year: Some(2027),
                ..Default::default()
            }),
            customer_presence: Some(CustomerPresence::OnSession),
            payment_type: Some(PaymentType::SetupRecurring),
            shipping: None,
            device: Device {
                ip: Some("203.0.113.7".parse().unwrap()),
                pasted_fields: vec!["card_number"],
                ..Default::default()
            },
            metadata,
            radar: Default::default(),
        }
    }

    #[test]
    fn derives_radar_attributes() {
        let md = BTreeMap::new();
        let fx = FxTable::new([("eur", 1.1)]).unwrap();
        // 2026-11-21T00:00:00Z
        let a = attributes(&sample(&md), &Signals::EMPTY, &fx, 1_795_219_200);
        assert!((a.number(Attr::AmountInUsd).unwrap() - 135.795).abs() < 1e-9);
        assert_eq!(a.number(Attr::Amount), Some(123.45));
        assert_eq!(a.text(Attr::Email), Some("jenny.rosen@example.com"));
        assert_eq!(a.text(Attr::EmailDomain), Some("example.com"));
        assert_eq!(a.text(Attr::BillingAddressCountry), Some("FR"));
        assert_eq!(a.text(Attr::CardCountry), Some("US"));
        assert_eq!(a.flag(Attr::IsOffSession), Some(false));
        assert_eq!(a.flag(Attr::IsRecurring), Some(true));
        assert_eq!(a.flag(Attr::IsSetup), Some(true));
        assert_eq!(a.number(Attr::CardExpiresInMonths), Some(4.0));
        assert_eq!(a.text(Attr::IpAddress), Some("203.0.113.7"));
        assert_eq!(a.flag(Attr::PastedCardNumber), Some(true));
        assert_eq!(a.flag(Attr::HasRadarSession), Some(false));
        assert_eq!(a.text(Attr::ShippingAddressCountry), None);
        assert_eq!(a.number(Attr::TimeOnPageMs), None);
    }

    #[test]
    fn calendar() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(951_782_400), (2000, 2)); // 2000-02-29
        assert_eq!(year_month(1_795_219_200), (2026, 11));
        assert_eq!(year_month(1_798_761_599), (2026, 12)); // 2026-12-31T23:59:59Z
    }
}
