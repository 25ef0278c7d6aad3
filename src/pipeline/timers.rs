//! Per-stage duration histograms (`riskgate_stage_duration_seconds{stage}`), registered once.

use metrics::Histogram;

use crate::telemetry;

/// One histogram handle per stage, so recording is a lookup-free call on the request path.
#[derive(Clone)]
pub struct StageTimers {
    pub validate: Histogram,
    pub enrich: Histogram,
    pub attributes: Histogram,
    pub score: Histogram,
    pub decide: Histogram,
}

impl StageTimers {
    pub fn new() -> Self {
        let h =
            |stage: &'static str| metrics::histogram!(telemetry::STAGE_DURATION, "stage" => stage);
        Self {
            validate: h("validate"),
            enrich: h("enrich"),
            attributes: h("attributes"),
            score: h("score"),
            decide: h("decide"),
        }
    }
}

impl Default for StageTimers {
    fn default() -> Self {
        Self::new()
    }
}
