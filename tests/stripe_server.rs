//! The gateway with a Stripe upstream (the fake Stripe on a loopback port): the answer's source and
//! `degraded` flag per scoring mode and fault, Stripe's level and action deciding (the merchant's
//! rules on top; re-levelled on request), per-request overrides, shadow mode, and signed Stripe
//! webhooks that feed the block lists.

use riskgate_testkit as common;

use std::{net::SocketAddr, time::Duration};

use common::{client, http_get, minimal_stripe_request, post_webhook, sample, start, test_config};
use riskgate::{
    config::{
        Config,
        scoring::{FailPolicy, ScoringMode},
    },
    proto::v1::{self as pb, CreatePaymentEvaluationRequest},
    stripe::webhook::sign_header,
};
use riskgate_testkit::fake_stripe::{FakeStripe, Fault};

const KEY: &str = "sk_test_gateway";
const WHSEC: &str = "whsec_gateway_test";

async fn fake() -> (FakeStripe, SocketAddr) {
    FakeStripe::start_local(KEY).await.unwrap()
}

fn config(mode: ScoringMode, fake: SocketAddr) -> Config {
    let mut c = test_config();
    c.scoring.mode = mode;
    c.stripe.base_url = format!("http://{fake}");
    c.stripe.secret_key = Some(KEY.into());
    c
}

fn with_deadline(
    req: CreatePaymentEvaluationRequest,
    ms: u64,
) -> tonic::Request<CreatePaymentEvaluationRequest> {
    let mut r = tonic::Request::new(req);
    r.set_timeout(Duration::from_millis(ms));
    r
}

fn decision(r: &pb::CreatePaymentEvaluationResponse) -> &pb::Decision {
    r.decision.as_ref().unwrap()
}

#[tokio::test]
async fn stripe_scores_within_the_deadline_else_the_local_model_answers_degraded() {
    let (fake, addr) = fake().await;
    fake.set_delay(Duration::from_millis(20));
    let mut cfg = config(ScoringMode::StripeWithFallback, addr);
    // Room for the local model after the upstream gives up, even on a loaded debug build.
    cfg.scoring.upstream_margin_ms = 50;
    let server = start(cfg).await;
    let mut c = client(server.grpc_addr).await;

    let mut req = minimal_stripe_request();
    req.metadata.insert("fake_score".into(), "80".into());
    let answer = c
        .create_payment_evaluation(with_deadline(req.clone(), 2000))
        .await
        .unwrap();
    let d = decision(answer.get_ref());
    assert_eq!(d.score_source(), pb::ScoreSource::Stripe);
    assert!(!d.degraded);
    assert_eq!((d.risk_score, d.action()), (80, pb::Action::Block));
    assert_eq!(d.risk_level(), pb::RiskLevel::Highest);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == "stripe_recommended_action")
    );
    assert_eq!(fake.received()[0].refused, None);

    // Stalled upstream: the answer still comes, from the local model, flagged.
    fake.set_fault(Fault::Stall);
    let answer = c
        .create_payment_evaluation(with_deadline(req, 150))
        .await
        .unwrap();
    let d = decision(answer.get_ref());
    assert_eq!(d.score_source(), pb::ScoreSource::Fallback);
    assert!(d.degraded);
    assert_eq!(d.reasons[1].code, "stripe_unavailable");
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// One Stripe-scored evaluation at `score` (the fake's level and action for it).
async fn stripe_decision(
    c: &mut pb::payment_evaluation_service_client::PaymentEvaluationServiceClient<
        tonic::transport::Channel,
    >,
    score: &str,
    customer: &str,
) -> pb::Decision {
    let mut req = minimal_stripe_request();
    req.metadata.insert("fake_score".into(), score.into());
    req.customer_details.as_mut().unwrap().customer = customer.into();
    c.create_payment_evaluation(with_deadline(req, 2000))
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap()
}

#[tokio::test]
async fn stripes_level_and_action_decide_with_the_merchants_rules_on_top() {
    let (fake, addr) = fake().await;
    let dir = common::TempDir::new("stripe-decides");
    // Riskgate's own scale calls 40 `highest`, and its default rule would block it.
    let mut cfg = config(ScoringMode::Stripe, addr);
    cfg.risk.elevated_from = 10;
    cfg.risk.highest_from = 30;
    let server = start(cfg.clone()).await;
    let mut c = client(server.grpc_addr).await;
    // Stripe: elevated / continue.
    let d = stripe_decision(&mut c, "40", "cus_1").await;
    assert_eq!(
        (d.action(), d.risk_level(), d.risk_score, d.score_source()),
        (
            pb::Action::Continue,
            pb::RiskLevel::Elevated,
            40,
            pb::ScoreSource::Stripe
        )
    );
    assert!(
        d.matched_rule.is_none(),
        "the level-derived rules are the local model's"
    );
    // Stripe: highest / request 3D Secure — not riskgate's default block.
    let d = stripe_decision(&mut c, "70", "cus_1").await;
    assert_eq!(
        (d.action(), d.risk_level()),
        (pb::Action::RequestThreeDSecure, pb::RiskLevel::Highest)
    );
    // Stripe's own levels: low, and not assessed (no score).
    let d = stripe_decision(&mut c, "2", "cus_1").await;
    assert_eq!(d.risk_level(), pb::RiskLevel::Low);
    let d = stripe_decision(&mut c, "-1", "cus_1").await;
    assert_eq!(
        (d.action(), d.risk_level(), d.risk_score, d.degraded),
        (pb::Action::Continue, pb::RiskLevel::NotAssessed, 0, false)
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();

    // The merchant's rules run on top: a matching rule decides, on Stripe's level and score.
    let rules = dir.file(
        "rules.txt",
        "vip: Allow if :customer: = 'cus_vip'\n\
         Block if :risk_level: = 'elevated' AND :risk_score: > 35\n",
    );
    let mut with_rules = cfg.clone();
    with_rules.rules.path = Some(rules);
    let server = start(with_rules).await;
    let mut c = client(server.grpc_addr).await;
    let d = stripe_decision(&mut c, "40", "cus_1").await;
    assert_eq!(d.action(), pb::Action::Block);
    assert_eq!(d.matched_rule.unwrap().id, "line_2");
    let d = stripe_decision(&mut c, "90", "cus_vip").await;
    assert_eq!(
        (d.action(), d.risk_level()),
        (pb::Action::Continue, pb::RiskLevel::Highest)
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();

    // `relevel`: one scale — Stripe's 40 is riskgate's `highest`, and the default rule blocks it;
    // a payment Stripe did not assess is unscored (the fail policy, degraded).
    let mut relevel = cfg;
    relevel.scoring.stripe_levels = riskgate::config::scoring::StripeLevels::Relevel;
    let server = start(relevel).await;
    let mut c = client(server.grpc_addr).await;
    let d = stripe_decision(&mut c, "40", "cus_1").await;
    assert_eq!(
        (d.action(), d.risk_level(), d.score_source()),
        (
            pb::Action::Block,
            pb::RiskLevel::Highest,
            pb::ScoreSource::Stripe
        )
    );
    let d = stripe_decision(&mut c, "-1", "cus_1").await;
    assert_eq!(
        (d.risk_level(), d.degraded, d.score_source()),
        (pb::RiskLevel::NotAssessed, true, pb::ScoreSource::Fallback)
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(fake.own_violations().is_empty());
}

#[tokio::test]
async fn without_a_scorer_the_fail_policy_decides_and_says_so() {
    let (fake, addr) = fake().await;
    fake.set_fault(Fault::parse("500-no-retry").unwrap());
    let mut cfg = config(ScoringMode::Stripe, addr);
    cfg.scoring.fail_policy = FailPolicy::Closed;
    let server = start(cfg).await;
    let mut c = client(server.grpc_addr).await;
    let answer = c
        .create_payment_evaluation(with_deadline(minimal_stripe_request(), 1000))
        .await
        .unwrap();
    let d = decision(answer.get_ref());
    assert_eq!(d.action(), pb::Action::Block);
    assert!(d.degraded);
    assert_eq!(d.score_source(), pb::ScoreSource::Fallback);
    assert_eq!(d.reasons[0].code, "not_scored");
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn requests_override_the_mode_and_shadow_runs_stripe_in_the_background() {
    let (fake, addr) = fake().await;
    let server = start(config(ScoringMode::Shadow, addr)).await;
    let mut c = client(server.grpc_addr).await;

    let mut req = minimal_stripe_request();
    req.scoring_mode = "stripe".into();
    req.metadata.insert("fake_score".into(), "33".into());
    let d = c
        .create_payment_evaluation(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision(&d).score_source(), pb::ScoreSource::Stripe);
    assert_eq!(decision(&d).risk_score, 33);

    req.scoring_mode = "remote".into();
    let status = c.create_payment_evaluation(req.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("scoring_mode"),
        "{}",
        status.message()
    );

    // Shadow (the configured mode): the local model answers, Stripe is asked off the request path.
    req.scoring_mode.clear();
    let before = fake.received().len();
    let d = c.create_payment_evaluation(req).await.unwrap().into_inner();
    assert_eq!(decision(&d).score_source(), pb::ScoreSource::LocalModel);
    let mut waited = 0;
    while fake.received().len() == before && waited < 500 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    assert_eq!(
        fake.received().len(),
        before + 1,
        "the shadow call reached Stripe"
    );
    let mut compared = None;
    for _ in 0..500 {
        let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
        compared = ["agree", "disagree"].iter().find_map(|a| {
            sample(
                &metrics,
                &format!("riskgate_shadow_comparisons_total{{agreement=\"{a}\"}}"),
            )
        });
        if compared.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(compared.unwrap() >= 1.0);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn stripe_modes_need_a_secret_key() {
    let mut cfg = test_config();
    cfg.scoring.mode = ScoringMode::Stripe;
    cfg.stripe.secret_key_file = Some("/nonexistent/stripe-key".into());
    let err = riskgate::server::Server::new(cfg)
        .start()
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("stripe-key"), "{err}");
}

#[tokio::test]
async fn a_signed_early_fraud_warning_blocks_the_next_payment_with_that_card() {
    let dir = std::env::temp_dir().join(format!("riskgate-efw-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.txt");
    std::fs::write(
        &rules,
        "efw: Block if :card_fingerprint: IN @block_list_card_fingerprint\n\
         Block if :risk_level: = 'highest'\n",
    )
    .unwrap();
    let mut cfg = test_config();
    cfg.rules.path = Some(rules);
    cfg.webhooks.secret = Some(WHSEC.into());
    cfg.webhooks.labels_path = Some(dir.join("labels.ndjson"));
    let server = start(cfg).await;
    let mut c = client(server.grpc_addr).await;

    let mut req = minimal_stripe_request();
    let card = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    card.card = Some(pb::CardDetails {
        fingerprint: "Xk9fp2StolenCard".into(),
        ..Default::default()
    });
    let before = c
        .create_payment_evaluation(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_ne!(decision(&before).action(), pb::Action::Block);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let event = serde_json::json!({
        "id": "evt_efw_gateway", "object": "event",
        "type": "radar.early_fraud_warning.created",
        "data": {"object": {
            "id": "issfr_9", "object": "radar.early_fraud_warning",
            "fraud_type": "made_with_stolen_card", "actionable": true, "created": now,
            "charge": {"id": "ch_9", "object": "charge",
                "payment_method_details": {"card": {"fingerprint": "Xk9fp2StolenCard"}}},
        }},
    })
    .to_string();

    // Bad signatures are refused and counted; nothing is blocked.
    let (status, _) = post_webhook(
        server.admin_addr,
        &sign_header("whsec_wrong", now, event.as_bytes()),
        event.as_bytes(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, why) = post_webhook(
        server.admin_addr,
        // Well past the 300 s tolerance: the server's clock is anchored to whole seconds when it
        // starts, so one second past it can read as exactly 300 s old.
        &sign_header(WHSEC, now - 400, event.as_bytes()),
        event.as_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{why}");
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert!(
        sample(
            &metrics,
            "riskgate_stripe_webhooks_total{outcome=\"bad_signature\",event=\"unknown\"}"
        )
        .unwrap()
            >= 2.0
    );
    let still = c
        .create_payment_evaluation(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_ne!(decision(&still).action(), pb::Action::Block);

    let sig = sign_header(WHSEC, now, event.as_bytes());
    let (status, body) = post_webhook(server.admin_addr, &sig, event.as_bytes()).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "accepted radar.early_fraud_warning.created\n")
    );
    let (status, body) = post_webhook(server.admin_addr, &sig, event.as_bytes()).await;
    assert_eq!((status, body.as_str()), (200, "duplicate event\n"));
    // Applied off the request path: the label line is written last.
    for _ in 0..500 {
        if std::fs::read_to_string(dir.join("labels.ndjson")).is_ok_and(|l| !l.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let after = c.create_payment_evaluation(req).await.unwrap().into_inner();
    let d = decision(&after);
    assert_eq!(d.action(), pb::Action::Block);
    assert_eq!(d.matched_rule.as_ref().unwrap().id, "efw");
    let labels = std::fs::read_to_string(dir.join("labels.ndjson")).unwrap();
    assert_eq!(labels.lines().count(), 1);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn webhooks_are_off_without_a_secret() {
    let server = start(test_config()).await;
    let (status, _) = post_webhook(server.admin_addr, "t=1,v1=00", b"{}").await;
    assert_eq!(status, 404);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
