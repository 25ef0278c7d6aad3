//! Fuzzes the rule parser and compiler: no input may panic, and any rule that parses must print to
//! text that parses back to the same rule.
//!
//! `cargo +nightly fuzz run parse_rule` (from the repository root; needs cargo-fuzz and nightly).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate_core::{lists::OfflineLists, rules::{parser::parse_rule, RuleSet}};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Ok(rule) = parse_rule(line) {
            let printed = rule.to_string();
            let again = parse_rule(&printed).expect("a printed rule parses");
            assert_eq!(again, rule, "{printed}");
        }
    }
    // Compiling a whole file (names, types, lists) never panics either.
    let _ = RuleSet::compile(text, &OfflineLists);
});
