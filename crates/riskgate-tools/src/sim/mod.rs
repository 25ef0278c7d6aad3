//! A traffic simulator: seeded, reproducible, labelled card payments in the event format of
//! `docs/events.md`, for tests, the backtest, model training and the load generator.
//!
//! The world: a merchant selling online in eight countries. Customers have a home country and
//! address, one or two cards, one or two devices (user agent and IP) and a habit: a typical basket,
//! a purchase rate, maybe a monthly subscription, maybe a wallet. Around them, fraud:
//!
//! - **card testing**: a bot on one IP and user agent runs dozens of cards from many issuers through
//!   small payments within minutes, mostly guest checkouts without email, pasted card numbers,
//!   seconds on the page; most are declined;
//! - **BIN attack**: card numbers enumerated within one BIN (sequential last 4), tiny amounts, bare
//!   requests, a handful of IPs;
//! - **stolen card**: one or two high-value orders with a card whose issuing country often differs
//!   from the billing or shipping address, a fresh throwaway email, a new device, fast checkout;
//!   authorised, then disputed as fraud weeks later;
//! - **account takeover**: a known customer's account and saved card from a new device and IP,
//!   shipping to a new address, a basket several times the usual; disputed later;
//! - **friendly fraud**: an ordinary purchase by an ordinary customer, disputed as fraud later —
//!   indistinguishable at payment time, as in life.
//!
//! Legitimate traffic has its own noise (travellers and expatriates with foreign cards, password
//! managers that paste, fast returning customers, apps without Radar.js, phone orders keyed in
//! through a thin integration that sends little but the amount), so no single signal is a
//! give-away. Everything is drawn from one seeded generator in a fixed order: the same
//! configuration gives the same events, byte for byte.

mod event;
mod fraud;
mod identity;
mod legit;
mod payment;
mod population;
mod random;
mod world;

pub use event::{Event, Label, Outcome, OutcomeKind, Pattern, write_ndjson};

use population::Customer;
use random::Gen;

/// 2026-09-01T00:00:00Z: the default first day.
pub const DEFAULT_START_UNIX: i64 = 1_788_220_800;
const DAY: i64 = 86_400;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub days: u32,
    /// Unix time of the first day's midnight (UTC).
    pub start_unix: i64,
    /// Size of the legitimate customer base.
    pub customers: usize,
    /// Scales every fraud pattern's rate (1.0 = the rates in `fraud.rs`).
    pub fraud_scale: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            days: 30,
            start_unix: DEFAULT_START_UNIX,
            customers: 3000,
            fraud_scale: 1.0,
        }
    }
}

/// Generates the events of `config`, sorted by time.
pub fn simulate(config: &SimConfig) -> Vec<Event> {
    let mut g = Gen::new(config.seed, config.start_unix);
    let customers: Vec<Customer> = (0..config.customers).map(|_| g.customer()).collect();
    let mut events = Vec::new();
    for day in 0..i64::from(config.days) {
        let midnight = config.start_unix + day * DAY;
        g.legitimate_day(&customers, midnight, &mut events);
        g.fraud_day(&customers, midnight, config.fraud_scale, &mut events);
    }
    events.sort_by_key(|e| e.occurred_at);
    events
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use riskgate::api::validate;

    fn small() -> SimConfig {
        SimConfig {
            seed: 42,
            days: 6,
            customers: 400,
            fraud_scale: 3.0,
            ..Default::default()
        }
    }

    #[test]
    fn every_request_validates_and_round_trips() {
        let events = simulate(&small());
        assert!(events.len() > 300, "{}", events.len());
        for e in &events {
            // What a reader of the NDJSON gets back, the API must accept.
            let line = e.to_json();
            let back: Event = serde_json::from_str(&line).unwrap();
            if let Err(v) = validate::payment_evaluation(&back.request) {
                panic!("{v:?}\n{line}");
            }
            assert_eq!(back.to_json(), line);
            assert_eq!((back.label, &back.outcome), (e.label, &e.outcome));
        }
    }

    #[test]
    fn same_seed_same_events_other_seed_other_events() {
        let a: Vec<String> = simulate(&small()).iter().map(Event::to_json).collect();
        let b: Vec<String> = simulate(&small()).iter().map(Event::to_json).collect();
        assert_eq!(a, b);
        let c = simulate(&SimConfig {
            seed: 43,
            ..small()
        });
        assert_ne!(a.len(), 0);
        assert!(c.iter().map(Event::to_json).ne(a));
    }

    #[test]
    fn traffic_is_sorted_mostly_legitimate_and_has_every_pattern() {
        let events = simulate(&SimConfig {
            days: 20,
            customers: 3000,
            fraud_scale: 1.0,
            ..small()
        });
        assert!(
            events
                .windows(2)
                .all(|w| w[0].occurred_at <= w[1].occurred_at)
        );
        let mut counts: HashMap<Pattern, usize> = HashMap::new();
        for e in &events {
            *counts.entry(e.label.pattern).or_default() += 1;
            assert_eq!(e.label.fraud, e.label.pattern != Pattern::Legitimate);
        }
        for p in [
            Pattern::Legitimate,
            Pattern::CardTesting,
            Pattern::StolenCard,
            Pattern::AccountTakeover,
            Pattern::FriendlyFraud,
            Pattern::BinAttack,
        ] {
            assert!(
                counts.get(&p).copied().unwrap_or(0) > 0,
                "{p:?}: {counts:?}"
            );
        }
        assert!(
            counts[&Pattern::Legitimate] * 2 > events.len(),
            "{counts:?}"
        );
    }

    #[test]
    fn card_testing_runs_many_cards_through_one_ip() {
        let events = simulate(&small());
        let mut cards_per_ip: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
        for e in events
            .iter()
            .filter(|e| e.label.pattern == Pattern::CardTesting)
        {
            let ip = &e
                .request
                .client_device_metadata_details
                .as_ref()
                .unwrap()
                .ip;
            let card = e
                .request
                .payment_details
                .as_ref()
                .unwrap()
                .payment_method_details
                .as_ref()
                .unwrap()
                .card
                .as_ref()
                .unwrap();
            cards_per_ip
                .entry(ip)
                .or_default()
                .insert(&card.fingerprint);
            assert!(e.request.payment_details.as_ref().unwrap().amount < 600);
        }
        assert!(
            cards_per_ip.values().any(|cards| cards.len() >= 15),
            "{cards_per_ip:?}"
        );
    }
}
