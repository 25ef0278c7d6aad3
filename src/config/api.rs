//! The gRPC answer: in which of Stripe's shapes the evaluation object is shown.

use serde::{Deserialize, Serialize};

/// Which shape of Stripe's `radar.payment_evaluation` the answer's `evaluation` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationShape {
    /// API versions 2026-03-25 and later: top-level `recommended_action` and
    /// `signals.fraudulent_payment{score, risk_level, evaluated_at}`.
    #[default]
    Current,
    /// 2026-01-28.preview: `insights{evaluated_at, fraudulent_dispute{recommended_action,
    /// risk_score}}`.
    Preview,
    /// Both, for clients moving from the preview shape to the current one.
    Both,
}

impl EvaluationShape {
    /// Whether the current shape is filled.
    pub fn current(self) -> bool {
        matches!(self, EvaluationShape::Current | EvaluationShape::Both)
    }

    /// Whether the preview shape is filled.
    pub fn preview(self) -> bool {
        matches!(self, EvaluationShape::Preview | EvaluationShape::Both)
    }
}

/// The answer's shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// `current` (default), `preview` or `both`.
    pub evaluation_shape: EvaluationShape,
}
