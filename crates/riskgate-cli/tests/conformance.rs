//! The Radar rules conformance suite (`tests/conformance/`) through the command an analyst runs:
//! `riskgate rules check FILE --config CFG` for the cases that must be refused or warn, and
//! `riskgate rules explain FILE REQUEST.json --config CFG --set NAME=VALUE …` for the decision, with
//! the suite's GeoIP databases configured. Cases with saved lists are left to the in-process and
//! server runs: offline, `riskgate rules check` cannot know which lists exist or what they hold.

use std::{path::Path, process::Command};

use riskgate_testkit::{
    TempDir,
    conformance::{self, Case, Expect},
};

fn riskgate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(args)
        .env_remove("RISKGATE_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config_file(dir: &TempDir, geoip: bool) -> String {
    let mut text = String::from("[enrichment]\n");
    if geoip {
        let c = conformance::geoip_config(dir.path());
        for (key, path) in [
            ("geoip_mmdb_path", c.geoip_mmdb_path),
            ("geoip_city_mmdb_path", c.geoip_city_mmdb_path),
            (
                "geoip_anonymous_ip_mmdb_path",
                c.geoip_anonymous_ip_mmdb_path,
            ),
            (
                "geoip_connection_type_mmdb_path",
                c.geoip_connection_type_mmdb_path,
            ),
            ("geoip_isp_mmdb_path", c.geoip_isp_mmdb_path),
        ] {
            text.push_str(&format!(
                "{key} = {:?}\n",
                path.unwrap().display().to_string()
            ));
        }
    }
    dir.file(if geoip { "geoip.toml" } else { "plain.toml" }, &text)
        .display()
        .to_string()
}

/// Runs one case; `Err` says what went wrong.
fn run(case: &Case, dir: &Path, n: usize, configs: &[String; 2]) -> Result<(), String> {
    let rules = dir.join(format!("rules-{n}.txt"));
    std::fs::write(&rules, &case.rules).unwrap();
    let rules = rules.display().to_string();
    let config = &configs[usize::from(!case.geoip)];
    if matches!(case.expect, Expect::Refused(_)) || case.warning.is_some() {
        let (ok, out, err) = riskgate(&["rules", "check", &rules, "--config", config]);
        match &case.expect {
            Expect::Refused(fragment) => {
                return if ok {
                    Err(format!("loads; expected it refused:\n{out}"))
                } else if err.contains(fragment.as_str()) {
                    Ok(())
                } else {
                    Err(format!("refused, but not with `{fragment}`:\n{err}"))
                };
            }
            _ => {
                let w = case.warning.as_deref().unwrap();
                if !ok || !out.contains("warning: ") || !out.contains(w) {
                    return Err(format!("no warning with `{w}`:\n{out}{err}"));
                }
            }
        }
    }
    let request = dir.join(format!("request-{n}.json"));
    std::fs::write(&request, serde_json::to_string(&case.request).unwrap()).unwrap();
    let request = request.display().to_string();
    let mut args = vec!["rules", "explain", &rules, &request, "--config", config];
    let assume = case.assume_args();
    for a in &assume {
        args.push("--set");
        args.push(a);
    }
    let (ok, out, err) = riskgate(&args);
    if !ok {
        return Err(format!("explain failed:\n{err}"));
    }
    let action = out
        .lines()
        .find_map(|l| l.strip_prefix("decision: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("?");
    let decided_by = out.lines().find_map(|l| {
        l.strip_prefix("decided by: ")
            .filter(|l| !l.starts_with("no rule"))
            .and_then(|l| l.split(" — ").next())
    });
    let ok = match &case.expect {
        Expect::Match => decided_by.is_some(),
        Expect::NoMatch => decided_by.is_none(),
        Expect::Action(a) => action == a,
        Expect::Refused(_) => unreachable!(),
    } && case
        .decided_by
        .as_deref()
        .is_none_or(|id| decided_by == Some(id));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {:?} {:?}, got {action} by {decided_by:?}:\n{out}",
            case.expect, case.decided_by
        ))
    }
}

#[test]
fn every_case_decides_as_expected_through_the_command() {
    let dir = TempDir::new("conformance-cli");
    let configs = [config_file(&dir, true), config_file(&dir, false)];
    let base = conformance::base_request();
    let cases: Vec<Case> = conformance::cases()
        .into_iter()
        .filter(|c| c.lists.is_none())
        // A state attribute's "missing: no match" twin tests nothing the command line adds to the
        // in-process run; its twin with the assumed value runs here.
        .filter(|c| !c.needs_no_state(&base))
        .collect();
    assert!(cases.len() > 600, "{} cases", cases.len());
    // Two workers: the machine's cores are shared.
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (cases, configs, dir) = (&cases, &configs, dir.path());
                s.spawn(move || {
                    cases
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == w)
                        .filter_map(|(i, c)| {
                            run(c, dir, i, configs)
                                .err()
                                .map(|e| format!("{}: {e}", c.id))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn check_refuses_stripes_unusable_examples_with_their_reason() {
    let dir = TempDir::new("conformance-cli-examples");
    for e in conformance::stripe_examples() {
        let file = dir.file("rule.txt", &e.rule);
        let (ok, out, err) = riskgate(&["rules", "check", file.to_str().unwrap()]);
        match &e.refused {
            None => assert!(ok, "{}: {}\n{err}", e.source, e.rule),
            Some(fragment) => {
                assert!(!ok, "{}: {} loads:\n{out}", e.source, e.rule);
                assert!(err.contains(fragment.as_str()), "{}: {err}", e.source);
            }
        }
    }
}

#[test]
fn explain_shows_three_valued_clauses_and_check_names_missing_databases() {
    let dir = TempDir::new("conformance-cli-explain");
    let rules = dir.file(
        "rules.txt",
        "Review if NOT (:email_domain: = 'definitelysafe.com')\n\
         Block if :ip_state: = 'CA' AND :amount_in_usd: > 5\n",
    );
    let request = dir.file(
        "request.json",
        &std::fs::read_to_string(conformance::dir().join("base.json")).unwrap(),
    );
    let (ok, out, err) = riskgate(&[
        "rules",
        "explain",
        rules.to_str().unwrap(),
        request.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("decision: continue"), "{out}");
    assert!(
        out.contains("→ missing: does not match: the condition read a missing value"),
        "{out}"
    );
    assert!(
        out.contains(
            "missing  :email_domain: = 'definitelysafe.com'    (:email_domain: is missing)"
        ),
        "{out}"
    );
    assert!(out.contains("true     :amount_in_usd: > 5"), "{out}");

    let (ok, out, _) = riskgate(&["rules", "check", rules.to_str().unwrap()]);
    assert!(ok);
    assert!(
        out.contains("note: :ip_state: comes from the GeoIP database `enrichment.geoip_city_mmdb_path`, which this configuration does not set"),
        "{out}"
    );
}
