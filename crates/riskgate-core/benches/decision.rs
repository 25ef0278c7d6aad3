//! The pure decision core's cost on the payment of `examples/evaluation.json`, stage by stage, with
//! the served default model (the embedded GBDT and the default rules) and with the hand-set logistic
//! baseline (the stages' cost without tree inference):
//!
//! - `attributes`: payment → attribute set;
//! - `score`: the model, reasons included;
//! - `decide`: risk level, rules, action;
//! - `evaluate`: the three together (`Engine::evaluate`, which returns the attribute set);
//! - `evaluate_in_place`: the same into an attribute set the caller keeps
//!   (`Engine::evaluate_into`, as the gateway's pipeline builds it).
//!
//! The edge's part (validation, the service call) is the gateway's `decision` bench.
//! `cargo bench -p riskgate-core --bench decision -- --warm-up-time 1 --measurement-time 3`

mod example;

use std::{hint::black_box, sync::Arc};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use riskgate_core::{
    attributes::Attributes,
    decision::{LevelActions, RiskThresholds},
    engine::{Engine, ScoreSource},
    model::{LogisticModel, Scorer, default_scorer},
    reference::FxTable,
    rules::default_rules,
    signals::Signals,
};

fn engine(scorer: Arc<dyn Scorer>) -> Engine {
    let actions = LevelActions::default();
    Engine::new(
        scorer,
        RiskThresholds::default(),
        actions,
        FxTable::default(),
    )
    .with_rules(Arc::new(default_rules(&actions)))
}

fn decision(c: &mut Criterion) {
    bench_engine(c, "core_decision", &engine(default_scorer()));
    bench_engine(
        c,
        "core_decision_logistic",
        &engine(Arc::new(LogisticModel::default())),
    );
}

fn bench_engine(c: &mut Criterion, group: &str, engine: &Engine) {
    let metadata = example::metadata();
    let input = example::payment(&metadata);
    let now = example::NOW;
    let attrs = engine.attributes(&input, &Signals::EMPTY, now);
    let score = engine.score(&attrs);

    let mut group = c.benchmark_group(group);
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
    group.bench_function("evaluate", |b| {
        b.iter(|| engine.evaluate(black_box(&input), black_box(now)))
    });
    group.bench_function("evaluate_in_place", |b| {
        b.iter(|| {
            let mut scratch = [0u8; riskgate_core::attributes::SCRATCH_BYTES];
            let mut attrs = Attributes::with_scratch(&mut scratch);
            let verdict = engine.evaluate_into(&mut attrs, black_box(&input), black_box(now));
            black_box(&attrs);
            verdict
        })
    });
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
