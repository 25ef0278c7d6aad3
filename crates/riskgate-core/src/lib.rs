//! riskgate's decision core: pure and synchronous, no I/O.
//!
//! A validated payment ([`input::PaymentInput`]) and what the enrichment stage found about it
//! ([`signals::Signals`]) become [`attributes`]; a local [`model`] scores them; the Radar
//! [`rules`] (with value [`lists`]) and the risk thresholds of [`decision`] turn the score into an
//! action ([`engine::Engine`]). Reference data (currencies, countries, FX) is in
//! [`reference`].
//!
//! Nothing here reads a file, opens a socket or waits: the gateway calls this crate on the request
//! path, and its speed is the hot path's (`cargo bench -p riskgate-core`).

pub mod attributes;
pub mod decision;
pub mod engine;
pub mod input;
pub mod lists;
pub mod model;
pub mod reference;
pub mod rules;
pub mod signals;
pub mod text;
