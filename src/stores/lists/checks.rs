//! Stripe's rules for value lists, which both stores apply and answer the same way: aliases,
//! names and metadata, values per item type, metadata updates, the default lists; and the errors
//! for a missing list or item, a taken alias, a duplicate value.

use std::collections::BTreeMap;

use crate::stores::{StoreError, lists::types::ValueList};
use riskgate_core::lists::DEFAULT_LISTS;

/// Longest alias and name.
pub const MAX_ALIAS_LEN: usize = 100;
/// Who created the default lists.
pub const SYSTEM_ACTOR: &str = "riskgate";

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
