//! What the gateway adds on top of Stripe's own latency, with the fake Stripe answering in 20 ms on
//! a loopback port:
//!
//! - `stripe_client_direct_20ms`: one `StripeClient` call to the fake (the upstream round trip,
//!   pooled keep-alive connection, form encoding and answer parsing);
//! - `grpc_gateway_stripe_20ms`: one gRPC `CreatePaymentEvaluation` through the real server in
//!   `stripe` mode (the same upstream round trip plus transport, validation, decision, metrics);
//! - `grpc_gateway_local`: the same gRPC call in `local` mode, for reference.
//!
//! The gateway's added latency at p50 is the difference of the first two medians.
//!
//! `cargo bench --bench upstream -- --warm-up-time 1 --measurement-time 5`

use std::{net::SocketAddr, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use riskgate::{
    config::{Config, StripeConfig, scoring::ScoringMode},
    proto::v1::{
        CreatePaymentEvaluationRequest,
        payment_evaluation_service_client::PaymentEvaluationServiceClient,
    },
    scoring::remote::RemoteScorer,
    server::Server,
    stripe::client::StripeClient,
};
use riskgate_testkit::fake_stripe::FakeStripe;

const KEY: &str = "sk_test_bench";
const REQUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/evaluation.json");

fn request() -> CreatePaymentEvaluationRequest {
    let text = std::fs::read_to_string(REQUEST).expect("examples/evaluation.json");
    let mut req: CreatePaymentEvaluationRequest = serde_json::from_str(&text).unwrap();
    req.idempotency_key.clear();
    req
}

fn upstream(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (fake_addr, stripe, mut gateway, mut local) = rt.block_on(async {
        let fake = FakeStripe::new(KEY);
        fake.set_delay(Duration::from_millis(20));
        let (fake_addr, _task) = fake
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)), None)
            .await
            .unwrap();
        let stripe_config = StripeConfig {
            base_url: format!("http://{fake_addr}"),
            ..Default::default()
        };
        let stripe = StripeClient::new(&stripe_config, KEY).unwrap();
        let start = |mode: ScoringMode| {
            let mut config = Config::default();
            config.grpc.addr = "127.0.0.1:0".parse().unwrap();
            config.admin.addr = "127.0.0.1:0".parse().unwrap();
            config.scoring.mode = mode;
            config.stripe = stripe_config.clone();
            config.stripe.secret_key = Some(KEY.into());
            async move {
                let running = Server::new(config).start().await.unwrap();
                let client = PaymentEvaluationServiceClient::connect(format!(
                    "http://{}",
                    running.grpc_addr
                ))
                .await
                .unwrap();
                std::mem::forget(running);
                client
            }
        };
        let gateway = start(ScoringMode::Stripe).await;
        let local = start(ScoringMode::Local).await;
        (fake_addr, stripe, gateway, local)
    });
    let req = request();
    let _ = fake_addr;

    let mut g = c.benchmark_group("upstream");
    g.sample_size(30);
    g.bench_function("stripe_client_direct_20ms", |b| {
        b.iter(|| {
            rt.block_on(
                stripe.score(
                    &riskgate::scoring::remote::RemoteRequest {
                        body: riskgate::stripe::form::payment_evaluation(
                            &riskgate::api::validate::payment_evaluation(&req).unwrap(),
                            stripe.features(),
                        )
                        .unwrap()
                        .into(),
                        idempotency_key: "riskgate-bench".into(),
                    },
                    Duration::from_millis(250),
                ),
            )
            .unwrap()
        })
    });
    g.bench_function("grpc_gateway_stripe_20ms", |b| {
        b.iter(|| {
            let answer = rt
                .block_on(gateway.create_payment_evaluation(req.clone()))
                .unwrap()
                .into_inner();
            assert_eq!(answer.decision.unwrap().score_source, 2, "scored by Stripe");
        })
    });
    g.bench_function("grpc_gateway_local", |b| {
        b.iter(|| {
            rt.block_on(local.create_payment_evaluation(req.clone()))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, upstream);
criterion_main!(benches);
