//! The semantic checks: what the types alone cannot say about a configuration.

use riskgate_core::decision::LevelActions;

use super::{Config, ConfigError};

/// More worker threads than this is a typo, not a machine.
const MAX_WORKER_THREADS: usize = 1024;

impl Config {
    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        self.reviews.validate()?;
        if let Err(m) = self.risk.validate() {
            return invalid(format!("risk: {m}"));
        }
        if let Err(m) =
            riskgate_core::reference::FxTable::new(self.fx.iter().map(|(k, v)| (k.as_str(), *v)))
        {
            return invalid(m);
        }
        if self.grpc.concurrency_limit == 0 {
            return invalid("grpc.concurrency_limit must be at least 1".into());
        }
        if self.grpc.cpu_target_percent > 98 {
            return invalid(format!(
                "grpc.cpu_target_percent ({}) must be at most 98 (0 = off)",
                self.grpc.cpu_target_percent
            ));
        }
        if self.grpc.max_concurrent_streams == 0 {
            return invalid("grpc.max_concurrent_streams must be at least 1".into());
        }
        if self.grpc.max_request_bytes < 1024 {
            return invalid("grpc.max_request_bytes must be at least 1024".into());
        }
        if self.runtime.worker_threads > MAX_WORKER_THREADS {
            return invalid(format!(
                "runtime.worker_threads ({}) must be at most {MAX_WORKER_THREADS} (0 = one per CPU)",
                self.runtime.worker_threads
            ));
        }
        if self.rules.path.is_some() && self.actions != LevelActions::default() {
            return invalid(
                "actions.* applies only without a rules file; with rules.path set, write the \
                 level rules in the file (e.g. `Review if :risk_level: = 'elevated'`)"
                    .into(),
            );
        }
        if self.admin_token.is_some() && self.admin_token_file.is_some() {
            return invalid("admin_token and admin_token_file are both set; keep one".into());
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
        {
            return invalid("admin_token must not be empty (leave it out for none)".into());
        }
        if let Some(Err(m)) = self
            .model
            .calibration
            .as_deref()
            .map(riskgate_core::model::calibration::Calibration::new)
        {
            return invalid(format!("model.calibration: {m}"));
        }
        if self.audit.max_bytes < 4096 {
            return invalid("audit.max_bytes must be at least 4096".into());
        }
        if self.scoring.upstream_max_ms == 0 {
            return invalid("scoring.upstream_max_ms must be at least 1".into());
        }
        if !(self.stripe.base_url.starts_with("https://")
            || self.stripe.base_url.starts_with("http://"))
        {
            return invalid(format!(
                "stripe.base_url {:?} must start with https:// (or http:// for a local fake)",
                self.stripe.base_url
            ));
        }
        if self.stripe.breaker_failure_threshold == 0 {
            return invalid("stripe.breaker_failure_threshold must be at least 1".into());
        }
        if self.webhooks.dedupe_capacity == 0 {
            return invalid("webhooks.dedupe_capacity must be at least 1".into());
        }
        if self.webhooks.max_attempts == 0 || self.webhooks.concurrency == 0 {
            return invalid(
                "webhooks.max_attempts and webhooks.concurrency must be at least 1".into(),
            );
        }
        if self.webhooks.charge_fetch_budget_ms == 0 {
            return invalid("webhooks.charge_fetch_budget_ms must be at least 1".into());
        }
        if self.idempotency.retention_secs == 0 {
            return invalid("idempotency.retention_secs must be at least 1".into());
        }
        match (&self.tls.cert_path, &self.tls.key_path) {
            (Some(_), None) | (None, Some(_)) => {
                return invalid("tls.cert_path and tls.key_path go together".into());
            }
            (None, None) if self.tls.client_ca_path.is_some() => {
                return invalid(
                    "tls.client_ca_path (mTLS) needs tls.cert_path and tls.key_path".into(),
                );
            }
            _ => {}
        }
        if self.grpc.max_call_secs == 0 {
            return invalid("grpc.max_call_secs must be at least 1".into());
        }
        if self.tls.reload_interval_secs == 0 {
            return invalid("tls.reload_interval_secs must be at least 1".into());
        }
        // === harden (issue 18): listener bounds ===
        if self.grpc.max_header_list_bytes < 1024 {
            return invalid("grpc.max_header_list_bytes must be at least 1024".into());
        }
        for (key, value) in [
            ("admin.max_connections", self.admin.max_connections as u64),
            (
                "admin.header_read_timeout_secs",
                self.admin.header_read_timeout_secs,
            ),
            ("admin.idle_timeout_secs", self.admin.idle_timeout_secs),
        ] {
            if value == 0 {
                return invalid(format!("{key} must be at least 1"));
            }
        }
        // === harden (issue 18): credentials ===
        for (key, token) in [
            ("admin_token", self.admin_token.as_ref()),
            ("auth.evaluation_token", self.auth.evaluation_token.as_ref()),
        ] {
            if let Some(t) = token
                && !t.expose().trim().is_empty()
                && t.expose().trim() != t.expose()
            {
                return invalid(format!(
                    "{key} must not start or end with blanks (a bearer header is trimmed)"
                ));
            }
        }
        if self
            .auth
            .evaluation_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
        {
            return invalid(
                "auth.evaluation_token must not be empty (leave it out for none)".into(),
            );
        }
        if !self.grpc.addr.ip().is_loopback()
            && !self.auth.allow_unauthenticated
            && !self.auth.has_credential(self.tls.client_ca_path.is_some())
        {
            return invalid(format!(
                "grpc.addr {} is not a loopback address, so other machines can reach it: set the \
                 evaluation token (auth.evaluation_token_file or RISKGATE_AUTH__EVALUATION_TOKEN) \
                 or mTLS (tls.client_ca_path), or set auth.allow_unauthenticated = true to serve \
                 without a credential on purpose",
                self.grpc.addr
            ));
        }
        if self.auth.evaluation_token.is_some() && self.auth.evaluation_token_file.is_some() {
            return invalid(
                "auth.evaluation_token and auth.evaluation_token_file are both set; keep one"
                    .into(),
            );
        }
        if self
            .model
            .path
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return invalid(
                "model.path must not be empty (leave it out for the default model)".into(),
            );
        }
        if let Some(url) = &self.redis.url {
            let seeds: Vec<&str> = url.split(',').map(str::trim).collect();
            if seeds.iter().any(|u| {
                !(u.starts_with("redis://")
                    || u.starts_with("rediss://")
                    || u.starts_with("redis+unix://"))
            }) {
                return invalid(
                    "redis.url must be redis://, rediss:// or redis+unix:// URLs, comma-separated \
                     for cluster seed nodes"
                        .into(),
                );
            }
            if seeds.len() > 1 && self.redis.mode == crate::config::RedisMode::Standalone {
                return invalid(
                    "redis.url lists several seed nodes but redis.mode is standalone".into(),
                );
            }
        }
        // === harden (issue 18): Redis auth and TLS ===
        let r = &self.redis;
        let tls = r.url.as_deref().is_some_and(|u| u.starts_with("rediss://"));
        if (r.tls_ca_path.is_some() || r.tls_cert_path.is_some()) && !tls {
            return invalid(
                "redis.tls_ca_path and redis.tls_cert_path need a rediss:// redis.url".into(),
            );
        }
        if r.tls_cert_path.is_some() != r.tls_key_path.is_some() {
            return invalid("redis.tls_cert_path and redis.tls_key_path go together".into());
        }
        if r.password_file.is_some()
            && r.url
                .as_deref()
                .is_some_and(|u| crate::config::redact_url(u) != u)
        {
            return invalid(
                "redis.url carries a password and redis.password_file is set; keep one (the file)"
                    .into(),
            );
        }
        // === pseudonym key (issue 18, harden-core) ===
        if self.redis.url.is_some() && self.pseudonym.key_file.is_none() {
            return invalid(
                "redis.url needs pseudonym.key_file: every replica sharing Redis must compute \
                 velocity keys under the same secret (README: Pseudonym key)"
                    .into(),
            );
        }
        if self.redis.budget_ms == 0 {
            return invalid("redis.budget_ms must be at least 1".into());
        }
        let st = &self.stripe;
        if st.breaker_error_rate_percent > 100 {
            return invalid("stripe.breaker_error_rate_percent must be 0 to 100".into());
        }
        if st.breaker_error_rate_percent > 0 && st.breaker_window_secs == 0 {
            return invalid(
                "stripe.breaker_window_secs must be at least 1 with an error rate set".into(),
            );
        }
        for (key, version) in [
            ("stripe.api_version", &st.api_version),
            ("stripe.charges_api_version", &st.charges_api_version),
            ("stripe.lists_api_version", &st.lists_api_version),
        ] {
            if !super::is_api_version(version) {
                return invalid(format!(
                    "{key} {version:?} is not a Stripe API version (YYYY-MM-DD.name, e.g. {})",
                    super::DEFAULT_API_VERSION
                ));
            }
        }
        if st.api_version.as_str() < "2026-01-28" {
            return invalid(format!(
                "stripe.api_version {:?} predates Payment Evaluations (first published under                  2026-01-28.clover and 2026-01-28.preview)",
                st.api_version
            ));
        }
        if st.private_preview && !st.api_version.ends_with(".preview") {
            return invalid(format!(
                "stripe.private_preview needs a .preview stripe.api_version (got {:?}): the                  private preview's parameters exist only there",
                st.api_version
            ));
        }
        if st.report_outcomes && st.outcome_queue_capacity == 0 {
            return invalid("stripe.outcome_queue_capacity must be at least 1".into());
        }
        if !st
            .list_sync_alias_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return invalid(
                "stripe.list_sync_alias_prefix may hold only letters, digits, `_`, `-` and `.` \
                 (it starts list aliases)"
                    .into(),
            );
        }
        if st.outcome_report_budget_ms == 0 || st.list_sync_budget_secs == 0 {
            return invalid(
                "stripe.outcome_report_budget_ms and stripe.list_sync_budget_secs must be at \
                 least 1"
                    .into(),
            );
        }
        let e = &self.enrichment;
        for (key, value) in [
            ("session_ttl_secs", e.session_ttl_secs),
            (
                "payment_method_session_ttl_secs",
                e.payment_method_session_ttl_secs,
            ),
            ("velocity_idle_expiry_secs", e.velocity_idle_expiry_secs),
            (
                "velocity_sweep_interval_secs",
                e.velocity_sweep_interval_secs,
            ),
            ("outcome_retention_secs", e.outcome_retention_secs),
        ] {
            if value == 0 {
                return invalid(format!("enrichment.{key} must be at least 1"));
            }
        }
        // === memory bounds (issue 18, harden-core) ===
        for (key, value) in [
            ("velocity_max_bytes", e.velocity_max_bytes),
            ("session_max_bytes", e.session_max_bytes),
            (
                "payment_method_session_max_bytes",
                e.payment_method_session_max_bytes,
            ),
        ] {
            if value < 1024 * 1024 {
                return invalid(format!("enrichment.{key} must be at least 1048576 (1 MiB)"));
            }
        }
        if e.velocity_idle_expiry_secs < 8 * 86_400 {
            return invalid(
                "enrichment.velocity_idle_expiry_secs must be at least 691200 (8 days) so the \
                 weekly windows stay whole"
                    .into(),
            );
        }
        if self
            .grpc
            .uds_path
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return invalid("grpc.uds_path must not be empty (leave it out to disable)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        Overrides,
        fixtures::{env, write},
    };

    #[test]
    fn tls_settings_go_together() {
        let f = write("[tls]\ncert_path = \"a.pem\"\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("go together")
        );
        let f = write("[tls]\nclient_ca_path = \"ca.pem\"\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("mTLS")
        );
    }

    #[test]
    fn semantic_errors_are_reported() {
        let f = write("[risk]\nelevated_from = 70\nhighest_from = 65\n");
        let err = Config::from_file(f.path()).unwrap_err().to_string();
        assert!(err.contains("elevated_from < highest_from"), "{err}");
        let f = write("[fx]\nxyz = 1.0\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("fx.xyz")
        );
        let f = write("[model]\ncalibration = [[0.0, 0], [1.0, 120]]\n");
        let err = Config::from_file(f.path()).unwrap_err().to_string();
        assert!(
            err.contains("model.calibration") && err.contains("0–99"),
            "{err}"
        );
        let f = write("[model]\ncalibration = [[0.0, 0], [0.02, 20], [0.3, 65], [1.0, 99]]\n");
        assert!(Config::from_file(f.path()).is_ok());
        let f = write("[grpc]\nconcurrency_limit = 0\n");
        assert!(Config::from_file(f.path()).is_err());
        for (toml, key) in [
            (
                "[grpc]\ncpu_target_percent = 99\n",
                "grpc.cpu_target_percent",
            ),
            (
                "[stripe]\nbreaker_error_rate_percent = 150\n",
                "stripe.breaker_error_rate_percent",
            ),
            (
                "[stripe]\nlist_sync_alias_prefix = \"a b\"\n",
                "stripe.list_sync_alias_prefix",
            ),
            (
                "[stripe]\nreport_outcomes = true\noutcome_queue_capacity = 0\n",
                "stripe.outcome_queue_capacity",
            ),
            (
                "[stripe]\ncharges_api_version = \"latest\"\n",
                "stripe.charges_api_version",
            ),
            (
                "[stripe]\napi_version = \"2025-09-30.clover\"\n",
                "predates Payment Evaluations",
            ),
            (
                "[stripe]\nprivate_preview = true\n",
                "stripe.private_preview",
            ),
            (
                "[runtime]\nworker_threads = 5000\n",
                "runtime.worker_threads",
            ),
        ] {
            let err = Config::from_file(write(toml).path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
        let f = write("[actions]\nhighest = \"explode\"\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("explode")
        );
        let f = write("[grpc\n");
        assert!(
            Config::from_file(f.path())
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }

    #[test]
    fn enrichment_and_redis_settings_are_checked() {
        let c = Config::load(
            None,
            env(&[
                ("RISKGATE_REDIS__URL", "redis://127.0.0.1:6390"),
                ("RISKGATE_PSEUDONYM__KEY_FILE", "/run/secrets/pseudonym-key"),
                ("RISKGATE_ENRICHMENT__SESSION_TTL_SECS", "60"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.redis.url.as_deref(), Some("redis://127.0.0.1:6390"));
        assert_eq!(c.enrichment.session_ttl_secs, 60);
        let c = Config::load(
            None,
            env(&[("RISKGATE_PSEUDONYM__KEY_FILE", "/run/secrets/pseudonym-key")]),
            Overrides {
                redis_url: Some("redis://10.0.0.1:6379".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.redis.url.as_deref(), Some("redis://10.0.0.1:6379"));
        // Replicas sharing Redis must share the pseudonym key: it must be configured.
        let e = Config::load(
            None,
            [],
            Overrides {
                redis_url: Some("redis://10.0.0.1:6379".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("pseudonym.key_file"), "{e}");
        for bad in [
            "[redis]\nurl = \"http://x\"\n",
            "[redis]\nbudget_ms = 0\n",
            "[enrichment]\nvelocity_idle_expiry_secs = 3600\n",
            "[enrichment]\noutcome_retention_secs = 0\n",
            "[enrichment]\nvelocity_max_bytes = 1000\n",
            "[enrichment]\nsession_max_bytes = 0\n",
        ] {
            let f = write(bad);
            assert!(Config::from_file(f.path()).is_err(), "{bad}");
        }
    }
}
