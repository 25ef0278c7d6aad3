//! Scoring with a local model: the [`Scorer`] trait, the feature schema ([`features`]), the tree
//! ensembles ([`gbdt`], loaded from XGBoost or LightGBM files by [`format`]) served by
//! [`GbdtScorer`] (the embedded default is one), calibration, and the hand-written logistic
//! baseline ([`logistic`]).

pub mod calibration;
pub mod features;
pub mod format;
pub mod gbdt;
pub mod lightgbm;
pub mod logistic;
pub mod scorer;
pub mod xgboost;

pub use format::{Format, GbdtModel, ModelError};
pub use logistic::LogisticModel;
pub use scorer::{DEFAULT_MODEL, GbdtScorer, default_scorer};

use smallvec::SmallVec;

use crate::{attributes::Attributes, small_text::SmallText};

/// Why a score is what it is: one feature's push on the log-odds.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// Stable machine code, e.g. `billing_card_country_mismatch`.
    pub code: &'static str,
    /// The feature's effect on the log-odds (positive = riskier).
    pub weight: f64,
    /// What an analyst reads.
    pub message: SmallText,
}

/// A model's reasons, kept inline (models give at most three).
pub type Contributions = SmallVec<[Contribution; 3]>;

/// A model's verdict on one payment.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    /// Probability that the payment is fraudulent, 0–1.
    pub probability: f64,
    /// The largest risk-raising contributions, strongest first.
    pub contributions: Contributions,
}

/// A fraud model. Implementations are pure and fast: they run on the request path.
pub trait Scorer: Send + Sync + 'static {
    /// Identifies the model in metrics and logs (bounded, e.g. `logistic-v1`).
    fn version(&self) -> &str;
    /// Scores one payment.
    fn score(&self, attrs: &Attributes<'_>) -> ModelScore;
}
