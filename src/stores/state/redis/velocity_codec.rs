//! The `v3:` entity record: a key's in-process [`KeyState`] and its outcome memory
//! ([`EntityRecord`]) serialized as a head, followed by an append-only tail of fixed-size events —
//! payments, blocks and outcome counts ([`Event`]) and outcome labels — read back by replaying the
//! tail with the in-process methods (so the Redis backend keeps what in-process state keeps, by
//! construction). One GET reads all an evaluation needs of an entity.
//!
//! ```text
//! record   = [head] (event | label)*
//! head     = 0xA3 | flags u8 (bit 0: outcome memory follows the state) | 0 0 | generation u32
//!            | written at u32 | body length u32 | state [outcomes]
//! state    = first seen u32 | last seen u32 | counts (all time) | USD f32 × 3
//!            | buckets u16 | distinct values u16
//!            | (start u32, level u8, counts) per bucket | (tagged hash u32, at u32) per value
//! counts   = a byte whose bit c says counter c is not 0, then those counts as protobuf (LEB128) varints
//! outcomes = labels u8 | (label u8, count u32, first u32, last u32) per label
//!            | times u8 | (series u8, at u32) per time | customers u8 | (hash u32, at u32) per customer
//! event    = 0xE3 | counter u8 | USD slot u8 (0xFF none) | values u8 | at u32 | USD f32
//!            | tagged hash u32 × 3 (unused ones 0)
//! label    = 0xE4 | label u8 | has customer u8 | 0 | at u32 | customer hash u32 | 0 × 12
//! ```
//!
//! Integers little-endian. A record made by `APPEND` alone (a key's first events) has no head: an
//! empty state. Redis content is untrusted input: anything that is not such a record (truncated,
//! garbage, a count out of range) is a [`StoreError::Internal`], never a panic.

use super::super::{
    outcomes::{EntityRecord, LabelStat},
    velocity::{Bucket, Event, KeyState, LEVELS, Seen},
};
use crate::stores::StoreError;
use riskgate_core::signals::{
    Counter, DISTINCT_CAP, Dim, OUTCOME_CAP, OutcomeLabel, OutcomeSeries,
};

/// Bytes of one event (a label too).
pub(super) const EVENT_LEN: usize = 24;
const EVENT_TAG: u8 = 0xE3;
const LABEL_TAG: u8 = 0xE4;
const HEAD_TAG: u8 = 0xA3;
/// The head's flag: outcome memory follows the state.
const WITH_OUTCOMES: u8 = 1;
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

/// An outcome label learned about the entity as it is appended: `customer` is the fraud
/// customer the entity keeps (a fraud label on a payment with a customer, on its other keys).
pub(super) fn encode_label(label: OutcomeLabel, at: u32, customer: Option<u32>) -> [u8; EVENT_LEN] {
    let mut b = [0u8; EVENT_LEN];
    b[0] = LABEL_TAG;
    b[1] = label as u8;
    b[2] = u8::from(customer.is_some());
    b[4..8].copy_from_slice(&at.to_le_bytes());
    b[8..12].copy_from_slice(&customer.unwrap_or(0).to_le_bytes());
    b
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// One entry of a tail.
#[derive(Debug, PartialEq)]
enum Entry {
    Event(Event),
    Label {
        label: OutcomeLabel,
        at: u32,
        customer: Option<u32>,
    },
}

fn decode_entry(b: &[u8]) -> Result<Entry, StoreError> {
    if b[0] != LABEL_TAG {
        return decode_event(b).map(Entry::Event);
    }
    let label =
        OutcomeLabel::from_index(b[1]).ok_or_else(|| bad("a label's kind is out of range"))?;
    let customer = match b[2] {
        0 => None,
        1 => Some(u32_at(b, 8)),
        _ => return Err(bad("a label's customer flag is out of range")),
    };
    Ok(Entry::Label {
        label,
        at: u32_at(b, 4),
        customer,
    })
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

/// A record read back: the key's state and outcome memory with every entry of its tail replayed.
#[derive(Debug)]
pub(super) struct Record {
    pub(super) state: KeyState,
    pub(super) outcomes: EntityRecord,
    pub(super) head: Option<Head>,
    /// Entries (events and labels) in the tail.
    pub(super) events: usize,
    /// The time of the tail's first entry (a record without head is as old as it).
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
    let (state, outcomes, head, tail) = match raw.first() {
        Some(&HEAD_TAG) => {
            if raw.len() < HEAD_LEN {
                return Err(bad("truncated head"));
            }
            let flags = raw[1];
            if flags & !WITH_OUTCOMES != 0 {
                return Err(bad("unknown head flags"));
            }
            let head = Head {
                generation: u32_at(raw, 4),
                written_at: u32_at(raw, 8),
            };
            let len = u32_at(raw, 12) as usize;
            let body = raw
                .get(HEAD_LEN..HEAD_LEN.saturating_add(len))
                .ok_or_else(|| bad("truncated state"))?;
            let (state, outcomes) = decode_body(body, flags & WITH_OUTCOMES != 0)?;
            (state, outcomes, Some(head), &raw[HEAD_LEN + body.len()..])
        }
        _ => (KeyState::default(), EntityRecord::default(), None, raw),
    };
    if !tail.len().is_multiple_of(EVENT_LEN) {
        return Err(bad("truncated event"));
    }
    let mut record = Record {
        state,
        outcomes,
        head,
        events: tail.len() / EVENT_LEN,
        first_event_at: None,
    };
    for chunk in tail.chunks_exact(EVENT_LEN) {
        match decode_entry(chunk)? {
            Entry::Event(e) => {
                record.first_event_at.get_or_insert(e.at);
                record.state.replay(&e);
            }
            Entry::Label {
                label,
                at,
                customer,
            } => {
                record.first_event_at.get_or_insert(at);
                record.outcomes.apply(label, i64::from(at), customer);
            }
        }
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

/// A head holding `state` and `outcomes` (the tail is appended after it).
pub(super) fn encode_head(
    state: &KeyState,
    outcomes: &EntityRecord,
    generation: u32,
    written_at: u32,
) -> Vec<u8> {
    let with_outcomes = *outcomes != EntityRecord::default();
    let mut b = Vec::with_capacity(
        HEAD_LEN
            + STATE_MIN
            + 12 * state.buckets.len()
            + SEEN_LEN * state.distinct.len()
            + if with_outcomes {
                3 + 13 * outcomes.labels.len()
                    + 5 * outcomes.times.len()
                    + 8 * outcomes.customers.len()
            } else {
                0
            },
    );
    b.extend([
        HEAD_TAG,
        if with_outcomes { WITH_OUTCOMES } else { 0 },
        0,
        0,
    ]);
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
    if with_outcomes {
        put_outcomes(&mut b, outcomes);
    }
    let len = (b.len() - HEAD_LEN) as u32;
    b[12..16].copy_from_slice(&len.to_le_bytes());
    b
}

/// Outcome memory as a head keeps it. The lists are bounded by what [`EntityRecord::apply`] keeps
/// (a label kind each, 25 times per series, 25 customers), so their counts fit a byte; anything
/// beyond is left out rather than written wrong.
fn put_outcomes(b: &mut Vec<u8>, o: &EntityRecord) {
    let labels = &o.labels[..o.labels.len().min(MAX_LABELS)];
    b.push(labels.len() as u8);
    for l in labels {
        b.push(l.label);
        b.extend(l.count.to_le_bytes());
        b.extend(l.first.to_le_bytes());
        b.extend(l.last.to_le_bytes());
    }
    let times = &o.times[..o.times.len().min(MAX_TIMES)];
    b.push(times.len() as u8);
    for &(s, t) in times {
        b.push(s);
        b.extend(t.to_le_bytes());
    }
    let customers = &o.customers[..o.customers.len().min(usize::from(OUTCOME_CAP))];
    b.push(customers.len() as u8);
    for &(c, t) in customers {
        b.extend(c.to_le_bytes());
        b.extend(t.to_le_bytes());
    }
}

/// Bounds of an entity's outcome memory ([`put_outcomes`]).
const MAX_LABELS: usize = OutcomeLabel::COUNT;
const MAX_TIMES: usize = OutcomeSeries::COUNT * OUTCOME_CAP as usize;

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

fn decode_outcomes(r: &mut Reader<'_>) -> Result<EntityRecord, StoreError> {
    let mut o = EntityRecord::default();
    let n = usize::from(r.u8()?);
    if n > MAX_LABELS {
        return Err(bad("more label kinds than an entity keeps"));
    }
    for _ in 0..n {
        let label = r.u8()?;
        if OutcomeLabel::from_index(label).is_none() {
            return Err(bad("a label's kind is out of range"));
        }
        o.labels.push(LabelStat {
            label,
            count: r.u32()?,
            first: r.u32()?,
            last: r.u32()?,
        });
    }
    let n = usize::from(r.u8()?);
    if n > MAX_TIMES {
        return Err(bad("more label times than an entity keeps"));
    }
    for _ in 0..n {
        let series = r.u8()?;
        if OutcomeSeries::from_index(series).is_none() {
            return Err(bad("a label series is out of range"));
        }
        o.times.push((series, r.u32()?));
    }
    let n = r.u8()?;
    if n > OUTCOME_CAP {
        return Err(bad("more fraud customers than an entity keeps"));
    }
    for _ in 0..n {
        o.customers.push((r.u32()?, r.u32()?));
    }
    Ok(o)
}

/// A head's body: the state, then the outcome memory when the head says so.
fn decode_body(b: &[u8], with_outcomes: bool) -> Result<(KeyState, EntityRecord), StoreError> {
    let mut r = Reader { b, at: 0 };
    let state = decode_state(&mut r)?;
    let outcomes = if with_outcomes {
        decode_outcomes(&mut r)?
    } else {
        EntityRecord::default()
    };
    if r.at != b.len() {
        return Err(bad("the state's length disagrees with its contents"));
    }
    Ok((state, outcomes))
}

fn decode_state(r: &mut Reader<'_>) -> Result<KeyState, StoreError> {
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
    s.buckets = buckets.into_boxed_slice();
    s.distinct = distinct.into_boxed_slice();
    Ok(s)
}

/// Reads `raw` as an evaluation does — the history before a payment of every kind at `now`, the
/// outcome memory — and writes it back as a compaction does, which must read again (the fuzz
/// target `redis_record`: whoever can write to Redis controls these bytes). Malformed input is
/// an error; a panic is a bug.
pub(super) fn check(raw: &[u8], now: u32) -> Result<(), StoreError> {
    use super::super::outcomes::Retention;
    use riskgate_core::signals::KeyKind;
    const RETENTION: Retention = Retention {
        fraud_secs: 400 * 86_400,
        other_secs: 90 * 86_400,
        ip_secs: 14 * 86_400,
    };
    let record = decode(raw)?;
    let attempt = super::super::velocity::Attempt {
        dims: [Some(7); Dim::COUNT],
        ..Default::default()
    };
    for kind in KeyKind::ALL {
        let mut state = record.state.clone();
        let _ = state.before(kind, &attempt, now);
        let _ = record.outcomes.history(kind, i64::from(now), &RETENTION);
    }
    let mut state = record.state.clone();
    state.compact(now);
    let head = encode_head(&state, &record.outcomes, record.next_generation(), now);
    let again =
        decode(&head).map_err(|e| bad(&format!("a head written did not read back: {e}")))?;
    assert_eq!(again.events, 0, "a head alone has no events");
    Ok(())
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
            let mut raw = encode_head(&head_state, &EntityRecord::default(), 9, T0);
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
            let h = decode(&encode_head(&head_state, &EntityRecord::default(), 1, T0)).unwrap();
            assert_eq!(format!("{:?}", h.state), format!("{head_state:?}"));
        }
    }

    /// Labels of a card over a year: fraud ones with a customer, others without.
    fn labels(n: u32) -> Vec<(OutcomeLabel, u32, Option<u32>)> {
        (0..n)
            .map(|i| {
                let label = OutcomeLabel::ALL[(i as usize * 5) % OutcomeLabel::COUNT];
                let customer = label.is_fraud().then_some(i % 40);
                (label, T0 + i * 86_400, customer)
            })
            .collect()
    }

    fn applied(labels: &[(OutcomeLabel, u32, Option<u32>)]) -> EntityRecord {
        let mut r = EntityRecord::default();
        for &(l, at, c) in labels {
            r.apply(l, i64::from(at), c);
        }
        r
    }

    #[test]
    fn labels_in_the_tail_and_the_head_read_back_as_outcome_memory() {
        let ls = labels(120);
        let retention = super::super::super::outcomes::Retention {
            fraud_secs: 400 * 86_400,
            other_secs: 90 * 86_400,
            ip_secs: 14 * 86_400,
        };
        let now = i64::from(T0) + 130 * 86_400;
        let want = applied(&ls);
        assert!(
            want.customers.len() > 1 && want.times.len() > 25,
            "{want:?}"
        );
        for split in [0, 1, 60, 119, 120] {
            let mut raw = encode_head(&KeyState::default(), &applied(&ls[..split]), 4, T0);
            // Labels interleaved with payments: each replays into its own part.
            for (i, &(l, at, c)) in ls[split..].iter().enumerate() {
                raw.extend(encode_label(l, at, c));
                if i % 3 == 0 {
                    raw.extend(encode_event(&Event::payment(
                        KeyKind::Card,
                        &attempt(i as u32),
                        at,
                    )));
                }
            }
            let r = decode(&raw).unwrap();
            assert_eq!(r.outcomes.labels, want.labels, "split {split}");
            for kind in [KeyKind::Card, KeyKind::Ip] {
                assert_eq!(
                    r.outcomes.history(kind, now, &retention),
                    want.history(kind, now, &retention),
                    "split {split}"
                );
            }
            // Folded into a new head, the memory round-trips exactly.
            let again = decode(&encode_head(&r.state, &r.outcomes, 5, T0)).unwrap();
            assert_eq!(again.outcomes, r.outcomes);
        }
        // A head without outcome memory keeps the older layout (flag clear).
        assert_eq!(
            encode_head(&KeyState::default(), &EntityRecord::default(), 1, T0)[1],
            0
        );
        let mut bad_kind = encode_label(OutcomeLabel::Authorized, T0, None).to_vec();
        bad_kind[1] = OutcomeLabel::COUNT as u8;
        assert!(decode(&bad_kind).is_err());
        let mut bad_flag = encode_label(OutcomeLabel::Authorized, T0, None).to_vec();
        bad_flag[2] = 2;
        assert!(decode(&bad_flag).is_err());
        let mut bad_head = encode_head(&KeyState::default(), &want, 1, T0);
        bad_head[1] = 0x80;
        assert!(decode(&bad_head).is_err());
    }

    #[test]
    fn compaction_is_due_by_tail_length_or_age() {
        let mut raw = encode_head(&KeyState::default(), &EntityRecord::default(), 1, T0);
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
        let mut raw = encode_head(&state, &EntityRecord::default(), 3, T0);
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
        let mut bad_level = encode_head(&one, &EntityRecord::default(), 1, T0);
        assert!(decode(&bad_level).is_ok());
        bad_level[HEAD_LEN + 29] = 9;
        assert!(decode(&bad_level).is_err());
        let mut bad_mask = encode_head(&one, &EntityRecord::default(), 1, T0);
        bad_mask[HEAD_LEN + 30] = 0x80;
        assert!(decode(&bad_mask).is_err());
        let mut long_varint = encode_head(&one, &EntityRecord::default(), 1, T0);
        long_varint.truncate(long_varint.len() - 1);
        long_varint.extend([0xff; 6]);
        let len = (long_varint.len() - HEAD_LEN) as u32;
        long_varint[12..16].copy_from_slice(&len.to_le_bytes());
        assert!(decode(&long_varint).is_err());
        let mut too_long = encode_head(&state, &EntityRecord::default(), 1, T0);
        too_long[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&too_long).is_err());
        // Random bytes: an error or a record, never a panic.
        let mut rng = fastrand::Rng::with_seed(21);
        for _ in 0..2_000 {
            let n = rng.usize(0..600);
            let mut b: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            if rng.bool() && !b.is_empty() {
                b[0] = [HEAD_TAG, EVENT_TAG, LABEL_TAG][rng.usize(0..3)];
                if b[0] == HEAD_TAG && b.len() > 1 {
                    b[1] = rng.u8(0..2);
                }
            }
            let _ = decode(&b);
        }
    }
}
