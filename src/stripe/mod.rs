//! Stripe, reached over the network, and Stripe reaching us:
//!
//! - [`client`]: the Payment Evaluations client (hyper, pooled keep-alive, rustls), with Stripe-style
//!   retries that never pass the budget and a per-upstream [`breaker::Breaker`];
//! - [`form`]: Stripe's bracket-notation form encoding; [`answer`]: both answer shapes;
//! - [`signature`]: `Stripe-Signature` verification, bounded before any HMAC;
//! - [`webhook`]: the events riskgate acts on;
//! - [`outcomes`]: `ReportPaymentOutcome` forwarded to Stripe in the background;
//! - [`lists`]: Stripe's Radar value lists mirrored, read-only, for rules.

pub mod answer;
pub mod breaker;
pub mod client;
pub mod form;
pub mod lists;
pub mod outcomes;
pub mod signature;
pub mod webhook;
