//! Who made an admin call, for review histories and the audit log: the credential's name (the
//! admin token is the one credential, recorded as `admin`) and, when the caller names one, the
//! analyst (`riskgate-analyst: alice` → `alice via admin`). The analyst's name is what the caller
//! says — the credential is what was checked — so both are recorded.

use tonic::metadata::MetadataMap;

use crate::api::{auth::AdminAuth, error::ApiError};

/// The name the admin token is recorded under.
pub const ADMIN_CREDENTIAL: &str = "admin";
/// Metadata (and HTTP header) naming the analyst behind an admin call.
pub const ANALYST_METADATA: &str = "riskgate-analyst";
/// Longest analyst name kept.
const MAX_ANALYST_CHARS: usize = 64;

/// The actor of a call by `credential`, made by `analyst` if named: `alice via admin`, or the
/// credential alone. A name with characters outside letters, digits and ` .@_-` is ignored.
pub fn actor(credential: &str, analyst: Option<&str>) -> String {
    match analyst.map(str::trim).filter(|a| valid(a)) {
        Some(name) => format!("{name} via {credential}"),
        None => credential.to_owned(),
    }
}

fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_ANALYST_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '@' | '_' | '-'))
}

impl AdminAuth {
    /// Checks the call's admin token and returns its actor.
    pub fn actor(&self, metadata: &MetadataMap) -> Result<String, ApiError> {
        self.check(metadata)?;
        Ok(actor(
            ADMIN_CREDENTIAL,
            metadata.get(ANALYST_METADATA).and_then(|v| v.to_str().ok()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analyst_is_named_beside_the_credential() {
        assert_eq!(actor("admin", Some("alice")), "alice via admin");
        assert_eq!(actor("admin", Some("  Jörg M. ")), "Jörg M. via admin");
        assert_eq!(actor("admin", None), "admin");
        for bad in ["", "<script>", "a\nb", &"x".repeat(65)] {
            assert_eq!(actor("admin", Some(bad)), "admin", "{bad:?}");
        }
        let auth = AdminAuth::new(Some("s3cret-token"));
        let mut md = MetadataMap::new();
        md.insert("authorization", "Bearer s3cret-token".parse().unwrap());
        md.insert(ANALYST_METADATA, "bob".parse().unwrap());
        assert_eq!(auth.actor(&md).unwrap(), "bob via admin");
        assert!(auth.check_token("s3cret-token").is_ok());
        assert!(auth.check_token("wrong").is_err());
    }
}
