//! Graceful shutdown: readiness and health go NOT_SERVING first, in-flight calls finish, then the
//! server stops; the binary does the same on SIGTERM and exits 0.

use riskgate_testkit as common;

use std::time::Duration;

use common::*;
use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_drains_in_flight_calls() {
    let (scorer, gate) = GatedScorer::new();
    let server = start_with(test_config(), scorer.clone()).await;
    let (grpc_addr, admin_addr) = (server.grpc_addr, server.admin_addr);
    let client = client(grpc_addr).await;
    let mut health = HealthClient::new(channel(grpc_addr).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    scorer.arm();
    let mut c = client.clone();
    let in_flight =
        tokio::spawn(async move { c.create_payment_evaluation(minimal_request()).await });
    gate.entered().await;

    let stopping = tokio::spawn(server.shutdown(Duration::from_secs(10)));
    // Health turns NOT_SERVING while the call is still in flight…
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::NotServing
    );
    drop(watch);
    assert_eq!(http_get(admin_addr, "/readyz").await.0, 503);
    // …which then completes normally.
    gate.release();
    let answer = in_flight.await.unwrap().expect("in-flight call completes");
    assert!(
        answer
            .into_inner()
            .evaluation
            .unwrap()
            .id
            .starts_with("peval_")
    );
    stopping.await.unwrap().expect("clean shutdown");
    assert_listener_closed(grpc_addr).await;
}

/// Nothing listens on `addr` any more. A connect to a closed loopback port in the ephemeral range
/// can still succeed, rarely, by connecting to itself (the kernel picks that very port as the
/// source: TCP simultaneous open); that is not a listener, so it passes too.
async fn assert_listener_closed(addr: std::net::SocketAddr) {
    if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
        assert_eq!(
            stream.local_addr().unwrap(),
            stream.peer_addr().unwrap(),
            "a listener still accepts on {addr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grace_period_bounds_the_drain() {
    let (scorer, gate) = GatedScorer::new();
    let server = start_with(test_config(), scorer.clone()).await;
    let mut c = client(server.grpc_addr).await;
    scorer.arm();
    let in_flight =
        tokio::spawn(async move { c.create_payment_evaluation(minimal_request()).await });
    gate.entered().await;
    let err = server
        .shutdown(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("grace period"), "{err}");
    gate.release();
    let _ = in_flight.await;
}

#[test]
fn binary_serves_and_exits_zero_on_sigterm() {
    let server = ServerProcess::spawn(env!("CARGO_BIN_EXE_riskgate"), &[], "info");
    let example = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/examples/evaluation.json"
    );
    let out = server.run(&["eval", example]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["decision"]["action"], "continue");
    assert!(
        answer["evaluation"]["id"]
            .as_str()
            .unwrap()
            .starts_with("peval_")
    );

    let probe = server.run(&["probe"]);
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );

    let addr = server.grpc_addr.clone();
    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}: {log}");
    assert!(log.contains("stopped"), "{log}");
    let probe = std::process::Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "probe",
            "--addr",
            &format!("http://{addr}"),
            "--timeout-ms",
            "300",
        ])
        .output()
        .unwrap();
    assert_eq!(
        probe.status.code(),
        Some(1),
        "a stopped server is not healthy"
    );
}

/// One worker thread (what `riskgate serve` picks on one CPU): concurrent calls on one connection,
/// whose answers leave gathered into shared writes, each get their own answer; SIGTERM still stops
/// it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_thread_answers_concurrent_calls_and_stops() {
    let dir = TempDir::new("one-worker-thread");
    let config = dir.file("riskgate.toml", "[runtime]\nworker_threads = 1\n");
    let config = config.display().to_string();
    let server = ServerProcess::spawn(
        env!("CARGO_BIN_EXE_riskgate"),
        &["--config", &config],
        "info",
    );
    let client = client(server.grpc_addr.parse().unwrap()).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..64u32 {
        let mut client = client.clone();
        let mut req = example_request();
        req.metadata.insert("call".into(), i.to_string());
        calls.spawn(async move {
            let answer = client.create_payment_evaluation(req).await.unwrap();
            (i, answer.into_inner().evaluation.unwrap())
        });
    }
    let mut ids = std::collections::BTreeSet::new();
    while let Some(done) = calls.join_next().await {
        let (i, evaluation) = done.unwrap();
        assert_eq!(evaluation.metadata["call"], i.to_string(), "its own answer");
        ids.insert(evaluation.id);
    }
    assert_eq!(ids.len(), 64);
    drop(client);

    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}: {log}");
    assert!(log.contains("worker_threads=1"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
