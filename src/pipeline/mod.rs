//! One evaluation, stage by stage, in one place: **enrich** (sessions, IP country, velocity) →
//! **attributes** → **score** (the local model, or Stripe within the caller's deadline, with
//! fallback) → **decide** (risk level, rules, action) → **record** (blocks counted, the Stripe
//! evaluation remembered for outcome reports, the audit log). The answer is a domain
//! [`Evaluation`]; the gRPC edge maps requests to [`PaymentInput`] and evaluations back to protobuf.
//!
//! Outcome reports come through here too ([`Pipeline::report_outcome`]): they update the state
//! the next evaluation reads, and are forwarded to Stripe for evaluations Stripe scored.

pub mod score;
pub mod shadow;
pub mod timers;

use std::{borrow::Cow, sync::Arc, time::Instant};

use tokio::time::Instant as Deadline;

pub use self::{score::Scoring, timers::StageTimers};
use crate::{
    clock::Clock,
    config::scoring::ScoringMode,
    enrich::{Enriched, Enricher},
    record::audit::{AuditLog, AuditRecord},
    scoring::remote::RemoteScore,
    stores::{
        StoreError,
        state::{OutcomeResult, Report, UpstreamRef},
    },
    stripe::outcomes::{OutcomeForwarder, OutcomeJob},
    telemetry,
};
use riskgate_core::{
    attributes::{Attr, Value},
    decision::Action,
    engine::{Engine, ScoreSource, Verdict},
    input::PaymentInput,
    model::{Contribution, ModelScore},
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
        self.timers.enrich.record(t.elapsed());

        // === attributes ===
        let t0 = Instant::now();
        let mut attrs = engine.attributes(input, &enriched.enrichment, now_unix);
        let t1 = Instant::now();

        // === score ===
        let uses_stripe = matches!(
            options.mode,
            ScoringMode::Stripe | ScoringMode::StripeWithFallback
        );
        let remote = match (uses_stripe, &self.scoring.remote) {
            (true, Some(remote)) => {
                let request = remote.prepare(input, options.idempotency_key);
                Some(
                    remote
                        .score(&request, self.scoring.budget(options.answer_by))
                        .await
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
        let mut verdict = match remote {
            Some(Ok(rs)) => engine.decide(&mut attrs, stripe_score(&rs), ScoreSource::Stripe),
            Some(Err(e)) if options.mode == ScoringMode::StripeWithFallback => {
                let started = Instant::now();
                let mut score = engine.score(&attrs);
                local_score = started.elapsed();
                score.contributions.insert(
                    0,
                    Contribution {
                        code: "stripe_unavailable",
                        weight: 0.0,
                        message: format!(
                            "Stripe could not score ({}); the local model did",
                            e.kind.as_str()
                        ),
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
                let started = Instant::now();
                let score = engine.score(&attrs);
                local_score = started.elapsed();
                engine.decide(&mut attrs, score, ScoreSource::LocalModel)
            }
        };
        let t3 = Instant::now();

        // === record ===
        self.record(&enriched, &mut verdict).await;
        if let Some(r) = &stripe_ref {
            // Kept next to the evaluation's keys, for the outcome report; a failure only costs
            // that report (logged and counted by the enricher).
            self.enricher
                .remember_upstream(&id, r, enriched.served)
                .await;
        }
        if options.mode == ScoringMode::Shadow
            && let Some(remote) = &self.scoring.remote
        {
            shadow::spawn(
                remote.clone(),
                remote.prepare(input, options.idempotency_key),
                self.scoring.upstream_max,
                &verdict,
                self.outcomes
                    .is_some()
                    .then(|| (self.enricher.clone(), id.clone(), enriched.served)),
                upstream_ref_template(input),
            );
        }
        self.timers.attributes.record(t1 - t0);
        self.timers.score.record((t2 - t1) + local_score);
        self.timers
            .decide
            .record((t3 - t2).saturating_sub(local_score));
        metrics::counter!(
            telemetry::DECISIONS,
            "action" => verdict.action.as_str(),
            "source" => verdict.source.as_str(),
            "risk_level" => verdict.risk_level.as_str(),
        )
        .increment(1);
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
            attributes,
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
    /// of them knows — and, when Stripe scored it, forwards it. `decline_reason` is the issuer's
    /// decline code, if any.
    pub async fn report_outcome(
        &self,
        evaluation_id: &str,
        report: Report,
        occurred_at: i64,
        decline_reason: &str,
    ) -> Result<OutcomeResult, StoreError> {
        let outcome = report.outcome;
        let result = self
            .enricher
            .report_outcome(evaluation_id, report, occurred_at)
            .await?;
        if result == OutcomeResult::Recorded
            && let Some(forwarder) = &self.outcomes
        {
            let now = self.clock.now();
            forwarder.submit(OutcomeJob {
                evaluation_id: evaluation_id.to_owned(),
                outcome,
                decline_reason: decline_reason.to_owned(),
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

/// Stripe's score as the core's model score, with Stripe's own words as the reason.
fn stripe_score(rs: &RemoteScore) -> ModelScore {
    ModelScore {
        probability: rs.probability(),
        contributions: vec![Contribution {
            code: "stripe_score",
            weight: 0.0,
            message: format!(
                "Stripe risk score {:.0}{}",
                rs.score,
                rs.recommended_action
                    .as_deref()
                    .map(|a| format!(", Stripe recommends {a}"))
                    .unwrap_or_default()
            ),
        }],
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

/// A new `peval_…` id.
pub fn new_evaluation_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::with_capacity(6 + ID_RANDOM_CHARS);
    id.push_str("peval_");
    id.extend(
        (0..ID_RANDOM_CHARS).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])),
    );
    id
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
