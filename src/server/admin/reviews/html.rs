//! The review page's HTML: server-rendered, no build step, no CDN, no framework; a few lines of
//! inline script for keyboard shortcuts, allowed by its hash in the Content-Security-Policy.
//! Every value that came from a request — evidence is attacker-controlled — goes through [`esc`].

use std::fmt::Write as _;

use crate::stores::reviews::{FraudType, Review};

/// The page's one script: keyboard shortcuts (j/k move, a approve, r reject, n note, u list,
/// Escape leaves a field). Nothing else runs on the page.
pub const SCRIPT: &str = r#"document.addEventListener('keydown', function (e) {
  var t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey) { return; }
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) {
    if (e.key === 'Escape') { t.blur(); }
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll('[data-row]'));
  var go = function (id) { var el = document.getElementById(id); if (el) { el.focus(); e.preventDefault(); } };
  var follow = function (id) { var el = document.getElementById(id); if (el) { window.location = el.href; e.preventDefault(); } };
  if (e.key === 'j' || e.key === 'k') {
    if (rows.length) {
      var i = rows.indexOf(document.activeElement);
      i = e.key === 'j' ? Math.min(i + 1, rows.length - 1) : Math.max(i - 1, 0);
      rows[i].focus();
      e.preventDefault();
    } else {
      follow(e.key === 'j' ? 'next' : 'prev');
    }
  } else if (e.key === 'a') { go('approve'); }
  else if (e.key === 'r') { go('fraud_type'); }
  else if (e.key === 'n') { go('note'); }
  else if (e.key === 'u') { follow('to-list'); }
});
"#;

/// The page's style sheet.
pub const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}\
header{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#1f2937;color:#fff}\
header a{color:#fff}header form{margin-left:auto}main{padding:1em;max-width:72em}\
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}\
th{background:#eef}a:focus,button:focus,select:focus,textarea:focus,input:focus{outline:3px solid #f59e0b}\
.sla{color:#b91c1c;font-weight:bold}.done{background:#dcfce7;padding:.5em;border:1px solid #86efac}\
.error{background:#fee2e2;padding:.5em;border:1px solid #fca5a5}section{margin-bottom:1.2em}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20em,1fr));gap:1em}\
code{word-break:break-all}kbd{border:1px solid #999;border-radius:3px;padding:0 .3em;background:#fff}\
form.inline{display:inline}textarea{width:100%;min-height:3em}";

/// HTML-escapes `s` for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `s` for a query string.
pub fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A whole page: `title`, the header (with a logout form when `csrf` is a cookie session's), and
/// `body`.
pub fn page(title: &str, actor: Option<&str>, csrf: Option<&str>, body: &str) -> String {
    let mut who = String::new();
    if let Some(actor) = actor {
        let _ = write!(who, "<span>{}</span>", esc(actor));
        if let Some(csrf) = csrf {
            let _ = write!(
                who,
                "<form method=\"post\" action=\"/reviews/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Log out</button></form>",
                esc(csrf)
            );
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · riskgate reviews</title><style>{STYLE}</style></head><body>\
         <header><strong>riskgate</strong><a href=\"/reviews\" id=\"to-list\">Review queue</a>{who}</header>\
         <main>{body}</main><script>{SCRIPT}</script></body></html>",
        esc(title)
    )
}

/// The login form; `error` when a login failed.
pub fn login(error: Option<&str>) -> String {
    let mut body = String::from("<h1>Log in to the review queue</h1>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    body.push_str(
        "<form method=\"post\" action=\"/reviews/login\">\
         <p><label for=\"token\">Admin token</label><br>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required autofocus></p>\
         <p><label for=\"analyst\">Your name (recorded with every change)</label><br>\
         <input id=\"analyst\" name=\"analyst\" maxlength=\"64\" autocomplete=\"username\"></p>\
         <p><button type=\"submit\" id=\"login\">Log in</button></p></form>",
    );
    page("Log in", None, None, &body)
}

/// An amount in major units with its currency: `USD 1,290.00`.
pub fn money(minor: i64, currency: &str) -> String {
    let exponent = riskgate_core::reference::currency(currency).map_or(2, |c| c.exponent);
    let div = 10i64.pow(u32::from(exponent));
    let (major, frac) = (minor / div, (minor % div).abs());
    let digits = major.abs().to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if minor < 0 { "-" } else { "" };
    let code = esc(&currency.to_ascii_uppercase());
    if exponent == 0 {
        format!("{code} {sign}{grouped}")
    } else {
        format!(
            "{code} {sign}{grouped}.{frac:0width$}",
            width = usize::from(exponent)
        )
    }
}

/// A duration in words: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The card in one line: `visa •••• 4242 (US, credit)`.
pub fn card_line(r: &Review) -> String {
    let c = &r.evidence.card;
    let mut s = format!(
        "{} •••• {}",
        esc(c.brand.as_deref().unwrap_or("card")),
        esc(c.last4.as_deref().unwrap_or("????"))
    );
    let extra: Vec<&str> = [c.country.as_deref(), c.funding.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !extra.is_empty() {
        let _ = write!(s, " ({})", esc(&extra.join(", ")));
    }
    s
}

/// The fraud type options of the reject form.
pub fn fraud_options() -> String {
    let mut s = String::from("<option value=\"\">— fraud type —</option>");
    for t in FraudType::ALL {
        let _ = write!(
            s,
            "<option value=\"{v}\">{label}</option>",
            v = t.as_str(),
            label = t.as_str().replace('_', " ")
        );
    }
    s
}

/// A table of `(label, value)` rows whose value is already HTML (escaped by the caller); rows
/// without a value are left out.
pub fn facts_table(caption: &str, rows: &[(&str, Option<String>)]) -> String {
    let mut s = format!("<section><h2>{}</h2><table>", esc(caption));
    let mut any = false;
    for (label, value) in rows {
        if let Some(v) = value {
            any = true;
            let _ = write!(
                s,
                "<tr><th scope=\"row\">{}</th><td>{v}</td></tr>",
                esc(label)
            );
        }
    }
    if !any {
        s.push_str("<tr><td>none</td></tr>");
    }
    s.push_str("</table></section>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_formatting() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(money(129_000, "usd"), "USD 1,290.00");
        assert_eq!(money(5000, "jpy"), "JPY 5,000");
        assert_eq!(money(1234, "kwd"), "KWD 1.234");
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(3 * 3600 + 300), "3 h 5 min");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(url("a b&c"), "a+b%26c");
        assert!(fraud_options().contains("made_with_stolen_card"));
        let p = page("<x>", Some("a<b"), Some("t\""), "<p>body</p>");
        assert!(p.contains("&lt;x&gt;") && p.contains("a&lt;b") && p.contains("t&quot;"));
    }
}
