//! Fuzzes the Redis entity record (`stores::state::redis` — velocity and outcome memory in one
//! string: a head, then appended 24-byte entries): whoever can write to Redis controls these
//! bytes. The first 4 bytes are the evaluation's time (Unix seconds), the rest the record. It is
//! read as an evaluation reads it (the history before a payment of every key kind, the outcome
//! memory) and written back as a compaction writes it, which must read again. Malformed input is
//! an error (the evaluation degrades); nothing may panic.
//!
//! `cargo +nightly fuzz run redis_record` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate::stores::state::redis::check_entity_record;

fuzz_target!(|data: &[u8]| {
    let Some((now, raw)) = data.split_first_chunk::<4>() else {
        return;
    };
    let _ = check_entity_record(raw, i64::from(u32::from_le_bytes(*now)));
});
