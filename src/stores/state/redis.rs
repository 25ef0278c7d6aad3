//! Shared state on Redis, so every replica sees one history: velocity counters, Radar Sessions,
//! payment-method sessions, evaluations kept for outcome reports, and idempotency records.
//!
//! An ordinary evaluation is **one round trip**: a Lua script ([`LOOKUP`]) reads the session, the
//! payment method's set-up session and every velocity key's record, then records the payment,
//! atomically (Redis runs a script alone). Blocks and outcomes are a second script ([`COUNT`],
//! [`REPORT`]).
//!
//! Layout (`<p>` = `redis.key_prefix`):
//! - `<p>v2:<16 hex>` — a velocity key: a hash whose field `s` is its record, a flat array of
//!   little-endian doubles (1-based, as the scripts index it): 1 first seen, 2 last seen, 3 when
//!   the idle expiry was last pushed back, 4–10 all-time count per counter, 11–13 USD charged,
//!   successful, failed, 14–34 running sums per level (5-minute buckets serve the hourly window,
//!   hourly buckets the daily, daily buckets the weekly) and counter, 35–58 the current bucket of
//!   each level (start, then a count per counter), 59–61 when the oldest sealed bucket of each
//!   level leaves its window (0 = none), 62–65 how many distinct values each dimension keeps, then
//!   those values as (32-bit hash, last seen) pairs, most recently seen first, 25 at most per
//!   dimension (the least recently seen makes room). Fields `b1`..`b3` hold each level's sealed
//!   buckets, oldest first, 8 doubles each. A payment is added to the current bucket of each
//!   level and to the running sums; when a newer bucket begins the current one is appended to its
//!   level's sealed list, and when the oldest sealed bucket leaves its window (a bucket of level
//!   *l* counts while `start + span + window > now`) it is subtracted from the sums and dropped.
//!   So a window never misses a payment inside it and may include payments up to one bucket
//!   older — the in-process bound: hourly 60–65 min, daily 24–25 h, weekly 7–8 days — and
//!   `tests/redis_windows.rs` checks that both backends return the same histories. An ordinary
//!   payment reads and writes only `s` (one HGET, one HSET per key); the sealed lists are read
//!   when a bucket begins or expires, or when an outcome is counted at an earlier time. The idle
//!   expiry (`enrichment.velocity_idle_expiry_secs`) is pushed back at most every 5 minutes, so a
//!   key may go up to 5 minutes sooner. A record is 520 bytes plus 16 per distinct value; a key
//!   with full history about 1.5 KB more for its sealed buckets (13 + 25 + 8 of 64 bytes).
//!   (Before the `v2:` layout, velocity keys were hashes under `<p>v:` with one field per bucket
//!   and counter; they are no longer read and expire by themselves.)
//! - `<p>s:<rse_id>` — a Radar Session (hash: `json`, `ipk`, `devk`), TTL `session_ttl_secs`.
//! - `<p>pm:<pm_id>` — the device a payment method was set up from (JSON), TTL
//!   `payment_method_session_ttl_secs`.
//! - `<p>e:<peval_id>` — an evaluation's keys and amount (`hex,hex,…|usd`), TTL
//!   `outcome_retention_secs`; `<p>e:<peval_id>:o<c>` marks outcome `c` as reported;
//!   `<p>e:<peval_id>:s` holds the Stripe evaluation it was scored by (`peval_…|amount|currency`,
//!   for outcome forwarding), same TTL.
//! - `<p>i:<idempotency key>` — a kept answer (32-byte parameter fingerprint, then the protobuf).
//! - `<p>o:{<16 hex>}` — an entity's outcome memory (a hash; layout in
//!   [`super::redis_outcomes`]), TTL the retention of the longest-lived label written to it.
//!   The evaluation script reads it; the report script labels an evaluation's keys.
//!
//! On Redis Cluster the same data is kept under hash-tagged names, one slot per entity
//! (`<p>v2:{<16 hex>}`, `<p>e:{<peval_id>}` and its marks), and the calls are split per slot
//! ([`cluster`]).
//!
//! The client ([`RedisClient`]) reconnects by itself after a failure. Each call has the
//! `redis.budget_ms` budget (enforced by the caller, [`crate::enrich::Enricher`]).

mod cluster;

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands, Script, Value};

use super::{
    DeviceSnapshot, Found, Lookup, OutcomeResult, RadarSession, Report, SetupWrite, StateStore,
    outcomes::{LabelOp, Retention},
    redis_outcomes::{self, OUTCOME_FNS},
    redis_records::{history_from_record, record_has_seen},
};
use crate::config::{EnrichmentConfig, RedisConfig};
use crate::stores::{StoreError, redis::RedisClient};
use riskgate_core::signals::{Counter, KeyKind, Outcomes, Velocity};

/// Shared Lua: a velocity key and what is done to it (layout in the module doc). The record `s`
/// is a flat array of little-endian doubles that Redis' C `struct` library unpacks and packs in one
/// call each; sealed buckets (`b1`..`b3`) are only read when one leaves its window or a payment is
/// counted in the past, so an ordinary payment costs a key one HGET, one HSET and a few dozen Lua
/// operations whatever its history holds.
const VELOCITY_FNS: &str = r#"
local SPAN = {300, 3600, 86400}
local LIFE = {3900, 90000, 691200}
local NC, CAP, HDR = 7, 25, 65

local function fmt(n) return '<' .. string.rep('d', n) end

local function unpack_doubles(raw)
  local t = {struct.unpack(fmt(#raw / 8), raw)}
  t[#t] = nil
  return t
end

local function load_key(k)
  local raw = redis.call('HGET', k, 's')
  if raw then return unpack_doubles(raw), raw end
  local K = {}
  for i = 1, HDR do K[i] = 0 end
  return K, ''
end

local function pack_key(K) return struct.pack(fmt(#K), unpack(K)) end

-- Running sums of counter c (1-based) at level lvl: K[13 + (lvl - 1) * NC + c]; the current
-- bucket of lvl: K[35 + (lvl - 1) * 8] its start, then its counts.

-- Takes buckets that left their level's window out of the running sums. True if K changed.
local function expire(K, k, now)
  if (K[35] == 0 or K[35] + 3900 > now) and (K[43] == 0 or K[43] + 90000 > now)
    and (K[51] == 0 or K[51] + 691200 > now) and (K[59] == 0 or K[59] > now)
    and (K[60] == 0 or K[60] > now) and (K[61] == 0 or K[61] > now) then
    return false
  end
  local changed = false
  for lvl = 1, 3 do
    local sb, cb = 13 + (lvl - 1) * NC, 35 + (lvl - 1) * 8
    if K[cb] ~= 0 and K[cb] + LIFE[lvl] <= now then
      for c = 1, NC do
        K[sb + c] = K[sb + c] - K[cb + c]
        K[cb + c] = 0
      end
      K[cb] = 0
      changed = true
    end
    local x = K[58 + lvl]
    if x ~= 0 and x <= now then
      changed = true
      local field = 'b' .. lvl
      local raw = redis.call('HGET', k, field)
      if not raw then
        -- Lost with an idle key: every sealed bucket was out of its window; the sums are the
        -- current bucket's.
        for c = 1, NC do K[sb + c] = K[cb + c] end
        K[58 + lvl] = 0
      else
        local B = unpack_doubles(raw)
        local i = 1
        while i <= #B and B[i] + LIFE[lvl] <= now do
          for c = 1, NC do K[sb + c] = K[sb + c] - B[i + c] end
          i = i + 8
        end
        if i > #B then
          redis.call('HDEL', k, field)
          K[58 + lvl] = 0
        else
          redis.call('HSET', k, field, string.sub(raw, (i - 1) * 8 + 1))
          K[58 + lvl] = B[i] + LIFE[lvl]
        end
      end
    end
  end
  return changed
end

-- Counts counter c (1-based) in the bucket at `start` of level lvl when it is older than the
-- current one (an outcome reported for an earlier time, or a gateway whose clock is behind).
local function add_sealed(K, k, lvl, start, c)
  local field = 'b' .. lvl
  local raw = redis.call('HGET', k, field)
  local B = {}
  if raw then B = unpack_doubles(raw) end
  local i = 1
  while i <= #B and B[i] < start do i = i + 8 end
  if i > #B or B[i] ~= start then
    for _ = 1, 8 do table.insert(B, i, 0) end
    B[i] = start
  end
  B[i + c] = B[i + c] + 1
  redis.call('HSET', k, field, struct.pack(fmt(#B), unpack(B)))
  K[58 + lvl] = B[1] + LIFE[lvl]
end

-- Counts counter c (1-based) once at time now.
local function add(K, k, c, now)
  K[3 + c] = K[3 + c] + 1
  if K[1] == 0 then K[1] = now end
  if now > K[2] then K[2] = now end
  if K[35] ~= 0 and K[35] == now - now % 300 then
    -- The current 5-minute bucket, so also the current hour and day.
    K[35 + c] = K[35 + c] + 1; K[43 + c] = K[43 + c] + 1; K[51 + c] = K[51 + c] + 1
    K[13 + c] = K[13 + c] + 1; K[20 + c] = K[20 + c] + 1; K[27 + c] = K[27 + c] + 1
    return
  end
  for lvl = 1, 3 do
    local start = now - now % SPAN[lvl]
    local cb = 35 + (lvl - 1) * 8
    if start == K[cb] then
      K[cb + c] = K[cb + c] + 1
    elseif start > K[cb] then
      if K[cb] ~= 0 then
        -- A newer bucket begins: the current one is sealed (appended; sealed buckets are older).
        local field = 'b' .. lvl
        local raw = redis.call('HGET', k, field) or ''
        redis.call('HSET', k, field, raw .. struct.pack(fmt(8), unpack(K, cb, cb + 7)))
        if K[58 + lvl] == 0 then K[58 + lvl] = K[cb] + LIFE[lvl] end
      end
      K[cb] = start
      for j = 1, NC do K[cb + j] = 0 end
      K[cb + c] = 1
    else
      add_sealed(K, k, lvl, start, c)
    end
    local s = 13 + (lvl - 1) * NC + c
    K[s] = K[s] + 1
  end
end

-- Remembers distinct value h of dimension d (1-based) as seen now: most recently seen first, the
-- least recently seen dropped beyond the cap.
local function see(K, d, h, now)
  local o = HDR
  for e = 1, d - 1 do o = o + 2 * K[61 + e] end
  local n = K[61 + d]
  if n > 0 and K[o + 1] == h then
    K[o + 2] = now
    return
  end
  local j = 1
  while j <= n and K[o + 2 * j - 1] ~= h do j = j + 1 end
  if j > n and n < CAP then
    table.insert(K, o + 1, now)
    table.insert(K, o + 1, h)
    K[61 + d] = n + 1
    return
  end
  if j > n then j = n end
  -- Pairs before j move one place back (pair j, the value itself or the oldest, is overwritten).
  for i = o + 2 * j, o + 3, -1 do K[i] = K[i - 2] end
  K[o + 1] = h
  K[o + 2] = now
end

-- Writes K back; the idle expiry is pushed back at most every 5 minutes.
local function save(k, K, now, ttl)
  local refresh = K[3] == 0 or now - K[3] >= 300
  if refresh then K[3] = now end
  redis.call('HSET', k, 's', pack_key(K))
  if refresh then redis.call('EXPIRE', k, ttl) end
end

-- Counts counter c (0-based) once on each key of names, usd added to USD sum slot (1..3, 0 none).
local function count_keys(names, c, now, ttl, usd, slot)
  for _, k in ipairs(names) do
    local K = load_key(k)
    expire(K, k, now)
    add(K, k, c + 1, now)
    if slot > 0 and usd ~= 0 then K[10 + slot] = K[10 + slot] + usd end
    save(k, K, now, ttl)
  end
end
"#;

/// The evaluation script. ARGV: now, idle ttl, usd, evaluation key, retention, session key,
/// payment-method key, velocity key prefix, 7 key hexes (card, email, ip, customer, billing,
/// shipping, device; '' = none), 4 distinct values (card, email, name, customer; '' = none),
/// outcome key prefix. Returns {session json, ip key, device key, pm json, {hex per kind},
/// {record per kind}, {outcome hash per kind}}, a record being the key's `s` field as it was
/// before this payment (after expiry; '' = new key or no such key), which the client reads with
/// [`history_from_record`], an outcome hash the entity's outcome memory as HGETALL gives it.
///
/// Calls: HMGET (session), GET (payment method), per velocity key HGET and HSET (plus EXPIRE every
/// 5 minutes and the sealed-bucket field when a bucket begins or leaves its window), SET of the
/// evaluation record, HGETALL per outcome key.
const LOOKUP_BODY: &str = r#"
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local usd = tonumber(ARGV[3])
local session = {false, false, false}
if ARGV[6] ~= '' then
  session = redis.call('HMGET', ARGV[6], 'json', 'ipk', 'devk')
end
local pm = false
if ARGV[7] ~= '' then
  pm = redis.call('GET', ARGV[7])
end
local hexes = {}
for i = 1, 7 do hexes[i] = ARGV[8 + i] end
if hexes[3] == '' and session[2] then hexes[3] = session[2] end
if hexes[7] == '' and session[3] then hexes[7] = session[3] end
local dims = {{1, 2, 3}, {0, 3}, {0, 1}, {0}, {0}, {0}, {0}}
local histories = {}
for i = 1, 7 do
  histories[i] = ''
  if hexes[i] ~= '' then
    local k = ARGV[8] .. hexes[i]
    local K, raw = load_key(k)
    if expire(K, k, now) then raw = pack_key(K) end
    histories[i] = raw
    add(K, k, 1, now)
    if usd ~= 0 then K[11] = K[11] + usd end
    for _, d in ipairs(dims[i]) do
      local v = ARGV[16 + d]
      if v ~= '' then see(K, d + 1, tonumber(v), now) end
    end
    save(k, K, now, ttl)
  end
end
if ARGV[4] ~= '' then
  redis.call('SET', ARGV[4], table.concat(hexes, ',') .. '|' .. usd, 'EX', tonumber(ARGV[5]))
end
local outcomes = {}
for i = 1, 7 do
  outcomes[i] = {}
  if hexes[i] ~= '' then outcomes[i] = redis.call('HGETALL', ARGV[20] .. '{' .. hexes[i] .. '}') end
end
return {session[1], session[2], session[3], pm, hexes, histories, outcomes}
"#;

/// ARGV: now, ttl, counter, usd, usd slot (0 = none), prefix, hexes…
const COUNT_BODY: &str = r#"
local names = {}
for i = 7, #ARGV do names[#names + 1] = ARGV[6] .. ARGV[i] end
count_keys(names, tonumber(ARGV[3]), tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4]),
  tonumber(ARGV[5]))
return 1
"#;

/// ARGV: evaluation key, outcome code, velocity counter (-1 = none), now, idle ttl, usd slot
/// (0 = none), velocity prefix, outcome prefix, label, series, fraud (1/0), label ttl, IP ttl.
/// Returns 0 not found, 1 duplicate, 2 recorded. The evaluation's keys get the label (outcome
/// memory) and, for authorizations and declines, the velocity counter.
const REPORT_BODY: &str = r#"
local rec = redis.call('GET', ARGV[1])
if not rec then return 0 end
local keys, usd = string.match(rec, '^([^|]*)|(.*)$')
local left = redis.call('TTL', ARGV[1])
if left < 1 then left = 1 end
if not redis.call('SET', ARGV[1] .. ':o' .. ARGV[2], 1, 'NX', 'EX', left) then return 1 end
local hexes = positional(keys)
local now = tonumber(ARGV[4])
o_label(ARGV[8], hexes, ARGV[9], ARGV[10], ARGV[11] == '1', now, tonumber(ARGV[12]),
  tonumber(ARGV[13]))
local counter = tonumber(ARGV[3])
if counter >= 0 then
  local names = {}
  for _, hex in ipairs(hexes) do
    if hex ~= '' then names[#names + 1] = ARGV[7] .. hex end
  end
  count_keys(names, counter, now, tonumber(ARGV[5]), tonumber(usd), tonumber(ARGV[6]))
end
return 2
"#;

/// The USD sum an outcome adds to: 1 charged, 2 successful, 3 failed, 0 none.
fn usd_slot(counter: Counter) -> u8 {
    match counter {
        Counter::Total => 1,
        Counter::Authorized => 2,
        Counter::Blocked | Counter::Declined => 3,
        _ => 0,
    }
}

/// Redis-backed state.
pub struct RedisState {
    client: RedisClient,
    prefix: String,
    lookup: Script,
    count: Script,
    report: Script,
    /// [`SETUP_SAME_SESSION`].
    setup: Script,
    label: Script,
    retention: Retention,
    /// Cluster mode: one key's part of an evaluation, of a count, of a label, and an outcome's
    /// claim.
    entity: Script,
    count_one: Script,
    label_one: Script,
    claim: Script,
    idle_expiry_secs: u64,
    session_ttl_secs: u64,
    payment_method_session_ttl_secs: u64,
    outcome_retention_secs: u64,
}

/// A payment method's set-up device, written by a Radar Session: KEYS[1] the `pm:` key; ARGV the
/// snapshot (JSON), its TTL, the session id. Writes when the key is absent or holds a snapshot of
/// this same session; returns 1 when written, 0 when another session set the payment method up.
const SETUP_SAME_SESSION: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if not ok or type(old) ~= 'table' or old.session ~= ARGV[3] or ARGV[3] == '' then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"#;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisState {
    /// A client for `redis.url`. The connection is made lazily and remade after failures, so a
    /// Redis that is down at start-up only degrades evaluations until it is back.
    pub fn new(redis: &RedisConfig, enrichment: &EnrichmentConfig) -> Result<Self, StoreError> {
        let client = RedisClient::new(redis, Duration::from_millis(redis.budget_ms))?;
        Ok(Self {
            client,
            prefix: redis.key_prefix.clone(),
            lookup: Script::new(&format!("{VELOCITY_FNS}{LOOKUP_BODY}")),
            count: Script::new(&format!("{VELOCITY_FNS}{COUNT_BODY}")),
            report: Script::new(&format!("{VELOCITY_FNS}{OUTCOME_FNS}{REPORT_BODY}")),
            setup: Script::new(SETUP_SAME_SESSION),
            label: Script::new(&format!("{OUTCOME_FNS}{}", redis_outcomes::LABEL_BODY)),
            retention: Retention::from_config(enrichment),
            entity: Script::new(&format!("{VELOCITY_FNS}{}", cluster::ENTITY_BODY)),
            count_one: Script::new(&format!("{VELOCITY_FNS}{}", cluster::COUNT_ONE_BODY)),
            label_one: Script::new(&format!("{OUTCOME_FNS}{}", cluster::LABEL_ONE_BODY)),
            claim: Script::new(cluster::CLAIM),
            idle_expiry_secs: enrichment.velocity_idle_expiry_secs,
            session_ttl_secs: enrichment.session_ttl_secs,
            payment_method_session_ttl_secs: enrichment.payment_method_session_ttl_secs,
            outcome_retention_secs: enrichment.outcome_retention_secs,
        })
    }

    /// One PING (start-up checks and tests).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(err)
    }

    fn velocity_prefix(&self) -> String {
        format!("{}v2:", self.prefix)
    }

    /// Outcome keys are `<prefix>o:{<hex>}`.
    fn outcome_prefix(&self) -> String {
        format!("{}o:", self.prefix)
    }

    fn hexes(keys: &[Option<u64>; KeyKind::COUNT]) -> Vec<String> {
        keys.iter().flatten().map(|k| format!("{k:016x}")).collect()
    }

    /// Whether the client is connected to a cluster (`None` before it first connected).
    pub fn is_cluster(&self) -> Option<bool> {
        self.client.is_cluster()
    }

    /// An evaluation's record, `<p>e:<id>` (`<p>e:{<id>}` on a cluster, so that its outcome marks
    /// `…:o<c>` share its slot).
    fn evaluation_key(&self, id: &str, cluster: bool) -> String {
        if cluster {
            format!("{}e:{{{id}}}", self.prefix)
        } else {
            format!("{}e:{id}", self.prefix)
        }
    }

    /// The key of an idempotency record.
    fn idempotency_key(&self, key: &str) -> String {
        format!("{}i:{key}", self.prefix)
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// A bulk string's bytes, borrowed.
fn bytes_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

#[tonic::async_trait]
impl StateStore for RedisState {
    async fn lookup_and_record(&self, lookup: &Lookup<'_>, now: i64) -> Result<Found, StoreError> {
        let mut conn = self.client.conn().await?;
        if conn.is_cluster() {
            return self.cluster_lookup(&conn, lookup, now).await;
        }
        let a = &lookup.attempt;
        let mut inv = self.lookup.prepare_invoke();
        inv.arg(now)
            .arg(self.idle_expiry_secs)
            .arg(a.usd)
            .arg(self.evaluation_key(lookup.evaluation_id, false))
            .arg(self.outcome_retention_secs)
            .arg(
                lookup
                    .session
                    .map(|s| format!("{}s:{s}", self.prefix))
                    .unwrap_or_default(),
            )
            .arg(if lookup.read_payment_method_session {
                format!("{}pm:{}", self.prefix, lookup.payment_method)
            } else {
                String::new()
            })
            .arg(self.velocity_prefix());
        for k in &a.keys {
            inv.arg(k.map(|k| format!("{k:016x}")).unwrap_or_default());
        }
        for d in &a.dims {
            inv.arg(d.map(|d| d.to_string()).unwrap_or_default());
        }
        inv.arg(self.outcome_prefix());
        let reply: Value = inv.invoke_async(&mut conn).await.map_err(err)?;
        let Value::Array(parts) = reply else {
            return Err(StoreError::Unavailable(
                "unexpected reply from the lookup script".into(),
            ));
        };
        let [
            session_json,
            _ipk,
            _devk,
            pm_json,
            hexes,
            histories,
            outcome_hashes,
        ] = parts.as_slice()
        else {
            return Err(StoreError::Unavailable(
                "unexpected reply from the lookup script".into(),
            ));
        };
        let session = text(session_json)
            .map(|j| serde_json::from_str::<RadarSession>(&j).map(Arc::new))
            .transpose()
            .map_err(err)?;
        let payment_method_session = text(pm_json)
            .map(|j| serde_json::from_str::<DeviceSnapshot>(&j).map(Arc::new))
            .transpose()
            .map_err(err)?;
        let mut keys = [None; KeyKind::COUNT];
        if let Value::Array(hexes) = hexes {
            for (slot, h) in keys.iter_mut().zip(hexes) {
                *slot = text(h).as_deref().and_then(parse_hex);
            }
        }
        let mut velocity = Velocity::default();
        if let Value::Array(histories) = histories {
            for (i, h) in histories.iter().enumerate().take(KeyKind::COUNT) {
                if keys[i].is_some() {
                    let record = bytes_of(h);
                    let mut h = record
                        .and_then(|r| history_from_record(r, now))
                        .ok_or_else(|| {
                            StoreError::Unavailable(
                                "unexpected velocity record from the lookup script".into(),
                            )
                        })?;
                    for &dim in KeyKind::ALL[i].dims() {
                        if let (Some(r), Some(hash)) = (record, a.dims[dim as usize]) {
                            h.seen_before[dim as usize] = record_has_seen(r, dim, hash);
                        }
                    }
                    velocity.keys[i] = Some(h);
                }
            }
        }
        let mut outcomes = Outcomes::EMPTY;
        if let Value::Array(hashes) = outcome_hashes {
            for (i, h) in hashes.iter().enumerate().take(KeyKind::COUNT) {
                if keys[i].is_some() {
                    let record = redis_outcomes::record_from_hash(h).ok_or_else(|| {
                        StoreError::Unavailable(
                            "unexpected outcome record from the lookup script".into(),
                        )
                    })?;
                    outcomes.keys[i] = Some(record.history(KeyKind::ALL[i], now, &self.retention));
                }
            }
        }
        Ok(Found {
            session,
            payment_method_session,
            velocity,
            keys,
            outcomes,
        })
    }

    async fn count(
        &self,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        if conn.is_cluster() {
            return self.cluster_count(&conn, keys, counter, usd, now).await;
        }
        let mut inv = self.count.prepare_invoke();
        inv.arg(now)
            .arg(self.idle_expiry_secs)
            .arg(counter as u8)
            .arg(usd)
            .arg(usd_slot(counter))
            .arg(self.velocity_prefix());
        for h in Self::hexes(keys) {
            inv.arg(h);
        }
        inv.invoke_async::<i64>(&mut conn).await.map_err(err)?;
        Ok(())
    }

    async fn report_outcome(
        &self,
        evaluation_id: &str,
        report: Report,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let mut conn = self.client.conn().await?;
        if conn.is_cluster() {
            return self.cluster_report(&conn, evaluation_id, report, now).await;
        }
        let counter = report.outcome.counter();
        let (label, series, fraud, ttl, ip_ttl) =
            redis_outcomes::label_args(report.label, &self.retention);
        let result: i64 = self
            .report
            .prepare_invoke()
            .arg(self.evaluation_key(evaluation_id, false))
            .arg(report.outcome.code())
            .arg(counter.map_or(-1, |c| i64::from(c as u8)))
            .arg(now)
            .arg(self.idle_expiry_secs)
            .arg(counter.map_or(0, usd_slot))
            .arg(self.velocity_prefix())
            .arg(self.outcome_prefix())
            .arg(label)
            .arg(series)
            .arg(fraud)
            .arg(ttl)
            .arg(ip_ttl)
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(match result {
            0 => OutcomeResult::NotFound,
            1 => OutcomeResult::Duplicate,
            _ => OutcomeResult::Recorded,
        })
    }

    async fn label(&self, op: &LabelOp) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        if conn.is_cluster() {
            return self.cluster_label(&conn, op).await;
        }
        let mut inv = self.label.prepare_invoke();
        for arg in redis_outcomes::label_invocation(&self.outcome_prefix(), op, &self.retention) {
            inv.arg(arg);
        }
        inv.invoke_async::<i64>(&mut conn).await.map_err(err)?;
        Ok(())
    }

    async fn put_session(&self, session: RadarSession) -> Result<(), StoreError> {
        let key = format!("{}s:{}", self.prefix, session.id);
        let json = serde_json::to_string(&session).map_err(err)?;
        let hex = |k: Option<u64>| k.map(|k| format!("{k:016x}")).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&key)
            .ignore()
            .hset(&key, "json", json)
            .ignore();
        if session.ip_key.is_some() {
            pipe.hset(&key, "ipk", hex(session.ip_key)).ignore();
        }
        if session.device_key.is_some() {
            pipe.hset(&key, "devk", hex(session.device_key)).ignore();
        }
        pipe.expire(&key, self.session_ttl_secs as i64).ignore();
        let mut conn = self.client.conn().await?;
        pipe.query_async::<()>(&mut conn).await.map_err(err)
    }

    async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError> {
        let mut conn = self.client.conn().await?;
        let json: Option<String> = conn
            .hget(format!("{}s:{id}", self.prefix), "json")
            .await
            .map_err(err)?;
        json.map(|j| serde_json::from_str(&j).map(Arc::new))
            .transpose()
            .map_err(err)
    }

    async fn put_upstream_ref(
        &self,
        evaluation_id: &str,
        upstream: &super::UpstreamRef,
    ) -> Result<(), StoreError> {
        let mut conn = self.client.conn().await?;
        conn.set_ex::<_, _, ()>(
            format!(
                "{}:s",
                self.evaluation_key(evaluation_id, conn.is_cluster())
            ),
            upstream.encode(),
            self.outcome_retention_secs,
        )
        .await
        .map_err(err)
    }

    async fn get_upstream_ref(
        &self,
        evaluation_id: &str,
    ) -> Result<Option<super::UpstreamRef>, StoreError> {
        let mut conn = self.client.conn().await?;
        let raw: Option<String> = conn
            .get(format!(
                "{}:s",
                self.evaluation_key(evaluation_id, conn.is_cluster())
            ))
            .await
            .map_err(err)?;
        Ok(raw.as_deref().and_then(super::UpstreamRef::decode))
    }

    async fn put_payment_method_session(
        &self,
        payment_method: &str,
        device: DeviceSnapshot,
        write: SetupWrite,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(&device).map_err(err)?;
        let key = format!("{}pm:{payment_method}", self.prefix);
        let mut conn = self.client.conn().await?;
        match write {
            SetupWrite::KeepEarlier => {
                redis::cmd("SET")
                    .arg(key)
                    .arg(json)
                    .arg("EX")
                    .arg(self.payment_method_session_ttl_secs)
                    .arg("NX")
                    .query_async::<Value>(&mut conn)
                    .await
                    .map_err(err)?;
                Ok(())
            }
            SetupWrite::SameSession => {
                let written: i64 = self
                    .setup
                    .key(key)
                    .arg(json)
                    .arg(self.payment_method_session_ttl_secs)
                    .arg(device.session.as_deref().unwrap_or_default())
                    .invoke_async(&mut conn)
                    .await
                    .map_err(err)?;
                if written == 1 {
                    Ok(())
                } else {
                    Err(super::set_up_elsewhere(payment_method))
                }
            }
        }
    }
}

#[tonic::async_trait]
impl crate::stores::idempotency::SharedRecords for RedisState {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.client.conn().await?;
        conn.get(self.idempotency_key(key)).await.map_err(err)
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.client.conn().await?;
        let set: Value = redis::cmd("SET")
            .arg(self.idempotency_key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .arg("NX")
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(matches!(set, Value::Okay) || matches!(&set, Value::SimpleString(s) if s == "OK"))
    }
}
