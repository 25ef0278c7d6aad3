//! Stripe's form encoding: nested parameters in bracket notation
//! (`payment_details[payment_method_details][payment_method]=pm_…`, `metadata[key]=…`, arrays as
//! `a[0]`, `a[1]` as stripe-node and stripe-go send them), `application/x-www-form-urlencoded`.
//! Empty fields are left out, as Stripe's SDKs do.

use riskgate_core::input::{Address, CustomerPresence, Party, PaymentInput, PaymentType};

use crate::stripe::version::Features;

/// Why a payment cannot be put in a request Stripe accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// `customer_details` is required and a form cannot carry an empty hash.
    #[error(
        "Stripe requires customer_details with at least one of customer, customer_account, \
         email, name or phone"
    )]
    NoCustomerDetails,
}

/// The request body for `POST /v1/radar/payment_evaluations`, from the validated payment, with
/// the parameters `features` (the configured version) accepts:
/// - always `customer_details` (required: at least one of its fields), `payment_details`, the
///   Radar Session, metadata;
/// - in the private preview, inline device data as `client_device_metadata_details[data][…]`
///   (`ip` and `user_agent` are required together; sent beside the Radar Session, which the spec
///   still requires) and the card's `exp_month`, `exp_year` (required together), `first6` and
///   `last4` under `payment_details[payment_method_details][card]` — never a card number or CVC,
///   which riskgate never has.
///
/// The vault's other card facts (brand, country, funding, fingerprint, wallet) are riskgate's own:
/// no Stripe version takes them.
pub fn payment_evaluation(
    input: &PaymentInput<'_>,
    features: Features,
) -> Result<String, FormError> {
    // Keys are written piece by piece (each piece encoded as it goes), so building the body
    // allocates only the body: no key is formatted into a string of its own.
    let mut f = Form(String::with_capacity(BODY_CAPACITY));
    const CD: &str = "customer_details";
    let customer = [
        ("customer", input.customer),
        ("customer_account", input.customer_account),
        ("email", input.email),
        ("name", input.name),
        ("phone", input.phone),
    ];
    if !customer
        .iter()
        .any(|(_, v)| v.is_some_and(|v| !v.is_empty()))
    {
        return Err(FormError::NoCustomerDetails);
    }
    for (field, value) in customer {
        f.optional(&[CD, field], value);
    }

    const PD: &str = "payment_details";
    let mut amount = itoa_buf();
    f.pair(
        "payment_details[amount]",
        format_i64(&mut amount, input.amount),
    );
    f.nested(&[PD, "currency"], input.currency.code);
    f.optional(&[PD, "description"], input.description);
    f.optional(&[PD, "statement_descriptor"], input.statement_descriptor);
    const PM: &str = "payment_method_details";
    f.nested(&[PD, PM, "payment_method"], input.payment_method);
    if let Some(b) = &input.billing {
        f.party(&[PD, PM, "billing_details"], b, true);
    }
    if features.card
        && let Some(card) = &input.card
        && let (Some(month), Some(year)) = (card.exp_month, card.exp_year)
    {
        let mut buf = itoa_buf();
        f.nested(
            &[PD, PM, "card", "exp_month"],
            format_i64(&mut buf, i64::from(month)),
        );
        f.nested(
            &[PD, PM, "card", "exp_year"],
            format_i64(&mut buf, i64::from(year)),
        );
        f.optional(
            &[PD, PM, "card", "first6"],
            card.bin.and_then(|b| b.get(..6)),
        );
        f.optional(&[PD, PM, "card", "last4"], card.last4);
    }
    if input.customer_presence.is_some() || input.payment_type.is_some() {
        const MM: &str = "money_movement_details";
        // Card is the only money movement type; Stripe requires it beside its details.
        f.nested(&[PD, MM, "money_movement_type"], "card");
        if let Some(presence) = input.customer_presence {
            let presence = match presence {
                CustomerPresence::OnSession => "on_session",
                CustomerPresence::OffSession => "off_session",
            };
            f.nested(&[PD, MM, "card", "customer_presence"], presence);
        }
        if let Some(payment_type) = input.payment_type {
            let payment_type = match payment_type {
                PaymentType::OneOff => "one_off",
                PaymentType::Recurring => "recurring",
                PaymentType::SetupOneOff => "setup_one_off",
                PaymentType::SetupRecurring => "setup_recurring",
            };
            f.nested(&[PD, MM, "card", "payment_type"], payment_type);
        }
    }
    if let Some(s) = &input.shipping {
        f.party(&[PD, "shipping_details"], s, false);
    }
    const CDM: &str = "client_device_metadata_details";
    if let Some(session) = input.device.radar_session.filter(|s| !s.is_empty()) {
        f.nested(&[CDM, "radar_session"], session);
        let d = &input.device;
        if features.device_data
            && let (Some(ip), Some(user_agent)) = (d.ip, d.user_agent.filter(|u| !u.is_empty()))
        {
            f.nested(&[CDM, "data", "ip"], &ip.to_string());
            f.nested(&[CDM, "data", "user_agent"], user_agent);
            f.optional(&[CDM, "data", "referrer"], d.referrer);
            if let Some(ms) = d.time_on_page_ms {
                let mut buf = itoa_buf();
                let ms = i64::try_from(ms).unwrap_or(i64::MAX);
                f.nested(&[CDM, "data", "time_on_page_ms"], format_i64(&mut buf, ms));
            }
            let mut sent: Vec<&'static str> = Vec::with_capacity(4);
            for field in d.pasted_fields.iter().filter_map(|p| pasted_field(p)) {
                if !sent.contains(&field) {
                    let mut buf = itoa_buf();
                    let i = format_i64(&mut buf, sent.len() as i64);
                    f.nested(&[CDM, "data", "pasted_fields", i], field);
                    sent.push(field);
                }
            }
        }
    }
    for (k, v) in input.metadata {
        f.key(&["metadata", k]);
        f.value(v);
    }
    Ok(f.0)
}

/// Stripe's name (`cvc | exp | number | zip`, a closed set) for a checkout field the customer
/// pasted into, from the names orchestrators use (`card_number`, `cvv`, `expiry`, `postal_code`,
/// …); `None` for any other field (an email, a name), which Stripe has no word for.
pub fn pasted_field(name: &str) -> Option<&'static str> {
    let base = name.rsplit('.').next().unwrap_or(name);
    let base = base.strip_prefix("card_").unwrap_or(base);
    Some(match base {
        "number" | "cardnumber" | "pan" => "number",
        "cvc" | "cvv" | "cvc2" | "cvv2" | "csc" | "security_code" => "cvc",
        "exp" | "expiry" | "expiration" | "exp_date" | "expiry_date" | "expiration_date"
        | "exp_month" | "exp_year" => "exp",
        "zip" | "zip_code" | "postal_code" | "postcode" | "address_zip" => "zip",
        _ => return None,
    })
}

/// Room for a typical body (the bundled example encodes to about 700 bytes), so the body is
/// allocated once.
const BODY_CAPACITY: usize = 1024;

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// `n` in decimal, written into `buf`.
fn format_i64(buf: &mut [u8; 20], n: i64) -> &str {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    write!(cursor, "{n}").expect("20 bytes hold any i64");
    let len = cursor.position() as usize;
    std::str::from_utf8(&buf[..len]).expect("digits are UTF-8")
}

/// A form body being built, in Stripe's encoding.
#[derive(Default)]
pub(crate) struct Form(String);

impl Form {
    /// The encoded body.
    pub(crate) fn finish(self) -> String {
        self.0
    }

    /// Adds `key=value`, both encoded.
    pub(crate) fn pair(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        encode_into(&mut self.0, key);
        self.0.push('=');
        encode_into(&mut self.0, value);
    }

    /// Starts a pair whose key is `path[0][path[1]]…` (bracket notation).
    fn key(&mut self, path: &[&str]) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        for (i, part) in path.iter().enumerate() {
            if i > 0 {
                self.0.push_str("%5B");
            }
            encode_into(&mut self.0, part);
            if i > 0 {
                self.0.push_str("%5D");
            }
        }
    }

    /// Ends the pair [`Form::key`] started.
    fn value(&mut self, value: &str) {
        self.0.push('=');
        encode_into(&mut self.0, value);
    }

    /// Adds `path[…]=value` unless `value` is empty.
    fn nested(&mut self, path: &[&str], value: &str) {
        if !value.is_empty() {
            self.key(path);
            self.value(value);
        }
    }

    /// Adds `path[…]=value` when there is a value.
    fn optional(&mut self, path: &[&str], value: Option<&str>) {
        if let Some(value) = value {
            self.nested(path, value);
        }
    }

    /// A billing or shipping party under `path`: its address, name and phone, and its email
    /// when `with_email` (Stripe's shipping details have none).
    fn party(&mut self, path: &[&str], p: &Party<'_>, with_email: bool) {
        let mut key = [""; 8];
        let n = path.len().min(key.len() - 2);
        key[..n].copy_from_slice(&path[..n]);
        if let Some(a) = &p.address {
            key[n] = "address";
            self.address(&key[..=n], a);
        }
        for (field, value) in [
            ("email", if with_email { p.email } else { None }),
            ("name", p.name),
            ("phone", p.phone),
        ] {
            key[n] = field;
            self.optional(&key[..=n], value);
        }
    }

    fn address(&mut self, path: &[&str], a: &Address<'_>) {
        let mut key = [""; 8];
        let n = path.len().min(key.len() - 1);
        key[..n].copy_from_slice(&path[..n]);
        for (field, value) in [
            ("city", a.city),
            ("country", a.country),
            ("line1", a.line1),
            ("line2", a.line2),
            ("postal_code", a.postal_code),
            ("state", a.state),
        ] {
            key[n] = field;
            self.optional(&key[..=n], value);
        }
    }
}

/// Percent-encodes for `application/x-www-form-urlencoded` (space as `+`). Brackets are encoded
/// too, as Stripe's SDKs do; Stripe decodes them.
fn encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}

/// Decodes a form body into `(key, value)` pairs (for the fake server and tests). `None` when the
/// body is not valid form encoding.
pub fn decode(body: &str) -> Option<Vec<(String, String)>> {
    fn unescape(s: &str) -> Option<String> {
        let mut out = Vec::with_capacity(s.len());
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    if body.is_empty() {
        return Some(Vec::new());
    }
    body.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((unescape(k)?, unescape(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        api::validate,
        proto::v1::{self as pb, CreatePaymentEvaluationRequest},
    };

    fn request() -> CreatePaymentEvaluationRequest {
        CreatePaymentEvaluationRequest {
            customer_details: Some(pb::CustomerDetails {
                customer: "cus_1".into(),
                email: "a+b@example.com".into(),
                ..Default::default()
            }),
            payment_details: Some(pb::PaymentDetails {
                amount: 1099,
                currency: "usd".into(),
                payment_method_details: Some(pb::PaymentMethodDetails {
                    payment_method: "pm_card_visa".into(),
                    billing_details: Some(pb::BillingDetails {
                        address: Some(pb::Address {
                            country: "US".into(),
                            postal_code: "94107".into(),
                            ..Default::default()
                        }),
                        name: "Jenny Rosen".into(),
                        ..Default::default()
                    }),
                    card: Some(pb::CardDetails {
                        fingerprint: "fp_secret_vault".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                money_movement_details: Some(pb::MoneyMovementDetails {
                    money_movement_type: pb::MoneyMovementType::Card as i32,
                    card: Some(pb::MoneyMovementCardDetails {
                        customer_presence: pb::CustomerPresence::OnSession as i32,
                        payment_type: pb::PaymentType::OneOff as i32,
                    }),
                }),
                ..Default::default()
            }),
            client_device_metadata_details: Some(pb::ClientDeviceMetadataDetails {
                radar_session: "rse_123".into(),
                ip: "203.0.113.9".into(),
                ..Default::default()
            }),
            metadata: [("order id".to_owned(), "A&B=1".to_owned())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn bracket_notation_round_trips() {
        let req = request();
        let body = payment_evaluation(
            &validate::payment_evaluation(&req).unwrap(),
            Features::of(crate::config::DEFAULT_API_VERSION, false),
        )
        .unwrap();
        let pairs = decode(&body).unwrap();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("payment_details[amount]"), Some("1099"));
        assert_eq!(get("payment_details[currency]"), Some("usd"));
        assert_eq!(
            get("payment_details[payment_method_details][payment_method]"),
            Some("pm_card_visa")
        );
        assert_eq!(
            get("payment_details[payment_method_details][billing_details][address][country]"),
            Some("US")
        );
        assert_eq!(
            get("payment_details[payment_method_details][billing_details][name]"),
            Some("Jenny Rosen")
        );
        assert_eq!(
            get("payment_details[money_movement_details][card][customer_presence]"),
            Some("on_session")
        );
        assert_eq!(
            get("client_device_metadata_details[radar_session]"),
            Some("rse_123")
        );
        assert_eq!(get("customer_details[email]"), Some("a+b@example.com"));
        assert_eq!(get("metadata[order id]"), Some("A&B=1"));
        assert_eq!(
            get("payment_details[money_movement_details][money_movement_type]"),
            Some("card")
        );
        // Empty fields and riskgate-only fields are not sent.
        assert_eq!(get("customer_details[name]"), None);
        assert!(!body.contains("fp_secret_vault") && !body.contains("203.0.113.9"));
    }

    fn private_preview_request() -> CreatePaymentEvaluationRequest {
        let mut req = request();
        let device = req.client_device_metadata_details.as_mut().unwrap();
        device.user_agent = "Mozilla/5.0".into();
        device.referrer = "https://shop.example/cart".into();
        device.time_on_page_ms = Some(4200);
        device.pasted_fields = vec![
            "card_number".into(),
            "email".into(),
            "cvv".into(),
            "number".into(),
        ];
        let card = req
            .payment_details
            .as_mut()
            .unwrap()
            .payment_method_details
            .as_mut()
            .unwrap()
            .card
            .as_mut()
            .unwrap();
        card.bin = "42424242".into();
        card.last4 = "4242".into();
        card.exp_month = 12;
        card.exp_year = 2030;
        req
    }

    #[test]
    fn the_private_preview_gets_device_data_and_card_facts() {
        let req = private_preview_request();
        let input = validate::payment_evaluation(&req).unwrap();
        let body = payment_evaluation(&input, Features::of("2026-07-29.preview", true)).unwrap();
        let pairs = decode(&body).unwrap();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        const D: &str = "client_device_metadata_details[data]";
        assert_eq!(get(&format!("{D}[ip]")), Some("203.0.113.9"));
        assert_eq!(get(&format!("{D}[user_agent]")), Some("Mozilla/5.0"));
        assert_eq!(get(&format!("{D}[time_on_page_ms]")), Some("4200"));
        assert_eq!(get(&format!("{D}[pasted_fields][0]")), Some("number"));
        assert_eq!(get(&format!("{D}[pasted_fields][1]")), Some("cvc"));
        assert_eq!(get(&format!("{D}[pasted_fields][2]")), None, "deduplicated");
        const C: &str = "payment_details[payment_method_details][card]";
        assert_eq!(get(&format!("{C}[exp_month]")), Some("12"));
        assert_eq!(get(&format!("{C}[exp_year]")), Some("2030"));
        assert_eq!(get(&format!("{C}[first6]")), Some("424242"));
        assert_eq!(get(&format!("{C}[last4]")), Some("4242"));
        assert!(!body.contains("fp_secret_vault"));

        // Before card facts existed: device data only. GA, the public preview: neither.
        let body = payment_evaluation(&input, Features::of("2026-04-22.preview", true)).unwrap();
        assert!(body.contains("%5Bdata%5D") && !body.contains("exp_month"));
        for (version, private) in [("2026-07-29.preview", false), ("2026-07-29.dahlia", true)] {
            let body = payment_evaluation(&input, Features::of(version, private)).unwrap();
            assert!(
                !body.contains("%5Bdata%5D") && !body.contains("%5Bcard%5D%5Bexp"),
                "{version}"
            );
        }
    }

    #[test]
    fn device_data_needs_ip_user_agent_and_the_radar_session() {
        let features = Features::of("2026-07-29.preview", true);
        let mut req = private_preview_request();
        req.client_device_metadata_details.as_mut().unwrap().ip = String::new();
        let body =
            payment_evaluation(&validate::payment_evaluation(&req).unwrap(), features).unwrap();
        assert!(
            !body.contains("%5Bdata%5D"),
            "ip and user_agent go together"
        );
        let mut req = private_preview_request();
        req.client_device_metadata_details
            .as_mut()
            .unwrap()
            .radar_session = String::new();
        let body =
            payment_evaluation(&validate::payment_evaluation(&req).unwrap(), features).unwrap();
        assert!(
            !body.contains("client_device_metadata_details"),
            "the spec requires radar_session within the hash"
        );
    }

    #[test]
    fn customer_details_are_required() {
        let mut req = request();
        req.customer_details = Some(pb::CustomerDetails::default());
        let input = validate::payment_evaluation(&req).unwrap();
        assert_eq!(
            payment_evaluation(&input, Features::of("2026-07-29.dahlia", false)),
            Err(FormError::NoCustomerDetails)
        );
    }

    #[test]
    fn pasted_fields_map_onto_stripes_closed_set() {
        for (name, stripe) in [
            ("card_number", Some("number")),
            ("card.number", Some("number")),
            ("cvv", Some("cvc")),
            ("card_cvc", Some("cvc")),
            ("expiry", Some("exp")),
            ("exp_month", Some("exp")),
            ("postal_code", Some("zip")),
            ("billing_details.address.postal_code", Some("zip")),
            ("email", None),
            ("name", None),
        ] {
            assert_eq!(pasted_field(name), stripe, "{name}");
        }
    }

    #[test]
    fn nested_keys_encode_like_whole_keys() {
        let mut whole = Form::default();
        whole.pair(
            "payment_details[payment_method_details][payment_method]",
            "pm 1",
        );
        let mut nested = Form::default();
        nested.nested(
            &[
                "payment_details",
                "payment_method_details",
                "payment_method",
            ],
            "pm 1",
        );
        assert_eq!(whole.finish(), nested.0);
        let mut buf = itoa_buf();
        assert_eq!(format_i64(&mut buf, i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn encoding_escapes_reserved_characters() {
        let mut s = String::new();
        encode_into(&mut s, "a b&c=d[e]é");
        assert_eq!(s, "a+b%26c%3Dd%5Be%5D%C3%A9");
        assert_eq!(decode("a=%ZZ"), None);
        assert_eq!(decode("novalue"), None);
    }
}
