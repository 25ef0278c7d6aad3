//! Fuzzes the webhook endpoint's payload handling: any body, correctly signed (as Stripe or
//! whoever holds the signing secret would send it), goes through the handler — JSON, the event and
//! the charge it names (`WebhookJob::from_event`), the deliveries ledger's dedupe. No input may
//! panic; every refusal is a `WebhookError`, and a second delivery of an accepted event is a
//! duplicate.
//!
//! `cargo +nightly fuzz run webhook_event` (from the repository root; needs cargo-fuzz).

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use riskgate::{
    config::Secret,
    stores::webhooks::WebhookLedger,
    stripe::{
        signature::sign_header,
        webhook::{Handled, WebhookHandler},
        webhook_worker,
    },
};

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_795_219_200;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
}

fuzz_target!(|body: &[u8]| {
    let (queue, _jobs) = webhook_worker::queue();
    let handler = WebhookHandler::new(
        Secret::new(SECRET),
        Duration::from_secs(300),
        WebhookLedger::in_memory(16),
        queue,
    );
    let header = sign_header(SECRET, NOW, body);
    RUNTIME.with(|rt| {
        rt.block_on(async {
            if let Ok(Handled::Accepted { .. }) = handler.handle(Some(&header), body, NOW).await {
                let again = handler.handle(Some(&header), body, NOW).await;
                assert!(matches!(again, Ok(Handled::Duplicate)), "{again:?}");
            }
        })
    });
});
