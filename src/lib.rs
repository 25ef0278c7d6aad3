//! riskgate: a pre-authorization fraud gateway for card payments — the gateway library.
//!
//! Folders follow the payment (docs/ARCHITECTURE.md): the gRPC edge ([`api`]: decode, validate,
//! map) → the [`pipeline`] (the order of stages) → the enrichment stage ([`enrich`]) over state
//! ([`stores`]) → scoring ([`scoring`]: the local model, or Stripe through [`stripe`]) → the pure
//! decision core (crate `riskgate_core`: attributes, model, rules, decision) → answer + record
//! ([`record`]). Serving (listeners, layers, admin HTTP, reload) is [`server`]; configuration
//! [`config`]; time [`clock`]; metric names [`telemetry`].

pub mod api;
pub mod clock;
pub mod config;
pub mod enrich;
pub mod faults;
pub mod ids;
pub mod pipeline;
pub mod proto;
pub mod pseudonym;
pub mod record;
pub mod scoring;
pub mod server;
pub mod shutdown;
pub mod stores;
pub mod stripe;
pub mod telemetry;
