//! `riskgate-load`: a gRPC load generator for riskgate (and the echo baseline).
//!
//! ```text
//! riskgate-load --target http://127.0.0.1:50051 --rate 2000 --duration 20 --warmup 5
//! riskgate-load --target http://127.0.0.1:50051 --concurrency 64 --duration 10
//! riskgate-load --uds /run/riskgate.sock --rate 500 --ramp 5 --json out.json
//! riskgate-load --rate 10000 --step-down-to 2500 --step-down-after 10 --duration 20   # overload
//! ```

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::{ArgGroup, Parser};
use riskgate_load::{LoadConfig, Mode, Target};

/// Load generator for riskgate's CreatePaymentEvaluation: open loop at a fixed arrival rate (latency
/// from the scheduled send time, no coordinated omission) or closed loop at a fixed concurrency.
/// Traffic comes from the simulator (or an events file), so caches, velocity and rules see realistic
/// keys. Every answer's gRPC status is checked.
#[derive(Debug, Parser)]
#[command(name = "riskgate-load", version)]
#[command(group(ArgGroup::new("pacing").required(true).args(["rate", "concurrency"])))]
struct Cli {
    /// gRPC server to load, as http://HOST:PORT (plaintext HTTP/2).
    #[arg(long, default_value = "http://127.0.0.1:50051", conflicts_with = "uds")]
    target: String,
    /// Connect to this Unix domain socket instead of --target.
    #[arg(long, value_name = "PATH")]
    uds: Option<PathBuf>,
    /// Open loop: calls per second on a fixed schedule.
    #[arg(long, value_name = "PER_SEC")]
    rate: Option<f64>,
    /// Open loop: ramp the rate up linearly from 0 over this many seconds first (not measured).
    #[arg(long, value_name = "SECS", default_value_t = 0.0, requires = "rate")]
    ramp: f64,
    /// Closed loop: this many callers, each sending when its previous call is answered (after the
    /// RetryInfo delay when it was refused with RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// HTTP/2 connections to spread the calls over.
    #[arg(long, value_name = "N", default_value_t = 4)]
    connections: usize,
    /// Measured window, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured warm-up before the window (after any ramp), seconds.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    warmup: f64,
    /// Deadline sent with every call (grpc-timeout), milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    timeout_ms: u64,
    /// Open loop: change the rate to this many calls per second during the window (the overload
    /// scenario: 2x the maximum, then down to half of it).
    #[arg(long, value_name = "PER_SEC", requires_all = ["rate", "step_down_after"])]
    step_down_to: Option<f64>,
    /// Open loop: when the rate changes, whole seconds into the measured window.
    #[arg(long, value_name = "SECS", requires = "step_down_to")]
    step_down_after: Option<u64>,
    /// The p99 an admitted call should keep; a second of the timeline above it has not recovered.
    #[arg(long, value_name = "MS", default_value_t = 50)]
    p99_budget_ms: u64,
    /// Open loop: let the pacing thread's sleeps end up to this many µs late (Linux timer slack;
    /// the system's is 50), so that one wake-up sends the calls due by then together. Calls leave
    /// up to that much late, and their latency (from the scheduled time) includes it; a generator
    /// on one core offers about a third more calls per second at 200 µs.
    #[arg(long, value_name = "US", conflicts_with = "concurrency")]
    pacing_slack_us: Option<u64>,
    /// Open loop: at most this many calls in flight; slots beyond are not sent and invalidate the run.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    max_in_flight: u64,
    /// Traffic: labelled events (docs/events.md) instead of simulating.
    #[arg(long, value_name = "FILE.ndjson")]
    events: Option<PathBuf>,
    /// Traffic: simulator seed.
    #[arg(long, default_value_t = 1, conflicts_with = "events")]
    seed: u64,
    /// Traffic: simulated days (about 300 payments a day).
    #[arg(long, default_value_t = 30, conflicts_with = "events")]
    days: u32,
    /// Generator worker threads (default: the cores it may run on).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Also write the summary as JSON to this file ("-" for stdout instead of the human summary).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(valid) => {
            if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            }
        }
        Err(e) => {
            eprintln!("riskgate-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn secs(name: &str, value: f64) -> Result<Duration, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!(
            "{name} must be a non-negative number of seconds, not {value}"
        ))
    }
}

/// Runs the load; `Ok(false)` when the run is invalid (the generator was the limit).
fn run(cli: Cli) -> Result<bool, String> {
    let mode = match (cli.rate, cli.concurrency) {
        (Some(rate), None) if rate.is_finite() && rate > 0.0 => Mode::Open {
            rate,
            ramp: secs("--ramp", cli.ramp)?,
        },
        (Some(rate), None) => return Err(format!("--rate must be a positive number, not {rate}")),
        (None, Some(0)) => return Err("--concurrency must be at least 1".into()),
        (None, Some(concurrency)) => Mode::Closed { concurrency },
        _ => return Err("give exactly one of --rate and --concurrency".into()),
    };
    if cli.connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    let duration = secs("--duration", cli.duration)?;
    if duration.is_zero() {
        return Err("--duration must be positive".into());
    }
    let requests = match &cli.events {
        Some(path) => riskgate_load::from_events_file(path).map_err(|e| e.to_string())?,
        None => riskgate_load::simulated(cli.seed, cli.days),
    };
    if requests.is_empty() {
        return Err("the simulator produced no requests: raise --days".into());
    }
    let config = LoadConfig {
        target: match cli.uds {
            Some(path) => Target::Uds(path),
            None => Target::Tcp(cli.target),
        },
        mode,
        connections: cli.connections,
        warmup: secs("--warmup", cli.warmup)?,
        duration,
        timeout: Duration::from_millis(cli.timeout_ms.max(1)),
        max_in_flight: cli.max_in_flight.max(1),
        requests: Arc::new(requests),
        progress: !cli.quiet,
        step_down: match (cli.step_down_to, cli.step_down_after) {
            (Some(rate), Some(after)) => Some(riskgate_load::StepDown {
                after: Duration::from_secs(after),
                rate,
            }),
            _ => None,
        },
        p99_budget: Duration::from_millis(cli.p99_budget_ms.max(1)),
        pacing_slack: cli.pacing_slack_us.map(Duration::from_micros),
    };

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let summary = runtime
        .block_on(riskgate_load::run(config))
        .map_err(|e| e.to_string())?;

    let json = serde_json::to_string_pretty(&summary).expect("summaries serialize");
    match cli.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => println!("{json}"),
        Some(p) => {
            std::fs::write(p, format!("{json}\n"))
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            print!("{}", summary.human());
        }
        None => print!("{}", summary.human()),
    }
    Ok(summary.valid)
}
