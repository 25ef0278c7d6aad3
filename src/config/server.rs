//! The listeners (gRPC, admin HTTP, plaintext health), TLS on the gRPC port, graceful shutdown,
//! and the threads that serve them.

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
    /// The longest a riskgate call may run on the server (issue 18): a longer `grpc-timeout` is cut
    /// to it, and a call without one is answered DEADLINE_EXCEEDED after it, so a client that
    /// trickles or never finishes its request cannot hold a concurrency slot.
    pub max_call_secs: u64,
    /// HTTP/2 keep-alive ping interval (0 = off).
    pub http2_keepalive_interval_secs: u64,
    /// Largest HTTP/2 header list (decoded, bytes) a call may send (issue 18). A call over it is
    /// refused on its own stream (HTTP 431) while its encoded block fits in the same size; beyond
    /// that h2 has to close the connection (COMPRESSION_ERROR). gRPC calls send well under 1 KiB.
    pub max_header_list_bytes: u32,
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
            max_call_secs: 10,
            http2_keepalive_interval_secs: 30,
            max_header_list_bytes: 16 * 1024,
        }
    }
}

/// The admin HTTP listener: `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub addr: SocketAddr,
    /// Connections open at once; beyond it a new connection is closed at once (counted).
    pub max_connections: usize,
    /// A request's headers must arrive within this; it is also the longest a kept-alive
    /// connection may wait for its next request.
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing is read or written for this long is closed (slow readers,
    /// trickled bodies).
    pub idle_timeout_secs: u64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9090)),
            max_connections: 256,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
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

/// The threads that serve every listener (`riskgate serve`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Worker threads (0 = one per CPU this process may use: its CPU affinity and cgroup CPU quota).
    pub worker_threads: usize,
}

impl RuntimeConfig {
    /// The worker threads to start: `worker_threads`, or the CPUs this process may use.
    pub fn threads(&self) -> usize {
        match self.worker_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_default_to_the_cpus_this_process_may_use() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(RuntimeConfig::default().threads(), cpus);
        let one = RuntimeConfig { worker_threads: 1 };
        assert_eq!(one.threads(), 1);
    }
}
