//! State kept between calls: enrichment, idempotent replays, value lists, and the Redis that shares
//! it between replicas.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The enrichment stage: Radar Sessions, IP country, the two-session check, velocity counters and
/// outcome reports (`src/enrich/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrichmentConfig {
    /// MaxMind DB file for `ip_country` (e.g. the CC0 geo-whois-asn-country database); unset = no
    /// IP country.
    pub geoip_mmdb_path: Option<PathBuf>,
    /// How long a recorded Radar Session is kept.
    pub session_ttl_secs: u64,
    /// Most Radar Sessions kept (the least recently used go first beyond it).
    pub session_max_entries: u64,
    /// How long the session a payment method was set up in is remembered.
    pub payment_method_session_ttl_secs: u64,
    /// Most payment methods whose set-up session is remembered.
    pub payment_method_session_max_entries: u64,
    /// Velocity keys (card, email, IP …) unseen for this long are removed, all-time counts included.
    pub velocity_idle_expiry_secs: u64,
    /// How often idle velocity keys are looked for.
    pub velocity_sweep_interval_secs: u64,
    /// How long an evaluation's keys are kept for ReportPaymentOutcome (disputes arrive late).
    pub outcome_retention_secs: u64,
    /// Most evaluations kept for ReportPaymentOutcome; beyond it the oldest go first.
    pub outcome_max_evaluations: u64,
    // === memory bounds (issue 18, harden-core) ===
    /// Memory bound of the in-process velocity counters: tables and queues as allocated (spare
    /// room included) and records in the allocator's size classes (README: 0.92–1.04× RSS).
    /// Beyond it the least recently seen keys are evicted
    /// (`riskgate_state_evictions_total{store="velocity"}`). 256 MiB holds about 0.66 M active
    /// keys (270–340 bytes each, and power-of-two tables).
    pub velocity_max_bytes: u64,
    /// Memory bound of the Radar Sessions kept in process (with `session_max_entries`, whichever
    /// is reached first); the least recently used go first.
    pub session_max_bytes: u64,
    /// Memory bound of the payment methods' set-up sessions kept in process (with
    /// `payment_method_session_max_entries`, whichever is reached first).
    pub payment_method_session_max_bytes: u64,
    // Outcome memory (what was learned after a decision, per entity; issue 15).
    /// How long fraud labels (early fraud warnings, fraudulent disputes, refunds as fraud, analyst
    /// and merchant fraud reports) are remembered per card, customer, email, device and address.
    pub outcome_fraud_retention_secs: u64,
    /// How long other labels (authorizations, declines, other disputes, refunds) are remembered.
    pub outcome_nonfraud_retention_secs: u64,
    /// How long any label is remembered per IP address (addresses change hands).
    pub outcome_ip_retention_secs: u64,
    /// Most entities the in-process outcome memory keeps: beyond it, new entities without a fraud
    /// label are not kept and the sweep evicts those that learned nothing for longest (fraud
    /// labels may take a tenth more).
    pub outcome_max_entities: u64,
    /// The outcome journal: outcome memory kept across restarts without Redis (append-only,
    /// fsynced before a label is acknowledged, compacted). Unset: `outcomes.journal` in the data
    /// directory (`state.data_dir`), in memory only without one. Not used with
    /// `redis.url` (Redis keeps outcome memory).
    pub outcomes_path: Option<PathBuf>,
    // --- Radar rules fidelity (issue 17): GeoIP databases beyond the country one
    // (src/enrich/ipfacts.rs); each unset = its attributes are missing. ---
    /// City database (GeoIP2/GeoLite2 City, or ip-location-db's City layout) for `ip_state`, and
    /// for `ip_country` when `geoip_mmdb_path` is unset.
    pub geoip_city_mmdb_path: Option<PathBuf>,
    /// Anonymous IP database (MaxMind's layout) for `is_anonymous_ip`, `is_vpn_ip`,
    /// `is_hosting_ip`, `is_tor_ip`.
    pub geoip_anonymous_ip_mmdb_path: Option<PathBuf>,
    /// Connection-Type database (MaxMind's layout) for `ip_address_connection_type`.
    pub geoip_connection_type_mmdb_path: Option<PathBuf>,
    /// ISP database (`isp`) or ASN database (`autonomous_system_organization`) for `isp`.
    pub geoip_isp_mmdb_path: Option<PathBuf>,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            geoip_mmdb_path: None,
            session_ttl_secs: 24 * 3600,
            session_max_entries: 100_000,
            payment_method_session_ttl_secs: 90 * 86_400,
            payment_method_session_max_entries: 1_000_000,
            velocity_idle_expiry_secs: 30 * 86_400,
            velocity_sweep_interval_secs: 60,
            outcome_retention_secs: 120 * 86_400,
            outcome_max_evaluations: 500_000,
            velocity_max_bytes: 256 * 1024 * 1024,
            session_max_bytes: 64 * 1024 * 1024,
            payment_method_session_max_bytes: 128 * 1024 * 1024,
            outcome_fraud_retention_secs: 400 * 86_400,
            outcome_nonfraud_retention_secs: 90 * 86_400,
            outcome_ip_retention_secs: 14 * 86_400,
            outcome_max_entities: 1_000_000,
            outcomes_path: None,
            geoip_city_mmdb_path: None,
            geoip_anonymous_ip_mmdb_path: None,
            geoip_connection_type_mmdb_path: None,
            geoip_isp_mmdb_path: None,
        }
    }
}

/// Shared state on Redis (velocity, Radar Sessions, payment-method sessions, outcome records and
/// idempotency records), so that replicas see one history. `Debug` and `config show` print the
/// URL with its password redacted.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user[:password]@]host:port[/db]` (`rediss://` for TLS, `redis+unix:///path`), or
    /// a comma-separated list of Redis Cluster seed nodes (`redis://a:6379,redis://b:6379`);
    /// unset = in-process state (`--redis-url`). Printed with its password redacted.
    #[serde(serialize_with = "super::secret::serialize_redacted_url")]
    pub url: Option<String>,
    /// `auto` (a list of seeds is a cluster; one URL is asked `INFO cluster` when first used),
    /// `standalone` or `cluster` (`--redis-mode`).
    pub mode: RedisMode,
    /// Longest wait for Redis per call; beyond it (or when Redis is down) the evaluation goes on
    /// with in-process state and is flagged `degraded`.
    pub budget_ms: u64,
    /// Prefix of every key riskgate writes.
    pub key_prefix: String,
    // === harden (issue 18): Redis auth and TLS ===
    /// File holding the password of the URL's user (trailing newline ignored), e.g. a mounted
    /// Kubernetes Secret; the URL then carries no password. With `rediss://user@host`, that ACL
    /// user; with no user, Redis' `default` user (`requirepass`).
    pub password_file: Option<PathBuf>,
    /// PEM CA certificate(s) that signed Redis' certificate (`rediss://` only); unset = the
    /// system's roots. The host name of the URL is checked against the certificate.
    pub tls_ca_path: Option<PathBuf>,
    /// PEM client certificate for Redis' `tls-auth-clients` (with `tls_key_path`; `rediss://`
    /// only).
    pub tls_cert_path: Option<PathBuf>,
    /// PEM private key of `tls_cert_path`.
    pub tls_key_path: Option<PathBuf>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            mode: RedisMode::Auto,
            budget_ms: 50,
            key_prefix: "riskgate:".into(),
            password_file: None,
            tls_ca_path: None,
            tls_cert_path: None,
            tls_key_path: None,
        }
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            url,
            mode,
            budget_ms,
            key_prefix,
            password_file,
            tls_ca_path,
            tls_cert_path,
            tls_key_path,
        } = self;
        f.debug_struct("RedisConfig")
            .field("url", &url.as_deref().map(super::secret::redact_url))
            .field("mode", mode)
            .field("budget_ms", budget_ms)
            .field("key_prefix", key_prefix)
            .field("password_file", password_file)
            .field("tls_ca_path", tls_ca_path)
            .field("tls_cert_path", tls_cert_path)
            .field("tls_key_path", tls_key_path)
            .finish()
    }
}

/// Whether `redis.url` is one Redis server or a Redis Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisMode {
    /// A list of seeds is a cluster; one URL is asked whether cluster mode is enabled.
    #[default]
    Auto,
    /// One Redis server (or a primary with replicas behind one address).
    Standalone,
    /// Redis Cluster (or Valkey in cluster mode): keys spread over the cluster's slots.
    Cluster,
}

impl RedisMode {
    /// `--redis-mode`: auto, standalone or cluster.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "standalone" => Some(Self::Standalone),
            "cluster" => Some(Self::Cluster),
            _ => None,
        }
    }
}

/// Idempotent replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// How long a key's answer is kept (Stripe keeps keys 24 hours).
    pub retention_secs: u64,
    /// Memory bound of the kept answers; the least recently used go first beyond it.
    pub max_bytes: u64,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            retention_secs: 24 * 3600,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Value lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListsConfig {
    /// The lists journal (append-only, fsynced, compacted). Unset: lists live in memory only and
    /// are lost on restart. Not used with `redis.url`: lists then live in Redis.
    pub path: Option<PathBuf>,
}

// === harden (issue 18): the data directory ===

/// Environment variable that names the default data directory (`state.data_dir` and
/// `RISKGATE_STATE__DATA_DIR` win over it).
pub const DATA_DIR_ENV: &str = "RISKGATE_DATA_DIR";

/// Where riskgate keeps what it must not forget across restarts: value lists (the journal at
/// `lists.path` by default), the generated admin token, idempotent answers, outcome memory and
/// webhook dedupe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    /// The data directory (flag: --data-dir). Unset: [`Config::load`](super::Config::load) fills
    /// in the default location, `$RISKGATE_DATA_DIR`, else `$XDG_STATE_HOME/riskgate`, else
    /// `$HOME/.local/state/riskgate`. Empty (`""`, flag: --in-memory): memory only, everything is
    /// lost on restart. Created with mode 0700 on first run and locked while a server uses it.
    /// `Config::default()` in code has none (memory only); tests use that.
    pub data_dir: Option<PathBuf>,
    /// Whether `data_dir` is the implicit default (`$XDG_STATE_HOME/riskgate` or
    /// `$HOME/.local/state/riskgate`, filled in by `Config::load`) rather than one the user named.
    /// A server that finds the implicit one in use by another riskgate warns and keeps its state
    /// in memory; a named one in use is an error. Not a config key.
    #[serde(skip)]
    pub data_dir_is_default: bool,
}

impl StateConfig {
    /// The data directory, or `None` for memory only (unset or empty). When the server runs, the
    /// directory exists and is locked by it: `Server::start` opens it before building any part.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
    }

    /// Whether memory-only was asked for explicitly (`data_dir = ""` or --in-memory).
    pub fn in_memory(&self) -> bool {
        self.data_dir
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
    }
}

/// The default data directory from the environment: `$RISKGATE_DATA_DIR`, else
/// `$XDG_STATE_HOME/riskgate`, else `$HOME/.local/state/riskgate`; `None` when none of them is set
/// (to an absolute path, for the XDG and HOME ones, as the XDG spec asks).
pub(super) fn default_data_dir(
    data_dir_env: Option<&str>,
    xdg_state_home: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    let absolute = |v: &&str| std::path::Path::new(v).is_absolute();
    if let Some(dir) = data_dir_env {
        // Set but empty = memory only, like `state.data_dir = ""`.
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = xdg_state_home.filter(absolute) {
        return Some(PathBuf::from(xdg).join("riskgate"));
    }
    home.filter(absolute)
        .map(|h| PathBuf::from(h).join(".local/state/riskgate"))
}

#[cfg(test)]
mod data_dir_tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, Overrides, fixtures::env};

    #[test]
    fn the_default_location_follows_the_environment() {
        assert_eq!(
            default_data_dir(Some("/d"), Some("/x"), Some("/h")),
            Some(PathBuf::from("/d"))
        );
        assert_eq!(
            default_data_dir(None, Some("/x"), Some("/h")),
            Some(PathBuf::from("/x/riskgate"))
        );
        assert_eq!(
            default_data_dir(None, Some("relative"), Some("/h")),
            Some(PathBuf::from("/h/.local/state/riskgate"))
        );
        assert_eq!(default_data_dir(None, None, None), None);
        assert_eq!(
            default_data_dir(Some(""), None, Some("/h")),
            Some(PathBuf::new())
        );
    }

    #[test]
    fn load_fills_in_the_default_and_flags_win() {
        let c = Config::load(None, env(&[("HOME", "/home/u")]), Overrides::default()).unwrap();
        assert_eq!(
            c.state.data_dir(),
            Some(Path::new("/home/u/.local/state/riskgate"))
        );
        let c = Config::load(
            None,
            env(&[("HOME", "/home/u"), ("RISKGATE_DATA_DIR", "/srv/rg")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.state.data_dir(), Some(Path::new("/srv/rg")));
        // The config key wins over the default's variable.
        let c = Config::load(
            None,
            env(&[
                ("RISKGATE_DATA_DIR", "/srv/rg"),
                ("RISKGATE_STATE__DATA_DIR", "/var/lib/riskgate"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.state.data_dir(), Some(Path::new("/var/lib/riskgate")));
        // --in-memory.
        let c = Config::load(
            None,
            env(&[("HOME", "/home/u")]),
            Overrides {
                data_dir: Some(PathBuf::new()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.state.data_dir(), None);
        assert!(c.state.in_memory());
        // Nothing to derive it from: left unset (the command refuses to serve).
        let c = Config::load(None, env(&[]), Overrides::default()).unwrap();
        assert_eq!(c.state.data_dir, None);
        // Library defaults and files alone are memory only.
        assert_eq!(Config::default().state.data_dir(), None);
        assert!(!Config::default().state.in_memory());
    }
}
