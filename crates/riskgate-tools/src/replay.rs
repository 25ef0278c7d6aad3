//! Replays labelled events (docs/events.md) through the enrichment stage the way serving saw them:
//! a fresh in-process [`Enricher`] whose [`Clock`] reads each event's `occurred_at`, so every event
//! gets the velocity and history of the events before it (never its own). An event's Radar Session
//! is recorded at its `created_at`, as RecordRadarSession would have recorded it. Each of an
//! event's `outcomes` (authorized, declined, an early fraud warning days later, a dispute weeks
//! later, …) is counted at its own `occurred_at`, once the replay reaches that time, as
//! `ReportPaymentOutcome` would have counted it.
//!
//! `riskgate model features` (training) and `riskgate backtest` both replay through this one type,
//! so a model is trained and backtested on the same history serving computes.

use std::{cmp::Reverse, collections::BinaryHeap, sync::Arc};

use crate::sim::{self, OutcomeKind};
use riskgate::config::EnrichmentConfig;
use riskgate::{
    api::validate::{self, FieldViolation},
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

/// The outcome report serving would get for one of an event's `outcomes` (`kind` and `reason`, as
/// ReportPaymentOutcome's `decline_reason`, `dispute_reason` and `refund_reason` carry it), with
/// the label outcome memory learns from it.
pub fn outcome(o: &sim::Outcome) -> Report {
    let reason = o.reason.as_deref();
    let outcome = match o.kind {
        OutcomeKind::Authorized => Outcome::Authorized,
        OutcomeKind::Declined => Outcome::Declined,
        OutcomeKind::Refunded => Outcome::Refunded,
        OutcomeKind::Disputed => Outcome::Disputed,
        OutcomeKind::EarlyFraudWarning => Outcome::EarlyFraudWarning,
        OutcomeKind::MerchantReportedFraud => Outcome::MerchantReportedFraud,
        OutcomeKind::AnalystRejected => Outcome::AnalystRejected,
        OutcomeKind::AnalystApproved => Outcome::AnalystApproved,
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

    /// Records a Radar Session at its `created_at` (0 = now), as RecordRadarSession does: validated
    /// the same way, then kept for the evaluation that names it. Outcomes that occurred by then
    /// are counted first.
    pub fn record_session(
        &mut self,
        session: &riskgate::proto::v1::RadarSession,
    ) -> Result<(), Vec<FieldViolation>> {
        if session.created_at != 0 {
            self.advance(session.created_at);
        }
        let session = validate::radar_session(Some(session), self.now)?;
        // The in-process store does not fail.
        let _ = self.runtime.block_on(self.enricher.record_session(session));
        Ok(())
    }

    /// Enriches the next event (events must come in `occurred_at` order) and records it as an
    /// attempt, as serving does. Outcomes of earlier events that occurred by `occurred_at` are
    /// counted first; each of this event's `outcomes` is counted when the replay reaches its time —
    /// velocity counters and outcome memory alike, through the same `report_outcome` as
    /// ReportPaymentOutcome, so a label learned days later (an early fraud warning, a dispute)
    /// reaches exactly the events after it.
    pub fn enrich(
        &mut self,
        input: &PaymentInput<'_>,
        occurred_at: i64,
        usd: Option<f64>,
        outcomes: &[sim::Outcome],
    ) -> Enriched {
        self.advance(occurred_at);
        self.evaluations += 1;
        let id = format!("replay_{}", self.evaluations);
        let enriched = self.runtime.block_on(self.enricher.enrich(input, &id, usd));
        for o in outcomes {
            self.pending
                .push(Reverse((o.occurred_at.max(self.now), self.outcomes.len())));
            self.outcomes.push((id.clone(), outcome(o)));
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

        let declined = sim::Outcome {
            kind: OutcomeKind::Declined,
            reason: Some("do_not_honor".into()),
            occurred_at: t0 + 1,
        };
        let first = replay.enrich(&input, t0, Some(10.0), &[declined]);
        assert_eq!(card(&first).count(Counter::Total, 1), 0, "excludes itself");
        assert_eq!(card(&first).seconds_since_first_seen, None);
        replay.finish(&first, true);

        // Same second: the decline (at t0 + 1) has not happened yet.
        let second = replay.enrich(&input, t0, Some(10.0), &[]);
        assert_eq!(card(&second).count(Counter::Total, 1), 1);
        assert_eq!(card(&second).count(Counter::Blocked, 1), 1);
        assert_eq!(card(&second).count(Counter::Declined, 1), 0);

        // Two hours later: outside the hourly window, inside the daily one, decline counted.
        let third = replay.enrich(&input, t0 + 7200, Some(10.0), &[]);
        let h = card(&third);
        assert_eq!(h.count(Counter::Total, 0), 0);
        assert_eq!(h.count(Counter::Total, 1), 2);
        assert_eq!(h.count(Counter::Declined, 1), 1);
        assert_eq!(h.seconds_since_first_seen, Some(7200));
    }

    #[test]
    fn several_outcomes_count_each_at_its_time_and_sessions_give_the_device() {
        let mut replay = Replay::new(&EnrichmentConfig::default()).unwrap();
        let mut req = request("fp_later");
        let device = req.client_device_metadata_details.as_mut().unwrap();
        device.radar_session = "rse_replay1".into();
        let session = riskgate::proto::v1::RadarSession {
            id: "rse_replay1".into(),
            device_id: "dev_replay".into(),
            ip: "81.2.69.160".into(),
            created_at: 1_790_000_000 - 30,
            ..Default::default()
        };
        let input = validate::payment_evaluation(&req).unwrap();
        let t0 = 1_790_000_000;
        let day = 86_400;
        let later = |kind, reason: &str, at| sim::Outcome {
            kind,
            reason: Some(reason.into()),
            occurred_at: at,
        };
        replay.record_session(&session).unwrap();
        let first = replay.enrich(
            &input,
            t0,
            Some(10.0),
            &[
                later(OutcomeKind::Authorized, "", t0 + 1),
                later(
                    OutcomeKind::EarlyFraudWarning,
                    "made_with_stolen_card",
                    t0 + 5 * day,
                ),
                later(OutcomeKind::Disputed, "fraudulent", t0 + 40 * day),
            ],
        );
        assert_eq!(first.enrichment.session_found, Some(true));
        assert_eq!(
            first
                .enrichment
                .session
                .as_ref()
                .unwrap()
                .device_id
                .as_deref(),
            Some("dev_replay")
        );
        assert!(first.enrichment.velocity.key(KeyKind::Device).is_some());
        let card = |e: &Enriched| e.enrichment.velocity.key(KeyKind::Card).cloned().unwrap();
        // Warnings and disputes are outcome memory's (velocity counts authorizations, declines).
        let labels = |e: &Enriched| e.enrichment.outcomes.keys[KeyKind::Card as usize].unwrap();
        // A week later: the warning is known, the dispute is not.
        let week = replay.enrich(&input, t0 + 7 * day, Some(10.0), &[]);
        assert_eq!(card(&week).count(Counter::Authorized, 3), 1);
        assert_eq!(labels(&week).count(OutcomeLabel::EarlyFraudWarning), 1);
        assert_eq!(labels(&week).count(OutcomeLabel::FraudulentDispute), 0);
        let months = replay.enrich(&input, t0 + 60 * day, Some(10.0), &[]);
        assert_eq!(labels(&months).count(OutcomeLabel::FraudulentDispute), 1);
    }
}
