//! The [`Scorer`] that serves a gradient-boosted model whose features match the schema, with
//! reasons from each feature's contribution; and the embedded default model.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{
    Contribution, ModelScore, Scorer,
    features::{self, FEATURES},
    format::{Format, GbdtModel, ModelError},
};
use crate::attributes::Attributes;

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
    /// Checks the model's features against the schema — the names, and that the forest reads
    /// exactly that many features (a forest built for more would read past the row). `name`
    /// starts the version label.
    pub fn new(model: GbdtModel, name: &str, source: &str) -> Result<Self, ModelError> {
        features::check(&model.feature_names).map_err(ModelError::Schema)?;
        if model.forest.n_features() != model.feature_names.len() {
            return Err(ModelError::Schema(format!(
                "the forest reads {} features but the model names {}",
                model.forest.n_features(),
                model.feature_names.len()
            )));
        }
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

/// The default model's file (LightGBM text), rebuilt by `scripts/train`; its held-out metrics are
/// in `models/metrics.json`.
pub const DEFAULT_MODEL: &str = include_str!("../../../../models/default.txt");

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
    use crate::attributes::Attr;

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
    fn the_default_model_lets_sparse_guests_and_merchant_initiated_charges_through() {
        let scorer = default_scorer();
        // A guest through a thin integration: the amount and the card's facts, nothing else.
        let mut sparse = Attributes::default();
        sparse.set_number(Attr::AmountInUsd, Some(45.0));
        sparse.set_text(Attr::Currency, Some("usd"));
        sparse.set_text(Attr::CardCountry, Some("US"));
        sparse.set_text(Attr::CardFunding, Some("debit"));
        sparse.set_text(Attr::CardBrand, Some("visa"));
        sparse.set_number(Attr::TotalChargesPerCardNumberDaily, Some(0.0));
        sparse.set_number(Attr::TotalChargesPerCardNumberHourly, Some(0.0));
        let s = scorer.score(&sparse);
        assert!(s.probability < 0.2, "{s:?}");

        // A subscription charge: off session, no device data at all, a card with history and no
        // fraud on it.
        let mut mit = Attributes::default();
        for (attr, v) in ordinary().iter() {
            if !matches!(
                attr,
                Attr::HasRadarSession
                    | Attr::IpAddress
                    | Attr::UserAgent
                    | Attr::TimeOnPageMs
                    | Attr::PastedCardNumber
                    | Attr::PastedFieldsCount
            ) {
                mit.set(attr, v.clone());
            }
        }
        mit.set_flag(Attr::IsOffSession, Some(true));
        mit.set_flag(Attr::IsRecurring, Some(true));
        mit.set_number(Attr::AmountInUsd, Some(9.99));
        mit.set_number(Attr::HoursSinceCardFirstSeen, Some(24.0 * 60.0));
        mit.set_number(Attr::TotalChargesPerCustomerAllTime, Some(4.0));
        mit.set_number(Attr::FraudOutcomeCountOnCardAllTime, Some(0.0));
        mit.set_number(Attr::FraudOutcomeCountOnCustomerAllTime, Some(0.0));
        let s = scorer.score(&mit);
        assert!(s.probability < 0.2, "{s:?}");
    }

    #[test]
    fn a_forest_wider_than_its_feature_names_is_refused() {
        use crate::model::gbdt::{Child, Comparison, Forest, Tree};
        let names: Vec<String> = features::FEATURES
            .iter()
            .map(|f| f.name.to_owned())
            .collect();
        let leaf = || Tree {
            splits: vec![],
            leaves: vec![0.5],
            root: Child::Leaf(0),
        };
        let model = |n: usize| GbdtModel {
            forest: Forest::new(vec![leaf()], 0.0, Comparison::LessEqualF64, n).unwrap(),
            feature_names: names.clone(),
            sigmoid: 1.0,
            format: Format::LightgbmText,
        };
        let e = GbdtScorer::new(model(names.len() + 5), "x", "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("reads"), "{e}");
        let ok = GbdtScorer::new(model(names.len()), "x", "").unwrap();
        assert!(ok.score(&Attributes::default()).probability > 0.5);
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
    }
}
