//! Which scorer answers an evaluation, the time it may take, and what to answer when none can.

use serde::{Deserialize, Serialize};

use riskgate_core::decision::Action;

/// How an evaluation is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMode {
    /// The local model only.
    #[default]
    Local,
    /// Stripe only; when Stripe cannot answer in time, the fail policy decides.
    Stripe,
    /// Stripe within the budget, else the local model (source `fallback`, `degraded`).
    StripeWithFallback,
    /// The local model answers; Stripe scores the same payment in the background and agreement
    /// metrics are recorded.
    Shadow,
}

impl ScoringMode {
    /// The name used in config, flags and the request's `scoring_mode` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringMode::Local => "local",
            ScoringMode::Stripe => "stripe",
            ScoringMode::StripeWithFallback => "stripe_with_fallback",
            ScoringMode::Shadow => "shadow",
        }
    }

    /// Parses a request's override; `""` = the configured mode.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Local,
            Self::Stripe,
            Self::StripeWithFallback,
            Self::Shadow,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Whether the mode calls Stripe.
    pub fn uses_stripe(self) -> bool {
        self != ScoringMode::Local
    }
}

/// What to answer when nothing could score the payment. The answer is always flagged `degraded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailPolicy {
    /// Let the payment through (CONTINUE).
    #[default]
    Open,
    /// Block it.
    Closed,
    /// Send it to manual review.
    Review,
}

impl FailPolicy {
    pub fn action(self) -> Action {
        match self {
            FailPolicy::Open => Action::Continue,
            FailPolicy::Closed => Action::Block,
            FailPolicy::Review => Action::Review,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailPolicy::Open => "open",
            FailPolicy::Closed => "closed",
            FailPolicy::Review => "review",
        }
    }
}

/// Whose risk levels stand when Stripe scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StripeLevels {
    /// Stripe's `risk_level` and `recommended_action` are used as given (the merchant's own rules
    /// still run on top); riskgate's thresholds apply to the local model only.
    #[default]
    Stripe,
    /// Stripe's score is levelled with riskgate's thresholds (`[risk]`) and decided by the rules
    /// like the local model's, for one scale across both scorers; a payment Stripe did not assess
    /// counts as unscored.
    Relevel,
}

impl StripeLevels {
    pub fn as_str(self) -> &'static str {
        match self {
            StripeLevels::Stripe => "stripe",
            StripeLevels::Relevel => "relevel",
        }
    }
}

/// Which scorer answers, and the time it may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// `local`, `stripe`, `stripe_with_fallback` or `shadow` (flag: --scoring-mode); a request
    /// may override it with its `scoring_mode` field.
    pub mode: ScoringMode,
    /// When nothing can score (mode `stripe` and Stripe failed): `open` (continue), `closed`
    /// (block) or `review`. Always flagged `degraded`.
    pub fail_policy: FailPolicy,
    /// Time kept back from the caller's remaining deadline for the local work after Stripe.
    pub upstream_margin_ms: u64,
    /// The most a Stripe call may take, whatever the caller's deadline (also the budget without
    /// a deadline and of shadow calls).
    pub upstream_max_ms: u64,
    /// When Stripe scores: `stripe` (its level and recommended action decide, the merchant's rules
    /// on top) or `relevel` (its score levelled with `[risk]` and decided like the local model's).
    pub stripe_levels: StripeLevels,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            mode: ScoringMode::Local,
            fail_policy: FailPolicy::Open,
            upstream_margin_ms: 5,
            upstream_max_ms: 250,
            stripe_levels: StripeLevels::Stripe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name() {
        for m in [
            ScoringMode::Local,
            ScoringMode::Stripe,
            ScoringMode::StripeWithFallback,
            ScoringMode::Shadow,
        ] {
            assert_eq!(ScoringMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(ScoringMode::parse("remote"), None);
        assert!(!ScoringMode::Local.uses_stripe());
        assert_eq!(FailPolicy::Closed.action(), Action::Block);
    }
}
