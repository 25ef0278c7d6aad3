//! Reading the layers: defaults ← TOML file ← `RISKGATE_*` environment ← command-line flags.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{Config, ConfigError, LayerError};

/// Prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "RISKGATE_";
/// Environment variables with the prefix that are not configuration keys.
const ENV_RESERVED: &[&str] = &[
    "RISKGATE_CONFIG",
    "RISKGATE_LOG",
    "RISKGATE_TOKEN",
    // The default data directory (`state.data_dir` wins over it).
    super::DATA_DIR_ENV,
];

/// Flags that override the file and environment. `Debug` redacts a password in `redis_url`.
#[derive(Clone, Default)]
pub struct Overrides {
    pub grpc_addr: Option<SocketAddr>,
    pub admin_addr: Option<SocketAddr>,
    pub uds_path: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub rules_path: Option<PathBuf>,
    /// `--admin-token-file`: tokens are never command-line values (they would show in the
    /// process list).
    pub admin_token_file: Option<PathBuf>,
    pub model_path: Option<PathBuf>,
    pub scoring_mode: Option<crate::config::scoring::ScoringMode>,
    pub stripe_base_url: Option<String>,
    pub redis_url: Option<String>,
    /// `--data-dir DIR`, or an empty path for `--in-memory`; overrides `state.data_dir`.
    pub data_dir: Option<PathBuf>,
    pub redis_mode: Option<crate::config::RedisMode>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            grpc_addr,
            admin_addr,
            uds_path,
            tls_cert,
            tls_key,
            tls_client_ca,
            rules_path,
            admin_token_file,
            model_path,
            scoring_mode,
            stripe_base_url,
            redis_url,
            data_dir,
            redis_mode,
        } = self;
        f.debug_struct("Overrides")
            .field("grpc_addr", grpc_addr)
            .field("admin_addr", admin_addr)
            .field("uds_path", uds_path)
            .field("tls_cert", tls_cert)
            .field("tls_key", tls_key)
            .field("tls_client_ca", tls_client_ca)
            .field("rules_path", rules_path)
            .field("admin_token_file", admin_token_file)
            .field("model_path", model_path)
            .field("scoring_mode", scoring_mode)
            .field(
                "stripe_base_url",
                &stripe_base_url.as_deref().map(super::secret::redact_url),
            )
            .field(
                "redis_url",
                &redis_url.as_deref().map(super::secret::redact_url),
            )
            .field("data_dir", data_dir)
            .field("redis_mode", redis_mode)
            .finish()
    }
}

impl Config {
    /// Reads and checks a configuration file alone (no environment, no flags).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let table = read_table(path)?;
        let config = from_table(table).map_err(|source| ConfigError::File {
            path: path.into(),
            source,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The effective configuration: defaults ← `file` ← environment (`vars`) ← `overrides`.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        overrides: Overrides,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let table = read_table(path)?;
                // Report file mistakes against the file, before the environment is mixed in.
                from_table(table.clone()).map_err(|source| ConfigError::File {
                    path: path.into(),
                    source,
                })?;
                table
            }
            None => toml::Table::new(),
        };
        let mut env_keys = Vec::new();
        // What the default data directory is derived from.
        let (mut data_dir_env, mut xdg_state_home, mut home) = (None, None, None);
        for (var, raw) in vars {
            match var.as_str() {
                super::DATA_DIR_ENV => data_dir_env = Some(raw.clone()),
                "XDG_STATE_HOME" => xdg_state_home = Some(raw.clone()),
                "HOME" => home = Some(raw.clone()),
                _ => {}
            }
            if !var.starts_with(ENV_PREFIX) || ENV_RESERVED.contains(&var.as_str()) {
                continue;
            }
            let path: Vec<String> = var[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            set_path(&mut table, &path, parse_env_value(&raw)).map_err(|source| {
                ConfigError::Env {
                    var: var.clone(),
                    source,
                }
            })?;
            env_keys.push(var);
        }
        let mut config = from_table(table).map_err(|source| ConfigError::Env {
            var: env_keys.join(", "),
            source,
        })?;
        if let Some(addr) = overrides.grpc_addr {
            config.grpc.addr = addr;
        }
        if let Some(addr) = overrides.admin_addr {
            config.admin.addr = addr;
        }
        if overrides.uds_path.is_some() {
            config.grpc.uds_path = overrides.uds_path;
        }
        if overrides.tls_cert.is_some() {
            config.tls.cert_path = overrides.tls_cert;
        }
        if overrides.tls_key.is_some() {
            config.tls.key_path = overrides.tls_key;
        }
        if overrides.tls_client_ca.is_some() {
            config.tls.client_ca_path = overrides.tls_client_ca;
        }
        if overrides.rules_path.is_some() {
            config.rules.path = overrides.rules_path;
        }
        if overrides.admin_token_file.is_some() {
            // The flag wins over a token (file) named in the file or environment.
            config.admin_token = None;
            config.admin_token_file = overrides.admin_token_file;
        }
        if overrides.model_path.is_some() {
            config.model.path = overrides.model_path;
        }
        if let Some(mode) = overrides.scoring_mode {
            config.scoring.mode = mode;
        }
        if let Some(url) = overrides.stripe_base_url {
            config.stripe.base_url = url;
        }
        if overrides.redis_url.is_some() {
            config.redis.url = overrides.redis_url;
        }
        if let Some(mode) = overrides.redis_mode {
            config.redis.mode = mode;
        }
        if overrides.data_dir.is_some() {
            config.state.data_dir = overrides.data_dir;
        }
        if config.state.data_dir.is_none() {
            config.state.data_dir_is_default = data_dir_env.is_none();
            config.state.data_dir = super::state::default_data_dir(
                data_dir_env.as_deref(),
                xdg_state_home.as_deref(),
                home.as_deref(),
            );
        }
        config.validate()?;
        Ok(config)
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError::File {
        path: path.into(),
        source: LayerError::Syntax(e),
    })
}

fn from_table(table: toml::Table) -> Result<Config, LayerError> {
    Config::deserialize(table).map_err(LayerError::Schema)
}

fn parse_env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), LayerError> {
    let (last, parents) = path.split_last().ok_or(LayerError::EmptyKey)?;
    let mut t = table;
    for p in parents {
        t = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| LayerError::NotASection(p.clone()))?;
    }
    t.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use riskgate_core::decision::Action;

    use super::*;
    use crate::config::{
        AdminConfig,
        fixtures::{env, write},
    };

    #[test]
    fn layers_apply_in_order() {
        let f = write("livemode = true\n[grpc]\naddr = \"127.0.0.1:1\"\nconcurrency_limit = 10\n");
        let c = Config::load(
            Some(f.path()),
            env(&[
                ("RISKGATE_GRPC__CONCURRENCY_LIMIT", "20"),
                ("RISKGATE_ACTIONS__ELEVATED", "review"),
                ("RISKGATE_CONFIG", "ignored.toml"),
                ("HOME", "/root"),
            ]),
            Overrides {
                grpc_addr: Some("127.0.0.1:2".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(c.livemode);
        assert_eq!(c.grpc.concurrency_limit, 20);
        assert_eq!(c.grpc.addr.port(), 2);
        assert_eq!(c.actions.elevated, Action::Review);
        assert_eq!(c.admin, AdminConfig::default());
    }

    #[test]
    fn unknown_keys_are_rejected_everywhere() {
        let f = write("[grpc]\nadress = \"127.0.0.1:1\"\n");
        let err = Config::load(Some(f.path()), [], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `adress`"), "{err}");
        let err = Config::load(
            None,
            env(&[("RISKGATE_GRPC__PORT", "1")]),
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("RISKGATE_GRPC__PORT") && err.contains("unknown field `port`"),
            "{err}"
        );
        let err = Config::load(None, env(&[("RISKGATE_NOPE", "1")]), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `nope`"), "{err}");
    }

    #[test]
    fn an_environment_key_under_a_value_is_refused() {
        let f = write("livemode = true\n");
        let err = Config::load(
            Some(f.path()),
            env(&[("RISKGATE_LIVEMODE__X", "1")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                &err,
                ConfigError::Env { var, source: LayerError::NotASection(key) }
                    if var == "RISKGATE_LIVEMODE__X" && key == "livemode"
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "environment variable RISKGATE_LIVEMODE__X: `livemode` is not a section"
        );
    }
}
