//! The `v3:` velocity record: a key's in-process [`KeyState`] serialized as a head, followed by an
//! append-only tail of fixed-size events ([`Event`]), read back by replaying the tail with the
//! in-process methods (so the Redis backend keeps what in-process state keeps, by construction).
//!
//! ```text
//! record = [head] event*
//! head   = 0xA3 0 0 0 | generation u32 | written at u32 | state length u32 | state
//! state  = first seen u32 | last seen u32 | all-time count u32 × 7 | USD f32 × 3
//!          | buckets u16 | distinct values u16
//!          | (start u32, level u8, count u32 × 7) per bucket | (tagged hash u32, at u32) per value
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
const STATE_FIXED: usize = 4 + 4 + 4 * Counter::COUNT + 4 * 3 + 2 + 2;
const BUCKET_LEN: usize = 4 + 1 + 4 * Counter::COUNT;
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

/// A head holding `state` (the tail is appended after it).
pub(super) fn encode_head(state: &KeyState, generation: u32, written_at: u32) -> Vec<u8> {
    let len = STATE_FIXED + BUCKET_LEN * state.buckets.len() + SEEN_LEN * state.distinct.len();
    let mut b = Vec::with_capacity(HEAD_LEN + len);
    b.extend([HEAD_TAG, 0, 0, 0]);
    b.extend(generation.to_le_bytes());
    b.extend(written_at.to_le_bytes());
    b.extend((len as u32).to_le_bytes());
    b.extend(state.first_seen.to_le_bytes());
    b.extend(state.last_seen.to_le_bytes());
    for n in state.all_time {
        b.extend(n.to_le_bytes());
    }
    for x in state.usd {
        b.extend(x.to_le_bytes());
    }
    b.extend((state.buckets.len() as u16).to_le_bytes());
    b.extend((state.distinct.len() as u16).to_le_bytes());
    for k in state.buckets.iter() {
        b.extend(k.start.to_le_bytes());
        b.push(k.level);
        for n in k.counts {
            b.extend(n.to_le_bytes());
        }
    }
    for s in state.distinct.iter() {
        b.extend(s.tagged.to_le_bytes());
        b.extend(s.at.to_le_bytes());
    }
    b
}

fn decode_state(b: &[u8]) -> Result<KeyState, StoreError> {
    if b.len() < STATE_FIXED {
        return Err(bad("truncated state"));
    }
    let mut at = 0;
    let mut next = || {
        let v = u32_at(b, at);
        at += 4;
        v
    };
    let mut s = KeyState {
        first_seen: next(),
        last_seen: next(),
        ..KeyState::default()
    };
    for n in s.all_time.iter_mut() {
        *n = next();
    }
    for x in s.usd.iter_mut() {
        *x = f32::from_bits(next());
    }
    let nb = usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let nd = usize::from(u16::from_le_bytes([b[at + 2], b[at + 3]]));
    at += 4;
    if nb > MAX_BUCKETS || nd > MAX_DISTINCT {
        return Err(bad("more buckets or distinct values than a key keeps"));
    }
    if b.len() != STATE_FIXED + BUCKET_LEN * nb + SEEN_LEN * nd {
        return Err(bad("the state's length disagrees with its counts"));
    }
    let mut buckets = Vec::with_capacity(nb);
    for _ in 0..nb {
        let mut k = Bucket {
            start: u32_at(b, at),
            level: b[at + 4],
            counts: [0; Counter::COUNT],
        };
        if usize::from(k.level) >= LEVELS {
            return Err(bad("a bucket's level is out of range"));
        }
        for (i, n) in k.counts.iter_mut().enumerate() {
            *n = u32_at(b, at + 5 + 4 * i);
        }
        buckets.push(k);
        at += BUCKET_LEN;
    }
    let mut distinct = Vec::with_capacity(nd);
    for _ in 0..nd {
        distinct.push(Seen {
            tagged: u32_at(b, at),
            at: u32_at(b, at + 4),
        });
        at += SEEN_LEN;
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
        let mut bad_level = encode_head(&state, 1, T0);
        bad_level[HEAD_LEN + STATE_FIXED + 4] = 9;
        assert!(decode(&bad_level).is_err());
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
