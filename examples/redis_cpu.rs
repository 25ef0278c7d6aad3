//! Drives the Redis state store's evaluation batch (`RedisState::lookup_and_record`: one MGET of
//! every key's record and an APPEND per key in one MULTI/EXEC, compactions and expiries after the
//! answers) against a Redis, 64 evaluations in flight, for `scripts/redis-lua-bench`, which reads
//! the server's CPU around it. Each evaluation names 6 keys (card, email, IP, customer, billing,
//! shipping) drawn from KEYS per kind and 4 distinct values (fixed, or random with `random`), no
//! session, no evaluation record — the workload the script gives the old Lua. With `sessions`, as
//! `fixed` but two evaluations in three name one of KEYS Radar Sessions (written before by a run
//! with `put-sessions`) instead of an IP, and every evaluation writes its record: the session's IP
//! and device are counted by the session script inside the transaction (the gateway's load-test
//! workload). `sessions-device`: the same, but the payments keep their IP; the session names only
//! the device. `sessions-announced` and `sessions-device-announced`: the same, but this process
//! records the sessions itself and waits until it has heard every one announced (as every
//! gateway on the Redis does), so their keys are counted with native commands; it then prints
//! the announcements' PUBLISH time per session and resets Redis' command statistics, so that
//! they count the evaluations only.
//!
//! ```text
//! cargo run --example redis_cpu -- URL NOW EVALUATIONS KEYS \
//!     [fixed|random|put-sessions|sessions|sessions-device|sessions-announced|sessions-device-announced]
//! ```

use std::sync::Arc;

use futures_util::{StreamExt, stream};
use riskgate::{
    config::{EnrichmentConfig, RedisConfig},
    stores::state::{Attempt, Lookup, RadarSession, StateStore, redis::RedisState},
};
use riskgate_core::signals::{Dim, KeyKind};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, now, n, keys, rest @ ..] = args.as_slice() else {
        eprintln!("usage: redis_cpu URL NOW EVALUATIONS KEYS [fixed|random]");
        std::process::exit(2);
    };
    let now: i64 = now.parse().expect("NOW");
    let n: u64 = n.parse().expect("EVALUATIONS");
    let keys: u64 = keys.parse().expect("KEYS");
    let random = rest.first().is_some_and(|m| m == "random");
    // `sessions`: the session names the IP and the device; `sessions-device`: the payment has
    // its own IP (as an orchestrator usually sends it) and the session names the device.
    let mode = rest.first().map_or("fixed", String::as_str);
    let announced = mode.ends_with("-announced");
    let sessions = mode.starts_with("sessions");
    let own_ip = mode.starts_with("sessions-device");
    let store = Arc::new(
        RedisState::new(
            &RedisConfig {
                url: Some(url.clone()),
                budget_ms: 10_000,
                key_prefix: "bench:".into(),
                ..RedisConfig::default()
            },
            &EnrichmentConfig::default(),
        )
        .expect("redis client"),
    );
    store.ping().await.expect("redis answers");
    let session = |i: u64| RadarSession {
        id: format!("rse_bench{i}"),
        facts: Default::default(),
        payment_method: None,
        ip_country: None,
        ip_key: Some((KeyKind::Ip as u64) << 32 | i),
        device_key: Some((KeyKind::Device as u64) << 32 | i),
    };
    if mode == "put-sessions" || announced {
        for i in 0..keys {
            store.put_session(session(i)).await.expect("session");
        }
    }
    if mode == "put-sessions" {
        return;
    }
    if announced {
        // Those recorded before the subscription was in place are recorded again.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for i in 0..keys {
            while !store.knows_session(&format!("rse_bench{i}")).await {
                assert!(
                    std::time::Instant::now() < deadline,
                    "announcements not heard"
                );
                store.put_session(session(i)).await.expect("session");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        let client = redis::Client::open(url.as_str()).expect("redis url");
        let mut c = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut c)
            .await
            .expect("INFO");
        let publish = stats
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_publish:"))
            .and_then(|l| l.split(',').find_map(|f| f.strip_prefix("usec_per_call=")))
            .unwrap_or("?")
            .to_owned();
        println!("announcements: PUBLISH {publish} µs per recorded session");
        redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async::<()>(&mut c)
            .await
            .expect("RESETSTAT");
    }
    stream::iter(0..n)
        .map(|i| {
            let store = store.clone();
            async move {
                let mut a = Attempt {
                    usd: 12.5,
                    ..Attempt::default()
                };
                for kind in [
                    KeyKind::Card,
                    KeyKind::Email,
                    KeyKind::Ip,
                    KeyKind::Customer,
                    KeyKind::BillingAddress,
                    KeyKind::ShippingAddress,
                ] {
                    a.keys[kind as usize] = Some((kind as u64) << 32 | fastrand::u64(0..keys));
                }
                for d in 0..Dim::COUNT {
                    a.dims[d] = Some(if random {
                        fastrand::u32(..)
                    } else {
                        d as u32 + 1
                    });
                }
                let with_session = sessions && i % 3 != 0;
                let session = with_session.then(|| format!("rse_bench{}", fastrand::u64(0..keys)));
                let id = if sessions {
                    format!("peval_bench{i}")
                } else {
                    String::new()
                };
                if with_session && !own_ip {
                    a.keys[KeyKind::Ip as usize] = None;
                }
                let lookup = Lookup {
                    evaluation_id: &id,
                    session: session.as_deref(),
                    payment_method: "",
                    read_payment_method_session: false,
                    attempt: a,
                };
                store
                    .lookup_and_record(&lookup, now)
                    .await
                    .expect("evaluation");
            }
        })
        .buffer_unordered(64)
        .for_each(|()| async {})
        .await;
    // Let the spawned compactions and expiries finish: they are part of the cost.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}
