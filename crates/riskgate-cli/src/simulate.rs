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
    /// Expected share of fraudulent payments, split among the fraud patterns by their shares
    /// (README "Simulated traffic"). Card-not-present fraud runs well under 1 % of payments.
    #[arg(long, default_value_t = sim::DEFAULT_FRAUD_RATE, value_parser = parse_rate)]
    fraud_rate: f64,
    /// Multiplies the rate of every fraud pattern (after --fraud-rate).
    #[arg(long, default_value_t = 1.0)]
    fraud_scale: f64,
    /// Unix time of the first day [default: 2026-09-01T00:00:00Z].
    #[arg(long, default_value_t = sim::DEFAULT_START_UNIX)]
    start: i64,
    /// Output file; `-` writes standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// `--fraud-rate`: a share from 0 up to (not including) 1.
fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "`{s}`: expected a share of payments from 0 to below 1, e.g. 0.005"
        )),
    }
}

/// Generates the events, writes them, and reports the count, the patterns and the speed on
/// standard error.
pub fn run(args: SimulateArgs) -> Result<(), String> {
    let SimulateArgs {
        seed,
        days,
        customers,
        fraud_rate,
        fraud_scale,
        start,
        out,
    } = args;
    let config = sim::SimConfig {
        seed,
        days,
        start_unix: start,
        customers,
        fraud_rate,
        fraud_scale,
    };
    let started = std::time::Instant::now();
    let events = sim::simulate(&config);
    let generated = started.elapsed();
    let n = output(&out, |w| {
        sim::write_ndjson(&events, w).map_err(|e| e.to_string())
    })?;
    let fraud = events.iter().filter(|e| e.label.fraud).count();
    let per_pattern: Vec<String> = sim::Pattern::ALL[1..]
        .iter()
        .map(|p| {
            let k = events.iter().filter(|e| e.label.pattern == *p).count();
            format!("{} {k}", p.as_str())
        })
        .collect();
    eprintln!(
        "{n} events ({fraud} fraud, {:.2} %: {}) over {days} days, generated in {:.0} ms ({:.0} events/s)",
        fraud as f64 * 100.0 / n.max(1) as f64,
        per_pattern.join(", "),
        generated.as_secs_f64() * 1e3,
        n as f64 / generated.as_secs_f64().max(1e-9)
    );
    Ok(())
}
