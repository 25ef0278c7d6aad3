//! Who scores a payment: the local model as configured — read from `model.path` (else the embedded
//! default), calibrated when `model.calibration` says so; parsing and serving are the core's
//! ([`riskgate_core::model`]) — or a remote scorer ([`remote`]: Stripe).

pub mod remote;

use std::{path::Path, sync::Arc};

use riskgate_core::model::{
    Format, GbdtScorer, ModelError, Scorer,
    calibration::{Calibrated, Calibration},
    default_scorer,
};

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
            let calibration = Calibration::new(points).map_err(ModelError::Calibration)?;
            Arc::new(Calibrated::new(scorer, calibration))
        }
        None => scorer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named() {
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
