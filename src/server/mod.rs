//! Serving: binds the listeners, wires the gRPC services (evaluations, health, reflection) behind the
//! observe/shed layer, runs the admin HTTP server, warms up, and shuts down gracefully.
//!
//! Health follows the sidecar contract: every entry starts NOT_SERVING, turns SERVING once a warm-up
//! evaluation has run through the whole pipeline, and turns NOT_SERVING again as soon as shutdown
//! begins, before in-flight calls are drained.

pub mod admin;
pub mod governor;
pub mod layer;
pub mod reload;
pub mod tls;

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

use crate::{pipeline::Pipeline, shutdown::stopped};
use tonic::{service::interceptor::InterceptedService, transport::server::TcpIncoming};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    api::{
        admin::AdminApi,
        auth::{AdminAuth, EvaluationAuth},
        evaluations::EvaluationService,
        sessions::SessionService,
        validate,
        value_lists::ValueListsService,
    },
    config::{Config, Secret},
    enrich::Enricher,
    proto::{
        self,
        v1::{
            CreatePaymentEvaluationRequest, CustomerDetails, PaymentDetails, PaymentMethodDetails,
            admin_service_server::AdminServiceServer,
            payment_evaluation_service_server::{PaymentEvaluationServiceServer, SERVICE_NAME},
            radar_session_service_server::RadarSessionServiceServer,
            value_list_service_server::ValueListServiceServer,
        },
    },
    stores::{
        idempotency::IdempotencyStore,
        lists::{
            backend::{JournalLists, ValueListStore},
            journal::ListStore,
            redis::RedisLists,
        },
    },
    telemetry,
};
use riskgate_core::{engine::Engine, model::Scorer, reference::FxTable};

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
    #[error("rules: {0}")]
    Rules(String),
    #[error("value lists: {0}")]
    Lists(String),
    #[error(transparent)]
    Model(#[from] riskgate_core::model::ModelError),
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
    scorer: Option<Arc<dyn Scorer>>,
}

/// A started server.
pub struct Running {
    /// Where the gRPC API listens.
    pub grpc_addr: SocketAddr,
    /// Where the admin HTTP server listens.
    pub admin_addr: SocketAddr,
    /// Where the plaintext health-only gRPC listener is, if any.
    pub health_addr: Option<SocketAddr>,
    /// The Unix socket the gRPC API also listens on, if any.
    pub uds_path: Option<PathBuf>,
    /// Reloads the rules (what SIGHUP, the file watcher and the ReloadRules RPC call).
    pub reloader: Arc<reload::Reloader>,
    audit: Option<crate::record::audit::AuditLog>,
    shutdown: watch::Sender<bool>,
    admin_stop: watch::Sender<bool>,
    health: HealthReporter,
    ready: Arc<AtomicBool>,
    grpc_tasks: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
    admin_task: JoinHandle<()>,
}

impl Server {
    /// A server with the configured model (`model.path`, else the embedded default).
    pub fn new(config: Config) -> Self {
        Self {
            config,
            scorer: None,
        }
    }

    /// Scores with `scorer` instead of the configured model.
    pub fn with_scorer(mut self, scorer: Arc<dyn Scorer>) -> Self {
        self.scorer = Some(scorer);
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
        let injected = self.scorer.is_some();
        let scorer = match self.scorer {
            Some(scorer) => scorer,
            None => crate::scoring::configured_scorer(&config.model)?,
        };
        metrics::gauge!(telemetry::MODEL_INFO, "model" => scorer.version().to_owned()).set(1.0);
        tracing::info!(model = scorer.version(), "model loaded");
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let (lists, shared_lists) = open_lists(&config, now_unix).await?;
        let parts = reload::EngineParts {
            scorer,
            thresholds: config.risk,
            actions: config.actions,
            fx,
        };
        let (reloader, engine) = reload::Reloader::start(
            parts,
            config.rules.path.clone(),
            // An injected scorer (tests, embedding) is not reloaded from the configuration.
            (!injected).then(|| config.model.clone()),
            lists.clone(),
        )
        .map_err(|e| ServeError::Rules(e.to_string()))?;
        let reloader = Arc::new(reloader);
        warm_up(&engine.load())?;
        let admin_token = config
            .admin_token()
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let auth = AdminAuth::new(admin_token.as_ref().map(Secret::expose));
        let audit = match &config.audit.path {
            Some(path) => Some(
                crate::record::audit::AuditLog::open(
                    path,
                    config.audit.max_bytes,
                    config.audit.max_files,
                )
                .map_err(|e| ServeError::Config(format!("audit.path {}: {e}", path.display())))?,
            ),
            None => None,
        };
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
        let (scoring, stripe) = scoring(&config)?;
        let forwarder = match &stripe {
            Some(client) if config.stripe.report_outcomes => {
                Some(crate::stripe::outcomes::OutcomeForwarder::start(
                    client.clone(),
                    enricher.clone(),
                    config.stripe.outcome_queue_capacity,
                    Duration::from_millis(config.stripe.outcome_report_budget_ms),
                ))
            }
            _ => None,
        };
        let pipeline = Pipeline::new(engine, enricher)
            .with_audit(audit.clone())
            .with_scoring(scoring)
            .with_outcome_forwarder(forwarder);
        let service = EvaluationService::new(
            pipeline,
            idempotency,
            config.livemode,
            Duration::from_millis(config.grpc.deadline_margin_ms),
        );
        let webhooks = webhook_handler(&config, lists.clone())?;
        let list_sync = match &stripe {
            Some(client) if config.stripe.list_sync_interval_secs > 0 => {
                let synced = Arc::new(crate::stripe::lists::SyncedLists::default());
                let sync = crate::stripe::lists::ListSync::new(
                    client.clone(),
                    lists.clone(),
                    synced.clone(),
                    &config.stripe.list_sync_alias_prefix,
                    Duration::from_secs(config.stripe.list_sync_budget_secs),
                );
                Some((synced, sync))
            }
            None if config.stripe.list_sync_interval_secs > 0 => {
                return Err(ServeError::Config(
                    "stripe.list_sync_interval_secs needs a Stripe secret key (STRIPE_SECRET_KEY, \
                     stripe.secret_key or stripe.secret_key_file)"
                        .into(),
                ));
            }
            _ => None,
        };
        let synced = list_sync.as_ref().map(|(synced, _)| synced.clone());

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
        if let Some(shared) = shared_lists {
            tokio::spawn(shared.follow(shutdown_rx.clone()));
        }
        // The admin server outlives the drain, so `/readyz` answers 503 (and `/metrics` is scraped)
        // while in-flight calls finish.
        let (admin_stop, admin_stop_rx) = watch::channel(false);
        let ready = Arc::new(AtomicBool::new(false));
        let admin_task = tokio::spawn(admin::serve(
            admin_listener,
            admin::AdminState {
                metrics,
                ready: ready.clone(),
                webhooks,
            },
            admin_stop_rx,
        ));

        let keepalive = match config.grpc.http2_keepalive_interval_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        };
        let token = config
            .auth
            .evaluation_token()
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let evaluations = InterceptedService::new(
            PaymentEvaluationServiceServer::new(service.clone())
                .max_decoding_message_size(config.grpc.max_request_bytes),
            EvaluationAuth::new(token.as_ref().map(|t| t.expose())),
        );
        let cpu_gate = (config.grpc.cpu_target_percent > 0)
            .then(|| Arc::new(governor::CpuAdmission::default()));
        let router = tonic::transport::Server::builder()
            .max_concurrent_streams(config.grpc.max_concurrent_streams)
            .http2_keepalive_interval(keepalive)
            .layer(
                layer::ObserveLayer::new(
                    config.grpc.concurrency_limit,
                    Duration::from_millis(config.grpc.deadline_margin_ms),
                )
                .with_cpu_admission(cpu_gate.clone()),
            )
            .add_service(evaluations)
            .add_service(
                ValueListServiceServer::new(
                    ValueListsService::new(lists, auth.clone(), config.livemode)
                        .with_synced(synced),
                )
                .max_decoding_message_size(config.grpc.max_request_bytes),
            )
            .add_service(
                RadarSessionServiceServer::new(sessions)
                    .max_decoding_message_size(config.grpc.max_request_bytes),
            )
            .add_service(AdminServiceServer::new(AdminApi::new(
                reloader.clone(),
                auth,
            )))
            .add_service(health_service.clone())
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        tokio::spawn(reloader.clone().on_sighup(shutdown_rx.clone()));
        if let Some(gate) = &cpu_gate {
            tokio::spawn(governor::run(
                governor::RuntimeBusy::current(),
                governor::Governor::new(f64::from(config.grpc.cpu_target_percent) / 100.0),
                gate.clone(),
                shutdown_rx.clone(),
            ));
        }
        if let Some((_, sync)) = list_sync {
            tokio::spawn(sync.run_every(
                Duration::from_secs(config.stripe.list_sync_interval_secs),
                shutdown_rx.clone(),
            ));
        }
        if config.rules.path.is_some() && config.rules.watch_interval_ms > 0 {
            tokio::spawn(reloader.clone().watch(
                Duration::from_millis(config.rules.watch_interval_ms),
                shutdown_rx.clone(),
            ));
        }

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
        let mut health_addr = None;
        if let Some(addr) = config.health.addr {
            let listener = bind_tcp("gRPC health", addr).await?;
            health_addr = Some(local_addr("gRPC health", &listener, addr)?);
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            grpc_tasks.push(tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(health_service)
                    .serve_with_incoming_shutdown(incoming, stopped(shutdown_rx.clone())),
            ));
        }
        let tls = match (&config.tls.cert_path, &config.tls.key_path) {
            (Some(cert), Some(key)) => {
                let config_error = |e: tls::TlsError| ServeError::Config(e.to_string());
                let cert = Arc::new(tls::ReloadingCert::load(cert, key).map_err(config_error)?);
                let server_config =
                    tls::server_config(cert.clone(), config.tls.client_ca_path.as_deref())
                        .map_err(config_error)?;
                let interval = Duration::from_secs(config.tls.reload_interval_secs);
                tokio::spawn(cert.watch(interval, shutdown_rx.clone()));
                Some(server_config)
            }
            _ => None,
        };
        grpc_tasks.push(match tls {
            Some(server_config) => tokio::spawn(router.serve_with_incoming_shutdown(
                tls::incoming(grpc_listener, server_config),
                stopped(shutdown_rx),
            )),
            None => tokio::spawn(router.serve_with_incoming_shutdown(
                TcpIncoming::from(grpc_listener).with_nodelay(Some(true)),
                stopped(shutdown_rx),
            )),
        });

        for name in ["", SERVICE_NAME] {
            health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        ready.store(true, Ordering::Release);
        tracing::info!(
            %grpc_addr,
            %admin_addr,
            uds = ?uds_path,
            health = ?health_addr,
            tls = config.tls.cert_path.is_some(),
            mtls = config.tls.client_ca_path.is_some(),
            "riskgate serving"
        );

        Ok(Running {
            grpc_addr,
            admin_addr,
            health_addr,
            uds_path,
            reloader,
            audit,
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
        if let Some(audit) = self.audit.take() {
            let _ = tokio::task::spawn_blocking(move || audit.flush()).await;
        }
        if let Some(path) = &self.uds_path {
            let _ = std::fs::remove_file(path);
        }
        match drained {
            Ok(result) => result,
            Err(_) => Err(ServeError::GraceExpired(grace)),
        }
    }
}

/// The scoring set-up: the mode and, when a secret key is configured, the Stripe client (also
/// returned for outcome forwarding and list sync).
fn scoring(
    config: &Config,
) -> Result<
    (
        crate::pipeline::Scoring,
        Option<Arc<crate::stripe::client::StripeClient>>,
    ),
    ServeError,
> {
    use crate::{config::STRIPE_SECRET_KEY_ENV, stripe::client::StripeClient};
    let secret = config
        .stripe
        .secret(std::env::var(STRIPE_SECRET_KEY_ENV).ok())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let client = match secret {
        Some(key) => Some(Arc::new(
            StripeClient::new(&config.stripe, key.expose())
                .map_err(|e| ServeError::Config(e.to_string()))?,
        )),
        None if config.scoring.mode.uses_stripe() => {
            return Err(ServeError::Config(format!(
                "scoring.mode {} needs a Stripe secret key: set {STRIPE_SECRET_KEY_ENV}, \
                 stripe.secret_key or stripe.secret_key_file",
                config.scoring.mode.as_str()
            )));
        }
        None => None,
    };
    let remote = client
        .clone()
        .map(|c| c as Arc<dyn crate::scoring::remote::RemoteScorer>);
    if remote.is_some() {
        tracing::info!(
            mode = config.scoring.mode.as_str(),
            base_url = %config.stripe.base_url,
            version = %config.stripe.api_version,
            "Stripe upstream configured"
        );
    }
    Ok((
        crate::pipeline::Scoring {
            mode: config.scoring.mode,
            fail_policy: config.scoring.fail_policy,
            upstream_margin: Duration::from_millis(config.scoring.upstream_margin_ms),
            upstream_max: Duration::from_millis(config.scoring.upstream_max_ms),
            remote,
        },
        client,
    ))
}

/// The Stripe webhook handler, when a signing secret is configured.
/// The value list store: Redis, shared by every replica, when `redis.url` is set (returned twice:
/// its follower is started with the servers); else the journal at `lists.path`, or memory.
async fn open_lists(
    config: &Config,
    now_unix: i64,
) -> Result<(Arc<dyn ValueListStore>, Option<Arc<RedisLists>>), ServeError> {
    if config.redis.url.is_some() {
        if let Some(path) = &config.lists.path {
            tracing::warn!(
                path = %path.display(),
                "lists.path is not used: with redis.url, value lists are kept in Redis"
            );
        }
        let shared = Arc::new(RedisLists::new(&config.redis).map_err(ServeError::Config)?);
        if let Err(e) = shared.load(now_unix).await {
            tracing::warn!(
                error = %e,
                "value lists: Redis is not answering; serving without lists until it does"
            );
        }
        return Ok((shared.clone(), Some(shared)));
    }
    let store = match &config.lists.path {
        Some(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || ListStore::open(&path, now_unix))
                .await?
                .map_err(|e| ServeError::Lists(e.to_string()))?
        }
        None => ListStore::in_memory(now_unix),
    };
    Ok((Arc::new(JournalLists::new(Arc::new(store))), None))
}

fn webhook_handler(
    config: &Config,
    lists: Arc<dyn ValueListStore>,
) -> Result<Option<Arc<crate::stripe::webhook::WebhookHandler>>, ServeError> {
    let secret = config
        .webhooks
        .signing_secret(std::env::var(crate::config::STRIPE_WEBHOOK_SECRET_ENV).ok())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    crate::stripe::webhook::WebhookHandler::new(secret, config.webhooks.clone(), lists)
        .map(|h| Some(Arc::new(h)))
        .map_err(|e| ServeError::Config(format!("webhooks.labels_path: {e}")))
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
    let path = Arc::new(path.to_owned());
    // The URI is required by the API but unused: every connection goes to the socket.
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tls::tower_fn(move || {
            let path = path.clone();
            async move {
                tokio::net::UnixStream::connect(path.as_path())
                    .await
                    .map(hyper_util::rt::TokioIo::new)
            }
        }))
        .await
}
