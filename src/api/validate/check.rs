//! What every check shares: the [`Checker`] that collects violations while mapping, the field
//! [`Path`]s that name them, the shape of Stripe ids, and the rules every string follows.

use std::fmt;

use super::{
    FieldViolation,
    pan::{Census, PAN_REFUSED, contains_pan, has_pan_run},
};
use riskgate_core::text::hidden_char;

/// Stripe object ids are a prefix and at most 250 characters after it.
const MAX_ID_BODY: usize = 250;
/// Any string without a tighter bound (Stripe's general limit on string parameters).
pub(super) const MAX_TEXT: usize = 5000;
/// Metadata keys longer than this are not repeated in a field path (the key violation says why).
const MAX_KEY_IN_PATH: usize = 100;
/// Values longer than this are not repeated in a description.
const MAX_ECHO: usize = 40;

/// The shape of a Stripe object id: a prefix, then 1 to [`MAX_ID_BODY`] characters.
pub(super) struct IdRule {
    pub(super) prefix: &'static str,
    /// Whether the part after the prefix may contain `_` besides letters and digits.
    pub(super) underscore: bool,
    pub(super) what: &'static str,
}

/// A field's path, rendered only when a violation names it.
#[derive(Clone, Copy)]
pub(super) enum Path<'p> {
    /// `parent.name`, or `name` at the root (empty parent).
    Field(&'p str, &'p str),
    /// `list[index]`.
    Item(&'p str, usize),
    /// `map[key]` (`metadata[key]`), or just `map` when the key can't be repeated (it holds a card
    /// number or control characters, or is very long).
    MapKey(&'p str, &'p str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Path::Field("", name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(list, index) => write!(f, "{list}[{index}]"),
            Path::MapKey(map, key) => {
                if key.chars().count() <= MAX_KEY_IN_PATH && !has_control(key) && !contains_pan(key)
                {
                    write!(f, "{map}[{key}]")
                } else {
                    f.write_str(map)
                }
            }
        }
    }
}

/// Collects violations while mapping. Every check returns the mapped value, `None` when the field is
/// unset or invalid; the mapped values are used only when no violation was recorded.
#[derive(Default)]
pub(super) struct Checker {
    pub(super) violations: Vec<FieldViolation>,
}

impl Checker {
    pub(super) fn violation(&mut self, path: Path<'_>, description: impl Into<String>) {
        self.violations.push(FieldViolation {
            field: path.to_string(),
            description: description.into(),
        });
    }

    /// The checks every string gets: no card number, no control, bidi or invisible characters, at
    /// most `max` characters.
    /// `Some(s)` when `s` is set and passed them (ready for the field's own rules).
    pub(super) fn text<'a>(&mut self, path: Path<'_>, s: &'a str, max: usize) -> Option<&'a str> {
        if s.is_empty() {
            return None;
        }
        match text_problem(s, max) {
            None => Some(s),
            Some(problem) => {
                self.violation(path, problem);
                None
            }
        }
    }

    /// [`Self::text`], then `ok`; `describe` says what was expected when `ok` fails.
    pub(super) fn shaped<'a>(
        &mut self,
        path: Path<'_>,
        s: &'a str,
        max: usize,
        ok: impl FnOnce(&str) -> bool,
        describe: impl FnOnce(&str) -> String,
    ) -> Option<&'a str> {
        let s = self.text(path, s, max)?;
        if ok(s) {
            Some(s)
        } else {
            self.violation(path, describe(s));
            None
        }
    }

    pub(super) fn id<'a>(&mut self, path: Path<'_>, s: &'a str, rule: &IdRule) -> Option<&'a str> {
        let ok = |s: &str| {
            s.strip_prefix(rule.prefix).is_some_and(|body| {
                (1..=MAX_ID_BODY).contains(&body.len())
                    && body
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || (rule.underscore && c == b'_'))
            })
        };
        let describe = |_: &str| {
            let chars = if rule.underscore {
                "letters, digits or underscores"
            } else {
                "letters or digits"
            };
            format!(
                "must be {}: \"{}\" followed by 1 to {MAX_ID_BODY} {chars}",
                rule.what, rule.prefix
            )
        };
        self.shaped(path, s, rule.prefix.len() + MAX_ID_BODY, ok, describe)
    }

    pub(super) fn one_of<'a>(
        &mut self,
        path: Path<'_>,
        s: &'a str,
        allowed: &[&str],
    ) -> Option<&'a str> {
        self.shaped(
            path,
            s,
            MAX_TEXT,
            |s| allowed.contains(&s),
            |s| format!("must be one of {}{}", allowed.join(", "), got(s)),
        )
    }
}

/// What is wrong with `s` by the rules every string follows, if anything.
#[inline]
pub(super) fn text_problem(s: &str, max: usize) -> Option<String> {
    // One pass tells whether the slower checks can find anything (most texts: they cannot).
    let census = Census::of(s.as_bytes());
    if census.printable && !census.may_hold_pan() && s.len() <= max {
        return None;
    }
    text_problem_of(s, max, census)
}

/// [`text_problem`] past its census (texts with many digits, such as user agents, or beyond
/// printable ASCII).
#[inline(never)]
fn text_problem_of(s: &str, max: usize, census: Census) -> Option<String> {
    if census.may_hold_pan() && has_pan_run(s.as_bytes()) {
        Some(PAN_REFUSED.into())
    } else if !census.printable
        && let Some((c, why)) = hidden_char(s)
    {
        Some(format!("{} (U+{:04X})", why.describe(), u32::from(c)))
    } else if s.len() > max && s.chars().count() > max {
        Some(format!(
            "must be at most {max} characters (got {})",
            s.chars().count()
        ))
    } else {
        None
    }
}

/// Control characters (C0, C1, DEL, line and paragraph separators), bidi controls, and invisible
/// characters that can hide or reorder text ([`riskgate_core::text::hidden_char`]): refused in
/// every string, so a value cannot look like another in a log, a list or a review.
fn has_control(s: &str) -> bool {
    hidden_char(s).is_some()
}

/// ` (got "…")` for a short value that passed the common checks, or nothing for a long one.
pub(super) fn got(s: &str) -> String {
    if s.chars().count() <= MAX_ECHO {
        format!(" (got {s:?})")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use crate::api::validate::fixtures::*;

    #[test]
    fn control_characters_and_the_general_length_cap() {
        let mut req = valid();
        customer(&mut req).name = "Jenny\nRosen".into();
        req.metadata.insert("order\tid".into(), "v".into());
        req.metadata.insert("note".into(), "a\u{7f}".into());
        req.idempotency_key = "k\0".into();
        req.expand.push("a".repeat(5001));
        let v = violations(&req);
        assert_eq!(
            v.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            [
                "customer_details.name",
                "metadata[note]",
                "metadata",
                "idempotency_key",
                "expand[1]"
            ]
        );
        assert_eq!(
            v[0].description,
            "must not contain control characters (U+000A)"
        );
        assert_eq!(
            v[2].description,
            "the key must not contain control characters (U+0009)"
        );
        assert_eq!(
            v[4].description,
            "must be at most 5000 characters (got 5001)"
        );
    }

    #[test]
    fn unicode_controls_bidi_overrides_and_invisible_characters_are_refused() {
        let mut req = valid();
        customer(&mut req).name = "Jenny\u{85}Rosen".into();
        customer(&mut req).email = "evil\u{202E}moc.elpmaxe@jenny".into();
        req.metadata.insert("ad\u{200B}min".into(), "v".into());
        req.metadata.insert("note".into(), "a\u{2066}b".into());
        let v = violations(&req);
        let by_field = |f: &str| {
            v.iter()
                .find(|v| v.field == f)
                .unwrap_or_else(|| panic!("{f}: {v:?}"))
                .description
                .clone()
        };
        assert_eq!(
            by_field("customer_details.name"),
            "must not contain control characters (U+0085)"
        );
        assert_eq!(
            by_field("customer_details.email"),
            "must not contain bidirectional control characters (U+202E)"
        );
        assert_eq!(
            by_field("metadata"),
            "the key must not contain invisible characters (U+200B)"
        );
        assert_eq!(
            by_field("metadata[note]"),
            "must not contain bidirectional control characters (U+2066)"
        );
        // Scripts that need joiners, and emoji, pass.
        let mut req = valid();
        customer(&mut req).name = "می\u{200C}خواهم 👩\u{200D}💻".into();
        assert!(super::super::payment_evaluation(&req).is_ok());
    }
}
