//! Replays labelled events (docs/events.md) through the enrichment stage the way serving saw them:
//! a fresh in-process [`Enricher`] whose [`Clock`] reads each event's `occurred_at`, so every event
//! gets the velocity and history of the events before it (never its own). Each event's reported
//! `outcome` (authorized, declined, refunded, …) is counted at its own `occurred_at`, once the
//! replay reaches that time, as `ReportPaymentOutcome` would have counted it.
//!
//! `riskgate model features` (training) and `riskgate backtest` both replay through this one type,
//! so a model is trained and backtested on the same history serving computes.

use std::{cmp::Reverse, collections::BinaryHeap, sync::Arc};

use crate::sim::OutcomeKind;
use riskgate::config::EnrichmentConfig;
use riskgate::{
    clock::Clock,
    enrich::{Enriched, Enricher, geo_from_config, geoip::GeoIpError},
    stores::state::{Outcome, Report, local::LocalState},
};
use riskgate_core::{input::PaymentInput, signals::OutcomeLabel};

/// Why a replay could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The current-thread runtime the enrichment stage runs on.
    #[error("cannot start the replay runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The configured country database could not be opened.
    #[error(transparent)]
    Geo(#[from] GeoIpError),
    /// Another configured GeoIP database (City, Anonymous IP …) could not be opened.
    #[error(transparent)]
    IpFacts(#[from] riskgate::enrich::ipfacts::IpFactsError),
}

/// A fresh enrichment state driven by event time.
pub struct Replay {
    runtime: tokio::runtime::Runtime,
    clock: Clock,
    enricher: Enricher,
    /// Outcomes not yet reached: (occurred_at, index into `outcomes`).
    pending: BinaryHeap<Reverse<(i64, usize)>>,
    outcomes: Vec<(String, Report)>,
    evaluations: u64,
    now: i64,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("now", &self.now)
            .field("evaluations", &self.evaluations)
            .finish_non_exhaustive()
    }
}

/// The outcome report serving would get for an event's `outcome` (`kind` and `reason`, as
/// ReportPaymentOutcome's `decline_reason`, `dispute_reason` and `refund_reason` carry it), with
/// the label outcome memory learns from it.
pub fn outcome(kind: OutcomeKind, reason: Option<&str>) -> Report {
    let outcome = match kind {
        OutcomeKind::Authorized => Outcome::Authorized,
        OutcomeKind::Declined => Outcome::Declined,
        OutcomeKind::Refunded => Outcome::Refunded,
        OutcomeKind::Disputed => Outcome::Disputed,
        OutcomeKind::EarlyFraudWarning => Outcome::EarlyFraudWarning,
    };
    let label = match (outcome, reason) {
        (Outcome::Declined, r) => OutcomeLabel::from_decline_code(r.unwrap_or_default()),
        (Outcome::Disputed, Some(r)) => OutcomeLabel::from_dispute_reason(r),
        (Outcome::Refunded, Some(r)) => OutcomeLabel::from_refund_reason(r),
        _ => outcome.default_label(),
    };
    Report { outcome, label }
}

impl Replay {
    /// Empty in-process state with `config`'s bounds and country database (if one is configured).
    pub fn new(config: &EnrichmentConfig) -> Result<Self, ReplayError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(ReplayError::Runtime)?;
        let clock = Clock::manual(0);
        let enricher = Enricher::new(
            Arc::new(LocalState::new(config)),
            geo_from_config(config)?,
            clock.clone(),
        )
        .with_ip_facts(riskgate::enrich::ipfacts::IpFactsDatabases::from_config(
            config,
        )?);
        Ok(Self {
            runtime,
            clock,
            enricher,
            pending: BinaryHeap::new(),
            outcomes: Vec::new(),
            evaluations: 0,
            now: i64::MIN,
        })
    }

    /// Enriches the next event (events must come in `occurred_at` order) and records it as an
    /// attempt, as serving does. Outcomes of earlier events that occurred by `occurred_at` are
    /// counted first; each of this event's `outcomes` (report, occurred_at) is counted when the
    /// replay reaches its time — velocity counters and outcome memory alike, through the same
    /// `report_outcome` as ReportPaymentOutcome, so a label learned days later (an early fraud
    /// warning, a dispute) reaches exactly the events after it.
    pub fn enrich(
        &mut self,
        input: &PaymentInput<'_>,
        occurred_at: i64,
        usd: Option<f64>,
        outcomes: impl IntoIterator<Item = (Report, i64)>,
    ) -> Enriched {
        self.advance(occurred_at);
        self.evaluations += 1;
        let id = format!("replay_{}", self.evaluations);
        let enriched = self.runtime.block_on(self.enricher.enrich(input, &id, usd));
        for (report, at) in outcomes {
            self.pending
                .push(Reverse((at.max(self.now), self.outcomes.len())));
            self.outcomes.push((id.clone(), report));
        }
        enriched
    }

    /// After the decision, as serving does: counts a block, remembers a set-up payment's device.
    pub fn finish(&self, enriched: &Enriched, blocked: bool) {
        self.runtime
            .block_on(self.enricher.finish(enriched, blocked));
    }

    /// Moves the clock to `to`, counting every outcome that occurred by then at its own time.
    fn advance(&mut self, to: i64) {
        let to = to.max(self.now);
        while let Some(&Reverse((at, i))) = self.pending.peek() {
            if at > to {
                break;
            }
            self.pending.pop();
            self.set(at);
            let (id, report) = &self.outcomes[i];
            // NotFound (older than the outcome retention) is what serving would answer too.
            let _ = self
                .runtime
                .block_on(self.enricher.report_outcome(id, *report, at));
        }
        self.set(to);
    }

    fn set(&mut self, at: i64) {
        self.now = at;
        self.clock.set(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate::{api::validate, proto::v1::CreatePaymentEvaluationRequest};
    use riskgate_core::signals::{Counter, KeyKind};

    fn request(fingerprint: &str) -> CreatePaymentEvaluationRequest {
        let mut req: CreatePaymentEvaluationRequest =
            serde_json::from_str(include_str!("../../../examples/evaluation.json")).unwrap();
        req.payment_details
            .as_mut()
            .unwrap()
            .payment_method_details
            .as_mut()
            .unwrap()
            .card
            .as_mut()
            .unwrap()
            .fingerprint = fingerprint.into();
        req
    }

    #[test]
    fn each_event_sees_earlier_events_and_their_outcomes_at_their_time() {
        let mut replay = Replay::new(&EnrichmentConfig::default()).unwrap();
        let req = request("fp_replay");
        let input = validate::payment_evaluation(&req).unwrap();
        let t0 = 1_790_000_000;
        let card = |e: &Enriched| e.enrichment.velocity.key(KeyKind::Card).cloned().unwrap();

        let first = replay.enrich(
            &input,
            t0,
            Some(10.0),
            Some((Report::of(Outcome::Declined), t0 + 1)),
        );
        assert_eq!(card(&first).count(Counter::Total, 1), 0, "excludes itself");
        assert_eq!(card(&first).seconds_since_first_seen, None);
        replay.finish(&first, true);

        // Same second: the decline (at t0 + 1) has not happened yet.
        let second = replay.enrich(&input, t0, Some(10.0), None);
        assert_eq!(card(&second).count(Counter::Total, 1), 1);
        assert_eq!(card(&second).count(Counter::Blocked, 1), 1);
        assert_eq!(card(&second).count(Counter::Declined, 1), 0);

        // Two hours later: outside the hourly window, inside the daily one, decline counted.
        let third = replay.enrich(&input, t0 + 7200, Some(10.0), None);
        let h = card(&third);
        assert_eq!(h.count(Counter::Total, 0), 0);
        assert_eq!(h.count(Counter::Total, 1), 2);
        assert_eq!(h.count(Counter::Declined, 1), 1);
        assert_eq!(h.seconds_since_first_seen, Some(7200));
    }
}
