//! Value lists (Stripe Radar's `radar.value_list`): item types, per-type validation, and the
//! membership sets rules read.
//!
//! Rules bind a list by alias once, at compile time, to a [`ListCell`]; the cell's contents change
//! in place when items are added or removed, so rules see list changes at once, without a reload.
//! A cell exists per alias for the life of the process: deleting a list empties its cell and
//! re-creating the alias fills the same cell again.
//!
//! Lists are kept by a [`backend::ValueListStore`]: the process's own journal
//! ([`backend::JournalLists`] over [`store::ListStore`]), or Redis, shared by every replica
//! ([`redis::RedisLists`], when `redis.url` is set).
//!
//! Membership is O(1): text values live in a hash set (folded with [`crate::text::fold`] for
//! case-insensitive types — NFKC and full case folding, so `JÖRG@…` and `jörg@…`, `STRASSE` and
//! `straße` are one value; an ASCII probe is lower-cased into a stack buffer, so a look-up does not
//! allocate, a non-ASCII one is folded); IP lists keep one
//! hash set per prefix length present (a prefix table), so a look-up costs one probe per distinct
//! prefix length in the list, at most 33 for IPv4 and 129 for IPv6.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    sync::{Arc, RwLock},
};

use crate::{
    reference::is_country,
    text::{fold, hidden_char},
};

/// Longest item value (Stripe's limit for list item values).
pub const MAX_VALUE_LEN: usize = 800;

macro_rules! item_types {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// What a list holds (Stripe's `item_type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ItemType {
            $(#[doc = $doc] $variant,)*
        }

        impl ItemType {
            pub const ALL: &'static [ItemType] = &[$(ItemType::$variant,)*];

            /// Stripe's word for it.
            pub const fn as_str(self) -> &'static str {
                match self { $(ItemType::$variant => $name,)* }
            }

            /// The item type named `s`.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(ItemType::$variant),)* _ => None }
            }
        }
    };
}

item_types! {
    CardBin => "card_bin", "First 6 to 8 digits of a card number.";
    CardFingerprint => "card_fingerprint", "A card fingerprint (case-sensitive).";
    CaseSensitiveString => "case_sensitive_string", "Any text, compared exactly.";
    Country => "country", "An ISO 3166-1 alpha-2 country code (case-insensitive).";
    CustomerId => "customer_id", "A customer id, `cus_…`.";
    Email => "email", "An email address (case-insensitive).";
    IpAddress => "ip_address", "An IPv4 or IPv6 address, or a CIDR range such as `203.0.113.0/24`.";
    String => "string", "Any text, compared case-insensitively.";
    SepaDebitFingerprint => "sepa_debit_fingerprint", "A SEPA debit fingerprint (case-sensitive).";
    UsBankAccountFingerprint => "us_bank_account_fingerprint", "A US bank account fingerprint (case-sensitive).";
    Account => "account", "A connected account id, `acct_…`.";
    CryptoFingerprint => "crypto_fingerprint", "A crypto wallet fingerprint (case-sensitive).";
}

impl ItemType {
    /// Whether values compare without regard to case.
    pub const fn case_insensitive(self) -> bool {
        matches!(self, ItemType::Email | ItemType::String | ItemType::Country)
    }

    /// Checks `value` for this type and returns it in canonical form (folded with
    /// [`crate::text::fold`] for case-insensitive types, upper-cased countries, CIDR ranges with
    /// their host bits cleared).
    pub fn normalize(self, value: &str) -> Result<String, String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("must not be empty".into());
        }
        if v.len() > MAX_VALUE_LEN {
            return Err(format!("must be at most {MAX_VALUE_LEN} characters"));
        }
        if let Some((_, why)) = hidden_char(v) {
            return Err(why.describe().into());
        }
        let token = |what: &str| {
            if v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                Ok(v.to_owned())
            } else {
                Err(format!("must be a {what} (letters, digits, `_` and `-`)"))
            }
        };
        match self {
            ItemType::CardBin => {
                if (6..=8).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(v.to_owned())
                } else {
                    Err("must be 6 to 8 digits".into())
                }
            }
            ItemType::Country => {
                let upper = fold_item(v)?.to_ascii_uppercase();
                if is_country(&upper) {
                    Ok(upper)
                } else {
                    Err(format!("`{v}` is not an ISO 3166-1 alpha-2 country code"))
                }
            }
            ItemType::CustomerId if v.starts_with("cus_") => token("customer id"),
            ItemType::CustomerId => Err("must be a customer id starting with `cus_`".into()),
            ItemType::Account if v.starts_with("acct_") => token("account id"),
            ItemType::Account => Err("must be an account id starting with `acct_`".into()),
            ItemType::Email => {
                let lower = fold_item(v)?;
                match lower.rsplit_once('@') {
                    Some((local, domain))
                        if !local.is_empty()
                            && domain.contains('.')
                            && !domain.starts_with('.')
                            && !domain.ends_with('.')
                            && !lower.contains(char::is_whitespace) =>
                    {
                        Ok(lower)
                    }
                    _ => Err(format!("`{v}` is not an email address")),
                }
            }
            ItemType::IpAddress => parse_ip_item(v)
                .map(|net| net.to_string())
                .ok_or_else(|| format!("`{v}` is not an IP address or CIDR range")),
            ItemType::String => fold_item(v),
            ItemType::CaseSensitiveString => Ok(v.to_owned()),
            ItemType::CardFingerprint
            | ItemType::SepaDebitFingerprint
            | ItemType::UsBankAccountFingerprint
            | ItemType::CryptoFingerprint => token("fingerprint"),
        }
    }

    /// The canonical form of a value stored in canonical form by an earlier version (a journal
    /// line, a Redis record): case-insensitive values stored lower-cased are folded now. A stored
    /// value that no longer passes [`ItemType::normalize`] is kept as it is: it was accepted once,
    /// and replaying it must not fail.
    pub fn recanonicalize(self, stored: &str) -> String {
        if self.case_insensitive() {
            self.normalize(stored)
                .unwrap_or_else(|_| fold(stored).trim().to_owned())
        } else {
            stored.to_owned()
        }
    }
}

/// `v` folded, without the white space compatibility decomposition may put at either end (`˜`,
/// U+02DC, decomposes to a space and a combining tilde): what is stored is what a probe folds to.
/// Folding may lengthen a value (`ŉ` → `ʼn`, `ﷺ` → 18 letters): the limit holds for the folded form
/// too, so that a stored value is always a valid item.
fn fold_item(v: &str) -> Result<String, String> {
    let folded = fold(v);
    match folded.trim() {
        "" => Err("must not be empty".into()),
        t if t.len() > MAX_VALUE_LEN => Err(format!(
            "must be at most {MAX_VALUE_LEN} characters once case-folded"
        )),
        t => Ok(t.to_owned()),
    }
}

/// An IP network: an address with a prefix length, host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn full_len(addr: IpAddr) -> u8 {
        if addr.is_ipv4() { 32 } else { 128 }
    }

    /// Bits of `addr` as a u128 (IPv4 in the low 32 bits) masked to `prefix`.
    fn key(addr: IpAddr, prefix: u8) -> u128 {
        let (bits, width) = match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32),
            IpAddr::V6(a) => (u128::from(a), 128u32),
        };
        let host = width - u32::from(prefix);
        if host >= 128 {
            0
        } else {
            (bits >> host) << host
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix == Self::full_len(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// Parses `1.2.3.4`, `1.2.3.0/24`, `2001:db8::/32`; host bits of a range are cleared.
fn parse_ip_item(v: &str) -> Option<IpNet> {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
        None => {
            let a = v.parse::<IpAddr>().ok()?;
            (a, IpNet::full_len(a))
        }
    };
    if prefix > IpNet::full_len(addr) {
        return None;
    }
    let key = IpNet::key(addr, prefix);
    let addr = match addr {
        IpAddr::V4(_) => IpAddr::V4((key as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(key.into()),
    };
    Some(IpNet { addr, prefix })
}

/// IP networks by prefix length: per family, one set of masked addresses per prefix length present,
/// longest prefix first.
#[derive(Debug, Default, Clone)]
struct PrefixTable {
    v4: Vec<(u8, HashSet<u128>)>,
    v6: Vec<(u8, HashSet<u128>)>,
}

impl PrefixTable {
    fn family(&mut self, v6: bool) -> &mut Vec<(u8, HashSet<u128>)> {
        if v6 { &mut self.v6 } else { &mut self.v4 }
    }

    fn insert(&mut self, net: IpNet) {
        let key = IpNet::key(net.addr, net.prefix);
        let family = self.family(net.addr.is_ipv6());
        match family.iter_mut().find(|(len, _)| *len == net.prefix) {
            Some((_, set)) => {
                set.insert(key);
            }
            None => {
                family.push((net.prefix, HashSet::from([key])));
                family.sort_unstable_by_key(|(len, _)| std::cmp::Reverse(*len));
            }
        }
    }

    fn remove(&mut self, net: IpNet) {
        let key = IpNet::key(net.addr, net.prefix);
        let family = self.family(net.addr.is_ipv6());
        if let Some(i) = family.iter().position(|(len, _)| *len == net.prefix) {
            family[i].1.remove(&key);
            if family[i].1.is_empty() {
                family.remove(i);
            }
        }
    }

    fn contains(&self, addr: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address matches IPv4 entries.
        let addr = match addr {
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        let family = match addr {
            IpAddr::V4(_) => &self.v4,
            IpAddr::V6(_) => &self.v6,
        };
        family
            .iter()
            .any(|(len, set)| set.contains(&IpNet::key(addr, *len)))
    }
}

/// The items of one list, ready for look-ups.
#[derive(Debug, Clone)]
pub struct Members {
    item_type: ItemType,
    text: HashSet<Box<str>>,
    ips: PrefixTable,
}

impl Members {
    pub fn new(item_type: ItemType) -> Self {
        Self {
            item_type,
            text: HashSet::new(),
            ips: PrefixTable::default(),
        }
    }

    pub fn item_type(&self) -> ItemType {
        self.item_type
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Adds a value already in canonical form ([`ItemType::normalize`]).
    pub fn insert(&mut self, canonical: &str) {
        if self.item_type == ItemType::IpAddress
            && let Some(net) = parse_ip_item(canonical)
        {
            self.ips.insert(net);
        }
        self.text.insert(canonical.into());
    }

    /// Removes a value in canonical form.
    pub fn remove(&mut self, canonical: &str) {
        if self.item_type == ItemType::IpAddress
            && let Some(net) = parse_ip_item(canonical)
        {
            self.ips.remove(net);
        }
        self.text.remove(canonical);
    }

    /// Whether `value` (as an attribute holds it) is on the list. Does not allocate, except to
    /// fold a non-ASCII value of a case-insensitive list.
    pub fn contains(&self, value: &str) -> bool {
        match self.item_type {
            ItemType::IpAddress => value
                .parse::<IpAddr>()
                .is_ok_and(|addr| self.ips.contains(addr)),
            ItemType::Country => {
                let mut buf = [0u8; 2];
                value.len() == 2 && {
                    buf.copy_from_slice(value.as_bytes());
                    buf.make_ascii_uppercase();
                    std::str::from_utf8(&buf).is_ok_and(|s| self.text.contains(s))
                }
            }
            t if t.case_insensitive() => {
                // Stored values are trimmed after folding (`fold_item`): so is the probe.
                let value = value.trim();
                if !value.is_ascii() {
                    return self.text.contains(fold(value).trim());
                }
                if !value.bytes().any(|b| b.is_ascii_uppercase()) {
                    return self.text.contains(value);
                }
                let mut buf = [0u8; MAX_VALUE_LEN];
                let Some(dst) = buf.get_mut(..value.len()) else {
                    return false;
                };
                dst.copy_from_slice(value.as_bytes());
                dst.make_ascii_lowercase();
                std::str::from_utf8(dst).is_ok_and(|s| self.text.contains(s))
            }
            _ => self.text.contains(value),
        }
    }
}

/// One alias's list as rules see it: its members, or `None` while no list has the alias.
#[derive(Debug)]
pub struct ListCell {
    alias: Box<str>,
    members: RwLock<Option<Members>>,
}

impl ListCell {
    pub fn new(alias: &str, members: Option<Members>) -> Self {
        Self {
            alias: alias.into(),
            members: RwLock::new(members),
        }
    }

    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The list's item type, if the list exists.
    pub fn item_type(&self) -> Option<ItemType> {
        self.read(|m| m.map(Members::item_type))
    }

    /// Whether `value` is on the list (false when the list does not exist).
    pub fn contains(&self, value: &str) -> bool {
        self.read(|m| m.is_some_and(|m| m.contains(value)))
    }

    /// Reads the members.
    pub fn read<R>(&self, f: impl FnOnce(Option<&Members>) -> R) -> R {
        let guard = self.members.read().unwrap_or_else(|p| p.into_inner());
        f(guard.as_ref())
    }

    /// Changes the members.
    pub fn write<R>(&self, f: impl FnOnce(&mut Option<Members>) -> R) -> R {
        let mut guard = self.members.write().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

/// Where rules find lists by alias.
pub trait ListLookup {
    /// The cell of `alias`, if a list has that alias.
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>>;
}

/// Radar's default lists: an allow list and a block list for each of these item kinds. They
/// always exist; their items can be changed, the lists themselves cannot be deleted.
pub const DEFAULT_LISTS: &[(&str, &str, ItemType)] = &[
    (
        "allow_list_card_fingerprint",
        "Allowed card fingerprints",
        ItemType::CardFingerprint,
    ),
    (
        "block_list_card_fingerprint",
        "Blocked card fingerprints",
        ItemType::CardFingerprint,
    ),
    (
        "allow_list_card_bin",
        "Allowed card BINs",
        ItemType::CardBin,
    ),
    (
        "block_list_card_bin",
        "Blocked card BINs",
        ItemType::CardBin,
    ),
    ("allow_list_email", "Allowed emails", ItemType::Email),
    ("block_list_email", "Blocked emails", ItemType::Email),
    (
        "allow_list_ip_address",
        "Allowed client IP addresses",
        ItemType::IpAddress,
    ),
    (
        "block_list_ip_address",
        "Blocked client IP addresses",
        ItemType::IpAddress,
    ),
    ("allow_list_country", "Allowed countries", ItemType::Country),
    ("block_list_country", "Blocked countries", ItemType::Country),
    (
        "allow_list_customer_id",
        "Allowed customer ids",
        ItemType::CustomerId,
    ),
    (
        "block_list_customer_id",
        "Blocked customer ids",
        ItemType::CustomerId,
    ),
];

/// Lists for checking a rules file offline: the default lists exist (empty), and any other alias
/// is accepted as a string list, since only the server knows which lists exist.
#[derive(Debug, Default)]
pub struct OfflineLists;

impl ListLookup for OfflineLists {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        let item_type = DEFAULT_LISTS
            .iter()
            .find(|(a, _, _)| *a == alias)
            .map_or(ItemType::String, |(_, _, t)| *t);
        Some(Arc::new(ListCell::new(
            alias,
            Some(Members::new(item_type)),
        )))
    }
}

/// A fixed set of lists (tests, benchmarks, backtests).
#[derive(Debug, Default)]
pub struct StaticLists(pub HashMap<String, Arc<ListCell>>);

impl StaticLists {
    /// Adds a list with these values (normalized for the type; invalid values panic, since this is
    /// for fixed, known-good data).
    pub fn with(mut self, alias: &str, item_type: ItemType, values: &[&str]) -> Self {
        let mut m = Members::new(item_type);
        for v in values {
            let canonical = item_type
                .normalize(v)
                .unwrap_or_else(|e| panic!("{alias}: {v}: {e}"));
            m.insert(&canonical);
        }
        self.0
            .insert(alias.to_owned(), Arc::new(ListCell::new(alias, Some(m))));
        self
    }
}

impl ListLookup for StaticLists {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        self.0.get(alias).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_validated_and_normalized_per_type() {
        use ItemType::*;
        assert_eq!(Country.normalize("gb").unwrap(), "GB");
        assert!(Country.normalize("XX").is_err());
        assert!(Country.normalize("GBR").is_err());
        assert_eq!(
            Email.normalize(" Jenny@Example.COM ").unwrap(),
            "jenny@example.com"
        );
        assert!(Email.normalize("jenny").is_err());
        assert!(Email.normalize("a@b").is_err());
        assert_eq!(
            IpAddress.normalize("203.0.113.9/24").unwrap(),
            "203.0.113.0/24"
        );
        assert_eq!(
            IpAddress.normalize("2001:db8::1/32").unwrap(),
            "2001:db8::/32"
        );
        assert_eq!(IpAddress.normalize("10.0.0.1").unwrap(), "10.0.0.1");
        assert!(IpAddress.normalize("10.0.0.1/33").is_err());
        assert!(IpAddress.normalize("10.0.0").is_err());
        assert_eq!(CardBin.normalize("424242").unwrap(), "424242");
        assert!(CardBin.normalize("4242").is_err());
        assert!(CustomerId.normalize("usr_1").is_err());
        assert_eq!(
            String.normalize("MailInator.com").unwrap(),
            "mailinator.com"
        );
        assert_eq!(CaseSensitiveString.normalize("AbC").unwrap(), "AbC");
        assert!(CardFingerprint.normalize("has space").is_err());
        assert!(String.normalize("").is_err());
        assert!(String.normalize(&"x".repeat(801)).is_err());
    }

    fn members(t: ItemType, values: &[&str]) -> Members {
        let mut m = Members::new(t);
        for v in values {
            m.insert(&t.normalize(v).unwrap());
        }
        m
    }

    #[test]
    fn case_rules_per_type() {
        let s = members(ItemType::String, &["Mailinator.com"]);
        assert!(s.contains("mailinator.com") && s.contains("MAILINATOR.COM"));
        let cs = members(ItemType::CaseSensitiveString, &["Gold"]);
        assert!(cs.contains("Gold") && !cs.contains("gold"));
        let e = members(ItemType::Email, &["a@b.co"]);
        assert!(e.contains("A@B.CO"));
        let c = members(ItemType::Country, &["ng"]);
        assert!(c.contains("NG") && c.contains("ng") && !c.contains("N"));
        assert!(!s.contains(&"y".repeat(900)));
    }

    #[test]
    fn unicode_case_variants_match_on_both_sides() {
        let e = members(ItemType::Email, &["jörg@example.com", "STRASSE@example.de"]);
        for probe in [
            "JÖRG@example.com",
            "jörg@EXAMPLE.com",
            "Jo\u{0308}rg@example.com",
            "ｊöｒｇ@example.com",
            "jö\u{200D}rg@example.com",
            "straße@example.de",
            "strasse@example.de",
        ] {
            assert!(e.contains(&fold(probe)), "folded {probe}");
            assert!(e.contains(probe), "{probe}");
        }
        assert!(!e.contains("jorg@example.com"));
        let s = members(ItemType::String, &["ＭＡＩＬＩＮＡＴＯＲ.com"]);
        assert!(s.contains("mailinator.com") && s.contains("Mailinator.COM"));
        assert_eq!(ItemType::Country.normalize("ｇｂ").unwrap(), "GB");
        assert_eq!(
            ItemType::Email.normalize("JÖRG@Example.com").unwrap(),
            "jörg@example.com"
        );
        assert!(ItemType::Email.normalize("a\u{202E}b@x.co").is_err());
        assert!(ItemType::String.normalize("ad\u{200B}min").is_err());
    }

    #[test]
    fn white_space_from_compatibility_decomposition_is_trimmed() {
        // `˜` (U+02DC) folds to a space and a combining tilde: the stored value must be a
        // fixed point of `normalize`, and the value as written must still find it.
        // (Found by the `list_import` fuzz target.)
        for t in [ItemType::String, ItemType::Email] {
            let value = if t == ItemType::Email {
                "˜us@x.co"
            } else {
                "˜us"
            };
            let canonical = t.normalize(value).unwrap();
            assert!(!canonical.starts_with(' '), "{canonical:?}");
            assert_eq!(t.normalize(&canonical).unwrap(), canonical);
            assert_eq!(t.recanonicalize(&canonical), canonical);
            let m = members(t, &[value]);
            assert!(m.contains(value) && m.contains(&fold(value)), "{t:?}");
        }
        // Folding lengthens `ŉ` (U+0149, two bytes) to `ʼn` (three): the folded value must fit
        // the limit too.
        let long = format!("{}@x.co", "ŉ".repeat(397));
        assert!(long.len() <= MAX_VALUE_LEN);
        assert!(ItemType::Email.normalize(&long).is_err());
        assert!(ItemType::String.normalize(&"ŉ".repeat(300)).is_err());
        assert!(ItemType::String.normalize(&"ŉ".repeat(200)).is_ok());
        // A default-ignorable character (dropped by folding) leaves white space at the end.
        let value = "cus_  \u{fe09}";
        let m = members(ItemType::String, &[value]);
        assert!(m.contains(value) && m.contains(&fold(value)));
    }

    #[test]
    fn values_stored_by_earlier_versions_are_recanonicalized() {
        // Lower-cased, not folded, as versions before Unicode folding stored them.
        assert_eq!(
            ItemType::Email.recanonicalize("straße@example.de"),
            "strasse@example.de"
        );
        assert_eq!(ItemType::String.recanonicalize("ｍａｉｌ"), "mail");
        assert_eq!(
            ItemType::CaseSensitiveString.recanonicalize("Straße"),
            "Straße"
        );
        // No longer valid (but accepted once): kept, folded.
        assert_eq!(
            ItemType::Email.recanonicalize("NOT AN EMAIL"),
            "not an email"
        );
    }

    #[test]
    fn ip_ranges_by_prefix_table() {
        let mut m = members(
            ItemType::IpAddress,
            &["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"],
        );
        assert!(m.contains("203.0.113.200"));
        assert!(!m.contains("203.0.114.1"));
        assert!(m.contains("198.51.100.7"));
        assert!(!m.contains("198.51.100.8"));
        assert!(m.contains("2001:db8:ffff::1"));
        assert!(m.contains("::ffff:203.0.113.5"));
        assert!(!m.contains("not an ip"));
        m.remove("203.0.113.0/24");
        assert!(!m.contains("203.0.113.200"));
        assert!(m.contains("198.51.100.7"));
        let all = members(ItemType::IpAddress, &["0.0.0.0/0"]);
        assert!(all.contains("8.8.8.8") && !all.contains("::1"));
    }

    #[test]
    fn cells_change_in_place() {
        let cell = ListCell::new("x", None);
        assert!(!cell.contains("a"));
        cell.write(|m| *m = Some(members(ItemType::String, &["a"])));
        assert!(cell.contains("A"));
        cell.write(|m| m.as_mut().unwrap().remove("a"));
        assert!(!cell.contains("a"));
    }
}
