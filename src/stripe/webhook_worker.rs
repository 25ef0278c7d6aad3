//! Applying accepted Stripe events, off the request path.
//!
//! For each accepted [`WebhookJob`] the worker:
//! 1. fetches the charge the event names (`GET /v1/charges/{id}` with `stripe.charges_api_version`,
//!    within `webhooks.charge_fetch_budget_ms`, retried by the Stripe client as any call); an
//!    already expanded charge is used as it is;
//! 2. for a fraud label (every early fraud warning, a dispute with reason `fraudulent`) and with
//!    `webhooks.block`, adds the charge's card fingerprint and email to the block lists;
//! 3. unless the warning's or dispute's label was claimed in the ledger (`du_…:fraudulent_dispute`:
//!    its `created` and `updated`/`closed` events teach it once), applies it to every entity the
//!    charge carries (card, customer, email, addresses) in outcome memory, at the time Stripe
//!    created the warning or dispute, then claims it;
//! 4. appends the label to `webhooks.labels_path`, if set, and marks the event done.
//!
//! A step that fails for a reason that may pass (Stripe unreachable, 5xx, 429, the state store
//! down) is tried again after a jittered backoff (`webhooks.retry_*`), up to `webhooks.max_attempts`
//! tries; then the event stays pending in the ledger and is tried again at the next start. A charge
//! Stripe does not have (404), or a refusal that will not pass (4xx), ends the event (counted).

use std::{
    io::Write,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::{
    config::WebhooksConfig,
    enrich::Enricher,
    scoring::remote::ErrorKind,
    stores::{StoreError, lists::backend::ValueListStore, webhooks::WebhookLedger},
    stripe::{
        client::{Family, StripeClient},
        events::{ChargeFacts, ChargeRef, Subject, WebhookJob},
        retry::RetryPolicy,
    },
    telemetry,
};

/// Hands accepted events to the worker. Unbounded: every queued event is also pending in the
/// ledger, whose size bounds it.
#[derive(Debug, Clone)]
pub struct Queue {
    tx: mpsc::UnboundedSender<WebhookJob>,
    depth: Arc<AtomicI64>,
}

/// The worker's end of a [`Queue`].
pub type Jobs = mpsc::UnboundedReceiver<WebhookJob>;

/// A new queue and its receiving end.
pub fn queue() -> (Queue, Jobs) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Queue {
            tx,
            depth: Arc::new(AtomicI64::new(0)),
        },
        rx,
    )
}

impl Queue {
    /// Queues `job`. When the worker is gone (shutting down) it stays pending in the ledger.
    pub fn submit(&self, job: WebhookJob) {
        if self.tx.send(job).is_ok() {
            let depth = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
            metrics::gauge!(telemetry::WEBHOOK_QUEUE_DEPTH).set(depth as f64);
        }
    }

    fn finished(&self) {
        let depth = self.depth.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!(telemetry::WEBHOOK_QUEUE_DEPTH).set(depth.max(0) as f64);
    }
}

/// How one try of an event ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    /// Its label was applied.
    Applied,
    /// Its warning's or dispute's label was applied before (an earlier event about it).
    AlreadyApplied,
    /// Stripe has no such charge.
    NoCharge,
}

/// How one try of an event failed.
#[derive(Debug)]
enum Failure {
    /// May pass: try again later.
    Retry(String),
    /// Will not pass: give the event up.
    Permanent(String),
}

fn retry(e: StoreError) -> Failure {
    Failure::Retry(e.to_string())
}

/// Applies the events of a [`Queue`] (see the module docs).
pub struct WebhookWorker {
    jobs: Jobs,
    shared: Shared,
}

impl std::fmt::Debug for WebhookWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWorker").finish_non_exhaustive()
    }
}

impl WebhookWorker {
    /// A worker for the events of `queue`/`jobs`, first queueing those the ledger still holds
    /// pending (accepted before a restart, not applied). Opens `webhooks.labels_path` (blocking).
    pub fn new(
        (queue, jobs): (Queue, Jobs),
        ledger: WebhookLedger,
        client: Option<Arc<StripeClient>>,
        enricher: Arc<Enricher>,
        lists: Arc<dyn ValueListStore>,
        config: WebhooksConfig,
    ) -> std::io::Result<Self> {
        let labels = match &config.labels_path {
            Some(path) => Some(Arc::new(Mutex::new(open_append(path)?))),
            None => None,
        };
        let pending = ledger.pending();
        if !pending.is_empty() {
            tracing::info!(
                events = pending.len(),
                "webhook events accepted before the restart are applied now"
            );
        }
        for kept in pending {
            match serde_json::from_value::<WebhookJob>(kept) {
                Ok(job) => queue.submit(job),
                Err(e) => tracing::error!(error = %e, "a pending webhook event cannot be read"),
            }
        }
        Ok(Self {
            jobs,
            shared: Shared {
                queue,
                ledger,
                client,
                enricher,
                lists,
                config,
                labels,
            },
        })
    }

    /// Applies events until `shutdown`; events not finished then stay pending in the ledger (a
    /// try in progress finishes).
    pub async fn run(mut self, shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.shared.config.concurrency.max(1)));
        let this = Arc::new(self.shared);
        loop {
            let job = tokio::select! {
                job = self.jobs.recv() => match job {
                    Some(job) => job,
                    None => return,
                },
                () = crate::shutdown::stopped(shutdown.clone()) => return,
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (this, shutdown) = (this.clone(), shutdown.clone());
            tokio::spawn(async move {
                this.process(&job, shutdown).await;
                this.queue.finished();
                drop(slot);
            });
        }
    }
}

/// What every event's task shares: where the worker finds what it needs.
struct Shared {
    /// Fetches charges; without a Stripe secret key only expanded charges can be applied.
    client: Option<Arc<StripeClient>>,
    queue: Queue,
    ledger: WebhookLedger,
    enricher: Arc<Enricher>,
    lists: Arc<dyn ValueListStore>,
    config: WebhooksConfig,
    labels: Option<Arc<Mutex<std::fs::File>>>,
}

impl Shared {
    /// Tries `job` until it is done, given up, or out of tries or shut down between tries (then
    /// left pending). A try in progress is not cut short.
    async fn process(&self, job: &WebhookJob, shutdown: watch::Receiver<bool>) {
        let policy = RetryPolicy {
            max_retries: self.config.max_attempts.saturating_sub(1),
            initial_backoff: Duration::from_millis(self.config.retry_initial_backoff_ms),
            max_backoff: Duration::from_millis(self.config.retry_max_backoff_ms),
        };
        let label = job.label();
        let mut attempt = 0;
        loop {
            let result = match self.apply(job).await {
                Ok(done) => match done {
                    Done::Applied => "applied",
                    Done::AlreadyApplied => "already_applied",
                    Done::NoCharge => "no_charge",
                },
                Err(Failure::Permanent(why)) => {
                    tracing::error!(
                        event = %job.event, charge = %job.charge_id(), error = %why,
                        "webhook event given up"
                    );
                    "failed"
                }
                Err(Failure::Retry(why)) => {
                    if attempt >= policy.max_retries {
                        tracing::error!(
                            event = %job.event, charge = %job.charge_id(), error = %why, attempts = attempt + 1,
                            "webhook event not applied; it stays pending until the next start"
                        );
                        count("deferred");
                        return;
                    }
                    let backoff = policy.backoff(attempt);
                    tracing::warn!(
                        event = %job.event, charge = %job.charge_id(), error = %why, ?backoff,
                        "webhook event not applied yet; trying again"
                    );
                    count("retried");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = crate::shutdown::stopped(shutdown.clone()) => return,
                    }
                    attempt += 1;
                    continue;
                }
            };
            count(result);
            tracing::info!(
                event = %job.event, charge = %job.charge_id(), label = label.as_str(), result,
                "webhook event done"
            );
            if let Err(e) = self.ledger.done(&job.event).await {
                // Applied, not marked: a restart applies it again, and the claim makes that a no-op.
                tracing::error!(event = %job.event, error = %e, "webhook ledger: cannot mark done");
            }
            return;
        }
    }

    /// One try of `job`.
    async fn apply(&self, job: &WebhookJob) -> Result<Done, Failure> {
        let charge = match &job.charge {
            ChargeRef::Expanded(charge) => charge.clone(),
            ChargeRef::Id(id) => match self.fetch(id).await? {
                Some(charge) => charge,
                None => return Ok(Done::NoCharge),
            },
        };
        let facts = ChargeFacts::from_json(&charge);
        let keys = facts.keys(self.enricher.keys());
        if keys.iter().all(Option::is_none) {
            return Err(Failure::Permanent(
                "the charge names no card, customer, email or address".into(),
            ));
        }
        let label = job.label();
        if label.is_fraud() && self.config.block {
            self.block(&facts).await?;
        }
        let claim = format!("{}:{}", job.object, label.as_str());
        if self.ledger.claimed(&claim).await.map_err(retry)? {
            return Ok(Done::AlreadyApplied);
        }
        self.enricher
            .label(keys, label, job.created)
            .await
            .map_err(retry)?;
        // Claimed after the label, so that nothing stopping in between loses it.
        match self.ledger.claim(&claim).await {
            Ok(true) => {}
            Ok(false) => return Ok(Done::AlreadyApplied), // another event about it, just now
            Err(e) => tracing::error!(
                error = %e, claim,
                "webhook ledger: label applied, claim not recorded (a later event may count it again)"
            ),
        }
        self.write_label(job, &facts).await;
        Ok(Done::Applied)
    }

    /// The charge `id` as Stripe has it; `None` when Stripe has no such charge.
    async fn fetch(&self, id: &str) -> Result<Option<Value>, Failure> {
        if id.is_empty()
            || id.len() > 255
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(Failure::Permanent(format!("{id:?} is not a charge id")));
        }
        let Some(client) = &self.client else {
            return Err(Failure::Permanent(
                "no Stripe secret key: the charge cannot be fetched".into(),
            ));
        };
        let budget = Duration::from_millis(self.config.charge_fetch_budget_ms);
        let started = tokio::time::Instant::now();
        let result = client
            .get(Family::Charges, &format!("/v1/charges/{id}"), budget)
            .await;
        metrics::histogram!(telemetry::UPSTREAM_DURATION, "upstream" => "stripe_charges")
            .record(started.elapsed());
        match result {
            Ok(body) => {
                let charge: Value = serde_json::from_slice(&body)
                    .map_err(|e| Failure::Retry(format!("the charge is not JSON: {e}")))?;
                if charge["id"].as_str() != Some(id) {
                    return Err(Failure::Permanent(format!(
                        "Stripe answered a charge other than {id}"
                    )));
                }
                Ok(Some(charge))
            }
            Err(e) if e.kind == ErrorKind::Status(404) => Ok(None),
            Err(e)
                if e.retryable
                    || matches!(
                        e.kind,
                        ErrorKind::Status(429)
                            | ErrorKind::Timeout
                            | ErrorKind::Connect
                            | ErrorKind::Transport
                            | ErrorKind::BreakerOpen
                            | ErrorKind::NoBudget
                    ) =>
            {
                Err(Failure::Retry(e.to_string()))
            }
            Err(e) => Err(Failure::Permanent(e.to_string())),
        }
    }

    /// Adds the charge's card fingerprint and email to the block lists (already there: fine).
    async fn block(&self, facts: &ChargeFacts) -> Result<(), Failure> {
        let now = self.enricher.clock().now();
        let email = facts.email.as_deref().map(str::trim);
        for (list, value) in [
            (
                &self.config.card_fingerprint_list,
                facts.fingerprint.as_deref(),
            ),
            (&self.config.email_list, email),
        ] {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            match self
                .lists
                .create_item(list, value, now, "stripe_webhook")
                .await
            {
                Ok(_) => {
                    metrics::counter!(telemetry::WEBHOOK_BLOCKED, "list" => list.clone())
                        .increment(1);
                }
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(e @ StoreError::Unavailable(_)) => return Err(retry(e)),
                Err(e) => {
                    tracing::warn!(error = %e, list, "webhook could not add to a block list");
                }
            }
        }
        Ok(())
    }

    /// Appends the label to the labels file (docs/events.md outcome shape; no card data or email).
    async fn write_label(&self, job: &WebhookJob, facts: &ChargeFacts) {
        let Some(labels) = self.labels.clone() else {
            return;
        };
        let occurred_at = if job.created > 0 {
            job.created
        } else {
            self.enricher.clock().now()
        };
        let kind = match job.subject {
            Subject::EarlyFraudWarning => "early_fraud_warning",
            Subject::Dispute => "disputed",
        };
        let line = serde_json::json!({
            "occurred_at": occurred_at,
            "label": {"fraud": job.label().is_fraud(), "name": job.label().as_str()},
            "outcome": {"kind": kind, "reason": job.reason, "occurred_at": occurred_at},
            "stripe": {
                "event": job.event, "object": job.object, "charge": facts.id,
                "payment_intent": job.payment_intent,
            },
        });
        let written = tokio::task::spawn_blocking(move || {
            let mut text = line.to_string();
            text.push('\n');
            let mut file = labels.lock().unwrap_or_else(|e| e.into_inner());
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "webhook labels file: cannot append"),
            Err(e) => tracing::error!(error = %e, "webhook labels file: task failed"),
        }
    }
}

fn count(result: &'static str) {
    metrics::counter!(telemetry::WEBHOOK_EVENTS_PROCESSED, "result" => result).increment(1);
}

fn open_append(path: &PathBuf) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}
