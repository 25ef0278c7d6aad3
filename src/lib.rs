//! riskgate: a pre-authorization fraud gateway for card payments.
//!
//! The data flow, and so the module layout:
//! gRPC edge ([`service`]: decode, validate, map) → [`core`] (attributes → model score → risk level →
//! action; pure and synchronous) → answer + record. Serving concerns (listeners, health, reflection,
//! admin HTTP, load shedding, shutdown) live in [`server`]; configuration in [`config`]; metric names
//! and the recorder in [`telemetry`]; idempotent replays in [`idempotency`]; the enrichment stage
//! (sessions, IP country, velocity, outcomes) in [`enrich`].

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
