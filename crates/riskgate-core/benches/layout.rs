//! The default model's forest, attributions included, on the compact layout against the exact
//! one, in one process: rounds alternate between the two, and each layout's best round counts
//! (the least disturbed by a busy machine). Prints ns per row and the ratio.
//!
//! `cargo bench -p riskgate-core --bench layout`

use std::{hint::black_box, time::Instant};

use riskgate_core::{
    attributes::{Attr, Attributes},
    model::{Format, GbdtModel, features},
};

fn main() {
    let model = GbdtModel::parse(riskgate_core::model::DEFAULT_MODEL, Format::LightgbmText)
        .expect("the default model parses");
    let compact = &model.forest;
    let exact = model.forest.exact_layout();
    let mut a = Attributes::default();
    a.set_number(Attr::AmountInUsd, Some(129.0));
    a.set_text(Attr::Currency, Some("usd"));
    a.set_text(Attr::CardCountry, Some("US"));
    a.set_text(Attr::CardFunding, Some("credit"));
    a.set_text(Attr::CardBrand, Some("visa"));
    a.set_text(Attr::BillingAddressCountry, Some("US"));
    a.set_text(Attr::Email, Some("jenny.rosen@example.com"));
    a.set_flag(Attr::HasRadarSession, Some(true));
    a.set_number(Attr::TimeOnPageMs, Some(48_000.0));
    let x = features::compute(&a);
    let run = |forest: &riskgate_core::model::gbdt::Forest, n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            let mut c = [0.0; features::COUNT];
            black_box(forest.predict_with_contributions(black_box(&x), &mut c));
            black_box(&c);
        }
        t.elapsed().as_nanos() as f64 / f64::from(n)
    };
    let (mut best_c, mut best_e) = (f64::MAX, f64::MAX);
    for _ in 0..300 {
        best_c = best_c.min(run(compact, 300));
        best_e = best_e.min(run(&exact, 300));
    }
    let (mut best_cm, mut best_em) = (f64::MAX, f64::MAX);
    let margin = |forest: &riskgate_core::model::gbdt::Forest, n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            black_box(forest.predict(black_box(&x)));
        }
        t.elapsed().as_nanos() as f64 / f64::from(n)
    };
    for _ in 0..300 {
        best_cm = best_cm.min(margin(compact, 300));
        best_em = best_em.min(margin(&exact, 300));
    }
    println!(
        "with attributions: compact {best_c:.0} ns, exact {best_e:.0} ns, compact ÷ exact {:.2}",
        best_c / best_e
    );
    println!(
        "margin only:       compact {best_cm:.0} ns, exact {best_em:.0} ns, compact ÷ exact {:.2}",
        best_cm / best_em
    );
}
