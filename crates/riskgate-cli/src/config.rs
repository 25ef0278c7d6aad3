//! `riskgate config check|show`, and loading the configuration the way every offline subcommand
//! does (defaults ← FILE ← RISKGATE_* environment).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use riskgate::config::{Config, Overrides};

/// Check or show configuration.
#[derive(clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
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

pub fn run(args: ConfigArgs) -> Result<(), String> {
    match args.command {
        ConfigCommand::Check { file } => match Config::from_file(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
        ConfigCommand::Show { config } => load(config.as_deref())
            .and_then(|c| toml::to_string(&c).map_err(|e| e.to_string()))
            .map(|text| print!("{text}")),
    }
}

/// The effective configuration without command-line overrides: defaults ← `file` ← RISKGATE_*
/// environment.
pub fn load(file: Option<&Path>) -> Result<Config, String> {
    Config::load(file, std::env::vars(), Overrides::default()).map_err(|e| e.to_string())
}
