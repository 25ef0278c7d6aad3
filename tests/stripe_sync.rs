//! The Stripe client's background calls against the in-process fake Stripe, with the tokio clock
//! paused: outcome reports (form, headers, retries with one idempotency key, refusals) and the
//! Radar value list sync (pagination, atomic swaps on the interval, conflicts, failures that
//! change nothing).

use std::{sync::Arc, time::Duration};

use riskgate::{
    config::{DEFAULT_API_VERSION, StripeConfig},
    scoring::remote::ErrorKind,
    stores::{
        lists::{backend::JournalLists, journal::ListStore},
        state::{Outcome, UpstreamRef},
    },
    stripe::{
        client::StripeClient,
        lists::{ListSync, SyncedLists},
        outcomes::{self, OutcomeDetail, StripeOutcome},
    },
};
use riskgate_core::lists::{ItemType, ListLookup};
use riskgate_testkit::fake_stripe::{FakeList, FakeStripe, Fault};
use tokio::sync::watch;

const KEY: &str = "sk_test_sync_123";

async fn setup() -> (FakeStripe, Arc<StripeClient>) {
    let (fake, addr) = FakeStripe::start_local(KEY).await.unwrap();
    fake.insert_evaluation(&stripe_eval().id);
    let c = StripeConfig {
        base_url: format!("http://{addr}"),
        ..Default::default()
    };
    (fake, Arc::new(StripeClient::new(&c, KEY).unwrap()))
}

fn stripe_eval() -> UpstreamRef {
    UpstreamRef {
        id: "peval_fromstripe".into(),
        amount: 4200,
        currency: "gbp".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_declined_outcome_reaches_stripe_as_a_rejection_with_its_reason() {
    let (fake, client) = setup().await;
    let declined = StripeOutcome::of(
        Outcome::Declined,
        &OutcomeDetail {
            decline_code: "insufficient_funds".into(),
            ..Default::default()
        },
    )
    .expect("Stripe has a report for declines");
    let report = outcomes::report(&stripe_eval(), declined, 1_800);
    let key = outcomes::idempotency_key("peval_riskgate1", declined.as_str());
    let attempts = client
        .report(&report, &key, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(attempts, 1);
    let got = fake.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.refused, None, "the fake found the report well formed");
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        "/v1/radar/payment_evaluations/peval_fromstripe/report_outcome"
    );
    assert_eq!(r.idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(r.stripe_version.as_deref(), Some(DEFAULT_API_VERSION));
    assert!(
        !r.endpoint.as_ref().unwrap().confirmed(),
        "an inferred path"
    );
    assert_eq!(r.param("type"), Some("rejected"));
    assert_eq!(r.param("occurred_at"), Some("1800"));
    assert_eq!(
        r.param("rejected[card][reason]"),
        Some("insufficient_funds")
    );

    // Stripe answers the evaluation with the outcome.
    let kept = fake.evaluation(&stripe_eval().id).unwrap();
    assert_eq!(
        kept["outcome"]["rejected"]["card"]["reason"],
        "insufficient_funds"
    );

    // A dispute is an event report, with the evaluated amount.
    let disputed =
        StripeOutcome::of(Outcome::Disputed, &OutcomeDetail::default()).expect("and for disputes");
    let report = outcomes::report(&stripe_eval(), disputed, 1_900);
    client
        .report(&report, "riskgate-outcome-x", Duration::from_secs(5))
        .await
        .unwrap();
    let r = &fake.received()[1];
    assert_eq!(r.refused, None);
    assert_eq!(
        r.path,
        "/v1/radar/payment_evaluations/peval_fromstripe/report"
    );
    assert_eq!(r.param("events[0][type]"), Some("dispute_opened"));
    assert_eq!(r.param("events[0][dispute_opened][amount]"), Some("4200"));
    assert_eq!(r.param("events[0][dispute_opened][currency]"), Some("gbp"));
    let kept = fake.evaluation(&stripe_eval().id).unwrap();
    assert_eq!(kept["events"][0]["dispute_opened"]["amount"], 4200);
    assert!(fake.own_violations().is_empty());

    // An evaluation Stripe does not know: 404, not retried.
    let unknown = UpstreamRef {
        id: "peval_unknown".into(),
        ..stripe_eval()
    };
    let e = client
        .report(
            &outcomes::report(&unknown, StripeOutcome::Succeeded, 2_000),
            "riskgate-outcome-y",
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status(404));
    assert_eq!(e.stripe.unwrap().code.as_deref(), Some("resource_missing"));
}

#[tokio::test(start_paused = true)]
async fn failed_reports_are_retried_with_one_key_within_the_policy() {
    let (fake, client) = setup().await;
    let report = outcomes::report(&stripe_eval(), StripeOutcome::Succeeded, 1);
    let key = outcomes::idempotency_key("peval_riskgate2", "succeeded");

    // Two 5xx, then success: three attempts (max_retries = 2), one key.
    fake.script([Fault::parse("500").unwrap(), Fault::Reset]);
    let attempts = client
        .report(&report, &key, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(attempts, 3);
    let got = fake.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.idempotency_key.as_deref() == Some(key.as_str()))
    );

    // Failing for good: the policy's three attempts, then the error.
    fake.set_fault(Fault::parse("503").unwrap());
    let e = client
        .report(&report, &key, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status(503));
    assert_eq!(fake.received().len(), 6);

    // A refusal is not retried.
    fake.set_fault(Fault::parse("400-no-retry").unwrap());
    let e = client
        .report(&report, &key, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(!e.retryable);
    assert_eq!(fake.received().len(), 7);

    // A stalled Stripe costs the budget, no more.
    fake.set_fault(Fault::Stall);
    let t = tokio::time::Instant::now();
    let e = client
        .report(&report, &key, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(t.elapsed() <= Duration::from_millis(305));
}

fn emails(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("fraud{i}@example.com")).collect()
}

fn fake_list(id: &str, alias: &str, item_type: &str, values: &[String]) -> FakeList {
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    FakeList::new(id, alias, item_type, &values)
}

#[tokio::test(start_paused = true)]
async fn lists_are_mirrored_on_the_interval_through_every_page() {
    let (fake, client) = setup().await;
    // 250 items: three pages of at most 100.
    fake.set_value_lists(vec![
        fake_list("rsl_emails", "stripe_blocked_emails", "email", &emails(250)),
        fake_list(
            "rsl_ips",
            "stripe_blocked_ips",
            "ip_address",
            &["203.0.113.0/24".into()],
        ),
    ]);
    let store = Arc::new(ListStore::in_memory(0));
    let synced = Arc::new(SyncedLists::default());
    let sync = ListSync::new(
        client,
        Arc::new(JournalLists::new(store.clone())),
        synced.clone(),
        "",
        Duration::from_secs(30),
        riskgate::clock::Clock::system(),
    );
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(sync.run_every(Duration::from_secs(60), stop));

    // The first run starts at once.
    while synced.len() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let emails_cell = store.lookup("stripe_blocked_emails").unwrap();
    assert_eq!(emails_cell.item_type(), Some(ItemType::Email));
    assert!(emails_cell.contains("fraud0@example.com"));
    assert!(
        emails_cell.contains("FRAUD249@example.com"),
        "normalized like local items"
    );
    assert!(
        store
            .lookup("stripe_blocked_ips")
            .unwrap()
            .contains("203.0.113.77")
    );
    let item_pages = fake
        .received()
        .iter()
        .filter(|r| {
            r.path == "/v1/radar/value_list_items" && r.param("value_list") == Some("rsl_emails")
        })
        .map(|r| r.param("starting_after").map(str::to_owned))
        .collect::<Vec<_>>();
    assert_eq!(
        item_pages,
        vec![
            None,
            Some("rsli_emails_99".into()),
            Some("rsli_emails_199".into())
        ]
    );
    assert!(fake.received().iter().all(|r| r.refused.is_none()));
    assert_eq!(
        synced.owner("stripe_blocked_emails").as_deref(),
        Some("rsl_emails")
    );
    assert_eq!(synced.owner("rsli_emails_3").as_deref(), Some("rsl_emails"));

    // Stripe changes: at the next interval the lists are replaced, and a deleted one goes.
    fake.set_value_lists(vec![fake_list(
        "rsl_emails",
        "stripe_blocked_emails",
        "email",
        &["new@example.com".into()],
    )]);
    let before = fake.received().len();
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(fake.received().len(), before, "nothing before the interval");
    while synced.len() != 1 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(emails_cell.contains("new@example.com"));
    assert!(!emails_cell.contains("fraud0@example.com"));
    assert_eq!(
        store.lookup("stripe_blocked_ips").unwrap().item_type(),
        None
    );

    stop_tx.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_changes_nothing_and_local_aliases_win() {
    let (fake, client) = setup().await;
    fake.set_value_lists(vec![
        fake_list("rsl_a", "mirrored", "email", &["a@example.com".into()]),
        // Taken by riskgate's default local list: skipped.
        fake_list(
            "rsl_b",
            "block_list_email",
            "email",
            &["b@example.com".into()],
        ),
        fake_list("rsl_c", "odd", "no_such_type", &["x".into()]),
    ]);
    let store = Arc::new(ListStore::in_memory(0));
    let synced = Arc::new(SyncedLists::default());
    let sync = ListSync::new(
        client.clone(),
        Arc::new(JournalLists::new(store.clone())),
        synced.clone(),
        "",
        Duration::from_secs(30),
        riskgate::clock::Clock::system(),
    );
    let report = sync.sync_once().await.unwrap();
    assert_eq!((report.lists, report.items, report.skipped), (1, 1, 2));
    assert!(store.lookup("mirrored").unwrap().contains("a@example.com"));
    assert!(
        !store
            .lookup("block_list_email")
            .unwrap()
            .contains("b@example.com")
    );

    // Stripe fails on the items of the list (after its first page of lists): nothing changes.
    fake.set_value_lists(vec![fake_list(
        "rsl_a",
        "mirrored",
        "email",
        &["changed@example.com".into()],
    )]);
    fake.script([Fault::None, Fault::parse("400-no-retry").unwrap()]);
    assert!(sync.sync_once().await.is_err());
    assert!(store.lookup("mirrored").unwrap().contains("a@example.com"));
    assert!(
        !store
            .lookup("mirrored")
            .unwrap()
            .contains("changed@example.com")
    );

    // With a prefix, Stripe's default-named list sits next to the local one.
    fake.set_value_lists(vec![fake_list(
        "rsl_b",
        "block_list_email",
        "email",
        &["b@example.com".into()],
    )]);
    let prefixed = ListSync::new(
        client,
        Arc::new(JournalLists::new(store.clone())),
        Arc::new(SyncedLists::default()),
        "stripe_",
        Duration::from_secs(30),
        riskgate::clock::Clock::system(),
    );
    assert_eq!(prefixed.sync_once().await.unwrap().lists, 1);
    assert!(
        store
            .lookup("stripe_block_list_email")
            .unwrap()
            .contains("b@example.com")
    );
}
