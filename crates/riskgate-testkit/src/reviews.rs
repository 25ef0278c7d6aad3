//! The analyst review queue from a test: a configuration whose rules send gift-card orders to
//! review and block listed cards, requests for it, and the review client.

use std::time::Duration;

use riskgate::{
    config::Config,
    proto::v1::{self as pb, review_service_client::ReviewServiceClient},
};
use tonic::{Request, transport::Channel};

use crate::{TempDir, example_request, test_config};

/// The admin token of [`config`].
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Rules: gift-card orders go to review; listed cards and emails are blocked.
pub const RULES: &str = "\
gift_cards: Review if ::order_type:: = 'gift_card'
blocked_cards: Block if :card_fingerprint: IN @block_list_card_fingerprint
blocked_emails: Block if :email: IN @block_list_email
";

/// A test configuration with [`RULES`] (written into `dir`), the admin token, and rejects that
/// block the card and email.
pub fn config(dir: &TempDir) -> Config {
    let mut c = test_config();
    c.rules.path = Some(dir.file("rules.txt", RULES));
    c.admin_token = Some(ADMIN_TOKEN.into());
    c.reviews.block_on_reject = true;
    c
}

/// The example request as a gift-card order paid with the card `fingerprint` by `email`.
pub fn gift_card(fingerprint: &str, email: &str) -> pb::CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.metadata.insert("order_type".into(), "gift_card".into());
    req.customer_details.as_mut().unwrap().email = email.into();
    let pm = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    pm.card.as_mut().unwrap().fingerprint = fingerprint.into();
    pm.billing_details.as_mut().unwrap().email = email.into();
    req.expand.push("attributes".into());
    req
}

/// `msg` with the admin token and, when given, the analyst's name.
pub fn authed<T>(msg: T, analyst: Option<&str>) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {ADMIN_TOKEN}").parse().unwrap(),
    );
    if let Some(a) = analyst {
        r.metadata_mut()
            .insert("riskgate-analyst", a.parse().unwrap());
    }
    r
}

/// The review of `evaluation`, once the background write has opened it (waits at most 10 s).
pub async fn review_of(client: &mut ReviewServiceClient<Channel>, evaluation: &str) -> pb::Review {
    let started = std::time::Instant::now();
    loop {
        let page = client
            .list_reviews(authed(
                pb::ListReviewsRequest {
                    state: "all".into(),
                    limit: 100,
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        if let Some(r) = page
            .data
            .into_iter()
            .find(|r| r.payment_evaluation == evaluation)
        {
            return r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no review opened for {evaluation}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
