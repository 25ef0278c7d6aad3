//! One normalisation for text compared without regard to case, and the characters that may hide
//! text.
//!
//! [`fold`] is what value lists (`email`, `string`, `country` items and the values probed against
//! them), velocity and outcome keys (emails, names, addresses) and case-insensitive rule matching
//! all use, so that a value written one way in a block list matches the same value written another
//! way in a payment: `JÖRG@example.com` and `jörg@example.com`, `STRASSE` and `straße`, full-width
//! `ｊｏｒｇ` and `jorg`, `ﬁ` and `fi`, a letter with a combining accent and the precomposed letter.
//!
//! It is Unicode's *compatibility caseless match* (The Unicode Standard, §3.13, D146:
//! `NFKD(toCasefold(NFKD(toCasefold(NFD(X)))))`), recomposed to NFKC so that the stored form is
//! short, with the default-ignorable code points (zero-width joiners and spaces, soft hyphens,
//! bidi marks, variation selectors …) removed first, as Unicode's `NFKC_Casefold` does: a
//! zero-width character cannot make a listed value look new. Case folding is the full, locale-less
//! folding (`ß` → `ss`; no Turkic dotless-i rule, which would need the payer's locale).
//!
//! The Unicode data is ICU4X's (`icu_normalizer`, `icu_casemap`, `icu_properties`: the Unicode
//! Consortium's own library, data compiled in, no files read). ASCII text — nearly every email and
//! list value — takes a fast path that does not allocate unless it has upper-case letters.
//!
//! [`hidden_char`] finds what request validation refuses in any text field: control characters,
//! bidi controls, line and paragraph separators, and invisible characters that have no use in
//! payment data. Zero-width joiners and variation selectors are allowed (names in Persian or Indic
//! scripts and emoji need them); [`fold`] removes them before anything is compared.

use std::borrow::Cow;

use icu_casemap::CaseMapper;
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::{
    CodePointSetData,
    props::{BidiControl, DefaultIgnorableCodePoint},
};

/// `s` folded for caseless comparison (see the module documentation). Borrowed when `s` is already
/// folded ASCII. Idempotent: `fold(fold(s)) == fold(s)`.
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        };
    }
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let visible: String = s.chars().filter(|c| !ignorable.contains(*c)).collect();
    let case = CaseMapper::new();
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let nfkd = DecomposingNormalizerBorrowed::new_nfkd();
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let once = nfkd
        .normalize(&case.fold_string(&nfd.normalize(&visible)))
        .into_owned();
    let twice = nfkc.normalize(&case.fold_string(&once)).into_owned();
    Cow::Owned(twice)
}

/// Whether `a` and `b` fold to the same text. Does not allocate when both are ASCII.
pub fn eq_folded(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    fold(a) == fold(b)
}

/// Why a character may not appear in a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// A C0 or C1 control character (including DEL), or a line or paragraph separator.
    Control,
    /// A bidi control (embedding, override, isolate or mark): it reorders how text is shown.
    Bidi,
    /// An invisible character that is not needed to write any language (zero-width space, word
    /// joiner, soft hyphen, byte order mark, tag characters, Hangul fillers …).
    Invisible,
}

impl Hidden {
    /// What a validation error says.
    pub const fn describe(self) -> &'static str {
        match self {
            Hidden::Control => "must not contain control characters",
            Hidden::Bidi => "must not contain bidirectional control characters",
            Hidden::Invisible => "must not contain invisible characters",
        }
    }
}

/// The first character of `s` that text fields refuse, and why. ASCII text is checked byte by
/// byte.
pub fn hidden_char(s: &str) -> Option<(char, Hidden)> {
    if s.is_ascii() {
        return s
            .bytes()
            .find(u8::is_ascii_control)
            .map(|b| (char::from(b), Hidden::Control));
    }
    let bidi = CodePointSetData::new::<BidiControl>();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    s.chars().find_map(|c| {
        let why = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            Hidden::Control
        } else if bidi.contains(c) {
            Hidden::Bidi
        } else if ignorable.contains(c) && !allowed_ignorable(c) {
            Hidden::Invisible
        } else {
            return None;
        };
        Some((c, why))
    })
}

/// Default-ignorable characters that real text needs: the zero-width joiner and non-joiner
/// (Persian, Indic scripts, emoji sequences), the combining grapheme joiner, and variation
/// selectors (emoji and CJK variants).
fn allowed_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{200C}' | '\u{200D}' | '\u{034F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}'
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn case_width_ligatures_and_accents_fold_alike() {
        for (a, b) in [
            ("JÖRG@example.com", "jörg@example.com"),
            ("STRASSE", "straße"),
            ("ＪＯＲＧ", "jorg"),
            ("ﬁsh", "FISH"),
            ("Jo\u{0308}rg", "JÖRG"),
            ("ΣΊΣΥΦΟΣ", "σίσυφος"),
            ("K", "k"), // KELVIN SIGN
            ("jö\u{200D}rg", "jörg"),
            ("jör\u{00AD}g", "JÖRG"),
            ("ǅ", "dž"),
        ] {
            assert_eq!(fold(a), fold(b), "{a} vs {b}");
            assert!(eq_folded(a, b), "{a} vs {b}");
        }
        assert_eq!(fold("JÖRG@Example.COM"), "jörg@example.com");
        assert_eq!(fold("straße"), "strasse");
        assert!(!eq_folded("jörg", "jorg"));
        assert!(!eq_folded("a@b.co", "a@b.com"));
    }

    #[test]
    fn ascii_takes_the_fast_path() {
        assert!(matches!(fold("jenny@example.com"), Cow::Borrowed(_)));
        assert_eq!(fold("Jenny@Example.com"), "jenny@example.com");
        assert!(eq_folded("ABC", "abc"));
    }

    #[test]
    fn hidden_characters_are_found_with_a_reason() {
        assert_eq!(hidden_char("plain text"), None);
        assert_eq!(hidden_char("jörg"), None);
        assert_eq!(hidden_char("a\tb"), Some(('\t', Hidden::Control)));
        assert_eq!(hidden_char("ä\u{85}"), Some(('\u{85}', Hidden::Control)));
        assert_eq!(
            hidden_char("a\u{2028}b"),
            Some(('\u{2028}', Hidden::Control))
        );
        assert_eq!(
            hidden_char("abc\u{202E}gpj.exe"),
            Some(('\u{202E}', Hidden::Bidi))
        );
        assert_eq!(hidden_char("\u{2066}x"), Some(('\u{2066}', Hidden::Bidi)));
        assert_eq!(hidden_char("a\u{200F}"), Some(('\u{200F}', Hidden::Bidi)));
        assert_eq!(
            hidden_char("ad\u{200B}min"),
            Some(('\u{200B}', Hidden::Invisible))
        );
        assert_eq!(
            hidden_char("\u{FEFF}x"),
            Some(('\u{FEFF}', Hidden::Invisible))
        );
        assert_eq!(
            hidden_char("x\u{E0041}"),
            Some(('\u{E0041}', Hidden::Invisible))
        );
        assert_eq!(
            hidden_char("\u{3164}"),
            Some(('\u{3164}', Hidden::Invisible))
        );
        // Needed by real text: ZWNJ in Persian, ZWJ and variation selectors in emoji.
        assert_eq!(hidden_char("می\u{200C}خواهم"), None);
        assert_eq!(hidden_char("👩\u{200D}💻 ❤\u{FE0F}"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn folding_is_idempotent(s in "\\PC{0,24}") {
            let once = fold(&s).into_owned();
            prop_assert_eq!(fold(&once), once.as_str());
        }

        /// Letters and digits of any script (with combining marks after a letter, upper-casing
        /// can reorder them, e.g. `ῲ` becomes two letters: Unicode does not promise this then).
        /// Nor for the Turkic dotted and dotless i (`İ`, `ı`): default case folding maps `I` to
        /// `i` and leaves `ı` alone, so `ı` and its upper case `I` fold apart (CaseFolding.txt
        /// keeps their Turkic mappings apart, status T).
        #[test]
        fn folding_ignores_case(s in "[\\p{L}\\p{N}@._ -]{0,24}") {
            prop_assume!(!s.contains(['\u{130}', '\u{131}']));
            let (upper, lower) = (s.to_uppercase(), s.to_lowercase());
            prop_assert_eq!(fold(&upper), fold(&lower));
        }
    }
}
