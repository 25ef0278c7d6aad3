//! Bearer tokens: the evaluation token and the admin token.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret};

/// Bearer tokens. Set them through the environment or files, never in a committed config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Token evaluation calls must carry (`authorization: Bearer …`); off unless set. Usually
    /// `RISKGATE_AUTH__EVALUATION_TOKEN`.
    pub evaluation_token: Option<Secret>,
    /// File holding that token (trailing newline ignored), e.g. a mounted Kubernetes Secret.
    pub evaluation_token_file: Option<PathBuf>,
    /// Serve evaluation and Radar Session calls without a credential on a gRPC address that is
    /// not loopback. Off: such a server refuses to start unless it has the evaluation token or
    /// mTLS (`tls.client_ca_path`). Loopback addresses and the Unix socket never need one: only
    /// processes on the same machine (or, for the socket, with access to its file) reach them.
    pub allow_unauthenticated: bool,
}

impl AuthConfig {
    /// The evaluation token, read from its file when configured that way. An empty (or
    /// all-blank) token is an error, never "no token".
    pub fn evaluation_token(&self) -> Result<Option<Secret>, ConfigError> {
        let token = match (&self.evaluation_token, &self.evaluation_token_file) {
            (Some(token), None) => Some(token.clone()),
            (None, Some(path)) => Some(Secret::from_file(path)?),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "auth.evaluation_token and auth.evaluation_token_file are both set; keep one"
                        .into(),
                ));
            }
        };
        usable("auth.evaluation_token", token)
    }

    /// Whether evaluation calls will need a credential: the token, or mTLS client certificates.
    pub(super) fn has_credential(&self, mtls: bool) -> bool {
        self.evaluation_token.is_some() || self.evaluation_token_file.is_some() || mtls
    }
}

/// Refuses a token that is empty or blank: "Bearer " would otherwise match it.
fn usable(key: &str, token: Option<Secret>) -> Result<Option<Secret>, ConfigError> {
    match token {
        Some(t) if t.expose().trim().is_empty() => Err(ConfigError::Invalid(format!(
            "{key} must not be empty (leave it out for none)"
        ))),
        Some(t) if t.expose().trim() != t.expose() => Err(ConfigError::Invalid(format!(
            "{key} must not start or end with blanks (a bearer header is trimmed)"
        ))),
        other => Ok(other),
    }
}

impl Config {
    /// The admin token, read from `admin_token_file` when configured that way. An empty (or
    /// all-blank) token is an error, never "no token".
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        let token = match (&self.admin_token, &self.admin_token_file) {
            (Some(token), None) => Some(token.clone()),
            (None, Some(path)) => Some(Secret::from_file(path)?),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "admin_token and admin_token_file are both set; keep one".into(),
                ));
            }
        };
        usable("admin_token", token)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{
        Overrides,
        fixtures::{env, write},
    };

    #[test]
    fn rules_admin_token_and_deprecated_actions() {
        let f = write("admin_token = \"very-secret-token\"\n[rules]\npath = \"rules.txt\"\n");
        let c = Config::from_file(f.path()).unwrap();
        assert_eq!(
            c.admin_token.as_ref().map(Secret::expose),
            Some("very-secret-token")
        );
        assert_eq!(c.rules.path.as_deref(), Some(Path::new("rules.txt")));
        // `config show` never prints the token.
        assert!(!toml::to_string(&c).unwrap().contains("very-secret-token"));
        let c = Config::load(
            None,
            env(&[("RISKGATE_ADMIN_TOKEN", "from-the-environment")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.admin_token.as_ref().map(Secret::expose),
            Some("from-the-environment")
        );

        let f = write("[rules]\npath = \"rules.txt\"\n[actions]\nelevated = \"review\"\n");
        let err = Config::from_file(f.path()).unwrap_err().to_string();
        assert!(
            err.contains("actions.* applies only without a rules file"),
            "{err}"
        );
        let f = write("admin_token = \" \"\n");
        assert!(Config::from_file(f.path()).is_err());
    }

    #[test]
    fn admin_token_from_a_file_and_the_flag_wins() {
        let token = write("file-admin-token\n");
        let vars = [("RISKGATE_ADMIN_TOKEN_FILE", token.path().to_str().unwrap())];
        let c = Config::load(None, env(&vars), Overrides::default()).unwrap();
        assert_eq!(
            c.admin_token().unwrap().unwrap().expose(),
            "file-admin-token"
        );
        assert!(!format!("{c:?}").contains("file-admin-token"));
        let flag_file = write("flag-token\n");
        let flag = Overrides {
            admin_token_file: Some(flag_file.path().to_owned()),
            ..Overrides::default()
        };
        let with_env_token = [("RISKGATE_ADMIN_TOKEN", "env-token")];
        for vars in [&vars[..], &with_env_token[..]] {
            let c = Config::load(None, env(vars), flag.clone()).unwrap();
            assert_eq!(c.admin_token().unwrap().unwrap().expose(), "flag-token");
        }
        let both = write(&format!(
            "admin_token = \"x-token\"\nadmin_token_file = {:?}\n",
            token.path()
        ));
        let err = Config::from_file(both.path()).unwrap_err().to_string();
        assert!(err.contains("admin_token and admin_token_file"), "{err}");
        let missing = Config::load(
            None,
            env(&[("RISKGATE_ADMIN_TOKEN_FILE", "/nonexistent/riskgate-token")]),
            Overrides::default(),
        )
        .unwrap();
        assert!(missing.admin_token().is_err());
    }

    #[test]
    fn empty_and_blank_tokens_are_refused() {
        for (key, value) in [
            ("RISKGATE_ADMIN_TOKEN", ""),
            ("RISKGATE_AUTH__EVALUATION_TOKEN", ""),
            ("RISKGATE_AUTH__EVALUATION_TOKEN", "   "),
            ("RISKGATE_AUTH__EVALUATION_TOKEN", " padded "),
        ] {
            let err = Config::load(None, env(&[(key, value)]), Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("must not"), "{key}={value:?}: {err}");
        }
        let blank = write("  \n");
        let c = Config::load(
            None,
            env(&[(
                "RISKGATE_AUTH__EVALUATION_TOKEN_FILE",
                blank.path().to_str().unwrap(),
            )]),
            Overrides::default(),
        )
        .unwrap();
        assert!(c.auth.evaluation_token().is_err());
    }

    #[test]
    fn a_non_loopback_grpc_address_needs_a_credential() {
        let open = [("RISKGATE_GRPC__ADDR", "0.0.0.0:50051")];
        let err = Config::load(None, env(&open), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("0.0.0.0:50051") && err.contains("auth.allow_unauthenticated"),
            "{err}"
        );
        let mut vars = open.to_vec();
        vars.push(("RISKGATE_AUTH__EVALUATION_TOKEN", "a-long-token"));
        assert!(Config::load(None, env(&vars), Overrides::default()).is_ok());
        let mut vars = open.to_vec();
        vars.push(("RISKGATE_AUTH__ALLOW_UNAUTHENTICATED", "true"));
        assert!(Config::load(None, env(&vars), Overrides::default()).is_ok());
        // mTLS is a credential too.
        let mut vars = open.to_vec();
        vars.extend([
            ("RISKGATE_TLS__CERT_PATH", "c.pem"),
            ("RISKGATE_TLS__KEY_PATH", "k.pem"),
            ("RISKGATE_TLS__CLIENT_CA_PATH", "ca.pem"),
        ]);
        assert!(Config::load(None, env(&vars), Overrides::default()).is_ok());
        // Loopback (v4 and v6) needs none.
        for addr in ["127.0.0.1:50051", "[::1]:50051"] {
            let c = Config::load(
                None,
                env(&[("RISKGATE_GRPC__ADDR", addr)]),
                Overrides::default(),
            );
            assert!(c.is_ok(), "{addr}");
        }
    }
}
