//! Outcome-memory attributes: what was learned after earlier decisions about the entities this
//! payment carries ([`crate::signals::Outcomes`]), under Radar's names where Radar has one
//! (`efw_count_on_card_*`, `dispute_count_on_*`, `refund_count_on_card_*`,
//! `total_customers_with_prior_fraud_activity_for_*`) and riskgate's otherwise
//! (`fraud_outcome_count_on_*`, `hours_since_*_fraud_on_*`, …).
//!
//! An entity the payment has, whose state was read, gives 0 when nothing was learned about it; an
//! entity the payment lacks (or state that could not be read) leaves its attributes missing.

use crate::{
    attributes::{Attr, Attributes},
    signals::{
        KeyKind, OUTCOME_CAP, OutcomeHistory, OutcomeLabel, OutcomeSeries, OutcomeWindow, Outcomes,
    },
};

use OutcomeWindow::{AllTime, Daily, Hourly, Recent, Weekly, Yearly};

/// A windowed count of a series on a key: (key, series, window, attribute).
const WINDOWED: &[(KeyKind, OutcomeSeries, OutcomeWindow, Attr)] = &[
    (
        KeyKind::Card,
        OutcomeSeries::EarlyFraudWarning,
        Hourly,
        Attr::EfwCountOnCardHourly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::EarlyFraudWarning,
        Daily,
        Attr::EfwCountOnCardDaily,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::EarlyFraudWarning,
        Weekly,
        Attr::EfwCountOnCardWeekly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::EarlyFraudWarning,
        AllTime,
        Attr::EfwCountOnCardAllTime,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::EarlyFraudWarning,
        Hourly,
        Attr::EfwCountOnIpHourly,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::EarlyFraudWarning,
        Daily,
        Attr::EfwCountOnIpDaily,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::EarlyFraudWarning,
        Weekly,
        Attr::EfwCountOnIpWeekly,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::EarlyFraudWarning,
        AllTime,
        Attr::EfwCountOnIpAllTime,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::FraudulentDispute,
        Hourly,
        Attr::DisputeCountOnCardNumberHourly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::FraudulentDispute,
        Daily,
        Attr::DisputeCountOnCardNumberDaily,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::FraudulentDispute,
        Weekly,
        Attr::DisputeCountOnCardNumberWeekly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::FraudulentDispute,
        Yearly,
        Attr::DisputeCountOnCardNumberYearly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::FraudulentDispute,
        AllTime,
        Attr::DisputeCountOnCardNumberAllTime,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::FraudulentDispute,
        Hourly,
        Attr::DisputeCountOnIpHourly,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::FraudulentDispute,
        Daily,
        Attr::DisputeCountOnIpDaily,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::FraudulentDispute,
        Weekly,
        Attr::DisputeCountOnIpWeekly,
    ),
    (
        KeyKind::Ip,
        OutcomeSeries::FraudulentDispute,
        AllTime,
        Attr::DisputeCountOnIpAllTime,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::Refund,
        Hourly,
        Attr::RefundCountOnCardHourly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::Refund,
        Daily,
        Attr::RefundCountOnCardDaily,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::Refund,
        Weekly,
        Attr::RefundCountOnCardWeekly,
    ),
    (
        KeyKind::Card,
        OutcomeSeries::Refund,
        AllTime,
        Attr::RefundCountOnCardAllTime,
    ),
];

/// Fraud outcomes per key: (key, recent, all time, hours since the last one).
const FRAUD: &[(KeyKind, Attr, Attr, Option<Attr>)] = &[
    (
        KeyKind::Card,
        Attr::FraudOutcomeCountOnCardRecent,
        Attr::FraudOutcomeCountOnCardAllTime,
        Some(Attr::HoursSinceLastFraudOnCard),
    ),
    (
        KeyKind::Customer,
        Attr::FraudOutcomeCountOnCustomerRecent,
        Attr::FraudOutcomeCountOnCustomerAllTime,
        Some(Attr::HoursSinceLastFraudOnCustomer),
    ),
    (
        KeyKind::Email,
        Attr::FraudOutcomeCountOnEmailRecent,
        Attr::FraudOutcomeCountOnEmailAllTime,
        Some(Attr::HoursSinceLastFraudOnEmail),
    ),
    (
        KeyKind::Device,
        Attr::FraudOutcomeCountOnDeviceRecent,
        Attr::FraudOutcomeCountOnDeviceAllTime,
        Some(Attr::HoursSinceLastFraudOnDevice),
    ),
    (
        KeyKind::Ip,
        Attr::FraudOutcomeCountOnIpRecent,
        Attr::FraudOutcomeCountOnIpAllTime,
        None,
    ),
    (
        KeyKind::ShippingAddress,
        Attr::FraudOutcomeCountOnShippingAddressRecent,
        Attr::FraudOutcomeCountOnShippingAddressAllTime,
        None,
    ),
    (
        KeyKind::BillingAddress,
        Attr::FraudOutcomeCountOnBillingAddressRecent,
        Attr::FraudOutcomeCountOnBillingAddressAllTime,
        None,
    ),
];

/// Distinct fraud customers: (key, weekly, yearly).
const FRAUD_CUSTOMERS: &[(KeyKind, Attr, Attr)] = &[
    (
        KeyKind::Card,
        Attr::TotalCustomersWithPriorFraudActivityForCardWeekly,
        Attr::TotalCustomersWithPriorFraudActivityForCardYearly,
    ),
    (
        KeyKind::Email,
        Attr::TotalCustomersWithPriorFraudActivityForEmailWeekly,
        Attr::TotalCustomersWithPriorFraudActivityForEmailYearly,
    ),
];

/// Label counts (all retained history): (key, labels summed, attribute).
const LABELS: &[(KeyKind, &[OutcomeLabel], Attr)] = &[
    (
        KeyKind::Card,
        &[OutcomeLabel::DeclinedFraudCode],
        Attr::FraudDeclineCountOnCardAllTime,
    ),
    (
        KeyKind::Customer,
        &[OutcomeLabel::DeclinedFraudCode],
        Attr::FraudDeclineCountOnCustomerAllTime,
    ),
    (
        KeyKind::Email,
        &[OutcomeLabel::DeclinedFraudCode],
        Attr::FraudDeclineCountOnEmailAllTime,
    ),
    (
        KeyKind::Card,
        &[OutcomeLabel::ServiceDispute, OutcomeLabel::OtherDispute],
        Attr::NonFraudDisputeCountOnCardAllTime,
    ),
    (
        KeyKind::Customer,
        &[OutcomeLabel::ServiceDispute, OutcomeLabel::OtherDispute],
        Attr::NonFraudDisputeCountOnCustomerAllTime,
    ),
];

fn hours_since(now_unix: i64, at: Option<i64>) -> Option<f64> {
    at.map(|at| ((now_unix - at).max(0) / 3600) as f64)
}

/// Sets every outcome-memory attribute from `o` as of `now_unix`.
pub fn outcome_attributes(a: &mut Attributes<'_>, o: &Outcomes, now_unix: i64) {
    let key = |k: KeyKind| -> Option<&OutcomeHistory> { o.key(k) };
    for &(kind, series, window, attr) in WINDOWED {
        if let Some(h) = key(kind) {
            a.set_number(attr, Some(f64::from(h.window(series, window))));
        }
    }
    for &(kind, recent, all_time, last) in FRAUD {
        let Some(h) = key(kind) else { continue };
        a.set_number(
            recent,
            Some(f64::from(h.window(OutcomeSeries::Fraud, Recent))),
        );
        a.set_number(
            all_time,
            Some(f64::from(h.window(OutcomeSeries::Fraud, AllTime))),
        );
        if let Some(last) = last {
            a.set_number(last, hours_since(now_unix, h.last_fraud_at));
        }
    }
    for &(kind, weekly, yearly) in FRAUD_CUSTOMERS {
        if let Some(h) = key(kind) {
            a.set_number(weekly, Some(f64::from(h.fraud_customers[Weekly as usize])));
            a.set_number(yearly, Some(f64::from(h.fraud_customers[Yearly as usize])));
        }
    }
    for &(kind, labels, attr) in LABELS {
        if let Some(h) = key(kind) {
            let n: u32 = labels.iter().map(|l| h.count(*l)).sum();
            a.set_number(attr, Some(f64::from(n.min(u32::from(OUTCOME_CAP)))));
        }
    }
    if let Some(card) = key(KeyKind::Card) {
        a.set_number(
            Attr::HoursSinceFirstFraudOnCard,
            hours_since(now_unix, card.first_fraud_at),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{attributes::Kind, signals::OUTCOME_WINDOWS};

    const NOW: i64 = 1_795_219_200;

    /// Every attribute of this module, once.
    fn all() -> Vec<Attr> {
        let mut v: Vec<Attr> = WINDOWED.iter().map(|w| w.3).collect();
        for f in FRAUD {
            v.extend([f.1, f.2]);
            v.extend(f.3);
        }
        for f in FRAUD_CUSTOMERS {
            v.extend([f.1, f.2]);
        }
        v.extend(LABELS.iter().map(|l| l.2));
        v.push(Attr::HoursSinceFirstFraudOnCard);
        v
    }

    #[test]
    fn every_outcome_attribute_is_a_number_filled_by_enrichment_once() {
        let attrs = all();
        let mut unique = attrs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), attrs.len());
        for a in attrs {
            assert_eq!(a.kind(), Kind::Number, "{}", a.name());
            // In the catalog's enrichment part (after the request's, before the derived ones).
            let i = a as usize;
            assert!(
                i > Attr::PastedFieldsCount as usize && i < Attr::IsDisposableEmail as usize,
                "{}",
                a.name()
            );
        }
    }

    #[test]
    fn counts_windows_and_ages() {
        let mut card = OutcomeHistory::default();
        card.windows[OutcomeSeries::EarlyFraudWarning as usize] = [0, 1, 1, 1, 1, 1];
        card.windows[OutcomeSeries::FraudulentDispute as usize] = [0, 0, 0, 0, 2, 3];
        card.windows[OutcomeSeries::Fraud as usize] = [0, 1, 1, 2, 4, 5];
        card.fraud_customers = [0, 0, 1, 1, 2, 2];
        card.counts[OutcomeLabel::DeclinedFraudCode as usize] = 40;
        card.counts[OutcomeLabel::OtherDispute as usize] = 1;
        card.counts[OutcomeLabel::ServiceDispute as usize] = 2;
        card.first_fraud_at = Some(NOW - 400 * 86_400);
        card.last_fraud_at = Some(NOW - 7200 - 59);
        let mut o = Outcomes::default();
        o.keys[KeyKind::Card as usize] = Some(card);
        o.keys[KeyKind::Email as usize] = Some(OutcomeHistory::default());
        let mut a = Attributes::default();
        outcome_attributes(&mut a, &o, NOW);
        assert_eq!(a.number(Attr::EfwCountOnCardDaily), Some(1.0));
        assert_eq!(a.number(Attr::EfwCountOnCardHourly), Some(0.0));
        assert_eq!(a.number(Attr::DisputeCountOnCardNumberYearly), Some(2.0));
        assert_eq!(a.number(Attr::DisputeCountOnCardNumberAllTime), Some(3.0));
        assert_eq!(a.number(Attr::FraudOutcomeCountOnCardRecent), Some(2.0));
        assert_eq!(a.number(Attr::FraudOutcomeCountOnCardAllTime), Some(5.0));
        assert_eq!(
            a.number(Attr::TotalCustomersWithPriorFraudActivityForCardWeekly),
            Some(1.0)
        );
        assert_eq!(
            a.number(Attr::TotalCustomersWithPriorFraudActivityForCardYearly),
            Some(2.0)
        );
        assert_eq!(a.number(Attr::FraudDeclineCountOnCardAllTime), Some(25.0));
        assert_eq!(a.number(Attr::NonFraudDisputeCountOnCardAllTime), Some(3.0));
        assert_eq!(a.number(Attr::HoursSinceLastFraudOnCard), Some(2.0));
        assert_eq!(a.number(Attr::HoursSinceFirstFraudOnCard), Some(9600.0));
        // A key the payment has, with nothing learned: zeros, and no age.
        assert_eq!(a.number(Attr::FraudOutcomeCountOnEmailAllTime), Some(0.0));
        assert_eq!(a.number(Attr::HoursSinceLastFraudOnEmail), None);
        // A key the payment lacks: missing.
        assert_eq!(a.number(Attr::FraudOutcomeCountOnDeviceAllTime), None);
        assert_eq!(a.number(Attr::EfwCountOnIpAllTime), None);
        assert_eq!(OUTCOME_WINDOWS, 6);
    }
}
