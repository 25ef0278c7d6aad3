//! Legitimate traffic: merchant-initiated charges (monthly subscriptions, unscheduled top-ups: off
//! session, saved card, no device data), one-off purchases (with their noise: travellers, wallets,
//! password managers that paste, fast returning customers, apps without Radar.js, guests, a card
//! saved at its first use, an email changed now and then), phone orders keyed in by staff, guests
//! through a thin integration, and the rare friendly fraud hidden among ordinary purchases.

use riskgate::proto::v1::{CustomerPresence as PbPresence, PaymentType as PbPaymentType};

use super::{
    DAY,
    event::{Event, Outcome, OutcomeKind, Pattern},
    payment::Payment,
    population::Customer,
    random::Gen,
    world::{COUNTRIES, PRODUCTS, USER_AGENTS},
};

/// Share of legitimate one-off purchases keyed in by staff (phone orders) through a thin
/// integration that sends little more than the amount.
const BACK_OFFICE_SHARE: f64 = 0.04;
/// Share of legitimate one-off purchases by guests through a minimal integration: the amount and
/// the card's facts, sometimes an email, nothing about the device.
const SPARSE_GUEST_SHARE: f64 = 0.03;
/// Share of one-off purchases that are ordinary checkouts (where friendly fraud hides).
pub(super) const REGULAR_ONE_OFF_SHARE: f64 =
    (1.0 - BACK_OFFICE_SHARE) * (1.0 - SPARSE_GUEST_SHARE);
/// Chance that a customer checks out from a device riskgate has not seen (a new phone, a cleared
/// or private browser); it replaces one of theirs.
const NEW_DEVICE_CHANCE: f64 = 0.02;
/// Chance that a declined purchase is tried again within minutes.
const RETRY_CHANCE: f64 = 0.6;
/// Chance that a purchase is followed by a second order within the hour or so (a forgotten
/// item).
const FOLLOW_UP_CHANCE: f64 = 0.04;
/// Chance that a customer changes their account's email before a purchase.
const EMAIL_CHANGE_CHANCE: f64 = 0.003;

impl Gen {
    /// Every customer's payments on the day starting at `midnight`: cards the issuer replaced are
    /// swapped in, then the subscription when it falls due, top-ups, and the day's one-off
    /// purchases (each disputed as fraud by its own cardholder with chance `friendly`).
    pub(super) fn legitimate_day(
        &mut self,
        customers: &mut [Customer],
        midnight: i64,
        friendly: f64,
        out: &mut Vec<Event>,
    ) {
        for c in customers.iter_mut() {
            self.reissue_due(c, midnight);
            if let Some((amount, dom)) = c.subscription
                && (midnight - self.start) / DAY % 30 == i64::from(dom)
            {
                let at = midnight + 3 * 3600 + self.rng.i64(0..3600);
                out.push(self.merchant_initiated(c, amount, PbPaymentType::Recurring, at));
            }
            if let Some((per_day, median)) = c.top_up {
                for _ in 0..self.poisson(per_day) {
                    let at = midnight + self.rng.i64(0..DAY);
                    let amount = self.lognormal(median, 0.4);
                    out.push(self.merchant_initiated(c, amount, PbPaymentType::OneOff, at));
                }
            }
            for _ in 0..self.poisson(c.rate) {
                let at = midnight + self.daytime();
                self.one_off(c, at, friendly, out);
            }
        }
    }

    /// A merchant-initiated charge of the customer's saved card: off session, no device data.
    fn merchant_initiated(
        &mut self,
        c: &Customer,
        amount: f64,
        payment_type: PbPaymentType,
        at: i64,
    ) -> Event {
        let p = Payment {
            customer: Some(c.id.clone()),
            email: self.chance(0.8).then(|| c.email.clone()),
            name: Some(c.name.clone()),
            amount: self.minor(amount),
            currency: c.country.currency.to_owned(),
            description: Some(
                if payment_type == PbPaymentType::Recurring {
                    "Subscription"
                } else {
                    "Top-up"
                }
                .into(),
            ),
            card: Some(c.cards[0].clone()),
            payment_method: Some(c.payment_methods[0].clone()),
            billing: Some(c.home.clone()),
            presence: Some(PbPresence::OffSession),
            payment_type: Some(payment_type),
            ..Default::default()
        };
        let outcome = if self.chance(0.03) {
            let code = *self.pick(&["insufficient_funds", "insufficient_funds", "expired_card"]);
            Self::declined(at, code)
        } else {
            Self::authorized(at)
        };
        self.event(at, p, Pattern::Legitimate, vec![outcome])
    }

    /// A one-off purchase at `at`, and the payment that may follow it within the hour: a retry
    /// after a decline (with the other card, when there is one), or a second order.
    fn one_off(&mut self, c: &mut Customer, at: i64, friendly: f64, out: &mut Vec<Event>) {
        if self.chance(BACK_OFFICE_SHARE) {
            out.push(self.back_office(c, at));
            return;
        }
        if self.chance(SPARSE_GUEST_SHARE) {
            out.push(self.sparse_guest(c, at));
            return;
        }
        if self.chance(EMAIL_CHANGE_CHANCE) {
            let (first, last) = c.name.split_once(' ').unwrap_or((&c.name, ""));
            let (first, last) = (first.to_owned(), last.to_owned());
            c.email = self.email(&first, &last);
        }
        let k = self.rng.usize(..c.cards.len());
        let card = c.cards[k].clone();
        // A logged-in customer pays with the saved card, saving it at its first use.
        let (payment_method, saves) = if c.logged_in {
            let saves = !c.saved[k];
            c.saved[k] = true;
            (Some(c.payment_methods[k].clone()), saves)
        } else {
            (None, false)
        };
        if self.chance(NEW_DEVICE_CHANCE) {
            let i = self.rng.usize(..c.devices.len());
            let ua = *self.pick(USER_AGENTS);
            c.devices[i] = self.device(c.country, ua);
        }
        let mut device = self.pick(&c.devices).clone();
        let travelling = self.chance(0.02);
        if travelling || self.chance(0.1) {
            // Mobile networks, coffee shops, hotels.
            device.ip = self.ip();
        }
        let wallet = c.wallet.filter(|_| self.chance(0.7));
        let mut p = Payment {
            customer: c.logged_in.then(|| c.id.clone()),
            email: self.chance(0.97).then(|| c.email.clone()),
            name: Some(c.name.clone()),
            phone: self.chance(0.5).then(|| c.phone.clone()),
            amount: {
                let major = c.basket * self.lognormal(1.0, 0.7);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            description: Some((*self.pick(PRODUCTS)).to_owned()),
            card: Some(card),
            payment_method,
            wallet,
            billing: self.chance(0.95).then(|| c.home.clone()),
            presence: Some(PbPresence::OnSession),
            payment_type: Some(if saves {
                PbPaymentType::SetupOneOff
            } else {
                PbPaymentType::OneOff
            }),
            saves_card: saves,
            ..Default::default()
        }
        .inline(&device);
        // Native apps without the Radar SDK send inline device data only.
        p.session = self.chance(0.88).then_some(device);
        if self.chance(0.7) {
            // Physical goods: home, sometimes a gift elsewhere in the country, rarely abroad.
            p.shipping = Some(if self.chance(0.06) {
                self.address(c.country)
            } else if self.chance(0.01) {
                let other = self.pick(COUNTRIES);
                self.address(other)
            } else {
                c.home.clone()
            });
        }
        // Returning customers with autofill can be as fast as a bot.
        let median_ms = if wallet.is_some() || self.chance(0.05) {
            12_000.0
        } else {
            70_000.0
        };
        p.time_on_page_ms = Some(self.lognormal(median_ms, 0.8).max(1_500.0) as u64);
        if wallet.is_none() && c.pastes && self.chance(0.6) {
            p.pasted.push("card_number");
        }
        let (pattern, outcomes) = if self.chance(friendly) {
            (Pattern::FriendlyFraud, self.friendly_fraud(c, k, at))
        } else {
            (Pattern::Legitimate, self.ordinary_outcomes(at))
        };
        let declined = outcomes[0].kind == OutcomeKind::Declined;
        let retry = declined && self.chance(RETRY_CHANCE);
        let follow_up =
            !declined && pattern == Pattern::Legitimate && self.chance(FOLLOW_UP_CHANCE);
        let mut next = (retry || follow_up).then(|| p.clone());
        out.push(self.event(at, p, pattern, outcomes));
        let Some(q) = next.as_mut() else { return };
        let when = if retry {
            if c.cards.len() > 1 && self.chance(0.5) {
                let other = (k + 1) % c.cards.len();
                q.card = Some(c.cards[other].clone());
                q.payment_method = c.logged_in.then(|| c.payment_methods[other].clone());
                q.saves_card = c.logged_in && !c.saved[other];
                c.saved[other] |= c.logged_in;
            } else {
                q.saves_card = false;
            }
            at + self.rng.i64(30..600)
        } else {
            q.saves_card = false;
            let major = c.basket * self.lognormal(0.5, 0.6);
            q.amount = self.minor(major);
            q.description = Some((*self.pick(PRODUCTS)).to_owned());
            at + self.rng.i64(300..5400)
        };
        q.payment_type = Some(if q.saves_card {
            PbPaymentType::SetupOneOff
        } else {
            PbPaymentType::OneOff
        });
        q.time_on_page_ms = Some(self.lognormal(20_000.0, 0.6).max(1_500.0) as u64);
        let outcomes = self.ordinary_outcomes(when);
        let q = next.take().expect("set above");
        out.push(self.event(when, q, Pattern::Legitimate, outcomes));
    }

    /// An ordinary purchase's outcomes: mostly authorized; sometimes declined, refunded at the
    /// customer's request, or disputed for a reason other than fraud.
    fn ordinary_outcomes(&mut self, at: i64) -> Vec<Outcome> {
        if self.chance(0.02) {
            let code = *self.pick(&["insufficient_funds", "do_not_honor", "expired_card"]);
            return vec![Self::declined(at, code)];
        }
        let mut outcomes = vec![Self::authorized(at)];
        if self.chance(0.02) {
            let when = at + self.rng.i64(1..20) * DAY;
            outcomes.push(Self::learned(
                OutcomeKind::Refunded,
                "requested_by_customer",
                when,
            ));
        } else if self.chance(0.003) {
            let reason = *self.pick(&["product_not_received", "product_unacceptable"]);
            let when = at + self.rng.i64(15..60) * DAY;
            outcomes.push(Self::learned(OutcomeKind::Disputed, reason, when));
        }
        outcomes
    }

    /// Friendly fraud: authorized, then disputed as fraud by the cardholder weeks later (after an
    /// early fraud warning, sometimes). The issuer replaces the card once fraud is claimed.
    fn friendly_fraud(&mut self, c: &mut Customer, card: usize, at: i64) -> Vec<Outcome> {
        let mut outcomes = vec![Self::authorized(at)];
        let dispute = at + self.rng.i64(20..60) * DAY;
        let mut claimed = dispute;
        if self.chance(0.4) {
            let efw = at + self.rng.i64(5..20) * DAY;
            outcomes.push(Self::learned(
                OutcomeKind::EarlyFraudWarning,
                "unauthorized_use_of_card",
                efw,
            ));
            claimed = efw;
        }
        outcomes.push(Self::learned(OutcomeKind::Disputed, "fraudulent", dispute));
        // From the day of the claim (a payment later that day already has the new card).
        c.reissue.push((self.day_start(claimed), card));
        outcomes
    }

    /// A phone or back-office order keyed in by staff through a thin integration: the request
    /// carries little beyond the amount (no device, often no card facts or email).
    fn back_office(&mut self, c: &Customer, at: i64) -> Event {
        let p = Payment {
            customer: self.chance(0.5).then(|| c.id.clone()),
            email: self.chance(0.3).then(|| c.email.clone()),
            amount: {
                let major = c.basket * self.lognormal(1.0, 0.7);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            card: self.chance(0.4).then(|| self.pick(&c.cards).clone()),
            billing: self.chance(0.3).then(|| c.home.clone()),
            ..Default::default()
        };
        let outcomes = self.ordinary_outcomes(at);
        self.event(at, p, Pattern::Legitimate, outcomes)
    }

    /// A guest checkout through a minimal integration: the amount and the card's facts, an email
    /// half the time, sometimes the presence and payment type; no device, no address.
    fn sparse_guest(&mut self, c: &Customer, at: i64) -> Event {
        let typed = self.chance(0.5);
        let p = Payment {
            email: self.chance(0.5).then(|| c.email.clone()),
            amount: {
                let major = c.basket * self.lognormal(1.0, 0.7);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            card: Some(self.pick(&c.cards).clone()),
            presence: typed.then_some(PbPresence::OnSession),
            payment_type: typed.then_some(PbPaymentType::OneOff),
            ..Default::default()
        };
        let outcomes = self.ordinary_outcomes(at);
        self.event(at, p, Pattern::Legitimate, outcomes)
    }
}
