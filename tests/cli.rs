//! The command line: `config check`, `config show`, `eval` errors, `--help`.

use std::process::{Command, Output};

fn riskgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(args)
        .output()
        .unwrap()
}

fn path(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
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
    for word in ["serve", "config", "eval"] {
        assert!(text.contains(word), "{text}");
    }
    let out = riskgate(&["serve", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--grpc-addr") && text.contains("--uds") && text.contains("--config"),
        "{text}"
    );
}
