//! Outcome memory: what was learned after a decision (an early fraud warning, a fraudulent dispute,
//! a refund as fraud, an analyst's or the merchant's verdict, an authorization, a decline by code
//! family), remembered per entity — card, customer, email, device, IP, billing and shipping address
//! — and read back by the next evaluation in the same call as its velocity
//! ([`super::StateStore::lookup_and_record`]).
//!
//! A label is applied to every key of the payment it is about ([`LabelOp`]): a fraud outcome on a
//! payment marks its card **and** its customer, email, device, IP and addresses, so a fraudster
//! who returns with a new card but one of those is recognised.
//!
//! ## What an entity keeps ([`EntityRecord`])
//! - per label kind: how many, when first and last learned;
//! - the times of the most recent [`OUTCOME_CAP`] labels of each [`OutcomeSeries`] (early fraud
//!   warnings, fraudulent disputes, refunds, any fraud), so windowed counts are exact up to the cap;
//! - the distinct customer accounts (32-bit hashes of their keys) of fraud-labelled payments that
//!   carried it, the most recent 25, for `total_customers_with_prior_fraud_activity_*`.
//!
//! ## Retention ([`Retention`])
//! Fraud labels are kept `enrichment.outcome_fraud_retention_secs` (400 days), other labels
//! `outcome_nonfraud_retention_secs` (90 days), every label of an IP key only
//! `outcome_ip_retention_secs` (14 days: IP addresses change hands). A label kind's count is kept while its
//! latest label is within retention; series times and fraud customers expire one by one.
//!
//! The in-process backend ([`OutcomeMemory`]) is a sharded map bounded by an entry cap and by
//! expiry (swept with the velocity keys); with a data directory each label is first appended to a
//! journal ([`super::outcome_journal`]) and applied once it is durable. On Redis an entity's outcome
//! memory is part of its record ([`super::redis`]), read with its velocity in one GET.

use std::{
    hash::BuildHasherDefault,
    sync::atomic::{AtomicU64, Ordering},
};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::stores::capped::PassThrough;
use riskgate_core::signals::{
    KeyKind, OUTCOME_CAP, OUTCOME_WINDOW_SECS, OutcomeHistory, OutcomeLabel, OutcomeSeries,
    Outcomes,
};

/// How long labels are kept, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Fraud labels (early fraud warnings, fraudulent disputes, refunds as fraud, analyst and
    /// merchant fraud reports).
    pub fraud_secs: i64,
    /// Every other label (authorizations, declines, other disputes and refunds).
    pub other_secs: i64,
    /// Every label of an IP key.
    pub ip_secs: i64,
}

impl Retention {
    /// The configured retention.
    pub fn from_config(config: &crate::config::EnrichmentConfig) -> Self {
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX).max(1);
        Self {
            fraud_secs: secs(config.outcome_fraud_retention_secs),
            other_secs: secs(config.outcome_nonfraud_retention_secs),
            ip_secs: secs(config.outcome_ip_retention_secs),
        }
    }

    /// How long `label` is kept on a key of `kind`.
    pub fn of(&self, kind: KeyKind, label: OutcomeLabel) -> i64 {
        if kind == KeyKind::Ip {
            self.ip_secs
        } else if label.is_fraud() {
            self.fraud_secs
        } else {
            self.other_secs
        }
    }

    /// How long the times of `series` are kept on a key of `kind`.
    pub fn of_series(&self, kind: KeyKind, series: OutcomeSeries) -> i64 {
        if kind == KeyKind::Ip {
            self.ip_secs
        } else if series == OutcomeSeries::Refund {
            self.other_secs
        } else {
            self.fraud_secs
        }
    }

    /// The longest any label lives on a key of `kind` (a Redis key's TTL).
    pub fn longest(&self, kind: KeyKind) -> i64 {
        if kind == KeyKind::Ip {
            self.ip_secs
        } else {
            self.fraud_secs.max(self.other_secs)
        }
    }
}

/// One label learned about one payment, for every key it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelOp {
    /// The payment's keys, in [`KeyKind`] order (`None`: it had no such key).
    pub keys: [Option<u64>; KeyKind::COUNT],
    pub label: OutcomeLabel,
    /// When it was learned (Unix seconds).
    pub at: i64,
}

impl LabelOp {
    /// The 32-bit hash of the payment's customer, kept by its other keys when the label is fraud.
    pub fn customer(&self) -> Option<u32> {
        self.keys[KeyKind::Customer as usize].map(customer_hash)
    }
}

/// The short hash of a customer key that fraud-customer sets keep (the Redis script takes the
/// same bits: the low 32 of the key).
pub const fn customer_hash(key: u64) -> u32 {
    (key & 0xffff_ffff) as u32
}

fn secs(t: i64) -> u32 {
    u32::try_from(t.max(1)).unwrap_or(u32::MAX)
}

/// One label kind's tally on an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelStat {
    pub label: u8,
    pub count: u32,
    pub first: u32,
    pub last: u32,
}

/// What one entity remembers (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRecord {
    /// Sparse: only the label kinds seen.
    pub labels: Vec<LabelStat>,
    /// (series, time), at most [`OUTCOME_CAP`] per series.
    pub times: Vec<(u8, u32)>,
    /// (customer hash, when its latest fraud was learned), at most [`OUTCOME_CAP`].
    pub customers: Vec<(u32, u32)>,
}

impl EntityRecord {
    /// Counts `label` learned at `at`; `customer` is the payment's customer (kept when fraud).
    pub fn apply(&mut self, label: OutcomeLabel, at: i64, customer: Option<u32>) {
        let t = secs(at);
        match self.labels.iter_mut().find(|s| s.label == label as u8) {
            Some(s) => {
                s.count = s.count.saturating_add(1);
                s.first = s.first.min(t);
                s.last = s.last.max(t);
            }
            None => self.labels.push(LabelStat {
                label: label as u8,
                count: 1,
                first: t,
                last: t,
            }),
        }
        for &series in label.series() {
            let s = series as u8;
            self.times.push((s, t));
            let n = self.times.iter().filter(|(x, _)| *x == s).count();
            if n > usize::from(OUTCOME_CAP) {
                // Drop this series' oldest time.
                if let Some(i) = self
                    .times
                    .iter()
                    .enumerate()
                    .filter(|(_, (x, _))| *x == s)
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(i, _)| i)
                {
                    self.times.swap_remove(i);
                }
            }
        }
        if let (true, Some(c)) = (label.is_fraud(), customer) {
            match self.customers.iter_mut().find(|(h, _)| *h == c) {
                Some(e) => e.1 = e.1.max(t),
                None => {
                    self.customers.push((c, t));
                    if self.customers.len() > usize::from(OUTCOME_CAP)
                        && let Some(i) = self
                            .customers
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, (_, at))| *at)
                            .map(|(i, _)| i)
                    {
                        self.customers.swap_remove(i);
                    }
                }
            }
        }
    }

    /// Whether any fraud label is kept.
    pub fn has_fraud(&self) -> bool {
        self.labels
            .iter()
            .any(|s| OutcomeLabel::from_index(s.label).is_some_and(OutcomeLabel::is_fraud))
    }

    /// The latest time anything was learned.
    pub fn last_learned(&self) -> u32 {
        self.labels.iter().map(|s| s.last).max().unwrap_or(0)
    }

    /// The history as of `now`, expired labels left out.
    pub fn history(&self, kind: KeyKind, now: i64, retention: &Retention) -> OutcomeHistory {
        let mut h = OutcomeHistory::default();
        let age = |t: u32| (now - i64::from(t)).max(0);
        for s in &self.labels {
            let Some(label) = OutcomeLabel::from_index(s.label) else {
                continue;
            };
            if age(s.last) >= retention.of(kind, label) {
                continue;
            }
            h.counts[label as usize] = s.count;
            if label.is_fraud() {
                let (first, last) = (i64::from(s.first), i64::from(s.last));
                h.first_fraud_at = Some(h.first_fraud_at.map_or(first, |f| f.min(first)));
                h.last_fraud_at = Some(h.last_fraud_at.map_or(last, |l| l.max(last)));
            }
        }
        let cap = |n: &mut u8| *n = n.saturating_add(1).min(OUTCOME_CAP);
        for &(s, t) in &self.times {
            let Some(series) = OutcomeSeries::from_index(s) else {
                continue;
            };
            let keep = retention.of_series(kind, series);
            let a = age(t);
            for (w, len) in OUTCOME_WINDOW_SECS.iter().enumerate() {
                if a < len.unwrap_or(keep).min(keep) {
                    cap(&mut h.windows[s as usize][w]);
                }
            }
        }
        let keep = retention.of(kind, OutcomeLabel::EarlyFraudWarning);
        for &(_, t) in &self.customers {
            let a = age(t);
            for (n, len) in h.fraud_customers.iter_mut().zip(OUTCOME_WINDOW_SECS) {
                if a < len.unwrap_or(keep).min(keep) {
                    cap(n);
                }
            }
        }
        h
    }

    /// Drops what expired by `now`; true when nothing is left.
    pub fn expire(&mut self, kind: KeyKind, now: i64, retention: &Retention) -> bool {
        let age = |t: u32| (now - i64::from(t)).max(0);
        self.labels.retain(|s| {
            OutcomeLabel::from_index(s.label).is_some_and(|l| age(s.last) < retention.of(kind, l))
        });
        self.times.retain(|&(s, t)| {
            OutcomeSeries::from_index(s).is_some_and(|s| age(t) < retention.of_series(kind, s))
        });
        let keep = retention.of(kind, OutcomeLabel::EarlyFraudWarning);
        self.customers.retain(|&(_, t)| age(t) < keep);
        self.labels.is_empty()
    }
}

/// An entity's record and the kind of key it belongs to (retention depends on it).
#[derive(Debug, Clone, Default)]
struct Entry {
    kind: u8,
    record: EntityRecord,
}

fn kind_of(i: u8) -> KeyKind {
    KeyKind::ALL
        .get(usize::from(i))
        .copied()
        .unwrap_or(KeyKind::Card)
}

/// The in-process outcome memory: a sharded map, bounded (see [`OutcomeMemory::new`]).
pub struct OutcomeMemory {
    map: DashMap<u64, Entry, BuildHasherDefault<PassThrough>>,
    retention: Retention,
    /// Entities kept before new non-fraud ones are refused and the sweep evicts.
    max_entities: usize,
    dropped: AtomicU64,
}

impl std::fmt::Debug for OutcomeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeMemory")
            .field("entities", &self.map.len())
            .field("retention", &self.retention)
            .field("max_entities", &self.max_entities)
            .finish_non_exhaustive()
    }
}

/// What an [`OutcomeMemory::apply`] could not keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped(pub usize);

impl OutcomeMemory {
    /// An empty memory keeping at most `max_entities` entities (fraud labels may take up to a
    /// tenth more; beyond that they are dropped and counted too).
    pub fn new(retention: Retention, max_entities: usize) -> Self {
        Self {
            map: DashMap::with_hasher(BuildHasherDefault::default()),
            retention,
            max_entities,
            dropped: AtomicU64::new(0),
        }
    }

    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// The history of every key of `keys` as of `now` (zeros for a key never labelled).
    pub fn lookup(&self, keys: &[Option<u64>; KeyKind::COUNT], now: i64) -> Outcomes {
        let mut out = Outcomes::EMPTY;
        for kind in KeyKind::ALL {
            let Some(key) = keys[kind as usize] else {
                continue;
            };
            out.keys[kind as usize] = Some(match self.map.get(&key) {
                Some(e) => e.record.history(kind, now, &self.retention),
                None => OutcomeHistory::default(),
            });
        }
        out
    }

    /// Applies `op` to every key it names. Returns how many keys could not be kept (the map is
    /// full); they are counted in [`OutcomeMemory::dropped`].
    pub fn apply(&self, op: &LabelOp) -> Dropped {
        let customer = op.customer();
        let fraud = op.label.is_fraud();
        let hard = self.max_entities + self.max_entities / 10;
        let mut dropped = 0;
        for kind in KeyKind::ALL {
            let Some(key) = op.keys[kind as usize] else {
                continue;
            };
            // The customer key does not keep itself as a fraud customer.
            let customer = customer.filter(|_| kind != KeyKind::Customer);
            if let Some(mut e) = self.map.get_mut(&key) {
                e.record.apply(op.label, op.at, customer);
                continue;
            }
            let len = self.map.len();
            if len >= hard || (len >= self.max_entities && !fraud) {
                dropped += 1;
                continue;
            }
            let mut e = self.map.entry(key).or_insert_with(|| Entry {
                kind: kind as u8,
                record: EntityRecord::default(),
            });
            e.record.apply(op.label, op.at, customer);
        }
        self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
        Dropped(dropped)
    }

    /// Removes expired labels and empty entities, then — over the cap — the entities without a
    /// fraud label that learned nothing for longest. Returns how many entities went.
    pub fn sweep(&self, now: i64) -> usize {
        let before = self.map.len();
        self.map
            .retain(|_, e| !e.record.expire(kind_of(e.kind), now, &self.retention));
        let over = self.map.len().saturating_sub(self.max_entities);
        if over > 0 {
            let mut victims: Vec<(u32, u64)> = self
                .map
                .iter()
                .filter(|e| !e.record.has_fraud())
                .map(|e| (e.record.last_learned(), *e.key()))
                .collect();
            victims.sort_unstable();
            for (_, key) in victims.into_iter().take(over) {
                self.map.remove(&key);
            }
        }
        before.saturating_sub(self.map.len())
    }

    /// Entities kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keys not kept because the map was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Every entity (key, kind, record): the journal's snapshot.
    pub(super) fn snapshot(&self) -> Vec<(u64, u8, EntityRecord)> {
        self.map
            .iter()
            .map(|e| (*e.key(), e.kind, e.record.clone()))
            .collect()
    }

    /// Puts back an entity from a snapshot.
    pub(super) fn restore(&self, key: u64, kind: u8, record: EntityRecord) {
        self.map.insert(key, Entry { kind, record });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_core::signals::{OUTCOME_WINDOWS, OutcomeWindow};

    const T0: i64 = 1_795_219_200;
    const DAY: i64 = 86_400;
    const RET: Retention = Retention {
        fraud_secs: 400 * DAY,
        other_secs: 90 * DAY,
        ip_secs: 14 * DAY,
    };

    fn keys(card: u64) -> [Option<u64>; KeyKind::COUNT] {
        let mut k = [None; KeyKind::COUNT];
        k[KeyKind::Card as usize] = Some(card);
        k[KeyKind::Email as usize] = Some(500);
        k[KeyKind::Ip as usize] = Some(600);
        k[KeyKind::Customer as usize] = Some(0x1_0000_0007);
        k
    }

    fn op(card: u64, label: OutcomeLabel, at: i64) -> LabelOp {
        LabelOp {
            keys: keys(card),
            label,
            at,
        }
    }

    #[test]
    fn a_fraud_label_marks_every_key_of_its_payment() {
        let m = OutcomeMemory::new(RET, 1000);
        m.apply(&op(1, OutcomeLabel::EarlyFraudWarning, T0));
        // The same email and customer come back with a new card.
        let o = m.lookup(&keys(2), T0 + 3600);
        let card = o.key(KeyKind::Card).unwrap();
        assert_eq!(*card, OutcomeHistory::default(), "a new card knows nothing");
        let email = o.key(KeyKind::Email).unwrap();
        assert_eq!(
            email.window(OutcomeSeries::Fraud, OutcomeWindow::AllTime),
            1
        );
        assert_eq!(email.last_fraud_at, Some(T0));
        assert_eq!(email.fraud_customers, [0, 1, 1, 1, 1, 1]);
        let customer = o.key(KeyKind::Customer).unwrap();
        assert_eq!(customer.count(OutcomeLabel::EarlyFraudWarning), 1);
        assert_eq!(customer.fraud_customers, [0; OUTCOME_WINDOWS], "not itself");
        assert!(o.key(KeyKind::Device).is_none(), "no such key");
        let first = m.lookup(&keys(1), T0 + 1).keys[KeyKind::Card as usize].unwrap();
        assert_eq!(
            first.window(OutcomeSeries::EarlyFraudWarning, OutcomeWindow::Hourly),
            1
        );
        assert_eq!(first.first_fraud_at, Some(T0));
    }

    #[test]
    fn windows_are_exact_up_to_the_cap_and_labels_expire() {
        let m = OutcomeMemory::new(RET, 1000);
        m.apply(&op(1, OutcomeLabel::FraudulentDispute, T0 - 200 * DAY));
        m.apply(&op(1, OutcomeLabel::FraudulentDispute, T0 - 3 * DAY));
        m.apply(&op(1, OutcomeLabel::Refunded, T0 - 100));
        m.apply(&op(1, OutcomeLabel::Authorized, T0 - 100));
        let h = m.lookup(&keys(1), T0).keys[KeyKind::Card as usize].unwrap();
        use OutcomeWindow::*;
        let disputes: Vec<u8> = [Hourly, Daily, Weekly, Recent, Yearly, AllTime]
            .iter()
            .map(|w| h.window(OutcomeSeries::FraudulentDispute, *w))
            .collect();
        assert_eq!(disputes, [0, 0, 1, 1, 2, 2]);
        assert_eq!(h.window(OutcomeSeries::Refund, Hourly), 1);
        assert_eq!(h.count(OutcomeLabel::Authorized), 1);
        // The IP keeps labels only 14 days.
        let ip = m.lookup(&keys(1), T0).keys[KeyKind::Ip as usize].unwrap();
        assert_eq!(ip.window(OutcomeSeries::FraudulentDispute, AllTime), 1);
        assert_eq!(
            ip.count(OutcomeLabel::FraudulentDispute),
            2,
            "latest within 14 days"
        );

        for i in 0..40 {
            m.apply(&op(3, OutcomeLabel::EarlyFraudWarning, T0 - 100 + i));
        }
        let h = m.lookup(&keys(3), T0).keys[KeyKind::Card as usize].unwrap();
        assert_eq!(
            h.window(OutcomeSeries::EarlyFraudWarning, Hourly),
            OUTCOME_CAP
        );
        assert_eq!(h.count(OutcomeLabel::EarlyFraudWarning), 40);

        // 91 days on: the authorization and refund expired, the disputes are kept.
        let later = T0 + 91 * DAY;
        let h = m.lookup(&keys(1), later).keys[KeyKind::Card as usize].unwrap();
        assert_eq!(h.count(OutcomeLabel::Authorized), 0);
        assert_eq!(h.window(OutcomeSeries::Refund, AllTime), 0);
        assert_eq!(h.window(OutcomeSeries::FraudulentDispute, AllTime), 2);
        // The sweep drops the IP entity (expired) but keeps the card, email and customer.
        assert_eq!(m.sweep(later), 1);
        assert_eq!(m.len(), 4);
        assert_eq!(m.sweep(T0 + 500 * DAY), 4);
        assert!(m.is_empty());
    }

    #[test]
    fn the_map_is_bounded_and_keeps_fraud_first() {
        let m = OutcomeMemory::new(RET, 20);
        let single = |key: u64, label| LabelOp {
            keys: {
                let mut k = [None; KeyKind::COUNT];
                k[KeyKind::Card as usize] = Some(key);
                k
            },
            label,
            at: T0 + key as i64,
        };
        for key in 0..20 {
            assert_eq!(m.apply(&single(key, OutcomeLabel::Authorized)), Dropped(0));
        }
        // Full: a new non-fraud entity is refused, fraud ones admitted up to a tenth more.
        assert_eq!(m.apply(&single(100, OutcomeLabel::Authorized)), Dropped(1));
        assert_eq!(
            m.apply(&single(101, OutcomeLabel::FraudulentDispute)),
            Dropped(0)
        );
        assert_eq!(
            m.apply(&single(102, OutcomeLabel::EarlyFraudWarning)),
            Dropped(0)
        );
        assert_eq!(
            m.apply(&single(103, OutcomeLabel::FraudulentDispute)),
            Dropped(1)
        );
        assert_eq!(m.dropped(), 2);
        // Known entities still learn.
        assert_eq!(m.apply(&single(3, OutcomeLabel::DeclinedOther)), Dropped(0));
        assert_eq!(m.len(), 22);
        // The sweep evicts the non-fraud entities that learned nothing for longest.
        assert_eq!(m.sweep(T0 + 200), 2);
        let card = |key: u64| {
            let mut k = [None; KeyKind::COUNT];
            k[KeyKind::Card as usize] = Some(key);
            m.lookup(&k, T0 + 200).keys[0].unwrap()
        };
        assert_eq!(card(0), OutcomeHistory::default());
        assert_eq!(card(1), OutcomeHistory::default());
        assert_eq!(card(2).count(OutcomeLabel::Authorized), 1);
        assert_eq!(card(101).count(OutcomeLabel::FraudulentDispute), 1);
    }
}
