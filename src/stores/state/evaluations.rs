//! Evaluations kept for outcome reports, in-process: each evaluation's entity keys and amount, by
//! evaluation id, for `enrichment.outcome_retention_secs`, at most
//! `enrichment.outcome_max_evaluations` of them, the oldest leaving first.
//!
//! Every evaluation writes one entry and few are ever read (only those an outcome is reported
//! for), so the write is what costs. A general-purpose cache (moka, before issue 20) spent 3–5 % of
//! the gateway's CPU per call on it: its own `String` key and `Arc` value, a write-operation channel,
//! housekeeping and access-order bookkeeping. Here every entry lives equally long, so leaving in
//! the order they came is exactly "oldest first", and a shard is a hash map plus a FIFO queue under
//! one short lock. An id is kept as two independent keyed 64-bit hashes (SipHash with random keys,
//! so ids a client makes up cannot be aimed at one bucket or at another evaluation's entry); two
//! ids would have to agree on both, about 2⁻¹²⁸ per pair. An evaluation costs 96 bytes, its hash
//! slot (8 + 1) and its queue record (16), with the tables' spare room 1–2× that: 500,000 (the
//! default bound) take about 60–120 MB.

use std::{
    collections::VecDeque,
    hash::{BuildHasher, BuildHasherDefault, RandomState},
    sync::Mutex,
};

use crate::stores::capped::PassThrough;
use riskgate_core::signals::KeyKind;

// A presence bit per entity key fits in `Entry::present`.
const _: () = assert!(KeyKind::COUNT <= 8);

/// Shards (a power of two): concurrent evaluations rarely wait on one lock.
const SHARDS: usize = 16;

/// Entries a shard makes room for up front (4 M evaluations in all); a larger bound grows beyond.
const PREALLOCATED_PER_SHARD: usize = 1 << 18;

/// What an outcome report needs of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kept {
    pub keys: [Option<u64>; KeyKind::COUNT],
    pub usd: f64,
}

/// The answer to a claim of an outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Claim {
    /// Unknown, evicted, or older than the retention.
    NotFound,
    /// This outcome was already claimed for the evaluation.
    Duplicate,
    /// Claimed now: the caller records it (or gives it back with [`EvaluationLog::unclaim`]).
    Claimed(Kept),
}

/// 96 bytes (the keys packed: a presence bit each instead of `Option`'s 16 bytes).
#[derive(Debug)]
struct Entry {
    /// The id's second hash (the map key is the first).
    check: u64,
    /// Insertion number in the shard: tells the queue's record of this entry from a stale one.
    seq: u64,
    at: i64,
    usd: f64,
    keys: [u64; KeyKind::COUNT],
    /// Bit `i` set: `keys[i]` is present.
    present: u8,
    /// Bit per outcome kind already reported.
    reported: u16,
}

impl Entry {
    fn kept(&self) -> Kept {
        let mut keys = [None; KeyKind::COUNT];
        for (i, k) in keys.iter_mut().enumerate() {
            if self.present & (1 << i) != 0 {
                *k = Some(self.keys[i]);
            }
        }
        Kept {
            keys,
            usd: self.usd,
        }
    }
}

struct Shard {
    map: hashbrown::HashMap<u64, Entry, BuildHasherDefault<PassThrough>>,
    /// (map key, seq) in insertion order.
    order: VecDeque<(u64, u64)>,
    next_seq: u64,
}

impl Shard {
    /// Drops the oldest queued entry, if any.
    fn pop_oldest(&mut self) {
        if let Some((key, seq)) = self.order.pop_front()
            && self.map.get(&key).is_some_and(|e| e.seq == seq)
        {
            self.map.remove(&key);
        }
    }

    /// The oldest queued entry's time, when it is still in the map.
    fn oldest_at(&self) -> Option<i64> {
        let (key, seq) = self.order.front()?;
        Some(
            self.map
                .get(key)
                .filter(|e| e.seq == *seq)
                .map_or(i64::MIN, |e| e.at),
        )
    }
}

/// See the module docs.
pub struct EvaluationLog {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    retention_secs: i64,
    hash: RandomState,
    check: RandomState,
}

impl EvaluationLog {
    /// At most `max` evaluations (at least one per shard), each kept `retention_secs`.
    pub fn new(max: u64, retention_secs: u64) -> Self {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let per_shard = max.div_ceil(SHARDS).max(1);
        // Sized for the bound at once: growing by doubling moved every entry of all 16 shards
        // within a few milliseconds of each other, stalling evaluations (p99.9 12–17 ms for the
        // first ~250,000 evaluations under h2load). Only the tables' control bytes are written
        // now (~1 byte per entry); the rest is touched as entries arrive.
        let reserve = per_shard.min(PREALLOCATED_PER_SHARD);
        let shard = || {
            Mutex::new(Shard {
                map: hashbrown::HashMap::with_capacity_and_hasher(reserve, Default::default()),
                order: VecDeque::with_capacity(reserve),
                next_seq: 0,
            })
        };
        Self {
            shards: (0..SHARDS).map(|_| shard()).collect(),
            per_shard,
            retention_secs: i64::try_from(retention_secs).unwrap_or(i64::MAX),
            hash: RandomState::new(),
            check: RandomState::new(),
        }
    }

    fn locate(&self, id: &str) -> (&Mutex<Shard>, u64, u64) {
        let key = self.hash.hash_one(id);
        let check = self.check.hash_one(id);
        // Middle bits: the map takes its slot from the low bits and its tag from the top 7.
        (&self.shards[(key >> 32) as usize % SHARDS], key, check)
    }

    fn expired(&self, at: i64, now: i64) -> bool {
        now.saturating_sub(at) >= self.retention_secs
    }

    /// Keeps the evaluation `id` as of `now`, making room by dropping the oldest (and first any
    /// past the retention).
    pub fn insert(&self, id: &str, kept: Kept, now: i64) {
        let (shard, key, check) = self.locate(id);
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(at) = shard.oldest_at()
            && (self.expired(at, now) || shard.map.len() >= self.per_shard)
        {
            shard.pop_oldest();
        }
        // Queue records left by replaced entries are skipped by `oldest_at`, and bounded too.
        while shard.order.len() >= 2 * self.per_shard {
            shard.pop_oldest();
        }
        let seq = shard.next_seq;
        shard.next_seq += 1;
        shard.order.push_back((key, seq));
        let mut keys = [0; KeyKind::COUNT];
        let mut present = 0u8;
        for (i, k) in kept.keys.iter().enumerate() {
            if let Some(k) = k {
                keys[i] = *k;
                present |= 1 << i;
            }
        }
        shard.map.insert(
            key,
            Entry {
                check,
                seq,
                at: now,
                usd: kept.usd,
                keys,
                present,
                reported: 0,
            },
        );
    }

    /// Claims outcome `bit` of evaluation `id` at `now`.
    pub fn claim(&self, id: &str, bit: u16, now: i64) -> Claim {
        let (shard, key, check) = self.locate(id);
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        match shard.map.get_mut(&key) {
            Some(e) if e.check == check && !self.expired(e.at, now) => {
                if e.reported & bit != 0 {
                    Claim::Duplicate
                } else {
                    e.reported |= bit;
                    Claim::Claimed(e.kept())
                }
            }
            _ => Claim::NotFound,
        }
    }

    /// Gives back a claim whose outcome could not be recorded, so that a retried report counts.
    pub fn unclaim(&self, id: &str, bit: u16) {
        let (shard, key, check) = self.locate(id);
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = shard.map.get_mut(&key)
            && e.check == check
        {
            e.reported &= !bit;
        }
    }

    /// Evaluations kept (including any past the retention not yet dropped).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(n: u64) -> Kept {
        let mut keys = [None; KeyKind::COUNT];
        keys[0] = Some(n);
        Kept {
            keys,
            usd: n as f64,
        }
    }

    #[test]
    fn a_log_never_grows_its_tables_up_to_its_bound() {
        let log = EvaluationLog::new(4_000, 3600);
        let capacities = |log: &EvaluationLog| -> Vec<(usize, usize)> {
            log.shards
                .iter()
                .map(|s| {
                    let s = s.lock().unwrap();
                    (s.map.capacity(), s.order.capacity())
                })
                .collect()
        };
        let before = capacities(&log);
        assert!(before.iter().all(|&(m, o)| m >= 250 && o >= 250));
        for n in 0..4_000u64 {
            log.insert(&format!("peval_{n}"), kept(n), 1000);
        }
        // Full (each shard at its bound, the oldest leaving first), and not one table grew
        // (a map's capacity counts its free slots: removals leave some unusable until reused).
        let after = capacities(&log);
        for ((m0, o0), (m1, o1)) in before.into_iter().zip(after) {
            assert!(m1 <= m0 && o1 == o0, "grew: {m0} → {m1}, {o0} → {o1}");
        }
    }

    #[test]
    fn an_entry_is_small_and_keeps_every_key() {
        assert!(std::mem::size_of::<Entry>() <= 96);
        let log = EvaluationLog::new(100, 3600);
        let mut keys = [None; KeyKind::COUNT];
        keys[1] = Some(0);
        keys[KeyKind::COUNT - 1] = Some(u64::MAX);
        let all = Kept { keys, usd: 12.5 };
        log.insert("peval_k", all, 1000);
        assert_eq!(log.claim("peval_k", 1, 1000), Claim::Claimed(all));
    }

    #[test]
    fn an_outcome_is_claimed_once_and_can_be_given_back() {
        let log = EvaluationLog::new(100, 3600);
        log.insert("peval_a", kept(1), 1000);
        assert_eq!(log.claim("peval_a", 1, 1001), Claim::Claimed(kept(1)));
        assert_eq!(log.claim("peval_a", 1, 1002), Claim::Duplicate);
        // Another kind of outcome of the same evaluation is its own claim.
        assert_eq!(log.claim("peval_a", 2, 1002), Claim::Claimed(kept(1)));
        log.unclaim("peval_a", 1);
        assert_eq!(log.claim("peval_a", 1, 1003), Claim::Claimed(kept(1)));
        assert_eq!(log.claim("peval_b", 1, 1003), Claim::NotFound);
    }

    #[test]
    fn an_evaluation_is_forgotten_when_its_retention_ends() {
        let log = EvaluationLog::new(16_000, 60);
        log.insert("peval_a", kept(1), 1000);
        assert_eq!(log.claim("peval_a", 1, 1059), Claim::Claimed(kept(1)));
        assert_eq!(log.claim("peval_a", 2, 1060), Claim::NotFound);
        // Expired entries leave on the next insert into their shard (400 inserts reach every
        // one of the 16 shards but with probability ~10⁻¹¹).
        for i in 0..400 {
            log.insert(&format!("peval_{i}"), kept(i), 2000);
        }
        assert_eq!(log.len(), 400);
    }

    #[test]
    fn the_oldest_leave_first_when_the_log_is_full() {
        // 16 shards of 4: each shard keeps its 4 newest.
        let log = EvaluationLog::new(64, 3600);
        let ids: Vec<String> = (0..2000).map(|i| format!("peval_{i:024}")).collect();
        for (i, id) in ids.iter().enumerate() {
            log.insert(id, kept(i as u64), 1000 + i as i64);
        }
        assert!(log.len() <= 64, "{}", log.len());
        // The newest of all is kept; the first is long gone.
        assert_eq!(log.claim(&ids[1999], 1, 4000), Claim::Claimed(kept(1999)));
        assert_eq!(log.claim(&ids[0], 1, 4000), Claim::NotFound);
        // Whatever is kept is among the newest: each shard holds the last 4 it was given.
        let kept_old = ids[..1000]
            .iter()
            .filter(|id| log.claim(id, 1, 4000) != Claim::NotFound)
            .count();
        assert_eq!(kept_old, 0);
    }

    #[test]
    fn the_same_id_kept_again_replaces_the_first() {
        let log = EvaluationLog::new(1600, 3600);
        log.insert("peval_a", kept(1), 1000);
        assert_eq!(log.claim("peval_a", 1, 1000), Claim::Claimed(kept(1)));
        log.insert("peval_a", kept(2), 1001);
        assert_eq!(log.claim("peval_a", 1, 1001), Claim::Claimed(kept(2)));
        // The replaced entry's queue record does not evict the new one.
        for i in 0..3 {
            log.insert(&format!("x{i}"), kept(9), 1002);
        }
        assert_eq!(log.claim("peval_a", 2, 1003), Claim::Claimed(kept(2)));
    }
}
