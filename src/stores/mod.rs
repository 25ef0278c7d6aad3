//! State that outlives one evaluation, behind small traits, each with an in-process and a Redis
//! backend: enrichment [`state`] (sessions, velocity, remembered evaluations), value [`lists`],
//! and idempotent answers ([`idempotency`]). One error type, [`StoreError`].

pub mod capped;
pub mod error;
pub mod idempotency;
pub mod lists;
pub mod redis;
pub mod state;

pub use error::StoreError;
