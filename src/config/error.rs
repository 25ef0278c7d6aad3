//! What can be wrong with a configuration, and where it came from.

use std::path::PathBuf;

/// A configuration that cannot be used, with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    File { path: PathBuf, source: LayerError },
    #[error("environment variable {var}: {source}")]
    Env { var: String, source: LayerError },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Why one layer (the file, or the environment on top of it) does not make a configuration.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The file is not TOML; the message points at the line.
    #[error("{0}")]
    Syntax(toml::de::Error),
    /// A key the configuration does not have, or a value of the wrong type.
    #[error("{}", .0.to_string().trim_end())]
    Schema(toml::de::Error),
    /// An environment variable that names no key.
    #[error("empty key")]
    EmptyKey,
    /// An environment variable that puts a key under one that is not a section.
    #[error("`{0}` is not a section")]
    NotASection(String),
}
