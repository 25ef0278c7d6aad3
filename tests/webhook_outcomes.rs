//! Stripe webhooks as Stripe sends them, through the real server and the fake Stripe over
//! loopback: `data.object.charge` is a charge id, so the gateway fetches the charge
//! (`GET /v1/charges/{id}`) off the request path and teaches outcome memory what the event says
//! about the charge's card, customer and email; the next decision on any of them changes.
//!
//! - an early fraud warning blocks the card and reviews the fraudster's new card; its `updated`
//!   event and a redelivery count once; a charge Stripe does not have ends its event; a non-fraud
//!   dispute is recorded as such;
//! - a charge fetch that fails is retried off the request path; an accepted event survives a
//!   restart (applied then) and a restart does not apply an event again;
//! - two gateways on one Redis: a redelivery to the other is a duplicate, and both decide on it.

use riskgate_testkit as common;

use std::{net::SocketAddr, path::Path, time::Duration};

use common::{
    TempDir, card_payment, client, decided, evaluate,
    fake_stripe::{FakeStripe, Fault, charge},
    number, post_stripe_webhook,
    redis_server::RedisServer,
    start, test_config, use_redis,
};
use riskgate::{config::Config, proto::v1 as pb};

const KEY: &str = "sk_test_webhooks";
const WHSEC: &str = "whsec_webhook_outcomes";

/// A gateway scoring locally, with webhooks on, fetching charges from the fake at `fake`,
/// applying one event at a time (so a later event's label line says the earlier ones are done),
/// labels in `dir/labels.ndjson` and outcome memory (and the deliveries ledger beside it) in `dir`.
fn config(fake: SocketAddr, dir: &Path) -> Config {
    let mut c = test_config();
    c.stripe.base_url = format!("http://{fake}");
    c.stripe.secret_key = Some(KEY.into());
    c.stripe.max_retries = 0;
    c.webhooks.secret = Some(WHSEC.into());
    c.webhooks.labels_path = Some(dir.join("labels.ndjson"));
    c.webhooks.concurrency = 1;
    c.webhooks.retry_initial_backoff_ms = 10;
    c.webhooks.retry_max_backoff_ms = 20;
    c.webhooks.charge_fetch_budget_ms = 2_000;
    c.enrichment.outcomes_path = Some(dir.join("outcomes.journal"));
    c
}

/// The action and the deciding rule's id.
fn action_and_rule(answer: &pb::CreatePaymentEvaluationResponse) -> (pb::Action, String) {
    let (action, rule, _) = decided(answer);
    (action, rule)
}

/// `radar.early_fraud_warning.<verb>` for warning `warning` on charge id `charge`, as Stripe
/// sends it (the charge not expanded).
fn early_fraud_warning(event: &str, verb: &str, warning: &str, charge: &str) -> String {
    serde_json::json!({
        "id": event, "object": "event", "api_version": "2025-03-31.basil", "livemode": false,
        "type": format!("radar.early_fraud_warning.{verb}"),
        "created": 1_795_000_100,
        "data": {"object": {
            "id": warning, "object": "radar.early_fraud_warning", "actionable": verb == "created",
            "fraud_type": "made_with_stolen_card", "created": 0, "livemode": false,
            "charge": charge, "payment_intent": format!("pi_{charge}"),
        }},
    })
    .to_string()
}

/// `charge.dispute.<verb>` for dispute `dispute` on charge id `charge` with `reason`.
fn dispute(event: &str, verb: &str, dispute: &str, charge: &str, reason: &str) -> String {
    serde_json::json!({
        "id": event, "object": "event", "type": format!("charge.dispute.{verb}"),
        "data": {"object": {
            "id": dispute, "object": "dispute", "amount": 1000, "currency": "usd",
            "charge": charge, "payment_intent": null, "reason": reason,
            "status": if verb == "closed" { "lost" } else { "needs_response" }, "created": 0,
        }},
    })
    .to_string()
}

/// The label lines written so far.
fn labels(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("labels.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits (at most 10 s) until `n` labels were applied.
async fn wait_for_labels(dir: &Path, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..500 {
        let l = labels(dir);
        if l.len() >= n {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{n} labels should have been applied within 10 s: {:?}",
        labels(dir)
    );
}

/// Charge fetches of `charge` the fake received (and accepted).
fn fetches(fake: &FakeStripe, charge: &str) -> usize {
    let path = format!("/v1/charges/{charge}");
    fake.received()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .inspect(|r| assert_eq!(r.refused, None, "{path}"))
        .count()
}

#[tokio::test]
async fn an_early_fraud_warning_as_stripe_sends_it_blocks_the_card_and_reviews_the_new_one() {
    let (fake, addr) = FakeStripe::start_local(KEY).await.unwrap();
    let dir = TempDir::new("webhook-efw");
    fake.insert_charge(charge(
        "ch_3Wh1",
        "fpWhStolen1",
        Some("cus_WhThief"),
        Some("Wh.Thief@Example.com"),
    ));
    fake.insert_charge(charge(
        "ch_3Wh2",
        "fpWhHonest2",
        Some("cus_WhHonest"),
        Some("honest@example.com"),
    ));
    let server = start(config(addr, dir.path())).await;
    let mut c = client(server.grpc_addr).await;

    let stolen = card_payment(
        "fpWhStolen1",
        "wh.thief@example.com",
        "cus_WhThief",
        "198.51.100.101",
    );
    assert_eq!(
        action_and_rule(&evaluate(&mut c, &stolen).await).0,
        pb::Action::Continue
    );

    let efw = early_fraud_warning("evt_Wh1", "created", "issfr_Wh1", "ch_3Wh1");
    let (status, body) = post_stripe_webhook(server.admin_addr, WHSEC, &efw).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "accepted radar.early_fraud_warning.created\n")
    );
    let (status, body) = post_stripe_webhook(server.admin_addr, WHSEC, &efw).await;
    assert_eq!((status, body.as_str()), (200, "duplicate event\n"));
    // The warning's update, then a non-fraud dispute on another charge: applied in order.
    let update = early_fraud_warning("evt_Wh2", "updated", "issfr_Wh1", "ch_3Wh1");
    assert_eq!(
        post_stripe_webhook(server.admin_addr, WHSEC, &update)
            .await
            .0,
        200
    );
    // A charge Stripe does not have: fetched once (404 is not retried), nothing learned.
    let gone = early_fraud_warning("evt_WhGone", "created", "issfr_WhGone", "ch_3WhGone");
    assert_eq!(
        post_stripe_webhook(server.admin_addr, WHSEC, &gone).await.0,
        200
    );
    let service = dispute(
        "evt_Wh3",
        "created",
        "du_Wh3",
        "ch_3Wh2",
        "product_not_received",
    );
    assert_eq!(
        post_stripe_webhook(server.admin_addr, WHSEC, &service)
            .await
            .0,
        200
    );

    let learned = wait_for_labels(dir.path(), 2).await;
    assert_eq!(
        learned.len(),
        2,
        "the update taught nothing new: {learned:?}"
    );
    assert_eq!(learned[0]["label"]["name"], "early_fraud_warning");
    assert_eq!(learned[0]["stripe"]["charge"], "ch_3Wh1");
    assert_eq!(learned[1]["label"]["name"], "service_dispute");
    assert_eq!(learned[1]["label"]["fraud"], false);
    assert!(
        !std::fs::read_to_string(dir.path().join("labels.ndjson"))
            .unwrap()
            .to_lowercase()
            .contains("thief@"),
        "no email in the labels"
    );
    assert_eq!(
        fetches(&fake, "ch_3Wh1"),
        2,
        "each event fetched the charge"
    );
    assert_eq!(fetches(&fake, "ch_3WhGone"), 1);
    assert!(
        fake.own_violations().is_empty(),
        "{:?}",
        fake.own_violations()
    );

    // The card: blocked, with one fraud outcome (the update did not count again).
    let again = evaluate(&mut c, &stolen).await;
    assert_eq!(
        action_and_rule(&again),
        (pb::Action::Block, "prior_fraud_on_card".into())
    );
    assert_eq!(
        number(&again, "fraud_outcome_count_on_card_all_time"),
        Some(1.0)
    );
    // The fraudster's new card with the same email and customer: reviewed.
    let new_card = card_payment(
        "fpWhFresh3",
        "wh.thief@example.com",
        "cus_WhThief",
        "192.0.2.102",
    );
    let back = evaluate(&mut c, &new_card).await;
    assert_eq!(
        action_and_rule(&back),
        (pb::Action::Review, "prior_fraud_on_linked_entity".into())
    );
    // A service dispute is not fraud.
    let honest = evaluate(
        &mut c,
        &card_payment(
            "fpWhHonest2",
            "honest@example.com",
            "cus_WhHonest",
            "203.0.113.103",
        ),
    )
    .await;
    assert_eq!(
        action_and_rule(&honest).0,
        pb::Action::Continue,
        "{:?}",
        honest.decision
    );
    assert_eq!(
        number(&honest, "fraud_outcome_count_on_card_all_time"),
        Some(0.0)
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn accepted_events_survive_a_restart_which_applies_nothing_twice() {
    let (fake, addr) = FakeStripe::start_local(KEY).await.unwrap();
    let dir = TempDir::new("webhook-restart");
    fake.insert_charge(charge("ch_3Rs1", "fpRsDone1", Some("cus_Rs1"), None));
    fake.insert_charge(charge("ch_3Rs2", "fpRsLate2", Some("cus_Rs2"), None));
    let mut cfg = config(addr, dir.path());
    cfg.webhooks.max_attempts = 3;

    let server = start(cfg.clone()).await;
    let applied = dispute("evt_Rs1", "created", "du_Rs1", "ch_3Rs1", "fraudulent");
    assert_eq!(
        post_stripe_webhook(server.admin_addr, WHSEC, &applied)
            .await
            .0,
        200
    );
    wait_for_labels(dir.path(), 1).await;

    // Stripe fails every charge fetch: the event is accepted (2xx), tried, and stays pending.
    fake.set_fault(Fault::Status {
        code: 503,
        should_retry: None,
    });
    let late = early_fraud_warning("evt_Rs2", "created", "issfr_Rs2", "ch_3Rs2");
    assert_eq!(
        post_stripe_webhook(server.admin_addr, WHSEC, &late).await.0,
        200
    );
    for _ in 0..500 {
        if fake
            .received()
            .iter()
            .filter(|r| r.path == "/v1/charges/ch_3Rs2")
            .count()
            >= 3
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        fake.received()
            .iter()
            .filter(|r| r.path == "/v1/charges/ch_3Rs2")
            .count()
            >= 3
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(labels(dir.path()).len(), 1);

    // Stripe is back; a new gateway on the same data: the pending event is applied at start,
    // and both events are duplicates now.
    fake.set_fault(Fault::None);
    let server = start(cfg).await;
    let learned = wait_for_labels(dir.path(), 2).await;
    assert_eq!(learned[1]["stripe"]["event"], "evt_Rs2");
    for event in [&applied, &late] {
        let (status, body) = post_stripe_webhook(server.admin_addr, WHSEC, event).await;
        assert_eq!((status, body.as_str()), (200, "duplicate event\n"));
    }
    let mut c = client(server.grpc_addr).await;
    for (fingerprint, customer, ip) in [
        ("fpRsDone1", "cus_Rs1", "198.51.100.111"),
        ("fpRsLate2", "cus_Rs2", "203.0.113.112"),
    ] {
        let email = format!("{customer}@example.com");
        let next = evaluate(&mut c, &card_payment(fingerprint, &email, customer, ip)).await;
        assert_eq!(
            action_and_rule(&next).1,
            "prior_fraud_on_card",
            "{fingerprint}"
        );
        assert_eq!(
            number(&next, "fraud_outcome_count_on_card_all_time"),
            Some(1.0),
            "{fingerprint}: applied once"
        );
    }
    assert_eq!(labels(dir.path()).len(), 2);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn two_gateways_on_one_redis_take_a_delivery_once_and_both_learn_it() {
    let (fake, addr) = FakeStripe::start_local(KEY).await.unwrap();
    let redis = RedisServer::start().await;
    let (dir_a, dir_b) = (
        TempDir::new("webhook-redis-a"),
        TempDir::new("webhook-redis-b"),
    );
    fake.insert_charge(charge(
        "ch_3Rd1",
        "fpRdShared1",
        Some("cus_Rd1"),
        Some("rd@example.com"),
    ));
    let replica = |dir: &Path| {
        let mut c = config(addr, dir);
        use_redis(&mut c, redis.url());
        c.redis.budget_ms = 2000;
        c
    };
    let a = start(replica(dir_a.path())).await;
    let b = start(replica(dir_b.path())).await;

    let efw = early_fraud_warning("evt_Rd1", "created", "issfr_Rd1", "ch_3Rd1");
    assert_eq!(post_stripe_webhook(a.admin_addr, WHSEC, &efw).await.0, 200);
    let (status, body) = post_stripe_webhook(b.admin_addr, WHSEC, &efw).await;
    assert_eq!((status, body.as_str()), (200, "duplicate event\n"));
    wait_for_labels(dir_a.path(), 1).await;
    assert!(labels(dir_b.path()).is_empty());

    let mut cb = client(b.grpc_addr).await;
    let on_b = evaluate(
        &mut cb,
        &card_payment("fpRdShared1", "rd@example.com", "cus_Rd1", "198.51.100.121"),
    )
    .await;
    assert_eq!(action_and_rule(&on_b).1, "prior_fraud_on_card");
    for s in [a, b] {
        s.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}
