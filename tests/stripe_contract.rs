//! Contract tests: every request riskgate sends to Stripe, and every object it reads or shows in
//! Stripe's shape, checked against Stripe's published API description — the spec fixture
//! (`crates/riskgate-testkit/fixtures/stripe_spec.json`, `scripts/stripe-spec-extract`) — so that
//! drift is caught here, not in production:
//!
//! - riskgate's table of what each API version means (`stripe::version`) against the fixture's
//!   versions;
//! - the evaluation request in every version and release channel riskgate can be configured for,
//!   from the fullest request and the smallest, sent by the real client to the fake Stripe (which
//!   refuses anything the spec does not allow) and checked directly;
//! - every outcome and event report for every value the orchestrator or a webhook can give;
//! - the value list sync's requests;
//! - the evaluation riskgate answers with, in each shape, local and Stripe-scored;
//! - Stripe's answers in every version riskgate may receive, read whatever version was sent;
//! - the fake itself: it refuses what the spec does not allow, with Stripe's error object.
//!
//! `GET /v1/charges/{id}` (issue 15's charge fetch) is checked by the fixture's route table here
//! and will be by a request test once the client sends it.

use std::{sync::Arc, time::Duration};

use riskgate::{
    api::validate,
    config::{Config, DEFAULT_API_VERSION, EvaluationShape, StripeConfig, scoring::ScoringMode},
    proto::v1::{self as pb, CreatePaymentEvaluationRequest},
    scoring::remote::{ErrorKind, RemoteScorer},
    stores::{
        lists::{backend::JournalLists, journal::ListStore},
        state::{Outcome, UpstreamRef},
    },
    stripe::{
        answer,
        client::{Family, StripeClient},
        form,
        lists::{ListSync, SyncedLists},
        outcomes::{self, OutcomeDetail, Report, StripeOutcome},
        version::{AnswerShape, Features},
    },
};
use riskgate_testkit::{
    client, example_request,
    fake_stripe::{FakeList, FakeStripe, Received},
    minimal_stripe_request, start,
    stripe_spec::{self, Channel, Endpoint, ObjectKind},
    test_config,
};
use serde_json::{Value, json};

const KEY: &str = "sk_test_contract";

/// Every version and channel riskgate can be configured for that changes what it sends or reads.
const CONFIGURATIONS: &[(&str, bool)] = &[
    ("2026-01-28.preview", false),
    ("2026-01-28.clover", false),
    ("2026-03-04.preview", true),
    ("2026-03-25.dahlia", false),
    ("2026-04-01.preview", true),
    ("2026-04-22.preview", false),
    ("2026-04-22.preview", true),
    ("2026-05-27.dahlia", false),
    ("2026-07-08.preview", true),
    ("2026-07-29.dahlia", false),
    ("2026-07-29.preview", false),
    ("2026-07-29.preview", true),
];

fn check(r: &Received, private_preview: bool) -> Result<Endpoint, stripe_spec::Violation> {
    stripe_spec::spec().check_request(&stripe_spec::Request {
        method: &r.method,
        path: &r.path,
        stripe_version: r.stripe_version.as_deref(),
        form: &r.form,
        private_preview,
    })
}

/// The fullest request riskgate takes: the bundled example with every inline device field.
fn full_request() -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    let device = req.client_device_metadata_details.as_mut().unwrap();
    device.referrer = "https://shop.example/checkout".into();
    device.pasted_fields = vec!["card_number".into(), "email".into(), "cvc".into()];
    req.metadata
        .insert("campaign".into(), "spring sale & more".into());
    req
}

async fn fake() -> (FakeStripe, std::net::SocketAddr) {
    FakeStripe::start_local(KEY).await.unwrap()
}

fn stripe_config(addr: std::net::SocketAddr, version: &str, private_preview: bool) -> StripeConfig {
    StripeConfig {
        base_url: format!("http://{addr}"),
        api_version: version.into(),
        private_preview,
        ..Default::default()
    }
}

#[test]
fn riskgates_version_table_agrees_with_every_published_version() {
    let spec = stripe_spec::spec();
    let entries = spec.evaluation_entries();
    assert!(entries.len() >= 20, "{entries:?}");
    for (version, channel) in entries {
        let facts = spec.evaluation_version(&version, channel).unwrap();
        let ours = Features::of(&version, channel == Channel::PrivatePreview);
        let shape = match ours.shape {
            AnswerShape::Insights => "insights",
            AnswerShape::Signals => "signals",
        };
        assert_eq!(shape, facts.answer_shape, "{version} {channel:?}");
        assert_eq!(
            ours.six_levels,
            facts.risk_levels.as_ref().is_some_and(|l| l.len() == 6),
            "{version} {channel:?}"
        );
        let has = |key: &str| facts.extra_params.iter().any(|p| p == key);
        assert_eq!(
            ours.device_data,
            has("client_device_metadata_details[data][ip]"),
            "{version} {channel:?}"
        );
        assert_eq!(
            ours.card,
            has("payment_details[payment_method_details][card][exp_month]"),
            "{version} {channel:?}"
        );
        assert!(Features::has_payment_evaluations(&version));
    }
    let first = spec.doc()["api_versions"]["payment_evaluations"]["first_date"]
        .as_str()
        .unwrap();
    assert_eq!(first, riskgate::stripe::version::FIRST_PAYMENT_EVALUATIONS);
    // Every endpoint family's default version is one the spec documents it under.
    for family in [
        "payment_evaluations",
        "charges",
        "value_lists",
        "value_list_items",
    ] {
        let documented = &spec.doc()["api_versions"][family]["documented"];
        assert!(
            documented
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == DEFAULT_API_VERSION),
            "{family}: {documented}"
        );
    }
    // riskgate's risk levels are the spec's.
    let levels = spec.enum_values("payment_evaluation.signals.fraudulent_payment.risk_level");
    let ours: Vec<&str> = riskgate_core::decision::RiskLevel::ALL
        .iter()
        .map(|l| l.as_str())
        .collect();
    assert_eq!(levels.len(), ours.len());
    assert!(
        levels.iter().all(|l| ours.contains(&l.as_str())),
        "{levels:?}"
    );
}

#[tokio::test]
async fn evaluation_requests_conform_in_every_version_and_channel() {
    let (fake, addr) = fake().await;
    for &(version, private) in CONFIGURATIONS {
        fake.set_private_preview(private);
        let client = StripeClient::new(&stripe_config(addr, version, private), KEY).unwrap();
        let features = client.features();
        for (name, req) in [
            ("full", full_request()),
            ("minimal", minimal_stripe_request()),
        ] {
            let input = validate::payment_evaluation(&req).unwrap();
            let request = client.prepare(&input, "order-1").unwrap();
            let before = fake.received().len();
            let score = client
                .score(&request, Duration::from_secs(5))
                .await
                .unwrap_or_else(|e| panic!("{version} {private} {name}: {e}"));
            let got = &fake.received()[before];
            assert_eq!(got.refused, None, "{version} {private} {name}");
            assert_eq!(
                check(got, private),
                Ok(Endpoint::CreateEvaluation),
                "{version} {private} {name}"
            );
            assert_eq!(got.stripe_version.as_deref(), Some(version));
            // What the version has is sent; nothing it lacks.
            let sent = |key: &str| got.param(key).is_some();
            if name == "full" {
                assert_eq!(
                    sent("client_device_metadata_details[data][ip]"),
                    features.device_data,
                    "{version} {private}"
                );
                assert_eq!(
                    sent("client_device_metadata_details[data][pasted_fields][1]"),
                    features.device_data,
                    "card_number and cvc, not email"
                );
                assert_eq!(
                    sent("payment_details[payment_method_details][card][first6]"),
                    features.card,
                    "{version} {private}"
                );
            }
            assert!(
                got.form.iter().all(|(k, _)| !k.ends_with("[number]")
                    && !k.ends_with("[cvc]")
                    && !k.contains("fingerprint")),
                "never card numbers, CVCs or riskgate's own card facts"
            );
            let shape = if score.risk_level.is_some() {
                AnswerShape::Signals
            } else {
                AnswerShape::Insights
            };
            assert_eq!(shape, features.shape, "{version}: the version's shape");
        }
    }
    assert_eq!(fake.own_violations(), Vec::<String>::new());
}

/// The longest value of a text field riskgate's validation accepts (`set` writes it).
fn longest_accepted(
    req: &CreatePaymentEvaluationRequest,
    set: &dyn Fn(&mut CreatePaymentEvaluationRequest, String),
) -> usize {
    let accepted = |n: usize| {
        let mut r = req.clone();
        set(&mut r, "a".repeat(n));
        validate::payment_evaluation(&r).is_ok()
    };
    let (mut ok, mut bad) = (1, 1);
    while accepted(bad) {
        ok = bad;
        bad *= 2;
        assert!(bad <= 1 << 20, "no limit");
    }
    while bad - ok > 1 {
        let mid = (ok + bad) / 2;
        if accepted(mid) { ok = mid } else { bad = mid }
    }
    ok
}

#[test]
fn whatever_riskgate_accepts_stripe_accepts_too() {
    // Every text field at the longest riskgate's validation takes: the request is still within
    // the spec's limits (riskgate's checks agree with the API reference, or are stricter).
    type Setter = Box<dyn Fn(&mut CreatePaymentEvaluationRequest, String)>;
    fn pd(r: &mut CreatePaymentEvaluationRequest) -> &mut pb::PaymentDetails {
        r.payment_details.as_mut().unwrap()
    }
    fn billing(r: &mut CreatePaymentEvaluationRequest) -> &mut pb::BillingDetails {
        pd(r)
            .payment_method_details
            .as_mut()
            .unwrap()
            .billing_details
            .as_mut()
            .unwrap()
    }
    let setters: Vec<(&str, Setter)> = vec![
        (
            "customer name",
            Box::new(|r, v| r.customer_details.as_mut().unwrap().name = v),
        ),
        ("description", Box::new(|r, v| pd(r).description = v)),
        (
            "statement descriptor",
            Box::new(|r, v| pd(r).statement_descriptor = v),
        ),
        ("billing name", Box::new(|r, v| billing(r).name = v)),
        (
            "billing city",
            Box::new(|r, v| billing(r).address.as_mut().unwrap().city = v),
        ),
        (
            "billing line1",
            Box::new(|r, v| billing(r).address.as_mut().unwrap().line1 = v),
        ),
        (
            "billing line2",
            Box::new(|r, v| billing(r).address.as_mut().unwrap().line2 = v),
        ),
        (
            "billing state",
            Box::new(|r, v| billing(r).address.as_mut().unwrap().state = v),
        ),
        (
            "billing postal code",
            Box::new(|r, v| billing(r).address.as_mut().unwrap().postal_code = v),
        ),
        (
            "shipping name",
            Box::new(|r, v| pd(r).shipping_details.as_mut().unwrap().name = v),
        ),
        (
            "user agent",
            Box::new(|r, v| {
                r.client_device_metadata_details
                    .as_mut()
                    .unwrap()
                    .user_agent = v
            }),
        ),
        (
            "referrer",
            Box::new(|r, v| r.client_device_metadata_details.as_mut().unwrap().referrer = v),
        ),
        (
            "metadata value",
            Box::new(|r, v| {
                r.metadata.insert("order_id".into(), v);
            }),
        ),
    ];
    let mut req = full_request();
    for (name, set) in &setters {
        let n = longest_accepted(&req, set.as_ref());
        set(&mut req, "a".repeat(n));
        assert!(validate::payment_evaluation(&req).is_ok(), "{name}");
    }
    let input = validate::payment_evaluation(&req).unwrap();
    for (version, private) in [("2026-07-29.preview", true), (DEFAULT_API_VERSION, false)] {
        let body = form::payment_evaluation(&input, Features::of(version, private)).unwrap();
        let form = form::decode(&body).unwrap();
        assert_eq!(
            stripe_spec::spec().check_request(&stripe_spec::Request {
                method: "POST",
                path: "/v1/radar/payment_evaluations",
                stripe_version: Some(version),
                form: &form,
                private_preview: private,
            }),
            Ok(Endpoint::CreateEvaluation),
            "{version}"
        );
    }
}

#[test]
fn a_payment_without_customer_details_is_not_sent() {
    let input_req = riskgate_testkit::minimal_request();
    let input = validate::payment_evaluation(&input_req).unwrap();
    let err =
        form::payment_evaluation(&input, Features::of(DEFAULT_API_VERSION, false)).unwrap_err();
    assert!(err.to_string().contains("customer_details"), "{err}");
}

/// Every report riskgate can send, from every value it can be given.
fn every_report() -> Vec<StripeOutcome> {
    let spec = stripe_spec::spec();
    let mut out = vec![StripeOutcome::Succeeded, StripeOutcome::MerchantBlocked];
    let detail = |f: &dyn Fn(&mut OutcomeDetail)| {
        let mut d = OutcomeDetail::default();
        f(&mut d);
        d
    };
    for code in [
        "insufficient_funds",
        "stolen_card",
        "pickup_card",
        "expired_card",
        "incorrect_cvc",
        "call_issuer",
        "authentication_required",
        "generic_decline",
        "",
    ] {
        out.extend(StripeOutcome::of(
            Outcome::Declined,
            &detail(&|d| d.decline_code = code.into()),
        ));
    }
    let mut reasons = spec.enum_values("dispute.reason");
    reasons.extend(["".into(), "something_new".into()]);
    for r in &reasons {
        out.extend(StripeOutcome::of(
            Outcome::Disputed,
            &detail(&|d| d.dispute_reason = r.clone()),
        ));
    }
    let mut types = spec.enum_values("early_fraud_warning.fraud_type");
    types.push(String::new());
    for t in &types {
        out.extend(StripeOutcome::of(
            Outcome::EarlyFraudWarning,
            &detail(&|d| d.fraud_type = t.clone()),
        ));
    }
    for r in [
        "duplicate",
        "fraudulent",
        "requested_by_customer",
        "expired_uncaptured_charge",
        "",
    ] {
        out.extend(StripeOutcome::of(
            Outcome::Refunded,
            &detail(&|d| d.refund_reason = r.into()),
        ));
    }
    out.extend(StripeOutcome::of(
        Outcome::Authorized,
        &OutcomeDetail::default(),
    ));
    out
}

#[tokio::test]
async fn every_outcome_report_carries_only_what_the_calls_accept() {
    let spec = stripe_spec::spec();
    let (fake, addr) = fake().await;
    let upstream = UpstreamRef {
        id: "peval_contract".into(),
        amount: 12_900,
        currency: "usd".into(),
    };
    fake.insert_evaluation(&upstream.id);
    let client = StripeClient::new(&stripe_config(addr, DEFAULT_API_VERSION, false), KEY).unwrap();
    for (n, outcome) in every_report().into_iter().enumerate() {
        let Report { path, body } = outcomes::report(&upstream, outcome, 1_800_000_000);
        let form = form::decode(&body).unwrap();
        let endpoint = spec
            .check_request(&stripe_spec::Request {
                method: "POST",
                path: &path,
                stripe_version: Some(DEFAULT_API_VERSION),
                form: &form,
                private_preview: false,
            })
            .unwrap_or_else(|v| panic!("{outcome:?}: {v}"));
        assert!(
            !endpoint.confirmed(),
            "no published description has these paths: forwarding stays off by default"
        );
        let key = outcomes::idempotency_key("peval_riskgate", &format!("{n}"));
        client
            .report(&Report { path, body }, &key, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{outcome:?}: {e}"));
    }
    assert!(fake.received().iter().all(|r| r.refused.is_none()));
    assert_eq!(fake.own_violations(), Vec::<String>::new());
    // What Stripe would echo: the evaluation's outcome and events, within the object's schema.
    let kept = fake.evaluation(&upstream.id).unwrap();
    assert!(kept["events"].as_array().unwrap().len() > 20);
    assert!(
        spec.check_object(
            &ObjectKind::Evaluation {
                version: DEFAULT_API_VERSION.into(),
                channel: Channel::Ga
            },
            &kept
        )
        .is_empty()
    );
    assert!(
        !StripeConfig::default().report_outcomes,
        "off by default while unconfirmed"
    );
}

#[tokio::test]
async fn the_value_list_sync_asks_only_what_the_list_endpoints_take() {
    let (fake, addr) = fake().await;
    let values: Vec<String> = (0..150).map(|i| format!("bad{i}@example.com")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    fake.set_value_lists(vec![
        FakeList::new("rsl_a", "blocked_emails", "email", &values),
        FakeList::new("rsl_b", "blocked_bins", "card_bin", &["424242"]),
    ]);
    let config = StripeConfig {
        lists_api_version: "2026-07-29.preview".into(),
        ..stripe_config(addr, DEFAULT_API_VERSION, false)
    };
    let client = Arc::new(StripeClient::new(&config, KEY).unwrap());
    assert_eq!(client.api_version(Family::Lists), "2026-07-29.preview");
    let sync = ListSync::new(
        client,
        Arc::new(JournalLists::new(Arc::new(ListStore::in_memory(0)))),
        Arc::new(SyncedLists::default()),
        "",
        Duration::from_secs(30),
        riskgate::clock::Clock::system(),
    );
    sync.sync_once().await.unwrap();
    let got = fake.received();
    assert!(got.len() >= 4, "lists, and two pages of items");
    for r in &got {
        assert_eq!(r.refused, None, "{} {:?}", r.path, r.form);
        assert!(check(r, false).is_ok());
        assert_eq!(r.stripe_version.as_deref(), Some("2026-07-29.preview"));
    }
    assert_eq!(fake.own_violations(), Vec::<String>::new());
}

#[test]
fn the_charge_fetch_route_is_the_published_one() {
    let spec = stripe_spec::spec();
    let charge = Received {
        method: "GET".into(),
        path: "/v1/charges/ch_1".into(),
        idempotency_key: None,
        stripe_version: Some(DEFAULT_API_VERSION.into()),
        form: Vec::new(),
        endpoint: None,
        refused: None,
    };
    assert_eq!(
        check(&charge, false),
        Ok(Endpoint::RetrieveCharge {
            charge: "ch_1".into()
        })
    );
    assert!(spec.endpoint("GET", "/v1/charges/ch_1/refunds").is_none());
}

/// An answer's evaluation as `riskgate eval` prints it.
fn evaluation_json(answer: &pb::CreatePaymentEvaluationResponse) -> Value {
    serde_json::to_value(answer.evaluation.as_ref().unwrap()).unwrap()
}

fn check_shapes(evaluation: &Value, shape: EvaluationShape) {
    let spec = stripe_spec::spec();
    let current = ObjectKind::Evaluation {
        version: DEFAULT_API_VERSION.into(),
        channel: Channel::Ga,
    };
    let preview = ObjectKind::Evaluation {
        version: "2026-01-28.preview".into(),
        channel: Channel::PublicPreview,
    };
    let without = |fields: &[&str]| {
        let mut v = evaluation.clone();
        for f in fields {
            v.as_object_mut().unwrap().remove(*f);
        }
        v
    };
    match shape {
        EvaluationShape::Current => {
            assert_eq!(
                spec.check_object(&current, evaluation),
                Vec::<String>::new()
            );
            assert!(evaluation.get("insights").is_none());
        }
        EvaluationShape::Preview => {
            assert_eq!(
                spec.check_object(&preview, evaluation),
                Vec::<String>::new()
            );
            assert!(evaluation.get("signals").is_none());
        }
        EvaluationShape::Both => {
            assert_eq!(
                spec.check_object(&current, &without(&["insights"])),
                Vec::<String>::new()
            );
            assert_eq!(
                spec.check_object(&preview, &without(&["signals", "recommended_action"])),
                Vec::<String>::new()
            );
        }
    }
}

#[tokio::test]
async fn the_evaluation_riskgate_answers_is_spec_shaped_in_each_shape() {
    let (fake, addr) = fake().await;
    let dir = riskgate_testkit::TempDir::new("contract-rules");
    let rules_path = dir.file(
        "rules.txt",
        "vip: Review if :customer: = 'cus_review'\nBlock if :risk_level: = 'highest'\n",
    );
    for shape in [
        EvaluationShape::Current,
        EvaluationShape::Preview,
        EvaluationShape::Both,
    ] {
        let mut config: Config = test_config();
        config.api.evaluation_shape = shape;
        config.scoring.mode = ScoringMode::Stripe;
        config.stripe.base_url = format!("http://{addr}");
        config.stripe.secret_key = Some(KEY.into());
        config.rules.path = Some(rules_path.clone());
        let server = start(config).await;
        let mut c = client(server.grpc_addr).await;
        // Stripe-scored at several scores (block, 3D Secure, continue, not assessed), a REVIEW
        // from a rule, and the local model.
        for (score, mode, customer) in [
            ("90", "", "cus_1"),
            ("55.55", "", "cus_1"),
            ("3", "", "cus_1"),
            ("-1", "", "cus_1"),
            ("10", "", "cus_review"),
            ("10", "local", "cus_1"),
        ] {
            let mut req = full_request();
            req.metadata.insert("fake_score".into(), score.into());
            req.scoring_mode = mode.into();
            req.customer_details.as_mut().unwrap().customer = customer.into();
            let answer = c.create_payment_evaluation(req).await.unwrap().into_inner();
            let evaluation = evaluation_json(&answer);
            check_shapes(&evaluation, shape);
            let decision = answer.decision.unwrap();
            if shape != EvaluationShape::Preview {
                let fp = &evaluation["signals"]["fraudulent_payment"];
                if mode.is_empty() {
                    assert_eq!(fp["score"], json!(score.parse::<f64>().unwrap()));
                }
                if customer == "cus_review" {
                    assert_eq!(decision.action(), pb::Action::Review);
                    assert_eq!(evaluation["recommended_action"], "continue");
                }
            }
        }
        server.shutdown(Duration::from_secs(5)).await.unwrap();
    }
    assert_eq!(fake.own_violations(), Vec::<String>::new());
}

#[test]
fn stripes_answers_are_read_in_every_version_whatever_was_configured() {
    let spec = stripe_spec::spec();
    for (version, channel) in spec.evaluation_entries() {
        let facts = spec.evaluation_version(&version, channel).unwrap();
        let answer = if facts.answer_shape == "insights" {
            json!({"id": "peval_1", "object": "radar.payment_evaluation", "created_at": 1,
                "livemode": false, "metadata": {},
                "insights": {"evaluated_at": 1, "fraudulent_dispute":
                    {"recommended_action": "block", "risk_score": 88}}})
        } else {
            let level = facts.risk_levels.as_ref().unwrap().last().unwrap().clone();
            json!({"id": "peval_1", "object": "radar.payment_evaluation", "created_at": 1,
                "livemode": false, "metadata": {}, "recommended_action": "block",
                "signals": {"fraudulent_payment": {"score": 88.25, "risk_level": level,
                    "evaluated_at": 1}}})
        };
        let kind = ObjectKind::Evaluation {
            version: version.clone(),
            channel,
        };
        assert_eq!(spec.check_object(&kind, &answer), Vec::<String>::new());
        // The parser does not look at the version: either shape reads under any.
        let parsed = answer::parse(answer.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.recommended_action.as_deref(), Some("block"));
        assert!(parsed.score.unwrap() >= 88.0);
    }
}

#[tokio::test]
async fn the_fake_refuses_what_the_spec_does_not_allow_with_stripes_error() {
    let spec = stripe_spec::spec();
    let (fake, addr) = fake().await;
    let client = StripeClient::new(&stripe_config(addr, DEFAULT_API_VERSION, false), KEY).unwrap();
    let base = "customer_details[email]=a%40b.c&payment_details[amount]=100&\
                payment_details[currency]=usd&\
                payment_details[payment_method_details][payment_method]=pm_1";
    for (body, code, param) in [
        (
            format!("{base}&payment_details[card][bin]=424242"),
            Some("parameter_unknown"),
            "payment_details[card][bin]",
        ),
        (
            format!(
                "{base}&client_device_metadata_details[data][ip]=1.2.3.4&client_device_metadata_details[data][user_agent]=x&client_device_metadata_details[radar_session]=rse_1"
            ),
            Some("parameter_unknown"),
            "client_device_metadata_details[data][ip]",
        ),
        (
            base.replace("customer_details[email]=a%40b.c&", ""),
            Some("parameter_missing"),
            "customer_details",
        ),
        (
            format!("{base}&payment_details[money_movement_details][money_movement_type]=wire"),
            None,
            "payment_details[money_movement_details][money_movement_type]",
        ),
        (
            base.replace("amount]=100", "amount]=1.5"),
            Some("parameter_invalid_integer"),
            "payment_details[amount]",
        ),
    ] {
        let report = Report {
            path: "/v1/radar/payment_evaluations".into(),
            body: body.replace('[', "%5B").replace(']', "%5D"),
        };
        let e = client
            .report(&report, "riskgate-refused", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Status(400), "{body}");
        let stripe = e.stripe.unwrap();
        assert_eq!(stripe.kind, "invalid_request_error");
        assert_eq!(stripe.code.as_deref(), code, "{body}");
        assert_eq!(stripe.param.as_deref(), Some(param), "{body}");
        if let Some(code) = code {
            assert!(spec.error_codes().iter().any(|c| c == code));
        }
    }
    // An unknown query parameter of a list endpoint, an unknown URL, a version without the
    // endpoint.
    let e = client
        .get(
            Family::Lists,
            "/v1/radar/value_lists?colour=red",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status(400));
    let e = client
        .get(
            Family::Lists,
            "/v1/radar/value_list_sets",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status(404));
    let old = StripeClient::new(
        &StripeConfig {
            lists_api_version: "2019-01-01".into(),
            ..stripe_config(addr, DEFAULT_API_VERSION, false)
        },
        KEY,
    )
    .unwrap();
    let e = old
        .get_page("/v1/radar/value_lists?limit=10", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status(400));
    assert_eq!(fake.own_violations(), Vec::<String>::new());
}
