//! `/metrics` counts what happened. One test in its own binary, so no other test's calls share the
//! process-wide recorder.

use riskgate_testkit as common;

use common::*;

#[tokio::test]
async fn metrics_count_calls_by_method_and_code() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    const N: usize = 7;
    for _ in 0..N {
        client
            .create_payment_evaluation(example_request())
            .await
            .unwrap();
    }
    let mut bad = minimal_request();
    bad.payment_details.as_mut().unwrap().amount = 0;
    client.create_payment_evaluation(bad).await.unwrap_err();

    let (status, text) = http_get(server.admin_addr, "/metrics").await;
    assert_eq!(status, 200);
    let method = r#"method="riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation""#;
    assert_eq!(
        sample(
            &text,
            &format!("riskgate_grpc_requests_total{{{method},code=\"OK\"}}")
        ),
        Some(N as f64)
    );
    assert_eq!(
        sample(
            &text,
            &format!("riskgate_grpc_requests_total{{{method},code=\"INVALID_ARGUMENT\"}}")
        ),
        Some(1.0)
    );
    // The first payment continues at normal risk; the same card, email and IP paying again within
    // seconds raises the v2 model's velocity features, so later ones may be rated higher.
    assert!(
        sample(
            &text,
            r#"riskgate_decisions_total{action="continue",source="local_model",risk_level="normal"}"#
        )
        .is_some_and(|n| n >= 1.0)
    );
    let decisions: f64 = text
        .lines()
        .filter(|l| l.starts_with("riskgate_decisions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(decisions, N as f64, "{text}");
    assert_eq!(
        sample(
            &text,
            &format!("riskgate_grpc_request_duration_seconds_count{{{method}}}")
        ),
        Some(N as f64 + 1.0)
    );
    // Sub-millisecond buckets.
    assert!(
        text.contains(r#"riskgate_stage_duration_seconds_bucket{stage="score",le="0.000025"}"#)
    );
    assert_eq!(
        sample(
            &text,
            r#"riskgate_stage_duration_seconds_count{stage="validate"}"#
        ),
        Some(N as f64 + 1.0)
    );
    assert_eq!(sample(&text, "riskgate_grpc_requests_in_flight"), Some(0.0));
}
