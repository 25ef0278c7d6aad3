//! Fuzzes `Stripe-Signature` checking, which anyone who can reach the admin port can send: the
//! first line is the header, the rest the body. No input may panic; a header riskgate itself signs
//! for a body always verifies, and the fuzzed header never verifies against another secret.
//!
//! `cargo +nightly fuzz run webhook_signature` (from the repository root; needs cargo-fuzz).

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use riskgate::stripe::signature::{parse, sign_header, verify};

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_795_219_200;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    let _ = parse(Some(header));
    let tolerance = Duration::from_secs(300);
    if let Ok(t) = verify(Some(header), body, SECRET, tolerance, NOW) {
        // Only a genuine signature verifies: the same header with another secret never does.
        assert!(verify(Some(header), body, "whsec_other", tolerance, NOW).is_err());
        assert!((t - NOW).abs() <= 300);
    }
    let genuine = sign_header(SECRET, NOW, body);
    assert_eq!(verify(Some(&genuine), body, SECRET, tolerance, NOW), Ok(NOW));
});
