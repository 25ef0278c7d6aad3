//! The riskgate load generator as a library: traffic, the open- and closed-loop drivers, and the
//! summary. `src/main.rs` is the command line around [`run`].
//!
//! **Open loop** (`Mode::Open`): a pacing thread emits request slots on a fixed schedule (optionally
//! ramping the rate up linearly first) whatever the server does; each slot becomes one call, and its
//! latency is measured from the slot's *scheduled* time, so a stalled server or a late generator shows
//! up in the percentiles instead of hiding (no coordinated omission). **Closed loop**
//! (`Mode::Closed`): `concurrency` callers each send their next call as soon as the previous one is
//! answered — the way to find the maximum throughput; latency there is from the actual send. A
//! caller refused with RESOURCE_EXHAUSTED first waits the RetryInfo delay, as the orchestrator would.
//!
//! Requests are encoded once up front and sent as raw protobuf bytes; answers are not decoded (only
//! their gRPC status is checked, except for the first call, which must decode as a
//! `CreatePaymentEvaluationResponse`), so the generator spends as little CPU per call as possible.
//! **Step down** (`LoadConfig::step_down`, open loop): the rate changes once inside the window, e.g.
//! from 2× the gateway's maximum to half of it — the overload scenario. The summary then has each
//! phase's figures (share refused with RESOURCE_EXHAUSTED, p99 of the admitted calls) and the time
//! to recover: the first whole second after the step with no errors and p99 within the budget.
//! Every run also has a per-second timeline of the window (by scheduled time).
//!
//! The generator measures its own CPU time (getrusage) over the measured window; a generator that
//! used ≥ 90 % of the cores it may run on was the bottleneck, and the run is marked invalid.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::{Buf, BufMut, Bytes};
use hdrhistogram::Histogram;
use prost::Message;
use riskgate::proto::v1::{CreatePaymentEvaluationRequest, CreatePaymentEvaluationResponse};
use serde::Serialize;
use tonic::{
    Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::{Channel, Endpoint},
};

mod error;

pub use error::LoadError;

/// The gRPC method every call goes to.
pub const METHOD: &str = "/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";
/// Share of the available cores above which the generator counts as saturated.
pub const SATURATION: f64 = 0.9;
/// Latencies above this are clamped into the histogram's top bucket (and still counted).
const MAX_TRACKED_US: u64 = 60_000_000;

/// Where the calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `http://host:port` (plaintext HTTP/2 over TCP).
    Tcp(String),
    /// A Unix domain socket path.
    Uds(PathBuf),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(uri) => f.write_str(uri),
            Target::Uds(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How calls are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// `rate` calls per second on a fixed schedule, reached by a linear ramp of `ramp` first.
    Open { rate: f64, ramp: Duration },
    /// `concurrency` callers, each sending as soon as its previous call is answered.
    Closed { concurrency: usize },
}

/// One run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub target: Target,
    pub mode: Mode,
    /// HTTP/2 connections; calls are spread over them round-robin.
    pub connections: usize,
    /// Not recorded: lets connections, caches and the allocator settle (after any ramp).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Sent as `grpc-timeout` with every call.
    pub timeout: Duration,
    /// Open loop only: calls in flight beyond this are not sent (and the run is invalid).
    pub max_in_flight: u64,
    /// Encoded `CreatePaymentEvaluationRequest`s, sent in order, cycling.
    pub requests: Arc<Vec<Bytes>>,
    pub progress: bool,
    /// Open loop only: change the rate once, this far into the measured window.
    pub step_down: Option<StepDown>,
    /// The p99 an admitted call should stay within; a second above it has not recovered.
    pub p99_budget: Duration,
}

/// A change of the open-loop rate inside the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepDown {
    /// From the start of the measured window; a whole number of seconds.
    pub after: Duration,
    /// The rate from then on, calls per second.
    pub rate: f64,
}

/// One second of the window (by scheduled send time).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SecondStats {
    /// Seconds since the window started.
    pub second: u32,
    pub sent: u64,
    pub ok: u64,
    /// RESOURCE_EXHAUSTED answers: shed by the server.
    pub refused: u64,
    /// Every other error.
    pub failed: u64,
    /// p99 of the OK answers, µs (0 when none).
    pub p99_us: u64,
}

/// One phase of a step-down run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Phase {
    pub offered_rate: f64,
    pub seconds: u32,
    pub sent: u64,
    pub ok: u64,
    pub refused: u64,
    pub failed: u64,
    /// `refused ÷ sent`.
    pub refused_share: f64,
    /// OK answers per second.
    pub ok_rate: f64,
    /// Latency of the admitted (OK) calls, µs.
    pub latency_us: Percentiles,
}

/// The overload scenario's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepDownSummary {
    pub at_secs: f64,
    pub p99_budget_us: u64,
    pub before: Phase,
    pub after: Phase,
    /// Seconds from the step to the start of the first second with no errors and p99 within the
    /// budget (0: the very first second after the step was clean); `None`: never within the window.
    pub recovered_after_secs: Option<u32>,
}

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// The generator's own resource use over the measured window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GeneratorCpu {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// `cpu_seconds` ÷ wall seconds: cores kept busy on average.
    pub cores_used: f64,
    /// Cores this process may run on (its affinity mask).
    pub cores_available: usize,
    pub saturated: bool,
}

/// What a run measured. Rates are per second of the measured window; latencies in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub target: String,
    /// `open` or `closed`.
    pub mode: &'static str,
    /// Open loop: the scheduled rate. Closed loop: absent.
    pub offered_rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub connections: usize,
    pub ramp_secs: f64,
    pub warmup_secs: f64,
    pub duration_secs: f64,
    /// Calls started in the measured window.
    pub sent: u64,
    /// Of those, answered OK.
    pub ok: u64,
    /// Of those, failed, by canonical gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// OK answers per second of the window.
    pub achieved_rate: f64,
    /// Latency of the OK answers: from the scheduled send time (open loop) or the send (closed).
    pub latency_us: Percentiles,
    /// Open loop: how late calls left relative to their schedule (the generator's own lag).
    pub send_lag_us: Option<Percentiles>,
    /// Open loop: slots not sent because `max_in_flight` calls were outstanding.
    pub not_sent: u64,
    /// Every call sent in every phase (check call, ramp, warm-up, window), to compare with the
    /// server's own request counter.
    pub calls_total: u64,
    pub generator: GeneratorCpu,
    /// False when the generator, not the server, limited the run.
    pub valid: bool,
    pub warnings: Vec<String>,
    /// The window, second by second.
    pub timeline: Vec<SecondStats>,
    /// The step-down (overload) figures, when the run had one.
    pub step_down: Option<StepDownSummary>,
}

impl Summary {
    /// A human-readable summary.
    pub fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "target        {} ({} mode, {} connection(s))",
            self.target, self.mode, self.connections
        );
        match (self.offered_rate, self.concurrency) {
            (Some(rate), _) => {
                let _ = writeln!(
                    s,
                    "rate          offered {rate:.0}/s, achieved {:.0}/s ({:.1} %)",
                    self.achieved_rate,
                    100.0 * self.achieved_rate / rate.max(f64::MIN_POSITIVE)
                );
            }
            (None, Some(c)) => {
                let _ = writeln!(
                    s,
                    "rate          achieved {:.0}/s at concurrency {c}",
                    self.achieved_rate
                );
            }
            (None, None) => {}
        }
        let _ = writeln!(
            s,
            "window        {:.1} s after {:.1} s ramp + {:.1} s warm-up; {} sent, {} OK",
            self.duration_secs, self.ramp_secs, self.warmup_secs, self.sent, self.ok
        );
        let l = &self.latency_us;
        let _ = writeln!(
            s,
            "latency (µs)  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        );
        if let Some(lag) = &self.send_lag_us {
            let _ = writeln!(
                s,
                "send lag (µs) p50 {}  p99 {}  max {}",
                lag.p50, lag.p99, lag.max
            );
        }
        if self.errors.is_empty() {
            let _ = writeln!(s, "errors        none");
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "errors        {}", list.join(", "));
        }
        if self.not_sent > 0 {
            let _ = writeln!(
                s,
                "not sent      {} (too many calls in flight)",
                self.not_sent
            );
        }
        let g = &self.generator;
        let _ = writeln!(
            s,
            "generator CPU {:.2} s, {:.2} of {} core(s){}",
            g.cpu_seconds,
            g.cores_used,
            g.cores_available,
            if g.saturated { " — SATURATED" } else { "" }
        );
        let _ = writeln!(s, "calls total   {} (every phase)", self.calls_total);
        if let Some(sd) = &self.step_down {
            for (name, p) in [("before step", &sd.before), ("after step", &sd.after)] {
                let _ = writeln!(
                    s,
                    "{name:<13} offered {:.0}/s for {} s: OK {:.0}/s, refused {:.1} %, other errors {}, admitted p50 {} µs p99 {} µs",
                    p.offered_rate,
                    p.seconds,
                    p.ok_rate,
                    100.0 * p.refused_share,
                    p.failed,
                    p.latency_us.p50,
                    p.latency_us.p99
                );
            }
            let _ = match sd.recovered_after_secs {
                Some(t) => writeln!(
                    s,
                    "recovery      second +{t} after the step was the first clean one (no errors, p99 ≤ {} µs)",
                    sd.p99_budget_us
                ),
                None => writeln!(
                    s,
                    "recovery      NOT within the window (no second without errors and p99 ≤ {} µs)",
                    sd.p99_budget_us
                ),
            };
        }
        for w in &self.warnings {
            let _ = writeln!(s, "WARNING       {w}");
        }
        if !self.valid {
            let _ = writeln!(s, "RESULT        INVALID: the generator limited this run");
        }
        s
    }
}

// === Traffic ===

/// Encodes `requests` for sending, without idempotency keys (so every call is evaluated, not
/// replayed from the idempotency store).
pub fn encode(requests: impl IntoIterator<Item = CreatePaymentEvaluationRequest>) -> Vec<Bytes> {
    requests
        .into_iter()
        .map(|mut r| {
            r.idempotency_key.clear();
            Bytes::from(r.encode_to_vec())
        })
        .collect()
}

/// Traffic from the simulator: `days` of a seeded world (customers, cards, IPs, fraud bursts), in
/// time order.
pub fn simulated(seed: u64, days: u32) -> Vec<Bytes> {
    let config = riskgate_tools::sim::SimConfig {
        seed,
        days,
        ..Default::default()
    };
    encode(
        riskgate_tools::sim::simulate(&config)
            .into_iter()
            .map(|e| e.request),
    )
}

/// Traffic from a labelled NDJSON event file (docs/events.md), in file order.
pub fn from_events_file(path: &Path) -> Result<Vec<Bytes>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::ReadEvents {
        path: path.to_owned(),
        source,
    })?;
    let mut requests = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: riskgate_tools::sim::Event =
            serde_json::from_str(line).map_err(|source| LoadError::BadEvent {
                path: path.to_owned(),
                line: n + 1,
                source,
            })?;
        requests.push(event.request);
    }
    if requests.is_empty() {
        return Err(LoadError::NoEvents {
            path: path.to_owned(),
        });
    }
    Ok(encode(requests))
}

// === Transport ===

/// Sends pre-encoded protobuf bytes and hands back the answer's bytes undecoded.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

async fn connect(target: &Target) -> Result<Channel, LoadError> {
    match target {
        Target::Tcp(uri) => Endpoint::from_shared(uri.clone())
            .map_err(|source| LoadError::BadTarget {
                uri: uri.clone(),
                source,
            })?
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|source| LoadError::Connect {
                target: uri.clone(),
                source,
            }),
        Target::Uds(path) => {
            riskgate::server::uds_channel(path)
                .await
                .map_err(|source| LoadError::Connect {
                    target: path.display().to_string(),
                    source,
                })
        }
    }
}

/// How long a closed-loop caller waits after `status`: RESOURCE_EXHAUSTED's RetryInfo delay (50 ms
/// when it has none, at most 1 s); `None` for any other answer.
fn refusal_backoff(status: &Status) -> Option<Duration> {
    use tonic_types::StatusExt;
    (status.code() == tonic::Code::ResourceExhausted).then(|| {
        status
            .get_details_retry_info()
            .and_then(|info| info.retry_delay)
            .unwrap_or(Duration::from_millis(50))
            .min(Duration::from_secs(1))
    })
}

/// One unary call with pre-encoded `body`.
async fn call(channel: Channel, body: Bytes, timeout: Duration) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("connection not ready: {e}")))?;
    let mut request = Request::new(body);
    request.set_timeout(timeout);
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(METHOD);
    grpc.unary(request, path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// Canonical upper-case code names: the same words as riskgate's metric labels.
pub use riskgate::server::layer::code_label as code_name;

// === Measurement ===

/// CPU seconds (user + system) this process has used so far.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass; a zeroed rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer cannot fail.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3).expect("static histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TRACKED_US)
}

/// What the measured window recorded.
struct Recorder {
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    sent: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// Per second of the window: counts and the OK latencies.
    seconds: Vec<(SecondStats, Histogram<u64>)>,
}

/// Per-second histograms: 2 significant digits are plenty for a p99 and keep them small.
fn second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 2).expect("static histogram bounds are valid")
}

/// Counters over every phase, for the progress bar and `calls_total`.
#[derive(Default)]
struct Live {
    sent: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    in_flight: AtomicU64,
    not_sent: AtomicU64,
}

struct Shared {
    recorder: Mutex<Recorder>,
    live: Live,
    window_start: Instant,
    window_end: Instant,
}

impl Shared {
    fn in_window(&self, at: Instant) -> bool {
        at >= self.window_start && at < self.window_end
    }

    /// Records one answered call that was due (`due`) and left (`sent_at`).
    fn finish(&self, due: Instant, sent_at: Instant, result: Result<Bytes, Status>, lag: bool) {
        let done = Instant::now();
        self.live.in_flight.fetch_sub(1, Ordering::Relaxed);
        match &result {
            Ok(_) => self.live.ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.live.failed.fetch_add(1, Ordering::Relaxed),
        };
        if !self.in_window(due) {
            return;
        }
        let mut r = self.recorder.lock().unwrap_or_else(|p| p.into_inner());
        let second = (due - self.window_start).as_secs() as usize;
        if let Some((stats, h)) = r.seconds.get_mut(second) {
            stats.sent += 1;
            match &result {
                Ok(_) => {
                    stats.ok += 1;
                    h.saturating_record(micros(done - due));
                }
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    stats.refused += 1
                }
                Err(_) => stats.failed += 1,
            }
        }
        r.sent += 1;
        if lag {
            r.lag
                .saturating_record(micros(sent_at.saturating_duration_since(due)));
        }
        match result {
            Ok(_) => {
                r.ok += 1;
                r.latency.saturating_record(micros(done - due));
            }
            Err(status) => {
                *r.errors
                    .entry(code_name(status.code()).to_owned())
                    .or_default() += 1
            }
        }
    }
}

/// When slot `i` of an open-loop schedule is due, as an offset from the start: a linear ramp from 0
/// to `rate` over `ramp` (the integral of the rate reaches `rate × ramp ÷ 2` calls), then `rate`.
pub fn slot_offset(i: u64, rate: f64, ramp: Duration) -> Duration {
    let ramp_s = ramp.as_secs_f64();
    let ramp_calls = rate * ramp_s / 2.0;
    let i = i as f64;
    let secs = if i < ramp_calls {
        (2.0 * ramp_s * i / rate).sqrt()
    } else {
        ramp_s + (i - ramp_calls) / rate
    };
    Duration::from_secs_f64(secs)
}

/// [`slot_offset`] with a step down: slots due before `at` (an offset from the start, after the
/// ramp) follow the first rate; from `at` on, slots come at `low` per second.
pub fn stepped_slot_offset(
    i: u64,
    rate: f64,
    ramp: Duration,
    step: Option<(Duration, f64)>,
) -> Duration {
    let Some((at, low)) = step else {
        return slot_offset(i, rate, ramp);
    };
    let ramp_s = ramp.as_secs_f64();
    // Slots due before `at` at the first rate (`at` is past the ramp).
    let before = (rate * ramp_s / 2.0 + (at.as_secs_f64() - ramp_s) * rate).ceil() as u64;
    if i < before {
        slot_offset(i, rate, ramp)
    } else {
        at + Duration::from_secs_f64((i - before) as f64 / low)
    }
}

/// The step-down figures from the per-second timeline.
fn step_down_summary(
    seconds: &[(SecondStats, Histogram<u64>)],
    step: StepDown,
    rate: f64,
    budget: Duration,
) -> StepDownSummary {
    let at = step.after.as_secs() as usize;
    let phase = |range: &[(SecondStats, Histogram<u64>)], offered_rate: f64| {
        let mut p = Phase {
            offered_rate,
            seconds: range.len() as u32,
            ..Default::default()
        };
        let mut h = second_histogram();
        for (s, sh) in range {
            p.sent += s.sent;
            p.ok += s.ok;
            p.refused += s.refused;
            p.failed += s.failed;
            let _ = h.add(sh);
        }
        p.refused_share = p.refused as f64 / (p.sent.max(1)) as f64;
        p.ok_rate = p.ok as f64 / (range.len().max(1)) as f64;
        p.latency_us = Percentiles::of(&h);
        p
    };
    let at = at.min(seconds.len());
    let budget_us = micros(budget);
    StepDownSummary {
        at_secs: step.after.as_secs_f64(),
        p99_budget_us: budget_us,
        before: phase(&seconds[..at], rate),
        after: phase(&seconds[at..], step.rate),
        recovered_after_secs: seconds[at..]
            .iter()
            .position(|(s, _)| s.refused == 0 && s.failed == 0 && s.ok > 0 && s.p99_us <= budget_us)
            .map(|n| n as u32),
    }
}

/// Runs the load described by `config` and summarises it. Fails if the target cannot be reached or
/// its first answer is not an OK `CreatePaymentEvaluationResponse`.
pub async fn run(config: LoadConfig) -> Result<Summary, LoadError> {
    if config.requests.is_empty() {
        return Err(LoadError::NoRequests);
    }
    if config.connections == 0 {
        return Err(LoadError::NoConnections);
    }
    if config.duration.is_zero() {
        return Err(LoadError::ZeroDuration);
    }
    let mut channels = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        channels.push(connect(&config.target).await?);
    }
    // The check call: the target must speak the API and accept the traffic.
    let answer = call(
        channels[0].clone(),
        config.requests[0].clone(),
        config.timeout,
    )
    .await
    .map_err(|s| LoadError::FirstCall {
        code: code_name(s.code()),
        message: s.message().to_owned(),
    })?;
    CreatePaymentEvaluationResponse::decode(answer).map_err(LoadError::NotAResponse)?;

    let ramp = match config.mode {
        Mode::Open { ramp, .. } => ramp,
        Mode::Closed { .. } => Duration::ZERO,
    };
    if let Some(step) = config.step_down {
        if !matches!(config.mode, Mode::Open { .. }) {
            return Err(LoadError::StepDownNeedsOpenLoop);
        }
        if !(step.rate.is_finite() && step.rate > 0.0) {
            return Err(LoadError::BadStepDownRate);
        }
        if step.after.is_zero() || step.after >= config.duration || step.after.subsec_nanos() != 0 {
            return Err(LoadError::BadStepDownTime);
        }
    }
    let lead_in = ramp + config.warmup;
    let start = Instant::now() + Duration::from_millis(20);
    let window_start = start + lead_in;
    let window_end = window_start + config.duration;
    let shared = Arc::new(Shared {
        recorder: Mutex::new(Recorder {
            latency: histogram(),
            lag: histogram(),
            sent: 0,
            ok: 0,
            errors: BTreeMap::new(),
            seconds: (0..config.duration.as_secs_f64().ceil() as u32)
                .map(|second| {
                    (
                        SecondStats {
                            second,
                            ..Default::default()
                        },
                        second_histogram(),
                    )
                })
                .collect(),
        }),
        live: Live::default(),
        window_start,
        window_end,
    });

    let progress = progress_bar(&config, lead_in + config.duration, shared.clone(), start);
    // CPU is sampled at the window's edges by a task of its own.
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let (t0, c0) = (Instant::now(), process_cpu_seconds());
        tokio::time::sleep_until(window_end.into()).await;
        (process_cpu_seconds() - c0, t0.elapsed().as_secs_f64())
    });

    match config.mode {
        Mode::Open { rate, ramp } => {
            let step = config
                .step_down
                .map(|s| (window_start + s.after - start, s.rate));
            open_loop(&config, &channels, &shared, start, rate, ramp, step).await?
        }
        Mode::Closed { concurrency } => {
            closed_loop(&config, &channels, &shared, start, concurrency).await
        }
    }
    let (cpu_seconds, wall) = cpu.await.map_err(LoadError::CpuSampler)?;
    progress.stop.store(true, Ordering::Relaxed);
    let _ = progress.task.await;

    let cores_available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores_used = cpu_seconds / wall.max(1e-9);
    let saturated = cores_used >= SATURATION * cores_available as f64;
    let mut recorder = shared.recorder.lock().unwrap_or_else(|p| p.into_inner());
    for (stats, h) in recorder.seconds.iter_mut() {
        stats.p99_us = if h.is_empty() {
            0
        } else {
            h.value_at_quantile(0.99)
        };
    }
    let step_down = match (config.step_down, config.mode) {
        (Some(step), Mode::Open { rate, .. }) => Some(step_down_summary(
            &recorder.seconds,
            step,
            rate,
            config.p99_budget,
        )),
        _ => None,
    };
    let not_sent = shared.live.not_sent.load(Ordering::Relaxed);
    let duration_secs = config.duration.as_secs_f64();
    let mut warnings = Vec::new();
    if saturated {
        warnings.push(format!(
            "the generator used {cores_used:.2} of {cores_available} core(s) (≥ {:.0} %): it, not the server, may have been the limit",
            SATURATION * 100.0
        ));
    }
    if not_sent > 0 {
        warnings.push(format!(
            "{not_sent} scheduled calls were not sent: {} calls were already in flight",
            config.max_in_flight
        ));
    }
    let send_lag = matches!(config.mode, Mode::Open { .. }).then(|| Percentiles::of(&recorder.lag));
    if let Some(lag) = &send_lag
        && lag.p99 > 1_000
    {
        warnings.push(format!(
            "calls left up to {} µs late at p99: the generator fell behind its schedule (latency includes it)",
            lag.p99
        ));
    }
    let (offered_rate, concurrency) = match config.mode {
        Mode::Open { rate, .. } => (Some(rate), None),
        Mode::Closed { concurrency } => (None, Some(concurrency)),
    };
    Ok(Summary {
        target: config.target.to_string(),
        mode: if offered_rate.is_some() {
            "open"
        } else {
            "closed"
        },
        offered_rate,
        concurrency,
        connections: config.connections,
        ramp_secs: ramp.as_secs_f64(),
        warmup_secs: config.warmup.as_secs_f64(),
        duration_secs,
        sent: recorder.sent,
        ok: recorder.ok,
        errors: recorder.errors.clone(),
        achieved_rate: recorder.ok as f64 / duration_secs,
        latency_us: Percentiles::of(&recorder.latency),
        send_lag_us: send_lag,
        not_sent,
        calls_total: 1 + shared.live.sent.load(Ordering::Relaxed),
        generator: GeneratorCpu {
            cpu_seconds,
            cores_used,
            cores_available,
            saturated,
        },
        valid: !saturated && not_sent == 0,
        warnings,
        timeline: recorder.seconds.iter().map(|(s, _)| s.clone()).collect(),
        step_down,
    })
}

async fn open_loop(
    config: &LoadConfig,
    channels: &[Channel],
    shared: &Arc<Shared>,
    start: Instant,
    rate: f64,
    ramp: Duration,
    step: Option<(Duration, f64)>,
) -> Result<(), LoadError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(LoadError::BadRate);
    }
    let total = shared.window_end - start;
    // A plain thread paces the schedule: tokio's timer ticks in whole milliseconds, which would add
    // up to 1 ms of the generator's own delay to every measured latency; thread::sleep is finer.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let pacer = std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || {
            let mut i = 0u64;
            loop {
                let offset = stepped_slot_offset(i, rate, ramp, step);
                if offset >= total {
                    return;
                }
                let due = start + offset;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                // Emit every slot that is due by now (a batch when the sleep overshot).
                let now = Instant::now();
                loop {
                    let offset = stepped_slot_offset(i, rate, ramp, step);
                    let due = start + offset;
                    if offset >= total || due > now {
                        break;
                    }
                    if tx.send((i, due)).is_err() {
                        return;
                    }
                    i += 1;
                }
            }
        })
        .map_err(LoadError::Pacer)?;

    let mut tasks = tokio::task::JoinSet::new();
    while let Some((i, due)) = rx.recv().await {
        let live = &shared.live;
        if live.in_flight.load(Ordering::Relaxed) >= config.max_in_flight {
            if shared.in_window(due) {
                live.not_sent.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        live.in_flight.fetch_add(1, Ordering::Relaxed);
        live.sent.fetch_add(1, Ordering::Relaxed);
        let channel = channels[(i % channels.len() as u64) as usize].clone();
        let body = config.requests[(i % config.requests.len() as u64) as usize].clone();
        let shared = shared.clone();
        let timeout = config.timeout;
        tasks.spawn(async move {
            let sent_at = Instant::now();
            let result = call(channel, body, timeout).await;
            shared.finish(due, sent_at, result, true);
        });
        // Reap finished tasks as we go so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    let _ = pacer.join();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

async fn closed_loop(
    config: &LoadConfig,
    channels: &[Channel],
    shared: &Arc<Shared>,
    start: Instant,
    concurrency: usize,
) {
    tokio::time::sleep_until(start.into()).await;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let channel = channels[worker % channels.len()].clone();
        let requests = config.requests.clone();
        let (shared, next, timeout) = (shared.clone(), next.clone(), config.timeout);
        tasks.spawn(async move {
            loop {
                let sent_at = Instant::now();
                if sent_at >= shared.window_end {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = requests[(i % requests.len() as u64) as usize].clone();
                shared.live.in_flight.fetch_add(1, Ordering::Relaxed);
                shared.live.sent.fetch_add(1, Ordering::Relaxed);
                let result = call(channel.clone(), body, timeout).await;
                let backoff = result.as_ref().err().and_then(refusal_backoff);
                shared.finish(sent_at, sent_at, result, false);
                // A refused caller waits as the server asked, as a well-behaved client does;
                // retrying at once would measure how fast the server refuses, not what it serves.
                if let Some(wait) = backoff {
                    tokio::time::sleep(wait).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

struct Progress {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

fn progress_bar(
    config: &LoadConfig,
    total: Duration,
    shared: Arc<Shared>,
    start: Instant,
) -> Progress {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = if config.progress {
        ProgressBar::new(total.as_millis() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
        )
        .expect("static template is valid"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let (mut last_ok, mut last_at) = (0u64, Instant::now());
        while !stop2.load(Ordering::Relaxed) {
            tick.tick().await;
            let now = Instant::now();
            let live = &shared.live;
            let ok = live.ok.load(Ordering::Relaxed);
            let rate = (ok - last_ok) as f64 / (now - last_at).as_secs_f64().max(1e-3);
            (last_ok, last_at) = (ok, now);
            let phase = if now < shared.window_start {
                "warm-up"
            } else if now < shared.window_end {
                "measuring"
            } else {
                "draining"
            };
            bar.set_position(now.saturating_duration_since(start).as_millis() as u64);
            bar.set_message(format!(
                "{phase}: {rate:>7.0}/s  ok {ok}  failed {}  in flight {}",
                live.failed.load(Ordering::Relaxed),
                live.in_flight.load(Ordering::Relaxed)
            ));
        }
        bar.finish_and_clear();
    });
    Progress { stop, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_without_ramp_is_evenly_spaced() {
        let d = |i| slot_offset(i, 1000.0, Duration::ZERO);
        assert_eq!(d(0), Duration::ZERO);
        assert_eq!(d(1), Duration::from_millis(1));
        assert_eq!(d(1500), Duration::from_millis(1500));
    }

    #[test]
    fn ramp_reaches_the_rate_after_half_its_calls() {
        // 100/s ramped over 2 s: 100 calls in the ramp, the last of them just before 2 s.
        let rate = 100.0;
        let ramp = Duration::from_secs(2);
        assert_eq!(slot_offset(0, rate, ramp), Duration::ZERO);
        assert!(slot_offset(99, rate, ramp) < ramp);
        assert_eq!(slot_offset(100, rate, ramp), ramp);
        assert_eq!(slot_offset(200, rate, ramp), Duration::from_secs(3));
        // Slower at the start than at the end of the ramp.
        let first = slot_offset(1, rate, ramp) - slot_offset(0, rate, ramp);
        let last = slot_offset(99, rate, ramp) - slot_offset(98, rate, ramp);
        assert!(first > last * 5, "{first:?} vs {last:?}");
    }

    #[test]
    fn a_step_down_changes_the_spacing_at_its_time() {
        // 1000/s, no ramp, down to 100/s at 2 s: slot 2000 is the first at the new rate.
        let step = Some((Duration::from_secs(2), 100.0));
        let d = |i| stepped_slot_offset(i, 1000.0, Duration::ZERO, step);
        assert_eq!(d(1999), Duration::from_millis(1999));
        assert_eq!(d(2000), Duration::from_secs(2));
        assert_eq!(d(2001), Duration::from_millis(2010));
        assert_eq!(d(2100), Duration::from_secs(3));
        // With a ramp of 1 s first: 500 calls in it, then 1000/s until 2 s.
        let d = |i| stepped_slot_offset(i, 1000.0, Duration::from_secs(1), step);
        assert_eq!(d(1500), Duration::from_secs(2));
        assert_eq!(d(1501), Duration::from_millis(2010));
    }

    #[test]
    fn recovery_is_the_first_clean_second_after_the_step() {
        let second = |n: u32, refused: u64, p99_us: u64| {
            let mut h = second_histogram();
            h.record(p99_us).unwrap();
            (
                SecondStats {
                    second: n,
                    sent: 100,
                    ok: 100 - refused,
                    refused,
                    failed: 0,
                    p99_us,
                },
                h,
            )
        };
        let seconds = vec![
            second(0, 50, 900),
            second(1, 50, 900),
            second(2, 3, 900),    // after the step, still refusing
            second(3, 0, 80_000), // nothing refused, but over the budget
            second(4, 0, 1_000),  // clean
            second(5, 0, 1_000),
        ];
        let step = StepDown {
            after: Duration::from_secs(2),
            rate: 50.0,
        };
        let s = step_down_summary(&seconds, step, 200.0, Duration::from_millis(50));
        assert_eq!(s.recovered_after_secs, Some(2));
        assert_eq!((s.before.sent, s.before.refused), (200, 100));
        assert_eq!(s.before.refused_share, 0.5);
        assert_eq!((s.after.seconds, s.after.refused), (4, 3));
    }

    #[test]
    fn simulated_traffic_has_many_distinct_requests_without_idempotency_keys() {
        let requests = simulated(7, 2);
        assert!(requests.len() > 100, "{}", requests.len());
        let distinct: std::collections::HashSet<&Bytes> = requests.iter().collect();
        assert!(distinct.len() * 10 > requests.len() * 9);
        for body in requests.iter().take(50) {
            let r = CreatePaymentEvaluationRequest::decode(body.clone()).unwrap();
            assert!(r.idempotency_key.is_empty());
        }
    }

    #[test]
    fn percentiles_of_an_empty_histogram_are_zero() {
        assert_eq!(Percentiles::of(&histogram()), Percentiles::default());
        let mut h = histogram();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!((p.count, p.p50, p.max), (1000, 500, 1000));
        assert_eq!(p.p99, 990);
    }

    #[test]
    fn cpu_time_is_measured() {
        let before = process_cpu_seconds();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_seconds() > before);
    }
}
