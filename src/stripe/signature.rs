//! The `Stripe-Signature` header of webhooks: `t=<unix>,v1=<hex>[,v1=<hex>…]`. A delivery is
//! genuine when one `v1` is the HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint's secret
//! (compared in constant time) and `t` is within the tolerance of now.
//!
//! The header is unauthenticated input, so its cost is bounded before any HMAC (issue 18: a header
//! with ~6,000 `v1=` values once cost one HMAC of the whole body each, 3.6 s of CPU per request):
//! a header longer than [`MAX_HEADER_BYTES`] or with more than [`MAX_SIGNATURES`] `v1` values is
//! refused while parsing, a `v1` that is not 64 hex digits is ignored, the timestamp is checked
//! next, and only then is the body's HMAC computed — **once**, whatever the number of candidates —
//! and compared with each. [`parse`] and [`check_time`] need no body, so the admin server refuses
//! a bad header before it reads a byte of the body.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest `Stripe-Signature` header considered. Stripe's is about 80 bytes per signature
/// (`v1=` + 64 hex digits, and a `v0=` in test mode) plus the timestamp; 1 KiB holds a dozen.
pub const MAX_HEADER_BYTES: usize = 1024;
/// The most `v1` values considered. Stripe sends one per active signing secret: one, or two while
/// a secret is rolled. A header with more is refused, not truncated.
pub const MAX_SIGNATURES: usize = 4;
/// Hex digits of a `v1` value (HMAC-SHA256).
const SIGNATURE_HEX: usize = 64;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("Stripe-Signature is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("Stripe-Signature has more than {MAX_SIGNATURES} `v1=` signatures")]
    TooManySignatures,
    #[error("Stripe-Signature has no timestamp `t=`")]
    NoTimestamp,
    #[error("Stripe-Signature has no `v1=` signature")]
    NoSignature,
    #[error("signature timestamp is {0} s away from now (tolerance exceeded)")]
    Expired(i64),
    #[error("no v1 signature matches the payload")]
    Mismatch,
}

impl SignatureError {
    /// The `reason` label of `riskgate_webhook_requests_refused_total` for refusals made before
    /// any HMAC; `None` for the others (counted with the webhook outcomes).
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self {
            SignatureError::Missing => Some("no_signature_header"),
            SignatureError::TooLong => Some("header_too_long"),
            SignatureError::TooManySignatures => Some("too_many_signatures"),
            SignatureError::NoTimestamp | SignatureError::NoSignature => Some("malformed_header"),
            SignatureError::Expired(_) => Some("expired"),
            SignatureError::Mismatch => None,
        }
    }
}

/// A parsed header: the timestamp and at most [`MAX_SIGNATURES`] well-formed candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub t: i64,
    candidates: Vec<[u8; 32]>,
}

/// Parses `header` within the bounds above; no HMAC. `v1` values that are not 64 hex digits count
/// towards [`MAX_SIGNATURES`] but are never compared.
pub fn parse(header: Option<&str>) -> Result<Parsed, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::TooLong);
    }
    let (mut t, mut seen, mut candidates) = (None, 0usize, Vec::new());
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => {
                seen += 1;
                if seen > MAX_SIGNATURES {
                    return Err(SignatureError::TooManySignatures);
                }
                if let Some(bytes) = unhex32(v) {
                    candidates.push(bytes);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::NoTimestamp)?;
    if seen == 0 {
        return Err(SignatureError::NoSignature);
    }
    Ok(Parsed { t, candidates })
}

/// Refuses a timestamp further than `tolerance` from `now_unix`, either way.
pub fn check_time(
    parsed: &Parsed,
    tolerance: Duration,
    now_unix: i64,
) -> Result<(), SignatureError> {
    let age = now_unix.saturating_sub(parsed.t);
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(SignatureError::Expired(age));
    }
    Ok(())
}

/// Checks `header` against `body`; `Ok(t)` when genuine. One HMAC of the body at most.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    tolerance: Duration,
    now_unix: i64,
) -> Result<i64, SignatureError> {
    let parsed = parse(header)?;
    check_time(&parsed, tolerance, now_unix)?;
    if parsed.candidates.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let mut m = mac(secret);
    m.update(parsed.t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    let expected: [u8; 32] = m.finalize().into_bytes().into();
    // Constant time per candidate, and every candidate is compared.
    let mut ok = false;
    for c in &parsed.candidates {
        ok |= constant_time_eq(&expected, c);
    }
    if ok {
        Ok(parsed.t)
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// HMAC-SHA256 of `"{t}.{body}"`, hex.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// A `Stripe-Signature` header value for `body` at time `t` (for tests and demos).
pub fn sign_header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", signature(secret, t, body))
}

fn mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// 64 hex digits as 32 bytes; anything else is `None`.
fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != SIGNATURE_HEX {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_795_000_000;
    const TOL: Duration = Duration::from_secs(300);

    #[test]
    fn matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        let mut m = mac("Jefe");
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&m.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn valid_signature_passes() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign_header(SECRET, NOW - 10, body);
        assert_eq!(verify(Some(&header), body, SECRET, TOL, NOW), Ok(NOW - 10));
    }

    #[test]
    fn wrong_secret_fails() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign_header("whsec_other", NOW, body);
        assert_eq!(
            verify(Some(&header), body, SECRET, TOL, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn expired_timestamp_fails_either_way() {
        let body = b"{}";
        let old = sign_header(SECRET, NOW - 301, body);
        assert_eq!(
            verify(Some(&old), body, SECRET, TOL, NOW),
            Err(SignatureError::Expired(301))
        );
        let future = sign_header(SECRET, NOW + 301, body);
        assert!(matches!(
            verify(Some(&future), body, SECRET, TOL, NOW),
            Err(SignatureError::Expired(_))
        ));
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let body = b"{\"id\":\"evt_2\"}";
        let good = signature(SECRET, NOW, body);
        let header = format!("t={NOW},v1={},v0=abc,v1={good}", "00".repeat(32));
        assert_eq!(verify(Some(&header), body, SECRET, TOL, NOW), Ok(NOW));
        let header = format!("t={NOW},v1=zz,v1={}", "11".repeat(32));
        assert_eq!(
            verify(Some(&header), body, SECRET, TOL, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn tampered_body_fails() {
        let header = sign_header(SECRET, NOW, br#"{"amount":100}"#);
        assert_eq!(
            verify(Some(&header), br#"{"amount":999}"#, SECRET, TOL, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_fail() {
        assert_eq!(
            verify(None, b"", SECRET, TOL, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("v1=ab"), b"", SECRET, TOL, NOW),
            Err(SignatureError::NoTimestamp)
        );
        assert_eq!(
            verify(Some(&format!("t={NOW}")), b"", SECRET, TOL, NOW),
            Err(SignatureError::NoSignature)
        );
        // Short or non-hex candidates are never compared: a mismatch, not a panic.
        assert_eq!(
            verify(Some(&format!("t={NOW},v1=abc")), b"", SECRET, TOL, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                Some(&format!("t={NOW},v1={}", "é".repeat(32))),
                b"",
                SECRET,
                TOL,
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn floods_are_refused_while_parsing() {
        let body = b"{}";
        let good = signature(SECRET, NOW, body);
        // The genuine signature among four: accepted. A fifth value: refused, even if it is the
        // genuine one.
        let four = format!(
            "t={NOW},v1={},v1={},v1={},v1={good}",
            "0".repeat(64),
            "1".repeat(64),
            "2".repeat(64)
        );
        assert_eq!(verify(Some(&four), body, SECRET, TOL, NOW), Ok(NOW));
        let five = format!("{four},v1={good}");
        assert_eq!(parse(Some(&five)), Err(SignatureError::TooManySignatures));
        let flood = format!("t={NOW}{}", ",v1=00".repeat(6000));
        assert_eq!(parse(Some(&flood)), Err(SignatureError::TooLong));
        let short_flood = format!("t={NOW}{}", ",v1=".repeat(200));
        assert_eq!(
            parse(Some(&short_flood)),
            Err(SignatureError::TooManySignatures)
        );
        assert_eq!(
            SignatureError::TooManySignatures.refusal_reason(),
            Some("too_many_signatures")
        );
        assert_eq!(SignatureError::Mismatch.refusal_reason(), None);
    }
}
