//! Stripe's answer in the decision core's terms: as given (its risk level and recommended action
//! stand, `scoring.stripe_levels = "stripe"`), or as a score re-levelled with riskgate's
//! thresholds (`"relevel"`).

use std::borrow::Cow;

use crate::{config::scoring::FailPolicy, scoring::remote::RemoteScore, telemetry};
use riskgate_core::{
    decision::{Action, RiskLevel},
    engine::{Given, Reason, Reasons},
    model::{Contribution, ModelScore},
};

/// Stripe's decision as given. A level word riskgate does not know reads `unknown`; an action
/// word it does not know (or none) leaves the decision to `fail_policy` — both counted in
/// `riskgate_stripe_unknown_values_total{field}`. The `insights` shape has no level: `unknown`
/// (or `not_assessed` without a score).
pub(super) fn given(rs: &RemoteScore, fail_policy: FailPolicy) -> Given {
    let risk_level = match rs.risk_level.as_deref() {
        Some(word) => RiskLevel::from_stripe(word).unwrap_or_else(|| {
            unknown("risk_level", word);
            RiskLevel::Unknown
        }),
        None if rs.score.is_none() => RiskLevel::NotAssessed,
        None => RiskLevel::Unknown,
    };
    let action = match rs.recommended_action.as_deref() {
        Some(word) => Action::from_stripe(word).or_else(|| {
            unknown("recommended_action", word);
            None
        }),
        None => {
            unknown("recommended_action", "");
            None
        }
    };
    let score = match rs.score {
        Some(s) => format!(
            "Stripe risk score {s:.2}, risk level {}",
            risk_level.as_str()
        ),
        None => format!(
            "Stripe did not assess the payment (risk level {})",
            risk_level.as_str()
        ),
    };
    let mut reasons = Reasons::new();
    reasons.push(Reason {
        code: Cow::Owned(format!("risk_level_{}", risk_level.as_str())),
        message: score.into(),
    });
    reasons.push(match (action, rs.recommended_action.as_deref()) {
        (Some(a), _) => Reason {
            code: Cow::Borrowed("stripe_recommended_action"),
            message: format!("Stripe recommends {}", a.as_str()).into(),
        },
        (None, word) => Reason {
            code: Cow::Borrowed("stripe_action_unknown"),
            message: format!(
                "Stripe recommended {:?}, which riskgate does not know; fail policy {} decides",
                word.unwrap_or_default(),
                fail_policy.as_str()
            )
            .into(),
        },
    });
    Given {
        score: rs.score,
        risk_level,
        action,
        unknown_action: fail_policy.action(),
        reasons,
    }
}

fn unknown(field: &'static str, word: &str) {
    metrics::counter!(telemetry::STRIPE_UNKNOWN_VALUES, "field" => field).increment(1);
    tracing::warn!(
        field,
        value = word,
        "Stripe answered a value riskgate does not know"
    );
}

/// Stripe's score as the core's model score, to be levelled with riskgate's thresholds, with
/// Stripe's own words as the reason; `None` when Stripe did not assess the payment.
pub(super) fn relevel(rs: &RemoteScore) -> Option<ModelScore> {
    let probability = rs.probability()?;
    Some(ModelScore {
        probability,
        contributions: [Contribution {
            code: "stripe_score",
            weight: 0.0,
            message: format!(
                "Stripe risk score {:.2}{}",
                rs.score.unwrap_or_default(),
                rs.recommended_action
                    .as_deref()
                    .map(|a| format!(", Stripe recommends {a}"))
                    .unwrap_or_default()
            )
            .into(),
        }]
        .into_iter()
        .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(score: Option<f64>, level: Option<&str>, action: Option<&str>) -> RemoteScore {
        RemoteScore {
            score,
            recommended_action: action.map(str::to_owned),
            risk_level: level.map(str::to_owned),
            id: Some("peval_1".into()),
            attempts: 1,
        }
    }

    #[test]
    fn stripes_words_become_the_cores_types() {
        let g = given(
            &rs(Some(41.25), Some("elevated"), Some("continue")),
            FailPolicy::Closed,
        );
        assert_eq!(
            (g.score, g.risk_level, g.action),
            (Some(41.25), RiskLevel::Elevated, Some(Action::Continue))
        );
        assert_eq!(g.reasons[0].code, "risk_level_elevated");
        assert_eq!(
            g.reasons[0].message,
            "Stripe risk score 41.25, risk level elevated"
        );
        let g = given(
            &rs(None, Some("not_assessed"), Some("request_three_d_secure")),
            FailPolicy::Open,
        );
        assert_eq!(
            (g.risk_level, g.action),
            (RiskLevel::NotAssessed, Some(Action::RequestThreeDSecure))
        );
    }

    #[test]
    fn unknown_words_fall_to_unknown_and_the_fail_policy() {
        let g = given(
            &rs(Some(5.0), Some("guarded"), Some("hold")),
            FailPolicy::Review,
        );
        assert_eq!(
            (g.risk_level, g.action, g.unknown_action),
            (RiskLevel::Unknown, None, Action::Review)
        );
        assert_eq!(g.reasons[1].code, "stripe_action_unknown");
        // The insights shape has no level.
        let g = given(&rs(Some(5.0), None, Some("block")), FailPolicy::Open);
        assert_eq!(g.risk_level, RiskLevel::Unknown);
        assert!(relevel(&rs(None, Some("not_assessed"), Some("continue"))).is_none());
        assert_eq!(
            relevel(&rs(Some(80.0), None, None)).unwrap().probability,
            0.8
        );
    }
}
