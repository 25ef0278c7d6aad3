//! `riskgate model schema|predict|features|evaluate`: the feature schema a model must be trained
//! on, a model's raw margins over a CSV, the training table of a labelled event file, and the
//! gateway's decision quality on one (the work is `riskgate_tools::{predict, features, evaluate}`).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use clap::Subcommand;
use riskgate_core::model::{Format, GbdtModel, features};

use crate::output::output;

/// Work with fraud models: the feature schema, checking a model file, computing features.
#[derive(clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
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
        format: Format,
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
    /// Measure the whole gateway's decisions (model, rules, enrichment with outcome memory) on
    /// labelled NDJSON events (docs/events.md), replayed in time order with each outcome counted at
    /// its own time: per pattern, the share blocked, reviewed, sent to 3D Secure and let through;
    /// ROC-AUC and PR-AUC of the model; the issue-15 targets. Uses the configuration's model and
    /// rules file (the embedded defaults without one).
    Evaluate {
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        /// Print the result as JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// A model file to evaluate instead of the configured one (XGBoost JSON or LightGBM text).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// A rules file to decide with instead of the configured one (or the default rules).
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Replay the first DAYS without counting them, so the gateway has met the customers
        /// (steady state rather than a cold start).
        #[arg(long, value_name = "DAYS", default_value_t = 0)]
        warm_up_days: u32,
        /// Configuration: model, rules file, risk thresholds, actions, FX rates, enrichment.
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// `--format`: the model file formats, with the short names `xgboost` and `lightgbm`.
fn parse_format(s: &str) -> Result<Format, String> {
    match s {
        "auto" => Ok(Format::Auto),
        "xgboost_json" | "xgboost" => Ok(Format::XgboostJson),
        "lightgbm_text" | "lightgbm" => Ok(Format::LightgbmText),
        _ => Err(format!(
            "`{s}`: expected auto, xgboost_json or lightgbm_text"
        )),
    }
}

pub fn run(args: ModelArgs) -> Result<(), String> {
    match args.command {
        ModelCommand::Schema => schema(),
        ModelCommand::Predict {
            model,
            format,
            rows,
        } => predict(&model, format, &rows),
        ModelCommand::Features { events, out } => features(&events, &out),
        ModelCommand::Evaluate {
            events,
            json,
            model,
            rules,
            warm_up_days,
            config,
        } => evaluate(&events, json, model, rules, warm_up_days, config.as_deref()),
    }
}

fn schema() -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    for name in features::NAMES {
        writeln!(out, "{name}").map_err(|e| e.to_string())?;
    }
    // The version goes to standard error: standard output stays one name a line.
    eprintln!(
        "schema {} ({} features)",
        features::SCHEMA_VERSION,
        features::COUNT
    );
    Ok(())
}

fn predict(model_path: &Path, format: Format, rows: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(model_path)
        .map_err(|e| format!("cannot read {}: {e}", model_path.display()))?;
    let model =
        GbdtModel::parse(&text, format).map_err(|e| format!("{}: {e}", model_path.display()))?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = if rows == Path::new("-") {
        riskgate_tools::predict::predict_csv(&model, std::io::stdin().lock(), out)
    } else {
        let file = std::fs::File::open(rows)
            .map_err(|e| format!("cannot read {}: {e}", rows.display()))?;
        riskgate_tools::predict::predict_csv(&model, std::io::BufReader::new(file), out)
    };
    result
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", rows.display()))
}

fn features(events: &Path, out: &Path) -> Result<(), String> {
    let file = std::fs::File::open(events)
        .map_err(|e| format!("cannot read {}: {e}", events.display()))?;
    let fx = riskgate_core::reference::FxTable::default();
    let enrichment = riskgate::config::EnrichmentConfig::default();
    output(out, |w| {
        riskgate_tools::features::features_csv(std::io::BufReader::new(file), w, &fx, &enrichment)
            .map_err(|e| format!("{}: {e}", events.display()))
    })
    .map(|_| ())
}

fn evaluate(
    events: &Path,
    json: bool,
    model: Option<PathBuf>,
    rules: Option<PathBuf>,
    warm_up_days: u32,
    config: Option<&Path>,
) -> Result<(), String> {
    let mut config = crate::config::load(config)?;
    if model.is_some() {
        config.model.path = model;
    }
    if rules.is_some() {
        config.rules.path = rules;
    }
    let quality = riskgate_tools::evaluate::run(events, &config, warm_up_days, true)
        .map_err(|e| e.to_string())?;
    if json {
        serde_json::to_string_pretty(&quality)
            .map(|j| println!("{j}"))
            .map_err(|e| e.to_string())
    } else {
        print!("{}", quality.table());
        Ok(())
    }
}
