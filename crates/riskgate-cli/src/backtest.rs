//! `riskgate backtest`: a rules file replayed over labelled events, reported per rule as a table
//! or JSON (the work is `riskgate_tools::backtest`).

use std::path::PathBuf;

use crate::config;

/// Replay labelled events (NDJSON, docs/events.md) in time order through the pipeline with a
/// rules file, and report per rule: matches, match (would-block) rate, precision and recall
/// against the fraud labels, decisions, and overrides for Allow rules; plus totals.
#[derive(clap::Args)]
pub struct BacktestArgs {
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
}

pub fn run(args: BacktestArgs) -> Result<(), String> {
    let config = config::load(args.config.as_deref())?;
    let report = riskgate_tools::backtest::run(
        &args.rules,
        &args.events,
        args.lists.as_deref(),
        &config,
        true,
    )
    .map_err(|e| e.to_string())?;
    if args.json {
        serde_json::to_string_pretty(&report)
            .map(|j| println!("{j}"))
            .map_err(|e| e.to_string())
    } else {
        print!("{}", report.table());
        Ok(())
    }
}
