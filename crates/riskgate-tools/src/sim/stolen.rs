//! Stolen cards and what follows them: a fraudster's [`Kit`] (card, identity, device, addresses),
//! one to three orders with it, the outcomes that reveal it (issuer declines at once, early fraud
//! warnings days later, refunds as fraud, fraudulent disputes weeks later), and the kits that come
//! back once the merchant knows them ([`Burned`]):
//!
//! - **repeat fraud**: the card is used again after its fraud was reported, by the same fraudster
//!   or whoever bought it next (a new email and device half the time); issuers decline half;
//! - **returning fraudster**: a new stolen card, but an email, customer account or device seen in
//!   the earlier fraud (at least one of them), from a new IP.

use riskgate::proto::v1::{CustomerPresence as PbPresence, PaymentType as PbPaymentType};

use super::{
    DAY,
    event::{Event, Outcome, OutcomeKind, Pattern},
    fraud::Day,
    identity::{Addr, Card, Device},
    payment::Payment,
    random::Gen,
    world::{COUNTRIES, Country, FIRST_NAMES, ISSUER_COUNTRIES, LAST_NAMES, USER_AGENTS},
};

/// Median days from a payment to its early fraud warning (issuers send them days to weeks later;
/// clamped to 2–30 days).
const EFW_MEDIAN_DAYS: f64 = 7.0;
/// Days from a payment to a fraud dispute (cardholders dispute weeks later).
const DISPUTE_DAYS: std::ops::Range<i64> = 15..90;
/// How long after its fraud was learned a kit may come back.
const COMEBACK_DAYS: i64 = 60;
/// Share of orders placed through the merchant's minimal guest integration (the amount, the
/// card's facts, maybe an email; nothing about the device), where fraudsters go when it is
/// weaker, as legitimate guests sometimes do.
const THIN_CHANNEL_SHARE: f64 = 0.1;

/// What a fraudster checks out with.
#[derive(Clone)]
pub(super) struct Kit {
    pub(super) card: Card,
    /// A saved card's payment method (account takeover), else entered each time.
    pub(super) payment_method: Option<String>,
    pub(super) name: String,
    pub(super) email: Option<String>,
    pub(super) customer: Option<String>,
    /// The fraudster's browser; recorded in a Radar Session when the checkout runs Radar.js
    /// (`radar`).
    pub(super) device: Device,
    pub(super) radar: bool,
    /// An anti-detect browser: a new device id at every checkout.
    pub(super) rotates: bool,
    pub(super) billing: Option<Addr>,
    pub(super) shipping: Option<Addr>,
    /// The victim's country (the payment's currency).
    pub(super) country: &'static Country,
    /// Mimics the cardholder: plausible email, typed card number, an unhurried checkout.
    pub(super) careful: bool,
}

impl Kit {
    /// Whether anything of this kit but its card would be recognised: its email, its customer
    /// account, or a device id that stays put.
    fn has_link(&self) -> bool {
        self.email.is_some() || self.customer.is_some() || (self.radar && !self.rotates)
    }
}

/// A kit whose fraud the merchant learned: when the first fraud outcome on a payment with its card
/// arrived, and on a payment that also carried its identity (email, account, device; orders
/// through the minimal integration carry the card alone).
pub(super) struct Burned {
    pub(super) kit: Kit,
    pub(super) card_known_at: i64,
    pub(super) identity_known_at: Option<i64>,
}

impl Burned {
    fn new(kit: Kit, learned: Learned) -> Option<Self> {
        Some(Burned {
            kit,
            card_known_at: learned.card?,
            identity_known_at: learned.identity,
        })
    }
}

/// When fraud was first learned on a run's payments: any of them, and those that carried the
/// kit's identity.
#[derive(Default)]
struct Learned {
    card: Option<i64>,
    identity: Option<i64>,
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Gen {
    /// Stolen card: one to three high-value orders with one stolen card, in waking hours; some
    /// declined at once, the rest followed by an early fraud warning, a refund as fraud or a
    /// dispute.
    pub(super) fn stolen_card(&mut self, day: &mut Day<'_>, out: &mut Vec<Event>) {
        let start = day.midnight + self.daytime();
        // The victim: a cardholder somewhere among the merchant's countries (or elsewhere).
        let victim_country = self.weighted(COUNTRIES, |c| c.weight);
        let kit = self.stolen_kit(victim_country, start);
        let orders = self.rng.usize(1..4);
        let learned = self.fraud_run(&kit, start, orders, Pattern::StolenCard, 0.15, out);
        day.burned.extend(Burned::new(kit, learned));
    }

    /// A fraudster with a card stolen from a cardholder in `victim_country`.
    fn stolen_kit(&mut self, victim_country: &'static Country, at: i64) -> Kit {
        let issuer = if self.chance(0.8) {
            victim_country.code
        } else {
            *self.pick(ISSUER_COUNTRIES)
        };
        let mut card = self.card(issuer, at);
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
        let ua = *self.pick(USER_AGENTS);
        let device = self.fraud_device(careful.then_some(victim_country), ua);
        // Billing: the victim's leaked address (matches the card) or whatever the fraudster types.
        let billing = if careful || self.chance(0.4) {
            Some(victim_home)
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
        Kit {
            card,
            payment_method: None,
            name: format!("{first} {last}"),
            email,
            customer: self.chance(0.2).then(|| format!("cus_{}", self.token(14))),
            device,
            radar: self.chance(0.6),
            rotates: careful && self.chance(0.5),
            billing,
            shipping,
            country: victim_country,
            careful,
        }
    }

    /// Repeat fraud: a card whose fraud the merchant already learned, used again.
    pub(super) fn repeat_fraud(&mut self, day: &mut Day<'_>, out: &mut Vec<Event>) {
        let Some(i) = self.comeback(day, |b| Some(b.card_known_at)) else {
            return;
        };
        let mut kit = day.burned[i].kit.clone();
        kit.payment_method = None;
        if self.chance(0.5) {
            // Sold on: whoever bought the card brings their own email and browser.
            let (first, last) = (*self.pick(FIRST_NAMES), *self.pick(LAST_NAMES));
            kit.name = format!("{first} {last}");
            kit.email = self.chance(0.9).then(|| self.throwaway_email());
            kit.customer = None;
            let ua = *self.pick(USER_AGENTS);
            kit.device = self.fraud_device(None, ua);
            kit.radar = self.chance(0.6);
        } else if self.chance(0.5) {
            kit.device.ip = self.ip();
        }
        let start = day.midnight + self.daytime();
        let orders = self.rng.usize(1..4);
        self.fraud_run(&kit, start, orders, Pattern::RepeatFraud, 0.5, out);
    }

    /// Returning fraudster: a new stolen card, with the email, customer account or device of a kit
    /// whose fraud was learned, from a new IP.
    pub(super) fn returning_fraudster(&mut self, day: &mut Day<'_>, out: &mut Vec<Event>) {
        let Some(i) = self.comeback(day, |b| b.identity_known_at.filter(|_| b.kit.has_link()))
        else {
            return;
        };
        let mut kit = day.burned[i].kit.clone();
        let (has_email, has_customer) = (kit.email.is_some(), kit.customer.is_some());
        let has_device = kit.radar && !kit.rotates;
        let mut keep = [
            has_email && self.chance(0.7),
            has_customer && self.chance(0.6),
            has_device && self.chance(0.6),
        ];
        if !keep.contains(&true) {
            // At least one link: the first the kit has.
            let first = [has_email, has_customer, has_device]
                .iter()
                .position(|h| *h)
                .expect("comeback picks kits with a link");
            keep[first] = true;
        }
        let [keep_email, keep_customer, keep_device] = keep;
        let issuer = if self.chance(0.8) {
            kit.country.code
        } else {
            *self.pick(ISSUER_COUNTRIES)
        };
        kit.card = self.card(issuer, day.midnight);
        kit.payment_method = None;
        if !keep_email {
            kit.email = self.chance(0.9).then(|| self.throwaway_email());
        }
        if !keep_customer {
            kit.customer = self.chance(0.2).then(|| format!("cus_{}", self.token(14)));
        }
        if keep_device {
            kit.device.ip = self.ip();
        } else {
            let ua = *self.pick(USER_AGENTS);
            kit.device = self.fraud_device(None, ua);
            kit.radar = self.chance(0.6);
        }
        if self.chance(0.5) {
            kit.shipping = Some(self.foreign_address());
        }
        let start = day.midnight + self.daytime();
        let orders = self.rng.usize(1..3);
        let learned = self.fraud_run(&kit, start, orders, Pattern::ReturningFraudster, 0.15, out);
        day.burned.extend(Burned::new(kit, learned));
    }

    /// A burned kit that may come back on `day`, drawn uniformly: one whose `learned` time (of
    /// the link it comes back with) is before the day began, within [`COMEBACK_DAYS`].
    fn comeback(
        &mut self,
        day: &Day<'_>,
        learned: impl Fn(&Burned) -> Option<i64>,
    ) -> Option<usize> {
        let since = day.midnight - COMEBACK_DAYS * DAY;
        let candidates: Vec<usize> = day
            .burned
            .iter()
            .enumerate()
            .filter(|(_, b)| learned(b).is_some_and(|t| t <= day.midnight && t > since))
            .map(|(i, _)| i)
            .collect();
        (!candidates.is_empty()).then(|| *self.pick(&candidates))
    }

    /// `orders` payments with `kit` from `start` (minutes apart), each declined by the issuer with
    /// chance `decline`; returns when fraud was first learned among them.
    fn fraud_run(
        &mut self,
        kit: &Kit,
        start: i64,
        orders: usize,
        pattern: Pattern,
        decline: f64,
        out: &mut Vec<Event>,
    ) -> Learned {
        let mut at = start;
        let mut learned = Learned::default();
        for _ in 0..orders {
            at += self.rng.i64(60..3600);
            let median = if kit.careful { 180.0 } else { 380.0 };
            let major = self.lognormal(median, 0.7).min(9000.0);
            let amount = self.minor(major);
            // A returning fraudster is the one who comes back the way they came (linked).
            let thin = pattern != Pattern::ReturningFraudster && self.chance(THIN_CHANNEL_SHARE);
            let p = if thin {
                self.thin_payment(kit, amount)
            } else {
                self.kit_payment(kit, amount)
            };
            let outcomes = self.stolen_outcomes(at, decline);
            let e = self.event(at, p, pattern, outcomes);
            learned.card = earliest(learned.card, e.fraud_known_at());
            if !thin {
                learned.identity = earliest(learned.identity, e.fraud_known_at());
            }
            out.push(e);
        }
        learned
    }

    /// One checkout with `kit`.
    pub(super) fn kit_payment(&mut self, kit: &Kit, amount: i64) -> Payment {
        let mut device = kit.device.clone();
        if kit.rotates {
            device.id = self.device_id();
        }
        let description = *self.pick(&["Headphones", "Gift card", "Laptop", "Phone"]);
        let mut p = Payment {
            customer: kit.customer.clone(),
            email: kit.email.clone(),
            name: Some(kit.name.clone()),
            amount,
            currency: kit.country.currency.to_owned(),
            description: Some(description.to_owned()),
            card: Some(kit.card.clone()),
            payment_method: kit.payment_method.clone(),
            billing: kit.billing.clone(),
            shipping: kit.shipping.clone(),
            presence: Some(PbPresence::OnSession),
            payment_type: Some(PbPaymentType::OneOff),
            time_on_page_ms: Some(
                self.lognormal(if kit.careful { 45_000.0 } else { 12_000.0 }, 0.7) as u64,
            ),
            pasted: if kit.payment_method.is_none() && !kit.careful && self.chance(0.6) {
                vec!["card_number"]
            } else {
                Vec::new()
            },
            ..Default::default()
        }
        .inline(&device);
        if self.chance(0.2) {
            p.user_agent = None;
        }
        p.session = kit.radar.then_some(device);
        p
    }

    /// One order with `kit` through the minimal guest integration.
    fn thin_payment(&mut self, kit: &Kit, amount: i64) -> Payment {
        let typed = self.chance(0.5);
        Payment {
            email: kit.email.clone().filter(|_| self.chance(0.5)),
            amount,
            currency: kit.country.currency.to_owned(),
            card: Some(kit.card.clone()),
            presence: typed.then_some(PbPresence::OnSession),
            payment_type: typed.then_some(PbPaymentType::OneOff),
            ..Default::default()
        }
    }

    /// What a payment with a stolen card leads to: declined by the issuer at once (chance
    /// `decline`), or authorized and then revealed: an early fraud warning days later (two in
    /// three), after which the merchant refunds it as fraud or the cardholder disputes it; without
    /// a warning, a fraud dispute weeks later.
    fn stolen_outcomes(&mut self, at: i64, decline: f64) -> Vec<Outcome> {
        if self.chance(decline) {
            let code = *self.pick(&[
                "stolen_card",
                "lost_card",
                "do_not_honor",
                "card_declined",
                "pickup_card",
            ]);
            return vec![Self::declined(at, code)];
        }
        let mut outcomes = vec![Self::authorized(at)];
        let dispute = at + self.rng.i64(DISPUTE_DAYS) * DAY;
        if self.chance(0.65) {
            let days = self.lognormal(EFW_MEDIAN_DAYS, 0.6).clamp(2.0, 30.0);
            let efw = at + (days * DAY as f64) as i64;
            let fraud_type = if self.chance(0.8) {
                "made_with_stolen_card"
            } else {
                "unauthorized_use_of_card"
            };
            outcomes.push(Self::learned(
                OutcomeKind::EarlyFraudWarning,
                fraud_type,
                efw,
            ));
            if self.chance(0.35) {
                // Refunded to head off the dispute.
                let refund = efw + self.rng.i64(3600..3 * DAY);
                outcomes.push(Self::learned(OutcomeKind::Refunded, "fraudulent", refund));
            } else if self.chance(0.7) {
                let when = dispute.max(efw + 3 * DAY);
                outcomes.push(Self::learned(OutcomeKind::Disputed, "fraudulent", when));
            }
        } else {
            outcomes.push(Self::learned(OutcomeKind::Disputed, "fraudulent", dispute));
        }
        outcomes
    }
}
