//! The card-number (PAN) detector: riskgate refuses any field that holds one.

/// Card numbers (PANs) are 13 to 19 digits long (ISO/IEC 7812).
const PAN_MIN_DIGITS: u32 = 13;
const PAN_MAX_DIGITS: u32 = 19;

/// What riskgate says when a field holds a card number: it never accepts one, so it stays out of
/// PCI DSS scope.
pub(super) const PAN_REFUSED: &str = "looks like a full card number: riskgate never accepts card numbers \
                           (send card.bin, card.last4 and card.fingerprint instead)";

/// Whether `s` holds something that looks like a full card number (13–19 digits passing Luhn,
/// possibly grouped by single spaces or dashes, starting with 2–9).
///
/// A run of digits (where single spaces or dashes between digits don't break the run) counts when it
/// has 13 to 19 digits and passes the Luhn check; longer runs are not card numbers. One pass over the
/// bytes, no allocation: the Luhn sum is kept both ways (last digit as check digit or not), so it is
/// known whichever digit ends the run.
pub fn contains_pan(s: &str) -> bool {
    let b = s.as_bytes();
    // Fast path: too few digits to hold a card number (most strings).
    if b.len() < PAN_MIN_DIGITS as usize
        || b.iter().filter(|c| c.is_ascii_digit()).count() < PAN_MIN_DIGITS as usize
    {
        return false;
    }
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
    use super::*;
    use crate::api::validate::{fixtures::*, payment_evaluation};

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
