//! The open loop's schedule: when each request slot is due, with an optional linear ramp and an
//! optional step down of the rate.

use std::time::Duration;

/// When slot `i` of an open-loop schedule is due, as an offset from the start: a linear ramp from 0
/// to `rate` over `ramp` (the integral of the rate reaches `rate × ramp ÷ 2` calls), then `rate`.
pub fn slot_offset(i: u64, rate: f64, ramp: Duration) -> Duration {
    let ramp_s = ramp.as_secs_f64();
    let ramp_calls = rate * ramp_s / 2.0;
    let i = i as f64;
    let secs = if i < ramp_calls {
        (2.0 * ramp_s * i / rate).sqrt()
    } else {
        ramp_s + (i - ramp_calls) / rate
    };
    Duration::from_secs_f64(secs)
}

/// [`slot_offset`] with a step down: slots due before `at` (an offset from the start, after the
/// ramp) follow the first rate; from `at` on, slots come at `low` per second.
pub fn stepped_slot_offset(
    i: u64,
    rate: f64,
    ramp: Duration,
    step: Option<(Duration, f64)>,
) -> Duration {
    let Some((at, low)) = step else {
        return slot_offset(i, rate, ramp);
    };
    let ramp_s = ramp.as_secs_f64();
    // Slots due before `at` at the first rate (`at` is past the ramp).
    let before = (rate * ramp_s / 2.0 + (at.as_secs_f64() - ramp_s) * rate).ceil() as u64;
    if i < before {
        slot_offset(i, rate, ramp)
    } else {
        at + Duration::from_secs_f64((i - before) as f64 / low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_without_ramp_is_evenly_spaced() {
        let d = |i| slot_offset(i, 1000.0, Duration::ZERO);
        assert_eq!(d(0), Duration::ZERO);
        assert_eq!(d(1), Duration::from_millis(1));
        assert_eq!(d(1500), Duration::from_millis(1500));
    }

    #[test]
    fn ramp_reaches_the_rate_after_half_its_calls() {
        // 100/s ramped over 2 s: 100 calls in the ramp, the last of them just before 2 s.
        let rate = 100.0;
        let ramp = Duration::from_secs(2);
        assert_eq!(slot_offset(0, rate, ramp), Duration::ZERO);
        assert!(slot_offset(99, rate, ramp) < ramp);
        assert_eq!(slot_offset(100, rate, ramp), ramp);
        assert_eq!(slot_offset(200, rate, ramp), Duration::from_secs(3));
        // Slower at the start than at the end of the ramp.
        let first = slot_offset(1, rate, ramp) - slot_offset(0, rate, ramp);
        let last = slot_offset(99, rate, ramp) - slot_offset(98, rate, ramp);
        assert!(first > last * 5, "{first:?} vs {last:?}");
    }

    #[test]
    fn a_step_down_changes_the_spacing_at_its_time() {
        // 1000/s, no ramp, down to 100/s at 2 s: slot 2000 is the first at the new rate.
        let step = Some((Duration::from_secs(2), 100.0));
        let d = |i| stepped_slot_offset(i, 1000.0, Duration::ZERO, step);
        assert_eq!(d(1999), Duration::from_millis(1999));
        assert_eq!(d(2000), Duration::from_secs(2));
        assert_eq!(d(2001), Duration::from_millis(2010));
        assert_eq!(d(2100), Duration::from_secs(3));
        // With a ramp of 1 s first: 500 calls in it, then 1000/s until 2 s.
        let d = |i| stepped_slot_offset(i, 1000.0, Duration::from_secs(1), step);
        assert_eq!(d(1500), Duration::from_secs(2));
        assert_eq!(d(1501), Duration::from_millis(2010));
    }
}
