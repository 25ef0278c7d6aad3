//! The real server on ephemeral loopback ports, and clients for it.

use std::{net::SocketAddr, sync::Arc};

use riskgate::{
    config::Config,
    proto::v1::payment_evaluation_service_client::PaymentEvaluationServiceClient,
    server::{Running, Server},
};
use riskgate_core::model::Scorer;
use tonic::transport::Channel;

/// A configuration that binds ephemeral loopback ports.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.grpc.addr = "127.0.0.1:0".parse().unwrap();
    c.admin.addr = "127.0.0.1:0".parse().unwrap();
    // Off: a test's own client shares the runtime and can saturate it for a moment, and then the
    // governor would refuse calls the test expects answered. Tests that want it turn it on.
    c.grpc.cpu_target_percent = 0;
    c
}

/// A pseudonym key file (`pseudonym.key_file`) for servers that share a Redis: the same file for
/// every server of the test process, as replicas must share one key.
pub fn pseudonym_key_file() -> std::path::PathBuf {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::temp_dir().join(format!(
            "riskgate-test-pseudonym-key-{}",
            std::process::id()
        ));
        std::fs::write(&path, "test-pseudonym-key-0123456789abcdef0123456789\n").unwrap();
        path
    })
    .clone()
}

/// Points `config` at a shared Redis, with the pseudonym key every replica must share.
pub fn use_redis(config: &mut Config, url: String) {
    config.redis.url = Some(url);
    config.pseudonym.key_file = Some(pseudonym_key_file());
}

/// Starts a server with the default model.
pub async fn start(config: Config) -> Running {
    Server::new(config).start().await.expect("server starts")
}

/// Starts a server with `scorer`.
pub async fn start_with(config: Config, scorer: Arc<dyn Scorer>) -> Running {
    Server::new(config)
        .with_scorer(scorer)
        .start()
        .await
        .expect("server starts")
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

pub async fn client(addr: SocketAddr) -> PaymentEvaluationServiceClient<Channel> {
    PaymentEvaluationServiceClient::new(channel(addr).await)
}

/// One evaluation through `client`: the answer (panics on an error status).
pub async fn evaluate(
    client: &mut PaymentEvaluationServiceClient<Channel>,
    req: &riskgate::proto::v1::CreatePaymentEvaluationRequest,
) -> riskgate::proto::v1::CreatePaymentEvaluationResponse {
    client
        .create_payment_evaluation(req.clone())
        .await
        .unwrap()
        .into_inner()
}
