//! The attribute catalog: every fact about a payment that rules, the model and the answer can see,
//! named as Stripe Radar names it (`amount_in_usd`, `card_country`, `ip_address` …). Attributes that
//! Radar has no name for are riskgate extensions and say so in their description.
//!
//! An [`Attributes`] set is a fixed array indexed by [`Attr`], filled once per evaluation; reading an
//! attribute is an index, and a missing attribute is `None` (Radar: any comparison with it is false).

pub mod derive;
pub mod extract;
pub mod outcomes;
pub mod windows;

use std::{borrow::Cow, collections::BTreeMap};

/// The type of an attribute's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Text,
    Bool,
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Number(f64),
    Text(Cow<'a, str>),
    Bool(bool),
}

impl Value<'_> {
    /// The number, if this is a number.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The flag, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

macro_rules! catalog {
    ($($variant:ident => $name:literal, $kind:ident, $doc:literal;)*) => {
        /// An attribute of the catalog.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Attr {
            $(#[doc = $doc] $variant,)*
        }

        impl Attr {
            /// Every attribute, in catalog order.
            pub const ALL: &'static [Attr] = &[$(Attr::$variant,)*];
            /// How many attributes the catalog has.
            pub const COUNT: usize = Self::ALL.len();

            /// The attribute's Radar name (without colons).
            pub const fn name(self) -> &'static str {
                match self { $(Attr::$variant => $name,)* }
            }

            /// The type of its values.
            pub const fn kind(self) -> Kind {
                match self { $(Attr::$variant => Kind::$kind,)* }
            }

            /// What it means and where it comes from.
            pub const fn description(self) -> &'static str {
                match self { $(Attr::$variant => $doc,)* }
            }
        }
    };
}

catalog! {
    // === Request attributes (extract.rs) ===
    AmountInUsd => "amount_in_usd", Number,
        "Amount in US dollars (major units), converted at the configured FX rate; missing for a currency without a rate.";
    Amount => "amount", Number,
        "Amount in the payment currency's major units (riskgate extension).";
    Currency => "currency", Text, "Lower-case ISO 4217 currency code of the payment.";
    ChargeDescription => "charge_description", Text, "The payment's description.";
    StatementDescriptor => "statement_descriptor", Text, "The payment's statement descriptor.";
    IsOffSession => "is_off_session", Bool,
        "Whether the customer is absent (merchant-initiated); missing when presence is not given.";
    IsRecurring => "is_recurring", Bool,
        "Whether the payment is (or sets up) a recurring payment; missing when the payment type is not given.";
    IsSetup => "is_setup_payment", Bool,
        "Whether the card is being saved for later use (riskgate extension).";
    CardBin => "card_bin", Text, "First 6 to 8 digits of the card number.";
    CardBrand => "card_brand", Text, "Card brand: visa, mastercard, amex …";
    CardCountry => "card_country", Text, "Issuing country of the card (ISO 3166-1 alpha-2).";
    CardFunding => "card_funding", Text, "credit, debit, prepaid or unknown.";
    CardFingerprint => "card_fingerprint", Text, "Stable fingerprint of the card number.";
    DigitalWallet => "digital_wallet", Text, "Wallet the card was presented through: apple_pay, google_pay …";
    CardExpiresInMonths => "card_months_to_expiry", Number,
        "Whole months until the card expires, from the evaluation date (riskgate extension).";
    CardThreeDSecureSupported => "card_3d_secure_supported", Bool,
        "Whether the card supports 3D Secure (riskgate extension; Radar's card_3d_secure_support is finer).";
    Customer => "customer", Text, "Customer id (cus_…).";
    Email => "email", Text, "Customer email (customer_details.email, else the billing email), lower-cased.";
    EmailDomain => "email_domain", Text, "Domain part of the email, lower-cased.";
    BillingAddressCountry => "billing_address_country", Text, "Billing address country.";
    BillingAddressPostalCode => "billing_address_postal_code", Text, "Billing address postal code.";
    BillingAddressCity => "billing_address_city", Text, "Billing address city.";
    BillingAddressState => "billing_address_state", Text, "Billing address state.";
    BillingAddressLine1 => "billing_address_line1", Text, "Billing address line 1.";
    ShippingAddressCountry => "shipping_address_country", Text, "Shipping address country.";
    ShippingAddressPostalCode => "shipping_address_postal_code", Text, "Shipping address postal code.";
    ShippingAddressCity => "shipping_address_city", Text, "Shipping address city.";
    ShippingAddressState => "shipping_address_state", Text, "Shipping address state.";
    ShippingAddressLine1 => "shipping_address_line1", Text, "Shipping address line 1.";
    IpAddress => "ip_address", Text, "IP address of the customer's device.";
    UserAgent => "user_agent", Text, "User agent of the customer's browser.";
    HasRadarSession => "has_radar_session", Bool,
        "Whether a Radar Session id came with the payment (riskgate extension).";
    TimeOnPageMs => "time_on_page_ms", Number,
        "Milliseconds the customer spent on the checkout page (riskgate extension).";
    PastedCardNumber => "pasted_card_number", Bool,
        "Whether the customer pasted into the card number field (riskgate extension).";
    PastedFieldsCount => "pasted_fields_count", Number,
        "How many checkout fields the customer pasted into (riskgate extension).";

    // === Enrichment: Radar Sessions, IP facts, two-session checks, velocity ===
    // (attributes filled by the enrichment stage go in this section)
    // Device facts from the Radar Session (src/enrich/), filled in where the request has no inline data.
    RadarSessionFound => "radar_session_found", Bool,
        "Whether the named Radar Session was recorded with RecordRadarSession and is still kept (riskgate extension; missing when no session is named).";
    DeviceId => "device_id", Text,
        "Device id / fingerprint hash recorded in the Radar Session (riskgate extension).";
    Referrer => "referrer", Text, "Referrer of the checkout page (inline, else from the Radar Session; riskgate extension).";
    AcceptLanguage => "accept_language", Text,
        "Accept-Language header of the customer's browser, from the Radar Session (riskgate extension).";
    Timezone => "timezone", Text,
        "IANA time zone of the customer's browser, from the Radar Session (riskgate extension).";
    IpCountry => "ip_country", Text,
        "Country of the IP address (ISO 3166-1 alpha-2) from the configured MMDB; missing without a database or a match.";
    // Two-session check: the session the payment method was created with against this payment's.
    HasPaymentMethodSession => "has_payment_method_session", Bool,
        "Whether the session the payment method was set up in is known (riskgate extension).";
    PaymentMethodSessionIpChanged => "payment_method_session_ip_changed", Bool,
        "Whether the IP address differs from the one the payment method was set up from (riskgate extension).";
    PaymentMethodSessionDeviceChanged => "payment_method_session_device_changed", Bool,
        "Whether the device id differs from the one the payment method was set up on (riskgate extension).";
    PaymentMethodSessionUserAgentChanged => "payment_method_session_user_agent_changed", Bool,
        "Whether the user agent differs from the one the payment method was set up with (riskgate extension).";
    PaymentMethodSessionIpCountryChanged => "payment_method_session_ip_country_changed", Bool,
        "Whether the IP country differs from the one the payment method was set up from (riskgate extension).";
    // Amounts and first sightings (USD at the configured FX table; all retained history).
    TotalUsdAmountChargedOnCardAllTime => "total_usd_amount_charged_on_card_all_time", Number,
        "USD amount of all charges attempted with this card, excluding this payment.";
    TotalUsdAmountSuccessfulOnCardAllTime => "total_usd_amount_successful_on_card_all_time", Number,
        "USD amount of charges with this card reported authorized.";
    TotalUsdAmountFailedOnCardAllTime => "total_usd_amount_failed_on_card_all_time", Number,
        "USD amount of charges with this card blocked or reported declined.";
    TotalUsdAmountChargedOnCustomerAllTime => "total_usd_amount_charged_on_customer_all_time", Number,
        "USD amount of all charges attempted by this customer, excluding this payment.";
    TotalUsdAmountSuccessfulOnCustomerAllTime => "total_usd_amount_successful_on_customer_all_time", Number,
        "USD amount of charges by this customer reported authorized.";
    TotalUsdAmountFailedOnCustomerAllTime => "total_usd_amount_failed_on_customer_all_time", Number,
        "USD amount of charges by this customer blocked or reported declined.";
    AverageUsdAmountAttemptedOnCardAllTime => "average_usd_amount_attempted_on_card_all_time", Number,
        "Average USD amount of charges attempted with this card; missing before the first.";
    AverageUsdAmountSuccessfulOnCardAllTime => "average_usd_amount_successful_on_card_all_time", Number,
        "Average USD amount of authorized charges with this card; missing before the first.";
    AverageUsdAmountAttemptedOnCustomerAllTime => "average_usd_amount_attempted_on_customer_all_time", Number,
        "Average USD amount of charges attempted by this customer; missing before the first.";
    AverageUsdAmountSuccessfulOnCustomerAllTime => "average_usd_amount_successful_on_customer_all_time", Number,
        "Average USD amount of authorized charges by this customer; missing before the first.";
    HoursSinceCardFirstSeen => "hours_since_card_first_seen", Number,
        "Whole hours since this card was first seen; missing when this payment is its first.";
    MinutesSinceCardFirstSeen => "minutes_since_card_first_seen", Number,
        "Whole minutes since this card was first seen; missing when this payment is its first.";
    SecondsSinceCardFirstSeen => "seconds_since_card_first_seen", Number,
        "Seconds since this card was first seen; missing when this payment is its first.";
    HoursSinceEmailFirstSeen => "hours_since_email_first_seen", Number,
        "Whole hours since this email was first seen; missing when this payment is its first.";
    MinutesSinceEmailFirstSeen => "minutes_since_email_first_seen", Number,
        "Whole minutes since this email was first seen; missing when this payment is its first.";
    SecondsSinceEmailFirstSeen => "seconds_since_email_first_seen", Number,
        "Seconds since this email was first seen; missing when this payment is its first.";
    // Velocity over rolling windows (src/enrich/velocity.rs documents the bucket error bound).
    TotalChargesPerCardNumberHourly => "total_charges_per_card_number_hourly", Number,
        "Charges attempted with this card in the last hour, excluding this payment.";
    TotalChargesPerCardNumberDaily => "total_charges_per_card_number_daily", Number,
        "Charges attempted with this card in the last 24 hours, excluding this payment.";
    TotalChargesPerCardNumberWeekly => "total_charges_per_card_number_weekly", Number,
        "Charges attempted with this card in the last 7 days, excluding this payment.";
    TotalChargesPerCardNumberAllTime => "total_charges_per_card_number_all_time", Number,
        "Charges attempted with this card in all retained history, excluding this payment.";
    BlockedChargesPerCardNumberHourly => "blocked_charges_per_card_number_hourly", Number,
        "Charges blocked by riskgate with this card in the last hour, excluding this payment.";
    BlockedChargesPerCardNumberDaily => "blocked_charges_per_card_number_daily", Number,
        "Charges blocked by riskgate with this card in the last 24 hours, excluding this payment.";
    BlockedChargesPerCardNumberWeekly => "blocked_charges_per_card_number_weekly", Number,
        "Charges blocked by riskgate with this card in the last 7 days, excluding this payment.";
    BlockedChargesPerCardNumberAllTime => "blocked_charges_per_card_number_all_time", Number,
        "Charges blocked by riskgate with this card in all retained history, excluding this payment.";
    AuthorizedChargesPerCardNumberHourly => "authorized_charges_per_card_number_hourly", Number,
        "Charges reported authorized with this card in the last hour, excluding this payment.";
    AuthorizedChargesPerCardNumberDaily => "authorized_charges_per_card_number_daily", Number,
        "Charges reported authorized with this card in the last 24 hours, excluding this payment.";
    AuthorizedChargesPerCardNumberWeekly => "authorized_charges_per_card_number_weekly", Number,
        "Charges reported authorized with this card in the last 7 days, excluding this payment.";
    AuthorizedChargesPerCardNumberAllTime => "authorized_charges_per_card_number_all_time", Number,
        "Charges reported authorized with this card in all retained history, excluding this payment.";
    DeclinedChargesPerCardNumberHourly => "declined_charges_per_card_number_hourly", Number,
        "Charges reported declined with this card in the last hour, excluding this payment.";
    DeclinedChargesPerCardNumberDaily => "declined_charges_per_card_number_daily", Number,
        "Charges reported declined with this card in the last 24 hours, excluding this payment.";
    DeclinedChargesPerCardNumberWeekly => "declined_charges_per_card_number_weekly", Number,
        "Charges reported declined with this card in the last 7 days, excluding this payment.";
    DeclinedChargesPerCardNumberAllTime => "declined_charges_per_card_number_all_time", Number,
        "Charges reported declined with this card in all retained history, excluding this payment.";
    TotalChargesPerEmailHourly => "total_charges_per_email_hourly", Number,
        "Charges attempted with this email in the last hour, excluding this payment.";
    TotalChargesPerEmailDaily => "total_charges_per_email_daily", Number,
        "Charges attempted with this email in the last 24 hours, excluding this payment.";
    TotalChargesPerEmailWeekly => "total_charges_per_email_weekly", Number,
        "Charges attempted with this email in the last 7 days, excluding this payment.";
    TotalChargesPerEmailAllTime => "total_charges_per_email_all_time", Number,
        "Charges attempted with this email in all retained history, excluding this payment.";
    BlockedChargesPerEmailHourly => "blocked_charges_per_email_hourly", Number,
        "Charges blocked by riskgate with this email in the last hour, excluding this payment.";
    BlockedChargesPerEmailDaily => "blocked_charges_per_email_daily", Number,
        "Charges blocked by riskgate with this email in the last 24 hours, excluding this payment.";
    BlockedChargesPerEmailWeekly => "blocked_charges_per_email_weekly", Number,
        "Charges blocked by riskgate with this email in the last 7 days, excluding this payment.";
    BlockedChargesPerEmailAllTime => "blocked_charges_per_email_all_time", Number,
        "Charges blocked by riskgate with this email in all retained history, excluding this payment.";
    AuthorizedChargesPerEmailHourly => "authorized_charges_per_email_hourly", Number,
        "Charges reported authorized with this email in the last hour, excluding this payment.";
    AuthorizedChargesPerEmailDaily => "authorized_charges_per_email_daily", Number,
        "Charges reported authorized with this email in the last 24 hours, excluding this payment.";
    AuthorizedChargesPerEmailWeekly => "authorized_charges_per_email_weekly", Number,
        "Charges reported authorized with this email in the last 7 days, excluding this payment.";
    AuthorizedChargesPerEmailAllTime => "authorized_charges_per_email_all_time", Number,
        "Charges reported authorized with this email in all retained history, excluding this payment.";
    DeclinedChargesPerEmailHourly => "declined_charges_per_email_hourly", Number,
        "Charges reported declined with this email in the last hour, excluding this payment.";
    DeclinedChargesPerEmailDaily => "declined_charges_per_email_daily", Number,
        "Charges reported declined with this email in the last 24 hours, excluding this payment.";
    DeclinedChargesPerEmailWeekly => "declined_charges_per_email_weekly", Number,
        "Charges reported declined with this email in the last 7 days, excluding this payment.";
    DeclinedChargesPerEmailAllTime => "declined_charges_per_email_all_time", Number,
        "Charges reported declined with this email in all retained history, excluding this payment.";
    TotalChargesPerIpAddressHourly => "total_charges_per_ip_address_hourly", Number,
        "Charges attempted with this IP address in the last hour, excluding this payment.";
    TotalChargesPerIpAddressDaily => "total_charges_per_ip_address_daily", Number,
        "Charges attempted with this IP address in the last 24 hours, excluding this payment.";
    TotalChargesPerIpAddressWeekly => "total_charges_per_ip_address_weekly", Number,
        "Charges attempted with this IP address in the last 7 days, excluding this payment.";
    TotalChargesPerIpAddressAllTime => "total_charges_per_ip_address_all_time", Number,
        "Charges attempted with this IP address in all retained history, excluding this payment.";
    BlockedChargesPerIpAddressHourly => "blocked_charges_per_ip_address_hourly", Number,
        "Charges blocked by riskgate with this IP address in the last hour, excluding this payment.";
    BlockedChargesPerIpAddressDaily => "blocked_charges_per_ip_address_daily", Number,
        "Charges blocked by riskgate with this IP address in the last 24 hours, excluding this payment.";
    BlockedChargesPerIpAddressWeekly => "blocked_charges_per_ip_address_weekly", Number,
        "Charges blocked by riskgate with this IP address in the last 7 days, excluding this payment.";
    BlockedChargesPerIpAddressAllTime => "blocked_charges_per_ip_address_all_time", Number,
        "Charges blocked by riskgate with this IP address in all retained history, excluding this payment.";
    AuthorizedChargesPerIpAddressHourly => "authorized_charges_per_ip_address_hourly", Number,
        "Charges reported authorized with this IP address in the last hour, excluding this payment.";
    AuthorizedChargesPerIpAddressDaily => "authorized_charges_per_ip_address_daily", Number,
        "Charges reported authorized with this IP address in the last 24 hours, excluding this payment.";
    AuthorizedChargesPerIpAddressWeekly => "authorized_charges_per_ip_address_weekly", Number,
        "Charges reported authorized with this IP address in the last 7 days, excluding this payment.";
    AuthorizedChargesPerIpAddressAllTime => "authorized_charges_per_ip_address_all_time", Number,
        "Charges reported authorized with this IP address in all retained history, excluding this payment.";
    DeclinedChargesPerIpAddressHourly => "declined_charges_per_ip_address_hourly", Number,
        "Charges reported declined with this IP address in the last hour, excluding this payment.";
    DeclinedChargesPerIpAddressDaily => "declined_charges_per_ip_address_daily", Number,
        "Charges reported declined with this IP address in the last 24 hours, excluding this payment.";
    DeclinedChargesPerIpAddressWeekly => "declined_charges_per_ip_address_weekly", Number,
        "Charges reported declined with this IP address in the last 7 days, excluding this payment.";
    DeclinedChargesPerIpAddressAllTime => "declined_charges_per_ip_address_all_time", Number,
        "Charges reported declined with this IP address in all retained history, excluding this payment.";
    TotalChargesPerCustomerHourly => "total_charges_per_customer_hourly", Number,
        "Charges attempted with this customer in the last hour, excluding this payment.";
    TotalChargesPerCustomerDaily => "total_charges_per_customer_daily", Number,
        "Charges attempted with this customer in the last 24 hours, excluding this payment.";
    TotalChargesPerCustomerWeekly => "total_charges_per_customer_weekly", Number,
        "Charges attempted with this customer in the last 7 days, excluding this payment.";
    TotalChargesPerCustomerAllTime => "total_charges_per_customer_all_time", Number,
        "Charges attempted with this customer in all retained history, excluding this payment.";
    BlockedChargesPerCustomerHourly => "blocked_charges_per_customer_hourly", Number,
        "Charges blocked by riskgate with this customer in the last hour, excluding this payment.";
    BlockedChargesPerCustomerDaily => "blocked_charges_per_customer_daily", Number,
        "Charges blocked by riskgate with this customer in the last 24 hours, excluding this payment.";
    BlockedChargesPerCustomerWeekly => "blocked_charges_per_customer_weekly", Number,
        "Charges blocked by riskgate with this customer in the last 7 days, excluding this payment.";
    BlockedChargesPerCustomerAllTime => "blocked_charges_per_customer_all_time", Number,
        "Charges blocked by riskgate with this customer in all retained history, excluding this payment.";
    AuthorizedChargesPerCustomerHourly => "authorized_charges_per_customer_hourly", Number,
        "Charges reported authorized with this customer in the last hour, excluding this payment.";
    AuthorizedChargesPerCustomerDaily => "authorized_charges_per_customer_daily", Number,
        "Charges reported authorized with this customer in the last 24 hours, excluding this payment.";
    AuthorizedChargesPerCustomerWeekly => "authorized_charges_per_customer_weekly", Number,
        "Charges reported authorized with this customer in the last 7 days, excluding this payment.";
    AuthorizedChargesPerCustomerAllTime => "authorized_charges_per_customer_all_time", Number,
        "Charges reported authorized with this customer in all retained history, excluding this payment.";
    DeclinedChargesPerCustomerHourly => "declined_charges_per_customer_hourly", Number,
        "Charges reported declined with this customer in the last hour, excluding this payment.";
    DeclinedChargesPerCustomerDaily => "declined_charges_per_customer_daily", Number,
        "Charges reported declined with this customer in the last 24 hours, excluding this payment.";
    DeclinedChargesPerCustomerWeekly => "declined_charges_per_customer_weekly", Number,
        "Charges reported declined with this customer in the last 7 days, excluding this payment.";
    DeclinedChargesPerCustomerAllTime => "declined_charges_per_customer_all_time", Number,
        "Charges reported declined with this customer in all retained history, excluding this payment.";
    TotalChargesPerBillingAddressHourly => "total_charges_per_billing_address_hourly", Number,
        "Charges attempted with this billing address in the last hour, excluding this payment.";
    TotalChargesPerBillingAddressDaily => "total_charges_per_billing_address_daily", Number,
        "Charges attempted with this billing address in the last 24 hours, excluding this payment.";
    TotalChargesPerBillingAddressWeekly => "total_charges_per_billing_address_weekly", Number,
        "Charges attempted with this billing address in the last 7 days, excluding this payment.";
    TotalChargesPerBillingAddressAllTime => "total_charges_per_billing_address_all_time", Number,
        "Charges attempted with this billing address in all retained history, excluding this payment.";
    BlockedChargesPerBillingAddressHourly => "blocked_charges_per_billing_address_hourly", Number,
        "Charges blocked by riskgate with this billing address in the last hour, excluding this payment.";
    BlockedChargesPerBillingAddressDaily => "blocked_charges_per_billing_address_daily", Number,
        "Charges blocked by riskgate with this billing address in the last 24 hours, excluding this payment.";
    BlockedChargesPerBillingAddressWeekly => "blocked_charges_per_billing_address_weekly", Number,
        "Charges blocked by riskgate with this billing address in the last 7 days, excluding this payment.";
    BlockedChargesPerBillingAddressAllTime => "blocked_charges_per_billing_address_all_time", Number,
        "Charges blocked by riskgate with this billing address in all retained history, excluding this payment.";
    AuthorizedChargesPerBillingAddressHourly => "authorized_charges_per_billing_address_hourly", Number,
        "Charges reported authorized with this billing address in the last hour, excluding this payment.";
    AuthorizedChargesPerBillingAddressDaily => "authorized_charges_per_billing_address_daily", Number,
        "Charges reported authorized with this billing address in the last 24 hours, excluding this payment.";
    AuthorizedChargesPerBillingAddressWeekly => "authorized_charges_per_billing_address_weekly", Number,
        "Charges reported authorized with this billing address in the last 7 days, excluding this payment.";
    AuthorizedChargesPerBillingAddressAllTime => "authorized_charges_per_billing_address_all_time", Number,
        "Charges reported authorized with this billing address in all retained history, excluding this payment.";
    DeclinedChargesPerBillingAddressHourly => "declined_charges_per_billing_address_hourly", Number,
        "Charges reported declined with this billing address in the last hour, excluding this payment.";
    DeclinedChargesPerBillingAddressDaily => "declined_charges_per_billing_address_daily", Number,
        "Charges reported declined with this billing address in the last 24 hours, excluding this payment.";
    DeclinedChargesPerBillingAddressWeekly => "declined_charges_per_billing_address_weekly", Number,
        "Charges reported declined with this billing address in the last 7 days, excluding this payment.";
    DeclinedChargesPerBillingAddressAllTime => "declined_charges_per_billing_address_all_time", Number,
        "Charges reported declined with this billing address in all retained history, excluding this payment.";
    TotalChargesPerShippingAddressHourly => "total_charges_per_shipping_address_hourly", Number,
        "Charges attempted with this shipping address in the last hour, excluding this payment.";
    TotalChargesPerShippingAddressDaily => "total_charges_per_shipping_address_daily", Number,
        "Charges attempted with this shipping address in the last 24 hours, excluding this payment.";
    TotalChargesPerShippingAddressWeekly => "total_charges_per_shipping_address_weekly", Number,
        "Charges attempted with this shipping address in the last 7 days, excluding this payment.";
    TotalChargesPerShippingAddressAllTime => "total_charges_per_shipping_address_all_time", Number,
        "Charges attempted with this shipping address in all retained history, excluding this payment.";
    BlockedChargesPerShippingAddressHourly => "blocked_charges_per_shipping_address_hourly", Number,
        "Charges blocked by riskgate with this shipping address in the last hour, excluding this payment.";
    BlockedChargesPerShippingAddressDaily => "blocked_charges_per_shipping_address_daily", Number,
        "Charges blocked by riskgate with this shipping address in the last 24 hours, excluding this payment.";
    BlockedChargesPerShippingAddressWeekly => "blocked_charges_per_shipping_address_weekly", Number,
        "Charges blocked by riskgate with this shipping address in the last 7 days, excluding this payment.";
    BlockedChargesPerShippingAddressAllTime => "blocked_charges_per_shipping_address_all_time", Number,
        "Charges blocked by riskgate with this shipping address in all retained history, excluding this payment.";
    AuthorizedChargesPerShippingAddressHourly => "authorized_charges_per_shipping_address_hourly", Number,
        "Charges reported authorized with this shipping address in the last hour, excluding this payment.";
    AuthorizedChargesPerShippingAddressDaily => "authorized_charges_per_shipping_address_daily", Number,
        "Charges reported authorized with this shipping address in the last 24 hours, excluding this payment.";
    AuthorizedChargesPerShippingAddressWeekly => "authorized_charges_per_shipping_address_weekly", Number,
        "Charges reported authorized with this shipping address in the last 7 days, excluding this payment.";
    AuthorizedChargesPerShippingAddressAllTime => "authorized_charges_per_shipping_address_all_time", Number,
        "Charges reported authorized with this shipping address in all retained history, excluding this payment.";
    DeclinedChargesPerShippingAddressHourly => "declined_charges_per_shipping_address_hourly", Number,
        "Charges reported declined with this shipping address in the last hour, excluding this payment.";
    DeclinedChargesPerShippingAddressDaily => "declined_charges_per_shipping_address_daily", Number,
        "Charges reported declined with this shipping address in the last 24 hours, excluding this payment.";
    DeclinedChargesPerShippingAddressWeekly => "declined_charges_per_shipping_address_weekly", Number,
        "Charges reported declined with this shipping address in the last 7 days, excluding this payment.";
    DeclinedChargesPerShippingAddressAllTime => "declined_charges_per_shipping_address_all_time", Number,
        "Charges reported declined with this shipping address in all retained history, excluding this payment.";
    TotalChargesPerDeviceIdHourly => "total_charges_per_device_id_hourly", Number,
        "Charges attempted from this device (riskgate extension) in the last hour, excluding this payment.";
    TotalChargesPerDeviceIdDaily => "total_charges_per_device_id_daily", Number,
        "Charges attempted from this device (riskgate extension) in the last 24 hours, excluding this payment.";
    TotalChargesPerDeviceIdWeekly => "total_charges_per_device_id_weekly", Number,
        "Charges attempted from this device (riskgate extension) in the last 7 days, excluding this payment.";
    TotalChargesPerDeviceIdAllTime => "total_charges_per_device_id_all_time", Number,
        "Charges attempted from this device (riskgate extension) in all retained history, excluding this payment.";
    CardCountForEmailHourly => "card_count_for_email_hourly", Number,
        "Distinct cards (capped at 25) used with this email in the last hour, excluding this payment.";
    CardCountForEmailDaily => "card_count_for_email_daily", Number,
        "Distinct cards (capped at 25) used with this email in the last 24 hours, excluding this payment.";
    CardCountForEmailWeekly => "card_count_for_email_weekly", Number,
        "Distinct cards (capped at 25) used with this email in the last 7 days, excluding this payment.";
    CardCountForEmailAllTime => "card_count_for_email_all_time", Number,
        "Distinct cards (capped at 25) used with this email in all retained history, excluding this payment.";
    CardCountForIpAddressHourly => "card_count_for_ip_address_hourly", Number,
        "Distinct cards (capped at 25) used with this IP address in the last hour, excluding this payment.";
    CardCountForIpAddressDaily => "card_count_for_ip_address_daily", Number,
        "Distinct cards (capped at 25) used with this IP address in the last 24 hours, excluding this payment.";
    CardCountForIpAddressWeekly => "card_count_for_ip_address_weekly", Number,
        "Distinct cards (capped at 25) used with this IP address in the last 7 days, excluding this payment.";
    CardCountForIpAddressAllTime => "card_count_for_ip_address_all_time", Number,
        "Distinct cards (capped at 25) used with this IP address in all retained history, excluding this payment.";
    CardCountForCustomerHourly => "card_count_for_customer_hourly", Number,
        "Distinct cards (capped at 25) used with this customer in the last hour, excluding this payment.";
    CardCountForCustomerDaily => "card_count_for_customer_daily", Number,
        "Distinct cards (capped at 25) used with this customer in the last 24 hours, excluding this payment.";
    CardCountForCustomerWeekly => "card_count_for_customer_weekly", Number,
        "Distinct cards (capped at 25) used with this customer in the last 7 days, excluding this payment.";
    CardCountForCustomerAllTime => "card_count_for_customer_all_time", Number,
        "Distinct cards (capped at 25) used with this customer in all retained history, excluding this payment.";
    CardCountForBillingAddressHourly => "card_count_for_billing_address_hourly", Number,
        "Distinct cards (capped at 25) used with this billing address in the last hour, excluding this payment.";
    CardCountForBillingAddressDaily => "card_count_for_billing_address_daily", Number,
        "Distinct cards (capped at 25) used with this billing address in the last 24 hours, excluding this payment.";
    CardCountForBillingAddressWeekly => "card_count_for_billing_address_weekly", Number,
        "Distinct cards (capped at 25) used with this billing address in the last 7 days, excluding this payment.";
    CardCountForBillingAddressAllTime => "card_count_for_billing_address_all_time", Number,
        "Distinct cards (capped at 25) used with this billing address in all retained history, excluding this payment.";
    CardCountForShippingAddressHourly => "card_count_for_shipping_address_hourly", Number,
        "Distinct cards (capped at 25) used with this shipping address in the last hour, excluding this payment.";
    CardCountForShippingAddressDaily => "card_count_for_shipping_address_daily", Number,
        "Distinct cards (capped at 25) used with this shipping address in the last 24 hours, excluding this payment.";
    CardCountForShippingAddressWeekly => "card_count_for_shipping_address_weekly", Number,
        "Distinct cards (capped at 25) used with this shipping address in the last 7 days, excluding this payment.";
    CardCountForShippingAddressAllTime => "card_count_for_shipping_address_all_time", Number,
        "Distinct cards (capped at 25) used with this shipping address in all retained history, excluding this payment.";
    EmailCountForCardHourly => "email_count_for_card_hourly", Number,
        "Distinct emails (capped at 25) used with this card in the last hour, excluding this payment.";
    EmailCountForCardDaily => "email_count_for_card_daily", Number,
        "Distinct emails (capped at 25) used with this card in the last 24 hours, excluding this payment.";
    EmailCountForCardWeekly => "email_count_for_card_weekly", Number,
        "Distinct emails (capped at 25) used with this card in the last 7 days, excluding this payment.";
    EmailCountForCardAllTime => "email_count_for_card_all_time", Number,
        "Distinct emails (capped at 25) used with this card in all retained history, excluding this payment.";
    EmailCountForIpHourly => "email_count_for_ip_hourly", Number,
        "Distinct emails (capped at 25) used from this IP address in the last hour, excluding this payment.";
    EmailCountForIpDaily => "email_count_for_ip_daily", Number,
        "Distinct emails (capped at 25) used from this IP address in the last 24 hours, excluding this payment.";
    EmailCountForIpWeekly => "email_count_for_ip_weekly", Number,
        "Distinct emails (capped at 25) used from this IP address in the last 7 days, excluding this payment.";
    EmailCountForIpAllTime => "email_count_for_ip_all_time", Number,
        "Distinct emails (capped at 25) used from this IP address in all retained history, excluding this payment.";
    NameCountForCardHourly => "name_count_for_card_hourly", Number,
        "Distinct cardholder names (capped at 25) used with this card in the last hour, excluding this payment.";
    NameCountForCardDaily => "name_count_for_card_daily", Number,
        "Distinct cardholder names (capped at 25) used with this card in the last 24 hours, excluding this payment.";
    NameCountForCardWeekly => "name_count_for_card_weekly", Number,
        "Distinct cardholder names (capped at 25) used with this card in the last 7 days, excluding this payment.";
    NameCountForCardAllTime => "name_count_for_card_all_time", Number,
        "Distinct cardholder names (capped at 25) used with this card in all retained history, excluding this payment.";
    TotalCustomersForCardHourly => "total_customers_for_card_hourly", Number,
        "Distinct customers (capped at 25) who used this card in the last hour, excluding this payment.";
    TotalCustomersForCardDaily => "total_customers_for_card_daily", Number,
        "Distinct customers (capped at 25) who used this card in the last 24 hours, excluding this payment.";
    TotalCustomersForCardWeekly => "total_customers_for_card_weekly", Number,
        "Distinct customers (capped at 25) who used this card in the last 7 days, excluding this payment.";
    TotalCustomersForCardAllTime => "total_customers_for_card_all_time", Number,
        "Distinct customers (capped at 25) who used this card in all retained history, excluding this payment.";
    TotalCustomersForEmailHourly => "total_customers_for_email_hourly", Number,
        "Distinct customers (capped at 25) who used this email in the last hour, excluding this payment.";
    TotalCustomersForEmailDaily => "total_customers_for_email_daily", Number,
        "Distinct customers (capped at 25) who used this email in the last 24 hours, excluding this payment.";
    TotalCustomersForEmailWeekly => "total_customers_for_email_weekly", Number,
        "Distinct customers (capped at 25) who used this email in the last 7 days, excluding this payment.";
    TotalCustomersForEmailAllTime => "total_customers_for_email_all_time", Number,
        "Distinct customers (capped at 25) who used this email in all retained history, excluding this payment.";
    DisputeCountOnCardNumberHourly => "dispute_count_on_card_number_hourly", Number,
        "Fraudulent disputes (reason `fraudulent`) learned in the last hour on payments with this card, capped at 25 (outcome memory; riskgate extension of Radar's window set).";
    DisputeCountOnCardNumberDaily => "dispute_count_on_card_number_daily", Number,
        "Fraudulent disputes learned in the last 24 hours on payments with this card, capped at 25 (outcome memory; riskgate extension).";
    DisputeCountOnCardNumberWeekly => "dispute_count_on_card_number_weekly", Number,
        "Fraudulent disputes learned in the last 7 days on payments with this card, capped at 25 (outcome memory; riskgate extension).";
    DisputeCountOnCardNumberAllTime => "dispute_count_on_card_number_all_time", Number,
        "Fraudulent disputes on payments with this card in all retained history (fraud labels are kept `enrichment.outcome_fraud_retention_secs`, Radar keeps 5 years), capped at 25 (outcome memory).";
    EfwCountOnCardHourly => "efw_count_on_card_hourly", Number,
        "Early fraud warnings learned in the last hour on payments with this card, capped at 25 (outcome memory).";
    EfwCountOnCardDaily => "efw_count_on_card_daily", Number,
        "Early fraud warnings learned in the last 24 hours on payments with this card, capped at 25 (outcome memory).";
    EfwCountOnCardWeekly => "efw_count_on_card_weekly", Number,
        "Early fraud warnings learned in the last 7 days on payments with this card, capped at 25 (outcome memory).";
    EfwCountOnCardAllTime => "efw_count_on_card_all_time", Number,
        "Early fraud warnings learned in all retained history on payments with this card, capped at 25 (outcome memory).";
    EfwCountOnIpHourly => "efw_count_on_ip_hourly", Number,
        "Early fraud warnings learned in the last hour on payments from this IP address, capped at 25 (outcome memory; IP labels are kept `enrichment.outcome_ip_retention_secs`).";
    EfwCountOnIpDaily => "efw_count_on_ip_daily", Number,
        "Early fraud warnings learned in the last 24 hours on payments from this IP address, capped at 25 (outcome memory; IP labels are kept `enrichment.outcome_ip_retention_secs`).";
    EfwCountOnIpWeekly => "efw_count_on_ip_weekly", Number,
        "Early fraud warnings learned in the last 7 days on payments from this IP address, capped at 25 (outcome memory; IP labels are kept `enrichment.outcome_ip_retention_secs`).";
    EfwCountOnIpAllTime => "efw_count_on_ip_all_time", Number,
        "Early fraud warnings learned in all retained history on payments from this IP address, capped at 25 (outcome memory; IP labels are kept `enrichment.outcome_ip_retention_secs`).";
    RefundCountOnCardHourly => "refund_count_on_card_hourly", Number,
        "Refunds (any reason) learned in the last hour on payments with this card, capped at 25 (outcome memory).";
    RefundCountOnCardDaily => "refund_count_on_card_daily", Number,
        "Refunds (any reason) learned in the last 24 hours on payments with this card, capped at 25 (outcome memory).";
    RefundCountOnCardWeekly => "refund_count_on_card_weekly", Number,
        "Refunds (any reason) learned in the last 7 days on payments with this card, capped at 25 (outcome memory).";
    RefundCountOnCardAllTime => "refund_count_on_card_all_time", Number,
        "Refunds (any reason) learned in all retained history on payments with this card, capped at 25 (outcome memory).";

    // === Outcome memory (issue 15): what was learned after earlier decisions ===
    // Filled by the enrichment stage from outcome memory (src/stores/state/outcomes.rs): a fraud
    // outcome on a payment marks every entity that payment carried. Counts are capped at 25.
    DisputeCountOnCardNumberYearly => "dispute_count_on_card_number_yearly", Number,
        "Fraudulent disputes learned in the last 365 days on payments with this card, capped at 25.";
    DisputeCountOnIpHourly => "dispute_count_on_ip_hourly", Number,
        "Fraudulent disputes learned in the last hour on payments from this IP address, capped at 25.";
    DisputeCountOnIpDaily => "dispute_count_on_ip_daily", Number,
        "Fraudulent disputes learned in the last 24 hours on payments from this IP address, capped at 25.";
    DisputeCountOnIpWeekly => "dispute_count_on_ip_weekly", Number,
        "Fraudulent disputes learned in the last 7 days on payments from this IP address, capped at 25.";
    DisputeCountOnIpAllTime => "dispute_count_on_ip_all_time", Number,
        "Fraudulent disputes learned in all retained history (IP labels are kept `enrichment.outcome_ip_retention_secs`) on payments from this IP address, capped at 25.";
    TotalCustomersWithPriorFraudActivityForCardWeekly => "total_customers_with_prior_fraud_activity_for_card_weekly", Number,
        "Distinct customer accounts on payments with this card that were labelled fraud in the last 7 days (by when the fraud was learned), capped at 25.";
    TotalCustomersWithPriorFraudActivityForCardYearly => "total_customers_with_prior_fraud_activity_for_card_yearly", Number,
        "Distinct customer accounts on payments with this card that were labelled fraud in the last 365 days (by when the fraud was learned), capped at 25.";
    TotalCustomersWithPriorFraudActivityForEmailWeekly => "total_customers_with_prior_fraud_activity_for_email_weekly", Number,
        "Distinct customer accounts on payments with this email that were labelled fraud in the last 7 days (by when the fraud was learned), capped at 25.";
    TotalCustomersWithPriorFraudActivityForEmailYearly => "total_customers_with_prior_fraud_activity_for_email_yearly", Number,
        "Distinct customer accounts on payments with this email that were labelled fraud in the last 365 days (by when the fraud was learned), capped at 25.";
    FraudOutcomeCountOnCardRecent => "fraud_outcome_count_on_card_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this card, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnCardAllTime => "fraud_outcome_count_on_card_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this card, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnCustomerRecent => "fraud_outcome_count_on_customer_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this customer account, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnCustomerAllTime => "fraud_outcome_count_on_customer_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this customer account, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnEmailRecent => "fraud_outcome_count_on_email_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this email, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnEmailAllTime => "fraud_outcome_count_on_email_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this email, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnDeviceRecent => "fraud_outcome_count_on_device_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this device (Radar Session device id), capped at 25 (riskgate extension).";
    FraudOutcomeCountOnDeviceAllTime => "fraud_outcome_count_on_device_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this device (Radar Session device id), capped at 25 (riskgate extension).";
    FraudOutcomeCountOnIpRecent => "fraud_outcome_count_on_ip_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this IP address, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnIpAllTime => "fraud_outcome_count_on_ip_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this IP address, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnShippingAddressRecent => "fraud_outcome_count_on_shipping_address_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this shipping address, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnShippingAddressAllTime => "fraud_outcome_count_on_shipping_address_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this shipping address, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnBillingAddressRecent => "fraud_outcome_count_on_billing_address_recent", Number,
        "Fraud outcomes (early fraud warnings, fraudulent disputes, refunds as fraud, analyst rejections, merchant fraud reports) learned in the last 30 days on payments that carried this billing address, capped at 25 (riskgate extension).";
    FraudOutcomeCountOnBillingAddressAllTime => "fraud_outcome_count_on_billing_address_all_time", Number,
        "Fraud outcomes learned in all retained history on payments that carried this billing address, capped at 25 (riskgate extension).";
    HoursSinceFirstFraudOnCard => "hours_since_first_fraud_on_card", Number,
        "Whole hours since the first fraud outcome on a payment with this card was learned; missing when there is none (riskgate extension).";
    HoursSinceLastFraudOnCard => "hours_since_last_fraud_on_card", Number,
        "Whole hours since the latest fraud outcome on a payment that carried this card was learned; missing when there is none (riskgate extension).";
    HoursSinceLastFraudOnCustomer => "hours_since_last_fraud_on_customer", Number,
        "Whole hours since the latest fraud outcome on a payment that carried this customer account was learned; missing when there is none (riskgate extension).";
    HoursSinceLastFraudOnEmail => "hours_since_last_fraud_on_email", Number,
        "Whole hours since the latest fraud outcome on a payment that carried this email was learned; missing when there is none (riskgate extension).";
    HoursSinceLastFraudOnDevice => "hours_since_last_fraud_on_device", Number,
        "Whole hours since the latest fraud outcome on a payment that carried this device was learned; missing when there is none (riskgate extension).";
    FraudDeclineCountOnCardAllTime => "fraud_decline_count_on_card_all_time", Number,
        "Declines reported with a fraud decline code (stolen_card, lost_card, fraudulent, pickup_card …) on payments that carried this card, retained history, capped at 25 (riskgate extension).";
    FraudDeclineCountOnCustomerAllTime => "fraud_decline_count_on_customer_all_time", Number,
        "Declines reported with a fraud decline code (stolen_card, lost_card, fraudulent, pickup_card …) on payments that carried this customer account, retained history, capped at 25 (riskgate extension).";
    FraudDeclineCountOnEmailAllTime => "fraud_decline_count_on_email_all_time", Number,
        "Declines reported with a fraud decline code (stolen_card, lost_card, fraudulent, pickup_card …) on payments that carried this email, retained history, capped at 25 (riskgate extension).";
    NonFraudDisputeCountOnCardAllTime => "non_fraud_dispute_count_on_card_all_time", Number,
        "Disputes with a reason other than `fraudulent` on payments that carried this card, retained history, capped at 25 (riskgate extension).";
    NonFraudDisputeCountOnCustomerAllTime => "non_fraud_dispute_count_on_customer_all_time", Number,
        "Disputes with a reason other than `fraudulent` on payments that carried this customer account, retained history, capped at 25 (riskgate extension).";
    // Distinct cards per device (velocity, like the other card counts).
    CardCountForDeviceIdHourly => "card_count_for_device_id_hourly", Number,
        "Distinct cards (capped at 25) used from this device (Radar Session device id) in the last hour, excluding this payment (riskgate extension).";
    CardCountForDeviceIdDaily => "card_count_for_device_id_daily", Number,
        "Distinct cards (capped at 25) used from this device (Radar Session device id) in the last 24 hours, excluding this payment (riskgate extension).";
    CardCountForDeviceIdWeekly => "card_count_for_device_id_weekly", Number,
        "Distinct cards (capped at 25) used from this device (Radar Session device id) in the last 7 days, excluding this payment (riskgate extension).";
    CardCountForDeviceIdAllTime => "card_count_for_device_id_all_time", Number,
        "Distinct cards (capped at 25) used from this device (Radar Session device id) in all retained history, excluding this payment (riskgate extension).";

    // === Derived for rules: email facts, user agent parsing, lists ===
    // (attributes derived for the rule language go in this section)
    IsDisposableEmail => "is_disposable_email", Bool,
        "Whether the email domain (or a parent domain) is a known disposable-email provider, from an embedded list.";
    Browser => "browser", Text,
        "Browser family from the user agent: chrome, edge, firefox, safari, opera, samsung_internet, internet_explorer or other.";
    OperatingSystem => "operating_system", Text,
        "Operating system from the user agent: windows, macos, ios, android, linux, chromeos or other.";

    // === Score (set by the decision stage) ===
    RiskScore => "risk_score", Number, "The risk score 0–99 (set after scoring).";
    RiskLevel => "risk_level", Text, "normal, elevated or highest (set after scoring).";
}

/// The attributes of one evaluation.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    values: [Option<Value<'a>>; Attr::COUNT],
    /// The request's metadata, which rules read as `::key::`.
    metadata: Option<&'a BTreeMap<String, String>>,
}

impl Default for Attributes<'_> {
    fn default() -> Self {
        Self {
            values: std::array::from_fn(|_| None),
            metadata: None,
        }
    }
}

impl<'a> Attributes<'a> {
    /// The value of `attr`, if known.
    #[inline]
    pub fn get(&self, attr: Attr) -> Option<&Value<'a>> {
        self.values[attr as usize].as_ref()
    }

    /// A numeric attribute.
    #[inline]
    pub fn number(&self, attr: Attr) -> Option<f64> {
        self.get(attr).and_then(Value::as_number)
    }

    /// A text attribute.
    #[inline]
    pub fn text(&self, attr: Attr) -> Option<&str> {
        self.get(attr).and_then(Value::as_text)
    }

    /// A boolean attribute.
    #[inline]
    pub fn flag(&self, attr: Attr) -> Option<bool> {
        self.get(attr).and_then(Value::as_bool)
    }

    /// Sets `attr`; `debug_assert`s that the value has the attribute's kind.
    pub fn set(&mut self, attr: Attr, value: Value<'a>) {
        debug_assert_eq!(
            attr.kind(),
            match value {
                Value::Number(_) => Kind::Number,
                Value::Text(_) => Kind::Text,
                Value::Bool(_) => Kind::Bool,
            },
            "{}",
            attr.name()
        );
        self.values[attr as usize] = Some(value);
    }

    /// Sets a numeric attribute when `value` is known.
    pub fn set_number(&mut self, attr: Attr, value: Option<f64>) {
        if let Some(v) = value {
            self.set(attr, Value::Number(v));
        }
    }

    /// Sets a text attribute when `value` is known.
    pub fn set_text(&mut self, attr: Attr, value: Option<impl Into<Cow<'a, str>>>) {
        if let Some(v) = value {
            self.set(attr, Value::Text(v.into()));
        }
    }

    /// Sets a boolean attribute when `value` is known.
    pub fn set_flag(&mut self, attr: Attr, value: Option<bool>) {
        if let Some(v) = value {
            self.set(attr, Value::Bool(v));
        }
    }

    /// Attaches the request's metadata (read by rules as `::key::`).
    pub fn set_metadata(&mut self, metadata: &'a BTreeMap<String, String>) {
        self.metadata = Some(metadata);
    }

    /// A metadata value of the request.
    #[inline]
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata?.get(key).map(String::as_str)
    }

    /// The known attributes, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = (Attr, &Value<'a>)> {
        Attr::ALL
            .iter()
            .filter_map(|&a| self.get(a).map(|v| (a, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<_> = Attr::ALL.iter().map(|a| a.name()).collect();
        assert!(names.iter().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Attr::COUNT);
    }

    #[test]
    fn missing_until_set() {
        let mut a = Attributes::default();
        assert_eq!(a.number(Attr::AmountInUsd), None);
        a.set_number(Attr::AmountInUsd, Some(12.5));
        a.set_text(Attr::Currency, Some("usd"));
        a.set_flag(Attr::IsOffSession, None);
        assert_eq!(a.number(Attr::AmountInUsd), Some(12.5));
        assert_eq!(a.text(Attr::Currency), Some("usd"));
        assert_eq!(a.flag(Attr::IsOffSession), None);
        assert_eq!(a.text(Attr::AmountInUsd), None);
        assert_eq!(a.iter().count(), 2);
    }
}
