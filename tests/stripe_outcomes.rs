//! The gateway with the fake Stripe on a loopback port: `ReportPaymentOutcome` forwarded to Stripe
//! for evaluations Stripe scored (and only those), off the request path; and Stripe's value lists
//! mirrored for rules, read-only through `ValueListService`.

use riskgate_testkit as common;

use std::{net::SocketAddr, time::Duration};

use common::{
    channel, client, http_get, minimal_stripe_request, redis_server::RedisServer, sample, start,
    test_config,
};
use riskgate::{
    config::{Config, scoring::ScoringMode},
    proto::v1::{
        self as pb, ReportPaymentOutcomeRequest, value_list_service_client::ValueListServiceClient,
    },
};
use riskgate_testkit::fake_stripe::{FakeList, FakeStripe, Fault, Received};

const KEY: &str = "sk_test_outcomes";
const TOKEN: &str = "admin-token-outcomes";

async fn fake() -> (FakeStripe, SocketAddr) {
    FakeStripe::start_local(KEY).await.unwrap()
}

fn config(mode: ScoringMode, fake: SocketAddr) -> Config {
    let mut c = test_config();
    c.scoring.mode = mode;
    c.stripe.base_url = format!("http://{fake}");
    c.stripe.secret_key = Some(KEY.into());
    // Off by default (the report paths are unconfirmed); these tests turn it on.
    c.stripe.report_outcomes = true;
    c.admin_token = Some(TOKEN.into());
    c
}

fn reports(fake: &FakeStripe) -> Vec<Received> {
    fake.received()
        .into_iter()
        .filter(|r| r.path.ends_with("/report_outcome") || r.path.ends_with("/report"))
        .collect()
}

/// Waits (bounded) until the fake has received `n` reports.
async fn wait_for_reports(fake: &FakeStripe, n: usize) -> Vec<Received> {
    for _ in 0..1000 {
        let got = reports(fake);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} reports reached Stripe, expected {n}",
        reports(fake).len()
    );
}

fn outcome(
    evaluation: &str,
    outcome: pb::PaymentOutcome,
    reason: &str,
) -> ReportPaymentOutcomeRequest {
    ReportPaymentOutcomeRequest {
        evaluation: evaluation.into(),
        outcome: outcome as i32,
        decline_reason: reason.into(),
        occurred_at: 0,
        ..Default::default()
    }
}

#[tokio::test]
async fn outcomes_of_stripe_scored_evaluations_reach_stripe_and_local_ones_do_not() {
    let (fake, addr) = fake().await;
    let server = start(config(ScoringMode::Stripe, addr)).await;
    let mut c = client(server.grpc_addr).await;

    // Scored by the local model (per-request override): nothing to tell Stripe.
    let mut local = minimal_stripe_request();
    local.scoring_mode = "local".into();
    let local = c
        .create_payment_evaluation(local)
        .await
        .unwrap()
        .into_inner();
    let local_id = local.evaluation.unwrap().id;
    c.report_payment_outcome(outcome(&local_id, pb::PaymentOutcome::Authorized, ""))
        .await
        .unwrap();

    // Scored by Stripe: a decline goes to Stripe as a rejection, with its reason mapped.
    let scored = c
        .create_payment_evaluation(minimal_stripe_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        scored.decision.as_ref().unwrap().score_source(),
        pb::ScoreSource::Stripe
    );
    let id = scored.evaluation.unwrap().id;
    let answer = c
        .report_payment_outcome(outcome(&id, pb::PaymentOutcome::Declined, "stolen_card"))
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.duplicate);
    let got = wait_for_reports(&fake, 1).await;
    let r = &got[0];
    assert_eq!(r.refused, None, "the fake found the report well formed");
    assert!(
        r.path
            .starts_with("/v1/radar/payment_evaluations/peval_fake")
            && r.path.ends_with("/report_outcome"),
        "{}",
        r.path
    );
    assert_eq!(r.param("type"), Some("rejected"));
    assert_eq!(r.param("rejected[card][reason]"), Some("reported_stolen"));
    assert!(r.param("occurred_at").unwrap().parse::<i64>().unwrap() > 1_700_000_000);
    assert!(
        r.idempotency_key
            .as_deref()
            .unwrap()
            .starts_with("riskgate-outcome-")
    );

    // A dispute later is an event with the evaluated amount; a duplicate report sends nothing new.
    c.report_payment_outcome(outcome(&id, pb::PaymentOutcome::Disputed, ""))
        .await
        .unwrap();
    let dup = c
        .report_payment_outcome(outcome(&id, pb::PaymentOutcome::Disputed, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(dup.duplicate);
    let got = wait_for_reports(&fake, 2).await;
    let r = &got[1];
    assert_eq!(r.refused, None);
    assert_eq!(r.param("events[0][type]"), Some("dispute_opened"));
    assert_eq!(r.param("events[0][dispute_opened][amount]"), Some("2000"));
    assert_eq!(r.param("events[0][dispute_opened][currency]"), Some("usd"));
    assert_eq!(
        r.param("events[0][dispute_opened][reason]"),
        Some("general"),
        "no reason given: not called fraud"
    );

    // Let the worker finish anything queued: the local evaluation's outcome never went out.
    let mut ok = 0.0;
    for _ in 0..500 {
        let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
        ok = sample(
            &metrics,
            "riskgate_upstream_outcome_reports_total{result=\"ok\"}",
        )
        .unwrap_or(0.0);
        if ok >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ok >= 2.0);
    assert_eq!(
        reports(&fake).len(),
        2,
        "one report per Stripe-scored outcome"
    );
    assert!(!reports(&fake).iter().any(|r| r.path.contains(&local_id)));
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn riskgates_own_block_of_a_stripe_scored_payment_is_reported_as_merchant_blocked() {
    let (fake, addr) = fake().await;
    let dir = riskgate_testkit::TempDir::new("merchant-blocked");
    let mut cfg = config(ScoringMode::Stripe, addr);
    cfg.rules.path = Some(dir.file("rules.txt", "Block if :customer: = 'cus_blocked'\n"));
    let server = start(cfg).await;
    let mut c = client(server.grpc_addr).await;
    // Stripe says continue; the merchant's rule blocks.
    let mut req = minimal_stripe_request();
    req.customer_details.as_mut().unwrap().customer = "cus_blocked".into();
    let answer = c.create_payment_evaluation(req).await.unwrap().into_inner();
    assert_eq!(answer.decision.unwrap().action(), pb::Action::Block);
    let got = wait_for_reports(&fake, 1).await;
    let r = &got[0];
    assert_eq!(r.refused, None);
    assert_eq!(r.param("type"), Some("merchant_blocked"));
    assert_eq!(
        r.param("merchant_blocked[reason]"),
        Some("blocked_for_fraud")
    );
    let stripe_id = r.param("payment_evaluation").unwrap().to_owned();
    assert!(r.path.contains(&stripe_id));
    let kept = fake.evaluation(&stripe_id).unwrap();
    assert_eq!(kept["outcome"]["type"], "merchant_blocked");
    // A payment Stripe scored and riskgate let through reports nothing until its outcome comes.
    c.create_payment_evaluation(minimal_stripe_request())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(reports(&fake).len(), 1);
    assert!(fake.own_violations().is_empty());
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn analyst_verdicts_on_stripe_scored_reviews_reach_stripe() {
    use riskgate::proto::v1::review_service_client::ReviewServiceClient;
    use riskgate_testkit::reviews::{ADMIN_TOKEN, authed, review_of};
    let (fake, addr) = fake().await;
    let dir = riskgate_testkit::TempDir::new("verdicts-to-stripe");
    let mut cfg = config(ScoringMode::Stripe, addr);
    cfg.admin_token = Some(ADMIN_TOKEN.into());
    cfg.rules.path = Some(dir.file("rules.txt", "Review if ::order_type:: = 'gift_card'\n"));
    let server = start(cfg).await;
    let mut c = client(server.grpc_addr).await;
    let mut desk = ReviewServiceClient::new(channel(server.grpc_addr).await);
    let mut review = async |customer: &str| {
        let mut req = minimal_stripe_request();
        req.customer_details.as_mut().unwrap().customer = customer.into();
        req.metadata.insert("order_type".into(), "gift_card".into());
        let answer = c.create_payment_evaluation(req).await.unwrap().into_inner();
        let decision = answer.decision.unwrap();
        assert_eq!(decision.action(), pb::Action::Review);
        assert_eq!(decision.score_source(), pb::ScoreSource::Stripe);
        review_of(&mut desk, &answer.evaluation.unwrap().id)
            .await
            .id
    };
    let (rejected, approved) = (review("cus_thief").await, review("cus_good").await);

    // A reject is Stripe's `refunded` event with reason `fraudulent` (how Stripe closes a review
    // rejected as fraud), for the evaluated amount.
    desk.reject_review(authed(
        pb::RejectReviewRequest {
            id: rejected,
            fraud_type: "made_with_stolen_card".into(),
            note: String::new(),
        },
        Some("alice"),
    ))
    .await
    .unwrap();
    let got = wait_for_reports(&fake, 1).await;
    let r = &got[0];
    assert_eq!(r.refused, None, "the fake found the report well formed");
    assert!(r.path.ends_with("/report"), "{}", r.path);
    assert_eq!(r.param("events[0][type]"), Some("refunded"));
    assert_eq!(r.param("events[0][refunded][reason]"), Some("fraudulent"));
    assert_eq!(r.param("events[0][refunded][amount]"), Some("2000"));

    // An approve is the outcome `succeeded`.
    desk.approve_review(authed(
        pb::ApproveReviewRequest {
            id: approved,
            note: String::new(),
        },
        Some("alice"),
    ))
    .await
    .unwrap();
    let got = wait_for_reports(&fake, 2).await;
    let r = &got[1];
    assert_eq!(r.refused, None);
    assert!(r.path.ends_with("/report_outcome"), "{}", r.path);
    assert_eq!(r.param("type"), Some("succeeded"));
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_failing_stripe_is_retried_in_the_background_and_evaluations_go_on() {
    let (fake, addr) = fake().await;
    let server = start(config(ScoringMode::StripeWithFallback, addr)).await;
    let mut c = client(server.grpc_addr).await;
    let scored = c
        .create_payment_evaluation(minimal_stripe_request())
        .await
        .unwrap()
        .into_inner();
    let id = scored.evaluation.unwrap().id;

    // The report's first two attempts fail (a 5xx; a 429 Stripe asks to retry); the third (the
    // policy's last) succeeds.
    fake.script([
        Fault::parse("500").unwrap(),
        Fault::parse("429-retry").unwrap(),
    ]);
    c.report_payment_outcome(outcome(&id, pb::PaymentOutcome::Authorized, ""))
        .await
        .unwrap();
    let got = wait_for_reports(&fake, 3).await;
    assert_eq!(got.len(), 3);
    let key = got[0].idempotency_key.clone();
    assert!(
        got.iter().all(|r| r.idempotency_key == key),
        "one key for every retry"
    );
    assert_eq!(got[2].param("type"), Some("succeeded"));

    // Stripe stalls every report: the RPC still answers at once, and evaluations go on.
    let next = c
        .create_payment_evaluation(minimal_stripe_request())
        .await
        .unwrap()
        .into_inner();
    let next_id = next.evaluation.unwrap().id;
    fake.set_fault(Fault::Stall);
    let answer = c
        .report_payment_outcome(outcome(&next_id, pb::PaymentOutcome::Refunded, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.evaluation, next_id);
    wait_for_reports(&fake, 4).await;
    let mut with_deadline = tonic::Request::new(minimal_stripe_request());
    with_deadline.set_timeout(Duration::from_millis(500));
    let d = c
        .create_payment_evaluation(with_deadline)
        .await
        .unwrap()
        .into_inner();
    let d = d.decision.unwrap();
    assert_eq!(d.score_source(), pb::ScoreSource::Fallback, "Stripe stalls");
    assert!(d.degraded);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn in_redis_mode_any_replica_forwards_the_outcome_of_a_stripe_scored_evaluation() {
    let redis = RedisServer::start().await;
    let (fake, addr) = fake().await;
    let replica = || {
        let mut c = config(ScoringMode::Stripe, addr);
        riskgate_testkit::server::use_redis(&mut c, redis.url());
        c.redis.budget_ms = 2000;
        c
    };
    let a = start(replica()).await;
    let b = start(replica()).await;
    let scored = client(a.grpc_addr)
        .await
        .create_payment_evaluation(minimal_stripe_request())
        .await
        .unwrap()
        .into_inner();
    assert!(!scored.decision.as_ref().unwrap().degraded);
    let id = scored.evaluation.unwrap().id;

    // Replica B never saw the evaluation; Redis tells it Stripe scored it, and which one.
    client(b.grpc_addr)
        .await
        .report_payment_outcome(outcome(&id, pb::PaymentOutcome::EarlyFraudWarning, ""))
        .await
        .unwrap();
    let got = wait_for_reports(&fake, 1).await;
    assert_eq!(got[0].refused, None);
    assert_eq!(
        got[0].param("events[0][type]"),
        Some("early_fraud_warning_received")
    );
    a.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

fn admin<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

#[tokio::test]
async fn stripe_value_lists_apply_to_rules_and_are_read_only_here() {
    let (fake, addr) = fake().await;
    fake.set_value_lists(vec![FakeList::new(
        "rsl_stripe1",
        "stripe_blocked_emails",
        "email",
        &["thief@example.com"],
    )]);
    let dir = std::env::temp_dir().join(format!("riskgate-sync-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.txt");
    std::fs::write(
        &rules,
        "stripe_list: Block if :email: IN @stripe_blocked_emails\n",
    )
    .unwrap();
    let mut cfg = config(ScoringMode::Local, addr);
    cfg.rules.path = Some(rules);
    cfg.stripe.list_sync_interval_secs = 3600;
    let server = start(cfg).await;
    let mut c = client(server.grpc_addr).await;

    let mut req = minimal_stripe_request();
    req.customer_details.as_mut().unwrap().email = "Thief@Example.com".into();
    // The first sync runs at start, in the background: wait for it (bounded).
    let mut blocked = None;
    for _ in 0..500 {
        let d = c
            .create_payment_evaluation(req.clone())
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap();
        if d.action() == pb::Action::Block {
            blocked = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let d = blocked.expect("the synced list blocks the email");
    assert_eq!(d.matched_rule.unwrap().id, "stripe_list");
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert!(
        sample(
            &metrics,
            "riskgate_stripe_list_sync_runs_total{outcome=\"ok\"}"
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(sample(&metrics, "riskgate_stripe_synced_lists"), Some(1.0));

    // Local changes to the mirror are refused, naming Stripe's list.
    let mut lists = ValueListServiceClient::new(channel(server.grpc_addr).await);
    let status = lists
        .create_value_list_item(admin(pb::CreateValueListItemRequest {
            value_list: "stripe_blocked_emails".into(),
            value: "other@example.com".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("rsl_stripe1"),
        "{}",
        status.message()
    );
    let status = lists
        .create_value_list(admin(pb::CreateValueListRequest {
            alias: "stripe_blocked_emails".into(),
            name: "shadowing".into(),
            item_type: "email".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let status = lists
        .delete_value_list_item(admin(pb::DeleteValueListItemRequest {
            id: "rsli_stripe1_0".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);

    // Local lists are untouched by the sync and still writable.
    lists
        .create_value_list_item(admin(pb::CreateValueListItemRequest {
            value_list: "block_list_email".into(),
            value: "local@example.com".into(),
        }))
        .await
        .unwrap();
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
