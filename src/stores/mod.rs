//! State that outlives one evaluation, behind small traits, each with an in-process and a Redis
//! backend: enrichment [`state`] (sessions, velocity, remembered evaluations), value [`lists`],
//! idempotent answers ([`idempotency`]), and the Stripe webhook deliveries ledger ([`webhooks`]).
//! One error type, [`StoreError`].

pub mod error;
pub mod idempotency;
pub mod lists;
pub mod ndjson;
pub mod redis;
pub mod state;
pub mod webhooks;

pub use error::StoreError;
