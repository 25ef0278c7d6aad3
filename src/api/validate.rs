//! Request validation: checks a `CreatePaymentEvaluationRequest` against Stripe's limits and riskgate's
//! own rules (no card numbers, no control characters), reporting every violation at once, and maps a
//! valid request to the core's [`PaymentInput`], borrowing the request's strings.
//!
//! Field paths are the request's dotted proto field names from the root
//! (`payment_details.payment_method_details.card.bin`), with `[i]` for list entries (`expand[1]`) and
//! `[key]` for metadata (`metadata[order_id]`). Descriptions say what is expected; they echo a value
//! only for short code-like fields (currencies, countries, enum words), never for free text, emails or
//! phones, and never anything that looks like a card number.

use std::{collections::BTreeMap, fmt, net::IpAddr};

use crate::proto::v1::{self as pb, CreatePaymentEvaluationRequest};
use riskgate_core::{
    input::{Address, Card, CustomerPresence, Device, Party, PaymentInput, PaymentType},
    reference::{self, Currency},
};

/// The `expand` values the API knows.
pub const EXPANDABLE: &[&str] = &["attributes"];

/// Largest amount Stripe accepts: a positive integer of up to eight digits in the smallest unit.
const MAX_AMOUNT: i64 = 99_999_999;

/// Stripe's length limits, in characters.
const MAX_EMAIL: usize = 800;
const MAX_NAME: usize = 256;
const MAX_PHONE: usize = 40;
const MAX_DESCRIPTION: usize = 1000;
/// Card networks show at most 22 characters on the cardholder's statement.
const MAX_STATEMENT_DESCRIPTOR: usize = 22;
const MAX_CITY: usize = 200;
const MAX_LINE: usize = 200;
const MAX_POSTAL_CODE: usize = 20;
const MAX_STATE: usize = 100;
/// Stripe object ids are a prefix and at most 250 characters after it.
const MAX_ID_BODY: usize = 250;
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY: usize = 40;
const MAX_METADATA_VALUE: usize = 500;
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// riskgate's own limits on inline device data: generous for real browsers, small enough to bound
/// the work and the memory one request can cost.
const MAX_USER_AGENT: usize = 1024;
const MAX_REFERRER: usize = 2048;
const MAX_PASTED_FIELDS: usize = 20;
const MAX_PASTED_FIELD: usize = 64;
/// Vault fingerprints are short opaque tokens.
const MAX_FINGERPRINT: usize = 64;
/// Any string without a tighter bound (Stripe's general limit on string parameters).
const MAX_TEXT: usize = 5000;
/// Metadata keys longer than this are not repeated in a field path (the key violation says why).
const MAX_KEY_IN_PATH: usize = 100;
/// Values longer than this are not repeated in a description.
const MAX_ECHO: usize = 40;

/// Stripe's card brands (`payment_method.card.brand`).
const CARD_BRANDS: &[&str] = &[
    "amex",
    "cartes_bancaires",
    "diners",
    "discover",
    "eftpos_au",
    "interac",
    "jcb",
    "link",
    "mastercard",
    "unionpay",
    "visa",
    "unknown",
];
/// Stripe's card funding types.
const CARD_FUNDINGS: &[&str] = &["credit", "debit", "prepaid", "unknown"];
/// Stripe's card wallet types.
const CARD_WALLETS: &[&str] = &[
    "amex_express_checkout",
    "apple_pay",
    "google_pay",
    "link",
    "masterpass",
    "samsung_pay",
    "visa_checkout",
];
/// BINs (IINs) are 6 digits, or 8 for networks that moved to 8-digit BINs.
const BIN_DIGITS: std::ops::RangeInclusive<usize> = 6..=8;
/// Card expiry years riskgate accepts: four digits, nothing absurd.
const EXP_YEARS: std::ops::RangeInclusive<u32> = 2000..=2100;
/// Characters Stripe refuses in a statement descriptor.
const STATEMENT_DESCRIPTOR_FORBIDDEN: &[char] = &['<', '>', '\\', '\'', '"', '*'];
/// Card numbers (PANs) are 13 to 19 digits long (ISO/IEC 7812).
const PAN_MIN_DIGITS: u32 = 13;
const PAN_MAX_DIGITS: u32 = 19;

/// What riskgate says when a field holds a card number: it never accepts one, so it stays out of
/// PCI DSS scope.
const PAN_REFUSED: &str = "looks like a full card number: riskgate never accepts card numbers \
                           (send card.bin, card.last4 and card.fingerprint instead)";

/// The shape of a Stripe object id: a prefix, then 1 to [`MAX_ID_BODY`] characters.
struct IdRule {
    prefix: &'static str,
    /// Whether the part after the prefix may contain `_` besides letters and digits.
    underscore: bool,
    what: &'static str,
}

const CUSTOMER_ID: IdRule = IdRule {
    prefix: "cus_",
    underscore: false,
    what: "a customer id",
};
const ACCOUNT_ID: IdRule = IdRule {
    prefix: "acct_",
    underscore: false,
    what: "an account id",
};
const PAYMENT_METHOD_ID: IdRule = IdRule {
    prefix: "pm_",
    underscore: true,
    what: "a payment method id",
};
const RADAR_SESSION_ID: IdRule = IdRule {
    prefix: "rse_",
    underscore: true,
    what: "a Radar Session id",
};

// Paths of the request's messages.
const CUSTOMER: &str = "customer_details";
const PAYMENT: &str = "payment_details";
const METHOD: &str = "payment_details.payment_method_details";
const BILLING: &str = "payment_details.payment_method_details.billing_details";
const BILLING_ADDRESS: &str = "payment_details.payment_method_details.billing_details.address";
const CARD: &str = "payment_details.payment_method_details.card";
const MONEY_MOVEMENT: &str = "payment_details.money_movement_details";
const MONEY_MOVEMENT_CARD: &str = "payment_details.money_movement_details.card";
const SHIPPING: &str = "payment_details.shipping_details";
const SHIPPING_ADDRESS: &str = "payment_details.shipping_details.address";
const DEVICE: &str = "client_device_metadata_details";
const PASTED_FIELDS: &str = "client_device_metadata_details.pasted_fields";

/// One violated rule, named by the field's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Validates a request and maps it to the core's input, reporting every violation at once.
pub fn payment_evaluation(
    req: &CreatePaymentEvaluationRequest,
) -> Result<PaymentInput<'_>, Vec<FieldViolation>> {
    let mut c = Checker::default();
    let customer = c.customer_details(req.customer_details.as_ref());
    let payment = c.payment_details(req.payment_details.as_ref());
    let device = c.device(req.client_device_metadata_details.as_ref());
    c.metadata(&req.metadata);
    c.idempotency_key(&req.idempotency_key);
    c.expand(&req.expand);

    match (customer, payment) {
        (Some(customer), Some(payment)) if c.violations.is_empty() => Ok(PaymentInput {
            amount: payment.amount,
            currency: payment.currency,
            customer: customer.customer,
            customer_account: customer.customer_account,
            email: customer.email,
            name: customer.name,
            phone: customer.phone,
            description: payment.description,
            statement_descriptor: payment.statement_descriptor,
            payment_method: payment.payment_method,
            billing: payment.billing,
            card: payment.card,
            customer_presence: payment.customer_presence,
            payment_type: payment.payment_type,
            shipping: payment.shipping,
            device,
            metadata: &req.metadata,
        }),
        _ => {
            debug_assert!(
                !c.violations.is_empty(),
                "a required part is missing without a violation"
            );
            Err(c.violations)
        }
    }
}

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

/// A field's path, rendered only when a violation names it.
#[derive(Clone, Copy)]
enum Path<'p> {
    /// `parent.name`, or `name` at the root (empty parent).
    Field(&'p str, &'p str),
    /// `list[index]`.
    Item(&'p str, usize),
    /// `metadata[key]`, or just `metadata` when the key can't be repeated (it holds a card number or
    /// control characters, or is very long).
    MetadataKey(&'p str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Path::Field("", name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(list, index) => write!(f, "{list}[{index}]"),
            Path::MetadataKey(key) => {
                if key.chars().count() <= MAX_KEY_IN_PATH && !has_control(key) && !contains_pan(key)
                {
                    write!(f, "metadata[{key}]")
                } else {
                    f.write_str("metadata")
                }
            }
        }
    }
}

/// The customer fields of a valid request.
struct CustomerFields<'a> {
    customer: Option<&'a str>,
    customer_account: Option<&'a str>,
    email: Option<&'a str>,
    name: Option<&'a str>,
    phone: Option<&'a str>,
}

/// The payment fields of a valid request.
struct PaymentFields<'a> {
    amount: i64,
    currency: Currency,
    description: Option<&'a str>,
    statement_descriptor: Option<&'a str>,
    payment_method: &'a str,
    billing: Option<Party<'a>>,
    card: Option<Card<'a>>,
    customer_presence: Option<CustomerPresence>,
    payment_type: Option<PaymentType>,
    shipping: Option<Party<'a>>,
}

/// Collects violations while mapping. Every check returns the mapped value, `None` when the field is
/// unset or invalid; the mapped values are used only when no violation was recorded.
#[derive(Default)]
struct Checker {
    violations: Vec<FieldViolation>,
}

impl Checker {
    fn violation(&mut self, path: Path<'_>, description: impl Into<String>) {
        self.violations.push(FieldViolation {
            field: path.to_string(),
            description: description.into(),
        });
    }

    /// An optional IP address (IPv4 or IPv6).
    fn ip(&mut self, path: Path<'_>, value: &str) -> Option<IpAddr> {
        let text = self.text(path, value, MAX_TEXT)?;
        match text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.violation(
                    path,
                    "must be an IPv4 or IPv6 address such as \"198.51.100.23\"",
                );
                None
            }
        }
    }

    /// The checks every string gets: no card number, no control characters, at most `max` characters.
    /// `Some(s)` when `s` is set and passed them (ready for the field's own rules).
    fn text<'a>(&mut self, path: Path<'_>, s: &'a str, max: usize) -> Option<&'a str> {
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
    fn shaped<'a>(
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

    fn email<'a>(&mut self, path: Path<'_>, s: &'a str) -> Option<&'a str> {
        self.shaped(path, s, MAX_EMAIL, is_email, |_| {
            "must be an email address such as \"name@example.org\"".into()
        })
    }

    fn phone<'a>(&mut self, path: Path<'_>, s: &'a str) -> Option<&'a str> {
        self.shaped(path, s, MAX_PHONE, is_phone, |_| {
            "must be a phone number: digits, spaces and + - ( ) . only, with at least one digit"
                .into()
        })
    }

    fn id<'a>(&mut self, path: Path<'_>, s: &'a str, rule: &IdRule) -> Option<&'a str> {
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

    fn country<'a>(&mut self, path: Path<'_>, s: &'a str) -> Option<&'a str> {
        self.shaped(path, s, MAX_TEXT, reference::is_country, |s| {
            let upper = s.to_ascii_uppercase();
            if reference::is_country(&upper) {
                format!("must be an upper-case ISO 3166-1 alpha-2 country code: use \"{upper}\"")
            } else {
                format!(
                    "must be an ISO 3166-1 alpha-2 country code such as \"US\"{}",
                    got(s)
                )
            }
        })
    }

    fn one_of<'a>(&mut self, path: Path<'_>, s: &'a str, allowed: &[&str]) -> Option<&'a str> {
        self.shaped(
            path,
            s,
            MAX_TEXT,
            |s| allowed.contains(&s),
            |s| format!("must be one of {}{}", allowed.join(", "), got(s)),
        )
    }

    fn customer_details<'a>(
        &mut self,
        d: Option<&'a pb::CustomerDetails>,
    ) -> Option<CustomerFields<'a>> {
        let Some(d) = d else {
            self.violation(
                Path::Field("", CUSTOMER),
                "required (its fields may all be empty)",
            );
            return None;
        };
        Some(CustomerFields {
            customer: self.id(Path::Field(CUSTOMER, "customer"), &d.customer, &CUSTOMER_ID),
            customer_account: self.id(
                Path::Field(CUSTOMER, "customer_account"),
                &d.customer_account,
                &ACCOUNT_ID,
            ),
            email: self.email(Path::Field(CUSTOMER, "email"), &d.email),
            name: self.text(Path::Field(CUSTOMER, "name"), &d.name, MAX_NAME),
            phone: self.phone(Path::Field(CUSTOMER, "phone"), &d.phone),
        })
    }

    fn payment_details<'a>(
        &mut self,
        d: Option<&'a pb::PaymentDetails>,
    ) -> Option<PaymentFields<'a>> {
        let Some(d) = d else {
            self.violation(Path::Field("", PAYMENT), "required");
            return None;
        };
        let amount = self.amount(d.amount);
        let currency = self.currency(&d.currency);
        let description = self.text(
            Path::Field(PAYMENT, "description"),
            &d.description,
            MAX_DESCRIPTION,
        );
        let statement_descriptor = self.statement_descriptor(&d.statement_descriptor);
        let method = self.payment_method_details(d.payment_method_details.as_ref());
        let (customer_presence, payment_type) =
            self.money_movement(d.money_movement_details.as_ref());
        let shipping = d.shipping_details.as_ref().map(|s| Party {
            address: self.address(SHIPPING_ADDRESS, s.address.as_ref()),
            email: None,
            name: self.text(Path::Field(SHIPPING, "name"), &s.name, MAX_NAME),
            phone: self.phone(Path::Field(SHIPPING, "phone"), &s.phone),
        });
        let (payment_method, billing, card) = method?;
        Some(PaymentFields {
            amount: amount?,
            currency: currency?,
            description,
            statement_descriptor,
            payment_method,
            billing,
            card,
            customer_presence,
            payment_type,
            shipping,
        })
    }

    fn amount(&mut self, amount: i64) -> Option<i64> {
        let path = Path::Field(PAYMENT, "amount");
        match amount {
            1..=MAX_AMOUNT => return Some(amount),
            0 => self.violation(
                path,
                "required: a positive integer in the currency's smallest unit (1000 = 10.00 usd)",
            ),
            ..0 => self.violation(
                path,
                format!(
                    "must be a positive integer in the currency's smallest unit (got {amount})"
                ),
            ),
            _ => self.violation(
                path,
                format!(
                    "must be at most {MAX_AMOUNT} (eight digits) in the currency's smallest unit \
                     (got {amount})"
                ),
            ),
        }
        None
    }

    fn currency(&mut self, code: &str) -> Option<Currency> {
        let path = Path::Field(PAYMENT, "currency");
        if code.is_empty() {
            self.violation(path, "required: a lowercase ISO 4217 code such as \"usd\"");
            return None;
        }
        let code = self.text(path, code, MAX_TEXT)?;
        if let Some(currency) = reference::currency(code) {
            return Some(currency);
        }
        let lower = code.to_ascii_lowercase();
        if reference::currency(&lower).is_some() {
            self.violation(
                path,
                format!("must be a lowercase ISO 4217 code: use \"{lower}\""),
            );
        } else {
            self.violation(
                path,
                format!(
                    "must be a supported lowercase ISO 4217 code such as \"usd\"{}",
                    got(code)
                ),
            );
        }
        None
    }

    fn statement_descriptor<'a>(&mut self, s: &'a str) -> Option<&'a str> {
        let path = Path::Field(PAYMENT, "statement_descriptor");
        let s = self.text(path, s, MAX_STATEMENT_DESCRIPTOR)?;
        if s.contains(STATEMENT_DESCRIPTOR_FORBIDDEN) {
            self.violation(path, "must not contain any of < > \\ ' \" *");
            None
        } else if !s.chars().any(char::is_alphabetic) {
            self.violation(path, "must contain at least one letter");
            None
        } else {
            Some(s)
        }
    }

    /// The payment method id, billing party and card, or `None` when the id is missing or invalid.
    #[allow(clippy::type_complexity)]
    fn payment_method_details<'a>(
        &mut self,
        d: Option<&'a pb::PaymentMethodDetails>,
    ) -> Option<(&'a str, Option<Party<'a>>, Option<Card<'a>>)> {
        let Some(d) = d else {
            self.violation(Path::Field(PAYMENT, "payment_method_details"), "required");
            return None;
        };
        let path = Path::Field(METHOD, "payment_method");
        let payment_method = if d.payment_method.is_empty() {
            self.violation(
                path,
                "required: a payment method id such as \"pm_1Q0PsIJvEtkwdCNY\"",
            );
            None
        } else {
            self.id(path, &d.payment_method, &PAYMENT_METHOD_ID)
        };
        let billing = d.billing_details.as_ref().map(|b| Party {
            address: self.address(BILLING_ADDRESS, b.address.as_ref()),
            email: self.email(Path::Field(BILLING, "email"), &b.email),
            name: self.text(Path::Field(BILLING, "name"), &b.name, MAX_NAME),
            phone: self.phone(Path::Field(BILLING, "phone"), &b.phone),
        });
        let card = d.card.as_ref().map(|c| self.card(c));
        Some((payment_method?, billing, card))
    }

    fn address<'a>(&mut self, parent: &str, a: Option<&'a pb::Address>) -> Option<Address<'a>> {
        let a = a?;
        Some(Address {
            city: self.text(Path::Field(parent, "city"), &a.city, MAX_CITY),
            country: self.country(Path::Field(parent, "country"), &a.country),
            line1: self.text(Path::Field(parent, "line1"), &a.line1, MAX_LINE),
            line2: self.text(Path::Field(parent, "line2"), &a.line2, MAX_LINE),
            postal_code: self.text(
                Path::Field(parent, "postal_code"),
                &a.postal_code,
                MAX_POSTAL_CODE,
            ),
            state: self.text(Path::Field(parent, "state"), &a.state, MAX_STATE),
        })
    }

    fn card<'a>(&mut self, c: &'a pb::CardDetails) -> Card<'a> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        Card {
            bin: self.shaped(
                Path::Field(CARD, "bin"),
                &c.bin,
                MAX_TEXT,
                |s| BIN_DIGITS.contains(&s.len()) && digits(s),
                |s| {
                    format!(
                        "must be the first 6 to 8 digits of the card number{}",
                        got(s)
                    )
                },
            ),
            last4: self.shaped(
                Path::Field(CARD, "last4"),
                &c.last4,
                MAX_TEXT,
                |s| s.len() == 4 && digits(s),
                |s| format!("must be the last 4 digits of the card number{}", got(s)),
            ),
            brand: self.one_of(Path::Field(CARD, "brand"), &c.brand, CARD_BRANDS),
            country: self.country(Path::Field(CARD, "country"), &c.country),
            funding: self.one_of(Path::Field(CARD, "funding"), &c.funding, CARD_FUNDINGS),
            fingerprint: self.shaped(
                Path::Field(CARD, "fingerprint"),
                &c.fingerprint,
                MAX_FINGERPRINT,
                |s| {
                    s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                },
                |_| "must contain only letters, digits, underscores and dashes".into(),
            ),
            exp_month: match c.exp_month {
                0 => None,
                m @ 1..=12 => Some(m),
                m => {
                    self.violation(
                        Path::Field(CARD, "exp_month"),
                        format!("must be 1 to 12 (got {m})"),
                    );
                    None
                }
            },
            exp_year: match c.exp_year {
                0 => None,
                y if EXP_YEARS.contains(&y) => Some(y),
                y => {
                    self.violation(
                        Path::Field(CARD, "exp_year"),
                        format!(
                            "must be a four-digit year from {} to {} (got {y})",
                            EXP_YEARS.start(),
                            EXP_YEARS.end()
                        ),
                    );
                    None
                }
            },
            wallet: self.one_of(Path::Field(CARD, "wallet"), &c.wallet, CARD_WALLETS),
            three_d_secure_supported: c.three_d_secure_supported,
        }
    }

    fn money_movement(
        &mut self,
        m: Option<&pb::MoneyMovementDetails>,
    ) -> (Option<CustomerPresence>, Option<PaymentType>) {
        let Some(m) = m else { return (None, None) };
        let path = Path::Field(MONEY_MOVEMENT, "money_movement_type");
        match pb::MoneyMovementType::try_from(m.money_movement_type) {
            Ok(pb::MoneyMovementType::Card) => {}
            Ok(pb::MoneyMovementType::Unspecified) => self.violation(
                path,
                "required when money_movement_details is given: the only type is card \
                 (MONEY_MOVEMENT_TYPE_CARD)",
            ),
            Err(_) => self.violation(
                path,
                format!(
                    "unknown money movement type {}: the only type is card (MONEY_MOVEMENT_TYPE_CARD)",
                    m.money_movement_type
                ),
            ),
        }
        let Some(card) = m.card.as_ref() else {
            return (None, None);
        };
        let presence = match pb::CustomerPresence::try_from(card.customer_presence) {
            Ok(pb::CustomerPresence::Unspecified) => None,
            Ok(pb::CustomerPresence::OnSession) => Some(CustomerPresence::OnSession),
            Ok(pb::CustomerPresence::OffSession) => Some(CustomerPresence::OffSession),
            Err(_) => {
                self.violation(
                    Path::Field(MONEY_MOVEMENT_CARD, "customer_presence"),
                    format!(
                        "unknown customer presence {}: expected on_session (1) or off_session (2)",
                        card.customer_presence
                    ),
                );
                None
            }
        };
        let payment_type = match pb::PaymentType::try_from(card.payment_type) {
            Ok(pb::PaymentType::Unspecified) => None,
            Ok(pb::PaymentType::OneOff) => Some(PaymentType::OneOff),
            Ok(pb::PaymentType::Recurring) => Some(PaymentType::Recurring),
            Ok(pb::PaymentType::SetupOneOff) => Some(PaymentType::SetupOneOff),
            Ok(pb::PaymentType::SetupRecurring) => Some(PaymentType::SetupRecurring),
            Err(_) => {
                self.violation(
                    Path::Field(MONEY_MOVEMENT_CARD, "payment_type"),
                    format!(
                        "unknown payment type {}: expected one_off (1), recurring (2), \
                         setup_one_off (3) or setup_recurring (4)",
                        card.payment_type
                    ),
                );
                None
            }
        };
        (presence, payment_type)
    }

    fn device<'a>(&mut self, d: Option<&'a pb::ClientDeviceMetadataDetails>) -> Device<'a> {
        let Some(d) = d else { return Device::default() };
        let radar_path = Path::Field(DEVICE, "radar_session");
        let inline = !d.ip.is_empty()
            || !d.user_agent.is_empty()
            || !d.referrer.is_empty()
            || d.time_on_page_ms.is_some()
            || !d.pasted_fields.is_empty();
        if d.radar_session.is_empty() && !inline {
            self.violation(
                radar_path,
                "required unless inline device data (ip, user_agent, referrer, time_on_page_ms or \
                 pasted_fields) is given",
            );
        }
        let radar_session = self.id(radar_path, &d.radar_session, &RADAR_SESSION_ID);
        let ip_path = Path::Field(DEVICE, "ip");
        let ip = self.ip(ip_path, &d.ip);
        let user_agent = self.text(
            Path::Field(DEVICE, "user_agent"),
            &d.user_agent,
            MAX_USER_AGENT,
        );
        let referrer = self.text(Path::Field(DEVICE, "referrer"), &d.referrer, MAX_REFERRER);
        if d.pasted_fields.len() > MAX_PASTED_FIELDS {
            self.violation(
                Path::Field(DEVICE, "pasted_fields"),
                format!(
                    "must have at most {MAX_PASTED_FIELDS} entries (got {})",
                    d.pasted_fields.len()
                ),
            );
        }
        let mut pasted_fields = Vec::with_capacity(d.pasted_fields.len());
        for (i, field) in d.pasted_fields.iter().enumerate() {
            let path = Path::Item(PASTED_FIELDS, i);
            if field.is_empty() {
                self.violation(
                    path,
                    "must not be empty: a checkout field name such as \"card_number\"",
                );
                continue;
            }
            let field = self.shaped(
                path,
                field,
                MAX_PASTED_FIELD,
                |s| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'),
                |_| {
                    "must be a checkout field name of lowercase letters, digits, underscores and dots \
                     such as \"card_number\""
                        .into()
                },
            );
            pasted_fields.extend(field);
        }
        Device {
            radar_session,
            ip,
            user_agent,
            referrer,
            time_on_page_ms: d.time_on_page_ms,
            pasted_fields,
        }
    }

    fn metadata(&mut self, metadata: &BTreeMap<String, String>) {
        if metadata.len() > MAX_METADATA_KEYS {
            self.violation(
                Path::Field("", "metadata"),
                format!(
                    "must have at most {MAX_METADATA_KEYS} keys (got {})",
                    metadata.len()
                ),
            );
        }
        for (key, value) in metadata {
            let path = Path::MetadataKey(key);
            let key_problem = if key.is_empty() {
                Some(format!(
                    "keys must be 1 to {MAX_METADATA_KEY} characters (got an empty key)"
                ))
            } else if let Some(problem) = text_problem(key, MAX_METADATA_KEY) {
                Some(format!("the key {problem}"))
            } else if key.contains(['[', ']']) {
                Some("the key must not contain [ or ]".into())
            } else {
                None
            };
            if let Some(problem) = key_problem {
                self.violation(path, problem);
            }
            self.text(path, value, MAX_METADATA_VALUE);
        }
    }

    fn idempotency_key(&mut self, key: &str) {
        self.shaped(
            Path::Field("", "idempotency_key"),
            key,
            MAX_IDEMPOTENCY_KEY,
            |s| s.bytes().all(|b| (b' '..=b'~').contains(&b)),
            |_| "must contain only printable ASCII characters".into(),
        );
    }

    fn expand(&mut self, expand: &[String]) {
        for (i, value) in expand.iter().enumerate() {
            let path = Path::Item("expand", i);
            if value.is_empty() {
                self.violation(
                    path,
                    format!("must not be empty: one of {}", EXPANDABLE.join(", ")),
                );
            } else {
                self.one_of(path, value, EXPANDABLE);
            }
        }
    }
}

/// What is wrong with `s` by the rules every string follows, if anything.
fn text_problem(s: &str, max: usize) -> Option<String> {
    if contains_pan(s) {
        Some(PAN_REFUSED.into())
    } else if has_control(s) {
        Some("must not contain control characters".into())
    } else if s.len() > max && s.chars().count() > max {
        Some(format!(
            "must be at most {max} characters (got {})",
            s.chars().count()
        ))
    } else {
        None
    }
}

fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_control())
}

/// ` (got "…")` for a short value that passed the common checks, or nothing for a long one.
fn got(s: &str) -> String {
    if s.chars().count() <= MAX_ECHO {
        format!(" (got {s:?})")
    } else {
        String::new()
    }
}

/// One `@`, a non-empty local part, a dotted domain, no whitespace.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// Digits, spaces and `+-().`, with at least one digit.
fn is_phone(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
}

// ----------------------------------------------------------------------------------------------------
// Radar Sessions and outcome reports
// ----------------------------------------------------------------------------------------------------

/// Device ids are opaque hashes from the merchant's device intelligence.
const MAX_DEVICE_ID: usize = 128;
const MAX_ACCEPT_LANGUAGE: usize = 256;
const MAX_TIMEZONE: usize = 64;
const MAX_SCREEN: usize = 32;
const MAX_DECLINE_REASON: usize = 100;
/// How far in the future a client clock may put `created_at` / `occurred_at`.
const MAX_CLOCK_SKEW_SECS: i64 = 300;
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

const EVALUATION_ID: IdRule = IdRule {
    prefix: "peval_",
    underscore: false,
    what: "an evaluation id",
};

/// Validates a ReportPaymentOutcome request.
pub fn payment_outcome(
    req: &pb::ReportPaymentOutcomeRequest,
    now: i64,
) -> Result<(&str, crate::stores::state::Outcome, i64), Vec<FieldViolation>> {
    use crate::stores::state::Outcome;
    let mut c = Checker::default();
    let id_path = Path::Field("", "evaluation");
    if req.evaluation.is_empty() {
        c.violation(id_path, "required: the id of the evaluation, \"peval_…\"");
    }
    let id = c.id(id_path, &req.evaluation, &EVALUATION_ID);
    let outcome = match pb::PaymentOutcome::try_from(req.outcome) {
        Ok(pb::PaymentOutcome::Authorized) => Some(Outcome::Authorized),
        Ok(pb::PaymentOutcome::Declined) => Some(Outcome::Declined),
        Ok(pb::PaymentOutcome::Refunded) => Some(Outcome::Refunded),
        Ok(pb::PaymentOutcome::Disputed) => Some(Outcome::Disputed),
        Ok(pb::PaymentOutcome::EarlyFraudWarning) => Some(Outcome::EarlyFraudWarning),
        Ok(pb::PaymentOutcome::Unspecified) | Err(_) => {
            c.violation(
                Path::Field("", "outcome"),
                "required: authorized, declined, refunded, disputed or early_fraud_warning",
            );
            None
        }
    };
    let reason_path = Path::Field("", "decline_reason");
    if !req.decline_reason.is_empty() && outcome.is_some_and(|o| o != Outcome::Declined) {
        c.violation(reason_path, "only allowed with the declined outcome");
    }
    c.shaped(
        reason_path,
        &req.decline_reason,
        MAX_DECLINE_REASON,
        |v| {
            v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        },
        |v| {
            format!(
                "must be a decline code such as \"insufficient_funds\"{}",
                got(v)
            )
        },
    );
    if req.occurred_at < 0 || req.occurred_at > now + MAX_CLOCK_SKEW_SECS {
        c.violation(
            Path::Field("", "occurred_at"),
            "must be Unix seconds, not in the future (0 = now)",
        );
    }
    match (id, outcome) {
        (Some(id), Some(o)) if c.violations.is_empty() => Ok((id, o, req.occurred_at)),
        _ => Err(c.violations),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::{
        BillingDetails, CardDetails, ClientDeviceMetadataDetails, CustomerDetails,
        MoneyMovementCardDetails, MoneyMovementDetails, PaymentDetails, PaymentMethodDetails,
        ShippingDetails,
    };

    fn address(country: &str) -> pb::Address {
        pb::Address {
            city: "San Francisco".into(),
            country: country.into(),
            line1: "510 Townsend St".into(),
            line2: "Floor 2".into(),
            postal_code: "94103".into(),
            state: "CA".into(),
        }
    }

    /// A request with every field set and valid.
    fn valid() -> CreatePaymentEvaluationRequest {
        CreatePaymentEvaluationRequest {
            customer_details: Some(CustomerDetails {
                customer: "cus_NffrFeUfNV2Hib".into(),
                customer_account: "acct_1Nv0FGQ9RKHgCVdK".into(),
                email: "jenny.rosen@example.com".into(),
                name: "Jenny Rosen".into(),
                phone: "+1 (415) 555-2671".into(),
            }),
            payment_details: Some(PaymentDetails {
                amount: 1099,
                currency: "usd".into(),
                description: "Order #1042".into(),
                statement_descriptor: "RISKGATE SHOP".into(),
                payment_method_details: Some(PaymentMethodDetails {
                    payment_method: "pm_1Q0PsIJvEtkwdCNY_test".into(),
                    billing_details: Some(BillingDetails {
                        address: Some(address("US")),
                        email: "billing@example.com".into(),
                        name: "Jenny Rosen".into(),
                        phone: "+14155552671".into(),
                    }),
                    card: Some(CardDetails {
                        bin: "424242".into(),
                        last4: "4242".into(),
                        brand: "visa".into(),
                        country: "US".into(),
                        funding: "credit".into(),
                        fingerprint: "Xt5EWLLDS7FJjR1c".into(),
                        exp_month: 12,
                        exp_year: 2030,
                        wallet: "apple_pay".into(),
                        three_d_secure_supported: Some(true),
                    }),
                }),
                money_movement_details: Some(MoneyMovementDetails {
                    money_movement_type: pb::MoneyMovementType::Card as i32,
                    card: Some(MoneyMovementCardDetails {
                        customer_presence: pb::CustomerPresence::OnSession as i32,
                        payment_type: pb::PaymentType::SetupRecurring as i32,
                    }),
                }),
                shipping_details: Some(ShippingDetails {
                    address: Some(address("GB")),
                    name: "Jenny Rosen".into(),
                    phone: "020 7946 0958".into(),
                }),
            }),
            client_device_metadata_details: Some(ClientDeviceMetadataDetails {
                radar_session: "rse_1Q0PsIJvEtkwdCNY".into(),
                ip: "203.0.113.7".into(),
                user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"
                    .into(),
                referrer: "https://shop.example.com/cart".into(),
                time_on_page_ms: Some(45_000),
                pasted_fields: vec!["email".into(), "billing.postal_code".into()],
            }),
            metadata: BTreeMap::from([("order_id".into(), "6735".into())]),
            idempotency_key: "7f3c1a9e-2b4d-4e8f-9a1c-5d6e7f8a9b0c".into(),
            expand: vec!["attributes".into()],
            scoring_mode: String::new(),
        }
    }

    fn customer(req: &mut CreatePaymentEvaluationRequest) -> &mut CustomerDetails {
        req.customer_details.as_mut().unwrap()
    }
    fn payment(req: &mut CreatePaymentEvaluationRequest) -> &mut PaymentDetails {
        req.payment_details.as_mut().unwrap()
    }
    fn method(req: &mut CreatePaymentEvaluationRequest) -> &mut PaymentMethodDetails {
        payment(req).payment_method_details.as_mut().unwrap()
    }
    fn card(req: &mut CreatePaymentEvaluationRequest) -> &mut CardDetails {
        method(req).card.as_mut().unwrap()
    }
    fn billing(req: &mut CreatePaymentEvaluationRequest) -> &mut BillingDetails {
        method(req).billing_details.as_mut().unwrap()
    }
    fn device(req: &mut CreatePaymentEvaluationRequest) -> &mut ClientDeviceMetadataDetails {
        req.client_device_metadata_details.as_mut().unwrap()
    }
    fn money_card(req: &mut CreatePaymentEvaluationRequest) -> &mut MoneyMovementCardDetails {
        payment(req)
            .money_movement_details
            .as_mut()
            .unwrap()
            .card
            .as_mut()
            .unwrap()
    }

    /// The violations of `req` (which must be invalid).
    fn violations(req: &CreatePaymentEvaluationRequest) -> Vec<FieldViolation> {
        payment_evaluation(req).expect_err("request should be invalid")
    }

    /// The single violation of `req`, checked to be on `field`.
    fn only(req: &CreatePaymentEvaluationRequest, field: &str) -> String {
        let v = violations(req);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].field, field, "{v:#?}");
        v.into_iter().next().unwrap().description
    }

    fn fields(req: &CreatePaymentEvaluationRequest) -> Vec<String> {
        violations(req).into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn valid_request_maps_to_input() {
        let req = valid();
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.amount, 1099);
        assert_eq!(input.currency, reference::currency("usd").unwrap());
        assert_eq!(input.customer, Some("cus_NffrFeUfNV2Hib"));
        assert_eq!(input.customer_account, Some("acct_1Nv0FGQ9RKHgCVdK"));
        assert_eq!(input.email, Some("jenny.rosen@example.com"));
        assert_eq!(input.name, Some("Jenny Rosen"));
        assert_eq!(input.phone, Some("+1 (415) 555-2671"));
        assert_eq!(input.description, Some("Order #1042"));
        assert_eq!(input.statement_descriptor, Some("RISKGATE SHOP"));
        assert_eq!(input.payment_method, "pm_1Q0PsIJvEtkwdCNY_test");
        let us = Address {
            city: Some("San Francisco"),
            country: Some("US"),
            line1: Some("510 Townsend St"),
            line2: Some("Floor 2"),
            postal_code: Some("94103"),
            state: Some("CA"),
        };
        assert_eq!(
            input.billing,
            Some(Party {
                address: Some(us.clone()),
                email: Some("billing@example.com"),
                name: Some("Jenny Rosen"),
                phone: Some("+14155552671"),
            })
        );
        assert_eq!(
            input.card,
            Some(Card {
                bin: Some("424242"),
                last4: Some("4242"),
                brand: Some("visa"),
                country: Some("US"),
                funding: Some("credit"),
                fingerprint: Some("Xt5EWLLDS7FJjR1c"),
                exp_month: Some(12),
                exp_year: Some(2030),
                wallet: Some("apple_pay"),
                three_d_secure_supported: Some(true),
            })
        );
        assert_eq!(input.customer_presence, Some(CustomerPresence::OnSession));
        assert_eq!(input.payment_type, Some(PaymentType::SetupRecurring));
        assert_eq!(
            input.shipping,
            Some(Party {
                address: Some(Address {
                    country: Some("GB"),
                    ..us
                }),
                email: None,
                name: Some("Jenny Rosen"),
                phone: Some("020 7946 0958"),
            })
        );
        assert_eq!(
            input.device,
            Device {
                radar_session: Some("rse_1Q0PsIJvEtkwdCNY"),
                ip: Some("203.0.113.7".parse().unwrap()),
                user_agent: Some(
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15"
                ),
                referrer: Some("https://shop.example.com/cart"),
                time_on_page_ms: Some(45_000),
                pasted_fields: vec!["email", "billing.postal_code"],
            }
        );
        assert!(std::ptr::eq(input.metadata, &req.metadata));
        assert_eq!(input.billing_country(), Some("US"));
        assert_eq!(input.shipping_country(), Some("GB"));
    }

    #[test]
    fn minimal_request_maps_unset_fields_to_none() {
        let req = CreatePaymentEvaluationRequest {
            customer_details: Some(CustomerDetails::default()),
            payment_details: Some(PaymentDetails {
                amount: 500,
                currency: "jpy".into(),
                payment_method_details: Some(PaymentMethodDetails {
                    payment_method: "pm_1".into(),
                    card: Some(CardDetails::default()),
                    ..Default::default()
                }),
                money_movement_details: Some(MoneyMovementDetails {
                    money_movement_type: pb::MoneyMovementType::Card as i32,
                    card: Some(MoneyMovementCardDetails::default()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.currency.exponent, 0);
        assert_eq!(
            (input.customer, input.email, input.name, input.phone),
            (None, None, None, None)
        );
        assert_eq!(
            (input.description, input.statement_descriptor),
            (None, None)
        );
        assert_eq!(input.billing, None);
        assert_eq!(input.shipping, None);
        assert_eq!(input.card, Some(Card::default()));
        assert_eq!((input.customer_presence, input.payment_type), (None, None));
        assert_eq!(input.device, Device::default());
    }

    #[test]
    fn amount_must_be_positive_and_at_most_eight_digits() {
        let mut req = valid();
        payment(&mut req).amount = -5;
        let d = only(&req, "payment_details.amount");
        assert!(
            d.contains("positive integer") && d.contains("(got -5)"),
            "{d}"
        );

        payment(&mut req).amount = 0;
        assert!(only(&req, "payment_details.amount").starts_with("required"));

        payment(&mut req).amount = 100_000_000;
        assert!(only(&req, "payment_details.amount").contains("99999999"));

        payment(&mut req).amount = 99_999_999;
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn currency_must_be_a_supported_lowercase_code() {
        let mut req = valid();
        payment(&mut req).currency = "USD".into();
        let d = only(&req, "payment_details.currency");
        assert!(d.contains("lowercase") && d.contains("use \"usd\""), "{d}");

        payment(&mut req).currency = "xyz".into();
        assert!(only(&req, "payment_details.currency").contains("(got \"xyz\")"));

        payment(&mut req).currency = String::new();
        assert!(only(&req, "payment_details.currency").starts_with("required"));
    }

    #[test]
    fn countries_must_be_alpha_2() {
        let mut req = valid();
        billing(&mut req).address.as_mut().unwrap().country = "USA".into();
        let d = only(
            &req,
            "payment_details.payment_method_details.billing_details.address.country",
        );
        assert_eq!(
            d,
            "must be an ISO 3166-1 alpha-2 country code such as \"US\" (got \"USA\")"
        );

        let mut req = valid();
        card(&mut req).country = "us".into();
        let d = only(&req, "payment_details.payment_method_details.card.country");
        assert!(d.contains("use \"US\""), "{d}");

        let mut req = valid();
        payment(&mut req)
            .shipping_details
            .as_mut()
            .unwrap()
            .address
            .as_mut()
            .unwrap()
            .country = "ZZ".into();
        only(&req, "payment_details.shipping_details.address.country");
    }

    #[test]
    fn address_lengths() {
        let mut req = valid();
        let a = billing(&mut req).address.as_mut().unwrap();
        a.city = "c".repeat(201);
        a.line1 = "l".repeat(201);
        a.line2 = "l".repeat(201);
        a.postal_code = "9".repeat(21);
        a.state = "s".repeat(101);
        let prefix = "payment_details.payment_method_details.billing_details.address";
        assert_eq!(
            fields(&req),
            ["city", "line1", "line2", "postal_code", "state"].map(|f| format!("{prefix}.{f}"))
        );
    }

    #[test]
    fn emails_are_bounded_and_email_shaped_and_never_echoed() {
        let mut req = valid();
        let long = format!("{}@example.com", "a".repeat(801 - "@example.com".len()));
        assert_eq!(long.len(), 801);
        customer(&mut req).email = long.clone();
        let d = only(&req, "customer_details.email");
        assert_eq!(d, "must be at most 800 characters (got 801)");

        for bad in [
            "jenny",
            "@example.com",
            "jenny@example",
            "jenny@@example.com",
            "jenny rosen@example.com",
            "j@example.",
        ] {
            customer(&mut req).email = bad.into();
            let d = only(&req, "customer_details.email");
            assert!(!d.contains(bad), "{d}");
        }

        let mut req = valid();
        billing(&mut req).email = "nope".into();
        only(
            &req,
            "payment_details.payment_method_details.billing_details.email",
        );
    }

    #[test]
    fn names_and_phones() {
        let mut req = valid();
        customer(&mut req).name = "n".repeat(257);
        only(&req, "customer_details.name");

        let mut req = valid();
        customer(&mut req).phone = "call me".into();
        let d = only(&req, "customer_details.phone");
        assert!(!d.contains("call me"), "{d}");
        customer(&mut req).phone = "+-()".into();
        only(&req, "customer_details.phone");
        customer(&mut req).phone = "1".repeat(41);
        assert_eq!(
            only(&req, "customer_details.phone"),
            "must be at most 40 characters (got 41)"
        );

        let mut req = valid();
        payment(&mut req).shipping_details.as_mut().unwrap().phone = "x1".into();
        payment(&mut req).shipping_details.as_mut().unwrap().name = "n".repeat(257);
        assert_eq!(
            fields(&req),
            [
                "payment_details.shipping_details.name",
                "payment_details.shipping_details.phone"
            ]
        );
    }

    #[test]
    fn customer_ids() {
        let mut req = valid();
        customer(&mut req).customer = "cust_123".into();
        customer(&mut req).customer_account = "acct_12_3".into();
        assert_eq!(
            fields(&req),
            [
                "customer_details.customer",
                "customer_details.customer_account"
            ]
        );

        customer(&mut req).customer = "cus_".into();
        customer(&mut req).customer_account = format!("acct_{}", "a".repeat(251));
        assert_eq!(
            fields(&req),
            [
                "customer_details.customer",
                "customer_details.customer_account"
            ]
        );

        customer(&mut req).customer = format!("cus_{}", "a".repeat(250));
        customer(&mut req).customer_account = "acct_x".into();
        assert!(payment_evaluation(&req).is_ok());
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

    #[test]
    fn required_messages_and_payment_method() {
        let mut req = valid();
        req.customer_details = None;
        assert!(only(&req, "customer_details").starts_with("required"));

        let mut req = valid();
        req.payment_details = None;
        assert_eq!(only(&req, "payment_details"), "required");

        let mut req = valid();
        payment(&mut req).payment_method_details = None;
        assert_eq!(
            only(&req, "payment_details.payment_method_details"),
            "required"
        );

        let mut req = valid();
        method(&mut req).payment_method = String::new();
        assert!(
            only(
                &req,
                "payment_details.payment_method_details.payment_method"
            )
            .starts_with("required")
        );

        method(&mut req).payment_method = "card_123".into();
        let d = only(
            &req,
            "payment_details.payment_method_details.payment_method",
        );
        assert!(d.contains("\"pm_\""), "{d}");
        method(&mut req).payment_method = "pm_12-3".into();
        only(
            &req,
            "payment_details.payment_method_details.payment_method",
        );
    }

    #[test]
    fn description_and_statement_descriptor() {
        let mut req = valid();
        payment(&mut req).description = "d".repeat(1001);
        only(&req, "payment_details.description");

        for bad in [
            "A".repeat(23),
            "12345".into(),
            "SHOP*ONLINE".into(),
            "ACME <3".into(),
            "O'NEIL".into(),
        ] {
            let mut req = valid();
            payment(&mut req).statement_descriptor = bad.clone();
            only(&req, "payment_details.statement_descriptor");
        }
        payment(&mut req).description = String::new();
        payment(&mut req).statement_descriptor = "A".repeat(22);
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn card_bin_last4_and_fingerprint() {
        let prefix = "payment_details.payment_method_details.card";
        for (bin, ok) in [
            ("42424", false),
            ("424242", true),
            ("42424242", true),
            ("424242424", false),
            ("4242a2", false),
        ] {
            let mut req = valid();
            card(&mut req).bin = bin.into();
            if ok {
                assert!(payment_evaluation(&req).is_ok(), "{bin}");
            } else {
                let d = only(&req, &format!("{prefix}.bin"));
                assert!(d.contains(&format!("(got \"{bin}\")")), "{d}");
            }
        }
        for last4 in ["424", "42424", "42a4"] {
            let mut req = valid();
            card(&mut req).last4 = last4.into();
            only(&req, &format!("{prefix}.last4"));
        }
        let mut req = valid();
        card(&mut req).fingerprint = "f".repeat(65);
        only(&req, &format!("{prefix}.fingerprint"));
        card(&mut req).fingerprint = "abc=".into();
        only(&req, &format!("{prefix}.fingerprint"));
        card(&mut req).fingerprint = "aB9_-".into();
        assert!(payment_evaluation(&req).is_ok());
    }

    #[test]
    fn card_expiry_ranges() {
        let prefix = "payment_details.payment_method_details.card";
        let mut req = valid();
        card(&mut req).exp_month = 13;
        card(&mut req).exp_year = 1999;
        assert_eq!(
            fields(&req),
            [format!("{prefix}.exp_month"), format!("{prefix}.exp_year")]
        );
        card(&mut req).exp_month = 1;
        card(&mut req).exp_year = 2101;
        assert_eq!(fields(&req), [format!("{prefix}.exp_year")]);
        card(&mut req).exp_month = 0;
        card(&mut req).exp_year = 0;
        let input = payment_evaluation(&req).unwrap();
        let c = input.card.unwrap();
        assert_eq!((c.exp_month, c.exp_year), (None, None));
    }

    #[test]
    fn card_enum_words() {
        let prefix = "payment_details.payment_method_details.card";
        let mut req = valid();
        card(&mut req).brand = "Visa".into();
        card(&mut req).funding = "charge".into();
        card(&mut req).wallet = "paypal".into();
        let v = violations(&req);
        assert_eq!(
            v.iter().map(|v| v.field.clone()).collect::<Vec<_>>(),
            ["brand", "funding", "wallet"].map(|f| format!("{prefix}.{f}"))
        );
        assert!(
            v[0].description.contains("cartes_bancaires")
                && v[0].description.contains("(got \"Visa\")")
        );

        for brand in CARD_BRANDS {
            card(&mut req).brand = (*brand).into();
            card(&mut req).funding = "unknown".into();
            card(&mut req).wallet = "google_pay".into();
            assert!(payment_evaluation(&req).is_ok(), "{brand}");
        }
    }

    #[test]
    fn money_movement_enums() {
        let mut req = valid();
        payment(&mut req)
            .money_movement_details
            .as_mut()
            .unwrap()
            .money_movement_type = 0;
        assert!(
            only(
                &req,
                "payment_details.money_movement_details.money_movement_type"
            )
            .starts_with("required")
        );
        payment(&mut req)
            .money_movement_details
            .as_mut()
            .unwrap()
            .money_movement_type = 7;
        let d = only(
            &req,
            "payment_details.money_movement_details.money_movement_type",
        );
        assert!(d.starts_with("unknown money movement type 7"), "{d}");

        let mut req = valid();
        money_card(&mut req).customer_presence = 3;
        money_card(&mut req).payment_type = 9;
        assert_eq!(
            fields(&req),
            [
                "payment_details.money_movement_details.card.customer_presence",
                "payment_details.money_movement_details.card.payment_type"
            ]
        );

        let mut req = valid();
        money_card(&mut req).customer_presence = pb::CustomerPresence::OffSession as i32;
        money_card(&mut req).payment_type = pb::PaymentType::Recurring as i32;
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.customer_presence, Some(CustomerPresence::OffSession));
        assert_eq!(input.payment_type, Some(PaymentType::Recurring));

        payment(&mut req).money_movement_details = None;
        let input = payment_evaluation(&req).unwrap();
        assert_eq!((input.customer_presence, input.payment_type), (None, None));
    }

    #[test]
    fn radar_session_shape_and_presence() {
        let path = "client_device_metadata_details.radar_session";
        let mut req = valid();
        device(&mut req).radar_session = "sess_123".into();
        assert!(only(&req, path).contains("\"rse_\""));
        device(&mut req).radar_session = "rse_".into();
        only(&req, path);
        device(&mut req).radar_session = "rse_1Q0P_x".into();
        assert!(payment_evaluation(&req).is_ok());

        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails::default());
        assert!(only(&req, path).starts_with("required unless inline device data"));

        // Inline data alone is enough.
        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails {
            time_on_page_ms: Some(0),
            ..Default::default()
        });
        assert!(payment_evaluation(&req).is_ok());
        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails {
            ip: "2001:db8::1".into(),
            ..Default::default()
        });
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.device.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(input.device.radar_session, None);
    }

    #[test]
    fn ip_must_parse() {
        for bad in ["203.0.113", "203.0.113.7:443", "localhost", "::g"] {
            let mut req = valid();
            device(&mut req).ip = bad.into();
            let d = only(&req, "client_device_metadata_details.ip");
            assert!(!d.contains(bad), "{d}");
        }
    }

    #[test]
    fn inline_device_limits() {
        let mut req = valid();
        device(&mut req).user_agent = "u".repeat(1025);
        device(&mut req).referrer = "r".repeat(2049);
        assert_eq!(
            fields(&req),
            [
                "client_device_metadata_details.user_agent",
                "client_device_metadata_details.referrer"
            ]
        );

        let mut req = valid();
        device(&mut req).pasted_fields = vec![
            "email".into(),
            "Card Number".into(),
            String::new(),
            "f".repeat(65),
        ];
        assert_eq!(
            fields(&req),
            [1, 2, 3].map(|i| format!("client_device_metadata_details.pasted_fields[{i}]"))
        );

        device(&mut req).pasted_fields = (0..21).map(|i| format!("field_{i}")).collect();
        assert_eq!(
            only(&req, "client_device_metadata_details.pasted_fields"),
            "must have at most 20 entries (got 21)"
        );
    }

    #[test]
    fn metadata_limits() {
        let mut req = valid();
        req.metadata = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(only(&req, "metadata"), "must have at most 50 keys (got 51)");

        let mut req = valid();
        let key = "k".repeat(41);
        req.metadata.insert(key.clone(), "v".into());
        assert_eq!(
            only(&req, &format!("metadata[{key}]")),
            "the key must be at most 40 characters (got 41)"
        );

        let mut req = valid();
        req.metadata.insert("order_id".into(), "v".repeat(501));
        assert_eq!(
            only(&req, "metadata[order_id]"),
            "must be at most 500 characters (got 501)"
        );
        req.metadata.insert("order_id".into(), "é".repeat(500));
        assert!(payment_evaluation(&req).is_ok(), "characters, not bytes");

        let mut req = valid();
        req.metadata.insert("items[0]".into(), "v".into());
        req.metadata.insert(String::new(), "v".into());
        assert_eq!(fields(&req), ["metadata[]", "metadata[items[0]]"]);

        let mut req = valid();
        req.metadata.insert("k".repeat(101), "v".into());
        assert_eq!(fields(&req), ["metadata"]);
    }

    #[test]
    fn expand_values_must_be_known() {
        let mut req = valid();
        req.expand.push("scores".into());
        let d = only(&req, "expand[1]");
        assert_eq!(d, "must be one of attributes (got \"scores\")");
        req.expand[1] = String::new();
        only(&req, "expand[1]");
    }

    #[test]
    fn idempotency_key_limits() {
        let mut req = valid();
        req.idempotency_key = "k".repeat(256);
        assert_eq!(
            only(&req, "idempotency_key"),
            "must be at most 255 characters (got 256)"
        );
        req.idempotency_key = "clé".into();
        assert_eq!(
            only(&req, "idempotency_key"),
            "must contain only printable ASCII characters"
        );
        req.idempotency_key = "k".repeat(255);
        assert!(payment_evaluation(&req).is_ok());
    }

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
        assert_eq!(v[0].description, "must not contain control characters");
        assert_eq!(
            v[2].description,
            "the key must not contain control characters"
        );
        assert_eq!(
            v[4].description,
            "must be at most 5000 characters (got 5001)"
        );
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut req = valid();
        payment(&mut req).amount = -5;
        payment(&mut req).currency = "USD".into();
        customer(&mut req).email = "not an email".into();
        card(&mut req).exp_month = 13;
        billing(&mut req).address.as_mut().unwrap().country = "USA".into();
        device(&mut req).ip = "nope".into();
        req.metadata
            .insert("note".into(), "4242 4242 4242 4242".into());
        req.idempotency_key = "k".repeat(256);
        req.expand.push("scores".into());
        assert_eq!(
            fields(&req),
            [
                "customer_details.email",
                "payment_details.amount",
                "payment_details.currency",
                "payment_details.payment_method_details.billing_details.address.country",
                "payment_details.payment_method_details.card.exp_month",
                "client_device_metadata_details.ip",
                "metadata[note]",
                "idempotency_key",
                "expand[1]",
            ]
        );

        // Missing required messages don't hide violations elsewhere.
        let mut req = valid();
        req.customer_details = None;
        payment(&mut req).payment_method_details = None;
        payment(&mut req).amount = 0;
        assert_eq!(
            fields(&req),
            [
                "customer_details",
                "payment_details.amount",
                "payment_details.payment_method_details"
            ]
        );
    }
}
