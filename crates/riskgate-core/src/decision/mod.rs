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

/// Radar's risk levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Normal,
    Elevated,
    Highest,
}

impl RiskLevel {
    /// Radar's word for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Normal => "normal",
            RiskLevel::Elevated => "elevated",
            RiskLevel::Highest => "highest",
        }
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
    /// The action for `level`.
    pub fn action(&self, level: RiskLevel) -> Action {
        match level {
            RiskLevel::Normal => self.normal,
            RiskLevel::Elevated => self.elevated,
            RiskLevel::Highest => self.highest,
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
        assert_eq!(a.action(RiskLevel::Normal), Action::Continue);
        assert_eq!(a.action(RiskLevel::Elevated), Action::Continue);
        assert_eq!(a.action(RiskLevel::Highest), Action::Block);
        let review: LevelActions = toml::from_str("elevated = \"review\"").unwrap();
        assert_eq!(review.action(RiskLevel::Elevated), Action::Review);
        assert_eq!(review.action(RiskLevel::Highest), Action::Block);
    }
}
