//! The decision core: pure and synchronous. A validated [`input::PaymentInput`] becomes
//! [`attributes`] ([`extract`]), the [`model`] scores them, and [`decision`] maps the score to a risk
//! level and an action; [`engine`] strings the stages together.

pub mod attributes;
pub mod calibration;
pub mod decision;
pub mod derive;
pub mod engine;
pub mod enrichment;
pub mod extract;
pub mod features;
pub mod gbdt;
pub mod input;
pub mod model;
pub mod reference;
