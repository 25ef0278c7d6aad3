//! [`RedisLists`] as a [`ValueListStore`]: each change is checked as the journal store checks it,
//! then made by one script, which refuses it when Redis holds something that forbids it (a taken
//! alias or id, a duplicate value, a list changed meanwhile); the replica then reads the log up
//! to its change. Reads are answered from the local copy, brought up to date first when Redis
//! answers.

use std::collections::BTreeMap;

use redis::Script;

use super::{
    LOG_MAX_LEN, RedisLists,
    records::{parse_item, parse_list, to_json, unavailable},
};
use crate::stores::{
    StoreError,
    lists::{
        backend::ValueListStore,
        checks::{
            SYSTEM_ACTOR, alias_taken, canonical_value, check_alias, check_metadata, check_name,
            duplicate_value, merge_metadata, not_found, refuse_default,
        },
        page::Page,
        types::{Op, ValueList, ValueListItem, new_id},
    },
};
use riskgate_core::lists::{DEFAULT_LISTS, ItemType};

/// Attempts at a fresh random id when the script finds one taken.
const ID_ATTEMPTS: usize = 3;

impl RedisLists {
    /// Creates each default list Redis does not have (once across replicas).
    pub(super) async fn ensure_default_lists(&self, now: i64) -> Result<(), StoreError> {
        for (alias, name, item_type) in DEFAULT_LISTS {
            if self.copy.has_alias(alias) {
                continue;
            }
            match self
                .insert_list(
                    alias,
                    name,
                    *item_type,
                    BTreeMap::new(),
                    now,
                    SYSTEM_ACTOR,
                    true,
                )
                .await
            {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.catch_up(None).await
    }

    /// Runs a mutation script; returns its status and the change's sequence number.
    /// `values` names the list whose values key the script touches.
    async fn mutate(
        &self,
        script: &Script,
        values: Option<&str>,
        args: &[&str],
    ) -> Result<(String, u64), StoreError> {
        let (mut conn, prefix) = self.conn().await?;
        let mut inv = script.prepare_invoke();
        for k in Self::keys(prefix, values) {
            inv.key(k);
        }
        inv.arg(prefix).arg(LOG_MAX_LEN);
        for a in args {
            inv.arg(*a);
        }
        inv.invoke_async(&mut conn).await.map_err(unavailable)
    }

    /// After an acknowledged change: brings the copy up to it, so this replica's reads see it.
    /// The change is made whatever happens here; the follower catches up later if this fails.
    async fn settle(&self, seq: u64) {
        if let Err(e) = self.catch_up(Some(seq)).await {
            tracing::warn!(error = %e, "value lists: change made, but not read back yet");
        }
    }

    /// Brings the copy up to date before a read; when Redis does not answer, the read is
    /// answered from the copy.
    async fn refresh(&self) {
        if let Err(e) = self.catch_up(None).await {
            tracing::debug!(error = %e, "value lists: answering from the local copy");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_list(
        &self,
        alias: &str,
        name: &str,
        item_type: ItemType,
        metadata: BTreeMap<String, String>,
        now: i64,
        created_by: &str,
        if_absent: bool,
    ) -> Result<ValueList, StoreError> {
        let mut list = ValueList {
            id: String::new(),
            alias: alias.to_owned(),
            name: name.to_owned(),
            item_type,
            created: now,
            created_by: created_by.to_owned(),
            metadata,
        };
        for _ in 0..ID_ATTEMPTS {
            list.id = new_id("rsl_");
            let op = to_json(&Op::CreateList(list.clone()));
            let (status, seq) = self
                .mutate(
                    &self.scripts.create_list,
                    None,
                    &[
                        &list.id,
                        alias,
                        &to_json(&list),
                        &op,
                        if if_absent { "1" } else { "0" },
                    ],
                )
                .await?;
            match status.as_str() {
                "ok" => {
                    self.settle(seq).await;
                    return Ok(list);
                }
                "exists" | "alias_taken" => return Err(alias_taken(alias)),
                "id_taken" => continue,
                other => return Err(unexpected(other)),
            }
        }
        Err(ids_exhausted())
    }

    /// A list record from Redis, by id or alias.
    async fn fetch_list(&self, id_or_alias: &str) -> Result<Option<String>, StoreError> {
        let (mut conn, prefix) = self.conn().await?;
        self.scripts
            .fetch_list
            .key(format!("{prefix}lists"))
            .key(format!("{prefix}aliases"))
            .arg(prefix)
            .arg(id_or_alias)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }
}

fn unexpected(status: &str) -> StoreError {
    StoreError::Refused(format!("internal: unexpected answer `{status}` from Redis"))
}

fn ids_exhausted() -> StoreError {
    StoreError::Refused("internal: no free id after several attempts".into())
}

#[tonic::async_trait]
impl ValueListStore for RedisLists {
    async fn create_list(
        &self,
        alias: &str,
        name: &str,
        item_type: ItemType,
        metadata: BTreeMap<String, String>,
        now: i64,
        created_by: &str,
    ) -> Result<ValueList, StoreError> {
        check_alias(alias)?;
        check_name(name)?;
        check_metadata(&metadata)?;
        self.insert_list(alias, name, item_type, metadata, now, created_by, false)
            .await
    }

    async fn retrieve_list(&self, id: &str) -> Result<ValueList, StoreError> {
        self.refresh().await;
        self.copy.retrieve_list(id)
    }

    async fn update_list(
        &self,
        id: &str,
        name: Option<&str>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ValueList, StoreError> {
        if let Some(n) = name {
            check_name(n)?;
        }
        // Computed from what Redis holds, and applied only if it still holds that.
        for _ in 0..ID_ATTEMPTS {
            let (mut conn, prefix) = self.conn().await?;
            let record: Option<String> = redis::cmd("HGET")
                .arg(format!("{prefix}lists"))
                .arg(id)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let record = record.ok_or_else(|| not_found("value_list", id))?;
            let (_, current, current_json) = parse_list(&record)?;
            let merged = merge_metadata(&current.metadata, metadata)?;
            let updated = ValueList {
                name: name.unwrap_or(&current.name).to_owned(),
                metadata: merged,
                ..current
            };
            let op = to_json(&Op::UpdateList {
                id: id.to_owned(),
                name: updated.name.clone(),
                metadata: updated.metadata.clone(),
            });
            let (status, seq) = self
                .mutate(
                    &self.scripts.update_list,
                    None,
                    &[id, current_json, &to_json(&updated), &op],
                )
                .await?;
            match status.as_str() {
                "ok" => {
                    self.settle(seq).await;
                    return Ok(updated);
                }
                "not_found" => return Err(not_found("value_list", id)),
                "conflict" => continue,
                other => return Err(unexpected(other)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "value list {id} kept changing while it was updated; retry"
        )))
    }

    async fn delete_list(&self, id: &str) -> Result<(), StoreError> {
        let (mut conn, prefix) = self.conn().await?;
        let record: Option<String> = redis::cmd("HGET")
            .arg(format!("{prefix}lists"))
            .arg(id)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let record = record.ok_or_else(|| not_found("value_list", id))?;
        let (_, list, _) = parse_list(&record)?;
        refuse_default(&list)?;
        let op = to_json(&Op::DeleteList { id: id.to_owned() });
        let (status, seq) = self
            .mutate(&self.scripts.delete_list, Some(id), &[id, &list.alias, &op])
            .await?;
        match status.as_str() {
            "ok" => {
                self.settle(seq).await;
                Ok(())
            }
            "not_found" => Err(not_found("value_list", id)),
            other => Err(unexpected(other)),
        }
    }

    async fn list_lists(
        &self,
        page: Page<'_>,
        alias: Option<&str>,
    ) -> Result<(Vec<ValueList>, bool), StoreError> {
        self.refresh().await;
        self.copy.list_lists(page, alias)
    }

    async fn create_item(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError> {
        let record = self
            .fetch_list(value_list)
            .await?
            .ok_or_else(|| not_found("value_list", value_list))?;
        let (_, list, _) = parse_list(&record)?;
        let canonical = canonical_value(&list, value)?;
        let mut item = ValueListItem {
            id: String::new(),
            value: canonical,
            value_list: list.id.clone(),
            created: now,
            created_by: created_by.to_owned(),
        };
        for _ in 0..ID_ATTEMPTS {
            item.id = new_id("rsli_");
            let op = to_json(&Op::CreateItem(item.clone()));
            let (status, seq) = self
                .mutate(
                    &self.scripts.create_item,
                    Some(&list.id),
                    &[&item.id, &list.id, &item.value, &to_json(&item), &op],
                )
                .await?;
            match status.as_str() {
                "ok" => {
                    self.settle(seq).await;
                    return Ok(item);
                }
                "duplicate" => return Err(duplicate_value(&list, &item.value)),
                "not_found" => return Err(not_found("value_list", value_list)),
                "id_taken" => continue,
                other => return Err(unexpected(other)),
            }
        }
        Err(ids_exhausted())
    }

    async fn retrieve_item(&self, id: &str) -> Result<ValueListItem, StoreError> {
        self.refresh().await;
        self.copy.retrieve_item(id)
    }

    async fn delete_item(&self, id: &str) -> Result<(), StoreError> {
        let (mut conn, prefix) = self.conn().await?;
        let record: Option<String> = redis::cmd("HGET")
            .arg(format!("{prefix}items"))
            .arg(id)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let record = record.ok_or_else(|| not_found("value_list_item", id))?;
        let (_, item) = parse_item(&record)?;
        let op = to_json(&Op::DeleteItem { id: id.to_owned() });
        let (status, seq) = self
            .mutate(
                &self.scripts.delete_item,
                Some(&item.value_list),
                &[id, &item.value_list, &item.value, &op],
            )
            .await?;
        match status.as_str() {
            "ok" => {
                self.settle(seq).await;
                Ok(())
            }
            "not_found" => Err(not_found("value_list_item", id)),
            other => Err(unexpected(other)),
        }
    }

    async fn list_items(
        &self,
        value_list: &str,
        page: Page<'_>,
        value: Option<&str>,
    ) -> Result<(Vec<ValueListItem>, bool), StoreError> {
        self.refresh().await;
        self.copy.list_items(value_list, page, value)
    }
}
