//! The in-process cost of one evaluation, stage by stage, on the request of `examples/evaluation.json`,
//! in two configurations:
//!
//! - `decision/…`: the default served configuration, as `riskgate serve` builds it from the built-in
//!   defaults — the embedded GBDT model (`models/default.txt`) and the default rules;
//! - `decision_logistic/…`: the same with the hand-set logistic baseline model instead, for
//!   comparison (the pipeline's cost without tree inference).
//!
//! Each group has:
//!
//! - `validate_and_map`: request → `PaymentInput` (validation and mapping);
//! - `attributes`, `score`, `decide`: the three pipeline stages;
//! - `in_process_decision`: validate + `Engine::evaluate_into` (attributes built in place), the
//!   whole pure pipeline;
//! - `service_create`: `EvaluationService::create` without an idempotency key — the pipeline plus
//!   id generation, answer building and metrics recording (into the Prometheus recorder the server
//!   installs), without the transport.
//!
//! `cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3`

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use riskgate::{
    api::{evaluations::EvaluationService, validate},
    config::Config,
    proto::v1::CreatePaymentEvaluationRequest,
    stores::idempotency::IdempotencyStore,
    telemetry,
};
use riskgate_core::{
    attributes::Attributes,
    decision::{LevelActions, RiskThresholds},
    engine::{Engine, ScoreSource},
    model::LogisticModel,
    reference::FxTable,
    signals::Signals,
};

const REQUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/evaluation.json");

fn load_request() -> CreatePaymentEvaluationRequest {
    let text =
        std::fs::read_to_string(REQUEST).unwrap_or_else(|e| panic!("cannot read {REQUEST}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{REQUEST}: {e}"))
}

/// The engine `riskgate serve` builds from the built-in defaults: the configured (default GBDT)
/// model, risk thresholds, level actions (hence the default rules) and FX table.
fn served_engine() -> Engine {
    let config = Config::default();
    riskgate_tools::rules::engine(
        &config,
        Arc::new(riskgate_core::rules::default_rules(&config.actions)),
    )
    .expect("the default configuration builds an engine")
}

fn logistic_engine() -> Engine {
    Engine::new(
        Arc::new(LogisticModel::default()),
        RiskThresholds::default(),
        LevelActions::default(),
        FxTable::default(),
    )
}

fn decision(c: &mut Criterion) {
    // Metrics go where the server sends them: the Prometheus recorder, compacted periodically as
    // `telemetry::run_upkeep` does (otherwise histogram samples pile up for the whole run).
    let metrics = telemetry::metrics_handle();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            metrics.run_upkeep();
        }
    });

    let req = load_request();
    bench_engine(c, "decision", &served_engine(), &req);
    bench_engine(c, "decision_logistic", &logistic_engine(), &req);
}

fn bench_engine(
    c: &mut Criterion,
    group: &str,
    engine: &Engine,
    req: &CreatePaymentEvaluationRequest,
) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let input = validate::payment_evaluation(req).expect("examples/evaluation.json is valid");
    let attrs = engine.attributes(&input, &Signals::EMPTY, now);
    let score = engine.score(&attrs);

    let mut group = c.benchmark_group(group);

    group.bench_function("validate_and_map", |b| {
        b.iter(|| validate::payment_evaluation(black_box(req)))
    });

    group.bench_function("attributes", |b| {
        b.iter(|| engine.attributes(black_box(&input), &Signals::EMPTY, black_box(now)))
    });

    group.bench_function("score", |b| b.iter(|| engine.score(black_box(&attrs))));

    group.bench_function("decide", |b| {
        b.iter_batched(
            || (attrs.clone(), score.clone()),
            |(mut attrs, score)| {
                let verdict = engine.decide(
                    black_box(&mut attrs),
                    black_box(score),
                    ScoreSource::LocalModel,
                );
                (attrs, verdict)
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("in_process_decision", |b| {
        b.iter(|| {
            let input = validate::payment_evaluation(black_box(req)).expect("valid");
            let mut scratch = [0u8; riskgate_core::attributes::SCRATCH_BYTES];
            let mut attrs = Attributes::with_scratch(&mut scratch);
            let verdict = engine.evaluate_into(&mut attrs, &input, black_box(now));
            black_box(&attrs);
            verdict
        })
    });

    let mut keyless = req.clone();
    keyless.idempotency_key.clear();
    let service = EvaluationService::in_process(
        Arc::new(engine.clone()),
        IdempotencyStore::new(Duration::from_secs(3600), 1 << 20),
        false,
        Duration::ZERO,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    group.bench_function("service_create", |b| {
        b.iter(|| {
            rt.block_on(service.create(black_box(&keyless), None))
                .expect("evaluates")
        })
    });

    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
