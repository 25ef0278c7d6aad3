//! The records of the value list stores, as stored and answered, their ids, and `Op`, the one
//! change both stores write: a journal line ([`super::journal`]) or an entry of Redis's change
//! log ([`super::redis`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use riskgate_core::lists::ItemType;

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
pub enum Op {
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

/// A new id: `prefix` and 24 random base62 characters from the OS CSPRNG.
pub fn new_id(prefix: &str) -> String {
    crate::ids::random_id(prefix, 24)
}
