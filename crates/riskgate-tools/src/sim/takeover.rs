//! Account takeover: someone logs into a customer's account (phished or reused password) and buys
//! with the saved card: the victim's customer id, card and payment method, billing address and
//! name; but a device and IP the account never used, goods shipped to a new address, often the
//! account's email changed to the attacker's, baskets several times the victim's usual, one to two
//! orders within the hour. The victim notices: a complaint to the merchant within days (reported as
//! fraud), an early fraud warning, a fraud dispute weeks later; the issuer then replaces the card.

use riskgate::proto::v1::{CustomerPresence as PbPresence, PaymentType as PbPaymentType};

use super::{
    DAY,
    event::{Event, Outcome, OutcomeKind, Pattern},
    fraud::Day,
    random::Gen,
    stolen::{Burned, Kit},
    world::USER_AGENTS,
};

/// Tries at finding a victim: a customer who logs in and has a saved card.
const VICTIM_TRIES: usize = 20;

impl Gen {
    /// Account takeover (see the module header). No customer with a saved card, no takeover.
    pub(super) fn account_takeover(&mut self, day: &mut Day<'_>, out: &mut Vec<Event>) {
        if day.customers.is_empty() {
            return;
        }
        let Some((v, k)) = (0..VICTIM_TRIES).find_map(|_| {
            let v = self.rng.usize(..day.customers.len());
            let c = &day.customers[v];
            let saved: Vec<usize> = (0..c.cards.len()).filter(|k| c.saved[*k]).collect();
            (c.logged_in && !saved.is_empty()).then(|| (v, *self.pick(&saved)))
        }) else {
            return;
        };
        let c = &day.customers[v];
        let ua = *self.pick(USER_AGENTS);
        let mimic = self.chance(0.3).then_some(c.country);
        let device = self.fraud_device(mimic, ua);
        let email = if self.chance(0.6) {
            // The attacker changed the account's email to keep the victim out of the loop.
            self.throwaway_email()
        } else {
            c.email.clone()
        };
        let shipping = if self.chance(0.35) {
            self.foreign_address()
        } else {
            self.address(c.country)
        };
        let kit = Kit {
            card: c.cards[k].clone(),
            payment_method: Some(c.payment_methods[k].clone()),
            name: c.name.clone(),
            email: Some(email),
            customer: Some(c.id.clone()),
            device,
            radar: self.chance(0.85),
            rotates: false,
            billing: Some(c.home.clone()),
            shipping: Some(shipping),
            country: c.country,
            careful: true,
        };
        let basket = c.basket;
        let mut at = day.midnight + self.rng.i64(0..DAY);
        let mut known: Option<i64> = None;
        for _ in 0..self.rng.usize(1..3) {
            at += self.rng.i64(120..5400);
            let amount = {
                let major = basket * self.lognormal(4.0, 0.5);
                self.minor(major)
            };
            let mut p = self.kit_payment(&kit, amount);
            p.time_on_page_ms = Some(self.lognormal(9_000.0, 0.6) as u64);
            p.presence = Some(PbPresence::OnSession);
            p.payment_type = Some(PbPaymentType::OneOff);
            let outcomes = self.takeover_outcomes(at);
            let e = self.event(at, p, Pattern::AccountTakeover, outcomes);
            let learned = e.fraud_known_at().expect("a takeover is always reported");
            known = Some(known.map_or(learned, |k| k.min(learned)));
            out.push(e);
        }
        let known_at = known.expect("at least one order");
        // The issuer replaces the card from the day the fraud is reported.
        let reissue = self.day_start(known_at);
        day.customers[v].reissue.push((reissue, k));
        day.burned.push(Burned {
            kit,
            card_known_at: known_at,
            identity_known_at: Some(known_at),
        });
    }

    /// Authorized (a saved card, a known account); then the victim complains to the merchant
    /// within days (half the time), the issuer sends an early fraud warning (two in five), and the
    /// cardholder disputes it as fraud weeks later (four in five, always when nothing else came).
    fn takeover_outcomes(&mut self, at: i64) -> Vec<Outcome> {
        let mut outcomes = vec![Self::authorized(at)];
        if self.chance(0.5) {
            let when = at + self.rng.i64(DAY..6 * DAY);
            outcomes.push(Self::learned(
                OutcomeKind::MerchantReportedFraud,
                "account_takeover",
                when,
            ));
        }
        if self.chance(0.4) {
            let when = at + self.rng.i64(3..15) * DAY;
            outcomes.push(Self::learned(
                OutcomeKind::EarlyFraudWarning,
                "unauthorized_use_of_card",
                when,
            ));
        }
        if self.chance(0.8) || outcomes.len() == 1 {
            let when = at + self.rng.i64(10..60) * DAY;
            outcomes.push(Self::learned(OutcomeKind::Disputed, "fraudulent", when));
        }
        outcomes
    }
}
