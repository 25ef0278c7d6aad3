//! Single-row GBDT inference, the way the request path calls it.
//!
//! - `gbdt/random-depth6-{100,500}`: forests of full depth-6 trees (63 splits, 64 leaves each) over
//!   the schema's features, generated in Rust (always available); rows with 15 % missing values.
//! - `gbdt/{xgboost,lightgbm}-{100,500}`: the depth-6 models that `scripts/parity.py bench` trains
//!   with the real libraries and writes to `target/model-bench/` (or `$RISKGATE_BENCH_MODELS`),
//!   scored on its `rows.csv`; the same script times the libraries' own per-row predict, for the
//!   ratio. Skipped with a note when the directory is missing.
//! - `gbdt/default_model_score`: the embedded default model through `Scorer::score` — features from
//!   attributes, margin, per-feature attributions and the three reasons.
//!
//! `python3 scripts/parity.py bench --riskgate target/release/riskgate --dir target/model-bench`
//! `cargo bench -p riskgate-core --bench model`

use std::{hint::black_box, path::PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use riskgate_core::{
    attributes::{Attr, Attributes},
    model::{
        Format, GbdtModel, default_scorer, features,
        gbdt::{Child, Comparison, Forest, Missing, Split, Tree},
    },
};

fn random_forest(trees: usize, comparison: Comparison, rng: &mut fastrand::Rng) -> Forest {
    const DEPTH: u32 = 6;
    let splits = (1usize << DEPTH) - 1;
    let tree = |rng: &mut fastrand::Rng| Tree {
        splits: (0..splits)
            .map(|i| {
                let child = |c: usize| {
                    if c < splits {
                        Child::Split(c as u32)
                    } else {
                        Child::Leaf((c - splits) as u32)
                    }
                };
                Split {
                    feature: rng.u32(..features::COUNT as u32),
                    threshold: rng.f64() * 100.0,
                    default_left: rng.bool(),
                    missing: Missing::Nan,
                    left: child(2 * i + 1),
                    right: child(2 * i + 2),
                    value: 0.0,
                }
            })
            .collect(),
        leaves: (0..=splits).map(|_| rng.f64() - 0.5).collect(),
        root: Child::Split(0),
    };
    let trees = (0..trees).map(|_| tree(rng)).collect();
    Forest::new(trees, 0.0, comparison, features::COUNT).expect("valid forest")
}

fn random_rows(rng: &mut fastrand::Rng) -> Vec<Vec<f64>> {
    (0..1024)
        .map(|_| {
            (0..features::COUNT)
                .map(|_| {
                    if rng.f64() < 0.15 {
                        f64::NAN
                    } else {
                        rng.f64() * 100.0
                    }
                })
                .collect()
        })
        .collect()
}

fn bench_rows(c: &mut Criterion, name: &str, forest: &Forest, rows: &[Vec<f64>]) {
    let mut i = 0;
    c.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            forest.predict(black_box(&rows[i]))
        })
    });
}

fn library_models() -> Option<PathBuf> {
    let dir = std::env::var_os("RISKGATE_BENCH_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/model-bench"
            ))
        });
    dir.join("rows.csv").exists().then_some(dir)
}

fn read_rows(path: &std::path::Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).expect("rows.csv");
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|c| {
                    if c.is_empty() {
                        f64::NAN
                    } else {
                        c.parse().expect("number")
                    }
                })
                .collect()
        })
        .collect()
}

fn gbdt(c: &mut Criterion) {
    let mut rng = fastrand::Rng::with_seed(7);
    let rows = random_rows(&mut rng);
    for trees in [100, 500] {
        let f = random_forest(trees, Comparison::LessEqualF64, &mut rng);
        bench_rows(c, &format!("gbdt/random-depth6-{trees}"), &f, &rows);
    }

    match library_models() {
        Some(dir) => {
            let rows = read_rows(&dir.join("rows.csv"));
            for trees in [100, 500] {
                for (lib, ext) in [("xgboost", "json"), ("lightgbm", "txt")] {
                    let path = dir.join(format!("{lib}-{trees}.{ext}"));
                    let text = std::fs::read_to_string(&path).expect("bench model");
                    let model = GbdtModel::parse(&text, Format::Auto).expect("bench model parses");
                    bench_rows(c, &format!("gbdt/{lib}-{trees}"), &model.forest, &rows);
                }
            }
        }
        None => eprintln!(
            "note: no library-trained bench models in target/model-bench; run \
             `python3 scripts/parity.py bench --riskgate target/release/riskgate --dir target/model-bench`"
        ),
    }

    let scorer = default_scorer();
    let mut a = Attributes::default();
    a.set_number(Attr::AmountInUsd, Some(129.0));
    a.set_text(Attr::Currency, Some("usd"));
    a.set_text(Attr::CardCountry, Some("US"));
    a.set_text(Attr::BillingAddressCountry, Some("FR"));
    a.set_text(Attr::CardFunding, Some("credit"));
    a.set_text(Attr::Email, Some("jenny.rosen@example.com"));
    a.set_text(Attr::EmailDomain, Some("example.com"));
    a.set_number(Attr::TimeOnPageMs, Some(48_000.0));
    a.set_flag(Attr::HasRadarSession, Some(true));
    c.bench_function("gbdt/default_model_score", |b| {
        b.iter(|| scorer.score(black_box(&a)))
    });

    // The default forest alone on the same row: the margin, and the margin with attributions.
    let model = GbdtModel::parse(riskgate_core::model::DEFAULT_MODEL, Format::LightgbmText)
        .expect("the default model parses");
    let x = features::compute(&a);
    c.bench_function("gbdt/default_forest_predict", |b| {
        b.iter(|| model.forest.predict(black_box(&x)))
    });
    c.bench_function("gbdt/default_forest_contributions", |b| {
        b.iter(|| {
            let mut contributions = [0.0; features::COUNT];
            let margin = model
                .forest
                .predict_with_contributions(black_box(&x), &mut contributions);
            (margin, contributions)
        })
    });
}

criterion_group!(benches, gbdt);
criterion_main!(benches);
