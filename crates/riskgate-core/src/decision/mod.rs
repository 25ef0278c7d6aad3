//! From a model probability to a risk score, a risk level and an action.

use serde::{Deserialize, Serialize};

/// What the orchestrator should do with the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Continue,
    Review,
    RequestThreeDSecure,
    Block,
}

impl Action {
    /// Stripe's word for it (`recommended_action`), also the metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Continue => "continue",
            Action::Review => "review",
            Action::RequestThreeDSecure => "request_three_d_secure",
            Action::Block => "block",
        }
    }

    /// The action Stripe's `recommended_action` names: `block`, `continue`, and
    /// `request_three_d_secure` (documented beside the enum's `block | continue`). `None` for any
    /// other word (`review` is riskgate's and Radar's rules', never Stripe's recommendation).
    pub fn from_stripe(word: &str) -> Option<Action> {
        match word {
            "block" => Some(Action::Block),
            "continue" => Some(Action::Continue),
            "request_three_d_secure" => Some(Action::RequestThreeDSecure),
            _ => None,
        }
    }

    /// How the action reads in a Radar rule (`Block if …`).
    pub const fn rule_verb(self) -> &'static str {
        match self {
            Action::Continue => "Allow",
            Action::Review => "Review",
            Action::RequestThreeDSecure => "Request 3D Secure",
            Action::Block => "Block",
        }
    }
}

/// Radar's risk levels. The local model's score is levelled `normal`, `elevated` or `highest`
/// ([`RiskThresholds`]); Stripe's Payment Evaluations also answer `low`, `not_assessed` (no model
/// evaluation, score -1) and `unknown` (API versions 2026-04-22 and later), which riskgate takes as
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Normal,
    Elevated,
    Highest,
    Low,
    NotAssessed,
    Unknown,
}

impl RiskLevel {
    /// Every level, in Stripe's order of risk (then the two without a score).
    pub const ALL: [RiskLevel; 6] = [
        RiskLevel::Low,
        RiskLevel::Normal,
        RiskLevel::Elevated,
        RiskLevel::Highest,
        RiskLevel::NotAssessed,
        RiskLevel::Unknown,
    ];

    /// Radar's word for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Normal => "normal",
            RiskLevel::Elevated => "elevated",
            RiskLevel::Highest => "highest",
            RiskLevel::Low => "low",
            RiskLevel::NotAssessed => "not_assessed",
            RiskLevel::Unknown => "unknown",
        }
    }

    /// The level Stripe names `word` (`signals.fraudulent_payment.risk_level`); `None` for a word
    /// Stripe has not published.
    pub fn from_stripe(word: &str) -> Option<RiskLevel> {
        RiskLevel::ALL.into_iter().find(|l| l.as_str() == word)
    }
}

/// Where risk levels start on the 0–99 score scale. Radar's defaults: normal 0–19, elevated 20–64,
/// highest 65–99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskThresholds {
    /// Lowest score that is `elevated`.
    pub elevated_from: u8,
    /// Lowest score that is `highest`.
    pub highest_from: u8,
}

impl Default for RiskThresholds {
    fn default() -> Self {
        Self {
            elevated_from: 20,
            highest_from: 65,
        }
    }
}

impl RiskThresholds {
    /// Checks `0 < elevated_from < highest_from ≤ 99`.
    pub fn validate(&self) -> Result<(), String> {
        if !(0 < self.elevated_from
            && self.elevated_from < self.highest_from
            && self.highest_from <= 99)
        {
            return Err(format!(
                "risk thresholds must satisfy 0 < elevated_from < highest_from <= 99 (got {} and {})",
                self.elevated_from, self.highest_from
            ));
        }
        Ok(())
    }

    /// The level of a 0–99 score.
    pub fn level(&self, score: u8) -> RiskLevel {
        if score >= self.highest_from {
            RiskLevel::Highest
        } else if score >= self.elevated_from {
            RiskLevel::Elevated
        } else {
            RiskLevel::Normal
        }
    }
}

/// The score of a probability: `⌊100·p⌋`, capped at 99 (Radar's scale). Not-a-number counts as 99 so
/// a broken model can never let a payment through silently.
pub fn risk_score(probability: f64) -> u8 {
    if probability.is_nan() {
        return 99;
    }
    (probability.clamp(0.0, 1.0) * 100.0).floor().min(99.0) as u8
}

/// The action for each risk level when no rule decides. Radar's default rule set blocks `highest`
/// and lets everything else through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelActions {
    pub normal: Action,
    pub elevated: Action,
    pub highest: Action,
}

impl Default for LevelActions {
    fn default() -> Self {
        Self {
            normal: Action::Continue,
            elevated: Action::Continue,
            highest: Action::Block,
        }
    }
}

impl LevelActions {
    /// The action for `level`, one of the three levels the local model's score is levelled into;
    /// `None` for the others (Stripe's own levels, which come with Stripe's action).
    pub fn action(&self, level: RiskLevel) -> Option<Action> {
        match level {
            RiskLevel::Normal => Some(self.normal),
            RiskLevel::Elevated => Some(self.elevated),
            RiskLevel::Highest => Some(self.highest),
            RiskLevel::Low | RiskLevel::NotAssessed | RiskLevel::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_levels_match_radar() {
        let t = RiskThresholds::default();
        assert_eq!(t.level(0), RiskLevel::Normal);
        assert_eq!(t.level(19), RiskLevel::Normal);
        assert_eq!(t.level(20), RiskLevel::Elevated);
        assert_eq!(t.level(64), RiskLevel::Elevated);
        assert_eq!(t.level(65), RiskLevel::Highest);
        assert_eq!(t.level(99), RiskLevel::Highest);
    }

    #[test]
    fn thresholds_are_checked() {
        assert!(RiskThresholds::default().validate().is_ok());
        assert!(
            RiskThresholds {
                elevated_from: 70,
                highest_from: 65
            }
            .validate()
            .is_err()
        );
        assert!(
            RiskThresholds {
                elevated_from: 0,
                highest_from: 65
            }
            .validate()
            .is_err()
        );
        assert!(
            RiskThresholds {
                elevated_from: 20,
                highest_from: 100
            }
            .validate()
            .is_err()
        );
        let t = RiskThresholds {
            elevated_from: 10,
            highest_from: 50,
        };
        assert_eq!(t.level(49), RiskLevel::Elevated);
        assert_eq!(t.level(50), RiskLevel::Highest);
    }

    #[test]
    fn scores_from_probabilities() {
        assert_eq!(risk_score(0.0), 0);
        assert_eq!(risk_score(0.199), 19);
        assert_eq!(risk_score(0.65), 65);
        assert_eq!(risk_score(1.0), 99);
        assert_eq!(risk_score(-3.0), 0);
        assert_eq!(risk_score(f64::NAN), 99);
    }

    #[test]
    fn default_actions() {
        let a = LevelActions::default();
        assert_eq!(a.action(RiskLevel::Normal), Some(Action::Continue));
        assert_eq!(a.action(RiskLevel::Elevated), Some(Action::Continue));
        assert_eq!(a.action(RiskLevel::Highest), Some(Action::Block));
        assert_eq!(a.action(RiskLevel::NotAssessed), None);
        let review: LevelActions = toml::from_str("elevated = \"review\"").unwrap();
        assert_eq!(review.action(RiskLevel::Elevated), Some(Action::Review));
        assert_eq!(review.action(RiskLevel::Highest), Some(Action::Block));
    }

    #[test]
    fn stripe_recommendations_name_three_actions() {
        for a in [Action::Block, Action::Continue, Action::RequestThreeDSecure] {
            assert_eq!(Action::from_stripe(a.as_str()), Some(a));
        }
        assert_eq!(Action::from_stripe("review"), None);
        assert_eq!(Action::from_stripe("allow"), None);
    }

    #[test]
    fn stripe_words_name_every_level() {
        for level in RiskLevel::ALL {
            assert_eq!(RiskLevel::from_stripe(level.as_str()), Some(level));
        }
        assert_eq!(RiskLevel::from_stripe("medium"), None);
        assert_eq!(RiskLevel::from_stripe("Normal"), None);
    }
}
