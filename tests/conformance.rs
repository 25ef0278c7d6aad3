//! The Radar rules conformance suite (`tests/conformance/`), in-process: each case's rules compiled
//! by the core, its payment validated and turned into attributes (with the suite's GeoIP
//! databases), its assumed state set, and the core evaluator's decision checked; then every rule
//! Stripe publishes (`stripe_examples.txt`) loads or is refused as expected. The same cases run
//! through `riskgate rules check|explain` (crates/riskgate-cli/tests/conformance.rs) and the real
//! server (tests/conformance_server.rs).

use std::net::IpAddr;

use riskgate::{
    api::validate,
    enrich::{geo_from_config, ipfacts::IpFactsDatabases},
};
use riskgate_core::{
    attributes::extract, decision::Action, reference::FxTable, rules::RuleSet, signals::Signals,
};
use riskgate_testkit::{
    TempDir,
    conformance::{self, Expect},
};

/// 2026-11-21T00:00:00Z.
const NOW: i64 = 1_795_219_200;

struct Geo {
    country: Option<riskgate::enrich::geoip::GeoIp>,
    facts: IpFactsDatabases,
}

impl Geo {
    fn signals(&self, ip: Option<IpAddr>) -> Signals {
        Signals {
            ip_country: ip.and_then(|ip| self.country.as_ref()?.country(ip)),
            geo: self.facts.facts(ip),
            ..Signals::default()
        }
    }
}

#[test]
fn every_case_decides_as_expected_in_process() {
    let dir = TempDir::new("conformance");
    let config = conformance::geoip_config(dir.path());
    let geo = Geo {
        country: geo_from_config(&config).unwrap(),
        facts: IpFactsDatabases::from_config(&config).unwrap(),
    };
    let fx = FxTable::default();
    let cases = conformance::cases();
    assert!(cases.len() > 800, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let lists = case.static_lists();
        let compiled = RuleSet::compile_with_fx(&case.rules, &lists, &fx);
        let set = match (&case.expect, compiled) {
            (Expect::Refused(fragment), Err(e)) => {
                if !e.to_string().contains(fragment.as_str()) {
                    failures.push(format!(
                        "{}: refused, but not with `{fragment}`:\n{e}",
                        case.id
                    ));
                }
                continue;
            }
            (Expect::Refused(_), Ok(_)) => {
                failures.push(format!("{}: loads; expected it refused", case.id));
                continue;
            }
            (_, Err(e)) => {
                failures.push(format!("{}: does not load:\n{e}", case.id));
                continue;
            }
            (_, Ok(set)) => set,
        };
        if let Some(w) = &case.warning
            && !set
                .warnings()
                .iter()
                .any(|x| x.message.contains(w.as_str()))
        {
            failures.push(format!(
                "{}: no warning with `{w}`: {:?}",
                case.id,
                set.warnings()
            ));
        }
        let req = case.request();
        let input = match validate::payment_evaluation(&req) {
            Ok(input) => input,
            Err(v) => {
                failures.push(format!("{}: invalid payment: {v:?}", case.id));
                continue;
            }
        };
        let signals = if case.geoip {
            geo.signals(input.device.ip)
        } else {
            Signals::default()
        };
        let mut attrs = extract::attributes(&input, &signals, &fx, NOW);
        for (attr, value) in case.assumed() {
            attrs.set(attr, value);
        }
        let decided = set.evaluate(&attrs);
        let action = decided.map_or(Action::Continue, |r| r.action);
        let ok = match &case.expect {
            Expect::Match => decided.is_some(),
            Expect::NoMatch => decided.is_none(),
            Expect::Action(a) => action.as_str() == a,
            Expect::Refused(_) => unreachable!(),
        } && case
            .decided_by
            .as_ref()
            .is_none_or(|id| decided.is_some_and(|r| &r.id == id));
        if !ok {
            let why: Vec<String> = set
                .explain(&attrs)
                .into_iter()
                .map(|e| {
                    format!(
                        "  [{}] {} → {} {:?}",
                        e.id,
                        e.predicate,
                        e.result,
                        e.clauses
                            .iter()
                            .map(|c| format!("{} {} {:?}", c.result, c.text, c.values))
                            .collect::<Vec<_>>()
                    )
                })
                .collect();
            failures.push(format!(
                "{}: expected {:?}{}, got {} by {:?}\n{}",
                case.id,
                case.expect,
                case.decided_by
                    .as_ref()
                    .map(|d| format!(" by {d}"))
                    .unwrap_or_default(),
                action.as_str(),
                decided.map(|r| r.id.as_str()),
                why.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_published_stripe_rule_loads_or_is_refused_with_its_reason() {
    let lists = conformance::example_lists();
    let examples = conformance::stripe_examples();
    assert_eq!(examples.len(), 88);
    assert_eq!(examples.iter().filter(|e| e.refused.is_none()).count(), 58);
    let mut failures = Vec::new();
    for e in &examples {
        match (RuleSet::compile(&e.rule, &lists), &e.refused) {
            (Ok(_), None) => {}
            (Err(err), Some(fragment)) if err.to_string().contains(fragment.as_str()) => {}
            (Ok(_), Some(fragment)) => failures.push(format!(
                "{}\n  {}\n  loads; expected it refused with `{fragment}`",
                e.source, e.rule
            )),
            (Err(err), _) => failures.push(format!("{}\n  {}\n  {err}", e.source, e.rule)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
