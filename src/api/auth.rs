//! Bearer tokens (gRPC metadata `authorization: Bearer TOKEN`), checked in one place for every RPC
//! that needs one:
//! - the admin token guards value-list mutations and admin RPCs; without one configured those calls
//!   are refused;
//! - the evaluation token, when configured, guards evaluation calls (a tonic interceptor).
//!
//! Tokens are compared as SHA-256 digests in constant time, so neither their content nor their
//! length leaks through timing; the tokens themselves are never logged.

use sha2::{Digest, Sha256};
use tonic::{Request, Status, metadata::MetadataMap, service::Interceptor};

use crate::api::error::ApiError;
use crate::telemetry;

/// One configured token, kept only as its digest.
#[derive(Clone)]
struct Token([u8; 32]);

impl Token {
    fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Checks the call's bearer token against this one.
    fn check(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or(ApiError::Unauthenticated(
                "missing bearer token: send metadata `authorization: Bearer TOKEN`",
            ))?;
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        let diff = digest
            .iter()
            .zip(&self.0)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y));
        if std::hint::black_box(diff) == 0 {
            Ok(())
        } else {
            Err(ApiError::Unauthenticated("invalid bearer token"))
        }
    }
}

fn refused(e: ApiError) -> ApiError {
    metrics::counter!(telemetry::AUTH_FAILURES).increment(1);
    e
}

/// The admin token check for value-list and admin RPCs.
#[derive(Clone, Default)]
pub struct AdminAuth {
    token: Option<Token>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAuth")
            .field("configured", &self.token.is_some())
            .finish()
    }
}

impl AdminAuth {
    pub fn new(token: Option<&str>) -> Self {
        Self {
            token: token.map(Token::new),
        }
    }

    /// Accepts the call when it carries the configured token; refuses every call when none is
    /// configured.
    pub fn check(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Err(refused(ApiError::Unauthenticated(
                "admin calls are disabled: start riskgate with --admin-token (or RISKGATE_ADMIN_TOKEN)",
            )));
        };
        token.check(metadata).map_err(refused)
    }

    /// Checks a token presented outside gRPC metadata (the review page's login form and its
    /// `Authorization: Bearer` header), like [`AdminAuth::check`].
    pub fn check_token(&self, presented: &str) -> Result<(), ApiError> {
        let mut metadata = MetadataMap::new();
        let value = format!("Bearer {presented}")
            .parse()
            .map_err(|_| refused(ApiError::Unauthenticated("invalid bearer token")))?;
        metadata.insert("authorization", value);
        self.check(&metadata)
    }
}

/// The evaluation token check: a tonic interceptor that lets every call through when no token is
/// configured.
#[derive(Clone, Default)]
pub struct EvaluationAuth {
    token: Option<Token>,
}

impl EvaluationAuth {
    pub fn new(token: Option<&str>) -> Self {
        Self {
            token: token.map(Token::new),
        }
    }
}

impl Interceptor for EvaluationAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        match &self.token {
            None => Ok(request),
            Some(token) => match token.check(request.metadata()) {
                Ok(()) => Ok(request),
                Err(e) => Err(refused(e).into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn md(value: Option<&str>) -> MetadataMap {
        let mut m = MetadataMap::new();
        if let Some(v) = value {
            m.insert("authorization", v.parse().unwrap());
        }
        m
    }

    const WRONG: [Option<&str>; 5] = [
        None,
        Some("Bearer wrong"),
        Some("s3cret-token"),
        Some("Bearer s3cret-toke"),
        Some("Basic s3cret-token"),
    ];

    #[test]
    fn admin_token_is_required() {
        let auth = AdminAuth::new(Some("s3cret-token"));
        assert!(auth.check(&md(Some("Bearer s3cret-token"))).is_ok());
        for bad in WRONG {
            let e = auth.check(&md(bad)).unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "{bad:?}");
            assert!(!e.to_string().contains("s3cret"));
        }
        let off = AdminAuth::new(None);
        let e = off.check(&md(Some("Bearer anything"))).unwrap_err();
        assert!(e.to_string().contains("--admin-token"));
    }

    #[test]
    fn evaluation_token_is_checked_only_when_configured() {
        let request = |v: Option<&str>| {
            let mut r = Request::new(());
            *r.metadata_mut() = md(v);
            r
        };
        assert!(EvaluationAuth::new(None).call(request(None)).is_ok());
        let mut auth = EvaluationAuth::new(Some("s3cret-token"));
        assert!(auth.call(request(Some("Bearer s3cret-token"))).is_ok());
        for bad in WRONG {
            assert_eq!(
                auth.call(request(bad)).unwrap_err().code(),
                Code::Unauthenticated,
                "{bad:?}"
            );
        }
    }
}
