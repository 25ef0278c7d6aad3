//! The hand-written logistic model of the foundation: a documented baseline over request
//! attributes. Its weights are set by hand from public fraud patterns (large amounts, country
//! mismatches, prepaid cards, bot-like checkout behaviour raise risk; merchant-initiated, recurring
//! and wallet payments lower it). Kept for tests and as an explainable reference; the served
//! default is the trained GBDT ([`super::default_scorer`]).

use super::{Contribution, ModelScore, Scorer};
use crate::{
    attributes::{Attr, Attributes},
    small_format,
    small_text::{SmallText, Whole},
};

/// The amount the amount feature is centred on: payments of this size neither raise nor lower risk.
const REFERENCE_USD: f64 = 50.0;
/// Checkout pages filled faster than this are bot-like.
const FAST_CHECKOUT_MS: f64 = 15_000.0;
/// Contributions smaller than this are not worth a reason.
const REASON_MIN_WEIGHT: f64 = 0.2;
/// At most this many model reasons per answer.
const MAX_REASONS: usize = 3;

/// One input of the logistic model: `value` is 0 when the feature is absent or missing.
struct Feature {
    code: &'static str,
    weight: f64,
    value: fn(&Attributes<'_>) -> f64,
    explain: fn(&Attributes<'_>) -> SmallText,
}

fn flag(a: &Attributes<'_>, attr: Attr) -> f64 {
    f64::from(u8::from(a.flag(attr) == Some(true)))
}

fn differ(a: &Attributes<'_>, x: Attr, y: Attr) -> f64 {
    match (a.text(x), a.text(y)) {
        (Some(x), Some(y)) => f64::from(u8::from(x != y)),
        _ => 0.0,
    }
}

fn text<'b>(a: &'b Attributes<'_>, attr: Attr) -> &'b str {
    a.text(attr).unwrap_or("?")
}

/// The default model's features. Weights are log-odds per unit of the feature.
const FEATURES: &[Feature] = &[
    Feature {
        code: "amount",
        weight: 0.55,
        value: |a| {
            a.number(Attr::AmountInUsd)
                .map_or(0.0, |usd| usd.max(0.0).ln_1p() - REFERENCE_USD.ln_1p())
        },
        explain: |a| {
            small_format!(
                "amount of about {} USD raises risk (the model is neutral at 50 USD)",
                Whole(a.number(Attr::AmountInUsd).unwrap_or(0.0))
            )
        },
    },
    Feature {
        code: "billing_card_country_mismatch",
        weight: 1.2,
        value: |a| differ(a, Attr::BillingAddressCountry, Attr::CardCountry),
        explain: |a| {
            small_format!(
                "billing country {} differs from card country {}",
                text(a, Attr::BillingAddressCountry),
                text(a, Attr::CardCountry)
            )
        },
    },
    Feature {
        code: "shipping_card_country_mismatch",
        weight: 0.7,
        value: |a| differ(a, Attr::ShippingAddressCountry, Attr::CardCountry),
        explain: |a| {
            small_format!(
                "shipping country {} differs from card country {}",
                text(a, Attr::ShippingAddressCountry),
                text(a, Attr::CardCountry)
            )
        },
    },
    Feature {
        code: "shipping_billing_country_mismatch",
        weight: 0.5,
        value: |a| differ(a, Attr::ShippingAddressCountry, Attr::BillingAddressCountry),
        explain: |a| {
            small_format!(
                "shipping country {} differs from billing country {}",
                text(a, Attr::ShippingAddressCountry),
                text(a, Attr::BillingAddressCountry)
            )
        },
    },
    Feature {
        code: "prepaid_card",
        weight: 0.7,
        value: |a| f64::from(u8::from(a.text(Attr::CardFunding) == Some("prepaid"))),
        explain: |_| "prepaid card".into(),
    },
    Feature {
        code: "card_expiring",
        weight: 0.4,
        value: |a| {
            a.number(Attr::CardExpiresInMonths)
                .map_or(0.0, |m| f64::from(u8::from(m <= 0.0)))
        },
        explain: |_| "card is expired or expires this month".into(),
    },
    Feature {
        code: "missing_email",
        weight: 0.4,
        value: |a| f64::from(u8::from(a.text(Attr::Email).is_none())),
        explain: |_| "no customer email".into(),
    },
    Feature {
        code: "missing_device_data",
        weight: 0.5,
        value: |a| {
            let on_session = a.flag(Attr::IsOffSession) != Some(true);
            let no_device =
                a.flag(Attr::HasRadarSession) != Some(true) && a.text(Attr::IpAddress).is_none();
            f64::from(u8::from(on_session && no_device))
        },
        explain: |_| "no Radar Session or device data for an on-session payment".into(),
    },
    Feature {
        code: "fast_checkout",
        weight: 0.9,
        value: |a| {
            a.number(Attr::TimeOnPageMs)
                .map_or(0.0, |ms| f64::from(u8::from(ms < FAST_CHECKOUT_MS)))
        },
        explain: |a| {
            small_format!(
                "customer spent only {:.1} s on the checkout page",
                a.number(Attr::TimeOnPageMs).unwrap_or(0.0) / 1000.0
            )
        },
    },
    Feature {
        code: "pasted_card_number",
        weight: 0.9,
        value: |a| flag(a, Attr::PastedCardNumber),
        explain: |_| "card number was pasted rather than typed".into(),
    },
    Feature {
        code: "off_session",
        weight: -0.7,
        value: |a| flag(a, Attr::IsOffSession),
        explain: |_| "merchant-initiated payment (customer not present)".into(),
    },
    Feature {
        code: "recurring",
        weight: -0.6,
        value: |a| flag(a, Attr::IsRecurring),
        explain: |_| "recurring payment".into(),
    },
    Feature {
        code: "digital_wallet",
        weight: -0.8,
        value: |a| {
            f64::from(u8::from(
                a.text(Attr::DigitalWallet).is_some_and(|w| w != "none"),
            ))
        },
        explain: |a| {
            small_format!(
                "tokenized wallet payment ({})",
                text(a, Attr::DigitalWallet)
            )
        },
    },
];

/// The embedded default model: `p = σ(intercept + Σ wᵢ·xᵢ)` over [`FEATURES`].
///
/// With the intercept at -2.6, a 50 USD on-session payment with device data, an email and no
/// mismatch scores about 6 (normal); 1,000 USD with a billing/card country mismatch about 55
/// (elevated); add missing device data and it reaches 67 (highest).
#[derive(Debug, Clone)]
pub struct LogisticModel {
    intercept: f64,
}

impl Default for LogisticModel {
    fn default() -> Self {
        Self { intercept: -2.6 }
    }
}

impl LogisticModel {
    /// The feature codes, in model order.
    pub fn feature_codes() -> impl Iterator<Item = &'static str> {
        FEATURES.iter().map(|f| f.code)
    }
}

impl Scorer for LogisticModel {
    fn version(&self) -> &str {
        "logistic-v1"
    }

    fn score(&self, attrs: &Attributes<'_>) -> ModelScore {
        let mut z = self.intercept;
        let mut top: [(f64, usize); MAX_REASONS] = [(0.0, usize::MAX); MAX_REASONS];
        for (i, f) in FEATURES.iter().enumerate() {
            let c = f.weight * (f.value)(attrs);
            z += c;
            if c >= REASON_MIN_WEIGHT && c > top[MAX_REASONS - 1].0 {
                top[MAX_REASONS - 1] = (c, i);
                top.sort_by(|x, y| y.0.total_cmp(&x.0));
            }
        }
        let contributions = top
            .iter()
            .filter(|(_, i)| *i != usize::MAX)
            .map(|&(weight, i)| Contribution {
                code: FEATURES[i].code,
                weight,
                message: (FEATURES[i].explain)(attrs),
            })
            .collect();
        ModelScore {
            probability: 1.0 / (1.0 + (-z).exp()),
            contributions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::Value;

    fn base() -> Attributes<'static> {
        let mut a = Attributes::default();
        a.set_number(Attr::AmountInUsd, Some(50.0));
        a.set_text(Attr::Email, Some("a@b.co"));
        a.set_flag(Attr::HasRadarSession, Some(true));
        a
    }

    fn score(a: &Attributes<'_>) -> u32 {
        (LogisticModel::default().score(a).probability * 100.0) as u32
    }

    #[test]
    fn documented_operating_points() {
        assert_eq!(score(&base()), 6);
        let mut a = base();
        a.set_number(Attr::AmountInUsd, Some(1000.0));
        a.set_text(Attr::BillingAddressCountry, Some("FR"));
        a.set_text(Attr::CardCountry, Some("US"));
        assert_eq!(score(&a), 55);
        a.set(Attr::HasRadarSession, Value::Bool(false));
        assert_eq!(score(&a), 67);
    }

    #[test]
    fn signals_move_the_score_the_right_way() {
        let s0 = score(&base());
        let mut a = base();
        a.set_flag(Attr::IsOffSession, Some(true));
        a.set_flag(Attr::IsRecurring, Some(true));
        assert!(score(&a) < s0);
        let mut b = base();
        b.set_text(Attr::CardFunding, Some("prepaid"));
        b.set_flag(Attr::PastedCardNumber, Some(true));
        assert!(score(&b) > s0);
        let mut c = base();
        c.set_number(Attr::AmountInUsd, Some(5.0));
        assert!(score(&c) < s0);
    }

    #[test]
    fn reasons_are_the_strongest_risk_raising_features() {
        let mut a = base();
        a.set_number(Attr::AmountInUsd, Some(2000.0));
        a.set_text(Attr::BillingAddressCountry, Some("FR"));
        a.set_text(Attr::CardCountry, Some("US"));
        a.set_number(Attr::TimeOnPageMs, Some(4200.0));
        a.set_flag(Attr::PastedCardNumber, Some(true));
        a.set_flag(Attr::IsRecurring, Some(true));
        let s = LogisticModel::default().score(&a);
        let codes: Vec<_> = s.contributions.iter().map(|c| c.code).collect();
        assert_eq!(
            codes,
            ["amount", "billing_card_country_mismatch", "fast_checkout"]
        );
        assert_eq!(
            s.contributions[1].message,
            "billing country FR differs from card country US"
        );
        assert_eq!(
            s.contributions[2].message,
            "customer spent only 4.2 s on the checkout page"
        );
        assert!(
            LogisticModel::default()
                .score(&base())
                .contributions
                .is_empty()
        );
    }
}
