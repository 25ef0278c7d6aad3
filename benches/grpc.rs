//! The transport's share of a call: one unary `CreatePaymentEvaluation` round trip with client and
//! server in one process over loopback TCP, sequentially.
//!
//! - `grpc/riskgate_round_trip`: the real gateway (`Server` with built-in defaults: default model,
//!   deadlines, metrics, the observe/shed layer);
//! - `grpc/echo_round_trip`: a bare tonic server with the same settings that answers with the
//!   gateway's own answer to the same request (same bytes), doing no work — tonic's and the loopback's
//!   cost alone.
//!
//! Their difference is the gateway's work per call; compare with `decision/service_create`.
//!
//! `cargo bench --bench grpc -- --warm-up-time 1 --measurement-time 3`

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use riskgate::{
    config::Config,
    proto::v1::{
        CreatePaymentEvaluationRequest, CreatePaymentEvaluationResponse,
        ReportPaymentOutcomeRequest, ReportPaymentOutcomeResponse,
        payment_evaluation_service_client::PaymentEvaluationServiceClient,
        payment_evaluation_service_server::{
            PaymentEvaluationService, PaymentEvaluationServiceServer,
        },
    },
    server::Server,
};
use tonic::{Request, Response, Status, transport::Channel};

const REQUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/evaluation.json");

struct Echo(Arc<CreatePaymentEvaluationResponse>);

#[tonic::async_trait]
impl PaymentEvaluationService for Echo {
    async fn create_payment_evaluation(
        &self,
        _request: Request<CreatePaymentEvaluationRequest>,
    ) -> Result<Response<CreatePaymentEvaluationResponse>, Status> {
        Ok(Response::new((*self.0).clone()))
    }

    /// Not part of the round trip measured here.
    async fn report_payment_outcome(
        &self,
        _request: Request<ReportPaymentOutcomeRequest>,
    ) -> Result<Response<ReportPaymentOutcomeResponse>, Status> {
        Err(Status::unimplemented("the echo baseline only evaluates"))
    }
}

async fn client(addr: std::net::SocketAddr) -> PaymentEvaluationServiceClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connects");
    PaymentEvaluationServiceClient::new(channel)
}

fn grpc(c: &mut Criterion) {
    let text =
        std::fs::read_to_string(REQUEST).unwrap_or_else(|e| panic!("cannot read {REQUEST}: {e}"));
    let mut req: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{REQUEST}: {e}"));
    req.idempotency_key.clear();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = Config::default();
    config.grpc.addr = "127.0.0.1:0".parse().unwrap();
    config.admin.addr = "127.0.0.1:0".parse().unwrap();
    let running = rt
        .block_on(Server::new(config).start())
        .expect("server starts");
    let gateway = rt.block_on(client(running.grpc_addr));
    let answer = rt
        .block_on(gateway.clone().create_payment_evaluation(req.clone()))
        .expect("the gateway answers")
        .into_inner();

    // The echo server: same transport settings as `riskgate serve`, the gateway's own answer.
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let echo_addr = listener.local_addr().expect("bound");
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let echo_server = rt.spawn(
        tonic::transport::Server::builder()
            .max_concurrent_streams(1024)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .add_service(PaymentEvaluationServiceServer::new(Echo(Arc::new(answer))))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    let echo = rt.block_on(client(echo_addr));

    let mut group = c.benchmark_group("grpc");
    group.bench_function("riskgate_round_trip", |b| {
        b.iter(|| {
            rt.block_on(
                gateway
                    .clone()
                    .create_payment_evaluation(black_box(req.clone())),
            )
            .expect("OK")
        })
    });
    group.bench_function("echo_round_trip", |b| {
        b.iter(|| {
            rt.block_on(
                echo.clone()
                    .create_payment_evaluation(black_box(req.clone())),
            )
            .expect("OK")
        })
    });
    group.finish();

    let _ = stop.send(());
    let _ = rt.block_on(echo_server);
    rt.block_on(running.shutdown(Duration::from_secs(1)))
        .expect("gateway stops");
}

criterion_group!(benches, grpc);
criterion_main!(benches);
