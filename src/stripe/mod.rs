//! Stripe, reached over the network, and Stripe reaching us:
//!
//! - [`client`]: the Payment Evaluations client (hyper, pooled keep-alive, rustls), with retries as
//!   Stripe's SDKs decide them ([`retry`]) that never pass the budget, a per-upstream
//!   [`breaker::Breaker`], and a `Stripe-Version` per endpoint family;
//! - [`version`]: what each API version of Payment Evaluations accepts and answers;
//! - [`form`]: Stripe's bracket-notation form encoding, exactly the parameters the configured
//!   version takes; [`answer`]: both answer shapes;
//! - [`webhook`]: `Stripe-Signature` verification and the events riskgate acts on;
//!   [`events`]: those events and the charges they name; [`webhook_worker`]: fetching the charges
//!   and applying the labels, off the request path;
//! - [`outcomes`]: outcomes forwarded to Stripe in the background (off by default: unconfirmed
//!   paths), with values mapped onto the report's sets by [`report_values`];
//! - [`lists`]: Stripe's Radar value lists mirrored, read-only, for rules.

pub mod answer;
pub mod basic_auth;
pub mod breaker;
pub mod client;
pub mod events;
pub mod form;
pub mod lists;
pub mod outcomes;
pub mod report_values;
pub mod retry;
pub mod version;
pub mod webhook;
pub mod webhook_worker;
