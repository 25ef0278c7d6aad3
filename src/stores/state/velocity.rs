//! In-process velocity counters: one small record per key (card, email, IP …), in a sharded
//! concurrent map.
//!
//! ## Rolling windows
//! Each key keeps counters in time buckets whose width grows with age: 5-minute buckets for the last
//! hour, hourly buckets for the last day, daily buckets for the last week. Older buckets merge into
//! the coarser level when they leave a window, and daily buckets are dropped after a week (the
//! all-time counters are kept separately). A window's count is the sum of the buckets that overlap
//! it, so **a window never misses a payment inside it**, and may include payments up to one bucket
//! older than its length: the hourly window covers 60–65 minutes, the daily 24–25 hours, the weekly
//! 7–8 days. At most 13 + 25 + 8 buckets exist per key, so a hot key stays small.
//!
//! Distinct counts keep, per dimension, the 25 most recently seen values (a 30-bit hash and when it
//! was last seen): since the most recent 25 are kept, a window's count is exact up to the cap of 25
//! (hash collisions aside: about 1 in 10⁷ for 25 values).
//!
//! ## Memory
//! A key costs its table slot (8-byte hash + an 80-byte [`KeyState`] and the map's bookkeeping; tables
//! double, so 1–2 slots per key) and queue entry, plus one heap block per kind of data it has: 36
//! bytes per bucket and 8 bytes per distinct value, in allocator size classes ([`heap_block`]).
//! `cargo run --release --example velocity_memory` measures it (README: figures). Keys idle for
//! longer than the configured expiry are removed by [`VelocityStore::sweep`]; all of it stays
//! within `enrichment.velocity_max_bytes`, least recently seen keys evicted first ([`CappedMap`]).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::stores::capped::{CappedMap, Weigh, heap_block};

use riskgate_core::signals::{
    Counter, DISTINCT_CAP, Dim, KeyHistory, KeyKind, Velocity, WINDOW_SECS, WINDOWS,
};

/// Width of the buckets of each level, seconds.
const SPANS: [u32; 3] = [300, 3600, 86_400];
/// How long a bucket stays at its level after it ends: the window the level serves.
const LEVEL_WINDOW: [u32; 3] = [3600, 86_400, 7 * 86_400];

/// Counts in one time bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bucket {
    /// Unix seconds, aligned to the level's span.
    pub(super) start: u32,
    pub(super) level: u8,
    pub(super) counts: [u32; Counter::COUNT],
}

/// A distinct value: a dimension tag (top 2 bits) and a 30-bit hash, and when it was last seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Seen {
    pub(super) tagged: u32,
    pub(super) at: u32,
}

pub(super) const fn tag(dim: Dim, hash: u32) -> u32 {
    ((dim as u32) << 30) | (hash & 0x3fff_ffff)
}

/// Bucket levels (5-minute, hourly, daily).
pub(super) const LEVELS: usize = SPANS.len();

/// One change of a key: what an evaluation, a block or an outcome report does to it. The in-process
/// store applies it at once; the Redis backend appends it to the key's record and replays it when
/// the record is read ([`KeyState::replay`]), so both keep the same state by construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Event {
    /// Unix seconds.
    pub(super) at: u32,
    pub(super) counter: Counter,
    /// The USD sum it adds to (0 charged, 1 successful, 2 failed), if any.
    pub(super) usd_slot: Option<u8>,
    pub(super) usd: f32,
    /// Distinct values seen ([`tag`]ged), in the order of the key kind's dimensions, first.
    pub(super) seen: [Option<u32>; 3],
}

impl Event {
    /// An evaluated payment on a key of `kind`: a total charge, its amount and its distinct values.
    pub(super) fn payment(kind: KeyKind, attempt: &Attempt, now: u32) -> Self {
        let mut seen = [None; 3];
        let values = kind
            .dims()
            .iter()
            .filter_map(|&dim| attempt.dims[dim as usize].map(|h| tag(dim, h)));
        for (slot, t) in seen.iter_mut().zip(values) {
            *slot = Some(t);
        }
        Self {
            at: now,
            counter: Counter::Total,
            usd_slot: Some(0),
            usd: attempt.usd as f32,
            seen,
        }
    }

    /// An outcome or a block: `counter` once, `usd` added to the successful (authorized) or failed
    /// (blocked, declined) amount.
    pub(super) fn outcome(counter: Counter, usd: f64, now: u32) -> Self {
        let usd_slot = match counter {
            Counter::Authorized => Some(1),
            Counter::Blocked | Counter::Declined => Some(2),
            _ => None,
        };
        Self {
            at: now,
            counter,
            usd_slot,
            usd: usd as f32,
            seen: [None; 3],
        }
    }
}

/// When a bucket starting at `start` leaves the window of `level` (in u64: a start read from
/// Redis may be anything).
fn window_end(start: u32, level: usize) -> u64 {
    u64::from(start) + u64::from(SPANS[level]) + u64::from(LEVEL_WINDOW[level])
}

const fn dim_of(tagged: u32) -> u32 {
    tagged >> 30
}

/// What one key remembers.
#[derive(Debug, Clone, Default)]
pub struct KeyState {
    pub(super) first_seen: u32,
    pub(super) last_seen: u32,
    pub(super) all_time: [u32; Counter::COUNT],
    /// USD charged, successful, failed.
    pub(super) usd: [f32; 3],
    pub(super) buckets: Box<[Bucket]>,
    pub(super) distinct: Box<[Seen]>,
}

fn push<T: Copy>(slice: &mut Box<[T]>, item: T) {
    let mut v = std::mem::take(slice).into_vec();
    v.reserve_exact(1);
    v.push(item);
    *slice = v.into_boxed_slice();
}

impl KeyState {
    /// What a key of `kind` looked like before a payment at `now` (buckets that left their window
    /// merged first): its history and whether it had seen the payment's distinct values.
    pub(super) fn before(&mut self, kind: KeyKind, attempt: &Attempt, now: u32) -> KeyHistory {
        self.compact(now);
        let mut history = self.history(now);
        for &dim in kind.dims() {
            if let Some(h) = attempt.dims[dim as usize] {
                history.seen_before[dim as usize] = self.has_seen(dim, h);
            }
        }
        history
    }

    /// Applies `event` after merging buckets that left their window by its time: what every
    /// lookup and record does after reading, and what reading a Redis record does per event.
    pub(super) fn replay(&mut self, event: &Event) {
        self.compact(event.at);
        self.apply(event);
    }

    fn apply(&mut self, e: &Event) {
        self.touch(e.at);
        self.count(e.counter, e.at);
        if let Some(slot) = e.usd_slot {
            self.usd[usize::from(slot)] += e.usd;
        }
        for t in e.seen.iter().flatten() {
            self.see_tagged(*t, e.at);
        }
    }

    /// Merges buckets that left their level's window into the next level (or drops them).
    pub(super) fn compact(&mut self, now: u32) {
        let needs = self
            .buckets
            .iter()
            .any(|b| window_end(b.start, usize::from(b.level)) <= u64::from(now));
        if !needs {
            return;
        }
        let mut v: Vec<Bucket> = Vec::with_capacity(self.buckets.len());
        for b in self.buckets.iter() {
            let mut b = *b;
            loop {
                let level = usize::from(b.level);
                if window_end(b.start, level) > u64::from(now) {
                    break;
                }
                if level + 1 == SPANS.len() {
                    b.level = u8::MAX;
                    break;
                }
                b.level += 1;
                b.start -= b.start % SPANS[level + 1];
            }
            if b.level == u8::MAX {
                continue;
            }
            match v
                .iter_mut()
                .find(|o| o.level == b.level && o.start == b.start)
            {
                Some(o) => {
                    for (x, y) in o.counts.iter_mut().zip(b.counts) {
                        *x = x.saturating_add(y);
                    }
                }
                None => v.push(b),
            }
        }
        self.buckets = v.into_boxed_slice();
    }

    /// The history as of `now`, before anything is recorded.
    fn history(&self, now: u32) -> KeyHistory {
        let mut h = KeyHistory::default();
        for b in self.buckets.iter() {
            // After compaction every bucket of level l overlaps the windows of levels ≥ l.
            for w in usize::from(b.level)..3 {
                for (c, n) in b.counts.iter().enumerate() {
                    h.counts[c][w] = h.counts[c][w].saturating_add(*n);
                }
            }
        }
        for (c, n) in self.all_time.iter().enumerate() {
            h.counts[c][3] = *n;
        }
        for s in self.distinct.iter() {
            let d = dim_of(s.tagged) as usize;
            for (w, secs) in WINDOW_SECS.iter().enumerate() {
                let inside = secs.is_none_or(|secs| i64::from(now) - i64::from(s.at) < secs);
                if inside && h.distinct[d][w] < DISTINCT_CAP {
                    h.distinct[d][w] += 1;
                }
            }
        }
        [h.usd_charged, h.usd_successful, h.usd_failed] = self.usd.map(f64::from);
        if self.last_seen != 0 {
            h.seconds_since_first_seen = Some(u64::from(now.saturating_sub(self.first_seen)));
        }
        h
    }

    fn count(&mut self, counter: Counter, now: u32) {
        let c = counter as usize;
        self.all_time[c] = self.all_time[c].saturating_add(1);
        let start = now - now % SPANS[0];
        match self
            .buckets
            .iter_mut()
            .find(|b| b.level == 0 && b.start == start)
        {
            Some(b) => b.counts[c] = b.counts[c].saturating_add(1),
            None => {
                let mut counts = [0; Counter::COUNT];
                counts[c] = 1;
                push(
                    &mut self.buckets,
                    Bucket {
                        start,
                        level: 0,
                        counts,
                    },
                );
            }
        }
    }

    fn see_tagged(&mut self, t: u32, now: u32) {
        let dim = dim_of(t);
        if let Some(s) = self.distinct.iter_mut().find(|s| s.tagged == t) {
            s.at = now;
            return;
        }
        let same_dim = self
            .distinct
            .iter()
            .filter(|s| dim_of(s.tagged) == dim)
            .count();
        if same_dim >= usize::from(DISTINCT_CAP) {
            // Replace the least recently seen value of this dimension.
            if let Some(oldest) = self
                .distinct
                .iter_mut()
                .filter(|s| dim_of(s.tagged) == dim)
                .min_by_key(|s| s.at)
            {
                *oldest = Seen { tagged: t, at: now };
            }
            return;
        }
        push(&mut self.distinct, Seen { tagged: t, at: now });
    }

    /// Whether `hash` is among the distinct values of `dim` the key keeps.
    fn has_seen(&self, dim: Dim, hash: u32) -> bool {
        let t = tag(dim, hash);
        self.distinct.iter().any(|s| s.tagged == t)
    }

    fn touch(&mut self, now: u32) {
        if self.last_seen == 0 {
            self.first_seen = now;
        }
        self.last_seen = self.last_seen.max(now);
    }
}

/// One payment as the counters see it: its keys, the values counted distinctly and its amount.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempt {
    /// A 64-bit hash of each key's normalized value (`None`: the payment has no such key).
    pub keys: [Option<u64>; KeyKind::COUNT],
    /// A hash of each distinct-counted value.
    pub dims: [Option<u32>; Dim::COUNT],
    /// The amount in USD (0 when the currency has no rate).
    pub usd: f64,
}

impl Weigh for KeyState {
    fn heap_bytes(&self) -> usize {
        heap_block(self.buckets.len() * size_of::<Bucket>())
            + heap_block(self.distinct.len() * size_of::<Seen>())
    }

    fn last_used(&self) -> u32 {
        self.last_seen
    }
}

/// The in-process counters: one [`KeyState`] per key in a [`CappedMap`], so a flood of new cards,
/// emails or IPs evicts the least recently seen keys (counted in
/// `riskgate_state_evictions_total{store="velocity"}`) instead of growing memory.
pub struct VelocityStore {
    map: CappedMap<KeyState>,
    swept: AtomicU64,
}

impl Default for VelocityStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BYTES)
    }
}

/// The default budget (`enrichment.velocity_max_bytes`): 256 MiB, about 0.66 M active keys.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024 * 1024;

/// Unix seconds as the counters keep them.
pub(super) fn secs(now: i64) -> u32 {
    u32::try_from(now.max(1)).unwrap_or(u32::MAX)
}

impl VelocityStore {
    /// Counters within `max_bytes` (accounted; see [`CappedMap`]).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            map: CappedMap::new(max_bytes, "velocity"),
            swept: AtomicU64::new(0),
        }
    }

    /// Reads the history of every key of `attempt` as it was before it, then counts it (a total
    /// charge, its amount and its distinct values). Each key is read and updated under one lock, so
    /// concurrent payments each see the others exactly once or not at all.
    pub fn lookup_and_record(&self, attempt: &Attempt, now: i64) -> Velocity {
        let now = secs(now);
        let mut velocity = Velocity::default();
        for kind in KeyKind::ALL {
            let Some(key) = attempt.keys[kind as usize] else {
                continue;
            };
            velocity.keys[kind as usize] = Some(self.map.update(key, |state| {
                let history = state.before(kind, attempt, now);
                state.apply(&Event::payment(kind, attempt, now));
                history
            }));
        }
        velocity
    }

    /// Counts `counter` once for each of `keys` (an outcome, or a block), with `usd` added to the
    /// successful (authorized) or failed (blocked, declined) amount.
    pub fn record(&self, keys: &[Option<u64>], counter: Counter, usd: f64, now: i64) {
        let event = Event::outcome(counter, usd, secs(now));
        for key in keys.iter().flatten() {
            self.map.update(*key, |state| state.replay(&event));
        }
    }

    /// Removes keys not seen for `idle_secs`, one shard at a time (each shard's lock is held for
    /// that shard only, so evaluations wait at most one shard's sweep). Blocking work: run it off
    /// the async runtime. Returns how many were removed.
    pub fn sweep(&self, now: i64, idle_secs: u64) -> usize {
        let cutoff = i64::from(secs(now)) - i64::try_from(idle_secs).unwrap_or(i64::MAX);
        let removed: usize = (0..self.map.shards())
            .map(|shard| {
                self.map
                    .retain_shard(shard, |s| i64::from(s.last_seen) > cutoff)
            })
            .sum();
        self.swept.fetch_add(removed as u64, Ordering::Relaxed);
        self.map.publish();
        removed
    }

    /// Keys kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Accounted bytes of the kept keys (at most the budget).
    pub fn bytes(&self) -> usize {
        self.map.bytes()
    }

    /// Keys evicted for room.
    pub fn evicted(&self) -> u64 {
        self.map.evicted()
    }
}

/// Windows as indexes into `[_; WINDOWS]`.
pub const HOURLY: usize = 0;
pub const DAILY: usize = 1;
pub const WEEKLY: usize = 2;
pub const ALL_TIME: usize = WINDOWS - 1;

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_219_200; // 2026-11-21T00:00:00Z, aligned to every span

    fn card(n: u64) -> Attempt {
        let mut a = Attempt::default();
        a.keys[KeyKind::Card as usize] = Some(1000 + n);
        a.keys[KeyKind::Ip as usize] = Some(7);
        a.dims[Dim::Card as usize] = Some(n as u32);
        a.usd = 10.0;
        a
    }

    fn total(v: &Velocity, kind: KeyKind, w: usize) -> u32 {
        v.key(kind).unwrap().count(Counter::Total, w)
    }

    #[test]
    fn the_current_payment_is_excluded() {
        let s = VelocityStore::default();
        let first = s.lookup_and_record(&card(1), T0);
        assert_eq!(total(&first, KeyKind::Card, HOURLY), 0);
        assert_eq!(
            first.key(KeyKind::Card).unwrap().seconds_since_first_seen,
            None
        );
        for i in 1..6 {
            let v = s.lookup_and_record(&card(1), T0 + i);
            assert_eq!(total(&v, KeyKind::Card, HOURLY), i as u32);
            assert_eq!(total(&v, KeyKind::Card, ALL_TIME), i as u32);
        }
        let v = s.lookup_and_record(&card(1), T0 + 90);
        let h = v.key(KeyKind::Card).unwrap();
        assert_eq!(h.seconds_since_first_seen, Some(90));
        assert!((h.usd_charged - 60.0).abs() < 1e-6);
    }

    #[test]
    fn distinct_counts_are_capped_and_exclude_the_current_value() {
        let s = VelocityStore::default();
        for n in 0..3 {
            let v = s.lookup_and_record(&card(n), T0 + n as i64);
            assert_eq!(
                v.key(KeyKind::Ip).unwrap().distinct[Dim::Card as usize][HOURLY],
                n as u8
            );
        }
        // The same card again is not a new card.
        let v = s.lookup_and_record(&card(0), T0 + 10);
        assert_eq!(
            v.key(KeyKind::Ip).unwrap().distinct[Dim::Card as usize][HOURLY],
            3
        );
        for n in 3..40 {
            s.lookup_and_record(&card(n), T0 + 20 + n as i64);
        }
        let v = s.lookup_and_record(&card(99), T0 + 100);
        let d = v.key(KeyKind::Ip).unwrap().distinct[Dim::Card as usize];
        assert_eq!(d, [DISTINCT_CAP; WINDOWS]);
    }

    #[test]
    fn windows_roll_within_their_bucket_bound() {
        let s = VelocityStore::default();
        s.lookup_and_record(&card(1), T0);
        let at = |dt: i64| {
            let v = s.lookup_and_record(&card(2), T0 + dt);
            let h = v.key(KeyKind::Ip).unwrap();
            (h.counts[0], h.distinct[Dim::Card as usize])
        };
        // 59 minutes later: in every window.
        let (c, d) = at(59 * 60);
        assert_eq!(c, [1, 1, 1, 1]);
        assert_eq!(d, [1, 1, 1, 1]);
        // 66 minutes: out of the hourly window (bucket bound is 65 minutes), still daily.
        let (c, d) = at(66 * 60);
        assert_eq!(c, [1, 2, 2, 2]);
        assert_eq!(d[HOURLY], 1); // only card 2
        assert_eq!(d[DAILY], 2);
        // 25 hours: the first payment and the 59-minute probe left the daily window (the 66-minute
        // probe is in it).
        let (c, _) = at(25 * 3600 + 1);
        assert_eq!(c, [0, 1, 3, 3]);
        // 8 days: the first three left the weekly window; all time remembers them.
        let (c, d) = at(8 * 86_400 + 1);
        assert_eq!(c, [0, 0, 1, 4]);
        assert_eq!(d[WEEKLY], 1);
        assert_eq!(d[ALL_TIME], 2);
    }

    #[test]
    fn outcomes_count_and_idle_keys_expire() {
        let s = VelocityStore::default();
        let a = card(1);
        s.lookup_and_record(&a, T0);
        s.record(&a.keys, Counter::Blocked, 10.0, T0 + 1);
        s.record(&a.keys, Counter::Disputed, 0.0, T0 + 2);
        let v = s.lookup_and_record(&a, T0 + 3);
        let h = v.key(KeyKind::Card).unwrap();
        assert_eq!(h.count(Counter::Blocked, HOURLY), 1);
        assert_eq!(h.count(Counter::Disputed, ALL_TIME), 1);
        assert!((h.usd_failed - 10.0).abs() < 1e-6);
        assert_eq!(s.len(), 2);
        assert_eq!(s.sweep(T0 + 100, 3600), 0);
        assert_eq!(s.sweep(T0 + 3604, 3600), 2);
        assert!(s.is_empty());
    }

    /// Replaying a key's events (what the Redis backend does with a record's tail) gives the
    /// histories the store itself gives, payment after payment, with outcomes in between (some
    /// counted in the past).
    #[test]
    fn replayed_events_give_the_stores_histories() {
        let s = VelocityStore::default();
        let mut replayed = KeyState::default();
        let mut rng = fastrand::Rng::with_seed(6);
        let mut now = T0;
        for i in 0..3_000u32 {
            now += [7, 290, 3_700, 90_000][rng.usize(..4)] * i64::from(rng.u8(1..3));
            let mut a = card(rng.u64(0..40));
            a.keys = [None; KeyKind::COUNT];
            a.keys[KeyKind::Card as usize] = Some(1);
            a.dims[Dim::Email as usize] = Some(rng.u32(0..40));
            a.dims[Dim::Customer as usize] = rng.bool().then(|| rng.u32(0..3));
            let t = secs(now);
            if rng.u8(..5) == 0 {
                let counter =
                    [Counter::Blocked, Counter::Authorized, Counter::Disputed][rng.usize(..3)];
                let at = now - rng.i64(0..7_200);
                s.record(&a.keys, counter, 4.5, at);
                replayed.replay(&Event::outcome(counter, 4.5, secs(at)));
                continue;
            }
            let v = s.lookup_and_record(&a, now);
            let mut before = replayed.clone();
            let h = before.before(KeyKind::Card, &a, t);
            assert_eq!(
                format!("{h:?}"),
                format!("{:?}", v.key(KeyKind::Card).unwrap()),
                "payment {i}"
            );
            replayed.replay(&Event::payment(KeyKind::Card, &a, t));
        }
    }

    #[test]
    fn a_hot_key_stays_small() {
        let s = VelocityStore::default();
        for i in 0..20_000 {
            s.lookup_and_record(&card(i % 50), T0 + i as i64 * 37);
        }
        let (buckets, distinct) = s
            .map
            .read(7, |state| (state.buckets.len(), state.distinct.len()))
            .unwrap();
        assert!(buckets <= 13 + 25 + 8, "{buckets}");
        assert!(distinct <= usize::from(DISTINCT_CAP));
    }

    /// The store's clock is the `now` of each call (the server's injected clock): a card seen
    /// regularly keeps its history through a flood of new cards, one seen only before it is
    /// evicted, and a key evicted comes back as new.
    #[test]
    fn a_flood_evicts_the_least_recently_seen_cards_first() {
        let s = VelocityStore::new(1 << 20);
        let regular = card(1_000_000);
        let forgotten = card(2_000_000);
        s.lookup_and_record(&forgotten, T0);
        let mut regular_seen = 0;
        for n in 0..50_000 {
            // Ten payments a second, each with a new card; the regular card every 100th.
            let now = T0 + 1 + n as i64 / 10;
            s.lookup_and_record(&card(n), now);
            if n % 100 == 0 {
                s.lookup_and_record(&regular, now);
                regular_seen += 1;
            }
        }
        assert!(s.evicted() > 40_000, "{}", s.evicted());
        assert!(s.bytes() <= 1 << 20, "{}", s.bytes());
        let now = T0 + 5_002;
        let v = s.lookup_and_record(&regular, now);
        assert_eq!(total(&v, KeyKind::Card, ALL_TIME), regular_seen);
        let v = s.lookup_and_record(&forgotten, now);
        let h = v.key(KeyKind::Card).unwrap();
        assert_eq!(h.count(Counter::Total, ALL_TIME), 0);
        assert_eq!(h.seconds_since_first_seen, None);
    }

    #[test]
    fn a_flood_of_new_cards_is_bounded_and_counted() {
        let s = VelocityStore::new(4 << 20);
        for n in 0..100_000 {
            s.lookup_and_record(&card(n), T0 + n as i64 / 50);
        }
        assert!(s.bytes() <= 4 << 20, "{}", s.bytes());
        assert!(s.evicted() > 50_000, "{}", s.evicted());
        // The shared IP key, seen with every payment, is never the one to go.
        let v = s.lookup_and_record(&card(1), T0 + 3000);
        assert_eq!(total(&v, KeyKind::Ip, ALL_TIME), 100_000);
    }
}
