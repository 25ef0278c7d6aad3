//! The gateway's parts, built from the configuration: the value list store, the Stripe side
//! (scoring, outcome forwarding, webhooks, list sync) — everything `Server::start` wires together
//! before it binds a port.

use std::{sync::Arc, time::Duration};

use super::{ServeError, reload};
use crate::{
    clock::Clock,
    config::Config,
    config::Secret,
    enrich::Enricher,
    pipeline::{EngineHandle, Scoring},
    pseudonym::PseudonymKey,
    record::audit::AuditLog,
    stores::{
        data_dir::{DataDir, files},
        idempotency::{IdempotencyStore, journal::Journal as IdempotencyJournal},
        lists::{
            backend::{JournalLists, ValueListStore},
            journal::ListStore,
            redis::RedisLists,
        },
        state::local::LocalState,
        webhooks::WebhookLedger,
    },
    stripe::{
        client::StripeClient,
        lists::{ListSync, SyncedLists},
        outcomes::OutcomeForwarder,
        webhook::WebhookHandler,
        webhook_worker::{self, WebhookWorker},
    },
    telemetry,
};
use riskgate_core::{model::Scorer, reference::FxTable};

/// What decides: the engine (model, thresholds, rules) behind its reloader, and the value lists
/// the rules read.
pub(super) struct Decision {
    pub engine: EngineHandle,
    pub reloader: Arc<reload::Reloader>,
    pub lists: Arc<dyn ValueListStore>,
    /// The Redis list store, whose change-log follower runs with the servers.
    pub shared_lists: Option<Arc<RedisLists>>,
}

impl Decision {
    /// The configured model (or `scorer`, injected by tests and embedders; it is then not reloaded
    /// from the configuration), the value lists and the rules file.
    pub async fn build(
        config: &Config,
        scorer: Option<Arc<dyn Scorer>>,
        now_unix: i64,
    ) -> Result<Self, ServeError> {
        let fx = FxTable::new(config.fx.iter().map(|(k, v)| (k.as_str(), *v)))
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let injected = scorer.is_some();
        let scorer = match scorer {
            Some(scorer) => scorer,
            None => crate::scoring::configured_scorer(&config.model)?,
        };
        metrics::gauge!(telemetry::MODEL_INFO, "model" => scorer.version().to_owned()).set(1.0);
        tracing::info!(model = scorer.version(), "model loaded");
        let (lists, shared_lists) = open_lists(config, now_unix).await?;
        let parts = reload::EngineParts {
            scorer,
            thresholds: config.risk,
            actions: config.actions,
            fx,
        };
        let (reloader, engine) = reload::Reloader::start(
            parts,
            config.rules.path.clone(),
            (!injected).then(|| config.model.clone()),
            lists.clone(),
        )
        .map_err(|e| ServeError::Rules(e.to_string()))?;
        Ok(Self {
            engine,
            reloader: Arc::new(reloader),
            lists,
            shared_lists,
        })
    }
}

/// State shared across evaluations: the enrichment stage (in process, or Redis with in-process
/// fallback) and the idempotent answers.
pub(super) struct State {
    pub enricher: Arc<Enricher>,
    pub idempotency: IdempotencyStore,
    /// The secret of velocity keys and audit pseudonyms.
    pub pseudonym_key: PseudonymKey,
}

impl State {
    pub async fn build(config: &Config, clock: Clock) -> Result<Self, ServeError> {
        let local = in_process_state(config, clock.now()).await?;
        // Outcome memory journaled on disk is kept under these keys: without a key file, the
        // generated key is kept beside the journal.
        let kept = match (&config.redis.url, &config.enrichment.outcomes_path) {
            (None, Some(journal)) => Some(journal.with_file_name("pseudonym.key")),
            _ => None,
        };
        let pseudonym_key = PseudonymKey::configured(
            config.pseudonym.key_file.as_deref(),
            config.redis.url.is_some(),
            kept.as_deref(),
        )
        .map_err(|e| ServeError::Config(e.to_string()))?;
        let (enricher, redis) =
            Enricher::from_configs(&config.enrichment, &config.redis, clock.clone(), local)
                .map_err(|e| ServeError::Config(e.to_string()))?;
        let enricher = enricher.with_pseudonym_key(&pseudonym_key);
        let mut idempotency = IdempotencyStore::new(
            Duration::from_secs(config.idempotency.retention_secs),
            config.idempotency.max_bytes,
        );
        // Without Redis (which keeps them for every replica), answers are kept on disk too.
        if redis.is_none()
            && let Some(dir) = config.state.data_dir()
        {
            let dir = dir.join(files::IDEMPOTENCY);
            let retention = Duration::from_secs(config.idempotency.retention_secs);
            let budget = config.idempotency.max_bytes.saturating_mul(2);
            let now = clock.now();
            let (journal, loaded) = tokio::task::spawn_blocking(move || {
                IdempotencyJournal::open(&dir, retention, budget, now)
            })
            .await?
            .map_err(ServeError::DataDir)?;
            tracing::info!(
                replayable = loaded.len(),
                "idempotent answers read back from the data directory"
            );
            idempotency = idempotency.with_journal(journal, clock, loaded).await;
        }
        if let Some(redis) = redis {
            match redis.ping().await {
                Ok(()) => tracing::info!("shared state on Redis"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "Redis is not answering; evaluations are degraded until it does"
                ),
            }
            idempotency = idempotency.with_shared(redis);
        }
        Ok(Self {
            enricher: Arc::new(enricher),
            idempotency,
            pseudonym_key,
        })
    }
}

/// The in-process state: with its outcome memory replayed from, and journaled to,
/// `enrichment.outcomes_path` when that is set and Redis is not (Redis keeps outcome memory itself;
/// its in-process fallback stays in memory).
async fn in_process_state(config: &Config, now: i64) -> Result<LocalState, ServeError> {
    let path = match (&config.redis.url, &config.enrichment.outcomes_path) {
        (None, Some(path)) => path.clone(),
        // Durable by default (issue 18): the journal in the data directory.
        (None, None) if let Some(dir) = config.state.data_dir() => {
            dir.join(files::OUTCOMES_JOURNAL)
        }
        _ => return Ok(LocalState::new(&config.enrichment)),
    };
    let enrichment = config.enrichment.clone();
    tokio::task::spawn_blocking(move || LocalState::with_journal(&enrichment, &path, now))
        .await?
        .map_err(|e| ServeError::Config(format!("enrichment.outcomes_path: {e}")))
}

/// Stripe's side: who scores, the outcome forwarder, the webhook handler and the list sync (each
/// when configured).
pub(super) struct StripeParts {
    pub scoring: Scoring,
    pub forwarder: Option<OutcomeForwarder>,
    pub webhooks: Option<Arc<WebhookHandler>>,
    /// Applies accepted webhook events (started with the servers).
    pub webhook_worker: Option<WebhookWorker>,
    pub list_sync: Option<ListSync>,
    /// The lists the sync mirrors (read-only through the API).
    pub synced: Option<Arc<SyncedLists>>,
}

impl StripeParts {
    pub async fn build(
        config: &Config,
        enricher: &Arc<Enricher>,
        lists: &Arc<dyn ValueListStore>,
        clock: &Clock,
    ) -> Result<Self, ServeError> {
        let (scoring, stripe) = scoring(config)?;
        let forwarder = match &stripe {
            Some(client) if config.stripe.report_outcomes => Some(OutcomeForwarder::start(
                client.clone(),
                enricher.clone(),
                config.stripe.outcome_queue_capacity,
                Duration::from_millis(config.stripe.outcome_report_budget_ms),
            )),
            _ => None,
        };
        let (webhooks, webhook_worker) =
            match webhooks(config, enricher, lists, stripe.clone()).await? {
                Some((handler, worker)) => (Some(handler), Some(worker)),
                None => (None, None),
            };
        let (list_sync, synced) = match &stripe {
            Some(client) if config.stripe.list_sync_interval_secs > 0 => {
                let synced = Arc::new(SyncedLists::default());
                let sync = ListSync::new(
                    client.clone(),
                    lists.clone(),
                    synced.clone(),
                    &config.stripe.list_sync_alias_prefix,
                    Duration::from_secs(config.stripe.list_sync_budget_secs),
                    clock.clone(),
                );
                (Some(sync), Some(synced))
            }
            None if config.stripe.list_sync_interval_secs > 0 => {
                return Err(ServeError::Config(
                    "stripe.list_sync_interval_secs needs a Stripe secret key (STRIPE_SECRET_KEY, \
                     stripe.secret_key or stripe.secret_key_file)"
                        .into(),
                ));
            }
            _ => (None, None),
        };
        Ok(Self {
            scoring,
            forwarder,
            webhooks,
            webhook_worker,
            list_sync,
            synced,
        })
    }
}

/// The admin token: the configured one; else, with a data directory, the one generated there on
/// first run (so a fresh install has admin calls protected rather than off, and `riskgate` client
/// commands on this machine find it); else none (admin calls are refused).
pub(super) async fn admin_token(
    config: &Config,
    data_dir: Option<&std::sync::Arc<DataDir>>,
) -> Result<Option<Secret>, ServeError> {
    if let Some(token) = config
        .admin_token()
        .map_err(|e| ServeError::Config(e.to_string()))?
    {
        return Ok(Some(token));
    }
    let Some(dir) = data_dir.cloned() else {
        tracing::info!(
            "no admin token and no data directory: value-list and admin calls are refused"
        );
        return Ok(None);
    };
    let path = dir.file(files::ADMIN_TOKEN);
    let (token, generated) = tokio::task::spawn_blocking(move || dir.admin_token())
        .await?
        .map_err(ServeError::DataDir)?;
    if generated {
        tracing::info!(
            path = %path.display(),
            "admin token generated (mode 0600); `riskgate` client commands on this machine read it there"
        );
    } else {
        tracing::info!(path = %path.display(), "admin token read from the data directory");
    }
    Ok(Some(token))
}

/// The audit log, when `audit.path` is set.
pub(super) fn audit_log(
    config: &Config,
    key: &PseudonymKey,
) -> Result<Option<AuditLog>, ServeError> {
    config
        .audit
        .path
        .as_ref()
        .map(|path| {
            AuditLog::open(path, config.audit.max_bytes, config.audit.max_files, key)
                .map_err(|e| ServeError::Config(format!("audit.path {}: {e}", path.display())))
        })
        .transpose()
}

/// The value list store: Redis, shared by every replica, when `redis.url` is set (returned twice:
/// its follower is started with the servers); else the journal at `lists.path`, or memory.
async fn open_lists(
    config: &Config,
    now_unix: i64,
) -> Result<(Arc<dyn ValueListStore>, Option<Arc<RedisLists>>), ServeError> {
    if config.redis.url.is_some() {
        if let Some(path) = &config.lists.path {
            tracing::warn!(
                path = %path.display(),
                "lists.path is not used: with redis.url, value lists are kept in Redis"
            );
        }
        let shared = Arc::new(
            RedisLists::new(&config.redis).map_err(|e| ServeError::Config(e.to_string()))?,
        );
        if let Err(e) = shared.load(now_unix).await {
            tracing::warn!(
                error = %e,
                "value lists: Redis is not answering; serving without lists until it does"
            );
        }
        return Ok((shared.clone(), Some(shared)));
    }
    // Unset: the journal in the data directory (durable by default); no data directory: memory.
    let path = config.lists.path.clone().or_else(|| {
        config
            .state
            .data_dir()
            .map(|dir| dir.join(files::LISTS_JOURNAL))
    });
    let store = match &path {
        Some(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || ListStore::open(&path, now_unix))
                .await?
                .map_err(|e| ServeError::Lists(e.to_string()))?
        }
        None => ListStore::in_memory(now_unix),
    };
    Ok((Arc::new(JournalLists::new(Arc::new(store))), None))
}

/// The Stripe webhook handler and its worker, when a signing secret is configured, on the
/// deliveries ledger (`webhooks.journal_path`, else `webhooks.journal` beside
/// `enrichment.outcomes_path`, else memory; claims on Redis with `redis.url`).
async fn webhooks(
    config: &Config,
    enricher: &Arc<Enricher>,
    lists: &Arc<dyn ValueListStore>,
    client: Option<Arc<StripeClient>>,
) -> Result<Option<(Arc<WebhookHandler>, WebhookWorker)>, ServeError> {
    let secret = config
        .webhooks
        .signing_secret(std::env::var(crate::config::STRIPE_WEBHOOK_SECRET_ENV).ok())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    if client.is_none() {
        tracing::warn!(
            "webhooks without a Stripe secret key: the charges events name cannot be fetched, so \
             only events with an expanded charge teach outcome memory"
        );
    }
    let capacity = config.webhooks.dedupe_capacity;
    let journal = config.webhooks.journal_path.clone().or_else(|| {
        config
            .enrichment
            .outcomes_path
            .as_ref()
            .map(|p| p.with_file_name("webhooks.journal"))
            // Durable by default (issue 18): in the data directory.
            .or_else(|| {
                config
                    .state
                    .data_dir()
                    .map(|d| d.join(files::WEBHOOKS_JOURNAL))
            })
    });
    let mut ledger = match journal {
        Some(path) => {
            tokio::task::spawn_blocking(move || {
                WebhookLedger::open(&path, capacity)
                    .map_err(|e| ServeError::Config(format!("webhooks.journal_path: {e}")))
            })
            .await??
        }
        None => WebhookLedger::in_memory(capacity),
    };
    if config.redis.url.is_some() {
        let conn = crate::stores::redis::RedisClient::new(
            &config.redis,
            Duration::from_millis(config.redis.budget_ms.max(LEDGER_REDIS_TIMEOUT_MS)),
        )
        .map_err(|e| ServeError::Config(e.to_string()))?;
        ledger = ledger.with_redis(Arc::new(conn), &config.redis.key_prefix);
    }
    let queue = webhook_worker::queue();
    let handler = Arc::new(WebhookHandler::new(
        secret,
        Duration::from_secs(config.webhooks.tolerance_secs),
        ledger.clone(),
        queue.0.clone(),
    ));
    let worker = WebhookWorker::new(
        queue,
        ledger,
        client,
        enricher.clone(),
        lists.clone(),
        config.webhooks.clone(),
    )
    .map_err(|e| ServeError::Config(format!("webhooks.labels_path: {e}")))?;
    Ok(Some((handler, worker)))
}

/// The longest a webhook delivery waits for Redis to claim its event id (not on a payment's
/// path: Stripe waits seconds for an answer).
const LEDGER_REDIS_TIMEOUT_MS: u64 = 1_000;

/// The scoring set-up: the mode and, when a secret key is configured, the Stripe client (also
/// returned for outcome forwarding and list sync).
fn scoring(config: &Config) -> Result<(Scoring, Option<Arc<StripeClient>>), ServeError> {
    use crate::config::STRIPE_SECRET_KEY_ENV;
    let secret = config
        .stripe
        .secret(std::env::var(STRIPE_SECRET_KEY_ENV).ok())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let client = match secret {
        Some(key) => Some(Arc::new(
            StripeClient::new(&config.stripe, key.expose())
                .map_err(|e| ServeError::Config(e.to_string()))?,
        )),
        None if config.scoring.mode.uses_stripe() => {
            return Err(ServeError::Config(format!(
                "scoring.mode {} needs a Stripe secret key: set {STRIPE_SECRET_KEY_ENV}, \
                 stripe.secret_key or stripe.secret_key_file",
                config.scoring.mode.as_str()
            )));
        }
        None => None,
    };
    let remote = client
        .clone()
        .map(|c| c as Arc<dyn crate::scoring::remote::RemoteScorer>);
    if remote.is_some() {
        tracing::info!(
            mode = config.scoring.mode.as_str(),
            base_url = %crate::config::redact_url(&config.stripe.base_url),
            version = %config.stripe.api_version,
            charges_version = %config.stripe.charges_api_version,
            lists_version = %config.stripe.lists_api_version,
            private_preview = config.stripe.private_preview,
            stripe_levels = config.scoring.stripe_levels.as_str(),
            "Stripe upstream configured"
        );
    }
    Ok((
        Scoring {
            mode: config.scoring.mode,
            fail_policy: config.scoring.fail_policy,
            stripe_levels: config.scoring.stripe_levels,
            upstream_margin: Duration::from_millis(config.scoring.upstream_margin_ms),
            upstream_max: Duration::from_millis(config.scoring.upstream_max_ms),
            remote,
            allow_request_override: config.scoring.allow_request_override,
        },
        client,
    ))
}

// === reviews (issue 19) ===

/// The analyst review queue: its store (Redis, shared by every replica, when `redis.url` is set;
/// else the journal at `reviews.path`, or memory) and, with `reviews.enabled`, the opener the
/// record stage hands REVIEW decisions to.
pub(super) struct Reviews {
    pub store: Arc<dyn crate::stores::reviews::ReviewStore>,
    pub opener: Option<crate::pipeline::reviews::opener::ReviewOpener>,
}

impl Reviews {
    pub async fn build(config: &Config, clock: &Clock) -> Result<Self, ServeError> {
        use crate::stores::reviews::{journal::JournalReviews, redis::RedisReviews};
        let r = &config.reviews;
        let store: Arc<dyn crate::stores::reviews::ReviewStore> = if config.redis.url.is_some() {
            if let Some(path) = &r.path {
                tracing::warn!(
                    path = %path.display(),
                    "reviews.path is not used: with redis.url, reviews are kept in Redis"
                );
            }
            Arc::new(
                RedisReviews::new(&config.redis, r.retention_secs, r.max_open)
                    .map_err(|e| ServeError::Config(e.to_string()))?,
            )
        } else {
            // Durable by default (issue 18): in the data directory when no path is given.
            let path = r.path.clone().or_else(|| {
                config
                    .state
                    .data_dir()
                    .map(|d| d.join(files::REVIEWS_JOURNAL))
            });
            match &path {
                Some(path) => {
                    let (path, retention, max_open, now) =
                        (path.clone(), r.retention_secs, r.max_open, clock.now());
                    Arc::new(
                        tokio::task::spawn_blocking(move || {
                            JournalReviews::open(&path, retention, max_open, now)
                        })
                        .await?
                        .map_err(|e| ServeError::Config(format!("reviews.path: {e}")))?,
                    )
                }
                None => Arc::new(JournalReviews::in_memory(r.retention_secs, r.max_open)),
            }
        };
        let opener = r.enabled.then(|| {
            crate::pipeline::reviews::opener::ReviewOpener::new(
                store.clone(),
                r.max_pending_opens,
                clock.clone(),
                r.sla_secs,
            )
        });
        Ok(Self { store, opener })
    }
}
