//! The legitimate customer base: who they are, where they live, what they pay with and how they shop.

use super::{
    identity::{Addr, Card, Device},
    random::Gen,
    world::{COUNTRIES, Country, FIRST_NAMES, LAST_NAMES, USER_AGENTS},
};

/// Share of customers with a monthly subscription (charged off-session).
const SUBSCRIBER_SHARE: f64 = 0.3;
/// Share of customers topped up by the merchant (usage billing, account top-ups: unscheduled
/// off-session charges of the saved card).
const TOP_UP_SHARE: f64 = 0.08;

pub(super) struct Customer {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) country: &'static Country,
    pub(super) home: Addr,
    /// Cards on file and the payment method id each is saved under.
    pub(super) cards: Vec<Card>,
    pub(super) payment_methods: Vec<String>,
    /// Whether each card is saved already; the first logged-in payment with an unsaved card
    /// saves it (a set-up payment whose session riskgate remembers).
    pub(super) saved: Vec<bool>,
    /// Phones and computers, each with its usual IP.
    pub(super) devices: Vec<Device>,
    /// Median basket in the home currency's major units.
    pub(super) basket: f64,
    /// One-off purchases per day.
    pub(super) rate: f64,
    /// Monthly amount and the day of the 30-day cycle it is charged.
    pub(super) subscription: Option<(f64, u32)>,
    /// Merchant-initiated top-ups: charges per day and median amount.
    pub(super) top_up: Option<(f64, f64)>,
    pub(super) wallet: Option<&'static str>,
    /// Logs in at checkout (else guest).
    pub(super) logged_in: bool,
    /// Password manager that pastes card numbers.
    pub(super) pastes: bool,
    /// Cards the issuer replaces after fraud was reported on them: (from when, which card).
    pub(super) reissue: Vec<(i64, usize)>,
}

impl Customer {
    /// Expected payments per day: one-off purchases, the subscription, top-ups.
    pub(super) fn payments_per_day(&self) -> f64 {
        self.rate
            + self.subscription.map_or(0.0, |_| 1.0 / 30.0)
            + self.top_up.map_or(0.0, |(per_day, _)| per_day)
    }
}

impl Gen {
    pub(super) fn customer(&mut self) -> Customer {
        let country = self.weighted(COUNTRIES, |c| c.weight);
        let (first, last) = (*self.pick(FIRST_NAMES), *self.pick(LAST_NAMES));
        let home = self.address(country);
        let n_cards = if self.chance(0.3) { 2 } else { 1 };
        let cards: Vec<Card> = (0..n_cards)
            .map(|_| {
                // Expatriates and cross-border shoppers hold cards from elsewhere.
                let issuer = if self.chance(0.04) {
                    (*self.pick(&["US", "GB", "DE", "FR", "IN", "MX", "BR", "CN"])).to_owned()
                } else {
                    country.code.to_owned()
                };
                self.card(&issuer, self.start)
            })
            .collect();
        let payment_methods = cards.iter().map(|_| self.payment_method()).collect();
        let n_devices = if self.chance(0.4) { 2 } else { 1 };
        let devices = (0..n_devices)
            .map(|_| {
                let ua = *self.pick(USER_AGENTS);
                self.device(country, ua)
            })
            .collect();
        // Some real people use handles that look as random as a fraudster's throwaway.
        let email = if self.chance(0.08) {
            self.throwaway_email()
        } else {
            self.email(first, last)
        };
        let subscription = self.chance(SUBSCRIBER_SHARE).then(|| {
            (
                *self.pick(&[4.99, 9.99, 14.99, 19.99, 49.0]),
                self.rng.u32(0..30),
            )
        });
        let top_up = self
            .chance(TOP_UP_SHARE)
            .then(|| (self.lognormal(0.1, 0.5), self.lognormal(25.0, 0.5)));
        // Off-session charges use a card saved before the simulation started.
        let mut saved = vec![false; n_cards];
        saved[0] = subscription.is_some() || top_up.is_some();
        Customer {
            id: format!("cus_{}", self.token(14)),
            name: format!("{first} {last}"),
            email,
            phone: format!("+1 {} 555 {}", self.digits(3), self.digits(4)),
            country,
            home,
            cards,
            payment_methods,
            saved,
            devices,
            basket: self.lognormal(45.0, 0.6),
            rate: self.lognormal(0.06, 0.8),
            subscription,
            top_up,
            wallet: self
                .chance(0.3)
                .then(|| *self.pick(&["apple_pay", "google_pay"])),
            logged_in: self.chance(0.8),
            pastes: self.chance(0.04),
            reissue: Vec::new(),
        }
    }

    /// Replaces the cards whose reissue is due by `now`: a new number (fingerprint), saved under a
    /// new payment method, not yet set up in a session.
    pub(super) fn reissue_due(&mut self, c: &mut Customer, now: i64) {
        let mut i = 0;
        while i < c.reissue.len() {
            let (at, card) = c.reissue[i];
            if at > now {
                i += 1;
                continue;
            }
            c.reissue.swap_remove(i);
            let issuer = c.cards[card].country.clone();
            c.cards[card] = self.card(&issuer, now);
            c.payment_methods[card] = self.payment_method();
            // Off-session billing moves to the new card through the card network's updater; the
            // next checkout saves it anew.
            c.saved[card] = card == 0 && (c.subscription.is_some() || c.top_up.is_some());
        }
    }
}
