//! Legitimate traffic: monthly subscriptions, one-off purchases (with their noise: travellers,
//! wallets, password managers that paste, fast returning customers, apps without Radar.js), phone
//! orders keyed in by staff, and the rare friendly fraud hidden among ordinary purchases.

use riskgate::proto::v1::{CustomerPresence as PbPresence, PaymentType as PbPaymentType};

use super::{
    DAY,
    event::{Event, OutcomeKind, Pattern},
    payment::Payment,
    population::Customer,
    random::Gen,
    world::{COUNTRIES, PRODUCTS},
};

/// Share of legitimate one-off purchases keyed in by staff (phone orders) through a thin
/// integration that sends little more than the amount.
const BACK_OFFICE_SHARE: f64 = 0.04;
/// Share of legitimate one-off purchases disputed as fraud by the cardholder.
const FRIENDLY_FRAUD_SHARE: f64 = 0.004;

impl Gen {
    /// Every customer's payments on the day starting at `midnight`: the subscription when it falls
    /// due, then the day's one-off purchases.
    pub(super) fn legitimate_day(
        &mut self,
        customers: &[Customer],
        midnight: i64,
        out: &mut Vec<Event>,
    ) {
        for c in customers {
            if let Some((amount, dom)) = c.subscription
                && (midnight - self.start) / DAY % 30 == i64::from(dom)
            {
                let at = midnight + 3 * 3600 + self.rng.i64(0..3600);
                out.push(self.recurring(c, amount, at));
            }
            for _ in 0..self.poisson(c.rate) {
                let at = midnight + self.daytime();
                out.push(self.one_off(c, at));
            }
        }
    }

    fn recurring(&mut self, c: &Customer, amount: f64, at: i64) -> Event {
        let p = Payment {
            customer: Some(c.id.clone()),
            email: Some(c.email.clone()),
            name: Some(c.name.clone()),
            amount: self.minor(amount),
            currency: c.country.currency.to_owned(),
            description: Some("Subscription".into()),
            card: Some(c.cards[0].clone()),
            billing: Some(c.home.clone()),
            presence: Some(PbPresence::OffSession),
            payment_type: Some(PbPaymentType::Recurring),
            ..Default::default()
        };
        let outcome = if self.chance(0.03) {
            Self::outcome(OutcomeKind::Declined, Some("insufficient_funds"), at)
        } else {
            Self::outcome(OutcomeKind::Authorized, None, at)
        };
        self.event(at, p, Pattern::Legitimate, outcome)
    }

    fn one_off(&mut self, c: &Customer, at: i64) -> Event {
        if self.chance(BACK_OFFICE_SHARE) {
            return self.back_office(c, at);
        }
        let card = self.pick(&c.cards).clone();
        let device = self.rng.usize(..c.user_agents.len());
        let wallet = c.wallet.filter(|_| self.chance(0.7));
        let travelling = self.chance(0.02);
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
            wallet,
            billing: self.chance(0.95).then(|| c.home.clone()),
            presence: Some(PbPresence::OnSession),
            payment_type: Some(if self.chance(0.05) {
                PbPaymentType::SetupOneOff
            } else {
                PbPaymentType::OneOff
            }),
            // Native apps without the Radar SDK send inline device data only.
            radar_session: self.chance(0.88),
            ip: Some(if travelling || self.chance(0.1) {
                self.ip()
            } else {
                c.ips[device].clone()
            }),
            user_agent: Some(c.user_agents[device]),
            ..Default::default()
        };
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
        let friendly = self.chance(FRIENDLY_FRAUD_SHARE);
        let (pattern, outcome) = if friendly {
            (
                Pattern::FriendlyFraud,
                Self::outcome(
                    OutcomeKind::Disputed,
                    Some("fraudulent"),
                    at + self.rng.i64(20..60) * DAY,
                ),
            )
        } else if self.chance(0.02) {
            (
                Pattern::Legitimate,
                Self::outcome(OutcomeKind::Declined, Some("insufficient_funds"), at),
            )
        } else if self.chance(0.02) {
            (
                Pattern::Legitimate,
                Self::outcome(
                    OutcomeKind::Refunded,
                    Some("requested_by_customer"),
                    at + self.rng.i64(1..20) * DAY,
                ),
            )
        } else {
            (
                Pattern::Legitimate,
                Self::outcome(OutcomeKind::Authorized, None, at),
            )
        };
        self.event(at, p, pattern, outcome)
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
        let outcome = Self::outcome(OutcomeKind::Authorized, None, at);
        self.event(at, p, Pattern::Legitimate, outcome)
    }
}
