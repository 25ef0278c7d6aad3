//! A sharded in-process map with a byte budget: what every in-process store that keeps one record
//! per key a caller chooses (a card, an email, an evaluation) uses, so that no flood of new keys can
//! grow memory without bound.
//!
//! - **Keys** are 64-bit keyed hashes (`src/enrich/keys.rs`): uniformly spread over the shards,
//!   and unpredictable to a caller, so nobody can aim a flood at one shard. They are used as they
//!   are, with no second hash ([`PassThrough`]).
//! - **Budget**: the accounted bytes of every entry (its slot in the table, its queue entry, and
//!   the heap its value owns, [`Weigh::heap_bytes`]) stay within `max_bytes`, split evenly over the
//!   shards. A table's spare capacity (a hash table grows by doubling) is not in the budget: the
//!   process may hold up to about twice the accounted table bytes; README gives measured figures.
//! - **Eviction**: when an update takes a shard over its share, entries go least recently used
//!   first, approximately (CLOCK, the second-chance algorithm): entries wait in a FIFO queue; one
//!   used since it was queued goes to the back once, one not used since goes. Evictions are
//!   counted in `riskgate_state_evictions_total{store, cause="size"}`. The entry being updated is
//!   never the one evicted.
//! - **Locks**: one `std` mutex per shard, held only for in-memory work of one key (or one shard's
//!   sweep): never across I/O or an `.await`.

use std::{
    collections::{HashMap, VecDeque},
    hash::{BuildHasherDefault, Hasher},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use crate::telemetry;

/// Passes a key that is already a good 64-bit hash through unchanged.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What a value of a [`CappedMap`] tells the map.
pub trait Weigh {
    /// Bytes the value owns on the heap (not its inline size, which the map counts).
    fn heap_bytes(&self) -> usize;
    /// When it was last used (any clock that only goes forward, e.g. Unix seconds); what the
    /// eviction order follows.
    fn last_used(&self) -> u32;
}

/// Shards: a power of two, enough that updates on 2–16 cores rarely wait for one another, few
/// enough that each shard's share of a small budget still holds many entries.
const SHARDS: usize = 64;
/// Entries passed over (second chances) per eviction at most: bounds the work of one update even
/// when every queued entry was used recently.
const MAX_SECOND_CHANCES: usize = 32;
/// What an allocator adds to each heap block a value owns, on average (size class rounding and
/// headers), counted per block by [`entry_bytes`]'s callers through `heap_bytes`.
pub const ALLOC_OVERHEAD: usize = 16;

struct Slot<V> {
    value: V,
    /// Tells this key's live queue entry from stale ones left by an earlier life of the key.
    seq: u32,
    /// `value.last_used()` when the entry was (re)queued: used since, if it is later now.
    queued_at: u32,
    /// Accounted bytes.
    weight: usize,
}

struct Shard<V> {
    map: HashMap<u64, Slot<V>, BuildHasherDefault<PassThrough>>,
    queue: VecDeque<(u64, u32)>,
    bytes: usize,
    next_seq: u32,
}

/// See the module documentation.
pub struct CappedMap<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    shard_budget: usize,
    /// `store` label of the metrics.
    store: &'static str,
    len: AtomicUsize,
    bytes: AtomicUsize,
    evicted: AtomicU64,
}

/// Accounted bytes of one entry whose value owns `heap` bytes: the table slot at the table's
/// maximum load (7/8) with its control byte, and the queue entry.
fn entry_bytes<V>(heap: usize) -> usize {
    let slot = size_of::<(u64, Slot<V>)>() + 1;
    slot * 8 / 7 + size_of::<(u64, u32)>() + heap
}

impl<V: Default + Weigh> CappedMap<V> {
    /// An empty map holding at most about `max_bytes` (at least one entry per shard).
    pub fn new(max_bytes: usize, store: &'static str) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::default(),
                        queue: VecDeque::new(),
                        bytes: 0,
                        next_seq: 0,
                    })
                })
                .collect(),
            shard_budget: max_bytes / SHARDS,
            store,
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    fn shard_of(key: u64) -> usize {
        // Keys are keyed hashes already; the multiply (Fibonacci hashing) spreads any other key
        // too, and the top bits it takes are independent of the table's own use of the key.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARDS.trailing_zeros())) as usize
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard<V>> {
        self.shards[shard].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the value of `key` (a default one if absent), then re-weighs it and evicts
    /// other entries of its shard while the shard is over its share of the budget.
    pub fn update<R>(&self, key: u64, f: impl FnOnce(&mut V) -> R) -> R {
        let shard = Self::shard_of(key);
        let mut s = self.lock(shard);
        let s = &mut *s;
        let mut new = false;
        let slot = match s.map.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                new = true;
                let seq = s.next_seq;
                s.next_seq = s.next_seq.wrapping_add(1);
                s.queue.push_back((key, seq));
                self.len.fetch_add(1, Ordering::Relaxed);
                let value = V::default();
                e.insert(Slot {
                    queued_at: value.last_used(),
                    value,
                    seq,
                    weight: 0,
                })
            }
        };
        let result = f(&mut slot.value);
        if new {
            // Queued by this use: not "used since it was queued".
            slot.queued_at = slot.value.last_used();
        }
        let weight = entry_bytes::<V>(slot.value.heap_bytes());
        let before = slot.weight;
        slot.weight = weight;
        s.bytes = s.bytes + weight - before;
        if weight >= before {
            self.bytes.fetch_add(weight - before, Ordering::Relaxed);
        } else {
            self.bytes.fetch_sub(before - weight, Ordering::Relaxed);
        }
        if s.bytes > self.shard_budget {
            self.evict(s, key);
        }
        result
    }

    /// Evicts from `s` until it fits its share, sparing `keep`.
    fn evict(&self, s: &mut Shard<V>, keep: u64) {
        let mut second_chances = 0;
        let mut evicted = 0u64;
        while s.bytes > self.shard_budget {
            let Some((key, seq)) = s.queue.pop_front() else {
                break;
            };
            let Some(slot) = s.map.get_mut(&key).filter(|slot| slot.seq == seq) else {
                continue; // stale: the key left, or came back with a new queue entry
            };
            if key == keep {
                s.queue.push_back((key, seq));
                if s.queue.len() == 1 {
                    break; // the only entry: a share smaller than one entry
                }
                continue;
            }
            let used = slot.value.last_used();
            if used > slot.queued_at && second_chances < MAX_SECOND_CHANCES {
                second_chances += 1;
                slot.queued_at = used;
                s.queue.push_back((key, seq));
                continue;
            }
            let weight = slot.weight;
            s.map.remove(&key);
            s.bytes -= weight;
            self.bytes.fetch_sub(weight, Ordering::Relaxed);
            self.len.fetch_sub(1, Ordering::Relaxed);
            evicted += 1;
        }
        if evicted > 0 {
            self.evicted.fetch_add(evicted, Ordering::Relaxed);
            metrics::counter!(telemetry::STATE_EVICTIONS, "store" => self.store, "cause" => "size")
                .increment(evicted);
            self.publish();
        }
    }

    /// Reads the value of `key`, if present (does not count as a use).
    pub fn read<R>(&self, key: u64, f: impl FnOnce(&V) -> R) -> Option<R> {
        self.lock(Self::shard_of(key))
            .map
            .get(&key)
            .map(|slot| f(&slot.value))
    }

    /// Removes the entries of one shard that `keep` refuses; returns how many. Sweeping shard by
    /// shard ([`CappedMap::shards`]) holds each lock for one shard's work only.
    pub fn retain_shard(&self, shard: usize, mut keep: impl FnMut(&V) -> bool) -> usize {
        let mut s = self.lock(shard);
        let s = &mut *s;
        let before = s.map.len();
        let mut freed = 0;
        s.map.retain(|_, slot| {
            let k = keep(&slot.value);
            if !k {
                freed += slot.weight;
            }
            k
        });
        let map = &s.map;
        s.queue
            .retain(|(key, seq)| map.get(key).is_some_and(|slot| slot.seq == *seq));
        if s.map.capacity() > 4 * s.map.len().max(64) {
            s.map.shrink_to_fit();
            s.queue.shrink_to_fit();
        }
        s.bytes -= freed;
        self.bytes.fetch_sub(freed, Ordering::Relaxed);
        let removed = before - s.map.len();
        self.len.fetch_sub(removed, Ordering::Relaxed);
        removed
    }

    /// How many shards ([`CappedMap::retain_shard`]).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Accounted bytes of all entries.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The budget.
    pub fn max_bytes(&self) -> usize {
        self.shard_budget * self.shards.len()
    }

    /// Entries evicted for room since the map was made.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Publishes the accounted bytes (`riskgate_state_bytes{store}`): after evictions, and by the
    /// owner's sweep.
    pub fn publish(&self) {
        metrics::gauge!(telemetry::STATE_BYTES, "store" => self.store).set(self.bytes() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value that owns `heap` bytes and was last used at `at`.
    #[derive(Default)]
    struct V {
        heap: usize,
        at: u32,
    }

    impl Weigh for V {
        fn heap_bytes(&self) -> usize {
            self.heap
        }
        fn last_used(&self) -> u32 {
            self.at
        }
    }

    fn key(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn a_flood_of_new_keys_stays_within_the_budget() {
        let m: CappedMap<V> = CappedMap::new(1 << 20, "test");
        for i in 0..200_000u64 {
            m.update(key(i), |v| {
                v.heap = 100;
                v.at = i as u32;
            });
            assert!(m.bytes() <= m.max_bytes(), "{} at {i}", m.bytes());
        }
        let per_entry = entry_bytes::<V>(100);
        assert!(m.len() <= (1 << 20) / per_entry, "{}", m.len());
        assert!(m.len() > (1 << 20) / per_entry * 9 / 10, "{}", m.len());
        assert_eq!(m.evicted() as usize + m.len(), 200_000);
    }

    #[test]
    fn recently_used_keys_survive_a_flood() {
        let m: CappedMap<V> = CappedMap::new(1 << 20, "test");
        let hot: Vec<u64> = (0..64).map(|i| key(1_000_000 + i)).collect();
        for t in 0..50_000u32 {
            let now = 10 + t;
            m.update(key(u64::from(t)), |v| v.at = now);
            // Every hot key is used again every 100 new keys.
            let h = hot[(t % 100) as usize % hot.len()];
            if t % 100 < 64 {
                m.update(h, |v| v.at = now);
            }
        }
        let survivors = hot.iter().filter(|k| m.read(**k, |_| ()).is_some()).count();
        assert_eq!(survivors, hot.len());
        assert!(m.evicted() > 30_000);
    }

    #[test]
    fn a_key_used_at_every_update_survives_even_when_new_keys_share_its_clock_tick() {
        // Coarse clock (many updates per tick), as velocity's seconds are under load.
        let m: CappedMap<V> = CappedMap::new(256 * 1024, "test");
        let hot = key(u64::MAX);
        for i in 0..100_000u64 {
            let now = 1 + (i / 50) as u32;
            m.update(key(i), |v| v.at = now);
            m.update(hot, |v| v.at = now);
        }
        assert!(m.read(hot, |_| ()).is_some());
        assert!(m.evicted() > 90_000);
    }

    #[test]
    fn growing_values_are_reweighed_and_sweeps_free_their_bytes() {
        let m: CappedMap<V> = CappedMap::new(64 << 20, "test");
        m.update(key(1), |v| v.heap = 10);
        let small = m.bytes();
        m.update(key(1), |v| v.heap = 1000);
        assert_eq!(m.bytes(), small + 990);
        for i in 2..1000 {
            m.update(key(i), |v| v.at = i as u32);
        }
        let removed: usize = (0..m.shards())
            .map(|s| m.retain_shard(s, |v| v.at >= 500))
            .sum();
        // Key 1 (used at 0) and keys 2..500 go; 500..1000 stay.
        assert_eq!(removed, 499);
        assert_eq!(m.len(), 500);
        assert_eq!(m.bytes(), 500 * entry_bytes::<V>(0));
        // Stale queue entries were dropped with their keys.
        let queued: usize = m.shards.iter().map(|s| s.lock().unwrap().queue.len()).sum();
        assert_eq!(queued, 500);
    }

    #[test]
    fn the_key_being_updated_is_never_evicted() {
        // A budget smaller than one entry per shard: each shard keeps its newest key.
        let m: CappedMap<V> = CappedMap::new(SHARDS, "test");
        for i in 0..1000 {
            let present = m.update(key(i), |v| {
                v.heap = 64;
                true
            });
            assert!(present && m.read(key(i), |_| ()).is_some());
        }
        assert!(m.len() <= SHARDS);
    }
}
