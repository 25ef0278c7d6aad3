//! What the rule language knows about each attribute beyond its value kind, as Stripe documents it
//! on the supported-attributes page: the case rule of strings (most fold case; ids, fingerprints
//! and issuer check results are case-sensitive), countries and states (validated codes), Booleans
//! that read as false when the payment lacks the fact, bounded counters, and the documented values
//! of enumerated attributes (a value outside them loads with a warning).
//!
//! Kept apart from the catalog so that attributes added there get the defaults (case-insensitive
//! strings, numbers, Booleans that may be missing) without touching this file.

use crate::attributes::{Attr, Kind};

/// The type a rule sees for an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleType {
    Number,
    /// A string; `exact` = case-sensitive (`customer`, `card_fingerprint`, `cvc_check` …).
    Text {
        exact: bool,
    },
    /// An ISO 3166-1 alpha-2 code, case-insensitive.
    Country,
    /// An ISO 3166-2 subdivision code without the country (`CA`, `ENG`), case-insensitive.
    State,
    /// A Boolean; `absent_false` = Radar reads it as false when the payment lacks the fact
    /// ("Boolean attributes are false instead of missing"); otherwise riskgate may leave it
    /// missing (a GeoIP database that is not configured, a riskgate extension that says so).
    Bool {
        absent_false: bool,
    },
}

impl RuleType {
    /// How a message names the type.
    pub const fn describe(self) -> &'static str {
        match self {
            RuleType::Number => "a number",
            RuleType::Text { .. } => "a string",
            RuleType::Country => "a country",
            RuleType::State => "a state",
            RuleType::Bool { .. } => "a Boolean",
        }
    }

    /// Whether strings of this type compare without regard to case.
    pub const fn folds_case(self) -> bool {
        matches!(
            self,
            RuleType::Text { exact: false } | RuleType::Country | RuleType::State
        )
    }

    /// Whether values are strings of some kind (text, country, state).
    pub const fn is_text(self) -> bool {
        matches!(
            self,
            RuleType::Text { .. } | RuleType::Country | RuleType::State
        )
    }
}

/// Countries (Stripe: "Case-insensitive country").
const COUNTRIES: &[Attr] = &[
    Attr::CardCountry,
    Attr::IpCountry,
    Attr::BillingAddressCountry,
    Attr::ShippingAddressCountry,
];

/// Case-sensitive strings (Stripe: "Case-sensitive string"), plus riskgate's own ids.
const EXACT: &[Attr] = &[
    Attr::Customer,
    Attr::CardFingerprint,
    Attr::Destination,
    Attr::Account,
    Attr::CvcCheck,
    Attr::AddressLine1Check,
    Attr::AddressZipCheck,
    Attr::DeviceId,
];

/// Booleans Radar reads as false when the payment lacks them.
const ABSENT_FALSE: &[Attr] = &[
    Attr::IsOffSession,
    Attr::IsRecurring,
    Attr::IsDisposableEmail,
    Attr::IsSetupIntent,
    Attr::IsThreeDSecure,
    Attr::IsThreeDSecureAuthenticated,
    Attr::HasLiabilityShift,
    Attr::HasCryptogram,
    Attr::IsCheckout,
];

/// The rule type of a catalog attribute.
pub fn rule_type(attr: Attr) -> RuleType {
    match attr.kind() {
        Kind::Number => RuleType::Number,
        Kind::Bool => RuleType::Bool {
            absent_false: ABSENT_FALSE.contains(&attr),
        },
        Kind::Text if COUNTRIES.contains(&attr) => RuleType::Country,
        Kind::Text if attr == Attr::IpState => RuleType::State,
        Kind::Text => RuleType::Text {
            exact: EXACT.contains(&attr),
        },
    }
}

/// The rule type of a Stripe type as the supported-attributes page prints it (for attributes
/// riskgate accepts but never fills, see `coverage.rs`).
pub fn rule_type_of_stripe(stripe_type: &str) -> RuleType {
    let t = stripe_type.to_ascii_lowercase();
    if t.contains("country") {
        RuleType::Country
    } else if t.contains("state") {
        RuleType::State
    } else if t.contains("boolean") {
        RuleType::Bool { absent_false: true }
    } else if t.contains("numeric string") || t.contains("string") {
        RuleType::Text {
            exact: t.contains("case-sensitive"),
        }
    } else {
        RuleType::Number
    }
}

/// Whether `v` is a valid state value: Radar's state attributes take the subdivision part of an
/// ISO 3166-2 code, one to three letters or digits.
pub fn is_state_code(v: &str) -> bool {
    (1..=3).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The largest value of a counter riskgate caps (distinct counts and outcome counts stop at 25, as
/// Radar's bounded numerics do; the catalog says "capped at 25"), if `attr` is one.
pub fn bound(attr: Attr) -> Option<f64> {
    (attr.kind() == Kind::Number && attr.description().contains("capped at 25"))
        .then_some(f64::from(crate::signals::DISTINCT_CAP))
}

/// Stripe's documented values of enumerated attributes (supported-attributes page), and riskgate's
/// own for `transaction_type`. Strings take any value; one outside these loads with a warning.
pub fn documented_values(attr: Attr) -> Option<&'static [&'static str]> {
    const CHECKS: &[&str] = &["pass", "fail", "unavailable", "unchecked", "not_provided"];
    Some(match attr {
        Attr::RiskLevel => &[
            "low",
            "normal",
            "elevated",
            "highest",
            "not_assessed",
            "unknown",
        ],
        Attr::CardBrand => &[
            "amex",
            "visa",
            "mc",
            "dscvr",
            "diners",
            "interac",
            "jcb",
            "cup",
            "cartes_bancaires",
            "eftpos_au",
            "link",
            "unknown",
        ],
        Attr::CardFunding => &["credit", "debit", "prepaid", "unknown"],
        Attr::DigitalWallet => &[
            "amex_express_checkout",
            "android_pay",
            "apple_pay",
            "link",
            "masterpass",
            "samsung_pay",
            "visa_checkout",
            "none",
        ],
        Attr::CvcCheck | Attr::AddressLine1Check | Attr::AddressZipCheck => CHECKS,
        Attr::CardThreeDSecureSupport => &["required", "recommended", "optional", "not_supported"],
        Attr::CardThreeDSecureResult => &[
            "authenticated",
            "attempt_acknowledged",
            "exempted",
            "failed",
            "not_supported",
            "processing_error",
        ],
        Attr::TransactionType => &["charge", "setup_intent"],
        Attr::IpAddressConnectionType => {
            &["cable/dsl", "cellular", "corporate", "dialup", "satellite"]
        }
        _ => return None,
    })
}

/// Radar's word for a value riskgate's request spells differently, for warnings
/// (`:card_brand: = 'mastercard'` never matches: Radar and riskgate write `mc`).
pub fn radar_spelling(attr: Attr, value: &str) -> Option<&'static str> {
    match (attr, value.to_ascii_lowercase().as_str()) {
        (Attr::CardBrand, "mastercard") => Some("mc"),
        (Attr::CardBrand, "discover") => Some("dscvr"),
        (Attr::CardBrand, "unionpay") => Some("cup"),
        (Attr::DigitalWallet, "google_pay") => Some("android_pay"),
        (Attr::RiskLevel, "high") => Some("highest"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_stripes_table() {
        assert_eq!(rule_type(Attr::CardCountry), RuleType::Country);
        assert_eq!(rule_type(Attr::IpState), RuleType::State);
        assert_eq!(rule_type(Attr::Customer), RuleType::Text { exact: true });
        assert_eq!(rule_type(Attr::Email), RuleType::Text { exact: false });
        assert_eq!(
            rule_type(Attr::IsThreeDSecure),
            RuleType::Bool { absent_false: true }
        );
        assert_eq!(
            rule_type(Attr::IsAnonymousIp),
            RuleType::Bool {
                absent_false: false
            }
        );
        assert_eq!(
            rule_type_of_stripe("Case-insensitive country"),
            RuleType::Country
        );
        assert_eq!(
            rule_type_of_stripe("Case-sensitive string"),
            RuleType::Text { exact: true }
        );
        assert_eq!(
            rule_type_of_stripe("9-digit numeric string"),
            RuleType::Text { exact: false }
        );
        assert_eq!(bound(Attr::CardCountForEmailDaily), Some(25.0));
        assert_eq!(bound(Attr::TotalChargesPerEmailDaily), None);
        assert!(is_state_code("CA") && is_state_code("ENG") && is_state_code("L"));
        assert!(!is_state_code("US-CA") && !is_state_code("California"));
    }
}
