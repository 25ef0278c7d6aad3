//! The payment of `examples/evaluation.json`, as the gateway's validation maps it, built by hand so
//! the core's benchmarks need nothing but the core.

use std::collections::BTreeMap;

use riskgate_core::{
    input::{Address, Card, CustomerPresence, Device, Party, PaymentInput, PaymentType},
    reference::currency,
};

/// Unix time the benchmarks evaluate at.
pub const NOW: i64 = 1_795_219_200;

/// `examples/evaluation.json` as a validated payment; `metadata` is its `{"order_id": "1042"}`.
pub fn payment(metadata: &BTreeMap<String, String>) -> PaymentInput<'_> {
    let address = Address {
        line1: Some("510 Townsend St"),
        city: Some("San Francisco"),
        state: Some("CA"),
        postal_code: Some("94103"),
        country: Some("US"),
        line2: None,
    };
    PaymentInput {
        amount: 12_900,
        currency: currency("usd").expect("usd is known"),
        customer: Some("cus_Q7xK2mLp9RtV"),
        customer_account: None,
        email: Some("jenny.rosen@example.com"),
        name: Some("Jenny Rosen"),
        phone: Some("+1 415 555 0100"),
        description: Some("Order #1042"),
        statement_descriptor: Some("EXAMPLE SHOP"),
        payment_method: "pm_1Q2w3E4r5T6y",
        billing: Some(Party {
            address: Some(address.clone()),
            email: Some("jenny.rosen@example.com"),
            name: Some("Jenny Rosen"),
            phone: None,
        }),
        card: Some(Card {
            bin: Some("424242"),
            last4: Some("4242"),
            brand: Some("visa"),
            country: Some("US"),
            funding: Some("credit"),
            fingerprint: Some("Xt5EWLLDS7FJjR1c"),
            exp_month: Some(12),
            exp_year: Some(2028),
            wallet: None,
            three_d_secure_supported: None,
            ..Default::default()
        }),
        customer_presence: Some(CustomerPresence::OnSession),
        payment_type: Some(PaymentType::OneOff),
        shipping: Some(Party {
            address: Some(address),
            email: None,
            name: Some("Jenny Rosen"),
            phone: None,
        }),
        device: Device {
            radar_session: Some("rse_1Q2w3E4r5T6yU7"),
            ip: Some("203.0.113.7".parse().expect("an IP")),
            user_agent: Some(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
            ),
            referrer: None,
            time_on_page_ms: Some(48_000),
            pasted_fields: Vec::new(),
        },
        metadata,
        radar: Default::default(),
    }
}

/// The example's metadata.
pub fn metadata() -> BTreeMap<String, String> {
    [("order_id".to_owned(), "1042".to_owned())].into()
}
