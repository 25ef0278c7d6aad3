//! The enrichment stage's cost, on requests shaped like `examples/evaluation.json` whose card (2,000
//! values), email (3,000), IP (10,000), customer (5,000) and addresses (4,000) vary, so counters
//! hold real history:
//!
//! - `enrich/in_process`: `Enricher::enrich` + `finish` with in-process state — the stage's cost per
//!   evaluation;
//! - `enrich/redis_round_trip`: the same on Redis (one Lua round trip), sequentially;
//! - `load/in_process`, `load/redis`: `EvaluationService::create` (the whole edge without the
//!   transport) with 64 evaluations in flight on a multi-thread runtime; the throughput ratio
//!   redis / in_process is the load comparison of the README (target ≥ 0.6).
//!
//! The Redis parts start their own `redis-server` on a free loopback port (scripts/test installs it).
//! After `load/redis` the bench prints what Redis itself spent per lookup script (`INFO
//! commandstats` wall time and `INFO cpu` CPU time), the machine-independent half of the ratio.
//!
//! `cargo bench --bench enrich -- --warm-up-time 1 --measurement-time 3`

use std::{
    hint::black_box,
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use riskgate::{
    api::{evaluations::EvaluationService, validate},
    config::{EnrichmentConfig, RedisConfig},
    enrich::Enricher,
    pipeline::Pipeline,
    proto::v1::CreatePaymentEvaluationRequest,
    stores::idempotency::IdempotencyStore,
    telemetry,
};
use riskgate_core::{
    decision::{LevelActions, RiskThresholds},
    engine::Engine,
    model::LogisticModel,
    reference::FxTable,
};

const REQUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/evaluation.json");
const VARIANTS: usize = 10_000;
const IN_FLIGHT: usize = 64;
const BATCH: usize = 512;

fn requests() -> Vec<CreatePaymentEvaluationRequest> {
    let text = std::fs::read_to_string(REQUEST).expect("examples/evaluation.json");
    let base: CreatePaymentEvaluationRequest = serde_json::from_str(&text).expect("valid JSON");
    (0..VARIANTS)
        .map(|i| {
            let mut r = base.clone();
            r.idempotency_key.clear();
            let pd = r.payment_details.as_mut().unwrap();
            let pm = pd.payment_method_details.as_mut().unwrap();
            pm.card.as_mut().unwrap().fingerprint = format!("fp{}", i % 2000);
            r.customer_details.as_mut().unwrap().email = format!("buyer{}@example.com", i % 3000);
            r.client_device_metadata_details.as_mut().unwrap().ip =
                format!("198.51.{}.{}", (i / 250) % 250, i % 250);
            r.customer_details.as_mut().unwrap().customer = format!("cus_bench{}", i % 5000);
            let street = format!("{} Townsend St", i % 4000);
            let pd = r.payment_details.as_mut().unwrap();
            let billing = pd
                .payment_method_details
                .as_mut()
                .unwrap()
                .billing_details
                .as_mut();
            billing.unwrap().address.as_mut().unwrap().line1 = street.clone();
            pd.shipping_details
                .as_mut()
                .unwrap()
                .address
                .as_mut()
                .unwrap()
                .line1 = street;
            r
        })
        .collect()
}

/// A redis-server for the run, killed on drop.
struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        // Owned at once, so it is killed and waited for (Drop) whatever happens next.
        let server = Self(child, port);
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn enricher(redis: Option<u16>) -> Arc<Enricher> {
    let url = redis.map(|port| format!("redis://127.0.0.1:{port}"));
    let redis = RedisConfig {
        url,
        budget_ms: 1000,
        ..Default::default()
    };
    let config = EnrichmentConfig::default();
    let (e, _) = Enricher::from_configs(
        &config,
        &redis,
        riskgate::clock::Clock::system(),
        riskgate::stores::state::local::LocalState::new(&config),
    )
    .expect("enricher");
    Arc::new(e)
}

fn service(enricher: Arc<Enricher>) -> EvaluationService {
    let engine = Engine::new(
        Arc::new(LogisticModel::default()),
        RiskThresholds::default(),
        LevelActions::default(),
        FxTable::default(),
    );
    EvaluationService::new(
        Pipeline::new(Arc::new(arc_swap::ArcSwap::from_pointee(engine)), enricher),
        IdempotencyStore::new(Duration::from_secs(3600), 1 << 20),
        false,
        Duration::ZERO,
    )
}

fn stage(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    enricher: Arc<Enricher>,
    reqs: &[CreatePaymentEvaluationRequest],
) {
    let inputs: Vec<_> = reqs
        .iter()
        .map(|r| validate::payment_evaluation(r).expect("valid"))
        .collect();
    let mut i = 0usize;
    c.bench_function(group, |b| {
        b.iter(|| {
            i = (i + 1) % inputs.len();
            rt.block_on(async {
                let e = enricher
                    .enrich(black_box(&inputs[i]), "peval_bench", Some(129.0))
                    .await;
                enricher.finish(&e, false).await;
                e
            })
        })
    });
}

fn load(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    service: EvaluationService,
    reqs: Arc<Vec<CreatePaymentEvaluationRequest>>,
) {
    let service = Arc::new(service);
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let service = service.clone();
            let reqs = reqs.clone();
            rt.block_on(async move {
                let started = Instant::now();
                for iter in 0..iters {
                    let tasks: Vec<_> = (0..IN_FLIGHT)
                        .map(|w| {
                            let (service, reqs) = (service.clone(), reqs.clone());
                            tokio::spawn(async move {
                                for j in (w..BATCH).step_by(IN_FLIGHT) {
                                    let r = &reqs[(iter as usize * BATCH + j) % reqs.len()];
                                    service.create(r, None).await.expect("evaluates");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

fn enrich(c: &mut Criterion) {
    let metrics = telemetry::metrics_handle();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            metrics.run_upkeep();
        }
    });
    let reqs = Arc::new(requests());
    let redis = RedisServer::start();
    // The server's shape: a multi-thread runtime (the Redis client runs its connection task on it).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _runtime = rt.enter();

    stage(c, &rt, "enrich/in_process", enricher(None), &reqs);
    stage(
        c,
        &rt,
        "enrich/redis_round_trip",
        enricher(Some(redis.1)),
        &reqs,
    );
    load(c, &rt, "in_process", service(enricher(None)), reqs.clone());
    let before = rt.block_on(redis_stats(redis.1, true));
    load(c, &rt, "redis", service(enricher(Some(redis.1))), reqs);
    let after = rt.block_on(redis_stats(redis.1, false));
    let calls = after.calls.max(1) as f64;
    eprintln!(
        "load/redis: {} lookup scripts; Redis spent {:.1} µs per script (commandstats, wall) and \
         {:.1} µs of CPU per script (INFO cpu)",
        after.calls,
        after.usec_per_call,
        (after.cpu_secs - before.cpu_secs) * 1e6 / calls,
    );
}

/// What Redis reports about the scripts it ran and its own CPU time.
#[derive(Default)]
struct RedisStats {
    calls: u64,
    usec_per_call: f64,
    cpu_secs: f64,
}

async fn redis_stats(port: u16, reset: bool) -> RedisStats {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let info: String = redis::cmd("INFO")
        .arg("all")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    if reset {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut conn)
            .await
            .expect("CONFIG RESETSTAT");
    }
    let mut stats = RedisStats::default();
    for line in info.lines() {
        if let Some(v) = line
            .strip_prefix("used_cpu_user:")
            .or(line.strip_prefix("used_cpu_sys:"))
        {
            stats.cpu_secs += v.trim().parse::<f64>().unwrap_or(0.0);
        }
        if let Some(rest) = line.strip_prefix("cmdstat_evalsha:") {
            for kv in rest.split(',') {
                match kv.split_once('=') {
                    Some(("calls", v)) => stats.calls = v.parse().unwrap_or(0),
                    Some(("usec_per_call", v)) => stats.usec_per_call = v.parse().unwrap_or(0.0),
                    _ => {}
                }
            }
        }
    }
    stats
}

criterion_group!(benches, enrich);
criterion_main!(benches);
