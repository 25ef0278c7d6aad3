//! Gradient-boosted tree models from XGBoost and LightGBM: loading (format detection, schema check)
//! and the [`Scorer`] that serves them with reasons.
//!
//! Parsing is pure (`&str` in, model out); [`load_scorer`] adds the file read. A model whose feature
//! names or order differ from the schema ([`features::NAMES`]) is refused with the first difference.

pub mod lightgbm;
pub mod rows;
pub mod training;
pub mod xgboost;

use std::{path::Path, sync::Arc};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::{
    attributes::Attributes,
    features::{self, FEATURES},
    gbdt::Forest,
    model::{Contribution, ModelScore, Scorer},
};

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

/// Contributions smaller than this (log-odds) are not worth a reason: a feature must move the odds
/// by at least about a fifth to be named.
const REASON_MIN_WEIGHT: f64 = 0.2;
/// At most this many model reasons per answer.
const MAX_REASONS: usize = 3;

/// Serves a [`GbdtModel`] whose features match the schema.
#[derive(Debug, Clone)]
pub struct GbdtScorer {
    model: GbdtModel,
    version: String,
}

impl GbdtScorer {
    /// Checks the model's features against the schema. `name` starts the version label.
    pub fn new(model: GbdtModel, name: &str, source: &str) -> Result<Self, ModelError> {
        features::check(&model.feature_names).map_err(ModelError::Schema)?;
        let digest = Sha256::digest(source.as_bytes());
        let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            version: format!("{name}-{}-{hash}", model.format.as_str()),
            model,
        })
    }

    /// Parses and checks a model from its text.
    pub fn from_text(text: &str, format: Format, name: &str) -> Result<Self, ModelError> {
        Self::new(GbdtModel::parse(text, format)?, name, text)
    }

    /// The model.
    pub fn model(&self) -> &GbdtModel {
        &self.model
    }
}

impl Scorer for GbdtScorer {
    fn version(&self) -> &str {
        &self.version
    }

    fn score(&self, attrs: &Attributes<'_>) -> ModelScore {
        let x = features::compute(attrs);
        let mut contributions = [0.0; features::COUNT];
        let (margin, _bias) = self
            .model
            .forest
            .predict_with_contributions(&x, &mut contributions);
        features::merge_for_reasons(&mut contributions);
        let mut top: [(f64, usize); MAX_REASONS] = [(0.0, usize::MAX); MAX_REASONS];
        for (i, &c) in contributions.iter().enumerate() {
            if c >= REASON_MIN_WEIGHT && c > top[MAX_REASONS - 1].0 {
                top[MAX_REASONS - 1] = (c, i);
                top.sort_by(|a, b| b.0.total_cmp(&a.0));
            }
        }
        ModelScore {
            probability: 1.0 / (1.0 + (-self.model.sigmoid * margin).exp()),
            contributions: top
                .iter()
                .filter(|(_, i)| *i != usize::MAX)
                .map(|&(weight, i)| Contribution {
                    code: FEATURES[i].name,
                    weight,
                    message: FEATURES[i].explain(attrs),
                })
                .collect(),
        }
    }
}

/// Loads a model file into a scorer: reads, detects the format when `Auto`, parses, checks the
/// schema. The version label is the file stem, the format and a hash of the content. This is what a
/// hot reload calls before it swaps the engine.
pub fn load_scorer(path: &Path, format: Format) -> Result<Arc<dyn Scorer>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        })
        .unwrap_or("model");
    Ok(Arc::new(GbdtScorer::from_text(&text, format, name)?))
}

/// The scorer `model` configures: its file, else the embedded default.
pub fn configured_scorer(
    model: &crate::config::ModelConfig,
) -> Result<Arc<dyn Scorer>, ModelError> {
    let scorer = match &model.path {
        Some(path) => load_scorer(path, model.format)?,
        None => default_scorer(),
    };
    Ok(match &model.calibration {
        Some(points) => {
            let calibration = crate::core::calibration::Calibration::new(points)
                .map_err(ModelError::Calibration)?;
            Arc::new(crate::core::calibration::Calibrated::new(
                scorer,
                calibration,
            ))
        }
        None => scorer,
    })
}

/// The default model's file (LightGBM text), rebuilt by `scripts/train`; its held-out metrics are
/// in `models/metrics.json`.
pub const DEFAULT_MODEL: &str = include_str!("../../models/default.txt");

/// The embedded default model.
pub fn default_scorer() -> Arc<dyn Scorer> {
    static DEFAULT: std::sync::OnceLock<Arc<GbdtScorer>> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            Arc::new(
                GbdtScorer::from_text(DEFAULT_MODEL, Format::LightgbmText, "default").expect(
                    "models/default.txt is a valid model for the schema (a test checks it)",
                ),
            )
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::attributes::Attr;

    fn ordinary() -> Attributes<'static> {
        let mut a = Attributes::default();
        a.set_number(Attr::AmountInUsd, Some(60.0));
        a.set_text(Attr::Currency, Some("usd"));
        a.set_flag(Attr::IsOffSession, Some(false));
        a.set_flag(Attr::IsRecurring, Some(false));
        a.set_text(Attr::Customer, Some("cus_123"));
        a.set_text(Attr::CardCountry, Some("US"));
        a.set_text(Attr::CardFunding, Some("credit"));
        a.set_text(Attr::CardBrand, Some("visa"));
        a.set_text(Attr::BillingAddressCountry, Some("US"));
        a.set_text(Attr::Email, Some("jenny.rosen@example.com"));
        a.set_text(Attr::EmailDomain, Some("example.com"));
        a.set_flag(Attr::HasRadarSession, Some(true));
        a.set_text(Attr::IpAddress, Some("203.0.113.7"));
        a.set_text(Attr::UserAgent, Some("Mozilla/5.0"));
        a.set_number(Attr::TimeOnPageMs, Some(60_000.0));
        a.set_flag(Attr::PastedCardNumber, Some(false));
        a.set_number(Attr::PastedFieldsCount, Some(0.0));
        a
    }

    #[test]
    fn the_default_model_loads_and_separates_fraud_from_ordinary_payments() {
        let scorer = default_scorer();
        assert!(
            scorer.version().starts_with("default-lightgbm-"),
            "{}",
            scorer.version()
        );
        let ok = scorer.score(&ordinary());
        assert!(ok.probability < 0.2, "{ok:?}");

        // A stolen card: foreign prepaid card, large amount, guest without email, no Radar
        // Session or user agent, pasted number, seconds on the page.
        let mut bad = Attributes::default();
        for (attr, v) in ordinary().iter() {
            if !matches!(
                attr,
                Attr::Customer | Attr::Email | Attr::EmailDomain | Attr::UserAgent
            ) {
                bad.set(attr, v.clone());
            }
        }
        bad.set_number(Attr::AmountInUsd, Some(2500.0));
        bad.set_text(Attr::CardCountry, Some("NG"));
        bad.set_text(Attr::CardFunding, Some("prepaid"));
        bad.set_number(Attr::TimeOnPageMs, Some(3000.0));
        bad.set_flag(Attr::PastedCardNumber, Some(true));
        bad.set_number(Attr::PastedFieldsCount, Some(1.0));
        bad.set_flag(Attr::HasRadarSession, Some(false));
        let s = scorer.score(&bad);
        assert!(s.probability > 0.65, "{s:?}");
        assert!(!s.contributions.is_empty() && s.contributions.len() <= 3);
        assert!(
            s.contributions
                .windows(2)
                .all(|w| w[0].weight >= w[1].weight)
        );
        assert!(s.contributions.iter().all(|c| c.weight > 0.0));
    }

    #[test]
    fn format_is_detected_and_models_for_other_features_are_refused() {
        assert_eq!(Format::detect("  {\"learner\": {}}"), Format::XgboostJson);
        assert_eq!(Format::detect("tree\nversion=v4"), Format::LightgbmText);
        let wrong =
            DEFAULT_MODEL.replacen("feature_names=amount_in_usd ", "feature_names=amount ", 1);
        let err = GbdtScorer::from_text(&wrong, Format::Auto, "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("feature 0 is `amount` in the model but `amount_in_usd`"),
            "{err}"
        );
        let err = load_scorer(Path::new("/nonexistent/model.json"), Format::Auto)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("cannot read model /nonexistent/model.json"),
            "{err}"
        );
    }
}
