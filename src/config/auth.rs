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
}

impl AuthConfig {
    /// The evaluation token, read from its file when configured that way.
    pub fn evaluation_token(&self) -> Result<Option<Secret>, ConfigError> {
        match (&self.evaluation_token, &self.evaluation_token_file) {
            (Some(token), None) => Ok(Some(token.clone())),
            (None, Some(path)) => Secret::from_file(path).map(Some),
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ConfigError::Invalid(
                "auth.evaluation_token and auth.evaluation_token_file are both set; keep one"
                    .into(),
            )),
        }
    }
}

impl Config {
    /// The admin token, read from `admin_token_file` when configured that way.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        match (&self.admin_token, &self.admin_token_file) {
            (Some(token), None) => Ok(Some(token.clone())),
            (None, Some(path)) => Secret::from_file(path).map(Some),
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ConfigError::Invalid(
                "admin_token and admin_token_file are both set; keep one".into(),
            )),
        }
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
        let flag = Overrides {
            admin_token: Some(Secret::new("flag-token")),
            ..Overrides::default()
        };
        let c = Config::load(None, env(&vars), flag).unwrap();
        assert_eq!(c.admin_token().unwrap().unwrap().expose(), "flag-token");
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
}
