//! Graceful shutdown: readiness and health go NOT_SERVING first, in-flight calls finish, then the
//! server stops; the binary does the same on SIGTERM and exits 0.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

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
    assert!(
        tokio::net::TcpStream::connect(grpc_addr).await.is_err(),
        "listener closed"
    );
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let serving = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("riskgate serving"))
        .expect("serving log line");
    let grpc_addr = serving
        .split_whitespace()
        .find_map(|w| w.strip_prefix("grpc_addr="))
        .expect("grpc_addr in the log line")
        .to_owned();

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/evaluation.json");
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["eval", "--addr", &format!("http://{grpc_addr}"), example])
        .output()
        .unwrap();
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

    let probe = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["probe", "--addr", &format!("http://{grpc_addr}")])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let probe = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "probe",
            "--addr",
            &format!("http://{grpc_addr}"),
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
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}
