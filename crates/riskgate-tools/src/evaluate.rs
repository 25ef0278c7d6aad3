//! `riskgate model evaluate --events FILE.ndjson`: the decision quality of the whole gateway —
//! model, rules (a configured rules file, else the default rules) and what enrichment remembers —
//! on labelled events, per pattern. The events are replayed in time order through the code that
//! serves ([`crate::decisions`]), each outcome counted at its own time, so a card whose fraud was
//! reported last week is known when it comes back.
//!
//! Reported: per pattern, the share of payments blocked, reviewed, sent to 3D Secure and let
//! through ("caught" = anything but continue); legitimate merchant-initiated payments apart; the
//! model's ROC-AUC and PR-AUC; which rules decided; and the issue-15 targets, met or not.
//!
//! A warm-up (`warm_up_days`) replays the first days without counting them: a gateway that has
//! run for a while remembers the customers it has seen, a fresh one meets every customer for the
//! first time, which is no steady state to measure.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::Serialize;

use crate::{
    decisions::{self, EventsError},
    replay::ReplayError,
    rules::EngineError,
    rules::RulesFileError,
    sim::Pattern,
};
use riskgate::config::Config;
use riskgate_core::{attributes::Attr, decision::Action, lists::OfflineLists};

/// The decisions on one group of payments.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Group {
    pub name: String,
    pub payments: u64,
    pub block: u64,
    pub review: u64,
    pub request_three_d_secure: u64,
    #[serde(rename = "continue")]
    pub continue_: u64,
    /// `block / payments`.
    pub blocked: f64,
    /// Reviewed, sent to 3D Secure or blocked, over `payments`.
    pub caught: f64,
}

impl Group {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    fn add(&mut self, action: Action) {
        self.payments += 1;
        match action {
            Action::Block => self.block += 1,
            Action::Review => self.review += 1,
            Action::RequestThreeDSecure => self.request_three_d_secure += 1,
            Action::Continue => self.continue_ += 1,
        }
    }

    fn close(&mut self) {
        let n = self.payments.max(1) as f64;
        self.blocked = self.block as f64 / n;
        self.caught = (self.payments - self.continue_) as f64 / n;
    }
}

/// One of issue 15's targets.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Target {
    pub name: &'static str,
    /// `None` when the events have none of the payments it is about.
    pub value: Option<f64>,
    /// `≤ 0.001`, `≥ 0.99`, …
    pub goal: String,
    pub met: Option<bool>,
}

/// The evaluation's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quality {
    pub model: String,
    /// The rules that decided: the file's path, or `default`.
    pub rules: String,
    /// Days replayed first without being counted.
    pub warm_up_days: u32,
    /// Events replayed during the warm-up.
    pub warm_up_events: u64,
    /// Events counted (after the warm-up).
    pub events: u64,
    pub fraud_events: u64,
    pub fraud_share: f64,
    pub skipped: u64,
    pub skipped_examples: Vec<String>,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    /// Legitimate first, then each fraud pattern the events hold.
    pub patterns: Vec<Group>,
    /// Legitimate payments the customer was not present for (off-session: subscriptions,
    /// top-ups), which carry no device data.
    pub merchant_initiated: Group,
    /// Per rule id (`(model)` when no rule matched), the payments it decided, by pattern.
    pub decided_by: BTreeMap<String, BTreeMap<String, u64>>,
    pub targets: Vec<Target>,
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Events(#[from] EventsError),
    #[error(transparent)]
    Rules(#[from] RulesFileError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// Evaluates the gateway `config` describes on the labelled events at `events`, counting those
/// from `warm_up_days` after the first on. `progress` draws a progress bar on standard error.
pub fn run(
    events: &Path,
    config: &Config,
    warm_up_days: u32,
    progress: bool,
) -> Result<Quality, EvaluateError> {
    let engine = match &config.rules.path {
        Some(path) => {
            let set = crate::rules::compile_file_with_fx(
                path,
                &OfflineLists,
                &crate::rules::fx(config)?,
            )?;
            crate::rules::engine(config, std::sync::Arc::new(set))?
        }
        None => crate::rules::default_engine(config)?,
    };
    let mut events = decisions::read(events)?;
    let mut groups: BTreeMap<&'static str, Group> = BTreeMap::new();
    let mut mit = Group::new("legitimate, merchant-initiated");
    let mut decided_by: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut scores: Vec<(f64, bool)> = Vec::with_capacity(events.len());
    let counted_from = events
        .start()
        .map_or(i64::MIN, |t| t + i64::from(warm_up_days) * 86_400);
    let mut warm_up_events = 0;
    events.replay(&engine, &config.enrichment, progress, |d| {
        if d.event.occurred_at < counted_from {
            warm_up_events += 1;
            return;
        }
        let fraud = d.event.fraud();
        let pattern = match d.event.label.and_then(|l| l.pattern) {
            Some(p) => p.as_str(),
            None if fraud => "fraud (no pattern)",
            None => Pattern::Legitimate.as_str(),
        };
        let action = d.verdict.action;
        groups
            .entry(pattern)
            .or_insert_with(|| Group::new(pattern))
            .add(action);
        if !fraud && d.attrs.flag(Attr::IsOffSession) == Some(true) {
            mit.add(action);
        }
        let rule = d
            .verdict
            .matched_rule
            .as_ref()
            .map_or_else(|| "(no rule)".to_owned(), |r| r.id().to_owned());
        *decided_by
            .entry(rule)
            .or_default()
            .entry(pattern.to_owned())
            .or_default() += 1;
        scores.push((d.probability, fraud));
    })?;
    let mut patterns: Vec<Group> = Pattern::ALL
        .iter()
        .filter_map(|p| groups.remove(p.as_str()))
        .collect();
    patterns.extend(groups.into_values());
    patterns.iter_mut().for_each(Group::close);
    mit.close();
    let events_n = scores.len() as u64;
    let fraud_n = scores.iter().filter(|(_, f)| *f).count() as u64;
    let (roc_auc, pr_auc) = (roc_auc(&mut scores), average_precision(&mut scores));
    let find = |name: &str| patterns.iter().find(|g| g.name == name);
    let targets = vec![
        target(
            "legitimate payments blocked",
            find("legitimate").map(|g| g.blocked),
            0.001,
            false,
        ),
        target(
            "repeat fraud (card with a prior fraud outcome) blocked",
            find("repeat_fraud").map(|g| g.blocked),
            0.99,
            true,
        ),
        target(
            "returning fraudster with a new card caught",
            find("returning_fraudster").map(|g| g.caught),
            0.90,
            true,
        ),
        target(
            "account takeover caught",
            find("account_takeover").map(|g| g.caught),
            0.50,
            true,
        ),
        target("ROC-AUC", roc_auc, 0.98, true),
    ];
    Ok(Quality {
        model: engine.model_version().to_owned(),
        rules: config
            .rules
            .path
            .as_ref()
            .map_or_else(|| "default".to_owned(), |p| p.display().to_string()),
        warm_up_days,
        warm_up_events,
        events: events_n,
        fraud_events: fraud_n,
        fraud_share: fraud_n as f64 / events_n.max(1) as f64,
        skipped: events.skipped.count,
        skipped_examples: events.skipped.examples,
        roc_auc,
        pr_auc,
        patterns,
        merchant_initiated: mit,
        decided_by,
        targets,
    })
}

fn target(name: &'static str, value: Option<f64>, goal: f64, at_least: bool) -> Target {
    let shown = if name == "ROC-AUC" {
        format!("{goal}")
    } else {
        pct(goal)
    };
    Target {
        name,
        value,
        goal: format!("{} {shown}", if at_least { "≥" } else { "≤" }),
        met: value.map(|v| if at_least { v >= goal } else { v <= goal }),
    }
}

/// ROC-AUC of `(score, positive)` pairs: the chance that a positive outranks a negative, ties
/// counted half (the Mann–Whitney statistic with mid-ranks). `None` without both classes.
pub fn roc_auc(scores: &mut [(f64, bool)]) -> Option<f64> {
    scores.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = scores.iter().filter(|s| s.1).count() as f64;
    let negatives = scores.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < scores.len() {
        let mut j = i;
        while j < scores.len() && scores[j].0 == scores[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mid = (i + 1 + j) as f64 / 2.0;
        rank_sum += mid * scores[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Average precision (PR-AUC as scikit-learn computes it): over the distinct scores from the
/// highest, the precision at each, weighted by the recall it adds. `None` without positives.
pub fn average_precision(scores: &mut [(f64, bool)]) -> Option<f64> {
    scores.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = scores.iter().filter(|s| s.1).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let (mut tp, mut seen, mut ap) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < scores.len() {
        let mut j = i;
        let mut new_tp = 0.0;
        while j < scores.len() && scores[j].0 == scores[i].0 {
            new_tp += f64::from(u8::from(scores[j].1));
            j += 1;
        }
        tp += new_tp;
        seen += (j - i) as f64;
        ap += (new_tp / positives) * (tp / seen);
        i = j;
    }
    Some(ap)
}

fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        format!("{:.3}%", x * 100.0)
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

impl Quality {
    /// The evaluation as tables.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} events, {} fraudulent ({}); model {}, rules {}{}{}",
            self.events,
            self.fraud_events,
            pct(self.fraud_share),
            self.model,
            self.rules,
            if self.warm_up_days > 0 {
                format!(
                    "; after a warm-up of {} days ({} events)",
                    self.warm_up_days, self.warm_up_events
                )
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
        let auc = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"));
        let _ = writeln!(
            out,
            "ROC-AUC {}, PR-AUC {}\n",
            auc(self.roc_auc),
            auc(self.pr_auc)
        );
        let _ = writeln!(
            out,
            "{:<32}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
            "PATTERN", "PAYMENTS", "BLOCK", "REVIEW", "3DS", "CONTINUE", "CAUGHT"
        );
        for g in self.patterns.iter().chain([&self.merchant_initiated]) {
            let n = g.payments.max(1) as f64;
            let _ = writeln!(
                out,
                "{:<32}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
                g.name,
                g.payments,
                pct(g.block as f64 / n),
                pct(g.review as f64 / n),
                pct(g.request_three_d_secure as f64 / n),
                pct(g.continue_ as f64 / n),
                pct(g.caught)
            );
        }
        let _ = writeln!(out, "\ndecided by:");
        for (rule, by) in &self.decided_by {
            let parts: Vec<String> = by.iter().map(|(p, n)| format!("{p} {n}")).collect();
            let _ = writeln!(out, "  {rule}: {}", parts.join(", "));
        }
        let _ = writeln!(out, "\ntargets:");
        for t in &self.targets {
            let value = t.value.map_or_else(
                || "—".to_owned(),
                |v| {
                    if t.name == "ROC-AUC" {
                        format!("{v:.4}")
                    } else {
                        pct(v)
                    }
                },
            );
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "no such payments",
            };
            let _ = writeln!(
                out,
                "  {:<56} {:>8}  (goal {})  {verdict}",
                t.name, value, t.goal
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half_and_matches_the_pairwise_definition() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75
        let mut s = vec![(0.1, false), (0.4, false), (0.35, true), (0.8, true)];
        assert_eq!(roc_auc(&mut s), Some(0.75));
        let mut tied = vec![(0.5, true), (0.5, false)];
        assert_eq!(roc_auc(&mut tied), Some(0.5));
        let mut one_class = vec![(0.5, true)];
        assert_eq!(roc_auc(&mut one_class), None);
        // Pairwise on random scores with ties.
        let mut rng = fastrand::Rng::with_seed(3);
        let mut s: Vec<(f64, bool)> = (0..300)
            .map(|_| (f64::from(rng.u8(0..20)), rng.bool()))
            .collect();
        let (mut wins, mut pairs) = (0.0, 0.0);
        for p in s.iter().filter(|x| x.1) {
            for n in s.iter().filter(|x| !x.1) {
                pairs += 1.0;
                wins += if p.0 > n.0 {
                    1.0
                } else if p.0 == n.0 {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let auc = roc_auc(&mut s).unwrap();
        assert!((auc - wins / pairs).abs() < 1e-12, "{auc} {}", wins / pairs);
    }

    #[test]
    fn average_precision_is_scikit_learns() {
        // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333…
        let mut s = vec![(0.1, false), (0.4, false), (0.35, true), (0.8, true)];
        let ap = average_precision(&mut s).unwrap();
        assert!((ap - 0.833_333_333_333_333_4).abs() < 1e-12, "{ap}");
        let mut none = vec![(0.3, false)];
        assert_eq!(average_precision(&mut none), None);
    }

    #[test]
    fn targets_compare_in_the_right_direction() {
        assert_eq!(target("x", Some(0.0005), 0.001, false).met, Some(true));
        assert_eq!(target("x", Some(0.002), 0.001, false).met, Some(false));
        assert_eq!(target("x", Some(0.99), 0.99, true).met, Some(true));
        assert_eq!(target("x", None, 0.99, true).met, None);
    }
}
