//! The analyst review queue (`[reviews]`): every REVIEW decision opens a review an analyst
//! approves or rejects (ReviewService, the review page on the admin port, `riskgate reviews`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[reviews]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewsConfig {
    /// Open a review for every REVIEW decision.
    pub enabled: bool,
    /// The reviews journal (append-only, fsynced, compacted; created 0600). Unset:
    /// `reviews.journal` in the data directory (memory only without one). Not used with
    /// `redis.url`: reviews then live in Redis, shared by replicas.
    pub path: Option<PathBuf>,
    /// How long a closed review is kept after it closed.
    pub retention_secs: u64,
    /// Most open reviews; a REVIEW decision beyond it opens none (and is counted).
    pub max_open: usize,
    /// Reviews being written at once; a REVIEW decision beyond it opens none (and is counted)
    /// rather than queueing behind a slow disk or Redis.
    pub max_pending_opens: usize,
    /// How long a review may wait for an analyst: older open reviews are counted in
    /// `riskgate_reviews_over_sla` (the alert and the dashboard use it) and flagged on the page.
    pub sla_secs: u64,
    /// A reject also adds the payment's card fingerprint and email to the block lists below.
    pub block_on_reject: bool,
    /// Alias of the card fingerprint block list.
    pub card_fingerprint_list: String,
    /// Alias of the email block list.
    pub email_list: String,
    /// How long a review page login lasts.
    pub session_ttl_secs: u64,
}

impl Default for ReviewsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            retention_secs: 90 * 86_400,
            max_open: 50_000,
            max_pending_opens: 256,
            sla_secs: 4 * 3600,
            block_on_reject: false,
            card_fingerprint_list: "block_list_card_fingerprint".into(),
            email_list: "block_list_email".into(),
            session_ttl_secs: 8 * 3600,
        }
    }
}

impl ReviewsConfig {
    /// What the types alone cannot say.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(format!("reviews.{m}")));
        if self.max_open == 0 {
            return invalid("max_open must be at least 1");
        }
        if self.max_pending_opens == 0 {
            return invalid("max_pending_opens must be at least 1");
        }
        if self.retention_secs == 0 {
            return invalid("retention_secs must be at least 1");
        }
        if self.session_ttl_secs == 0 {
            return invalid("session_ttl_secs must be at least 1");
        }
        if self.block_on_reject
            && (self.card_fingerprint_list.is_empty() || self.email_list.is_empty())
        {
            return invalid(
                "card_fingerprint_list and email_list must name lists with block_on_reject",
            );
        }
        Ok(())
    }
}
