//! `riskgate.v1.PaymentEvaluationService`: evaluations and their outcome reports.

use std::{
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use metrics::Histogram;
use tonic::{Request, Response, Status, metadata::MetadataValue};

use crate::{
    api::{deadline::Deadline, error::ApiError, validate},
    config::scoring::{FailPolicy, ScoringMode},
};
use crate::{
    enrich::{Enriched, Enricher},
    proto::v1::{
        self as pb, CreatePaymentEvaluationRequest, CreatePaymentEvaluationResponse,
        ReportPaymentOutcomeRequest, ReportPaymentOutcomeResponse,
        payment_evaluation_service_server::PaymentEvaluationService,
    },
    record::audit::{AuditLog, AuditRecord},
    scoring::remote::{RemoteScorer, upstream_idempotency_key},
    stores::{
        idempotency::{self, IdempotencyError, IdempotencyStore},
        state::{OutcomeResult, UpstreamRef},
    },
    stripe::outcomes::{OutcomeForwarder, OutcomeJob},
    telemetry,
};
use riskgate_core::{
    attributes::{Attributes, Value},
    decision::{
        Action, RiskLevel,
        engine::{Engine, ScoreSource, Verdict},
    },
    input::PaymentInput,
    model::{Contribution, ModelScore},
};

/// How evaluations are scored: the mode, the fail policy and the upstream with its time limits.
#[derive(Clone)]
pub struct Scoring {
    pub mode: ScoringMode,
    pub fail_policy: FailPolicy,
    /// Kept back from the caller's remaining time for the work after the upstream answers.
    pub upstream_margin: std::time::Duration,
    /// The most an upstream call may take (also the budget without a deadline and in shadow).
    pub upstream_max: std::time::Duration,
    /// Stripe, when configured.
    pub remote: Option<Arc<dyn RemoteScorer>>,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            mode: ScoringMode::Local,
            fail_policy: FailPolicy::Open,
            upstream_margin: std::time::Duration::from_millis(5),
            upstream_max: std::time::Duration::from_millis(250),
            remote: None,
        }
    }
}

impl Scoring {
    /// The time an upstream call may take now.
    fn budget(&self, deadline: Option<Deadline>) -> std::time::Duration {
        match deadline {
            Some(d) => d
                .remaining()
                .saturating_sub(self.upstream_margin)
                .min(self.upstream_max),
            None => self.upstream_max,
        }
    }
}

/// Stripe's object name for an evaluation.
pub const OBJECT: &str = "radar.payment_evaluation";
/// Response metadata set on an idempotent replay (Stripe's `Idempotent-Replayed` header).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The engine in use, swapped atomically by a reload; each evaluation loads it once, so a request
/// runs start to finish on one engine and never waits for a swap.
pub type EngineHandle = Arc<arc_swap::ArcSwap<Engine>>;

/// Per-stage duration histograms, registered once.
#[derive(Clone)]
struct StageTimers {
    validate: Histogram,
    enrich: Histogram,
    attributes: Histogram,
    score: Histogram,
    decide: Histogram,
}

impl StageTimers {
    fn new() -> Self {
        let h =
            |stage: &'static str| metrics::histogram!(telemetry::STAGE_DURATION, "stage" => stage);
        Self {
            validate: h("validate"),
            enrich: h("enrich"),
            attributes: h("attributes"),
            score: h("score"),
            decide: h("decide"),
        }
    }
}

/// `riskgate.v1.PaymentEvaluationService`.
#[derive(Clone)]
pub struct EvaluationService {
    engine: EngineHandle,
    idempotency: IdempotencyStore,
    enricher: Arc<Enricher>,
    livemode: bool,
    deadline_margin: std::time::Duration,
    timers: StageTimers,
    audit: Option<AuditLog>,
    scoring: Scoring,
    /// Forwards outcomes of evaluations Stripe scored, when configured.
    outcomes: Option<OutcomeForwarder>,
}

impl EvaluationService {
    pub fn new(
        engine: Arc<Engine>,
        idempotency: IdempotencyStore,
        livemode: bool,
        deadline_margin: std::time::Duration,
    ) -> Self {
        Self::with_engine_handle(
            Arc::new(arc_swap::ArcSwap::new(engine)),
            idempotency,
            livemode,
            deadline_margin,
        )
    }

    /// A service whose engine can be swapped through `engine` (hot reload).
    pub fn with_engine_handle(
        engine: EngineHandle,
        idempotency: IdempotencyStore,
        livemode: bool,
        deadline_margin: std::time::Duration,
    ) -> Self {
        Self {
            engine,
            idempotency,
            enricher: Arc::new(Enricher::in_process_default()),
            livemode,
            deadline_margin,
            timers: StageTimers::new(),
            audit: None,
            scoring: Scoring::default(),
            outcomes: None,
        }
    }

    /// Forwards `ReportPaymentOutcome` to Stripe through `forwarder` for evaluations Stripe
    /// scored (and remembers which those are).
    pub fn with_outcome_forwarder(mut self, forwarder: Option<OutcomeForwarder>) -> Self {
        self.outcomes = forwarder;
        self
    }

    /// Scores as `scoring` says (mode, fail policy, Stripe).
    pub fn with_scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }

    /// The scoring mode of `req`: its override, else the configured one.
    fn mode(&self, req: &CreatePaymentEvaluationRequest) -> Result<ScoringMode, ApiError> {
        if req.scoring_mode.is_empty() {
            return Ok(self.scoring.mode);
        }
        let violation = |description: String| {
            ApiError::InvalidArgument(vec![validate::FieldViolation {
                field: "scoring_mode".into(),
                description,
            }])
        };
        let mode = ScoringMode::parse(&req.scoring_mode).ok_or_else(|| {
            violation(
                "must be one of local, stripe, stripe_with_fallback, shadow (or empty)".into(),
            )
        })?;
        if mode.uses_stripe() && self.scoring.remote.is_none() {
            return Err(violation(format!(
                "{} needs Stripe, which is not configured on this server (set \
                 STRIPE_SECRET_KEY or stripe.secret_key_file)",
                mode.as_str()
            )));
        }
        Ok(mode)
    }

    /// Writes every decision to `audit`.
    pub fn with_audit(self, audit: AuditLog) -> Self {
        self.with_audit_opt(Some(audit))
    }

    /// Writes every decision to `audit`, when there is one.
    pub fn with_audit_opt(mut self, audit: Option<AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// Uses `enricher` for the enrichment stage (by default: in-process state with default bounds).
    pub fn with_enricher(mut self, enricher: Arc<Enricher>) -> Self {
        self.enricher = enricher;
        self
    }

    /// Evaluates one request: the whole edge, without the transport. Returns the answer and whether
    /// it is an idempotent replay.
    pub async fn create(
        &self,
        req: &CreatePaymentEvaluationRequest,
        deadline: Option<Deadline>,
    ) -> Result<(CreatePaymentEvaluationResponse, bool), ApiError> {
        let started = Instant::now();
        if let Some(d) = deadline {
            d.check()?;
        }
        let input = payment_input(req, &self.timers.validate)?;
        let mode = self.mode(req)?;
        let expand_attributes = req.expand.iter().any(|e| e == "attributes");

        // The evaluation's state (attributes, enrichment) is tens of KB: boxed, so that only an
        // evaluation allocates it, not every call's future (deadline and replay paths included).
        let (response, replay) = if req.idempotency_key.is_empty() {
            let evaluation =
                Box::pin(self.evaluate(req, &input, expand_attributes, started, mode, deadline));
            let response = match deadline {
                Some(d) if mode.uses_stripe() => d.run(evaluation).await?,
                _ => evaluation.await,
            };
            (response, false)
        } else {
            let evaluation = self.idempotency.get_or_evaluate(
                &req.idempotency_key,
                idempotency::fingerprint(req),
                async {
                    Ok::<_, ApiError>(
                        Box::pin(self.evaluate(
                            req,
                            &input,
                            expand_attributes,
                            started,
                            mode,
                            deadline,
                        ))
                        .await,
                    )
                },
            );
            let result = match deadline {
                Some(d) => d.run(evaluation).await?,
                None => evaluation.await,
            };
            let (record, replay) = result.map_err(|e| match e {
                IdempotencyError::Conflict => ApiError::IdempotencyConflict,
                IdempotencyError::Evaluation(e) => e,
            })?;
            (record.response.clone(), replay)
        };
        if let Some(d) = deadline {
            d.check()?;
        }
        Ok((response, replay))
    }

    async fn evaluate(
        &self,
        req: &CreatePaymentEvaluationRequest,
        input: &PaymentInput<'_>,
        expand_attributes: bool,
        started: Instant,
        mode: ScoringMode,
        deadline: Option<Deadline>,
    ) -> CreatePaymentEvaluationResponse {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let engine = self.engine.load();
        let id = new_evaluation_id();
        let enriched = self.enrich(&engine, input, &id).await;
        let t0 = Instant::now();
        let mut attrs = engine.attributes(input, &enriched.enrichment, now_unix);
        let t1 = Instant::now();
        let remote = match (mode, &self.scoring.remote) {
            (ScoringMode::Stripe | ScoringMode::StripeWithFallback, Some(remote)) => {
                let key = upstream_idempotency_key(&req.idempotency_key);
                Some(
                    remote
                        .score(req, &key, self.scoring.budget(deadline))
                        .await
                        .map_err(|e| {
                            tracing::warn!(error = %e, "Stripe could not score");
                            e
                        }),
                )
            }
            _ => None,
        };
        let t2 = Instant::now();
        let stripe_ref = match &remote {
            Some(Ok(rs)) if self.outcomes.is_some() => upstream_ref(req, rs.id.as_deref()),
            _ => None,
        };
        // The local model's time, when it scores: part of the score stage, not of decide.
        let mut local_score = std::time::Duration::ZERO;
        let mut verdict = match remote {
            Some(Ok(rs)) => {
                let score = ModelScore {
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
                };
                engine.decide(&mut attrs, score, ScoreSource::Stripe)
            }
            Some(Err(e)) if mode == ScoringMode::StripeWithFallback => {
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
        self.record_evaluation(&enriched, &mut verdict).await;
        if let Some(r) = &stripe_ref {
            // Kept next to the evaluation's keys, for the outcome report; a failure only costs
            // that report (logged and counted by the enricher).
            self.enricher
                .remember_upstream(&id, r, enriched.served)
                .await;
        }
        if mode == ScoringMode::Shadow
            && let Some(remote) = &self.scoring.remote
        {
            self.shadow(remote.clone(), req, &verdict, &id, enriched.served);
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
        answer(
            id,
            now_unix,
            self.livemode,
            req,
            &verdict,
            expand_attributes.then_some(&attrs),
            started.elapsed().as_micros() as u64,
        )
    }
}

impl EvaluationService {
    /// Shadow mode: Stripe scores the same payment in the background, off the request path; the
    /// agreement with the answer given is recorded.
    fn shadow(
        &self,
        remote: Arc<dyn RemoteScorer>,
        req: &CreatePaymentEvaluationRequest,
        answered: &Verdict,
        evaluation_id: &str,
        served: crate::enrich::Served,
    ) {
        let req = req.clone();
        let budget = self.scoring.upstream_max;
        let (action, risk_score) = (answered.action, answered.risk_score);
        // Stripe scored it too: its outcome is worth reporting to Stripe.
        let remember = self
            .outcomes
            .is_some()
            .then(|| (self.enricher.clone(), evaluation_id.to_owned()));
        tokio::spawn(async move {
            let key = upstream_idempotency_key(&req.idempotency_key);
            match remote.score(&req, &key, budget).await {
                Ok(rs) => {
                    if let Some((enricher, id)) = &remember
                        && let Some(r) = upstream_ref(&req, rs.id.as_deref())
                    {
                        enricher.remember_upstream(id, &r, served).await;
                    }
                    let agree = rs.recommended_action.as_deref() == Some(action.as_str());
                    metrics::counter!(
                        telemetry::SHADOW_COMPARISONS,
                        "agreement" => if agree { "agree" } else { "disagree" }
                    )
                    .increment(1);
                    metrics::histogram!(telemetry::SHADOW_SCORE_DIFFERENCE)
                        .record((rs.score - f64::from(risk_score)).abs());
                }
                Err(e) => {
                    tracing::debug!(error = %e, "shadow Stripe call failed");
                    metrics::counter!(telemetry::SHADOW_COMPARISONS, "agreement" => "shadow_failed")
                        .increment(1);
                }
            }
        });
    }
}

/// The enrichment stage, kept apart from the pure pipeline: state is read before the attributes and
/// written after the decision.
impl EvaluationService {
    /// Reads what is known about the payment (sessions, IP country, velocity) and records the
    /// attempt; never fails (unreadable state is missing and flagged `degraded`).
    async fn enrich(
        &self,
        engine: &Engine,
        input: &PaymentInput<'_>,
        evaluation_id: &str,
    ) -> Enriched {
        let t = Instant::now();
        let usd = engine.fx().to_usd(input.currency, input.amount);
        let enriched = self.enricher.enrich(input, evaluation_id, usd).await;
        self.timers.enrich.record(t.elapsed());
        enriched
    }

    /// After the decision: counts a block (and remembers a set-up payment's device).
    async fn record_evaluation(&self, enriched: &Enriched, verdict: &mut Verdict) {
        let blocked = verdict.action == Action::Block;
        let recorded = self.enricher.finish(enriched, blocked).await;
        verdict.degraded |= enriched.degraded || !recorded;
    }

    /// `ReportPaymentOutcome`.
    pub async fn report_outcome(
        &self,
        req: &ReportPaymentOutcomeRequest,
    ) -> Result<ReportPaymentOutcomeResponse, ApiError> {
        let (id, outcome, occurred_at) =
            validate::payment_outcome(req, self.enricher.clock().now())
                .map_err(ApiError::InvalidArgument)?;
        match self.enricher.report_outcome(id, outcome, occurred_at).await {
            // Unknown, or older than the outcome retention.
            Ok(OutcomeResult::NotFound) => Err(ApiError::NotFound {
                kind: "evaluation",
                id: id.to_owned(),
            }),
            Ok(result) => {
                if result == OutcomeResult::Recorded
                    && let Some(forwarder) = &self.outcomes
                {
                    let now = self.enricher.clock().now();
                    forwarder.submit(OutcomeJob {
                        evaluation_id: id.to_owned(),
                        outcome,
                        decline_reason: req.decline_reason.clone(),
                        occurred_at: if occurred_at > 0 {
                            occurred_at.min(now)
                        } else {
                            now
                        },
                    });
                }
                Ok(ReportPaymentOutcomeResponse {
                    evaluation: id.to_owned(),
                    outcome: req.outcome,
                    duplicate: result == OutcomeResult::Duplicate,
                })
            }
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    }
}

/// What to remember of a Stripe evaluation for its outcome report.
fn upstream_ref(
    req: &CreatePaymentEvaluationRequest,
    stripe_id: Option<&str>,
) -> Option<UpstreamRef> {
    let p = req.payment_details.as_ref()?;
    Some(UpstreamRef {
        id: stripe_id.filter(|id| !id.is_empty())?.to_owned(),
        amount: p.amount,
        currency: p.currency.clone(),
    })
}

fn payment_input<'a>(
    req: &'a CreatePaymentEvaluationRequest,
    timer: &Histogram,
) -> Result<PaymentInput<'a>, ApiError> {
    let t = Instant::now();
    let input = validate::payment_evaluation(req).map_err(ApiError::InvalidArgument);
    timer.record(t.elapsed());
    input
}

#[tonic::async_trait]
impl PaymentEvaluationService for EvaluationService {
    async fn create_payment_evaluation(
        &self,
        request: Request<CreatePaymentEvaluationRequest>,
    ) -> Result<Response<CreatePaymentEvaluationResponse>, Status> {
        // The server layer put the deadline in the extensions when it parsed one; parsing here
        // again covers a malformed header (refused) and calls that bypass the layer (tests).
        let deadline = match request.extensions().get::<Deadline>() {
            Some(d) => Some(*d),
            None => Deadline::from_metadata(request.metadata(), self.deadline_margin)
                .map_err(|e| Status::invalid_argument(e.to_string()))?,
        };
        let (answer, replay) = self.create(request.get_ref(), deadline).await?;
        let mut response = Response::new(answer);
        if replay {
            response
                .metadata_mut()
                .insert(REPLAYED_HEADER, MetadataValue::from_static("true"));
        }
        Ok(response)
    }

    async fn report_payment_outcome(
        &self,
        request: Request<ReportPaymentOutcomeRequest>,
    ) -> Result<Response<ReportPaymentOutcomeResponse>, Status> {
        Ok(Response::new(self.report_outcome(request.get_ref()).await?))
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

/// The answer in the API's shape.
fn answer(
    id: String,
    now_unix: i64,
    livemode: bool,
    req: &CreatePaymentEvaluationRequest,
    verdict: &Verdict,
    attributes: Option<&Attributes<'_>>,
    processing_time_us: u64,
) -> CreatePaymentEvaluationResponse {
    CreatePaymentEvaluationResponse {
        evaluation: Some(pb::PaymentEvaluation {
            id,
            object: OBJECT.to_owned(),
            created_at: now_unix,
            livemode,
            metadata: req.metadata.clone(),
            insights: Some(pb::Insights {
                evaluated_at: now_unix,
                fraudulent_dispute: Some(pb::FraudulentDispute {
                    recommended_action: verdict.action.as_str().to_owned(),
                    risk_score: u32::from(verdict.risk_score),
                }),
            }),
        }),
        decision: Some(pb::Decision {
            action: action_pb(verdict.action) as i32,
            risk_score: u32::from(verdict.risk_score),
            risk_level: match verdict.risk_level {
                RiskLevel::Normal => pb::RiskLevel::Normal,
                RiskLevel::Elevated => pb::RiskLevel::Elevated,
                RiskLevel::Highest => pb::RiskLevel::Highest,
            } as i32,
            score_source: match verdict.source {
                ScoreSource::LocalModel => pb::ScoreSource::LocalModel,
                ScoreSource::Stripe => pb::ScoreSource::Stripe,
                ScoreSource::Fallback => pb::ScoreSource::Fallback,
            } as i32,
            matched_rule: verdict.matched_rule.as_ref().map(|r| pb::MatchedRule {
                id: r.id.to_string(),
                action: action_pb(r.action) as i32,
                predicate: r.predicate.to_string(),
            }),
            reasons: verdict
                .reasons
                .iter()
                .map(|r| pb::Reason {
                    code: r.code.to_string(),
                    message: r.message.clone(),
                })
                .collect(),
            degraded: verdict.degraded,
            processing_time_us,
        }),
        attributes: attributes
            .map(|attrs| {
                attrs
                    .iter()
                    .map(|(attr, value)| (attr.name().to_owned(), attribute_pb(value)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn action_pb(action: Action) -> pb::Action {
    match action {
        Action::Continue => pb::Action::Continue,
        Action::Review => pb::Action::Review,
        Action::RequestThreeDSecure => pb::Action::RequestThreeDSecure,
        Action::Block => pb::Action::Block,
    }
}

fn attribute_pb(value: &Value<'_>) -> pb::AttributeValue {
    use pb::attribute_value::Kind;
    pb::AttributeValue {
        kind: Some(match value {
            Value::Number(n) => Kind::Number(*n),
            Value::Text(t) => Kind::Text(t.to_string()),
            Value::Bool(b) => Kind::Flag(*b),
        }),
    }
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
