//! Serving: binds the listeners, wires the gRPC services (evaluations, health, reflection) behind the
//! observe/shed layer, runs the admin HTTP server, warms up, and shuts down gracefully.
//!
//! Health follows the sidecar contract: every entry starts NOT_SERVING, turns SERVING once a warm-up
//! evaluation has run through the whole pipeline, and turns NOT_SERVING again as soon as shutdown
//! begins, before in-flight calls are drained.

pub mod admin;
pub mod layer;

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::transport::server::TcpIncoming;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    config::Config,
    core::{
        engine::Engine,
        model::{LogisticModel, Scorer},
        reference::FxTable,
    },
    enrich::Enricher,
    idempotency::IdempotencyStore,
    proto::{
        self,
        v1::{
            CreatePaymentEvaluationRequest, CustomerDetails, PaymentDetails, PaymentMethodDetails,
            payment_evaluation_service_server::{PaymentEvaluationServiceServer, SERVICE_NAME},
            radar_session_service_server::RadarSessionServiceServer,
        },
    },
    service::{EvaluationService, sessions::SessionService, validate},
    telemetry,
};

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("warm-up evaluation failed: {0}")]
    WarmUp(String),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("in-flight calls did not finish within the {0:?} grace period")]
    GraceExpired(Duration),
    #[error("server task panicked: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A server to start.
pub struct Server {
    config: Config,
    scorer: Arc<dyn Scorer>,
}

/// A started server.
pub struct Running {
    /// Where the gRPC API listens.
    pub grpc_addr: SocketAddr,
    /// Where the admin HTTP server listens.
    pub admin_addr: SocketAddr,
    /// The Unix socket the gRPC API also listens on, if any.
    pub uds_path: Option<PathBuf>,
    shutdown: watch::Sender<bool>,
    admin_stop: watch::Sender<bool>,
    health: HealthReporter,
    ready: Arc<AtomicBool>,
    grpc_tasks: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
    admin_task: JoinHandle<()>,
}

impl Server {
    /// A server with the embedded default model.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            scorer: Arc::new(LogisticModel::default()),
        }
    }

    /// Scores with `scorer` instead of the default model.
    pub fn with_scorer(mut self, scorer: Arc<dyn Scorer>) -> Self {
        self.scorer = scorer;
        self
    }

    /// Binds every listener, warms up, and starts serving. Returns once health says SERVING.
    ///
    /// The model is warmed up before any listener is bound, so a port that accepts connections
    /// serves real decisions.
    pub async fn start(self) -> Result<Running, ServeError> {
        let config = self.config;
        config
            .validate()
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let metrics = telemetry::metrics_handle();
        tokio::spawn(telemetry::run_upkeep(metrics.clone()));

        let fx = FxTable::new(config.fx.iter().map(|(k, v)| (k.as_str(), *v)))
            .map_err(ServeError::Config)?;
        let engine = Arc::new(Engine::new(self.scorer, config.risk, config.actions, fx));
        warm_up(&engine)?;
        let (enricher, redis) = Enricher::from_configs(&config.enrichment, &config.redis)
            .map_err(ServeError::Config)?;
        let enricher = Arc::new(enricher);
        let mut idempotency = IdempotencyStore::new(
            Duration::from_secs(config.idempotency.retention_secs),
            config.idempotency.max_bytes,
        );
        if let Some(redis) = redis {
            match redis.ping().await {
                Ok(()) => tracing::info!("shared state on Redis"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "Redis is not answering; evaluations are degraded until it does"
                ),
            }
            idempotency = idempotency.with_shared(redis);
        }
        tokio::spawn(enricher.clone().run_upkeep(Duration::from_secs(
            config.enrichment.velocity_sweep_interval_secs,
        )));
        let sessions = SessionService::new(enricher.clone());
        let service = EvaluationService::new(
            engine,
            idempotency,
            config.livemode,
            Duration::from_millis(config.grpc.deadline_margin_ms),
        )
        .with_enricher(enricher);

        let (health, health_service) = tonic_health::server::health_reporter();
        for name in ["", SERVICE_NAME] {
            health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let grpc_listener = bind_tcp("gRPC", config.grpc.addr).await?;
        let grpc_addr = local_addr("gRPC", &grpc_listener, config.grpc.addr)?;
        let admin_listener = bind_tcp("admin HTTP", config.admin.addr).await?;
        let admin_addr = local_addr("admin HTTP", &admin_listener, config.admin.addr)?;

        let (shutdown, shutdown_rx) = watch::channel(false);
        // The admin server outlives the drain, so `/readyz` answers 503 (and `/metrics` is scraped)
        // while in-flight calls finish.
        let (admin_stop, admin_stop_rx) = watch::channel(false);
        let ready = Arc::new(AtomicBool::new(false));
        let admin_task = tokio::spawn(admin::serve(
            admin_listener,
            admin::AdminState {
                metrics,
                ready: ready.clone(),
            },
            admin_stop_rx,
        ));

        let keepalive = match config.grpc.http2_keepalive_interval_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        };
        let router = tonic::transport::Server::builder()
            .max_concurrent_streams(config.grpc.max_concurrent_streams)
            .http2_keepalive_interval(keepalive)
            .layer(layer::ObserveLayer::new(config.grpc.concurrency_limit))
            .add_service(
                PaymentEvaluationServiceServer::new(service.clone())
                    .max_decoding_message_size(config.grpc.max_request_bytes),
            )
            .add_service(
                RadarSessionServiceServer::new(sessions)
                    .max_decoding_message_size(config.grpc.max_request_bytes),
            )
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        let mut grpc_tasks = Vec::new();
        let uds_path = config.grpc.uds_path.clone();
        if let Some(path) = &uds_path {
            let listener = bind_uds(path)?;
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            grpc_tasks.push(tokio::spawn(
                router
                    .clone()
                    .serve_with_incoming_shutdown(incoming, stopped(shutdown_rx.clone())),
            ));
        }
        let incoming = TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        grpc_tasks.push(tokio::spawn(
            router.serve_with_incoming_shutdown(incoming, stopped(shutdown_rx)),
        ));

        for name in ["", SERVICE_NAME] {
            health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        ready.store(true, Ordering::Release);
        tracing::info!(%grpc_addr, %admin_addr, uds = ?uds_path, "riskgate serving");

        Ok(Running {
            grpc_addr,
            admin_addr,
            uds_path,
            shutdown,
            admin_stop,
            health,
            ready,
            grpc_tasks,
            admin_task,
        })
    }
}

impl Running {
    /// Graceful shutdown: health NOT_SERVING and `/readyz` 503 first, then no new connections, then
    /// in-flight calls finish (for at most `grace`), then the admin server stops.
    pub async fn shutdown(mut self, grace: Duration) -> Result<(), ServeError> {
        self.ready.store(false, Ordering::Release);
        for name in ["", SERVICE_NAME] {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        tracing::info!(?grace, "shutting down: draining in-flight calls");
        let _ = self.shutdown.send(true);
        let drained = tokio::time::timeout(grace, async {
            for task in self.grpc_tasks.drain(..) {
                task.await??;
            }
            Ok::<_, ServeError>(())
        })
        .await;
        let _ = self.admin_stop.send(true);
        let _ = self.admin_task.await;
        if let Some(path) = &self.uds_path {
            let _ = std::fs::remove_file(path);
        }
        match drained {
            Ok(result) => result,
            Err(_) => Err(ServeError::GraceExpired(grace)),
        }
    }
}

/// Resolves once shutdown has been requested.
pub(crate) async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn bind_tcp(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            what,
            addr: addr.to_string(),
            source,
        })
}

fn local_addr(
    what: &'static str,
    l: &TcpListener,
    addr: SocketAddr,
) -> Result<SocketAddr, ServeError> {
    l.local_addr().map_err(|source| ServeError::Bind {
        what,
        addr: addr.to_string(),
        source,
    })
}

fn bind_uds(path: &std::path::Path) -> Result<tokio::net::UnixListener, ServeError> {
    let err = |source| ServeError::Bind {
        what: "gRPC Unix socket",
        addr: path.display().to_string(),
        source,
    };
    // A socket file left by a previous run would make bind fail; anything else at the path is kept.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path).map_err(err)?;
        }
    }
    tokio::net::UnixListener::bind(path).map_err(err)
}

/// Runs one evaluation through validation and the whole decision pipeline, so that lazy
/// initialisation happens before the first real payment and a broken model or configuration fails
/// start-up instead of payments. Pure calls only: the warm-up records no metrics and keeps no state.
fn warm_up(engine: &Engine) -> Result<(), ServeError> {
    let request = CreatePaymentEvaluationRequest {
        customer_details: Some(CustomerDetails::default()),
        payment_details: Some(PaymentDetails {
            amount: 1000,
            currency: "usd".into(),
            payment_method_details: Some(PaymentMethodDetails {
                payment_method: "pm_warmup".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let input = validate::payment_evaluation(&request)
        .map_err(|v| ServeError::WarmUp(format!("warm-up request refused: {v:?}")))?;
    let (_, verdict) = engine.evaluate(&input, 0);
    if verdict.risk_score > 99 {
        return Err(ServeError::WarmUp(format!(
            "score {} out of range",
            verdict.risk_score
        )));
    }
    Ok(())
}

/// A gRPC channel over a Unix domain socket (for clients and tests of the sidecar listener).
pub async fn uds_channel(
    path: &std::path::Path,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let path = path.to_owned();
    // The URI is required by the API but unused: every connection goes to the socket.
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(UdsConnector(Arc::new(path)))
        .await
}

/// Connects every request to one Unix socket.
#[derive(Clone)]
struct UdsConnector(Arc<PathBuf>);

impl tower_service::Service<http::Uri> for UdsConnector {
    type Response = hyper_util::rt::TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let path = self.0.clone();
        Box::pin(async move {
            tokio::net::UnixStream::connect(path.as_path())
                .await
                .map(hyper_util::rt::TokioIo::new)
        })
    }
}
