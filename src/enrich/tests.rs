//! Unit tests of the enrichment stage.

use std::collections::BTreeMap;

use super::*;
use crate::stores::state::Outcome;
use riskgate_core::signals::{OutcomeSeries, OutcomeWindow, SessionFacts};
use riskgate_core::{
    input::{Card, Device, PaymentType},
    reference::currency,
};

fn input<'a>(md: &'a BTreeMap<String, String>, fingerprint: &'a str) -> PaymentInput<'a> {
    PaymentInput {
        amount: 1000,
        currency: currency("usd").unwrap(),
        customer: Some("cus_1"),
        customer_account: None,
        email: Some(" Jenny@Example.com "),
        name: None,
        phone: None,
        description: None,
        statement_descriptor: None,
        payment_method: "pm_1",
        billing: None,
        card: Some(Card {
            fingerprint: Some(fingerprint),
            ..Default::default()
        }),
        customer_presence: None,
        payment_type: None,
        shipping: None,
        device: Device {
            ip: Some("198.51.100.4".parse().unwrap()),
            ..Default::default()
        },
        metadata: md,
        radar: Default::default(),
    }
}

fn enricher(start: i64) -> Enricher {
    Enricher::new(
        Arc::new(LocalState::new(&EnrichmentConfig::default())),
        None,
        Clock::starting_at(start),
    )
}

#[test]
fn keys_are_normalized() {
    let md = BTreeMap::new();
    let keys = KeyHasher::new(&PseudonymKey::generate());
    let a = attempt(&keys, &input(&md, "fpA"), Some(10.0));
    let mut other = input(&md, "fpA");
    other.email = Some("jenny@example.com");
    let b = attempt(&keys, &other, None);
    assert_eq!(
        a.keys[KeyKind::Email as usize],
        b.keys[KeyKind::Email as usize]
    );
    assert_eq!(
        a.keys[KeyKind::Card as usize],
        b.keys[KeyKind::Card as usize]
    );
    let c = attempt(&keys, &input(&md, "fpB"), None);
    assert_ne!(
        a.keys[KeyKind::Card as usize],
        c.keys[KeyKind::Card as usize]
    );
    assert_eq!(
        a.keys[KeyKind::Ip as usize],
        Some(keys.ip_key("198.51.100.4".parse().unwrap()))
    );
    assert_eq!(a.keys[KeyKind::Device as usize], None); // only a session has a device id
    // Unicode case variants are one email.
    let mut upper = input(&md, "fpA");
    upper.email = Some("JÖRG@example.com");
    let mut lower = input(&md, "fpA");
    lower.email = Some("jörg@EXAMPLE.com");
    assert_eq!(
        attempt(&keys, &upper, None).keys[KeyKind::Email as usize],
        attempt(&keys, &lower, None).keys[KeyKind::Email as usize]
    );
    // Another key, other keys.
    let other_keys = KeyHasher::new(&PseudonymKey::generate());
    assert_ne!(attempt(&other_keys, &input(&md, "fpA"), None).keys, a.keys);
}

#[tokio::test(start_paused = true)]
async fn history_rolls_with_the_clock_and_idle_keys_expire() {
    let local = Arc::new(LocalState::new(&EnrichmentConfig::default()));
    let e = Arc::new(Enricher::new(
        local.clone(),
        None,
        Clock::starting_at(1_795_219_200),
    ));
    let md = BTreeMap::new();
    let hourly = |en: &Enriched| {
        en.enrichment
            .velocity
            .key(KeyKind::Card)
            .unwrap()
            .count(Counter::Total, 0)
    };
    for _ in 0..3 {
        e.enrich(&input(&md, "fpA"), "peval_t", Some(5.0)).await;
    }
    assert_eq!(
        hourly(&e.enrich(&input(&md, "fpA"), "peval_t", None).await),
        3
    );
    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let later = e.enrich(&input(&md, "fpA"), "peval_t", None).await;
    assert_eq!(hourly(&later), 0);
    assert_eq!(
        later.enrichment.velocity.key(KeyKind::Card).unwrap().counts[0][3],
        4
    );

    // The upkeep task removes keys idle longer than the expiry.
    tokio::spawn(e.clone().run_upkeep(Duration::from_secs(60)));
    tokio::time::advance(Duration::from_secs(
        EnrichmentConfig::default().velocity_idle_expiry_secs + 120,
    ))
    .await;
    // The sweep runs on a blocking thread: let it finish (a wall-clock bound, no sleep).
    let waited = std::time::Instant::now();
    while !local.velocity().is_empty() {
        assert!(waited.elapsed() < Duration::from_secs(30), "no sweep");
        tokio::task::yield_now().await;
    }
    let after = e.enrich(&input(&md, "fpA"), "peval_t", None).await;
    assert_eq!(
        after.enrichment.velocity.key(KeyKind::Card).unwrap().counts[0][3],
        0
    );
}

#[tokio::test]
async fn sessions_fill_device_facts_and_the_two_session_check() {
    let e = enricher(1_795_219_200);
    let md = BTreeMap::new();
    e.record_session(RadarSession {
        id: "rse_setup".into(),
        facts: SessionFacts {
            ip: Some("203.0.113.9".parse().unwrap()),
            device_id: Some("dev_a".into()),
            user_agent: Some("UA/1".into()),
            ..Default::default()
        },
        payment_method: Some("pm_1".into()),
        ip_country: None,
        ip_key: None,
        device_key: None,
    })
    .await
    .unwrap();
    let mut later = input(&md, "fpA");
    later.device = Device {
        radar_session: Some("rse_setup"),
        ..Default::default()
    };
    let same = e.enrich(&later, "peval_t", None).await;
    assert_eq!(same.enrichment.session_found, Some(true));
    let c = same.enrichment.payment_method_session.unwrap();
    assert_eq!(c.ip_changed, Some(false));

    let mut other = input(&md, "fpA");
    other.device = Device {
        radar_session: Some("rse_unknown"),
        ip: Some("198.51.100.4".parse().unwrap()),
        ..Default::default()
    };
    let moved = e.enrich(&other, "peval_t", None).await;
    assert_eq!(moved.enrichment.session_found, Some(false));
    let c = moved.enrichment.payment_method_session.unwrap();
    assert_eq!(c.ip_changed, Some(true));
    assert_eq!(c.device_changed, None); // no device id on this payment

    // A setup payment remembers its device for a new payment method.
    let mut setup = input(&md, "fpC");
    setup.payment_method = "pm_new";
    setup.payment_type = Some(PaymentType::SetupOneOff);
    let saved = e.enrich(&setup, "peval_t", None).await;
    assert!(saved.enrichment.payment_method_session.is_none());
    assert!(e.finish(&saved, false).await);
    let mut next = input(&md, "fpC");
    next.payment_method = "pm_new";
    let seen = e.enrich(&next, "peval_t", None).await;
    assert_eq!(
        seen.enrichment.payment_method_session.unwrap().ip_changed,
        Some(false)
    );
}

#[tokio::test]
async fn outcomes_count_when_they_occurred() {
    let t0 = 1_795_219_200;
    let e = enricher(t0);
    let md = BTreeMap::new();
    e.enrich(&input(&md, "fpA"), "peval_late", Some(20.0)).await;
    assert_eq!(
        e.report_outcome("peval_late", Report::of(Outcome::Declined), t0 - 7200)
            .await
            .unwrap(),
        OutcomeResult::Recorded
    );
    let next = e.enrich(&input(&md, "fpA"), "peval_next", None).await;
    let card = next.enrichment.velocity.key(KeyKind::Card).unwrap();
    assert_eq!(card.count(Counter::Declined, 0), 0); // two hours ago: not this hour
    assert_eq!(card.count(Counter::Declined, 1), 1);
    assert_eq!(card.count(Counter::Total, 0), 1);
}

#[tokio::test]
async fn outcomes_need_a_remembered_evaluation_and_count_once() {
    let e = enricher(1_795_219_200);
    let md = BTreeMap::new();
    let first = e.enrich(&input(&md, "fpA"), "peval_1", Some(20.0)).await;
    assert!(e.finish(&first, true).await);
    assert_eq!(
        e.report_outcome("peval_2", Report::of(Outcome::Disputed), 0)
            .await
            .unwrap(),
        OutcomeResult::NotFound
    );
    assert_eq!(
        e.report_outcome("peval_1", Report::of(Outcome::Disputed), 0)
            .await
            .unwrap(),
        OutcomeResult::Recorded
    );
    assert_eq!(
        e.report_outcome("peval_1", Report::of(Outcome::Disputed), 0)
            .await
            .unwrap(),
        OutcomeResult::Duplicate
    );
    let next = e.enrich(&input(&md, "fpA"), "peval_t", None).await;
    let card = next.enrichment.velocity.key(KeyKind::Card).unwrap();
    assert_eq!(card.count(Counter::Blocked, 0), 1);
    assert!((card.usd_failed - 20.0).abs() < 1e-6);
    // The dispute is outcome memory's, on every key of the evaluation, once.
    let outcomes = &next.enrichment.outcomes;
    for kind in [
        KeyKind::Card,
        KeyKind::Email,
        KeyKind::Ip,
        KeyKind::Customer,
    ] {
        let h = outcomes.key(kind).unwrap();
        assert_eq!(
            h.window(OutcomeSeries::FraudulentDispute, OutcomeWindow::AllTime),
            1,
            "{kind:?}"
        );
    }
    assert!(outcomes.key(KeyKind::Device).is_none(), "no device key");
}

#[tokio::test]
async fn labels_without_an_evaluation_reach_the_keys_they_name() {
    let e = enricher(1_795_219_200);
    let md = BTreeMap::new();
    let fraudster = attempt(e.keys(), &input(&md, "fpStolen"), None);
    e.label(fraudster.keys, OutcomeLabel::EarlyFraudWarning, 0)
        .await
        .unwrap();
    // The same email and customer with a new card: known by them, not by the card.
    let next = e.enrich(&input(&md, "fpNew"), "peval_t", None).await;
    let o = &next.enrichment.outcomes;
    let fraud = |k| {
        o.key(k)
            .unwrap()
            .window(OutcomeSeries::Fraud, OutcomeWindow::AllTime)
    };
    assert_eq!(fraud(KeyKind::Card), 0);
    assert_eq!(fraud(KeyKind::Email), 1);
    assert_eq!(fraud(KeyKind::Customer), 1);
}
