//! Fuzzes the parsing of Stripe's answers (a payment evaluation in either shape, any object, an
//! error): they come over the network, from Stripe or from whatever answers at `stripe.base_url`.
//! No input may panic; every refusal is a `ParseError`.
//!
//! `cargo +nightly fuzz run stripe_answer` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate::stripe::answer::{parse, parse_error, parse_object};

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
    let _ = parse_object(data, "radar.payment_evaluation");
    let _ = parse_error(data);
});
