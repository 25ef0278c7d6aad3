//! One evaluation, stage by stage, in one place: **enrich** (sessions, IP country, velocity) →
//! **attributes** → **score** (the local model, or Stripe within the caller's deadline, with
//! fallback) → **decide** (risk level, rules, action) → **record** (blocks counted, the Stripe
//! evaluation remembered for outcome reports, the audit log). The answer is a domain
//! [`Evaluation`]; the gRPC edge maps requests to [`PaymentInput`] and evaluations back to protobuf.
//!
//! Outcome reports come through here too ([`Pipeline::report_outcome`]): they update the state
//! the next evaluation reads, and are forwarded to Stripe for evaluations Stripe scored. So do
//! analysts' review verdicts ([`verdicts`]); a REVIEW decision opens a review ([`reviews`]).

pub mod decisions;
pub mod reviews;
pub mod score;
pub mod shadow;
pub mod timers;
mod upstream;
pub mod verdicts;

use std::{borrow::Cow, sync::Arc};

use quanta::Instant;

use tokio::time::Instant as Deadline;

pub use self::{score::Scoring, timers::StageTimers};
/// What the orchestrator said of an outcome (for the report to Stripe).
pub use crate::stripe::outcomes::OutcomeDetail;
use crate::{
    clock::Clock,
    config::scoring::{ScoringMode, StripeLevels},
    enrich::{Enriched, Enricher},
    record::audit::{AuditLog, AuditRecord},
    scoring::remote::{ErrorKind, RemoteScore, UpstreamError},
    stores::{
        StoreError,
        state::{OutcomeResult, Report, UpstreamRef},
    },
    stripe::outcomes::{OutcomeForwarder, OutcomeJob, StripeOutcome},
    telemetry,
};
use riskgate_core::{
    attributes::{Attr, Attributes, Value},
    decision::{Action, RiskLevel},
    engine::{Engine, ScoreSource, Verdict},
    input::PaymentInput,
    model::Contribution,
};

/// The engine in use, swapped atomically by a reload; each evaluation loads it once, so a request
/// runs start to finish on one engine and never waits for a swap.
pub type EngineHandle = Arc<arc_swap::ArcSwap<Engine>>;

/// What the caller asked for, beside the payment itself.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Who scores this evaluation.
    pub mode: ScoringMode,
    /// The caller's idempotency key (empty: none); Stripe's key derives from it.
    pub idempotency_key: &'a str,
    /// When the answer is due, if the caller set a deadline.
    pub answer_by: Option<Deadline>,
    /// Return every attribute with the verdict.
    pub expand_attributes: bool,
}

/// One evaluated payment.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `peval_…`.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub verdict: Verdict,
    /// The score as precisely as its scorer gave it, 0–100 (Stripe's has two decimals; the
    /// local model's is the verdict's); `None` when nothing assessed the payment.
    pub score: Option<f64>,
    /// Every evaluated attribute, when [`Options::expand_attributes`] asked for them.
    pub attributes: Option<Vec<(Attr, Value<'static>)>>,
}

/// See the module docs.
#[derive(Clone)]
pub struct Pipeline {
    engine: EngineHandle,
    enricher: Arc<Enricher>,
    clock: Clock,
    scoring: Scoring,
    /// Forwards outcomes of evaluations Stripe scored, when configured.
    outcomes: Option<OutcomeForwarder>,
    audit: Option<AuditLog>,
    timers: StageTimers,
    decisions: decisions::DecisionCounters,
    /// Opens a review for every REVIEW decision, when the review queue is on.
    reviews: Option<reviews::opener::ReviewOpener>,
}

impl Pipeline {
    /// A pipeline on `engine` (swapped by reloads) with the enrichment stage `enricher`, whose
    /// clock tells the time; local scoring, no audit log, no outcome forwarding.
    pub fn new(engine: EngineHandle, enricher: Arc<Enricher>) -> Self {
        Self {
            clock: enricher.clock().clone(),
            engine,
            enricher,
            scoring: Scoring::default(),
            outcomes: None,
            audit: None,
            timers: StageTimers::new(),
            decisions: decisions::DecisionCounters::new(),
            reviews: None,
        }
    }

    /// A pipeline on a fixed engine with in-process state (tests, benchmarks, offline tools).
    pub fn in_process(engine: Arc<Engine>) -> Self {
        Self::new(
            Arc::new(arc_swap::ArcSwap::new(engine)),
            Arc::new(Enricher::in_process_default()),
        )
    }

    /// Scores as `scoring` says (mode, fail policy, Stripe).
    pub fn with_scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }

    /// Writes every decision to `audit`, when there is one.
    pub fn with_audit(mut self, audit: Option<AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// Forwards outcome reports to Stripe through `forwarder`, for evaluations Stripe scored.
    pub fn with_outcome_forwarder(mut self, forwarder: Option<OutcomeForwarder>) -> Self {
        self.outcomes = forwarder;
        self
    }

    /// Opens a review for every REVIEW decision through `opener`, when there is one.
    pub fn with_reviews(mut self, opener: Option<reviews::opener::ReviewOpener>) -> Self {
        self.reviews = opener;
        self
    }

    /// The scoring settings (the edge checks a requested mode against them).
    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    /// The stage timers (the edge records validation in them).
    pub fn timers(&self) -> &StageTimers {
        &self.timers
    }

    /// The clock every stage reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Evaluates one payment; never fails (what cannot be read or scored degrades the answer).
    pub async fn evaluate(&self, input: &PaymentInput<'_>, options: Options<'_>) -> Evaluation {
        let now_unix = self.clock.now();
        let engine = self.engine.load();
        let id = new_evaluation_id();

        // === enrich ===
        let t = Instant::now();
        let usd = engine.fx().to_usd(input.currency, input.amount);
        let enriched = self.enricher.enrich(input, &id, usd).await;

        // === attributes ===
        let t0 = Instant::now();
        // Built where it stays (about 5 KB: moving it costs more than most stages), its texts
        // built from parts kept in `scratch` (no allocation).
        let mut scratch = [0u8; riskgate_core::attributes::SCRATCH_BYTES];
        let mut attrs = Attributes::with_scratch(&mut scratch);
        engine.attributes_into(&mut attrs, input, &enriched.enrichment, now_unix);
        let t1 = Instant::now();

        // === score ===
        let uses_stripe = matches!(
            options.mode,
            ScoringMode::Stripe | ScoringMode::StripeWithFallback
        );
        let remote = match (uses_stripe, &self.scoring.remote) {
            (true, Some(remote)) => {
                let result = match remote.prepare(input, options.idempotency_key) {
                    Ok(request) => {
                        remote
                            .score(&request, self.scoring.budget(options.answer_by))
                            .await
                    }
                    Err(e) => Err(e),
                };
                Some(
                    self.levelled(result)
                        .inspect_err(|e| tracing::warn!(error = %e, "Stripe could not score")),
                )
            }
            _ => None,
        };
        let t2 = Instant::now();
        let stripe_ref = match &remote {
            Some(Ok(rs)) if self.outcomes.is_some() => upstream_ref(input, rs),
            _ => None,
        };

        // === decide ===
        // The local model's time, when it scores: part of the score stage, not of decide.
        let mut local_score = std::time::Duration::ZERO;
        // Stripe's score as Stripe gave it, when Stripe scored.
        let mut stripe_score = None;
        let mut verdict = match remote {
            Some(Ok(rs)) => {
                stripe_score = Some(rs.score);
                match upstream::relevel(&rs) {
                    Some(score) if self.scoring.stripe_levels == StripeLevels::Relevel => {
                        engine.decide(&mut attrs, score, ScoreSource::Stripe)
                    }
                    _ => engine.decide_given(
                        &mut attrs,
                        upstream::given(&rs, self.scoring.fail_policy),
                        ScoreSource::Stripe,
                    ),
                }
            }
            Some(Err(e)) if options.mode == ScoringMode::StripeWithFallback => {
                let mut score = engine.score(&attrs);
                local_score = t2.elapsed();
                score.contributions.insert(
                    0,
                    Contribution {
                        code: "stripe_unavailable",
                        weight: 0.0,
                        message: format!(
                            "Stripe could not score ({}); the local model did",
                            e.kind.as_str()
                        )
                        .into(),
                    },
                );
                engine.decide(&mut attrs, score, ScoreSource::Fallback)
            }
            Some(Err(e)) => {
                let policy = self.scoring.fail_policy;
                metrics::counter!(telemetry::UNSCORED, "policy" => policy.as_str()).increment(1);
                engine.decide_unscored(
                    &mut attrs,
                    policy.action(),
                    format!(
                        "nothing could score the payment (Stripe: {}); fail policy {}",
                        e.kind.as_str(),
                        policy.as_str()
                    ),
                )
            }
            None => {
                let score = engine.score(&attrs);
                local_score = t2.elapsed();
                engine.decide(&mut attrs, score, ScoreSource::LocalModel)
            }
        };
        let t3 = Instant::now();
        let score = stripe_score.unwrap_or_else(|| {
            (verdict.risk_level != RiskLevel::NotAssessed).then_some(f64::from(verdict.risk_score))
        });

        // === record ===
        self.record(&enriched, &mut verdict).await;
        if verdict.action == Action::Review
            && let Some(opener) = &self.reviews
        {
            // Written in the background: a slow or failed write never delays the answer.
            opener.submit(reviews::evidence::review_of(
                &id, now_unix, input, &attrs, &verdict,
            ));
        }
        if let Some(r) = &stripe_ref {
            // Kept next to the evaluation's keys, for the outcome report; a failure only costs
            // that report (logged and counted by the enricher).
            self.enricher
                .remember_upstream(&id, r, enriched.served)
                .await;
            // riskgate's own block of a payment Stripe evaluated: the payment is not sent for
            // processing, Stripe's `merchant_blocked`.
            if verdict.action == Action::Block
                && let Some(forwarder) = &self.outcomes
            {
                forwarder.submit(OutcomeJob {
                    evaluation_id: id.clone(),
                    outcome: StripeOutcome::MerchantBlocked,
                    occurred_at: now_unix,
                });
            }
        }
        if options.mode == ScoringMode::Shadow
            && let Some(remote) = &self.scoring.remote
        {
            shadow::spawn(
                remote.clone(),
                remote.prepare(input, options.idempotency_key),
                self.scoring.upstream_max,
                &verdict,
                self.outcomes.clone().map(|forwarder| shadow::Remember {
                    enricher: self.enricher.clone(),
                    evaluation_id: id.clone(),
                    served: enriched.served,
                    forwarder,
                    at: now_unix,
                }),
                upstream_ref_template(input),
            );
        }
        self.timers.enrich.record(t0 - t);
        self.timers.attributes.record(t1 - t0);
        self.timers.score.record((t2 - t1) + local_score);
        self.timers
            .decide
            .record((t3 - t2).saturating_sub(local_score));
        self.decisions.count(&verdict);
        tracing::debug!(
            evaluation = %id,
            action = verdict.action.as_str(),
            risk_score = verdict.risk_score,
            model = engine.model_version(),
            "evaluated"
        );
        if let Some(audit) = &self.audit {
            audit.record(&AuditRecord::new(
                now_unix,
                &id,
                &verdict,
                &attrs,
                engine.model_version(),
                audit.pseudonyms(),
            ));
        }
        let attributes = options.expand_attributes.then(|| {
            attrs
                .iter()
                .map(|(attr, value)| (attr, owned(value)))
                .collect()
        });
        Evaluation {
            id,
            created_at: now_unix,
            verdict,
            score,
            attributes,
        }
    }

    /// In `relevel` mode a Stripe answer without a score cannot be levelled: it counts as
    /// unscored (the fallback or the fail policy decides). Otherwise the answer as it came.
    fn levelled(
        &self,
        result: Result<RemoteScore, UpstreamError>,
    ) -> Result<RemoteScore, UpstreamError> {
        match result {
            Ok(rs) if rs.score.is_none() && self.scoring.stripe_levels == StripeLevels::Relevel => {
                Err(UpstreamError::new(
                    "stripe",
                    ErrorKind::NotAssessed,
                    false,
                    "Stripe did not assess the payment (score -1); scoring.stripe_levels = \
                     relevel needs a score"
                        .into(),
                ))
            }
            other => other,
        }
    }

    /// After the decision: counts a block (and remembers a set-up payment's device).
    async fn record(&self, enriched: &Enriched, verdict: &mut Verdict) {
        let blocked = verdict.action == Action::Block;
        let recorded = self.enricher.finish(enriched, blocked).await;
        verdict.degraded |= enriched.degraded || !recorded;
    }

    /// Counts an outcome of a remembered evaluation at `occurred_at` (Unix seconds; 0 = now) — its
    /// label marks every entity of the evaluation in outcome memory, so the next evaluation of any
    /// of them knows — and, when Stripe scored it and has a report for it, forwards it with
    /// `detail` (decline code, dispute reason, early fraud warning type, refund reason) mapped onto
    /// Stripe's value sets.
    pub async fn report_outcome(
        &self,
        evaluation_id: &str,
        report: Report,
        occurred_at: i64,
        detail: &OutcomeDetail,
    ) -> Result<OutcomeResult, StoreError> {
        let result = self
            .enricher
            .report_outcome(evaluation_id, report, occurred_at)
            .await?;
        if result == OutcomeResult::Recorded
            && let Some(forwarder) = &self.outcomes
            && let Some(outcome) = StripeOutcome::of(report.outcome, detail)
        {
            let now = self.clock.now();
            forwarder.submit(OutcomeJob {
                evaluation_id: evaluation_id.to_owned(),
                outcome,
                occurred_at: if occurred_at > 0 {
                    occurred_at.min(now)
                } else {
                    now
                },
            });
        }
        Ok(result)
    }
}

/// What to remember of a Stripe evaluation for its outcome report.
fn upstream_ref(input: &PaymentInput<'_>, rs: &RemoteScore) -> Option<UpstreamRef> {
    let mut r = upstream_ref_template(input);
    r.id = rs.id.as_deref().filter(|id| !id.is_empty())?.to_owned();
    Some(r)
}

/// The payment's side of an [`UpstreamRef`] (the Stripe id comes with Stripe's answer).
fn upstream_ref_template(input: &PaymentInput<'_>) -> UpstreamRef {
    UpstreamRef {
        id: String::new(),
        amount: input.amount,
        currency: input.currency.code.to_owned(),
    }
}

fn owned(value: &Value<'_>) -> Value<'static> {
    match value {
        Value::Number(n) => Value::Number(*n),
        Value::Text(t) => Value::Text(Cow::Owned(t.to_string())),
        Value::Bool(b) => Value::Bool(*b),
    }
}

/// Length of the random part of an evaluation id (base62; 24 chars ≈ 143 bits).
const ID_RANDOM_CHARS: usize = 24;

/// A new `peval_…` id, from the OS CSPRNG: knowing an id lets a caller report its outcome, so ids
/// must not be guessable from earlier ones.
pub fn new_evaluation_id() -> String {
    crate::ids::random_id("peval_", ID_RANDOM_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_stripe_ids() {
        let a = new_evaluation_id();
        assert!(a.starts_with("peval_") && a.len() == 30, "{a}");
        assert!(a[6..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, new_evaluation_id());
    }
}
