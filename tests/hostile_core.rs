//! Hostile input against the decision core and the in-process state, through a real server on
//! 127.0.0.1:0 with real clients (issue 18, part B). Each test drives one attack and asserts the
//! bound that defeats it: the server stays up and keeps its old rules, memory stays within its
//! budget with evictions counted, a case variant of a listed value is still caught, the audit log
//! holds only keyed pseudonyms, text that hides characters is refused with its field path.
//!
//! The listener, credential and durability cases are in `tests/hostile_edge.rs`.

use riskgate_testkit as common;

use std::time::{Duration, Instant};

use common::*;
use riskgate::{
    proto::v1::{
        self as pb, Action, RecordRadarSessionRequest, admin_service_client::AdminServiceClient,
        radar_session_service_client::RadarSessionServiceClient,
        value_list_service_client::ValueListServiceClient,
    },
    pseudonym::PseudonymKey,
    record::audit::Pseudonyms,
};
use tonic::{Code, Request, transport::Channel};
use tonic_types::StatusExt;

const TOKEN: &str = "test-admin-token-0123456789";

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

async fn decide(
    client: &mut pb::payment_evaluation_service_client::PaymentEvaluationServiceClient<Channel>,
    req: pb::CreatePaymentEvaluationRequest,
) -> pb::Decision {
    client
        .create_payment_evaluation(req)
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap()
}

fn with_email(email: &str) -> pb::CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.customer_details.as_mut().unwrap().email = email.into();
    req
}

fn card_fingerprint(req: &mut pb::CreatePaymentEvaluationRequest) -> &mut String {
    &mut req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap()
        .card
        .as_mut()
        .unwrap()
        .fingerprint
}

/// Replaces `path` with `text` as an operator should: written aside, renamed into place.
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn metric(server: &riskgate::server::Running, series: &str) -> Option<f64> {
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    sample(&metrics, series)
}

/// A rule nested 100,000 parentheses deep, dropped into the watched rules file: the reload is
/// refused with the line and column of the first level too many, the server stays up (a stack
/// overflow would abort this whole test process) and the old rules keep deciding.
#[tokio::test]
async fn a_hundred_thousand_deep_rule_is_refused_and_the_old_rules_keep_serving() {
    let dir = TempDir::new("hostile-deep-rule");
    let rules = dir.file("rules.txt", "big: Review if :amount_in_usd: > 10\n");
    let mut config = test_config();
    config.rules.path = Some(rules.clone());
    config.rules.watch_interval_ms = 10;
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    assert_eq!(
        decide(&mut eval, example_request()).await.action(),
        Action::Review
    );

    let deep = format!(
        "# nested\nBlock if {}:amount_in_usd: > 1{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let started = Instant::now();
    replace(&rules, &deep);
    // The watcher (every 10 ms) reads it and refuses it.
    let refused = "riskgate_rules_reloads_total{trigger=\"file\",outcome=\"error\"}";
    while metric(&server, refused).await.is_none_or(|n| n < 1.0) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the watcher never refused the file"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Refusing a 200 KB line is linear work: well under a second even in a debug build.
    assert!(started.elapsed() < Duration::from_secs(10));
    let d = decide(&mut eval, example_request()).await;
    assert_eq!(d.action(), Action::Review);
    assert_eq!(d.matched_rule.unwrap().id, "big");

    // The same file through ReloadRules: the error names the file, line and column.
    let mut admin = AdminServiceClient::new(channel(server.grpc_addr).await);
    let err = admin
        .reload_rules(authed(pb::ReloadRulesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let column = 9 + riskgate_core::rules::parser::MAX_NESTING + 1;
    assert!(
        err.message().contains(&format!("rules.txt:2:{column}:")),
        "{}",
        &err.message()[..err.message().len().min(300)]
    );
    assert!(err.message().contains("nests too deeply"));
    // A NOT chain as deep is refused too, and the server still answers.
    replace(
        &rules,
        &format!("Block if {}:is_off_session:\n", "NOT ".repeat(100_000)),
    );
    let err = admin
        .reload_rules(authed(pb::ReloadRulesRequest {}))
        .await
        .unwrap_err();
    assert!(err.message().contains("nests too deeply"));
    assert_eq!(
        decide(&mut eval, example_request()).await.action(),
        Action::Review
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A flood of payments, each with a new card and a new email: the velocity counters stay within
/// `enrichment.velocity_max_bytes`, evictions are counted, and answers stay fast.
#[tokio::test]
async fn a_flood_of_new_cards_and_emails_stays_within_the_velocity_budget() {
    const BUDGET: u64 = 1024 * 1024;
    const PAYMENTS: usize = 6000;
    let mut config = test_config();
    config.enrichment.velocity_max_bytes = BUDGET;
    let server = start(config).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let addr = server.grpc_addr;
        tasks.push(tokio::spawn(async move {
            let mut eval = client(addr).await;
            let mut slowest = Duration::ZERO;
            for i in (worker..PAYMENTS).step_by(8) {
                let mut req = with_email(&format!("flood{i}@example.com"));
                *card_fingerprint(&mut req) = format!("fpFlood{i:08}");
                let at = Instant::now();
                decide(&mut eval, req).await;
                slowest = slowest.max(at.elapsed());
            }
            slowest
        }));
    }
    let mut slowest = Duration::ZERO;
    for t in tasks {
        slowest = slowest.max(t.await.unwrap());
    }
    // Each payment adds new card, email, customer-less keys: about 6,000 × 2 new keys, several
    // times what 1 MiB holds.
    let evicted = metric(
        &server,
        "riskgate_state_evictions_total{store=\"velocity\",cause=\"size\"}",
    )
    .await
    .unwrap_or(0.0);
    let bytes = metric(&server, "riskgate_state_bytes{store=\"velocity\"}")
        .await
        .expect("the velocity store publishes its bytes");
    assert!(evicted >= 5000.0, "evicted {evicted}");
    assert!(bytes <= BUDGET as f64, "{bytes} accounted bytes");
    assert!(bytes >= BUDGET as f64 * 0.5, "{bytes}: the budget is used");
    // No answer waited on eviction work (a debug build on a shared machine: generous).
    assert!(
        slowest < Duration::from_secs(2),
        "slowest answer {slowest:?}"
    );
    eprintln!(
        "flood: {PAYMENTS} payments in {:?}, evicted {evicted}, accounted {bytes} of {BUDGET} bytes, slowest {slowest:?}",
        started.elapsed()
    );
    // Still answering, and counting the keys it kept.
    let mut eval = client(server.grpc_addr).await;
    let mut req = with_email("flood5999@example.com");
    *card_fingerprint(&mut req) = "fpFlood00005999".into();
    let answer = eval
        .create_payment_evaluation(pb::CreatePaymentEvaluationRequest {
            expand: vec!["attributes".into()],
            ..req
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        number(&answer, "total_charges_per_card_number_all_time"),
        Some(1.0),
        "the most recent card is still counted"
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Radar Sessions with the largest fields the API allows, far more than the session cache's byte
/// budget holds: sessions are evicted for room (counted), not kept without bound.
#[tokio::test]
async fn large_radar_sessions_are_bounded_by_bytes() {
    let mut config = test_config();
    config.enrichment.session_max_bytes = 1024 * 1024;
    let server = start(config).await;
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);
    for i in 0..1500 {
        sessions
            .record_radar_session(RecordRadarSessionRequest {
                session: Some(pb::RadarSession {
                    id: format!("rse_flood{i}"),
                    ip: "192.0.2.10".into(),
                    user_agent: format!("Mozilla/5.0 {}", "x".repeat(1000)),
                    referrer: format!("https://example.com/{}", "r".repeat(2000)),
                    pasted_fields: (0..20).map(|f| format!("{f:0>60}")).collect(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    // ~5 KB each: 1,500 are ~7 MB against a 1 MiB budget.
    let evicted = metric(
        &server,
        "riskgate_state_evictions_total{store=\"radar_sessions\",cause=\"size\"}",
    )
    .await
    .unwrap_or(0.0);
    assert!(evicted >= 800.0, "evicted {evicted}");
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// An email on the block list is caught whatever case, width or hidden joiner the payment writes
/// it with: `JÖRG@…` for `jörg@…`, `STRASSE@…` for `straße@…`, full-width letters.
#[tokio::test]
async fn case_variants_of_a_blocked_email_are_blocked() {
    let dir = TempDir::new("hostile-case");
    let rules = dir.file(
        "rules.txt",
        "listed: Block if :email: IN @block_list_email\n",
    );
    let mut config = test_config();
    config.rules.path = Some(rules);
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let mut lists = ValueListServiceClient::new(channel(server.grpc_addr).await);
    for value in ["jörg@example.com", "straße@example.de"] {
        lists
            .create_value_list_item(authed(pb::CreateValueListItemRequest {
                value_list: "block_list_email".into(),
                value: value.into(),
            }))
            .await
            .unwrap();
    }
    // A case variant of a listed value is the listed value.
    let dup = lists
        .create_value_list_item(authed(pb::CreateValueListItemRequest {
            value_list: "block_list_email".into(),
            value: "STRASSE@Example.DE".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    for email in [
        "JÖRG@example.com",
        "jÖrg@EXAMPLE.com",
        "Jo\u{0308}rg@example.com",
        "ＪÖＲＧ@example.com",
        "jö\u{200D}rg@example.com",
        "STRASSE@example.de",
        "Strasse@Example.de",
    ] {
        let d = decide(&mut eval, with_email(email)).await;
        assert_eq!(d.action(), Action::Block, "{email}");
        assert_eq!(d.matched_rule.unwrap().id, "listed", "{email}");
    }
    let d = decide(&mut eval, with_email("jorg@example.com")).await;
    assert_eq!(d.action(), Action::Continue);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// The audit log holds keyed pseudonyms made with the configured key — never the value, never
/// the unkeyed SHA-256 earlier versions wrote, which anyone could match by hashing candidates.
#[tokio::test]
async fn the_audit_log_holds_only_keyed_pseudonyms() {
    let dir = TempDir::new("hostile-audit");
    let key_file = dir.file(
        "pseudonym.key",
        "a-test-pseudonym-key-of-32-characters-or-more\n",
    );
    let path = dir.0.join("audit.ndjson");
    let mut config = test_config();
    config.audit.path = Some(path.clone());
    config.pseudonym.key_file = Some(key_file.clone());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let mut req = with_email("Jenny.Rosen@Example.com");
    *card_fingerprint(&mut req) = "Xt5EWLLDS7FJjR1c".into();
    decide(&mut eval, req).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let key = PseudonymKey::from_file(&key_file).unwrap();
    let keyed = Pseudonyms::new(&key);
    assert_eq!(line["email"], keyed.of("jenny.rosen@example.com").as_str());
    assert_eq!(
        line["card_fingerprint"],
        keyed.of("Xt5EWLLDS7FJjR1c").as_str()
    );
    assert_eq!(line["pseudonym_key"], key.fingerprint());
    for clear in ["jenny", "Xt5EWLLDS7FJjR1c", "sha256:"] {
        assert!(!text.contains(clear), "{clear} in {text}");
    }
    for value in ["jenny.rosen@example.com", "Xt5EWLLDS7FJjR1c"] {
        assert!(
            !text.contains(&unkeyed(value)),
            "unkeyed hash of {value} in {text}"
        );
    }
    // Another key, other pseudonyms: nothing to match across keys without the key.
    let other = Pseudonyms::new(&PseudonymKey::generate());
    assert!(!text.contains(&other.of("jenny.rosen@example.com")));
}

/// What versions before keyed pseudonyms wrote: SHA-256 over a fixed tag and the value (hex).
fn unkeyed(value: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"riskgate-audit-v1\0");
    h.update(value.as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Text that hides or reorders characters — C1 controls, bidi overrides and isolates, zero-width
/// spaces, tag characters — is refused with the field's path and the code point.
#[tokio::test]
async fn text_that_hides_characters_is_refused_with_its_field_path() {
    let server = start(test_config()).await;
    let mut eval = client(server.grpc_addr).await;
    let mut req = with_email("evil\u{202E}moc.elpmaxe@jenny.com");
    req.customer_details.as_mut().unwrap().name = "Jenny\u{0085}Rosen".into();
    req.metadata
        .insert("order_id".into(), "A\u{200B}1\u{E0041}".into());
    req.metadata.insert("note".into(), "x\u{2067}y".into());
    let status = eval.create_payment_evaluation(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let violations = &details.bad_request().expect("BadRequest").field_violations;
    let find = |field: &str| {
        violations
            .iter()
            .find(|v| v.field == field)
            .unwrap_or_else(|| panic!("{field}: {violations:?}"))
            .description
            .clone()
    };
    assert_eq!(
        find("customer_details.email"),
        "must not contain bidirectional control characters (U+202E)"
    );
    assert_eq!(
        find("customer_details.name"),
        "must not contain control characters (U+0085)"
    );
    assert_eq!(
        find("metadata[order_id]"),
        "must not contain invisible characters (U+200B)"
    );
    assert_eq!(
        find("metadata[note]"),
        "must not contain bidirectional control characters (U+2067)"
    );
    // Text in scripts that need joiners passes.
    let mut req = example_request();
    req.customer_details.as_mut().unwrap().name = "می\u{200C}خواهم".into();
    eval.create_payment_evaluation(req).await.unwrap();
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
