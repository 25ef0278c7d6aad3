//! `riskgate model schema|predict|features`: the feature schema a model must be trained on, a
//! model's raw margins over a CSV, and the training table of a labelled event file (the work is
//! `riskgate_tools::{predict, features}`).

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
