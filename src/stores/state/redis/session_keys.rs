//! The IP and device keys of recent Radar Sessions, known to every gateway before an evaluation
//! (one Redis only).
//!
//! A payment that has no IP (device) of its own takes it from its Radar Session, whose keys are
//! known only once the session is read: without them, the evaluation's transaction reads the
//! session and counts those keys in a Lua script ([`super::evaluation::SESSION_KEYS`]), the most
//! expensive part of an evaluation for Redis (~9–13 µs per run against ~7 µs for a whole ordinary
//! evaluation; BENCHMARKS.md). So the gateway that records a session also PUBLISHes its two keys
//! on `<p>sessions`, and every gateway subscribes and keeps them for [`KEEP`]: an evaluation that
//! finds its session's keys here counts them with native commands like any other key. One that
//! does not (a gateway that started or lost its subscription after the session was recorded, a
//! message still on its way) takes the script, with the same result.
//!
//! Redis' cost moves from each evaluation to each recorded session (one PUBLISH, delivered to
//! every subscribed gateway: 0.4–0.8 µs of command time with one subscriber). The subscription
//! reconnects by itself after a failure; a Redis user whose ACL denies PUBLISH or SUBSCRIBE only
//! loses the shortcut. On a cluster none of this runs (sessions' keys take a second round trip
//! there, as before).

use std::{sync::OnceLock, time::Duration};

use futures_util::StreamExt;
use moka::future::Cache;

use super::parse_hex;
use crate::stores::redis::RedisClient;

/// How long a session's keys are kept: its payment usually follows within minutes.
const KEEP: Duration = Duration::from_secs(3600);
/// Most sessions kept (~150 bytes each with the cache's own bookkeeping: ~30 MB at most); the
/// oldest go first, and their payments take the script.
const CAPACITY: u64 = 200_000;
/// Waits between subscription attempts after a failure: from the first to the last, doubling.
const RETRY: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// A session's IP and device keys (either may be absent).
pub(super) type Keys = [Option<u64>; 2];

/// The keys of recent sessions, and the subscription that fills them.
pub(super) struct SessionKeys {
    channel: String,
    keys: Cache<String, Keys>,
    subscription: OnceLock<Subscription>,
}

/// The subscribing task, stopped when the store goes.
struct Subscription(tokio::task::JoinHandle<()>);

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SessionKeys {
    pub(super) fn new(prefix: &str) -> Self {
        SessionKeys {
            channel: format!("{prefix}sessions"),
            keys: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(KEEP)
                .build(),
            subscription: OnceLock::new(),
        }
    }

    /// The channel sessions are announced on.
    pub(super) fn channel(&self) -> &str {
        &self.channel
    }

    /// What a gateway announces when it records session `id`.
    pub(super) fn message(id: &str, keys: Keys) -> String {
        let hex = |k: Option<u64>| k.map_or_else(|| "-".to_owned(), |k| format!("{k:016x}"));
        format!("{id} {} {}", hex(keys[0]), hex(keys[1]))
    }

    /// A message's session and keys; `None` for anything else.
    fn parse(message: &str) -> Option<(&str, Keys)> {
        let mut parts = message.split(' ');
        let (id, ip, device) = (parts.next()?, parts.next()?, parts.next()?);
        let key = |s: &str| {
            if s == "-" {
                Some(None)
            } else {
                parse_hex(s).map(Some)
            }
        };
        if id.is_empty() || parts.next().is_some() {
            return None;
        }
        Some((id, [key(ip)?, key(device)?]))
    }

    /// Session `id`'s keys, if this gateway heard of it.
    pub(super) async fn get(&self, id: &str) -> Option<Keys> {
        self.keys.get(id).await
    }

    /// Starts the subscription on one Redis, once (later calls do nothing).
    pub(super) fn subscribe(&self, client: &RedisClient) {
        self.subscription.get_or_init(|| {
            let client = client.client();
            let channel = self.channel.clone();
            let keys = self.keys.clone();
            Subscription(tokio::spawn(async move {
                let client = match client {
                    Ok(client) => client,
                    Err(e) => {
                        tracing::warn!(error = %e, "Radar Session announcements: no client; payments take the session script");
                        return;
                    }
                };
                let mut wait = RETRY.0;
                loop {
                    match listen(&client, &channel, &keys).await {
                        // It was subscribed: the next failure starts from the shortest wait.
                        Ok(()) => wait = RETRY.0,
                        Err(e) => {
                            tracing::debug!(error = %e, "Radar Session announcements: subscription failed; retrying");
                        }
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY.1);
                }
            }))
        });
    }
}

/// Subscribes and keeps what is announced until the connection fails. `Ok` once it was
/// subscribed.
async fn listen(
    client: &redis::Client,
    channel: &str,
    keys: &Cache<String, Keys>,
) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    let mut messages = pubsub.on_message();
    while let Some(m) = messages.next().await {
        let Ok(text) = std::str::from_utf8(m.get_payload_bytes()) else {
            continue;
        };
        if let Some((id, k)) = SessionKeys::parse(text) {
            keys.insert(id.to_owned(), k).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_and_anything_else_is_ignored() {
        for keys in [[Some(1), Some(u64::MAX)], [None, Some(7)], [None, None]] {
            let m = SessionKeys::message("rse_1Q2w", keys);
            assert_eq!(SessionKeys::parse(&m), Some(("rse_1Q2w", keys)));
        }
        for bad in [
            "",
            "rse",
            "rse 1",
            "rse 1 2 3",
            " - -",
            "rse zz -",
            "rse - -x",
        ] {
            assert_eq!(SessionKeys::parse(bad), None, "{bad:?}");
        }
    }
}
