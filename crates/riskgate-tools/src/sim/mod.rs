//! A traffic simulator: seeded, reproducible, labelled card payments in the event format of
//! `docs/events.md`, for tests, the backtest, model training and evaluation, and the load
//! generator.
//!
//! The world: a merchant selling online in eight countries. Customers have a home country and
//! address, one or two cards saved under their account, one or two devices (browser, device id,
//! usual IP) and a habit: a typical basket, a purchase rate, maybe a monthly subscription or
//! merchant-initiated top-ups (off session, no device data), maybe a wallet. Around them, fraud
//! (`fraud.rs` has the table of patterns and their shares):
//!
//! - **card testing**: a bot on one IP and user agent runs dozens of cards from many issuers through
//!   small payments within minutes, mostly guest checkouts without email, pasted card numbers,
//!   seconds on the page; most are declined;
//! - **BIN attack**: card numbers enumerated within one BIN (sequential last 4), tiny amounts, bare
//!   requests, a handful of IPs;
//! - **stolen card**: one to three high-value orders with a card whose issuing country often
//!   differs from the billing or shipping address, a fresh throwaway email, a new device, fast
//!   checkout; authorised, then an early fraud warning days later, a refund as fraud or a fraud
//!   dispute weeks later;
//! - **repeat fraud**: a stolen card used again after its fraud was reported;
//! - **returning fraudster**: a new stolen card with the email, customer account or device of
//!   earlier fraud;
//! - **account takeover**: a known customer's account and saved card from a new device and IP,
//!   shipping to a new address, often with the account's email changed, a basket several times
//!   the usual; reported by the victim within days, disputed later;
//! - **friendly fraud**: an ordinary purchase by an ordinary customer, disputed as fraud later —
//!   indistinguishable at payment time, as in life.
//!
//! What is learned after a payment comes at its own time (`outcomes`): declines at once, early
//! fraud warnings days later, disputes weeks later; a card reported as fraud is replaced by its
//! issuer. Legitimate traffic has its own noise (travellers and expatriates with foreign cards,
//! password managers that paste, fast returning customers, apps without Radar.js, guests through a
//! thin integration, phone orders keyed in by staff, emails changed, refunds and disputes that are
//! not fraud), so no single signal is a give-away. Everything is drawn from one seeded generator in
//! a fixed order: the same configuration gives the same events, byte for byte.

mod event;
mod fraud;
mod identity;
mod legit;
mod payment;
mod population;
mod random;
mod stolen;
mod takeover;
mod world;

pub use event::{Event, Label, Outcome, OutcomeKind, Pattern, merge_outcomes, write_ndjson};

use fraud::{Day, FRIENDLY_FRAUD_SHARE, PATTERNS, Rates};
use population::Customer;
use random::Gen;

/// 2026-09-01T00:00:00Z: the default first day.
pub const DEFAULT_START_UNIX: i64 = 1_788_220_800;
/// The default share of fraudulent payments: card-not-present fraud runs well under 1 % of
/// payments.
pub const DEFAULT_FRAUD_RATE: f64 = 0.005;
const DAY: i64 = 86_400;
/// New customers per day, as a share of the initial customer base: a shop keeps finding new
/// customers, whose first payments riskgate has never seen anything of.
const NEW_CUSTOMERS_PER_DAY: f64 = 0.003;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub days: u32,
    /// Unix time of the first day's midnight (UTC).
    pub start_unix: i64,
    /// Size of the legitimate customer base on the first day (it grows by 0.3 % of it a day).
    pub customers: usize,
    /// Expected share of fraudulent payments (0 ≤ rate < 1), split among the patterns by their
    /// shares ([`pattern_shares`]).
    pub fraud_rate: f64,
    /// Multiplies every fraud pattern's rate (1.0 = `fraud_rate` as given).
    pub fraud_scale: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            days: 30,
            start_unix: DEFAULT_START_UNIX,
            customers: 3000,
            fraud_rate: DEFAULT_FRAUD_RATE,
            fraud_scale: 1.0,
        }
    }
}

/// Each fraud pattern's share of fraudulent payments (they add up to 1). Repeat fraud and
/// returning fraudsters need earlier fraud to have been learned, so they start once it is.
pub fn pattern_shares() -> Vec<(Pattern, f64)> {
    PATTERNS
        .iter()
        .map(|p| (p.pattern, p.share))
        .chain([(Pattern::FriendlyFraud, FRIENDLY_FRAUD_SHARE)])
        .collect()
}

/// Generates the events of `config`, sorted by time.
pub fn simulate(config: &SimConfig) -> Vec<Event> {
    let mut g = Gen::new(config.seed, config.start_unix);
    let mut customers: Vec<Customer> = (0..config.customers).map(|_| g.customer()).collect();
    let mut burned = Vec::new();
    let mut events = Vec::new();
    for day in 0..i64::from(config.days) {
        let midnight = config.start_unix + day * DAY;
        if day > 0 {
            for _ in 0..g.poisson(config.customers as f64 * NEW_CUSTOMERS_PER_DAY) {
                customers.push(g.customer());
            }
        }
        // The fraud rate holds as the customer base grows.
        let rates = Rates::new(&customers, config.fraud_rate, config.fraud_scale);
        g.legitimate_day(&mut customers, midnight, rates.friendly, &mut events);
        let mut today = Day {
            midnight,
            customers: &mut customers,
            burned: &mut burned,
        };
        g.fraud_day(&mut today, &rates, &mut events);
    }
    events.sort_by_key(|e| e.occurred_at);
    events
}

#[cfg(test)]
mod tests;
