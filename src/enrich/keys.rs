//! The keys a payment is counted under (card, email, IP, customer, addresses, device) and the
//! distinct values it adds: stable 64-bit hashes of normalized values.

use std::{
    hash::{Hash, Hasher},
    net::IpAddr,
};

use crate::stores::state::Attempt;
use riskgate_core::{
    input::{Address, PaymentInput},
    signals::{Dim, KeyKind},
};

/// A stable 64-bit hash of a key's kind and normalized value.
fn key_hash(kind: u8, parts: &[&[u8]]) -> u64 {
    // SipHash-1-3 with fixed keys: the same value gives the same key in every process of a build.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(0x7269_736b_6761_7465, 0x7665_6c6f_6369_7479);
    kind.hash(&mut h);
    for p in parts {
        h.write(p);
        h.write_u8(0xff);
    }
    h.finish()
}

fn normalized(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

fn address_key(kind: KeyKind, a: &Address<'_>) -> Option<u64> {
    a.line1.or(a.postal_code)?;
    let fields = [a.line1, a.line2, a.city, a.state, a.postal_code, a.country];
    let norm: Vec<String> = fields
        .iter()
        .map(|f| f.map(normalized).unwrap_or_default())
        .collect();
    let parts: Vec<&[u8]> = norm.iter().map(|s| s.as_bytes()).collect();
    Some(key_hash(kind as u8, &parts))
}

/// The velocity key of an IP address.
pub fn ip_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => key_hash(KeyKind::Ip as u8, &[&v4.octets()]),
        IpAddr::V6(v6) => key_hash(KeyKind::Ip as u8, &[&v6.octets()]),
    }
}

/// The velocity key of a device id.
pub fn device_key(device_id: &str) -> u64 {
    key_hash(KeyKind::Device as u8, &[device_id.as_bytes()])
}

/// What names the entities of a payment (or of a Stripe charge), for [`entity_keys`].
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

/// The card, email, customer and address keys of `e` (IP and device come from the request or its
/// session). A Stripe charge named in a webhook gets the keys an evaluation of it had.
pub fn entity_keys(e: &Entities<'_>) -> [Option<u64>; KeyKind::COUNT] {
    let mut keys = [None; KeyKind::COUNT];
    keys[KeyKind::Card as usize] = e
        .fingerprint
        .map(|f| key_hash(KeyKind::Card as u8, &[b"fp", f.as_bytes()]))
        .or_else(|| {
            e.payment_method
                .map(|pm| key_hash(KeyKind::Card as u8, &[b"pm", pm.as_bytes()]))
        });
    keys[KeyKind::Email as usize] = e
        .email
        .map(normalized)
        .map(|e| key_hash(KeyKind::Email as u8, &[e.as_bytes()]));
    keys[KeyKind::Customer as usize] = e
        .customer
        .map(|c| key_hash(KeyKind::Customer as u8, &[c.as_bytes()]));
    keys[KeyKind::BillingAddress as usize] = e
        .billing
        .as_ref()
        .and_then(|addr| address_key(KeyKind::BillingAddress, addr));
    keys[KeyKind::ShippingAddress as usize] = e
        .shipping
        .as_ref()
        .and_then(|addr| address_key(KeyKind::ShippingAddress, addr));
    keys
}

/// The keys and distinct values `input` is counted under. The IP key is the inline IP's; the
/// device key (and the IP key without an inline IP) comes from the Radar Session, which the state
/// store finds ([`fill_from_session`]).
pub fn attempt(input: &PaymentInput<'_>, usd: Option<f64>) -> Attempt {
    let mut a = Attempt {
        usd: usd.unwrap_or(0.0),
        keys: entity_keys(&Entities {
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
    a.keys[KeyKind::Ip as usize] = input.device.ip.map(ip_key);
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
        .map(|n| key_hash(255, &[n.as_bytes()]));
    let short = |h: u64| (h ^ (h >> 32)) as u32;
    a.dims[Dim::Card as usize] = Some(short(card));
    a.dims[Dim::Email as usize] = email_key.map(short);
    a.dims[Dim::Name as usize] = name.map(short);
    a.dims[Dim::Customer as usize] = customer.map(short);
    a
}
