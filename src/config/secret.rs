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

// === harden (issue 18): URLs with credentials ===

/// `url` with any password replaced by `[redacted]`: the `user:password@` part of the authority
/// and `pass=`/`password=` query values (redis+unix URLs carry them there). For printing only.
pub fn redact_url(url: &str) -> String {
    // A Redis Cluster seed list is several URLs, each with its own credentials.
    if url.contains(',') {
        return url
            .split(',')
            .map(redact_one_url)
            .collect::<Vec<_>>()
            .join(",");
    }
    redact_one_url(url)
}

fn redact_one_url(url: &str) -> String {
    const REDACTED: &str = "[redacted]";
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:{REDACTED}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _))
                        if k.eq_ignore_ascii_case("pass") || k.eq_ignore_ascii_case("password") =>
                    {
                        format!("{k}={REDACTED}")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

/// Serializes an optional URL with its password redacted (`config show`).
pub(super) fn serialize_redacted_url<S: serde::Serializer>(
    url: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => s.serialize_some(&redact_url(url)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{
        Config, Overrides,
        fixtures::{env, write},
    };

    #[test]
    fn passwords_in_urls_are_redacted() {
        use super::redact_url;
        for (url, shown) in [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "redis://:hunter2@10.0.0.1:6379/0",
                "redis://:[redacted]@10.0.0.1:6379/0",
            ),
            (
                "rediss://riskgate:hunter2@redis.svc:6380/0",
                "rediss://riskgate:[redacted]@redis.svc:6380/0",
            ),
            (
                "rediss://riskgate@redis.svc:6380",
                "rediss://riskgate@redis.svc:6380",
            ),
            (
                "redis://u:p%40ss:w@host/1?protocol=resp3",
                "redis://u:[redacted]@host/1?protocol=resp3",
            ),
            (
                "redis+unix:///run/redis.sock?db=1&pass=hunter2&user=u",
                "redis+unix:///run/redis.sock?db=1&pass=[redacted]&user=u",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        let c = Config::load(
            None,
            env(&[
                ("RISKGATE_REDIS__URL", "redis://rg:hunter2@127.0.0.1:6379"),
                ("RISKGATE_PSEUDONYM__KEY_FILE", "/run/secrets/pseudonym-key"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.redis.url.as_deref(),
            Some("redis://rg:hunter2@127.0.0.1:6379")
        );
        let shown = toml::to_string(&c).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("redis://rg:[redacted]@127.0.0.1:6379"),
            "{shown}"
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }

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

    #[test]
    fn every_seed_of_a_cluster_list_is_redacted() {
        let shown = super::redact_url("redis://u:p1@a:6379,rediss://u:p2@b:6380/0");
        assert_eq!(
            shown,
            "redis://u:[redacted]@a:6379,rediss://u:[redacted]@b:6380/0"
        );
    }
}
