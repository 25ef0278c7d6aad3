//! Configuration: one typed struct, read from defaults ← TOML file ← `RISKGATE_*` environment ←
//! command-line flags (later wins). Unknown keys are errors everywhere. `examples/riskgate.toml`
//! documents every key with its default; a test keeps the two in step.
//!
//! Environment variables name a key by its path, upper-cased, with `__` between sections:
//! `RISKGATE_GRPC__ADDR=0.0.0.0:50051`, `RISKGATE_RISK__HIGHEST_FROM=70`, `RISKGATE_LIVEMODE=true`.
//! Values are read as TOML values when they parse as one (numbers, booleans, arrays), else as strings.

mod api;
mod auth;
mod check;
mod decision;
mod error;
mod load;
mod log;
mod pseudonym;
mod reviews;
pub mod scoring;
mod secret;
mod server;
mod state;
mod stripe;

#[cfg(test)]
mod fixtures;

use std::{collections::BTreeMap, path::PathBuf};

use serde::{Deserialize, Serialize};

use riskgate_core::decision::{LevelActions, RiskThresholds};

pub use api::{ApiConfig, EvaluationShape};
pub use auth::AuthConfig;
pub use decision::{ModelConfig, RulesConfig};
pub use error::{ConfigError, LayerError};
pub use load::{ENV_PREFIX, Overrides};
pub use log::{AuditConfig, LogConfig, LogFormat};
pub use pseudonym::PseudonymConfig;
pub use reviews::ReviewsConfig;
pub use scoring::ScoringConfig;
pub use secret::{Secret, redact_url};
pub use server::{AdminConfig, GrpcConfig, HealthConfig, RuntimeConfig, ShutdownConfig, TlsConfig};
pub use state::{
    DATA_DIR_ENV, EnrichmentConfig, IdempotencyConfig, ListsConfig, RedisConfig, RedisMode,
    StateConfig,
};
pub use stripe::{
    DEFAULT_API_VERSION, STRIPE_SECRET_KEY_ENV, STRIPE_WEBHOOK_SECRET_ENV, StripeConfig,
    WebhooksConfig, is_api_version,
};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Answers carry `livemode: true` (Stripe's flag for production data).
    pub livemode: bool,
    pub grpc: GrpcConfig,
    pub admin: AdminConfig,
    pub health: HealthConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub risk: RiskThresholds,
    /// The action for each risk level, used only without a rules file: each non-`continue` entry
    /// becomes the rule `<Action> if :risk_level: = '<level>'`. Deprecated in favour of `rules.path`.
    pub actions: LevelActions,
    pub rules: RulesConfig,
    pub lists: ListsConfig,
    pub audit: AuditConfig,
    /// Token that value-list mutations and admin RPCs need (`authorization: Bearer TOKEN`). Unset:
    /// those calls are refused. Never printed by `config show`.
    pub admin_token: Option<Secret>,
    /// File holding the admin token instead (trailing newline ignored), e.g. a mounted Kubernetes
    /// Secret. Read at start; set this or `admin_token`, not both.
    pub admin_token_file: Option<PathBuf>,
    pub idempotency: IdempotencyConfig,
    pub enrichment: EnrichmentConfig,
    pub redis: RedisConfig,
    pub shutdown: ShutdownConfig,
    pub runtime: RuntimeConfig,
    pub log: LogConfig,
    pub model: ModelConfig,
    /// USD per major unit, by lower-case currency code; overrides and extends the built-in table.
    pub fx: BTreeMap<String, f64>,
    pub scoring: ScoringConfig,
    /// The answer's shape.
    pub api: ApiConfig,
    pub stripe: StripeConfig,
    pub webhooks: WebhooksConfig,
    /// The data directory (issue 18): where what must survive a restart is kept.
    pub state: StateConfig,
    // === hardening (issue 18, harden-core) ===
    /// The secret of velocity keys and audit-log pseudonyms.
    pub pseudonym: PseudonymConfig,
    // === reviews (issue 19) ===
    /// The analyst review queue.
    pub reviews: ReviewsConfig,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn example_config_documents_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/riskgate.toml");
        let example = Config::from_file(&path).unwrap();
        assert_eq!(
            example,
            Config::default(),
            "examples/riskgate.toml drifted from the defaults"
        );
        // Every key of the serialized defaults appears (commented or not) in the example.
        let text = std::fs::read_to_string(&path).unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        for (section, value) in &defaults {
            match value.as_table() {
                Some(t) => {
                    assert!(
                        text.contains(&format!("[{section}]")),
                        "[{section}] undocumented"
                    );
                    for key in t.keys() {
                        assert!(
                            text.contains(&format!("{key} =")),
                            "{section}.{key} undocumented"
                        );
                    }
                }
                None => assert!(
                    text.contains(&format!("{section} =")),
                    "{section} undocumented"
                ),
            }
        }
    }
}
