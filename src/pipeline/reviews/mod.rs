//! The review desk: what both review front ends — `ReviewService` (gRPC, `src/api/reviews.rs`)
//! and the review page on the admin port (`src/server/admin/reviews/`) — do through one type.
//!
//! - **Opening**: the record stage builds a REVIEW decision's review ([`evidence::review_of`])
//!   and hands it to the [`opener::ReviewOpener`], off the request path.
//! - **Closing**: approve and reject close the review in the store first — the store lets only
//!   the first of two concurrent verdicts win — and then feed the verdict back
//!   ([`crate::pipeline::verdicts`]): an outcome for every key the evaluation carried and, for a
//!   reject with `reviews.block_on_reject`, the card fingerprint and email on the block lists.
//!   Feedback that fails does not undo the verdict: it is logged, counted, and written into the
//!   review's history for the analyst to see.
//! - **Auditing**: every change is in the review's history (who, when, what) and, with
//!   `audit.path`, in the audit log.
//! - **Metrics**: opened and closed counts, the age at close, and the queue gauges.

pub mod evidence;
pub mod gauges;
pub mod opener;

use std::{sync::Arc, time::Duration};

use super::{Pipeline, verdicts::Verdict};
use crate::{
    clock::Clock,
    config::ReviewsConfig,
    record::{audit::AuditLog, reviews::ReviewAuditRecord},
    stores::{
        StoreError,
        lists::backend::ValueListStore,
        reviews::{
            Change, ClosedReason, FraudType, Query, Review, ReviewStore,
            types::{Evidence, HistoryEntry, OpenedReason, new_review_id},
        },
        state::OutcomeResult,
    },
    telemetry,
};

pub use evidence::GATEWAY_ACTOR;

/// Most related reviews shown with a review.
pub const RELATED_LIMIT: usize = 10;
/// How often the desk's upkeep refreshes the gauges and forgets expired reviews.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(15);

/// The review desk (see the module docs).
#[derive(Clone)]
pub struct ReviewDesk {
    store: Arc<dyn ReviewStore>,
    pipeline: Pipeline,
    lists: Option<Arc<dyn ValueListStore>>,
    audit: Option<AuditLog>,
    config: ReviewsConfig,
    clock: Clock,
}

impl std::fmt::Debug for ReviewDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewDesk").finish_non_exhaustive()
    }
}

/// A review with the reviews sharing its card, email or customer.
#[derive(Debug, Clone)]
pub struct ReviewWithRelated {
    pub review: Review,
    pub related: Vec<Review>,
}

impl ReviewDesk {
    /// A desk on `store`, feeding verdicts back through `pipeline` and, for rejects with
    /// `reviews.block_on_reject`, into `lists`.
    pub fn new(
        store: Arc<dyn ReviewStore>,
        pipeline: Pipeline,
        lists: Option<Arc<dyn ValueListStore>>,
        audit: Option<AuditLog>,
        config: ReviewsConfig,
    ) -> Self {
        Self {
            clock: pipeline.clock().clone(),
            store,
            pipeline,
            lists,
            audit,
            config,
        }
    }

    pub fn config(&self) -> &ReviewsConfig {
        &self.config
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// One page of reviews.
    pub async fn list(&self, query: &Query<'_>) -> Result<(Vec<Review>, bool), StoreError> {
        self.store.list(query, self.clock.now()).await
    }

    /// A review, with up to [`RELATED_LIMIT`] related ones.
    pub async fn get(&self, id: &str) -> Result<ReviewWithRelated, StoreError> {
        let review = self.store.get(id).await?;
        let related = self
            .store
            .related(&review.links, &review.id, RELATED_LIMIT)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "related reviews could not be read");
                Vec::new()
            });
        Ok(ReviewWithRelated { review, related })
    }

    /// Approves: closes the review (`approved`) and records a good outcome.
    pub async fn approve(
        &self,
        id: &str,
        actor: &str,
        note: Option<String>,
    ) -> Result<Review, StoreError> {
        let change = Change::Close {
            reason: ClosedReason::Approved,
            fraud_type: None,
            note,
        };
        self.close(id, &change, actor, Verdict::Legitimate).await
    }

    /// Rejects as fraud: closes the review (`refunded_as_fraud`), records a fraud outcome and,
    /// when configured, blocks the card fingerprint and email.
    pub async fn reject(
        &self,
        id: &str,
        actor: &str,
        fraud_type: FraudType,
        note: Option<String>,
    ) -> Result<Review, StoreError> {
        let change = Change::Close {
            reason: ClosedReason::RefundedAsFraud,
            fraud_type: Some(fraud_type),
            note,
        };
        self.close(id, &change, actor, Verdict::Fraud).await
    }

    /// Adds a note.
    pub async fn note(&self, id: &str, actor: &str, text: String) -> Result<Review, StoreError> {
        let now = self.clock.now();
        let review = self
            .store
            .change(id, &Change::Note(text), actor, now)
            .await?;
        self.audit(&review, "note", actor, None, &[], now);
        Ok(review)
    }

    /// Opens a review by hand for `evaluation_id`; `note` says why.
    pub async fn open_manual(
        &self,
        evaluation_id: &str,
        actor: &str,
        note: String,
    ) -> Result<Review, StoreError> {
        let now = self.clock.now();
        let review = Review {
            id: new_review_id(),
            created: now,
            open: true,
            opened_reason: OpenedReason::Manual,
            closed_reason: None,
            closed_at: None,
            closed_by: None,
            fraud_type: None,
            payment_evaluation: evaluation_id.to_owned(),
            evidence: Evidence::default(),
            history: vec![HistoryEntry {
                at: now,
                actor: actor.to_owned(),
                action: "opened".to_owned(),
                note: Some(note),
                fraud_type: None,
            }],
            links: Vec::new(),
        };
        self.store.open(review.clone(), now).await?;
        metrics::counter!(telemetry::REVIEWS_OPENED, "reason" => OpenedReason::Manual.as_str())
            .increment(1);
        self.audit(&review, "opened", actor, None, &[], now);
        gauges::refresh(self.store.as_ref(), now, self.config.sla_secs).await;
        Ok(review)
    }

    async fn close(
        &self,
        id: &str,
        change: &Change,
        actor: &str,
        verdict: Verdict,
    ) -> Result<Review, StoreError> {
        let now = self.clock.now();
        let mut review = self.store.change(id, change, actor, now).await?;
        let reason = review.reason();
        metrics::counter!(telemetry::REVIEWS_CLOSED, "reason" => reason).increment(1);
        metrics::histogram!(telemetry::REVIEW_AGE_AT_CLOSE).record(review.age(now) as f64);
        tracing::info!(
            review = %review.id,
            evaluation = %review.payment_evaluation,
            reason,
            age_secs = review.age(now),
            "review closed"
        );
        let (outcome, blocked, problems) = self.feed_back(&review, verdict, actor, now).await;
        self.audit(&review, reason, actor, Some(outcome), &blocked, now);
        if !problems.is_empty() {
            let text = format!("feedback incomplete: {}", problems.join("; "));
            match self
                .store
                .change(&review.id, &Change::Note(text), GATEWAY_ACTOR, now)
                .await
            {
                Ok(noted) => review = noted,
                Err(e) => tracing::warn!(error = %e, "the feedback note was not written"),
            }
        }
        gauges::refresh(self.store.as_ref(), now, self.config.sla_secs).await;
        Ok(review)
    }

    /// Feeds the verdict back; returns the outcome's result, the lists added to and what went
    /// wrong (in words for the review's history).
    async fn feed_back(
        &self,
        review: &Review,
        verdict: Verdict,
        actor: &str,
        now: i64,
    ) -> (&'static str, Vec<String>, Vec<String>) {
        let mut problems = Vec::new();
        let outcome = match self
            .pipeline
            .report_verdict(&review.payment_evaluation, verdict, now)
            .await
        {
            Ok(r) => {
                if r == OutcomeResult::NotFound {
                    problems.push(format!(
                        "the evaluation {} is no longer remembered (older than \
                         enrichment.outcome_retention_secs, or evaluated before a restart), so \
                         no outcome was recorded",
                        review.payment_evaluation
                    ));
                }
                r.as_str()
            }
            Err(e) => {
                tracing::warn!(review = %review.id, error = %e, "review verdict: outcome not recorded");
                problems.push(format!("the outcome was not recorded ({e})"));
                "error"
            }
        };
        metrics::counter!(telemetry::REVIEW_FEEDBACK, "step" => "outcome", "result" => outcome)
            .increment(1);
        let mut blocked = Vec::new();
        if verdict == Verdict::Fraud
            && self.config.block_on_reject
            && let Some(lists) = &self.lists
        {
            let e = &review.evidence;
            for (list, value) in [
                (&self.config.card_fingerprint_list, &e.card.fingerprint),
                (&self.config.email_list, &e.email),
            ] {
                let Some(value) = value else { continue };
                let result = match lists.create_item(list, value, now, actor).await {
                    Ok(_) => {
                        blocked.push(list.clone());
                        "recorded"
                    }
                    Err(StoreError::AlreadyExists { .. }) => "duplicate",
                    Err(e) => {
                        tracing::warn!(review = %review.id, list, error = %e, "review verdict: not added to a block list");
                        problems.push(format!("not added to {list} ({e})"));
                        "error"
                    }
                };
                metrics::counter!(telemetry::REVIEW_FEEDBACK, "step" => "block_list", "result" => result)
                    .increment(1);
            }
        }
        (outcome, blocked, problems)
    }

    fn audit(
        &self,
        review: &Review,
        action: &str,
        actor: &str,
        outcome: Option<&str>,
        blocked: &[String],
        now: i64,
    ) {
        if let Some(audit) = &self.audit {
            audit.record_json(&ReviewAuditRecord {
                ts: now,
                kind: "review",
                review: &review.id,
                evaluation: &review.payment_evaluation,
                action,
                actor,
                fraud_type: review
                    .fraud_type
                    .filter(|_| !review.open && action != "note")
                    .map(FraudType::as_str),
                outcome,
                blocked,
            });
        }
    }

    /// Refreshes the gauges and forgets expired reviews every 15 s, until `shutdown` turns true.
    pub async fn run_upkeep(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = crate::shutdown::stopped(shutdown.clone()) => return,
            }
            let now = self.clock.now();
            match self.store.sweep(now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(reviews = n, "closed reviews past their retention forgotten")
                }
                Err(e) => tracing::warn!(error = %e, "reviews sweep failed"),
            }
            gauges::refresh(self.store.as_ref(), now, self.config.sla_secs).await;
        }
    }
}
