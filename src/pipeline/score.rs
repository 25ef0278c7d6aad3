//! The score stage's settings: who scores (the mode), what to answer when nothing can (the fail
//! policy), and the upstream with its time limits.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;

use crate::{
    config::scoring::{FailPolicy, ScoringMode, StripeLevels},
    scoring::remote::RemoteScorer,
};

/// How evaluations are scored: the mode, the fail policy, whose levels stand when Stripe scores,
/// and the upstream with its time limits.
#[derive(Clone)]
pub struct Scoring {
    pub mode: ScoringMode,
    pub fail_policy: FailPolicy,
    /// Stripe's level and action as given, or its score re-levelled with riskgate's thresholds.
    pub stripe_levels: StripeLevels,
    /// Kept back from the caller's remaining time for the work after the upstream answers.
    pub upstream_margin: Duration,
    /// The most an upstream call may take (also the budget without a deadline and in shadow).
    pub upstream_max: Duration,
    /// Stripe, when configured.
    pub remote: Option<Arc<dyn RemoteScorer>>,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            mode: ScoringMode::Local,
            fail_policy: FailPolicy::Open,
            stripe_levels: StripeLevels::Stripe,
            upstream_margin: Duration::from_millis(5),
            upstream_max: Duration::from_millis(250),
            remote: None,
        }
    }
}

impl Scoring {
    /// The time an upstream call may take now, when the answer is due at `answer_by`.
    pub fn budget(&self, answer_by: Option<Instant>) -> Duration {
        match answer_by {
            Some(at) => at
                .saturating_duration_since(Instant::now())
                .saturating_sub(self.upstream_margin)
                .min(self.upstream_max),
            None => self.upstream_max,
        }
    }
}
