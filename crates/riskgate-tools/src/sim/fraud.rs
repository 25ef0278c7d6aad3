//! Fraud: the patterns, their rates and the day's schedule of them; card testing and BIN attacks.
//!
//! Each pattern is a method of [`Gen`] with the signature of [`FraudPattern::start`]: it draws when
//! (and against whom) one occurrence starts on the [`Day`] and appends that occurrence's labelled
//! payments, outcomes included. [`PATTERNS`] lists them with their share of fraudulent payments,
//! in the order the day's draws are made; [`Rates`] turns the shares into occurrences per day for
//! the configured fraud rate. Stolen cards, repeat fraud and returning fraudsters are in
//! `stolen.rs`, account takeover in `takeover.rs`, friendly fraud among ordinary purchases in
//! `legit.rs`.
//!
//! To add a pattern: a variant of [`Pattern`] (`event.rs`), a method, and an entry in
//! [`PATTERNS`] with its share (the shares and [`FRIENDLY_FRAUD_SHARE`] add up to 1). Every draw
//! comes from the one seeded generator, so a new pattern changes the output from its first draw on
//! (later days' legitimate traffic included).

use riskgate::proto::v1::{CustomerPresence as PbPresence, PaymentType as PbPaymentType};

use super::{
    DAY,
    event::{Event, Pattern},
    legit::REGULAR_ONE_OFF_SHARE,
    payment::Payment,
    population::Customer,
    random::Gen,
    stolen::Burned,
    world::{BOT_USER_AGENTS, COUNTRIES, ISSUER_COUNTRIES, USER_AGENTS},
};

/// Friendly fraud's share of fraudulent payments: drawn among ordinary purchases (`legit.rs`).
pub(super) const FRIENDLY_FRAUD_SHARE: f64 = 0.03;

/// One fraud pattern as the day's schedule sees it.
pub(super) struct FraudPattern {
    pub(super) pattern: Pattern,
    /// Share of all fraudulent payments (with [`FRIENDLY_FRAUD_SHARE`], the shares add up to 1).
    pub(super) share: f64,
    /// Payments per occurrence on average (the mean of the pattern's own draw).
    pub(super) payments: f64,
    /// Starts one occurrence on `day`: draws its time (and victim), appends its payments.
    start: fn(&mut Gen, &mut Day<'_>, &mut Vec<Event>),
}

/// The day an occurrence falls on.
pub(super) struct Day<'a> {
    /// Its first second (Unix time, UTC).
    pub(super) midnight: i64,
    /// The legitimate customer base (victims of account takeover).
    pub(super) customers: &'a mut [Customer],
    /// Fraud the merchant has learned about so far (repeat fraud and returning fraudsters reuse
    /// it).
    pub(super) burned: &'a mut Vec<Burned>,
}

/// Every fraud pattern, in the order of the day's draws (the order is part of the output).
pub(super) const PATTERNS: &[FraudPattern] = &[
    FraudPattern {
        pattern: Pattern::CardTesting,
        share: 0.30,
        payments: 47.0,
        start: Gen::card_testing,
    },
    FraudPattern {
        pattern: Pattern::BinAttack,
        share: 0.12,
        payments: 74.5,
        start: Gen::bin_attack,
    },
    FraudPattern {
        pattern: Pattern::StolenCard,
        share: 0.30,
        payments: 2.0,
        start: Gen::stolen_card,
    },
    FraudPattern {
        pattern: Pattern::RepeatFraud,
        share: 0.08,
        payments: 2.0,
        start: Gen::repeat_fraud,
    },
    FraudPattern {
        pattern: Pattern::ReturningFraudster,
        share: 0.08,
        payments: 1.5,
        start: Gen::returning_fraudster,
    },
    FraudPattern {
        pattern: Pattern::AccountTakeover,
        share: 0.09,
        payments: 1.5,
        start: Gen::account_takeover,
    },
];

/// The expected daily rates of a configured fraud rate.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rates {
    /// Occurrences per day of each of [`PATTERNS`].
    pub(super) per_day: Vec<f64>,
    /// Chance that an ordinary purchase is friendly fraud.
    pub(super) friendly: f64,
}

impl Rates {
    /// Rates such that an expected share `fraud_rate` of all payments is fraudulent, split by the
    /// patterns' shares, all multiplied by `scale`. The legitimate volume is the customer base's
    /// expected payments per day; friendly fraud is drawn from it, the other patterns add to it.
    pub(super) fn new(customers: &[Customer], fraud_rate: f64, scale: f64) -> Self {
        let legit: f64 = customers.iter().map(Customer::payments_per_day).sum();
        let one_offs: f64 = customers.iter().map(|c| c.rate).sum::<f64>() * REGULAR_ONE_OFF_SHARE;
        let r = fraud_rate.clamp(0.0, 0.99);
        // Total T = legit + fraud·(1 − friendly share), fraud = r·T.
        let fraud = r * legit / (1.0 - r * (1.0 - FRIENDLY_FRAUD_SHARE)) * scale;
        Rates {
            per_day: PATTERNS
                .iter()
                .map(|p| fraud * p.share / p.payments)
                .collect(),
            friendly: if one_offs > 0.0 {
                (fraud * FRIENDLY_FRAUD_SHARE / one_offs).min(1.0)
            } else {
                0.0
            },
        }
    }
}

impl Gen {
    /// The fraud of `day`: for each pattern in turn, a Poisson number of occurrences at its rate.
    pub(super) fn fraud_day(&mut self, day: &mut Day<'_>, rates: &Rates, out: &mut Vec<Event>) {
        for (pattern, per_day) in PATTERNS.iter().zip(&rates.per_day) {
            for _ in 0..self.poisson(*per_day) {
                (pattern.start)(self, day, out);
            }
        }
    }

    /// Card testing: a bot on one IP and user agent runs dozens of cards from many issuers through
    /// small payments within minutes; most are declined.
    fn card_testing(&mut self, day: &mut Day<'_>, out: &mut Vec<Event>) {
        let start = day.midnight + self.rng.i64(0..DAY);
        // A quarter of testers drive a real browser slowly, to look human.
        let slow = self.chance(0.25);
        let ua = if slow {
            *self.pick(USER_AGENTS)
        } else {
            *self.pick(BOT_USER_AGENTS)
        };
        let bot = self.fraud_device(None, ua);
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
            let mut p = Payment {
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
            }
            .inline(&bot);
            p.session = self
                .chance(if slow { 0.9 } else { 0.3 })
                .then(|| bot.clone());
            let outcome = if self.chance(0.85) {
                let code = *self.pick(&[
                    "card_declined",
                    "incorrect_cvc",
                    "insufficient_funds",
                    "expired_card",
                ]);
                Self::declined(at, code)
            } else {
                Self::authorized(at)
            };
            out.push(self.event(at, p, Pattern::CardTesting, vec![outcome]));
        }
    }

    /// BIN attack: card numbers enumerated within one BIN (sequential last 4), tiny amounts, bare
    /// requests, a handful of IPs.
    fn bin_attack(&mut self, day: &mut Day<'_>, out: &mut Vec<Event>) {
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
                let code = *self.pick(&["incorrect_number", "card_declined", "expired_card"]);
                Self::declined(at, code)
            } else {
                Self::authorized(at)
            };
            out.push(self.event(at, p, Pattern::BinAttack, vec![outcome]));
        }
    }
}
