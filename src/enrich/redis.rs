//! Shared state on Redis, so every replica sees one history: velocity counters, Radar Sessions,
//! payment-method sessions, evaluations kept for outcome reports, and idempotency records.
//!
//! An ordinary evaluation is **one round trip**: a Lua script ([`LOOKUP`]) reads the session, the
//! payment method's set-up session and every key's hash, then records the payment, atomically
//! (Redis runs a script alone). Blocks and outcomes are a second script ([`COUNT`], [`REPORT`]).
//!
//! Layout (`<p>` = `redis.key_prefix`):
//! - `<p>v:<16 hex>` — a velocity key: a hash with `f` first seen, `l` last seen, `a<c>` all-time
//!   count of counter `c`, `u0..u2` USD charged/successful/failed, `m<start>:<c>` 5-minute,
//!   `h<start>:<c>` hourly and `d<start>:<c>` daily bucket counts (each payment is added at the
//!   three levels; a level serves the window of its length, so the error bound is the in-process
//!   one: hourly 60–65 min, daily 24–25 h, weekly 7–8 days), and `s<dim>:<hash>` the last time a
//!   distinct value was seen (25 most recent per dimension; `n<dim>` counts them). Expired buckets
//!   are deleted, and the idle expiry pushed back, by the first write of each 5-minute bucket; the
//!   key expires after `enrichment.velocity_idle_expiry_secs` idle (up to 5 minutes sooner).
//! - `<p>s:<rse_id>` — a Radar Session (hash: `json`, `ipk`, `devk`), TTL `session_ttl_secs`.
//! - `<p>pm:<pm_id>` — the device a payment method was set up from (JSON), TTL
//!   `payment_method_session_ttl_secs`.
//! - `<p>e:<peval_id>` — an evaluation's keys and amount (`hex,hex,…|usd`), TTL
//!   `outcome_retention_secs`; `<p>e:<peval_id>:o<c>` marks outcome `c` as reported;
//!   `<p>e:<peval_id>:s` holds the Stripe evaluation it was scored by (`peval_…|amount|currency`,
//!   for outcome forwarding), same TTL.
//! - `<p>i:<idempotency key>` — a kept answer (32-byte parameter fingerprint, then the protobuf).
//!
//! The client is a `redis` ConnectionManager: it reconnects by itself after a failure. Each call
//! has the `redis.budget_ms` budget (enforced by the caller, [`super::Enricher`]).

use std::{sync::Arc, time::Duration};

use redis::{
    AsyncCommands, Client, Script, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::{
    DeviceSnapshot, Found, Lookup, Outcome, OutcomeResult, RadarSession, StateStore, StoreError,
};
use crate::{
    config::{EnrichmentConfig, RedisConfig},
    core::enrichment::{
        Counter, DISTINCT_CAP, Dim, KeyHistory, KeyKind, Velocity, WINDOW_SECS, WINDOWS,
    },
};

/// Shared Lua: counts counter `c` once on velocity key `k`.
const COUNT_FN: &str = r#"
local function count_key(k, c, now, ttl, usd, slot)
  redis.call('HSETNX', k, 'f', now)
  redis.call('HSET', k, 'l', now)
  redis.call('HINCRBY', k, 'a' .. c, 1)
  redis.call('HINCRBY', k, 'm' .. (now - now % 300) .. ':' .. c, 1)
  redis.call('HINCRBY', k, 'h' .. (now - now % 3600) .. ':' .. c, 1)
  redis.call('HINCRBY', k, 'd' .. (now - now % 86400) .. ':' .. c, 1)
  if slot ~= '' and usd ~= 0 then
    redis.call('HINCRBYFLOAT', k, slot, usd)
  end
  redis.call('EXPIRE', k, ttl)
end
"#;

/// The evaluation script. ARGV: now, idle ttl, usd, evaluation key, retention, session key,
/// payment-method key, velocity key prefix, 7 key hexes (card, email, ip, customer, billing,
/// shipping, device; '' = none), 4 distinct values (card, email, name, customer; '' = none).
/// Returns {session json, ip key, device key, pm json, {hex per kind}, {HGETALL per kind}}.
///
/// Each velocity key costs two calls (HGETALL, then one HSET of every changed field computed from
/// what HGETALL read), plus HDEL of expired fields and EXPIRE on the first write of each 5-minute
/// bucket: calls from Lua dominate the script's cost.
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
local dims = {{1, 2, 3}, {0, 3}, {0, 1}, {0}, {0}, {0}, {}}
local spans = {m = 300, h = 3600, d = 86400}
local windows = {m = 3600, h = 86400, d = 604800}
local buckets = {'m' .. (now - now % 300) .. ':0', 'h' .. (now - now % 3600) .. ':0',
  'd' .. (now - now % 86400) .. ':0', 'a0'}
local histories = {}
for i = 1, 7 do
  local hex = hexes[i]
  if hex == '' then
    histories[i] = {}
  else
    local k = ARGV[8] .. hex
    local all = redis.call('HGETALL', k)
    histories[i] = all
    local cur, dels = {}, {}
    for j = 1, #all, 2 do cur[all[j]] = all[j + 1] end
    if not cur[buckets[1]] then
      -- First payment of this 5-minute bucket: drop the buckets that left their window.
      for f, _ in pairs(cur) do
        local kind = string.sub(f, 1, 1)
        if spans[kind] then
          local start = tonumber(string.match(f, '^.(%d+):'))
          if start and start + spans[kind] + windows[kind] <= now then
            dels[#dels + 1] = f
          end
        end
      end
    end
    local upd = {'l', now}
    if not cur['f'] then upd[#upd + 1] = 'f'; upd[#upd + 1] = now end
    for _, f in ipairs(buckets) do
      upd[#upd + 1] = f; upd[#upd + 1] = (tonumber(cur[f]) or 0) + 1
    end
    if usd ~= 0 then
      upd[#upd + 1] = 'u0'; upd[#upd + 1] = (tonumber(cur['u0']) or 0) + usd
    end
    for _, d in ipairs(dims[i]) do
      local v = ARGV[16 + d]
      if v ~= '' then
        local field = 's' .. d .. ':' .. v
        if not cur[field] then
          local n = tonumber(cur['n' .. d]) or 0
          if n >= 25 then
            -- Replace the least recently seen value of this dimension.
            local prefix, oldest, at = 's' .. d .. ':', nil, nil
            for f, seen in pairs(cur) do
              if string.sub(f, 1, #prefix) == prefix then
                local t = tonumber(seen)
                if not at or t < at then oldest, at = f, t end
              end
            end
            if oldest then dels[#dels + 1] = oldest end
          else
            upd[#upd + 1] = 'n' .. d; upd[#upd + 1] = n + 1
          end
        end
        upd[#upd + 1] = field; upd[#upd + 1] = now
      end
    end
    if #dels > 0 then redis.call('HDEL', k, unpack(dels)) end
    redis.call('HSET', k, unpack(upd))
    if not cur[buckets[1]] then
      -- The idle expiry is pushed back by the first write of each 5-minute bucket.
      redis.call('EXPIRE', k, ttl)
    end
  end
end
if ARGV[4] ~= '' then
  redis.call('SET', ARGV[4], table.concat(hexes, ',') .. '|' .. usd, 'EX', tonumber(ARGV[5]))
end
return {session[1], session[2], session[3], pm, hexes, histories}
"#;

/// ARGV: now, ttl, counter, usd, usd slot ('' = none), prefix, hexes…
const COUNT_BODY: &str = r#"
local now = tonumber(ARGV[1])
for i = 7, #ARGV do
  count_key(ARGV[6] .. ARGV[i], tonumber(ARGV[3]), now, tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[5])
end
return 1
"#;

/// ARGV: evaluation key, counter, now, ttl, usd slot, prefix. Returns 0 not found, 1 duplicate,
/// 2 recorded.
const REPORT_BODY: &str = r#"
local rec = redis.call('GET', ARGV[1])
if not rec then return 0 end
local keys, usd = string.match(rec, '^([^|]*)|(.*)$')
local left = redis.call('TTL', ARGV[1])
if left < 1 then left = 1 end
if not redis.call('SET', ARGV[1] .. ':o' .. ARGV[2], 1, 'NX', 'EX', left) then return 1 end
local now = tonumber(ARGV[3])
for hex in string.gmatch(keys, '[^,]+') do
  count_key(ARGV[6] .. hex, tonumber(ARGV[2]), now, tonumber(ARGV[4]), tonumber(usd), ARGV[5])
end
return 2
"#;

/// The USD sum an outcome adds to.
fn usd_slot(counter: Counter) -> &'static str {
    match counter {
        Counter::Total => "u0",
        Counter::Authorized => "u1",
        Counter::Blocked | Counter::Declined => "u2",
        _ => "",
    }
}

/// A client for `redis.url` whose calls wait at most `response_timeout`. The connection is made
/// lazily and remade after failures. The value list store ([`crate::lists::redis`]) opens its own
/// with its own timeouts.
pub fn connection_manager(
    redis: &RedisConfig,
    response_timeout: Duration,
) -> Result<ConnectionManager, String> {
    let url = redis.url.as_deref().ok_or("redis.url is not set")?;
    let client = Client::open(url).map_err(|e| format!("redis.url: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(response_timeout.max(Duration::from_millis(100))))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| format!("redis: {e}"))
}

/// Redis-backed state.
pub struct RedisState {
    conn: ConnectionManager,
    prefix: String,
    lookup: Script,
    count: Script,
    report: Script,
    idle_expiry_secs: u64,
    session_ttl_secs: u64,
    payment_method_session_ttl_secs: u64,
    outcome_retention_secs: u64,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl RedisState {
    /// A client for `redis.url`. The connection is made lazily and remade after failures, so a
    /// Redis that is down at start-up only degrades evaluations until it is back.
    pub fn new(redis: &RedisConfig, enrichment: &EnrichmentConfig) -> Result<Self, String> {
        let conn = connection_manager(redis, Duration::from_millis(redis.budget_ms))?;
        Ok(Self {
            conn,
            prefix: redis.key_prefix.clone(),
            lookup: Script::new(LOOKUP_BODY),
            count: Script::new(&format!("{COUNT_FN}{COUNT_BODY}")),
            report: Script::new(&format!("{COUNT_FN}{REPORT_BODY}")),
            idle_expiry_secs: enrichment.velocity_idle_expiry_secs,
            session_ttl_secs: enrichment.session_ttl_secs,
            payment_method_session_ttl_secs: enrichment.payment_method_session_ttl_secs,
            outcome_retention_secs: enrichment.outcome_retention_secs,
        })
    }

    /// One PING (start-up checks and tests).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(err)
    }

    fn velocity_prefix(&self) -> String {
        format!("{}v:", self.prefix)
    }

    fn hexes(keys: &[Option<u64>; KeyKind::COUNT]) -> Vec<String> {
        keys.iter().flatten().map(|k| format!("{k:016x}")).collect()
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

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

/// A key's history as of `now` from its hash fields (`HGETALL`, before this payment).
pub fn history_from_fields(fields: &[(&str, &str)], now: i64) -> KeyHistory {
    let mut h = KeyHistory::default();
    let mut first_seen = None;
    for &(f, v) in fields {
        let Some(kind) = f.chars().next() else {
            continue;
        };
        let rest = &f[1..];
        match kind {
            'f' if rest.is_empty() => first_seen = v.parse::<i64>().ok(),
            'a' => {
                if let (Ok(c), Ok(n)) = (rest.parse::<usize>(), v.parse::<u32>())
                    && c < Counter::COUNT
                {
                    h.counts[c][WINDOWS - 1] = n;
                }
            }
            'u' => {
                let x = v.parse::<f64>().unwrap_or(0.0);
                match rest {
                    "0" => h.usd_charged = x,
                    "1" => h.usd_successful = x,
                    "2" => h.usd_failed = x,
                    _ => {}
                }
            }
            'm' | 'h' | 'd' => {
                let (level, span) = match kind {
                    'm' => (0, 300),
                    'h' => (1, 3600),
                    _ => (2, 86_400),
                };
                let Some((start, c)) = rest.split_once(':') else {
                    continue;
                };
                let (Ok(start), Ok(c), Ok(n)) =
                    (start.parse::<i64>(), c.parse::<usize>(), v.parse::<u32>())
                else {
                    continue;
                };
                let window = WINDOW_SECS[level].unwrap_or(i64::MAX);
                if c < Counter::COUNT && start + span + window > now {
                    h.counts[c][level] = h.counts[c][level].saturating_add(n);
                }
            }
            's' => {
                let Some((d, _)) = rest.split_once(':') else {
                    continue;
                };
                let (Ok(d), Ok(at)) = (d.parse::<usize>(), v.parse::<i64>()) else {
                    continue;
                };
                if d >= Dim::COUNT {
                    continue;
                }
                for (w, secs) in WINDOW_SECS.iter().enumerate() {
                    let inside = secs.is_none_or(|secs| now - at < secs);
                    if inside && h.distinct[d][w] < DISTINCT_CAP {
                        h.distinct[d][w] += 1;
                    }
                }
            }
            _ => {}
        }
    }
    h.seconds_since_first_seen = first_seen.map(|f| now.saturating_sub(f).max(0) as u64);
    h
}

/// A bulk string's text, borrowed.
fn str_of(v: &Value) -> Option<&str> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

fn pairs(v: &Value) -> Vec<(&str, &str)> {
    match v {
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|p| Some((str_of(&p[0])?, str_of(&p[1])?)))
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(k, v)| Some((str_of(k)?, str_of(v)?)))
            .collect(),
        _ => Vec::new(),
    }
}

#[tonic::async_trait]
impl StateStore for RedisState {
    async fn lookup_and_record(&self, lookup: &Lookup<'_>, now: i64) -> Result<Found, StoreError> {
        let a = &lookup.attempt;
        let mut inv = self.lookup.prepare_invoke();
        inv.arg(now)
            .arg(self.idle_expiry_secs)
            .arg(a.usd)
            .arg(format!("{}e:{}", self.prefix, lookup.evaluation_id))
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
        let mut conn = self.conn.clone();
        let reply: Value = inv.invoke_async(&mut conn).await.map_err(err)?;
        let Value::Array(parts) = reply else {
            return Err(StoreError("unexpected reply from the lookup script".into()));
        };
        let [session_json, _ipk, _devk, pm_json, hexes, histories] = parts.as_slice() else {
            return Err(StoreError("unexpected reply from the lookup script".into()));
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
            for (i, fields) in histories.iter().enumerate().take(KeyKind::COUNT) {
                if keys[i].is_some() {
                    velocity.keys[i] = Some(history_from_fields(&pairs(fields), now));
                }
            }
        }
        Ok(Found {
            session,
            payment_method_session,
            velocity,
            keys,
        })
    }

    async fn count(
        &self,
        keys: &[Option<u64>; KeyKind::COUNT],
        counter: Counter,
        usd: f64,
        now: i64,
    ) -> Result<(), StoreError> {
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
        let mut conn = self.conn.clone();
        inv.invoke_async::<i64>(&mut conn).await.map_err(err)?;
        Ok(())
    }

    async fn report_outcome(
        &self,
        evaluation_id: &str,
        outcome: Outcome,
        now: i64,
    ) -> Result<OutcomeResult, StoreError> {
        let counter = outcome.counter();
        let mut conn = self.conn.clone();
        let result: i64 = self
            .report
            .prepare_invoke()
            .arg(format!("{}e:{evaluation_id}", self.prefix))
            .arg(counter as u8)
            .arg(now)
            .arg(self.idle_expiry_secs)
            .arg(usd_slot(counter))
            .arg(self.velocity_prefix())
            .invoke_async(&mut conn)
            .await
            .map_err(err)?;
        Ok(match result {
            0 => OutcomeResult::NotFound,
            1 => OutcomeResult::Duplicate,
            _ => OutcomeResult::Recorded,
        })
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
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(err)
    }

    async fn get_session(&self, id: &str) -> Result<Option<Arc<RadarSession>>, StoreError> {
        let mut conn = self.conn.clone();
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
        let mut conn = self.conn.clone();
        conn.set_ex::<_, _, ()>(
            format!("{}e:{evaluation_id}:s", self.prefix),
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
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(format!("{}e:{evaluation_id}:s", self.prefix))
            .await
            .map_err(err)?;
        Ok(raw.as_deref().and_then(super::UpstreamRef::decode))
    }

    async fn put_payment_method_session(
        &self,
        payment_method: &str,
        device: DeviceSnapshot,
        replace: bool,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(&device).map_err(err)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}pm:{payment_method}", self.prefix))
            .arg(json)
            .arg("EX")
            .arg(self.payment_method_session_ttl_secs);
        if !replace {
            cmd.arg("NX");
        }
        let mut conn = self.conn.clone();
        cmd.query_async::<Value>(&mut conn).await.map_err(err)?;
        Ok(())
    }
}

#[tonic::async_trait]
impl crate::idempotency::SharedRecords for RedisState {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let mut conn = self.conn.clone();
        conn.get(self.idempotency_key(key))
            .await
            .map_err(|e| e.to_string())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, String> {
        let mut conn = self.conn.clone();
        let set: Value = redis::cmd("SET")
            .arg(self.idempotency_key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .arg("NX")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(matches!(set, Value::Okay) || matches!(&set, Value::SimpleString(s) if s == "OK"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_219_200 + 7 * 86_400;

    #[test]
    fn history_follows_the_bucket_windows() {
        let m = NOW - NOW % 300;
        let h = NOW - NOW % 3600;
        let d = NOW - NOW % 86_400;
        let owned: Vec<(String, String)> = [
            ("f".to_string(), (NOW - 90).to_string()),
            ("a0".into(), "9".into()),
            ("a1".into(), "2".into()),
            ("u0".into(), "12.5".into()),
            (format!("m{m}:0"), "2".into()),
            (format!("m{}:0", m - 3900), "5".into()), // left the hourly window
            (format!("h{h}:0"), "7".into()),
            (format!("h{}:1", h - 86_400 - 3600), "2".into()), // left the daily window
            (format!("d{d}:0"), "9".into()),
            ("s0:17".into(), (NOW - 10).to_string()),
            ("s0:18".into(), (NOW - 7200).to_string()),
            ("s3:5".into(), (NOW - 30 * 86_400).to_string()),
        ]
        .into_iter()
        .collect();
        let fields: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let hist = history_from_fields(&fields, NOW);
        assert_eq!(hist.counts[0], [2, 7, 9, 9]);
        assert_eq!(hist.counts[1], [0, 0, 0, 2]);
        assert_eq!(hist.distinct[Dim::Card as usize], [1, 2, 2, 2]);
        assert_eq!(hist.distinct[Dim::Customer as usize], [0, 0, 0, 1]);
        assert_eq!(hist.seconds_since_first_seen, Some(90));
        assert!((hist.usd_charged - 12.5).abs() < 1e-9);
    }
}
