//! The queue and the review, as HTML (see [`super::html`] for the frame and the escaping).

use std::{collections::HashMap, fmt::Write as _};

use super::{
    html::{card_line, duration, esc, facts_table, fraud_options, money, page, url},
    session::Visitor,
};
use crate::{pipeline::reviews::ReviewWithRelated, stores::reviews::Review};

/// The hidden CSRF field of a cookie session's forms.
fn csrf_field(visitor: &Visitor) -> String {
    visitor.csrf.as_deref().map_or(String::new(), |t| {
        format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(t))
    })
}

fn waited(r: &Review, now: i64, sla_secs: u64) -> String {
    let age = r.age(now);
    if r.open && age > sla_secs as i64 {
        format!(
            "<span class=\"sla\" title=\"past the SLA of {}\">{} (over SLA)</span>",
            duration(sla_secs as i64),
            duration(age)
        )
    } else {
        duration(age)
    }
}

fn done_banner(done: Option<&str>) -> String {
    done.map_or(String::new(), |d| {
        format!("<p class=\"done\" role=\"status\">Done: {}</p>", esc(d))
    })
}

/// The queue.
pub fn list(
    visitor: &Visitor,
    reviews: &[Review],
    more: bool,
    q: &HashMap<String, String>,
    now: i64,
    sla_secs: u64,
) -> String {
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    let mut b = done_banner(q.get("done").map(String::as_str));
    let state = if get("state").is_empty() {
        "open"
    } else {
        get("state")
    };
    let _ = write!(
        b,
        "<h1>Reviews: {}</h1>\
         <p>Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>Enter</kbd> opens, on a review <kbd>a</kbd> approve, \
         <kbd>r</kbd> reject, <kbd>n</kbd> note, <kbd>u</kbd> back here.</p>\
         <form method=\"get\" action=\"/reviews\"><label for=\"state\">State</label> \
         <select id=\"state\" name=\"state\">{}</select> \
         <label for=\"reason\">Reason</label> <input id=\"reason\" name=\"reason\" size=\"14\" value=\"{}\"> \
         <label for=\"min_age_minutes\">Waiting at least (min)</label> <input id=\"min_age_minutes\" name=\"min_age_minutes\" size=\"5\" inputmode=\"numeric\" value=\"{}\"> \
         <label for=\"amount_gte\">Amount ≥ (minor units)</label> <input id=\"amount_gte\" name=\"amount_gte\" size=\"8\" inputmode=\"numeric\" value=\"{}\"> \
         <button type=\"submit\">Filter</button></form>",
        esc(state),
        ["open", "closed", "all"]
            .iter()
            .map(|s| format!(
                "<option value=\"{s}\"{}>{s}</option>",
                if *s == state { " selected" } else { "" }
            ))
            .collect::<String>(),
        esc(get("reason")),
        esc(get("min_age_minutes")),
        esc(get("amount_gte")),
    );
    if reviews.is_empty() {
        b.push_str("<p>No reviews here.</p>");
        return page("Reviews", Some(&visitor.actor), visitor.csrf.as_deref(), &b);
    }
    b.push_str(
        "<table><thead><tr><th scope=\"col\">Review</th><th scope=\"col\">Waiting</th>\
         <th scope=\"col\">Amount</th><th scope=\"col\">Card</th><th scope=\"col\">Email</th>\
         <th scope=\"col\">Score</th><th scope=\"col\">Why</th><th scope=\"col\">State</th></tr></thead><tbody>",
    );
    for r in reviews {
        let e = &r.evidence;
        let why = e
            .matched_rule
            .as_ref()
            .map_or(r.opened_reason.as_str().to_owned(), |m| m.id.clone());
        let _ = write!(
            b,
            "<tr><td><a data-row href=\"/reviews/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
            waited(r, now, sla_secs),
            money(e.amount, &e.currency),
            card_line(r),
            esc(e.email.as_deref().unwrap_or("")),
            e.risk_score,
            esc(&e.risk_level),
            esc(&why),
            esc(r.reason()),
            id = esc(&r.id),
        );
    }
    b.push_str("</tbody></table>");
    if more && let Some(last) = reviews.last() {
        let mut next: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| *k != "starting_after" && *k != "done")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        next.sort();
        next.push(("starting_after".into(), last.id.clone()));
        let qs: Vec<String> = next
            .iter()
            .map(|(k, v)| format!("{}={}", url(k), url(v)))
            .collect();
        let _ = write!(
            b,
            "<p><a href=\"/reviews?{}\">Next page</a></p>",
            esc(&qs.join("&"))
        );
    }
    page("Reviews", Some(&visitor.actor), visitor.csrf.as_deref(), &b)
}

/// One review.
pub fn detail(
    visitor: &Visitor,
    found: &ReviewWithRelated,
    (prev, next): (Option<&str>, Option<&str>),
    done: Option<&str>,
    now: i64,
    sla_secs: u64,
) -> String {
    let r = &found.review;
    let e = &r.evidence;
    let opt = |v: &Option<String>| v.as_deref().map(esc);
    let mut b = done_banner(done);
    let _ = write!(
        b,
        "<nav>{}{}</nav><h1>Review <code>{}</code> — {}</h1><p>{} · opened by {} · waiting {} · evaluation <code>{}</code></p>",
        prev.map_or(String::new(), |p| format!(
            "<a id=\"prev\" href=\"/reviews/{}\">← older</a> ",
            esc(p)
        )),
        next.map_or(String::new(), |n| format!(
            "<a id=\"next\" href=\"/reviews/{}\">newer →</a>",
            esc(n)
        )),
        esc(&r.id),
        if r.open {
            "open".to_owned()
        } else {
            format!("closed: {}", esc(r.reason()))
        },
        money(e.amount, &e.currency),
        esc(r.opened_reason.as_str()),
        waited(r, now, sla_secs),
        esc(&r.payment_evaluation),
    );
    if r.open {
        let csrf = csrf_field(visitor);
        let _ = write!(
            b,
            "<section class=\"grid\"><form method=\"post\" action=\"/reviews/{id}/approve\">{csrf}\
             <h2>Approve</h2><p><label for=\"approve_note\">Note (optional)</label>\
             <textarea id=\"approve_note\" name=\"note\" maxlength=\"2000\"></textarea></p>\
             <p><button type=\"submit\" id=\"approve\">Approve (a)</button></p></form>\
             <form method=\"post\" action=\"/reviews/{id}/reject\">{csrf}<h2>Reject as fraud</h2>\
             <p><label for=\"fraud_type\">Kind of fraud</label> <select id=\"fraud_type\" name=\"fraud_type\" required>{}</select></p>\
             <p><label for=\"reject_note\">Note (optional)</label><textarea id=\"reject_note\" name=\"note\" maxlength=\"2000\"></textarea></p>\
             <p><button type=\"submit\" id=\"reject\">Reject (r)</button></p></form></section>",
            fraud_options(),
            id = esc(&r.id),
        );
    }
    let decision = [
        (
            "Risk score",
            Some(format!("{} ({})", e.risk_score, esc(&e.risk_level))),
        ),
        ("Scored by", Some(esc(&e.score_source))),
        (
            "Rule",
            e.matched_rule
                .as_ref()
                .map(|m| format!("{} — <code>{}</code>", esc(&m.id), esc(&m.predicate))),
        ),
        (
            "Reasons",
            (!e.reasons.is_empty()).then(|| {
                let items: String = e
                    .reasons
                    .iter()
                    .map(|x| {
                        format!(
                            "<li>{} <small>({})</small></li>",
                            esc(&x.message),
                            esc(&x.code)
                        )
                    })
                    .collect();
                format!("<ul>{items}</ul>")
            }),
        ),
        (
            "Degraded",
            e.degraded
                .then(|| "yes: part of the pipeline fell back".to_owned()),
        ),
    ];
    let payment = [
        ("Amount", Some(money(e.amount, &e.currency))),
        ("In USD", e.amount_in_usd.map(|u| format!("{u:.2}"))),
        ("Card", Some(card_line(r))),
        ("BIN", opt(&e.card.bin)),
        ("Wallet", opt(&e.card.wallet)),
        (
            "Expires",
            e.card
                .exp_month
                .zip(e.card.exp_year)
                .map(|(m, y)| format!("{m:02}/{y}")),
        ),
        (
            "Card fingerprint",
            opt(&e.card.fingerprint).map(|f| format!("<code>{f}</code>")),
        ),
        (
            "Payment method",
            opt(&e.payment_method).map(|p| format!("<code>{p}</code>")),
        ),
    ];
    let customer = [
        ("Customer", opt(&e.customer)),
        ("Email", opt(&e.email)),
        (
            "Billing",
            join(&[e.billing_country.as_deref(), e.billing_zip.as_deref()]),
        ),
        ("Shipping country", opt(&e.shipping_country)),
    ];
    let d = &e.device;
    let device = [
        (
            "IP address",
            opt(&d.ip_address).map(|ip| match &d.ip_country {
                Some(c) => format!("{ip} ({})", esc(c)),
                None => ip,
            }),
        ),
        (
            "Browser",
            join(&[d.browser.as_deref(), d.operating_system.as_deref()]),
        ),
        ("User agent", opt(&d.user_agent)),
        ("Device id", opt(&d.device_id)),
        ("Radar Session", opt(&d.radar_session)),
    ];
    b.push_str("<div class=\"grid\">");
    b.push_str(&facts_table("Decision", &decision));
    b.push_str(&facts_table("Payment and card", &payment));
    b.push_str(&facts_table("Customer", &customer));
    b.push_str(&facts_table("Device", &device));
    let rows = |f: &[crate::stores::reviews::types::Fact]| -> Vec<(String, Option<String>)> {
        f.iter()
            .map(|x| (x.name.clone(), Some(esc(&x.value))))
            .collect()
    };
    for (caption, facts) in [
        ("Past outcomes on its card, email, IP …", rows(&e.outcomes)),
        ("Velocity", rows(&e.velocity)),
        (
            "Metadata",
            e.metadata
                .iter()
                .map(|(k, v)| (k.clone(), Some(esc(v))))
                .collect(),
        ),
    ] {
        let borrowed: Vec<(&str, Option<String>)> =
            facts.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        b.push_str(&facts_table(caption, &borrowed));
    }
    b.push_str("</div>");
    b.push_str("<section><h2>Other reviews of this card, email or customer</h2>");
    if found.related.is_empty() {
        b.push_str("<p>None.</p>");
    } else {
        b.push_str("<table><thead><tr><th scope=\"col\">Review</th><th scope=\"col\">Created</th><th scope=\"col\">Verdict</th></tr></thead><tbody>");
        for x in &found.related {
            let _ = write!(
                b,
                "<tr><td><a href=\"/reviews/{id}\">{id}</a></td><td>{} ago</td><td>{}{}</td></tr>",
                duration(now - x.created),
                esc(x.reason()),
                x.fraud_type
                    .map_or(String::new(), |f| format!(" ({})", f.as_str())),
                id = esc(&x.id)
            );
        }
        b.push_str("</tbody></table>");
    }
    b.push_str("</section><section><h2>History</h2><ol>");
    for h in &r.history {
        let _ = write!(
            b,
            "<li>{} ago — <strong>{}</strong> by {}{}{}</li>",
            duration(now - h.at),
            esc(&h.action),
            esc(&h.actor),
            h.fraud_type
                .map_or(String::new(), |f| format!(" ({})", f.as_str())),
            h.note
                .as_deref()
                .map_or(String::new(), |n| format!(": {}", esc(n))),
        );
    }
    let _ = write!(
        b,
        "</ol><form method=\"post\" action=\"/reviews/{}/note\">{}<p><label for=\"note\">Add a note (n)</label>\
         <textarea id=\"note\" name=\"note\" maxlength=\"2000\" required></textarea></p>\
         <p><button type=\"submit\">Add note</button></p></form></section>",
        esc(&r.id),
        csrf_field(visitor)
    );
    page(
        &format!("Review {}", r.id),
        Some(&visitor.actor),
        visitor.csrf.as_deref(),
        &b,
    )
}

fn join(parts: &[Option<&str>]) -> Option<String> {
    let present: Vec<&str> = parts.iter().flatten().copied().collect();
    (!present.is_empty()).then(|| esc(&present.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::reviews::types::{Fact, fixtures::review};

    #[test]
    fn attacker_strings_are_escaped_everywhere() {
        let mut r = review("rev_x1", 0, 1000);
        let evil = "<img src=x onerror=alert(1)>";
        r.evidence.email = Some(evil.into());
        r.evidence.device.user_agent = Some(evil.into());
        r.evidence.metadata.insert(evil.into(), evil.into());
        r.evidence.velocity.push(Fact {
            name: "total_charges_per_card_number_daily".into(),
            value: evil.into(),
        });
        r.history[0].note = Some(evil.into());
        let visitor = Visitor {
            actor: "alice via admin".into(),
            csrf: Some("tok".into()),
        };
        let found = ReviewWithRelated {
            review: r.clone(),
            related: vec![r.clone()],
        };
        let page = detail(&visitor, &found, (None, Some("rev_y")), Some(evil), 100, 50);
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("name=\"csrf\" value=\"tok\""));
        assert!(page.contains("id=\"approve\"") && page.contains("id=\"fraud_type\""));
        assert!(page.contains("over SLA"));
        let q: HashMap<String, String> = [("reason".to_owned(), evil.to_owned())].into();
        let list = list(&visitor, &[r], true, &q, 100, 500);
        assert!(!list.contains("<img"), "{list}");
        assert!(list.contains("data-row") && list.contains("starting_after=rev_x1"));
    }
}
