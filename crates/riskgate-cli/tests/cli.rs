//! The command line: `config check`, `config show`, `eval` errors, `--help`.

use std::process::{Command, Output};

fn riskgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(args)
        .output()
        .unwrap()
}

fn path(rel: &str) -> String {
    format!("{}/{rel}", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn config_check_accepts_the_example_and_rejects_mistakes() {
    let ok = riskgate(&["config", "check", &path("examples/riskgate.toml")]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let bad = std::env::temp_dir().join(format!("riskgate-cli-{}.toml", std::process::id()));
    std::fs::write(&bad, "[grpc]\nconcurrency_limt = 3\n").unwrap();
    let out = riskgate(&["config", "check", bad.to_str().unwrap()]);
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `concurrency_limt`"), "{err}");
}

#[test]
fn config_show_applies_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["config", "show"])
        .env("RISKGATE_RISK__HIGHEST_FROM", "80")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("highest_from = 80"), "{text}");
}

#[test]
fn config_show_never_prints_a_secret() {
    // Redis needs a shared pseudonym key (a file, never printed either).
    let dir = riskgate_testkit::TempDir::new("cli-config-show");
    let key = dir.file("pseudonym.key", "pseudonym-secret-key-0123456789abcdef\n");
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["config", "show"])
        .env("RISKGATE_PSEUDONYM__KEY_FILE", &key)
        .env(
            "RISKGATE_REDIS__URL",
            "redis://riskgate:hunter2-pw@redis.svc:6380/0",
        )
        .env("RISKGATE_ADMIN_TOKEN", "admin-secret-tok")
        .env("RISKGATE_AUTH__EVALUATION_TOKEN", "eval-secret-tok")
        .env("RISKGATE_STRIPE__SECRET_KEY", "sk_test_secret_key_9")
        .env("RISKGATE_WEBHOOKS__SECRET", "whsec_secret_9")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [
        "hunter2-pw",
        "admin-secret-tok",
        "eval-secret-tok",
        "sk_test_secret_key_9",
        "whsec_secret_9",
        "pseudonym-secret-key-0123456789abcdef",
    ] {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    assert!(
        text.contains("redis://riskgate:[redacted]@redis.svc:6380/0"),
        "{text}"
    );
}

#[test]
fn tokens_are_not_flag_values() {
    // The process list shows command lines to every user of the machine.
    for args in [
        &["serve", "--admin-token", "x"][..],
        &["eval", "--token", "x", "examples/evaluation.json"][..],
    ] {
        let out = riskgate(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unexpected argument"), "{err}");
    }
}

#[test]
fn eval_reports_bad_json_with_its_position() {
    let bad = std::env::temp_dir().join(format!("riskgate-eval-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"payment_details": {"amount": 100, "curency": "usd"}}"#,
    )
    .unwrap();
    let out = riskgate(&["eval", bad.to_str().unwrap()]);
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field `curency`") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn help_teaches_the_commands() {
    let out = riskgate(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "config", "eval", "rules", "backtest"] {
        assert!(text.contains(word), "{text}");
    }
    let out = riskgate(&["serve", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--grpc-addr")
            && text.contains("--uds")
            && text.contains("--config")
            && text.contains("--rules")
            && text.contains("--admin-token"),
        "{text}"
    );
}

#[test]
fn rules_check_accepts_the_example_and_points_at_mistakes() {
    let ok = riskgate(&["rules", "check", &path("examples/rules.txt")]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ok ("));

    let bad = std::env::temp_dir().join(format!("riskgate-rules-{}.txt", std::process::id()));
    std::fs::write(
        &bad,
        "# comment\nBlock if :amount_in_usd: = 'x'\nReview if :card_contry: = 'US'\nBlock if (:email: = 'a'\n",
    )
    .unwrap();
    let out = riskgate(&["rules", "check", bad.to_str().unwrap()]);
    std::fs::remove_file(&bad).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = bad.display().to_string();
    for expected in [
        format!("{file}:2:28: :amount_in_usd: is a number, but 'x' is a string"),
        format!("{file}:3:11: unknown attribute `:card_contry:`; did you mean `:card_country:`?"),
        format!("{file}:4:24: expected `)` to close the parenthesis"),
        " 2 | Block if :amount_in_usd: = 'x'\n   |                            ^^^".to_owned(),
    ] {
        assert!(err.contains(&expected), "{expected}\n---\n{err}");
    }
}

#[test]
fn rules_explain_shows_each_clause() {
    let out = riskgate(&[
        "rules",
        "explain",
        &path("examples/rules.txt"),
        &path("examples/evaluation.json"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("decision: continue"), "{text}");
    assert!(
        text.contains("false    :risk_level: = 'highest'    (:risk_level: = 'normal')"),
        "{text}"
    );
    assert!(text.contains("[big_elevated]"), "{text}");
}
