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
//! same enrichment (`riskgate_tools::replay`). A model trained on another version is refused at
//! load, with the schema named, rather than silently reading columns it was not trained on.
//!
//! Version 3 adds outcome memory: fraud learned after earlier decisions (early fraud warnings,
//! fraudulent disputes, refunds as fraud, reports) on this card, customer account, email, device,
//! IP and addresses, how recently, and issuer declines for fraud; distinct cards per device; and
//! what tells a takeover of a known account from its owner: the saved card's set-up session and
//! whether this device differs from it, how long the account, the device and the shipping address
//! have been paying here.
//!
//! Not in v3: counts of riskgate's own blocks (training data has no decisions to replay, so the
//! model would learn from its own answers) and the IP's country (needs a country database, which
//! simulated traffic has not got); declined counts come from reported outcomes instead.

use crate::{
    attributes::{Attr, Attributes},
    small_format,
    small_text::{SmallText, Whole},
};

/// The schema's version, written beside the names in `riskgate model schema` and `models/`.
pub const SCHEMA_VERSION: &str = "riskgate-features-v3";

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
    explain: fn(&Attributes<'_>) -> SmallText,
}

impl Feature {
    /// The reason text for this feature on these attributes.
    pub fn explain(&self, attrs: &Attributes<'_>) -> SmallText {
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
        |a| small_format!("amount of about {} USD", Whole(a.number(Attr::AmountInUsd).unwrap_or(0.0)));
    "log_amount_in_usd" => |a| a.number(Attr::AmountInUsd).map_or(f64::NAN, |v| v.max(0.0).ln_1p()),
        |a| small_format!("amount of about {} USD", Whole(a.number(Attr::AmountInUsd).unwrap_or(0.0)));
    "currency_usd" => |a| is(a, Attr::Currency, "usd"),
        |a| small_format!("payment currency {}", text(a, Attr::Currency));
    "currency_eur" => |a| is(a, Attr::Currency, "eur"),
        |a| small_format!("payment currency {}", text(a, Attr::Currency));
    "currency_gbp" => |a| is(a, Attr::Currency, "gbp"),
        |a| small_format!("payment currency {}", text(a, Attr::Currency));
    "is_off_session" => |a| flag(a, Attr::IsOffSession),
        |a| if a.flag(Attr::IsOffSession) == Some(true) {
            "merchant-initiated payment (customer not present)".into()
        } else {
            "customer-initiated payment".into()
        };
    "is_recurring" => |a| flag(a, Attr::IsRecurring),
        |a| if a.flag(Attr::IsRecurring) == Some(true) {
            "recurring payment".into()
        } else {
            "one-off payment rather than a recurring one".into()
        };
    "is_setup_payment" => |a| flag(a, Attr::IsSetup),
        |a| if a.flag(Attr::IsSetup) == Some(true) {
            "the card is being saved for later payments".into()
        } else {
            "the card is not being saved for later payments".into()
        };
    "has_customer" => |a| b(a.text(Attr::Customer).is_some()),
        |a| if a.text(Attr::Customer).is_some() {
            "payment by a known customer account".into()
        } else {
            "guest checkout: no customer account".into()
        };
    "card_funding_credit" => |a| is(a, Attr::CardFunding, "credit"),
        |a| small_format!("{} card", text(a, Attr::CardFunding));
    "card_funding_debit" => |a| is(a, Attr::CardFunding, "debit"),
        |a| small_format!("{} card", text(a, Attr::CardFunding));
    "card_funding_prepaid" => |a| is(a, Attr::CardFunding, "prepaid"),
        |a| small_format!("{} card", text(a, Attr::CardFunding));
    "card_brand_visa" => |a| is(a, Attr::CardBrand, "visa"),
        |a| small_format!("card brand {}", text(a, Attr::CardBrand));
    "card_brand_mastercard" => |a| is(a, Attr::CardBrand, "mc"),
        |a| small_format!("card brand {}", text(a, Attr::CardBrand));
    "card_brand_amex" => |a| is(a, Attr::CardBrand, "amex"),
        |a| small_format!("card brand {}", text(a, Attr::CardBrand));
    "card_country_us" => |a| is(a, Attr::CardCountry, "US"),
        |a| small_format!("card issued in {}", text(a, Attr::CardCountry));
    "card_months_to_expiry" => |a| num(a, Attr::CardExpiresInMonths),
        |a| small_format!("card expires in {} months", Whole(a.number(Attr::CardExpiresInMonths).unwrap_or(0.0)));
    "card_3d_secure_supported" => |a| flag(a, Attr::CardThreeDSecureSupported),
        |a| if a.flag(Attr::CardThreeDSecureSupported) == Some(false) {
            "card does not support 3D Secure".into()
        } else {
            "card supports 3D Secure".into()
        };
    "digital_wallet" => |a| b(a.text(Attr::DigitalWallet).is_some_and(|w| w != "none")),
        |a| match a.text(Attr::DigitalWallet) {
            Some(w) if w != "none" => small_format!("tokenized wallet payment ({w})"),
            _ => "card entered directly rather than through a wallet".into(),
        };
    "billing_card_country_mismatch" => |a| differ(a, Attr::BillingAddressCountry, Attr::CardCountry),
        |a| country_pair(a, Attr::BillingAddressCountry, Attr::CardCountry, "billing", "card");
    "shipping_card_country_mismatch" => |a| differ(a, Attr::ShippingAddressCountry, Attr::CardCountry),
        |a| country_pair(a, Attr::ShippingAddressCountry, Attr::CardCountry, "shipping", "card");
    "shipping_billing_country_mismatch" => |a| differ(a, Attr::ShippingAddressCountry, Attr::BillingAddressCountry),
        |a| country_pair(a, Attr::ShippingAddressCountry, Attr::BillingAddressCountry, "shipping", "billing");
    "has_billing_address" => |a| b(a.text(Attr::BillingAddressCountry).is_some()),
        |a| if a.text(Attr::BillingAddressCountry).is_some() {
            "billing address given".into()
        } else {
            "no billing address".into()
        };
    "has_shipping_address" => |a| b(a.text(Attr::ShippingAddressCountry).is_some()),
        |a| if a.text(Attr::ShippingAddressCountry).is_some() {
            "goods shipped to an address".into()
        } else {
            "no shipping address".into()
        };
    "has_email" => |a| b(a.text(Attr::Email).is_some()),
        |a| if a.text(Attr::Email).is_some() {
            "customer email given".into()
        } else {
            "no customer email".into()
        };
    "email_free_provider" => |a| a.text(Attr::EmailDomain).map_or(f64::NAN, |d| b(FREE_EMAIL_DOMAINS.contains(&d))),
        |a| match a.text(Attr::EmailDomain) {
            Some(d) if FREE_EMAIL_DOMAINS.contains(&d) => small_format!("email at a free provider ({d})"),
            Some(d) => small_format!("email at {d}, not a free provider"),
            None => "no email domain".into(),
        };
    "email_local_digits" => |a| email_local(a).map_or(f64::NAN, |l| l.bytes().filter(u8::is_ascii_digit).count() as f64),
        |a| small_format!(
            "email name has {} digits",
            email_local(a).map_or(0, |l| l.bytes().filter(u8::is_ascii_digit).count())
        );
    "email_local_length" => |a| email_local(a).map_or(f64::NAN, |l| l.len() as f64),
        |a| small_format!("email name is {} characters long", email_local(a).map_or(0, str::len));
    "has_radar_session" => |a| flag(a, Attr::HasRadarSession),
        |a| if a.flag(Attr::HasRadarSession) == Some(true) {
            "Radar Session present".into()
        } else {
            "no Radar Session for this payment".into()
        };
    "has_ip_address" => |a| b(a.text(Attr::IpAddress).is_some()),
        |a| if a.text(Attr::IpAddress).is_some() {
            "customer IP address known".into()
        } else {
            "no customer IP address".into()
        };
    "has_user_agent" => |a| b(a.text(Attr::UserAgent).is_some()),
        |a| if a.text(Attr::UserAgent).is_some() {
            "browser user agent known".into()
        } else {
            "no browser user agent".into()
        };
    "time_on_page_ms" => |a| num(a, Attr::TimeOnPageMs),
        |a| small_format!(
            "customer spent {:.1} s on the checkout page",
            a.number(Attr::TimeOnPageMs).unwrap_or(0.0) / 1000.0
        );
    "pasted_card_number" => |a| flag(a, Attr::PastedCardNumber),
        |a| if a.flag(Attr::PastedCardNumber) == Some(true) {
            "card number was pasted rather than typed".into()
        } else {
            "card number was typed".into()
        };
    "pasted_fields_count" => |a| num(a, Attr::PastedFieldsCount),
        |a| small_format!(
            "{} checkout fields were pasted",
            Whole(a.number(Attr::PastedFieldsCount).unwrap_or(0.0))
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
            Some(avg) if avg > 0.0 => small_format!(
                "amount is {:.1}× this customer's average successful payment ({} USD)",
                amount_ratio(a),
                Whole(avg)
            ),
            _ => "no successful payment by this customer account before".into(),
        };
    "hours_since_card_first_seen" => |a| num(a, Attr::HoursSinceCardFirstSeen),
        |a| since(a, Attr::HoursSinceCardFirstSeen, "card");
    "hours_since_email_first_seen" => |a| num(a, Attr::HoursSinceEmailFirstSeen),
        |a| since(a, Attr::HoursSinceEmailFirstSeen, "email");
    "payment_method_session_ip_changed" => |a| flag(a, Attr::PaymentMethodSessionIpChanged),
        |a| match a.flag(Attr::PaymentMethodSessionIpChanged) {
            Some(true) => "IP address differs from the one the card was saved from".into(),
            Some(false) => "same IP address as when the card was saved".into(),
            None => "IP address when the card was saved unknown".into(),
        };
    "payment_method_session_user_agent_changed" => |a| flag(a, Attr::PaymentMethodSessionUserAgentChanged),
        |a| match a.flag(Attr::PaymentMethodSessionUserAgentChanged) {
            Some(true) => "browser differs from the one the card was saved from".into(),
            Some(false) => "same browser as when the card was saved".into(),
            None => "browser when the card was saved unknown".into(),
        };
    // v3: outcome memory (fraud learned after earlier decisions, on every entity those payments
    // carried) and what tells a takeover from the account's owner.
    "fraud_outcome_count_on_card_all_time" => |a| num(a, Attr::FraudOutcomeCountOnCardAllTime),
        |a| counted(a, Attr::FraudOutcomeCountOnCardAllTime, "fraud report", "fraud reports", "on earlier payments with this card");
    "hours_since_last_fraud_on_card" => |a| num(a, Attr::HoursSinceLastFraudOnCard),
        |a| fraud_age(a, Attr::HoursSinceLastFraudOnCard, "this card");
    "fraud_decline_count_on_card_all_time" => |a| num(a, Attr::FraudDeclineCountOnCardAllTime),
        |a| counted(a, Attr::FraudDeclineCountOnCardAllTime, "issuer decline", "issuer declines", "for fraud (stolen, lost, fraudulent) with this card");
    "fraud_outcome_count_on_customer_all_time" => |a| num(a, Attr::FraudOutcomeCountOnCustomerAllTime),
        |a| counted(a, Attr::FraudOutcomeCountOnCustomerAllTime, "fraud report", "fraud reports", "on earlier payments by this customer account");
    "hours_since_last_fraud_on_customer" => |a| num(a, Attr::HoursSinceLastFraudOnCustomer),
        |a| fraud_age(a, Attr::HoursSinceLastFraudOnCustomer, "this customer account");
    "fraud_outcome_count_on_email_all_time" => |a| num(a, Attr::FraudOutcomeCountOnEmailAllTime),
        |a| counted(a, Attr::FraudOutcomeCountOnEmailAllTime, "fraud report", "fraud reports", "on earlier payments with this email");
    "hours_since_last_fraud_on_email" => |a| num(a, Attr::HoursSinceLastFraudOnEmail),
        |a| fraud_age(a, Attr::HoursSinceLastFraudOnEmail, "this email");
    "fraud_outcome_count_on_device_all_time" => |a| num(a, Attr::FraudOutcomeCountOnDeviceAllTime),
        |a| counted(a, Attr::FraudOutcomeCountOnDeviceAllTime, "fraud report", "fraud reports", "on earlier payments from this device");
    "hours_since_last_fraud_on_device" => |a| num(a, Attr::HoursSinceLastFraudOnDevice),
        |a| fraud_age(a, Attr::HoursSinceLastFraudOnDevice, "this device");
    "fraud_outcome_count_on_ip_recent" => |a| num(a, Attr::FraudOutcomeCountOnIpRecent),
        |a| counted(a, Attr::FraudOutcomeCountOnIpRecent, "fraud report", "fraud reports", "on payments from this IP in the last 30 days");
    "fraud_outcome_count_on_shipping_address_all_time" => |a| num(a, Attr::FraudOutcomeCountOnShippingAddressAllTime),
        |a| counted(a, Attr::FraudOutcomeCountOnShippingAddressAllTime, "fraud report", "fraud reports", "on earlier payments shipped to this address");
    "fraud_outcome_count_on_billing_address_all_time" => |a| num(a, Attr::FraudOutcomeCountOnBillingAddressAllTime),
        |a| counted(a, Attr::FraudOutcomeCountOnBillingAddressAllTime, "fraud report", "fraud reports", "on earlier payments with this billing address");
    "card_count_for_device_id_daily" => |a| num(a, Attr::CardCountForDeviceIdDaily),
        |a| counted(a, Attr::CardCountForDeviceIdDaily, "card", "cards", "used from this device in the last day");
    "has_payment_method_session" => |a| flag(a, Attr::HasPaymentMethodSession),
        |a| if a.flag(Attr::HasPaymentMethodSession) == Some(true) {
            "the session the card was saved in is known".into()
        } else {
            "no record of the session the card was saved in".into()
        };
    "payment_method_session_device_changed" => |a| flag(a, Attr::PaymentMethodSessionDeviceChanged),
        |a| match a.flag(Attr::PaymentMethodSessionDeviceChanged) {
            Some(true) => "device differs from the one the card was saved on".into(),
            Some(false) => "same device as when the card was saved".into(),
            None => "device when the card was saved unknown".into(),
        };
    "total_charges_per_customer_all_time" => |a| num(a, Attr::TotalChargesPerCustomerAllTime),
        |a| earlier(a, Attr::TotalChargesPerCustomerAllTime, "by this customer account");
    "total_charges_per_device_id_all_time" => |a| num(a, Attr::TotalChargesPerDeviceIdAllTime),
        |a| earlier(a, Attr::TotalChargesPerDeviceIdAllTime, "from this device");
    "total_charges_per_shipping_address_all_time" => |a| num(a, Attr::TotalChargesPerShippingAddressAllTime),
        |a| earlier(a, Attr::TotalChargesPerShippingAddressAllTime, "shipped to this address");
}

/// "5 cards from this IP in the last hour"; a missing count (the payment has no such key) says so.
fn counted(a: &Attributes<'_>, attr: Attr, one: &str, many: &str, rest: &str) -> SmallText {
    match a.number(attr) {
        Some(1.0) => small_format!("1 {one} {rest}"),
        Some(n) => small_format!("{} {many} {rest}", Whole(n)),
        None => small_format!("{many} {rest}: unknown"),
    }
}

/// "fraud on this card was last reported 3 days ago"; missing = none reported.
fn fraud_age(a: &Attributes<'_>, attr: Attr, what: &str) -> SmallText {
    match a.number(attr) {
        Some(h) if h < 48.0 => {
            small_format!("fraud on {what} was last reported {} hours ago", Whole(h))
        }
        Some(h) => small_format!(
            "fraud on {what} was last reported {} days ago",
            Whole(h / 24.0)
        ),
        None => small_format!("no fraud reported on {what}"),
    }
}

/// "no earlier payment from this device", "12 earlier payments by this customer account".
fn earlier(a: &Attributes<'_>, attr: Attr, rest: &str) -> SmallText {
    match a.number(attr) {
        Some(0.0) => small_format!("no earlier payment {rest}"),
        Some(1.0) => small_format!("1 earlier payment {rest}"),
        Some(n) => small_format!("{} earlier payments {rest}", Whole(n)),
        None => small_format!("earlier payments {rest}: unknown"),
    }
}

/// "card first seen 3 hours ago"; missing = this payment is the first.
fn since(a: &Attributes<'_>, attr: Attr, what: &str) -> SmallText {
    match a.number(attr) {
        Some(h) if h < 1.0 => small_format!("{what} first seen less than an hour ago"),
        Some(h) if h < 48.0 => small_format!("{what} first seen {} hours ago", Whole(h)),
        Some(h) => small_format!("{what} first seen {} days ago", Whole(h / 24.0)),
        None => small_format!("first payment seen with this {what}"),
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
fn country_pair(a: &Attributes<'_>, x: Attr, y: Attr, x_name: &str, y_name: &str) -> SmallText {
    match (a.text(x), a.text(y)) {
        (Some(cx), Some(cy)) if cx != cy => {
            small_format!("{x_name} country {cx} differs from {y_name} country {cy}")
        }
        (Some(cx), Some(_)) => small_format!("{x_name} and {y_name} country are both {cx}"),
        (None, Some(_)) => small_format!("{x_name} country unknown"),
        (Some(_), None) => small_format!("{y_name} country unknown"),
        (None, None) => small_format!("{x_name} and {y_name} countries unknown"),
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
mod tests;
