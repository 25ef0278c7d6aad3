//! The rule engine's cost: 20 rules over the full attribute set of `examples/evaluation.json` (none
//! matches, so all 20 are evaluated), a first-rule match, and value-list membership look-ups.
//!
//! `cargo bench -p riskgate-core --bench rules -- --warm-up-time 1 --measurement-time 3`

use std::{hint::black_box, sync::Arc};

mod example;

use criterion::{Criterion, criterion_group, criterion_main};
use riskgate_core::{
    attributes::{Attr, Value},
    decision::{LevelActions, RiskThresholds},
    engine::{Engine, ScoreSource},
    lists::{ItemType, Members, OfflineLists},
    model::LogisticModel,
    reference::FxTable,
    rules::RuleSet,
};

const RULES: &str = include_str!("rules_20.txt");

fn rules(c: &mut Criterion) {
    let metadata = example::metadata();
    let input = example::payment(&metadata);
    let set = RuleSet::compile(RULES, &OfflineLists).expect("bench rules compile");
    assert_eq!(set.len(), 20);
    let engine = Engine::new(
        Arc::new(LogisticModel::default()),
        RiskThresholds::default(),
        LevelActions::default(),
        FxTable::default(),
    );
    let mut attrs = engine.attributes(
        &input,
        &riskgate_core::signals::Signals::EMPTY,
        example::NOW,
    );
    let score = engine.score(&attrs);
    engine.decide(&mut attrs, score, ScoreSource::LocalModel);
    assert!(
        set.evaluate(&attrs).is_none(),
        "no rule may match: all 20 run"
    );

    let mut group = c.benchmark_group("rules");
    group.bench_function("evaluate_20_rules_none_match", |b| {
        b.iter(|| set.evaluate(black_box(&attrs)))
    });
    let mut highest = attrs.clone();
    highest.set(Attr::RiskLevel, Value::Text("highest".into()));
    group.bench_function("evaluate_20_rules_block_highest", |b| {
        b.iter(|| set.evaluate(black_box(&highest)))
    });
    let mut row = Vec::new();
    group.bench_function("match_all_20_rules", |b| {
        b.iter(|| set.match_all(black_box(&attrs), &mut row))
    });
    group.bench_function("compile_20_rules", |b| {
        b.iter(|| RuleSet::compile(black_box(RULES), &OfflineLists))
    });
    group.finish();

    let mut emails = Members::new(ItemType::Email);
    for i in 0..10_000 {
        emails.insert(&format!("user{i}@example.com"));
    }
    let mut ips = Members::new(ItemType::IpAddress);
    for i in 0..1_000u32 {
        let prefix = [8u8, 16, 20, 24, 28, 32][i as usize % 6];
        let canonical = ItemType::IpAddress
            .normalize(&format!(
                "{}.{}.{}.{}/{prefix}",
                10 + i % 200,
                i % 251,
                i % 7,
                i % 13
            ))
            .expect("valid");
        ips.insert(&canonical);
    }
    let mut group = c.benchmark_group("lists");
    group.bench_function("email_10k_hit", |b| {
        b.iter(|| emails.contains(black_box("user7777@example.com")))
    });
    group.bench_function("email_10k_miss_mixed_case", |b| {
        b.iter(|| emails.contains(black_box("Someone.Else@Example.com")))
    });
    group.bench_function("ip_1k_cidrs_6_prefix_lengths_miss", |b| {
        b.iter(|| ips.contains(black_box("203.0.113.7")))
    });
    group.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
