//! The `riskgate` command: serve the gateway, check configuration, send an evaluation.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use clap::{Parser, Subcommand};
use riskgate::{
    config::{Config, Overrides},
    proto::v1::{
        CreatePaymentEvaluationRequest,
        payment_evaluation_service_client::PaymentEvaluationServiceClient,
    },
    server::Server,
    telemetry,
};
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

/// riskgate — pre-authorization fraud gateway for card payments.
///
/// Your payment orchestrator calls riskgate over gRPC before sending a payment for authorization;
/// riskgate scores it and answers continue, review, request 3D Secure or block.
///
/// Start with `riskgate serve` (embedded defaults: local model, in-memory state) and send
/// `riskgate eval examples/evaluation.json`.
#[derive(Parser)]
#[command(name = "riskgate", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: gRPC API, health, reflection, and the admin HTTP server (/metrics, /healthz,
    /// /readyz). Stops gracefully on SIGTERM or SIGINT.
    Serve {
        /// TOML configuration file (see examples/riskgate.toml). Without it, built-in defaults apply.
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// gRPC listen address [default: 127.0.0.1:50051]; overrides grpc.addr.
        #[arg(long, value_name = "ADDR")]
        grpc_addr: Option<std::net::SocketAddr>,
        /// Admin HTTP listen address [default: 127.0.0.1:9090]; overrides admin.addr.
        #[arg(long, value_name = "ADDR")]
        admin_addr: Option<std::net::SocketAddr>,
        /// Also serve gRPC on this Unix domain socket; overrides grpc.uds_path.
        #[arg(long, value_name = "PATH")]
        uds: Option<PathBuf>,
        /// Keep shared state (velocity, sessions, idempotency) on this Redis, e.g.
        /// redis://127.0.0.1:6379; overrides redis.url.
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
    },
    /// Check or show configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Send one evaluation, written as JSON in Stripe's shape (see examples/evaluation.json), and
    /// print the answer as JSON. Exits 1 when the call fails.
    Eval {
        /// Request file; `-` reads standard input.
        file: PathBuf,
        /// Server address.
        #[arg(long, default_value = "http://127.0.0.1:50051", value_name = "URL")]
        addr: String,
        /// Connect over this Unix domain socket instead of --addr.
        #[arg(long, value_name = "PATH", conflicts_with = "addr")]
        uds: Option<PathBuf>,
        /// Deadline sent as grpc-timeout.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        timeout_ms: u64,
        /// Ask for the evaluated attributes in the answer (adds "attributes" to expand).
        #[arg(long)]
        attributes: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file; exits 0 when it is valid, 1 with the error otherwise.
    Check { file: PathBuf },
    /// Print the effective configuration (defaults ← FILE ← RISKGATE_* environment) as TOML.
    Show {
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            config,
            grpc_addr,
            admin_addr,
            uds,
            redis_url,
        } => serve(
            config.as_deref(),
            Overrides {
                grpc_addr,
                admin_addr,
                uds_path: uds,
                redis_url,
            },
        ),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => match Config::from_file(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
        Command::Config {
            command: ConfigCommand::Show { config },
        } => Config::load(config.as_deref(), std::env::vars(), Overrides::default())
            .map_err(|e| e.to_string())
            .and_then(|c| toml::to_string(&c).map_err(|e| e.to_string()))
            .map(|text| print!("{text}")),
        Command::Eval {
            file,
            addr,
            uds,
            timeout_ms,
            attributes,
        } => eval(
            &file,
            &addr,
            uds.as_deref(),
            Duration::from_millis(timeout_ms),
            attributes,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("riskgate: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

fn serve(file: Option<&Path>, overrides: Overrides) -> Result<(), String> {
    let config = Config::load(file, std::env::vars(), overrides).map_err(|e| e.to_string())?;
    telemetry::init_logging(&config.log);
    let grace = Duration::from_secs(config.shutdown.grace_period_secs);
    runtime()?.block_on(async move {
        let running = Server::new(config)
            .start()
            .await
            .map_err(|e| e.to_string())?;
        let signal = shutdown_signal().await?;
        tracing::info!(signal, "shutdown requested");
        running.shutdown(grace).await.map_err(|e| e.to_string())?;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() -> Result<&'static str, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

fn eval(
    file: &Path,
    addr: &str,
    uds: Option<&Path>,
    timeout: Duration,
    attributes: bool,
) -> Result<(), String> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
    };
    let mut request: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    if attributes && !request.expand.iter().any(|e| e == "attributes") {
        request.expand.push("attributes".into());
    }
    runtime()?.block_on(async move {
        let channel = connect(addr, uds).await?;
        let mut client = PaymentEvaluationServiceClient::new(channel);
        let mut call = tonic::Request::new(request);
        call.set_timeout(timeout);
        match client.create_payment_evaluation(call).await {
            Ok(response) => {
                let json =
                    serde_json::to_string_pretty(response.get_ref()).map_err(|e| e.to_string())?;
                println!("{json}");
                Ok(())
            }
            Err(status) => {
                let mut message = format!("{:?}: {}", status.code(), status.message());
                if let Some(bad) = status.get_error_details().bad_request() {
                    for v in &bad.field_violations {
                        message.push_str(&format!("\n  {}: {}", v.field, v.description));
                    }
                }
                Err(message)
            }
        }
    })
}

async fn connect(addr: &str, uds: Option<&Path>) -> Result<Channel, String> {
    match uds {
        None => Endpoint::from_shared(addr.to_owned())
            .map_err(|e| format!("bad address {addr}: {e}"))?
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}")),
        Some(path) => riskgate::server::uds_channel(path)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", path.display())),
    }
}
