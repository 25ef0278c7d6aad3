//! `riskgate backtest` on a generated labelled file: per-rule counts, precision and recall match
//! what the generator knows about the events.

use std::{path::PathBuf, process::Command};

use serde_json::{Value, json};

/// What the generator knows.
#[derive(Default)]
struct Truth {
    events: u64,
    fraud: u64,
    prepaid: u64,
    prepaid_fraud: u64,
    disposable: u64,
    disposable_fraud: u64,
    vip: u64,
    vip_prepaid: u64,
    vip_prepaid_fraud: u64,
    vip_overridden: u64,
    vip_overridden_fraud: u64,
    disposable_decided: u64,
}

/// Writes `n` labelled events (docs/events.md) in shuffled time order, plus two bad lines.
fn generate(path: &PathBuf, n: usize) -> Truth {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut t = Truth::default();
    let mut lines = Vec::new();
    for i in 0..n {
        let fraud = rng.f64() < 0.2;
        let prepaid = if fraud {
            rng.f64() < 0.8
        } else {
            rng.f64() < 0.05
        };
        let disposable = if fraud {
            rng.f64() < 0.5
        } else {
            rng.f64() < 0.02
        };
        let vip = rng.f64() < 0.05;
        t.events += 1;
        t.fraud += u64::from(fraud);
        t.prepaid += u64::from(prepaid);
        t.prepaid_fraud += u64::from(prepaid && fraud);
        t.disposable += u64::from(disposable);
        t.disposable_fraud += u64::from(disposable && fraud);
        t.vip += u64::from(vip);
        t.vip_prepaid += u64::from(vip && prepaid);
        t.vip_prepaid_fraud += u64::from(vip && prepaid && fraud);
        t.disposable_decided += u64::from(disposable && !prepaid && !vip);
        t.vip_overridden += u64::from(vip && (prepaid || disposable));
        t.vip_overridden_fraud += u64::from(vip && (prepaid || disposable) && fraud);
        let email = if disposable {
            format!("user{i}@mailinator.com")
        } else {
            format!("user{i}@example.com")
        };
        let customer = if vip {
            "cus_vip".to_owned()
        } else {
            format!("cus_{i}")
        };
        let event = json!({
            "occurred_at": 1_795_219_200 + rng.i64(0..86_400),
            "request": {
                "customer_details": {"customer": customer, "email": email},
                "payment_details": {
                    "amount": if fraud { rng.i64(20_000..90_000) } else { rng.i64(500..9_000) },
                    "currency": "usd",
                    "payment_method_details": {
                        "payment_method": format!("pm_{i}"),
                        "card": {"bin": "424242", "last4": "4242", "country": "US",
                                 "funding": if prepaid { "prepaid" } else { "credit" }}
                    }
                },
                "client_device_metadata_details": {"ip": "198.51.100.4"}
            },
            "label": {"fraud": fraud, "pattern": if fraud { "stolen_card" } else { "legitimate" }},
            "outcome": {"kind": "authorized", "occurred_at": 1_795_219_300}
        });
        lines.push(event.to_string());
    }
    rng.shuffle(&mut lines);
    lines.insert(3, "{not json".into());
    lines.push(
        json!({"occurred_at": 1, "request": {"payment_details": {"amount": 0, "currency": "usd"}},
               "label": {"fraud": false}})
        .to_string(),
    );
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
    t
}

fn riskgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(args)
        .output()
        .unwrap()
}

fn rule<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

fn approx(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap();
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

#[test]
fn backtest_reports_per_rule_precision_and_recall() {
    let dir = std::env::temp_dir().join(format!(
        "riskgate-backtest-test-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.ndjson");
    let rules = dir.join("rules.txt");
    std::fs::write(
        &rules,
        "prepaid: Block if :card_funding: = 'prepaid'\n\
         disposable: Review if :is_disposable_email:\n\
         vip: Allow if :customer: = 'cus_vip'\n",
    )
    .unwrap();
    let t = generate(&events, 500);

    let out = riskgate(&[
        "backtest",
        "--rules",
        rules.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(report["events"], t.events);
    assert_eq!(report["fraud_events"], t.fraud);
    assert_eq!(report["skipped"], 2);

    let prepaid = rule(&report, "prepaid");
    assert_eq!(prepaid["action"], "Block");
    assert_eq!(prepaid["matches"], t.prepaid);
    assert_eq!(prepaid["fraud_matches"], t.prepaid_fraud);
    approx(
        &prepaid["precision"],
        t.prepaid_fraud as f64 / t.prepaid as f64,
    );
    approx(&prepaid["recall"], t.prepaid_fraud as f64 / t.fraud as f64);
    approx(&prepaid["match_rate"], t.prepaid as f64 / t.events as f64);
    assert_eq!(prepaid["decided"], t.prepaid - t.vip_prepaid);
    assert!(prepaid["overrides"].is_null());

    let disposable = rule(&report, "disposable");
    assert_eq!(disposable["matches"], t.disposable);
    approx(
        &disposable["precision"],
        t.disposable_fraud as f64 / t.disposable as f64,
    );
    assert_eq!(disposable["decided"], t.disposable_decided);

    // Allow runs before Block: VIP payments are decided by it, and those a Block or Review rule
    // also matched are its overrides.
    let vip = rule(&report, "vip");
    assert_eq!(vip["decided"], t.vip);
    assert!(t.vip_overridden > 0);
    assert_eq!(vip["overrides"], t.vip_overridden);
    assert_eq!(vip["fraud_overrides"], t.vip_overridden_fraud);

    let totals = &report["totals"];
    assert_eq!(totals["block"], t.prepaid - t.vip_prepaid);
    assert_eq!(
        totals["blocked_fraud"],
        t.prepaid_fraud - t.vip_prepaid_fraud
    );

    let out = riskgate(&[
        "backtest",
        "--rules",
        rules.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("PRECISION") && table.contains("RECALL") && table.contains("prepaid"),
        "{table}"
    );
    assert!(table.contains("2 skipped"), "{table}");

    // A broken rules file fails the backtest with its position.
    std::fs::write(&rules, "Block if :card_funding: > 3\n").unwrap();
    let out = riskgate(&[
        "backtest",
        "--rules",
        rules.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rules.txt:1:25:"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The backtest replays enrichment: velocity rules see the history of the events before each one,
/// and reported outcomes (declines) are counted at their own time.
#[test]
fn velocity_rules_see_the_replayed_history() {
    let dir = std::env::temp_dir().join(format!(
        "riskgate-backtest-velocity-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.ndjson");
    let rules = dir.join("rules.txt");
    let out = riskgate(&[
        "simulate",
        "--seed",
        "3",
        "--days",
        "10",
        "--customers",
        "1000",
        // Enough fraud for card testing bursts in ten days.
        "--fraud-rate",
        "0.3",
        "--out",
        events.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    std::fs::write(
        &rules,
        "cards_per_ip: Block if :card_count_for_ip_address_hourly: >= 3\n\
         declines_per_ip: Review if :declined_charges_per_ip_address_daily: >= 1\n",
    )
    .unwrap();
    let out = riskgate(&[
        "backtest",
        "--rules",
        rules.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for id in ["cards_per_ip", "declines_per_ip"] {
        let r = rule(&report, id);
        let matches = r["matches"].as_u64().unwrap();
        assert!(matches > 10, "{id}: {r}");
        // Simulated card testing: many cards and declines from one IP; customers use one or two.
        assert!(r["precision"].as_f64().unwrap() > 0.9, "{id}: {r}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
