//! The Redis client every Redis-backed store uses.

use std::time::Duration;

use redis::{
    Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::StoreError;
use crate::config::RedisConfig;

/// A client for `redis.url` whose calls wait at most `response_timeout`. The connection is made
/// lazily and remade after failures. The value list store ([`super::lists::redis`]) opens its own
/// with its own timeouts.
pub fn connection_manager(
    redis: &RedisConfig,
    response_timeout: Duration,
) -> Result<ConnectionManager, StoreError> {
    let invalid = |message: String| StoreError::Invalid {
        field: "redis.url",
        message,
    };
    let url = redis
        .url
        .as_deref()
        .ok_or_else(|| invalid("is not set".into()))?;
    let client = Client::open(url).map_err(|e| invalid(e.to_string()))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(response_timeout.max(Duration::from_millis(100))))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| invalid(e.to_string()))
}
