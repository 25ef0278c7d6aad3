//! Outcome memory on Redis: one hash per entity, `<p>o:{<16 hex>}` — the entity's velocity key
//! hash in a hash tag, so that under Redis Cluster an entity's velocity and outcome keys share a
//! slot. Fields:
//!
//! - `l<label>` (label = [`OutcomeLabel`] index): `count,first,last` (Unix seconds);
//! - `s<series>` ([`OutcomeSeries`] index): the times of its most recent 25 labels, packed
//!   little-endian u32;
//! - `u`: the fraud customers, (32-bit hash, last time) pairs of little-endian u32, 25 at most.
//!
//! A key's TTL is pushed up, never down, to the retention of the label written (so a non-fraud
//! label never shortens a fraud record's life); labels that expired inside a living key are left
//! out when read ([`EntityRecord::history`], shared with the in-process backend).
//!
//! The evaluation script reads every key's hash (HGETALL) in its one round trip; the report
//! script labels an evaluation's keys with its velocity counters; [`LABEL_BODY`] labels the keys
//! of a charge a webhook resolved.

use redis::Value;

use super::outcomes::{EntityRecord, LabelOp, LabelStat, Retention};
use riskgate_core::signals::{KeyKind, OUTCOME_CAP, OutcomeLabel};

/// Shared Lua: labelling outcome keys (layout in the module doc).
pub const OUTCOME_FNS: &str = r#"
local OCAP = 25

local function u32s(raw)
  local n = #raw / 4
  if n == 0 then return {} end
  local t = {struct.unpack('<' .. string.rep('I4', n), raw)}
  t[#t] = nil
  return t
end

local function pack_u32s(t)
  if #t == 0 then return '' end
  return struct.pack('<' .. string.rep('I4', #t), unpack(t))
end

-- Counts label L learned at `at` on outcome key k: its tally, the times of its series (a
-- comma-separated list of indexes), and fraud customer c (false = none); the key lives at least
-- ttl seconds from now.
local function o_apply(k, L, series, at, c, ttl)
  local f = 'l' .. L
  local v = redis.call('HGET', k, f)
  local n, first, last = 1, at, at
  if v then
    local a, b, d = string.match(v, '^(%d+),(%d+),(%d+)$')
    n = tonumber(a) + 1
    first = math.min(tonumber(b), at)
    last = math.max(tonumber(d), at)
  end
  redis.call('HSET', k, f, string.format('%d,%d,%d', n, first, last))
  for s in string.gmatch(series, '[^,]+') do
    local sf = 's' .. s
    local t = u32s(redis.call('HGET', k, sf) or '')
    t[#t + 1] = at
    if #t > OCAP then
      local oldest = 1
      for i = 2, #t do if t[i] < t[oldest] then oldest = i end end
      table.remove(t, oldest)
    end
    redis.call('HSET', k, sf, pack_u32s(t))
  end
  if c then
    local t = u32s(redis.call('HGET', k, 'u') or '')
    local found = false
    for i = 1, #t, 2 do
      if t[i] == c then
        if at > t[i + 1] then t[i + 1] = at end
        found = true
      end
    end
    if not found then
      t[#t + 1] = c
      t[#t + 1] = at
      if #t > 2 * OCAP then
        local oldest = 1
        for i = 3, #t, 2 do if t[i + 1] < t[oldest + 1] then oldest = i end end
        table.remove(t, oldest + 1)
        table.remove(t, oldest)
      end
    end
    redis.call('HSET', k, 'u', pack_u32s(t))
  end
  local left = redis.call('TTL', k)
  if left < ttl then redis.call('EXPIRE', k, ttl) end
end

-- Labels every key of hexes (7 positional hexes in KeyKind order, '' = none) under prefix p.
-- A fraud label keeps the customer (the low 32 bits of its key) on the other keys; the IP key
-- (3rd) lives ip_ttl, the others ttl.
local function o_label(p, hexes, L, series, fraud, at, ttl, ip_ttl)
  local c = false
  if fraud and hexes[4] ~= '' then c = tonumber(string.sub(hexes[4], 9, 16), 16) end
  for i = 1, 7 do
    if hexes[i] ~= '' then
      local cc = c
      if i == 4 then cc = false end
      local t = ttl
      if i == 3 then t = ip_ttl end
      o_apply(p .. '{' .. hexes[i] .. '}', L, series, at, cc, t)
    end
  end
end

-- Splits 'a,,b,…' into its 7 positional parts.
local function positional(keys)
  local hexes = {}
  for h in string.gmatch(keys .. ',', '([^,]*),') do hexes[#hexes + 1] = h end
  for i = #hexes + 1, 7 do hexes[i] = '' end
  return hexes
end
"#;

/// Labels the keys of a charge (a webhook). ARGV: outcome prefix, label, series, fraud (1/0), at,
/// ttl, ip ttl, then 7 key hexes ('' = none).
pub const LABEL_BODY: &str = r#"
local hexes = {}
for i = 1, 7 do hexes[i] = ARGV[7 + i] or '' end
o_label(ARGV[1], hexes, ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7]))
return 1
"#;

/// The label arguments every labelling script takes after its own: label index, series list,
/// fraud flag, ttl and IP ttl (seconds).
pub fn label_args(
    label: OutcomeLabel,
    retention: &Retention,
) -> (u8, String, &'static str, i64, i64) {
    let series: Vec<String> = label
        .series()
        .iter()
        .map(|s| (*s as u8).to_string())
        .collect();
    let ttl = retention.of(KeyKind::Card, label);
    (
        label as u8,
        series.join(","),
        if label.is_fraud() { "1" } else { "0" },
        ttl.max(1),
        retention.ip_secs.max(1),
    )
}

/// The 7 positional key hexes of `keys` ('' = none).
pub fn positional_hexes(keys: &[Option<u64>; KeyKind::COUNT]) -> Vec<String> {
    keys.iter()
        .map(|k| k.map(|k| format!("{k:016x}")).unwrap_or_default())
        .collect()
}

/// The arguments of [`LABEL_BODY`] for `op`.
pub fn label_invocation(prefix: &str, op: &LabelOp, retention: &Retention) -> Vec<String> {
    let (label, series, fraud, ttl, ip_ttl) = label_args(op.label, retention);
    let mut args = vec![
        prefix.to_owned(),
        label.to_string(),
        series,
        fraud.to_owned(),
        op.at.to_string(),
        ttl.to_string(),
        ip_ttl.to_string(),
    ];
    args.extend(positional_hexes(&op.keys));
    args
}

fn u32s(raw: &[u8]) -> Option<Vec<u32>> {
    if !raw.len().is_multiple_of(4) {
        return None;
    }
    Some(
        raw.chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect(),
    )
}

/// An entity's record from its hash as HGETALL returns it (field, value, field, value …); an
/// empty hash is an entity never labelled. `None` when the fields are not such a record.
pub fn record_from_hash(reply: &Value) -> Option<EntityRecord> {
    let fields: &[Value] = match reply {
        Value::Array(a) => a,
        Value::Map(_) => return None,
        Value::Nil => &[],
        _ => return None,
    };
    let bytes = |v: &Value| -> Option<Vec<u8>> {
        match v {
            Value::BulkString(b) => Some(b.clone()),
            Value::SimpleString(s) => Some(s.clone().into_bytes()),
            _ => None,
        }
    };
    let mut r = EntityRecord::default();
    for pair in fields.chunks(2) {
        let [name, value] = pair else { return None };
        let name = String::from_utf8(bytes(name)?).ok()?;
        let value = bytes(value)?;
        if let Some(label) = name.strip_prefix('l') {
            let label: u8 = label.parse().ok()?;
            let text = std::str::from_utf8(&value).ok()?;
            let mut parts = text.split(',').map(str::parse::<u32>);
            let (Some(Ok(count)), Some(Ok(first)), Some(Ok(last)), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            r.labels.push(LabelStat {
                label,
                count,
                first,
                last,
            });
        } else if let Some(series) = name.strip_prefix('s') {
            let series: u8 = series.parse().ok()?;
            r.times
                .extend(u32s(&value)?.into_iter().map(|t| (series, t)));
        } else if name == "u" {
            let v = u32s(&value)?;
            if v.len() % 2 != 0 || v.len() > 2 * usize::from(OUTCOME_CAP) {
                return None;
            }
            r.customers.extend(v.chunks_exact(2).map(|p| (p[0], p[1])));
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(b: &[u8]) -> Value {
        Value::BulkString(b.to_vec())
    }

    #[test]
    fn hashes_read_back_as_records() {
        let times: Vec<u8> = [100u32, 200].iter().flat_map(|t| t.to_le_bytes()).collect();
        let customers: Vec<u8> = [7u32, 150].iter().flat_map(|t| t.to_le_bytes()).collect();
        let reply = Value::Array(vec![
            bulk(b"l1"),
            bulk(b"2,100,200"),
            bulk(b"s3"),
            bulk(&times),
            bulk(b"u"),
            bulk(&customers),
        ]);
        let r = record_from_hash(&reply).unwrap();
        assert_eq!(
            r.labels,
            [LabelStat {
                label: 1,
                count: 2,
                first: 100,
                last: 200
            }]
        );
        assert_eq!(r.times, [(3, 100), (3, 200)]);
        assert_eq!(r.customers, [(7, 150)]);
        assert_eq!(
            record_from_hash(&Value::Array(vec![])),
            Some(EntityRecord::default())
        );
        assert!(record_from_hash(&Value::Array(vec![bulk(b"l1"), bulk(b"2,100")])).is_none());
        assert!(record_from_hash(&Value::Array(vec![bulk(b"s1"), bulk(b"abc")])).is_none());
        assert!(record_from_hash(&Value::Array(vec![bulk(b"l1")])).is_none());
    }
}
