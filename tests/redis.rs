//! Shared state on a real Redis: two gateways see each other's counts, sessions, evaluations and
//! idempotency records; a Redis that dies leaves evaluations answered (degraded) and the client
//! reconnects by itself.

use riskgate_testkit as common;

use std::time::Duration;

use riskgate::proto::v1::{
    self as pb, CreatePaymentEvaluationRequest, RecordRadarSessionRequest,
    ReportPaymentOutcomeRequest, attribute_value::Kind,
    payment_evaluation_service_client::PaymentEvaluationServiceClient,
    radar_session_service_client::RadarSessionServiceClient,
};
use tonic::{Code, transport::Channel};

use common::{redis_cluster::RedisCluster, redis_server::RedisServer, *};

fn request(fingerprint: &str) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    req.payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap()
        .card
        .as_mut()
        .unwrap()
        .fingerprint = fingerprint.into();
    req
}

async fn evaluate(
    client: &mut PaymentEvaluationServiceClient<Channel>,
    req: &CreatePaymentEvaluationRequest,
) -> tonic::Response<pb::CreatePaymentEvaluationResponse> {
    client.create_payment_evaluation(req.clone()).await.unwrap()
}

fn degraded(answer: &pb::CreatePaymentEvaluationResponse) -> bool {
    answer.decision.as_ref().unwrap().degraded
}

fn config(redis: &RedisServer) -> riskgate::config::Config {
    config_for(redis.url())
}

fn config_for(url: String) -> riskgate::config::Config {
    let mut c = test_config();
    riskgate_testkit::server::use_redis(&mut c, url);
    // Generous: the test machine is shared; the budget's fallback is tested by killing Redis.
    c.redis.budget_ms = 2000;
    c
}

#[tokio::test]
async fn two_gateways_on_one_redis_share_their_state() {
    let redis = RedisServer::start().await;
    two_gateways_share_their_state(redis.url()).await;
}

#[tokio::test]
async fn two_gateways_on_one_redis_cluster_share_their_state() {
    let cluster = RedisCluster::start().await;
    two_gateways_share_their_state(cluster.url()).await;
    // Detected from one seed, too.
    let one_seed = format!("redis://127.0.0.1:{}", cluster.nodes[0].port);
    let gateway = start(config_for(one_seed)).await;
    let mut client = client(gateway.grpc_addr).await;
    let answer = evaluate(&mut client, &request("fpShared"))
        .await
        .into_inner();
    assert!(!degraded(&answer));
    assert_eq!(
        number(&answer, "total_charges_per_card_number_hourly"),
        Some(5.0)
    );
    gateway.shutdown(Duration::from_secs(5)).await.unwrap();
}

async fn two_gateways_share_their_state(url: String) {
    let a = start(config_for(url.clone())).await;
    let b = start(config_for(url)).await;
    let mut client_a = client(a.grpc_addr).await;
    let mut client_b = client(b.grpc_addr).await;

    // Velocity: three payments on A, the fourth on B sees them.
    let req = request("fpShared");
    let mut first_id = String::new();
    for i in 0..3 {
        let answer = evaluate(&mut client_a, &req).await.into_inner();
        assert!(!degraded(&answer));
        if i == 0 {
            first_id = answer.evaluation.unwrap().id;
        }
    }
    let on_b = evaluate(&mut client_b, &req).await.into_inner();
    assert!(!degraded(&on_b));
    assert_eq!(
        number(&on_b, "total_charges_per_card_number_hourly"),
        Some(3.0)
    );
    assert_eq!(number(&on_b, "total_charges_per_email_daily"), Some(3.0));
    assert_eq!(number(&on_b, "card_count_for_ip_address_hourly"), Some(1.0));
    assert_eq!(
        number(&on_b, "total_usd_amount_charged_on_card_all_time"),
        Some(3.0 * 129.0)
    );
    assert!(number(&on_b, "seconds_since_card_first_seen").is_some());

    // An outcome reported on B for an evaluation made on A.
    let reported = client_b
        .report_payment_outcome(ReportPaymentOutcomeRequest {
            evaluation: first_id.clone(),
            outcome: pb::PaymentOutcome::Disputed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!reported.duplicate);
    let again = client_a
        .report_payment_outcome(ReportPaymentOutcomeRequest {
            evaluation: first_id,
            outcome: pb::PaymentOutcome::Disputed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    let unknown = client_a
        .report_payment_outcome(ReportPaymentOutcomeRequest {
            evaluation: "peval_nope".into(),
            outcome: pb::PaymentOutcome::Authorized as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let after = evaluate(&mut client_a, &req).await.into_inner();
    assert_eq!(
        number(&after, "dispute_count_on_card_number_all_time"),
        Some(1.0)
    );
    assert_eq!(
        number(&after, "total_charges_per_card_number_hourly"),
        Some(4.0)
    );

    // A Radar Session recorded on A is found by an evaluation on B.
    RadarSessionServiceClient::new(channel(a.grpc_addr).await)
        .record_radar_session(RecordRadarSessionRequest {
            session: Some(pb::RadarSession {
                id: "rse_sharedSession".into(),
                ip: "192.0.2.44".into(),
                device_id: "dev_shared".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let mut named = request("fpSessionShared");
    named.client_device_metadata_details = Some(pb::ClientDeviceMetadataDetails {
        radar_session: "rse_sharedSession".into(),
        ..Default::default()
    });
    let with_session = evaluate(&mut client_b, &named).await.into_inner();
    assert_eq!(
        with_session.attributes["device_id"].kind,
        Some(Kind::Text("dev_shared".into()))
    );
    assert_eq!(
        with_session.attributes["ip_address"].kind,
        Some(Kind::Text("192.0.2.44".into()))
    );
    // Counted under the session's IP and device, on both gateways.
    let second = evaluate(&mut client_a, &named).await.into_inner();
    assert_eq!(
        number(&second, "total_charges_per_ip_address_hourly"),
        Some(1.0)
    );
    assert_eq!(
        number(&second, "total_charges_per_device_id_hourly"),
        Some(1.0)
    );

    // An idempotency key used on A replays on B.
    let mut keyed = request("fpIdem");
    keyed.idempotency_key = "shared-key-1".into();
    let first = evaluate(&mut client_a, &keyed).await.into_inner();
    let replay = evaluate(&mut client_b, &keyed).await;
    assert_eq!(
        replay
            .metadata()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(replay.into_inner().evaluation, first.evaluation);
    keyed.metadata.insert("changed".into(), "yes".into());
    let conflict = client_b
        .create_payment_evaluation(keyed.clone())
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Code::FailedPrecondition);

    // One key sent to both gateways at once (a retry after a timeout, on another replica) is
    // evaluated once: every answer is that evaluation, and the card counted it once.
    let mut racing = request("fpIdemRace");
    racing.idempotency_key = "shared-key-race".into();
    let answers = futures_util::future::join_all((0..8).map(|i| {
        let mut c = if i % 2 == 0 {
            client_a.clone()
        } else {
            client_b.clone()
        };
        let r = racing.clone();
        async move { c.create_payment_evaluation(r).await.unwrap().into_inner() }
    }))
    .await;
    let first = answers[0].evaluation.as_ref().unwrap();
    assert!(
        answers
            .iter()
            .all(|x| x.evaluation.as_ref().unwrap().id == first.id),
        "one evaluation for every call"
    );
    let next = evaluate(&mut client_b, &request("fpIdemRace"))
        .await
        .into_inner();
    assert_eq!(
        number(&next, "total_charges_per_card_number_hourly"),
        Some(1.0),
        "the racing calls counted once"
    );

    a.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_dead_redis_degrades_evaluations_until_it_is_back() {
    let mut redis = RedisServer::start().await;
    let server = start(config(&redis)).await;
    let mut client = client(server.grpc_addr).await;
    let req = request("fpOutage");
    let healthy = evaluate(&mut client, &req).await.into_inner();
    assert!(!degraded(&healthy));

    redis.kill();
    let during = evaluate(&mut client, &req).await.into_inner();
    assert!(degraded(&during), "answered, flagged degraded");
    assert!(during.decision.is_some());
    // In-process state took over: it has not seen the earlier payment.
    assert_eq!(
        number(&during, "total_charges_per_card_number_hourly"),
        Some(0.0)
    );
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("riskgate_enrichment_degraded_total{part=\"lookup\"}")),
        "degraded lookups are counted"
    );
    // Sessions cannot be recorded while the shared store is down: the caller is told to retry.
    let err = RadarSessionServiceClient::new(channel(server.grpc_addr).await)
        .record_radar_session(RecordRadarSessionRequest {
            session: Some(pb::RadarSession {
                id: "rse_duringOutage".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);

    // Back (empty): the client reconnects by itself.
    redis.restart().await;
    let mut recovered = None;
    for _ in 0..200 {
        let answer = evaluate(&mut client, &req).await.into_inner();
        if !degraded(&answer) {
            recovered = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let recovered = recovered.expect("evaluations stop being degraded once Redis is back");
    assert!(number(&recovered, "total_charges_per_card_number_hourly").is_some());
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
