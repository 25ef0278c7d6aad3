//! Measures the memory of the in-process velocity counters: fills them with N active keys (default
//! 1,000,000) the way evaluations do — every payment new, with its card, email, IP, customer,
//! billing and shipping keys and their distinct values — and prints the process RSS growth per key,
//! and the bytes the map accounts for against its budget (`enrichment.velocity_max_bytes`).
//! With MAX_BYTES, the budget is that (default: unbounded), and the keys beyond it are evicted.
//!
//! ```text
//! cargo run --release --example velocity_memory -- [KEYS] [MAX_BYTES]
//! ```

use riskgate::stores::state::{Attempt, velocity::VelocityStore};

/// The server's allocator (`crates/riskgate-cli`), so the figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use riskgate_core::signals::{Dim, KeyKind};

/// Resident set size of this process, bytes (Linux).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm has resident pages");
    pages * 4096
}

fn main() {
    let target: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("KEYS is a number"))
        .unwrap_or(1_000_000);
    let budget: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse().expect("MAX_BYTES is a number"))
        .unwrap_or(usize::MAX);
    let store = VelocityStore::new(budget);
    let before = rss_bytes();
    let start = 1_795_219_200i64;
    let kinds = [
        KeyKind::Card,
        KeyKind::Email,
        KeyKind::Ip,
        KeyKind::Customer,
        KeyKind::BillingAddress,
        KeyKind::ShippingAddress,
    ];
    let mut n: u64 = 0;
    let mut payment: u64 = 0;
    while n < target {
        let mut a = Attempt {
            usd: 42.0,
            ..Default::default()
        };
        for kind in kinds {
            if n < target {
                // Distinct per payment and kind (a well-mixed 64-bit value, as key hashes are).
                let h = (payment * 8 + kind as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                a.keys[kind as usize] = Some(h);
                n += 1;
            }
        }
        for dim in [Dim::Card, Dim::Email, Dim::Name, Dim::Customer] {
            a.dims[dim as usize] = Some((payment as u32).wrapping_mul(2_654_435_761) ^ dim as u32);
        }
        // Payments spread over a day, so keys hold real buckets.
        store.lookup_and_record(&a, start + (payment % 86_400) as i64);
        payment += 1;
    }
    let after = rss_bytes();
    let grown = after.saturating_sub(before);
    println!(
        "keys={} payments={} rss_before={:.1}MB rss_after={:.1}MB grown={:.1}MB bytes_per_key={:.0} \
         accounted={:.1}MB accounted_per_key={:.0} evicted={}",
        store.len(),
        payment,
        before as f64 / 1e6,
        after as f64 / 1e6,
        grown as f64 / 1e6,
        grown as f64 / store.len() as f64,
        store.bytes() as f64 / 1e6,
        store.bytes() as f64 / store.len() as f64,
        store.evicted()
    );
}
