//! TLS, mTLS, bearer tokens and the plaintext health-only listener, end to end.

use riskgate_testkit as common;

use std::{path::PathBuf, time::Duration};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use riskgate::{
    proto::v1::payment_evaluation_service_client::PaymentEvaluationServiceClient,
    server::tls::{ClientTls, Reloaded, ReloadingCert, ServerTls, client_channel},
};
use tonic::{Code, Request};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM files in a
/// fresh directory.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("riskgate-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Self { dir };
        pki.issue("ca", "server", "client");
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `{ca}.crt`, `{server}.crt/.key` and `{client}.crt/.key`, all signed by a new CA.
    fn issue(&self, ca: &str, server: &str, client: &str) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("riskgate test {ca}"));
        let authority =
            CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(self.path(&format!("{ca}.crt")), authority.pem()).unwrap();
        for (name, sans) in [
            (server, vec!["localhost".to_owned(), "127.0.0.1".to_owned()]),
            (client, vec![]),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(sans).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, format!("riskgate test {name}"));
            let cert = params.signed_by(&key, &authority).unwrap();
            std::fs::write(self.path(&format!("{name}.crt")), cert.pem()).unwrap();
            std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn tls_with_a_token_refuses_calls_without_it() {
    let pki = Pki::new("token");
    let mut config = test_config();
    config.tls.cert_path = Some(pki.path("server.crt"));
    config.tls.key_path = Some(pki.path("server.key"));
    config.auth.evaluation_token = Some(riskgate::config::Secret::new("tok-1"));
    let server = start(config).await;

    let tls = ClientTls {
        ca: pki.path("ca.crt"),
        ..Default::default()
    };
    let channel = client_channel(&server.grpc_addr.to_string(), "localhost", &tls)
        .await
        .unwrap();
    let mut client = PaymentEvaluationServiceClient::new(channel.clone());

    let status = client
        .create_payment_evaluation(minimal_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let mut call = Request::new(minimal_request());
    call.metadata_mut()
        .insert("authorization", "Bearer tok-1".parse().unwrap());
    let answer = client
        .create_payment_evaluation(call)
        .await
        .unwrap()
        .into_inner();
    assert!(answer.evaluation.unwrap().id.starts_with("peval_"));

    // Health needs no token.
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().status(), ServingStatus::Serving);

    // A plaintext client cannot talk to the TLS port.
    let plain = tonic::transport::Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect()
        .await;
    if let Ok(ch) = plain {
        let err = PaymentEvaluationServiceClient::new(ch)
            .create_payment_evaluation(minimal_request())
            .await;
        assert!(err.is_err());
    }
}

#[tokio::test]
async fn mtls_requires_a_client_certificate_from_the_ca() {
    let pki = Pki::new("mtls");
    pki.issue("other-ca", "other-server", "stranger");
    let mut config = test_config();
    config.tls.cert_path = Some(pki.path("server.crt"));
    config.tls.key_path = Some(pki.path("server.key"));
    config.tls.client_ca_path = Some(pki.path("ca.crt"));
    let server = start(config).await;
    let addr = server.grpc_addr.to_string();

    let with_cert = ClientTls {
        ca: pki.path("ca.crt"),
        cert: Some(pki.path("client.crt")),
        key: Some(pki.path("client.key")),
    };
    let channel = client_channel(&addr, "127.0.0.1", &with_cert)
        .await
        .unwrap();
    PaymentEvaluationServiceClient::new(channel)
        .create_payment_evaluation(minimal_request())
        .await
        .unwrap();

    for refused in [
        ClientTls {
            ca: pki.path("ca.crt"),
            ..Default::default()
        },
        ClientTls {
            ca: pki.path("ca.crt"),
            cert: Some(pki.path("stranger.crt")),
            key: Some(pki.path("stranger.key")),
        },
    ] {
        let result = match client_channel(&addr, "127.0.0.1", &refused).await {
            Err(_) => continue,
            Ok(ch) => {
                PaymentEvaluationServiceClient::new(ch)
                    .create_payment_evaluation(minimal_request())
                    .await
            }
        };
        assert!(result.is_err(), "{refused:?} was let in");
    }
}

#[test]
fn certificates_reload_when_their_files_change() {
    let pki = Pki::new("reload");
    let cert = ReloadingCert::load(&pki.path("server.crt"), &pki.path("server.key")).unwrap();
    assert!(!cert.reload_if_changed().unwrap(), "nothing changed yet");

    let before = std::fs::read(pki.path("server.crt")).unwrap();
    pki.issue("ca2", "server", "client2");
    // Make the change visible whatever the file system's timestamp resolution.
    for name in ["server.crt", "server.key"] {
        let f = std::fs::File::options()
            .write(true)
            .open(pki.path(name))
            .unwrap();
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
            .unwrap();
    }
    assert_ne!(before, std::fs::read(pki.path("server.crt")).unwrap());
    assert!(cert.reload_if_changed().unwrap(), "new pair loaded");

    // A broken pair keeps the last good one.
    std::fs::write(pki.path("server.key"), "not a key").unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(pki.path("server.key"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    assert!(cert.reload_if_changed().is_err());
}

#[tokio::test]
async fn health_only_listener_serves_probes_and_nothing_else() {
    let mut config = test_config();
    config.health.addr = Some("127.0.0.1:0".parse().unwrap());
    let server = start(config).await;
    let health_addr = server.health_addr.expect("health listener bound");
    let channel = channel(health_addr).await;
    let reply = HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().status(), ServingStatus::Serving);
    let status = PaymentEvaluationServiceClient::new(channel)
        .create_payment_evaluation(minimal_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Sets `path`'s modification time `secs` ahead, so a rewrite is seen whatever the file system's
/// timestamp resolution.
fn touch_ahead(path: &std::path::Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + Duration::from_secs(secs))
        .unwrap();
}

#[tokio::test]
async fn a_renewed_client_ca_is_used_without_a_restart() {
    let pki = Pki::new("ca-reload");
    pki.issue("new-ca", "new-server", "new-client");
    let mut config = test_config();
    config.tls.cert_path = Some(pki.path("server.crt"));
    config.tls.key_path = Some(pki.path("server.key"));
    // The CA file the server reads, a copy it can be rewritten in place.
    std::fs::copy(pki.path("ca.crt"), pki.path("client-ca.crt")).unwrap();
    config.tls.client_ca_path = Some(pki.path("client-ca.crt"));
    config.tls.reload_interval_secs = 1;
    let server = start(config).await;
    let addr = server.grpc_addr.to_string();
    let client_of = |name: &str| ClientTls {
        ca: pki.path("ca.crt"),
        cert: Some(pki.path(&format!("{name}.crt"))),
        key: Some(pki.path(&format!("{name}.key"))),
    };
    let call = |tls: ClientTls| {
        let addr = addr.clone();
        async move {
            let channel = client_channel(&addr, "127.0.0.1", &tls).await.ok()?;
            PaymentEvaluationServiceClient::new(channel)
                .create_payment_evaluation(minimal_request())
                .await
                .ok()
        }
    };
    assert!(call(client_of("client")).await.is_some());
    assert!(call(client_of("new-client")).await.is_none());

    // The orchestrators' CA is renewed: the file now holds the new CA.
    std::fs::copy(pki.path("new-ca.crt"), pki.path("client-ca.crt")).unwrap();
    touch_ahead(&pki.path("client-ca.crt"), 5);
    // Picked up by the next check (every second): wait for it, bounded.
    let mut renewed = false;
    for _ in 0..100 {
        if call(client_of("new-client")).await.is_some() {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(renewed, "the new client CA was not picked up");
    assert!(
        call(client_of("client")).await.is_none(),
        "a client of the old CA still gets in"
    );

    server.shutdown(Duration::from_secs(5)).await.unwrap();

    // A CA file that breaks keeps the configuration built from the last good one.
    std::fs::copy(pki.path("ca.crt"), pki.path("ca-copy.crt")).unwrap();
    let tls = ServerTls::load(
        &pki.path("server.crt"),
        &pki.path("server.key"),
        Some(&pki.path("ca-copy.crt")),
    )
    .unwrap();
    assert_eq!(tls.reload_if_changed().unwrap(), Reloaded::default());
    let before = tls.config();
    std::fs::write(pki.path("ca-copy.crt"), "not a certificate").unwrap();
    touch_ahead(&pki.path("ca-copy.crt"), 10);
    assert!(tls.reload_if_changed().is_err());
    assert!(std::sync::Arc::ptr_eq(&before, &tls.config()));
    std::fs::copy(pki.path("new-ca.crt"), pki.path("ca-copy.crt")).unwrap();
    touch_ahead(&pki.path("ca-copy.crt"), 15);
    let reloaded = tls.reload_if_changed().unwrap();
    assert!(reloaded.client_ca && !reloaded.cert, "{reloaded:?}");
    assert!(!std::sync::Arc::ptr_eq(&before, &tls.config()));
}
