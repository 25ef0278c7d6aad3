//! Issue 18, credentials: what each listener asks of a caller, through a real server on loopback.
//! Radar Sessions sit behind the evaluation token; a session cannot replace the set-up device
//! another session recorded (in process and on Redis); an empty token is refused as
//! configuration; a non-loopback gRPC address needs a credential unless explicitly opened.

use riskgate_testkit as common;

use riskgate::{
    config::{Config, Secret},
    proto::v1::{
        self as pb, CreatePaymentEvaluationRequest, GetRadarSessionRequest,
        RecordRadarSessionRequest, attribute_value::Kind,
        payment_evaluation_service_client::PaymentEvaluationServiceClient,
        radar_session_service_client::RadarSessionServiceClient,
    },
    server::Server,
};
use std::time::Duration;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use common::{channel, example_request, redis_server::RedisServer, start, test_config};

const TOKEN: &str = "credentials-test-evaluation-token";

fn with_token<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

fn session(id: &str, device: &str, payment_method: &str) -> RecordRadarSessionRequest {
    RecordRadarSessionRequest {
        session: Some(pb::RadarSession {
            id: id.into(),
            ip: "192.0.2.10".into(),
            device_id: device.into(),
            user_agent: "UA-test".into(),
            payment_method: payment_method.into(),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn radar_sessions_need_the_evaluation_token() {
    let mut config = test_config();
    config.auth.evaluation_token = Some(Secret::new(TOKEN));
    let server = start(config).await;
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);

    for bad in [None, Some("Bearer "), Some("Bearer wrong-token")] {
        let mut call = Request::new(session("rse_tok", "dev_1", ""));
        if let Some(v) = bad {
            call.metadata_mut()
                .insert("authorization", v.parse().unwrap());
        }
        let err = sessions.record_radar_session(call).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{bad:?}");
        let mut get = Request::new(GetRadarSessionRequest {
            id: "rse_tok".into(),
        });
        if let Some(v) = bad {
            get.metadata_mut()
                .insert("authorization", v.parse().unwrap());
        }
        let err = sessions.get_radar_session(get).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{bad:?}");
    }
    sessions
        .record_radar_session(with_token(session("rse_tok", "dev_1", "")))
        .await
        .unwrap();
    let got = sessions
        .get_radar_session(with_token(GetRadarSessionRequest {
            id: "rse_tok".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.session.unwrap().device_id, "dev_1");
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

fn flag(answer: &pb::CreatePaymentEvaluationResponse, name: &str) -> Option<bool> {
    match answer.attributes.get(name)?.kind.as_ref()? {
        Kind::Flag(b) => Some(*b),
        _ => None,
    }
}

/// A payment with `payment_method`, from the device of Radar Session `session`.
fn payment(payment_method: &str, session: &str) -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    req.payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap()
        .payment_method = payment_method.into();
    req.client_device_metadata_details = Some(pb::ClientDeviceMetadataDetails {
        radar_session: session.into(),
        ..Default::default()
    });
    req
}

/// First writer wins, the same session may record again, another session is refused and not
/// recorded at all.
async fn set_up_device_is_written_once(config: Config) {
    let server = start(config).await;
    let mut sessions = RadarSessionServiceClient::new(channel(server.grpc_addr).await);
    let mut evaluations = PaymentEvaluationServiceClient::new(channel(server.grpc_addr).await);

    sessions
        .record_radar_session(session("rse_owner", "dev_owner", "pm_victim"))
        .await
        .unwrap();
    // The same session again (say, with more device data): allowed.
    sessions
        .record_radar_session(session("rse_owner", "dev_owner", "pm_victim"))
        .await
        .unwrap();
    // Another session naming the same payment method: refused, with the field.
    let err = sessions
        .record_radar_session(session("rse_attacker", "dev_attacker", "pm_victim"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    let details = err.get_error_details();
    let violations = details
        .bad_request()
        .map(|b| b.field_violations.clone())
        .unwrap_or_default();
    assert!(
        err.message().contains("session.payment_method")
            || violations
                .iter()
                .any(|v| v.field == "session.payment_method"),
        "{err:?}"
    );
    let missing = sessions
        .get_radar_session(GetRadarSessionRequest {
            id: "rse_attacker".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        missing.code(),
        Code::NotFound,
        "the refused session was kept"
    );

    // The attacker now pays with the victim's payment method from their own device: the
    // two-session check still compares with the owner's device and flags the change.
    sessions
        .record_radar_session(session("rse_attacker2", "dev_attacker", ""))
        .await
        .unwrap();
    let answer = evaluations
        .create_payment_evaluation(payment("pm_victim", "rse_attacker2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(flag(&answer, "has_payment_method_session"), Some(true));
    assert_eq!(
        flag(&answer, "payment_method_session_device_changed"),
        Some(true),
        "the set-up device was replaced"
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_session_cannot_replace_the_set_up_device_in_process() {
    set_up_device_is_written_once(test_config()).await;
}

#[tokio::test]
async fn a_session_cannot_replace_the_set_up_device_on_redis() {
    let redis = RedisServer::start().await;
    let mut config = test_config();
    common::use_redis(&mut config, redis.url());
    config.redis.budget_ms = 2000;
    set_up_device_is_written_once(config).await;
}

#[tokio::test]
async fn an_empty_token_is_refused_as_configuration() {
    for (admin, evaluation) in [("", "x-evaluation-token"), ("x-admin-token", "  ")] {
        let mut config = test_config();
        config.admin_token = Some(Secret::new(admin));
        config.auth.evaluation_token = Some(Secret::new(evaluation));
        let err = Server::new(config).start().await.err().expect("refused");
        assert!(err.to_string().contains("must not be empty"), "{err}");
    }
}

#[tokio::test]
async fn a_non_loopback_address_needs_a_credential_unless_opened_on_purpose() {
    let mut config = test_config();
    config.grpc.addr = "0.0.0.0:0".parse().unwrap();
    let err = Server::new(config.clone())
        .start()
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("auth.allow_unauthenticated"),
        "{err}"
    );
    config.auth.evaluation_token = Some(Secret::new(TOKEN));
    let server = start(config.clone()).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
    config.auth.evaluation_token = None;
    config.auth.allow_unauthenticated = true;
    let server = start(config).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
