//! `riskgate model features`: the training table of a labelled event file, computed by the same
//! validation, enrichment, attribute and feature code that serves, so training and serving cannot
//! drift. Events are replayed in time order through a fresh in-process enrichment state
//! ([`crate::replay`]), so each row's velocity and history features are what serving
//! would have computed at that moment, from the events before it.
//!
//! Replay records each event's Radar Session and counts each of its reported outcomes (declines,
//! early fraud warnings, refunds, disputes, at their own times) but no blocks: the
//! training data has no decisions, and counting the current model's blocks would feed the model
//! its own answers. The v2 schema therefore uses outcome counts, not block counts.

use std::io::{BufRead, Write};

use crate::{
    replay::{Replay, ReplayError},
    sim::Event,
};
use riskgate::{
    api::validate::{self, FieldViolation},
    config::EnrichmentConfig,
};
use riskgate_core::{attributes::extract, model::features, reference::FxTable};

/// Columns written after the features.
pub const EXTRA_COLUMNS: [&str; 3] = ["occurred_at", "label", "pattern"];

/// Why the training table could not be computed; `line` is the event's, from 1.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// Reading the events or writing the table failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The line is not an event (docs/events.md).
    #[error("line {line}: {source}")]
    Event {
        line: usize,
        source: serde_json::Error,
    },
    #[error(
        "line {line}: occurred_at {occurred_at} is before the previous event's {previous}; events must be in time order"
    )]
    OutOfOrder {
        line: usize,
        occurred_at: i64,
        previous: i64,
    },
    /// The event's request fails validation, as serving would refuse it.
    #[error("line {line}: invalid request: {}", fields(.violations))]
    InvalidRequest {
        line: usize,
        violations: Vec<FieldViolation>,
    },
    /// The event's Radar Session fails validation, as RecordRadarSession would refuse it.
    #[error("line {line}: invalid session: {}", fields(.violations))]
    InvalidSession {
        line: usize,
        violations: Vec<FieldViolation>,
    },
}

/// `field: description; field: description…`
fn fields(violations: &[FieldViolation]) -> String {
    let fields: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect();
    fields.join("; ")
}

/// Reads NDJSON events (`docs/events.md`, in time order) and writes a CSV: the schema's feature
/// names, then `occurred_at`, `label` (1 = fraud) and `pattern`. Missing features are empty cells.
/// Returns how many rows.
pub fn features_csv(
    input: impl BufRead,
    mut out: impl Write,
    fx: &FxTable,
    enrichment: &EnrichmentConfig,
) -> Result<usize, FeaturesError> {
    let mut replay = Replay::new(enrichment)?;
    let header: Vec<&str> = features::NAMES
        .iter()
        .chain(&EXTRA_COLUMNS)
        .copied()
        .collect();
    writeln!(out, "{}", header.join(","))?;
    let mut last = i64::MIN;
    let mut n = 0;
    let mut line_buf = String::with_capacity(256);
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let line_no = i + 1;
        let event: Event = serde_json::from_str(&line).map_err(|source| FeaturesError::Event {
            line: line_no,
            source,
        })?;
        if event.occurred_at < last {
            return Err(FeaturesError::OutOfOrder {
                line: line_no,
                occurred_at: event.occurred_at,
                previous: last,
            });
        }
        last = event.occurred_at;
        if let Some(session) = &event.session {
            replay
                .record_session(session)
                .map_err(|violations| FeaturesError::InvalidSession {
                    line: line_no,
                    violations,
                })?;
        }
        let input = validate::payment_evaluation(&event.request).map_err(|violations| {
            FeaturesError::InvalidRequest {
                line: line_no,
                violations,
            }
        })?;
        let usd = fx.to_usd(input.currency, input.amount);
        let enriched = replay.enrich(&input, event.occurred_at, usd, &event.outcomes);
        replay.finish(&enriched, false);
        let attrs = extract::attributes(&input, &enriched.enrichment, fx, event.occurred_at);
        let x = features::compute(&attrs);
        line_buf.clear();
        for v in x {
            if !v.is_nan() {
                line_buf.push_str(&v.to_string());
            }
            line_buf.push(',');
        }
        line_buf.push_str(&format!(
            "{},{},{}",
            event.occurred_at,
            u8::from(event.label.fraud),
            event.label.pattern.as_str()
        ));
        writeln!(out, "{line_buf}")?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimConfig, simulate};

    #[test]
    fn one_row_per_event_with_the_schema_header() {
        let events = simulate(&SimConfig {
            days: 2,
            customers: 200,
            ..Default::default()
        });
        let mut ndjson = Vec::new();
        crate::sim::write_ndjson(&events, &mut ndjson).unwrap();
        let mut csv = Vec::new();
        let n = features_csv(
            ndjson.as_slice(),
            &mut csv,
            &FxTable::default(),
            &EnrichmentConfig::default(),
        )
        .unwrap();
        assert_eq!(n, events.len());
        let text = String::from_utf8(csv).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(&header[..features::COUNT], &features::NAMES[..]);
        assert_eq!(&header[features::COUNT..], &EXTRA_COLUMNS[..]);
        for (line, e) in lines.zip(&events) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), header.len());
            assert_eq!(cells[features::COUNT], e.occurred_at.to_string());
            assert_eq!(cells[features::COUNT + 2], e.label.pattern.as_str());
        }
    }

    #[test]
    fn out_of_order_and_invalid_events_name_the_line() {
        let events = simulate(&SimConfig {
            days: 1,
            customers: 100,
            ..Default::default()
        });
        let (a, b) = (events[0].to_json(), events[1].to_json());
        let err = features_csv(
            format!("{b}\n{a}\n").as_bytes(),
            Vec::new(),
            &FxTable::default(),
            &EnrichmentConfig::default(),
        );
        if events[0].occurred_at < events[1].occurred_at {
            let err = err.unwrap_err();
            assert!(
                matches!(err, FeaturesError::OutOfOrder { line: 2, .. }),
                "{err:?}"
            );
            assert!(err.to_string().starts_with("line 2: occurred_at "), "{err}");
        }
        let bad = a.replace("\"currency\":\"", "\"currency\":\"X");
        let err = features_csv(
            bad.as_bytes(),
            Vec::new(),
            &FxTable::default(),
            &EnrichmentConfig::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, FeaturesError::InvalidRequest { line: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("line 1: invalid request: payment_details.currency"),
            "{err}"
        );
    }
}
