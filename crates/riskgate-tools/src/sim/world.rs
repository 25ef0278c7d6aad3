//! The simulated world's fixed tables: the merchant's countries and cities, where fraud is run from,
//! card issuers, names, email domains, user agents and products.

pub(super) struct Country {
    pub(super) code: &'static str,
    pub(super) currency: &'static str,
    /// Share of the customer base.
    pub(super) weight: f64,
    pub(super) cities: &'static [(&'static str, &'static str, &'static str)],
    /// IANA time zone and Accept-Language of a browser there.
    pub(super) timezone: &'static str,
    pub(super) language: &'static str,
}

pub(super) const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        currency: "usd",
        weight: 0.52,
        cities: &[
            ("San Francisco", "CA", "941"),
            ("New York", "NY", "100"),
            ("Austin", "TX", "787"),
            ("Chicago", "IL", "606"),
            ("Seattle", "WA", "981"),
        ],
        timezone: "America/New_York",
        language: "en-US,en;q=0.9",
    },
    Country {
        code: "GB",
        currency: "gbp",
        weight: 0.12,
        cities: &[
            ("London", "", "SW1"),
            ("Manchester", "", "M1 "),
            ("Leeds", "", "LS1"),
        ],
        timezone: "Europe/London",
        language: "en-GB,en;q=0.9",
    },
    Country {
        code: "DE",
        currency: "eur",
        weight: 0.08,
        cities: &[("Berlin", "", "101"), ("Munich", "", "803")],
        timezone: "Europe/Berlin",
        language: "de-DE,de;q=0.9,en;q=0.8",
    },
    Country {
        code: "FR",
        currency: "eur",
        weight: 0.07,
        cities: &[("Paris", "", "750"), ("Lyon", "", "690")],
        timezone: "Europe/Paris",
        language: "fr-FR,fr;q=0.9,en;q=0.8",
    },
    Country {
        code: "CA",
        currency: "cad",
        weight: 0.07,
        cities: &[("Toronto", "ON", "M5V"), ("Vancouver", "BC", "V6B")],
        timezone: "America/Toronto",
        language: "en-CA,en;q=0.9,fr;q=0.8",
    },
    Country {
        code: "NL",
        currency: "eur",
        weight: 0.05,
        cities: &[("Amsterdam", "", "101")],
        timezone: "Europe/Amsterdam",
        language: "nl-NL,nl;q=0.9,en;q=0.8",
    },
    Country {
        code: "AU",
        currency: "aud",
        weight: 0.05,
        cities: &[("Sydney", "NSW", "200"), ("Melbourne", "VIC", "300")],
        timezone: "Australia/Sydney",
        language: "en-AU,en;q=0.9",
    },
    Country {
        code: "ES",
        currency: "eur",
        weight: 0.04,
        cities: &[("Madrid", "", "280")],
        timezone: "Europe/Madrid",
        language: "es-ES,es;q=0.9,en;q=0.8",
    },
];

/// Screen sizes of desktop and mobile browsers.
pub(super) const SCREENS: &[&str] = &[
    "1920x1080",
    "1440x900@2",
    "1536x864",
    "2560x1440",
    "390x844@3",
    "412x915@2.6",
    "360x800@3",
];
/// Time zones and languages of browsers run from fraud origins (or set to anything at all).
pub(super) const FRAUD_LOCALES: &[(&str, &str)] = &[
    ("Africa/Lagos", "en-NG,en;q=0.9"),
    ("Europe/Moscow", "ru-RU,ru;q=0.9,en;q=0.8"),
    ("Asia/Ho_Chi_Minh", "vi-VN,vi;q=0.9,en;q=0.8"),
    ("America/Sao_Paulo", "pt-BR,pt;q=0.9,en;q=0.8"),
    ("Asia/Jakarta", "id-ID,id;q=0.9,en;q=0.8"),
    ("Europe/Bucharest", "ro-RO,ro;q=0.9,en;q=0.8"),
    ("UTC", "en-US,en;q=0.9"),
];
/// Where cross-border fraud is run from (drop addresses, billing typed by the fraudster).
pub(super) const FRAUD_ORIGINS: &[&str] =
    &["NG", "RU", "VN", "BR", "ID", "RO", "UA", "PH", "GH", "PK"];
/// Issuing countries of cards run through card testing and BIN attacks.
pub(super) const ISSUER_COUNTRIES: &[&str] = &[
    "US", "US", "US", "GB", "DE", "FR", "CA", "BR", "MX", "IN", "NG", "TR", "IT", "JP",
];

pub(super) const FIRST_NAMES: &[&str] = &[
    "jenny", "james", "maria", "li", "ahmed", "sofia", "lucas", "emma", "noah", "olivia", "liam",
    "ava", "mateo", "chloe", "omar", "yuki", "hannah", "david", "sara", "leon",
];
pub(super) const LAST_NAMES: &[&str] = &[
    "rosen", "smith", "garcia", "chen", "khan", "muller", "martin", "brown", "wilson", "novak",
    "silva", "dubois", "rossi", "tanaka", "jones", "lee", "walker", "fischer", "moreau", "evans",
];
/// (domain, weight): webmail and ISP/corporate domains.
pub(super) const EMAIL_DOMAINS: &[(&str, f64)] = &[
    ("gmail.com", 0.34),
    ("yahoo.com", 0.07),
    ("outlook.com", 0.06),
    ("hotmail.com", 0.05),
    ("icloud.com", 0.07),
    ("comcast.net", 0.06),
    ("btinternet.com", 0.04),
    ("web.de", 0.04),
    ("orange.fr", 0.04),
    ("shaw.ca", 0.03),
    ("acme-corp.com", 0.06),
    ("university.edu", 0.05),
    ("fastmail.com", 0.03),
    ("proton.me", 0.06),
];
pub(super) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
];
pub(super) const BOT_USER_AGENTS: &[&str] = &[
    "python-requests/2.32.3",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "curl/8.5.0",
];
pub(super) const PRODUCTS: &[&str] = &[
    "Order",
    "Gift card",
    "Subscription",
    "Headphones",
    "Shoes",
    "Books",
];
