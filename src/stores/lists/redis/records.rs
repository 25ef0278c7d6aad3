//! What the Redis value list store reads back from Redis: list and item records
//! (`<creation seq> <JSON>`), change log entries; and the errors when Redis does not answer or
//! holds something unreadable. Whoever can write to Redis controls these bytes, so the parsers
//! refuse anything malformed with an error, never a panic (`fuzz/fuzz_targets/redis_list_log.rs`).

use crate::stores::{
    StoreError,
    lists::types::{Op, ValueList, ValueListItem},
};

/// One change read from the log.
#[derive(Debug)]
pub struct Entry {
    /// The stream entry id (`<ms>-<n>`).
    pub id: String,
    pub seq: u64,
    pub op: Op,
}

pub(super) fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!(
        "value lists are kept in Redis, which did not answer ({e}); the change was not acknowledged, retry later"
    ))
}

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("value lists in Redis: unreadable {what}: {e}"))
}

/// Splits a stored record `<seq> <json>`.
pub fn split_record(record: &str) -> Option<(u64, &str)> {
    let (seq, json) = record.split_once(' ')?;
    Some((seq.parse().ok()?, json))
}

pub fn parse_list(record: &str) -> Result<(u64, ValueList, &str), StoreError> {
    let (seq, json) = split_record(record).ok_or_else(|| corrupt("list record", record.len()))?;
    let list = serde_json::from_str(json).map_err(|e| corrupt("list record", e))?;
    Ok((seq, list, json))
}

pub fn parse_item(record: &str) -> Result<(u64, ValueListItem), StoreError> {
    let (seq, json) = split_record(record).ok_or_else(|| corrupt("item record", record.len()))?;
    let item = serde_json::from_str(json).map_err(|e| corrupt("item record", e))?;
    Ok((seq, item))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists serialize")
}

/// A log entry as `XRANGE`/`XREAD` return it: id, then field/value pairs.
pub type RawEntry = (String, Vec<String>);

pub fn parse_entry((id, fields): RawEntry) -> Result<Entry, StoreError> {
    let field = |name: &str| {
        fields
            .chunks(2)
            .find(|kv| kv.len() == 2 && kv[0] == name)
            .map(|kv| kv[1].as_str())
            .ok_or_else(|| corrupt("log entry", format!("{id} has no `{name}`")))
    };
    let seq = field("seq")?
        .parse()
        .map_err(|e| corrupt("log entry", format!("{id}: {e}")))?;
    let op = serde_json::from_str(field("op")?)
        .map_err(|e| corrupt("log entry", format!("{id}: {e}")))?;
    Ok(Entry { id, seq, op })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_log_entries_parse() {
        assert_eq!(split_record("12 {\"a\":1}"), Some((12, "{\"a\":1}")));
        assert_eq!(split_record("x {}"), None);
        let op = to_json(&Op::DeleteItem {
            id: "rsli_1".into(),
        });
        let entry = parse_entry((
            "5-0".into(),
            vec!["seq".into(), "7".into(), "op".into(), op],
        ))
        .unwrap();
        assert_eq!((entry.id.as_str(), entry.seq), ("5-0", 7));
        assert!(matches!(entry.op, Op::DeleteItem { id } if id == "rsli_1"));
        let e = parse_entry(("6-0".into(), vec!["seq".into(), "8".into()])).unwrap_err();
        assert!(e.to_string().contains("6-0 has no `op`"), "{e}");
    }
}
