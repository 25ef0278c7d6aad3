//! A sharded in-process map with a byte budget: what every in-process store that keeps one record
//! per key a caller chooses (a card, an email, an evaluation) uses, so that no flood of new keys can
//! grow memory without bound.
//!
//! - **Keys** are 64-bit keyed hashes (`src/enrich/keys.rs`): uniformly spread over the shards,
//!   and unpredictable to a caller, so nobody can aim a flood at one shard. They are used as they
//!   are, with no second hash ([`PassThrough`]).
//! - **Budget**: each shard's bytes stay within its share of `max_bytes` (split evenly over the
//!   shards). A shard's bytes are its hash table and its queue as allocated — spare room included,
//!   read from the table itself (`allocation_size`) and the queue's capacity, so exact — plus the
//!   heap blocks its values own ([`Weigh::heap_bytes`]: the allocator's size classes and its
//!   measured overhead per block, [`heap_block`]). Tables grow by doubling: before a new key would make a table (or the queue)
//!   double past the share, entries are evicted to make room in the table it has, so the doubling
//!   happens only when the doubled table fits. README gives measured figures.
//! - **Eviction**: when an update takes a shard over its share, entries go least recently used
//!   first, approximately (CLOCK, the second-chance algorithm): entries wait in a FIFO queue; one
//!   used since it was queued goes to the back once, one not used since goes. Evictions are
//!   counted in `riskgate_state_evictions_total{store, cause="size"}` and the bytes published in
//!   `riskgate_state_bytes{store}`. The entry being updated is never the one evicted, so a shard
//!   holds at least one entry whatever its share.
//! - **Locks**: one `std` mutex per shard, held only for in-memory work of one key (or one shard's
//!   sweep): never across I/O or an `.await`.

use std::{
    collections::VecDeque,
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
    /// Bytes the value owns on the heap (not its inline size, which the map counts): the sum of
    /// [`heap_block`] over its allocations.
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

/// What the allocator spends beside each block of a churning map, on average: page metadata,
/// partly filled pages, freed blocks not yet reused. Measured with `velocity_memory`: without it
/// the counted bytes fell ~10% short of the RSS growth (331 vs 300 bytes per key, one run).
pub const BLOCK_OVERHEAD: usize = 16;

/// Bytes a heap block of `len` bytes takes from the allocator: its size class in mimalloc (the
/// server's allocator, `crates/riskgate-cli`: 16-byte steps up to 64 bytes, then four classes per
/// doubling, so a 1,332-byte block takes 1,536), plus [`BLOCK_OVERHEAD`]. What
/// [`Weigh::heap_bytes`] adds up per block.
pub const fn heap_block(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let words = len.div_ceil(8);
    let class = if words <= 1 {
        words
    } else if words <= 8 {
        words.div_ceil(2) * 2
    } else {
        let w = words - 1;
        let shift = (usize::BITS - 1 - w.leading_zeros()) - 2;
        ((w >> shift) + 1) << shift
    };
    class * 8 + BLOCK_OVERHEAD
}

struct Slot<V> {
    value: V,
    /// Tells this key's live queue entry from stale ones left by an earlier life of the key.
    seq: u32,
    /// `value.last_used()` when the entry was (re)queued: used since, if it is later now.
    queued_at: u32,
    /// The value's heap bytes, as last weighed.
    heap: usize,
}

struct Shard<V> {
    map: hashbrown::HashMap<u64, Slot<V>, BuildHasherDefault<PassThrough>>,
    queue: VecDeque<(u64, u32)>,
    /// Heap bytes of the values.
    heap: usize,
    /// What this shard last added to the map's total ([`CappedMap::settle`]).
    counted: usize,
    next_seq: u32,
}

/// Entries a table of `buckets` buckets holds before it must grow (hashbrown keeps one bucket in
/// eight free, one in small tables).
fn full_capacity(buckets: usize) -> usize {
    if buckets <= 8 {
        buckets.saturating_sub(1)
    } else {
        buckets / 8 * 7
    }
}

impl<V> Shard<V> {
    /// Bytes of one bucket: the entry and its control byte.
    const BUCKET: usize = size_of::<(u64, Slot<V>)>() + 1;
    const QUEUED: usize = size_of::<(u64, u32)>();

    fn queue_bytes(&self) -> usize {
        self.queue.capacity() * Self::QUEUED
    }

    /// The shard's bytes: table and queue as allocated, and the values' heap.
    fn bytes(&self) -> usize {
        self.heap + self.map.allocation_size() + self.queue_bytes()
    }

    /// The shard's bytes once one more key is inserted, if that insert would reallocate the table
    /// or the queue (both double); `None` if it fits in what they have.
    fn bytes_if_insert_grows(&self) -> Option<usize> {
        let table = self.map.allocation_size();
        // `capacity()` is the entries that fit before the table must grow or be rehashed (free
        // buckets, not those left as tombstones by removals). When it is reached, hashbrown
        // rehashes in place if at most half the table's full capacity is in use, else doubles
        // it. The allocation is `buckets × BUCKET` plus one SIMD group of control bytes (< one
        // bucket), so the division gives the bucket count.
        let table_grows = table > 0
            && self.map.len() >= self.map.capacity()
            && self.map.len() + 1 > full_capacity(table / Self::BUCKET) / 2;
        let queue_grows = self.queue.capacity() > 0 && self.queue.len() == self.queue.capacity();
        if !table_grows && !queue_grows {
            return None;
        }
        let table = if table_grows { 2 * table } else { table };
        let queue = if queue_grows { 2 } else { 1 } * self.queue_bytes();
        Some(self.heap + table + queue)
    }
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

impl<V: Default + Weigh> CappedMap<V> {
    /// An empty map holding at most `max_bytes` (but at least one entry per shard).
    pub fn new(max_bytes: usize, store: &'static str) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: hashbrown::HashMap::default(),
                        queue: VecDeque::new(),
                        heap: 0,
                        counted: 0,
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

    /// Brings the map's total up to date with shard `s`.
    fn settle(&self, s: &mut Shard<V>) {
        let now = s.bytes();
        if now >= s.counted {
            self.bytes.fetch_add(now - s.counted, Ordering::Relaxed);
        } else {
            self.bytes.fetch_sub(s.counted - now, Ordering::Relaxed);
        }
        s.counted = now;
    }

    /// Runs `f` on the value of `key` (a default one if absent), then re-weighs it and evicts
    /// other entries of its shard while the shard is over its share of the budget. A new key is
    /// given room first when inserting it would double the table past the share.
    pub fn update<R>(&self, key: u64, f: impl FnOnce(&mut V) -> R) -> R {
        let shard = Self::shard_of(key);
        let mut s = self.lock(shard);
        let s = &mut *s;
        let budget = self.shard_budget;
        let new = !s.map.contains_key(&key);
        if new && s.bytes_if_insert_grows().is_some_and(|b| b > budget) {
            self.evict(s, key, true);
        }
        let slot = match s.map.entry(key) {
            hashbrown::hash_map::Entry::Occupied(e) => e.into_mut(),
            hashbrown::hash_map::Entry::Vacant(e) => {
                let seq = s.next_seq;
                s.next_seq = s.next_seq.wrapping_add(1);
                s.queue.push_back((key, seq));
                self.len.fetch_add(1, Ordering::Relaxed);
                let value = V::default();
                e.insert(Slot {
                    queued_at: value.last_used(),
                    value,
                    seq,
                    heap: 0,
                })
            }
        };
        let result = f(&mut slot.value);
        if new {
            // Queued by this use: not "used since it was queued".
            slot.queued_at = slot.value.last_used();
        }
        let heap = slot.value.heap_bytes();
        s.heap = s.heap + heap - slot.heap;
        slot.heap = heap;
        if s.bytes() > budget {
            self.evict(s, key, false);
        }
        self.settle(s);
        result
    }

    /// Evicts from `s` until it fits its share (and, with `for_insert`, until one more key can be
    /// inserted without growing past it), sparing `keep`.
    fn evict(&self, s: &mut Shard<V>, keep: u64, for_insert: bool) {
        let mut second_chances = 0;
        let mut evicted = 0u64;
        let budget = self.shard_budget;
        while s.bytes() > budget
            || (for_insert && s.bytes_if_insert_grows().is_some_and(|b| b > budget))
        {
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
            let heap = slot.heap;
            s.map.remove(&key);
            s.heap -= heap;
            self.len.fetch_sub(1, Ordering::Relaxed);
            evicted += 1;
        }
        if evicted > 0 {
            self.evicted.fetch_add(evicted, Ordering::Relaxed);
            metrics::counter!(telemetry::STATE_EVICTIONS, "store" => self.store, "cause" => "size")
                .increment(evicted);
            self.settle(s);
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
                freed += slot.heap;
            }
            k
        });
        let map = &s.map;
        s.queue
            .retain(|(key, seq)| map.get(key).is_some_and(|slot| slot.seq == *seq));
        if s.map.allocation_size() / Shard::<V>::BUCKET > 4 * s.map.len().max(64) {
            s.map.shrink_to_fit();
            s.queue.shrink_to_fit();
        }
        s.heap -= freed;
        self.settle(s);
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

    /// Bytes of all shards: tables, queues and values (at most the budget, but for shards whose
    /// share is smaller than one entry).
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

    /// Publishes the bytes (`riskgate_state_bytes{store}`): after evictions, and by the
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
        i.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The map's total, recomputed from its shards.
    fn shard_total(m: &CappedMap<V>) -> usize {
        m.shards.iter().map(|s| s.lock().unwrap().bytes()).sum()
    }

    #[test]
    fn tables_do_not_grow_past_the_budget() {
        let m: CappedMap<V> = CappedMap::new(4 << 20, "test");
        for i in 0..300_000u64 {
            m.update(key(i), |v| v.at = i as u32);
        }
        for s in m.shards.iter() {
            let s = s.lock().unwrap();
            assert!(
                s.bytes() <= m.shard_budget,
                "{} > {}",
                s.bytes(),
                m.shard_budget
            );
            // A table doubles whenever the doubled table fits: one that stayed small has no room.
            let doubled = s.heap + 2 * s.map.allocation_size() + 2 * s.queue_bytes();
            assert!(doubled > m.shard_budget, "{doubled} would have fit");
            // And tables fill up to their load factor before evicting, not half empty.
            assert!(
                s.map.len() * 2 > s.map.capacity(),
                "{} of {}",
                s.map.len(),
                s.map.capacity()
            );
        }
        assert!(m.bytes() > m.max_bytes() / 2, "{}", m.bytes());
        assert_eq!(m.bytes(), shard_total(&m));
    }

    #[test]
    fn heap_blocks_are_weighed_in_the_allocators_size_classes() {
        let classes: Vec<usize> = [1, 8, 9, 16, 17, 36, 64, 65, 80, 81, 129, 1332, 4096]
            .into_iter()
            .map(|len| heap_block(len) - BLOCK_OVERHEAD)
            .collect();
        assert_eq!(
            classes,
            [8, 8, 16, 16, 32, 48, 64, 80, 80, 96, 160, 1536, 4096]
        );
        assert_eq!(heap_block(0), 0);
    }

    /// Evictions are counted in `riskgate_state_evictions_total{store, cause="size"}` and the
    /// bytes published in `riskgate_state_bytes{store}`, as the map counts them.
    #[test]
    fn evictions_and_bytes_are_published() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let m: CappedMap<V> = CappedMap::new(256 << 10, "test");
        metrics::with_local_recorder(&recorder, || {
            for i in 0..20_000u64 {
                m.update(key(i), |v| v.at = i as u32);
            }
            m.publish();
        });
        let text = handle.render();
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {series} in {text}"))
        };
        let evicted = value("riskgate_state_evictions_total{store=\"test\",cause=\"size\"}");
        assert!(m.evicted() > 10_000, "{}", m.evicted());
        assert_eq!(evicted, m.evicted() as f64);
        assert_eq!(m.evicted() as usize + m.len(), 20_000);
        let bytes = value("riskgate_state_bytes{store=\"test\"}");
        assert_eq!(bytes, m.bytes() as f64);
        assert!(bytes <= (256 << 10) as f64);
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
        // Each entry's heap is counted in its size class; the tables take the rest.
        assert!(m.len() * heap_block(100) <= 1 << 20, "{}", m.len());
        assert!(m.len() > (1 << 20) / (heap_block(100) + 128), "{}", m.len());
        assert_eq!(m.evicted() as usize + m.len(), 200_000);
        assert_eq!(m.bytes(), shard_total(&m));
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
        m.update(key(1), |v| v.heap = heap_block(10));
        let small = m.bytes();
        m.update(key(1), |v| v.heap = heap_block(1000));
        assert_eq!(m.bytes(), small + heap_block(1000) - heap_block(10));
        for i in 2..1000 {
            m.update(key(i), |v| v.at = i as u32);
        }
        let removed: usize = (0..m.shards())
            .map(|s| m.retain_shard(s, |v| v.at >= 500))
            .sum();
        // Key 1 (used at 0) and keys 2..500 go; 500..1000 stay.
        assert_eq!(removed, 499);
        assert_eq!(m.len(), 500);
        assert_eq!(m.bytes(), shard_total(&m));
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
