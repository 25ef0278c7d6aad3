//! The pieces a payer is made of: cards, addresses, IP addresses and email addresses, drawn for
//! customers and fraudsters alike.

use super::{
    DAY,
    random::Gen,
    world::{Country, EMAIL_DOMAINS, FIRST_NAMES, FRAUD_LOCALES, FRAUD_ORIGINS, SCREENS},
};

#[derive(Clone)]
pub(super) struct Card {
    pub(super) bin: String,
    pub(super) last4: String,
    pub(super) brand: &'static str,
    pub(super) country: String,
    pub(super) funding: &'static str,
    pub(super) fingerprint: String,
    pub(super) exp_month: u32,
    pub(super) exp_year: u32,
    pub(super) three_ds: bool,
}

/// A browser or app a payer checks out from. `id` is the device id the merchant's device
/// intelligence computes (recorded in the Radar Session); stable for one device, unless its owner
/// rotates it (anti-detect browsers).
#[derive(Clone)]
pub(super) struct Device {
    pub(super) id: String,
    pub(super) user_agent: &'static str,
    pub(super) ip: String,
    pub(super) screen: &'static str,
    pub(super) timezone: &'static str,
    pub(super) language: &'static str,
}

#[derive(Clone)]
pub(super) struct Addr {
    pub(super) line1: String,
    pub(super) city: &'static str,
    pub(super) state: &'static str,
    pub(super) postal: String,
    pub(super) country: String,
}

impl Gen {
    pub(super) fn ip(&mut self) -> String {
        // Public unicast space, away from private and documentation ranges.
        let first = *self.pick(&[24u8, 31, 45, 62, 73, 81, 91, 104, 151, 176, 185, 203]);
        format!(
            "{first}.{}.{}.{}",
            self.rng.u8(..),
            self.rng.u8(..),
            self.rng.u8(1..255)
        )
    }

    /// A device at home in `country`, with browser `user_agent`.
    pub(super) fn device(&mut self, country: &Country, user_agent: &'static str) -> Device {
        let (id, ip) = (self.device_id(), self.ip());
        let screen = *self.pick(SCREENS);
        Device {
            id,
            user_agent,
            ip,
            screen,
            timezone: country.timezone,
            language: country.language,
        }
    }

    /// A fraudster's device: its locale is the fraud origin's, or (a careful fraudster's) the
    /// victim's country's.
    pub(super) fn fraud_device(
        &mut self,
        mimic: Option<&Country>,
        user_agent: &'static str,
    ) -> Device {
        let (timezone, language) = match mimic {
            Some(c) => (c.timezone, c.language),
            None => *self.pick(FRAUD_LOCALES),
        };
        let (id, ip) = (self.device_id(), self.ip());
        let screen = *self.pick(SCREENS);
        Device {
            id,
            user_agent,
            ip,
            screen,
            timezone,
            language,
        }
    }

    /// A device id as device intelligence reports it: an opaque hash.
    pub(super) fn device_id(&mut self) -> String {
        format!("dev_{}", self.token(24))
    }

    /// A payment method id (`pm_…`): a card saved for later, or entered once.
    pub(super) fn payment_method(&mut self) -> String {
        format!("pm_{}", self.token(14))
    }

    pub(super) fn address(&mut self, country: &Country) -> Addr {
        let (city, state, postal) = *self.pick(country.cities);
        let street = *self.pick(&[
            "Main St",
            "High Street",
            "Oak Ave",
            "Rue Verte",
            "Lindenweg",
        ]);
        Addr {
            line1: format!("{} {street}", self.rng.u32(1..400)),
            city,
            state,
            postal: format!("{}{}", postal.trim_end(), self.digits(2)),
            country: country.code.to_owned(),
        }
    }

    /// An address somewhere in a fraud origin country (a drop, or the fraudster's own).
    pub(super) fn foreign_address(&mut self) -> Addr {
        Addr {
            line1: format!("{} Market Road", self.rng.u32(1..200)),
            city: "Central",
            state: "",
            postal: self.digits(5),
            country: (*self.pick(FRAUD_ORIGINS)).to_owned(),
        }
    }

    pub(super) fn card(&mut self, country: &str, at: i64) -> Card {
        let &(brand, prefix, three_ds, _) = self.weighted(
            &[
                ("visa", "4", 0.92, 0.55),
                ("mastercard", "5", 0.9, 0.33),
                ("amex", "37", 0.8, 0.08),
                ("discover", "6011", 0.7, 0.04),
            ],
            |c| c.3,
        );
        let funding = *self.weighted(
            &[("credit", 0.6), ("debit", 0.37), ("prepaid", 0.03)],
            |f| f.1,
        );
        let year = 1970 + (at / (365 * DAY + DAY / 4)) as u32;
        Card {
            bin: format!("{prefix}{}", self.digits(6 - prefix.len())),
            last4: self.digits(4),
            brand,
            country: country.to_owned(),
            funding: funding.0,
            fingerprint: self.token(16),
            exp_month: self.rng.u32(1..=12),
            exp_year: year + self.rng.u32(1..=5),
            three_ds: self.chance(three_ds),
        }
    }

    /// A personal address on the name, unique in the simulation: when the name is taken, digits
    /// are added, as a provider's sign-up suggests.
    pub(super) fn email(&mut self, first: &str, last: &str) -> String {
        let domain = self.weighted(EMAIL_DOMAINS, |d| d.1).0;
        let sep = *self.pick(&[".", "", "_"]);
        let mut local = format!("{first}{sep}{last}");
        if self.chance(0.25) {
            local.push_str(&self.rng.u32(60..100).to_string());
        }
        loop {
            let email = format!("{local}@{domain}");
            if self.emails.insert(email.to_ascii_lowercase()) {
                return email;
            }
            local.push_str(&self.rng.u32(1..100).to_string());
        }
    }

    /// A fresh mailbox nobody else in the simulation uses.
    pub(super) fn throwaway_email(&mut self) -> String {
        loop {
            let domain = *self.pick(&[
                "gmail.com",
                "mail.com",
                "outlook.com",
                "yahoo.com",
                "proton.me",
            ]);
            let local = if self.chance(0.5) {
                let name = *self.pick(FIRST_NAMES);
                let n = self.rng.usize(3..8);
                format!("{name}{}", self.digits(n))
            } else {
                self.token(10).to_ascii_lowercase()
            };
            let email = format!("{local}@{domain}");
            if self.emails.insert(email.to_ascii_lowercase()) {
                return email;
            }
        }
    }
}
