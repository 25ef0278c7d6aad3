//! The bare tonic baseline for load tests: a `PaymentEvaluationService` that does no work and answers
//! every call with one pre-built response of realistic size. Served with the same transport settings
//! as `riskgate serve` (its runtime — one worker per CPU — and connections that gather ready answers
//! into one write, mimalloc, TCP_NODELAY, 1024 concurrent streams, 30 s keepalive), so the
//! difference between the two under the same load is the gateway's own cost (validation, pipeline,
//! answer building, metrics, the observe/shed layer). `--tonic-defaults` serves it as tonic does out
//! of the box instead (tonic's own listener: an answer per write), the baseline issue 20 names.
//!
//! ```text
//! cargo run --release -p riskgate-load --bin riskgate-echo -- [--addr 127.0.0.1:50071] [--request FILE.json] [--tonic-defaults]
//! ```
//!
//! `loadtest/run` loads it next to riskgate and reports every figure as gateway ÷ echo;
//! `loadtest/h2load-ab` measures both variants.

use std::{net::SocketAddr, path::Path, process::ExitCode, sync::Arc, time::Duration};

use prost::Message;
use riskgate::{
    api::evaluations::{EvaluationService, OBJECT},
    config::RuntimeConfig,
    pipeline::new_evaluation_id,
    proto::v1::{
        Action, CreatePaymentEvaluationRequest, CreatePaymentEvaluationResponse, Decision,
        FraudulentPayment, PaymentEvaluation, Reason, ReportPaymentOutcomeRequest,
        ReportPaymentOutcomeResponse, RiskLevel, ScoreSource, Signals,
        payment_evaluation_service_server::{
            PaymentEvaluationService, PaymentEvaluationServiceServer,
        },
    },
    server::coalesce::coalesced,
    stores::idempotency::IdempotencyStore,
};
use riskgate_core::{
    decision::{LevelActions, RiskThresholds},
    engine::Engine,
    model::LogisticModel,
    reference::FxTable,
};
use tonic::{Request, Response, Status, transport::server::TcpIncoming};

/// The gateway's allocator (see `src/main.rs`), so that the baseline is tuned like the gateway.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_ADDR: &str = "127.0.0.1:50071";
const DEFAULT_REQUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/evaluation.json");
const USAGE: &str = "usage: riskgate-echo [--addr ADDR] [--request FILE.json] [--tonic-defaults]";

/// Answers every call with a clone of `response`.
struct Echo {
    response: Arc<CreatePaymentEvaluationResponse>,
}

#[tonic::async_trait]
impl PaymentEvaluationService for Echo {
    async fn create_payment_evaluation(
        &self,
        _request: Request<CreatePaymentEvaluationRequest>,
    ) -> Result<Response<CreatePaymentEvaluationResponse>, Status> {
        Ok(Response::new((*self.response).clone()))
    }

    /// Not part of the baseline: the load test only evaluates.
    async fn report_payment_outcome(
        &self,
        _request: Request<ReportPaymentOutcomeRequest>,
    ) -> Result<Response<ReportPaymentOutcomeResponse>, Status> {
        Err(Status::unimplemented("the echo baseline only evaluates"))
    }
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("riskgate-echo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut addr = DEFAULT_ADDR.to_owned();
    let mut request_file = DEFAULT_REQUEST.to_owned();
    let mut tonic_defaults = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--addr" => addr = value("--addr")?,
            "--request" => request_file = value("--request")?,
            "--tonic-defaults" => tonic_defaults = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad --addr {addr:?}: {e}"))?;
    let request = load_request(Path::new(&request_file))?;

    let runtime = riskgate::server::runtime(RuntimeConfig::default().threads())
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(addr, request, tonic_defaults))
}

/// The request of `path`, without its idempotency key, as the generator sends requests.
fn load_request(path: &Path) -> Result<CreatePaymentEvaluationRequest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut request: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    request.idempotency_key.clear();
    Ok(request)
}

/// The canned answer: the shape of a real one for `request` (two reasons, metadata echoed).
fn canned_response(request: &CreatePaymentEvaluationRequest) -> CreatePaymentEvaluationResponse {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    CreatePaymentEvaluationResponse {
        evaluation: Some(PaymentEvaluation {
            id: new_evaluation_id(),
            object: OBJECT.to_owned(),
            created_at: now,
            livemode: false,
            metadata: request.metadata.clone(),
            insights: None,
            recommended_action: "continue".to_owned(),
            signals: Some(Signals {
                fraudulent_payment: Some(FraudulentPayment {
                    score: 11.0,
                    risk_level: "normal".to_owned(),
                    evaluated_at: now,
                }),
            }),
        }),
        decision: Some(Decision {
            action: Action::Continue as i32,
            risk_score: 11,
            risk_level: RiskLevel::Normal as i32,
            score_source: ScoreSource::LocalModel as i32,
            matched_rule: None,
            reasons: vec![
                Reason {
                    code: "risk_level_normal".to_owned(),
                    message: "risk score 11 is normal (0–19)".to_owned(),
                },
                Reason {
                    code: "amount".to_owned(),
                    message: "amount of about 129 USD raises risk (the model is neutral at 50 USD)"
                        .to_owned(),
                },
            ],
            degraded: false,
            processing_time_us: 118,
        }),
        attributes: Default::default(),
    }
}

/// The encoded size of the gateway's real answer to `request` (no `expand`), for comparison.
async fn real_response_size(request: &CreatePaymentEvaluationRequest) -> Result<usize, String> {
    let engine = Engine::new(
        Arc::new(LogisticModel::default()),
        RiskThresholds::default(),
        LevelActions::default(),
        FxTable::default(),
    );
    let service = EvaluationService::in_process(
        Arc::new(engine),
        IdempotencyStore::new(Duration::from_secs(3600), 1 << 20),
        false,
        Duration::ZERO,
    );
    let (response, _) = service
        .create(request, None)
        .await
        .map_err(|e| format!("real evaluation: {e}"))?;
    Ok(response.encoded_len())
}

async fn serve(
    addr: SocketAddr,
    request: CreatePaymentEvaluationRequest,
    tonic_defaults: bool,
) -> Result<(), String> {
    let response = canned_response(&request);
    println!(
        "request {} bytes; canned response {} bytes; riskgate's real response {} bytes",
        request.encoded_len(),
        response.encoded_len(),
        real_response_size(&request).await?,
    );

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    println!(
        "riskgate-echo listening on {local} ({})",
        if tonic_defaults {
            "tonic's defaults"
        } else {
            "riskgate's transport"
        }
    );

    let router = tonic::transport::Server::builder()
        .max_concurrent_streams(1024)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_service(PaymentEvaluationServiceServer::new(Echo {
            response: Arc::new(response),
        }));
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if tonic_defaults {
        router.serve_with_incoming_shutdown(incoming, stop).await
    } else {
        router
            .serve_with_incoming_shutdown(coalesced(incoming), stop)
            .await
    }
    .map_err(|e| format!("server failed: {e}"))
}
