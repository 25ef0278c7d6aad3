//! The journal store: Stripe-shaped lists and items, kept in memory for reads and, when opened on
//! a file, in the [`journal`](super::journal) for durability: every change is journaled and
//! fsynced before it is applied and acknowledged.
//!
//! Reads never touch the disk, and evaluations never take the store's locks: rules read the
//! [`ListCell`]s, which the store updates in place. Two locks, always taken in this order:
//! `journal` serialises writers and is held across a write's fsync (and a compaction's file
//! work), on the blocking pool; `state` is held only for memory work — checking a change,
//! applying it, copying a snapshot — so a read (an API call on a runtime worker) never waits for
//! the disk.
//!
//! The same store without a journal is the Redis store's local copy
//! ([`crate::stores::lists::redis`]): it applies the changes Redis's log carries, or a whole
//! snapshot. The checks both stores make (aliases, names, metadata, values per item type, default
//! lists) are in [`super::checks`].

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::stores::{
    StoreError,
    lists::{
        checks::{
            SYSTEM_ACTOR, alias_taken, canonical_value, check_alias, check_metadata, check_name,
            duplicate_value, merge_metadata, not_found, refuse_default,
        },
        journal::Journal,
        page::{Page, take_page},
        state::State,
        types::{Op, ValueList, ValueListItem, new_id},
    },
};
use riskgate_core::lists::{DEFAULT_LISTS, ItemType, ListCell, ListLookup};

/// Value lists and their items.
pub struct ListStore {
    /// Writers' lock, held across the journal's file work (see the module documentation).
    journal: Mutex<Option<Journal>>,
    /// The lists in memory; held for memory work only.
    state: Mutex<State>,
}

type JournalGuard<'a> = MutexGuard<'a, Option<Journal>>;

impl ListStore {
    fn with_state(state: State, journal: Option<Journal>) -> Self {
        Self {
            journal: Mutex::new(journal),
            state: Mutex::new(state),
        }
    }

    /// A store that keeps lists in memory only.
    pub fn in_memory(now: i64) -> Self {
        let store = Self::with_state(State::default(), None);
        store
            .ensure_default_lists(now)
            .expect("in-memory store cannot fail");
        store
    }

    /// Opens (or creates) the journal at `path`, replays it, and creates any missing default list.
    /// Blocking file work: call it from a blocking thread.
    pub fn open(path: &Path, now: i64) -> Result<Self, StoreError> {
        let (journal, state) = Journal::open(path)?;
        let store = Self::with_state(state, Some(journal));
        store.ensure_default_lists(now)?;
        store.maybe_compact();
        Ok(store)
    }

    /// The lists a journal's content (`bytes`, read from `origin`) holds, in memory, without
    /// touching any file: what `riskgate backtest --lists` reads. A torn last line is ignored, as
    /// opening the journal would cut it; any other unreadable line is an error naming its line.
    pub fn from_journal(origin: &Path, bytes: &[u8], now: i64) -> Result<Self, StoreError> {
        let (state, _) = super::journal::replay(origin, bytes)?;
        let store = Self::with_state(state, None);
        store.ensure_default_lists(now)?;
        Ok(store)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the writers' lock (blocking: on the blocking pool, a write may hold it for an fsync).
    fn writer(&self) -> JournalGuard<'_> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ensure_default_lists(&self, now: i64) -> Result<(), StoreError> {
        for (alias, name, item_type) in DEFAULT_LISTS {
            if self.state().aliases.contains_key(*alias) {
                continue;
            }
            self.create_list(alias, name, *item_type, BTreeMap::new(), now, SYSTEM_ACTOR)?;
        }
        Ok(())
    }

    /// Journals `op` (durably, holding only the writers' lock), then applies it.
    fn commit(&self, journal: &mut JournalGuard<'_>, op: Op) -> Result<(), StoreError> {
        if let Some(j) = journal.as_mut() {
            j.append(&op)?;
        }
        self.state()
            .apply(op)
            .map_err(|e| StoreError::Refused(format!("internal: {e}")))
    }

    /// Compacts when the journal is mostly dead lines. Runs after a change is committed, so a
    /// failure is logged, not returned: the change itself is durable and must be acknowledged.
    /// The next change tries again.
    fn maybe_compact(&self) {
        let mut journal = self.writer();
        let Some(j) = journal.as_mut() else { return };
        if !j.wants_compaction(self.state().live_objects()) {
            return;
        }
        let snapshot = self.state().snapshot();
        if let Err(e) = j.compact(snapshot) {
            tracing::warn!(error = %e, "lists journal compaction failed; retried after the next change");
        }
    }

    /// Compacts once the journal has more than `lines` lines (and 4× more than live objects).
    pub fn with_compaction_threshold(self, lines: u64) -> Self {
        if let Some(j) = self.writer().as_mut() {
            j.set_compaction_threshold(lines);
        }
        self
    }

    /// Compacts the journal now (tests and operators).
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut journal = self.writer();
        match journal.as_mut() {
            Some(j) => {
                let snapshot = self.state().snapshot();
                j.compact(snapshot)
            }
            None => Ok(()),
        }
    }

    /// Creates a list. `alias` is what rules write after `@`.
    pub fn create_list(
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
        let mut journal = self.writer();
        if self.state().aliases.contains_key(alias) {
            return Err(alias_taken(alias));
        }
        let list = ValueList {
            id: new_id("rsl_"),
            alias: alias.to_owned(),
            name: name.to_owned(),
            item_type,
            created: now,
            created_by: created_by.to_owned(),
            metadata,
        };
        self.commit(&mut journal, Op::CreateList(list.clone()))?;
        Ok(list)
    }

    /// A list by id.
    pub fn retrieve_list(&self, id: &str) -> Result<ValueList, StoreError> {
        self.state()
            .lists
            .get(id)
            .map(|e| e.list.clone())
            .ok_or_else(|| not_found("value_list", id))
    }

    /// The id of the list with `alias`.
    pub fn list_id_by_alias(&self, alias: &str) -> Option<String> {
        self.state().aliases.get(alias).cloned()
    }

    /// Changes a list's name and metadata: metadata keys are merged, and a key set to `""` is
    /// removed (Stripe's rule).
    pub fn update_list(
        &self,
        id: &str,
        name: Option<&str>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ValueList, StoreError> {
        if let Some(n) = name {
            check_name(n)?;
        }
        let mut journal = self.writer();
        let current = self
            .state()
            .lists
            .get(id)
            .ok_or_else(|| not_found("value_list", id))?
            .list
            .clone();
        let merged = merge_metadata(&current.metadata, metadata)?;
        let name = name.unwrap_or(&current.name).to_owned();
        self.commit(
            &mut journal,
            Op::UpdateList {
                id: id.to_owned(),
                name,
                metadata: merged,
            },
        )?;
        let list = self.state().lists[id].list.clone();
        drop(journal);
        self.maybe_compact();
        Ok(list)
    }

    /// Deletes a list and its items. Default lists cannot be deleted.
    pub fn delete_list(&self, id: &str) -> Result<(), StoreError> {
        let mut journal = self.writer();
        {
            let state = self.state();
            let entry = state
                .lists
                .get(id)
                .ok_or_else(|| not_found("value_list", id))?;
            refuse_default(&entry.list)?;
        }
        self.commit(&mut journal, Op::DeleteList { id: id.to_owned() })?;
        drop(journal);
        self.maybe_compact();
        Ok(())
    }

    /// Lists, newest first; optionally only the one with `alias`.
    pub fn list_lists(
        &self,
        page: Page<'_>,
        alias: Option<&str>,
    ) -> Result<(Vec<ValueList>, bool), StoreError> {
        let s = self.state();
        let upper = match page.starting_after {
            Some(id) => {
                s.lists
                    .get(id)
                    .ok_or_else(|| not_found("value_list", id))?
                    .seq
            }
            None => u64::MAX,
        };
        let matching = s
            .list_order
            .range(..upper)
            .rev()
            .map(|(_, id)| &s.lists[id].list)
            .filter(|l| alias.is_none_or(|a| a == l.alias));
        Ok(take_page(matching, page.limit))
    }

    /// Adds `value` to a list (`value_list` is its id or alias); the value is validated and
    /// normalized for the list's type, and a duplicate is refused.
    pub fn create_item(
        &self,
        value_list: &str,
        value: &str,
        now: i64,
        created_by: &str,
    ) -> Result<ValueListItem, StoreError> {
        let mut journal = self.writer();
        let (list_id, canonical) = {
            let state = self.state();
            let list_id = state.resolve_list(value_list)?;
            let entry = &state.lists[&list_id];
            let canonical = canonical_value(&entry.list, value)?;
            if entry.values.contains_key(&canonical) {
                return Err(duplicate_value(&entry.list, &canonical));
            }
            (list_id, canonical)
        };
        let item = ValueListItem {
            id: new_id("rsli_"),
            value: canonical,
            value_list: list_id,
            created: now,
            created_by: created_by.to_owned(),
        };
        self.commit(&mut journal, Op::CreateItem(item.clone()))?;
        Ok(item)
    }

    /// An item by id.
    pub fn retrieve_item(&self, id: &str) -> Result<ValueListItem, StoreError> {
        self.state()
            .items
            .get(id)
            .map(|e| e.item.clone())
            .ok_or_else(|| not_found("value_list_item", id))
    }

    /// Removes an item.
    pub fn delete_item(&self, id: &str) -> Result<(), StoreError> {
        let mut journal = self.writer();
        if !self.state().items.contains_key(id) {
            return Err(not_found("value_list_item", id));
        }
        self.commit(&mut journal, Op::DeleteItem { id: id.to_owned() })?;
        drop(journal);
        self.maybe_compact();
        Ok(())
    }

    /// A list's items, newest first; optionally only the one equal to `value`.
    pub fn list_items(
        &self,
        value_list: &str,
        page: Page<'_>,
        value: Option<&str>,
    ) -> Result<(Vec<ValueListItem>, bool), StoreError> {
        let s = self.state();
        let list_id = s.resolve_list(value_list)?;
        let entry = &s.lists[&list_id];
        let wanted = value.map(|v| {
            entry
                .list
                .item_type
                .normalize(v)
                .unwrap_or_else(|_| v.to_owned())
        });
        let upper = match page.starting_after {
            Some(id) => match s.items.get(id) {
                Some(e) if e.item.value_list == list_id => e.seq,
                _ => return Err(not_found("value_list_item", id)),
            },
            None => u64::MAX,
        };
        let matching = entry
            .items
            .range(..upper)
            .rev()
            .map(|(_, id)| &s.items[id].item)
            .filter(|i| wanted.as_deref().is_none_or(|w| w == i.value));
        Ok(take_page(matching, page.limit))
    }
}

// === A local copy of a shared store ===

/// The Redis store ([`crate::stores::lists::redis`]) keeps its lists in Redis and a copy here, which rules and
/// reads use: changes arrive as [`Op`]s from Redis's change log, or as a whole snapshot.
impl ListStore {
    /// An empty copy: no journal, no default lists (they come from the shared store).
    pub fn replica() -> Self {
        Self::with_state(State::default(), None)
    }

    /// Applies one change from the shared store's log. An error means the copy and the log
    /// disagree (the caller reloads a snapshot).
    pub fn apply_replicated(&self, op: Op) -> Result<(), StoreError> {
        self.state().apply(op)
    }

    /// Replaces the whole copy with `ops` (creations in creation order). The new contents are built
    /// aside and then moved into the existing cells one list at a time, so a rule never sees a list
    /// empty while it is being reloaded.
    pub fn replace_replicated(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut fresh = State::default();
        for op in ops {
            fresh.apply(op)?;
        }
        self.state().replace_with(fresh);
        Ok(())
    }

    /// Whether a list has `alias`.
    pub(super) fn has_alias(&self, alias: &str) -> bool {
        self.state().aliases.contains_key(alias)
    }
}

/// Every alias resolves: a rule may name a list before it is created (the server warns), and the
/// rule starts matching once a list with that alias exists, without a reload.
impl ListLookup for ListStore {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        Some(self.state().cell(alias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lists_exist_and_cannot_be_deleted() {
        let s = ListStore::in_memory(1);
        let (lists, more) = s
            .list_lists(
                Page {
                    limit: 100,
                    ..Default::default()
                },
                None,
            )
            .unwrap();
        assert_eq!(lists.len(), DEFAULT_LISTS.len());
        assert!(!more);
        let id = s.list_id_by_alias("block_list_email").unwrap();
        assert!(matches!(s.delete_list(&id), Err(StoreError::Refused(_))));
        s.create_item("block_list_email", "A@B.co", 2, "t").unwrap();
        assert!(s.lookup("block_list_email").unwrap().contains("a@b.co"));
    }

    #[test]
    fn a_replica_copy_is_replaced_in_place() {
        let copy = ListStore::replica();
        let list = |alias: &str, id: &str| {
            Op::CreateList(ValueList {
                id: id.into(),
                alias: alias.into(),
                name: alias.into(),
                item_type: ItemType::Email,
                created: 1,
                created_by: "t".into(),
                metadata: BTreeMap::new(),
            })
        };
        let item = |id: &str, list: &str, value: &str| {
            Op::CreateItem(ValueListItem {
                id: id.into(),
                value: value.into(),
                value_list: list.into(),
                created: 1,
                created_by: "t".into(),
            })
        };
        copy.apply_replicated(list("kept", "rsl_1")).unwrap();
        copy.apply_replicated(list("dropped", "rsl_2")).unwrap();
        copy.apply_replicated(item("rsli_1", "rsl_1", "a@b.co"))
            .unwrap();
        let (kept, dropped, later) = (
            copy.lookup("kept").unwrap(),
            copy.lookup("dropped").unwrap(),
            copy.lookup("later").unwrap(),
        );
        // A cell filled by someone else (a list mirrored from Stripe) is not the copy's.
        let mirror = copy.lookup("mirrored_from_stripe").unwrap();
        mirror.write(|m| {
            let mut members = riskgate_core::lists::Members::new(ItemType::Email);
            members.insert("m@x.co");
            *m = Some(members);
        });
        assert!(
            copy.apply_replicated(item("rsli_9", "rsl_404", "x@y.co"))
                .is_err()
        );
        copy.replace_replicated(vec![
            list("kept", "rsl_1"),
            item("rsli_2", "rsl_1", "c@d.co"),
            list("later", "rsl_3"),
        ])
        .unwrap();
        assert!(kept.contains("c@d.co") && !kept.contains("a@b.co"));
        assert!(dropped.item_type().is_none());
        assert!(
            mirror.contains("m@x.co"),
            "a snapshot reload left the mirror alone"
        );
        assert_eq!(later.item_type(), Some(ItemType::Email));
        assert!(copy.retrieve_item("rsli_1").is_err());
        assert_eq!(copy.retrieve_item("rsli_2").unwrap().value, "c@d.co");
        assert!(copy.has_alias("later") && !copy.has_alias("dropped"));
    }

    #[test]
    fn reads_do_not_wait_for_a_write_holding_the_journal() {
        let s = Arc::new(ListStore::in_memory(1));
        let item = s.create_item("block_list_email", "a@b.co", 1, "t").unwrap();
        // A writer in the middle of its fsync (or a compaction) holds the writers' lock.
        let writing = s.writer();
        let reader = {
            let s = s.clone();
            std::thread::spawn(move || {
                let (lists, _) = s.list_lists(Page::default(), None).unwrap();
                let found = s.retrieve_item(&item.id).unwrap();
                let cell = s.lookup("block_list_email").unwrap();
                (lists.len(), found.value, cell.contains("A@B.CO"))
            })
        };
        let (lists, value, listed) = reader.join().unwrap();
        assert_eq!((lists, value.as_str(), listed), (10, "a@b.co", true)); // a page of 10
        drop(writing);
    }

    #[test]
    fn a_journal_from_before_unicode_folding_loads_with_its_values_folded() {
        let list = |id: &str| {
            Op::CreateList(ValueList {
                id: id.into(),
                alias: "emails".into(),
                name: "E".into(),
                item_type: ItemType::Email,
                created: 1,
                created_by: "t".into(),
                metadata: BTreeMap::new(),
            })
        };
        let item = |id: &str, value: &str| {
            Op::CreateItem(ValueListItem {
                id: id.into(),
                value: value.into(),
                value_list: "rsl_1".into(),
                created: 1,
                created_by: "t".into(),
            })
        };
        let mut journal = Vec::new();
        for op in [
            list("rsl_1"),
            // Lower-cased as earlier versions stored them: one value once folded.
            item("rsli_1", "straße@example.de"),
            item("rsli_2", "strasse@example.de"),
            item("rsli_3", "jörg@example.com"),
        ] {
            serde_json::to_writer(&mut journal, &op).unwrap();
            journal.push(b'\n');
        }
        let s = ListStore::from_journal(Path::new("old.journal"), &journal, 1).unwrap();
        let cell = s.lookup("emails").unwrap();
        assert!(cell.contains("STRASSE@example.de") && cell.contains("JÖRG@example.com"));
        assert_eq!(
            s.retrieve_item("rsli_1").unwrap().value,
            "strasse@example.de"
        );
        assert!(matches!(
            s.create_item("emails", "Straße@Example.de", 2, "t"),
            Err(StoreError::AlreadyExists { .. })
        ));
        // Both old items stay; the value is listed until the last of them goes.
        s.delete_item("rsli_1").unwrap();
        assert!(cell.contains("strasse@example.de"));
        s.delete_item("rsli_2").unwrap();
        assert!(!cell.contains("strasse@example.de"));
        assert!(cell.contains("jörg@example.com"));
        // Unreadable content is an error naming its line.
        let e = ListStore::from_journal(Path::new("bad.journal"), b"{}\n", 1)
            .err()
            .unwrap();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn items_are_validated_and_duplicates_refused() {
        let s = ListStore::in_memory(1);
        let l = s
            .create_list(
                "bad_countries",
                "Bad",
                ItemType::Country,
                BTreeMap::new(),
                5,
                "t",
            )
            .unwrap();
        assert!(l.id.starts_with("rsl_") && l.id.len() == 28);
        let i = s.create_item(&l.id, "ng", 6, "t").unwrap();
        assert!(i.id.starts_with("rsli_"));
        assert_eq!(i.value, "NG");
        assert!(matches!(
            s.create_item(&l.id, "NG", 7, "t"),
            Err(StoreError::AlreadyExists { field: "value", .. })
        ));
        let e = s.create_item(&l.id, "Nigeria", 7, "t").unwrap_err();
        assert!(
            e.to_string()
                .contains("value: `Nigeria` is not an ISO 3166-1"),
            "{e}"
        );
        assert!(matches!(
            s.create_list(
                "bad_countries",
                "x",
                ItemType::Email,
                BTreeMap::new(),
                5,
                "t"
            ),
            Err(StoreError::AlreadyExists { field: "alias", .. })
        ));
        assert!(matches!(
            s.create_list("bad alias", "x", ItemType::Email, BTreeMap::new(), 5, "t"),
            Err(StoreError::Invalid { field: "alias", .. })
        ));
    }

    #[test]
    fn pagination_is_newest_first_with_starting_after() {
        let s = ListStore::in_memory(1);
        let l = s
            .create_list("ips", "IPs", ItemType::IpAddress, BTreeMap::new(), 1, "t")
            .unwrap();
        let ids: Vec<String> = (0..25)
            .map(|i| {
                s.create_item(&l.id, &format!("10.0.0.{i}"), 1, "t")
                    .unwrap()
                    .id
            })
            .collect();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, more) = s
                .list_items(
                    &l.id,
                    Page {
                        limit: 10,
                        starting_after: after.as_deref(),
                    },
                    None,
                )
                .unwrap();
            seen.extend(page.iter().map(|i| i.id.clone()));
            after = page.last().map(|i| i.id.clone());
            if !more {
                break;
            }
        }
        let mut expected = ids.clone();
        expected.reverse();
        assert_eq!(seen, expected);
        let (one, _) = s
            .list_items("ips", Page::default(), Some("10.0.0.7"))
            .unwrap();
        assert_eq!(one.len(), 1);
    }
}
