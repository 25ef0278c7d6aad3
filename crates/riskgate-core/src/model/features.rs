//! The model's feature schema: one versioned, named, ordered list of numbers computed from a
//! payment's [`Attributes`]. Training (`riskgate model features`) and serving compute features with
//! this one function, so the two cannot drift; a model file names its features, and a model whose
//! names or order differ from [`NAMES`] is refused at load.
//!
//! Missing values are NaN (the way XGBoost and LightGBM read missing). Booleans are 0/1. A feature
//! vector is a fixed-size array on the stack: computing one allocates nothing.
//!
//! Version 1 covered the request attributes. Version 2 adds what the enrichment stage remembers:
//! velocity counts of the card, IP, email and customer, distinct cards, emails and customers seen
//! together, time since the card and email were first seen, and the device against the one the
//! payment method was set up from. Training computes them by replaying labelled events through the
//! same enrichment ([`crate::enrich::replay`]). A model trained on another version is refused at
//! load, with the schema named, rather than silently reading columns it was not trained on.
//!
//! Not in v2: counts of riskgate's own blocks (training data has no decisions to replay, so the
//! model would learn from its own answers) and the IP's country (needs a country database, which
//! simulated traffic has not got); declined counts come from reported outcomes instead.

use crate::attributes::{Attr, Attributes};

/// The schema's version, written beside the names in `riskgate model schema` and `models/`.
pub const SCHEMA_VERSION: &str = "riskgate-features-v2";

/// Free webmail providers: an address there costs nothing to create.
const FREE_EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "aol.com",
    "icloud.com",
    "mail.com",
    "gmx.com",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
];

/// One feature: its name (the model file's column name, also the reason code) and how it is read.
pub struct Feature {
    pub name: &'static str,
    value: fn(&Attributes<'_>) -> f64,
    /// What an analyst reads when this feature raised the risk.
    explain: fn(&Attributes<'_>) -> String,
}

impl Feature {
    /// The reason text for this feature on these attributes.
    pub fn explain(&self, attrs: &Attributes<'_>) -> String {
        (self.explain)(attrs)
    }
}

fn b(v: bool) -> f64 {
    f64::from(u8::from(v))
}

fn num(a: &Attributes<'_>, attr: Attr) -> f64 {
    a.number(attr).unwrap_or(f64::NAN)
}

fn flag(a: &Attributes<'_>, attr: Attr) -> f64 {
    a.flag(attr).map_or(f64::NAN, b)
}

/// 1 when the text attribute equals `want`, 0 when it is something else, NaN when missing.
fn is(a: &Attributes<'_>, attr: Attr, want: &str) -> f64 {
    a.text(attr)
        .map_or(f64::NAN, |t| b(t.eq_ignore_ascii_case(want)))
}

/// 1 when both countries are known and differ, 0 when they match, NaN when either is missing.
fn differ(a: &Attributes<'_>, x: Attr, y: Attr) -> f64 {
    match (a.text(x), a.text(y)) {
        (Some(x), Some(y)) => b(!x.eq_ignore_ascii_case(y)),
        _ => f64::NAN,
    }
}

fn text<'b>(a: &'b Attributes<'_>, attr: Attr) -> &'b str {
    a.text(attr).unwrap_or("?")
}

fn email_local<'b>(a: &'b Attributes<'_>) -> Option<&'b str> {
    a.text(Attr::Email)
        .map(|e| e.rsplit_once('@').map_or(e, |(l, _)| l))
}

macro_rules! features {
    ($($name:literal => |$a:tt| $value:expr, |$e:tt| $explain:expr;)*) => {
        /// The schema, in order.
        pub const FEATURES: &[Feature] = &[$(Feature {
            name: $name,
            value: |$a| $value,
            explain: |$e| $explain,
        },)*];
        /// How many features the schema has.
        pub const COUNT: usize = [$($name,)*].len();
        /// The feature names, in order (`riskgate model schema`).
        pub const NAMES: [&str; COUNT] = [$($name,)*];
    };
}

features! {
    "amount_in_usd" => |a| num(a, Attr::AmountInUsd),
        |a| format!("amount of about {:.0} USD", a.number(Attr::AmountInUsd).unwrap_or(0.0));
    "log_amount_in_usd" => |a| a.number(Attr::AmountInUsd).map_or(f64::NAN, |v| v.max(0.0).ln_1p()),
        |a| format!("amount of about {:.0} USD", a.number(Attr::AmountInUsd).unwrap_or(0.0));
    "currency_usd" => |a| is(a, Attr::Currency, "usd"),
        |a| format!("payment currency {}", text(a, Attr::Currency));
    "currency_eur" => |a| is(a, Attr::Currency, "eur"),
        |a| format!("payment currency {}", text(a, Attr::Currency));
    "currency_gbp" => |a| is(a, Attr::Currency, "gbp"),
        |a| format!("payment currency {}", text(a, Attr::Currency));
    "is_off_session" => |a| flag(a, Attr::IsOffSession),
        |a| if a.flag(Attr::IsOffSession) == Some(true) {
            "merchant-initiated payment (customer not present)".to_owned()
        } else {
            "customer-initiated payment".to_owned()
        };
    "is_recurring" => |a| flag(a, Attr::IsRecurring),
        |a| if a.flag(Attr::IsRecurring) == Some(true) {
            "recurring payment".to_owned()
        } else {
            "one-off payment rather than a recurring one".to_owned()
        };
    "is_setup_payment" => |a| flag(a, Attr::IsSetup),
        |a| if a.flag(Attr::IsSetup) == Some(true) {
            "the card is being saved for later payments".to_owned()
        } else {
            "the card is not being saved for later payments".to_owned()
        };
    "has_customer" => |a| b(a.text(Attr::Customer).is_some()),
        |a| if a.text(Attr::Customer).is_some() {
            "payment by a known customer account".to_owned()
        } else {
            "guest checkout: no customer account".to_owned()
        };
    "card_funding_credit" => |a| is(a, Attr::CardFunding, "credit"),
        |a| format!("{} card", text(a, Attr::CardFunding));
    "card_funding_debit" => |a| is(a, Attr::CardFunding, "debit"),
        |a| format!("{} card", text(a, Attr::CardFunding));
    "card_funding_prepaid" => |a| is(a, Attr::CardFunding, "prepaid"),
        |a| format!("{} card", text(a, Attr::CardFunding));
    "card_brand_visa" => |a| is(a, Attr::CardBrand, "visa"),
        |a| format!("card brand {}", text(a, Attr::CardBrand));
    "card_brand_mastercard" => |a| is(a, Attr::CardBrand, "mc"),
        |a| format!("card brand {}", text(a, Attr::CardBrand));
    "card_brand_amex" => |a| is(a, Attr::CardBrand, "amex"),
        |a| format!("card brand {}", text(a, Attr::CardBrand));
    "card_country_us" => |a| is(a, Attr::CardCountry, "US"),
        |a| format!("card issued in {}", text(a, Attr::CardCountry));
    "card_months_to_expiry" => |a| num(a, Attr::CardExpiresInMonths),
        |a| format!("card expires in {:.0} months", a.number(Attr::CardExpiresInMonths).unwrap_or(0.0));
    "card_3d_secure_supported" => |a| flag(a, Attr::CardThreeDSecureSupported),
        |a| if a.flag(Attr::CardThreeDSecureSupported) == Some(false) {
            "card does not support 3D Secure".to_owned()
        } else {
            "card supports 3D Secure".to_owned()
        };
    "digital_wallet" => |a| b(a.text(Attr::DigitalWallet).is_some_and(|w| w != "none")),
        |a| match a.text(Attr::DigitalWallet) {
            Some(w) if w != "none" => format!("tokenized wallet payment ({w})"),
            _ => "card entered directly rather than through a wallet".to_owned(),
        };
    "billing_card_country_mismatch" => |a| differ(a, Attr::BillingAddressCountry, Attr::CardCountry),
        |a| country_pair(a, Attr::BillingAddressCountry, Attr::CardCountry, "billing", "card");
    "shipping_card_country_mismatch" => |a| differ(a, Attr::ShippingAddressCountry, Attr::CardCountry),
        |a| country_pair(a, Attr::ShippingAddressCountry, Attr::CardCountry, "shipping", "card");
    "shipping_billing_country_mismatch" => |a| differ(a, Attr::ShippingAddressCountry, Attr::BillingAddressCountry),
        |a| country_pair(a, Attr::ShippingAddressCountry, Attr::BillingAddressCountry, "shipping", "billing");
    "has_billing_address" => |a| b(a.text(Attr::BillingAddressCountry).is_some()),
        |a| if a.text(Attr::BillingAddressCountry).is_some() {
            "billing address given".to_owned()
        } else {
            "no billing address".to_owned()
        };
    "has_shipping_address" => |a| b(a.text(Attr::ShippingAddressCountry).is_some()),
        |a| if a.text(Attr::ShippingAddressCountry).is_some() {
            "goods shipped to an address".to_owned()
        } else {
            "no shipping address".to_owned()
        };
    "has_email" => |a| b(a.text(Attr::Email).is_some()),
        |a| if a.text(Attr::Email).is_some() {
            "customer email given".to_owned()
        } else {
            "no customer email".to_owned()
        };
    "email_free_provider" => |a| a.text(Attr::EmailDomain).map_or(f64::NAN, |d| b(FREE_EMAIL_DOMAINS.contains(&d))),
        |a| match a.text(Attr::EmailDomain) {
            Some(d) if FREE_EMAIL_DOMAINS.contains(&d) => format!("email at a free provider ({d})"),
            Some(d) => format!("email at {d}, not a free provider"),
            None => "no email domain".to_owned(),
        };
    "email_local_digits" => |a| email_local(a).map_or(f64::NAN, |l| l.bytes().filter(u8::is_ascii_digit).count() as f64),
        |a| format!(
            "email name has {} digits",
            email_local(a).map_or(0, |l| l.bytes().filter(u8::is_ascii_digit).count())
        );
    "email_local_length" => |a| email_local(a).map_or(f64::NAN, |l| l.len() as f64),
        |a| format!("email name is {} characters long", email_local(a).map_or(0, str::len));
    "has_radar_session" => |a| flag(a, Attr::HasRadarSession),
        |a| if a.flag(Attr::HasRadarSession) == Some(true) {
            "Radar Session present".to_owned()
        } else {
            "no Radar Session for this payment".to_owned()
        };
    "has_ip_address" => |a| b(a.text(Attr::IpAddress).is_some()),
        |a| if a.text(Attr::IpAddress).is_some() {
            "customer IP address known".to_owned()
        } else {
            "no customer IP address".to_owned()
        };
    "has_user_agent" => |a| b(a.text(Attr::UserAgent).is_some()),
        |a| if a.text(Attr::UserAgent).is_some() {
            "browser user agent known".to_owned()
        } else {
            "no browser user agent".to_owned()
        };
    "time_on_page_ms" => |a| num(a, Attr::TimeOnPageMs),
        |a| format!(
            "customer spent {:.1} s on the checkout page",
            a.number(Attr::TimeOnPageMs).unwrap_or(0.0) / 1000.0
        );
    "pasted_card_number" => |a| flag(a, Attr::PastedCardNumber),
        |a| if a.flag(Attr::PastedCardNumber) == Some(true) {
            "card number was pasted rather than typed".to_owned()
        } else {
            "card number was typed".to_owned()
        };
    "pasted_fields_count" => |a| num(a, Attr::PastedFieldsCount),
        |a| format!(
            "{:.0} checkout fields were pasted",
            a.number(Attr::PastedFieldsCount).unwrap_or(0.0)
        );
    // v2: velocity and history (the enrichment stage; counts exclude this payment).
    "total_charges_per_card_number_hourly" => |a| num(a, Attr::TotalChargesPerCardNumberHourly),
        |a| counted(a, Attr::TotalChargesPerCardNumberHourly, "payment", "payments", "with this card in the last hour");
    "total_charges_per_card_number_daily" => |a| num(a, Attr::TotalChargesPerCardNumberDaily),
        |a| counted(a, Attr::TotalChargesPerCardNumberDaily, "payment", "payments", "with this card in the last day");
    "declined_charges_per_card_number_daily" => |a| num(a, Attr::DeclinedChargesPerCardNumberDaily),
        |a| counted(a, Attr::DeclinedChargesPerCardNumberDaily, "declined payment", "declined payments", "with this card in the last day");
    "total_charges_per_ip_address_hourly" => |a| num(a, Attr::TotalChargesPerIpAddressHourly),
        |a| counted(a, Attr::TotalChargesPerIpAddressHourly, "payment", "payments", "from this IP in the last hour");
    "card_count_for_ip_address_hourly" => |a| num(a, Attr::CardCountForIpAddressHourly),
        |a| counted(a, Attr::CardCountForIpAddressHourly, "card", "cards", "from this IP in the last hour");
    "card_count_for_ip_address_daily" => |a| num(a, Attr::CardCountForIpAddressDaily),
        |a| counted(a, Attr::CardCountForIpAddressDaily, "card", "cards", "from this IP in the last day");
    "declined_charges_per_ip_address_daily" => |a| num(a, Attr::DeclinedChargesPerIpAddressDaily),
        |a| counted(a, Attr::DeclinedChargesPerIpAddressDaily, "declined payment", "declined payments", "from this IP in the last day");
    "card_count_for_email_daily" => |a| num(a, Attr::CardCountForEmailDaily),
        |a| counted(a, Attr::CardCountForEmailDaily, "card", "cards", "used with this email in the last day");
    "email_count_for_card_daily" => |a| num(a, Attr::EmailCountForCardDaily),
        |a| counted(a, Attr::EmailCountForCardDaily, "email", "emails", "used with this card in the last day");
    "total_customers_for_card_weekly" => |a| num(a, Attr::TotalCustomersForCardWeekly),
        |a| counted(a, Attr::TotalCustomersForCardWeekly, "customer account", "customer accounts", "used this card in the last week");
    "card_count_for_customer_weekly" => |a| num(a, Attr::CardCountForCustomerWeekly),
        |a| counted(a, Attr::CardCountForCustomerWeekly, "card", "cards", "on this customer account in the last week");
    "total_charges_per_customer_daily" => |a| num(a, Attr::TotalChargesPerCustomerDaily),
        |a| counted(a, Attr::TotalChargesPerCustomerDaily, "payment", "payments", "by this customer account in the last day");
    "amount_to_customer_average" => |a| amount_ratio(a),
        |a| match a.number(Attr::AverageUsdAmountSuccessfulOnCustomerAllTime) {
            Some(avg) if avg > 0.0 => format!(
                "amount is {:.1}× this customer's average successful payment ({avg:.0} USD)",
                amount_ratio(a)
            ),
            _ => "no successful payment by this customer account before".to_owned(),
        };
    "hours_since_card_first_seen" => |a| num(a, Attr::HoursSinceCardFirstSeen),
        |a| since(a, Attr::HoursSinceCardFirstSeen, "card");
    "hours_since_email_first_seen" => |a| num(a, Attr::HoursSinceEmailFirstSeen),
        |a| since(a, Attr::HoursSinceEmailFirstSeen, "email");
    "payment_method_session_ip_changed" => |a| flag(a, Attr::PaymentMethodSessionIpChanged),
        |a| match a.flag(Attr::PaymentMethodSessionIpChanged) {
            Some(true) => "IP address differs from the one the card was saved from".to_owned(),
            Some(false) => "same IP address as when the card was saved".to_owned(),
            None => "IP address when the card was saved unknown".to_owned(),
        };
    "payment_method_session_user_agent_changed" => |a| flag(a, Attr::PaymentMethodSessionUserAgentChanged),
        |a| match a.flag(Attr::PaymentMethodSessionUserAgentChanged) {
            Some(true) => "browser differs from the one the card was saved from".to_owned(),
            Some(false) => "same browser as when the card was saved".to_owned(),
            None => "browser when the card was saved unknown".to_owned(),
        };
}

/// "5 cards from this IP in the last hour"; a missing count (the payment has no such key) says so.
fn counted(a: &Attributes<'_>, attr: Attr, one: &str, many: &str, rest: &str) -> String {
    match a.number(attr) {
        Some(1.0) => format!("1 {one} {rest}"),
        Some(n) => format!("{n:.0} {many} {rest}"),
        None => format!("{many} {rest}: unknown"),
    }
}

/// "card first seen 3 hours ago"; missing = this payment is the first.
fn since(a: &Attributes<'_>, attr: Attr, what: &str) -> String {
    match a.number(attr) {
        Some(h) if h < 1.0 => format!("{what} first seen less than an hour ago"),
        Some(h) if h < 48.0 => format!("{what} first seen {h:.0} hours ago"),
        Some(h) => format!("{what} first seen {:.0} days ago", h / 24.0),
        None => format!("first payment seen with this {what}"),
    }
}

/// The amount against the customer's average successful payment (NaN without one).
fn amount_ratio(a: &Attributes<'_>) -> f64 {
    match (
        a.number(Attr::AmountInUsd),
        a.number(Attr::AverageUsdAmountSuccessfulOnCustomerAllTime),
    ) {
        (Some(x), Some(avg)) if avg > 0.0 => x / avg,
        _ => f64::NAN,
    }
}

/// Explains a country-mismatch feature in words that hold whether the countries differ, agree, or
/// one of them is unknown (a missing value takes the model's default branch and still counts).
fn country_pair(a: &Attributes<'_>, x: Attr, y: Attr, x_name: &str, y_name: &str) -> String {
    match (a.text(x), a.text(y)) {
        (Some(cx), Some(cy)) if cx != cy => {
            format!("{x_name} country {cx} differs from {y_name} country {cy}")
        }
        (Some(cx), Some(_)) => format!("{x_name} and {y_name} country are both {cx}"),
        (None, Some(_)) => format!("{x_name} country unknown"),
        (Some(_), None) => format!("{y_name} country unknown"),
        (None, None) => format!("{x_name} and {y_name} countries unknown"),
    }
}

/// One payment's features, in schema order; NaN = missing.
pub type FeatureVector = [f64; COUNT];

/// Computes the features of `attrs` (no allocation).
pub fn compute(attrs: &Attributes<'_>) -> FeatureVector {
    let mut out = [f64::NAN; COUNT];
    for (slot, f) in out.iter_mut().zip(FEATURES) {
        *slot = (f.value)(attrs);
    }
    out
}

/// Folds attributions of features that say the same thing into one reason: the amount and its log
/// become one "amount" reason.
pub fn merge_for_reasons(contributions: &mut FeatureVector) {
    const AMOUNT: usize = 0;
    const LOG_AMOUNT: usize = 1;
    debug_assert_eq!(NAMES[AMOUNT], "amount_in_usd");
    debug_assert_eq!(NAMES[LOG_AMOUNT], "log_amount_in_usd");
    contributions[AMOUNT] += contributions[LOG_AMOUNT];
    contributions[LOG_AMOUNT] = 0.0;
}

/// The position of a feature by name.
pub fn index(name: &str) -> Option<usize> {
    NAMES.iter().position(|n| *n == name)
}

/// Checks a model's feature names against the schema: `Err` names the first difference.
pub fn check(model_names: &[String]) -> Result<(), String> {
    for (i, want) in NAMES.iter().enumerate() {
        match model_names.get(i) {
            Some(got) if got == want => {}
            Some(got) => {
                return Err(format!(
                    "feature {i} is `{got}` in the model but `{want}` in schema {SCHEMA_VERSION}"
                ));
            }
            None => {
                return Err(format!(
                    "the model has {} features; schema {SCHEMA_VERSION} has {COUNT} (first missing: `{want}`){}",
                    model_names.len(),
                    if i > 0 {
                        "; the model was trained on an earlier schema: retrain it on `riskgate model features` (scripts/train)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    if model_names.len() > COUNT {
        return Err(format!(
            "the model has {} features; schema {SCHEMA_VERSION} has {COUNT} (first extra: `{}`)",
            model_names.len(),
            model_names[COUNT]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        let v1: Vec<String> =
            names[..index("total_charges_per_card_number_hourly").unwrap()].to_vec();
        assert_eq!(v1.len(), 34);
        let err = check(&v1).unwrap_err();
        assert!(
            err.contains("schema riskgate-features-v2")
                && err.contains("first missing: `total_charges_per_card_number_hourly`")
                && err.contains("earlier schema"),
            "{err}"
        );
        names.push(NAMES[COUNT - 1].into());
        names.push("velocity".into());
        assert!(
            check(&names)
                .unwrap_err()
                .contains("first extra: `velocity`")
        );
    }
}
