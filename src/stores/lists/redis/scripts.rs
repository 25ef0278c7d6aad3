//! The Lua scripts of the Redis value list store. Each mutation is one script, so Redis runs it
//! alone: it checks what must hold, changes the hashes and appends the change to the change log,
//! or changes nothing. The snapshot and the list lookup are scripts too, so each reads at one
//! instant.

use redis::Script;

/// Appends change `op` to the log; every mutation script starts with it. ARGV[1] = key prefix,
/// ARGV[2] = log length.
const LOG_FN: &str = r#"
local p = ARGV[1]
local function log(op)
  local seq = redis.call('INCR', p .. 'seq')
  redis.call('XADD', p .. 'log', 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, 'op', op)
  return seq
end
"#;

/// ARGV[3..]: id, alias, list JSON, op JSON, '1' = do nothing if the alias exists.
const CREATE_LIST: &str = r#"
if redis.call('HEXISTS', p .. 'aliases', ARGV[4]) == 1 then
  if ARGV[7] == '1' then return {'exists', 0} end
  return {'alias_taken', 0}
end
if redis.call('HEXISTS', p .. 'lists', ARGV[3]) == 1 then return {'id_taken', 0} end
local seq = log(ARGV[6])
redis.call('HSET', p .. 'lists', ARGV[3], seq .. ' ' .. ARGV[5])
redis.call('HSET', p .. 'aliases', ARGV[4], ARGV[3])
return {'ok', seq}
"#;

/// ARGV[3..]: id, the list JSON the change was computed from, new list JSON, op JSON. Refused
/// (`conflict`) when the list changed meanwhile; the caller recomputes.
const UPDATE_LIST: &str = r#"
local cur = redis.call('HGET', p .. 'lists', ARGV[3])
if not cur then return {'not_found', 0} end
local sp = string.find(cur, ' ', 1, true)
if string.sub(cur, sp + 1) ~= ARGV[4] then return {'conflict', 0} end
local seq = log(ARGV[6])
redis.call('HSET', p .. 'lists', ARGV[3], string.sub(cur, 1, sp) .. ARGV[5])
return {'ok', seq}
"#;

/// ARGV[3..]: id, alias, op JSON.
const DELETE_LIST: &str = r#"
if redis.call('HEXISTS', p .. 'lists', ARGV[3]) == 0 then return {'not_found', 0} end
local vkey = p .. 'values:' .. ARGV[3]
local ids = redis.call('HVALS', vkey)
for i = 1, #ids, 1000 do
  redis.call('HDEL', p .. 'items', unpack(ids, i, math.min(i + 999, #ids)))
end
redis.call('DEL', vkey)
redis.call('HDEL', p .. 'lists', ARGV[3])
if redis.call('HGET', p .. 'aliases', ARGV[4]) == ARGV[3] then
  redis.call('HDEL', p .. 'aliases', ARGV[4])
end
local seq = log(ARGV[5])
return {'ok', seq}
"#;

/// ARGV[3..]: item id, list id, canonical value, item JSON, op JSON.
const CREATE_ITEM: &str = r#"
if redis.call('HEXISTS', p .. 'lists', ARGV[4]) == 0 then return {'not_found', 0} end
local vkey = p .. 'values:' .. ARGV[4]
if redis.call('HEXISTS', vkey, ARGV[5]) == 1 then return {'duplicate', 0} end
if redis.call('HEXISTS', p .. 'items', ARGV[3]) == 1 then return {'id_taken', 0} end
local seq = log(ARGV[7])
redis.call('HSET', p .. 'items', ARGV[3], seq .. ' ' .. ARGV[6])
redis.call('HSET', vkey, ARGV[5], ARGV[3])
return {'ok', seq}
"#;

/// ARGV[3..]: item id, list id, canonical value, op JSON.
const DELETE_ITEM: &str = r#"
if redis.call('HEXISTS', p .. 'items', ARGV[3]) == 0 then return {'not_found', 0} end
redis.call('HDEL', p .. 'items', ARGV[3])
redis.call('HDEL', p .. 'values:' .. ARGV[4], ARGV[5])
local seq = log(ARGV[6])
return {'ok', seq}
"#;

/// ARGV[1] = key prefix. Returns {last seq, last log id, list records, item records}, read at
/// one instant.
const SNAPSHOT: &str = r#"
local p = ARGV[1]
local last = redis.call('XREVRANGE', p .. 'log', '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {redis.call('GET', p .. 'seq') or '0', id,
  redis.call('HVALS', p .. 'lists'), redis.call('HVALS', p .. 'items')}
"#;

/// ARGV[1] = key prefix, ARGV[2] = a list id or alias. Returns the list record, or nil.
const FETCH_LIST: &str = r#"
local p = ARGV[1]
local v = redis.call('HGET', p .. 'lists', ARGV[2])
if v then return v end
local id = redis.call('HGET', p .. 'aliases', ARGV[2])
if id then return redis.call('HGET', p .. 'lists', id) end
return false
"#;

/// The scripts, each compiled (hashed) once.
pub(super) struct Scripts {
    pub(super) create_list: Script,
    pub(super) update_list: Script,
    pub(super) delete_list: Script,
    pub(super) create_item: Script,
    pub(super) delete_item: Script,
    pub(super) snapshot: Script,
    pub(super) fetch_list: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let mutation = |body: &str| Script::new(&format!("{LOG_FN}{body}"));
        Self {
            create_list: mutation(CREATE_LIST),
            update_list: mutation(UPDATE_LIST),
            delete_list: mutation(DELETE_LIST),
            create_item: mutation(CREATE_ITEM),
            delete_item: mutation(DELETE_ITEM),
            snapshot: Script::new(SNAPSHOT),
            fetch_list: Script::new(FETCH_LIST),
        }
    }
}
