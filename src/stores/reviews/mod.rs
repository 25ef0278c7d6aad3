//! Reviews: every REVIEW decision becomes a case an analyst closes. [`ReviewStore`] is the one
//! interface; [`journal::JournalReviews`] keeps reviews in process, durable in an fsynced
//! append-only journal (or in memory only), and [`redis::RedisReviews`] keeps them in Redis,
//! shared by every replica. Both change a review with the one pure function [`types::apply`], so
//! only the first of two concurrent verdicts on a review wins, on either backend.
//!
//! Bounds: at most `reviews.max_open` open reviews (a REVIEW decision beyond it opens none and is
//! counted); closed reviews are kept `reviews.retention_secs` after they closed; a review keeps at
//! most [`types::MAX_HISTORY`] history entries.

pub mod journal;
pub mod redis;
pub mod types;

pub use types::{
    Change, ClosedReason, Evidence, FraudType, OpenedReason, Query, QueueStats, Review, StateFilter,
};

use super::StoreError;

/// Where reviews live.
#[tonic::async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    /// Adds a new open review; refused (`Refused`) when `max_open` reviews are open already.
    async fn open(&self, review: Review, now: i64) -> Result<(), StoreError>;

    /// A review by id (`NotFound` when unknown or expired).
    async fn get(&self, id: &str) -> Result<Review, StoreError>;

    /// Applies `change` by `actor` at `now` to review `id`, atomically: of two concurrent closes,
    /// one wins and the other is refused. Returns the review as changed.
    async fn change(
        &self,
        id: &str,
        change: &Change,
        actor: &str,
        now: i64,
    ) -> Result<Review, StoreError>;

    /// One page of the reviews `query` asks for, and whether more follow.
    async fn list(&self, query: &Query<'_>, now: i64) -> Result<(Vec<Review>, bool), StoreError>;

    /// Up to `limit` other reviews sharing one of `links` (newest first), `exclude` aside.
    async fn related(
        &self,
        links: &[String],
        exclude: &str,
        limit: usize,
    ) -> Result<Vec<Review>, StoreError>;

    /// The open queue's size and age at `now`, and how many open reviews are older than
    /// `sla_secs`.
    async fn stats(&self, now: i64, sla_secs: u64) -> Result<QueueStats, StoreError>;

    /// Forgets closed reviews past their retention; returns how many went. Backends that expire
    /// by themselves do nothing.
    async fn sweep(&self, _now: i64) -> Result<usize, StoreError> {
        Ok(0)
    }
}
