//! Fuzzes the webhook endpoint's payload handling: any body, correctly signed (as Stripe or
//! whoever holds the signing secret would send it), goes through the whole handler — JSON, event
//! type, early fraud warnings and disputes applied to the value lists, dedupe. No input may panic;
//! every refusal is a `WebhookError`, and a second delivery of an accepted event is a duplicate.
//!
//! `cargo +nightly fuzz run webhook_event` (from the repository root; needs cargo-fuzz).

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use riskgate::{
    config::{Secret, WebhooksConfig},
    stores::lists::{backend::JournalLists, store::ListStore},
    stripe::{
        signature::sign_header,
        webhook::{Handled, WebhookHandler},
    },
};

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_795_219_200;

fuzz_target!(|body: &[u8]| {
    let lists = Arc::new(JournalLists::new(Arc::new(ListStore::in_memory(NOW))));
    let handler = WebhookHandler::new(Secret::new(SECRET), WebhooksConfig::default(), lists)
        .expect("no labels file");
    let header = sign_header(SECRET, NOW, body);
    if let Ok(first) = handler.handle(Some(&header), body, NOW) {
        if !matches!(first, Handled::Duplicate) {
            let again = handler.handle(Some(&header), body, NOW);
            assert!(matches!(again, Ok(Handled::Duplicate)), "{again:?}");
        }
    }
});
