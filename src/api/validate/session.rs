//! RecordRadarSession and GetRadarSession: a Radar Session's device data, and its id.

use super::{
    FieldViolation,
    check::{Checker, IdRule, Path, got},
    device::{MAX_PASTED_FIELD, MAX_PASTED_FIELDS, MAX_REFERRER, MAX_USER_AGENT},
    payment_method::PAYMENT_METHOD_ID,
};
use crate::proto::v1 as pb;

pub(super) const RADAR_SESSION_ID: IdRule = IdRule {
    prefix: "rse_",
    underscore: true,
    what: "a Radar Session id",
};

/// Device ids are opaque hashes from the merchant's device intelligence.
const MAX_DEVICE_ID: usize = 128;
const MAX_ACCEPT_LANGUAGE: usize = 256;
const MAX_TIMEZONE: usize = 64;
const MAX_SCREEN: usize = 32;
/// How far in the future a client clock may put `created_at` / `occurred_at`.
pub(super) const MAX_CLOCK_SKEW_SECS: i64 = 300;
const SESSION: &str = "session";
const SESSION_PASTED_FIELDS: &str = "session.pasted_fields";

fn is_screen(s: &str) -> bool {
    let (size, ratio) = s.split_once('@').map_or((s, None), |(a, b)| (a, Some(b)));
    let dims = size.split_once('x').is_some_and(|(w, h)| {
        [w, h]
            .iter()
            .all(|d| (1..=5).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
    });
    dims && ratio.is_none_or(|r| r.parse::<f32>().is_ok_and(|r| r > 0.0 && r <= 10.0))
}

fn is_timezone(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
}

/// Validates a RecordRadarSession session; `now` fills a zero `created_at`.
pub fn radar_session(
    s: Option<&pb::RadarSession>,
    now: i64,
) -> Result<crate::stores::state::RadarSession, Vec<FieldViolation>> {
    let mut c = Checker::default();
    let Some(s) = s else {
        c.violation(Path::Field("", SESSION), "required");
        return Err(c.violations);
    };
    let id_path = Path::Field(SESSION, "id");
    if s.id.is_empty() {
        c.violation(id_path, "required: a Radar Session id such as \"rse_1Abc\"");
    }
    let id = c.id(id_path, &s.id, &RADAR_SESSION_ID);
    let ip_path = Path::Field(SESSION, "ip");
    let ip = c.ip(ip_path, &s.ip);
    let user_agent = c.text(
        Path::Field(SESSION, "user_agent"),
        &s.user_agent,
        MAX_USER_AGENT,
    );
    let accept_language = c.shaped(
        Path::Field(SESSION, "accept_language"),
        &s.accept_language,
        MAX_ACCEPT_LANGUAGE,
        |v| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" -_,;=.*".contains(&b))
        },
        |_| "must be an Accept-Language header value such as \"fr-FR,fr;q=0.9,en;q=0.8\"".into(),
    );
    let referrer = c.text(Path::Field(SESSION, "referrer"), &s.referrer, MAX_REFERRER);
    let screen = c.shaped(
        Path::Field(SESSION, "screen"),
        &s.screen,
        MAX_SCREEN,
        is_screen,
        |v| {
            format!(
                "must be WIDTHxHEIGHT, optionally @RATIO, such as \"390x844@3\"{}",
                got(v)
            )
        },
    );
    let timezone = c.shaped(
        Path::Field(SESSION, "timezone"),
        &s.timezone,
        MAX_TIMEZONE,
        is_timezone,
        |v| {
            format!(
                "must be an IANA time zone such as \"Europe/Paris\"{}",
                got(v)
            )
        },
    );
    let device_id = c.shaped(
        Path::Field(SESSION, "device_id"),
        &s.device_id,
        MAX_DEVICE_ID,
        |v| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        },
        |_| "must be an opaque id of letters, digits and _ - . : only".into(),
    );
    if s.pasted_fields.len() > MAX_PASTED_FIELDS {
        c.violation(
            Path::Field(SESSION, "pasted_fields"),
            format!(
                "must have at most {MAX_PASTED_FIELDS} entries (got {})",
                s.pasted_fields.len()
            ),
        );
    }
    let mut pasted_fields = Vec::with_capacity(s.pasted_fields.len());
    for (i, field) in s.pasted_fields.iter().enumerate() {
        let path = Path::Item(SESSION_PASTED_FIELDS, i);
        let ok = c.shaped(
            path,
            field,
            MAX_PASTED_FIELD,
            |v| {
                v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
            },
            |_| "must be a checkout field name such as \"card_number\"".into(),
        );
        if field.is_empty() {
            c.violation(
                path,
                "must not be empty: a checkout field name such as \"card_number\"",
            );
        }
        pasted_fields.extend(ok.map(str::to_owned));
    }
    let created_at = match s.created_at {
        0 => now,
        t if t < 0 || t > now + MAX_CLOCK_SKEW_SECS => {
            c.violation(
                Path::Field(SESSION, "created_at"),
                "must be Unix seconds, not in the future (0 = now)",
            );
            now
        }
        t => t,
    };
    let payment_method = c.id(
        Path::Field(SESSION, "payment_method"),
        &s.payment_method,
        &PAYMENT_METHOD_ID,
    );
    match id {
        Some(id) if c.violations.is_empty() => Ok(crate::stores::state::RadarSession {
            id: id.to_owned(),
            facts: riskgate_core::signals::SessionFacts {
                ip,
                user_agent: user_agent.map(str::to_owned),
                accept_language: accept_language.map(str::to_owned),
                referrer: referrer.map(str::to_owned),
                screen: screen.map(str::to_owned),
                timezone: timezone.map(str::to_owned),
                device_id: device_id.map(str::to_owned),
                time_on_page_ms: s.time_on_page_ms,
                pasted_fields,
                created_at,
            },
            payment_method: payment_method.map(str::to_owned),
            ip_country: None,
            ip_key: None,
            device_key: None,
        }),
        _ => Err(c.violations),
    }
}

/// Validates a GetRadarSession id.
pub fn radar_session_id(id: &str) -> Result<&str, Vec<FieldViolation>> {
    let mut c = Checker::default();
    if id.is_empty() {
        c.violation(
            Path::Field("", "id"),
            "required: a Radar Session id such as \"rse_1Abc\"",
        );
    }
    match c.id(Path::Field("", "id"), id, &RADAR_SESSION_ID) {
        Some(id) if c.violations.is_empty() => Ok(id),
        _ => Err(c.violations),
    }
}
