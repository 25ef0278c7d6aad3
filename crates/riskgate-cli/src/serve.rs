//! `riskgate serve`: the gateway itself, configured from defaults, a file, the environment and
//! these flags, until SIGTERM or SIGINT.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use riskgate::{
    config::{Config, Overrides, RedisMode, scoring::ScoringMode},
    server::Server,
};

use crate::{logging, runtime};

/// The log target of this command's own lines (`shutdown requested`, `stopped`): `riskgate`, as
/// when they were logged from main.rs, not this module's path; log filters may name it.
const LOG_TARGET: &str = "riskgate";

/// Run the gateway: gRPC API, health, reflection, and the admin HTTP server (/metrics, /healthz,
/// /readyz). Stops gracefully on SIGTERM or SIGINT.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (see examples/riskgate.toml). Without it, built-in defaults apply.
    #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051]; overrides grpc.addr.
    #[arg(long, value_name = "ADDR")]
    grpc_addr: Option<SocketAddr>,
    /// Admin HTTP listen address [default: 127.0.0.1:9090]; overrides admin.addr.
    #[arg(long, value_name = "ADDR")]
    admin_addr: Option<SocketAddr>,
    /// Also serve gRPC on this Unix domain socket; overrides grpc.uds_path.
    #[arg(long, value_name = "PATH")]
    uds: Option<PathBuf>,
    /// PEM certificate chain: serve gRPC over TLS; overrides tls.cert_path.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert; overrides tls.key_path.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA: require client certificates it signed (mTLS); overrides tls.client_ca_path.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Radar rules file (see examples/rules.txt); overrides rules.path. Reloaded on SIGHUP, on
    /// change, or by the ReloadRules RPC.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// File holding the token for value-list and admin RPCs (`authorization: Bearer TOKEN`);
    /// overrides admin_token(_file) and RISKGATE_ADMIN_TOKEN. Tokens are never flag values
    /// (the process list would show them). Without any, one is generated into the data
    /// directory on first run.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// XGBoost JSON or LightGBM text model to score with; overrides model.path.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Who scores: local, stripe, stripe_with_fallback or shadow; overrides scoring.mode.
    /// Stripe modes need STRIPE_SECRET_KEY (or stripe.secret_key_file).
    #[arg(long, value_name = "MODE", value_parser = parse_scoring_mode)]
    scoring_mode: Option<ScoringMode>,
    /// Stripe API base URL (e.g. a `riskgate fake-stripe` at http://127.0.0.1:12111);
    /// overrides stripe.base_url.
    #[arg(long, value_name = "URL")]
    stripe_base_url: Option<String>,
    /// Keep shared state (velocity, sessions, idempotency) on this Redis, e.g.
    /// redis://127.0.0.1:6379, or on a Redis Cluster given comma-separated seed nodes;
    /// overrides redis.url.
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// Keep value lists, idempotent answers and other state that must survive a restart in
    /// this directory (created 0700, locked); overrides state.data_dir. Default:
    /// $RISKGATE_DATA_DIR, else $XDG_STATE_HOME/riskgate, else ~/.local/state/riskgate.
    #[arg(long, value_name = "DIR", conflicts_with = "in_memory")]
    data_dir: Option<PathBuf>,
    /// Keep all state in memory only: everything is lost on restart (state.data_dir = "").
    #[arg(long)]
    in_memory: bool,
    /// auto (detect), standalone or cluster; overrides redis.mode.
    #[arg(long, value_name = "MODE", value_parser = parse_redis_mode)]
    redis_mode: Option<RedisMode>,
}

/// `--redis-mode`.
fn parse_redis_mode(s: &str) -> Result<RedisMode, String> {
    RedisMode::parse(s).ok_or_else(|| format!("`{s}`: expected auto, standalone or cluster"))
}

/// `--scoring-mode`: the configuration's names, with `-` accepted for `_`.
fn parse_scoring_mode(s: &str) -> Result<ScoringMode, String> {
    ScoringMode::parse(&s.replace('-', "_"))
        .ok_or_else(|| format!("`{s}`: expected local, stripe, stripe_with_fallback or shadow"))
}

/// Loads the configuration (the flags override the file and the environment), installs the log
/// subscriber, serves until a signal, then shuts down within the configured grace period.
pub fn run(args: ServeArgs) -> Result<(), String> {
    let ServeArgs {
        config,
        grpc_addr,
        admin_addr,
        uds,
        tls_cert,
        tls_key,
        tls_client_ca,
        rules,
        admin_token_file,
        model,
        scoring_mode,
        stripe_base_url,
        redis_url,
        data_dir,
        in_memory,
        redis_mode,
    } = args;
    let overrides = Overrides {
        grpc_addr,
        admin_addr,
        uds_path: uds,
        tls_cert,
        tls_key,
        tls_client_ca,
        rules_path: rules,
        admin_token_file,
        model_path: model,
        scoring_mode,
        stripe_base_url,
        redis_url,
        data_dir: if in_memory {
            Some(PathBuf::new())
        } else {
            data_dir
        },
        redis_mode,
    };
    let config =
        Config::load(config.as_deref(), std::env::vars(), overrides).map_err(|e| e.to_string())?;
    if config.state.data_dir.is_none() {
        return Err(format!(
            "no data directory: neither {} nor XDG_STATE_HOME nor HOME is set; pass --data-dir \
             DIR (or set state.data_dir), or --in-memory to keep state in memory only",
            riskgate::config::DATA_DIR_ENV
        ));
    }
    logging::init(&config.log);
    let grace = Duration::from_secs(config.shutdown.grace_period_secs);
    let threads = config.runtime.threads();
    riskgate::server::runtime(threads)
        .map_err(|e| format!("cannot start the runtime: {e}"))?
        .block_on(async move {
            tracing::info!(target: LOG_TARGET, worker_threads = threads, "runtime started");
            let running = Server::new(config)
                .start()
                .await
                .map_err(|e| e.to_string())?;
            let signal = runtime::shutdown_signal().await?;
            tracing::info!(target: LOG_TARGET, signal, "shutdown requested");
            running.shutdown(grace).await.map_err(|e| e.to_string())?;
            tracing::info!(target: LOG_TARGET, "stopped");
            Ok(())
        })
}
