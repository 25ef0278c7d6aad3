//! Fuzzes opening a value lists journal (the lists riskgate keeps in its data directory, or at
//! `lists.path`): a file cut short by a crash, edited by hand or damaged on disk. No input may
//! panic; a journal that does not apply is a `StoreError`, and one that opens can be written to.
//!
//! `cargo +nightly fuzz run lists_journal` (from the repository root; needs cargo-fuzz).

#![no_main]

use libfuzzer_sys::fuzz_target;
use riskgate::stores::lists::store::ListStore;

const NOW: i64 = 1_795_219_200;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("riskgate-fuzz-journal-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("lists.journal");
    std::fs::write(&path, data).expect("temp file");
    let _ = ListStore::open(&path, NOW);
});
