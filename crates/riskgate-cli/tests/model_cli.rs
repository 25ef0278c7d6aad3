//! The model and simulator commands end to end: `simulate` → `model features` → `model predict`,
//! and `model schema`.

use std::process::{Command, Output};

fn riskgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn schema_prints_the_feature_names_in_order() {
    let text = ok(&riskgate(&["model", "schema"]));
    let names: Vec<&str> = text.lines().collect();
    assert_eq!(names, riskgate_core::model::features::NAMES);
    assert_eq!(names[0], "amount_in_usd");
    let out = riskgate(&["model", "schema"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schema riskgate-features-v2 (51 features)"),
        "{err}"
    );
}

#[test]
fn simulate_then_features_then_predict() {
    let dir = std::env::temp_dir().join(format!("riskgate-model-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.ndjson");
    let table = dir.join("table.csv");
    let model = dir.join("default.txt");
    std::fs::write(&model, riskgate_core::model::DEFAULT_MODEL).unwrap();

    let out = riskgate(&[
        "simulate",
        "--seed",
        "3",
        "--days",
        "2",
        "--customers",
        "300",
        "--out",
        events.to_str().unwrap(),
    ]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("events/s"));
    let lines = std::fs::read_to_string(&events).unwrap().lines().count();
    assert!(lines > 20, "{lines}");
    // Reproducible: the same seed writes the same file.
    let again = riskgate(&[
        "simulate",
        "--seed",
        "3",
        "--days",
        "2",
        "--customers",
        "300",
        "--out",
        "-",
    ]);
    assert_eq!(ok(&again), std::fs::read_to_string(&events).unwrap());

    ok(&riskgate(&[
        "model",
        "features",
        "--events",
        events.to_str().unwrap(),
        "--out",
        table.to_str().unwrap(),
    ]));
    let csv = std::fs::read_to_string(&table).unwrap();
    assert_eq!(csv.lines().count(), lines + 1);
    assert!(csv.starts_with("amount_in_usd,log_amount_in_usd,"));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",occurred_at,label,pattern")
    );

    let margins = ok(&riskgate(&[
        "model",
        "predict",
        "--model",
        model.to_str().unwrap(),
        table.to_str().unwrap(),
    ]));
    let margins: Vec<f64> = margins.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(margins.len(), lines);
    assert!(margins.iter().all(|m| m.is_finite()));

    std::fs::write(dir.join("bad.csv"), "amount_in_usd\n1\n").unwrap();
    let out = riskgate(&[
        "model",
        "predict",
        "--model",
        model.to_str().unwrap(),
        dir.join("bad.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no column `log_amount_in_usd`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
