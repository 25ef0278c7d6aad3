//! Attributes derived from other attributes for the rule language: email facts and user agent
//! parsing. Pure, and cheap: no regexes, no allocation beyond the attribute values themselves.

use std::{borrow::Cow, collections::HashSet, sync::OnceLock};

use crate::attributes::{Attr, Attributes, Pieces, Value};

/// Disposable (throw-away) email domains, one per line; a sub-domain of one counts too.
const DISPOSABLE_DOMAINS: &str = include_str!("disposable_domains.txt");

/// Whether `domain` (lower-case) or one of its parent domains is a known disposable email domain.
pub fn is_disposable_domain(domain: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| DISPOSABLE_DOMAINS.lines().collect());
    let mut d = domain;
    loop {
        if set.contains(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, parent)) if parent.contains('.') => d = parent,
            _ => return false,
        }
    }
}

/// A version in a user agent: up to three numbers, borrowed from it.
#[derive(Debug, Clone, Copy)]
struct Version<'u> {
    parts: [&'u str; 3],
    n: usize,
}

impl<'u> Version<'u> {
    fn parts(&self) -> &[&'u str] {
        &self.parts[..self.n]
    }

    /// Whether it reads `dotted` (`10.0`).
    fn is(&self, dotted: &str) -> bool {
        dotted.split('.').eq(self.parts().iter().copied())
    }
}

/// The version after `marker` in a user agent (`Chrome/131.0.6778.85` → `131.0.6778`): up to three
/// dot-separated numbers (`_` read as `.`, as iOS and macOS write them). Borrows, so that only
/// the attribute's own text is allocated.
fn version_after<'u>(ua: &'u str, marker: &str) -> Option<Version<'u>> {
    let at = ua.find(marker)? + marker.len();
    let digits: &'u str = ua[at..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .next()?;
    let mut version = Version {
        parts: [""; 3],
        n: 0,
    };
    for part in digits.split(['.', '_']).filter(|p| !p.is_empty()).take(3) {
        version.parts[version.n] = part;
        version.n += 1;
    }
    (version.n > 0).then_some(version)
}

/// `name version`, as pieces.
fn named<'u>(name: &'static str, version: Option<Version<'u>>) -> Pieces<'u> {
    let mut text = Pieces::new();
    text.push(name);
    let version = version.unwrap_or(Version {
        parts: [""; 3],
        n: 0,
    });
    for (i, part) in version.parts().iter().enumerate() {
        text.push(if i == 0 { " " } else { "." });
        text.push(part);
    }
    text
}

/// One piece.
fn just(name: &'static str) -> Pieces<'static> {
    let mut text = Pieces::new();
    text.push(name);
    text
}

/// The browser of a user agent as Radar shows it, name and version in the words of ua-parser
/// (`Chrome 131.0.6778`, `Mobile Safari 17.5`, `Edge 131.0.0`, `Firefox 128.0`); `Other` when
/// unknown. Order matters: Edge, Opera and Samsung's browser also say Chrome, and Chrome also
/// says Safari.
pub fn browser(user_agent: &str) -> String {
    browser_pieces(user_agent).concat()
}

/// [`browser`] as pieces (borrowing the version from the user agent).
fn browser_pieces(user_agent: &str) -> Pieces<'_> {
    let ua = user_agent;
    let mobile = ua.contains("Mobile");
    let found: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("EdgA/", "Edge Mobile"),
        ("EdgiOS/", "Edge Mobile"),
        ("Edge/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("CriOS/", "Chrome Mobile iOS"),
        ("FxiOS/", "Firefox iOS"),
    ];
    for (marker, name) in found {
        if ua.contains(marker) {
            return named(name, version_after(ua, marker));
        }
    }
    if ua.contains("Chrome/") {
        let name = if mobile { "Chrome Mobile" } else { "Chrome" };
        named(name, version_after(ua, "Chrome/"))
    } else if ua.contains("Chromium/") {
        named("Chromium", version_after(ua, "Chromium/"))
    } else if ua.contains("Firefox/") {
        let name = if mobile || ua.contains("Android") {
            "Firefox Mobile"
        } else {
            "Firefox"
        };
        named(name, version_after(ua, "Firefox/"))
    } else if ua.contains("Safari/") && ua.contains("AppleWebKit/") {
        let name = if mobile { "Mobile Safari" } else { "Safari" };
        named(name, version_after(ua, "Version/"))
    } else if ua.contains("MSIE ") {
        named("IE", version_after(ua, "MSIE "))
    } else if ua.contains("Trident/") {
        named("IE", version_after(ua, "rv:"))
    } else {
        just("Other")
    }
}

/// The operating system of a user agent as Radar shows it, name and version in the words of
/// ua-parser (`Mac OS X 10.15.7`, `Windows 10`, `iOS 17.5`, `Android 14`, `Linux`, `Chrome OS`);
/// `Other` when unknown. iOS and Android come first: their agents also mention Mac OS X and Linux.
pub fn operating_system(user_agent: &str) -> String {
    operating_system_pieces(user_agent).concat()
}

/// [`operating_system`] as pieces.
fn operating_system_pieces(user_agent: &str) -> Pieces<'_> {
    let ua = user_agent;
    if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        named("iOS", version_after(ua, " OS "))
    } else if ua.contains("Android") {
        named("Android", version_after(ua, "Android "))
    } else if ua.contains("Windows") {
        // Windows 11 still says NT 10.0.
        let version = version_after(ua, "Windows NT ").and_then(|nt| {
            [("10.0", "10"), ("6.3", "8.1"), ("6.2", "8"), ("6.1", "7")]
                .into_iter()
                .find(|(v, _)| nt.is(v))
                .map(|(_, windows)| windows)
        });
        let mut text = just("Windows");
        if let Some(v) = version {
            text.push(" ");
            text.push(v);
        }
        text
    } else if ua.contains("CrOS") {
        just("Chrome OS")
    } else if ua.contains("Mac OS X") {
        named("Mac OS X", version_after(ua, "Mac OS X "))
    } else if ua.contains("Macintosh") {
        just("Mac OS X")
    } else if ua.contains("Linux") || ua.contains("X11") {
        just("Linux")
    } else {
        just("Other")
    }
}

/// Sets the derived attributes from those already in `a`.
pub fn derived_attributes(a: &mut Attributes<'_>) {
    let disposable = a.text(Attr::EmailDomain).map(is_disposable_domain);
    a.set_flag(Attr::IsDisposableEmail, disposable);
    // The user agent borrows from the request (or the session): the pieces do too, so the set
    // can take them into its scratch. One it owns (a copy) is copied first.
    let owned;
    let ua: &str = match a.get(Attr::UserAgent) {
        Some(Value::Text(Cow::Borrowed(ua))) => ua,
        Some(Value::Text(Cow::Owned(ua))) => {
            owned = ua.clone();
            &owned
        }
        _ => return,
    };
    a.set_joined(Attr::Browser, &browser_pieces(ua));
    a.set_joined(Attr::OperatingSystem, &operating_system_pieces(ua));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposable_domains_and_their_subdomains() {
        assert!(is_disposable_domain("mailinator.com"));
        assert!(is_disposable_domain("eu.mailinator.com"));
        assert!(is_disposable_domain("guerrillamail.com"));
        assert!(!is_disposable_domain("example.com"));
        assert!(!is_disposable_domain("gmail.com"));
        assert!(!is_disposable_domain("com"));
        assert!(
            DISPOSABLE_DOMAINS
                .lines()
                .all(|l| !l.is_empty() && l == l.trim().to_ascii_lowercase())
        );
    }

    #[test]
    fn user_agents() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131.0.0",
                "Windows 10",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge 131.0.0",
                "Windows 10",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Mobile Safari 17.5",
                "iOS 17.5",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128.0",
                "Mac OS X 14.5",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 25.0",
                "Android 14",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera 115.0.0",
                "Linux",
            ),
            ("curl/8.5.0", "Other", "Other"),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/103.0.0.0 Safari/537.36",
                "Chrome 103.0.0",
                "Mac OS X 10.15.7",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.101 Mobile Safari/537.36",
                "Chrome Mobile 121.0.6167",
                "Android 14",
            ),
        ];
        for (ua, b, os) in cases {
            assert_eq!(
                (browser(ua).as_str(), operating_system(ua).as_str()),
                (b, os),
                "{ua}"
            );
        }
    }

    #[test]
    fn derives_from_the_attribute_set() {
        let mut a = Attributes::default();
        a.set_text(Attr::EmailDomain, Some("yopmail.com"));
        a.set_text(Attr::UserAgent, Some("curl/8.5.0"));
        derived_attributes(&mut a);
        assert_eq!(a.flag(Attr::IsDisposableEmail), Some(true));
        assert_eq!(a.text(Attr::Browser), Some("Other"));
        let mut a = Attributes::default();
        derived_attributes(&mut a);
        assert_eq!(a.flag(Attr::IsDisposableEmail), None);
        assert_eq!(a.text(Attr::Browser), None);
    }
}
