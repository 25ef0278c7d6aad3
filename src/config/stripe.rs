//! Stripe: the Payment Evaluations API client and the webhooks endpoint.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, secret::resolve_secret};

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
