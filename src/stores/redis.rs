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
//! the map after a failover. A command goes to the primary of its first key's slot, so callers
//! send one request per slot and send them all at once: requests to one primary are pipelined on
//! its connection, and the evaluation waits for one round trip.

use std::time::Duration;

use redis::{
    Client, Cmd, Pipeline, RedisFuture, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
};
use tokio::sync::OnceCell;

use super::StoreError;
use crate::config::{RedisConfig, RedisMode};

/// A connection to either kind of Redis; cheap to clone (both kinds are handles to shared,
/// multiplexed connections).
#[derive(Clone)]
pub enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    pub fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
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
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
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
    seeds: Vec<String>,
    mode: RedisMode,
    response_timeout: Duration,
    conn: OnceCell<Conn>,
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
        let seeds = seeds(url);
        if seeds.is_empty() {
            return Err(invalid("is empty".into()));
        }
        for seed in &seeds {
            Client::open(seed.as_str()).map_err(|e| invalid(e.to_string()))?;
        }
        if seeds.len() > 1 && redis.mode == RedisMode::Standalone {
            return Err(invalid(
                "lists several seed nodes but redis.mode is standalone".into(),
            ));
        }
        Ok(Self {
            seeds,
            mode: redis.mode,
            response_timeout,
            conn: OnceCell::new(),
        })
    }

    /// The connection, made (and the mode detected) on first success.
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        self.conn
            .get_or_try_init(|| self.connect())
            .await
            .cloned()
    }

    /// Whether the connection made is to a cluster (`None` before the first connection).
    pub fn is_cluster(&self) -> Option<bool> {
        self.conn.get().map(Conn::is_cluster)
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
            let client = ClusterClient::builder(self.seeds.iter().map(String::as_str))
                .connection_timeout(connect_timeout)
                .response_timeout(self.response_timeout)
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(500)
                .build()
                .map_err(unavailable)?;
            let conn = client.get_async_connection().await.map_err(unavailable)?;
            Ok(Conn::Cluster(conn))
        } else {
            let client = Client::open(self.seeds[0].as_str()).map_err(unavailable)?;
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

    /// Asks the one seed whether it runs in cluster mode (`INFO cluster`).
    async fn detect(&self) -> Result<bool, StoreError> {
        let client = Client::open(self.seeds[0].as_str()).map_err(unavailable)?;
        let timeout = self.response_timeout.max(Duration::from_millis(500));
        let info = async {
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .map_err(unavailable)?;
            redis::cmd("INFO")
                .arg("cluster")
                .query_async::<String>(&mut conn)
                .await
                .map_err(unavailable)
        };
        let info = tokio::time::timeout(timeout, info)
            .await
            .map_err(|_| StoreError::Unavailable("Redis did not answer INFO cluster".into()))??;
        Ok(cluster_enabled(&info))
    }
}

/// Whether an `INFO cluster` reply says cluster mode is enabled.
fn cluster_enabled(info: &str) -> bool {
    info.lines()
        .any(|l| l.trim() == "cluster_enabled:1")
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
