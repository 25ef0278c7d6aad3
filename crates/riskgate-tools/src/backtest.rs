//! `riskgate backtest --rules FILE --events FILE.ndjson`: replays labelled events (docs/events.md)
//! in time order through the same pipeline as the server — validation, enrichment, attributes,
//! model, rules —
//! and reports, per rule, how often it matched and how well its matches line up with the fraud
//! labels (an event's `label`, else its review verdict: rejected = fraud, approved = legitimate).
//! Every rule is scored on every event (not only the first match), so a rule's precision
//! and recall do not depend on the rules above it; `decided` counts the events it decided.
//!
//! State starts fresh for each run: the engine is built from the configuration, enrichment replays
//! the events through an empty in-process state whose clock reads each event's time
//! ([`crate::replay`]: velocity, first-seen times, blocks the backtested rules decided and
//! each event's reported outcome at its own time), and lists are empty unless `--lists JOURNAL`
//! names a lists journal (read from a private copy, never modified).

use std::{fmt::Write as _, path::Path, sync::Arc};

use serde::Serialize;

use crate::{
    decisions::{self, EventsError},
    replay::ReplayError,
    rules::{EngineError, RulesFileError},
};
use riskgate::{
    config::Config,
    stores::{StoreError, lists::journal::ListStore},
};
use riskgate_core::{
    decision::Action,
    lists::{ListLookup, OfflineLists},
};

/// How one rule would have performed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleStats {
    pub id: String,
    pub action: &'static str,
    pub predicate: String,
    pub line: usize,
    /// Events whose condition was true.
    pub matches: u64,
    /// `matches / events` (for a Block rule: its would-block rate).
    pub match_rate: f64,
    /// Fraudulent events among the matches.
    pub fraud_matches: u64,
    /// `fraud_matches / matches` (none without matches).
    pub precision: Option<f64>,
    /// `fraud_matches / fraudulent events` (none without fraud).
    pub recall: Option<f64>,
    /// Events this rule decided (it was the first match).
    pub decided: u64,
    /// Allow rules: events it decided although a Block or Review rule also matched.
    pub overrides: Option<u64>,
    /// Allow rules: fraudulent events among the overrides.
    pub fraud_overrides: Option<u64>,
}

/// The decisions of the whole rule set.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Totals {
    pub block: u64,
    pub review: u64,
    pub request_three_d_secure: u64,
    #[serde(rename = "continue")]
    pub continue_: u64,
    /// Fraudulent events that were blocked.
    pub blocked_fraud: u64,
    pub block_precision: Option<f64>,
    pub block_recall: Option<f64>,
}

/// The backtest's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub events: u64,
    pub fraud_events: u64,
    /// Events whose label came from a review verdict (no `label`, a rejected or approved review).
    pub review_labels: u64,
    /// Lines that were not valid events or requests (with the first few reasons).
    pub skipped: u64,
    pub skipped_examples: Vec<String>,
    pub rules: Vec<RuleStats>,
    pub totals: Totals,
}

/// Why a backtest could not run. (Lines that are not valid events are skipped and counted in the
/// report, not errors.)
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The lists journal could not be opened.
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The events file could not be read.
    #[error(transparent)]
    Events(#[from] EventsError),
    /// The lists journal's content could not be replayed.
    #[error(transparent)]
    Lists(#[from] StoreError),
    #[error(transparent)]
    Rules(#[from] RulesFileError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Runs a backtest. `progress` draws a progress bar on standard error.
pub fn run(
    rules: &Path,
    events: &Path,
    lists: Option<&Path>,
    config: &Config,
    progress: bool,
) -> Result<Report, BacktestError> {
    let store;
    let lookup: &dyn ListLookup = match lists {
        Some(journal) => {
            // Read, never opened for writing: opening a journal may append default lists or cut
            // a torn line.
            let bytes = std::fs::read(journal).map_err(|source| BacktestError::Read {
                path: journal.to_owned(),
                source,
            })?;
            store = ListStore::from_journal(journal, &bytes, 0)?;
            &store
        }
        None => &OfflineLists,
    };
    let set = Arc::new(crate::rules::compile_file_with_fx(
        rules,
        lookup,
        &crate::rules::fx(config)?,
    )?);
    let engine = crate::rules::engine(config, set.clone())?;
    let mut events = decisions::read(events)?;

    let n_rules = set.len();
    let mut matches = vec![0u64; n_rules];
    let mut fraud_matches = vec![0u64; n_rules];
    let mut decided = vec![0u64; n_rules];
    let mut overrides = vec![0u64; n_rules];
    let mut fraud_overrides = vec![0u64; n_rules];
    let mut totals = Totals::default();
    let (mut events_n, mut fraud_n, mut review_labels) = (0u64, 0u64, 0u64);
    let mut row = Vec::with_capacity(n_rules);

    events.replay(&engine, &config.enrichment, progress, |d| {
        let fraud = d.event.fraud();
        review_labels += u64::from(d.event.labelled_by_review());
        events_n += 1;
        fraud_n += u64::from(fraud);
        set.match_all(d.attrs, &mut row);
        let first = row.iter().position(|m| *m);
        let blocking_matched = set
            .rules()
            .iter()
            .zip(&row)
            .any(|(r, m)| *m && matches!(r.action, Action::Block | Action::Review));
        for (i, m) in row.iter().enumerate() {
            if *m {
                matches[i] += 1;
                fraud_matches[i] += u64::from(fraud);
            }
        }
        if let Some(i) = first {
            decided[i] += 1;
            if set.rules()[i].action == Action::Continue && blocking_matched {
                overrides[i] += 1;
                fraud_overrides[i] += u64::from(fraud);
            }
        }
        match d.verdict.action {
            Action::Block => {
                totals.block += 1;
                totals.blocked_fraud += u64::from(fraud);
            }
            Action::Review => totals.review += 1,
            Action::RequestThreeDSecure => totals.request_three_d_secure += 1,
            Action::Continue => totals.continue_ += 1,
        }
    })?;

    totals.block_precision = ratio(totals.blocked_fraud, totals.block);
    totals.block_recall = ratio(totals.blocked_fraud, fraud_n);

    let rules = set
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let allow = r.action == Action::Continue;
            RuleStats {
                id: r.id.clone(),
                action: r.action.rule_verb(),
                predicate: r.predicate.clone(),
                line: r.line,
                matches: matches[i],
                match_rate: ratio(matches[i], events_n).unwrap_or(0.0),
                fraud_matches: fraud_matches[i],
                precision: ratio(fraud_matches[i], matches[i]),
                recall: ratio(fraud_matches[i], fraud_n),
                decided: decided[i],
                overrides: allow.then_some(overrides[i]),
                fraud_overrides: allow.then_some(fraud_overrides[i]),
            }
        })
        .collect();
    Ok(Report {
        events: events_n,
        fraud_events: fraud_n,
        review_labels,
        skipped: events.skipped.count,
        skipped_examples: events.skipped.examples,
        rules,
        totals,
    })
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

impl Report {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} events, {} fraudulent ({}){}{}",
            self.events,
            self.fraud_events,
            pct(ratio(self.fraud_events, self.events)),
            if self.review_labels > 0 {
                format!(", {} labelled by review verdicts", self.review_labels)
            } else {
                String::new()
            },
            if self.skipped > 0 {
                format!(", {} skipped", self.skipped)
            } else {
                String::new()
            }
        );
        for s in &self.skipped_examples {
            let _ = writeln!(out, "  skipped {s}");
        }
        let _ = writeln!(out);
        let id_w = self
            .rules
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:<id_w$}  {:<17}  {:>8}  {:>7}  {:>9}  {:>7}  {:>8}  {:>9}",
            "RULE", "ACTION", "MATCHES", "RATE", "PRECISION", "RECALL", "DECIDED", "OVERRIDES"
        );
        for r in &self.rules {
            let _ = writeln!(
                out,
                "{:<id_w$}  {:<17}  {:>8}  {:>7}  {:>9}  {:>7}  {:>8}  {:>9}",
                r.id,
                r.action,
                r.matches,
                pct(Some(r.match_rate)),
                pct(r.precision),
                pct(r.recall),
                r.decided,
                r.overrides.map_or_else(
                    || "".into(),
                    |o| format!("{o} ({} fraud)", r.fraud_overrides.unwrap_or(0))
                ),
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            out,
            "\ntotals: block {}  review {}  request 3DS {}  continue {}",
            t.block, t.review, t.request_three_d_secure, t.continue_
        );
        let _ = writeln!(
            out,
            "blocked fraud {} — block precision {}, recall {}",
            t.blocked_fraud,
            pct(t.block_precision),
            pct(t.block_recall)
        );
        let _ = writeln!(out, "\nrules:");
        for r in &self.rules {
            let _ = writeln!(out, "  {:<id_w$}  line {:<4} {}", r.id, r.line, r.predicate);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_verdicts_are_labels_when_an_event_has_none() {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-backtest-reviews-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = dir.join("rules.txt");
        std::fs::write(&rules, "gift: Review if ::order_type:: = 'gift_card'\n").unwrap();
        let example: serde_json::Value =
            serde_json::from_str(include_str!("../../../examples/evaluation.json")).unwrap();
        let event = |i: i64, gift: bool, extra: serde_json::Value| {
            let mut request = example.clone();
            request["idempotency_key"] = serde_json::Value::String(String::new());
            request["payment_details"]["payment_method_details"]["card"]["fingerprint"] =
                format!("fp_{i}").into();
            if gift {
                request["metadata"]["order_type"] = "gift_card".into();
            }
            let mut e = serde_json::json!({"occurred_at": 1_790_000_000 + i, "request": request});
            for (k, v) in extra.as_object().unwrap() {
                e[k] = v.clone();
            }
            e.to_string()
        };
        let lines = [
            // Rejected: fraud. Approved: legitimate. An explicit label wins over a verdict.
            event(
                1,
                true,
                serde_json::json!({"review": {"closed_reason": "refunded_as_fraud", "closed_at": 1_790_000_100}}),
            ),
            event(
                2,
                true,
                serde_json::json!({"review": {"closed_reason": "approved"}}),
            ),
            event(
                3,
                true,
                serde_json::json!({"review": {"closed_reason": "approved"}, "label": {"fraud": true}}),
            ),
            // Refunded (not as fraud) is no verdict: no label.
            event(
                4,
                false,
                serde_json::json!({"review": {"closed_reason": "refunded"}}),
            ),
        ];
        let events = dir.join("events.ndjson");
        std::fs::write(&events, lines.join("\n")).unwrap();
        let report = run(&rules, &events, None, &Config::default(), false).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(report.events, 4);
        assert_eq!(report.review_labels, 2);
        assert_eq!(report.fraud_events, 2);
        let gift = &report.rules[0];
        assert_eq!((gift.matches, gift.fraud_matches), (3, 2));
        assert_eq!(gift.precision, Some(2.0 / 3.0));
        assert!(report.table().contains("2 labelled by review verdicts"));
    }
}
