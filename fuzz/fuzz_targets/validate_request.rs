//! Fuzzes the gRPC edge: any bytes are decoded as a `CreatePaymentEvaluationRequest` (as tonic
//! would), validated, and, when valid, evaluated by the whole pure pipeline. Nothing may panic, and a
//! refused request must name at least one field.
//!
//! `cargo +nightly fuzz run validate_request` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use riskgate_core::{decision::{LevelActions, RiskThresholds}, engine::Engine, reference::FxTable, signals::Signals};
use riskgate::{api::validate::payment_evaluation, proto::v1::CreatePaymentEvaluationRequest};

/// The served pipeline: the embedded default model and Radar's default rules, built once.
fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(
            riskgate_core::model::default_scorer(),
            RiskThresholds::default(),
            LevelActions::default(),
            FxTable::default(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = CreatePaymentEvaluationRequest::decode(data) else {
        return;
    };
    match payment_evaluation(&request) {
        Ok(input) => {
            let engine = engine();
            let mut attrs = engine.attributes(&input, &Signals::EMPTY, 1_795_219_200);
            let score = engine.score(&attrs);
            let _ = engine.decide(
                &mut attrs,
                score,
                riskgate_core::engine::ScoreSource::LocalModel,
            );
        }
        Err(violations) => {
            assert!(!violations.is_empty() && violations.iter().all(|v| !v.field.is_empty()))
        }
    }
});
