//! [`SmallText`]: a string kept inline up to [`INLINE`] bytes, on the heap beyond. Reasons and
//! their messages are built on every evaluation; kept inline, an evaluation allocates nothing.

use std::{fmt, ops::Deref};

/// Bytes kept inline: every reason message of the default model and rules fits (the longest is
/// about 60 bytes plus a country, domain or wallet name).
pub const INLINE: usize = 94;

/// Text built with `write!` or from a `&str`/`String`, inline while it fits.
#[derive(Clone)]
pub struct SmallText(Repr);

#[derive(Clone)]
enum Repr {
    /// `buf[..len]` is UTF-8: only whole `&str`s are ever copied in.
    Inline {
        len: u8,
        buf: [u8; INLINE],
    },
    Heap(String),
}

impl SmallText {
    /// Empty text.
    pub const fn new() -> Self {
        SmallText(Repr::Inline {
            len: 0,
            buf: [0; INLINE],
        })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                // SAFETY: `push_str` copies whole `&str`s only, so `buf[..len]` is UTF-8.
                unsafe { std::str::from_utf8_unchecked(&buf[..usize::from(*len)]) }
            }
            Repr::Heap(s) => s,
        }
    }

    /// Appends `s`; moves to the heap when the inline bytes run out.
    pub fn push_str(&mut self, s: &str) {
        match &mut self.0 {
            Repr::Inline { len, buf } => {
                let at = usize::from(*len);
                if at + s.len() <= INLINE {
                    buf[at..at + s.len()].copy_from_slice(s.as_bytes());
                    *len = (at + s.len()) as u8;
                    return;
                }
                let mut heap = String::with_capacity(at + s.len());
                // SAFETY: as in `as_str`.
                heap.push_str(unsafe { std::str::from_utf8_unchecked(&buf[..at]) });
                heap.push_str(s);
                self.0 = Repr::Heap(heap);
            }
            Repr::Heap(h) => h.push_str(s),
        }
    }

    /// Whether the text is on the heap (it outgrew [`INLINE`] bytes, or came as a `String`).
    pub fn spilled(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }
}

/// A number written rounded to a whole, as `{:.0}` writes it (ties to even), without the exact
/// float formatter: Grisu's exact mode gives up on many whole numbers and falls back to Dragon's
/// big-number arithmetic, about 1 % of a call's CPU when reasons name counts. Beyond ±9e15 (not
/// a count any more) it is `{:.0}`.
#[derive(Debug, Clone, Copy)]
pub struct Whole(pub f64);

impl fmt::Display for Whole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0.round_ties_even();
        if r.abs() < 9.0e15 {
            if r == 0.0 && self.0.is_sign_negative() {
                return f.write_str("-0");
            }
            fmt::Display::fmt(&(r as i64), f)
        } else {
            write!(f, "{:.0}", self.0)
        }
    }
}

impl Default for SmallText {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for SmallText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SmallText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Write for SmallText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl fmt::Display for SmallText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SmallText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for SmallText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SmallText {}

impl PartialEq<str> for SmallText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SmallText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<&str> for SmallText {
    fn from(s: &str) -> Self {
        let mut t = SmallText::new();
        t.push_str(s);
        t
    }
}

/// Keeps the `String`'s allocation (no copy).
impl From<String> for SmallText {
    fn from(s: String) -> Self {
        SmallText(Repr::Heap(s))
    }
}

impl From<SmallText> for String {
    fn from(t: SmallText) -> String {
        match t.0 {
            Repr::Inline { .. } => t.as_str().to_owned(),
            Repr::Heap(s) => s,
        }
    }
}

/// `format!` into a [`SmallText`]: inline while it fits.
#[macro_export]
macro_rules! small_format {
    ($($arg:tt)*) => {{
        let mut text = $crate::small_text::SmallText::new();
        // Writing into a SmallText cannot fail.
        let _ = ::std::fmt::Write::write_fmt(&mut text, format_args!($($arg)*));
        text
    }};
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_numbers_are_written_as_the_exact_formatter_writes_them() {
        let mut rng = fastrand::Rng::with_seed(20);
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -2.5,
            -0.4,
            1e15,
            -7.0,
            9.1e15,
            f64::NAN,
        ];
        values.extend((0..5_000).map(|_| rng.f64() * 10f64.powi(rng.i32(0..16)) - 100.0));
        values.extend((0..2_000).map(|i| f64::from(i) / 2.0));
        for v in values {
            assert_eq!(Whole(v).to_string(), format!("{v:.0}"), "{v}");
        }
    }

    use super::*;

    #[test]
    fn short_text_stays_inline_and_long_text_moves_whole() {
        let mut t = small_format!("risk score {} is {} ({})", 7, "normal", "0–19");
        assert_eq!(t, "risk score 7 is normal (0–19)");
        assert!(!t.spilled());
        let long = "é".repeat(INLINE);
        t.push_str(&long);
        assert!(t.spilled());
        assert_eq!(t.as_str(), format!("risk score 7 is normal (0–19){long}"));
        let exact = "a".repeat(INLINE);
        let e = SmallText::from(exact.as_str());
        assert!(!e.spilled());
        assert_eq!(String::from(e), exact);
        assert_eq!(format!("{:?}", SmallText::from("x\"y")), "\"x\\\"y\"");
    }
}
