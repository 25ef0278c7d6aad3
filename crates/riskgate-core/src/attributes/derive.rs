//! Attributes derived from other attributes for the rule language: email facts and user agent
//! parsing. Pure, and cheap: no regexes, no allocation beyond the attribute values themselves.

use std::{borrow::Cow, collections::HashSet, sync::OnceLock};

use crate::attributes::{Attr, Attributes};

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

/// Browser family of a user agent: `edge`, `opera`, `samsung_internet`, `chrome`, `firefox`,
/// `safari`, `internet_explorer`, or `other`. Order matters: Edge and Opera also say Chrome, and
/// Chrome also says Safari.
pub fn browser(user_agent: &str) -> &'static str {
    let ua = user_agent;
    if ua.contains("Edg/") || ua.contains("EdgA/") || ua.contains("EdgiOS/") || ua.contains("Edge/")
    {
        "edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "opera"
    } else if ua.contains("SamsungBrowser/") {
        "samsung_internet"
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") || ua.contains("Chromium/") {
        "chrome"
    } else if ua.contains("Firefox/") || ua.contains("FxiOS/") {
        "firefox"
    } else if ua.contains("Safari/") && ua.contains("AppleWebKit/") {
        "safari"
    } else if ua.contains("MSIE ") || ua.contains("Trident/") {
        "internet_explorer"
    } else {
        "other"
    }
}

/// Operating system of a user agent: `ios`, `android`, `windows`, `macos`, `chromeos`, `linux`, or
/// `other`. iOS and Android come first: their agents also mention Mac OS X and Linux.
pub fn operating_system(user_agent: &str) -> &'static str {
    let ua = user_agent;
    if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        "ios"
    } else if ua.contains("Android") {
        "android"
    } else if ua.contains("Windows") {
        "windows"
    } else if ua.contains("CrOS") {
        "chromeos"
    } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        "macos"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "linux"
    } else {
        "other"
    }
}

/// Sets the derived attributes from those already in `a`.
pub fn derived_attributes(a: &mut Attributes<'_>) {
    let disposable = a.text(Attr::EmailDomain).map(is_disposable_domain);
    a.set_flag(Attr::IsDisposableEmail, disposable);
    let ua = a
        .text(Attr::UserAgent)
        .map(|ua| (browser(ua), operating_system(ua)));
    if let Some((b, os)) = ua {
        a.set_text(Attr::Browser, Some(Cow::Borrowed(b)));
        a.set_text(Attr::OperatingSystem, Some(Cow::Borrowed(os)));
    }
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
                "chrome",
                "windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "edge",
                "windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "safari",
                "ios",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0",
                "firefox",
                "macos",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "samsung_internet",
                "android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "opera",
                "linux",
            ),
            ("curl/8.5.0", "other", "other"),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
                "safari",
                "macos",
            ),
        ];
        for (ua, b, os) in cases {
            assert_eq!((browser(ua), operating_system(ua)), (b, os), "{ua}");
        }
    }

    #[test]
    fn derives_from_the_attribute_set() {
        let mut a = Attributes::default();
        a.set_text(Attr::EmailDomain, Some("yopmail.com"));
        a.set_text(Attr::UserAgent, Some("curl/8.5.0"));
        derived_attributes(&mut a);
        assert_eq!(a.flag(Attr::IsDisposableEmail), Some(true));
        assert_eq!(a.text(Attr::Browser), Some("other"));
        let mut a = Attributes::default();
        derived_attributes(&mut a);
        assert_eq!(a.flag(Attr::IsDisposableEmail), None);
        assert_eq!(a.text(Attr::Browser), None);
    }
}
