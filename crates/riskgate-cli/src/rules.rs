//! `riskgate rules check|explain|attributes`: rules files checked and explained offline, and the
//! attribute table (the work is `riskgate_tools::rules`).

use std::path::PathBuf;

use clap::Subcommand;
use riskgate_tools::rules;

use crate::config;

/// Check, explain and document Radar rules.
#[derive(clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
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

pub fn run(args: RulesArgs) -> Result<(), String> {
    match args.command {
        RulesCommand::Check { file } => rules::rules_check(&file)
            .map(|m| println!("{m}"))
            .map_err(|e| e.to_string()),
        RulesCommand::Explain {
            file,
            request,
            config,
        } => config::load(config.as_deref())
            .and_then(|c| rules::rules_explain(&file, &request, &c).map_err(|e| e.to_string()))
            .map(|m| print!("{m}")),
        RulesCommand::Attributes => {
            print!("{}", rules::rules_attributes());
            Ok(())
        }
    }
}
