//! Model files: their format (XGBoost JSON or LightGBM text, detected from the content), the parse
//! into a [`GbdtModel`], and why a model cannot be loaded ([`ModelError`]). Parsing is pure: text
//! in, model out; reading the file is the caller's job.

use serde::{Deserialize, Serialize};

use super::{gbdt::Forest, lightgbm, xgboost};

/// A model file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Detect from the content: JSON is XGBoost, text is LightGBM.
    #[default]
    Auto,
    /// XGBoost's JSON (`save_model("model.json")`).
    XgboostJson,
    /// LightGBM's text (`save_model("model.txt")`).
    LightgbmText,
}

impl Format {
    /// Label for metrics and versions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::XgboostJson => "xgboost",
            Format::LightgbmText => "lightgbm",
        }
    }

    /// The format of `text`: JSON objects are XGBoost, anything else LightGBM.
    pub fn detect(text: &str) -> Format {
        if text.trim_start().starts_with('{') {
            Format::XgboostJson
        } else {
            Format::LightgbmText
        }
    }
}

/// A model that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a valid {format} model: {message}")]
    Invalid {
        format: &'static str,
        message: String,
    },
    #[error("unsupported model: {0}")]
    Unsupported(String),
    #[error(
        "the model file names no features; train with named features (XGBoost: DMatrix \
         feature_names, LightGBM: feature_name) so they can be checked against the schema"
    )]
    NoFeatureNames,
    #[error("the model's features do not match the schema: {0}")]
    Schema(String),
    #[error("model.calibration: {0}")]
    Calibration(String),
}

/// A parsed model: the forest, its feature names and its link.
#[derive(Debug, Clone)]
pub struct GbdtModel {
    pub forest: Forest,
    pub feature_names: Vec<String>,
    /// Probability = σ(sigmoid · margin) (LightGBM's `sigmoid:` parameter; 1 for XGBoost).
    pub sigmoid: f64,
    pub format: Format,
}

impl GbdtModel {
    /// Parses `text` in `format` ([`Format::Auto`] detects it).
    pub fn parse(text: &str, format: Format) -> Result<Self, ModelError> {
        match format {
            Format::Auto => Self::parse(text, Format::detect(text)),
            Format::XgboostJson => xgboost::parse(text),
            Format::LightgbmText => lightgbm::parse(text),
        }
    }
}
