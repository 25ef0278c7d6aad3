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
    /// `Stripe-Version` of Payment Evaluations (and the reports on them). Any version from
    /// 2026-01-28 on; the answer is understood in either shape whatever the version.
    pub api_version: String,
    /// `Stripe-Version` of `GET /v1/charges/{id}`.
    pub charges_api_version: String,
    /// `Stripe-Version` of the value list sync (`GET /v1/radar/value_lists`, `…/value_list_items`).
    pub lists_api_version: String,
    /// The account takes part in Stripe's private preview of Payment Evaluations: with a
    /// `.preview` `api_version` that has them, inline device data (from 2026-04-01.preview) and
    /// card facts (from 2026-07-08.preview) are sent as that preview accepts them. The public
    /// preview and GA versions accept neither.
    pub private_preview: bool,
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
    /// Forward `ReportPaymentOutcome` (and riskgate's own blocks) to Stripe for evaluations Stripe
    /// scored, in the background. Off by default: no published Stripe description confirms the
    /// paths of these reports.
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

/// The default `Stripe-Version` of every endpoint family: the newest GA version (stripe-go's
/// master; the spec fixture documents Payment Evaluations, charges and value lists under it).
pub const DEFAULT_API_VERSION: &str = "2026-07-29.dahlia";

/// Whether `v` reads as a Stripe API version: `YYYY-MM-DD`, optionally `.name` (`.dahlia`,
/// `.preview`) of lower-case letters.
pub fn is_api_version(v: &str) -> bool {
    let (date, name) = match v.split_once('.') {
        Some((date, name)) => (date, Some(name)),
        None => (v, None),
    };
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && name.is_none_or(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_lowercase()))
}

/// Environment variable with Stripe's secret key.
pub const STRIPE_SECRET_KEY_ENV: &str = "STRIPE_SECRET_KEY";
/// Environment variable with the webhook endpoint's signing secret.
pub const STRIPE_WEBHOOK_SECRET_ENV: &str = "STRIPE_WEBHOOK_SECRET";

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.stripe.com".into(),
            api_version: DEFAULT_API_VERSION.into(),
            charges_api_version: DEFAULT_API_VERSION.into(),
            lists_api_version: DEFAULT_API_VERSION.into(),
            private_preview: false,
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
            report_outcomes: false,
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
    /// Add the card fingerprint and email of the charges of early fraud warnings and fraudulent
    /// disputes to the block lists below.
    pub block: bool,
    /// Alias of the card fingerprint block list.
    pub card_fingerprint_list: String,
    /// Alias of the email block list.
    pub email_list: String,
    /// NDJSON file the fraud labels are appended to (docs/events.md outcome shape); unset = off.
    pub labels_path: Option<PathBuf>,
    /// The deliveries ledger: accepted event ids (a restart does not apply an event again) and
    /// the events accepted but not yet applied (applied after a restart). Unset: next to
    /// `enrichment.outcomes_path` (`webhooks.journal`) when that is set, else in memory. With
    /// `redis.url`, event ids are also claimed on Redis, shared by every replica.
    pub journal_path: Option<PathBuf>,
    /// Budget of one `GET /v1/charges/{id}` (Stripe's retries included), milliseconds.
    pub charge_fetch_budget_ms: u64,
    /// Tries of an event whose charge fetch or label failed for a reason that may pass, before
    /// it is left pending until the next start.
    pub max_attempts: u32,
    /// Wait before the second try of an event; doubles each time (jittered), up to
    /// `retry_max_backoff_ms`.
    pub retry_initial_backoff_ms: u64,
    pub retry_max_backoff_ms: u64,
    /// Events applied at the same time (each fetches one charge).
    pub concurrency: usize,
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
            journal_path: None,
            charge_fetch_budget_ms: 10_000,
            max_attempts: 10,
            retry_initial_backoff_ms: 1_000,
            retry_max_backoff_ms: 300_000,
            concurrency: 4,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_are_dates_with_a_release_name() {
        for ok in ["2026-07-29.dahlia", "2026-04-01.preview", "2024-06-20"] {
            assert!(is_api_version(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-7-29",
            "2026-07-29.",
            "2026-07-29.Dahlia",
            "latest",
            "2026/07/29",
        ] {
            assert!(!is_api_version(bad), "{bad}");
        }
    }
}
