//! Bearer-token authentication for gRPC calls (`authorization: Bearer TOKEN` metadata).
//!
//! Tokens are compared as SHA-256 digests in constant time, so neither their content nor their
//! length leaks through timing; the token itself is never logged.

use sha2::{Digest, Sha256};
use tonic::{Request, Status, service::Interceptor};

use crate::telemetry;

/// Checks the bearer token of each call; lets every call through when no token is configured.
#[derive(Clone)]
pub struct BearerAuth {
    expected: Option<[u8; 32]>,
}

impl BearerAuth {
    /// Requires `token` when it is `Some`.
    pub fn new(token: Option<&str>) -> Self {
        Self {
            expected: token.map(digest),
        }
    }

    /// Whether a call with these metadata may proceed.
    pub fn check(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), Status> {
        let Some(expected) = &self.expected else {
            return Ok(());
        };
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(token) if constant_time_eq(&digest(token), expected) => Ok(()),
            _ => {
                metrics::counter!(telemetry::AUTH_FAILURES).increment(1);
                Err(Status::unauthenticated(
                    "missing or wrong bearer token: send metadata `authorization: Bearer <token>`",
                ))
            }
        }
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(request.metadata()).map(|()| request)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use tonic::{Code, metadata::MetadataMap};

    use super::*;

    fn md(value: Option<&str>) -> MetadataMap {
        let mut m = MetadataMap::new();
        if let Some(v) = value {
            m.insert("authorization", v.parse().unwrap());
        }
        m
    }

    #[test]
    fn tokens_are_checked_only_when_configured() {
        assert!(BearerAuth::new(None).check(&md(None)).is_ok());
        let auth = BearerAuth::new(Some("s3cret"));
        assert!(auth.check(&md(Some("Bearer s3cret"))).is_ok());
        for bad in [
            None,
            Some("Bearer s3cre"),
            Some("Bearer s3cret "),
            Some("Basic s3cret"),
            Some("s3cret"),
        ] {
            let err = auth.check(&md(bad)).unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{bad:?}");
            assert!(!err.message().contains("s3cret"));
        }
    }
}
