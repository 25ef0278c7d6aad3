//! Losing a Redis Cluster primary under load: its replica takes over, no evaluation fails (those
//! that need the lost slots answer `degraded` meanwhile), and counting on the cluster resumes.
//! Prints the share of degraded answers and the seconds from the kill to the last degraded one.

use riskgate_testkit as common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{redis_cluster::RedisCluster, *};
use riskgate::proto::v1::CreatePaymentEvaluationRequest;

const CARDS: usize = 60;
const CALLERS: usize = 6;

fn request(card: usize) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    let pm = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    pm.card.as_mut().unwrap().fingerprint = format!("fpFailover{card}");
    let email = format!("failover{card}@example.com");
    pm.billing_details.as_mut().unwrap().email = email.clone();
    let customer = req.customer_details.as_mut().unwrap();
    customer.email = email;
    customer.customer = format!("cus_failover{card}");
    req.client_device_metadata_details
        .as_mut()
        .unwrap()
        .radar_session
        .clear();
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_a_primary_degrades_answers_for_seconds_and_fails_none() {
    let mut cluster = RedisCluster::start().await;
    let mut config = test_config();
    use_redis(&mut config, cluster.url());
    // Short enough that a lost shard degrades answers quickly instead of holding them.
    config.redis.budget_ms = 250;
    let gateway = start(config).await;
    let client = client(gateway.grpc_addr).await;

    // Warm up: every card once, all answered from the cluster.
    for card in 0..CARDS {
        let answer = client
            .clone()
            .create_payment_evaluation(request(card))
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.decision.unwrap().degraded, "card {card} before");
    }

    // Load: CALLERS loops over the cards until stopped; each answer's time and degraded flag.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let failed = Arc::new(AtomicUsize::new(0));
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..CALLERS {
        let (stop, failed, mut client) = (stop.clone(), failed.clone(), client.clone());
        callers.spawn(async move {
            let mut answers: Vec<(Duration, bool)> = Vec::new();
            let mut card = caller;
            while !stop.load(Ordering::Relaxed) {
                match client.create_payment_evaluation(request(card)).await {
                    Ok(a) => {
                        answers.push((started.elapsed(), a.into_inner().decision.unwrap().degraded))
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                card = (card + CALLERS) % CARDS;
                // Paces the load (a few hundred calls a second), not a timing assertion.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            answers
        });
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = cluster.primaries()[0];
    let killed_at = started.elapsed();
    cluster.kill(victim);
    // Until the replica is promoted and the cluster is ok again (bounded)…
    cluster.wait_for_failover(victim).await;
    let promoted_at = started.elapsed();
    // …then load on for long enough to see answers come back from the cluster.
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    while let Some(done) = callers.join_next().await {
        answers.extend(done.unwrap());
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no evaluation failed");

    let after_kill: Vec<&(Duration, bool)> =
        answers.iter().filter(|(t, _)| *t >= killed_at).collect();
    let degraded = after_kill.iter().filter(|(_, d)| *d).count();
    let before_kill_degraded = answers.iter().filter(|(t, d)| *t < killed_at && *d).count();
    let last_degraded = after_kill
        .iter()
        .filter(|(_, d)| *d)
        .map(|(t, _)| *t)
        .max()
        .unwrap_or(killed_at);
    let recovered_secs = (last_degraded - killed_at).as_secs_f64();
    println!(
        "failover: {} answers after the kill, {degraded} degraded ({:.1} %); replica promoted \
         {:.1} s after the kill; last degraded answer {recovered_secs:.1} s after the kill; \
         {} answers in all, {before_kill_degraded} degraded before the kill",
        after_kill.len(),
        100.0 * degraded as f64 / after_kill.len().max(1) as f64,
        (promoted_at - killed_at).as_secs_f64(),
        answers.len(),
    );
    assert_eq!(before_kill_degraded, 0);
    assert!(degraded > 0, "some answers needed the lost shard");
    assert!(
        answers.iter().any(|(t, d)| *t > last_degraded && !d),
        "answers come from the cluster again after the failover"
    );

    // Counting resumes on every card: two evaluations in a row see n, then n + 1.
    let mut client = client.clone();
    for card in 0..CARDS {
        let first = client
            .create_payment_evaluation(request(card))
            .await
            .unwrap()
            .into_inner();
        let second = client
            .create_payment_evaluation(request(card))
            .await
            .unwrap()
            .into_inner();
        assert!(!first.decision.as_ref().unwrap().degraded, "card {card}");
        assert!(!second.decision.as_ref().unwrap().degraded, "card {card}");
        let n = number(&first, "total_charges_per_card_number_hourly").unwrap();
        assert_eq!(
            number(&second, "total_charges_per_card_number_hourly"),
            Some(n + 1.0),
            "card {card}"
        );
    }
    gateway.shutdown(Duration::from_secs(5)).await.unwrap();
}
