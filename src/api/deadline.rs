//! The caller's deadline, read from `grpc-timeout`.
//!
//! tonic enforces `grpc-timeout` itself but answers CANCELLED; a payments client expects
//! DEADLINE_EXCEEDED. So the handler reads the header, keeps a small margin back, and answers
//! DEADLINE_EXCEEDED itself before tonic's timer fires. The remaining budget is what upstream calls
//! may use.

use std::{future::Future, time::Duration};

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

use crate::api::error::ApiError;

/// The header gRPC clients send their deadline in.
pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// A malformed `grpc-timeout`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "malformed grpc-timeout header {0:?}: expected 1 to 8 digits and a unit (H, M, S, m, u, n)"
)]
pub struct BadTimeout(pub String);

/// When the answer must be out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The caller's timeout.
    pub budget: Duration,
    received: Instant,
    /// `received + budget - margin`.
    at: Instant,
}

impl Deadline {
    /// A deadline `budget` from now, answering `margin` early.
    pub fn new(budget: Duration, margin: Duration) -> Self {
        let received = Instant::now();
        Self {
            budget,
            received,
            at: received + budget.saturating_sub(margin),
        }
    }

    /// The deadline of a call, if it has one.
    pub fn from_metadata(
        metadata: &MetadataMap,
        margin: Duration,
    ) -> Result<Option<Self>, BadTimeout> {
        let Some(value) = metadata.get(GRPC_TIMEOUT) else {
            return Ok(None);
        };
        let text = value
            .to_str()
            .map_err(|_| BadTimeout("<non-ascii>".into()))?;
        Ok(Some(Self::new(parse_grpc_timeout(text)?, margin)))
    }

    /// When the answer is due (the caller's deadline less the margin).
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Time left before the answer is due.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Fails when the deadline has passed.
    pub fn check(&self) -> Result<(), ApiError> {
        if Instant::now() >= self.at {
            Err(self.exceeded())
        } else {
            Ok(())
        }
    }

    /// Runs `fut` until the deadline.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, ApiError> {
        tokio::time::timeout_at(self.at, fut)
            .await
            .map_err(|_| self.exceeded())
    }

    fn exceeded(&self) -> ApiError {
        ApiError::DeadlineExceeded {
            budget: self.budget,
            elapsed: self.received.elapsed(),
        }
    }
}

/// Parses a `grpc-timeout` value: up to 8 ASCII digits and a unit.
pub fn parse_grpc_timeout(text: &str) -> Result<Duration, BadTimeout> {
    let bad = || BadTimeout(text.to_owned());
    let (digits, unit) = text
        .split_at_checked(text.len().saturating_sub(1))
        .ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    Ok(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_grpc_timeout("2H"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("1S"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_grpc_timeout("250m"), Ok(Duration::from_millis(250)));
        assert_eq!(
            parse_grpc_timeout("99999999u"),
            Ok(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_grpc_timeout("7n"), Ok(Duration::from_nanos(7)));
        for bad in ["", "m", "10", "123456789m", "1.5S", "-1S", "10x", "١m"] {
            assert!(parse_grpc_timeout(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn answers_before_the_caller_gives_up() {
        let d = Deadline::new(Duration::from_millis(100), Duration::from_millis(1));
        assert_eq!(d.remaining(), Duration::from_millis(99));
        assert!(d.check().is_ok());
        let slow = d.run(tokio::time::sleep(Duration::from_secs(1))).await;
        assert!(matches!(slow, Err(ApiError::DeadlineExceeded { .. })));
        assert_eq!(d.remaining(), Duration::ZERO);
        assert!(d.check().is_err());

        let d = Deadline::new(Duration::from_millis(100), Duration::from_millis(1));
        assert_eq!(d.run(async { 7 }).await.unwrap(), 7);
    }

    #[test]
    fn reads_the_header() {
        let mut md = MetadataMap::new();
        assert_eq!(Deadline::from_metadata(&md, Duration::ZERO), Ok(None));
        md.insert(GRPC_TIMEOUT, "5S".parse().unwrap());
        let d = Deadline::from_metadata(&md, Duration::ZERO)
            .unwrap()
            .unwrap();
        assert_eq!(d.budget, Duration::from_secs(5));
        md.insert(GRPC_TIMEOUT, "soon".parse().unwrap());
        assert!(Deadline::from_metadata(&md, Duration::ZERO).is_err());
    }
}
