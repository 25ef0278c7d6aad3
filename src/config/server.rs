//! The listeners (gRPC, admin HTTP, plaintext health), TLS on the gRPC port, and graceful shutdown.

use std::{net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

/// The gRPC listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcConfig {
    /// TCP address of the gRPC API.
    pub addr: SocketAddr,
    /// Also serve on this Unix domain socket (for a sidecar; empty = off). A stale socket file is
    /// replaced.
    pub uds_path: Option<PathBuf>,
    /// Largest request accepted; evaluation requests are about 1 KiB.
    pub max_request_bytes: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Evaluations in flight across all connections; beyond it calls are refused at once with
    /// RESOURCE_EXHAUSTED rather than queued.
    pub concurrency_limit: usize,
    /// The CPU governor (percent, 1–98; 0 = off). Nothing is refused until the runtime has been
    /// saturated (never idle) for 100 ms; from then on a share of riskgate calls is refused on
    /// arrival with RESOURCE_EXHAUSTED, adjusted to keep the workers busy at most this share of
    /// the time, so that admitted calls keep their latency when more arrive than the CPU can
    /// evaluate. Below capacity nothing is refused, however busy the gateway is.
    pub cpu_target_percent: u8,
    /// Time kept back from the caller's `grpc-timeout` so that an answer, even DEADLINE_EXCEEDED,
    /// reaches it before it gives up.
    pub deadline_margin_ms: u64,
    /// HTTP/2 keep-alive ping interval (0 = off).
    pub http2_keepalive_interval_secs: u64,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            uds_path: None,
            max_request_bytes: 64 * 1024,
            max_concurrent_streams: 1024,
            concurrency_limit: 4096,
            cpu_target_percent: 90,
            deadline_margin_ms: 1,
            http2_keepalive_interval_secs: 30,
        }
    }
}

/// The admin HTTP listener: `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub addr: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// A plaintext gRPC listener that serves only `grpc.health.v1`, for kubelet `grpc` probes (they
/// speak neither TLS nor Unix sockets) when the API port uses TLS or a socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Off unless set, e.g. `0.0.0.0:8081`.
    pub addr: Option<SocketAddr>,
}

/// TLS on the gRPC TCP port (the Unix socket and the health listener stay plaintext).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first). TLS is on when set.
    pub cert_path: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub key_path: Option<PathBuf>,
    /// PEM CA certificates; when set, clients must present a certificate they signed (mTLS).
    pub client_ca_path: Option<PathBuf>,
    /// How often the certificate and key files are checked for changes; a changed pair is loaded
    /// without a restart.
    pub reload_interval_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_path: None,
            key_path: None,
            client_ca_path: None,
            reload_interval_secs: 10,
        }
    }
}

/// Graceful shutdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// After SIGTERM/SIGINT, the longest wait for in-flight calls before exiting anyway.
    pub grace_period_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace_period_secs: 20,
        }
    }
}
