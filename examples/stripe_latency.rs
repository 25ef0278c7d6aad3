//! What the gateway adds to Stripe's latency, per call, at p50: the fake Stripe answers in 20 ms on
//! a loopback port; rounds interleave a direct `StripeClient` call, a gRPC call through the gateway
//! in `stripe` mode and one in `local` mode, so load on the machine hits all three alike.
//!
//! `cargo run --release --example stripe_latency [ROUNDS]`

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

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

const KEY: &str = "sk_test_latency";

fn p50(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(300, |a| a.parse().expect("ROUNDS is a number"));
    let text = include_str!("evaluation.json");
    let mut req: CreatePaymentEvaluationRequest = serde_json::from_str(text).unwrap();
    req.idempotency_key.clear();

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
    let direct = StripeClient::new(&stripe_config, KEY).unwrap();
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for mode in [ScoringMode::Stripe, ScoringMode::Local] {
        let mut config = Config::default();
        config.grpc.addr = "127.0.0.1:0".parse().unwrap();
        config.admin.addr = "127.0.0.1:0".parse().unwrap();
        config.scoring.mode = mode;
        config.stripe = stripe_config.clone();
        config.stripe.secret_key = Some(KEY.into());
        let running = Server::new(config).start().await.unwrap();
        clients.push(
            PaymentEvaluationServiceClient::connect(format!("http://{}", running.grpc_addr))
                .await
                .unwrap(),
        );
        servers.push(running);
    }
    let (mut gateway, mut local) = (clients.remove(0), clients.remove(0));

    let (mut d, mut g, mut l, mut diff) = (vec![], vec![], vec![], vec![]);
    for i in 0..rounds + 20 {
        let t = Instant::now();
        direct
            .score(
                &riskgate::scoring::remote::RemoteRequest {
                    body: riskgate::stripe::form::payment_evaluation(
                        &riskgate::api::validate::payment_evaluation(&req).unwrap(),
                        direct.features(),
                    )
                    .unwrap()
                    .into(),
                    idempotency_key: "riskgate-latency".into(),
                },
                Duration::from_millis(250),
            )
            .await
            .unwrap();
        let direct_us = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        let answer = gateway
            .create_payment_evaluation(req.clone())
            .await
            .unwrap()
            .into_inner();
        let gateway_us = t.elapsed().as_secs_f64() * 1e6;
        assert_eq!(answer.decision.unwrap().score_source, 2, "scored by Stripe");
        let t = Instant::now();
        local.create_payment_evaluation(req.clone()).await.unwrap();
        let local_us = t.elapsed().as_secs_f64() * 1e6;
        if i >= 20 {
            d.push(direct_us);
            g.push(gateway_us);
            l.push(local_us);
            diff.push(gateway_us - direct_us);
        }
    }
    let (pd, pg, pl, pdiff) = (p50(&mut d), p50(&mut g), p50(&mut l), p50(&mut diff));
    println!("rounds                              {rounds}");
    println!("p50 direct Stripe client call       {pd:.0} µs");
    println!("p50 gRPC via gateway (stripe mode)  {pg:.0} µs");
    println!("p50 gRPC via gateway (local mode)   {pl:.0} µs");
    println!("gateway added at p50 (p50 g − p50 d) {:.0} µs", pg - pd);
    println!("p50 of per-round (g − d)            {pdiff:.0} µs");
    for s in servers {
        s.shutdown(Duration::from_secs(5)).await.unwrap();
    }
}
