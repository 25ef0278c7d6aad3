//! The enrichment stage through the real server: velocity counts, Radar Sessions, the two-session
//! check, IP country and outcome reports (the "Shown by" scenarios).

use riskgate_testkit as common;
use riskgate_testkit::mmdb;

use std::collections::BTreeMap;

use riskgate::proto::v1::{
    self as pb, CreatePaymentEvaluationRequest, GetRadarSessionRequest, RecordRadarSessionRequest,
    ReportPaymentOutcomeRequest, attribute_value::Kind,
    payment_evaluation_service_client::PaymentEvaluationServiceClient,
    radar_session_service_client::RadarSessionServiceClient,
};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

use common::*;

/// The example request with attributes expanded, card `fingerprint`, device IP `ip`.
fn request(fingerprint: &str, ip: &str) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    let pm = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    pm.card.as_mut().unwrap().fingerprint = fingerprint.into();
    let device = req.client_device_metadata_details.as_mut().unwrap();
    device.ip = ip.into();
    req
}

async fn evaluate(
    client: &mut PaymentEvaluationServiceClient<Channel>,
    req: &CreatePaymentEvaluationRequest,
) -> pb::CreatePaymentEvaluationResponse {
    client
        .create_payment_evaluation(req.clone())
        .await
        .unwrap()
        .into_inner()
}

fn text<'a>(answer: &'a pb::CreatePaymentEvaluationResponse, name: &str) -> Option<&'a str> {
    match answer.attributes.get(name)?.kind.as_ref()? {
        Kind::Text(t) => Some(t),
        _ => None,
    }
}

fn flag(answer: &pb::CreatePaymentEvaluationResponse, name: &str) -> Option<bool> {
    match answer.attributes.get(name)?.kind.as_ref()? {
        Kind::Flag(b) => Some(*b),
        _ => None,
    }
}

#[tokio::test]
async fn the_sixth_payment_with_one_card_sees_five_before_it() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let req = request("fpSixTimes", "203.0.113.7");
    let mut last = None;
    // Six payments with one card within seconds: the model may block the later ones; the sixth
    // sees each earlier block counted.
    let mut blocked = 0.0;
    for _ in 0..6 {
        if let Some(answer) = &last {
            let answer: &pb::CreatePaymentEvaluationResponse = answer;
            if answer.decision.as_ref().unwrap().action == pb::Action::Block as i32 {
                blocked += 1.0;
            }
        }
        last = Some(evaluate(&mut client, &req).await);
    }
    let sixth = last.unwrap();
    assert_eq!(
        number(&sixth, "total_charges_per_card_number_hourly"),
        Some(5.0)
    );
    assert_eq!(
        number(&sixth, "total_charges_per_card_number_all_time"),
        Some(5.0)
    );
    assert_eq!(number(&sixth, "total_charges_per_email_hourly"), Some(5.0));
    assert_eq!(number(&sixth, "card_count_for_email_hourly"), Some(1.0));
    assert_eq!(
        number(&sixth, "blocked_charges_per_card_number_daily"),
        Some(blocked)
    );
    let seconds = number(&sixth, "seconds_since_card_first_seen").unwrap();
    assert!(seconds >= 0.0);
    assert_eq!(
        number(&sixth, "total_usd_amount_charged_on_card_all_time"),
        Some(5.0 * 129.0)
    );
    assert!(!sixth.decision.unwrap().degraded);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn three_cards_from_one_ip_show_two_others_on_the_third() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let mut answers = Vec::new();
    for fp in ["fpIpOne", "fpIpTwo", "fpIpThree"] {
        answers.push(evaluate(&mut client, &request(fp, "198.51.100.99")).await);
    }
    let counts: Vec<_> = answers
        .iter()
        .map(|a| number(a, "card_count_for_ip_address_hourly"))
        .collect();
    assert_eq!(counts, [Some(0.0), Some(1.0), Some(2.0)]);
    // Each card is new: its own count excludes this payment.
    assert_eq!(
        number(&answers[2], "total_charges_per_card_number_hourly"),
        Some(0.0)
    );
    assert_eq!(
        number(&answers[2], "total_charges_per_ip_address_hourly"),
        Some(2.0)
    );
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_idempotent_replay_records_nothing_and_a_block_counts_as_blocked() {
    let mut config = test_config();
    config.actions.normal = riskgate_core::decision::Action::Block;
    config.actions.elevated = riskgate_core::decision::Action::Block;
    let server = start(config).await;
    let mut client = client(server.grpc_addr).await;
    let mut keyed = request("fpReplay", "203.0.113.8");
    keyed.idempotency_key = "replay-1".into();
    let first = evaluate(&mut client, &keyed).await;
    assert_eq!(
        first.decision.as_ref().unwrap().action,
        pb::Action::Block as i32
    );
    let replay = evaluate(&mut client, &keyed).await;
    assert_eq!(replay.evaluation, first.evaluation);
    let next = evaluate(&mut client, &request("fpReplay", "203.0.113.8")).await;
    assert_eq!(
        number(&next, "total_charges_per_card_number_hourly"),
        Some(1.0)
    );
    assert_eq!(
        number(&next, "blocked_charges_per_card_number_hourly"),
        Some(1.0)
    );
    assert_eq!(
        number(&next, "total_usd_amount_failed_on_card_all_time"),
        Some(129.0)
    );
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_recorded_radar_session_changes_the_evaluation_that_names_it() {
    let db = std::env::temp_dir().join(format!(
        "riskgate-test-{}-{}.mmdb",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::write(
        &db,
        mmdb::country_db(&[
            ("192.0.2.0".parse().unwrap(), 24, "DE"),
            ("198.51.100.0".parse().unwrap(), 24, "NG"),
        ]),
    )
    .unwrap();
    let mut config = test_config();
    config.enrichment.geoip_mmdb_path = Some(db.clone());
    let server = start(config).await;
    let mut client = client(server.grpc_addr).await;
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);

    // Named session, no inline device data.
    let mut req = request("fpSession", "");
    req.client_device_metadata_details = Some(pb::ClientDeviceMetadataDetails {
        radar_session: "rse_checkout42".into(),
        ..Default::default()
    });
    let before = evaluate(&mut client, &req).await;
    assert_eq!(flag(&before, "radar_session_found"), Some(false));
    assert_eq!(text(&before, "ip_address"), None);
    assert_eq!(text(&before, "ip_country"), None);

    let recorded = sessions
        .record_radar_session(RecordRadarSessionRequest {
            session: Some(pb::RadarSession {
                id: "rse_checkout42".into(),
                ip: "192.0.2.10".into(),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into(),
                accept_language: "de-DE,de;q=0.9".into(),
                screen: "1920x1080@1.5".into(),
                timezone: "Europe/Berlin".into(),
                device_id: "dev_7f3a9c".into(),
                time_on_page_ms: Some(2500),
                pasted_fields: vec!["card_number".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(recorded.session.unwrap().created_at > 0);

    let after = evaluate(&mut client, &req).await;
    assert_eq!(flag(&after, "radar_session_found"), Some(true));
    assert_eq!(text(&after, "ip_address"), Some("192.0.2.10"));
    assert_eq!(text(&after, "ip_country"), Some("DE"));
    assert_eq!(text(&after, "device_id"), Some("dev_7f3a9c"));
    assert_eq!(text(&after, "timezone"), Some("Europe/Berlin"));
    assert_eq!(number(&after, "time_on_page_ms"), Some(2500.0));
    assert_eq!(flag(&after, "pasted_card_number"), Some(true));
    assert_eq!(
        number(&after, "total_charges_per_device_id_hourly"),
        Some(0.0)
    );

    // Inline device data overrides the session.
    req.client_device_metadata_details.as_mut().unwrap().ip = "198.51.100.20".into();
    let inline = evaluate(&mut client, &req).await;
    assert_eq!(text(&inline, "ip_address"), Some("198.51.100.20"));
    assert_eq!(text(&inline, "ip_country"), Some("NG"));
    assert_eq!(text(&inline, "device_id"), Some("dev_7f3a9c"));
    assert_eq!(
        number(&inline, "total_charges_per_device_id_hourly"),
        Some(1.0)
    );

    let got = sessions
        .get_radar_session(GetRadarSessionRequest {
            id: "rse_checkout42".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    assert_eq!(got.device_id, "dev_7f3a9c");
    let missing = sessions
        .get_radar_session(GetRadarSessionRequest {
            id: "rse_never".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let _ = std::fs::remove_file(db);
}

#[tokio::test]
async fn a_payment_from_another_session_than_the_card_was_saved_in_is_flagged() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);
    sessions
        .record_radar_session(RecordRadarSessionRequest {
            session: Some(pb::RadarSession {
                id: "rse_saved".into(),
                ip: "192.0.2.10".into(),
                device_id: "dev_home".into(),
                user_agent: "UA-home".into(),
                payment_method: "pm_saved1".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let mut req = request("fpSaved", "198.51.100.30");
    req.payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap()
        .payment_method = "pm_saved1".into();
    let device = req.client_device_metadata_details.as_mut().unwrap();
    device.radar_session = "rse_elsewhere".into();
    device.user_agent = "UA-home".into();
    let answer = evaluate(&mut client, &req).await;
    assert_eq!(flag(&answer, "has_payment_method_session"), Some(true));
    assert_eq!(
        flag(&answer, "payment_method_session_ip_changed"),
        Some(true)
    );
    assert_eq!(
        flag(&answer, "payment_method_session_user_agent_changed"),
        Some(false)
    );
    // This payment's device id is unknown (its session was never recorded).
    assert_eq!(flag(&answer, "payment_method_session_device_changed"), None);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn outcomes_update_the_counters_of_a_known_evaluation() {
    let server = start(test_config()).await;
    let mut client = client(server.grpc_addr).await;
    let req = request("fpOutcome", "203.0.113.50");
    let first = evaluate(&mut client, &req).await;
    let id = first.evaluation.unwrap().id;

    let report = |outcome: pb::PaymentOutcome, reason: &str| ReportPaymentOutcomeRequest {
        evaluation: id.clone(),
        outcome: outcome as i32,
        decline_reason: reason.into(),
        occurred_at: 0,
        ..Default::default()
    };
    for outcome in [
        pb::PaymentOutcome::Authorized,
        pb::PaymentOutcome::Refunded,
        pb::PaymentOutcome::Disputed,
        pb::PaymentOutcome::EarlyFraudWarning,
    ] {
        let answer = client
            .report_payment_outcome(report(outcome, ""))
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.duplicate);
    }
    let again = client
        .report_payment_outcome(report(pb::PaymentOutcome::Disputed, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);

    let next = evaluate(&mut client, &req).await;
    assert_eq!(
        number(&next, "authorized_charges_per_card_number_hourly"),
        Some(1.0)
    );
    assert_eq!(number(&next, "refund_count_on_card_daily"), Some(1.0));
    assert_eq!(
        number(&next, "dispute_count_on_card_number_all_time"),
        Some(1.0)
    );
    assert_eq!(number(&next, "efw_count_on_card_weekly"), Some(1.0));
    assert_eq!(number(&next, "efw_count_on_ip_hourly"), Some(1.0));
    assert_eq!(
        number(&next, "total_usd_amount_successful_on_card_all_time"),
        Some(129.0)
    );
    assert_eq!(
        number(&next, "average_usd_amount_successful_on_customer_all_time"),
        Some(129.0)
    );

    let unknown = client
        .report_payment_outcome(ReportPaymentOutcomeRequest {
            evaluation: "peval_unknown000000000000000000".into(),
            outcome: pb::PaymentOutcome::Declined as i32,
            decline_reason: "insufficient_funds".into(),
            occurred_at: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let invalid = client
        .report_payment_outcome(ReportPaymentOutcomeRequest {
            evaluation: "ch_123".into(),
            outcome: 0,
            decline_reason: "Bad Reason".into(),
            occurred_at: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let fields: BTreeMap<_, _> = invalid
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect();
    assert_eq!(
        fields.keys().map(String::as_str).collect::<Vec<_>>(),
        ["decline_reason", "evaluation", "occurred_at", "outcome"]
    );
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn invalid_sessions_name_every_field() {
    let server = start(test_config()).await;
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);
    let err = sessions
        .record_radar_session(RecordRadarSessionRequest {
            session: Some(pb::RadarSession {
                id: "sess_1".into(),
                ip: "999.1.1.1".into(),
                screen: "big".into(),
                timezone: "/etc/passwd".into(),
                payment_method: "card_1".into(),
                pasted_fields: vec!["Card Number".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields: Vec<_> = err
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "session.id",
            "session.ip",
            "session.pasted_fields[0]",
            "session.payment_method",
            "session.screen",
            "session.timezone",
        ]
    );
    let err = sessions
        .record_radar_session(RecordRadarSessionRequest { session: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}
