//! Configuration: one typed struct, read from defaults ← TOML file ← `RISKGATE_*` environment ←
//! command-line flags (later wins). Unknown keys are errors everywhere. `examples/riskgate.toml`
//! documents every key with its default; a test keeps the two in step.
//!
//! Environment variables name a key by its path, upper-cased, with `__` between sections:
//! `RISKGATE_GRPC__ADDR=0.0.0.0:50051`, `RISKGATE_RISK__HIGHEST_FROM=70`, `RISKGATE_LIVEMODE=true`.
//! Values are read as TOML values when they parse as one (numbers, booleans, arrays), else as strings.

pub mod scoring;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use riskgate_core::decision::{LevelActions, RiskThresholds};

/// Prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "RISKGATE_";
/// Environment variables with the prefix that are not configuration keys.
const ENV_RESERVED: &[&str] = &["RISKGATE_CONFIG", "RISKGATE_LOG", "RISKGATE_TOKEN"];

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
    pub log: LogConfig,
    pub model: ModelConfig,
    /// USD per major unit, by lower-case currency code; overrides and extends the built-in table.
    pub fx: BTreeMap<String, f64>,
    pub scoring: ScoringConfig,
    pub stripe: StripeConfig,
    pub webhooks: WebhooksConfig,
}

/// Which scorer answers, and the time it may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// `local`, `stripe`, `stripe_with_fallback` or `shadow` (flag: --scoring-mode); a request
    /// may override it with its `scoring_mode` field.
    pub mode: crate::config::scoring::ScoringMode,
    /// When nothing can score (mode `stripe` and Stripe failed): `open` (continue), `closed`
    /// (block) or `review`. Always flagged `degraded`.
    pub fail_policy: crate::config::scoring::FailPolicy,
    /// Time kept back from the caller's remaining deadline for the local work after Stripe.
    pub upstream_margin_ms: u64,
    /// The most a Stripe call may take, whatever the caller's deadline (also the budget without
    /// a deadline and of shadow calls).
    pub upstream_max_ms: u64,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            mode: crate::config::scoring::ScoringMode::Local,
            fail_policy: crate::config::scoring::FailPolicy::Open,
            upstream_margin_ms: 5,
            upstream_max_ms: 250,
        }
    }
}

/// Stripe's Payment Evaluations API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeConfig {
    /// API base URL (flag: --stripe-base-url); `http://` only for a local fake.
    pub base_url: String,
    /// `Stripe-Version` header.
    pub api_version: String,
    /// The secret key; usually from `STRIPE_SECRET_KEY`. Never printed.
    pub secret_key: Option<Secret>,
    /// File holding the secret key (trailing newline ignored).
    pub secret_key_file: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    /// Idle keep-alive connections are closed after this long.
    pub pool_idle_timeout_secs: u64,
    pub pool_max_idle_per_host: usize,
    /// Retries after the first attempt (only within the budget).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles, jittered 50–100 %.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Consecutive failed calls that open the circuit breaker.
    pub breaker_failure_threshold: u32,
    /// How long the breaker stays open before one probe call is let through.
    pub breaker_open_ms: u64,
    /// The breaker also opens when at least this percentage of the calls in the rolling window
    /// failed (0 = off; only consecutive failures count).
    pub breaker_error_rate_percent: u32,
    /// The rolling window of the error rate.
    pub breaker_window_secs: u64,
    /// Fewer calls than this in the window never open the breaker on the error rate.
    pub breaker_window_min_calls: u32,
    /// Forward `ReportPaymentOutcome` to Stripe for evaluations Stripe scored (in the background).
    pub report_outcomes: bool,
    /// Outcome reports waiting to be sent; beyond it new ones are dropped (and counted).
    pub outcome_queue_capacity: usize,
    /// Time budget of one outcome report, retries included.
    pub outcome_report_budget_ms: u64,
    /// Pull Stripe's Radar value lists into riskgate's lists this often (0 = off).
    pub list_sync_interval_secs: u64,
    /// Prefix added to the aliases of synced lists (empty: rules use Stripe's aliases as they are).
    pub list_sync_alias_prefix: String,
    /// Time budget of one list sync run.
    pub list_sync_budget_secs: u64,
}

/// Environment variable with Stripe's secret key.
pub const STRIPE_SECRET_KEY_ENV: &str = "STRIPE_SECRET_KEY";
/// Environment variable with the webhook endpoint's signing secret.
pub const STRIPE_WEBHOOK_SECRET_ENV: &str = "STRIPE_WEBHOOK_SECRET";

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.stripe.com".into(),
            api_version: "2026-03-25.dahlia".into(),
            secret_key: None,
            secret_key_file: None,
            connect_timeout_ms: 1000,
            pool_idle_timeout_secs: 90,
            pool_max_idle_per_host: 64,
            max_retries: 2,
            initial_backoff_ms: 10,
            max_backoff_ms: 100,
            breaker_failure_threshold: 5,
            breaker_open_ms: 5000,
            breaker_error_rate_percent: 50,
            breaker_window_secs: 10,
            breaker_window_min_calls: 20,
            report_outcomes: true,
            outcome_queue_capacity: 10_000,
            outcome_report_budget_ms: 10_000,
            list_sync_interval_secs: 0,
            list_sync_alias_prefix: String::new(),
            list_sync_budget_secs: 60,
        }
    }
}

impl StripeConfig {
    /// The secret key: `secret_key`, else `secret_key_file`, else `env_value` (the
    /// `STRIPE_SECRET_KEY` variable).
    pub fn secret(&self, env_value: Option<String>) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "stripe.secret_key",
            self.secret_key.as_ref(),
            self.secret_key_file.as_deref(),
            env_value,
        )
    }
}

/// Stripe webhooks on the admin port (`POST /webhooks/stripe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// The endpoint's signing secret (`whsec_…`); usually from `STRIPE_WEBHOOK_SECRET`. Without
    /// one the endpoint answers 404.
    pub secret: Option<Secret>,
    /// File holding the signing secret.
    pub secret_file: Option<PathBuf>,
    /// Largest accepted age of a signature timestamp (either way), seconds.
    pub tolerance_secs: u64,
    /// Event ids remembered to drop redeliveries.
    pub dedupe_capacity: usize,
    /// Add the card fingerprint and email of early fraud warnings and fraud disputes to the
    /// block lists below.
    pub block: bool,
    /// Alias of the card fingerprint block list.
    pub card_fingerprint_list: String,
    /// Alias of the email block list.
    pub email_list: String,
    /// NDJSON file the fraud labels are appended to (docs/events.md outcome shape); unset = off.
    pub labels_path: Option<PathBuf>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            secret: None,
            secret_file: None,
            tolerance_secs: 300,
            dedupe_capacity: 10_000,
            block: true,
            card_fingerprint_list: "block_list_card_fingerprint".into(),
            email_list: "block_list_email".into(),
            labels_path: None,
        }
    }
}

impl WebhooksConfig {
    /// The signing secret: `secret`, else `secret_file`, else `env_value`
    /// (`STRIPE_WEBHOOK_SECRET`).
    pub fn signing_secret(&self, env_value: Option<String>) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "webhooks.secret",
            self.secret.as_ref(),
            self.secret_file.as_deref(),
            env_value,
        )
    }
}

fn resolve_secret(
    key: &str,
    value: Option<&Secret>,
    file: Option<&Path>,
    env_value: Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "{key} and {key}_file are both set; keep one"
        ))),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(path)) => Secret::from_file(path).map(Some),
        (None, None) => Ok(env_value.filter(|v| !v.is_empty()).map(Secret::new)),
    }
}

/// The gRPC listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcConfig {
    /// TCP address of the gRPC API.
    pub addr: SocketAddr,
    /// Also serve on this Unix domain socket (for a sidecar; empty = off). A stale socket file is
    /// replaced.
    pub uds_path: Option<PathBuf>,
    /// Largest request accepted; evaluation requests are about 1 KiB.
    pub max_request_bytes: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Evaluations in flight across all connections; beyond it calls are refused at once with
    /// RESOURCE_EXHAUSTED rather than queued.
    pub concurrency_limit: usize,
    /// Keep the runtime's workers busy at most this share of the time (percent, 1–98; 0 = off):
    /// above it, a share of riskgate calls is refused on arrival with RESOURCE_EXHAUSTED, so that
    /// admitted calls keep their latency when more arrive than the CPU can evaluate.
    pub cpu_target_percent: u8,
    /// Time kept back from the caller's `grpc-timeout` so that an answer, even DEADLINE_EXCEEDED,
    /// reaches it before it gives up.
    pub deadline_margin_ms: u64,
    /// HTTP/2 keep-alive ping interval (0 = off).
    pub http2_keepalive_interval_secs: u64,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            uds_path: None,
            max_request_bytes: 64 * 1024,
            max_concurrent_streams: 1024,
            concurrency_limit: 4096,
            cpu_target_percent: 90,
            deadline_margin_ms: 1,
            http2_keepalive_interval_secs: 30,
        }
    }
}

/// The admin HTTP listener: `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub addr: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// A plaintext gRPC listener that serves only `grpc.health.v1`, for kubelet `grpc` probes (they
/// speak neither TLS nor Unix sockets) when the API port uses TLS or a socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Off unless set, e.g. `0.0.0.0:8081`.
    pub addr: Option<SocketAddr>,
}

/// TLS on the gRPC TCP port (the Unix socket and the health listener stay plaintext).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first). TLS is on when set.
    pub cert_path: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub key_path: Option<PathBuf>,
    /// PEM CA certificates; when set, clients must present a certificate they signed (mTLS).
    pub client_ca_path: Option<PathBuf>,
    /// How often the certificate and key files are checked for changes; a changed pair is loaded
    /// without a restart.
    pub reload_interval_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_path: None,
            key_path: None,
            client_ca_path: None,
            reload_interval_secs: 10,
        }
    }
}

/// Radar rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// The rules file (flag: --rules). Unset: the default rules derived from `[actions]`.
    pub path: Option<PathBuf>,
    /// How often the rules file's modification time is checked for a hot reload (0 = off; SIGHUP
    /// and the ReloadRules RPC still reload).
    pub watch_interval_ms: u64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            path: None,
            watch_interval_ms: 1000,
        }
    }
}

/// Bearer tokens. Set them through the environment or files, never in a committed config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Token evaluation calls must carry (`authorization: Bearer …`); off unless set. Usually
    /// `RISKGATE_AUTH__EVALUATION_TOKEN`.
    pub evaluation_token: Option<Secret>,
    /// File holding that token (trailing newline ignored), e.g. a mounted Kubernetes Secret.
    pub evaluation_token_file: Option<PathBuf>,
}

impl AuthConfig {
    /// The evaluation token, read from its file when configured that way.
    pub fn evaluation_token(&self) -> Result<Option<Secret>, ConfigError> {
        match (&self.evaluation_token, &self.evaluation_token_file) {
            (Some(token), None) => Ok(Some(token.clone())),
            (None, Some(path)) => Secret::from_file(path).map(Some),
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ConfigError::Invalid(
                "auth.evaluation_token and auth.evaluation_token_file are both set; keep one"
                    .into(),
            )),
        }
    }
}

/// Value lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListsConfig {
    /// The lists journal (append-only, fsynced, compacted). Unset: lists live in memory only and
    /// are lost on restart. Not used with `redis.url`: lists then live in Redis.
    pub path: Option<PathBuf>,
}

/// The decision audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// NDJSON file every decision is appended to (unset = off). Card data, emails, phones and IPs
    /// are hashed or masked.
    pub path: Option<PathBuf>,
    /// Size at which the file is rotated to `<path>.1` (older files shift to `.2` …).
    pub max_bytes: u64,
    /// Rotated files kept.
    pub max_files: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: None,
            max_bytes: 100 * 1024 * 1024,
            max_files: 5,
        }
    }
}

/// A secret string: printed and serialized as `[redacted]`, so it never reaches logs or
/// `riskgate config show`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from a file, without its trailing newline.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let value = text.trim_end_matches(['\n', '\r']).to_owned();
        if value.is_empty() {
            return Err(ConfigError::Invalid(format!("{} is empty", path.display())));
        }
        Ok(Self(value))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// Idempotent replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// How long a key's answer is kept (Stripe keeps keys 24 hours).
    pub retention_secs: u64,
    /// Memory bound of the kept answers; the least recently used go first beyond it.
    pub max_bytes: u64,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            retention_secs: 24 * 3600,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The enrichment stage: Radar Sessions, IP country, the two-session check, velocity counters and
/// outcome reports (`src/enrich/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrichmentConfig {
    /// MaxMind DB file for `ip_country` (e.g. the CC0 geo-whois-asn-country database); unset = no
    /// IP country.
    pub geoip_mmdb_path: Option<PathBuf>,
    /// How long a recorded Radar Session is kept.
    pub session_ttl_secs: u64,
    /// Most Radar Sessions kept (the least recently used go first beyond it).
    pub session_max_entries: u64,
    /// How long the session a payment method was set up in is remembered.
    pub payment_method_session_ttl_secs: u64,
    /// Most payment methods whose set-up session is remembered.
    pub payment_method_session_max_entries: u64,
    /// Velocity keys (card, email, IP …) unseen for this long are removed, all-time counts included.
    pub velocity_idle_expiry_secs: u64,
    /// How often idle velocity keys are looked for.
    pub velocity_sweep_interval_secs: u64,
    /// How long an evaluation's keys are kept for ReportPaymentOutcome (disputes arrive late).
    pub outcome_retention_secs: u64,
    /// Most evaluations kept for ReportPaymentOutcome; beyond it the least recently used go first.
    pub outcome_max_evaluations: u64,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            geoip_mmdb_path: None,
            session_ttl_secs: 24 * 3600,
            session_max_entries: 100_000,
            payment_method_session_ttl_secs: 90 * 86_400,
            payment_method_session_max_entries: 1_000_000,
            velocity_idle_expiry_secs: 30 * 86_400,
            velocity_sweep_interval_secs: 60,
            outcome_retention_secs: 120 * 86_400,
            outcome_max_evaluations: 500_000,
        }
    }
}

/// Shared state on Redis (velocity, Radar Sessions, payment-method sessions, outcome records and
/// idempotency records), so that replicas see one history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`; unset = in-process state (`--redis-url`).
    pub url: Option<String>,
    /// Longest wait for Redis per call; beyond it (or when Redis is down) the evaluation goes on
    /// with in-process state and is flagged `degraded`.
    pub budget_ms: u64,
    /// Prefix of every key riskgate writes.
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            budget_ms: 50,
            key_prefix: "riskgate:".into(),
        }
    }
}

/// Graceful shutdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// After SIGTERM/SIGINT, the longest wait for in-flight calls before exiting anyway.
    pub grace_period_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace_period_secs: 20,
        }
    }
}

/// The local fraud model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// An XGBoost JSON or LightGBM text model file whose features match `riskgate model schema`;
    /// unset = the embedded default model.
    pub path: Option<PathBuf>,
    /// `auto` (JSON is XGBoost, text is LightGBM), `xgboost_json` or `lightgbm_text`.
    pub format: riskgate_core::model::Format,
    /// `[probability, score]` points of a piecewise-linear map from the model's probability to the
    /// 0–99 risk score; probabilities from 0 to 1 increasing, scores non-decreasing. Unset: the
    /// score is ⌊100·p⌋ capped at 99.
    pub calibration: Option<Vec<[f64; 2]>>,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter (`info`, `riskgate=debug,info`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration that cannot be used, with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Flags that override the file and environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub grpc_addr: Option<SocketAddr>,
    pub admin_addr: Option<SocketAddr>,
    pub uds_path: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub rules_path: Option<PathBuf>,
    pub admin_token: Option<Secret>,
    pub model_path: Option<PathBuf>,
    pub scoring_mode: Option<crate::config::scoring::ScoringMode>,
    pub stripe_base_url: Option<String>,
    pub redis_url: Option<String>,
}

impl Config {
    /// Reads and checks a configuration file alone (no environment, no flags).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let table = read_table(path)?;
        let config = from_table(table).map_err(|message| ConfigError::File {
            path: path.into(),
            message,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The admin token, read from `admin_token_file` when configured that way.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        match (&self.admin_token, &self.admin_token_file) {
            (Some(token), None) => Ok(Some(token.clone())),
            (None, Some(path)) => Secret::from_file(path).map(Some),
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ConfigError::Invalid(
                "admin_token and admin_token_file are both set; keep one".into(),
            )),
        }
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
                from_table(table.clone()).map_err(|message| ConfigError::File {
                    path: path.into(),
                    message,
                })?;
                table
            }
            None => toml::Table::new(),
        };
        let mut env_keys = Vec::new();
        for (var, raw) in vars {
            if !var.starts_with(ENV_PREFIX) || ENV_RESERVED.contains(&var.as_str()) {
                continue;
            }
            let path: Vec<String> = var[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            set_path(&mut table, &path, parse_env_value(&raw)).map_err(|message| {
                ConfigError::Env {
                    var: var.clone(),
                    message,
                }
            })?;
            env_keys.push(var);
        }
        let mut config = from_table(table).map_err(|message| ConfigError::Env {
            var: env_keys.join(", "),
            message,
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
        if overrides.admin_token.is_some() {
            // The flag wins over a token file named in the file or environment.
            config.admin_token_file = None;
            config.admin_token = overrides.admin_token;
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
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if let Err(m) = self.risk.validate() {
            return invalid(format!("risk: {m}"));
        }
        if let Err(m) =
            riskgate_core::reference::FxTable::new(self.fx.iter().map(|(k, v)| (k.as_str(), *v)))
        {
            return invalid(m);
        }
        if self.grpc.concurrency_limit == 0 {
            return invalid("grpc.concurrency_limit must be at least 1".into());
        }
        if self.grpc.cpu_target_percent > 98 {
            return invalid(format!(
                "grpc.cpu_target_percent ({}) must be at most 98 (0 = off)",
                self.grpc.cpu_target_percent
            ));
        }
        if self.grpc.max_concurrent_streams == 0 {
            return invalid("grpc.max_concurrent_streams must be at least 1".into());
        }
        if self.grpc.max_request_bytes < 1024 {
            return invalid("grpc.max_request_bytes must be at least 1024".into());
        }
        if self.rules.path.is_some() && self.actions != LevelActions::default() {
            return invalid(
                "actions.* applies only without a rules file; with rules.path set, write the \
                 level rules in the file (e.g. `Review if :risk_level: = 'elevated'`)"
                    .into(),
            );
        }
        if self.admin_token.is_some() && self.admin_token_file.is_some() {
            return invalid("admin_token and admin_token_file are both set; keep one".into());
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
        {
            return invalid(
                "admin_token must not be empty (leave it out to refuse admin calls)".into(),
            );
        }
        if let Some(Err(m)) = self
            .model
            .calibration
            .as_deref()
            .map(riskgate_core::model::calibration::Calibration::new)
        {
            return invalid(format!("model.calibration: {m}"));
        }
        if self.audit.max_bytes < 4096 {
            return invalid("audit.max_bytes must be at least 4096".into());
        }
        if self.scoring.upstream_max_ms == 0 {
            return invalid("scoring.upstream_max_ms must be at least 1".into());
        }
        if !(self.stripe.base_url.starts_with("https://")
            || self.stripe.base_url.starts_with("http://"))
        {
            return invalid(format!(
                "stripe.base_url {:?} must start with https:// (or http:// for a local fake)",
                self.stripe.base_url
            ));
        }
        if self.stripe.breaker_failure_threshold == 0 {
            return invalid("stripe.breaker_failure_threshold must be at least 1".into());
        }
        if self.webhooks.dedupe_capacity == 0 {
            return invalid("webhooks.dedupe_capacity must be at least 1".into());
        }
        if self.idempotency.retention_secs == 0 {
            return invalid("idempotency.retention_secs must be at least 1".into());
        }
        match (&self.tls.cert_path, &self.tls.key_path) {
            (Some(_), None) | (None, Some(_)) => {
                return invalid("tls.cert_path and tls.key_path go together".into());
            }
            (None, None) if self.tls.client_ca_path.is_some() => {
                return invalid(
                    "tls.client_ca_path (mTLS) needs tls.cert_path and tls.key_path".into(),
                );
            }
            _ => {}
        }
        if self.tls.reload_interval_secs == 0 {
            return invalid("tls.reload_interval_secs must be at least 1".into());
        }
        if self.auth.evaluation_token.is_some() && self.auth.evaluation_token_file.is_some() {
            return invalid(
                "auth.evaluation_token and auth.evaluation_token_file are both set; keep one"
                    .into(),
            );
        }
        if self
            .model
            .path
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return invalid(
                "model.path must not be empty (leave it out for the default model)".into(),
            );
        }
        if let Some(url) = &self.redis.url
            && !(url.starts_with("redis://") || url.starts_with("redis+unix://"))
        {
            return invalid("redis.url must start with redis:// (or redis+unix://)".into());
        }
        if self.redis.budget_ms == 0 {
            return invalid("redis.budget_ms must be at least 1".into());
        }
        let st = &self.stripe;
        if st.breaker_error_rate_percent > 100 {
            return invalid("stripe.breaker_error_rate_percent must be 0 to 100".into());
        }
        if st.breaker_error_rate_percent > 0 && st.breaker_window_secs == 0 {
            return invalid(
                "stripe.breaker_window_secs must be at least 1 with an error rate set".into(),
            );
        }
        if st.report_outcomes && st.outcome_queue_capacity == 0 {
            return invalid("stripe.outcome_queue_capacity must be at least 1".into());
        }
        if !st
            .list_sync_alias_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return invalid(
                "stripe.list_sync_alias_prefix may hold only letters, digits, `_`, `-` and `.` \
                 (it starts list aliases)"
                    .into(),
            );
        }
        if st.outcome_report_budget_ms == 0 || st.list_sync_budget_secs == 0 {
            return invalid(
                "stripe.outcome_report_budget_ms and stripe.list_sync_budget_secs must be at \
                 least 1"
                    .into(),
            );
        }
        let e = &self.enrichment;
        for (key, value) in [
            ("session_ttl_secs", e.session_ttl_secs),
            (
                "payment_method_session_ttl_secs",
                e.payment_method_session_ttl_secs,
            ),
            ("velocity_idle_expiry_secs", e.velocity_idle_expiry_secs),
            (
                "velocity_sweep_interval_secs",
                e.velocity_sweep_interval_secs,
            ),
            ("outcome_retention_secs", e.outcome_retention_secs),
        ] {
            if value == 0 {
                return invalid(format!("enrichment.{key} must be at least 1"));
            }
        }
        if e.velocity_idle_expiry_secs < 8 * 86_400 {
            return invalid(
                "enrichment.velocity_idle_expiry_secs must be at least 691200 (8 days) so the \
                 weekly windows stay whole"
                    .into(),
            );
        }
        if self
            .grpc
            .uds_path
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return invalid("grpc.uds_path must not be empty (leave it out to disable)".into());
        }
        Ok(())
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError::File {
        path: path.into(),
        message: e.to_string(),
    })
}

fn from_table(table: toml::Table) -> Result<Config, String> {
    Config::deserialize(table).map_err(|e| e.to_string().trim_end().to_owned())
}

fn parse_env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut t = table;
    for p in parents {
        t = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a section"))?;
    }
    t.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_core::decision::Action;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write(text: &str) -> tempfile_lite::TempFile {
        tempfile_lite::TempFile::new(text)
    }

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
    fn secrets_never_print() {
        let c = Config::load(
            None,
            env(&[("RISKGATE_AUTH__EVALUATION_TOKEN", "tok-123")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.auth.evaluation_token().unwrap().unwrap().expose(),
            "tok-123"
        );
        assert!(!format!("{c:?}").contains("tok-123"));
        assert!(!toml::to_string(&c).unwrap().contains("tok-123"));
        let f = write("tok-456\n");
        let c = Config::load(
            None,
            env(&[(
                "RISKGATE_AUTH__EVALUATION_TOKEN_FILE",
                f.path().to_str().unwrap(),
            )]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.auth.evaluation_token().unwrap().unwrap().expose(),
            "tok-456"
        );
    }

    #[test]
    fn tls_settings_go_together() {
        let f = write("[tls]\ncert_path = \"a.pem\"\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("go together")
        );
        let f = write("[tls]\nclient_ca_path = \"ca.pem\"\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("mTLS")
        );
    }

    #[test]
    fn semantic_errors_are_reported() {
        let f = write("[risk]\nelevated_from = 70\nhighest_from = 65\n");
        let err = Config::from_file(f.path()).unwrap_err().to_string();
        assert!(err.contains("elevated_from < highest_from"), "{err}");
        let f = write("[fx]\nxyz = 1.0\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("fx.xyz")
        );
        let f = write("[model]\ncalibration = [[0.0, 0], [1.0, 120]]\n");
        let err = Config::from_file(f.path()).unwrap_err().to_string();
        assert!(
            err.contains("model.calibration") && err.contains("0–99"),
            "{err}"
        );
        let f = write("[model]\ncalibration = [[0.0, 0], [0.02, 20], [0.3, 65], [1.0, 99]]\n");
        assert!(Config::from_file(f.path()).is_ok());
        let f = write("[grpc]\nconcurrency_limit = 0\n");
        assert!(Config::from_file(f.path()).is_err());
        for (toml, key) in [
            (
                "[grpc]\ncpu_target_percent = 99\n",
                "grpc.cpu_target_percent",
            ),
            (
                "[stripe]\nbreaker_error_rate_percent = 150\n",
                "stripe.breaker_error_rate_percent",
            ),
            (
                "[stripe]\nlist_sync_alias_prefix = \"a b\"\n",
                "stripe.list_sync_alias_prefix",
            ),
            (
                "[stripe]\noutcome_queue_capacity = 0\n",
                "stripe.outcome_queue_capacity",
            ),
        ] {
            let err = Config::from_file(write(toml).path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
        let f = write("[actions]\nhighest = \"explode\"\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("explode")
        );
        let f = write("[grpc\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }

    #[test]
    fn rules_admin_token_and_deprecated_actions() {
        let f = write("admin_token = \"very-secret-token\"\n[rules]\npath = \"rules.txt\"\n");
        let c = Config::from_file(f.path()).unwrap();
        assert_eq!(
            c.admin_token.as_ref().map(Secret::expose),
            Some("very-secret-token")
        );
        assert_eq!(c.rules.path.as_deref(), Some(Path::new("rules.txt")));
        // `config show` never prints the token.
        assert!(!toml::to_string(&c).unwrap().contains("very-secret-token"));
        let c = Config::load(
            None,
            env(&[("RISKGATE_ADMIN_TOKEN", "from-the-environment")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.admin_token.as_ref().map(Secret::expose),
            Some("from-the-environment")
        );

        let f = write("[rules]\npath = \"rules.txt\"\n[actions]\nelevated = \"review\"\n");
        let err = Config::from_file(f.path()).unwrap_err().to_string();
        assert!(
            err.contains("actions.* applies only without a rules file"),
            "{err}"
        );
        let f = write("admin_token = \" \"\n");
        assert!(Config::from_file(f.path()).is_err());
    }

    #[test]
    fn admin_token_from_a_file_and_the_flag_wins() {
        let token = write("file-admin-token\n");
        let vars = [("RISKGATE_ADMIN_TOKEN_FILE", token.path().to_str().unwrap())];
        let c = Config::load(None, env(&vars), Overrides::default()).unwrap();
        assert_eq!(
            c.admin_token().unwrap().unwrap().expose(),
            "file-admin-token"
        );
        assert!(!format!("{c:?}").contains("file-admin-token"));
        let flag = Overrides {
            admin_token: Some(Secret::new("flag-token")),
            ..Overrides::default()
        };
        let c = Config::load(None, env(&vars), flag).unwrap();
        assert_eq!(c.admin_token().unwrap().unwrap().expose(), "flag-token");
        let both = write(&format!(
            "admin_token = \"x-token\"\nadmin_token_file = {:?}\n",
            token.path()
        ));
        let err = Config::from_file(both.path()).unwrap_err().to_string();
        assert!(err.contains("admin_token and admin_token_file"), "{err}");
        let missing = Config::load(
            None,
            env(&[("RISKGATE_ADMIN_TOKEN_FILE", "/nonexistent/riskgate-token")]),
            Overrides::default(),
        )
        .unwrap();
        assert!(missing.admin_token().is_err());
    }

    #[test]
    fn enrichment_and_redis_settings_are_checked() {
        let c = Config::load(
            None,
            env(&[
                ("RISKGATE_REDIS__URL", "redis://127.0.0.1:6390"),
                ("RISKGATE_ENRICHMENT__SESSION_TTL_SECS", "60"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.redis.url.as_deref(), Some("redis://127.0.0.1:6390"));
        assert_eq!(c.enrichment.session_ttl_secs, 60);
        let c = Config::load(
            None,
            [],
            Overrides {
                redis_url: Some("redis://10.0.0.1:6379".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.redis.url.as_deref(), Some("redis://10.0.0.1:6379"));
        for bad in [
            "[redis]\nurl = \"http://x\"\n",
            "[redis]\nbudget_ms = 0\n",
            "[enrichment]\nvelocity_idle_expiry_secs = 3600\n",
            "[enrichment]\noutcome_retention_secs = 0\n",
        ] {
            let f = write(bad);
            assert!(Config::from_file(f.path()).is_err(), "{bad}");
        }
    }

    /// A tiny temporary file, removed on drop (avoids a dependency for three tests).
    mod tempfile_lite {
        use std::path::{Path, PathBuf};

        pub struct TempFile(PathBuf);

        impl TempFile {
            pub fn new(text: &str) -> Self {
                let path = std::env::temp_dir().join(format!(
                    "riskgate-config-{}-{}.toml",
                    std::process::id(),
                    fastrand::u64(..)
                ));
                std::fs::write(&path, text).unwrap();
                Self(path)
            }

            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }
}
