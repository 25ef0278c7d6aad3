//! The log subscriber of `riskgate serve`: text or JSON lines on standard error, filtered by the
//! configured level unless `RUST_LOG` says otherwise. The gateway library only emits `tracing`
//! events; installing a subscriber is the program's job.

use std::io::IsTerminal;

use riskgate::config::{LogConfig, LogFormat};
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the log subscriber (once; later calls are ignored). `RUST_LOG` wins over the config.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::try_new(&config.level).unwrap_or_else(|_| EnvFilter::new("info"))
    });
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
