//! The attribute catalog: every fact about a payment that rules, the model and the answer can see,
//! named as Stripe Radar names it (`amount_in_usd`, `card_country`, `ip_address` …). Attributes that
//! Radar has no name for are riskgate extensions and say so in their description.
//!
//! An [`Attributes`] set is a fixed array indexed by [`Attr`], filled once per evaluation; reading an
//! attribute is an index, and a missing attribute is `None` (Radar: any comparison with it is false).

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
        #[repr(u8)]
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
    // === Request attributes (src/core/extract.rs) ===
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
