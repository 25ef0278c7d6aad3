//! Velocity records as the Redis backend keeps them (`<p>v:{hex}` field `s`: little-endian doubles,
//! layout in [`super::redis`]'s module doc), read back into a key's history.

use riskgate_core::signals::{Counter, DISTINCT_CAP, Dim, KeyHistory, WINDOW_SECS, WINDOWS};

/// Doubles before the distinct values in a velocity record (`HDR` in the velocity Lua of [`super::redis`]).
const RECORD_HEADER: usize = 65;

/// A key's history as of `now` from its velocity record (`s`, little-endian doubles, layout in the
/// module doc) as it was before this payment; an empty record is a key never seen. `None` when
/// the bytes are not such a record.
pub fn history_from_record(record: &[u8], now: i64) -> Option<KeyHistory> {
    let mut h = KeyHistory::default();
    if record.is_empty() {
        return Some(h);
    }
    if !record.len().is_multiple_of(8) || record.len() < RECORD_HEADER * 8 {
        return None;
    }
    let v: Vec<f64> = record
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    let count = |x: f64| x.clamp(0.0, f64::from(u32::MAX)) as u32;
    if v[0] != 0.0 {
        h.seconds_since_first_seen = Some((now - v[0] as i64).max(0) as u64);
    }
    for c in 0..Counter::COUNT {
        for w in 0..WINDOWS - 1 {
            h.counts[c][w] = count(v[13 + w * Counter::COUNT + c]);
        }
        h.counts[c][WINDOWS - 1] = count(v[3 + c]);
    }
    [h.usd_charged, h.usd_successful, h.usd_failed] = [v[10], v[11], v[12]];
    let mut at = RECORD_HEADER;
    for d in 0..Dim::COUNT {
        let n = v[61 + d] as usize;
        let seen = v.get(at..at + 2 * n)?;
        for pair in seen.chunks_exact(2) {
            let age = now - pair[1] as i64;
            for (w, secs) in WINDOW_SECS.iter().enumerate() {
                if secs.is_none_or(|secs| age < secs) && h.distinct[d][w] < DISTINCT_CAP {
                    h.distinct[d][w] += 1;
                }
            }
        }
        at += 2 * n;
    }
    (at == v.len()).then_some(h)
}

/// Whether `hash` is among the distinct values of `dim` in a velocity record (as it was before
/// this payment); false for an empty or unreadable record.
pub fn record_has_seen(record: &[u8], dim: Dim, hash: u32) -> bool {
    if !record.len().is_multiple_of(8) || record.len() < RECORD_HEADER * 8 {
        return false;
    }
    let v = |i: usize| {
        record
            .get(i * 8..i * 8 + 8)
            .map_or(0.0, |b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    let mut at = RECORD_HEADER;
    for d in 0..dim as usize {
        at += 2 * v(61 + d) as usize;
    }
    let n = v(61 + dim as usize) as usize;
    (0..n).any(|j| v(at + 2 * j) == f64::from(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_219_200 + 7 * 86_400;

    fn record(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn history_reads_the_record_layout() {
        let mut v = vec![0.0; RECORD_HEADER];
        v[0] = (NOW - 90) as f64; // first seen
        v[3] = 9.0; // all-time total
        v[3 + Counter::Declined as usize] = 2.0;
        v[10] = 12.5; // USD charged
        v[12] = 0.25; // USD failed
        for w in 0..3 {
            v[13 + w * Counter::COUNT] = [2.0, 7.0, 9.0][w]; // total per window
        }
        v[13 + Counter::COUNT + Counter::Declined as usize] = 1.0; // declined today
        v[61 + Dim::Email as usize] = 2.0;
        v[61 + Dim::Customer as usize] = 1.0;
        // Email values (most recent first), then the customer value.
        v.extend([17.0, (NOW - 10) as f64, 18.0, (NOW - 7200) as f64]);
        v.extend([5.0, (NOW - 30 * 86_400) as f64]);
        let h = history_from_record(&record(&v), NOW).unwrap();
        assert_eq!(h.counts[0], [2, 7, 9, 9]);
        assert_eq!(h.counts[Counter::Declined as usize], [0, 1, 0, 2]);
        assert_eq!(h.distinct[Dim::Email as usize], [1, 2, 2, 2]);
        assert_eq!(h.distinct[Dim::Customer as usize], [0, 0, 0, 1]);
        assert_eq!(h.distinct[Dim::Card as usize], [0; WINDOWS]);
        assert_eq!(h.seconds_since_first_seen, Some(90));
        assert!((h.usd_charged - 12.5).abs() < 1e-9);
        assert!((h.usd_failed - 0.25).abs() < 1e-9);

        assert_eq!(history_from_record(b"", NOW), Some(KeyHistory::default()));
        assert!(history_from_record(&record(&v[..RECORD_HEADER - 1]), NOW).is_none());
        assert!(history_from_record(&record(&v[..v.len() - 2]), NOW).is_none());
        assert!(history_from_record(&[0; 9], NOW).is_none());
    }
}
