//! `riskgate.v1.PaymentEvaluationService`: evaluations and their outcome reports. This file maps
//! protobuf to the domain and back; the stages run in [`crate::pipeline`].

use std::sync::Arc;

use quanta::Instant;

use tonic::{Request, Response, Status, metadata::MetadataValue};

use crate::{
    api::{
        deadline::Deadline,
        error::ApiError,
        validate::{self, FieldViolation},
    },
    config::{EvaluationShape, scoring::ScoringMode},
    pipeline::{EngineHandle, Evaluation, Options, OutcomeDetail, Pipeline},
    proto::v1::{
        self as pb, CreatePaymentEvaluationRequest, CreatePaymentEvaluationResponse,
        ReportPaymentOutcomeRequest, ReportPaymentOutcomeResponse,
        payment_evaluation_service_server::PaymentEvaluationService,
    },
    stores::{
        idempotency::{self, IdempotencyError, IdempotencyStore},
        state::OutcomeResult,
    },
};
use riskgate_core::{
    attributes::Value,
    decision::{Action, RiskLevel},
    engine::{Engine, ScoreSource, Verdict},
    input::PaymentInput,
};

/// Stripe's object name for an evaluation.
pub const OBJECT: &str = "radar.payment_evaluation";
/// Response metadata set on an idempotent replay (Stripe's `Idempotent-Replayed` header).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// `riskgate.v1.PaymentEvaluationService`.
#[derive(Clone)]
pub struct EvaluationService {
    pipeline: Pipeline,
    idempotency: IdempotencyStore,
    livemode: bool,
    deadline_margin: std::time::Duration,
    shape: EvaluationShape,
}

impl EvaluationService {
    /// A service on `pipeline`; answers kept for idempotent replays in `idempotency`; `livemode`
    /// is shown on every evaluation; calls with a deadline are answered `deadline_margin` early.
    pub fn new(
        pipeline: Pipeline,
        idempotency: IdempotencyStore,
        livemode: bool,
        deadline_margin: std::time::Duration,
    ) -> Self {
        Self {
            pipeline,
            idempotency,
            livemode,
            deadline_margin,
            shape: EvaluationShape::default(),
        }
    }

    /// Shows the evaluation in `shape` (`api.evaluation_shape`; default the current one).
    pub fn with_evaluation_shape(mut self, shape: EvaluationShape) -> Self {
        self.shape = shape;
        self
    }

    /// A service on a fixed engine with in-process state and local scoring (tests, benchmarks).
    pub fn in_process(
        engine: Arc<Engine>,
        idempotency: IdempotencyStore,
        livemode: bool,
        deadline_margin: std::time::Duration,
    ) -> Self {
        Self::new(
            Pipeline::in_process(engine),
            idempotency,
            livemode,
            deadline_margin,
        )
    }

    /// A service whose engine can be swapped through `engine` (hot reload), with in-process
    /// state.
    pub fn with_engine_handle(
        engine: EngineHandle,
        idempotency: IdempotencyStore,
        livemode: bool,
        deadline_margin: std::time::Duration,
    ) -> Self {
        Self::new(
            Pipeline::new(
                engine,
                Arc::new(crate::enrich::Enricher::in_process_default()),
            ),
            idempotency,
            livemode,
            deadline_margin,
        )
    }

    /// The pipeline this service runs.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The scoring mode of `req`: its override, else the configured one.
    fn mode(&self, req: &CreatePaymentEvaluationRequest) -> Result<ScoringMode, ApiError> {
        let scoring = self.pipeline.scoring();
        if req.scoring_mode.is_empty() {
            return Ok(scoring.mode);
        }
        let violation = |description: String| {
            ApiError::InvalidArgument(vec![FieldViolation {
                field: "scoring_mode".into(),
                description,
            }])
        };
        let mode = ScoringMode::parse(&req.scoring_mode).ok_or_else(|| {
            violation(
                "must be one of local, stripe, stripe_with_fallback, shadow (or empty)".into(),
            )
        })?;
        if mode != scoring.mode && !scoring.allow_request_override {
            return Err(violation(format!(
                "this server scores with {}; a request may choose another mode only when \
                 scoring.allow_request_override is set (leave scoring_mode empty)",
                scoring.mode.as_str()
            )));
        }
        if mode.uses_stripe() && scoring.remote.is_none() {
            return Err(violation(format!(
                "{} needs Stripe, which is not configured on this server (set \
                 STRIPE_SECRET_KEY or stripe.secret_key_file)",
                mode.as_str()
            )));
        }
        Ok(mode)
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
        let input = self.payment_input(req)?;
        let mode = self.mode(req)?;
        let options = Options {
            mode,
            idempotency_key: &req.idempotency_key,
            answer_by: deadline.map(|d| d.at()),
            expand_attributes: req.expand.iter().any(|e| e == "attributes"),
        };

        // The evaluation's state (attributes, enrichment) is tens of KB: boxed, so that only an
        // evaluation allocates it, not every call's future (deadline and replay paths included).
        let (response, replay) = if req.idempotency_key.is_empty() {
            let evaluation = Box::pin(self.answer(req, &input, options, started));
            let response = match deadline {
                Some(d) if mode.uses_stripe() => d.run(evaluation).await?,
                _ => evaluation.await,
            };
            (response, false)
        } else {
            // Boxed too: the idempotency store's future is several KB, and held inline it made
            // every call's future (keyed or not) that large, moved into its box on every call.
            let evaluation = Box::pin(self.idempotency.get_or_evaluate(
                &req.idempotency_key,
                idempotency::fingerprint(req),
                async {
                    Ok::<_, ApiError>(Box::pin(self.answer(req, &input, options, started)).await)
                },
            ));
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

    /// Validates `req` into the domain's payment.
    fn payment_input<'a>(
        &self,
        req: &'a CreatePaymentEvaluationRequest,
    ) -> Result<PaymentInput<'a>, ApiError> {
        let t = Instant::now();
        let input = validate::payment_evaluation(req).map_err(ApiError::InvalidArgument);
        self.pipeline.timers().validate.record(t.elapsed());
        input
    }

    /// Runs the pipeline and maps its evaluation to the answer.
    async fn answer(
        &self,
        req: &CreatePaymentEvaluationRequest,
        input: &PaymentInput<'_>,
        options: Options<'_>,
        started: Instant,
    ) -> CreatePaymentEvaluationResponse {
        let evaluation = self.pipeline.evaluate(input, options).await;
        answer(
            evaluation,
            self.livemode,
            self.shape,
            req,
            started.elapsed().as_micros() as u64,
        )
    }

    /// `ReportPaymentOutcome`.
    pub async fn report_outcome(
        &self,
        req: &ReportPaymentOutcomeRequest,
    ) -> Result<ReportPaymentOutcomeResponse, ApiError> {
        let (id, report, occurred_at) = validate::payment_outcome(req, self.pipeline.clock().now())
            .map_err(ApiError::InvalidArgument)?;
        match self
            .pipeline
            .report_outcome(id, report, occurred_at, &outcome_detail(req))
            .await
        {
            // Unknown, or older than the outcome retention.
            Ok(OutcomeResult::NotFound) => Err(ApiError::NotFound {
                kind: "evaluation",
                id: id.to_owned(),
            }),
            Ok(result) => Ok(ReportPaymentOutcomeResponse {
                evaluation: id.to_owned(),
                outcome: req.outcome,
                duplicate: result == OutcomeResult::Duplicate,
                label: report.label.as_str().to_owned(),
            }),
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    }
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

/// What the orchestrator said of an outcome, for the report to Stripe.
fn outcome_detail(req: &ReportPaymentOutcomeRequest) -> OutcomeDetail {
    OutcomeDetail {
        decline_code: req.decline_reason.clone(),
        dispute_reason: req.dispute_reason.clone(),
        fraud_type: req.fraud_type.clone(),
        refund_reason: req.refund_reason.clone(),
    }
}

/// The answer in the API's shape, the evaluation in `shape`.
fn answer(
    evaluation: Evaluation,
    livemode: bool,
    shape: EvaluationShape,
    req: &CreatePaymentEvaluationRequest,
    processing_time_us: u64,
) -> CreatePaymentEvaluationResponse {
    let Evaluation {
        id,
        created_at,
        verdict,
        score,
        attributes,
    } = evaluation;
    CreatePaymentEvaluationResponse {
        evaluation: Some(pb::PaymentEvaluation {
            id,
            object: OBJECT.to_owned(),
            created_at,
            livemode,
            metadata: req.metadata.clone(),
            insights: shape.preview().then(|| pb::Insights {
                evaluated_at: created_at,
                fraudulent_dispute: Some(pb::FraudulentDispute {
                    recommended_action: preview_action(verdict.action).to_owned(),
                    risk_score: u32::from(verdict.risk_score),
                }),
            }),
            recommended_action: if shape.current() {
                current_action(verdict.action).to_owned()
            } else {
                String::new()
            },
            signals: shape.current().then(|| pb::Signals {
                fraudulent_payment: Some(pb::FraudulentPayment {
                    score: score.unwrap_or(NOT_ASSESSED),
                    risk_level: verdict.risk_level.as_str().to_owned(),
                    evaluated_at: created_at,
                }),
            }),
        }),
        decision: Some(decision_pb(&verdict, processing_time_us)),
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

/// Stripe's score of a payment it did not assess.
const NOT_ASSESSED: f64 = -1.0;

/// The current shape's `recommended_action` (`block | continue`, and `request_three_d_secure`,
/// which its description documents): REVIEW — riskgate's and Radar rules' action, never Stripe's
/// recommendation — lets the payment go on to authorization, `continue`.
fn current_action(action: Action) -> &'static str {
    match action {
        Action::Block => "block",
        Action::RequestThreeDSecure => "request_three_d_secure",
        Action::Continue | Action::Review => "continue",
    }
}

/// The preview shape's `recommended_action`, whose enum is `block | continue` only.
fn preview_action(action: Action) -> &'static str {
    match action {
        Action::Block => "block",
        Action::Continue | Action::Review | Action::RequestThreeDSecure => "continue",
    }
}

fn decision_pb(verdict: &Verdict, processing_time_us: u64) -> pb::Decision {
    pb::Decision {
        action: action_pb(verdict.action) as i32,
        risk_score: u32::from(verdict.risk_score),
        risk_level: match verdict.risk_level {
            RiskLevel::Normal => pb::RiskLevel::Normal,
            RiskLevel::Elevated => pb::RiskLevel::Elevated,
            RiskLevel::Highest => pb::RiskLevel::Highest,
            RiskLevel::Low => pb::RiskLevel::Low,
            RiskLevel::NotAssessed => pb::RiskLevel::NotAssessed,
            RiskLevel::Unknown => pb::RiskLevel::Unknown,
        } as i32,
        score_source: match verdict.source {
            ScoreSource::LocalModel => pb::ScoreSource::LocalModel,
            ScoreSource::Stripe => pb::ScoreSource::Stripe,
            ScoreSource::Fallback => pb::ScoreSource::Fallback,
        } as i32,
        matched_rule: verdict.matched_rule.as_ref().map(|r| pb::MatchedRule {
            id: r.id().to_owned(),
            action: action_pb(r.action) as i32,
            predicate: r.predicate().to_owned(),
        }),
        reasons: verdict
            .reasons
            .iter()
            .map(|r| pb::Reason {
                code: r.code.to_string(),
                message: r.message.to_string(),
            })
            .collect(),
        degraded: verdict.degraded,
        processing_time_us,
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
    fn the_evaluation_speaks_only_stripes_words() {
        // Current shape: block | continue, and request_three_d_secure (documented); REVIEW is
        // never Stripe's recommendation and lets the payment through.
        assert_eq!(current_action(Action::Block), "block");
        assert_eq!(
            current_action(Action::RequestThreeDSecure),
            "request_three_d_secure"
        );
        assert_eq!(current_action(Action::Review), "continue");
        // Preview shape: block | continue only.
        assert_eq!(preview_action(Action::RequestThreeDSecure), "continue");
        assert_eq!(preview_action(Action::Block), "block");
    }
}
