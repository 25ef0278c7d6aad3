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

/// mimalloc instead of glibc's malloc: the request path makes dozens of small, short-lived
/// allocations (decoded strings, the answer), which a thread-caching allocator serves faster.
/// Measured in BENCHMARKS.md's tuning log.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// Token for value-list and admin RPCs (`authorization: Bearer TOKEN`); overrides
        /// admin_token.
        #[arg(
            long,
            env = "RISKGATE_ADMIN_TOKEN",
            value_name = "TOKEN",
            hide_env_values = true
        )]
        admin_token: Option<String>,
        /// XGBoost JSON or LightGBM text model to score with; overrides model.path.
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Who scores: local, stripe, stripe_with_fallback or shadow; overrides scoring.mode.
        /// Stripe modes need STRIPE_SECRET_KEY (or stripe.secret_key_file).
        #[arg(long, value_name = "MODE", value_parser = parse_scoring_mode)]
        scoring_mode: Option<riskgate::config::scoring::ScoringMode>,
        /// Stripe API base URL (e.g. a `riskgate fake-stripe` at http://127.0.0.1:12111);
        /// overrides stripe.base_url.
        #[arg(long, value_name = "URL")]
        stripe_base_url: Option<String>,
        /// Keep shared state (velocity, sessions, idempotency) on this Redis, e.g.
        /// redis://127.0.0.1:6379; overrides redis.url.
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
    },
    /// Run a fake Stripe (Payment Evaluations, their outcome/event reports, Radar value lists) for
    /// demos and tests: it checks form encoding, basic auth and headers like Stripe, and every
    /// request against Stripe's published API description (the spec fixture); answers in the
    /// shape of the request's Stripe-Version after --delay-ms, or with a fault, and prints one line
    /// per request.
    FakeStripe {
        #[arg(long, default_value = "127.0.0.1:12111")]
        addr: std::net::SocketAddr,
        /// The secret key clients must use.
        #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// Delay before each answer, milliseconds.
        #[arg(long, default_value_t = 20)]
        delay_ms: u64,
        /// Score answered (0–100, or -1: not assessed) when the request has no
        /// metadata[fake_score].
        #[arg(long, default_value_t = 12.0, allow_negative_numbers = true)]
        score: f64,
        /// The account is in Stripe's private preview of Payment Evaluations: `.preview` versions
        /// accept inline device data and card facts.
        #[arg(long)]
        private_preview: bool,
        /// none, 500, 429, 409, 503-no-retry, 500-retry, malformed, reset or stall.
        #[arg(long, default_value = "none")]
        fault: String,
        /// A Radar value list to serve, `ALIAS=ITEM_TYPE:VALUE,VALUE…` (repeatable), e.g.
        /// `blocked_emails=email:fraud@example.com`.
        #[arg(long = "value-list", value_name = "ALIAS=TYPE:VALUES")]
        value_lists: Vec<String>,
    },
    /// Replay labelled events (NDJSON, docs/events.md) in time order through the pipeline with a
    /// rules file, and report per rule: matches, match (would-block) rate, precision and recall
    /// against the fraud labels, decisions, and overrides for Allow rules; plus totals.
    Backtest {
        /// The rules file to try.
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        /// Labelled events, one JSON object per line.
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// A value lists journal to read lists from (a private copy is used; lists are empty
        /// otherwise).
        #[arg(long, value_name = "FILE")]
        lists: Option<PathBuf>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Configuration for risk thresholds and FX rates.
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check, explain and document Radar rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Work with fraud models: the feature schema, checking a model file, computing features.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Generate labelled, realistic payment traffic (legitimate customers and fraud patterns) as
    /// NDJSON in the format of docs/events.md. Seeded: the same arguments give the same file.
    Simulate {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Size of the legitimate customer base.
        #[arg(long, default_value_t = 3000)]
        customers: usize,
        /// Multiplies the rate of every fraud pattern.
        #[arg(long, default_value_t = 1.0)]
        fraud_scale: f64,
        /// Unix time of the first day [default: 2026-09-01T00:00:00Z].
        #[arg(long, default_value_t = riskgate_tools::sim::DEFAULT_START_UNIX)]
        start: i64,
        /// Output file; `-` writes standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
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
        #[command(flatten)]
        target: Target,
        /// Deadline sent as grpc-timeout.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        timeout_ms: u64,
        /// Ask for the evaluated attributes in the answer (adds "attributes" to expand).
        #[arg(long)]
        attributes: bool,
    },
    /// Ask a running gateway's gRPC health service; exits 0 when SERVING, 1 otherwise. Made for
    /// container health checks (the runtime image has no shell or curl).
    Probe {
        #[command(flatten)]
        target: Target,
        /// The health entry to ask about ("" is the whole server).
        #[arg(long, default_value = "")]
        service: String,
        /// Give up after this long.
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        timeout_ms: u64,
    },
}

/// Where a client command connects, and how.
#[derive(clap::Args)]
struct Target {
    /// Server address: `http://HOST:PORT`, or `https://HOST:PORT` with --tls-ca.
    #[arg(long, default_value = "http://127.0.0.1:50051", value_name = "URL")]
    addr: String,
    /// Connect over this Unix domain socket instead of --addr.
    #[arg(long, value_name = "PATH", conflicts_with = "addr")]
    uds: Option<PathBuf>,
    /// PEM CA that signed the server's certificate: connect with TLS.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// Client certificate for mTLS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key", requires = "tls_ca")]
    tls_cert: Option<PathBuf>,
    /// Client key for mTLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name to check the server certificate against [default: the host of --addr].
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// Bearer token to send (`authorization: Bearer …`).
    #[arg(
        long,
        env = "RISKGATE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check a rules file: exits 0 when every rule compiles, 1 with `FILE:line:column: message`
    /// (and the line with a caret) for each mistake otherwise.
    Check { file: PathBuf },
    /// Evaluate a request (JSON, as `riskgate eval` reads it) against a rules file, offline, and
    /// show which rules match and why each clause was true or false.
    Explain {
        file: PathBuf,
        request: PathBuf,
        /// Configuration for risk thresholds and FX rates.
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the attribute table rules can use, as Markdown (docs/attributes.md).
    Attributes,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Print the feature names a model must be trained on, in order, one per line (the schema
    /// version goes to standard error).
    Schema,
    /// Print one raw margin (log-odds) per row of a CSV whose header names features (empty cell =
    /// missing), as the model scores it; compare with the library's own raw predictions before
    /// deploying a model.
    Predict {
        /// XGBoost JSON or LightGBM text model.
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// Model format: auto, xgboost_json or lightgbm_text.
        #[arg(long, default_value = "auto", value_parser = parse_format)]
        format: riskgate_core::model::Format,
        /// The rows; `-` reads standard input.
        rows: PathBuf,
    },
    /// Compute the training table of a labelled NDJSON event file (docs/events.md): each event,
    /// in time order, through the same validation, attribute and feature code that serves. Writes
    /// CSV: the schema's features, then occurred_at, label and pattern.
    Features {
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// Output file; `-` writes standard output.
        #[arg(long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
    },
}

fn parse_format(s: &str) -> Result<riskgate_core::model::Format, String> {
    use riskgate_core::model::Format;
    match s {
        "auto" => Ok(Format::Auto),
        "xgboost_json" | "xgboost" => Ok(Format::XgboostJson),
        "lightgbm_text" | "lightgbm" => Ok(Format::LightgbmText),
        _ => Err(format!(
            "`{s}`: expected auto, xgboost_json or lightgbm_text"
        )),
    }
}

fn parse_scoring_mode(s: &str) -> Result<riskgate::config::scoring::ScoringMode, String> {
    riskgate::config::scoring::ScoringMode::parse(&s.replace('-', "_"))
        .ok_or_else(|| format!("`{s}`: expected local, stripe, stripe_with_fallback or shadow"))
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
            tls_cert,
            tls_key,
            tls_client_ca,
            rules,
            admin_token,
            model,
            scoring_mode,
            stripe_base_url,
            redis_url,
        } => serve(
            config.as_deref(),
            Overrides {
                grpc_addr,
                admin_addr,
                uds_path: uds,
                tls_cert,
                tls_key,
                tls_client_ca,
                rules_path: rules,
                admin_token: admin_token.map(riskgate::config::Secret::new),
                model_path: model,
                scoring_mode,
                stripe_base_url,
                redis_url,
            },
        ),
        Command::FakeStripe {
            addr,
            secret_key,
            delay_ms,
            score,
            private_preview,
            fault,
            value_lists,
        } => fake_stripe(
            addr,
            &secret_key,
            delay_ms,
            score,
            private_preview,
            &fault,
            &value_lists,
        ),
        Command::Backtest {
            rules,
            events,
            lists,
            json,
            config,
        } => Config::load(config.as_deref(), std::env::vars(), Overrides::default())
            .map_err(|e| e.to_string())
            .and_then(|c| {
                riskgate_tools::backtest::run(&rules, &events, lists.as_deref(), &c, true)
            })
            .and_then(|report| {
                if json {
                    serde_json::to_string_pretty(&report)
                        .map(|j| println!("{j}"))
                        .map_err(|e| e.to_string())
                } else {
                    print!("{}", report.table());
                    Ok(())
                }
            }),
        Command::Rules { command } => match command {
            RulesCommand::Check { file } => {
                riskgate_tools::rules::rules_check(&file).map(|m| println!("{m}"))
            }
            RulesCommand::Explain {
                file,
                request,
                config,
            } => Config::load(config.as_deref(), std::env::vars(), Overrides::default())
                .map_err(|e| e.to_string())
                .and_then(|c| riskgate_tools::rules::rules_explain(&file, &request, &c))
                .map(|m| print!("{m}")),
            RulesCommand::Attributes => {
                print!("{}", riskgate_tools::rules::rules_attributes());
                Ok(())
            }
        },
        Command::Model { command } => model_command(command),
        Command::Simulate {
            seed,
            days,
            customers,
            fraud_scale,
            start,
            out,
        } => {
            let config = riskgate_tools::sim::SimConfig {
                seed,
                days,
                start_unix: start,
                customers,
                fraud_scale,
            };
            let started = std::time::Instant::now();
            let events = riskgate_tools::sim::simulate(&config);
            let generated = started.elapsed();
            output(&out, |w| {
                riskgate_tools::sim::write_ndjson(&events, w).map_err(|e| e.to_string())
            })
            .map(|n| {
                let fraud = events.iter().filter(|e| e.label.fraud).count();
                eprintln!(
                    "{n} events ({fraud} fraud) over {days} days, generated in {:.0} ms ({:.0} events/s)",
                    generated.as_secs_f64() * 1e3,
                    n as f64 / generated.as_secs_f64().max(1e-9)
                );
            })
        }
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
            target,
            timeout_ms,
            attributes,
        } => eval(
            &file,
            &target,
            Duration::from_millis(timeout_ms),
            attributes,
        ),
        Command::Probe {
            target,
            service,
            timeout_ms,
        } => probe(&target, service, Duration::from_millis(timeout_ms)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("riskgate: {message}");
            ExitCode::FAILURE
        }
    }
}

fn model_command(command: ModelCommand) -> Result<(), String> {
    use std::io::Write;
    match command {
        ModelCommand::Schema => {
            let mut out = std::io::stdout().lock();
            for name in riskgate_core::model::features::NAMES {
                writeln!(out, "{name}").map_err(|e| e.to_string())?;
            }
            // The version goes to standard error: standard output stays one name a line.
            eprintln!(
                "schema {} ({} features)",
                riskgate_core::model::features::SCHEMA_VERSION,
                riskgate_core::model::features::COUNT
            );
            Ok(())
        }
        ModelCommand::Predict {
            model,
            format,
            rows,
        } => {
            let text = std::fs::read_to_string(&model)
                .map_err(|e| format!("cannot read {}: {e}", model.display()))?;
            let model = riskgate_core::model::GbdtModel::parse(&text, format)
                .map_err(|e| format!("{}: {e}", model.display()))?;
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            let result = if rows == Path::new("-") {
                riskgate_tools::predict::predict_csv(&model, std::io::stdin().lock(), out)
            } else {
                let file = std::fs::File::open(&rows)
                    .map_err(|e| format!("cannot read {}: {e}", rows.display()))?;
                riskgate_tools::predict::predict_csv(&model, std::io::BufReader::new(file), out)
            };
            result
                .map(|_| ())
                .map_err(|e| format!("{}: {e}", rows.display()))
        }
        ModelCommand::Features { events, out } => {
            let file = std::fs::File::open(&events)
                .map_err(|e| format!("cannot read {}: {e}", events.display()))?;
            let fx = riskgate_core::reference::FxTable::default();
            let enrichment = riskgate::config::EnrichmentConfig::default();
            output(&out, |w| {
                riskgate_tools::features::features_csv(
                    std::io::BufReader::new(file),
                    w,
                    &fx,
                    &enrichment,
                )
                .map_err(|e| format!("{}: {e}", events.display()))
            })
            .map(|_| ())
        }
    }
}

/// Runs `write` on a buffered `path` (`-` = standard output) and flushes it.
fn output<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<T, String>,
) -> Result<T, String> {
    use std::io::Write;
    let mut w: Box<dyn Write> = if path == Path::new("-") {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ))
    };
    let value = write(&mut w)?;
    w.flush()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(value)
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

fn fake_stripe(
    addr: std::net::SocketAddr,
    secret_key: &str,
    delay_ms: u64,
    score: f64,
    private_preview: bool,
    fault: &str,
    value_lists: &[String],
) -> Result<(), String> {
    use riskgate_testkit::fake_stripe::{FakeList, FakeStripe, Fault};
    let fake = FakeStripe::new(secret_key);
    fake.set_log_requests(true);
    let mut lists = Vec::new();
    for (n, spec) in value_lists.iter().enumerate() {
        let parsed = spec
            .split_once('=')
            .and_then(|(alias, rest)| rest.split_once(':').map(|(t, v)| (alias, t, v)));
        let Some((alias, item_type, values)) = parsed else {
            return Err(format!(
                "--value-list {spec:?}: expected ALIAS=ITEM_TYPE:VALUE,VALUE…"
            ));
        };
        let values: Vec<&str> = values.split(',').filter(|v| !v.is_empty()).collect();
        lists.push(FakeList::new(
            &format!("rsl_fake{n}"),
            alias,
            item_type,
            &values,
        ));
    }
    fake.set_value_lists(lists);
    fake.set_delay(Duration::from_millis(delay_ms));
    if !(0.0..=100.0).contains(&score) && score != -1.0 {
        return Err(format!(
            "--score {score}: must be 0–100, or -1 (not assessed)"
        ));
    }
    fake.set_score(score);
    fake.set_private_preview(private_preview);
    fake.set_fault(Fault::parse(fault).ok_or_else(|| {
        format!(
            "--fault {fault:?}: expected none, an HTTP status (500, 429, 409, …) optionally \
             followed by -retry or -no-retry, malformed, reset or stall"
        )
    })?);
    runtime()?.block_on(async move {
        let (local, _task) = fake
            .bind(addr, None)
            .await
            .map_err(|e| format!("cannot bind {addr}: {e}"))?;
        eprintln!("fake Stripe listening on http://{local} (fault {fault}, delay {delay_ms} ms)");
        let signal = shutdown_signal().await?;
        eprintln!("{signal}: stopping");
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

fn eval(file: &Path, target: &Target, timeout: Duration, attributes: bool) -> Result<(), String> {
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
        let mut client = PaymentEvaluationServiceClient::new(connect(target).await?);
        let mut call = tonic::Request::new(request);
        call.set_timeout(timeout);
        authorize(&mut call, target)?;
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

fn probe(target: &Target, service: String, timeout: Duration) -> Result<(), String> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    runtime()?.block_on(async move {
        let check = async {
            let mut client = HealthClient::new(connect(target).await?);
            let reply = client
                .check(HealthCheckRequest {
                    service: service.clone(),
                })
                .await
                .map_err(|s| format!("health check failed: {:?}: {}", s.code(), s.message()))?;
            match reply.into_inner().status() {
                ServingStatus::Serving => {
                    println!("SERVING");
                    Ok(())
                }
                other => Err(format!("{service:?} is {}", other.as_str_name())),
            }
        };
        tokio::time::timeout(timeout, check)
            .await
            .map_err(|_| format!("no answer within {timeout:?}"))?
    })
}

fn authorize<T>(call: &mut tonic::Request<T>, target: &Target) -> Result<(), String> {
    if let Some(token) = &target.token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the token has characters a header cannot carry")?;
        call.metadata_mut().insert("authorization", value);
    }
    Ok(())
}

async fn connect(target: &Target) -> Result<Channel, String> {
    let addr = target.addr.as_str();
    if let Some(path) = &target.uds {
        return riskgate::server::uds_channel(path)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", path.display()));
    }
    if let Some(ca) = &target.tls_ca {
        let host_port = addr
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
        let tls = riskgate::server::tls::ClientTls {
            ca: ca.clone(),
            cert: target.tls_cert.clone(),
            key: target.tls_key.clone(),
        };
        let name = target
            .server_name
            .as_deref()
            .unwrap_or(host.trim_matches(['[', ']']));
        return riskgate::server::tls::client_channel(host_port, name, &tls)
            .await
            .map_err(|e| format!("cannot connect to {addr} with TLS: {e}"));
    }
    Endpoint::from_shared(addr.to_owned())
        .map_err(|e| format!("bad address {addr}: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))
}
