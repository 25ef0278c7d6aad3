//! Fraud: the patterns, their daily rates and the day's schedule of them.
//!
//! Each pattern is a method of [`Gen`] with the signature of [`FraudPattern::start`]: it draws when
//! (and against whom) one occurrence starts on the [`Day`] and appends that occurrence's labelled
//! payments, outcomes included. [`PATTERNS`] lists them with their rates, in the order the day's
//! draws are made.
//!
//! To add a pattern: a variant of [`Pattern`] (`event.rs`), a rate, a method here and an entry at
//! the end of [`PATTERNS`]. Every draw comes from the one seeded generator, so a new pattern with a
//! non-zero rate changes the output from its first draw on (later days' legitimate traffic
//! included); the patterns before it keep their order.

use riskgate::proto::v1::{CustomerPresence as PbPresence, PaymentType as PbPaymentType};

use super::{
    DAY,
    event::{Event, OutcomeKind, Pattern},
    payment::Payment,
    population::Customer,
    random::Gen,
    world::{BOT_USER_AGENTS, COUNTRIES, FIRST_NAMES, ISSUER_COUNTRIES, LAST_NAMES, USER_AGENTS},
};

/// Card testing attacks per day.
const CARD_TESTING_PER_DAY: f64 = 0.4;
/// BIN attacks per day.
const BIN_ATTACKS_PER_DAY: f64 = 0.15;
/// Stolen-card fraudsters per day (each places one to three orders).
const STOLEN_CARD_PER_DAY: f64 = 3.0;
/// Account takeovers per day.
const ACCOUNT_TAKEOVER_PER_DAY: f64 = 0.8;

/// One fraud pattern as the day's schedule sees it.
struct FraudPattern {
    /// Occurrences per day at `fraud_scale` 1.0.
    per_day: f64,
    /// Starts one occurrence on `day`: draws its time (and victim), appends its payments.
    start: fn(&mut Gen, &Day<'_>, &mut Vec<Event>),
}

/// The day an occurrence falls on.
struct Day<'a> {
    /// Its first second (Unix time, UTC).
    midnight: i64,
    /// The legitimate customer base (victims of account takeover).
    customers: &'a [Customer],
}

/// Every fraud pattern, in the order of the day's draws (the order is part of the output).
const PATTERNS: &[FraudPattern] = &[
    FraudPattern {
        per_day: CARD_TESTING_PER_DAY,
        start: Gen::card_testing,
    },
    FraudPattern {
        per_day: BIN_ATTACKS_PER_DAY,
        start: Gen::bin_attack,
    },
    FraudPattern {
        per_day: STOLEN_CARD_PER_DAY,
        start: Gen::stolen_card,
    },
    FraudPattern {
        per_day: ACCOUNT_TAKEOVER_PER_DAY,
        start: Gen::account_takeover,
    },
];

impl Gen {
    /// The fraud of the day starting at `midnight`: for each pattern in turn, a Poisson number of
    /// occurrences at its rate times `scale`.
    pub(super) fn fraud_day(
        &mut self,
        customers: &[Customer],
        midnight: i64,
        scale: f64,
        out: &mut Vec<Event>,
    ) {
        let day = Day {
            midnight,
            customers,
        };
        for pattern in PATTERNS {
            for _ in 0..self.poisson(pattern.per_day * scale) {
                (pattern.start)(self, &day, out);
            }
        }
    }

    /// Card testing: a bot on one IP and user agent runs dozens of cards from many issuers through
    /// small payments within minutes; most are declined.
    fn card_testing(&mut self, day: &Day<'_>, out: &mut Vec<Event>) {
        let start = day.midnight + self.rng.i64(0..DAY);
        let ip = self.ip();
        // A quarter of testers drive a real browser slowly, to look human.
        let slow = self.chance(0.25);
        let ua = if slow {
            *self.pick(USER_AGENTS)
        } else {
            *self.pick(BOT_USER_AGENTS)
        };
        let attempts = self.rng.usize(15..80);
        let currency = self.pick(COUNTRIES).currency;
        let fixed_amount = self.chance(0.5).then(|| self.rng.i64(50..500));
        let mut at = start;
        for _ in 0..attempts {
            at += if slow {
                self.rng.i64(60..900)
            } else {
                self.rng.i64(2..40)
            };
            let issuer = *self.pick(ISSUER_COUNTRIES);
            let card = self.card(issuer, at);
            let p = Payment {
                email: self.chance(0.3).then(|| self.throwaway_email()),
                amount: fixed_amount.unwrap_or_else(|| self.rng.i64(50..600)),
                currency: currency.to_owned(),
                card: Some(card),
                billing: self.chance(0.4).then(|| {
                    let country = self.pick(COUNTRIES);
                    self.address(country)
                }),
                presence: Some(PbPresence::OnSession),
                payment_type: Some(PbPaymentType::OneOff),
                radar_session: self.chance(if slow { 0.9 } else { 0.3 }),
                ip: Some(ip.clone()),
                user_agent: Some(ua),
                time_on_page_ms: Some(if slow {
                    self.rng.u64(8_000..40_000)
                } else {
                    self.rng.u64(400..6000)
                }),
                pasted: if self.chance(if slow { 0.3 } else { 0.8 }) {
                    vec!["card_number"]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            let outcome = if self.chance(0.85) {
                let reason = *self.pick(&[
                    "card_declined",
                    "incorrect_cvc",
                    "insufficient_funds",
                    "expired_card",
                ]);
                Self::outcome(OutcomeKind::Declined, Some(reason), at)
            } else {
                Self::outcome(OutcomeKind::Authorized, None, at)
            };
            out.push(self.event(at, p, Pattern::CardTesting, outcome));
        }
    }

    /// BIN attack: card numbers enumerated within one BIN (sequential last 4), tiny amounts, bare
    /// requests, a handful of IPs.
    fn bin_attack(&mut self, day: &Day<'_>, out: &mut Vec<Event>) {
        let start = day.midnight + self.rng.i64(0..DAY);
        let issuer = *self.pick(ISSUER_COUNTRIES);
        let base = self.card(issuer, start);
        let ips: Vec<String> = (0..self.rng.usize(1..5)).map(|_| self.ip()).collect();
        let first = self.rng.u32(0..9000);
        let attempts = self.rng.u32(30..120);
        let currency = self.pick(COUNTRIES).currency;
        let mut at = start;
        for i in 0..attempts {
            at += self.rng.i64(1..15);
            let mut card = base.clone();
            card.last4 = format!("{:04}", (first + i) % 10_000);
            card.fingerprint = self.token(16);
            card.exp_month = self.rng.u32(1..=12);
            let ip = self.pick(&ips).clone();
            let p = Payment {
                amount: self.rng.i64(50..1000),
                currency: currency.to_owned(),
                card: Some(card),
                presence: Some(PbPresence::OnSession),
                payment_type: Some(PbPaymentType::OneOff),
                ip: Some(ip),
                time_on_page_ms: self.chance(0.5).then(|| self.rng.u64(100..2000)),
                ..Default::default()
            };
            let outcome = if self.chance(0.95) {
                let reason = *self.pick(&["incorrect_number", "card_declined", "expired_card"]);
                Self::outcome(OutcomeKind::Declined, Some(reason), at)
            } else {
                Self::outcome(OutcomeKind::Authorized, None, at)
            };
            out.push(self.event(at, p, Pattern::BinAttack, outcome));
        }
    }

    /// Stolen card: one to three high-value orders with one stolen card, in waking hours; some
    /// declined at once, the rest followed by an early fraud warning or a dispute.
    fn stolen_card(&mut self, day: &Day<'_>, out: &mut Vec<Event>) {
        let start = day.midnight + self.daytime();
        // The victim: a cardholder somewhere among the merchant's countries (or elsewhere).
        let victim_country = self.weighted(COUNTRIES, |c| c.weight);
        let issuer = if self.chance(0.8) {
            victim_country.code
        } else {
            *self.pick(ISSUER_COUNTRIES)
        };
        let mut card = self.card(issuer, start);
        if self.chance(0.12) {
            card.funding = "prepaid";
        }
        let victim_home = self.address(victim_country);
        let (first, last) = (*self.pick(FIRST_NAMES), *self.pick(LAST_NAMES));
        // A careful fraudster (a third) mimics the cardholder: plausible email, the cardholder's
        // address, an unhurried checkout, typed card number, a residential proxy in the country.
        let careful = self.chance(0.35);
        let email = if careful {
            Some(self.email(first, last))
        } else {
            self.chance(0.9).then(|| self.throwaway_email())
        };
        let ip = self.ip();
        let ua = *self.pick(USER_AGENTS);
        // Billing: the victim's leaked address (matches the card) or whatever the fraudster types.
        let billing = if careful || self.chance(0.4) {
            Some(victim_home.clone())
        } else if self.chance(0.7) {
            Some(self.foreign_address())
        } else {
            None
        };
        // Shipping: a drop abroad, a reshipper at home, or digital goods.
        let shipping = if !careful && self.chance(0.5) {
            Some(self.foreign_address())
        } else if self.chance(0.5) {
            Some(self.address(victim_country))
        } else {
            None
        };
        let orders = self.rng.usize(1..4);
        let mut at = start;
        for _ in 0..orders {
            at += self.rng.i64(60..3600);
            let p = Payment {
                customer: self.chance(0.2).then(|| format!("cus_{}", self.token(14))),
                email: email.clone(),
                name: Some(format!("{first} {last}")),
                amount: {
                    let median = if careful { 180.0 } else { 380.0 };
                    let major = self.lognormal(median, 0.7).min(9000.0);
                    self.minor(major)
                },
                currency: victim_country.currency.to_owned(),
                description: Some(
                    (*self.pick(&["Headphones", "Gift card", "Laptop", "Phone"])).to_owned(),
                ),
                card: Some(card.clone()),
                billing: billing.clone(),
                shipping: shipping.clone(),
                presence: Some(PbPresence::OnSession),
                payment_type: Some(PbPaymentType::OneOff),
                radar_session: self.chance(0.6),
                ip: Some(ip.clone()),
                user_agent: self.chance(0.8).then_some(ua),
                time_on_page_ms: Some(
                    self.lognormal(if careful { 45_000.0 } else { 12_000.0 }, 0.7) as u64,
                ),
                pasted: if !careful && self.chance(0.6) {
                    vec!["card_number"]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            let outcome = if self.chance(0.15) {
                Self::outcome(OutcomeKind::Declined, Some("stolen_card"), at)
            } else if self.chance(0.3) {
                Self::outcome(
                    OutcomeKind::EarlyFraudWarning,
                    Some("fraudulent"),
                    at + self.rng.i64(3..20) * DAY,
                )
            } else {
                Self::outcome(
                    OutcomeKind::Disputed,
                    Some("fraudulent"),
                    at + self.rng.i64(20..90) * DAY,
                )
            };
            out.push(self.event(at, p, Pattern::StolenCard, outcome));
        }
    }

    /// Account takeover: a known customer's account and saved card from a new device and IP,
    /// shipping to a new address, a basket several times the usual; disputed later. No customers,
    /// no takeover.
    fn account_takeover(&mut self, day: &Day<'_>, out: &mut Vec<Event>) {
        if day.customers.is_empty() {
            return;
        }
        let c = &day.customers[self.rng.usize(..day.customers.len())];
        let at = day.midnight + self.rng.i64(0..DAY);
        let shipping = if self.chance(0.35) {
            self.foreign_address()
        } else {
            self.address(c.country)
        };
        let p = Payment {
            customer: Some(c.id.clone()),
            email: Some(c.email.clone()),
            name: Some(c.name.clone()),
            amount: {
                let major = c.basket * self.lognormal(4.0, 0.5);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            description: Some((*self.pick(&["Laptop", "Gift card", "Phone"])).to_owned()),
            card: Some(c.cards[0].clone()),
            billing: Some(c.home.clone()),
            shipping: Some(shipping),
            presence: Some(PbPresence::OnSession),
            payment_type: Some(PbPaymentType::OneOff),
            radar_session: self.chance(0.7),
            ip: Some(self.ip()),
            user_agent: Some(*self.pick(USER_AGENTS)),
            time_on_page_ms: Some(self.lognormal(9_000.0, 0.6) as u64),
            ..Default::default()
        };
        let outcome = Self::outcome(
            OutcomeKind::Disputed,
            Some("fraudulent"),
            at + self.rng.i64(10..60) * DAY,
        );
        out.push(self.event(at, p, Pattern::AccountTakeover, outcome));
    }
}
