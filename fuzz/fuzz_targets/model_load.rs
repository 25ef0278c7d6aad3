//! Fuzzes the model loaders: any text is parsed as XGBoost JSON and as LightGBM text, and a model
//! that loads is checked against the schema and scores a row. Nothing may panic; every refusal is a
//! `ModelError`.
//!
//! `cargo +nightly fuzz run model_load` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate_core::{attributes::Attributes, model::{Format, GbdtScorer, Scorer}};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::XgboostJson, Format::LightgbmText, Format::Auto] {
        if let Ok(scorer) = GbdtScorer::from_text(text, format, "fuzz") {
            let _ = scorer.score(&Attributes::default());
        }
    }
});
