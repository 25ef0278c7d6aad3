//! State that outlives one evaluation, behind small traits, each with an in-process and a Redis
//! backend: enrichment [`state`] (sessions, velocity, remembered evaluations), value [`lists`],
//! idempotent answers ([`idempotency`]), the Stripe webhook deliveries ledger ([`webhooks`]) and
//! analysts' [`reviews`]. One error type, [`StoreError`].

pub mod capped;
pub mod error;
pub mod idempotency;
pub mod lists;
pub mod ndjson;
pub mod redis;
pub mod reviews;
pub mod state;
pub mod webhooks;

pub use error::StoreError;
