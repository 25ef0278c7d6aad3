//! `riskgate reviews list|show|approve|reject|note` against a real `riskgate serve`.

use riskgate_testkit::{ServerProcess, TempDir, reviews};

fn eval_file(dir: &TempDir, fingerprint: &str, email: &str) -> String {
    let req = reviews::gift_card(fingerprint, email);
    let text = serde_json::to_string(&req).unwrap();
    dir.file(&format!("{fingerprint}.json"), &text)
        .to_str()
        .unwrap()
        .to_owned()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_analyst_works_the_queue_from_the_command_line() {
    let dir = TempDir::new("reviews-cli");
    let rules = dir.file("rules.txt", reviews::RULES);
    let token = dir.file("admin-token", &format!("{}\n", reviews::ADMIN_TOKEN));
    let config = dir.file(
        "riskgate.toml",
        &format!(
            "admin_token_file = {:?}\n[rules]\npath = {:?}\n[reviews]\nblock_on_reject = true\n",
            token, rules
        ),
    );
    let server = ServerProcess::spawn(
        env!("CARGO_BIN_EXE_riskgate"),
        &["--config", config.to_str().unwrap()],
        "info",
    );
    let answer = ok(&server.run(&["eval", &eval_file(&dir, "fp_cli_1", "cli@example.com")]));
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["decision"]["action"], "review");
    let evaluation = answer["evaluation"]["id"].as_str().unwrap().to_owned();
    let token = token.to_str().unwrap();

    // The review is written in the background: list until it is there (bounded).
    let mut review = None;
    for _ in 0..500 {
        let out = server.run(&["reviews", "list", "--json", "--admin-token-file", token]);
        let page: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
        review = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["payment_evaluation"] == evaluation.as_str())
            .map(|r| r["id"].as_str().unwrap().to_owned());
        if review.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let id = review.expect("a review for the evaluation");
    let table = ok(&server.run(&["reviews", "list", "--admin-token-file", token]));
    assert!(
        table.contains(&id) && table.contains("cli@example.com"),
        "{table}"
    );
    let shown = ok(&server.run(&["reviews", "show", &id, "--admin-token-file", token]));
    assert!(
        shown.contains("fp_cli_1") && shown.contains("gift_cards"),
        "{shown}"
    );
    let noted = ok(&server.run(&[
        "reviews",
        "note",
        &id,
        "called the customer",
        "--as",
        "dana",
        "--admin-token-file",
        token,
    ]));
    assert!(noted.contains("note by dana via admin"), "{noted}");
    let rejected = ok(&server.run(&[
        "reviews",
        "reject",
        &id,
        "--fraud-type",
        "card_testing",
        "--as",
        "dana",
        "--admin-token-file",
        token,
    ]));
    assert!(
        rejected.contains("refunded_as_fraud by dana via admin"),
        "{rejected}"
    );
    // Refused twice over: the verdict stands, and an unknown fraud type names its field.
    let again = server.run(&["reviews", "approve", &id, "--admin-token-file", token]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already closed"));
    let bad = server.run(&[
        "reviews",
        "reject",
        &id,
        "--fraud-type",
        "nope",
        "--admin-token-file",
        token,
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("fraud_type: must be one of"));
    // Without the token: refused before anything is sent.
    let none = server.run(&["reviews", "list"]);
    assert_eq!(none.status.code(), Some(1));
    // The next evaluation on the card is blocked.
    let next = ok(&server.run(&["eval", &eval_file(&dir, "fp_cli_1", "other@example.com")]));
    assert!(next.contains("\"action\": \"block\""), "{next}");
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}
