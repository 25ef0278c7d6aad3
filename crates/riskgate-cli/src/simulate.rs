//! `riskgate simulate`: seeded, labelled payment traffic as NDJSON (the work is
//! `riskgate_tools::sim`).

use std::path::PathBuf;

use riskgate_tools::sim;

use crate::output::output;

/// Generate labelled, realistic payment traffic (legitimate customers and fraud patterns) as
/// NDJSON in the format of docs/events.md. Seeded: the same arguments give the same file.
#[derive(clap::Args)]
pub struct SimulateArgs {
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
    #[arg(long, default_value_t = sim::DEFAULT_START_UNIX)]
    start: i64,
    /// Output file; `-` writes standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Generates the events, writes them, and reports the count and speed on standard error.
pub fn run(args: SimulateArgs) -> Result<(), String> {
    let SimulateArgs {
        seed,
        days,
        customers,
        fraud_scale,
        start,
        out,
    } = args;
    let config = sim::SimConfig {
        seed,
        days,
        start_unix: start,
        customers,
        fraud_scale,
    };
    let started = std::time::Instant::now();
    let events = sim::simulate(&config);
    let generated = started.elapsed();
    let n = output(&out, |w| {
        sim::write_ndjson(&events, w).map_err(|e| e.to_string())
    })?;
    let fraud = events.iter().filter(|e| e.label.fraud).count();
    eprintln!(
        "{n} events ({fraud} fraud) over {days} days, generated in {:.0} ms ({:.0} events/s)",
        generated.as_secs_f64() * 1e3,
        n as f64 / generated.as_secs_f64().max(1e-9)
    );
    Ok(())
}
