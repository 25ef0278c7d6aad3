//! Two `riskgate serve` processes on one local Redis Cluster (3 primaries, 3 replicas): counts
//! stay exact under concurrent evaluations on shared cards and emails, and idempotent retries
//! (sent to either process) count once.

use riskgate_testkit as common;

use std::net::SocketAddr;

use common::{redis_cluster::RedisCluster, *};
use riskgate::proto::v1::CreatePaymentEvaluationRequest;

const CARDS: usize = 5;
const EMAILS: usize = 3;
const EVALUATIONS: usize = 240;
const CONCURRENCY: usize = 24;

fn request(card: usize, email: usize, ip: usize) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    let email = format!("shopper{email}@example.com");
    req.customer_details.as_mut().unwrap().email = email.clone();
    req.customer_details.as_mut().unwrap().customer = String::new();
    let pm = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    pm.billing_details.as_mut().unwrap().email = email;
    pm.card.as_mut().unwrap().fingerprint = format!("fpExact{card}");
    let device = req.client_device_metadata_details.as_mut().unwrap();
    device.radar_session.clear();
    device.ip = format!("198.51.100.{}", ip + 1);
    req
}

fn config_file(dir: &TempDir, url: &str) -> String {
    // Generous budget: the machine is shared; a degraded answer fails the test. No CPU governor:
    // the test's own clients share the machine and would make it refuse calls.
    dir.file(
        "riskgate.toml",
        &format!(
            "[grpc]\ncpu_target_percent = 0\n\n[pseudonym]\nkey_file = {:?}\n\n\
             [redis]\nurl = \"{url}\"\nbudget_ms = 10000\n",
            common::server::pseudonym_key_file()
        ),
    )
    .display()
    .to_string()
}

fn addr(p: &ServerProcess) -> SocketAddr {
    p.grpc_addr.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateway_processes_on_a_cluster_count_exactly() {
    let cluster = RedisCluster::start().await;
    let dir = TempDir::new("cluster-exactness");
    let config = config_file(&dir, &cluster.url());
    let bin = env!("CARGO_BIN_EXE_riskgate");
    let a = ServerProcess::spawn(bin, &["--config", &config], "info");
    let b = ServerProcess::spawn(bin, &["--config", &config], "info");
    let clients = [client(addr(&a)).await, client(addr(&b)).await];

    // The plan: evaluation i uses card i % CARDS, email (i / CARDS) % EMAILS, one of 4 IPs, and
    // goes to gateway i % 2. Every 8th is an idempotent request, retried on the other gateway.
    let plan: Vec<(usize, usize, usize)> = (0..EVALUATIONS)
        .map(|i| (i % CARDS, (i / CARDS) % EMAILS, i % 4))
        .collect();
    let mut per_card = [0u32; CARDS];
    let mut emails_of_card: Vec<std::collections::BTreeSet<usize>> =
        vec![Default::default(); CARDS];
    let mut per_email = [0u32; EMAILS];
    for &(c, e, _) in &plan {
        per_card[c] += 1;
        per_email[e] += 1;
        emails_of_card[c].insert(e);
    }

    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    for (i, &(c, e, ip)) in plan.iter().enumerate() {
        let mut first = clients[i % 2].clone();
        let mut other = clients[(i + 1) % 2].clone();
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let _permit = permit;
            let mut req = request(c, e, ip);
            if i % 8 == 0 {
                req.idempotency_key = format!("exact-{i}");
            }
            let answer = first
                .create_payment_evaluation(req.clone())
                .await
                .expect("evaluation answered")
                .into_inner();
            let mut replayed = None;
            if i % 8 == 0 {
                // A retry of the same request on the other gateway: replayed, not counted.
                let retry = other.create_payment_evaluation(req).await.unwrap();
                let was_replay = retry
                    .metadata()
                    .get("idempotent-replayed")
                    .is_some_and(|v| v == "true");
                replayed = Some((
                    was_replay,
                    retry.into_inner().evaluation == answer.evaluation,
                ));
            }
            (answer.decision.unwrap().degraded, replayed)
        });
    }
    let mut degraded = 0;
    while let Some(done) = tasks.join_next().await {
        let (was_degraded, replayed) = done.unwrap();
        degraded += usize::from(was_degraded);
        if let Some((was_replay, same)) = replayed {
            assert!(
                was_replay && same,
                "a retry is answered with the first answer"
            );
        }
    }
    assert_eq!(degraded, 0, "no evaluation was degraded");

    // One more evaluation per card (alternating gateways) sees exactly what was counted: every
    // evaluation once, retries not at all.
    for c in 0..CARDS {
        let mut gateway = clients[c % 2].clone();
        let answer = gateway
            .create_payment_evaluation(request(c, 0, 0))
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.decision.as_ref().unwrap().degraded);
        let card_total = number(&answer, "total_charges_per_card_number_hourly");
        assert_eq!(card_total, Some(f64::from(per_card[c])), "card {c}");
        assert_eq!(
            number(&answer, "total_charges_per_card_number_all_time"),
            Some(f64::from(per_card[c])),
            "card {c} all time"
        );
        assert_eq!(
            number(&answer, "email_count_for_card_hourly"),
            Some(emails_of_card[c].len() as f64),
            "distinct emails of card {c}"
        );
    }
    // Email 0 was counted by the CARDS evaluations above as well.
    let mut gateway = clients[1].clone();
    let answer = gateway
        .create_payment_evaluation(request(0, 0, 0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        number(&answer, "total_charges_per_email_hourly"),
        Some(f64::from(per_email[0]) + CARDS as f64)
    );
    assert_eq!(
        number(&answer, "card_count_for_email_hourly"),
        Some(CARDS as f64),
        "every card used email 0"
    );
    let (status_a, _) = a.terminate();
    let (status_b, _) = b.terminate();
    assert!(status_a.success() && status_b.success());
}
