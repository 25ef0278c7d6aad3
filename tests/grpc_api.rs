//! The gRPC API end to end: real server on 127.0.0.1:0, real tonic clients.

use riskgate_testkit as common;

use std::time::Duration;

use common::*;
use riskgate::proto::v1::{self as pb, Action, RiskLevel, ScoreSource};
use tonic::{Code, Request};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

#[tokio::test]
async fn evaluates_a_payment() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    let answer = client
        .create_payment_evaluation(req)
        .await
        .unwrap()
        .into_inner();

    let evaluation = answer.evaluation.unwrap();
    assert!(evaluation.id.starts_with("peval_"));
    assert_eq!(evaluation.object, "radar.payment_evaluation");
    assert!(!evaluation.livemode);
    assert_eq!(evaluation.metadata["order_id"], "1042");
    // The current shape by default (api.evaluation_shape).
    assert_eq!(evaluation.insights, None);
    let signal = evaluation.signals.unwrap().fraudulent_payment.unwrap();
    assert_eq!(signal.evaluated_at, evaluation.created_at);

    let decision = answer.decision.unwrap();
    assert_eq!(decision.action(), Action::Continue);
    assert_eq!(decision.risk_level(), RiskLevel::Normal);
    assert_eq!(decision.score_source(), ScoreSource::LocalModel);
    assert_eq!(evaluation.recommended_action, "continue");
    assert_eq!(signal.risk_level, "normal");
    assert_eq!(signal.score, f64::from(decision.risk_score));
    assert!(decision.risk_score < 20);
    assert!(decision.reasons[0].message.contains("normal"));
    assert!(decision.matched_rule.is_none());
    assert!(!decision.degraded);
    assert!(decision.processing_time_us > 0);

    let attr = |name: &str| answer.attributes.get(name).and_then(|v| v.kind.clone());
    assert_eq!(
        attr("amount_in_usd"),
        Some(pb::attribute_value::Kind::Number(129.0))
    );
    assert_eq!(
        attr("card_country"),
        Some(pb::attribute_value::Kind::Text("US".into()))
    );
    assert_eq!(
        attr("is_off_session"),
        Some(pb::attribute_value::Kind::Flag(false))
    );
    assert_eq!(
        attr("risk_score"),
        Some(pb::attribute_value::Kind::Number(
            decision.risk_score.into()
        ))
    );

    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn risky_payment_is_blocked_by_the_default_rule() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let mut req = minimal_request();
    let pd = req.payment_details.as_mut().unwrap();
    pd.amount = 250_000;
    let pm = pd.payment_method_details.as_mut().unwrap();
    pm.card = Some(pb::CardDetails {
        country: "NG".into(),
        funding: "prepaid".into(),
        ..Default::default()
    });
    pm.billing_details = Some(pb::BillingDetails {
        address: Some(pb::Address {
            country: "US".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    req.client_device_metadata_details = Some(pb::ClientDeviceMetadataDetails {
        ip: "198.51.100.4".into(),
        time_on_page_ms: Some(3000),
        pasted_fields: vec!["card_number".into()],
        ..Default::default()
    });
    let decision = client
        .create_payment_evaluation(req)
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(decision.action(), Action::Block);
    assert_eq!(decision.risk_level(), RiskLevel::Highest);
    let rule = decision.matched_rule.unwrap();
    assert_eq!(rule.predicate, "Block if :risk_level: = 'highest'");
    let codes: Vec<_> = decision.reasons.iter().map(|r| r.code.as_str()).collect();
    // The v2 model names the 2,500 USD amount first (with a missing user agent and a 3 s checkout).
    assert!(codes.contains(&"amount_in_usd"), "{codes:?}");
    assert!(codes.len() >= 3, "the level and model reasons: {codes:?}");
}

#[tokio::test]
async fn invalid_requests_name_every_field() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let mut req = example_request();
    let pd = req.payment_details.as_mut().unwrap();
    pd.amount = -5;
    pd.currency = "USD".into();
    let billing = pd
        .payment_method_details
        .as_mut()
        .unwrap()
        .billing_details
        .as_mut()
        .unwrap();
    billing.address.as_mut().unwrap().country = "USA".into();
    req.customer_details.as_mut().unwrap().email = format!("{}@example.com", "a".repeat(789));
    req.metadata
        .insert("note".into(), "card 4242 4242 4242 4242".into());

    let status = client.create_payment_evaluation(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(!status.message().contains("4242"), "{}", status.message());
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("BadRequest details")
        .field_violations;
    let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
    for expected in [
        "payment_details.amount",
        "payment_details.currency",
        "payment_details.payment_method_details.billing_details.address.country",
        "customer_details.email",
        "metadata[note]",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    assert!(violations.iter().all(|v| !v.description.contains("4242")));
}

#[tokio::test]
async fn idempotent_retries_replay_and_conflicts_are_refused() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let mut req = example_request();
    req.idempotency_key = "order-1042".into();

    let first = client.create_payment_evaluation(req.clone()).await.unwrap();
    assert!(first.metadata().get("idempotent-replayed").is_none());
    let second = client.create_payment_evaluation(req.clone()).await.unwrap();
    assert_eq!(
        second.metadata().get("idempotent-replayed").unwrap(),
        "true"
    );
    assert_eq!(first.get_ref(), second.get_ref());

    req.payment_details.as_mut().unwrap().amount += 1;
    let status = client.create_payment_evaluation(req).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("idempotency_key"));
    assert_eq!(
        status.get_error_details().error_info().unwrap().reason,
        "idempotency_error"
    );
}

#[tokio::test]
async fn concurrent_duplicates_get_one_evaluation() {
    let server = start(test_config()).await;
    let client = client(server.grpc_addr).await;
    let mut req = example_request();
    req.idempotency_key = "concurrent".into();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (mut c, r) = (client.clone(), req.clone());
            tokio::spawn(async move { c.create_payment_evaluation(r).await.unwrap().into_inner() })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for call in calls {
        ids.insert(call.await.unwrap().evaluation.unwrap().id);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn expired_deadlines_answer_deadline_exceeded() {
    // The server keeps 2 s back from every deadline, so a 2 s budget is spent on arrival: it must
    // answer DEADLINE_EXCEEDED at once (not tonic's CANCELLED), long before the client's own timer
    // would end the call.
    let mut config = test_config();
    config.grpc.deadline_margin_ms = 2000;
    let server = start(config).await;
    let mut client = client(server.grpc_addr).await;
    let mut call = Request::new(minimal_request());
    call.set_timeout(Duration::from_secs(2));
    let status = client.create_payment_evaluation(call).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    let mut call = Request::new(minimal_request());
    call.set_timeout(Duration::from_secs(5));
    client.create_payment_evaluation(call).await.unwrap();
}

/// Overload at twice the limit: `LIMIT` calls are held inside the scorer, and the `LIMIT` more
/// that arrive meanwhile are refused with RESOURCE_EXHAUSTED and RetryInfo *while the admitted ones
/// are still held* (so refusing never waits for capacity), health is not shed, every admitted call
/// completes, and once they are done the full limit is admitted again at once. The gated scorer
/// makes "in flight" a fact, not a timing.
// Each held call blocks a runtime thread inside the scorer: leave threads for everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn at_twice_the_concurrency_limit_the_excess_is_shed_and_capacity_returns_at_once() {
    const LIMIT: usize = 3;
    let (scorer, gate) = GatedScorer::new();
    let mut config = test_config();
    config.grpc.concurrency_limit = LIMIT;
    let server = start_with(config, scorer.clone()).await;
    let client = client(server.grpc_addr).await;
    let shed = |m: &str| {
        sample(m, "riskgate_load_shed_total{reason=\"concurrency_limit\"}").unwrap_or(0.0)
    };
    let shed_before = shed(&http_get(server.admin_addr, "/metrics").await.1);

    // Holds `LIMIT` calls inside the scorer; returns them once all have entered.
    let hold = || {
        let calls: Vec<_> = (0..LIMIT)
            .map(|_| {
                let mut c = client.clone();
                tokio::spawn(async move { c.create_payment_evaluation(minimal_request()).await })
            })
            .collect();
        let gate = gate.clone();
        async move {
            for _ in 0..LIMIT {
                gate.entered().await;
            }
            calls
        }
    };
    let release_all = |calls: Vec<tokio::task::JoinHandle<_>>| {
        for _ in 0..calls.len() {
            gate.release();
        }
        async move {
            for call in calls {
                let answer: Result<tonic::Response<pb::CreatePaymentEvaluationResponse>, _> =
                    call.await.unwrap();
                answer.expect("an admitted call completes");
            }
        }
    };

    scorer.arm();
    let admitted = hold().await;
    // The other half of the 2x load arrives while the first half is held.
    for _ in 0..LIMIT {
        let status = client
            .clone()
            .create_payment_evaluation(minimal_request())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.get_error_details().retry_info().is_some());
    }
    // Health is never shed.
    let mut health = HealthClient::new(channel(server.grpc_addr).await);
    let reply = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().status(), ServingStatus::Serving);
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert_eq!(shed(&metrics) - shed_before, LIMIT as f64);

    release_all(admitted).await;
    // The load dropped: the whole limit is admitted again, with nothing refused.
    let again = hold().await;
    release_all(again).await;
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert_eq!(shed(&metrics) - shed_before, LIMIT as f64);
}

/// The CPU governor runs in the server (on by default): it samples the runtime and, with CPU to
/// spare, admits every call. Its refusals are tested in `src/server/layer.rs` and its control loop
/// with paused time in `src/server/governor.rs`; the load run measures it at 2× capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpu_governor_samples_the_runtime_and_admits_all_with_cpu_to_spare() {
    let mut config = test_config();
    config.grpc.cpu_target_percent = 90;
    let server = start(config).await;
    let mut client = client(server.grpc_addr).await;
    // The governor publishes its gauges once it has sampled (every 25 ms).
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = http_get(server.admin_addr, "/metrics").await.1;
        if sample(&metrics, "riskgate_runtime_busy_ratio").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let busy = sample(&metrics, "riskgate_runtime_busy_ratio").expect("busy share exported");
    assert!((0.0..=1.0).contains(&busy), "{busy}");
    assert_eq!(sample(&metrics, "riskgate_cpu_admitted_ratio"), Some(1.0));
    for _ in 0..20 {
        client
            .create_payment_evaluation(minimal_request())
            .await
            .expect("admitted");
    }
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    let mut config = test_config();
    config.grpc.max_request_bytes = 2048;
    let server = start(config).await;
    let mut client = client(server.grpc_addr).await;
    let mut req = minimal_request();
    req.payment_details.as_mut().unwrap().description = "x".repeat(4000);
    let status = client.create_payment_evaluation(req).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}

#[tokio::test]
async fn health_reports_serving_per_service() {
    let server = start(test_config()).await;
    let mut health = HealthClient::new(channel(server.grpc_addr).await);
    for service in ["", "riskgate.v1.PaymentEvaluationService"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            reply.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(http_get(server.admin_addr, "/healthz").await.0, 200);
    assert_eq!(http_get(server.admin_addr, "/readyz").await.0, 200);
    assert_eq!(http_get(server.admin_addr, "/nope").await.0, 404);
}

#[tokio::test]
async fn reflection_lists_the_services_in_v1_and_v1alpha() {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::{v1, v1alpha};

    let server = start(test_config()).await;
    let ch = channel(server.grpc_addr).await;

    let mut c1 = v1::server_reflection_client::ServerReflectionClient::new(ch.clone());
    let req = v1::ServerReflectionRequest {
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
        ..Default::default()
    };
    let mut stream = c1
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.next().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"riskgate.v1.PaymentEvaluationService"),
        "{names:?}"
    );
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    for service in ["riskgate.v1.ValueListService", "riskgate.v1.AdminService"] {
        assert!(names.contains(&service), "{names:?}");
    }

    let mut c0 = v1alpha::server_reflection_client::ServerReflectionClient::new(ch);
    let req = v1alpha::ServerReflectionRequest {
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "riskgate.v1.PaymentEvaluationService".into(),
            ),
        ),
        ..Default::default()
    };
    let mut stream = c0
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let response = stream
        .next()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap();
    assert!(
        matches!(response, v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f) if !f.file_descriptor_proto.is_empty()),
        "{response:?}"
    );
}

#[tokio::test]
async fn serves_on_a_unix_socket() {
    let path = std::env::temp_dir().join(format!("riskgate-test-{}.sock", std::process::id()));
    let mut config = test_config();
    config.grpc.uds_path = Some(path.clone());
    let server = start(config).await;
    let channel = riskgate::server::uds_channel(&path).await.unwrap();
    let mut client =
        pb::payment_evaluation_service_client::PaymentEvaluationServiceClient::new(channel);
    let answer = client
        .create_payment_evaluation(minimal_request())
        .await
        .unwrap()
        .into_inner();
    assert!(answer.evaluation.unwrap().id.starts_with("peval_"));
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(!path.exists(), "socket file removed on shutdown");
}
