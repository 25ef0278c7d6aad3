//! No card data, email, phone, name or address reaches the logs, even at the most verbose level.

use riskgate_testkit as common;

use common::ServerProcess;

#[test]
fn logs_never_carry_personal_data() {
    let server = ServerProcess::spawn(env!("CARGO_BIN_EXE_riskgate"), &[], "trace");
    let secrets = [
        "zq.redact@example.org",
        "+1 415 555 0199",
        "Quintus Redactson",
        "77 Secret Lane",
        "fp_Zr3dactedFingerprint",
        "198.51.100.77",
    ];
    let request = serde_json::json!({
        "customer_details": {"email": secrets[0], "phone": secrets[1], "name": secrets[2]},
        "payment_details": {
            "amount": 4200, "currency": "usd",
            "payment_method_details": {
                "payment_method": "pm_redact",
                "billing_details": {"name": secrets[2], "address": {"line1": secrets[3], "country": "US"}},
                "card": {"bin": "424242", "last4": "4242", "fingerprint": secrets[4]}
            }
        },
        "client_device_metadata_details": {"ip": secrets[5]},
        "expand": ["attributes"]
    });
    let mut bad = request.clone();
    bad["payment_details"]["amount"] = serde_json::json!(-1);
    let dir = std::env::temp_dir();
    let (good_path, bad_path) = (
        dir.join(format!("riskgate-redact-{}.json", std::process::id())),
        dir.join(format!("riskgate-redact-bad-{}.json", std::process::id())),
    );
    std::fs::write(&good_path, request.to_string()).unwrap();
    std::fs::write(&bad_path, bad.to_string()).unwrap();

    for (file, ok) in [(&good_path, true), (&bad_path, false), (&good_path, true)] {
        let out = server.run(&["eval", file.to_str().unwrap()]);
        assert_eq!(
            out.status.success(),
            ok,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if ok {
            // The answer does carry them (the caller asked for attributes): the check below is real.
            assert!(String::from_utf8_lossy(&out.stdout).contains(secrets[0]));
        }
    }
    std::fs::remove_file(&good_path).unwrap();
    std::fs::remove_file(&bad_path).unwrap();

    let (status, log) = server.terminate();
    assert!(status.success());
    assert!(log.contains("evaluated"), "debug logs were on: {log}");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret:?} leaked into the logs");
    }
}
