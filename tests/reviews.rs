//! The analyst review queue end to end: a real server on 127.0.0.1:0 whose rules send gift-card
//! orders to review; ReviewService and the review page (raw HTTP) as clients.

use riskgate_testkit as common;

use common::{
    reviews::{ADMIN_TOKEN, authed, config, gift_card, review_of},
    *,
};
use riskgate::proto::v1::{self as pb, Action, review_service_client::ReviewServiceClient};
use tonic::{Code, Request, transport::Channel};
use tonic_types::StatusExt;

async fn reviews(server: &riskgate::server::Running) -> ReviewServiceClient<Channel> {
    ReviewServiceClient::new(channel(server.grpc_addr).await)
}

async fn evaluate(
    server: &riskgate::server::Running,
    req: pb::CreatePaymentEvaluationRequest,
) -> pb::CreatePaymentEvaluationResponse {
    client(server.grpc_addr)
        .await
        .create_payment_evaluation(req)
        .await
        .unwrap()
        .into_inner()
}

/// The merchant's report of an analyst's verdict on `evaluation`.
fn analyst_report(
    evaluation: &str,
    outcome: pb::PaymentOutcome,
) -> pb::ReportPaymentOutcomeRequest {
    pb::ReportPaymentOutcomeRequest {
        evaluation: evaluation.into(),
        outcome: outcome as i32,
        ..Default::default()
    }
}

fn action(answer: &pb::CreatePaymentEvaluationResponse) -> Action {
    Action::try_from(answer.decision.as_ref().unwrap().action).unwrap()
}

#[tokio::test]
async fn a_rejected_review_blocks_the_card_and_counts_its_outcome() {
    let dir = TempDir::new("reviews-reject");
    let server = start(config(&dir)).await;
    let mut desk = reviews(&server).await;

    let first = evaluate(&server, gift_card("fp_stolen_1", "thief@example.com")).await;
    assert_eq!(action(&first), Action::Review);
    let id = first.evaluation.as_ref().unwrap().id.clone();
    let opened = review_of(&mut desk, &id).await;
    assert!(opened.open && opened.id.starts_with("rev_"));
    assert_eq!(opened.object, "review");
    assert_eq!(opened.opened_reason, "rule");
    assert_eq!(opened.reason, "rule");

    // The evidence an analyst needs.
    let full = desk
        .retrieve_review(authed(
            pb::RetrieveReviewRequest {
                id: opened.id.clone(),
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    let e = full.evidence.as_ref().unwrap();
    assert_eq!((e.amount, e.currency.as_str()), (12900, "usd"));
    let card = e.card.as_ref().unwrap();
    assert_eq!(
        (card.last4.as_str(), card.fingerprint.as_str()),
        ("4242", "fp_stolen_1")
    );
    assert_eq!(e.email, "thief@example.com");
    assert_eq!(e.device.as_ref().unwrap().ip_address, "203.0.113.7");
    assert_eq!(full.ip_address, "203.0.113.7");
    assert_eq!(e.matched_rule.as_ref().unwrap().id, "gift_cards");
    assert_eq!(
        e.metadata.get("order_type").map(String::as_str),
        Some("gift_card")
    );
    assert_eq!(full.history[0].action, "opened");

    // Reject it as fraud, as alice.
    let rejected = desk
        .reject_review(authed(
            pb::RejectReviewRequest {
                id: opened.id.clone(),
                fraud_type: "made_with_stolen_card".into(),
                note: "cardholder called".into(),
            },
            Some("alice"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!rejected.open);
    assert_eq!(rejected.closed_reason, "refunded_as_fraud");
    assert_eq!(rejected.fraud_type, "made_with_stolen_card");
    assert_eq!(rejected.closed_by, "alice via admin");
    let last = rejected.history.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("refunded_as_fraud", "alice via admin")
    );
    assert_eq!(last.note, "cardholder called");

    // The verdict stands: a second one is refused.
    let again = desk
        .approve_review(authed(
            pb::ApproveReviewRequest {
                id: opened.id.clone(),
                note: String::new(),
            },
            Some("bob"),
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    // The next payment with that card is blocked by the block list, and its outcome is counted.
    let next = evaluate(&server, gift_card("fp_stolen_1", "other@example.com")).await;
    assert_eq!(action(&next), Action::Block);
    assert_eq!(
        next.decision
            .as_ref()
            .unwrap()
            .matched_rule
            .as_ref()
            .unwrap()
            .id,
        "blocked_cards"
    );
    // Outcome memory holds the analyst's fraud label on the card (and every other entity).
    assert_eq!(
        number(&next, "fraud_outcome_count_on_card_all_time"),
        Some(1.0)
    );
    // The verdict went through the outcome-report path: the same report from the merchant is a
    // duplicate.
    let same = client(server.grpc_addr)
        .await
        .report_payment_outcome(analyst_report(&id, pb::PaymentOutcome::AnalystRejected))
        .await
        .unwrap()
        .into_inner();
    assert!(same.duplicate, "{same:?}");
    // And the email too.
    let by_email = evaluate(&server, gift_card("fp_fresh", "thief@example.com")).await;
    assert_eq!(action(&by_email), Action::Block);

    // A new review of the same customer lists the rejected one: a linked past outcome.
    let later = evaluate(&server, gift_card("fp_new_card", "new@example.com")).await;
    assert_eq!(action(&later), Action::Review);
    let probe = review_of(&mut desk, &later.evaluation.unwrap().id).await;
    let with_related = desk
        .retrieve_review(authed(pb::RetrieveReviewRequest { id: probe.id }, None))
        .await
        .unwrap()
        .into_inner();
    let linked = with_related
        .related
        .iter()
        .find(|r| r.id == opened.id)
        .expect("the rejected review is related (same customer)");
    assert_eq!(linked.reason, "refunded_as_fraud");
    assert_eq!(linked.fraud_type, "made_with_stolen_card");
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn approve_records_a_good_outcome_and_the_queue_is_measured() {
    let dir = TempDir::new("reviews-approve");
    let mut c = config(&dir);
    let audit = dir.path().join("audit.ndjson");
    c.audit.path = Some(audit.clone());
    let server = start(c).await;
    let mut desk = reviews(&server).await;
    let answer = evaluate(&server, gift_card("fp_good_1", "good@example.com")).await;
    let review = review_of(&mut desk, &answer.evaluation.unwrap().id).await;
    let approved = desk
        .approve_review(authed(
            pb::ApproveReviewRequest {
                id: review.id.clone(),
                note: "known customer".into(),
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.closed_reason, "approved");
    assert_eq!(approved.closed_by, "admin");
    let next = evaluate(&server, gift_card("fp_good_1", "good@example.com")).await;
    assert_eq!(
        action(&next),
        Action::Review,
        "approval does not allow-list"
    );
    // Remembered as the analyst's approval (not fraud): the card carries no fraud outcome, and the
    // same report from the merchant is a duplicate.
    assert_eq!(
        number(&next, "fraud_outcome_count_on_card_all_time").unwrap_or(0.0),
        0.0
    );
    let same = client(server.grpc_addr)
        .await
        .report_payment_outcome(analyst_report(
            &review.payment_evaluation,
            pb::PaymentOutcome::AnalystApproved,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(same.duplicate, "{same:?}");
    let (status, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        sample(
            &metrics,
            "riskgate_reviews_closed_total{reason=\"approved\"}"
        )
        .unwrap()
            >= 1.0,
        "{metrics}"
    );
    assert!(metrics.contains("riskgate_review_age_at_close_seconds_bucket{le=\"60\"}"));
    assert!(metrics.contains("riskgate_reviews_open "));
    assert_eq!(
        sample(
            &metrics,
            "riskgate_outcome_labels_total{label=\"analyst_approved\",source=\"report\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(metrics.contains("riskgate_reviews_opened_total{reason=\"rule\"}"));
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    // The audit log has the change — who, when, what — and no personal data.
    let log = std::fs::read_to_string(&audit).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("\"kind\":\"review\""))
        .expect("a review line in the audit log");
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["review"], review.id.as_str());
    assert_eq!(entry["action"], "approved");
    assert_eq!(entry["actor"], "admin");
    assert_eq!(entry["outcome"], "recorded");
    assert!(entry["ts"].as_i64().unwrap() > 0);
    assert!(!log.contains("good@example.com"), "{log}");
}

#[tokio::test]
async fn the_service_needs_the_admin_token_and_checks_its_input() {
    let dir = TempDir::new("reviews-auth");
    let server = start(config(&dir)).await;
    let mut desk = reviews(&server).await;
    let denied = desk
        .list_reviews(Request::new(pb::ListReviewsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::Unauthenticated);
    let answer = evaluate(&server, gift_card("fp_input_1", "x@example.com")).await;
    let review = review_of(&mut desk, &answer.evaluation.unwrap().id).await;
    let bad = desk
        .reject_review(authed(
            pb::RejectReviewRequest {
                id: review.id.clone(),
                fraud_type: "because".into(),
                note: String::new(),
            },
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let fields: Vec<_> = bad
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, ["fraud_type"]);
    let big = desk
        .list_reviews(authed(
            pb::ListReviewsRequest {
                limit: 101,
                ..Default::default()
            },
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(big.code(), Code::InvalidArgument);
    let missing = desk
        .retrieve_review(authed(
            pb::RetrieveReviewRequest {
                id: "rev_nope".into(),
            },
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    // A manual review, and a note on it.
    let manual = desk
        .open_review(authed(
            pb::OpenReviewRequest {
                payment_evaluation: "peval_manual_1".into(),
                note: "customer service flagged it".into(),
            },
            Some("carol"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(manual.opened_reason, "manual");
    let noted = desk
        .add_review_note(authed(
            pb::AddReviewNoteRequest {
                id: manual.id.clone(),
                note: "waiting for the merchant".into(),
            },
            Some("carol"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(noted.history.len(), 2);
    assert_eq!(noted.history[1].actor, "carol via admin");
    // Filters: only manual reviews; then amounts.
    let manual_only = desk
        .list_reviews(authed(
            pb::ListReviewsRequest {
                reason: "manual".into(),
                ..Default::default()
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(manual_only.data.len(), 1);
    let large = desk
        .list_reviews(authed(
            pb::ListReviewsRequest {
                amount_gte: Some(12900),
                ..Default::default()
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(large.data.len(), 1);
    assert_eq!(large.data[0].id, review.id);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn reviews_in_a_journal_survive_a_restart() {
    let dir = TempDir::new("reviews-restart");
    let mut c = config(&dir);
    c.reviews.path = Some(dir.path().join("reviews.journal"));
    let server = start(c.clone()).await;
    let mut desk = reviews(&server).await;
    let answer = evaluate(&server, gift_card("fp_restart", "r@example.com")).await;
    let review = review_of(&mut desk, &answer.evaluation.unwrap().id).await;
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();

    let server = start(c).await;
    let mut desk = reviews(&server).await;
    let kept = desk
        .retrieve_review(authed(
            pb::RetrieveReviewRequest {
                id: review.id.clone(),
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(kept.open);
    assert_eq!(kept.evidence.unwrap().email, "r@example.com");
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_review_page_needs_a_login_and_refuses_forged_forms() {
    let dir = TempDir::new("reviews-page");
    let server = start(config(&dir)).await;
    let mut desk = reviews(&server).await;
    let mut req = gift_card("fp_page_1", "page@example.com");
    // Attacker-controlled evidence must come back escaped.
    req.client_device_metadata_details
        .as_mut()
        .unwrap()
        .user_agent = "<script>alert(1)</script>".into();
    let answer = evaluate(&server, req).await;
    let review = review_of(&mut desk, &answer.evaluation.unwrap().id).await;
    let admin = server.admin_addr;

    let (status, head, _) = http_request(admin, "GET", "/reviews", &[], "").await;
    assert_eq!(status, 303);
    assert!(head.contains("location: /reviews/login"), "{head}");
    let (status, _, body) = http_request(
        admin,
        "POST",
        "/reviews/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "token=wrong&analyst=alice",
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("not the admin token"));
    let (status, head, _) = http_request(
        admin,
        "POST",
        "/reviews/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!("token={ADMIN_TOKEN}&analyst=alice"),
    )
    .await;
    assert_eq!(status, 303);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (status, head, body) =
        http_request(admin, "GET", "/reviews", &[("cookie", &cookie)], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&review.id) && body.contains("alice via admin"));
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    let (status, _, body) = http_request(
        admin,
        "GET",
        &format!("/reviews/{}", review.id),
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert!(!body.contains("<script>alert(1)"), "unescaped evidence");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    // Without the form token, or from another origin: refused.
    let approve = format!("/reviews/{}/approve", review.id);
    let (status, _, _) = http_request(admin, "POST", &approve, &form, "note=x").await;
    assert_eq!(status, 403);
    let mut cross = form.to_vec();
    cross.push(("origin", "http://evil.example"));
    let (status, _, _) =
        http_request(admin, "POST", &approve, &cross, &format!("csrf={csrf}")).await;
    assert_eq!(status, 403);
    // With it: approved, and on to the queue.
    let (status, head, _) = http_request(
        admin,
        "POST",
        &approve,
        &form,
        &format!("csrf={csrf}&note=ok"),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /reviews?done="), "{head}");
    let closed = desk
        .retrieve_review(authed(
            pb::RetrieveReviewRequest {
                id: review.id.clone(),
            },
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.closed_reason, "approved");
    assert_eq!(closed.closed_by, "alice via admin");
    // A bearer token works without a cookie (scripts).
    let (status, _, _) = http_request(
        admin,
        "GET",
        "/reviews?state=closed",
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        "",
    )
    .await;
    assert_eq!(status, 200);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}
