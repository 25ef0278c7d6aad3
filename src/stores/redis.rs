//! The Redis client every Redis-backed store uses: `redis.url` with its password from
//! `redis.password_file`, over TLS (`rediss://`, rustls) checked against `redis.tls_ca_path`, with
//! a client certificate when Redis asks for one. Built in one place, [`client`], so that a Redis
//! Cluster client can be added here later.

use std::time::Duration;

use redis::{
    Client, IntoConnectionInfo,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::StoreError;
use crate::config::{RedisConfig, Secret};

/// The client for `redis.url`: the URL's address, user and database; the password from
/// `redis.password_file` when set; TLS for `rediss://`. Reads the files it names (blocking, once,
/// at start).
pub fn client(redis: &RedisConfig) -> Result<Client, StoreError> {
    let invalid = |message: String| StoreError::Invalid {
        field: "redis.url",
        message,
    };
    let url = redis
        .url
        .as_deref()
        .ok_or_else(|| invalid("is not set".into()))?;
    // The redis crate's messages never include the URL, so its password cannot leak here.
    let mut info = url
        .into_connection_info()
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(path) = &redis.password_file {
        let password = Secret::from_file(path).map_err(|e| StoreError::Invalid {
            field: "redis.password_file",
            message: e.to_string(),
        })?;
        let settings = info
            .redis_settings()
            .clone()
            .set_password(password.expose());
        info = info.set_redis_settings(settings);
    }
    if !url.starts_with("rediss://") {
        return Client::open(info).map_err(|e| invalid(e.to_string()));
    }
    install_crypto_provider();
    let read = |field: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| StoreError::Invalid {
            field,
            message: format!("cannot read {}: {e}", path.display()),
        })
    };
    let root_cert = redis
        .tls_ca_path
        .as_deref()
        .map(|p| read("redis.tls_ca_path", p))
        .transpose()?;
    let client_tls = match (&redis.tls_cert_path, &redis.tls_key_path) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: read("redis.tls_cert_path", cert)?,
            client_key: read("redis.tls_key_path", key)?,
        }),
        _ => None,
    };
    Client::build_with_tls(
        info,
        redis::TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(|e| StoreError::Invalid {
        field: "redis.tls_ca_path",
        message: e.to_string(),
    })
}

/// The redis crate builds its rustls configuration with the process' default crypto provider:
/// riskgate uses ring everywhere, so that is the one installed (once; an already installed one
/// stays).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `redis.url` whose calls wait at most `response_timeout`. The connection is made
/// lazily and remade after failures. The value list store ([`super::lists::redis`]) opens its own
/// with its own timeouts.
pub fn connection_manager(
    redis: &RedisConfig,
    response_timeout: Duration,
) -> Result<ConnectionManager, StoreError> {
    let client = client(redis)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(response_timeout.max(Duration::from_millis(100))))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| StoreError::Invalid {
        field: "redis.url",
        message: e.to_string(),
    })
}
