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
    /// Most evaluations kept for ReportPaymentOutcome; beyond it the least recently used go first.
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
    /// fsynced before a label is acknowledged, compacted). Unset: in memory only. Not used with
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
/// idempotency records), so that replicas see one history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (`rediss://` for TLS), or a comma-separated list
    /// of Redis Cluster seed nodes (`redis://a:6379,redis://b:6379`); unset = in-process state
    /// (`--redis-url`).
    pub url: Option<String>,
    /// `auto` (a list of seeds is a cluster; one URL is asked `INFO cluster` when first used),
    /// `standalone` or `cluster` (`--redis-mode`).
    pub mode: RedisMode,
    /// File holding the password (ACL user from the URL, else `default`); first line, trimmed.
    /// Overrides a password in the URL. Read at start.
    pub password_file: Option<PathBuf>,
    /// PEM CA certificate(s) that signed the Redis servers' certificates (`rediss://` URLs);
    /// unset = the system's trust store.
    pub tls_ca_path: Option<PathBuf>,
    /// Longest wait for Redis per call; beyond it (or when Redis is down) the evaluation goes on
    /// with in-process state and is flagged `degraded`.
    pub budget_ms: u64,
    /// Prefix of every key riskgate writes.
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            mode: RedisMode::Auto,
            password_file: None,
            tls_ca_path: None,
            budget_ms: 50,
            key_prefix: "riskgate:".into(),
        }
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
