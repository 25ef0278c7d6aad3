//! Redis with a password and TLS (issue 18): a real `redis-server` that listens for TLS only and
//! requires a password; the gateway reaches it with `rediss://`, `redis.password_file` and
//! `redis.tls_ca_path`, and a wrong CA or password leaves evaluations answered but degraded.

use riskgate_testkit as common;

use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use riskgate::proto::v1::CreatePaymentEvaluationRequest;

use common::{TempDir, client, example_request, number, redis_server::RedisServer, start};

const PASSWORD: &str = "s3cret-redis-password";

/// Writes `{name}-ca.crt`, `{name}.crt` and `{name}.key` (for 127.0.0.1 and localhost) into `dir`.
fn issue(dir: &TempDir, name: &str) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, format!("riskgate redis test {name}"));
    let authority = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    dir.file(&format!("{name}-ca.crt"), &authority.pem());
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &authority).unwrap();
    dir.file(&format!("{name}.crt"), &cert.pem());
    dir.file(&format!("{name}.key"), &key.serialize_pem());
}

async fn tls_redis(dir: &TempDir) -> RedisServer {
    let path = |f: &str| dir.path().join(f).display().to_string();
    RedisServer::start_with(
        vec![
            "--tls-cert-file".into(),
            path("server.crt"),
            "--tls-key-file".into(),
            path("server.key"),
            "--tls-ca-cert-file".into(),
            path("server-ca.crt"),
            "--tls-auth-clients".into(),
            "no".into(),
            "--requirepass".into(),
            PASSWORD.into(),
        ],
        true,
    )
    .await
}

fn request() -> CreatePaymentEvaluationRequest {
    let mut req = example_request();
    req.expand = vec!["attributes".into()];
    req
}

#[tokio::test]
async fn the_gateway_keeps_its_state_on_a_tls_redis_with_a_password() {
    let dir = TempDir::new("redis-tls");
    issue(&dir, "server");
    issue(&dir, "other");
    let password_file = dir.file("password", &format!("{PASSWORD}\n"));
    let wrong_password = dir.file("wrong", "not-the-password\n");
    let redis = tls_redis(&dir).await;
    assert!(redis.url().starts_with("rediss://127.0.0.1:"));

    let config = |ca: &str, password: &std::path::Path| {
        let mut c = common::test_config();
        common::use_redis(&mut c, redis.url());
        c.redis.password_file = Some(password.into());
        c.redis.tls_ca_path = Some(dir.path().join(ca));
        c.redis.budget_ms = 2000;
        c
    };

    // Right CA and password: the second payment sees the first (counted in Redis), not degraded.
    let good = start(config("server-ca.crt", &password_file)).await;
    let mut c = client(good.grpc_addr).await;
    let first = c.create_payment_evaluation(request()).await.unwrap();
    let second = c.create_payment_evaluation(request()).await.unwrap();
    for answer in [&first, &second] {
        assert!(!answer.get_ref().decision.as_ref().unwrap().degraded);
    }
    assert_eq!(
        number(second.get_ref(), "total_charges_per_card_number_hourly"),
        Some(1.0)
    );
    // `config show`-style output never carries the password.
    let shown = format!("{:?}", config("server-ca.crt", &password_file));
    assert!(!shown.contains(PASSWORD));

    // A CA that did not sign Redis' certificate, or a wrong password: still answered, degraded.
    for (ca, password) in [
        ("other-ca.crt", password_file.as_path()),
        ("server-ca.crt", wrong_password.as_path()),
    ] {
        let mut c = config(ca, password);
        c.redis.budget_ms = 300;
        let bad = start(c).await;
        let mut client = client(bad.grpc_addr).await;
        let answer = client.create_payment_evaluation(request()).await.unwrap();
        assert!(
            answer.get_ref().decision.as_ref().unwrap().degraded,
            "{ca} / {}",
            password.display()
        );
        bad.shutdown(Duration::from_secs(5)).await.unwrap();
    }
    good.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[test]
fn tls_settings_need_a_rediss_url_and_one_password() {
    let mut c = common::test_config();
    common::use_redis(&mut c, "redis://127.0.0.1:6379".into());
    c.redis.tls_ca_path = Some("/ca.crt".into());
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("rediss://"), "{err}");

    let mut c = common::test_config();
    common::use_redis(&mut c, "rediss://user:inline@127.0.0.1:6379".into());
    c.redis.password_file = Some("/password".into());
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("redis.password_file"), "{err}");
    assert!(!err.contains("inline"), "{err}");
}
