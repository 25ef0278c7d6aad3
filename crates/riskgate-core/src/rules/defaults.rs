//! The default rules that act on what riskgate learned (issue 15, "Close the loop"): shipped with
//! the embedded defaults, before the risk-level rules (so that they name the decision when the
//! score blocks too), so that with no rule written by the merchant fraud once seen is not let
//! through twice.
//!
//! - a card with a fraud outcome (early fraud warning, fraudulent dispute, refund as fraud, an
//!   analyst's or the merchant's fraud verdict) is blocked;
//! - a customer account, email, device or shipping address with a fraud outcome on an earlier
//!   payment — with another card, or this one — is reviewed;
//! - one card with several emails, or one email, device or IP with several cards, within a day
//!   (an hour for IPs) is reviewed.
//!
//! Every rule reads attributes that are missing when the payment lacks the entity, so a
//! merchant-initiated payment without device data is never matched for the device it does not
//! have. When one of these rules decides, [`default_rule_reason`] puts its reason, in words and
//! with the numbers, first in the answer's reasons; when the score decides and some of them
//! match too, their reasons follow the score's.

use crate::attributes::{Attr, Attributes};

/// The rules, as a rules file (ids are the rule names).
pub const OUTCOME_DEFAULT_RULES: &str = "\
# What riskgate learned after earlier decisions (outcome memory).
prior_fraud_on_card: Block if :fraud_outcome_count_on_card_all_time: > 0
prior_fraud_on_linked_entity: Review if :fraud_outcome_count_on_customer_all_time: > 0 OR :fraud_outcome_count_on_email_all_time: > 0 OR :fraud_outcome_count_on_device_all_time: > 0 OR :fraud_outcome_count_on_shipping_address_all_time: > 0
# Distinct counts (the current payment's value not counted).
many_emails_on_card: Review if :email_count_for_card_daily: >= 3
many_cards_on_email: Review if :card_count_for_email_daily: >= 4
many_cards_on_device: Review if :card_count_for_device_id_daily: >= 4
many_cards_on_ip: Review if :card_count_for_ip_address_hourly: >= 5
";

fn n(a: &Attributes<'_>, attr: Attr) -> f64 {
    a.number(attr).unwrap_or(0.0)
}

fn count(x: f64, one: &str, many: &str) -> String {
    if x == 1.0 {
        format!("1 {one}")
    } else {
        format!("{x:.0} {many}")
    }
}

fn ago(hours: Option<f64>) -> String {
    match hours {
        Some(h) if h < 48.0 => format!(", the latest {h:.0} hours ago"),
        Some(h) => format!(", the latest {:.0} days ago", h / 24.0),
        None => String::new(),
    }
}

/// The reason, in words, when the default rule `id` decided on `a`; `None` for any other rule.
pub fn default_rule_reason(id: &str, a: &Attributes<'_>) -> Option<String> {
    Some(match id {
        "prior_fraud_on_card" => format!(
            "this card had {} before{}",
            count(
                n(a, Attr::FraudOutcomeCountOnCardAllTime),
                "fraud outcome",
                "fraud outcomes"
            ),
            ago(a.number(Attr::HoursSinceLastFraudOnCard))
        ),
        "prior_fraud_on_linked_entity" => {
            let mut seen = Vec::new();
            for (attr, what) in [
                (Attr::FraudOutcomeCountOnCustomerAllTime, "customer account"),
                (Attr::FraudOutcomeCountOnEmailAllTime, "email"),
                (Attr::FraudOutcomeCountOnDeviceAllTime, "device"),
                (
                    Attr::FraudOutcomeCountOnShippingAddressAllTime,
                    "shipping address",
                ),
            ] {
                if n(a, attr) > 0.0 {
                    seen.push(what);
                }
            }
            format!(
                "a fraud outcome was learned on an earlier payment with this {}",
                join(&seen)
            )
        }
        "many_emails_on_card" => format!(
            "this card was used with {} in the last 24 hours",
            count(
                n(a, Attr::EmailCountForCardDaily),
                "other email",
                "other emails"
            )
        ),
        "many_cards_on_email" => format!(
            "this email was used with {} in the last 24 hours",
            count(
                n(a, Attr::CardCountForEmailDaily),
                "other card",
                "other cards"
            )
        ),
        "many_cards_on_device" => format!(
            "this device was used with {} in the last 24 hours",
            count(
                n(a, Attr::CardCountForDeviceIdDaily),
                "other card",
                "other cards"
            )
        ),
        "many_cards_on_ip" => format!(
            "this IP address was used with {} in the last hour",
            count(
                n(a, Attr::CardCountForIpAddressHourly),
                "other card",
                "other cards"
            )
        ),
        _ => return None,
    })
}

/// `a`, `a and b`, `a, b and c`.
fn join(parts: &[&str]) -> String {
    match parts {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        attributes::Value,
        decision::{Action, LevelActions},
        rules::default_rules,
    };

    fn attrs(pairs: &[(Attr, f64)]) -> Attributes<'static> {
        let mut a = Attributes::default();
        for (k, v) in pairs {
            a.set(*k, Value::Number(*v));
        }
        a
    }

    fn decides(a: &Attributes<'_>) -> Option<(String, Action)> {
        default_rules(&LevelActions::default())
            .evaluate(a)
            .map(|r| (r.id.clone(), r.action))
    }

    #[test]
    fn a_card_with_fraud_is_blocked_and_linked_entities_reviewed() {
        let a = attrs(&[
            (Attr::FraudOutcomeCountOnCardAllTime, 2.0),
            (Attr::HoursSinceLastFraudOnCard, 30.0),
            (Attr::FraudOutcomeCountOnEmailAllTime, 2.0),
        ]);
        assert_eq!(
            decides(&a),
            Some(("prior_fraud_on_card".into(), Action::Block))
        );
        assert_eq!(
            default_rule_reason("prior_fraud_on_card", &a).unwrap(),
            "this card had 2 fraud outcomes before, the latest 30 hours ago"
        );
        // A new card, the same email and device: reviewed.
        let a = attrs(&[
            (Attr::FraudOutcomeCountOnCardAllTime, 0.0),
            (Attr::FraudOutcomeCountOnEmailAllTime, 1.0),
            (Attr::FraudOutcomeCountOnDeviceAllTime, 1.0),
            (Attr::FraudOutcomeCountOnCustomerAllTime, 0.0),
        ]);
        assert_eq!(
            decides(&a),
            Some(("prior_fraud_on_linked_entity".into(), Action::Review))
        );
        assert_eq!(
            default_rule_reason("prior_fraud_on_linked_entity", &a).unwrap(),
            "a fraud outcome was learned on an earlier payment with this email and device"
        );
        // Nothing learned, or nothing known (missing): nothing matches.
        let clean = attrs(&[
            (Attr::FraudOutcomeCountOnCardAllTime, 0.0),
            (Attr::FraudOutcomeCountOnEmailAllTime, 0.0),
            (Attr::EmailCountForCardDaily, 1.0),
        ]);
        assert_eq!(decides(&clean), None);
        assert_eq!(decides(&Attributes::default()), None);
    }

    #[test]
    fn many_emails_or_cards_are_reviewed() {
        for (attr, threshold, id) in [
            (Attr::EmailCountForCardDaily, 3.0, "many_emails_on_card"),
            (Attr::CardCountForEmailDaily, 4.0, "many_cards_on_email"),
            (Attr::CardCountForDeviceIdDaily, 4.0, "many_cards_on_device"),
            (Attr::CardCountForIpAddressHourly, 5.0, "many_cards_on_ip"),
        ] {
            assert_eq!(decides(&attrs(&[(attr, threshold - 1.0)])), None, "{id}");
            let a = attrs(&[(attr, threshold)]);
            assert_eq!(decides(&a), Some((id.into(), Action::Review)), "{id}");
            assert!(
                default_rule_reason(id, &a)
                    .unwrap()
                    .contains(&format!("{threshold:.0} other")),
                "{id}"
            );
        }
        assert_eq!(
            default_rule_reason("default_highest", &Attributes::default()),
            None
        );
        assert_eq!(join(&["a", "b", "c"]), "a, b and c");
    }
}
