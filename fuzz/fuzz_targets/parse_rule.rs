//! Fuzzes the rule parser and compiler: no input may panic or overflow the stack, any rule that
//! parses must print to text that parses back to the same rule, and its tree must be no deeper than
//! the nesting limit allows (each `(` level adds at most an OR and an AND node, each `NOT` one),
//! so that every walk of it is bounded.
//!
//! `cargo +nightly fuzz run parse_rule` (from the repository root; needs cargo-fuzz and nightly).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate_core::{
    lists::OfflineLists,
    rules::{
        RuleSet,
        ast::Expr,
        parser::{MAX_NESTING, parse_rule},
    },
};

fn depth(e: &Expr) -> usize {
    match e {
        Expr::Or(items) | Expr::And(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Expr::Not(inner) => 1 + depth(inner),
        _ => 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Ok(rule) = parse_rule(line) {
            assert!(depth(&rule.condition) <= 2 * MAX_NESTING + 3, "{line}");
            let printed = rule.to_string();
            let again = parse_rule(&printed).expect("a printed rule parses");
            assert_eq!(again, rule, "{printed}");
        }
    }
    // Compiling a whole file (names, types, lists) never panics either.
    let _ = RuleSet::compile(text, &OfflineLists);
});
