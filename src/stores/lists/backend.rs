//! The value list store as the API sees it: one trait, two implementations.
//!
//! - [`JournalLists`]: the process's own lists, kept by [`ListStore`] in an fsynced append-only
//!   journal (or in memory). Writes run on the blocking pool, since each waits for an fsync.
//! - [`crate::stores::lists::redis::RedisLists`]: lists kept in Redis and shared by every replica (Redis mode).
//!
//! Both validate the same way (the checks live in [`crate::stores::lists::journal`]) and answer the same errors,
//! and both are a [`ListLookup`]: rules bind lists through it and read the cells without locks.

use std::{collections::BTreeMap, sync::Arc};

use crate::stores::{
    StoreError,
    lists::{
        page::Page,
        store::ListStore,
        types::{ValueList, ValueListItem},
    },
};
use riskgate_core::lists::{ItemType, ListCell, ListLookup};

/// Value lists and their items: what `ValueListService` and the Stripe webhooks use.
#[tonic::async_trait]
pub trait ValueListStore: ListLookup + Send + Sync {
    /// Creates a list. `alias` is what rules write after `@`.
    async fn create_list(
        &self,
        alias: &str,
        name: &str,
        item_type: ItemType,
        metadata: BTreeMap<String, String>,
        now: i64,
        created_by: &str,
    ) -> Result<ValueList, StoreError>;

    /// A list by id.
    async fn retrieve_list(&self, id: &str) -> Result<ValueList, StoreError>;

    /// Changes a list's name and metadata: metadata keys are merged, and a key set to `""` is
    /// removed (Stripe's rule).
    async fn update_list(
        &self,
        id: &str,
        name: Option<&str>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ValueList, StoreError>;

    /// Deletes a list and its items. Default lists cannot be deleted.
    async fn delete_list(&self, id: &str) -> Result<(), StoreError>;

    /// Lists, newest first; optionally only the one with `alias`.
    async fn list_lists(
        &self,
        page: Page<'_>,
        alias: Option<&str>,
    ) -> Result<(Vec<ValueList>, bool), StoreError>;

    /// Adds `value` to a list (`value_list` is its id or alias); the value is validated and
    /// normalized for the list's type, and a duplicate is refused.
    async fn create_item(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError>;

    /// An item by id.
    async fn retrieve_item(&self, id: &str) -> Result<ValueListItem, StoreError>;

    /// Removes an item.
    async fn delete_item(&self, id: &str) -> Result<(), StoreError>;

    /// A list's items, newest first; optionally only the one equal to `value`.
    async fn list_items(
        &self,
        value_list: &str,
        page: Page<'_>,
        value: Option<&str>,
    ) -> Result<(Vec<ValueListItem>, bool), StoreError>;

    /// [`Self::create_item`] for a caller on a blocking thread (the Stripe webhook handler, which
    /// also fsyncs its labels file). The default runs the call on the current Tokio runtime.
    fn create_item_blocking(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError> {
        tokio::runtime::Handle::current()
            .block_on(self.create_item(value_list, value, now, created_by))
    }
}

/// The journal store ([`ListStore`]) behind the trait.
#[derive(Clone)]
pub struct JournalLists(Arc<ListStore>);

impl JournalLists {
    pub fn new(store: Arc<ListStore>) -> Self {
        Self(store)
    }

    /// The store itself (tests, backtests).
    pub fn store(&self) -> &Arc<ListStore> {
        &self.0
    }

    /// Runs a write on the blocking pool (it waits for an fsync).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ListStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Refused(format!("internal: the write task failed: {e}")))?
    }
}

impl ListLookup for JournalLists {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        self.0.lookup(alias)
    }
}

#[tonic::async_trait]
impl ValueListStore for JournalLists {
    async fn create_list(
        &self,
        alias: &str,
        name: &str,
        item_type: ItemType,
        metadata: BTreeMap<String, String>,
        now: i64,
        created_by: &str,
    ) -> Result<ValueList, StoreError> {
        let (alias, name, created_by) = (alias.to_owned(), name.to_owned(), created_by.to_owned());
        self.write(move |s| s.create_list(&alias, &name, item_type, metadata, now, &created_by))
            .await
    }

    async fn retrieve_list(&self, id: &str) -> Result<ValueList, StoreError> {
        self.0.retrieve_list(id)
    }

    async fn update_list(
        &self,
        id: &str,
        name: Option<&str>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ValueList, StoreError> {
        let (id, name, metadata) = (id.to_owned(), name.map(str::to_owned), metadata.clone());
        self.write(move |s| s.update_list(&id, name.as_deref(), &metadata))
            .await
    }

    async fn delete_list(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |s| s.delete_list(&id)).await
    }

    async fn list_lists(
        &self,
        page: Page<'_>,
        alias: Option<&str>,
    ) -> Result<(Vec<ValueList>, bool), StoreError> {
        self.0.list_lists(page, alias)
    }

    async fn create_item(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError> {
        let (list, value, created_by) = (
            value_list.to_owned(),
            value.to_owned(),
            created_by.to_owned(),
        );
        self.write(move |s| s.create_item(&list, &value, now, &created_by))
            .await
    }

    async fn retrieve_item(&self, id: &str) -> Result<ValueListItem, StoreError> {
        self.0.retrieve_item(id)
    }

    async fn delete_item(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |s| s.delete_item(&id)).await
    }

    async fn list_items(
        &self,
        value_list: &str,
        page: Page<'_>,
        value: Option<&str>,
    ) -> Result<(Vec<ValueListItem>, bool), StoreError> {
        self.0.list_items(value_list, page, value)
    }

    /// Already on a blocking thread: writes the journal directly.
    fn create_item_blocking(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError> {
        self.0.create_item(value_list, value, now, created_by)
    }
}
