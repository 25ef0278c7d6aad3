//! An evaluation on Redis: every entity's record — velocity and outcome memory — read and this
//! payment's event appended (APPEND), atomically per key, with the session, the payment method's
//! set-up session and the evaluation record in the same round trip.
//!
//! - **One Redis**: one MULTI/EXEC pipeline — HMGET (session), GET (payment method), one MGET of
//!   every key's record, APPEND per key, SET (evaluation record). Redis runs a transaction alone,
//!   so concurrent gateways never see the same count.
//! - **Cluster**: the `redis` crate (1.8) does send an atomic pipeline to the node of its first
//!   key's slot, but a redirection inside a transaction (MOVED while a slot moves or a replica
//!   takes over) aborts it as a whole, which the crate reports as an `ExecAbort` error and does not
//!   follow (it follows MOVED/ASK only as a command's own answer), while a script is redirected
//!   like any command (`tests/redis_failover.rs`). So a
//!   key's part is [`ENTITY`] — a two-call script (GET, APPEND) — sent for all keys at once with
//!   the session HMGET, payment-method GET and record SET; requests to one primary are pipelined
//!   on its connection.
//!
//! Either way the evaluation waits for one round trip. A payment with no IP (device) of its own
//! takes it from its Radar Session. On one Redis, when this gateway heard the session's keys
//! announced ([`super::session_keys`]), they are counted like the payment's own. Otherwise the
//! IP (device) key is known only once the session is read:
//! on one Redis the transaction then reads the session with [`SESSION_KEYS`], a script that also
//! reads and counts those keys and writes the evaluation record, still in the one round trip; on a
//! cluster (where a script may only touch the keys it declares) those keys take a second one. The records are read by replaying their tails with the in-process
//! [`KeyState`] methods ([`velocity_codec`]); keys this evaluation created get their idle expiry,
//! and records whose tails are long or heads old are compacted ([`COMPACT`]), in a task spawned
//! after the answer is known (not awaited by the evaluation).

use futures_util::future::{join_all, try_join_all};
use redis::{Script, Value};

use super::{
    RedisState, err, parse_hex, text,
    velocity_codec::{self, EVENT_LEN},
};
use crate::stores::{
    StoreError,
    redis::Conn,
    state::{
        DeviceSnapshot, Found, Lookup, RadarSession, fill_session_keys,
        outcomes::EntityRecord,
        velocity::{Attempt, Event, KeyState, secs},
    },
};
use riskgate_core::signals::{
    KeyKind, OutcomeHistory, OutcomeLabel, OutcomeSeries, Outcomes, Velocity,
};

/// One entity's part of an evaluation on a cluster. KEYS[1]: its record. ARGV[1]: this payment's
/// event. Returns the record before it (nil: no such key).
pub(super) const ENTITY: &str = r#"
local r = redis.call('GET', KEYS[1])
redis.call('APPEND', KEYS[1], ARGV[1])
return r
"#;

/// One Redis only (it touches keys it does not declare, which a cluster refuses): the Radar
/// Session read, and the IP and device keys it names counted, for a payment that lacks them, in
/// the evaluation's transaction. KEYS[1] = the session. ARGV: velocity key prefix, the IP key's
/// event ('' = the payment has its own IP key), the device key's event (likewise), the
/// evaluation record's key ('' = none), its TTL, then the record in five parts — the text before
/// the IP key's slot, the payment's own IP key hex ('' = none), the text between the IP and device
/// slots, the payment's own device key hex, the rest (`|usd`) — so that the script only fills
/// the slots the session names. Returns {json, ipk, devk, the IP key's record before this payment
/// (false: none), the device key's}: HMGET, then per named key GET and APPEND, then SET of the
/// record. Kept lean — no tables but the answer, one concatenation — since it runs inside every
/// such evaluation (its own cost was ~4.7 µs of Lua around ~1.5 µs of commands before).
pub(super) const SESSION_KEYS: &str = r#"
local s = redis.call('HMGET', KEYS[1], 'json', 'ipk', 'devk')
local ipk, devk = s[2], s[3]
local iprec, devrec = false, false
local ip, dev = ARGV[7], ARGV[9]
if ARGV[2] ~= '' and ipk then
  local k = ARGV[1] .. '{' .. ipk .. '}'
  iprec = redis.call('GET', k)
  redis.call('APPEND', k, ARGV[2])
  ip = ipk
end
if ARGV[3] ~= '' and devk then
  local k = ARGV[1] .. '{' .. devk .. '}'
  devrec = redis.call('GET', k)
  redis.call('APPEND', k, ARGV[3])
  dev = devk
end
if ARGV[4] ~= '' then
  redis.call('SET', ARGV[4], ARGV[6] .. ip .. ARGV[8] .. dev .. ARGV[10], 'EX', ARGV[5])
end
return {s[1], ipk, devk, iprec, devrec}
"#;

/// Replaces a record's head (compaction). KEYS[1] = the key. ARGV: the bytes the record began
/// with when read, its length then, the new head, the expiry it needs (seconds: the idle expiry,
/// or longer while its outcome memory is kept). Replaces only if the record still begins so (its
/// head was not rewritten since), keeping the entries appended after the read; the key's expiry
/// is pushed back, never brought forward (a label appended since may need longer). Returns 1
/// replaced, 0 not.
pub(super) const COMPACT: &str = r#"
local cur = redis.call('GET', KEYS[1])
local n = tonumber(ARGV[2])
if not cur or #cur < n or string.sub(cur, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
local left = redis.call('TTL', KEYS[1])
local ttl = tonumber(ARGV[4])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], ARGV[3] .. string.sub(cur, n + 1), 'EX', ttl)
return 1
"#;

/// What one phase of an evaluation sends.
struct Phase {
    session: Option<String>,
    payment_method: Option<String>,
    /// (kind index, key).
    keys: Vec<(usize, u64)>,
    /// The evaluation record, when this phase writes it.
    record: Option<String>,
    /// One Redis: the session's IP (device) key counted in this phase when the payment has none
    /// ([`SESSION_KEYS`]; it writes the record too).
    derive: Option<Derive>,
}

/// What [`SESSION_KEYS`] needs besides the session.
struct Derive {
    ip: bool,
    device: bool,
    keys: [Option<u64>; KeyKind::COUNT],
    usd: f64,
    with_record: bool,
}

/// What a phase got back.
#[derive(Default)]
struct Reply {
    /// The session's `json`, `ipk`, `devk`.
    session: [Option<String>; 3],
    payment_method: Option<String>,
    /// Per key of the phase, in order: its record before this payment (`None`: no such key).
    entities: Vec<Option<Vec<u8>>>,
    /// Keys the session named and [`SESSION_KEYS`] counted: (kind index, key, record).
    derived: Vec<(usize, u64, Option<Vec<u8>>)>,
}

/// Work an evaluation leaves for after its answer.
enum Upkeep {
    /// A key this evaluation created: its idle expiry (unless a label set a longer one first).
    Expire(String),
    /// A record to fold into a new head ([`COMPACT`]).
    Compact {
        key: String,
        expect: Vec<u8>,
        read_len: usize,
        head: Vec<u8>,
        /// Seconds the key must live from now.
        ttl: u64,
    },
}

fn unexpected() -> StoreError {
    StoreError::Unavailable("unexpected reply to an evaluation's velocity batch".into())
}

fn record_bytes(v: Value) -> Result<Option<Vec<u8>>, StoreError> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(b)),
        _ => Err(unexpected()),
    }
}

fn present(keys: &[Option<u64>; KeyKind::COUNT]) -> Vec<(usize, u64)> {
    keys.iter()
        .enumerate()
        .filter_map(|(i, k)| k.map(|k| (i, k)))
        .collect()
}

/// The 7 positional key hexes of `keys` ('' = none).
fn positional_hexes(keys: &[Option<u64>; KeyKind::COUNT]) -> Vec<String> {
    keys.iter()
        .map(|k| k.map(|k| format!("{k:016x}")).unwrap_or_default())
        .collect()
}

/// `hex,hex,…|usd` (7 positional hexes, '' = none).
fn evaluation_record(keys: &[Option<u64>; KeyKind::COUNT], usd: f64) -> String {
    format!("{}|{usd}", positional_hexes(keys).join(","))
}

impl RedisState {
    /// [`StateStore::lookup_and_record`](crate::stores::state::StateStore::lookup_and_record).
    pub(super) async fn evaluate(
        &self,
        conn: &Conn,
        lookup: &Lookup<'_>,
        now: i64,
    ) -> Result<Found, StoreError> {
        let t = secs(now);
        let (ip, dev) = (KeyKind::Ip as usize, KeyKind::Device as usize);
        // A session whose keys this gateway heard announced: they are counted with native
        // commands, like the payment's own.
        let filled = self.announced_keys(conn, lookup).await;
        let a = filled.as_ref().unwrap_or(&lookup.attempt);
        // Otherwise the session may name the IP (device) key the payment lacks: then those keys,
        // and the evaluation record that lists them, wait for it.
        let from_session = filled.is_none()
            && lookup.session.is_some()
            && (a.keys[ip].is_none() || a.keys[dev].is_none());
        let events: [[u8; EVENT_LEN]; KeyKind::COUNT] = std::array::from_fn(|i| {
            velocity_codec::encode_event(&Event::payment(KeyKind::ALL[i], a, t))
        });
        let with_record = !lookup.evaluation_id.is_empty();
        // One Redis: the session's keys in the same transaction.
        let derive = (from_session && !conn.is_cluster()).then_some(Derive {
            ip: a.keys[ip].is_none(),
            device: a.keys[dev].is_none(),
            keys: a.keys,
            usd: a.usd,
            with_record,
        });
        let first = Phase {
            session: lookup.session.map(|s| format!("{}s:{s}", self.prefix)),
            payment_method: lookup
                .read_payment_method_session
                .then(|| format!("{}pm:{}", self.prefix, lookup.payment_method)),
            keys: present(&a.keys),
            record: (with_record && !from_session).then(|| evaluation_record(&a.keys, a.usd)),
            derive,
        };
        let mut reply = self
            .phase(conn, &first, lookup.evaluation_id, &events)
            .await?;
        let mut keys = a.keys;
        let mut read = first.keys;
        if first.derive.is_some() {
            for (kind, key, raw) in std::mem::take(&mut reply.derived) {
                keys[kind] = Some(key);
                read.push((kind, key));
                reply.entities.push(raw);
            }
        } else if from_session {
            let mut extra = Vec::new();
            for (i, hex) in [(ip, &reply.session[1]), (dev, &reply.session[2])] {
                if keys[i].is_none() {
                    keys[i] = hex.as_deref().and_then(parse_hex);
                    extra.extend(keys[i].map(|k| (i, k)));
                }
            }
            let second = Phase {
                session: None,
                payment_method: None,
                keys: extra,
                record: with_record.then(|| evaluation_record(&keys, a.usd)),
                derive: None,
            };
            if !second.keys.is_empty() || second.record.is_some() {
                let more = self
                    .phase(conn, &second, lookup.evaluation_id, &events)
                    .await?;
                reply.entities.extend(more.entities);
                read.extend(second.keys);
            }
        }
        let [session_json, _, _] = std::mem::take(&mut reply.session);
        let session = session_json
            .map(|j| serde_json::from_str::<RadarSession>(&j).map(std::sync::Arc::new))
            .transpose()
            .map_err(err)?;
        let payment_method_session = reply
            .payment_method
            .take()
            .map(|j| serde_json::from_str::<DeviceSnapshot>(&j).map(std::sync::Arc::new))
            .transpose()
            .map_err(err)?;

        let mut velocity = Velocity::default();
        let mut outcomes = Outcomes::EMPTY;
        let mut upkeep = Vec::new();
        for (&(kind, key), raw) in read.iter().zip(reply.entities) {
            let name = self.velocity_key(key);
            let k = KeyKind::ALL[kind];
            let (history, memory) = match raw {
                None => {
                    upkeep.push(Upkeep::Expire(name));
                    (
                        KeyState::default().before(k, a, t),
                        OutcomeHistory::default(),
                    )
                }
                Some(raw) => {
                    let record = velocity_codec::decode(&raw)?;
                    let due = record.needs_compaction(t);
                    let generation = record.next_generation();
                    let (mut state, memory) = (record.state, record.outcomes);
                    let history = state.before(k, a, t);
                    let outcome_history = memory.history(k, now, &self.retention);
                    if due {
                        // The head is the state this payment was counted on (its event follows
                        // the bytes read, so it stays in the tail). Outcome memory is kept
                        // whole: a reader leaves out labels past retention, and the key expires
                        // with its last label's, as in-process memory does between sweeps.
                        upkeep.push(Upkeep::Compact {
                            key: name,
                            expect: velocity_codec::expected_prefix(&raw).to_vec(),
                            read_len: raw.len(),
                            head: velocity_codec::encode_head(&state, &memory, generation, t),
                            ttl: self.record_ttl(k, &memory, now),
                        });
                    }
                    (history, outcome_history)
                }
            };
            velocity.keys[kind] = Some(history);
            outcomes.keys[kind] = Some(memory);
        }
        self.spawn_upkeep(conn, upkeep);
        Ok(Found {
            session,
            payment_method_session,
            velocity,
            keys,
            outcomes,
        })
    }

    /// The payment with the IP and device keys it lacks taken from its session's announcement
    /// ([`super::session_keys`]), when this gateway heard one (one Redis only; it subscribes on
    /// first use). `None`: nothing to fill, or not heard.
    async fn announced_keys(&self, conn: &Conn, lookup: &Lookup<'_>) -> Option<Attempt> {
        if conn.is_cluster() {
            return None;
        }
        self.sessions.subscribe(&self.client);
        let id = lookup.session?;
        let (ip, dev) = (KeyKind::Ip as usize, KeyKind::Device as usize);
        let a = &lookup.attempt;
        if a.keys[ip].is_some() && a.keys[dev].is_some() {
            return None;
        }
        let [ip_key, device_key] = self.sessions.get(id).await?;
        let mut filled = a.clone();
        fill_session_keys(&mut filled, ip_key, device_key);
        Some(filled)
    }

    async fn phase(
        &self,
        conn: &Conn,
        p: &Phase,
        evaluation_id: &str,
        events: &[[u8; EVENT_LEN]; KeyKind::COUNT],
    ) -> Result<Reply, StoreError> {
        if conn.is_cluster() {
            self.phase_on_cluster(conn, p, evaluation_id, events).await
        } else {
            self.phase_on_one(conn, p, evaluation_id, events).await
        }
    }

    /// One MULTI/EXEC pipeline.
    async fn phase_on_one(
        &self,
        conn: &Conn,
        p: &Phase,
        evaluation_id: &str,
        events: &[[u8; EVENT_LEN]; KeyKind::COUNT],
    ) -> Result<Reply, StoreError> {
        let mut pipe = redis::pipe();
        // Errors come back per command: the session script's NOSCRIPT is handled below.
        pipe.atomic().ignore_errors();
        let derive_args = p
            .derive
            .as_ref()
            .map(|d| self.session_keys_args(d, evaluation_id, events));
        match (&p.session, &derive_args) {
            (Some(k), Some(args)) => {
                // EVALSHA: the body is sent (and hashed by Redis) only when Redis has lost it.
                pipe.cmd("EVALSHA")
                    .arg(self.session_keys.get_hash())
                    .arg(1)
                    .arg(k)
                    .arg(args);
            }
            (Some(k), None) => {
                pipe.cmd("HMGET").arg(k).arg("json").arg("ipk").arg("devk");
            }
            (None, _) => {}
        }
        if let Some(k) = &p.payment_method {
            pipe.cmd("GET").arg(k);
        }
        let names: Vec<String> = p.keys.iter().map(|&(_, k)| self.velocity_key(k)).collect();
        if !names.is_empty() {
            pipe.cmd("MGET").arg(&names);
        }
        for (&(kind, _), name) in p.keys.iter().zip(&names) {
            pipe.cmd("APPEND").arg(name).arg(&events[kind][..]).ignore();
        }
        if let Some(record) = &p.record {
            pipe.cmd("SET")
                .arg(self.evaluation_key(evaluation_id, false))
                .arg(record)
                .arg("EX")
                .arg(self.outcome_retention_secs)
                .ignore();
        }
        let mut c = conn.clone();
        let values: Vec<Value> = pipe.query_async(&mut c).await.map_err(err)?;
        let mut it = values.into_iter();
        let mut reply = Reply::default();
        if let Some(k) = &p.session {
            let mut first = it.next().ok_or_else(unexpected)?;
            if let (Value::ServerError(e), Some(args)) = (&first, &derive_args)
                && e.code() == "NOSCRIPT"
            {
                // Redis lost its scripts (a restart, a failover, SCRIPT FLUSH): the rest of the
                // transaction ran; the script runs on its own (loaded again), a second round
                // trip this once.
                let mut inv = self.session_keys.key(k);
                inv.arg(args);
                first = inv.invoke_async(&mut c).await.map_err(err)?;
            }
            let Value::Array(v) = first else {
                return Err(unexpected());
            };
            for (slot, x) in reply.session.iter_mut().zip(&v) {
                *slot = text(x);
            }
            if let Some(d) = &p.derive {
                let mut v = v.into_iter().skip(3);
                for (kind, slot, lacked) in [(KeyKind::Ip, 1, d.ip), (KeyKind::Device, 2, d.device)]
                {
                    let Some(raw) = v.next() else {
                        return Err(unexpected());
                    };
                    // Counted when the payment lacked the key and the session named it.
                    if let Some(key) = reply.session[slot].as_deref().and_then(parse_hex)
                        && lacked
                    {
                        reply.derived.push((kind as usize, key, record_bytes(raw)?));
                    }
                }
            }
        }
        if p.payment_method.is_some() {
            reply.payment_method = text(&it.next().ok_or_else(unexpected)?);
        }
        if !p.keys.is_empty() {
            let Some(Value::Array(records)) = it.next() else {
                return Err(unexpected());
            };
            if records.len() != p.keys.len() {
                return Err(unexpected());
            }
            reply.entities = records
                .into_iter()
                .map(record_bytes)
                .collect::<Result<_, _>>()?;
        }
        if it.next().is_some() {
            return Err(unexpected());
        }
        Ok(reply)
    }

    /// [`SESSION_KEYS`]' arguments after its key.
    fn session_keys_args(
        &self,
        d: &Derive,
        evaluation_id: &str,
        events: &[[u8; EVENT_LEN]; KeyKind::COUNT],
    ) -> Vec<Vec<u8>> {
        let event = |wanted: bool, kind: KeyKind| {
            if wanted {
                events[kind as usize].to_vec()
            } else {
                Vec::new()
            }
        };
        let record = if d.with_record {
            self.evaluation_key(evaluation_id, false)
        } else {
            String::new()
        };
        // The record's text around the IP and device slots (positional hexes, KeyKind order:
        // the IP third, the device last).
        let hexes = positional_hexes(&d.keys);
        let (ip, dev) = (KeyKind::Ip as usize, KeyKind::Device as usize);
        debug_assert!(ip < dev && dev == KeyKind::COUNT - 1);
        let mut before = hexes[..ip].join(",");
        before.push(',');
        let mut between = String::from(",");
        between.push_str(&hexes[ip + 1..dev].join(","));
        between.push(',');
        vec![
            self.velocity_prefix().into_bytes(),
            event(d.ip, KeyKind::Ip),
            event(d.device, KeyKind::Device),
            record.into_bytes(),
            self.outcome_retention_secs.to_string().into_bytes(),
            before.into_bytes(),
            hexes[ip].clone().into_bytes(),
            between.into_bytes(),
            hexes[dev].clone().into_bytes(),
            format!("|{}", d.usd).into_bytes(),
        ]
    }

    /// One request per key and per other key, all at once.
    async fn phase_on_cluster(
        &self,
        conn: &Conn,
        p: &Phase,
        evaluation_id: &str,
        events: &[[u8; EVENT_LEN]; KeyKind::COUNT],
    ) -> Result<Reply, StoreError> {
        let session = async {
            let Some(k) = &p.session else {
                return Ok::<_, StoreError>([None, None, None]);
            };
            let mut c = conn.clone();
            let v: Vec<Value> = redis::cmd("HMGET")
                .arg(k)
                .arg("json")
                .arg("ipk")
                .arg("devk")
                .query_async(&mut c)
                .await
                .map_err(err)?;
            Ok(std::array::from_fn(|i| v.get(i).and_then(text)))
        };
        let payment_method = async {
            let Some(k) = &p.payment_method else {
                return Ok::<_, StoreError>(None);
            };
            let mut c = conn.clone();
            let v: Value = redis::cmd("GET")
                .arg(k)
                .query_async(&mut c)
                .await
                .map_err(err)?;
            Ok(text(&v))
        };
        let record = async {
            let Some(record) = &p.record else {
                return Ok::<_, StoreError>(());
            };
            let mut c = conn.clone();
            redis::cmd("SET")
                .arg(self.evaluation_key(evaluation_id, true))
                .arg(record)
                .arg("EX")
                .arg(self.outcome_retention_secs)
                .query_async::<Value>(&mut c)
                .await
                .map_err(err)?;
            Ok(())
        };
        let entities = try_join_all(p.keys.iter().map(|&(kind, key)| {
            let mut inv = self.entity.key(self.velocity_key(key));
            inv.arg(&events[kind][..]);
            let mut c = conn.clone();
            async move {
                let v: Value = inv.invoke_async(&mut c).await.map_err(err)?;
                record_bytes(v)
            }
        }));
        let (session, payment_method, entities, ()) =
            tokio::try_join!(session, payment_method, entities, record)?;
        Ok(Reply {
            session,
            payment_method,
            entities,
            derived: Vec::new(),
        })
    }

    /// Sets the idle expiry of created keys and compacts records, in a task of its own (failures
    /// only delay it: the next reader of the record tries again).
    fn spawn_upkeep(&self, conn: &Conn, upkeep: Vec<Upkeep>) {
        if upkeep.is_empty() {
            return;
        }
        let conn = conn.clone();
        let script = self.compact.clone();
        let ttl = self.idle_expiry_secs;
        tokio::spawn(async move {
            join_all(
                upkeep
                    .into_iter()
                    .map(|u| run_upkeep(conn.clone(), &script, u, ttl)),
            )
            .await;
        });
    }

    /// A velocity key's record as Redis holds it (tests and tools).
    #[doc(hidden)]
    pub async fn velocity_record(&self, key: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.client.conn().await?;
        let v: Value = redis::cmd("GET")
            .arg(self.velocity_key(key))
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        record_bytes(v)
    }

    /// Compacts a `kind` key's record as it was read (`read`), at `now`, as an evaluation that
    /// read it does: true when the record was replaced (tests).
    #[doc(hidden)]
    pub async fn compact_velocity(
        &self,
        key: u64,
        kind: KeyKind,
        read: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let record = velocity_codec::decode(read)?;
        let generation = record.next_generation();
        let (mut state, memory) = (record.state, record.outcomes);
        state.compact(secs(now));
        let conn = self.client.conn().await?;
        let replaced = compact_record(
            conn,
            &self.compact,
            Upkeep::Compact {
                key: self.velocity_key(key),
                expect: velocity_codec::expected_prefix(read).to_vec(),
                read_len: read.len(),
                head: velocity_codec::encode_head(&state, &memory, generation, secs(now)),
                ttl: self.record_ttl(kind, &memory, now),
            },
            self.idle_expiry_secs,
        )
        .await?;
        Ok(replaced)
    }

    /// How long a record must live from `now`: the idle expiry, or until the last of its labels
    /// leaves retention.
    fn record_ttl(&self, kind: KeyKind, memory: &EntityRecord, now: i64) -> u64 {
        let r = &self.retention;
        let until = memory
            .labels
            .iter()
            .filter_map(|s| {
                let label = OutcomeLabel::from_index(s.label)?;
                Some(i64::from(s.last) + r.of(kind, label))
            })
            .chain(memory.times.iter().filter_map(|&(s, t)| {
                Some(i64::from(t) + r.of_series(kind, OutcomeSeries::from_index(s)?))
            }))
            .chain(
                memory
                    .customers
                    .iter()
                    .map(|&(_, t)| i64::from(t) + r.of(kind, OutcomeLabel::EarlyFraudWarning)),
            )
            .max()
            .unwrap_or(0);
        self.idle_expiry_secs
            .max(u64::try_from(until - now).unwrap_or(0))
            .max(1)
    }
}

async fn run_upkeep(conn: Conn, script: &Script, u: Upkeep, ttl: u64) {
    if let Err(e) = compact_record(conn, script, u, ttl).await {
        tracing::debug!(error = %e, "velocity record upkeep failed; the next reader retries");
    }
}

async fn compact_record(
    mut conn: Conn,
    script: &Script,
    u: Upkeep,
    ttl: u64,
) -> Result<bool, StoreError> {
    match u {
        Upkeep::Expire(key) => {
            // NX: a label appended since may have given the key a longer life.
            redis::cmd("EXPIRE")
                .arg(key)
                .arg(ttl)
                .arg("NX")
                .query_async::<Value>(&mut conn)
                .await
                .map_err(err)?;
            Ok(true)
        }
        Upkeep::Compact {
            key,
            expect,
            read_len,
            head,
            ttl,
        } => {
            let n: i64 = script
                .key(key)
                .arg(expect)
                .arg(read_len)
                .arg(head)
                .arg(ttl)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(n == 1)
        }
    }
}
