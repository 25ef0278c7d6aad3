//! Fuzzes the Redis value-list change-log and record parsers (`stores::lists::redis::records`):
//! whoever can write to Redis controls these bytes. The input is split into NUL-separated fields:
//! the first is a stream entry id, the rest field/value pairs of a log entry; the same fields are
//! also read as list and item records (`<seq> <json>`). Parsed entries are applied to a replica
//! copy as the follower does, and records are loaded as a snapshot. Nothing may panic: malformed
//! input is an error, and an entry that does not fit the copy is refused (the follower then
//! reloads a snapshot).
//!
//! `cargo +nightly fuzz run redis_list_log` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate::stores::lists::{
    redis::records::{parse_entry, parse_item, parse_list},
    store::ListStore,
    types::Op,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.split('\0').map(str::to_owned);
    let id = fields.next().unwrap_or_default();
    let fields: Vec<String> = fields.collect();

    let copy = ListStore::replica();
    if let Ok(entry) = parse_entry((id, fields.clone())) {
        let _ = copy.apply_replicated(entry.op);
    }
    // Each field as a log entry's `op` too, applied in order.
    for f in &fields {
        if let Ok(entry) = parse_entry(("1-0".into(), vec!["seq".into(), "1".into(), "op".into(), f.clone()])) {
            let _ = copy.apply_replicated(entry.op);
        }
    }
    // The fields as list and item records: a snapshot.
    let mut creations: Vec<(u64, Op)> = Vec::new();
    for f in &fields {
        if let Ok((seq, list, _)) = parse_list(f) {
            creations.push((seq, Op::CreateList(list)));
        }
        if let Ok((seq, item)) = parse_item(f) {
            creations.push((seq, Op::CreateItem(item)));
        }
    }
    creations.sort_unstable_by_key(|(seq, _)| *seq);
    let _ = copy.replace_replicated(creations.into_iter().map(|(_, op)| op).collect());
});
