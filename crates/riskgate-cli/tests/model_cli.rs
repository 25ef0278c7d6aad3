//! The model and simulator commands end to end: `simulate` → `model features` → `model predict`,
//! `simulate` → `model evaluate`, and `model schema`.

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
        err.contains("schema riskgate-features-v3 (69 features)"),
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

/// `model evaluate` replays held-out traffic through the whole gateway (embedded model, default
/// rules) and reports per pattern, the model's ROC-AUC and the targets; `--rules` swaps the rules.
#[test]
fn evaluate_reports_decisions_per_pattern_and_the_targets() {
    let dir = std::env::temp_dir().join(format!("riskgate-evaluate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("held_out.ndjson");
    ok(&riskgate(&[
        "simulate",
        "--seed",
        "11",
        "--days",
        "20",
        "--customers",
        "600",
        "--fraud-rate",
        "0.2",
        "--out",
        events.to_str().unwrap(),
    ]));
    let out = ok(&riskgate(&[
        "model",
        "evaluate",
        "--events",
        events.to_str().unwrap(),
        "--json",
    ]));
    let q: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lines = std::fs::read_to_string(&events).unwrap().lines().count() as u64;
    assert_eq!(q["events"].as_u64(), Some(lines));
    assert_eq!(q["rules"], "default");
    assert!(q["model"].as_str().unwrap().starts_with("default-"), "{q}");
    let auc = q["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.8 && auc <= 1.0, "{auc}");
    let group = |name: &str| {
        q["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {q}"))
            .clone()
    };
    let legit = group("legitimate");
    assert!(legit["blocked"].as_f64().unwrap() < 0.01, "{legit}");
    let stolen = group("stolen_card");
    assert!(stolen["blocked"].as_f64().unwrap() > 0.5, "{stolen}");
    let n = |g: &serde_json::Value, k: &str| g[k].as_u64().unwrap();
    assert_eq!(
        n(&stolen, "payments"),
        n(&stolen, "block")
            + n(&stolen, "review")
            + n(&stolen, "request_three_d_secure")
            + n(&stolen, "continue")
    );
    // What was learned reaches the next decision: a card whose fraud was reported before is
    // blocked (the default rule prior_fraud_on_card, or the model).
    let repeat = group("repeat_fraud");
    assert!(n(&repeat, "payments") > 0, "{repeat}");
    assert_eq!(n(&repeat, "block"), n(&repeat, "payments"), "{repeat}");
    assert!(q["merchant_initiated"]["payments"].as_u64().unwrap() > 50);
    let targets: Vec<&str> = q["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(targets.len(), 5, "{targets:?}");
    assert!(targets.contains(&"account takeover caught"));

    // The table names every pattern and the targets.
    let table = ok(&riskgate(&[
        "model",
        "evaluate",
        "--events",
        events.to_str().unwrap(),
    ]));
    for word in ["repeat_fraud", "returning_fraudster", "ROC-AUC", "targets:"] {
        assert!(table.contains(word), "{word}: {table}");
    }

    // Another rules file decides instead of the defaults.
    let rules = dir.join("review_all.txt");
    std::fs::write(&rules, "everything: Review if :amount_in_usd: >= 0\n").unwrap();
    let out = ok(&riskgate(&[
        "model",
        "evaluate",
        "--events",
        events.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--json",
    ]));
    let q: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(q["rules"], rules.to_str().unwrap());
    let all = q["events"].as_u64().unwrap();

    // A warm-up replays the first days without counting them.
    let out = ok(&riskgate(&[
        "model",
        "evaluate",
        "--events",
        events.to_str().unwrap(),
        "--warm-up-days",
        "5",
        "--json",
    ]));
    let warm: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (counted, skipped) = (
        warm["events"].as_u64().unwrap(),
        warm["warm_up_events"].as_u64().unwrap(),
    );
    assert!(skipped > 100 && counted > skipped, "{counted} {skipped}");
    assert_eq!(counted + skipped, all);
    assert!(
        q["decided_by"]["everything"]["legitimate"]
            .as_u64()
            .unwrap()
            > 100
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
