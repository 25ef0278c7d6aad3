//! Outcome memory through the real server, on the embedded defaults (the default model and rules,
//! no rule written by the merchant): what is learned after a decision changes the next one.
//!
//! - an early fraud warning reported on a payment blocks the card's next payment and sends the
//!   same customer's / email's / device's next payment with a new card to review, each naming its
//!   reason;
//! - a non-fraud dispute teaches nothing that blocks;
//! - one card with many emails, one email with many cards, are reviewed;
//! - a merchant-initiated recurring charge (no device data) of a known, clean card continues;
//! - the labels survive a restart on the same outcome journal;
//! - two replicas on one Redis share them.

use riskgate_testkit as common;

use riskgate::proto::v1::{
    self as pb, CreatePaymentEvaluationRequest, ReportPaymentOutcomeRequest,
    payment_evaluation_service_client::PaymentEvaluationServiceClient,
};
use tonic::transport::Channel;

use common::{redis_server::RedisServer, *};

async fn report(
    client: &mut PaymentEvaluationServiceClient<Channel>,
    answer: &pb::CreatePaymentEvaluationResponse,
    outcome: pb::PaymentOutcome,
    f: impl FnOnce(&mut ReportPaymentOutcomeRequest),
) -> pb::ReportPaymentOutcomeResponse {
    let mut req = ReportPaymentOutcomeRequest {
        evaluation: answer.evaluation.as_ref().unwrap().id.clone(),
        outcome: outcome as i32,
        ..Default::default()
    };
    f(&mut req);
    client
        .report_payment_outcome(req)
        .await
        .unwrap()
        .into_inner()
}

fn first_reason(answer: &pb::CreatePaymentEvaluationResponse) -> String {
    answer.decision.as_ref().unwrap().reasons[0].message.clone()
}

#[tokio::test]
async fn an_early_fraud_warning_blocks_the_card_and_reviews_the_fraudsters_new_card() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;

    let stolen = card_payment(
        "fpStolen1",
        "thief@example.net",
        "cus_Thief1",
        "198.51.100.20",
    );
    let first = evaluate(&mut client, &stolen).await;
    assert_eq!(decided(&first).0, pb::Action::Continue, "nothing known yet");
    let learned = report(
        &mut client,
        &first,
        pb::PaymentOutcome::EarlyFraudWarning,
        |r| r.fraud_type = "made_with_stolen_card".into(),
    )
    .await;
    assert_eq!(learned.label, "early_fraud_warning");

    // The same card again: blocked, and the answer says why.
    let again = evaluate(&mut client, &stolen).await;
    assert_eq!(
        decided(&again),
        (
            pb::Action::Block,
            "prior_fraud_on_card".into(),
            "prior_fraud_on_card".into()
        )
    );
    assert_eq!(
        first_reason(&again),
        "this card had 1 fraud outcome before, the latest 0 hours ago"
    );
    assert_eq!(number(&again, "efw_count_on_card_weekly"), Some(1.0));
    assert_eq!(
        number(&again, "fraud_outcome_count_on_card_all_time"),
        Some(1.0)
    );
    assert_eq!(number(&again, "hours_since_first_fraud_on_card"), Some(0.0));

    // The fraudster returns with a new card, same email and customer: reviewed.
    let new_card = card_payment("fpFresh2", "thief@example.net", "cus_Thief1", "192.0.2.77");
    let back = evaluate(&mut client, &new_card).await;
    assert_eq!(
        decided(&back),
        (
            pb::Action::Review,
            "prior_fraud_on_linked_entity".into(),
            "prior_fraud_on_linked_entity".into()
        )
    );
    assert_eq!(
        first_reason(&back),
        "a fraud outcome was learned on an earlier payment with this customer account, email and shipping address"
    );
    assert_eq!(
        number(&back, "fraud_outcome_count_on_card_all_time"),
        Some(0.0)
    );
    assert_eq!(
        number(&back, "fraud_outcome_count_on_email_recent"),
        Some(1.0)
    );
    assert_eq!(
        number(
            &back,
            "total_customers_with_prior_fraud_activity_for_email_yearly"
        ),
        Some(1.0)
    );

    // An unrelated shopper is not affected.
    let other = card_payment(
        "fpOther3",
        "someone@example.org",
        "cus_Other3",
        "203.0.113.99",
    );
    let mut other = other;
    other
        .payment_details
        .as_mut()
        .unwrap()
        .shipping_details
        .as_mut()
        .unwrap()
        .address
        .as_mut()
        .unwrap()
        .line1 = "1 Other Street".into();
    let fine = evaluate(&mut client, &other).await;
    assert_eq!(decided(&fine).0, pb::Action::Continue);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn only_fraud_reasons_are_fraud_outcomes() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let req = card_payment(
        "fpService1",
        "buyer@example.com",
        "cus_Buyer1",
        "198.51.100.30",
    );
    let first = evaluate(&mut client, &req).await;
    let learned = report(&mut client, &first, pb::PaymentOutcome::Disputed, |r| {
        r.dispute_reason = "product_not_received".into()
    })
    .await;
    assert_eq!(learned.label, "service_dispute");
    let refund = report(&mut client, &first, pb::PaymentOutcome::Refunded, |r| {
        r.refund_reason = "requested_by_customer".into()
    })
    .await;
    assert_eq!(refund.label, "refunded");
    let next = evaluate(&mut client, &req).await;
    // Not a fraud outcome: no outcome rule acts (the model may still weigh the same new card
    // paying again within seconds).
    assert!(
        !["prior_fraud_on_card", "prior_fraud_on_linked_entity"]
            .contains(&decided(&next).1.as_str()),
        "{:?}",
        decided(&next)
    );
    assert_eq!(
        number(&next, "fraud_outcome_count_on_card_all_time"),
        Some(0.0)
    );
    assert_eq!(
        number(&next, "dispute_count_on_card_number_all_time"),
        Some(0.0)
    );
    assert_eq!(
        number(&next, "non_fraud_dispute_count_on_card_all_time"),
        Some(1.0)
    );
    assert_eq!(number(&next, "refund_count_on_card_daily"), Some(1.0));

    // A refund as fraud is one.
    let learned = report(&mut client, &next, pb::PaymentOutcome::Refunded, |r| {
        r.refund_reason = "fraudulent".into()
    })
    .await;
    assert_eq!(learned.label, "refunded_as_fraud");
    let after = evaluate(&mut client, &req).await;
    assert_eq!(decided(&after).1, "prior_fraud_on_card");
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn one_card_with_many_emails_and_one_email_with_many_cards_are_reviewed() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    // One card, eight emails within minutes (the example): caught from the fourth at the
    // latest (reviewed by many_emails_on_card, or blocked when the model scores it highest), and
    // the answer says why.
    let mut answers = Vec::new();
    for i in 0..8 {
        let req = card_payment(
            "fpShared1",
            &format!("buyer{i}@example.com"),
            &format!("cus_Many{i}"),
            &format!("198.51.100.{}", 40 + i),
        );
        answers.push(evaluate(&mut client, &req).await);
    }
    let actions: Vec<_> = answers.iter().map(decided).collect();
    assert!(
        actions[..2].iter().all(|a| a.0 == pb::Action::Continue),
        "{actions:?}"
    );
    for (answer, a) in answers.iter().zip(&actions).skip(3) {
        let reasons: Vec<&str> = answer
            .decision
            .as_ref()
            .unwrap()
            .reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect();
        match a.0 {
            pb::Action::Review => assert_eq!(a.1, "many_emails_on_card", "{actions:?}"),
            pb::Action::Block => assert_eq!(a.1, "default_highest", "{actions:?}"),
            _ => panic!("not caught: {actions:?}"),
        }
        assert!(
            reasons.iter().any(|m| m.contains("email")),
            "{a:?}: {reasons:?}"
        );
    }

    // One email, five cards.
    let mut last = None;
    for i in 0..5 {
        let req = card_payment(
            &format!("fpCarder{i}"),
            "carder@example.com",
            "cus_Carder",
            &format!("192.0.2.{}", 10 + i),
        );
        last = Some(evaluate(&mut client, &req).await);
    }
    let last = last.unwrap();
    assert_eq!(decided(&last).1, "many_cards_on_email");
    assert_eq!(
        first_reason(&last),
        "this email was used with 4 other cards in the last 24 hours"
    );
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

/// A merchant-initiated recurring charge of the saved card: off session, no device data at all.
fn recurring(fingerprint: &str) -> CreatePaymentEvaluationRequest {
    let mut req = card_payment(
        fingerprint,
        "subscriber@example.com",
        "cus_Sub1",
        "203.0.113.5",
    );
    req.client_device_metadata_details = None;
    let card = req
        .payment_details
        .as_mut()
        .unwrap()
        .money_movement_details
        .as_mut()
        .unwrap()
        .card
        .as_mut()
        .unwrap();
    card.customer_presence = pb::CustomerPresence::OffSession as i32;
    card.payment_type = pb::PaymentType::Recurring as i32;
    req
}

#[tokio::test]
async fn a_clean_known_cards_recurring_charge_without_device_data_continues() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    // Saved at checkout (with device data), authorized since.
    let mut setup = card_payment(
        "fpSub1",
        "subscriber@example.com",
        "cus_Sub1",
        "203.0.113.5",
    );
    setup
        .payment_details
        .as_mut()
        .unwrap()
        .money_movement_details
        .as_mut()
        .unwrap()
        .card
        .as_mut()
        .unwrap()
        .payment_type = pb::PaymentType::SetupRecurring as i32;
    let saved = evaluate(&mut client, &setup).await;
    assert_eq!(decided(&saved).0, pb::Action::Continue);
    report(&mut client, &saved, pb::PaymentOutcome::Authorized, |_| {}).await;
    for month in 0..3 {
        let charge = evaluate(&mut client, &recurring("fpSub1")).await;
        assert_eq!(decided(&charge).0, pb::Action::Continue, "charge {month}");
        // Evaluated without device data: device attributes are missing, not zero.
        assert_eq!(
            number(&charge, "fraud_outcome_count_on_device_all_time"),
            None
        );
        assert_eq!(number(&charge, "card_count_for_device_id_daily"), None);
        assert_eq!(
            number(&charge, "fraud_outcome_count_on_card_all_time"),
            Some(0.0)
        );
        report(&mut client, &charge, pb::PaymentOutcome::Authorized, |_| {}).await;
    }
    // Once the card has a fraud outcome, its recurring charges are blocked too.
    let charge = evaluate(&mut client, &recurring("fpSub1")).await;
    report(
        &mut client,
        &charge,
        pb::PaymentOutcome::MerchantReportedFraud,
        |_| {},
    )
    .await;
    let next = evaluate(&mut client, &recurring("fpSub1")).await;
    assert_eq!(decided(&next).1, "prior_fraud_on_card");
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn labels_survive_a_restart_on_the_same_outcome_journal() {
    let dir = TempDir::new("outcome-journal");
    let mut config = test_config();
    config.enrichment.outcomes_path = Some(dir.path().join("outcomes.journal"));
    let req = card_payment(
        "fpRestart1",
        "restart@example.com",
        "cus_Restart1",
        "198.51.100.60",
    );

    let server = start(config.clone()).await;
    let mut c = client(server.grpc_addr).await;
    let first = evaluate(&mut c, &req).await;
    report(&mut c, &first, pb::PaymentOutcome::Disputed, |r| {
        r.dispute_reason = "fraudulent".into()
    })
    .await;
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();

    // A new server on the same journal: the evaluation ids are gone, the labels are not.
    let server = start(config).await;
    let mut c = client(server.grpc_addr).await;
    let after = evaluate(&mut c, &req).await;
    assert_eq!(decided(&after).1, "prior_fraud_on_card");
    assert_eq!(
        number(&after, "dispute_count_on_card_number_all_time"),
        Some(1.0)
    );
    assert_eq!(
        number(&after, "dispute_count_on_card_number_yearly"),
        Some(1.0)
    );
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn two_replicas_on_one_redis_share_what_they_learn() {
    let redis = RedisServer::start().await;
    replicas_share_what_they_learn(redis.url()).await;
}

#[tokio::test]
async fn two_replicas_on_one_redis_cluster_share_what_they_learn() {
    let cluster = common::redis_cluster::RedisCluster::start().await;
    replicas_share_what_they_learn(cluster.url()).await;
}

async fn replicas_share_what_they_learn(url: String) {
    let mut config = test_config();
    use_redis(&mut config, url);
    config.redis.budget_ms = 2000;
    let a = start(config.clone()).await;
    let b = start(config).await;
    let mut ca = client(a.grpc_addr).await;
    let mut cb = client(b.grpc_addr).await;

    let req = card_payment(
        "fpShared9",
        "shared@example.com",
        "cus_Shared9",
        "198.51.100.70",
    );
    let first = evaluate(&mut ca, &req).await;
    assert!(!first.decision.as_ref().unwrap().degraded);
    // Reported to replica B, for an evaluation replica A made.
    let learned = report(&mut cb, &first, pb::PaymentOutcome::AnalystRejected, |_| {}).await;
    assert_eq!(learned.label, "analyst_rejected");

    let on_a = evaluate(&mut ca, &req).await;
    assert_eq!(decided(&on_a).1, "prior_fraud_on_card");
    let new_card = card_payment(
        "fpShared10",
        "shared@example.com",
        "cus_Other",
        "192.0.2.200",
    );
    let on_b = evaluate(&mut cb, &new_card).await;
    assert_eq!(decided(&on_b).1, "prior_fraud_on_linked_entity");
    assert_eq!(
        number(&on_b, "fraud_outcome_count_on_email_all_time"),
        Some(1.0)
    );
    for s in [a, b] {
        s.shutdown(std::time::Duration::from_secs(5)).await.unwrap();
    }
}
