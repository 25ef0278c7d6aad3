//! A short smoke run of the generator against the real gateway started in this process (TCP and Unix
//! socket, open and closed loop): every call answered OK, and the gateway's own request counter agrees
//! with the generator's count exactly. No timing is asserted.

use std::{sync::Arc, time::Duration};

use riskgate::{config::Config, server::Server};
use riskgate_load::{LoadConfig, Mode, Summary, Target};

const METHOD_LABEL: &str = "riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";

/// The gateway's count of calls to the evaluation method, every code, from the process-wide recorder.
fn server_count() -> u64 {
    riskgate::telemetry::metrics_handle()
        .render()
        .lines()
        .filter(|l| l.starts_with(riskgate::telemetry::GRPC_REQUESTS) && l.contains(METHOD_LABEL))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn config(target: Target, mode: Mode) -> LoadConfig {
    LoadConfig {
        target,
        mode,
        connections: 2,
        warmup: Duration::from_millis(200),
        duration: Duration::from_millis(600),
        timeout: Duration::from_secs(5),
        max_in_flight: 10_000,
        requests: Arc::new(riskgate_load::simulated(11, 3)),
        progress: false,
        step_down: None,
        p99_budget: Duration::from_millis(50),
        pacing_slack: None,
    }
}

fn check(summary: &Summary, before: u64) {
    assert!(summary.errors.is_empty(), "{}", summary.human());
    assert!(summary.sent > 0, "{}", summary.human());
    assert_eq!(summary.ok, summary.sent, "{}", summary.human());
    assert_eq!(summary.latency_us.count, summary.ok);
    assert!(summary.latency_us.p50 <= summary.latency_us.p99);
    assert!(summary.latency_us.p99 <= summary.latency_us.max);
    assert_eq!(summary.not_sent, 0);
    // Everything sent in every phase reached the gateway's counter.
    assert_eq!(
        server_count() - before,
        summary.calls_total,
        "{}",
        summary.human()
    );
    let json = serde_json::to_value(summary).unwrap();
    assert!(json["latency_us"]["p999"].is_u64());
    assert!(json["generator"]["cpu_seconds"].as_f64().unwrap() >= 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_drives_the_real_gateway() {
    let sock =
        std::env::temp_dir().join(format!("riskgate-load-smoke-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let mut c = Config::default();
    c.grpc.addr = "127.0.0.1:0".parse().unwrap();
    c.admin.addr = "127.0.0.1:0".parse().unwrap();
    c.grpc.uds_path = Some(sock.clone());
    // The generator shares this runtime and its closed loop saturates it on purpose; the CPU
    // governor would then refuse calls, and this test checks counting, not shedding.
    c.grpc.cpu_target_percent = 0;
    let running = Server::new(c).start().await.expect("server starts");
    let tcp = Target::Tcp(format!("http://{}", running.grpc_addr));

    // Open loop over TCP with a ramp: 202.5/s, ramp 0.2 s.
    let before = server_count();
    let open = Mode::Open {
        rate: 202.5,
        ramp: Duration::from_millis(200),
    };
    let summary = riskgate_load::run(config(tcp.clone(), open)).await.unwrap();
    check(&summary, before);
    assert_eq!(summary.mode, "open");
    assert!(summary.send_lag_us.is_some());
    // The window [0.4 s, 1.0 s) holds slots 61..=182 of the fixed schedule (20.25 in the ramp, then
    // one every 1/202.5 s), whatever the timing: exactly 122.
    assert_eq!(summary.sent, 122, "{}", summary.human());

    // A step down (the overload scenario's shape, with its timer slack, at a rate this server
    // takes easily): each phase holds exactly its slots of the schedule, and the timeline adds up
    // to the window.
    let before = server_count();
    let mut stepped = config(
        tcp.clone(),
        Mode::Open {
            rate: 200.0,
            ramp: Duration::ZERO,
        },
    );
    stepped.duration = Duration::from_secs(2);
    stepped.step_down = Some(riskgate_load::StepDown {
        after: Duration::from_secs(1),
        rate: 100.0,
    });
    stepped.pacing_slack = Some(Duration::from_micros(200));
    let summary = riskgate_load::run(stepped).await.unwrap();
    check(&summary, before);
    assert_eq!(summary.pacing_slack_us, Some(200));
    let sd = summary.step_down.as_ref().expect("step-down figures");
    assert_eq!(
        (sd.before.sent, sd.after.sent),
        (200, 100),
        "{}",
        summary.human()
    );
    assert_eq!((sd.before.refused, sd.after.refused), (0, 0));
    assert_eq!(summary.timeline.len(), 2);
    assert_eq!(
        summary.timeline.iter().map(|s| s.ok).sum::<u64>(),
        summary.ok
    );

    // Closed loop over the Unix socket.
    let before = server_count();
    let closed = Mode::Closed { concurrency: 4 };
    let summary = riskgate_load::run(config(Target::Uds(sock.clone()), closed))
        .await
        .unwrap();
    check(&summary, before);
    assert_eq!(summary.mode, "closed");
    assert!(summary.send_lag_us.is_none());

    // A target that is not listening is an error, not an empty summary.
    let nowhere = Target::Tcp("http://127.0.0.1:1".into());
    let err = riskgate_load::run(config(nowhere, closed))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");

    running.shutdown(Duration::from_secs(1)).await.unwrap();
    let _ = std::fs::remove_file(&sock);
}
