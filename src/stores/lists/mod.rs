//! Where value lists are kept: the process's own fsynced journal ([`journal::ListStore`], served by
//! [`backend::JournalLists`]) or Redis, shared by every replica ([`redis::RedisLists`]). Both fill
//! the core's [`riskgate_core::lists::ListCell`]s that compiled rules read.

pub mod backend;
pub mod checks;
pub mod journal;
pub mod page;
pub mod redis;
mod state;
pub mod store;
pub mod types;
