//! Fuzzes the model loaders: any text is parsed as XGBoost JSON and as LightGBM text, and a model
//! that loads is checked against the schema and scores a row. Nothing may panic; every refusal is a
//! `ModelError`. A forest that loads also walks rows made from the input's bytes (NaN, infinities,
//! small integers and halves), and its compact layout must give the exact layout's margin, bit for
//! bit, with and without attributions (which the compact layout sums in f32, so they are not
//! compared: an arbitrary model's leaf values need not fit one).
//!
//! `cargo +nightly fuzz run model_load` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate_core::{
    attributes::Attributes,
    model::{Format, GbdtModel, GbdtScorer, Scorer},
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::XgboostJson, Format::LightgbmText, Format::Auto] {
        if let Ok(scorer) = GbdtScorer::from_text(text, format, "fuzz") {
            let _ = scorer.score(&Attributes::default());
        }
        if let Ok(model) = GbdtModel::parse(text, format) {
            layouts_agree(&model, data);
        }
    }
});

/// The compact and exact layouts on rows built from `data`: each feature's value is read from
/// the bytes (NaN, infinities, zero, halves from -4 to 27.5), cycling through them.
fn layouts_agree(model: &GbdtModel, data: &[u8]) {
    let forest = &model.forest;
    let exact = forest.exact_layout();
    let n = forest.n_features();
    for shift in 0..3 {
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let b = data.get((i * 3 + shift) % data.len().max(1)).copied().unwrap_or(0);
                match b % 8 {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => f64::NEG_INFINITY,
                    3 => 0.0,
                    _ => f64::from(b / 8) * 0.5 - 4.0,
                }
            })
            .collect();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        // `forest` is served by its compact layout when it fits one; `exact` never is.
        let (ma, ba) = forest.predict_with_contributions(&x, &mut a);
        let (mb, bb) = exact.predict_with_contributions(&x, &mut b);
        assert_eq!(ma.to_bits(), mb.to_bits(), "margins differ on {x:?}");
        assert_eq!(ba.to_bits(), bb.to_bits());
        assert_eq!(forest.predict(&x).to_bits(), ma.to_bits());
    }
}
