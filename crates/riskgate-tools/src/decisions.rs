//! Labelled events (docs/events.md) replayed through the whole gateway, as `riskgate backtest` and
//! `riskgate model evaluate` need them: in time order, each event's Radar Session recorded, its
//! request validated and enriched through a fresh in-process state ([`crate::replay`]: velocity,
//! outcomes counted at their own times, the blocks decided before), then attributes, the model,
//! the rules and the decision of one [`Engine`] — the code that serves. Each decided event is
//! handed to the caller with its attributes, score and verdict.
//!
//! Outcomes are counted as the events carry them, whatever the replay decided: a simulated file
//! says what would have happened had the payment gone through, not what a block prevented.

use std::{
    io::{BufRead, BufReader, IsTerminal, Write},
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::{
    replay::{Replay, ReplayError},
    sim::{Outcome, OutcomeKind, Pattern, merge_outcomes},
};
use riskgate::{
    api::validate,
    config::EnrichmentConfig,
    proto::v1::{CreatePaymentEvaluationRequest, RadarSession},
};
use riskgate_core::{
    attributes::Attributes,
    decision::Action,
    engine::{Engine, ScoreSource, Verdict},
};

/// `label` of an event, as the replay reads it: `pattern` may be absent (hand-written files).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct EventLabel {
    pub fraud: bool,
    #[serde(default)]
    pub pattern: Option<Pattern>,
}

/// A closed review, as `riskgate reviews list --state closed --json` shows it (docs/events.md).
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewVerdict {
    pub closed_reason: String,
    #[serde(default)]
    pub closed_at: Option<i64>,
}

impl ReviewVerdict {
    /// The analyst's word on fraud: `Some(true)` rejected as fraud, `Some(false)` approved. Other
    /// closes (refunded, disputed, redacted) are not an analyst's verdict.
    pub fn fraud(&self) -> Option<bool> {
        match self.closed_reason.as_str() {
            "refunded_as_fraud" => Some(true),
            "approved" => Some(false),
            _ => None,
        }
    }
}

/// One event; unknown fields are ignored (forward compatible), `label` is optional (not fraud,
/// unless an analyst's review verdict says otherwise).
#[derive(Debug, Deserialize)]
#[serde(from = "EventLine")]
pub struct LabelledEvent {
    pub occurred_at: i64,
    pub session: Option<RadarSession>,
    pub request: CreatePaymentEvaluationRequest,
    pub label: Option<EventLabel>,
    /// The outcomes the event reports, and the analyst's verdict on its review (counted as
    /// serving counts it, when the event reports no other outcome).
    pub outcomes: Vec<Outcome>,
    pub review: Option<ReviewVerdict>,
}

impl LabelledEvent {
    /// The event's label; without one, the analyst's review verdict; else not fraud.
    pub fn fraud(&self) -> bool {
        match (self.label, self.review_label()) {
            (Some(l), _) => l.fraud,
            (None, Some(fraud)) => fraud,
            (None, None) => false,
        }
    }

    /// Whether the label comes from a review verdict (no `label`, a verdict on the review).
    pub fn labelled_by_review(&self) -> bool {
        self.label.is_none() && self.review_label().is_some()
    }

    fn review_label(&self) -> Option<bool> {
        self.review.as_ref().and_then(ReviewVerdict::fraud)
    }
}

#[derive(Deserialize)]
struct EventLine {
    occurred_at: i64,
    #[serde(default)]
    session: Option<RadarSession>,
    request: CreatePaymentEvaluationRequest,
    #[serde(default)]
    label: Option<EventLabel>,
    #[serde(default)]
    outcomes: Vec<Outcome>,
    /// The single outcome of files written before `outcomes`.
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    review: Option<ReviewVerdict>,
}

impl From<EventLine> for LabelledEvent {
    fn from(e: EventLine) -> Self {
        let mut outcomes = merge_outcomes(e.outcomes, e.outcome);
        if outcomes.is_empty()
            && let Some(review) = &e.review
            && let Some(fraud) = review.fraud()
        {
            outcomes.push(Outcome {
                kind: if fraud {
                    OutcomeKind::AnalystRejected
                } else {
                    OutcomeKind::AnalystApproved
                },
                reason: None,
                occurred_at: review.closed_at.unwrap_or(e.occurred_at),
            });
        }
        LabelledEvent {
            occurred_at: e.occurred_at,
            session: e.session,
            request: e.request,
            label: e.label,
            outcomes,
            review: e.review,
        }
    }
}

/// Lines that were not replayed, with the first few reasons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Skipped {
    pub count: u64,
    pub examples: Vec<String>,
}

impl Skipped {
    fn add(&mut self, line: usize, why: String) {
        self.count += 1;
        if self.examples.len() < 5 {
            self.examples.push(format!("line {line}: {why}"));
        }
    }
}

/// The events of a file, in time order (file order among equal times), with their line numbers.
#[derive(Debug, Default)]
pub struct Events {
    events: Vec<(usize, LabelledEvent)>,
    /// Lines that are not events, and (after [`replay`]) events whose session or request fails
    /// validation.
    pub skipped: Skipped,
}

/// Why an events file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Reading the file failed partway.
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads an events file; lines that are not events are skipped (and counted), not errors.
pub fn read(path: &Path) -> Result<Events, EventsError> {
    let file = std::fs::File::open(path).map_err(|source| EventsError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut out = Events::default();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| EventsError::Read {
            path: path.to_owned(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LabelledEvent>(&line) {
            Ok(e) => out.events.push((i + 1, e)),
            Err(e) => out.skipped.add(i + 1, e.to_string()),
        }
    }
    out.events.sort_by_key(|(line, e)| (e.occurred_at, *line));
    Ok(out)
}

/// One replayed decision.
pub struct Decided<'e, 'a> {
    pub event: &'e LabelledEvent,
    pub attrs: &'e Attributes<'a>,
    /// The model's probability of fraud.
    pub probability: f64,
    pub verdict: &'e Verdict,
}

impl Events {
    /// How many events were read (before validation).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The time of the first event.
    pub fn start(&self) -> Option<i64> {
        self.events.first().map(|(_, e)| e.occurred_at)
    }

    /// Replays every event through `engine` with a fresh enrichment state of `enrichment`, calling
    /// `each` with every decision. Events whose session or request fails validation are skipped.
    /// `progress` draws a progress bar on standard error.
    pub fn replay(
        &mut self,
        engine: &Engine,
        enrichment: &EnrichmentConfig,
        progress: bool,
        mut each: impl FnMut(&Decided<'_, '_>),
    ) -> Result<(), ReplayError> {
        let mut state = Replay::new(enrichment)?;
        let mut bar = Progress::new(self.events.len() as u64, progress);
        for (done, (line, event)) in self.events.iter().enumerate() {
            bar.set(done as u64 + 1);
            if let Some(session) = &event.session
                && let Err(violations) = state.record_session(session)
            {
                self.skipped
                    .add(*line, format!("invalid session: {}", first(&violations)));
                continue;
            }
            let input = match validate::payment_evaluation(&event.request) {
                Ok(input) => input,
                Err(violations) => {
                    self.skipped
                        .add(*line, format!("invalid request: {}", first(&violations)));
                    continue;
                }
            };
            let usd = engine.fx().to_usd(input.currency, input.amount);
            let enriched = state.enrich(&input, event.occurred_at, usd, &event.outcomes);
            let mut attrs = engine.attributes(&input, &enriched.enrichment, event.occurred_at);
            let score = engine.score(&attrs);
            let probability = score.probability;
            let verdict = engine.decide(&mut attrs, score, ScoreSource::LocalModel);
            state.finish(&enriched, verdict.action == Action::Block);
            each(&Decided {
                event,
                attrs: &attrs,
                probability,
                verdict: &verdict,
            });
        }
        bar.finish();
        Ok(())
    }
}

fn first(violations: &[validate::FieldViolation]) -> String {
    violations
        .first()
        .map(|v| format!("{}: {}", v.field, v.description))
        .unwrap_or_default()
}

/// A progress bar on standard error, redrawn at each whole percent.
struct Progress {
    total: u64,
    shown: u64,
    on: bool,
}

impl Progress {
    fn new(total: u64, on: bool) -> Self {
        Self {
            total,
            shown: u64::MAX,
            on: on && std::io::stderr().is_terminal() && total > 0,
        }
    }

    fn set(&mut self, done: u64) {
        if !self.on {
            return;
        }
        let pct = done * 100 / self.total;
        if pct == self.shown {
            return;
        }
        self.shown = pct;
        let filled = (pct / 4) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {pct:>3}% {done}/{}",
            "#".repeat(filled),
            " ".repeat(25 - filled),
            self.total
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.on {
            let _ = writeln!(std::io::stderr());
        }
    }
}
