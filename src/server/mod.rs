//! Serving: binds the listeners, wires the gRPC services (evaluations, health, reflection) behind the
//! observe/shed layer, runs the admin HTTP server, warms up, and shuts down gracefully.
//!
//! Health follows the sidecar contract: every entry starts NOT_SERVING, turns SERVING once a warm-up
//! evaluation has run through the whole pipeline, and turns NOT_SERVING again as soon as shutdown
//! begins, before in-flight calls are drained.

pub mod accept;
pub mod admin;
pub mod coalesce;
pub mod governor;
pub mod layer;
pub mod reload;
pub mod tls;
pub mod watched;

mod listeners;
mod parts;
mod router;
mod runtime;
mod warmup;

pub use listeners::uds_channel;
pub use runtime::runtime;

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::{sync::watch, task::JoinHandle};
use tonic_health::{ServingStatus, server::HealthReporter};

use self::{
    listeners::{bind_tcp, local_addr},
    warmup::warm_up,
};
use crate::{
    api::evaluations::EvaluationService,
    clock::Clock,
    config::Config,
    pipeline::{Pipeline, reviews::ReviewDesk},
    proto::v1::payment_evaluation_service_server::SERVICE_NAME,
    stores::data_dir::DataDir,
    telemetry,
};
use riskgate_core::model::Scorer;

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
    /// The data directory cannot be created, trusted or locked.
    #[error("{0}")]
    DataDir(crate::stores::StoreError),
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
    /// The data directory, locked until the server is dropped; `None` = memory only.
    pub data_dir: Option<Arc<DataDir>>,
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
        let mut config = self.config;
        config
            .validate()
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let metrics = telemetry::metrics_handle();
        tokio::spawn(telemetry::run_upkeep(metrics.clone()));
        let clock = Clock::system();

        // === the data directory: created and locked before any store opens a file in it ===
        let data_dir = open_data_dir(&mut config).await?;

        // === decide: model, lists, rules; warmed up before any port opens ===
        let decision = parts::Decision::build(&config, self.scorer, clock.now()).await?;
        warm_up(&decision.engine.load())?;

        // === state, Stripe, the pipeline and the services ===
        let state = parts::State::build(&config, clock.clone()).await?;
        let mut stripe =
            parts::StripeParts::build(&config, &state.enricher, &decision.lists, &clock).await?;
        let audit = parts::audit_log(&config, &state.pseudonym_key)?;
        let reviews = parts::Reviews::build(&config, &clock).await?;
        let pipeline = Pipeline::new(decision.engine.clone(), state.enricher.clone())
            .with_audit(audit.clone())
            .with_scoring(stripe.scoring.clone())
            .with_outcome_forwarder(stripe.forwarder.clone())
            .with_reviews(reviews.opener.clone());
        let desk = ReviewDesk::new(
            reviews.store.clone(),
            pipeline.clone(),
            Some(decision.lists.clone()),
            audit.clone(),
            config.reviews.clone(),
        );
        let service = EvaluationService::new(
            pipeline,
            state.idempotency.clone(),
            config.livemode,
            Duration::from_millis(config.grpc.deadline_margin_ms),
        )
        .with_evaluation_shape(config.api.evaluation_shape);
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in ["", SERVICE_NAME] {
            health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        let cpu_gate = (config.grpc.cpu_target_percent > 0)
            .then(|| Arc::new(governor::CpuAdmission::default()));
        let admin_token = parts::admin_token(&config, data_dir.as_ref()).await?;
        let router = router::grpc(
            &config,
            admin_token.as_ref(),
            service,
            (&decision, &state, &stripe),
            health_service.clone(),
            cpu_gate.clone(),
            &clock,
            &desk,
        )?;

        // === listeners ===
        let grpc_listener = bind_tcp("gRPC", config.grpc.addr).await?;
        let grpc_addr = local_addr("gRPC", &grpc_listener, config.grpc.addr)?;
        let admin_listener = bind_tcp("admin HTTP", config.admin.addr).await?;
        let admin_addr = local_addr("admin HTTP", &admin_listener, config.admin.addr)?;

        // === background tasks, stopped by the shutdown signal ===
        let (shutdown, shutdown_rx) = watch::channel(false);
        if let Some(shared) = decision.shared_lists.clone() {
            tokio::spawn(shared.follow(shutdown_rx.clone()));
        }
        tokio::spawn(state.enricher.clone().run_upkeep(Duration::from_secs(
            config.enrichment.velocity_sweep_interval_secs,
        )));
        // The admin server outlives the drain, so `/readyz` answers 503 (and `/metrics` is scraped)
        // while in-flight calls finish.
        let (admin_stop, admin_stop_rx) = watch::channel(false);
        let ready = Arc::new(AtomicBool::new(false));
        let admin_task = tokio::spawn(admin::serve(
            admin_listener,
            admin::AdminState {
                metrics,
                ready: ready.clone(),
                webhooks: stripe.webhooks.clone(),
                clock: clock.clone(),
                reviews: Some(Arc::new(admin::reviews::ReviewPage::new(
                    &config,
                    desk.clone(),
                )?)),
            },
            admin::AdminLimits::from(&config.admin),
            admin_stop_rx,
        ));
        tokio::spawn(decision.reloader.clone().on_sighup(shutdown_rx.clone()));
        tokio::spawn(desk.run_upkeep(shutdown_rx.clone()));
        if let Some(gate) = &cpu_gate {
            tokio::spawn(governor::run(
                governor::RuntimeBusy::current(),
                governor::Governor::new(f64::from(config.grpc.cpu_target_percent) / 100.0),
                gate.clone(),
                shutdown_rx.clone(),
            ));
        }
        if let Some(worker) = stripe.webhook_worker.take() {
            tokio::spawn(worker.run(shutdown_rx.clone()));
        }
        if let Some(sync) = stripe.list_sync {
            tokio::spawn(sync.run_every(
                Duration::from_secs(config.stripe.list_sync_interval_secs),
                shutdown_rx.clone(),
            ));
        }
        if config.rules.path.is_some() && config.rules.watch_interval_ms > 0 {
            tokio::spawn(decision.reloader.clone().watch(
                Duration::from_millis(config.rules.watch_interval_ms),
                shutdown_rx.clone(),
            ));
        }

        // === serve ===
        let served =
            listeners::serve(&config, router, grpc_listener, health_service, shutdown_rx).await?;
        for name in ["", SERVICE_NAME] {
            health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        ready.store(true, Ordering::Release);
        tracing::info!(
            %grpc_addr,
            %admin_addr,
            uds = ?served.uds_path,
            health = ?served.health_addr,
            tls = config.tls.cert_path.is_some(),
            mtls = config.tls.client_ca_path.is_some(),
            "riskgate serving"
        );

        Ok(Running {
            grpc_addr,
            admin_addr,
            health_addr: served.health_addr,
            uds_path: served.uds_path,
            reloader: decision.reloader,
            data_dir,
            audit,
            shutdown,
            admin_stop,
            health,
            ready,
            grpc_tasks: served.tasks,
            admin_task,
        })
    }
}

/// Opens (creates, checks, locks) `state.data_dir`, when there is one. The implicit default
/// directory in use by another riskgate (two servers started with the README's command on one
/// machine) is not an error: this server warns and keeps its state in memory (`config` is switched
/// to memory only, so no store opens a file there). A directory the user named is never given up.
async fn open_data_dir(config: &mut Config) -> Result<Option<Arc<DataDir>>, ServeError> {
    let Some(path) = config.state.data_dir().map(ToOwned::to_owned) else {
        tracing::info!("no data directory: state is kept in memory only and lost on restart");
        return Ok(None);
    };
    let dir = match tokio::task::spawn_blocking(move || DataDir::open(&path)).await? {
        Ok(dir) => dir,
        Err(crate::stores::StoreError::DataDirInUse { path, holder })
            if config.state.data_dir_is_default =>
        {
            tracing::warn!(
                path = %path.display(),
                holder = holder.as_deref().unwrap_or("unknown"),
                "the default data directory is in use by another riskgate: this server keeps its \
                 state in memory only, lost on restart (give it its own --data-dir to keep it)"
            );
            config.state.data_dir = Some(std::path::PathBuf::new());
            return Ok(None);
        }
        Err(e) => return Err(ServeError::DataDir(e)),
    };
    tracing::info!(path = %dir.path().display(), "data directory");
    Ok(Some(Arc::new(dir)))
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
