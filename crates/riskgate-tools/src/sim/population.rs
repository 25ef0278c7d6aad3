//! The legitimate customer base: who they are, where they live, what they pay with and how they shop.

use super::{
    identity::{Addr, Card},
    random::Gen,
    world::{COUNTRIES, Country, FIRST_NAMES, LAST_NAMES, USER_AGENTS},
};

pub(super) struct Customer {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) country: &'static Country,
    pub(super) home: Addr,
    pub(super) cards: Vec<Card>,
    pub(super) user_agents: Vec<&'static str>,
    pub(super) ips: Vec<String>,
    /// Median basket in the home currency's major units.
    pub(super) basket: f64,
    /// One-off purchases per day.
    pub(super) rate: f64,
    pub(super) subscription: Option<(f64, u32)>,
    pub(super) wallet: Option<&'static str>,
    /// Logs in at checkout (else guest).
    pub(super) logged_in: bool,
    /// Password manager that pastes card numbers.
    pub(super) pastes: bool,
}

impl Gen {
    pub(super) fn customer(&mut self) -> Customer {
        let country = self.weighted(COUNTRIES, |c| c.weight);
        let (first, last) = (*self.pick(FIRST_NAMES), *self.pick(LAST_NAMES));
        let home = self.address(country);
        let n_cards = if self.chance(0.3) { 2 } else { 1 };
        let cards = (0..n_cards)
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
        let n_devices = if self.chance(0.4) { 2 } else { 1 };
        // Some real people use handles that look as random as a fraudster's throwaway.
        let email = if self.chance(0.08) {
            self.throwaway_email()
        } else {
            self.email(first, last)
        };
        Customer {
            id: format!("cus_{}", self.token(14)),
            name: format!("{first} {last}"),
            email,
            phone: format!("+1 {} 555 {}", self.digits(3), self.digits(4)),
            country,
            home,
            cards,
            user_agents: (0..n_devices).map(|_| *self.pick(USER_AGENTS)).collect(),
            ips: (0..n_devices).map(|_| self.ip()).collect(),
            basket: self.lognormal(45.0, 0.6),
            rate: self.lognormal(0.06, 0.8),
            subscription: self.chance(0.3).then(|| {
                (
                    *self.pick(&[4.99, 9.99, 14.99, 19.99, 49.0]),
                    self.rng.u32(0..30),
                )
            }),
            wallet: self
                .chance(0.3)
                .then(|| *self.pick(&["apple_pay", "google_pay"])),
            logged_in: self.chance(0.8),
            pastes: self.chance(0.04),
        }
    }
}
