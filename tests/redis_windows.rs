//! The Redis scripts keep the same windows as the in-process counters: one seeded sequence of
//! evaluations, blocks and outcomes (some reported for earlier times), spread over more than a
//! week, is run against a real Redis and against in-process state, and every history both return
//! must agree — windows rolling and expiring, the current payment excluded, distinct counts capped
//! at 25 with the least recently seen value replaced, first-seen times and USD sums — and so must
//! outcome memory (every label kind, windows, fraud customers, first and last fraud).

use riskgate_testkit as common;

use std::sync::Arc;

use redis::AsyncCommands;

use common::{redis_cluster::RedisCluster, redis_server::RedisServer};
use riskgate::{
    config::{EnrichmentConfig, RedisConfig},
    stores::state::{
        Attempt, Lookup, Outcome, OutcomeResult, Report, StateStore, local::LocalState,
        redis::RedisState,
    },
};
use riskgate_core::signals::{
    Counter, DISTINCT_CAP, Dim, KeyHistory, KeyKind, OutcomeLabel, OutcomeSeries, OutcomeWindow,
    Velocity, WINDOWS,
};

/// 2026-11-21T00:00:00Z.
const T0: i64 = 1_795_219_200;

fn stores(redis: &RedisServer) -> (LocalState, RedisState) {
    stores_on(redis.url())
}

fn stores_on(url: String) -> (LocalState, RedisState) {
    let config = EnrichmentConfig::default();
    let remote = RedisState::new(
        &RedisConfig {
            url: Some(url),
            budget_ms: 5000,
            key_prefix: "windows:".into(),
            ..RedisConfig::default()
        },
        &config,
    )
    .expect("redis client");
    (LocalState::new(&config), remote)
}

/// A payment drawn from small pools, so keys repeat; IP 0 sees up to 40 cards (over the cap).
fn attempt(rng: &mut fastrand::Rng) -> Attempt {
    let mut a = Attempt {
        usd: [0.0, 12.5, 129.0, 3.75][rng.usize(..4)],
        ..Default::default()
    };
    let card = rng.u64(0..40);
    let pick = |rng: &mut fastrand::Rng, kind: KeyKind, n: u64| {
        rng.bool()
            .then(|| 1_000 * (kind as u64 + 1) + rng.u64(0..n))
    };
    a.keys[KeyKind::Card as usize] = Some(card);
    a.keys[KeyKind::Email as usize] = pick(rng, KeyKind::Email, 4);
    a.keys[KeyKind::Ip as usize] = Some(1_000 * (KeyKind::Ip as u64 + 1) + rng.u64(0..2));
    a.keys[KeyKind::Customer as usize] = pick(rng, KeyKind::Customer, 3);
    a.keys[KeyKind::BillingAddress as usize] = pick(rng, KeyKind::BillingAddress, 3);
    a.keys[KeyKind::ShippingAddress as usize] = pick(rng, KeyKind::ShippingAddress, 3);
    a.keys[KeyKind::Device as usize] = pick(rng, KeyKind::Device, 2);
    a.dims[Dim::Card as usize] = Some(card as u32 + 7);
    a.dims[Dim::Email as usize] = a.keys[KeyKind::Email as usize].map(|k| k as u32);
    a.dims[Dim::Name as usize] = rng.bool().then(|| rng.u32(0..30));
    a.dims[Dim::Customer as usize] = a.keys[KeyKind::Customer as usize].map(|k| k as u32);
    a
}

/// The next step of the clock: mostly seconds, sometimes minutes, hours or a day and a half.
fn step(rng: &mut fastrand::Rng) -> i64 {
    match rng.u8(0..20) {
        0..=11 => rng.i64(1..40),
        12..=16 => rng.i64(60..900),
        17..=18 => rng.i64(3_000..8_000),
        _ => rng.i64(30_000..130_000),
    }
}

fn assert_same(local: &Velocity, remote: &Velocity, what: &str) {
    for kind in KeyKind::ALL {
        let (l, r) = (local.key(kind), remote.key(kind));
        assert_eq!(l.is_some(), r.is_some(), "{what}: {kind:?} present");
        let (Some(l), Some(r)) = (l, r) else { continue };
        assert_history(l, r, &format!("{what}: {kind:?}"));
    }
}

fn assert_history(l: &KeyHistory, r: &KeyHistory, what: &str) {
    assert_eq!(l.counts, r.counts, "{what}: counts[counter][window]");
    assert_eq!(l.distinct, r.distinct, "{what}: distinct[dim][window]");
    assert_eq!(
        l.seconds_since_first_seen, r.seconds_since_first_seen,
        "{what}: first seen"
    );
    for (a, b, name) in [
        (l.usd_charged, r.usd_charged, "charged"),
        (l.usd_successful, r.usd_successful, "successful"),
        (l.usd_failed, r.usd_failed, "failed"),
    ] {
        // In process the sums are f32.
        assert!(
            (a - b).abs() <= 1e-3 * b.abs().max(1.0),
            "{what}: usd {name} {a} vs {b}"
        );
    }
}

#[tokio::test]
async fn redis_windows_match_the_in_process_counters() {
    let redis = RedisServer::start().await;
    windows_match(stores(&redis)).await;
}

#[tokio::test]
async fn redis_cluster_windows_match_the_in_process_counters() {
    let cluster = RedisCluster::start().await;
    let stores = stores_on(cluster.url());
    stores.1.ping().await.expect("the cluster answers");
    assert_eq!(stores.1.is_cluster(), Some(true));
    windows_match(stores).await;
}

async fn windows_match((local, remote): (LocalState, RedisState)) {
    remote.ping().await.expect("redis answers");
    let mut rng = fastrand::Rng::with_seed(0x7269_736b);
    let mut now = T0 + 17;
    let mut evaluations: Vec<(String, i64)> = Vec::new();
    let (mut saw_capped, mut saw_rolled, mut saw_hourly) = (false, false, false);
    let mut saw_fraud = false;
    for i in 0..1_500 {
        now += step(&mut rng);
        match rng.u8(0..10) {
            0 => {
                // A block, counted after the decision.
                let a = attempt(&mut rng);
                local
                    .count(&a.keys, Counter::Blocked, a.usd, now)
                    .await
                    .unwrap();
                remote
                    .count(&a.keys, Counter::Blocked, a.usd, now)
                    .await
                    .unwrap();
            }
            1 if !evaluations.is_empty() => {
                // An outcome of an earlier evaluation, when it occurred (up to 3 hours ago).
                let (id, at) = evaluations[rng.usize(..evaluations.len())].clone();
                let outcome = [
                    Outcome::Authorized,
                    Outcome::Declined,
                    Outcome::Refunded,
                    Outcome::Disputed,
                    Outcome::EarlyFraudWarning,
                    Outcome::MerchantReportedFraud,
                    Outcome::AnalystRejected,
                    Outcome::AnalystApproved,
                ][rng.usize(..8)];
                // Any label, so outcome memory is compared for every kind.
                let label = OutcomeLabel::ALL[rng.usize(..OutcomeLabel::COUNT)];
                let report = Report { outcome, label };
                let when = (now - rng.i64(0..3 * 3600)).max(at);
                let l = local.report_outcome(&id, report, when).await.unwrap();
                let r = remote.report_outcome(&id, report, when).await.unwrap();
                assert_eq!(l, r, "step {i}: outcome result");
            }
            _ => {
                let id = format!("peval_w{i}");
                let lookup = Lookup {
                    evaluation_id: &id,
                    session: None,
                    payment_method: "pm_windows",
                    read_payment_method_session: false,
                    attempt: attempt(&mut rng),
                };
                let l = local.lookup_and_record(&lookup, now).await.unwrap();
                let r = remote.lookup_and_record(&lookup, now).await.unwrap();
                assert_eq!(l.keys, r.keys, "step {i}: keys");
                assert_same(&l.velocity, &r.velocity, &format!("step {i}"));
                assert_eq!(l.outcomes, r.outcomes, "step {i}: outcome memory");
                saw_fraud |= r
                    .outcomes
                    .key(KeyKind::Ip)
                    .is_some_and(|h| h.window(OutcomeSeries::Fraud, OutcomeWindow::Daily) > 1);
                let card = r.velocity.key(KeyKind::Card).unwrap();
                let ip = r.velocity.key(KeyKind::Ip).unwrap();
                saw_capped |= ip.distinct[Dim::Card as usize][WINDOWS - 1] == DISTINCT_CAP;
                saw_rolled |= card.counts[0][2] < card.counts[0][3];
                saw_hourly |= ip.counts[0][0] >= 3;
                evaluations.push((id, now));
            }
        }
    }
    assert!(now - T0 > 8 * 86_400, "the run spans more than a week");
    assert!(saw_capped, "some distinct count reached the cap");
    assert!(saw_rolled, "some payment left the weekly window");
    assert!(saw_hourly, "keys repeated within the hour");
    assert!(
        saw_fraud,
        "some IP learned several fraud labels within a day"
    );

    // Each outcome counts once per evaluation.
    let (id, at) = evaluations[0].clone();
    assert_eq!(
        remote
            .report_outcome(&id, Report::of(Outcome::Authorized), at)
            .await
            .unwrap(),
        local
            .report_outcome(&id, Report::of(Outcome::Authorized), at)
            .await
            .unwrap(),
    );
    assert_eq!(
        remote
            .report_outcome(&id, Report::of(Outcome::Authorized), at)
            .await
            .unwrap(),
        OutcomeResult::Duplicate
    );
    assert_eq!(
        remote
            .report_outcome("peval_unknown", Report::of(Outcome::Authorized), now)
            .await
            .unwrap(),
        OutcomeResult::NotFound
    );
}

#[tokio::test]
async fn the_first_payment_sees_nothing_and_the_sixth_sees_five() {
    let redis = RedisServer::start().await;
    let (_, remote) = stores(&redis);
    let remote = Arc::new(remote);
    let mut a = Attempt {
        usd: 10.0,
        ..Default::default()
    };
    a.keys[KeyKind::Card as usize] = Some(42);
    a.dims[Dim::Card as usize] = Some(42);
    for n in 0..6u32 {
        let lookup = Lookup {
            evaluation_id: "peval_six",
            session: None,
            payment_method: "pm_six",
            read_payment_method_session: false,
            attempt: a.clone(),
        };
        let found = remote
            .lookup_and_record(&lookup, T0 + i64::from(n) * 5)
            .await
            .unwrap();
        let card = found.velocity.key(KeyKind::Card).unwrap();
        assert_eq!(card.counts[Counter::Total as usize], [n; WINDOWS]);
        assert_eq!(
            card.seconds_since_first_seen,
            (n > 0).then_some(u64::from(n) * 5)
        );
        assert!((card.usd_charged - 10.0 * f64::from(n)).abs() < 1e-9);
    }
}

fn card_lookup(id: &str, card: u64, n: u32) -> Lookup<'_> {
    let mut a = Attempt {
        usd: 2.5,
        ..Default::default()
    };
    a.keys[KeyKind::Card as usize] = Some(card);
    a.keys[KeyKind::Ip as usize] = Some(9_000 + u64::from(n % 3));
    a.dims[Dim::Card as usize] = Some(card as u32);
    a.dims[Dim::Email as usize] = Some(n % 30);
    Lookup {
        evaluation_id: id,
        session: None,
        payment_method: "pm_compaction",
        read_payment_method_session: false,
        attempt: a,
    }
}

async fn both(local: &LocalState, remote: &RedisState, card: u64, n: u32, now: i64) {
    let id = format!("peval_c{n}");
    let lookup = card_lookup(&id, card, n);
    let l = local.lookup_and_record(&lookup, now).await.unwrap();
    let r = remote.lookup_and_record(&lookup, now).await.unwrap();
    assert_same(&l.velocity, &r.velocity, &format!("payment {n}"));
}

/// A record compacted in the middle of a history, with events appended between its read and the
/// compare-and-set, reads back as the in-process history; a second compaction from the same
/// (now stale) read is refused; compaction and first appends give keys their idle expiry.
#[tokio::test]
async fn compaction_in_the_middle_of_a_history_keeps_every_event() {
    let redis = RedisServer::start().await;
    let (local, remote) = stores(&redis);
    const CARD: u64 = 77;
    let mut now = T0;
    for n in 0..20 {
        now += 97;
        both(&local, &remote, CARD, n, now).await;
    }
    let read = remote
        .velocity_record(CARD)
        .await
        .unwrap()
        .expect("a record");
    let read_at = now;
    // Appended after the read (within the hour and 32 events, so no evaluation compacts it first):
    // payments and a block counted in the past.
    for n in 20..25 {
        now += 60;
        both(&local, &remote, CARD, n, now).await;
    }
    let keys = card_lookup("", CARD, 0).attempt.keys;
    local
        .count(&keys, Counter::Blocked, 4.0, now - 4_000)
        .await
        .unwrap();
    remote
        .count(&keys, Counter::Blocked, 4.0, now - 4_000)
        .await
        .unwrap();
    assert!(
        remote
            .compact_velocity(CARD, KeyKind::Card, &read, read_at)
            .await
            .unwrap()
    );
    let compacted = remote.velocity_record(CARD).await.unwrap().unwrap();
    assert_eq!(compacted[0], 0xA3, "the record has a head");
    assert!(
        !remote
            .compact_velocity(CARD, KeyKind::Card, &read, read_at)
            .await
            .unwrap(),
        "a stale read does not replace the new head"
    );
    for n in 25..60 {
        now += 1_900;
        both(&local, &remote, CARD, n, now).await;
    }
    // Idle expiry: set by the compaction, and on a key a count created.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl = |name: String| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("TTL")
                .arg(name)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
        }
    };
    let idle = EnrichmentConfig::default().velocity_idle_expiry_secs as i64;
    let t = ttl(format!("windows:v3:{{{CARD:016x}}}")).await;
    assert!(t > idle - 60 && t <= idle, "{t}");
    let mut fresh = [None; KeyKind::COUNT];
    fresh[KeyKind::Email as usize] = Some(4_242);
    remote
        .count(&fresh, Counter::Declined, 1.0, now)
        .await
        .unwrap();
    let t = ttl(format!("windows:v3:{{{:016x}}}", 4_242)).await;
    assert!(t > idle - 60 && t <= idle, "{t}");
    // A key an evaluation created gets it from the evaluation's upkeep (spawned, so polled).
    remote
        .lookup_and_record(&card_lookup("peval_new", 5_151, 0), now)
        .await
        .unwrap();
    let mut t = -1;
    for _ in 0..200 {
        t = ttl(format!("windows:v3:{{{:016x}}}", 5_151)).await;
        if t > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(t > idle - 60 && t <= idle, "{t}");
    conn.ping::<()>().await.unwrap();
}

/// Outcome memory is part of an entity's record: a label keeps the record alive for the label's
/// retention (fraud 400 days; an IP's labels 14), through compactions and later writes that
/// would only need the idle expiry, and an entity with no label lives the idle expiry.
#[tokio::test]
async fn labels_keep_an_entity_for_their_retention() {
    let redis = RedisServer::start().await;
    let (local, remote) = stores(&redis);
    let client = redis::Client::open(redis.url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl = |key: u64| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("TTL")
                .arg(format!("windows:v3:{{{key:016x}}}"))
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
        }
    };
    let config = EnrichmentConfig::default();
    let idle = config.velocity_idle_expiry_secs as i64;
    let fraud = config.outcome_fraud_retention_secs as i64;
    let ip_keep = (config.outcome_ip_retention_secs as i64).max(idle);
    const CARD: u64 = 0xf00d;
    let ip = 9_000; // card_lookup's IP for payment 0
    let mut now = T0;
    both(&local, &remote, CARD, 0, now).await;
    let fraud_report = Report::of(Outcome::EarlyFraudWarning);
    assert_eq!(
        remote
            .report_outcome("peval_c0", fraud_report, now)
            .await
            .unwrap(),
        OutcomeResult::Recorded
    );
    local
        .report_outcome("peval_c0", fraud_report, now)
        .await
        .unwrap();
    // The evaluation's own expiry upkeep is spawned: it must not shorten the label's.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    let t = ttl(CARD).await;
    assert!(
        t > fraud - 60 && t <= fraud,
        "card after a fraud label: {t}"
    );
    let t = ttl(ip).await;
    assert!(
        t > ip_keep - 60 && t <= ip_keep,
        "IP after a fraud label: {t}"
    );
    // 40 more payments an hour apart: compactions fold the label into the head and keep the
    // expiry; the memory reads back as in-process memory does.
    for n in 1..40 {
        now += 3_600;
        let id = format!("peval_c{n}");
        let lookup = card_lookup(&id, CARD, n * 3);
        let l = local.lookup_and_record(&lookup, now).await.unwrap();
        let r = remote.lookup_and_record(&lookup, now).await.unwrap();
        assert_eq!(l.outcomes, r.outcomes, "payment {n}: outcome memory");
        assert_eq!(
            r.outcomes
                .key(KeyKind::Card)
                .unwrap()
                .window(OutcomeSeries::Fraud, OutcomeWindow::AllTime),
            1,
            "payment {n}"
        );
    }
    let record = remote.velocity_record(CARD).await.unwrap().unwrap();
    assert_eq!(record[..2], [0xA3, 1], "a head holding outcome memory");
    let t = ttl(CARD).await;
    assert!(
        t > fraud - 60 && t <= fraud,
        "card after its compactions: {t}"
    );
    // A card with payments and a block but no label lives the idle expiry.
    const PLAIN: u64 = 0xbeef;
    both(&local, &remote, PLAIN, 0, now).await;
    let mut keys = [None; KeyKind::COUNT];
    keys[KeyKind::Card as usize] = Some(PLAIN);
    remote
        .count(&keys, Counter::Blocked, 3.0, now)
        .await
        .unwrap();
    let t = ttl(PLAIN).await;
    assert!(t > idle - 60 && t <= idle, "unlabelled card: {t}");
    // A webhook's label on a key no evaluation saw creates it with the label's retention.
    let mut keys = [None; KeyKind::COUNT];
    keys[KeyKind::Email as usize] = Some(0xe7a1);
    remote
        .label(&riskgate::stores::state::outcomes::LabelOp {
            keys,
            label: OutcomeLabel::FraudulentDispute,
            at: now,
        })
        .await
        .unwrap();
    let t = ttl(0xe7a1).await;
    assert!(
        t > fraud - 60 && t <= fraud,
        "a webhook-labelled email: {t}"
    );
}

/// Many gateways' evaluations of one card at once: every record read sees a distinct count (no
/// two see the same), and compactions racing the appends lose nothing.
#[tokio::test]
async fn concurrent_appends_during_compactions_are_all_counted() {
    let redis = RedisServer::start().await;
    concurrent_counts(stores(&redis).1).await;
}

#[tokio::test]
async fn concurrent_appends_during_compactions_are_all_counted_on_a_cluster() {
    let cluster = RedisCluster::start().await;
    concurrent_counts(stores_on(cluster.url()).1).await;
}

async fn concurrent_counts(remote: RedisState) {
    const CARD: u64 = 31_337;
    const ROUNDS: u32 = 6;
    const AT_ONCE: u32 = 50;
    let remote = Arc::new(remote);
    let mut seen = Vec::new();
    for round in 0..ROUNDS {
        let now = T0 + i64::from(round) * 600;
        let tasks: Vec<_> = (0..AT_ONCE)
            .map(|n| {
                let remote = remote.clone();
                tokio::spawn(async move {
                    let id = format!("peval_{round}_{n}");
                    let found = remote
                        .lookup_and_record(&card_lookup(&id, CARD, n), now)
                        .await
                        .unwrap();
                    found.velocity.key(KeyKind::Card).unwrap().counts[0][WINDOWS - 1]
                })
            })
            .collect();
        for t in tasks {
            seen.push(t.await.unwrap());
        }
    }
    let total = ROUNDS * AT_ONCE;
    // Compactions ran (spawned after answers, so polled): the record has a head and a short tail.
    let mut record = Vec::new();
    for _ in 0..200 {
        record = remote.velocity_record(CARD).await.unwrap().unwrap();
        if record[0] == 0xA3 && record.len() < 2_000 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(record[0], 0xA3, "compacted");
    assert!(record.len() < 2_000, "{} bytes", record.len());
    seen.sort_unstable();
    assert_eq!(seen, (0..total).collect::<Vec<_>>(), "each count seen once");
    let last = remote
        .lookup_and_record(&card_lookup("peval_last", CARD, 0), T0 + 4_000)
        .await
        .unwrap();
    let h = last.velocity.key(KeyKind::Card).unwrap();
    assert_eq!(h.counts[0][1..], [total, total, total]);
    assert!((h.usd_charged - 2.5 * f64::from(total)).abs() < 1e-3);
}

/// `INFO commandstats` calls of `command` on `redis` (0 when it never ran).
async fn command_calls(redis: &RedisServer, command: &str) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Subscribers of `channel` on `redis` (`PUBSUB NUMSUB`).
async fn subscribers(redis: &RedisServer, channel: &str) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (_, n): (String, u64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut conn)
        .await
        .unwrap();
    n
}

/// A payment without an IP or device of its own is counted under its Radar Session's, on one
/// Redis in the evaluation's one transaction (the session read and those keys counted by one
/// script inside it), and its evaluation record names them, so its outcome labels them too —
/// exactly as in-process state does.
#[tokio::test]
async fn a_sessions_ip_and_device_are_counted_in_the_one_transaction() {
    use riskgate::stores::state::RadarSession;
    let redis = RedisServer::start().await;
    let (local, remote) = stores(&redis);
    let session = RadarSession {
        id: "rse_oneTrip".into(),
        facts: Default::default(),
        payment_method: None,
        ip_country: None,
        ip_key: Some(0xabc1),
        device_key: Some(0xdef2),
    };
    local.put_session(session.clone()).await.unwrap();
    // Recorded once the recording gateway listens, and awaited until it heard its own
    // announcement: then Redis has delivered the only announcement of the session.
    remote.ping().await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while subscribers(&redis, "windows:sessions").await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "no subscription");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    remote.put_session(session).await.unwrap();
    while !remote.knows_session("rse_oneTrip").await {
        assert!(tokio::time::Instant::now() < deadline, "no announcement");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Another gateway, which was not listening when the session was announced
    // (`a_session_announced_by_one_gateway_is_counted_by_another_without_the_script`), so it
    // takes the session script.
    let (_, remote) = stores(&redis);
    let (ip, device) = (KeyKind::Ip as usize, KeyKind::Device as usize);
    let exec_before = command_calls(&redis, "exec").await;
    let scripts_before =
        command_calls(&redis, "evalsha").await + command_calls(&redis, "eval").await;
    for (n, id) in ["peval_t1", "peval_t2", "peval_t3"].into_iter().enumerate() {
        let mut attempt = Attempt {
            usd: 20.0,
            ..Default::default()
        };
        attempt.keys[KeyKind::Card as usize] = Some(0x5001 + n as u64);
        let lookup = Lookup {
            evaluation_id: id,
            session: Some("rse_oneTrip"),
            payment_method: "pm_oneTrip",
            read_payment_method_session: true,
            attempt,
        };
        let now = T0 + 60 * n as i64;
        if n == 1 {
            // Redis loses its scripts (a restart, a failover): the evaluation still counts the
            // session's keys once (the script then runs on its own).
            let client = redis::Client::open(redis.url()).unwrap();
            let mut c = client.get_multiplexed_async_connection().await.unwrap();
            redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async::<()>(&mut c)
                .await
                .unwrap();
        }
        let l = local.lookup_and_record(&lookup, now).await.unwrap();
        let r = remote.lookup_and_record(&lookup, now).await.unwrap();
        assert_eq!(
            r.keys[ip],
            Some(0xabc1),
            "evaluation {n}: the session's IP key"
        );
        assert_eq!(
            r.keys[device],
            Some(0xdef2),
            "evaluation {n}: the session's device key"
        );
        assert_eq!(l.keys, r.keys, "evaluation {n}: keys");
        assert_same(&l.velocity, &r.velocity, &format!("evaluation {n}"));
        assert_eq!(
            r.velocity.key(KeyKind::Ip).unwrap().counts[0][0],
            n as u32,
            "evaluation {n} sees the earlier ones on the session's IP"
        );
        assert_eq!(l.outcomes, r.outcomes, "evaluation {n}: outcome memory");
        if n == 0 {
            // The first evaluation's fraud labels the session's IP and device too.
            let fraud = Report::of(Outcome::EarlyFraudWarning);
            assert_eq!(
                remote.report_outcome(id, fraud, now + 1).await.unwrap(),
                OutcomeResult::Recorded
            );
            local.report_outcome(id, fraud, now + 1).await.unwrap();
        }
    }
    assert_eq!(
        command_calls(&redis, "exec").await - exec_before,
        3,
        "one transaction per evaluation"
    );
    assert!(
        command_calls(&redis, "evalsha").await + command_calls(&redis, "eval").await
            >= scripts_before + 3,
        "the session script ran in each"
    );
    let last = remote
        .lookup_and_record(
            &Lookup {
                evaluation_id: "peval_t4",
                session: Some("rse_oneTrip"),
                payment_method: "pm_oneTrip",
                read_payment_method_session: true,
                attempt: Attempt::default(),
            },
            T0 + 600,
        )
        .await
        .unwrap();
    assert!(
        last.outcomes
            .key(KeyKind::Ip)
            .is_some_and(|h| h.window(OutcomeSeries::Fraud, OutcomeWindow::Daily) == 1),
        "the reported fraud labelled the session's IP"
    );
}

/// The gateway that records a Radar Session announces its keys to every gateway on the same
/// Redis; another gateway that heard it counts a payment under the session's IP and device with
/// native commands (no script) — with the same counts, keys and evaluation record as in-process
/// state.
#[tokio::test]
async fn a_session_announced_by_one_gateway_is_counted_by_another_without_the_script() {
    use riskgate::stores::state::RadarSession;
    let redis = RedisServer::start().await;
    let (local, recorder) = stores(&redis);
    let (_, evaluator) = stores(&redis);
    // The evaluating gateway listens from its start-up check on.
    evaluator.ping().await.unwrap();
    let session = RadarSession {
        id: "rse_announced".into(),
        facts: Default::default(),
        payment_method: None,
        ip_country: None,
        ip_key: Some(0xa11),
        device_key: Some(0xd22),
    };
    local.put_session(session.clone()).await.unwrap();
    // Recorded (again, while the subscription is still being made) until the other gateway
    // heard it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !evaluator.knows_session("rse_announced").await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the announcement never arrived"
        );
        recorder.put_session(session.clone()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (ip, device) = (KeyKind::Ip as usize, KeyKind::Device as usize);
    let (scripts, exec) = (
        command_calls(&redis, "evalsha").await,
        command_calls(&redis, "exec").await,
    );
    for (n, id) in ["peval_a1", "peval_a2", "peval_a3"].into_iter().enumerate() {
        let mut attempt = Attempt {
            usd: 20.0,
            ..Default::default()
        };
        attempt.keys[KeyKind::Card as usize] = Some(0x6001 + n as u64);
        let lookup = Lookup {
            evaluation_id: id,
            session: Some("rse_announced"),
            payment_method: "pm_announced",
            read_payment_method_session: false,
            attempt,
        };
        let now = T0 + 60 * n as i64;
        let l = local.lookup_and_record(&lookup, now).await.unwrap();
        let r = evaluator.lookup_and_record(&lookup, now).await.unwrap();
        assert_eq!((r.keys[ip], r.keys[device]), (Some(0xa11), Some(0xd22)));
        assert_eq!(l.keys, r.keys, "evaluation {n}: keys");
        assert!(
            r.session.is_some(),
            "evaluation {n}: the session itself is read"
        );
        assert_same(&l.velocity, &r.velocity, &format!("evaluation {n}"));
        assert_eq!(
            r.velocity.key(KeyKind::Device).unwrap().counts[0][0],
            n as u32,
            "evaluation {n} sees the earlier ones on the session's device"
        );
    }
    assert_eq!(
        command_calls(&redis, "evalsha").await,
        scripts,
        "no script ran"
    );
    assert_eq!(command_calls(&redis, "exec").await - exec, 3);
    // The evaluation record names the session's keys: a fraud report labels them.
    let fraud = Report::of(Outcome::EarlyFraudWarning);
    assert_eq!(
        evaluator
            .report_outcome("peval_a1", fraud, T0 + 300)
            .await
            .unwrap(),
        OutcomeResult::Recorded
    );
    let after = evaluator
        .lookup_and_record(
            &Lookup {
                evaluation_id: "peval_a4",
                session: Some("rse_announced"),
                payment_method: "pm_announced",
                read_payment_method_session: false,
                attempt: Attempt::default(),
            },
            T0 + 600,
        )
        .await
        .unwrap();
    assert!(
        after
            .outcomes
            .key(KeyKind::Device)
            .is_some_and(|h| h.window(OutcomeSeries::Fraud, OutcomeWindow::Daily) == 1),
        "the reported fraud labelled the session's device"
    );
}
