//! The catalog table: every attribute's Radar name, type and meaning, in one place. The
//! `catalog!` macro turns it into the [`Attr`] enum and its `name`/`kind`/`description` lookups.

use super::Kind;

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
    CardBin => "card_bin", Text, "First 6 digits of the card number (Radar's BIN; the request may send up to 8).";
    CardBrand => "card_brand", Text,
        "Card brand in Radar's words: amex, visa, mc, dscvr, diners, interac, jcb, cup (the request's mastercard, discover and unionpay are mapped), cartes_bancaires, eftpos_au, link, unknown.";
    CardCountry => "card_country", Text, "Issuing country of the card (ISO 3166-1 alpha-2).";
    CardFunding => "card_funding", Text, "credit, debit, prepaid or unknown.";
    CardFingerprint => "card_fingerprint", Text, "Stable fingerprint of the card number.";
    DigitalWallet => "digital_wallet", Text,
        "Wallet the card was presented through, in Radar's words: apple_pay, android_pay (the request's google_pay), samsung_pay, masterpass, visa_checkout, amex_express_checkout, link; none without a wallet.";
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
        "Distinct customers (capped at 25) who used this card in the last hour, excluding this payment (riskgate extension).";
    TotalCustomersForCardDaily => "total_customers_for_card_daily", Number,
        "Distinct customers (capped at 25) who used this card in the last 24 hours, excluding this payment (riskgate extension).";
    TotalCustomersForCardWeekly => "total_customers_for_card_weekly", Number,
        "Distinct customers (capped at 25) who used this card in the last 7 days, excluding this payment.";
    TotalCustomersForCardAllTime => "total_customers_for_card_all_time", Number,
        "Distinct customers (capped at 25) who used this card in all retained history, excluding this payment (riskgate extension).";
    TotalCustomersForEmailHourly => "total_customers_for_email_hourly", Number,
        "Distinct customers (capped at 25) who used this email in the last hour, excluding this payment (riskgate extension).";
    TotalCustomersForEmailDaily => "total_customers_for_email_daily", Number,
        "Distinct customers (capped at 25) who used this email in the last 24 hours, excluding this payment (riskgate extension).";
    TotalCustomersForEmailWeekly => "total_customers_for_email_weekly", Number,
        "Distinct customers (capped at 25) who used this email in the last 7 days, excluding this payment.";
    TotalCustomersForEmailAllTime => "total_customers_for_email_all_time", Number,
        "Distinct customers (capped at 25) who used this email in all retained history, excluding this payment (riskgate extension).";
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
        "The browser's name and version from the user agent, as Radar shows it (ua-parser's names): Chrome 131.0.6778, Mobile Safari 17.5, Edge 131.0.0, Firefox 128.0, Samsung Internet 25.0 …; Other when unknown.";
    OperatingSystem => "operating_system", Text,
        "The operating system's name and version from the user agent, as Radar shows it: Mac OS X 10.15.7, Windows 10, iOS 17.5, Android 14, Linux, Chrome OS; Other when unknown.";

    // === Score (set by the decision stage) ===
    RiskScore => "risk_score", Number, "The risk score 0–99 (set after scoring; missing when Stripe did not assess the payment).";
    RiskLevel => "risk_level", Text, "normal, elevated or highest from the local model; Stripe also answers low, not_assessed or unknown (set after scoring).";

    // === Radar rules fidelity (issue 17): request facts and GeoIP facts Radar names ===
    // (Request ones are computed in attributes/radar.rs, GeoIP ones come from src/enrich/geoip.rs;
    // rules/types.rs gives each its case rule and whether a missing Boolean reads as false.)
    BillingAddress => "billing_address", Text,
        "The whole billing address in one string, as Stripe prints it: `line1 line2 city, state postal_code country` (missing parts left out).";
    BillingAddressLine2 => "billing_address_line2", Text, "Billing address line 2.";
    ShippingAddress => "shipping_address", Text,
        "The whole shipping address in one string, as Stripe prints it: `line1 line2 city, state postal_code country` (missing parts left out).";
    ShippingAddressLine2 => "shipping_address_line2", Text, "Shipping address line 2.";
    CardholderName => "cardholder_name", Text,
        "The name given with the card: payment_method_details.billing_details.name.";
    IsSetupIntent => "is_setup_intent", Bool,
        "Whether the evaluation sets up the card for later (money_movement_details.card.payment_type SETUP_ONE_OFF or SETUP_RECURRING), Radar's SetupIntent; false otherwise.";
    TransactionType => "transaction_type", Text,
        "`setup_intent` for a set-up, else `charge` (Radar deprecates it in favour of is_setup_intent).";
    PaymentMethodType => "payment_method_type", Text,
        "payment_details.payment_method_details.type; `card` when the request has card details and no type.";
    CvcCheck => "cvc_check", Text,
        "CVC result of an earlier verification of this card (card.checks.cvc_check: pass, fail, unavailable, unchecked, not_provided). Stripe evaluates it after authorization; missing unless the caller sends it.";
    AddressLine1Check => "address_line1_check", Text,
        "Address line 1 result of an earlier verification of this card (card.checks.address_line1_check). Stripe evaluates it after authorization; missing unless the caller sends it.";
    AddressZipCheck => "address_zip_check", Text,
        "Postal code result of an earlier verification of this card (card.checks.address_postal_code_check). Stripe evaluates it after authorization; missing unless the caller sends it.";
    IsThreeDSecure => "is_3d_secure", Bool,
        "3D Secure was attempted and not failed: card.three_d_secure.result is authenticated or attempt_acknowledged; false without 3DS data.";
    IsThreeDSecureAuthenticated => "is_3d_secure_authenticated", Bool,
        "3D Secure authenticated the cardholder (card.three_d_secure.result = authenticated); false without 3DS data.";
    HasLiabilityShift => "has_liability_shift", Bool,
        "A non-wallet card payment whose 3D Secure gave liability shift (card.three_d_secure.liability_shift); false without 3DS data.";
    CardThreeDSecureResult => "card_3d_secure_result", Text,
        "card.three_d_secure.result: authenticated, attempt_acknowledged, exempted, failed, not_supported, processing_error.";
    CardThreeDSecureSupport => "card_3d_secure_support", Text,
        "card.three_d_secure_support: required, recommended, optional or not_supported.";
    HasCryptogram => "has_cryptogram", Bool,
        "A cryptogram only a registered device can make came with the card (card.network_token.used: a wallet or network-token payment); false otherwise.";
    CardIssuer => "card_issuer", Text, "Name of the card's issuing bank (card.issuer, from the vault or a BIN table).";
    CardDescription => "card_description", Text,
        "Description of the kind of card issued in this BIN range (card.description, from the vault or a BIN table).";
    Destination => "destination", Text,
        "The connected account the funds go to: payment_details.transfer_data.destination (acct_…).";
    Account => "account", Text,
        "The connected account the payment is for: account_details.account (acct_…).";
    DaysSinceAccountWasCreated => "days_since_account_was_created", Number,
        "Whole days since the connected account was created (account_details.created).";
    IsCheckout => "is_checkout", Bool,
        "Whether the payment comes from a Stripe Checkout Session (payment_details.checkout_session set); false otherwise.";
    HoursSinceCustomerWasCreated => "hours_since_customer_was_created", Number,
        "Whole hours since the customer was created (customer_details.created).";
    MinutesSinceCustomerWasCreated => "minutes_since_customer_was_created", Number,
        "Whole minutes since the customer was created (customer_details.created).";
    SecondsSinceCustomerWasCreated => "seconds_since_customer_was_created", Number,
        "Seconds since the customer was created (customer_details.created).";
    IsNewCardOnCustomer => "is_new_card_on_customer", Bool,
        "The customer has not paid with this card (fingerprint, else payment method) before, among the last 25 cards riskgate kept for the customer; false without a customer, missing when the state could not be read.";
    // GeoIP (src/enrich/geoip.rs): missing when the database is not configured.
    IpState => "ip_state", Text,
        "Subdivision of the IP address (ISO 3166-2 code without the country: CA, ENG) from the City database (enrichment.geoip_city_mmdb_path).";
    IsAnonymousIp => "is_anonymous_ip", Bool,
        "The IP address is a known public proxy or Tor exit node, from the Anonymous IP database (enrichment.geoip_anonymous_ip_mmdb_path); missing without it.";
    IsVpnIp => "is_vpn_ip", Bool,
        "The IP address belongs to an anonymous VPN, from the Anonymous IP database (riskgate extension); missing without it.";
    IsHostingIp => "is_hosting_ip", Bool,
        "The IP address belongs to a hosting or cloud provider, from the Anonymous IP database (riskgate extension); missing without it.";
    IsTorIp => "is_tor_ip", Bool,
        "The IP address is a Tor exit node, from the Anonymous IP database (riskgate extension); missing without it.";
    IpAddressConnectionType => "ip_address_connection_type", Text,
        "Connection type of the IP address (cable/dsl, cellular, corporate, dialup, satellite) from the Connection-Type database (enrichment.geoip_connection_type_mmdb_path).";
    Isp => "isp", Text,
        "Internet service provider of the IP address, from an ISP or ASN database (enrichment.geoip_isp_mmdb_path: `isp`, else `autonomous_system_organization`).";
}
