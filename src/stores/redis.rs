//! The Redis client every Redis-backed store uses: one Redis server, or a Redis Cluster (or
//! Valkey in cluster mode) reached from seed nodes.
//!
//! `redis.url` is one URL or a comma-separated list of seed nodes; `redis.mode` says which it is
//! (`auto`: a list is a cluster, one URL is asked `INFO cluster` when first used). The client is
//! made on first use and kept; while Redis cannot be reached each call fails with
//! [`StoreError::Unavailable`] and the next one tries again, so a Redis that is down at start-up
//! only degrades evaluations until it is back.
//!
//! Standalone: a `redis` ConnectionManager (one multiplexed connection, remade after failures).
//! Cluster: the `redis` crate's cluster-async client, which learns the slot map from the seeds,
//! keeps one multiplexed connection per primary, follows `MOVED`/`ASK` redirections and refreshes
//! the map when a node answers `MOVED`. A primary that dies answers nothing, so the client would
//! keep sending its slots to it: a cluster call that fails for want of a node marks the connection
//! stale, and the next call makes a fresh one from the seeds (at most every
//! [`REBUILD_INTERVAL`]), which learns the new slot map once a replica has taken over. A command
//! goes to the primary of its first key's slot, so callers
//! send one request per slot and send them all at once: requests to one primary are pipelined on
//! its connection, and the evaluation waits for one round trip.

use std::time::Duration;

use futures_util::future::try_join_all;
use redis::{
    Client, Cmd, ConnectionInfo, FromRedisValue, IntoConnectionInfo, Pipeline, RedisFuture,
    TlsCertificates, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};
use tokio::time::Instant;

use super::StoreError;
use crate::config::{RedisConfig, RedisMode};

/// A connection to either kind of Redis; cheap to clone (both kinds are handles to shared,
/// multiplexed connections).
#[derive(Clone)]
pub enum Conn {
    Standalone(ConnectionManager),
    /// With the flag a failed call raises: the slot map may be out of date.
    Cluster(ClusterConnection, Arc<AtomicBool>),
}

/// How often, at most, a stale cluster connection is made anew.
pub const REBUILD_INTERVAL: Duration = Duration::from_millis(500);

impl Conn {
    pub fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(..))
    }

    fn is_stale(&self) -> bool {
        matches!(self, Conn::Cluster(_, stale) if stale.load(Ordering::Relaxed))
    }

    /// Sends `cmds` and returns their answers in order, for commands whose keys may lie in
    /// different slots: one pipeline on one Redis; on a cluster — where the client refuses a
    /// pipeline whose keys cross slots — every command on its own, all sent at once, so that each
    /// node's connection still carries them together (one round trip of latency either way).
    /// Not atomic in either mode.
    pub async fn each<T: FromRedisValue>(&self, cmds: Vec<Cmd>) -> redis::RedisResult<Vec<T>> {
        if self.is_cluster() {
            try_join_all(cmds.into_iter().map(|cmd| {
                let mut conn = self.clone();
                async move { cmd.query_async::<T>(&mut conn).await }
            }))
            .await
        } else {
            let mut pipe = redis::pipe();
            for cmd in cmds {
                pipe.add_command(cmd);
            }
            pipe.query_async(&mut self.clone()).await
        }
    }
}

/// Whether a failed cluster call suggests the slot map is out of date (a node gone, a failover).
fn suggests_new_topology(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::ClusterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::MasterDown
                )
        )
}

fn mark_stale<T>(result: &redis::RedisResult<T>, stale: &AtomicBool) {
    if let Err(e) = result
        && suggests_new_topology(e)
    {
        stale.store(true, Ordering::Relaxed);
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Cluster(c, stale) => Box::pin(async move {
                let result = c.req_packed_command(cmd).await;
                mark_stale(&result, stale);
                result
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c, stale) => Box::pin(async move {
                let result = c.req_packed_commands(pipeline, offset, count).await;
                mark_stale(&result, stale);
                result
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            Conn::Cluster(c, _) => c.get_db(),
        }
    }
}

/// `redis.url` split into its seed URLs.
pub fn seeds(url: &str) -> Vec<String> {
    url.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A client for `redis.url` whose calls wait at most `response_timeout`, connected on first use.
pub struct RedisClient {
    /// The seeds, with `redis.password_file`'s password.
    seeds: Vec<ConnectionInfo>,
    /// `redis.tls_ca_path`'s certificates (PEM).
    root_cert: Option<Vec<u8>>,
    /// `redis.tls_cert_path` and `redis.tls_key_path` (PEM), for Redis' `tls-auth-clients`.
    client_cert: Option<(Vec<u8>, Vec<u8>)>,
    mode: RedisMode,
    response_timeout: Duration,
    conn: Mutex<Option<Conn>>,
    /// Held while a connection is made, so one caller makes it.
    connecting: tokio::sync::Mutex<Option<Instant>>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisClient {
    /// Checks `redis.url`; connects nothing yet.
    pub fn new(redis: &RedisConfig, response_timeout: Duration) -> Result<Self, StoreError> {
        let invalid = |message: String| StoreError::Invalid {
            field: "redis.url",
            message,
        };
        let url = redis
            .url
            .as_deref()
            .ok_or_else(|| invalid("is not set".into()))?;
        let urls = seeds(url);
        if urls.is_empty() {
            return Err(invalid("is empty".into()));
        }
        let password = match &redis.password_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| StoreError::Invalid {
                        field: "redis.password_file",
                        message: format!("{}: {e}", path.display()),
                    })?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let root_cert = match &redis.tls_ca_path {
            Some(path) => Some(std::fs::read(path).map_err(|e| StoreError::Invalid {
                field: "redis.tls_ca_path",
                message: format!("{}: {e}", path.display()),
            })?),
            None => None,
        };
        if urls.iter().any(|u| u.starts_with("rediss://")) {
            // rustls needs a process-wide provider; riskgate uses ring (already installed: fine).
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let mut seeds = Vec::with_capacity(urls.len());
        for seed in &urls {
            let mut info = seed
                .as_str()
                .into_connection_info()
                .map_err(|e| invalid(e.to_string()))?;
            if let Some(password) = &password {
                let settings = info.redis_settings().clone().set_password(password);
                info = info.set_redis_settings(settings);
            }
            seeds.push(info);
        }
        let read = |field: &'static str, path: &std::path::Path| {
            std::fs::read(path).map_err(|e| StoreError::Invalid {
                field,
                message: format!("{}: {e}", path.display()),
            })
        };
        let client_cert = match (&redis.tls_cert_path, &redis.tls_key_path) {
            (Some(cert), Some(key)) => Some((
                read("redis.tls_cert_path", cert)?,
                read("redis.tls_key_path", key)?,
            )),
            _ => None,
        };
        if root_cert.is_some() && !urls.iter().all(|u| u.starts_with("rediss://")) {
            return Err(StoreError::Invalid {
                field: "redis.tls_ca_path",
                message: "is set but redis.url is not rediss://".into(),
            });
        }
        if seeds.len() > 1 && redis.mode == RedisMode::Standalone {
            return Err(invalid(
                "lists several seed nodes but redis.mode is standalone".into(),
            ));
        }
        Ok(Self {
            seeds,
            root_cert,
            client_cert,
            mode: redis.mode,
            response_timeout,
            conn: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(None),
        })
    }

    /// The connection, made (and the mode detected) on first success; a stale cluster connection
    /// is made anew by one caller while the others go on with it.
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        let current = self.conn.lock().expect("not poisoned").clone();
        match current {
            Some(conn) if !conn.is_stale() => Ok(conn),
            Some(stale) => {
                let Ok(mut last) = self.connecting.try_lock() else {
                    return Ok(stale);
                };
                if last.is_some_and(|at| at.elapsed() < REBUILD_INTERVAL) {
                    return Ok(stale);
                }
                *last = Some(Instant::now());
                match self.connect().await {
                    Ok(fresh) => {
                        tracing::info!("Redis Cluster: connection made anew (slot map refreshed)");
                        *self.conn.lock().expect("not poisoned") = Some(fresh.clone());
                        Ok(fresh)
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "Redis Cluster: reconnection failed");
                        Ok(stale)
                    }
                }
            }
            None => {
                let _one = self.connecting.lock().await;
                if let Some(conn) = self.conn.lock().expect("not poisoned").clone() {
                    return Ok(conn);
                }
                let conn = self.connect().await?;
                *self.conn.lock().expect("not poisoned") = Some(conn.clone());
                Ok(conn)
            }
        }
    }

    /// Whether the connection made is to a cluster (`None` before the first connection).
    pub fn is_cluster(&self) -> Option<bool> {
        self.conn
            .lock()
            .expect("not poisoned")
            .as_ref()
            .map(Conn::is_cluster)
    }

    async fn connect(&self) -> Result<Conn, StoreError> {
        let cluster = match self.mode {
            RedisMode::Standalone => false,
            RedisMode::Cluster => true,
            RedisMode::Auto if self.seeds.len() > 1 => true,
            RedisMode::Auto => self.detect().await?,
        };
        let connect_timeout = self.response_timeout.max(Duration::from_millis(100));
        if cluster {
            let mut builder = ClusterClient::builder(self.seeds.iter().cloned());
            if let Some(password) = self.seeds[0].redis_settings().password() {
                builder = builder.password(password);
            }
            if let Some(user) = self.seeds[0].redis_settings().username() {
                builder = builder.username(user);
            }
            if let Some(certs) = self.certificates() {
                builder = builder.certs(certs);
            }
            let client = builder
                .connection_timeout(connect_timeout)
                .response_timeout(self.response_timeout)
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(500)
                .build()
                .map_err(unavailable)?;
            let conn = client.get_async_connection().await.map_err(unavailable)?;
            Ok(Conn::Cluster(conn, Arc::new(AtomicBool::new(false))))
        } else {
            let client = self.client()?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(connect_timeout))
                .set_response_timeout(Some(self.response_timeout))
                .set_number_of_retries(2)
                .set_min_delay(Duration::from_millis(10))
                .set_max_delay(Duration::from_millis(500));
            let conn =
                ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
            Ok(Conn::Standalone(conn))
        }
    }

    /// The CA and client certificate for TLS, when either is configured.
    fn certificates(&self) -> Option<TlsCertificates> {
        if self.root_cert.is_none() && self.client_cert.is_none() {
            return None;
        }
        Some(TlsCertificates {
            client_tls: self
                .client_cert
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.root_cert.clone(),
        })
    }

    /// A client for the first seed (with the CA and client certificate, for TLS); on one Redis,
    /// also what a subscription connects with.
    pub(crate) fn client(&self) -> Result<Client, StoreError> {
        let seed = self.seeds[0].clone();
        match self.certificates() {
            Some(certs) => Client::build_with_tls(seed, certs),
            None => Client::open(seed),
        }
        .map_err(unavailable)
    }

    /// Asks the one seed whether it runs in cluster mode (`INFO cluster`).
    async fn detect(&self) -> Result<bool, StoreError> {
        let client = self.client()?;
        let timeout = self.response_timeout.max(Duration::from_millis(500));
        let info = async {
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .map_err(unavailable)?;
            match redis::cmd("INFO")
                .arg("cluster")
                .query_async::<String>(&mut conn)
                .await
            {
                Ok(info) => Ok(info),
                // Refused (an ACL without INFO): not a cluster, or the operator says so.
                Err(e) if matches!(e.kind(), redis::ErrorKind::Server(_)) => {
                    tracing::warn!(
                        error = %e,
                        "Redis refused INFO cluster; assuming standalone (set redis.mode)"
                    );
                    Ok(String::new())
                }
                Err(e) => Err(unavailable(e)),
            }
        };
        let info = tokio::time::timeout(timeout, info)
            .await
            .map_err(|_| StoreError::Unavailable("Redis did not answer INFO cluster".into()))??;
        Ok(cluster_enabled(&info))
    }
}

/// Whether an `INFO cluster` reply says cluster mode is enabled.
fn cluster_enabled(info: &str) -> bool {
    info.lines().any(|l| l.trim() == "cluster_enabled:1")
}

/// `{key}`: a hash tag, so that keys sharing it share a cluster slot.
pub fn tag(key: &str) -> String {
    format!("{{{key}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_split_and_trimmed() {
        assert_eq!(
            seeds("redis://a:1, redis://b:2,"),
            vec!["redis://a:1".to_owned(), "redis://b:2".to_owned()]
        );
    }

    #[test]
    fn cluster_mode_is_read_from_info() {
        assert!(cluster_enabled("# Cluster\r\ncluster_enabled:1\r\n"));
        assert!(!cluster_enabled("# Cluster\r\ncluster_enabled:0\r\n"));
    }

    #[test]
    fn several_seeds_cannot_be_standalone() {
        let config = RedisConfig {
            url: Some("redis://a:1,redis://b:2".into()),
            mode: RedisMode::Standalone,
            ..RedisConfig::default()
        };
        assert!(RedisClient::new(&config, Duration::from_millis(5)).is_err());
    }
}
