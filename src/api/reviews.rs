//! `riskgate.v1.ReviewService`: the analyst review queue over gRPC, Stripe's review object in
//! shape, behind the admin token. Maps protobuf ⇄ the desk ([`ReviewDesk`]); every change is
//! recorded with its actor (the credential, and the analyst named in `riskgate-analyst`).

use tonic::{Request, Response, Status};

use crate::api::{auth::AdminAuth, error::ApiError, validate::FieldViolation};
use crate::{
    pipeline::reviews::ReviewDesk,
    proto::v1::{self as pb, review_service_server::ReviewService},
    stores::reviews::{
        FraudType, Query, Review, StateFilter,
        types::{MAX_NOTE_CHARS, OpenedReason},
    },
};

/// The review service.
#[derive(Clone)]
pub struct ReviewsService {
    desk: ReviewDesk,
    auth: AdminAuth,
    livemode: bool,
}

impl ReviewsService {
    pub fn new(desk: ReviewDesk, auth: AdminAuth, livemode: bool) -> Self {
        Self {
            desk,
            auth,
            livemode,
        }
    }
}

fn invalid(field: &str, description: impl Into<String>) -> Status {
    ApiError::InvalidArgument(vec![FieldViolation {
        field: field.into(),
        description: description.into(),
    }])
    .into()
}

fn required_id(id: &str) -> Result<(), Status> {
    if id.trim().is_empty() {
        Err(invalid("id", "required"))
    } else {
        Ok(())
    }
}

/// A note: `None` when empty; refused when too long or holding control characters.
pub fn note(field: &str, text: &str, required: bool) -> Result<Option<String>, Status> {
    let text = text.trim();
    if text.is_empty() {
        return if required {
            Err(invalid(field, "required"))
        } else {
            Ok(None)
        };
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(invalid(
            field,
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(Some(text.to_owned()))
}

/// The fraud type named `s`, or the field violation listing the valid ones.
pub fn fraud_type(field: &str, s: &str) -> Result<FraudType, Status> {
    FraudType::parse(s).ok_or_else(|| {
        invalid(
            field,
            format!(
                "must be one of {}",
                FraudType::ALL.map(FraudType::as_str).join(", ")
            ),
        )
    })
}

fn query(r: &pb::ListReviewsRequest) -> Result<Query<'_>, Status> {
    if r.limit > 100 {
        return Err(invalid("limit", "must be between 1 and 100"));
    }
    let state = StateFilter::parse(&r.state)
        .ok_or_else(|| invalid("state", "must be open, closed or all"))?;
    let reason = (!r.reason.is_empty()).then_some(r.reason.as_str());
    if let Some(reason) = reason
        && OpenedReason::parse(reason).is_none()
        && crate::stores::reviews::ClosedReason::parse(reason).is_none()
    {
        return Err(invalid(
            "reason",
            "must be rule, model, manual, approved, refunded, refunded_as_fraud, disputed or redacted",
        ));
    }
    let currency = (!r.currency.is_empty()).then_some(r.currency.as_str());
    if currency.is_some_and(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_lowercase())) {
        return Err(invalid("currency", "a lower-case ISO 4217 code"));
    }
    Ok(Query {
        state,
        reason,
        min_age_secs: r.min_age_seconds,
        max_age_secs: r.max_age_seconds,
        amount_gte: r.amount_gte,
        amount_lte: r.amount_lte,
        currency,
        limit: r.limit as usize,
        starting_after: (!r.starting_after.is_empty()).then_some(r.starting_after.as_str()),
        oldest_first: r.oldest_first,
    })
}

/// The protobuf review of `r` at `now`; `full` adds history (related are added by the caller).
pub fn review_pb(r: &Review, now: i64, livemode: bool, full: bool) -> pb::Review {
    let e = &r.evidence;
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    pb::Review {
        id: r.id.clone(),
        object: "review".into(),
        open: r.open,
        opened_reason: r.opened_reason.as_str().into(),
        closed_reason: r
            .closed_reason
            .map(|c| c.as_str().into())
            .unwrap_or_default(),
        reason: r.reason().into(),
        created: r.created,
        closed_at: r.closed_at.unwrap_or(0),
        payment_evaluation: r.payment_evaluation.clone(),
        livemode,
        ip_address: opt(&e.device.ip_address),
        billing_zip: opt(&e.billing_zip),
        closed_by: opt(&r.closed_by),
        fraud_type: r.fraud_type.map(|f| f.as_str().into()).unwrap_or_default(),
        evidence: Some(pb::ReviewEvidence {
            amount: e.amount,
            currency: e.currency.clone(),
            amount_in_usd: e.amount_in_usd,
            card: Some(pb::ReviewCard {
                brand: opt(&e.card.brand),
                bin: opt(&e.card.bin),
                last4: opt(&e.card.last4),
                country: opt(&e.card.country),
                funding: opt(&e.card.funding),
                fingerprint: opt(&e.card.fingerprint),
                wallet: opt(&e.card.wallet),
                exp_month: e.card.exp_month.unwrap_or(0),
                exp_year: e.card.exp_year.unwrap_or(0),
            }),
            payment_method: opt(&e.payment_method),
            customer: opt(&e.customer),
            email: opt(&e.email),
            billing_country: opt(&e.billing_country),
            shipping_country: opt(&e.shipping_country),
            device: Some(pb::ReviewDevice {
                ip_address: opt(&e.device.ip_address),
                ip_country: opt(&e.device.ip_country),
                user_agent: opt(&e.device.user_agent),
                browser: opt(&e.device.browser),
                operating_system: opt(&e.device.operating_system),
                device_id: opt(&e.device.device_id),
                radar_session: opt(&e.device.radar_session),
            }),
            risk_score: u32::from(e.risk_score),
            risk_level: e.risk_level.clone(),
            score_source: e.score_source.clone(),
            matched_rule: e.matched_rule.as_ref().map(|m| pb::MatchedRule {
                id: m.id.clone(),
                action: action_pb(&m.action) as i32,
                predicate: m.predicate.clone(),
            }),
            reasons: e
                .reasons
                .iter()
                .map(|x| pb::Reason {
                    code: x.code.clone(),
                    message: x.message.clone(),
                })
                .collect(),
            velocity: facts(&e.velocity),
            outcomes: facts(&e.outcomes),
            metadata: e.metadata.clone(),
            degraded: e.degraded,
        }),
        history: if full {
            r.history
                .iter()
                .map(|h| pb::ReviewHistoryEntry {
                    at: h.at,
                    actor: h.actor.clone(),
                    action: h.action.clone(),
                    note: h.note.clone().unwrap_or_default(),
                    fraud_type: h.fraud_type.map(|f| f.as_str().into()).unwrap_or_default(),
                })
                .collect()
        } else {
            Vec::new()
        },
        related: Vec::new(),
        age_seconds: r.age(now),
    }
}

fn facts(f: &[crate::stores::reviews::types::Fact]) -> Vec<pb::ReviewFact> {
    f.iter()
        .map(|f| pb::ReviewFact {
            name: f.name.clone(),
            value: f.value.clone(),
        })
        .collect()
}

fn action_pb(action: &str) -> pb::Action {
    match action {
        "continue" => pb::Action::Continue,
        "review" => pb::Action::Review,
        "request_three_d_secure" => pb::Action::RequestThreeDSecure,
        "block" => pb::Action::Block,
        _ => pb::Action::Unspecified,
    }
}

impl ReviewsService {
    fn answer(&self, r: &Review) -> Response<pb::Review> {
        Response::new(review_pb(r, self.desk.clock().now(), self.livemode, true))
    }
}

#[tonic::async_trait]
impl ReviewService for ReviewsService {
    async fn list_reviews(
        &self,
        request: Request<pb::ListReviewsRequest>,
    ) -> Result<Response<pb::ListReviewsResponse>, Status> {
        self.auth.check(request.metadata())?;
        let r = request.into_inner();
        let q = query(&r)?;
        let (page, has_more) = self.desk.list(&q).await.map_err(ApiError::from)?;
        let now = self.desk.clock().now();
        Ok(Response::new(pb::ListReviewsResponse {
            object: "list".into(),
            data: page
                .iter()
                .map(|r| review_pb(r, now, self.livemode, false))
                .collect(),
            has_more,
        }))
    }

    async fn retrieve_review(
        &self,
        request: Request<pb::RetrieveReviewRequest>,
    ) -> Result<Response<pb::Review>, Status> {
        self.auth.check(request.metadata())?;
        let id = &request.get_ref().id;
        required_id(id)?;
        let found = self.desk.get(id).await.map_err(ApiError::from)?;
        let mut answer = self.answer(&found.review);
        answer.get_mut().related = found
            .related
            .iter()
            .map(|r| pb::RelatedReview {
                id: r.id.clone(),
                open: r.open,
                reason: r.reason().into(),
                created: r.created,
                payment_evaluation: r.payment_evaluation.clone(),
                fraud_type: r.fraud_type.map(|f| f.as_str().into()).unwrap_or_default(),
            })
            .collect();
        Ok(answer)
    }

    async fn approve_review(
        &self,
        request: Request<pb::ApproveReviewRequest>,
    ) -> Result<Response<pb::Review>, Status> {
        let actor = self.auth.actor(request.metadata())?;
        let r = request.into_inner();
        required_id(&r.id)?;
        let note = note("note", &r.note, false)?;
        let review = self
            .desk
            .approve(&r.id, &actor, note)
            .await
            .map_err(ApiError::from)?;
        Ok(self.answer(&review))
    }

    async fn reject_review(
        &self,
        request: Request<pb::RejectReviewRequest>,
    ) -> Result<Response<pb::Review>, Status> {
        let actor = self.auth.actor(request.metadata())?;
        let r = request.into_inner();
        required_id(&r.id)?;
        let kind = fraud_type("fraud_type", &r.fraud_type)?;
        let note = note("note", &r.note, false)?;
        let review = self
            .desk
            .reject(&r.id, &actor, kind, note)
            .await
            .map_err(ApiError::from)?;
        Ok(self.answer(&review))
    }

    async fn add_review_note(
        &self,
        request: Request<pb::AddReviewNoteRequest>,
    ) -> Result<Response<pb::Review>, Status> {
        let actor = self.auth.actor(request.metadata())?;
        let r = request.into_inner();
        required_id(&r.id)?;
        let text = note("note", &r.note, true)?.unwrap_or_default();
        let review = self
            .desk
            .note(&r.id, &actor, text)
            .await
            .map_err(ApiError::from)?;
        Ok(self.answer(&review))
    }

    async fn open_review(
        &self,
        request: Request<pb::OpenReviewRequest>,
    ) -> Result<Response<pb::Review>, Status> {
        let actor = self.auth.actor(request.metadata())?;
        let r = request.into_inner();
        if !r.payment_evaluation.starts_with("peval_") {
            return Err(invalid("payment_evaluation", "an evaluation id (peval_…)"));
        }
        let text = note("note", &r.note, true)?.unwrap_or_default();
        let review = self
            .desk
            .open_manual(&r.payment_evaluation, &actor, text)
            .await
            .map_err(ApiError::from)?;
        Ok(self.answer(&review))
    }
}
