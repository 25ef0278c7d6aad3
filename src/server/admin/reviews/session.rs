//! Who is looking at the review page: a request carries the admin token itself
//! (`Authorization: Bearer …`, for scripts) or the session cookie the login form set.
//!
//! The cookie is stateless and the same on every replica: `v1.EXPIRES.NONCE.NAME.MAC`, where NAME
//! is the analyst's name (hex) and MAC an HMAC-SHA256 under a key derived from the admin token —
//! so a forged or altered cookie is refused, and changing the token logs everyone out. It is
//! `HttpOnly`, `SameSite=Strict` and scoped to `/reviews`. Every form carries a CSRF token (an
//! HMAC of the cookie's nonce) that a POST must echo; POSTs from another origin are refused
//! besides.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::api::{actor::ADMIN_CREDENTIAL, auth::AdminAuth};

/// The cookie's name.
pub const COOKIE: &str = "riskgate_review";
/// The cookie's path: the page and nothing else on the admin port.
pub const COOKIE_PATH: &str = "/reviews";

/// An authenticated visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// As recorded in histories: `alice via admin`, or `admin`.
    pub actor: String,
    /// The form token, when the visitor came with the cookie (`None` with a bearer token).
    pub csrf: Option<String>,
}

/// Signs and checks session cookies.
pub struct Sessions {
    auth: AdminAuth,
    /// `None` without an admin token: no one can log in.
    key: Option<[u8; 32]>,
    ttl_secs: u64,
}

impl Sessions {
    /// Sessions for the admin token `token` (none: the page refuses everyone).
    pub fn new(token: Option<&str>, ttl_secs: u64) -> Self {
        Self {
            auth: AdminAuth::new(token),
            key: token.map(|t| {
                let mut h = Sha256::new();
                h.update(b"riskgate-review-session-v1\0");
                h.update(t.as_bytes());
                h.finalize().into()
            }),
            ttl_secs,
        }
    }

    pub fn configured(&self) -> bool {
        self.key.is_some()
    }

    fn mac(&self, data: &str) -> Option<String> {
        let mut m = Hmac::<Sha256>::new_from_slice(self.key.as_ref()?).expect("any key length");
        m.update(data.as_bytes());
        Some(hex(&m.finalize().into_bytes()))
    }

    /// The `Set-Cookie` value of a new session for `analyst` (may be empty) at `now`, when
    /// `token` is the admin token; `None` otherwise.
    pub fn login(&self, token: &str, analyst: &str, now: i64) -> Option<String> {
        self.auth.check_token(token.trim()).ok()?;
        let expires = now + self.ttl_secs as i64;
        let nonce = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let data = format!("v1.{expires}.{nonce}.{}", hex(analyst.trim().as_bytes()));
        let mac = self.mac(&data)?;
        Some(format!(
            "{COOKIE}={data}.{mac}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Strict",
            self.ttl_secs
        ))
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn logout() -> String {
        format!("{COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict")
    }

    /// The visitor of a request with `headers`, at `now`: a valid bearer token, or a valid,
    /// unexpired cookie.
    pub fn visitor(&self, headers: &HeaderMap, now: i64) -> Option<Visitor> {
        if let Some(bearer) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            self.auth.check_token(bearer.trim()).ok()?;
            let analyst = headers
                .get(crate::api::actor::ANALYST_METADATA)
                .and_then(|v| v.to_str().ok());
            return Some(Visitor {
                actor: crate::api::actor::actor(ADMIN_CREDENTIAL, analyst),
                csrf: None,
            });
        }
        let value = cookie(headers, COOKIE)?;
        let (data, mac) = value.rsplit_once('.')?;
        let expected = self.mac(data)?;
        if !constant_time_eq(mac.as_bytes(), expected.as_bytes()) {
            return None;
        }
        let mut parts = data.split('.');
        let (Some("v1"), Some(expires), Some(nonce), Some(name), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if expires.parse::<i64>().ok()? <= now {
            return None;
        }
        let name = String::from_utf8(unhex(name)?).ok()?;
        Some(Visitor {
            actor: crate::api::actor::actor(ADMIN_CREDENTIAL, Some(&name)),
            csrf: Some(self.mac(&format!("csrf.{nonce}"))?[..32].to_owned()),
        })
    }
}

/// Whether a POST by `visitor` with the form field `csrf` and `headers` may change anything: a
/// bearer visitor always (no browser sends it by itself); a cookie visitor when the form echoes
/// its token and the request does not come from another origin.
pub fn post_allowed(visitor: &Visitor, form_csrf: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = &visitor.csrf else {
        return true;
    };
    let same_origin = match (
        headers
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok()),
        headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok()),
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
        (Some(_), None) => false,
    };
    same_origin && form_csrf.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn cookie_of(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn a_login_cookie_names_the_analyst_until_it_expires() {
        let s = Sessions::new(Some("s3cret-token"), 100);
        assert!(s.login("wrong", "alice", 0).is_none());
        let set = s.login("s3cret-token", "alice", 1000).unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        let h = headers(&[("cookie", &format!("other=1; {}", cookie_of(&set)))]);
        let v = s.visitor(&h, 1050).unwrap();
        assert_eq!(v.actor, "alice via admin");
        let csrf = v.csrf.clone().unwrap();
        assert!(s.visitor(&h, 1100).is_none(), "expired");
        // A cookie signed under another token, or altered, is refused.
        let other = Sessions::new(Some("another-token"), 100);
        assert!(other.visitor(&h, 1050).is_none());
        let tampered = cookie_of(&set).replace("616c696365", "6d616c6c6f7279");
        assert!(
            s.visitor(&headers(&[("cookie", &tampered)]), 1050)
                .is_none()
        );
        // Forms must echo the token, from the same origin.
        let same = headers(&[
            ("host", "127.0.0.1:9090"),
            ("origin", "http://127.0.0.1:9090"),
        ]);
        assert!(post_allowed(&v, Some(&csrf), &same));
        assert!(!post_allowed(&v, None, &same));
        assert!(!post_allowed(&v, Some("0000"), &same));
        let cross = headers(&[
            ("host", "127.0.0.1:9090"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!post_allowed(&v, Some(&csrf), &cross));
    }

    #[test]
    fn a_bearer_token_needs_no_cookie_and_no_form_token() {
        let s = Sessions::new(Some("s3cret-token"), 100);
        let h = headers(&[
            ("authorization", "Bearer s3cret-token"),
            ("riskgate-analyst", "bob"),
        ]);
        let v = s.visitor(&h, 0).unwrap();
        assert_eq!(v.actor, "bob via admin");
        assert!(post_allowed(&v, None, &h));
        assert!(
            s.visitor(&headers(&[("authorization", "Bearer nope")]), 0)
                .is_none()
        );
        let off = Sessions::new(None, 100);
        assert!(!off.configured() && off.login("anything", "", 0).is_none());
    }
}
