//! The durable value list store: Stripe-shaped lists and items, kept in memory for reads and in an
//! append-only journal for durability.
//!
//! Every change is one NDJSON line appended to the journal and `fsync`ed *before* it is applied and
//! acknowledged, so an acknowledged create or delete survives `kill -9`. Opening the store replays
//! the journal; a torn last line (a crash mid-write, never acknowledged) is cut off. When the
//! journal holds many more lines than live objects it is compacted: a snapshot is written to a
//! temporary file, fsynced, and renamed over the journal (then the directory is fsynced).
//!
//! Reads never touch the disk, and evaluations never take the store's lock: rules read the
//! [`ListCell`]s, which the store updates in place.
//!
//! The same store without a journal is the Redis store's local copy ([`crate::stores::lists::redis`]): it applies
//! the changes Redis's log carries, or a whole snapshot. The checks both stores make (aliases,
//! names, metadata, values per item type, default lists) are the functions below.

use crate::stores::StoreError;
use std::{
    collections::{BTreeMap, HashMap},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};

use crate::faults;
use riskgate_core::lists::{DEFAULT_LISTS, ItemType, ListCell, ListLookup, Members};

/// Longest alias and name.
pub const MAX_ALIAS_LEN: usize = 100;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Page size when none is asked for (Stripe's default).
pub const DEFAULT_LIMIT: usize = 10;
/// Who created the default lists.
pub const SYSTEM_ACTOR: &str = "riskgate";

/// A value list, as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueList {
    pub id: String,
    pub alias: String,
    pub name: String,
    pub item_type: ItemType,
    pub created: i64,
    pub created_by: String,
    pub metadata: BTreeMap<String, String>,
}

/// An item of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueListItem {
    pub id: String,
    /// In canonical form for the list's type.
    pub value: String,
    /// The list's id.
    pub value_list: String,
    pub created: i64,
    pub created_by: String,
}

/// One change: a journal line, or an entry of the Redis change log ([`crate::stores::lists::redis`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Op {
    CreateList(ValueList),
    UpdateList {
        id: String,
        name: String,
        metadata: BTreeMap<String, String>,
    },
    DeleteList {
        id: String,
    },
    CreateItem(ValueListItem),
    DeleteItem {
        id: String,
    },
}

struct ListEntry {
    list: ValueList,
    seq: u64,
    /// Items by creation order.
    items: BTreeMap<u64, String>,
    /// Canonical value → item id (duplicates are refused).
    values: HashMap<String, String>,
}

struct ItemEntry {
    item: ValueListItem,
    seq: u64,
}

#[derive(Default)]
struct State {
    seq: u64,
    lists: HashMap<String, ListEntry>,
    list_order: BTreeMap<u64, String>,
    aliases: HashMap<String, String>,
    items: HashMap<String, ItemEntry>,
    /// One cell per alias ever seen, kept for the life of the process (rules hold them).
    cells: HashMap<String, Arc<ListCell>>,
}

impl State {
    fn cell(&mut self, alias: &str) -> Arc<ListCell> {
        self.cells
            .entry(alias.to_owned())
            .or_insert_with(|| Arc::new(ListCell::new(alias, None)))
            .clone()
    }

    /// Applies a change that has been checked (live) or read from the journal (replay).
    fn apply(&mut self, op: Op) -> Result<(), String> {
        self.seq += 1;
        let seq = self.seq;
        match op {
            Op::CreateList(list) => {
                if self.aliases.contains_key(&list.alias) || self.lists.contains_key(&list.id) {
                    return Err(format!("list {} or alias {} exists", list.id, list.alias));
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
                    },
                );
            }
            Op::UpdateList { id, name, metadata } => {
                let entry = self.lists.get_mut(&id).ok_or("no such list")?;
                entry.list.name = name;
                entry.list.metadata = metadata;
            }
            Op::DeleteList { id } => {
                let entry = self.lists.remove(&id).ok_or("no such list")?;
                self.list_order.remove(&entry.seq);
                self.aliases.remove(&entry.list.alias);
                for item_id in entry.items.values() {
                    self.items.remove(item_id);
                }
                self.cell(&entry.list.alias).write(|m| *m = None);
            }
            Op::CreateItem(item) => {
                let entry = self.lists.get_mut(&item.value_list).ok_or("no such list")?;
                if entry.values.contains_key(&item.value) {
                    return Err(format!("duplicate value in {}", item.value_list));
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
                let ItemEntry { item, seq } = self.items.remove(&id).ok_or("no such item")?;
                let entry = self
                    .lists
                    .get_mut(&item.value_list)
                    .ok_or("item of no list")?;
                entry.items.remove(&seq);
                entry.values.remove(&item.value);
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

    fn live_objects(&self) -> u64 {
        (self.lists.len() + self.items.len()) as u64
    }

    /// The journal lines that recreate the current state.
    fn snapshot(&self) -> Vec<Op> {
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
}

struct Journal {
    path: PathBuf,
    file: File,
    /// Lines in the file.
    lines: u64,
    /// Bytes of whole, acknowledged lines: what the file is cut back to when an append fails.
    len: u64,
    /// Set when a failure left the file in a state further appends must not build on (the
    /// journal could not be cut back, or a compaction's rename may not be durable). Every later
    /// change is refused until the process restarts and replays the journal.
    broken: Option<String>,
    /// Compact once the file has more lines than this, and 4× more than live objects.
    compact_min: u64,
}

/// Default for [`ListStore::with_compaction_threshold`]: small journals are never worth rewriting.
pub const COMPACT_MIN_LINES: u64 = 1024;

impl Journal {
    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one change and waits until it is on disk. On failure nothing of the change stays
    /// in the journal: it is refused, so a replay after a restart must not apply it either.
    fn append(&mut self, op: &Op) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(self.io(std::io::Error::other(format!(
                "refusing changes after an earlier failure ({why}); restart to replay the journal"
            ))));
        }
        let mut line = serde_json::to_vec(op).expect("journal entries serialize");
        line.push(b'\n');
        if let Some(e) = faults::error(faults::JOURNAL_APPEND) {
            return Err(self.io(std::io::Error::other(e)));
        }
        let written =
            self.file
                .write_all(&line)
                .and_then(|()| match faults::error(faults::JOURNAL_FSYNC) {
                    Some(e) => Err(std::io::Error::other(e)),
                    None => self.file.sync_data(),
                });
        if let Err(e) = written {
            self.cut_back();
            return Err(self.io(e));
        }
        self.lines += 1;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Removes whatever a failed append left after the last acknowledged line.
    fn cut_back(&mut self) {
        let cut = self
            .file
            .set_len(self.len)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = cut {
            tracing::error!(
                path = %self.path.display(),
                error = %e,
                "lists journal: cannot remove a failed change; refusing changes until restart"
            );
            self.broken = Some(format!("cannot cut back a failed append: {e}"));
        }
    }

    /// Rewrites the journal as a snapshot of `state`, atomically. Until the rename the journal is
    /// untouched, so a failure before it loses nothing; after it, appends go to the snapshot.
    fn compact(&mut self, state: &State) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(self.io(std::io::Error::other(format!(
                "not compacting after an earlier failure ({why})"
            ))));
        }
        let tmp = self.path.with_extension("compact.tmp");
        let ops = state.snapshot();
        let mut buf = Vec::new();
        for op in &ops {
            serde_json::to_writer(&mut buf, op).expect("journal entries serialize");
            buf.push(b'\n');
        }
        let prepare = || -> std::io::Result<File> {
            let mut f = File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            if let Some(e) = faults::error(faults::JOURNAL_COMPACT) {
                return Err(std::io::Error::other(e));
            }
            // Opened before the rename, this handle is the new journal's once the rename is done:
            // there is no moment when appends could go to the replaced file.
            OpenOptions::new().append(true).open(&tmp)
        };
        let file = match prepare().and_then(|f| std::fs::rename(&tmp, &self.path).map(|()| f)) {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(self.io(e));
            }
        };
        self.file = file;
        self.lines = ops.len() as u64;
        self.len = buf.len() as u64;
        if let Err(e) = sync_dir(&self.path) {
            // The rename may not survive a crash, and changes appended after it would be lost
            // with it: refuse them rather than acknowledge them.
            self.broken = Some(format!("compaction rename not durable: {e}"));
            return Err(self.io(e));
        }
        Ok(())
    }
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// Value lists and their items.
pub struct ListStore {
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    journal: Option<Journal>,
}

/// A page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page<'a> {
    /// 1 to 100; 0 means the default (10).
    pub limit: usize,
    /// The id of the last object of the previous page.
    pub starting_after: Option<&'a str>,
}

impl ListStore {
    /// A store that keeps lists in memory only.
    pub fn in_memory(now: i64) -> Self {
        let store = Self {
            inner: Mutex::new(Inner {
                state: State::default(),
                journal: None,
            }),
        };
        store
            .ensure_default_lists(now)
            .expect("in-memory store cannot fail");
        store
    }

    /// Opens (or creates) the journal at `path`, replays it, and creates any missing default list.
    pub fn open(path: &Path, now: i64) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut state = State::default();
        let mut lines = 0u64;
        let mut good_len = 0u64;
        if let Ok(file) = File::open(path) {
            let mut reader = BufReader::new(file);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                let complete = buf.ends_with(b"\n");
                match serde_json::from_slice::<Op>(&buf) {
                    Ok(op) if complete => {
                        state.apply(op).map_err(|message| StoreError::Corrupt {
                            path: path.to_owned(),
                            line: lines as usize + 1,
                            message,
                        })?;
                        lines += 1;
                        good_len += n as u64;
                    }
                    // A torn last line: written, never acknowledged. Anything after it would be
                    // corruption, which the next iteration reports.
                    _ if !complete => break,
                    Err(e) => {
                        return Err(StoreError::Corrupt {
                            path: path.to_owned(),
                            line: lines as usize + 1,
                            message: e.to_string(),
                        });
                    }
                    Ok(_) => unreachable!("complete lines are handled above"),
                }
            }
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if !existed {
            // The new file's directory entry must be durable too.
            sync_dir(path).map_err(io)?;
        }
        if file.metadata().map_err(io)?.len() > good_len {
            tracing::warn!(path = %path.display(), "lists journal: dropping a torn last line");
            file.set_len(good_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let store = Self {
            inner: Mutex::new(Inner {
                state,
                journal: Some(Journal {
                    path: path.to_owned(),
                    file,
                    lines,
                    len: good_len,
                    broken: None,
                    compact_min: COMPACT_MIN_LINES,
                }),
            }),
        };
        store.ensure_default_lists(now)?;
        store.maybe_compact();
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ensure_default_lists(&self, now: i64) -> Result<(), StoreError> {
        for (alias, name, item_type) in DEFAULT_LISTS {
            if self.lock().state.aliases.contains_key(*alias) {
                continue;
            }
            self.create_list(alias, name, *item_type, BTreeMap::new(), now, SYSTEM_ACTOR)?;
        }
        Ok(())
    }

    /// Journals `op` (durably), then applies it.
    fn commit(&self, inner: &mut Inner, op: Op) -> Result<(), StoreError> {
        if let Some(j) = inner.journal.as_mut() {
            j.append(&op)?;
        }
        inner
            .state
            .apply(op)
            .map_err(|m| StoreError::Refused(format!("internal: {m}")))
    }

    /// Compacts when the journal is mostly dead lines. Runs after a change is committed, so a
    /// failure is logged, not returned: the change itself is durable and must be acknowledged.
    /// The next change tries again.
    fn maybe_compact(&self) {
        let mut inner = self.lock();
        let Inner { state, journal } = &mut *inner;
        if let Some(j) = journal
            && j.lines > j.compact_min
            && j.lines > 4 * state.live_objects()
            && let Err(e) = j.compact(state)
        {
            tracing::warn!(error = %e, "lists journal compaction failed; retried after the next change");
        }
    }

    /// Compacts once the journal has more than `lines` lines (and 4× more than live objects).
    pub fn with_compaction_threshold(self, lines: u64) -> Self {
        if let Some(j) = self.lock().journal.as_mut() {
            j.compact_min = lines;
        }
        self
    }

    /// Compacts the journal now (tests and operators).
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let Inner { state, journal } = &mut *inner;
        match journal {
            Some(j) => j.compact(state),
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
        let mut inner = self.lock();
        if inner.state.aliases.contains_key(alias) {
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
        self.commit(&mut inner, Op::CreateList(list.clone()))?;
        Ok(list)
    }

    /// A list by id.
    pub fn retrieve_list(&self, id: &str) -> Result<ValueList, StoreError> {
        self.lock()
            .state
            .lists
            .get(id)
            .map(|e| e.list.clone())
            .ok_or_else(|| not_found("value_list", id))
    }

    /// The id of the list with `alias`.
    pub fn list_id_by_alias(&self, alias: &str) -> Option<String> {
        self.lock().state.aliases.get(alias).cloned()
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
        let mut inner = self.lock();
        let current = inner
            .state
            .lists
            .get(id)
            .ok_or_else(|| not_found("value_list", id))?
            .list
            .clone();
        let merged = merge_metadata(&current.metadata, metadata)?;
        let name = name.unwrap_or(&current.name).to_owned();
        self.commit(
            &mut inner,
            Op::UpdateList {
                id: id.to_owned(),
                name,
                metadata: merged,
            },
        )?;
        let list = inner.state.lists[id].list.clone();
        drop(inner);
        self.maybe_compact();
        Ok(list)
    }

    /// Deletes a list and its items. Default lists cannot be deleted.
    pub fn delete_list(&self, id: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let entry = inner
            .state
            .lists
            .get(id)
            .ok_or_else(|| not_found("value_list", id))?;
        refuse_default(&entry.list)?;
        self.commit(&mut inner, Op::DeleteList { id: id.to_owned() })?;
        drop(inner);
        self.maybe_compact();
        Ok(())
    }

    /// Lists, newest first; optionally only the one with `alias`.
    pub fn list_lists(
        &self,
        page: Page<'_>,
        alias: Option<&str>,
    ) -> Result<(Vec<ValueList>, bool), StoreError> {
        let inner = self.lock();
        let s = &inner.state;
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
        let mut inner = self.lock();
        let list_id = resolve_list(&inner.state, value_list)?;
        let entry = &inner.state.lists[&list_id];
        let canonical = canonical_value(&entry.list, value)?;
        if entry.values.contains_key(&canonical) {
            return Err(duplicate_value(&entry.list, &canonical));
        }
        let item = ValueListItem {
            id: new_id("rsli_"),
            value: canonical,
            value_list: list_id,
            created: now,
            created_by: created_by.to_owned(),
        };
        self.commit(&mut inner, Op::CreateItem(item.clone()))?;
        Ok(item)
    }

    /// An item by id.
    pub fn retrieve_item(&self, id: &str) -> Result<ValueListItem, StoreError> {
        self.lock()
            .state
            .items
            .get(id)
            .map(|e| e.item.clone())
            .ok_or_else(|| not_found("value_list_item", id))
    }

    /// Removes an item.
    pub fn delete_item(&self, id: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if !inner.state.items.contains_key(id) {
            return Err(not_found("value_list_item", id));
        }
        self.commit(&mut inner, Op::DeleteItem { id: id.to_owned() })?;
        drop(inner);
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
        let inner = self.lock();
        let s = &inner.state;
        let list_id = resolve_list(s, value_list)?;
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
    pub(super) fn replica() -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: State::default(),
                journal: None,
            }),
        }
    }

    /// Applies one change from the shared store's log. An error means the copy and the log
    /// disagree (the caller reloads a snapshot).
    pub(super) fn apply_replicated(&self, op: Op) -> Result<(), String> {
        self.lock().state.apply(op)
    }

    /// Replaces the whole copy with `ops` (creations in creation order). The new contents are built
    /// aside and then moved into the existing cells one list at a time, so a rule never sees a list
    /// empty while it is being reloaded.
    pub(super) fn replace_replicated(&self, ops: Vec<Op>) -> Result<(), String> {
        let mut fresh = State::default();
        for op in ops {
            fresh.apply(op)?;
        }
        let mut inner = self.lock();
        let mut cells = std::mem::take(&mut inner.state.cells);
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
            if !fresh.aliases.contains_key(alias) && inner.state.aliases.contains_key(alias) {
                cell.write(|m| *m = None);
            }
        }
        fresh.cells = cells;
        inner.state = fresh;
        Ok(())
    }

    /// Whether a list has `alias`.
    pub(super) fn has_alias(&self, alias: &str) -> bool {
        self.lock().state.aliases.contains_key(alias)
    }
}

/// Every alias resolves: a rule may name a list before it is created (the server warns), and the
/// rule starts matching once a list with that alias exists, without a reload.
impl ListLookup for ListStore {
    fn lookup(&self, alias: &str) -> Option<Arc<ListCell>> {
        Some(self.lock().state.cell(alias))
    }
}

fn take_page<'a, T: Clone + 'a>(
    mut items: impl Iterator<Item = &'a T>,
    limit: usize,
) -> (Vec<T>, bool) {
    let limit = if limit == 0 {
        DEFAULT_LIMIT
    } else {
        limit.min(MAX_LIMIT)
    };
    let page: Vec<T> = items.by_ref().take(limit).cloned().collect();
    let has_more = items.next().is_some();
    (page, has_more)
}

fn resolve_list(s: &State, id_or_alias: &str) -> Result<String, StoreError> {
    if s.lists.contains_key(id_or_alias) {
        return Ok(id_or_alias.to_owned());
    }
    s.aliases
        .get(id_or_alias)
        .cloned()
        .ok_or_else(|| not_found("value_list", id_or_alias))
}

pub(super) fn not_found(kind: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_owned(),
    }
}

pub(super) fn check_alias(alias: &str) -> Result<(), StoreError> {
    let ok = !alias.is_empty()
        && alias.len() <= MAX_ALIAS_LEN
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field: "alias",
            message: format!(
                "must be 1 to {MAX_ALIAS_LEN} letters, digits, `_`, `-` or `.` (rules write it as `@alias`)"
            ),
        })
    }
}

pub(super) fn check_name(name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() || name.len() > MAX_ALIAS_LEN || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "name",
            message: format!("must be 1 to {MAX_ALIAS_LEN} characters without control characters"),
        });
    }
    Ok(())
}

pub(super) fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), StoreError> {
    let bad = |message: String| {
        Err(StoreError::Invalid {
            field: "metadata",
            message,
        })
    };
    if metadata.len() > 50 {
        return bad("at most 50 keys".into());
    }
    for (k, v) in metadata {
        if k.is_empty() || k.chars().count() > 40 {
            return bad(format!("key `{k}` must be 1 to 40 characters"));
        }
        if v.chars().count() > 500 {
            return bad(format!("value of `{k}` must be at most 500 characters"));
        }
    }
    Ok(())
}

pub(super) fn alias_taken(alias: &str) -> StoreError {
    StoreError::AlreadyExists {
        field: "alias",
        message: format!("a list with alias `{alias}` already exists"),
    }
}

pub(super) fn duplicate_value(list: &ValueList, canonical: &str) -> StoreError {
    StoreError::AlreadyExists {
        field: "value",
        message: format!("`{canonical}` is already on list `{}`", list.alias),
    }
}

/// `value` checked and normalized for `list`'s item type.
pub(super) fn canonical_value(list: &ValueList, value: &str) -> Result<String, StoreError> {
    list.item_type
        .normalize(value)
        .map_err(|message| StoreError::Invalid {
            field: "value",
            message: format!(
                "{message} (list `{}` holds {})",
                list.alias,
                list.item_type.as_str()
            ),
        })
}

/// Stripe's metadata update: keys are merged, and a key set to `""` is removed.
pub(super) fn merge_metadata(
    current: &BTreeMap<String, String>,
    changes: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut merged = current.clone();
    for (k, v) in changes {
        if v.is_empty() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    check_metadata(&merged)?;
    Ok(merged)
}

/// Default lists cannot be deleted.
pub(super) fn refuse_default(list: &ValueList) -> Result<(), StoreError> {
    if DEFAULT_LISTS.iter().any(|(a, _, _)| *a == list.alias) {
        return Err(StoreError::Refused(format!(
            "`{}` is a default list; its items can be changed but the list cannot be deleted",
            list.alias
        )));
    }
    Ok(())
}

/// A new id: `prefix` and 24 random base62 characters.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    id.extend((0..24).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-lists-{}-{}-{name}",
            std::process::id(),
            fastrand::u64(..)
        ));
        dir.join("lists.journal")
    }

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

    #[test]
    fn journal_replays_updates_deletes_and_compacts() {
        let path = temp_path("replay");
        let (list_id, kept, gone) = {
            let s = ListStore::open(&path, 1).unwrap();
            let l = s
                .create_list("vip", "VIP", ItemType::CustomerId, BTreeMap::new(), 1, "t")
                .unwrap();
            let kept = s.create_item(&l.id, "cus_keep", 2, "t").unwrap();
            let gone = s.create_item(&l.id, "cus_gone", 3, "t").unwrap();
            s.delete_item(&gone.id).unwrap();
            s.update_list(
                &l.id,
                Some("Very important"),
                &[("team".to_owned(), "fraud".to_owned())].into(),
            )
            .unwrap();
            (l.id, kept, gone)
        };
        let check = |s: &ListStore| {
            let l = s.retrieve_list(&list_id).unwrap();
            assert_eq!(l.name, "Very important");
            assert_eq!(l.metadata["team"], "fraud");
            assert_eq!(s.retrieve_item(&kept.id).unwrap(), kept);
            assert!(s.retrieve_item(&gone.id).is_err());
            let cell = s.lookup("vip").unwrap();
            assert!(cell.contains("cus_keep") && !cell.contains("cus_gone"));
        };
        let s = ListStore::open(&path, 9).unwrap();
        check(&s);
        s.compact().unwrap();
        drop(s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("delete_item") && !text.contains("cus_gone"));
        let s = ListStore::open(&path, 9).unwrap();
        check(&s);
        // Default lists are created once, not again on every open.
        let (lists, _) = s
            .list_lists(
                Page {
                    limit: 100,
                    ..Default::default()
                },
                None,
            )
            .unwrap();
        assert_eq!(lists.len(), DEFAULT_LISTS.len() + 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn the_journal_compacts_itself_when_mostly_dead() {
        let path = temp_path("autocompact");
        let s = ListStore::open(&path, 1)
            .unwrap()
            .with_compaction_threshold(64);
        for i in 0..60 {
            let item = s
                .create_item("block_list_email", &format!("u{i}@x.io"), 1, "t")
                .unwrap();
            s.delete_item(&item.id).unwrap();
        }
        let kept = s
            .create_item("block_list_email", "kept@x.io", 1, "t")
            .unwrap();
        drop(s);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines < 40, "{lines} lines: not compacted");
        let s = ListStore::open(&path, 1).unwrap();
        assert_eq!(s.retrieve_item(&kept.id).unwrap(), kept);
        assert!(!s.lookup("block_list_email").unwrap().contains("u7@x.io"));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_corruption_is_reported() {
        let path = temp_path("torn");
        {
            let s = ListStore::open(&path, 1).unwrap();
            s.create_item("block_list_email", "a@b.co", 1, "t").unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"create_item","id":"rsli_x","val"#)
            .unwrap();
        drop(f);
        let s = ListStore::open(&path, 1).unwrap();
        assert!(s.lookup("block_list_email").unwrap().contains("a@b.co"));
        s.create_item("block_list_email", "c@d.co", 1, "t").unwrap();
        drop(s);
        let s = ListStore::open(&path, 1).unwrap();
        assert!(s.lookup("block_list_email").unwrap().contains("c@d.co"));
        drop(s);

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        let e = ListStore::open(&path, 1).err().unwrap();
        assert!(e.to_string().contains("line 1"), "{e}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
