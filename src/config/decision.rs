//! The local decision: the fraud model that scores and the Radar rules that act on the score.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The local fraud model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// An XGBoost JSON or LightGBM text model file whose features match `riskgate model schema`;
    /// unset = the embedded default model.
    pub path: Option<PathBuf>,
    /// `auto` (JSON is XGBoost, text is LightGBM), `xgboost_json` or `lightgbm_text`.
    pub format: riskgate_core::model::Format,
    /// `[probability, score]` points of a piecewise-linear map from the model's probability to the
    /// 0–99 risk score; probabilities from 0 to 1 increasing, scores non-decreasing. Unset: the
    /// score is ⌊100·p⌋ capped at 99.
    pub calibration: Option<Vec<[f64; 2]>>,
}

/// Radar rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// The rules file (flag: --rules). Unset: the default rules derived from `[actions]`.
    pub path: Option<PathBuf>,
    /// How often the rules file's modification time is checked for a hot reload (0 = off; SIGHUP
    /// and the ReloadRules RPC still reload).
    pub watch_interval_ms: u64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            path: None,
            watch_interval_ms: 1000,
        }
    }
}
