//! Reference data: supported currencies (with their minor-unit exponent and a default USD rate) and
//! ISO 3166-1 alpha-2 country codes.

/// A supported presentment currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Currency {
    /// Lower-case ISO 4217 code, as Stripe writes it.
    pub code: &'static str,
    /// Digits after the decimal point in the smallest unit: 0 for zero-decimal currencies (jpy),
    /// 3 for three-decimal ones (kwd), 2 otherwise.
    pub exponent: u8,
}

impl Currency {
    /// Converts an amount in minor units to major units (100 usd cents → 1.0).
    pub fn to_major(&self, minor: i64) -> f64 {
        minor as f64 / 10f64.powi(i32::from(self.exponent))
    }
}

/// Zero-decimal currencies (Stripe's list): the amount is in whole units.
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Three-decimal currencies (Stripe's list).
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// Currencies Stripe accepts for card payments, sorted.
const SUPPORTED: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
    "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf",
    "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb",
    "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg",
    "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw",
    "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk",
    "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
    "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub",
    "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb",
    "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd",
    "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
];

/// A three-letter code as one integer, ordered as the text is (big-endian); 0 for any other length.
const fn code_key(code: &str) -> u32 {
    match code.as_bytes() {
        &[a, b, c] => u32::from_be_bytes([0, a, b, c]),
        _ => 0,
    }
}

const fn contains(list: &[&str], key: u32) -> bool {
    let mut i = 0;
    while i < list.len() {
        if code_key(list[i]) == key {
            return true;
        }
        i += 1;
    }
    false
}

/// [`SUPPORTED`] as keys ([`code_key`]), in the same order, and each one's exponent: built at
/// compile time, so a lookup is a binary search over integers (on the path of every evaluation).
const TABLE: [(u32, u8); SUPPORTED.len()] = {
    let mut table = [(0, 0); SUPPORTED.len()];
    let mut i = 0;
    while i < SUPPORTED.len() {
        let key = code_key(SUPPORTED[i]);
        let exponent = if contains(ZERO_DECIMAL, key) {
            0
        } else if contains(THREE_DECIMAL, key) {
            3
        } else {
            2
        };
        table[i] = (key, exponent);
        i += 1;
    }
    table
};

/// Looks up a supported currency by its lower-case code.
pub fn currency(code: &str) -> Option<Currency> {
    let key = code_key(code);
    let i = TABLE.binary_search_by_key(&key, |&(k, _)| k).ok()?;
    Some(Currency {
        code: SUPPORTED[i],
        exponent: TABLE[i].1,
    })
}

/// Default USD value of one major unit of each currency, used for `amount_in_usd` and the model's
/// amount features. Approximate mid-market rates (late 2026); they only need to be right to a few
/// percent for fraud scoring, and `[fx]` in the config overrides or extends them. A currency with no
/// rate has no `amount_in_usd` (the attribute is missing, so rules on it are false).
pub const DEFAULT_USD_RATES: &[(&str, f64)] = &[
    ("aed", 0.2723),
    ("ars", 0.0010),
    ("aud", 0.66),
    ("bgn", 0.55),
    ("bhd", 2.65),
    ("brl", 0.18),
    ("cad", 0.72),
    ("chf", 1.13),
    ("clp", 0.00105),
    ("cny", 0.14),
    ("cop", 0.00025),
    ("czk", 0.044),
    ("dkk", 0.145),
    ("egp", 0.020),
    ("eur", 1.08),
    ("gbp", 1.27),
    ("hkd", 0.128),
    ("huf", 0.0027),
    ("idr", 0.000062),
    ("ils", 0.27),
    ("inr", 0.012),
    ("jod", 1.41),
    ("jpy", 0.0067),
    ("kes", 0.0077),
    ("krw", 0.00072),
    ("kwd", 3.25),
    ("mxn", 0.055),
    ("myr", 0.22),
    ("ngn", 0.00065),
    ("nok", 0.094),
    ("nzd", 0.60),
    ("omr", 2.60),
    ("pen", 0.27),
    ("php", 0.017),
    ("pln", 0.25),
    ("qar", 0.2747),
    ("ron", 0.22),
    ("sar", 0.2667),
    ("sek", 0.095),
    ("sgd", 0.74),
    ("thb", 0.028),
    ("try", 0.029),
    ("twd", 0.031),
    ("usd", 1.0),
    ("vnd", 0.00004),
    ("zar", 0.054),
];

/// USD rates by currency: the defaults above, overridden or extended by configuration.
#[derive(Debug, Clone)]
pub struct FxTable {
    rates: std::collections::HashMap<&'static str, f64>,
}

impl FxTable {
    /// The default rates with `overrides` (currency code → USD per major unit) applied. Unsupported
    /// codes and non-positive or non-finite rates are refused, naming the code.
    pub fn new<'c>(overrides: impl IntoIterator<Item = (&'c str, f64)>) -> Result<Self, String> {
        let mut rates: std::collections::HashMap<&'static str, f64> =
            DEFAULT_USD_RATES.iter().copied().collect();
        for (code, rate) in overrides {
            let cur =
                currency(code).ok_or_else(|| format!("fx.{code}: not a supported currency"))?;
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!(
                    "fx.{code}: rate must be a positive number (got {rate})"
                ));
            }
            rates.insert(cur.code, rate);
        }
        Ok(Self { rates })
    }

    /// USD per major unit of `code`, when it has a rate.
    pub fn rate(&self, code: &str) -> Option<f64> {
        self.rates.get(code).copied()
    }

    /// The amount in USD (major units), when the currency has a rate.
    pub fn to_usd(&self, currency: Currency, minor: i64) -> Option<f64> {
        self.rates
            .get(currency.code)
            .map(|rate| currency.to_major(minor) * rate)
    }
}

impl Default for FxTable {
    fn default() -> Self {
        Self::new([]).expect("default rates are valid")
    }
}

/// ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo), which Stripe and card networks use.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO \
DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM \
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR \
LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL \
NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ \
SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA \
VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// The country codes as a 26×26 bit table (row: first letter, bit: second letter), built at compile
/// time, so a look-up is two index operations (this runs for every address of every request).
const COUNTRY_TABLE: [u32; 26] = {
    let bytes = COUNTRIES.as_bytes();
    let mut table = [0u32; 26];
    let mut i = 0;
    while i + 1 < bytes.len() {
        table[(bytes[i] - b'A') as usize] |= 1 << (bytes[i + 1] - b'A');
        i += 3;
    }
    table
};

/// Whether `code` is an upper-case ISO 3166-1 alpha-2 country code.
pub fn is_country(code: &str) -> bool {
    match code.as_bytes() {
        &[a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => {
            COUNTRY_TABLE[usize::from(a - b'A')] & (1 << (b - b'A')) != 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_complete() {
        assert!(SUPPORTED.windows(2).all(|w| w[0] < w[1]));
        assert!(DEFAULT_USD_RATES.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, _) in DEFAULT_USD_RATES {
            assert!(currency(code).is_some(), "rate for unsupported {code}");
        }
        for code in ZERO_DECIMAL.iter().chain(THREE_DECIMAL) {
            assert!(currency(code).is_some(), "{code}");
        }
        assert_eq!(COUNTRIES.split(' ').count(), 250);
    }

    #[test]
    fn exponents() {
        assert_eq!(currency("usd").unwrap().to_major(1234), 12.34);
        assert_eq!(currency("jpy").unwrap().to_major(1234), 1234.0);
        assert_eq!(currency("kwd").unwrap().to_major(1234), 1.234);
        assert!(currency("USD").is_none());
        assert!(currency("xyz").is_none());
        for code in ["", "u", "us", "usdd", "\0\0\0", "üs"] {
            assert!(currency(code).is_none(), "{code:?}");
        }
        // The compile-time table agrees with the lists.
        for &code in SUPPORTED {
            let c = currency(code).unwrap();
            assert_eq!(c.code, code);
            let want = if ZERO_DECIMAL.contains(&code) {
                0
            } else if THREE_DECIMAL.contains(&code) {
                3
            } else {
                2
            };
            assert_eq!(c.exponent, want, "{code}");
        }
    }

    #[test]
    fn fx_overrides() {
        let fx = FxTable::new([("eur", 2.0), ("isk", 0.007)]).unwrap();
        assert_eq!(fx.to_usd(currency("eur").unwrap(), 150), Some(3.0));
        assert!(fx.to_usd(currency("isk").unwrap(), 100).is_some());
        assert_eq!(
            FxTable::default().to_usd(currency("isk").unwrap(), 100),
            None
        );
        assert!(FxTable::new([("xyz", 1.0)]).unwrap_err().contains("fx.xyz"));
        assert!(FxTable::new([("eur", -1.0)]).is_err());
    }

    #[test]
    fn countries() {
        assert!(is_country("US") && is_country("GB") && is_country("XK"));
        assert!(!is_country("us") && !is_country("USA") && !is_country("ZZ") && !is_country(""));
        // The table holds exactly the listed codes.
        let listed: std::collections::HashSet<&str> = COUNTRIES.split(' ').collect();
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                assert_eq!(is_country(&code), listed.contains(code.as_str()), "{code}");
            }
        }
    }
}
