//! What the in-process path allocates per evaluation: a counting allocator watches this thread
//! while requests are validated and evaluated by the engine `riskgate serve` builds from its
//! defaults (the embedded GBDT model, attributions and reasons included, and the default rules),
//! with the attribute set built in place (`Engine::evaluate_into`).
//!
//! Validation, the model, its reasons, the rules and the verdict allocate nothing, and neither do
//! the attribute texts built from parts — `browser` and `operating_system` (from the user agent),
//! `billing_address` and `shipping_address` (the address in one line) —: they are cut from a
//! scratch buffer the caller lends the attribute set (`Attributes::with_scratch`), as the
//! gateway's pipeline does.

use std::sync::Arc;

use riskgate::{api::validate, config::Config, proto::v1::CreatePaymentEvaluationRequest};
use riskgate_core::{
    attributes::{Attr, Attributes},
    engine::Engine,
};

use riskgate_testkit::alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The engine `riskgate serve` builds from the built-in defaults.
fn served_engine() -> Engine {
    let config = Config::default();
    riskgate_tools::rules::engine(
        &config,
        Arc::new(riskgate_core::rules::default_rules(&config.actions)),
    )
    .expect("the default configuration builds an engine")
}

/// Validates and evaluates `req` `rounds` times; returns the allocations counted and the last
/// answer's action and reason codes.
fn evaluate(
    engine: &Engine,
    req: &CreatePaymentEvaluationRequest,
    rounds: u64,
) -> (u64, String, Vec<String>) {
    const NOW: i64 = 1_795_219_200;
    let mut last = None;
    let before = allocations();
    for _ in 0..rounds {
        let input = validate::payment_evaluation(req).expect("valid");
        let mut scratch = [0u8; riskgate_core::attributes::SCRATCH_BYTES];
        let mut attrs = Attributes::with_scratch(&mut scratch);
        let verdict = engine.evaluate_into(&mut attrs, &input, NOW);
        last = Some(std::hint::black_box(verdict));
    }
    let counted = allocations() - before;
    let verdict = last.expect("evaluated");
    let codes = verdict.reasons.iter().map(|r| r.code.to_string()).collect();
    (counted, verdict.action.as_str().to_owned(), codes)
}

#[test]
fn an_evaluation_allocates_nothing() {
    let engine = served_engine();
    let ordinary: CreatePaymentEvaluationRequest =
        serde_json::from_str(include_str!("../examples/evaluation.json")).unwrap();
    // A risky one: a foreign prepaid card, a large amount, a pasted card number, seconds on the
    // page — the model names its reasons, with countries in their messages.
    let mut risky = ordinary.clone();
    let details = risky.payment_details.as_mut().unwrap();
    details.amount = 250_000;
    let card = details
        .payment_method_details
        .as_mut()
        .and_then(|m| m.card.as_mut())
        .unwrap();
    card.country = "NG".into();
    card.funding = "prepaid".into();
    let device = risky.client_device_metadata_details.as_mut().unwrap();
    device.time_on_page_ms = Some(2_000);
    device.pasted_fields = vec!["card_number".into()];

    // Warm-up: the embedded model and lazily built tables are made once per process.
    evaluate(&engine, &ordinary, 1);
    evaluate(&engine, &risky, 1);

    let (counted, action, reasons) = evaluate(&engine, &ordinary, 100);
    assert_eq!(action, "continue");
    assert_eq!(
        reasons.first().map(String::as_str),
        Some("risk_level_normal")
    );
    assert_eq!(counted, 0, "allocations in 100 ordinary evaluations");

    let (counted, action, reasons) = evaluate(&engine, &risky, 100);
    assert_ne!(action, "continue", "{reasons:?}");
    assert!(reasons.len() >= 2, "the model names reasons: {reasons:?}");
    assert_eq!(counted, 0, "allocations in 100 risky evaluations");

    // The texts cut from the scratch are the ones an allocating set builds, and they are there.
    let input = validate::payment_evaluation(&ordinary).unwrap();
    let mut scratch = [0u8; riskgate_core::attributes::SCRATCH_BYTES];
    let mut lent = Attributes::with_scratch(&mut scratch);
    engine.evaluate_into(&mut lent, &input, 1_795_219_200);
    let (owned, _) = engine.evaluate(&input, 1_795_219_200);
    for attr in [
        Attr::Browser,
        Attr::OperatingSystem,
        Attr::BillingAddress,
        Attr::ShippingAddress,
    ] {
        assert!(lent.text(attr).is_some(), "{}", attr.name());
        assert_eq!(lent.text(attr), owned.text(attr), "{}", attr.name());
    }
}

/// Every call's future is moved into its box by the generated service (and grows each poll's
/// working set), so its size is a per-call cost: the pipeline's and the idempotency store's
/// futures are boxed on their own paths and the call's stays small (it was 12 KB).
#[test]
fn a_calls_future_is_small() {
    use riskgate::{api::evaluations::EvaluationService, stores::idempotency::IdempotencyStore};
    let service = EvaluationService::in_process(
        Arc::new(served_engine()),
        IdempotencyStore::new(std::time::Duration::from_secs(60), 1 << 20),
        false,
        std::time::Duration::ZERO,
    );
    let req = CreatePaymentEvaluationRequest::default();
    let call = service.create(&req, None);
    let size = std::mem::size_of_val(&call);
    eprintln!("EvaluationService::create future: {size} bytes");
    assert!(size <= 2048, "the call's future is {size} bytes");
}
