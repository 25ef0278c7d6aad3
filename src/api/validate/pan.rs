//! The card-number (PAN) detector: riskgate refuses any field that holds one.

/// Card numbers (PANs) are 13 to 19 digits long (ISO/IEC 7812).
const PAN_MIN_DIGITS: u32 = 13;
const PAN_MAX_DIGITS: u32 = 19;

/// What riskgate says when a field holds a card number: it never accepts one, so it stays out of
/// PCI DSS scope.
pub(super) const PAN_REFUSED: &str = "looks like a full card number: riskgate never accepts card numbers \
                           (send card.bin, card.last4 and card.fingerprint instead)";

/// What one pass over a text's bytes tells the checks every string goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Census {
    /// ASCII digits.
    pub digits: usize,
    /// Whether every byte is printable ASCII (no control character, nothing beyond ASCII).
    pub printable: bool,
}

/// A byte of 1 in each byte of a word, and its top bit; eight spaces.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = ONES << 7;
const SPACES: u64 = 0x2020_2020_2020_2020;

impl Census {
    /// One pass. Most texts are short (ids, codes, names): eight bytes at a time in a `u64`
    /// (SWAR), the last word read whole and padded with spaces (printable, not digits); long
    /// texts in 128-byte chunks counted in `u8` lanes, which the compiler vectorises.
    #[inline]
    pub(super) fn of(b: &[u8]) -> Census {
        if b.len() >= 64 {
            return Census::of_long(b);
        }
        let (mut digits, mut odd) = (0u64, 0u64);
        let mut words = b.chunks_exact(8);
        for w in &mut words {
            let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            digits += Self::digits_in(w);
            odd |= Self::unprintable_in(w);
        }
        let r = words.remainder().len();
        if r > 0 {
            let w = Self::last_word(b, r) | (SPACES << (8 * r));
            digits += Self::digits_in(w);
            odd |= Self::unprintable_in(w);
        }
        Census {
            digits: digits as usize,
            printable: odd == 0,
        }
    }

    /// The last `r` bytes of `b` (0 < r < 8) in the low bytes of a word, the rest zero. Reads
    /// whole words that overlap instead of byte by byte.
    #[inline]
    fn last_word(b: &[u8], r: usize) -> u64 {
        let n = b.len();
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let half = |at: usize| u64::from(u32::from_le_bytes(b[at..at + 4].try_into().expect("4")));
        let pair = |at: usize| u64::from(u16::from_le_bytes(b[at..at + 2].try_into().expect("2")));
        if n >= 8 {
            word(n - 8) >> (8 * (8 - r))
        } else if r >= 4 {
            // Two reads that overlap agree on the bytes they share.
            half(0) | (half(r - 4) << (8 * (r - 4)))
        } else if r >= 2 {
            pair(0) | (pair(r - 2) << (8 * (r - 2)))
        } else {
            u64::from(b[0])
        }
    }

    fn of_long(b: &[u8]) -> Census {
        let (mut digits, mut odd) = (0usize, 0u8);
        for chunk in b.chunks(128) {
            let (mut d, mut o) = (0u8, 0u8);
            for &c in chunk {
                d += u8::from(c.wrapping_sub(b'0') < 10);
                // Below 0x20 wraps past 0x5e; DEL and non-ASCII bytes are past it too.
                o |= u8::from(c.wrapping_sub(0x20) > 0x5e);
            }
            digits += usize::from(d);
            odd |= o;
        }
        Census {
            digits,
            printable: odd == 0,
        }
    }

    /// Bytes of `w` that are ASCII digits. Each byte's low seven bits plus a constant reaches
    /// 0x80 exactly when they are at least 0x80 minus it, with no carry into the next byte.
    #[inline]
    fn digits_in(w: u64) -> u64 {
        let low = w & !HIGH;
        let at_least_0 = (low + (0x80 - 0x30) * ONES) & HIGH;
        let past_9 = (low + (0x80 - 0x3a) * ONES) & HIGH;
        let digit = at_least_0 & !past_9 & !(w & HIGH);
        // One bit per digit byte: the multiplication sums the bytes into the top one.
        ((digit >> 7).wrapping_mul(ONES)) >> 56
    }

    /// Non-zero when a byte of `w` is a control character, DEL or not ASCII.
    #[inline]
    fn unprintable_in(w: u64) -> u64 {
        let low = w & !HIGH;
        let below_space = !(low + (0x80 - 0x20) * ONES) & HIGH;
        let del = (low + ONES) & HIGH;
        (w & HIGH) | below_space | del
    }

    /// Whether the text may hold a card number: it has enough digits for one.
    pub(super) fn may_hold_pan(&self) -> bool {
        self.digits >= PAN_MIN_DIGITS as usize
    }
}

/// Whether `s` holds something that looks like a full card number (13–19 digits passing Luhn,
/// possibly grouped by single spaces or dashes, starting with 2–9).
pub fn contains_pan(s: &str) -> bool {
    // Fast path: too few digits to hold a card number (most strings).
    s.len() >= PAN_MIN_DIGITS as usize
        && Census::of(s.as_bytes()).may_hold_pan()
        && has_pan_run(s.as_bytes())
}

/// [`contains_pan`] past its digit count.
///
/// A run of digits (where single spaces or dashes between digits don't break the run) counts when it
/// has 13 to 19 digits and passes the Luhn check; longer runs are not card numbers. One pass over the
/// bytes, no allocation: the Luhn sum is kept both ways (last digit as check digit or not), so it is
/// known whichever digit ends the run.
pub(super) fn has_pan_run(b: &[u8]) -> bool {
    // Card numbers start with a major industry identifier of 2 to 9 (ISO/IEC 7812: 0 is not issued,
    // 1 is airlines). Requiring it spares millisecond timestamps ("17…") and zero-padded ids.
    let is_pan = |digits: u32, sum: u32, first: u8| {
        (PAN_MIN_DIGITS..=PAN_MAX_DIGITS).contains(&digits)
            && sum.is_multiple_of(10)
            && (b'2'..=b'9').contains(&first)
    };
    // `digits` in the current run; `check`: Luhn sum if the last digit is the check digit;
    // `shifted`: Luhn sum if another digit followed.
    let (mut digits, mut check, mut shifted, mut first) = (0u32, 0u32, 0u32, 0u8);
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            if digits == 0 {
                first = c;
            }
            if digits <= PAN_MAX_DIGITS {
                let d = u32::from(c - b'0');
                let doubled = if d >= 5 { 2 * d - 9 } else { 2 * d };
                (check, shifted) = (shifted + d, check + doubled);
                digits += 1;
            }
        } else if digits > 0
            && (c == b' ' || c == b'-')
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            // A single separator inside a run of digits.
        } else {
            if is_pan(digits, check, first) {
                return true;
            }
            (digits, check, shifted) = (0, 0, 0);
        }
    }
    is_pan(digits, check, first)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::api::validate::{fixtures::*, payment_evaluation};

    #[test]
    fn the_census_sees_every_byte_of_every_length() {
        for n in 0..=80 {
            for at in 0..n {
                for odd in [b'7', b'\0', b'\x1f', 0x7f, 0x80, 0xff, b'~', b'/', b':'] {
                    let mut b = vec![b'a'; n];
                    b[at] = odd;
                    let c = Census::of(&b);
                    assert_eq!(
                        c.digits,
                        usize::from(odd.is_ascii_digit()),
                        "{n} {at} {odd}"
                    );
                    assert_eq!(c.printable, (b' '..=b'~').contains(&odd), "{n} {at} {odd}");
                }
            }
            let digits = vec![b'9'; n];
            assert_eq!(Census::of(&digits).digits, n);
        }
    }

    proptest! {
        /// The one-pass census agrees with counting character by character, across its chunks.
        #[test]
        fn the_census_counts_as_a_plain_loop_does(
            s in "([0-9a-z -]|\\PC|[\\x00-\\x1f\\x7f]|4242 4242 4242 4242){0,100}",
        ) {
            let c = Census::of(s.as_bytes());
            prop_assert_eq!(c.digits, s.bytes().filter(u8::is_ascii_digit).count());
            prop_assert_eq!(c.printable, s.bytes().all(|b| (b' '..=b'~').contains(&b)));
            // Every string's checks, which skip what the census rules out, find what each check
            // alone finds.
            let hidden = riskgate_core::text::hidden_char(&s);
            let want = if contains_pan(&s) {
                Some(PAN_REFUSED.to_string())
            } else {
                hidden.map(|(c, why)| format!("{} (U+{:04X})", why.describe(), u32::from(c)))
            };
            prop_assert_eq!(crate::api::validate::check::text_problem(&s, 5000), want);
        }
    }

    #[test]
    fn a_card_number_anywhere_is_refused_without_echoing_it() {
        for pan in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            "card 378282246310005!",
        ] {
            let mut req = valid();
            req.metadata.insert("note".into(), pan.into());
            let v = violations(&req);
            assert_eq!(v.len(), 1, "{v:#?}");
            assert_eq!(v[0].field, "metadata[note]");
            assert!(v[0].description.contains("card number"), "{v:?}");
            assert!(
                !v[0].description.contains("4242") && !v[0].description.contains("3782"),
                "{v:?}"
            );
        }

        let mut req = valid();
        customer(&mut req).name = "4242424242424242".into();
        card(&mut req).bin = "4242424242424242".into();
        device(&mut req).user_agent = "Mozilla 4242 4242 4242 4242".into();
        req.expand.push("4242424242424242".into());
        let v = violations(&req);
        assert_eq!(
            v.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            [
                "customer_details.name",
                "payment_details.payment_method_details.card.bin",
                "client_device_metadata_details.user_agent",
                "expand[1]",
            ]
        );
        assert!(
            v.iter()
                .all(|v| v.description == PAN_REFUSED && !v.field.contains("4242"))
        );
    }

    #[test]
    fn a_card_number_in_a_metadata_key_is_not_echoed_in_the_path() {
        let mut req = valid();
        req.metadata.insert("4242424242424242".into(), "x".into());
        let v = violations(&req);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].field, "metadata");
        assert!(
            v[0].description
                .starts_with("the key looks like a full card number"),
            "{v:?}"
        );
    }

    #[test]
    fn luhn_invalid_digits_pass() {
        let mut req = valid();
        req.metadata
            .insert("note".into(), "4242424242424241".into());
        customer(&mut req).name = "4242 4242 4242 4241".into();
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn contains_pan_cases() {
        // Stripe's test cards: Visa, Mastercard, Amex (15), Diners (14), UnionPay (19), old Visa (13).
        for pan in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "36227206271667",
            "6200000000000005",
            "6205500000000000004",
            "4222222222222",
        ] {
            assert!(contains_pan(pan), "{pan}");
            assert!(contains_pan(&format!("card:{pan}.")), "{pan}");
        }
        assert!(contains_pan("4242 4242 4242 4242"));
        assert!(contains_pan("4242-4242-4242-4242"));
        assert!(contains_pan("3782 822463 10005"));
        assert!(contains_pan("x 4242 4242-4242 4242 y"));
        assert!(contains_pan("ref 12 then 4242424242424242"));

        assert!(!contains_pan(""));
        assert!(!contains_pan("4242424242424241"), "Luhn fails");
        assert!(!contains_pan("424242424242"), "12 digits");
        assert!(!contains_pan("42424242424242424242"), "20 digits");
        assert!(
            !contains_pan("0424242424242424242420"),
            "embedded in a longer run"
        );
        assert!(
            !contains_pan("4242  4242  4242  4242"),
            "double spaces split the run"
        );
        assert!(
            !contains_pan("4242 - 4242 - 4242 - 4242"),
            "spaced dashes split the run"
        );
        assert!(!contains_pan("4242_4242_4242_4242"));
        assert!(!contains_pan(
            "order 1042, 3 items, total 10.99 usd, +1 (415) 555-2671"
        ));
        assert!(!contains_pan("7f3c1a9e-2b4d-4e8f-9a1c-5d6e7f8a9b0c"));
        // Luhn-valid, but no card starts with 0 or 1: millisecond timestamps and padded ids pass.
        assert!(!contains_pan("1732200000005"));
        assert!(!contains_pan("0000004242424242"));
        // A Luhn-valid run with a separator at the end.
        assert!(contains_pan("4242424242424242-"));
        assert!(contains_pan("4242424242424242 x"));
    }
}
