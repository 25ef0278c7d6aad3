//! The schema: names, values, reasons, and the check that refuses other schemas.

use super::*;

#[test]
fn names_are_unique_snake_case() {
    let mut names = NAMES.to_vec();
    assert!(names.iter().all(|n| {
        n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }));
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), COUNT);
    assert_eq!(FEATURES.len(), COUNT);
}

#[test]
fn missing_attributes_are_nan_and_facts_are_numbers() {
    let empty = compute(&Attributes::default());
    let at = |v: &FeatureVector, n: &str| v[index(n).unwrap()];
    assert!(at(&empty, "amount_in_usd").is_nan());
    assert!(at(&empty, "billing_card_country_mismatch").is_nan());
    assert!(at(&empty, "email_free_provider").is_nan());
    assert_eq!(at(&empty, "has_email"), 0.0);

    let mut a = Attributes::default();
    a.set_number(Attr::AmountInUsd, Some(99.0));
    a.set_text(Attr::Currency, Some("eur"));
    a.set_text(Attr::CardCountry, Some("NG"));
    a.set_text(Attr::BillingAddressCountry, Some("US"));
    a.set_text(Attr::ShippingAddressCountry, Some("US"));
    a.set_text(Attr::CardFunding, Some("prepaid"));
    a.set_text(Attr::Email, Some("john1987@gmail.com"));
    a.set_text(Attr::EmailDomain, Some("gmail.com"));
    a.set_flag(Attr::IsOffSession, Some(false));
    let v = compute(&a);
    assert_eq!(at(&v, "amount_in_usd"), 99.0);
    assert!((at(&v, "log_amount_in_usd") - 100f64.ln()).abs() < 1e-12);
    assert_eq!(at(&v, "currency_usd"), 0.0);
    assert_eq!(at(&v, "currency_eur"), 1.0);
    assert_eq!(at(&v, "billing_card_country_mismatch"), 1.0);
    assert_eq!(at(&v, "shipping_billing_country_mismatch"), 0.0);
    assert_eq!(at(&v, "card_funding_prepaid"), 1.0);
    assert_eq!(at(&v, "card_funding_credit"), 0.0);
    assert_eq!(at(&v, "email_free_provider"), 1.0);
    assert_eq!(at(&v, "email_local_digits"), 4.0);
    assert_eq!(at(&v, "email_local_length"), 8.0);
    assert_eq!(at(&v, "is_off_session"), 0.0);
    assert!(at(&v, "is_recurring").is_nan());
    assert_eq!(
        FEATURES[index("billing_card_country_mismatch").unwrap()].explain(&a),
        "billing country US differs from card country NG"
    );
    let free = &FEATURES[index("email_free_provider").unwrap()];
    assert_eq!(free.explain(&a), "email at a free provider (gmail.com)");
    a.set_text(Attr::EmailDomain, Some("example.com"));
    assert_eq!(
        free.explain(&a),
        "email at example.com, not a free provider"
    );
}

#[test]
fn velocity_features_read_enrichment_in_analyst_words() {
    let at = |v: &FeatureVector, n: &str| v[index(n).unwrap()];
    let empty = compute(&Attributes::default());
    assert!(at(&empty, "card_count_for_ip_address_hourly").is_nan());
    assert!(at(&empty, "hours_since_card_first_seen").is_nan());
    assert!(at(&empty, "amount_to_customer_average").is_nan());

    let mut a = Attributes::default();
    a.set_number(Attr::CardCountForIpAddressHourly, Some(5.0));
    a.set_number(Attr::TotalChargesPerCardNumberDaily, Some(1.0));
    a.set_number(Attr::HoursSinceEmailFirstSeen, Some(3.0));
    a.set_number(Attr::AmountInUsd, Some(300.0));
    a.set_number(
        Attr::AverageUsdAmountSuccessfulOnCustomerAllTime,
        Some(60.0),
    );
    let v = compute(&a);
    assert_eq!(at(&v, "card_count_for_ip_address_hourly"), 5.0);
    assert_eq!(at(&v, "amount_to_customer_average"), 5.0);
    let explain = |n: &str| FEATURES[index(n).unwrap()].explain(&a);
    assert_eq!(
        explain("card_count_for_ip_address_hourly"),
        "5 cards from this IP in the last hour"
    );
    assert_eq!(
        explain("total_charges_per_card_number_daily"),
        "1 payment with this card in the last day"
    );
    assert_eq!(
        explain("hours_since_email_first_seen"),
        "email first seen 3 hours ago"
    );
    assert_eq!(
        explain("hours_since_card_first_seen"),
        "first payment seen with this card"
    );
    assert_eq!(
        explain("amount_to_customer_average"),
        "amount is 5.0× this customer's average successful payment (60 USD)"
    );
}

#[test]
fn check_names_the_first_difference() {
    let mut names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(check(&names), Ok(()));
    names.swap(3, 4);
    let err = check(&names).unwrap_err();
    assert!(err.contains("feature 3 is `currency_gbp`"), "{err}");
    names.swap(3, 4);
    names.pop();
    assert!(check(&names).unwrap_err().contains("first missing"));
    // A v1 model: the 34 request features, none of v2's velocity ones.
    let v1: Vec<String> = names[..index("total_charges_per_card_number_hourly").unwrap()].to_vec();
    assert_eq!(v1.len(), 34);
    let err = check(&v1).unwrap_err();
    assert!(
        err.contains("schema riskgate-features-v3")
            && err.contains("first missing: `total_charges_per_card_number_hourly`")
            && err.contains("earlier schema"),
        "{err}"
    );
    // A v2 model: 51 features, none of v3's outcome memory.
    let v2: Vec<String> = names[..index("fraud_outcome_count_on_card_all_time").unwrap()].to_vec();
    assert_eq!(v2.len(), 51);
    let err = check(&v2).unwrap_err();
    assert_eq!(
        err,
        format!(
            "the model has 51 features; schema riskgate-features-v3 has {COUNT} (first missing: \
             `fraud_outcome_count_on_card_all_time`); the model was trained on an earlier schema: \
             retrain it on `riskgate model features` (scripts/train)"
        )
    );
    names.push(NAMES[COUNT - 1].into());
    names.push("velocity".into());
    assert!(
        check(&names)
            .unwrap_err()
            .contains("first extra: `velocity`")
    );
}

#[test]
fn outcome_memory_and_takeover_features_read_in_analyst_words() {
    let at = |v: &FeatureVector, n: &str| v[index(n).unwrap()];
    let empty = compute(&Attributes::default());
    for name in [
        "fraud_outcome_count_on_card_all_time",
        "hours_since_last_fraud_on_email",
        "payment_method_session_device_changed",
        "total_charges_per_device_id_all_time",
    ] {
        assert!(at(&empty, name).is_nan(), "{name}");
    }
    let mut a = Attributes::default();
    a.set_number(Attr::FraudOutcomeCountOnCardAllTime, Some(2.0));
    a.set_number(Attr::HoursSinceLastFraudOnCard, Some(30.0));
    a.set_number(Attr::HoursSinceLastFraudOnEmail, Some(240.0));
    a.set_number(Attr::FraudOutcomeCountOnDeviceAllTime, Some(1.0));
    a.set_number(Attr::TotalChargesPerDeviceIdAllTime, Some(0.0));
    a.set_number(Attr::TotalChargesPerCustomerAllTime, Some(14.0));
    a.set_flag(Attr::PaymentMethodSessionDeviceChanged, Some(true));
    let v = compute(&a);
    assert_eq!(at(&v, "fraud_outcome_count_on_card_all_time"), 2.0);
    assert_eq!(at(&v, "payment_method_session_device_changed"), 1.0);
    assert_eq!(at(&v, "total_charges_per_device_id_all_time"), 0.0);
    let explain = |n: &str| FEATURES[index(n).unwrap()].explain(&a);
    assert_eq!(
        explain("fraud_outcome_count_on_card_all_time"),
        "2 fraud reports on earlier payments with this card"
    );
    assert_eq!(
        explain("hours_since_last_fraud_on_card"),
        "fraud on this card was last reported 30 hours ago"
    );
    assert_eq!(
        explain("hours_since_last_fraud_on_email"),
        "fraud on this email was last reported 10 days ago"
    );
    assert_eq!(
        explain("hours_since_last_fraud_on_customer"),
        "no fraud reported on this customer account"
    );
    assert_eq!(
        explain("fraud_outcome_count_on_device_all_time"),
        "1 fraud report on earlier payments from this device"
    );
    assert_eq!(
        explain("total_charges_per_device_id_all_time"),
        "no earlier payment from this device"
    );
    assert_eq!(
        explain("total_charges_per_customer_all_time"),
        "14 earlier payments by this customer account"
    );
    assert_eq!(
        explain("payment_method_session_device_changed"),
        "device differs from the one the card was saved on"
    );
}
