//! Parity with the libraries: `scripts/parity.py check` trains XGBoost and LightGBM models with the
//! real Python packages (installed by `scripts/test` from `scripts/requirements.txt`), and compares
//! their raw margins with `riskgate model predict` on thousands of rows holding NaN, zeros and values
//! exactly at split thresholds (|Δ| ≤ 1e-5). Also: a model trained on other features is refused.

use std::process::Command;

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn margins_match_xgboost_and_lightgbm() {
    let dir = std::env::temp_dir().join(format!("riskgate-parity-{}", std::process::id()));
    let out = Command::new(python())
        .arg(concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/scripts/parity.py"
        ))
        .args([
            "check",
            "--riskgate",
            env!("CARGO_BIN_EXE_riskgate"),
            "--dir",
        ])
        .arg(&dir)
        .output()
        .expect("python3 runs (scripts/test installs scripts/requirements.txt)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "parity failed (missing packages? run scripts/test or pip install -r scripts/requirements.txt)\n{stdout}\n{stderr}"
    );
    for format in ["xgboost:", "lightgbm:", "lightgbm-zero-as-missing:"] {
        assert!(stdout.contains(format), "{format} not compared\n{stdout}");
    }
    println!("{stdout}");
}

#[test]
fn a_model_with_other_features_is_refused_at_start() {
    let path = std::env::temp_dir().join(format!("riskgate-wrong-{}.txt", std::process::id()));
    let model = include_str!("../../riskgate-core/src/model/lightgbm.rs");
    let start = model.find("const MODEL: &str = \"").unwrap() + 21;
    let end = start + model[start..].find("\";\n").unwrap();
    std::fs::write(&path, &model[start..end]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--model",
        ])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("do not match the schema")
            && err.contains("feature 0 is `a` in the model but `amount_in_usd`"),
        "{err}"
    );
}
