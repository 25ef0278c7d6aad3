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

/// The keys and distinct values `input` is counted under. The IP key is the inline IP's; the
/// device key (and the IP key without an inline IP) comes from the Radar Session, which the state
/// store finds ([`fill_from_session`]).
pub fn attempt(input: &PaymentInput<'_>, usd: Option<f64>) -> Attempt {
    let mut a = Attempt {
        usd: usd.unwrap_or(0.0),
        ..Default::default()
    };
    let mut set = |kind: KeyKind, hash: Option<u64>| a.keys[kind as usize] = hash;
    let card = input
        .card
        .as_ref()
        .and_then(|c| c.fingerprint)
        .map(|f| key_hash(KeyKind::Card as u8, &[b"fp", f.as_bytes()]))
        .unwrap_or_else(|| {
            key_hash(
                KeyKind::Card as u8,
                &[b"pm", input.payment_method.as_bytes()],
            )
        });
    set(KeyKind::Card, Some(card));
    let email = input.any_email().map(normalized);
    let email_key = email
        .as_ref()
        .map(|e| key_hash(KeyKind::Email as u8, &[e.as_bytes()]));
    set(KeyKind::Email, email_key);
    set(KeyKind::Ip, input.device.ip.map(ip_key));
    let customer = input
        .customer
        .map(|c| key_hash(KeyKind::Customer as u8, &[c.as_bytes()]));
    set(KeyKind::Customer, customer);
    set(
        KeyKind::BillingAddress,
        input
            .billing
            .as_ref()
            .and_then(|b| b.address.as_ref())
            .and_then(|addr| address_key(KeyKind::BillingAddress, addr)),
    );
    set(
        KeyKind::ShippingAddress,
        input
            .shipping
            .as_ref()
            .and_then(|s| s.address.as_ref())
            .and_then(|addr| address_key(KeyKind::ShippingAddress, addr)),
    );
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
