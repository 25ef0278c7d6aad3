//! The lists in memory: lists, items, their order and the [`ListCell`]s rules read, changed only
//! by applying an [`Op`]. The same state serves the journal store (replayed from the journal, then
//! changed live) and the Redis store's local copy (changed from Redis's log, or reloaded whole).

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use crate::stores::{
    StoreError,
    lists::{
        checks::not_found,
        types::{Op, ValueList, ValueListItem},
    },
};
use riskgate_core::lists::{ListCell, Members};

pub(super) struct ListEntry {
    pub(super) list: ValueList,
    pub(super) seq: u64,
    /// Items by creation order.
    pub(super) items: BTreeMap<u64, String>,
    /// Canonical value → item id (duplicates are refused).
    pub(super) values: HashMap<String, String>,
    /// Items whose value became another item's when values were re-canonicalised on load (a
    /// journal or Redis written before Unicode folding may hold both `straße@…` and
    /// `strasse@…`): item id → canonical value. Both items stay; the list holds the value once,
    /// until the last of them is deleted. Empty unless such old data was loaded.
    pub(super) shadowed: HashMap<String, String>,
}

pub(super) struct ItemEntry {
    pub(super) item: ValueListItem,
    pub(super) seq: u64,
}

#[derive(Default)]
pub(super) struct State {
    seq: u64,
    pub(super) lists: HashMap<String, ListEntry>,
    pub(super) list_order: BTreeMap<u64, String>,
    pub(super) aliases: HashMap<String, String>,
    pub(super) items: HashMap<String, ItemEntry>,
    /// One cell per alias ever seen, kept for the life of the process (rules hold them).
    cells: HashMap<String, Arc<ListCell>>,
}

impl State {
    pub(super) fn cell(&mut self, alias: &str) -> Arc<ListCell> {
        self.cells
            .entry(alias.to_owned())
            .or_insert_with(|| Arc::new(ListCell::new(alias, None)))
            .clone()
    }

    /// Applies a change that has been checked (live) or read from the journal (replay).
    pub(super) fn apply(&mut self, op: Op) -> Result<(), StoreError> {
        self.seq += 1;
        let seq = self.seq;
        match op {
            Op::CreateList(list) => {
                if self.aliases.contains_key(&list.alias) || self.lists.contains_key(&list.id) {
                    return Err(conflict(format!(
                        "list {} or alias {} exists",
                        list.id, list.alias
                    )));
                }
                self.cell(&list.alias)
                    .write(|m| *m = Some(Members::new(list.item_type)));
                self.aliases.insert(list.alias.clone(), list.id.clone());
                self.list_order.insert(seq, list.id.clone());
                self.lists.insert(
                    list.id.clone(),
                    ListEntry {
                        list,
                        seq,
                        items: BTreeMap::new(),
                        values: HashMap::new(),
                        shadowed: HashMap::new(),
                    },
                );
            }
            Op::UpdateList { id, name, metadata } => {
                let entry = self
                    .lists
                    .get_mut(&id)
                    .ok_or_else(|| conflict("no such list"))?;
                entry.list.name = name;
                entry.list.metadata = metadata;
            }
            Op::DeleteList { id } => {
                let entry = self
                    .lists
                    .remove(&id)
                    .ok_or_else(|| conflict("no such list"))?;
                self.list_order.remove(&entry.seq);
                self.aliases.remove(&entry.list.alias);
                for item_id in entry.items.values() {
                    self.items.remove(item_id);
                }
                self.cell(&entry.list.alias).write(|m| *m = None);
            }
            Op::CreateItem(mut item) => {
                let entry = self
                    .lists
                    .get_mut(&item.value_list)
                    .ok_or_else(|| conflict("no such list"))?;
                if self.items.contains_key(&item.id) {
                    return Err(conflict(format!("item {} exists", item.id)));
                }
                // Values written by earlier versions (lower-cased, not folded) are read in
                // today's canonical form, so old lists match as new ones do.
                item.value = entry.list.item_type.recanonicalize(&item.value);
                if entry.values.contains_key(&item.value) {
                    // Live changes refuse duplicates before they get here; one read back is two
                    // old items that are one value now: keep both, list the value once.
                    entry.items.insert(seq, item.id.clone());
                    entry.shadowed.insert(item.id.clone(), item.value.clone());
                    self.items.insert(item.id.clone(), ItemEntry { item, seq });
                    return Ok(());
                }
                entry.items.insert(seq, item.id.clone());
                entry.values.insert(item.value.clone(), item.id.clone());
                let alias = entry.list.alias.clone();
                self.cell(&alias).write(|m| {
                    if let Some(m) = m {
                        m.insert(&item.value);
                    }
                });
                self.items.insert(item.id.clone(), ItemEntry { item, seq });
            }
            Op::DeleteItem { id } => {
                let ItemEntry { item, seq } = self
                    .items
                    .remove(&id)
                    .ok_or_else(|| conflict("no such item"))?;
                let entry = self
                    .lists
                    .get_mut(&item.value_list)
                    .ok_or_else(|| conflict("item of no list"))?;
                entry.items.remove(&seq);
                if entry.shadowed.remove(&id).is_some() {
                    return Ok(()); // another item still holds the value
                }
                entry.values.remove(&item.value);
                let heir = entry
                    .shadowed
                    .iter()
                    .find(|(_, value)| **value == item.value)
                    .map(|(heir, _)| heir.clone());
                if let Some(heir) = heir {
                    entry.shadowed.remove(&heir);
                    entry.values.insert(item.value.clone(), heir);
                    return Ok(());
                }
                let alias = entry.list.alias.clone();
                self.cell(&alias).write(|m| {
                    if let Some(m) = m {
                        m.remove(&item.value);
                    }
                });
            }
        }
        Ok(())
    }

    pub(super) fn live_objects(&self) -> u64 {
        (self.lists.len() + self.items.len()) as u64
    }

    /// The journal lines that recreate the current state.
    pub(super) fn snapshot(&self) -> Vec<Op> {
        let mut ops = Vec::with_capacity(self.lists.len() + self.items.len());
        let mut by_seq: BTreeMap<u64, Op> = BTreeMap::new();
        for entry in self.lists.values() {
            by_seq.insert(entry.seq, Op::CreateList(entry.list.clone()));
        }
        for entry in self.items.values() {
            by_seq.insert(entry.seq, Op::CreateItem(entry.item.clone()));
        }
        ops.extend(by_seq.into_values());
        ops
    }

    /// Becomes `fresh` (a reloaded copy), moving the new contents into this state's cells one
    /// list at a time, so a rule never sees a list empty while it is being reloaded.
    pub(super) fn replace_with(&mut self, mut fresh: State) {
        let mut cells = std::mem::take(&mut self.cells);
        for (alias, fresh_cell) in fresh.cells.drain() {
            let members = fresh_cell.write(Option::take);
            match cells.get(&alias) {
                Some(cell) => cell.write(|m| *m = members),
                None => {
                    let cell = Arc::new(ListCell::new(&alias, members));
                    cells.insert(alias, cell);
                }
            }
        }
        // Only lists this copy had are emptied: a cell it never filled (a rule naming a list not
        // created yet, or a list mirrored from Stripe, `upstream::lists`) is not its to clear.
        for (alias, cell) in &cells {
            if !fresh.aliases.contains_key(alias) && self.aliases.contains_key(alias) {
                cell.write(|m| *m = None);
            }
        }
        fresh.cells = cells;
        *self = fresh;
    }

    /// The id of the list `id_or_alias` names.
    pub(super) fn resolve_list(&self, id_or_alias: &str) -> Result<String, StoreError> {
        if self.lists.contains_key(id_or_alias) {
            return Ok(id_or_alias.to_owned());
        }
        self.aliases
            .get(id_or_alias)
            .cloned()
            .ok_or_else(|| not_found("value_list", id_or_alias))
    }
}

/// A change that does not fit the state: the journal or the change log disagrees with what was
/// applied before it. Replay reports it as corruption, a live change as an internal error, the
/// Redis copy reloads a snapshot.
fn conflict(message: impl Into<String>) -> StoreError {
    StoreError::Refused(message.into())
}
