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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    /// A session with every field set and valid.
    fn session() -> pb::RadarSession {
        pb::RadarSession {
            id: "rse_1Q0PsIJvEtkwdCNY".into(),
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)".into(),
            accept_language: "fr-FR,fr;q=0.9,en;q=0.8".into(),
            referrer: "https://shop.example.com/cart".into(),
            screen: "390x844@3".into(),
            timezone: "Europe/Paris".into(),
            device_id: "dev_3f2a.9c:01".into(),
            time_on_page_ms: Some(45_000),
            pasted_fields: vec!["email".into(), "billing.postal_code".into()],
            created_at: 0,
            payment_method: "pm_1Q0PsIJvEtkwdCNY".into(),
        }
    }

    fn fields(s: &pb::RadarSession) -> Vec<String> {
        radar_session(Some(s), NOW)
            .expect_err("session should be invalid")
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn a_valid_session_maps_and_a_zero_created_at_is_now() {
        let s = radar_session(Some(&session()), NOW).unwrap();
        assert_eq!(s.id, "rse_1Q0PsIJvEtkwdCNY");
        assert_eq!(s.facts.ip, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(s.facts.screen.as_deref(), Some("390x844@3"));
        assert_eq!(s.facts.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(s.facts.pasted_fields, ["email", "billing.postal_code"]);
        assert_eq!(s.facts.created_at, NOW);
        assert_eq!(s.payment_method.as_deref(), Some("pm_1Q0PsIJvEtkwdCNY"));

        let mut minimal = pb::RadarSession {
            id: "rse_1".into(),
            created_at: NOW - 60,
            ..Default::default()
        };
        let s = radar_session(Some(&minimal), NOW).unwrap();
        assert_eq!(s.facts.created_at, NOW - 60);
        assert_eq!(s.payment_method, None);
        minimal.created_at = NOW + MAX_CLOCK_SKEW_SECS;
        assert!(
            radar_session(Some(&minimal), NOW).is_ok(),
            "within the skew"
        );
    }

    #[test]
    fn the_session_and_its_id_are_required() {
        let v = radar_session(None, NOW).unwrap_err();
        assert_eq!(v, [violation("session", "required")]);

        let mut s = session();
        s.id = String::new();
        let v = radar_session(Some(&s), NOW).unwrap_err();
        assert_eq!(
            v,
            [violation(
                "session.id",
                "required: a Radar Session id such as \"rse_1Abc\""
            )]
        );
        s.id = "sess_1".into();
        let v = radar_session(Some(&s), NOW).unwrap_err();
        assert_eq!(v.len(), 1, "{v:#?}");
        assert!(v[0].description.contains("\"rse_\""), "{v:?}");
    }

    #[test]
    fn every_session_violation_is_reported_at_once() {
        let mut s = session();
        s.ip = "nope".into();
        s.accept_language = "fr<".into();
        s.screen = "big".into();
        s.timezone = "+01:00".into();
        s.device_id = "a b".into();
        s.pasted_fields = vec!["Card Number".into(), String::new()];
        s.created_at = NOW + MAX_CLOCK_SKEW_SECS + 1;
        s.payment_method = "card_1".into();
        assert_eq!(
            fields(&s),
            [
                "session.ip",
                "session.accept_language",
                "session.screen",
                "session.timezone",
                "session.device_id",
                "session.pasted_fields[0]",
                "session.pasted_fields[1]",
                "session.created_at",
                "session.payment_method",
            ]
        );

        let mut s = session();
        s.screen = "big".into();
        s.created_at = -1;
        let v = radar_session(Some(&s), NOW).unwrap_err();
        assert_eq!(
            v,
            [
                violation(
                    "session.screen",
                    "must be WIDTHxHEIGHT, optionally @RATIO, such as \"390x844@3\" (got \"big\")"
                ),
                violation(
                    "session.created_at",
                    "must be Unix seconds, not in the future (0 = now)"
                ),
            ]
        );

        let mut s = session();
        s.pasted_fields = (0..21).map(|i| format!("field_{i}")).collect();
        assert_eq!(fields(&s), ["session.pasted_fields"]);
    }

    #[test]
    fn screens_and_timezones() {
        for ok in ["1920x1080", "390x844@3", "390x844@2.625", "1x1@10"] {
            assert!(is_screen(ok), "{ok}");
        }
        for bad in [
            "",
            "x1",
            "1920x",
            "123456x1",
            "390x844@0",
            "390x844@11",
            "390x844@x",
        ] {
            assert!(!is_screen(bad), "{bad}");
        }
        for ok in [
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+1",
            "UTC",
        ] {
            assert!(is_timezone(ok), "{ok}");
        }
        for bad in ["", "+01:00", "Europe/Paris ", "1UTC"] {
            assert!(!is_timezone(bad), "{bad}");
        }
    }

    #[test]
    fn radar_session_ids() {
        assert_eq!(radar_session_id("rse_1Q0P_x"), Ok("rse_1Q0P_x"));
        assert_eq!(
            radar_session_id(""),
            Err(vec![violation(
                "id",
                "required: a Radar Session id such as \"rse_1Abc\""
            )])
        );
        let v = radar_session_id("rse_1-2").unwrap_err();
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].field, "id");
    }

    fn violation(field: &str, description: &str) -> FieldViolation {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}
