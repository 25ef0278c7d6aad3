//! Failing dependencies, injected with the fail points of `riskgate::faults` into the real server:
//! the state store (on a real Redis), the Stripe upstream (the fake Stripe), the lists journal and
//! the model reload. Each failure is answered within the caller's deadline and flagged (`degraded`,
//! the score source, a metric, or an error code the caller can act on); a journal write that fails
//! is not acknowledged and leaves nothing behind; a model that fails to reload leaves the old one
//! serving.
//!
//! Fail points are process-global, so every test that arms one lives in this binary and holds a
//! `fail::FailScenario` (which serializes them) while it runs.

use riskgate_testkit as common;

use std::{net::SocketAddr, time::Duration};

use common::{redis_server::RedisServer, *};
use fail::FailScenario;
use riskgate::{
    config::scoring::ScoringMode,
    faults,
    proto::v1::{
        self as pb, CreatePaymentEvaluationRequest, admin_service_client::AdminServiceClient,
        radar_session_service_client::RadarSessionServiceClient,
        value_list_service_client::ValueListServiceClient,
    },
    stores::lists::journal::ListStore,
};
use riskgate_core::lists::ItemType;
use riskgate_testkit::fake_stripe::FakeStripe;
use tonic::{Code, Request};

const TOKEN: &str = "faults-admin-token";
const STRIPE_KEY: &str = "sk_test_faults";

/// The sum of every sample of `name` whose labels contain all of `labels` (`key="value"`).
fn total(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (series, value) = rest.rsplit_once(' ')?;
            (series.is_empty() || series.starts_with('{'))
                .then_some(())
                .filter(|()| labels.iter().all(|want| series.contains(want)))?;
            value.parse::<f64>().ok()
        })
        .sum()
}

async fn metrics(admin: SocketAddr) -> String {
    http_get(admin, "/metrics").await.1
}

fn with_deadline<T>(msg: T, ms: u64) -> Request<T> {
    let mut r = Request::new(msg);
    r.set_timeout(Duration::from_millis(ms));
    r
}

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

fn decision(r: &pb::CreatePaymentEvaluationResponse) -> &pb::Decision {
    r.decision.as_ref().unwrap()
}

/// A request whose card is new to the state store.
fn payment(fingerprint: &str) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap()
        .card
        .as_mut()
        .unwrap()
        .fingerprint = fingerprint.into();
    req
}

#[tokio::test]
async fn a_failing_or_slow_state_store_is_answered_in_time_and_flagged() {
    let scenario = FailScenario::setup();
    let redis = RedisServer::start().await;
    let dir = TempDir::new("faults-state");
    let mut config = test_config();
    config.rules.path = Some(dir.file(
        "rules.txt",
        "Block if :risk_level: = 'highest'\nBlock if ::fault_test:: = 'block'\n",
    ));
    riskgate_testkit::server::use_redis(&mut config, redis.url());
    // Long enough for a loaded debug build, far shorter than the injected delay and the deadline.
    config.redis.budget_ms = 250;
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let before = metrics(server.admin_addr).await;
    let degraded = |m: &str| {
        total(
            m,
            "riskgate_enrichment_degraded_total",
            &["part=\"lookup\""],
        )
    };

    let healthy = eval
        .create_payment_evaluation(with_deadline(payment("fpHealthy"), 5_000))
        .await
        .unwrap();
    assert!(!decision(healthy.get_ref()).degraded);

    // Redis answers with an error: in-process state serves, the answer is flagged.
    fail::cfg(faults::STATE_LOOKUP, "return").unwrap();
    let failed = eval
        .create_payment_evaluation(with_deadline(payment("fpFailed"), 5_000))
        .await
        .unwrap();
    assert!(decision(failed.get_ref()).degraded);

    // Redis stalls for 10 s: the budget cuts it off and the caller's 2 s deadline is kept (a
    // missed deadline would be DEADLINE_EXCEEDED, not an answer).
    fail::cfg(faults::STATE_LOOKUP, "return(10000)").unwrap();
    let slow = eval
        .create_payment_evaluation(with_deadline(payment("fpSlow"), 2_000))
        .await
        .unwrap();
    assert!(decision(slow.get_ref()).degraded);
    assert_eq!(
        degraded(&metrics(server.admin_addr).await) - degraded(&before),
        2.0
    );
    fail::remove(faults::STATE_LOOKUP);

    // Counting a block fails after the decision: the answer stands, the failure is counted.
    fail::cfg(faults::STATE_FINISH, "return").unwrap();
    let finish = |m: &str| {
        total(
            m,
            "riskgate_enrichment_degraded_total",
            &["part=\"finish\""],
        )
    };
    let mut blocked = payment("fpBlocked");
    blocked.metadata.insert("fault_test".into(), "block".into());
    let answer = eval
        .create_payment_evaluation(with_deadline(blocked, 5_000))
        .await
        .unwrap();
    assert_eq!(decision(answer.get_ref()).action(), pb::Action::Block);
    assert_eq!(
        finish(&metrics(server.admin_addr).await) - finish(&before),
        1.0
    );

    // Sessions: the RPC fails fast with UNAVAILABLE (retryable), within its deadline.
    fail::cfg(faults::STATE_SESSIONS, "return(10000)").unwrap();
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);
    let record = pb::RecordRadarSessionRequest {
        session: Some(pb::RadarSession {
            id: "rse_faulty".into(),
            ip: "192.0.2.7".into(),
            ..Default::default()
        }),
    };
    let err = sessions
        .record_radar_session(with_deadline(record.clone(), 2_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    // Outcome reports on an evaluation Redis holds: UNAVAILABLE, so the caller retries later.
    fail::cfg(faults::STATE_REPORT, "return").unwrap();
    let report = pb::ReportPaymentOutcomeRequest {
        evaluation: healthy.get_ref().evaluation.as_ref().unwrap().id.clone(),
        outcome: pb::PaymentOutcome::Authorized as i32,
        ..Default::default()
    };
    let err = eval
        .report_payment_outcome(with_deadline(report.clone(), 2_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    // Once the faults are gone, everything works again on Redis.
    for point in [
        faults::STATE_FINISH,
        faults::STATE_SESSIONS,
        faults::STATE_REPORT,
    ] {
        fail::remove(point);
    }
    let again = eval
        .create_payment_evaluation(with_deadline(payment("fpAgain"), 5_000))
        .await
        .unwrap();
    assert!(!decision(again.get_ref()).degraded);
    sessions.record_radar_session(record).await.unwrap();
    let reported = eval.report_payment_outcome(report).await.unwrap();
    assert!(!reported.get_ref().duplicate);

    server.shutdown(Duration::from_secs(5)).await.unwrap();
    scenario.teardown();
}

#[tokio::test]
async fn a_failing_or_slow_stripe_falls_back_to_the_local_model_in_time() {
    let scenario = FailScenario::setup();
    let (_fake, addr) = FakeStripe::start_local(STRIPE_KEY).await.unwrap();
    let mut config = test_config();
    config.scoring.mode = ScoringMode::StripeWithFallback;
    config.stripe.base_url = format!("http://{addr}");
    config.stripe.secret_key = Some(STRIPE_KEY.into());
    // Room for the local model after the upstream gives up, even on a loaded debug build.
    config.scoring.upstream_margin_ms = 50;
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let before = metrics(server.admin_addr).await;
    let calls = |m: &str, outcome: &str| {
        total(
            m,
            "riskgate_upstream_calls_total",
            &["upstream=\"stripe\"", &format!("outcome=\"{outcome}\"")],
        )
    };

    let ok = eval
        .create_payment_evaluation(with_deadline(minimal_stripe_request(), 5_000))
        .await
        .unwrap();
    assert_eq!(
        decision(ok.get_ref()).score_source(),
        pb::ScoreSource::Stripe
    );

    for (action, outcome) in [("return", "transport"), ("return(10000)", "timeout")] {
        fail::cfg(faults::STRIPE_SEND, action).unwrap();
        let answer = eval
            .create_payment_evaluation(with_deadline(minimal_stripe_request(), 1_000))
            .await
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
        let d = decision(answer.get_ref());
        assert_eq!(d.score_source(), pb::ScoreSource::Fallback, "{action}");
        assert!(d.degraded, "{action}");
        assert!(
            d.reasons.iter().any(|r| r.code == "stripe_unavailable"),
            "{action}: {:?}",
            d.reasons
        );
        let after = metrics(server.admin_addr).await;
        assert!(
            calls(&after, outcome) > calls(&before, outcome),
            "{action}: no {outcome} counted"
        );
    }

    fail::remove(faults::STRIPE_SEND);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    scenario.teardown();
}

/// Every item value on `list`, as the API lists them.
async fn values(
    lists: &mut ValueListServiceClient<tonic::transport::Channel>,
    list: &str,
) -> Vec<String> {
    let page = lists
        .list_value_list_items(authed(pb::ListValueListItemsRequest {
            value_list: list.into(),
            limit: 100,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let mut v: Vec<String> = page.data.into_iter().map(|i| i.value).collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_failed_journal_write_is_not_acknowledged_and_leaves_nothing_behind() {
    let scenario = FailScenario::setup();
    let dir = TempDir::new("faults-journal");
    let journal = dir.path().join("lists.ndjson");
    let mut config = test_config();
    config.lists.path = Some(journal.clone());
    config.admin_token = Some(TOKEN.into());
    let server = start(config.clone()).await;
    let mut lists = ValueListServiceClient::new(channel(server.grpc_addr).await);
    let list = "block_list_email";
    let add = |value: &str| {
        authed(pb::CreateValueListItemRequest {
            value_list: list.into(),
            value: value.into(),
        })
    };

    lists
        .create_value_list_item(add("kept@example.com"))
        .await
        .unwrap();
    // Failing before the write, and after the write but before the fsync (the line reached the
    // file and must be cut off again).
    for (point, value) in [
        (faults::JOURNAL_APPEND, "append@example.com"),
        (faults::JOURNAL_FSYNC, "fsync@example.com"),
    ] {
        fail::cfg(point, "return").unwrap();
        let err = lists.create_value_list_item(add(value)).await.unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{point}: {err:?}");
        fail::remove(point);
        assert_eq!(
            values(&mut lists, list).await,
            ["kept@example.com"],
            "{point}"
        );
        let text = std::fs::read_to_string(&journal).unwrap();
        assert!(!text.contains(value), "{point} left its line: {text}");
        assert!(text.ends_with('\n'), "{point} left a torn line");
    }
    // The journal still takes writes after the failures.
    lists
        .create_value_list_item(add("later@example.com"))
        .await
        .unwrap();
    server.shutdown(Duration::from_secs(5)).await.unwrap();

    // After a restart exactly the acknowledged items are there.
    let server = start(config).await;
    let mut lists = ValueListServiceClient::new(channel(server.grpc_addr).await);
    assert_eq!(
        values(&mut lists, list).await,
        ["kept@example.com", "later@example.com"]
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    scenario.teardown();
}

#[test]
fn a_failed_compaction_loses_nothing_and_does_not_fail_the_change() {
    let scenario = FailScenario::setup();
    let dir = TempDir::new("faults-compact");
    let journal = dir.path().join("lists.ndjson");
    let store = ListStore::open(&journal, 1)
        .unwrap()
        .with_compaction_threshold(4);
    let list = store
        .create_list(
            "ips",
            "IPs",
            ItemType::IpAddress,
            Default::default(),
            1,
            "test",
        )
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            store
                .create_item(&list.id, &format!("192.0.2.{i}"), 1, "test")
                .unwrap()
                .id,
        );
    }

    fail::cfg(faults::JOURNAL_COMPACT, "return").unwrap();
    let err = store.compact().unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    // Deletes would compact (mostly dead lines); the compaction fails, the deletes do not.
    for id in &ids[..6] {
        store.delete_item(id).unwrap();
    }
    fail::remove(faults::JOURNAL_COMPACT);
    assert!(!dir.path().join("lists.compact.tmp").exists());
    drop(store);

    let reopened = ListStore::open(&journal, 1).unwrap();
    let (items, _) = reopened
        .list_items(&list.id, Default::default(), None)
        .unwrap();
    let mut kept: Vec<&str> = items.iter().map(|i| i.value.as_str()).collect();
    kept.sort_unstable();
    assert_eq!(kept, ["192.0.2.6", "192.0.2.7"]);
    scenario.teardown();
}

/// The default model with its first tree's leaves raised by 12 log-odds: it scores every payment
/// `highest`, which the default rules block.
fn blocking_model() -> String {
    let mut done = false;
    riskgate_core::model::DEFAULT_MODEL
        .lines()
        .map(|line| match line.strip_prefix("leaf_value=") {
            Some(values) if !done => {
                done = true;
                let raised: Vec<String> = values
                    .split(' ')
                    .map(|v| (v.parse::<f64>().unwrap() + 12.0).to_string())
                    .collect();
                format!("leaf_value={}", raised.join(" "))
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[tokio::test]
async fn a_failed_model_reload_keeps_the_old_model_serving_and_says_so() {
    let scenario = FailScenario::setup();
    let dir = TempDir::new("faults-model");
    let model = dir.file("model.txt", riskgate_core::model::DEFAULT_MODEL);
    let mut config = test_config();
    config.model.path = Some(model.clone());
    config.rules.watch_interval_ms = 0;
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let mut admin = AdminServiceClient::new(channel(server.grpc_addr).await);
    let before = metrics(server.admin_addr).await;
    let errors = |m: &str| {
        total(
            m,
            "riskgate_rules_reloads_total",
            &["trigger=\"rpc\"", "outcome=\"error\""],
        )
    };
    let action = |r: pb::CreatePaymentEvaluationResponse| decision(&r).action();
    let first = eval
        .create_payment_evaluation(example_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action(first), pb::Action::Continue);
    // The file now holds a model that blocks everything; the reload that would load it fails.
    std::fs::write(&model, blocking_model()).unwrap();

    fail::cfg(faults::MODEL_RELOAD, "return").unwrap();
    let err = admin
        .reload_rules(authed(pb::ReloadRulesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("model in use keeps serving"),
        "{}",
        err.message()
    );
    assert_eq!(
        errors(&metrics(server.admin_addr).await) - errors(&before),
        1.0
    );
    // Another customer's payment (the same card again within seconds is a velocity question).
    let still = eval
        .create_payment_evaluation(example_request_of(2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action(still), pb::Action::Continue, "the old model serves");

    // Without the fault the same file loads and the new model decides.
    fail::remove(faults::MODEL_RELOAD);
    admin
        .reload_rules(authed(pb::ReloadRulesRequest {}))
        .await
        .unwrap();
    let after = eval
        .create_payment_evaluation(example_request_of(3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action(after), pb::Action::Block);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    scenario.teardown();
}
