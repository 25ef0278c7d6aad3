//! Stripe's Radar value lists, mirrored read-only for rules (`stripe.list_sync_interval_secs`).
//!
//! Every interval, one run pages through `GET /v1/radar/value_lists` and, for each list,
//! `GET /v1/radar/value_list_items?value_list=rsl_…` (Stripe's cursor pagination: `limit`,
//! `starting_after` = the last id of the previous page, until `has_more` is false). Values are
//! checked and normalized for the list's item type exactly as local items are.
//!
//! How synced lists relate to local ones:
//! - A synced list is bound to the alias Stripe gives it (with `stripe.list_sync_alias_prefix`
//!   in front), in the same alias space rules read (`@alias`), so a rule written for Stripe
//!   Radar applies the same list here, before authorization.
//! - It is a read-only mirror: Stripe is its source of truth. Creating a local list with a synced
//!   alias, or changing a synced list or its items through `ValueListService`, is refused
//!   (FAILED_PRECONDITION, naming the Stripe list). It is held in memory, not in the journal
//!   (or Redis), and pulled again at start.
//! - A Stripe list whose alias a local list already has is skipped (the local list wins; counted
//!   as `riskgate_stripe_list_sync_skipped_total{reason="alias_conflict"}` and logged): set a
//!   prefix to mirror it next to the local one.
//! - Each run fetches everything first and only then swaps each list's members in one step, so
//!   an evaluation sees a list either as it was or as Stripe has it now, never half-synced; a run
//!   that fails anywhere changes nothing. A list deleted in Stripe disappears at the next
//!   successful run.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
    time::Duration,
};

use serde::Deserialize;
use tokio::{sync::watch, time::Instant};

use crate::{
    clock::Clock,
    scoring::remote::{ErrorKind, UpstreamError},
    stripe::{
        client::{StripeClient, VALUE_LIST_ITEMS_PATH, VALUE_LISTS_PATH},
        form::Form,
    },
};
use crate::{
    stores::lists::{backend::ValueListStore, journal::Page as StorePage},
    telemetry,
};
use riskgate_core::lists::{ItemType, ListCell, Members};

/// Page size asked of Stripe (its maximum).
pub const PAGE_LIMIT: u32 = 100;

/// A mirrored list.
#[derive(Debug)]
struct Synced {
    stripe_id: String,
    /// Stripe's item ids (mutations naming one are refused).
    items: HashSet<String>,
    cell: Arc<ListCell>,
}

/// The lists mirrored from Stripe, by (prefixed) alias.
#[derive(Debug, Default)]
pub struct SyncedLists {
    lists: RwLock<HashMap<String, Synced>>,
}

impl SyncedLists {
    /// The Stripe list behind `id_or_alias` (a synced alias, a Stripe list id or a Stripe item
    /// id), if it is mirrored: local changes to it must be refused.
    pub fn owner(&self, id_or_alias: &str) -> Option<String> {
        let lists = self.lists.read().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = lists.get(id_or_alias) {
            return Some(s.stripe_id.clone());
        }
        lists
            .values()
            .find(|s| s.stripe_id == id_or_alias || s.items.contains(id_or_alias))
            .map(|s| s.stripe_id.clone())
    }

    /// How many lists are mirrored.
    pub fn len(&self) -> usize {
        self.lists.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mirrored aliases, sorted.
    pub fn aliases(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .lists
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }
}

/// The error a refused local change carries.
pub fn read_only_message(id_or_alias: &str, stripe_id: &str) -> String {
    format!(
        "value list `{id_or_alias}` is a read-only mirror of Stripe's value list {stripe_id} \
         (stripe.list_sync_interval_secs); change it in Stripe"
    )
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct StripeList {
    id: String,
    alias: String,
    item_type: String,
}

#[derive(Debug, Deserialize)]
struct StripeItem {
    id: String,
    value: String,
}

/// One list as fetched, ready to swap in.
struct Fetched {
    alias: String,
    stripe_id: String,
    items: HashSet<String>,
    members: Members,
}

/// What a successful run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Lists mirrored now.
    pub lists: usize,
    /// Items mirrored now.
    pub items: usize,
    /// Lists skipped (alias taken by a local list, unknown item type).
    pub skipped: usize,
    /// Mirrors removed (deleted in Stripe).
    pub removed: usize,
}

/// Pulls Stripe's lists into riskgate's alias space.
pub struct ListSync {
    client: Arc<StripeClient>,
    /// The list store (journal or Redis): where rules find lists by alias, whose cells synced
    /// lists are written to, and which says whether a local list has an alias.
    lookup: Arc<dyn ValueListStore>,
    synced: Arc<SyncedLists>,
    prefix: String,
    budget: Duration,
    clock: Clock,
}

impl ListSync {
    pub fn new(
        client: Arc<StripeClient>,
        lookup: Arc<dyn ValueListStore>,
        synced: Arc<SyncedLists>,
        prefix: &str,
        budget: Duration,
        clock: Clock,
    ) -> Self {
        Self {
            client,
            lookup,
            synced,
            prefix: prefix.to_owned(),
            budget,
            clock,
        }
    }

    /// Runs every `interval` (the first run at once) until `shutdown` turns true.
    pub async fn run_every(self, interval: Duration, shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = crate::shutdown::stopped(shutdown);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = &mut stop => return,
            }
            let _ = self.sync_once().await;
        }
    }

    /// One run (see the module docs); counted and logged.
    pub async fn sync_once(&self) -> Result<SyncReport, UpstreamError> {
        let result = self.sync().await;
        match &result {
            Ok(report) => {
                metrics::counter!(telemetry::LIST_SYNC_RUNS, "outcome" => "ok").increment(1);
                metrics::gauge!(telemetry::LIST_SYNC_LAST_SUCCESS).set(self.clock.now() as f64);
                metrics::gauge!(telemetry::LIST_SYNC_LISTS).set(report.lists as f64);
                tracing::info!(
                    lists = report.lists,
                    items = report.items,
                    skipped = report.skipped,
                    removed = report.removed,
                    "Stripe value lists synced"
                );
            }
            Err(e) => {
                metrics::counter!(telemetry::LIST_SYNC_RUNS, "outcome" => "error").increment(1);
                tracing::warn!(error = %e, "Stripe value list sync failed; the mirror is unchanged");
            }
        }
        result
    }

    async fn sync(&self) -> Result<SyncReport, UpstreamError> {
        let deadline = Instant::now() + self.budget;
        let mut report = SyncReport::default();
        let mut fetched = Vec::new();
        let mut seen = HashSet::new();
        let lists: Vec<StripeList> = self.all(VALUE_LISTS_PATH, &[], deadline).await?;
        for list in lists {
            let alias = format!("{}{}", self.prefix, list.alias);
            let skip = |reason: &'static str| {
                metrics::counter!(telemetry::LIST_SYNC_SKIPPED, "reason" => reason).increment(1);
            };
            let Some(item_type) = ItemType::parse(&list.item_type) else {
                skip("unsupported_type");
                tracing::warn!(list = %list.id, item_type = %list.item_type, "Stripe value list of an unknown item type not synced");
                report.skipped += 1;
                continue;
            };
            if self.local_alias(&alias).await? || !seen.insert(alias.clone()) {
                skip("alias_conflict");
                tracing::warn!(list = %list.id, %alias, "Stripe value list not synced: a local list has its alias");
                report.skipped += 1;
                continue;
            }
            let items: Vec<StripeItem> = self
                .all(VALUE_LIST_ITEMS_PATH, &[("value_list", &list.id)], deadline)
                .await?;
            let mut members = Members::new(item_type);
            let mut ids = HashSet::with_capacity(items.len());
            for item in items {
                match item_type.normalize(&item.value) {
                    Ok(canonical) => {
                        members.insert(&canonical);
                        ids.insert(item.id);
                    }
                    Err(_) => {
                        skip("invalid_item");
                        tracing::warn!(list = %list.id, item = %item.id, "Stripe value list item not valid for its type; not synced");
                    }
                }
            }
            fetched.push(Fetched {
                alias,
                stripe_id: list.id,
                items: ids,
                members,
            });
        }

        // Everything fetched: swap each list in one step, and drop mirrors Stripe no longer has.
        let mut mirrored = self.synced.lists.write().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<String> = mirrored
            .keys()
            .filter(|a| !seen.contains(*a))
            .cloned()
            .collect();
        for alias in gone {
            if let Some(old) = mirrored.remove(&alias) {
                old.cell.write(|m| *m = None);
                report.removed += 1;
            }
        }
        for f in fetched {
            let Some(cell) = self.lookup.lookup(&f.alias) else {
                continue;
            };
            report.lists += 1;
            report.items += f.members.len();
            cell.write(|m| *m = Some(f.members));
            mirrored.insert(
                f.alias,
                Synced {
                    stripe_id: f.stripe_id,
                    items: f.items,
                    cell,
                },
            );
        }
        Ok(report)
    }

    /// Whether a local list (journal or Redis) has `alias`.
    async fn local_alias(&self, alias: &str) -> Result<bool, UpstreamError> {
        let page = StorePage {
            limit: 1,
            starting_after: None,
        };
        match self.lookup.list_lists(page, Some(alias)).await {
            Ok((lists, _)) => Ok(!lists.is_empty()),
            Err(e) => Err(UpstreamError::new(
                "stripe",
                ErrorKind::Transport,
                false,
                format!("the local value list store could not say whether `{alias}` is taken: {e}"),
            )),
        }
    }

    /// Every object of a Stripe list endpoint, following `has_more` / `starting_after`.
    async fn all<T: for<'de> Deserialize<'de> + HasId>(
        &self,
        path: &str,
        params: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Vec<T>, UpstreamError> {
        let mut out: Vec<T> = Vec::new();
        loop {
            let mut q = Form::default();
            for (k, v) in params {
                q.pair(k, v);
            }
            q.pair("limit", &PAGE_LIMIT.to_string());
            if let Some(last) = out.last() {
                q.pair("starting_after", last.id());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(UpstreamError::new(
                    "stripe",
                    ErrorKind::Timeout,
                    false,
                    "list sync ran out of stripe.list_sync_budget_secs".into(),
                ));
            }
            let body = self
                .client
                .get_page(&format!("{path}?{}", q.finish()), left)
                .await?;
            let page: Page<T> = serde_json::from_slice(&body).map_err(|e| {
                UpstreamError::new(
                    "stripe",
                    ErrorKind::Malformed,
                    false,
                    format!("{path}: not a list page: {e}"),
                )
            })?;
            let n = page.data.len();
            out.extend(page.data);
            if !page.has_more || n == 0 {
                return Ok(out);
            }
        }
    }
}

/// Objects paged by id.
trait HasId {
    fn id(&self) -> &str;
}

impl HasId for StripeList {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for StripeItem {
    fn id(&self) -> &str {
        &self.id
    }
}
