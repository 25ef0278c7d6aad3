//! What a `Stripe-Version` means for Payment Evaluations, as Stripe publishes it (the spec fixture
//! `crates/riskgate-testkit/fixtures/stripe_spec.json`, `payment_evaluation_versions`, holds the
//! facts per version and release channel; `tests/stripe_contract.rs` checks this table against
//! it):
//!
//! | from | answer shape | `risk_level` values | create parameters beyond GA's |
//! | --- | --- | --- | --- |
//! | 2026-01-28 (first) | `insights.fraudulent_dispute{recommended_action, risk_score}` | none | — |
//! | 2026-03-25 | `recommended_action` + `signals.fraudulent_payment{score, risk_level, evaluated_at}` | `normal elevated highest` | — |
//! | 2026-04-01.preview, private preview | same | same | `client_device_metadata_details[data][…]` |
//! | 2026-04-22 | same | `low normal elevated highest not_assessed unknown` | (same) |
//! | 2026-07-08.preview, private preview | same | same | `payment_details[payment_method_details][card][exp_month, exp_year, first6, last4]` |
//!
//! The public preview (`.preview` without the private preview) and GA versions accept neither
//! inline device data nor card facts.

/// The first API version with Payment Evaluations (2026-01-28.clover and .preview).
pub const FIRST_PAYMENT_EVALUATIONS: &str = "2026-01-28";
/// The first with the current answer shape.
const SIGNALS_FROM: &str = "2026-03-25";
/// The first with `low`, `not_assessed` and `unknown`.
const SIX_LEVELS_FROM: &str = "2026-04-22";
/// The first private-preview version with inline device data.
const DEVICE_DATA_FROM: &str = "2026-04-01";
/// The first private-preview version with card facts.
const CARD_FROM: &str = "2026-07-08";

/// Stripe's two answer shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerShape {
    /// `insights.fraudulent_dispute` (2026-01-28 to 2026-03-04).
    Insights,
    /// `recommended_action` + `signals.fraudulent_payment` (2026-03-25 on).
    Signals,
}

/// The facts of the configured Payment Evaluations version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub shape: AnswerShape,
    /// `risk_level` has `low`, `not_assessed` and `unknown` too.
    pub six_levels: bool,
    /// `client_device_metadata_details[data][ip|user_agent|referrer|time_on_page_ms|pasted_fields]`.
    pub device_data: bool,
    /// `payment_details[payment_method_details][card][exp_month|exp_year|first6|last4]`.
    pub card: bool,
}

impl Features {
    /// The facts of `version` (`YYYY-MM-DD.name`, checked by the config) for an account in the
    /// private preview or not.
    pub fn of(version: &str, private_preview: bool) -> Self {
        let date = version.split('.').next().unwrap_or(version);
        let private = private_preview && version.ends_with(".preview");
        Self {
            shape: if date >= SIGNALS_FROM {
                AnswerShape::Signals
            } else {
                AnswerShape::Insights
            },
            six_levels: date >= SIX_LEVELS_FROM,
            device_data: private && date >= DEVICE_DATA_FROM,
            card: private && date >= CARD_FROM,
        }
    }

    /// Whether Payment Evaluations exist at `version`.
    pub fn has_payment_evaluations(version: &str) -> bool {
        version >= FIRST_PAYMENT_EVALUATIONS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_their_facts() {
        let ga = Features::of("2026-07-29.dahlia", true);
        assert_eq!(
            ga,
            Features {
                shape: AnswerShape::Signals,
                six_levels: true,
                device_data: false,
                card: false
            }
        );
        assert_eq!(
            Features::of("2026-01-28.preview", true).shape,
            AnswerShape::Insights
        );
        assert!(!Features::of("2026-03-25.dahlia", false).six_levels);
        let private = Features::of("2026-04-22.preview", true);
        assert!(private.device_data && !private.card);
        assert!(!Features::of("2026-04-22.preview", false).device_data);
        assert!(Features::of("2026-07-29.preview", true).card);
        assert!(Features::has_payment_evaluations("2026-01-28.clover"));
        assert!(!Features::has_payment_evaluations("2025-12-15.clover"));
    }
}
