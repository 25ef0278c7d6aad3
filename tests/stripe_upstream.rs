//! The Stripe client against the in-process fake Stripe, with the tokio clock paused: every fault
//! of the matrix is answered within the budget (+ 5 ms), retries are decided as Stripe's SDKs
//! decide (409, 5xx and broken connections; `Stripe-Should-Retry` either way; never a plain 429),
//! reuse the idempotency key and stay inside the budget, and the breaker opens and recovers.
//! Virtual time makes the timing facts exact and the tests fast.

use std::time::Duration;

use riskgate::{
    api::validate,
    config::{DEFAULT_API_VERSION, StripeConfig},
    proto::v1::{self as pb, CreatePaymentEvaluationRequest},
    scoring::remote::{ErrorKind, RemoteRequest, RemoteScorer},
    stripe::{breaker::State, client::StripeClient, form, version::Features},
};
use riskgate_testkit::fake_stripe::{FakeStripe, Fault};
use tokio::time::Instant;

const KEY: &str = "sk_test_fake_123";
const BUDGET: Duration = Duration::from_millis(50);
const SLACK: Duration = Duration::from_millis(5);

fn request() -> CreatePaymentEvaluationRequest {
    CreatePaymentEvaluationRequest {
        customer_details: Some(pb::CustomerDetails {
            customer: "cus_1".into(),
            ..Default::default()
        }),
        payment_details: Some(pb::PaymentDetails {
            amount: 2500,
            currency: "eur".into(),
            payment_method_details: Some(pb::PaymentMethodDetails {
                payment_method: "pm_card_visa".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        client_device_metadata_details: Some(pb::ClientDeviceMetadataDetails {
            radar_session: "rse_abc".into(),
            ..Default::default()
        }),
        metadata: [("order".to_owned(), "o-1".to_owned())].into(),
        ..Default::default()
    }
}

/// [`request`] as the client sends it, with `key` as its Idempotency-Key.
fn remote(key: &str) -> RemoteRequest {
    let req = request();
    let input = validate::payment_evaluation(&req).unwrap();
    RemoteRequest {
        body: form::payment_evaluation(&input, Features::of(DEFAULT_API_VERSION, false))
            .unwrap()
            .into(),
        idempotency_key: key.to_owned(),
    }
}

async fn setup(config: impl FnOnce(&mut StripeConfig)) -> (FakeStripe, StripeClient) {
    let (fake, addr) = FakeStripe::start_local(KEY).await.unwrap();
    let mut c = StripeConfig {
        base_url: format!("http://{addr}"),
        ..Default::default()
    };
    config(&mut c);
    let client = StripeClient::new(&c, KEY).unwrap();
    (fake, client)
}

/// Scores once; checks the call ended within the budget.
async fn timed(
    client: &StripeClient,
    key: &str,
) -> Result<riskgate::scoring::remote::RemoteScore, ErrorKind> {
    let t = Instant::now();
    let r = client.score(&remote(key), BUDGET).await;
    let took = t.elapsed();
    assert!(
        took <= BUDGET + SLACK,
        "took {took:?} with a {BUDGET:?} budget"
    );
    r.map_err(|e| e.kind)
}

#[tokio::test(start_paused = true)]
async fn a_20ms_answer_is_a_stripe_score_and_the_request_is_encoded_like_stripe() {
    let (fake, addr) = FakeStripe::start_local(KEY).await.unwrap();
    let config = |version: &str| StripeConfig {
        base_url: format!("http://{addr}"),
        api_version: version.into(),
        ..Default::default()
    };
    let client = StripeClient::new(&config(DEFAULT_API_VERSION), KEY).unwrap();
    fake.set_delay(Duration::from_millis(20));
    fake.set_score(42.0);
    let score = timed(&client, "riskgate-k1").await.unwrap();
    assert_eq!((score.score, score.attempts), (Some(42.0), 1));
    assert_eq!(score.recommended_action.as_deref(), Some("continue"));
    let got = fake.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.refused, None, "the fake found the request well formed");
    assert_eq!(r.idempotency_key.as_deref(), Some("riskgate-k1"));
    assert_eq!(r.stripe_version.as_deref(), Some(DEFAULT_API_VERSION));
    assert_eq!(r.param("payment_details[amount]"), Some("2500"));
    assert_eq!(
        r.param("payment_details[payment_method_details][payment_method]"),
        Some("pm_card_visa")
    );
    assert_eq!(
        r.param("client_device_metadata_details[radar_session]"),
        Some("rse_abc")
    );
    assert_eq!(r.param("metadata[order]"), Some("o-1"));

    assert_eq!(score.risk_level.as_deref(), Some("elevated"));

    // A client on the preview version gets (and reads) the preview shape.
    let preview = StripeClient::new(&config("2026-01-28.preview"), KEY).unwrap();
    fake.set_score(90.0);
    let score = timed(&preview, "riskgate-k2").await.unwrap();
    assert_eq!(score.score, Some(90.0));
    assert_eq!(score.recommended_action.as_deref(), Some("block"));
    assert_eq!(score.risk_level, None, "the preview shape has no level");
    assert!(fake.own_violations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn retryable_statuses_are_retried_with_the_same_idempotency_key() {
    let (fake, client) = setup(|_| {}).await;
    for (fault, code) in [
        (Fault::parse("500").unwrap(), 500),
        (Fault::parse("429-retry").unwrap(), 429),
        (Fault::parse("409").unwrap(), 409),
        (Fault::parse("400-retry").unwrap(), 400),
        (Fault::Reset, 0),
    ] {
        fake.script([fault.clone()]);
        let key = format!("riskgate-retry-{code}");
        let score = timed(&client, &key)
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e:?}"));
        assert_eq!(score.attempts, 2, "{fault:?}");
        let keys: Vec<_> = fake
            .received()
            .iter()
            .filter_map(|r| r.idempotency_key.clone())
            .filter(|k| *k == key)
            .collect();
        assert_eq!(keys.len(), 2, "{fault:?}: both attempts carry the key");
    }
}

#[tokio::test(start_paused = true)]
async fn non_retryable_answers_are_not_retried() {
    let (fake, client) = setup(|_| {}).await;
    for (fault, kind) in [
        (
            Fault::parse("503-no-retry").unwrap(),
            ErrorKind::Status(503),
        ),
        (
            Fault::parse("409-no-retry").unwrap(),
            ErrorKind::Status(409),
        ),
        // As stripe-node and stripe-python: a 429 is retried only when Stripe says so.
        (Fault::parse("429").unwrap(), ErrorKind::Status(429)),
        (Fault::parse("402").unwrap(), ErrorKind::Status(402)),
        (Fault::MalformedJson, ErrorKind::Malformed),
    ] {
        let before = fake.received().len();
        fake.script([fault.clone()]);
        assert_eq!(
            timed(&client, "riskgate-nr").await.unwrap_err(),
            kind,
            "{fault:?}"
        );
        assert_eq!(fake.received().len(), before + 1, "{fault:?}: one attempt");
    }
}

#[tokio::test(start_paused = true)]
async fn persistent_faults_stay_within_the_budget() {
    let (fake, client) = setup(|c| {
        c.max_retries = 10;
        c.breaker_failure_threshold = 100;
    })
    .await;
    for (fault, kind) in [
        (Fault::parse("500").unwrap(), ErrorKind::Status(500)),
        (Fault::Reset, ErrorKind::Transport),
        (Fault::Stall, ErrorKind::Timeout),
    ] {
        fake.set_fault(fault.clone());
        let err = timed(&client, "riskgate-persist").await.unwrap_err();
        assert!(
            err == kind || err == ErrorKind::Timeout,
            "{fault:?}: {err:?}"
        );
    }
    // Slow beyond the budget: cut at the budget.
    fake.set_fault(Fault::None);
    fake.set_delay(Duration::from_millis(500));
    assert_eq!(
        timed(&client, "riskgate-slow").await.unwrap_err(),
        ErrorKind::Timeout
    );
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_after_consecutive_failures_and_recovers() {
    let (fake, client) = setup(|c| {
        c.max_retries = 0;
        c.breaker_failure_threshold = 3;
        c.breaker_open_ms = 1000;
    })
    .await;
    fake.set_fault(Fault::parse("500").unwrap());
    for _ in 0..3 {
        assert_eq!(
            timed(&client, "riskgate-b").await.unwrap_err(),
            ErrorKind::Status(500)
        );
    }
    assert_eq!(client.breaker().state(), State::Open);
    let sent = fake.received().len();
    assert_eq!(
        timed(&client, "riskgate-b").await.unwrap_err(),
        ErrorKind::BreakerOpen
    );
    assert_eq!(fake.received().len(), sent, "no call while open");

    tokio::time::advance(Duration::from_millis(1000)).await;
    fake.set_fault(Fault::None);
    timed(&client, "riskgate-b").await.unwrap();
    assert_eq!(client.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_key_keeps_stripes_error_and_does_not_trip_the_breaker() {
    let (_fake, addr) = FakeStripe::start_local("sk_test_other").await.unwrap();
    let c = StripeConfig {
        base_url: format!("http://{addr}"),
        breaker_failure_threshold: 1,
        ..Default::default()
    };
    let client = StripeClient::new(&c, KEY).unwrap();
    let err = client
        .score(&remote("riskgate-auth"), BUDGET)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Status(401));
    let stripe = err.stripe.clone().expect("Stripe error object");
    assert_eq!(stripe.kind, "invalid_request_error");
    assert!(stripe.message.unwrap().contains("API Key"));
    assert!(!err.to_string().contains(KEY), "the key is never in errors");
    assert_eq!(client.breaker().state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn no_budget_means_no_call() {
    let (fake, client) = setup(|_| {}).await;
    let err = client
        .score(&remote("riskgate-nb"), Duration::from_micros(500))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoBudget);
    assert!(fake.received().is_empty());
}
