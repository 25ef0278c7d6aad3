//! The decisions counter (`riskgate_decisions_total{action,source,risk_level}`): one handle per
//! label set, taken from the registry on its first decision and kept, so counting a decision is
//! an index and an atomic add rather than a registry lookup (which hashes the name and the three
//! labels on every call).

use std::sync::{Arc, OnceLock};

use metrics::Counter;
use riskgate_core::{decision::Action, decision::RiskLevel, engine::ScoreSource, engine::Verdict};

use crate::telemetry;

const ACTIONS: usize = 4;
const SOURCES: usize = 3;
const LEVELS: usize = 6;

/// See the module docs. Clones share the handles.
#[derive(Clone)]
pub struct DecisionCounters(Arc<[OnceLock<Counter>]>);

impl DecisionCounters {
    pub fn new() -> Self {
        Self(
            (0..ACTIONS * SOURCES * LEVELS)
                .map(|_| OnceLock::new())
                .collect(),
        )
    }

    /// Counts `verdict`.
    pub fn count(&self, verdict: &Verdict) {
        let (action, source, level) = (verdict.action, verdict.source, verdict.risk_level);
        self.0[index(action, source, level)]
            .get_or_init(|| {
                metrics::counter!(
                    telemetry::DECISIONS,
                    "action" => action.as_str(),
                    "source" => source.as_str(),
                    "risk_level" => level.as_str(),
                )
            })
            .increment(1);
    }
}

impl Default for DecisionCounters {
    fn default() -> Self {
        Self::new()
    }
}

fn index(action: Action, source: ScoreSource, level: RiskLevel) -> usize {
    let action = match action {
        Action::Continue => 0,
        Action::Review => 1,
        Action::RequestThreeDSecure => 2,
        Action::Block => 3,
    };
    let source = match source {
        ScoreSource::LocalModel => 0,
        ScoreSource::Stripe => 1,
        ScoreSource::Fallback => 2,
    };
    let level = match level {
        RiskLevel::Normal => 0,
        RiskLevel::Elevated => 1,
        RiskLevel::Highest => 2,
        RiskLevel::Low => 3,
        RiskLevel::NotAssessed => 4,
        RiskLevel::Unknown => 5,
    };
    (action * SOURCES + source) * LEVELS + level
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_set_has_its_own_slot() {
        let actions = [
            Action::Continue,
            Action::Review,
            Action::RequestThreeDSecure,
            Action::Block,
        ];
        let sources = [
            ScoreSource::LocalModel,
            ScoreSource::Stripe,
            ScoreSource::Fallback,
        ];
        let levels = [
            RiskLevel::Normal,
            RiskLevel::Elevated,
            RiskLevel::Highest,
            RiskLevel::Low,
            RiskLevel::NotAssessed,
            RiskLevel::Unknown,
        ];
        let mut seen = std::collections::HashSet::new();
        for a in actions {
            for s in sources {
                for l in levels {
                    let i = index(a, s, l);
                    assert!(i < ACTIONS * SOURCES * LEVELS);
                    assert!(seen.insert(i), "{a:?} {s:?} {l:?} shares a slot");
                }
            }
        }
    }

    #[test]
    fn counts_land_in_the_labelled_series() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let counters = DecisionCounters::new();
            let mut verdict = Verdict {
                action: Action::Block,
                risk_score: 0,
                risk_level: RiskLevel::NotAssessed,
                source: ScoreSource::LocalModel,
                matched_rule: None,
                reasons: Default::default(),
                degraded: false,
            };
            counters.count(&verdict);
            counters.count(&verdict);
            verdict.action = Action::Review;
            counters.count(&verdict);
        });
        let text = handle.render();
        let series = |action: &str| {
            format!(
                "{}{{action=\"{action}\",source=\"local_model\",risk_level=\"not_assessed\"}}",
                telemetry::DECISIONS
            )
        };
        assert!(
            text.lines().any(|l| l == format!("{} 2", series("block"))),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l == format!("{} 1", series("review"))),
            "{text}"
        );
    }
}
