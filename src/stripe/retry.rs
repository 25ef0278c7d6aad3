//! When a call to Stripe is tried again, and after how long: as Stripe's official SDKs decide
//! (stripe-node `RequestSender._shouldRetry` and `_getSleepTimeInMS`, stripe-python
//! `_should_retry` and `_sleep_time_seconds`; stripe-go before 2025-04): a broken connection is
//! retried; `Stripe-Should-Retry: false` stops and `true` retries, whatever the status; otherwise
//! 409 and 5xx are retried, and nothing else — a 429 only when Stripe says so. The backoff is the
//! SDKs' formula on riskgate's millisecond scale (see [`RetryPolicy`]).

use std::time::Duration;

use http::StatusCode;

/// Retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each time, with jitter (50–100 %).
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The backoff before retry `n` (0-based), as stripe-node and stripe-python compute it:
    /// `min(initial·2ⁿ, max)`, jittered to 50–100 %, never below `initial`.
    pub(crate) fn backoff(&self, n: u32) -> Duration {
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << n.min(16))
            .min(self.max_backoff);
        base.mul_f64(0.5 + fastrand::f64() * 0.5)
            .max(self.initial_backoff)
    }
}

/// Whether an error answer may be retried, as Stripe's SDKs decide: `Stripe-Should-Retry` when
/// Stripe sent it, else 409 and 5xx. 429 is retried only when Stripe says so.
pub fn retryable(status: StatusCode, should_retry: Option<bool>) -> bool {
    should_retry.unwrap_or(status == StatusCode::CONFLICT || status.is_server_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_never_below_the_initial_backoff() {
        let p = RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        };
        for _ in 0..50 {
            // stripe-node: the first retry sleeps exactly the initial delay (jitter floored).
            assert_eq!(p.backoff(0), Duration::from_millis(10));
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(10) && b1 <= Duration::from_millis(20));
            let b5 = p.backoff(5);
            assert!(b5 >= Duration::from_millis(20) && b5 <= Duration::from_millis(40));
        }
    }

    #[test]
    fn retries_are_decided_as_stripes_sdks_decide() {
        let s = |c| StatusCode::from_u16(c).unwrap();
        // Without Stripe-Should-Retry: 409 and 5xx only.
        for (code, retry) in [
            (409, true),
            (500, true),
            (503, true),
            (429, false),
            (400, false),
        ] {
            assert_eq!(retryable(s(code), None), retry, "{code}");
        }
        // The header decides either way, 429 included.
        assert!(retryable(s(429), Some(true)));
        assert!(retryable(s(400), Some(true)));
        assert!(!retryable(s(503), Some(false)));
        assert!(!retryable(s(409), Some(false)));
    }
}
