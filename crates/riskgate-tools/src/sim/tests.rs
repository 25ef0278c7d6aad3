//! The simulator's promises: valid, reproducible, sorted traffic; every pattern; the fraud rate
//! asked for; outcomes at their own later times; repeat fraud only on cards whose fraud is known;
//! returning fraudsters linked to earlier fraud by something other than the card; takeovers from
//! the victim's account and saved card on a new device; merchant-initiated charges without device
//! data; one person to an email.

use std::collections::{HashMap, HashSet};

use super::*;
use riskgate::api::validate;
use riskgate::proto::v1::CustomerPresence;

fn small() -> SimConfig {
    SimConfig {
        seed: 42,
        days: 10,
        customers: 600,
        fraud_rate: 0.1,
        ..Default::default()
    }
}

/// Two months of a larger world, fraud at 10 %, made once for the tests that need volume.
fn busy() -> &'static [Event] {
    static EVENTS: std::sync::OnceLock<Vec<Event>> = std::sync::OnceLock::new();
    EVENTS.get_or_init(|| {
        simulate(&SimConfig {
            seed: 5,
            days: 60,
            customers: 3000,
            fraud_rate: 0.1,
            ..Default::default()
        })
    })
}

fn card(e: &Event) -> &str {
    let pm = e
        .request
        .payment_details
        .as_ref()
        .and_then(|p| p.payment_method_details.as_ref());
    pm.and_then(|m| m.card.as_ref())
        .map_or("", |c| c.fingerprint.as_str())
}

fn customer(e: &Event) -> &str {
    e.request
        .customer_details
        .as_ref()
        .map_or("", |c| c.customer.as_str())
}

fn email(e: &Event) -> &str {
    e.request
        .customer_details
        .as_ref()
        .map_or("", |c| c.email.as_str())
}

fn device(e: &Event) -> &str {
    e.session.as_ref().map_or("", |s| s.device_id.as_str())
}

fn payment_method(e: &Event) -> &str {
    e.request
        .payment_details
        .as_ref()
        .and_then(|p| p.payment_method_details.as_ref())
        .map_or("", |m| m.payment_method.as_str())
}

fn off_session(e: &Event) -> bool {
    e.request
        .payment_details
        .as_ref()
        .and_then(|p| p.money_movement_details.as_ref())
        .and_then(|m| m.card.as_ref())
        .is_some_and(|c| c.customer_presence == CustomerPresence::OffSession as i32)
}

/// When fraud was first learned on each value of `key`, from the events before `at`.
fn known_before<'a>(
    events: &'a [Event],
    key: impl Fn(&'a Event) -> &'a str,
) -> HashMap<&'a str, Vec<i64>> {
    let mut known: HashMap<&str, Vec<i64>> = HashMap::new();
    for e in events {
        if let Some(t) = e.fraud_known_at() {
            let k = key(e);
            if !k.is_empty() {
                known.entry(k).or_default().push(t);
            }
        }
    }
    known
}

fn known_at(known: &HashMap<&str, Vec<i64>>, value: &str, at: i64) -> bool {
    !value.is_empty()
        && known
            .get(value)
            .is_some_and(|ts| ts.iter().any(|t| *t < at))
}

#[test]
fn every_session_and_request_validates_and_round_trips() {
    let events = simulate(&small());
    assert!(events.len() > 300, "{}", events.len());
    let mut sessions = 0;
    for e in &events {
        // What a reader of the NDJSON gets back, the API must accept.
        let line = e.to_json();
        let back: Event = serde_json::from_str(&line).unwrap();
        if let Err(v) = validate::payment_evaluation(&back.request) {
            panic!("{v:?}\n{line}");
        }
        if let Some(s) = &back.session {
            sessions += 1;
            validate::radar_session(Some(s), e.occurred_at).unwrap();
            assert!(s.created_at < e.occurred_at, "{line}");
            let named = &e.request.client_device_metadata_details.as_ref().unwrap();
            assert_eq!(named.radar_session, s.id);
        }
        assert_eq!(back.to_json(), line);
        assert_eq!(&back, e);
    }
    assert!(sessions * 2 > events.len(), "{sessions}");
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
fn traffic_is_sorted_and_has_every_pattern_at_the_rate_asked() {
    let events = busy();
    assert!(
        events
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at)
    );
    let mut counts: HashMap<Pattern, usize> = HashMap::new();
    for e in events {
        *counts.entry(e.label.pattern).or_default() += 1;
        assert_eq!(e.label.fraud, e.label.pattern != Pattern::Legitimate);
    }
    for p in Pattern::ALL {
        assert!(
            counts.get(&p).copied().unwrap_or(0) > 20,
            "{p:?}: {counts:?}"
        );
    }
    let fraud = events.iter().filter(|e| e.label.fraud).count() as f64;
    let share = fraud / events.len() as f64;
    // Expected 10 %; repeat fraud and returning fraudsters start once earlier fraud is known, and
    // card testing comes in bursts.
    assert!((0.06..0.13).contains(&share), "{share} {counts:?}");

    // The default is card-not-present reality: well under 1 %.
    let quiet = simulate(&SimConfig {
        seed: 5,
        days: 90,
        customers: 3000,
        ..Default::default()
    });
    let share = quiet.iter().filter(|e| e.label.fraud).count() as f64 / quiet.len() as f64;
    assert!(share < 0.01, "{share}");
    let none = simulate(&SimConfig {
        fraud_rate: 0.0,
        ..small()
    });
    assert!(none.iter().all(|e| !e.label.fraud));
}

#[test]
fn outcomes_come_later_and_fraud_is_learned_days_or_weeks_after() {
    let day = 86_400;
    let mut efw_delays = Vec::new();
    let mut dispute_delays = Vec::new();
    for e in busy() {
        assert!(!e.outcomes.is_empty());
        assert!(
            e.outcomes
                .windows(2)
                .all(|w| w[0].occurred_at <= w[1].occurred_at)
        );
        for o in &e.outcomes {
            assert!(o.occurred_at > e.occurred_at);
            let delay = o.occurred_at - e.occurred_at;
            match (o.kind, o.reason.as_deref()) {
                (OutcomeKind::Authorized | OutcomeKind::Declined, _) => assert_eq!(delay, 1),
                (OutcomeKind::EarlyFraudWarning, _) => efw_delays.push(delay),
                (OutcomeKind::Disputed, Some("fraudulent")) => dispute_delays.push(delay),
                _ => {}
            }
        }
        // Every fraudulent payment that went through is eventually learned to be fraud.
        let authorized = e.outcomes.iter().any(|o| o.kind == OutcomeKind::Authorized);
        if e.label.fraud
            && authorized
            && !matches!(e.label.pattern, Pattern::CardTesting | Pattern::BinAttack)
        {
            assert!(e.fraud_known_at().is_some(), "{}", e.to_json());
        }
    }
    efw_delays.sort_unstable();
    dispute_delays.sort_unstable();
    let median = |v: &[i64]| v[v.len() / 2];
    assert!(efw_delays[0] >= day && median(&efw_delays) <= 15 * day);
    assert!(median(&dispute_delays) >= 20 * day && median(&dispute_delays) <= 60 * day);
}

#[test]
fn repeat_fraud_is_on_a_card_whose_fraud_is_known_returning_fraudsters_link_otherwise() {
    let events = busy();
    let cards = known_before(events, card);
    let emails = known_before(events, email);
    let customers = known_before(events, customer);
    let devices = known_before(events, device);
    let (mut repeat, mut returning) = (0, 0);
    let mut links = [0; 3];
    for e in events {
        let at = e.occurred_at;
        match e.label.pattern {
            Pattern::RepeatFraud => {
                repeat += 1;
                assert!(known_at(&cards, card(e), at), "{}", e.to_json());
            }
            Pattern::ReturningFraudster => {
                returning += 1;
                assert!(!known_at(&cards, card(e), at), "{}", e.to_json());
                let linked = [
                    known_at(&emails, email(e), at),
                    known_at(&customers, customer(e), at),
                    known_at(&devices, device(e), at),
                ];
                assert!(linked.contains(&true), "{}", e.to_json());
                for (n, l) in links.iter_mut().zip(linked) {
                    *n += usize::from(l);
                }
            }
            _ => {}
        }
    }
    assert!(repeat > 50 && returning > 50, "{repeat} {returning}");
    // Each kind of link occurs.
    assert!(links.iter().all(|n| *n > 5), "{links:?}");
}

#[test]
fn takeovers_use_the_victims_saved_card_from_a_device_the_account_never_used() {
    let events = busy();
    let mut devices_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut saved_by: HashMap<&str, &str> = HashMap::new();
    let (mut takeovers, mut new_email, mut unseen_card) = (0, 0, 0);
    for e in events {
        let (cus, pm) = (customer(e), payment_method(e));
        if e.label.pattern == Pattern::AccountTakeover {
            takeovers += 1;
            assert!(!cus.is_empty());
            // The victim's saved card (saved before the simulation began, if not seen yet).
            match saved_by.get(pm) {
                Some(owner) => assert_eq!(*owner, cus, "{}", e.to_json()),
                None => unseen_card += 1,
            }
            if !device(e).is_empty() {
                let known = devices_of.get(cus);
                assert!(
                    known.is_none_or(|d| !d.contains(device(e))),
                    "{}",
                    e.to_json()
                );
            }
            new_email += usize::from(
                events
                    .iter()
                    .take_while(|x| x.occurred_at < e.occurred_at)
                    .all(|x| email(x) != email(e)),
            );
        } else if !cus.is_empty() && e.label.pattern == Pattern::Legitimate {
            if !pm.is_empty() {
                saved_by.insert(pm, cus);
            }
            devices_of.entry(cus).or_default().insert(device(e));
        }
    }
    assert!(takeovers > 50, "{takeovers}");
    assert!(unseen_card * 2 < takeovers, "{unseen_card} of {takeovers}");
    assert!(new_email * 3 > takeovers, "{new_email} of {takeovers}");
}

#[test]
fn merchant_initiated_charges_carry_no_device_data() {
    let events = busy();
    let mit: Vec<&Event> = events
        .iter()
        .filter(|e| e.label.pattern == Pattern::Legitimate && off_session(e))
        .collect();
    assert!(mit.len() * 20 > events.len(), "{}", mit.len());
    for e in mit {
        assert!(e.request.client_device_metadata_details.is_none());
        assert!(e.session.is_none());
        assert!(!customer(e).is_empty() && !card(e).is_empty());
    }
}

#[test]
fn cards_reported_as_fraud_are_replaced_for_their_legitimate_owner() {
    // After fraud is learned on a customer's card (friendly fraud, takeover), the customer's own
    // later payments use a new card.
    let events = busy();
    let cards = known_before(events, card);
    let mut reused = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.label.pattern == Pattern::Legitimate)
    {
        if known_at(&cards, card(e), e.occurred_at) {
            reused.push(e.to_json());
        }
    }
    assert!(reused.is_empty(), "{reused:?}");
}

#[test]
fn an_email_belongs_to_one_person() {
    // Outcome memory links payments by email: two customers sharing a mailbox would be an
    // artefact of the generator, and a fraudster's new mailbox is never a customer's (a takeover,
    // and the same attacker coming back, may use the victim's; friendly fraud is the customer's own).
    let events = busy();
    let mut owner: HashMap<String, &str> = HashMap::new();
    let mut legit_emails = 0;
    for e in events
        .iter()
        .filter(|e| e.label.pattern == Pattern::Legitimate && !customer(e).is_empty())
    {
        if email(e).is_empty() {
            continue;
        }
        let first = owner
            .entry(email(e).to_ascii_lowercase())
            .or_insert_with(|| {
                legit_emails += 1;
                customer(e)
            });
        assert_eq!(*first, customer(e), "{} shared", email(e));
    }
    assert!(legit_emails > 2000, "{legit_emails}");
    let mut stolen = 0;
    for e in events
        .iter()
        .filter(|e| e.label.pattern == Pattern::StolenCard && !email(e).is_empty())
    {
        stolen += 1;
        assert!(
            !owner.contains_key(&email(e).to_ascii_lowercase()),
            "a stolen-card payment uses {}'s email {}",
            owner[&email(e).to_ascii_lowercase()],
            email(e)
        );
    }
    assert!(stolen > 100, "{stolen}");
}

#[test]
fn card_testing_runs_many_cards_through_one_ip() {
    let events = busy();
    let mut cards_per_ip: HashMap<&str, HashSet<&str>> = HashMap::new();
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
        cards_per_ip.entry(ip).or_default().insert(card(e));
        assert!(e.request.payment_details.as_ref().unwrap().amount < 600);
    }
    assert!(
        cards_per_ip.values().any(|cards| cards.len() >= 15),
        "{cards_per_ip:?}"
    );
}

#[test]
fn pattern_shares_add_up_to_one() {
    let total: f64 = pattern_shares().iter().map(|(_, s)| s).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    assert_eq!(pattern_shares().len(), Pattern::ALL.len() - 1);
}
