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
    /// Check a rules file: exits 0 when every rule compiles (then prints warnings for rules that
    /// load but cannot mean what they say, and notes on attributes that need a GeoIP database the
    /// configuration does not set or a request field the orchestrator must send), 1 with
    /// `FILE:line:column: message` (and the line with a caret) for each mistake otherwise.
    Check {
        file: PathBuf,
        /// Configuration for FX rates and the GeoIP databases.
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Evaluate a request (JSON, as `riskgate eval` reads it) against a rules file, offline, and
    /// show each rule's condition (true, false or missing), what its match means, and each
    /// clause's value with the values it read.
    Explain {
        file: PathBuf,
        request: PathBuf,
        /// Configuration for risk thresholds and FX rates.
        #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Assume an attribute's value (offline, riskgate's state and GeoIP databases are not
        /// read): `--set risk_level=highest --set card_count_for_email_daily=3`.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        assume: Vec<String>,
    },
    /// Print the attribute table rules can use, as Markdown (docs/attributes.md).
    Attributes,
}

pub fn run(args: RulesArgs) -> Result<(), String> {
    match args.command {
        RulesCommand::Check { file, config } => config::load(config.as_deref())
            .and_then(|c| rules::rules_check(&file, &c).map_err(|e| e.to_string()))
            .map(|m| println!("{m}")),
        RulesCommand::Explain {
            file,
            request,
            config,
            assume,
        } => config::load(config.as_deref())
            .and_then(|c| {
                rules::rules_explain(&file, &request, &c, &assume).map_err(|e| e.to_string())
            })
            .map(|m| print!("{m}")),
        RulesCommand::Attributes => {
            print!("{}", rules::rules_attributes());
            Ok(())
        }
    }
}
