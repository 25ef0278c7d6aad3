//! Secrets: strings that never print, read from the file, a file it names, or the environment.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A secret string: printed and serialized as `[redacted]`, so it never reaches logs or
/// `riskgate config show`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from a file, without its trailing newline.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let value = text.trim_end_matches(['\n', '\r']).to_owned();
        if value.is_empty() {
            return Err(ConfigError::Invalid(format!("{} is empty", path.display())));
        }
        Ok(Self(value))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// The secret `key`: its value, else its file, else `env_value` (empty = unset).
pub(super) fn resolve_secret(
    key: &str,
    value: Option<&Secret>,
    file: Option<&Path>,
    env_value: Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "{key} and {key}_file are both set; keep one"
        ))),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(path)) => Secret::from_file(path).map(Some),
        (None, None) => Ok(env_value.filter(|v| !v.is_empty()).map(Secret::new)),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{
        Config, Overrides,
        fixtures::{env, write},
    };

    #[test]
    fn secrets_never_print() {
        let c = Config::load(
            None,
            env(&[("RISKGATE_AUTH__EVALUATION_TOKEN", "tok-123")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.auth.evaluation_token().unwrap().unwrap().expose(),
            "tok-123"
        );
        assert!(!format!("{c:?}").contains("tok-123"));
        assert!(!toml::to_string(&c).unwrap().contains("tok-123"));
        let f = write("tok-456\n");
        let c = Config::load(
            None,
            env(&[(
                "RISKGATE_AUTH__EVALUATION_TOKEN_FILE",
                f.path().to_str().unwrap(),
            )]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.auth.evaluation_token().unwrap().unwrap().expose(),
            "tok-456"
        );
    }
}
