//! The admin token check for value-list and admin RPCs: gRPC metadata `authorization: Bearer TOKEN`,
//! compared in constant time. Evaluations never need it.

use std::sync::Arc;

use tonic::metadata::MetadataMap;

use super::error::ApiError;

/// The configured admin token, if any.
#[derive(Clone, Default)]
pub struct AdminAuth {
    token: Option<Arc<[u8]>>,
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
            token: token.map(|t| Arc::from(t.as_bytes())),
        }
    }

    /// Accepts the call when it carries the configured token.
    pub fn check(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        let Some(expected) = &self.token else {
            return Err(ApiError::Unauthenticated(
                "admin calls are disabled: start riskgate with --admin-token (or RISKGATE_ADMIN_TOKEN)",
            ));
        };
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or(ApiError::Unauthenticated(
                "missing admin token: send metadata `authorization: Bearer TOKEN`",
            ))?;
        if constant_time_eq(presented.trim().as_bytes(), expected) {
            Ok(())
        } else {
            Err(ApiError::Unauthenticated("invalid admin token"))
        }
    }
}

/// Compares without an early exit, so the time taken does not reveal how much of a guess was right
/// (the length may show; tokens are long random strings).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(value: Option<&str>) -> MetadataMap {
        let mut m = MetadataMap::new();
        if let Some(v) = value {
            m.insert("authorization", v.parse().unwrap());
        }
        m
    }

    #[test]
    fn bearer_token_is_required() {
        let auth = AdminAuth::new(Some("s3cret-token"));
        assert!(auth.check(&md(Some("Bearer s3cret-token"))).is_ok());
        for bad in [
            None,
            Some("Bearer wrong"),
            Some("s3cret-token"),
            Some("Bearer s3cret-toke"),
        ] {
            let e = auth.check(&md(bad)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{bad:?}");
        }
        let off = AdminAuth::new(None);
        let e = off.check(&md(Some("Bearer anything"))).unwrap_err();
        assert!(e.to_string().contains("--admin-token"));
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
