//! The `v3:` velocity record: a key's in-process [`KeyState`] serialized as a head, followed by an
//! append-only tail of fixed-size events ([`Event`]), read back by replaying the tail with the
//! in-process methods (so the Redis backend keeps what in-process state keeps, by construction).
//!
//! ```text
//! record = [head] event*
//! head   = 0xA3 0 0 0 | generation u32 | written at u32 | state length u32 | state
//! state  = first seen u32 | last seen u32 | counts (all time) | USD f32 × 3
//!          | buckets u16 | distinct values u16
//!          | (start u32, level u8, counts) per bucket | (tagged hash u32, at u32) per value
//! counts = a byte whose bit c says counter c is not 0, then those counts as protobuf (LEB128) varints
//! event  = 0xE3 | counter u8 | USD slot u8 (0xFF none) | values u8 | at u32 | USD f32
//!          | tagged hash u32 × 3 (unused ones 0)
//! ```
//!
//! Integers little-endian. A record made by `APPEND` alone (a key's first events) has no head: an
//! empty state. Redis content is untrusted input: anything that is not such a record (truncated,
//! garbage, a count out of range) is a [`StoreError::Internal`], never a panic.

use super::super::velocity::{Bucket, Event, KeyState, LEVELS, Seen};
use crate::stores::StoreError;
use riskgate_core::signals::{Counter, DISTINCT_CAP, Dim};

/// Bytes of one event.
pub(super) const EVENT_LEN: usize = 24;
const EVENT_TAG: u8 = 0xE3;
const HEAD_TAG: u8 = 0xA3;
/// Bytes of the head before the state.
const HEAD_LEN: usize = 16;
/// Bytes of a state with no counts, buckets or values.
const STATE_MIN: usize = 4 + 4 + 1 + 4 * 3 + 2 + 2;
const SEEN_LEN: usize = 8;
/// More buckets than a key can hold (13 + 25 + 8 in order; payments counted in the past add a few).
const MAX_BUCKETS: usize = 1024;
const MAX_DISTINCT: usize = Dim::COUNT * DISTINCT_CAP as usize;
const NO_SLOT: u8 = 0xFF;

/// A tail this long is folded into a new head: replaying it costs the reader more than the
/// compare-and-set costs Redis (a few µs), and it bounds a record's size.
pub(super) const COMPACT_EVENTS: usize = 32;
/// A head older than this is rewritten (with the tail folded in) and the key's idle expiry
/// pushed back: so the expiry moves at most once an hour per key, and a key may go up to an hour
/// before `enrichment.velocity_idle_expiry_secs` (at least 8 days).
pub(super) const REFRESH_SECS: u32 = 3600;

fn bad(what: &str) -> StoreError {
    StoreError::Internal(format!("velocity record on Redis: {what}"))
}

/// `event` as it is appended.
pub(super) fn encode_event(e: &Event) -> [u8; EVENT_LEN] {
    let mut b = [0u8; EVENT_LEN];
    b[0] = EVENT_TAG;
    b[1] = e.counter as u8;
    b[2] = e.usd_slot.unwrap_or(NO_SLOT);
    b[3] = e.seen.iter().flatten().count() as u8;
    b[4..8].copy_from_slice(&e.at.to_le_bytes());
    b[8..12].copy_from_slice(&e.usd.to_le_bytes());
    for (i, t) in e.seen.iter().flatten().enumerate() {
        b[12 + 4 * i..16 + 4 * i].copy_from_slice(&t.to_le_bytes());
    }
    b
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn decode_event(b: &[u8]) -> Result<Event, StoreError> {
    if b[0] != EVENT_TAG {
        return Err(bad("an event does not start with its tag"));
    }
    let counter = *Counter::ALL
        .get(usize::from(b[1]))
        .ok_or_else(|| bad("an event's counter is out of range"))?;
    let usd_slot = match b[2] {
        NO_SLOT => None,
        s @ 0..=2 => Some(s),
        _ => return Err(bad("an event's USD slot is out of range")),
    };
    let n = usize::from(b[3]);
    if n > 3 {
        return Err(bad("an event holds more than 3 distinct values"));
    }
    let mut seen = [None; 3];
    for (i, s) in seen.iter_mut().enumerate().take(n) {
        *s = Some(u32_at(b, 12 + 4 * i));
    }
    Ok(Event {
        at: u32_at(b, 4),
        counter,
        usd_slot,
        usd: f32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
        seen,
    })
}

/// What a head says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    /// Changes with every rewrite, so a compare-and-set sees a head replaced since it was read.
    pub(super) generation: u32,
    /// Unix seconds.
    pub(super) written_at: u32,
}

/// A record read back: the key's state with every event of its tail replayed.
#[derive(Debug)]
pub(super) struct Record {
    pub(super) state: KeyState,
    pub(super) head: Option<Head>,
    /// Events in the tail.
    pub(super) events: usize,
    /// The time of the tail's first event (a record without head is as old as it).
    pub(super) first_event_at: Option<u32>,
}

impl Record {
    /// Whether the record should be folded into a new head now ([`COMPACT_EVENTS`],
    /// [`REFRESH_SECS`]).
    pub(super) fn needs_compaction(&self, now: u32) -> bool {
        let since = self
            .head
            .map(|h| h.written_at)
            .or(self.first_event_at)
            .unwrap_or(now);
        self.events >= COMPACT_EVENTS || now.saturating_sub(since) >= REFRESH_SECS
    }

    /// The generation of the head that replaces this record's.
    pub(super) fn next_generation(&self) -> u32 {
        match self.head {
            Some(h) => h.generation.wrapping_add(1),
            None => fastrand::u32(..),
        }
    }
}

/// Reads a record (see the module doc); the state is as of its last event, not yet compacted to
/// any later time.
pub(super) fn decode(raw: &[u8]) -> Result<Record, StoreError> {
    let (state, head, tail) = match raw.first() {
        Some(&HEAD_TAG) => {
            if raw.len() < HEAD_LEN {
                return Err(bad("truncated head"));
            }
            let head = Head {
                generation: u32_at(raw, 4),
                written_at: u32_at(raw, 8),
            };
            let len = u32_at(raw, 12) as usize;
            let body = raw
                .get(HEAD_LEN..HEAD_LEN.saturating_add(len))
                .ok_or_else(|| bad("truncated state"))?;
            (
                decode_state(body)?,
                Some(head),
                &raw[HEAD_LEN + body.len()..],
            )
        }
        _ => (KeyState::default(), None, raw),
    };
    if !tail.len().is_multiple_of(EVENT_LEN) {
        return Err(bad("truncated event"));
    }
    let mut record = Record {
        state,
        head,
        events: tail.len() / EVENT_LEN,
        first_event_at: None,
    };
    for chunk in tail.chunks_exact(EVENT_LEN) {
        let e = decode_event(chunk)?;
        record.first_event_at.get_or_insert(e.at);
        record.state.replay(&e);
    }
    Ok(record)
}

fn put_counts(b: &mut Vec<u8>, counts: &[u32; Counter::COUNT]) {
    let mask = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n != 0)
        .fold(0u8, |m, (c, _)| m | 1 << c);
    b.push(mask);
    for &n in counts.iter().filter(|n| **n != 0) {
        prost::encoding::encode_varint(u64::from(n), b);
    }
}

/// A head holding `state` (the tail is appended after it).
pub(super) fn encode_head(state: &KeyState, generation: u32, written_at: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(
        HEAD_LEN + STATE_MIN + 12 * state.buckets.len() + SEEN_LEN * state.distinct.len(),
    );
    b.extend([HEAD_TAG, 0, 0, 0]);
    b.extend(generation.to_le_bytes());
    b.extend(written_at.to_le_bytes());
    b.extend([0; 4]); // the state's length, below
    b.extend(state.first_seen.to_le_bytes());
    b.extend(state.last_seen.to_le_bytes());
    put_counts(&mut b, &state.all_time);
    for x in state.usd {
        b.extend(x.to_le_bytes());
    }
    b.extend((state.buckets.len() as u16).to_le_bytes());
    b.extend((state.distinct.len() as u16).to_le_bytes());
    for k in state.buckets.iter() {
        b.extend(k.start.to_le_bytes());
        b.push(k.level);
        put_counts(&mut b, &k.counts);
    }
    for s in state.distinct.iter() {
        b.extend(s.tagged.to_le_bytes());
        b.extend(s.at.to_le_bytes());
    }
    let len = (b.len() - HEAD_LEN) as u32;
    b[12..16].copy_from_slice(&len.to_le_bytes());
    b
}

/// Reads a state's bytes, every read bounds-checked.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StoreError> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or_else(|| bad("truncated state"))?;
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, StoreError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }

    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32_at(self.take(4)?, 0))
    }

    fn varint(&mut self) -> Result<u32, StoreError> {
        let mut rest = self.b.get(self.at..).unwrap_or_default();
        let len = rest.len();
        let n = prost::encoding::decode_varint(&mut rest).map_err(|_| bad("a malformed count"))?;
        self.at += len - rest.len();
        u32::try_from(n).map_err(|_| bad("a count out of range"))
    }

    fn counts(&mut self) -> Result<[u32; Counter::COUNT], StoreError> {
        let mask = self.u8()?;
        if mask >> Counter::COUNT != 0 {
            return Err(bad("a counter out of range"));
        }
        let mut counts = [0; Counter::COUNT];
        for (c, n) in counts.iter_mut().enumerate() {
            if mask & 1 << c != 0 {
                *n = self.varint()?;
            }
        }
        Ok(counts)
    }
}

fn decode_state(b: &[u8]) -> Result<KeyState, StoreError> {
    let mut r = Reader { b, at: 0 };
    let mut s = KeyState {
        first_seen: r.u32()?,
        last_seen: r.u32()?,
        all_time: r.counts()?,
        ..KeyState::default()
    };
    for x in s.usd.iter_mut() {
        *x = f32::from_bits(r.u32()?);
    }
    let nb = usize::from(r.u16()?);
    let nd = usize::from(r.u16()?);
    if nb > MAX_BUCKETS || nd > MAX_DISTINCT {
        return Err(bad("more buckets or distinct values than a key keeps"));
    }
    let mut buckets = Vec::with_capacity(nb);
    for _ in 0..nb {
        let start = r.u32()?;
        let level = r.u8()?;
        if usize::from(level) >= LEVELS {
            return Err(bad("a bucket's level is out of range"));
        }
        buckets.push(Bucket {
            start,
            level,
            counts: r.counts()?,
        });
    }
    let mut distinct = Vec::with_capacity(nd);
    for _ in 0..nd {
        distinct.push(Seen {
            tagged: r.u32()?,
            at: r.u32()?,
        });
    }
    if r.at != b.len() {
        return Err(bad("the state's length disagrees with its contents"));
    }
    s.buckets = buckets.into_boxed_slice();
    s.distinct = distinct.into_boxed_slice();
    Ok(s)
}

/// The bytes a compaction compares before it replaces a record it read as `raw`: its head's tag,
/// generation, time and start of state, or, without a head, its first event.
pub(super) fn expected_prefix(raw: &[u8]) -> &[u8] {
    &raw[..raw.len().min(EVENT_LEN)]
}

#[cfg(test)]
mod tests {
    use super::super::super::velocity::{Attempt, tag};
    use super::*;
    use riskgate_core::signals::KeyKind;

    const T0: u32 = 1_795_219_200;

    fn attempt(n: u32) -> Attempt {
        let mut a = Attempt {
            usd: 12.5,
            ..Attempt::default()
        };
        a.keys[KeyKind::Card as usize] = Some(1);
        a.dims[Dim::Email as usize] = Some(n % 30);
        a.dims[Dim::Customer as usize] = Some(n % 3);
        a
    }

    /// A tail of `n` events over ten days: payments, blocks and outcomes, some in the past.
    fn events(n: u32) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let at = T0 + i * 2_477;
                match i % 5 {
                    0 => Event::outcome(Counter::Blocked, 3.75, at),
                    1 => Event::outcome(Counter::Authorized, 9.0, at - 3_000),
                    _ => Event::payment(KeyKind::Card, &attempt(i), at),
                }
            })
            .collect()
    }

    fn tail(events: &[Event]) -> Vec<u8> {
        events.iter().flat_map(encode_event).collect()
    }

    fn replayed(events: &[Event]) -> KeyState {
        let mut s = KeyState::default();
        for e in events {
            s.replay(e);
        }
        s
    }

    fn same(a: &KeyState, b: &KeyState, now: u32) {
        let (mut a, mut b) = (a.clone(), b.clone());
        let x = attempt(7);
        assert_eq!(
            format!("{:?}", a.before(KeyKind::Card, &x, now)),
            format!("{:?}", b.before(KeyKind::Card, &x, now))
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn events_round_trip() {
        for e in events(10) {
            assert_eq!(decode_event(&encode_event(&e)).unwrap(), e);
        }
        let mut e = Event::payment(KeyKind::Email, &attempt(4), T0);
        e.seen = [Some(tag(Dim::Card, 0)), None, None];
        assert_eq!(decode_event(&encode_event(&e)).unwrap(), e);
    }

    #[test]
    fn a_headless_record_replays_its_events() {
        let evs = events(40);
        let r = decode(&tail(&evs)).unwrap();
        assert_eq!(r.events, 40);
        assert_eq!(r.head, None);
        assert_eq!(r.first_event_at, Some(T0));
        same(&r.state, &replayed(&evs), T0 + 11 * 86_400);
        assert!(r.needs_compaction(T0));
        let empty = decode(b"").unwrap();
        assert_eq!(empty.events, 0);
        assert!(!empty.needs_compaction(T0));
    }

    #[test]
    fn a_head_and_tail_read_back_as_the_whole_history() {
        let evs = events(300);
        let now = T0 + 12 * 86_400;
        for split in [0, 1, 31, 150, 299, 300] {
            let mut head_state = replayed(&evs[..split]);
            head_state.compact(evs[..split].last().map_or(T0, |e| e.at));
            let mut raw = encode_head(&head_state, 9, T0);
            raw.extend(tail(&evs[split..]));
            let r = decode(&raw).unwrap();
            assert_eq!(
                r.head,
                Some(Head {
                    generation: 9,
                    written_at: T0
                })
            );
            assert_eq!(r.events, 300 - split);
            assert_eq!(r.next_generation(), 10);
            same(&r.state, &replayed(&evs), now);
            // The head alone round-trips exactly.
            let h = decode(&encode_head(&head_state, 1, T0)).unwrap();
            assert_eq!(format!("{:?}", h.state), format!("{head_state:?}"));
        }
    }

    #[test]
    fn compaction_is_due_by_tail_length_or_age() {
        let mut raw = encode_head(&KeyState::default(), 1, T0);
        raw.extend(tail(&events(COMPACT_EVENTS as u32 - 1)));
        let r = decode(&raw).unwrap();
        assert!(!r.needs_compaction(T0 + REFRESH_SECS - 1));
        assert!(r.needs_compaction(T0 + REFRESH_SECS));
        raw.extend(tail(&events(1)));
        assert!(decode(&raw).unwrap().needs_compaction(T0));
        assert_eq!(expected_prefix(&raw), &raw[..EVENT_LEN]);
        assert_eq!(expected_prefix(&raw[..5]), &raw[..5]);
    }

    #[test]
    fn truncated_or_garbage_records_are_errors_not_panics() {
        let evs = events(50);
        let mut state = replayed(&evs);
        state.compact(T0 + 50 * 2_477);
        let mut raw = encode_head(&state, 3, T0);
        raw.extend(tail(&evs[..5]));
        for cut in 1..raw.len() {
            let r = decode(&raw[..cut]);
            assert!(
                matches!(r, Err(StoreError::Internal(_))) || r.is_ok(),
                "cut {cut}"
            );
        }
        assert!(decode(&raw[..raw.len() - 1]).is_err());
        assert!(decode(&raw[..HEAD_LEN - 1]).is_err());
        assert!(decode(&raw[..HEAD_LEN + 10]).is_err());
        let mut bad_counter = tail(&evs[..1]);
        bad_counter[1] = 99;
        assert!(decode(&bad_counter).is_err());
        let mut bad_slot = tail(&evs[..1]);
        bad_slot[2] = 7;
        assert!(decode(&bad_slot).is_err());
        // One bucket, no counts before it: its level is the 30th byte of the state.
        let one = KeyState {
            buckets: vec![Bucket {
                start: T0,
                level: 0,
                counts: [1, 0, 0, 300, 0, 0, 0],
            }]
            .into_boxed_slice(),
            ..KeyState::default()
        };
        let mut bad_level = encode_head(&one, 1, T0);
        assert!(decode(&bad_level).is_ok());
        bad_level[HEAD_LEN + 29] = 9;
        assert!(decode(&bad_level).is_err());
        let mut bad_mask = encode_head(&one, 1, T0);
        bad_mask[HEAD_LEN + 30] = 0x80;
        assert!(decode(&bad_mask).is_err());
        let mut long_varint = encode_head(&one, 1, T0);
        long_varint.truncate(long_varint.len() - 1);
        long_varint.extend([0xff; 6]);
        let len = (long_varint.len() - HEAD_LEN) as u32;
        long_varint[12..16].copy_from_slice(&len.to_le_bytes());
        assert!(decode(&long_varint).is_err());
        let mut too_long = encode_head(&state, 1, T0);
        too_long[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&too_long).is_err());
        // Random bytes: an error or a record, never a panic.
        let mut rng = fastrand::Rng::with_seed(21);
        for _ in 0..2_000 {
            let n = rng.usize(0..600);
            let mut b: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            if rng.bool() && !b.is_empty() {
                b[0] = if rng.bool() { HEAD_TAG } else { EVENT_TAG };
            }
            let _ = decode(&b);
        }
    }
}
