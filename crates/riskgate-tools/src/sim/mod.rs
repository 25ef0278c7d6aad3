//! A traffic simulator: seeded, reproducible, labelled card payments in the event format of
//! `docs/events.md`, for tests, the backtest, model training and the load generator.
//!
//! The world: a merchant selling online in eight countries. Customers have a home country and
//! address, one or two cards, one or two devices (user agent and IP) and a habit: a typical basket,
//! a purchase rate, maybe a monthly subscription, maybe a wallet. Around them, fraud:
//!
//! - **card testing**: a bot on one IP and user agent runs dozens of cards from many issuers through
//!   small payments within minutes, mostly guest checkouts without email, pasted card numbers,
//!   seconds on the page; most are declined;
//! - **BIN attack**: card numbers enumerated within one BIN (sequential last 4), tiny amounts, bare
//!   requests, a handful of IPs;
//! - **stolen card**: one or two high-value orders with a card whose issuing country often differs
//!   from the billing or shipping address, a fresh throwaway email, a new device, fast checkout;
//!   authorised, then disputed as fraud weeks later;
//! - **account takeover**: a known customer's account and saved card from a new device and IP,
//!   shipping to a new address, a basket several times the usual; disputed later;
//! - **friendly fraud**: an ordinary purchase by an ordinary customer, disputed as fraud later —
//!   indistinguishable at payment time, as in life.
//!
//! Legitimate traffic has its own noise (travellers and expatriates with foreign cards, password
//! managers that paste, fast returning customers, apps without Radar.js, phone orders keyed in
//! through a thin integration that sends little but the amount), so no single signal is a
//! give-away. Everything is drawn from one seeded generator in a fixed order: the same
//! configuration gives the same events, byte for byte.

use std::io::Write;

use serde::{Deserialize, Serialize};

use riskgate::proto::v1::{
    self as pb, CreatePaymentEvaluationRequest, CustomerPresence as PbPresence, MoneyMovementType,
    PaymentType as PbPaymentType,
};

/// 2026-09-01T00:00:00Z: the default first day.
pub const DEFAULT_START_UNIX: i64 = 1_788_220_800;
const DAY: i64 = 86_400;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub days: u32,
    /// Unix time of the first day's midnight (UTC).
    pub start_unix: i64,
    /// Size of the legitimate customer base.
    pub customers: usize,
    /// Scales every fraud pattern's rate (1.0 = the defaults below).
    pub fraud_scale: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            days: 30,
            start_unix: DEFAULT_START_UNIX,
            customers: 3000,
            fraud_scale: 1.0,
        }
    }
}

/// Card testing attacks per day.
const CARD_TESTING_PER_DAY: f64 = 0.4;
/// BIN attacks per day.
const BIN_ATTACKS_PER_DAY: f64 = 0.15;
/// Stolen-card fraudsters per day (each places one to three orders).
const STOLEN_CARD_PER_DAY: f64 = 3.0;
/// Account takeovers per day.
const ACCOUNT_TAKEOVER_PER_DAY: f64 = 0.8;
/// Share of legitimate one-off purchases keyed in by staff (phone orders) through a thin
/// integration that sends little more than the amount.
const BACK_OFFICE_SHARE: f64 = 0.04;
/// Share of legitimate one-off purchases disputed as fraud by the cardholder.
const FRIENDLY_FRAUD_SHARE: f64 = 0.004;

/// Ground truth of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    Legitimate,
    CardTesting,
    StolenCard,
    AccountTakeover,
    FriendlyFraud,
    BinAttack,
}

impl Pattern {
    pub const fn as_str(self) -> &'static str {
        match self {
            Pattern::Legitimate => "legitimate",
            Pattern::CardTesting => "card_testing",
            Pattern::StolenCard => "stolen_card",
            Pattern::AccountTakeover => "account_takeover",
            Pattern::FriendlyFraud => "friendly_fraud",
            Pattern::BinAttack => "bin_attack",
        }
    }
}

/// `label` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub fraud: bool,
    pub pattern: Pattern,
}

/// What happened after authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Authorized,
    Declined,
    Refunded,
    Disputed,
    EarlyFraudWarning,
}

/// `outcome` of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub occurred_at: i64,
}

/// One labelled payment (a line of the NDJSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub occurred_at: i64,
    pub request: CreatePaymentEvaluationRequest,
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl Event {
    /// The event as one NDJSON line (without the newline). Empty request fields are left out.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).expect("events serialize");
        prune(&mut v);
        v.to_string()
    }
}

/// Drops empty strings, nulls and empty arrays (the request's unset fields). Objects stay, even
/// empty: a present message (`customer_details: {}`) differs from an absent one.
fn prune(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => {
            a.retain_mut(prune);
            !a.is_empty()
        }
        Value::Object(o) => {
            o.retain(|_, v| prune(v));
            true
        }
        _ => true,
    }
}

/// Writes `events` as NDJSON; returns how many.
pub fn write_ndjson(events: &[Event], mut out: impl Write) -> std::io::Result<usize> {
    for e in events {
        writeln!(out, "{}", e.to_json())?;
    }
    Ok(events.len())
}

// === The world ===

struct Country {
    code: &'static str,
    currency: &'static str,
    /// Share of the customer base.
    weight: f64,
    cities: &'static [(&'static str, &'static str, &'static str)],
}

const COUNTRIES: &[Country] = &[
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
    },
    Country {
        code: "DE",
        currency: "eur",
        weight: 0.08,
        cities: &[("Berlin", "", "101"), ("Munich", "", "803")],
    },
    Country {
        code: "FR",
        currency: "eur",
        weight: 0.07,
        cities: &[("Paris", "", "750"), ("Lyon", "", "690")],
    },
    Country {
        code: "CA",
        currency: "cad",
        weight: 0.07,
        cities: &[("Toronto", "ON", "M5V"), ("Vancouver", "BC", "V6B")],
    },
    Country {
        code: "NL",
        currency: "eur",
        weight: 0.05,
        cities: &[("Amsterdam", "", "101")],
    },
    Country {
        code: "AU",
        currency: "aud",
        weight: 0.05,
        cities: &[("Sydney", "NSW", "200"), ("Melbourne", "VIC", "300")],
    },
    Country {
        code: "ES",
        currency: "eur",
        weight: 0.04,
        cities: &[("Madrid", "", "280")],
    },
];

/// Where cross-border fraud is run from (drop addresses, billing typed by the fraudster).
const FRAUD_ORIGINS: &[&str] = &["NG", "RU", "VN", "BR", "ID", "RO", "UA", "PH", "GH", "PK"];
/// Issuing countries of cards run through card testing and BIN attacks.
const ISSUER_COUNTRIES: &[&str] = &[
    "US", "US", "US", "GB", "DE", "FR", "CA", "BR", "MX", "IN", "NG", "TR", "IT", "JP",
];

const FIRST_NAMES: &[&str] = &[
    "jenny", "james", "maria", "li", "ahmed", "sofia", "lucas", "emma", "noah", "olivia", "liam",
    "ava", "mateo", "chloe", "omar", "yuki", "hannah", "david", "sara", "leon",
];
const LAST_NAMES: &[&str] = &[
    "rosen", "smith", "garcia", "chen", "khan", "muller", "martin", "brown", "wilson", "novak",
    "silva", "dubois", "rossi", "tanaka", "jones", "lee", "walker", "fischer", "moreau", "evans",
];
/// (domain, weight): webmail and ISP/corporate domains.
const EMAIL_DOMAINS: &[(&str, f64)] = &[
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
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
];
const BOT_USER_AGENTS: &[&str] = &[
    "python-requests/2.32.3",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "curl/8.5.0",
];
const PRODUCTS: &[&str] = &[
    "Order",
    "Gift card",
    "Subscription",
    "Headphones",
    "Shoes",
    "Books",
];

#[derive(Clone)]
struct Card {
    bin: String,
    last4: String,
    brand: &'static str,
    country: String,
    funding: &'static str,
    fingerprint: String,
    exp_month: u32,
    exp_year: u32,
    three_ds: bool,
}

#[derive(Clone)]
struct Addr {
    line1: String,
    city: &'static str,
    state: &'static str,
    postal: String,
    country: String,
}

struct Customer {
    id: String,
    name: String,
    email: String,
    phone: String,
    country: &'static Country,
    home: Addr,
    cards: Vec<Card>,
    user_agents: Vec<&'static str>,
    ips: Vec<String>,
    /// Median basket in the home currency's major units.
    basket: f64,
    /// One-off purchases per day.
    rate: f64,
    subscription: Option<(f64, u32)>,
    wallet: Option<&'static str>,
    /// Logs in at checkout (else guest).
    logged_in: bool,
    /// Password manager that pastes card numbers.
    pastes: bool,
}

/// Generates the events of `config`, sorted by time.
pub fn simulate(config: &SimConfig) -> Vec<Event> {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(config.seed),
        start: config.start_unix,
    };
    let customers: Vec<Customer> = (0..config.customers).map(|_| g.customer()).collect();
    let mut events = Vec::new();
    for day in 0..i64::from(config.days) {
        let midnight = config.start_unix + day * DAY;
        for c in &customers {
            if let Some((amount, dom)) = c.subscription
                && (midnight - config.start_unix) / DAY % 30 == i64::from(dom)
            {
                let at = midnight + 3 * 3600 + g.rng.i64(0..3600);
                events.push(g.recurring(c, amount, at));
            }
            for _ in 0..g.poisson(c.rate) {
                let at = midnight + g.daytime();
                events.push(g.one_off(c, at));
            }
        }
        let scale = config.fraud_scale;
        for _ in 0..g.poisson(CARD_TESTING_PER_DAY * scale) {
            let at = midnight + g.rng.i64(0..DAY);
            g.card_testing(at, &mut events);
        }
        for _ in 0..g.poisson(BIN_ATTACKS_PER_DAY * scale) {
            let at = midnight + g.rng.i64(0..DAY);
            g.bin_attack(at, &mut events);
        }
        for _ in 0..g.poisson(STOLEN_CARD_PER_DAY * scale) {
            let at = midnight + g.daytime();
            g.stolen_card(at, &mut events);
        }
        for _ in 0..g.poisson(ACCOUNT_TAKEOVER_PER_DAY * scale) {
            if !customers.is_empty() {
                let victim = &customers[g.rng.usize(..customers.len())];
                let at = midnight + g.rng.i64(0..DAY);
                events.push(g.account_takeover(victim, at));
            }
        }
    }
    events.sort_by_key(|e| e.occurred_at);
    events
}

struct Gen {
    rng: fastrand::Rng,
    start: i64,
}

/// A request being put together.
#[derive(Default)]
struct Payment {
    customer: Option<String>,
    email: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    amount: i64,
    currency: String,
    description: Option<String>,
    card: Option<Card>,
    wallet: Option<&'static str>,
    billing: Option<Addr>,
    shipping: Option<Addr>,
    presence: Option<PbPresence>,
    payment_type: Option<PbPaymentType>,
    radar_session: bool,
    ip: Option<String>,
    user_agent: Option<&'static str>,
    time_on_page_ms: Option<u64>,
    pasted: Vec<&'static str>,
}

impl Gen {
    // --- random helpers ---

    fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.usize(..items.len())]
    }

    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
        let total: f64 = items.iter().map(&weight).sum();
        let mut x = self.rng.f64() * total;
        for item in items {
            x -= weight(item);
            if x < 0.0 {
                return item;
            }
        }
        &items[items.len() - 1]
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.rng.f64().max(1e-12);
        let u2 = self.rng.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    fn poisson(&mut self, lambda: f64) -> u32 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, self.rng.f64());
        while p > limit {
            k += 1;
            p *= self.rng.f64();
        }
        k
    }

    /// Seconds into a day, weighted to waking hours.
    fn daytime(&mut self) -> i64 {
        let hour = (14.0 + 4.0 * self.normal()).clamp(0.0, 23.99);
        (hour * 3600.0) as i64
    }

    fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| char::from(ALPHABET[self.rng.usize(..ALPHABET.len())]))
            .collect()
    }

    fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + self.rng.u8(0..10)))
            .collect()
    }

    fn ip(&mut self) -> String {
        // Public unicast space, away from private and documentation ranges.
        let first = *self.pick(&[24u8, 31, 45, 62, 73, 81, 91, 104, 151, 176, 185, 203]);
        format!(
            "{first}.{}.{}.{}",
            self.rng.u8(..),
            self.rng.u8(..),
            self.rng.u8(1..255)
        )
    }

    fn address(&mut self, country: &Country) -> Addr {
        let (city, state, postal) = *self.pick(country.cities);
        let street = *self.pick(&[
            "Main St",
            "High Street",
            "Oak Ave",
            "Rue Verte",
            "Lindenweg",
        ]);
        Addr {
            line1: format!("{} {street}", self.rng.u32(1..400)),
            city,
            state,
            postal: format!("{}{}", postal.trim_end(), self.digits(2)),
            country: country.code.to_owned(),
        }
    }

    /// An address somewhere in a fraud origin country (a drop, or the fraudster's own).
    fn foreign_address(&mut self) -> Addr {
        Addr {
            line1: format!("{} Market Road", self.rng.u32(1..200)),
            city: "Central",
            state: "",
            postal: self.digits(5),
            country: (*self.pick(FRAUD_ORIGINS)).to_owned(),
        }
    }

    fn card(&mut self, country: &str, at: i64) -> Card {
        let &(brand, prefix, three_ds, _) = self.weighted(
            &[
                ("visa", "4", 0.92, 0.55),
                ("mastercard", "5", 0.9, 0.33),
                ("amex", "37", 0.8, 0.08),
                ("discover", "6011", 0.7, 0.04),
            ],
            |c| c.3,
        );
        let funding = *self.weighted(
            &[("credit", 0.6), ("debit", 0.37), ("prepaid", 0.03)],
            |f| f.1,
        );
        let year = 1970 + (at / (365 * DAY + DAY / 4)) as u32;
        Card {
            bin: format!("{prefix}{}", self.digits(6 - prefix.len())),
            last4: self.digits(4),
            brand,
            country: country.to_owned(),
            funding: funding.0,
            fingerprint: self.token(16),
            exp_month: self.rng.u32(1..=12),
            exp_year: year + self.rng.u32(1..=5),
            three_ds: self.chance(three_ds),
        }
    }

    fn email(&mut self, first: &str, last: &str) -> String {
        let domain = self.weighted(EMAIL_DOMAINS, |d| d.1).0;
        let sep = *self.pick(&[".", "", "_"]);
        let digits = if self.chance(0.25) {
            self.rng.u32(60..100).to_string()
        } else {
            String::new()
        };
        format!("{first}{sep}{last}{digits}@{domain}")
    }

    fn throwaway_email(&mut self) -> String {
        let domain = *self.pick(&[
            "gmail.com",
            "mail.com",
            "outlook.com",
            "yahoo.com",
            "proton.me",
        ]);
        let local = if self.chance(0.5) {
            let name = *self.pick(FIRST_NAMES);
            let n = self.rng.usize(3..8);
            format!("{name}{}", self.digits(n))
        } else {
            self.token(10).to_ascii_lowercase()
        };
        format!("{local}@{domain}")
    }

    fn customer(&mut self) -> Customer {
        let country = self.weighted(COUNTRIES, |c| c.weight);
        let (first, last) = (*self.pick(FIRST_NAMES), *self.pick(LAST_NAMES));
        let home = self.address(country);
        let n_cards = if self.chance(0.3) { 2 } else { 1 };
        let cards = (0..n_cards)
            .map(|_| {
                // Expatriates and cross-border shoppers hold cards from elsewhere.
                let issuer = if self.chance(0.04) {
                    (*self.pick(&["US", "GB", "DE", "FR", "IN", "MX", "BR", "CN"])).to_owned()
                } else {
                    country.code.to_owned()
                };
                self.card(&issuer, self.start)
            })
            .collect();
        let n_devices = if self.chance(0.4) { 2 } else { 1 };
        // Some real people use handles that look as random as a fraudster's throwaway.
        let email = if self.chance(0.08) {
            self.throwaway_email()
        } else {
            self.email(first, last)
        };
        Customer {
            id: format!("cus_{}", self.token(14)),
            name: format!("{first} {last}"),
            email,
            phone: format!("+1 {} 555 {}", self.digits(3), self.digits(4)),
            country,
            home,
            cards,
            user_agents: (0..n_devices).map(|_| *self.pick(USER_AGENTS)).collect(),
            ips: (0..n_devices).map(|_| self.ip()).collect(),
            basket: self.lognormal(45.0, 0.6),
            rate: self.lognormal(0.06, 0.8),
            subscription: self.chance(0.3).then(|| {
                (
                    *self.pick(&[4.99, 9.99, 14.99, 19.99, 49.0]),
                    self.rng.u32(0..30),
                )
            }),
            wallet: self
                .chance(0.3)
                .then(|| *self.pick(&["apple_pay", "google_pay"])),
            logged_in: self.chance(0.8),
            pastes: self.chance(0.04),
        }
    }

    fn minor(&mut self, major: f64) -> i64 {
        (major * 100.0).round().max(50.0) as i64
    }

    // --- legitimate traffic ---

    fn recurring(&mut self, c: &Customer, amount: f64, at: i64) -> Event {
        let p = Payment {
            customer: Some(c.id.clone()),
            email: Some(c.email.clone()),
            name: Some(c.name.clone()),
            amount: self.minor(amount),
            currency: c.country.currency.to_owned(),
            description: Some("Subscription".into()),
            card: Some(c.cards[0].clone()),
            billing: Some(c.home.clone()),
            presence: Some(PbPresence::OffSession),
            payment_type: Some(PbPaymentType::Recurring),
            ..Default::default()
        };
        let outcome = if self.chance(0.03) {
            Self::outcome(OutcomeKind::Declined, Some("insufficient_funds"), at)
        } else {
            Self::outcome(OutcomeKind::Authorized, None, at)
        };
        self.event(at, p, Pattern::Legitimate, outcome)
    }

    fn one_off(&mut self, c: &Customer, at: i64) -> Event {
        if self.chance(BACK_OFFICE_SHARE) {
            return self.back_office(c, at);
        }
        let card = self.pick(&c.cards).clone();
        let device = self.rng.usize(..c.user_agents.len());
        let wallet = c.wallet.filter(|_| self.chance(0.7));
        let travelling = self.chance(0.02);
        let mut p = Payment {
            customer: c.logged_in.then(|| c.id.clone()),
            email: self.chance(0.97).then(|| c.email.clone()),
            name: Some(c.name.clone()),
            phone: self.chance(0.5).then(|| c.phone.clone()),
            amount: {
                let major = c.basket * self.lognormal(1.0, 0.7);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            description: Some((*self.pick(PRODUCTS)).to_owned()),
            card: Some(card),
            wallet,
            billing: self.chance(0.95).then(|| c.home.clone()),
            presence: Some(PbPresence::OnSession),
            payment_type: Some(if self.chance(0.05) {
                PbPaymentType::SetupOneOff
            } else {
                PbPaymentType::OneOff
            }),
            // Native apps without the Radar SDK send inline device data only.
            radar_session: self.chance(0.88),
            ip: Some(if travelling || self.chance(0.1) {
                self.ip()
            } else {
                c.ips[device].clone()
            }),
            user_agent: Some(c.user_agents[device]),
            ..Default::default()
        };
        if self.chance(0.7) {
            // Physical goods: home, sometimes a gift elsewhere in the country, rarely abroad.
            p.shipping = Some(if self.chance(0.06) {
                self.address(c.country)
            } else if self.chance(0.01) {
                let other = self.pick(COUNTRIES);
                self.address(other)
            } else {
                c.home.clone()
            });
        }
        // Returning customers with autofill can be as fast as a bot.
        let median_ms = if wallet.is_some() || self.chance(0.05) {
            12_000.0
        } else {
            70_000.0
        };
        p.time_on_page_ms = Some(self.lognormal(median_ms, 0.8).max(1_500.0) as u64);
        if wallet.is_none() && c.pastes && self.chance(0.6) {
            p.pasted.push("card_number");
        }
        let friendly = self.chance(FRIENDLY_FRAUD_SHARE);
        let (pattern, outcome) = if friendly {
            (
                Pattern::FriendlyFraud,
                Self::outcome(
                    OutcomeKind::Disputed,
                    Some("fraudulent"),
                    at + self.rng.i64(20..60) * DAY,
                ),
            )
        } else if self.chance(0.02) {
            (
                Pattern::Legitimate,
                Self::outcome(OutcomeKind::Declined, Some("insufficient_funds"), at),
            )
        } else if self.chance(0.02) {
            (
                Pattern::Legitimate,
                Self::outcome(
                    OutcomeKind::Refunded,
                    Some("requested_by_customer"),
                    at + self.rng.i64(1..20) * DAY,
                ),
            )
        } else {
            (
                Pattern::Legitimate,
                Self::outcome(OutcomeKind::Authorized, None, at),
            )
        };
        self.event(at, p, pattern, outcome)
    }

    /// A phone or back-office order keyed in by staff through a thin integration: the request
    /// carries little beyond the amount (no device, often no card facts or email).
    fn back_office(&mut self, c: &Customer, at: i64) -> Event {
        let p = Payment {
            customer: self.chance(0.5).then(|| c.id.clone()),
            email: self.chance(0.3).then(|| c.email.clone()),
            amount: {
                let major = c.basket * self.lognormal(1.0, 0.7);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            card: self.chance(0.4).then(|| self.pick(&c.cards).clone()),
            billing: self.chance(0.3).then(|| c.home.clone()),
            ..Default::default()
        };
        let outcome = Self::outcome(OutcomeKind::Authorized, None, at);
        self.event(at, p, Pattern::Legitimate, outcome)
    }

    // --- fraud ---

    fn card_testing(&mut self, start: i64, out: &mut Vec<Event>) {
        let ip = self.ip();
        // A quarter of testers drive a real browser slowly, to look human.
        let slow = self.chance(0.25);
        let ua = if slow {
            *self.pick(USER_AGENTS)
        } else {
            *self.pick(BOT_USER_AGENTS)
        };
        let attempts = self.rng.usize(15..80);
        let currency = self.pick(COUNTRIES).currency;
        let fixed_amount = self.chance(0.5).then(|| self.rng.i64(50..500));
        let mut at = start;
        for _ in 0..attempts {
            at += if slow {
                self.rng.i64(60..900)
            } else {
                self.rng.i64(2..40)
            };
            let issuer = *self.pick(ISSUER_COUNTRIES);
            let card = self.card(issuer, at);
            let p = Payment {
                email: self.chance(0.3).then(|| self.throwaway_email()),
                amount: fixed_amount.unwrap_or_else(|| self.rng.i64(50..600)),
                currency: currency.to_owned(),
                card: Some(card),
                billing: self.chance(0.4).then(|| {
                    let country = self.pick(COUNTRIES);
                    self.address(country)
                }),
                presence: Some(PbPresence::OnSession),
                payment_type: Some(PbPaymentType::OneOff),
                radar_session: self.chance(if slow { 0.9 } else { 0.3 }),
                ip: Some(ip.clone()),
                user_agent: Some(ua),
                time_on_page_ms: Some(if slow {
                    self.rng.u64(8_000..40_000)
                } else {
                    self.rng.u64(400..6000)
                }),
                pasted: if self.chance(if slow { 0.3 } else { 0.8 }) {
                    vec!["card_number"]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            let outcome = if self.chance(0.85) {
                let reason = *self.pick(&[
                    "card_declined",
                    "incorrect_cvc",
                    "insufficient_funds",
                    "expired_card",
                ]);
                Self::outcome(OutcomeKind::Declined, Some(reason), at)
            } else {
                Self::outcome(OutcomeKind::Authorized, None, at)
            };
            out.push(self.event(at, p, Pattern::CardTesting, outcome));
        }
    }

    fn bin_attack(&mut self, start: i64, out: &mut Vec<Event>) {
        let issuer = *self.pick(ISSUER_COUNTRIES);
        let base = self.card(issuer, start);
        let ips: Vec<String> = (0..self.rng.usize(1..5)).map(|_| self.ip()).collect();
        let first = self.rng.u32(0..9000);
        let attempts = self.rng.u32(30..120);
        let currency = self.pick(COUNTRIES).currency;
        let mut at = start;
        for i in 0..attempts {
            at += self.rng.i64(1..15);
            let mut card = base.clone();
            card.last4 = format!("{:04}", (first + i) % 10_000);
            card.fingerprint = self.token(16);
            card.exp_month = self.rng.u32(1..=12);
            let ip = self.pick(&ips).clone();
            let p = Payment {
                amount: self.rng.i64(50..1000),
                currency: currency.to_owned(),
                card: Some(card),
                presence: Some(PbPresence::OnSession),
                payment_type: Some(PbPaymentType::OneOff),
                ip: Some(ip),
                time_on_page_ms: self.chance(0.5).then(|| self.rng.u64(100..2000)),
                ..Default::default()
            };
            let outcome = if self.chance(0.95) {
                let reason = *self.pick(&["incorrect_number", "card_declined", "expired_card"]);
                Self::outcome(OutcomeKind::Declined, Some(reason), at)
            } else {
                Self::outcome(OutcomeKind::Authorized, None, at)
            };
            out.push(self.event(at, p, Pattern::BinAttack, outcome));
        }
    }

    fn stolen_card(&mut self, start: i64, out: &mut Vec<Event>) {
        // The victim: a cardholder somewhere among the merchant's countries (or elsewhere).
        let victim_country = self.weighted(COUNTRIES, |c| c.weight);
        let issuer = if self.chance(0.8) {
            victim_country.code
        } else {
            *self.pick(ISSUER_COUNTRIES)
        };
        let mut card = self.card(issuer, start);
        if self.chance(0.12) {
            card.funding = "prepaid";
        }
        let victim_home = self.address(victim_country);
        let (first, last) = (*self.pick(FIRST_NAMES), *self.pick(LAST_NAMES));
        // A careful fraudster (a third) mimics the cardholder: plausible email, the cardholder's
        // address, an unhurried checkout, typed card number, a residential proxy in the country.
        let careful = self.chance(0.35);
        let email = if careful {
            Some(self.email(first, last))
        } else {
            self.chance(0.9).then(|| self.throwaway_email())
        };
        let ip = self.ip();
        let ua = *self.pick(USER_AGENTS);
        // Billing: the victim's leaked address (matches the card) or whatever the fraudster types.
        let billing = if careful || self.chance(0.4) {
            Some(victim_home.clone())
        } else if self.chance(0.7) {
            Some(self.foreign_address())
        } else {
            None
        };
        // Shipping: a drop abroad, a reshipper at home, or digital goods.
        let shipping = if !careful && self.chance(0.5) {
            Some(self.foreign_address())
        } else if self.chance(0.5) {
            Some(self.address(victim_country))
        } else {
            None
        };
        let orders = self.rng.usize(1..4);
        let mut at = start;
        for _ in 0..orders {
            at += self.rng.i64(60..3600);
            let p = Payment {
                customer: self.chance(0.2).then(|| format!("cus_{}", self.token(14))),
                email: email.clone(),
                name: Some(format!("{first} {last}")),
                amount: {
                    let median = if careful { 180.0 } else { 380.0 };
                    let major = self.lognormal(median, 0.7).min(9000.0);
                    self.minor(major)
                },
                currency: victim_country.currency.to_owned(),
                description: Some(
                    (*self.pick(&["Headphones", "Gift card", "Laptop", "Phone"])).to_owned(),
                ),
                card: Some(card.clone()),
                billing: billing.clone(),
                shipping: shipping.clone(),
                presence: Some(PbPresence::OnSession),
                payment_type: Some(PbPaymentType::OneOff),
                radar_session: self.chance(0.6),
                ip: Some(ip.clone()),
                user_agent: self.chance(0.8).then_some(ua),
                time_on_page_ms: Some(
                    self.lognormal(if careful { 45_000.0 } else { 12_000.0 }, 0.7) as u64,
                ),
                pasted: if !careful && self.chance(0.6) {
                    vec!["card_number"]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            let outcome = if self.chance(0.15) {
                Self::outcome(OutcomeKind::Declined, Some("stolen_card"), at)
            } else if self.chance(0.3) {
                Self::outcome(
                    OutcomeKind::EarlyFraudWarning,
                    Some("fraudulent"),
                    at + self.rng.i64(3..20) * DAY,
                )
            } else {
                Self::outcome(
                    OutcomeKind::Disputed,
                    Some("fraudulent"),
                    at + self.rng.i64(20..90) * DAY,
                )
            };
            out.push(self.event(at, p, Pattern::StolenCard, outcome));
        }
    }

    fn account_takeover(&mut self, c: &Customer, at: i64) -> Event {
        let shipping = if self.chance(0.35) {
            self.foreign_address()
        } else {
            self.address(c.country)
        };
        let p = Payment {
            customer: Some(c.id.clone()),
            email: Some(c.email.clone()),
            name: Some(c.name.clone()),
            amount: {
                let major = c.basket * self.lognormal(4.0, 0.5);
                self.minor(major)
            },
            currency: c.country.currency.to_owned(),
            description: Some((*self.pick(&["Laptop", "Gift card", "Phone"])).to_owned()),
            card: Some(c.cards[0].clone()),
            billing: Some(c.home.clone()),
            shipping: Some(shipping),
            presence: Some(PbPresence::OnSession),
            payment_type: Some(PbPaymentType::OneOff),
            radar_session: self.chance(0.7),
            ip: Some(self.ip()),
            user_agent: Some(*self.pick(USER_AGENTS)),
            time_on_page_ms: Some(self.lognormal(9_000.0, 0.6) as u64),
            ..Default::default()
        };
        let outcome = Self::outcome(
            OutcomeKind::Disputed,
            Some("fraudulent"),
            at + self.rng.i64(10..60) * DAY,
        );
        self.event(at, p, Pattern::AccountTakeover, outcome)
    }

    // --- assembly ---

    fn outcome(kind: OutcomeKind, reason: Option<&str>, at: i64) -> Option<Outcome> {
        Some(Outcome {
            kind,
            reason: reason.map(str::to_owned),
            occurred_at: if kind == OutcomeKind::Authorized || kind == OutcomeKind::Declined {
                at + 1
            } else {
                at
            },
        })
    }

    fn event(&mut self, at: i64, p: Payment, pattern: Pattern, outcome: Option<Outcome>) -> Event {
        let address = |a: &Addr| pb::Address {
            city: a.city.to_owned(),
            country: a.country.clone(),
            line1: a.line1.clone(),
            postal_code: a.postal.clone(),
            state: a.state.to_owned(),
            ..Default::default()
        };
        let card = p.card.as_ref().map(|c| pb::CardDetails {
            bin: c.bin.clone(),
            last4: c.last4.clone(),
            brand: c.brand.to_owned(),
            country: c.country.clone(),
            funding: c.funding.to_owned(),
            fingerprint: c.fingerprint.clone(),
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            wallet: p.wallet.unwrap_or_default().to_owned(),
            three_d_secure_supported: Some(c.three_ds),
        });
        let has_device = p.radar_session || p.ip.is_some() || p.user_agent.is_some();
        let request = CreatePaymentEvaluationRequest {
            customer_details: Some(pb::CustomerDetails {
                customer: p.customer.unwrap_or_default(),
                email: p.email.clone().unwrap_or_default(),
                name: p.name.clone().unwrap_or_default(),
                phone: p.phone.unwrap_or_default(),
                ..Default::default()
            }),
            payment_details: Some(pb::PaymentDetails {
                amount: p.amount,
                currency: p.currency,
                description: p.description.unwrap_or_default(),
                payment_method_details: Some(pb::PaymentMethodDetails {
                    payment_method: format!("pm_{}", self.token(14)),
                    billing_details: p.billing.as_ref().map(|a| pb::BillingDetails {
                        address: Some(address(a)),
                        email: p.email.clone().unwrap_or_default(),
                        name: p.name.clone().unwrap_or_default(),
                        ..Default::default()
                    }),
                    card,
                }),
                money_movement_details: (p.presence.is_some() || p.payment_type.is_some()).then(
                    || pb::MoneyMovementDetails {
                        money_movement_type: MoneyMovementType::Card as i32,
                        card: Some(pb::MoneyMovementCardDetails {
                            customer_presence: p.presence.map_or(0, |v| v as i32),
                            payment_type: p.payment_type.map_or(0, |v| v as i32),
                        }),
                    },
                ),
                shipping_details: p.shipping.as_ref().map(|a| pb::ShippingDetails {
                    address: Some(address(a)),
                    name: p.name.clone().unwrap_or_default(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            client_device_metadata_details: has_device.then(|| pb::ClientDeviceMetadataDetails {
                radar_session: if p.radar_session {
                    format!("rse_{}", self.token(16))
                } else {
                    String::new()
                },
                ip: p.ip.unwrap_or_default(),
                user_agent: p.user_agent.unwrap_or_default().to_owned(),
                time_on_page_ms: p.time_on_page_ms,
                pasted_fields: p.pasted.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        Event {
            occurred_at: at,
            request,
            label: Label {
                fraud: pattern != Pattern::Legitimate,
                pattern,
            },
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use riskgate::api::validate;

    fn small() -> SimConfig {
        SimConfig {
            seed: 42,
            days: 6,
            customers: 400,
            fraud_scale: 3.0,
            ..Default::default()
        }
    }

    #[test]
    fn every_request_validates_and_round_trips() {
        let events = simulate(&small());
        assert!(events.len() > 300, "{}", events.len());
        for e in &events {
            // What a reader of the NDJSON gets back, the API must accept.
            let line = e.to_json();
            let back: Event = serde_json::from_str(&line).unwrap();
            if let Err(v) = validate::payment_evaluation(&back.request) {
                panic!("{v:?}\n{line}");
            }
            assert_eq!(back.to_json(), line);
            assert_eq!((back.label, &back.outcome), (e.label, &e.outcome));
        }
    }

    #[test]
    fn same_seed_same_events_other_seed_other_events() {
        let a: Vec<String> = simulate(&small()).iter().map(Event::to_json).collect();
        let b: Vec<String> = simulate(&small()).iter().map(Event::to_json).collect();
        assert_eq!(a, b);
        let c = simulate(&SimConfig {
            seed: 43,
            ..small()
        });
        assert_ne!(a.len(), 0);
        assert!(c.iter().map(Event::to_json).ne(a));
    }

    #[test]
    fn traffic_is_sorted_mostly_legitimate_and_has_every_pattern() {
        let events = simulate(&SimConfig {
            days: 20,
            customers: 3000,
            fraud_scale: 1.0,
            ..small()
        });
        assert!(
            events
                .windows(2)
                .all(|w| w[0].occurred_at <= w[1].occurred_at)
        );
        let mut counts: HashMap<Pattern, usize> = HashMap::new();
        for e in &events {
            *counts.entry(e.label.pattern).or_default() += 1;
            assert_eq!(e.label.fraud, e.label.pattern != Pattern::Legitimate);
        }
        for p in [
            Pattern::Legitimate,
            Pattern::CardTesting,
            Pattern::StolenCard,
            Pattern::AccountTakeover,
            Pattern::FriendlyFraud,
            Pattern::BinAttack,
        ] {
            assert!(
                counts.get(&p).copied().unwrap_or(0) > 0,
                "{p:?}: {counts:?}"
            );
        }
        assert!(
            counts[&Pattern::Legitimate] * 2 > events.len(),
            "{counts:?}"
        );
    }

    #[test]
    fn card_testing_runs_many_cards_through_one_ip() {
        let events = simulate(&small());
        let mut cards_per_ip: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
        for e in events
            .iter()
            .filter(|e| e.label.pattern == Pattern::CardTesting)
        {
            let ip = &e
                .request
                .client_device_metadata_details
                .as_ref()
                .unwrap()
                .ip;
            let card = e
                .request
                .payment_details
                .as_ref()
                .unwrap()
                .payment_method_details
                .as_ref()
                .unwrap()
                .card
                .as_ref()
                .unwrap();
            cards_per_ip
                .entry(ip)
                .or_default()
                .insert(&card.fingerprint);
            assert!(e.request.payment_details.as_ref().unwrap().amount < 600);
        }
        assert!(
            cards_per_ip.values().any(|cards| cards.len() >= 15),
            "{cards_per_ip:?}"
        );
    }
}
