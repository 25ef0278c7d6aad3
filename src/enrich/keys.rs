//! The keys a payment is counted under (card, email, IP, customer, addresses, device) and the
//! distinct values it adds: 64-bit keyed hashes (SipHash-2-4 under the 128-bit pseudonym key,
//! [`crate::pseudonym`]) of normalized values. Text is folded as value lists fold it
//! ([`riskgate_core::text::fold`]: NFKC + full case folding), so `JÖRG@…` and `jörg@…` are one
//! email, `STRASSE 1` and `straße 1` one address.
//!
//! Keyed, the keys are pseudonyms a Redis reader cannot reverse by hashing candidate emails, and a
//! caller cannot pick values that land in one shard of the in-process map. Every replica sharing a
//! Redis must use the same key; changing it starts velocity history afresh.

use std::{hash::Hasher, net::IpAddr};

use siphasher::sip::SipHasher24;

use crate::{pseudonym::PseudonymKey, stores::state::Attempt};
use riskgate_core::{
    input::{Address, PaymentInput},
    signals::{Dim, KeyKind},
    text::fold,
};

/// Computes keys under one pseudonym key.
#[derive(Debug, Clone)]
pub struct KeyHasher {
    key: [u8; 16],
}

impl KeyHasher {
    pub fn new(key: &PseudonymKey) -> Self {
        Self {
            key: *key.sip_key(),
        }
    }

    /// The 64-bit key of a kind and its normalized value's parts.
    fn hash(&self, kind: u8, parts: &[&[u8]]) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write_u8(kind);
        for p in parts {
            h.write(p);
            h.write_u8(0xff);
        }
        h.finish()
    }

    fn address_key(&self, kind: KeyKind, a: &Address<'_>) -> Option<u64> {
        a.line1.or(a.postal_code)?;
        let fields = [a.line1, a.line2, a.city, a.state, a.postal_code, a.country];
        let norm: Vec<String> = fields
            .iter()
            .map(|f| f.map(normalized).unwrap_or_default())
            .collect();
        let parts: Vec<&[u8]> = norm.iter().map(|s| s.as_bytes()).collect();
        Some(self.hash(kind as u8, &parts))
    }

    /// The velocity key of an IP address.
    pub fn ip_key(&self, ip: IpAddr) -> u64 {
        match ip {
            IpAddr::V4(v4) => self.hash(KeyKind::Ip as u8, &[&v4.octets()]),
            IpAddr::V6(v6) => self.hash(KeyKind::Ip as u8, &[&v6.octets()]),
        }
    }

    /// The velocity key of a device id.
    pub fn device_key(&self, device_id: &str) -> u64 {
        self.hash(KeyKind::Device as u8, &[device_id.as_bytes()])
    }
}

/// Words folded ([`fold`]) and joined by single spaces: how emails, names and addresses are
/// compared.
fn normalized(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&fold(word));
    }
    out
}

/// What names the entities of a payment (or of a Stripe charge), for [`KeyHasher::entity_keys`].
#[derive(Debug, Clone, Default)]
pub struct Entities<'a> {
    pub fingerprint: Option<&'a str>,
    /// The card's key when there is no fingerprint.
    pub payment_method: Option<&'a str>,
    pub email: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub billing: Option<Address<'a>>,
    pub shipping: Option<Address<'a>>,
}

impl KeyHasher {
    /// The card, email, customer and address keys of `e` (IP and device come from the request or
    /// its session). A Stripe charge named in a webhook gets the keys an evaluation of it had.
    pub fn entity_keys(&self, e: &Entities<'_>) -> [Option<u64>; KeyKind::COUNT] {
        let mut keys = [None; KeyKind::COUNT];
        keys[KeyKind::Card as usize] = e
            .fingerprint
            .map(|f| self.hash(KeyKind::Card as u8, &[b"fp", f.as_bytes()]))
            .or_else(|| {
                e.payment_method
                    .map(|pm| self.hash(KeyKind::Card as u8, &[b"pm", pm.as_bytes()]))
            });
        keys[KeyKind::Email as usize] = e
            .email
            .map(normalized)
            .map(|e| self.hash(KeyKind::Email as u8, &[e.as_bytes()]));
        keys[KeyKind::Customer as usize] = e
            .customer
            .map(|c| self.hash(KeyKind::Customer as u8, &[c.as_bytes()]));
        keys[KeyKind::BillingAddress as usize] = e
            .billing
            .as_ref()
            .and_then(|addr| self.address_key(KeyKind::BillingAddress, addr));
        keys[KeyKind::ShippingAddress as usize] = e
            .shipping
            .as_ref()
            .and_then(|addr| self.address_key(KeyKind::ShippingAddress, addr));
        keys
    }
}

/// The keys and distinct values `input` is counted under. The IP key is the inline IP's; the
/// device key (and the IP key without an inline IP) comes from the Radar Session, which the state
/// store finds ([`fill_from_session`]).
pub fn attempt(keys: &KeyHasher, input: &PaymentInput<'_>, usd: Option<f64>) -> Attempt {
    let mut a = Attempt {
        usd: usd.unwrap_or(0.0),
        keys: keys.entity_keys(&Entities {
            fingerprint: input.card.as_ref().and_then(|c| c.fingerprint),
            payment_method: Some(input.payment_method),
            email: input.any_email(),
            customer: input.customer,
            billing: input
                .billing
                .as_ref()
                .and_then(|b| b.address.as_ref())
                .cloned(),
            shipping: input
                .shipping
                .as_ref()
                .and_then(|s| s.address.as_ref())
                .cloned(),
        }),
        ..Default::default()
    };
    a.keys[KeyKind::Ip as usize] = input.device.ip.map(|ip| keys.ip_key(ip));
    let card = a.keys[KeyKind::Card as usize].expect("a payment method is a card key");
    let email_key = a.keys[KeyKind::Email as usize];
    let customer = a.keys[KeyKind::Customer as usize];
    let name = input
        .billing
        .as_ref()
        .and_then(|b| b.name)
        .or(input.name)
        .map(normalized)
        .filter(|n| !n.is_empty())
        .map(|n| keys.hash(255, &[n.as_bytes()]));
    let short = |h: u64| (h ^ (h >> 32)) as u32;
    a.dims[Dim::Card as usize] = Some(short(card));
    a.dims[Dim::Email as usize] = email_key.map(short);
    a.dims[Dim::Name as usize] = name.map(short);
    a.dims[Dim::Customer as usize] = customer.map(short);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_secret_and_fold_text() {
        let a = KeyHasher::new(&PseudonymKey::from_secret(&[1; 32]));
        let b = KeyHasher::new(&PseudonymKey::from_secret(&[2; 32]));
        let ip = "198.51.100.4".parse().unwrap();
        assert_ne!(a.ip_key(ip), b.ip_key(ip));
        assert_eq!(a.ip_key(ip), a.clone().ip_key(ip));
        assert_eq!(
            a.hash(1, &[normalized("  JÖRG@Example.com ").as_bytes()]),
            a.hash(1, &[normalized("jörg@example.com").as_bytes()])
        );
        assert_eq!(normalized("STRASSE  1\tBerlin"), "strasse 1 berlin");
        assert_eq!(normalized("Straße 1 Berlin"), "strasse 1 berlin");
        assert_eq!(normalized("ＪＯＲＧ"), "jorg");
    }
}
