//! A tower layer around every gRPC call: RED metrics (rate, errors by code, duration), the two
//! admission checks that refuse riskgate calls at once with RESOURCE_EXHAUSTED instead of queueing
//! them, and the caller's deadline. Health and reflection calls are counted but never shed: a probe
//! must not fail because the gateway is busy.
//!
//! A request that is not gRPC (its `content-type` does not start with `application/grpc`) is
//! answered HTTP 415 at once, as the gRPC spec asks, before any service or admission check.
//!
//! Admission, on arrival, before the request is decoded:
//! - the CPU governor's share ([`CpuAdmission`], see `governor.rs`): while the runtime has no CPU
//!   to spare, only a share of calls is admitted, so that admitted calls keep their latency;
//! - the concurrency limit: calls in flight (those waiting on Stripe or Redis hold a slot).
//!
//! Deadlines: a riskgate call runs for at most `grpc.max_call_secs`, whatever the caller asks
//! (a longer `grpc-timeout` is cut to it, a call without one gets it), so a client that trickles
//! its request body or never ends it cannot hold a concurrency slot for long.
//! tonic enforces `grpc-timeout` itself, outside any custom layer, and answers CANCELLED.
//! This layer runs inside tonic's and times the call out `deadline_margin` earlier with
//! DEADLINE_EXCEEDED; because tonic polls the inner service before its own timer, the caller gets
//! DEADLINE_EXCEEDED even when both timers have fired by the time the task runs.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use metrics::{Counter, Gauge, Histogram};
use quanta::Instant;
use tokio::sync::Semaphore;
use tonic::{Code, Status};

use super::{governor::CpuAdmission, watched::Watched};
use crate::{
    api::{
        deadline::{Deadline, GRPC_TIMEOUT, parse_grpc_timeout},
        error::ApiError,
    },
    telemetry,
};

/// Paths under this prefix are riskgate's own API, subject to the concurrency limit.
const SHEDDABLE_PREFIX: &str = "/riskgate.v1.";
/// Methods of the services riskgate serves besides its own (health, reflection v1 and v1alpha).
const OTHER_METHODS: &[&str] = &[
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// Every method riskgate serves, as metric labels (`package.Service/Method`): riskgate's own from its
/// descriptor set, then [`OTHER_METHODS`]. Built once; the strings live for the process, so a call's
/// label is a `&'static str` and recording a metric allocates nothing.
fn method_labels() -> &'static [&'static str] {
    static LABELS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LABELS.get_or_init(|| {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the embedded descriptor set decodes");
        let mut labels: Vec<&'static str> = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let label = format!("{}.{}/{}", file.package(), service.name(), method.name());
                    labels.push(Box::leak(label.into_boxed_str()));
                }
            }
        }
        // The evaluation method first: it is by far the most called.
        labels.sort_by_key(|l| !l.ends_with("/CreatePaymentEvaluation"));
        labels.extend_from_slice(OTHER_METHODS);
        labels
    })
}

/// A method riskgate serves, or `unknown`: its metric label (bounded, whatever paths clients send)
/// and its index among the labels.
#[derive(Clone, Copy)]
struct Method {
    index: usize,
    label: &'static str,
}

/// The method of a request path.
fn method_of(path: &str) -> Method {
    let labels = method_labels();
    let unknown = Method {
        index: labels.len(),
        label: "unknown",
    };
    let Some(method) = path.strip_prefix('/') else {
        return unknown;
    };
    labels
        .iter()
        .position(|l| *l == method)
        .map_or(unknown, |index| Method {
            index,
            label: labels[index],
        })
}

/// Adds [`Observe`] to a service.
#[derive(Clone)]
pub struct ObserveLayer {
    permits: Arc<Semaphore>,
    limit: usize,
    deadline_margin: Duration,
    max_call: Duration,
    cpu: Option<Arc<CpuAdmission>>,
    metrics: Arc<CallMetrics>,
}

/// The longest a riskgate call runs unless [`ObserveLayer::with_max_call`] says otherwise
/// (`grpc.max_call_secs`' default).
pub const DEFAULT_MAX_CALL: Duration = Duration::from_secs(10);

impl ObserveLayer {
    /// At most `limit` sheddable calls in flight; deadlines answered `deadline_margin` early.
    pub fn new(limit: usize, deadline_margin: Duration) -> Self {
        method_labels(); // built here, not on the first call
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            deadline_margin,
            max_call: DEFAULT_MAX_CALL,
            cpu: None,
            metrics: Arc::new(CallMetrics::new()),
        }
    }

    /// Riskgate calls run at most `max_call`: a longer caller deadline is cut to it, a call with
    /// none is answered DEADLINE_EXCEEDED after it.
    pub fn with_max_call(mut self, max_call: Duration) -> Self {
        self.max_call = max_call;
        self
    }

    /// Also refuse a share of sheddable calls on arrival while the CPU is saturated.
    pub fn with_cpu_admission(mut self, gate: Option<Arc<CpuAdmission>>) -> Self {
        self.cpu = gate;
        self
    }
}

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            permits: self.permits.clone(),
            limit: self.limit,
            deadline_margin: self.deadline_margin,
            max_call: self.max_call,
            cpu: self.cpu.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
    deadline_margin: Duration,
    max_call: Duration,
    cpu: Option<Arc<CpuAdmission>>,
    metrics: Arc<CallMetrics>,
}

/// The gRPC code of a response: from `grpc-status` in the headers (trailers-only answers, which is how
/// every unary error is sent), else OK (a unary success carries its status in trailers).
fn response_code(headers: &http::HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .map_or(Code::Ok, |v| Code::from_bytes(v.as_bytes()))
}

/// The RED metrics' handles, each taken from the registry on first use and kept: a registry
/// lookup hashes the metric's name and labels, and a call made four of them (in-flight up and
/// down, its counter, its duration), ~2 % of its CPU — and a refusal, which must cost as little
/// as possible, two. One set per layer, so a test's local recorder gets its own.
struct CallMetrics {
    in_flight: OnceLock<Gauge>,
    /// Per method (index in [`method_labels`], then `unknown`).
    methods: Box<[MethodMetrics]>,
    /// Refusals by the CPU governor and by the concurrency limit.
    shed_cpu: OnceLock<Counter>,
    shed_limit: OnceLock<Counter>,
}

/// One method's answers by code (tonic's codes are 0–16) and durations.
#[derive(Default)]
struct MethodMetrics {
    codes: [OnceLock<Counter>; 17],
    duration: OnceLock<Histogram>,
}

impl CallMetrics {
    fn new() -> Self {
        Self {
            in_flight: OnceLock::new(),
            methods: (0..=method_labels().len())
                .map(|_| MethodMetrics::default())
                .collect(),
            shed_cpu: OnceLock::new(),
            shed_limit: OnceLock::new(),
        }
    }

    fn in_flight(&self) -> &Gauge {
        self.in_flight
            .get_or_init(|| metrics::gauge!(telemetry::GRPC_IN_FLIGHT))
    }

    fn record(&self, method: Method, code: Code, started: Instant) {
        let m = &self.methods[method.index];
        m.codes[code as usize % 17]
            .get_or_init(|| {
                let code = code_label(code);
                metrics::counter!(telemetry::GRPC_REQUESTS, "method" => method.label, "code" => code)
            })
            .increment(1);
        m.duration
            .get_or_init(|| metrics::histogram!(telemetry::GRPC_DURATION, "method" => method.label))
            .record(started.elapsed());
    }

    /// Counts a refusal (`reason`: `cpu` or `concurrency_limit`).
    fn shed(&self, reason: Shed) {
        let (slot, label) = match reason {
            Shed::Cpu => (&self.shed_cpu, "cpu"),
            Shed::Limit => (&self.shed_limit, "concurrency_limit"),
        };
        slot.get_or_init(|| metrics::counter!(telemetry::LOAD_SHED, "reason" => label))
            .increment(1);
    }
}

/// Why a call was refused on arrival (`riskgate_load_shed_total{reason}`).
#[derive(Clone, Copy)]
enum Shed {
    Cpu,
    Limit,
}

/// Canonical upper-case code names, as gRPC tooling prints them (also the metric label values).
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// One admitted call, from the layer's point of view. Keeps the in-flight gauge, and records the
/// call when it is dropped unanswered — the client went away (cancelled it, reset the stream, its
/// deadline passed on its side) — as CANCELLED, so the RED metrics count every call that reached
/// the gateway, not only the answered ones (a load run's request count must match Prometheus').
struct Call {
    metrics: Arc<CallMetrics>,
    method: Method,
    started: Instant,
    answered: bool,
}

impl Call {
    fn start(metrics: Arc<CallMetrics>, method: Method, started: Instant) -> Self {
        metrics.in_flight().increment(1.0);
        Call {
            metrics,
            method,
            started,
            answered: false,
        }
    }

    fn answered(mut self, code: Code) {
        self.metrics.record(self.method, code, self.started);
        self.answered = true;
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.metrics.in_flight().decrement(1.0);
        if !self.answered {
            self.metrics
                .record(self.method, Code::Cancelled, self.started);
        }
    }
}

/// Whether a request says it is gRPC: `content-type: application/grpc` or `application/grpc+…`
/// (`+proto`, `+json`; `;` parameters allowed).
fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .map(http::HeaderValue::as_bytes)
        .and_then(|v| v.strip_prefix(b"application/grpc"))
        .is_some_and(|rest| rest.is_empty() || rest[0] == b'+' || rest[0] == b';')
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Answers a call RESOURCE_EXHAUSTED at once (`reason` labels the shed counter), without calling
/// the handler.
fn refuse<RB, E>(
    metrics: &CallMetrics,
    method: Method,
    started: Instant,
    reason: Shed,
    error: ApiError,
) -> BoxFuture<Result<http::Response<RB>, E>>
where
    RB: Default + Send + 'static,
    E: Send + 'static,
{
    metrics.shed(reason);
    metrics.record(method, Code::ResourceExhausted, started);
    let answer = match error {
        ApiError::CpuSaturated { admitted_percent } => {
            let mut answer = http::Response::new(RB::default());
            *answer.headers_mut() = cpu_refusal_headers(admitted_percent);
            answer
        }
        other => Status::from(other).into_http(),
    };
    Box::pin(std::future::ready(Ok(answer)))
}

/// The headers of the governor's refusal, built once per admitted percentage (the message names
/// it): in overload most calls are refused, and building each refusal's `Status` anew — RetryInfo
/// details encoded, base64, the message percent-encoded — was ~5 % of the CPU in an overload
/// profile. (`Status::into_http` also puts the `Status` in the response's extensions; nothing
/// reads it there.)
fn cpu_refusal_headers(admitted_percent: u8) -> http::HeaderMap {
    static BUILT: [std::sync::OnceLock<http::HeaderMap>; 101] =
        [const { std::sync::OnceLock::new() }; 101];
    let percent = admitted_percent.min(100);
    BUILT[usize::from(percent)]
        .get_or_init(|| {
            let status = Status::from(ApiError::CpuSaturated {
                admitted_percent: percent,
            });
            status.into_http::<()>().into_parts().0.headers
        })
        .clone()
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for Observe<S>
where
    S: tower_service::Service<http::Request<Watched<B>>, Response = http::Response<RB>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        if !is_grpc(req.headers()) {
            metrics::counter!(telemetry::GRPC_NOT_GRPC).increment(1);
            let mut answer = http::Response::new(RB::default());
            *answer.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Box::pin(std::future::ready(Ok(answer)));
        }
        let path = req.uri().path();
        let method = method_of(path);
        let sheddable = path.starts_with(SHEDDABLE_PREFIX);
        // The CPU governor first: a refused call should cost as little as possible.
        if sheddable
            && let Some(cpu) = &self.cpu
            && !cpu.admit()
        {
            return refuse(
                &self.metrics,
                method,
                started,
                Shed::Cpu,
                ApiError::CpuSaturated {
                    admitted_percent: (cpu.share() * 100.0).round() as u8,
                },
            );
        }
        // The handler reads the same deadline from the extensions, so both measure from arrival.
        let max_call = self.max_call;
        let caller = sheddable
            .then(|| {
                let timeout = req.headers().get(GRPC_TIMEOUT)?.to_str().ok()?;
                Some(Deadline::new(
                    parse_grpc_timeout(timeout).ok()?.min(max_call),
                    self.deadline_margin,
                ))
            })
            .flatten();
        if let Some(d) = caller {
            req.extensions_mut().insert(d);
        }
        // Without a caller deadline the handler sees none (Stripe calls get their own budget),
        // but the call still ends after `max_call`.
        let deadline =
            caller.or_else(|| sheddable.then(|| Deadline::new(max_call, Duration::ZERO)));
        let permit = if sheddable {
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let limit = self.limit;
                    return refuse(
                        &self.metrics,
                        method,
                        started,
                        Shed::Limit,
                        ApiError::Overloaded { limit },
                    );
                }
            }
        } else {
            None
        };
        // The clone that was polled ready handles this call; the fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call = Call::start(self.metrics.clone(), method, started);
        let body_failed = Arc::new(AtomicBool::new(false));
        let req = req.map(|body| Watched::new(body, body_failed.clone()));
        let fut = inner.call(req);
        Box::pin(async move {
            let result = match deadline {
                Some(d) => match d.run(fut).await {
                    Ok(result) => result,
                    Err(exceeded) => Ok(Status::from(exceeded).into_http()),
                },
                None => fut.await,
            };
            let code = match &result {
                // The client went away before sending the whole request (nobody gets the
                // answer, which tonic makes UNKNOWN from the read error).
                _ if body_failed.load(Ordering::Relaxed) => Code::Cancelled,
                Ok(response) => response_code(response.headers()),
                Err(_) => Code::Internal,
            };
            call.answered(code);
            drop(permit);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method_label(path: &str) -> &'static str {
        method_of(path).label
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(
            method_label("/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation"),
            "riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check"
        );
        assert_eq!(
            method_label("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        );
        assert_eq!(method_label("/evil.Service/x"), "unknown");
        // Paths under riskgate's package that name no method do not make new labels.
        assert_eq!(
            method_label("/riskgate.v1.PaymentEvaluationService/Nope"),
            "unknown"
        );
        assert_eq!(
            method_label(&format!("/riskgate.v1.{}", "x".repeat(200))),
            "unknown"
        );
        assert_eq!(method_label(""), "unknown");
    }

    #[test]
    fn every_served_method_has_its_own_label() {
        let labels = method_labels();
        for method in [
            "riskgate.v1.ValueListService/CreateValueList",
            "riskgate.v1.AdminService/ReloadRules",
        ] {
            assert_eq!(method_label(&format!("/{method}")), method);
        }
        assert_eq!(
            labels[0],
            "riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation"
        );
        let distinct: std::collections::HashSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), labels.len());
    }

    /// A call whose client goes away before the answer (the future is dropped) is still counted,
    /// as CANCELLED, and leaves the in-flight gauge where it was.
    #[test]
    fn a_call_dropped_unanswered_is_counted_as_cancelled() {
        use tower_layer::Layer;
        use tower_service::Service;

        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let never = service_fn(|_req: http::Request<Watched<()>>| {
                std::future::pending::<Result<http::Response<()>, std::convert::Infallible>>()
            });
            let mut svc = ObserveLayer::new(8, Duration::from_millis(1)).layer(never);
            let path = "/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";
            let fut = svc.call(
                http::Request::builder()
                    .uri(path)
                    .header("content-type", "application/grpc")
                    .body(())
                    .unwrap(),
            );
            drop(fut);
        });
        let text = handle.render();
        let series = format!(
            "{}{{method=\"{}\",code=\"CANCELLED\"}}",
            telemetry::GRPC_REQUESTS,
            "riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(&series) && l.ends_with(" 1")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(telemetry::GRPC_IN_FLIGHT) && l.ends_with(" 0")),
            "{text}"
        );
    }

    #[test]
    fn only_grpc_content_types_are_grpc() {
        let is = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, v.parse().unwrap());
            is_grpc(&h)
        };
        for ok in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc; x=y",
        ] {
            assert!(is(ok), "{ok}");
        }
        for bad in [
            "application/json",
            "application/grpcx",
            "text/plain",
            "application/grp",
        ] {
            assert!(!is(bad), "{bad}");
        }
        assert!(!is_grpc(&http::HeaderMap::new()));
    }

    /// A call that never completes (a trickled or unfinished body) ends after `max_call`, with or
    /// without a caller deadline longer than it; health is never cut.
    #[tokio::test(start_paused = true)]
    async fn calls_end_after_max_call_whatever_the_caller_asks() {
        use tower_layer::Layer;
        use tower_service::Service;

        let never = service_fn(|_req: http::Request<Watched<()>>| {
            std::future::pending::<Result<http::Response<()>, std::convert::Infallible>>()
        });
        let mut svc = ObserveLayer::new(8, Duration::from_millis(1))
            .with_max_call(Duration::from_secs(3))
            .layer(never);
        let path = "/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";
        for timeout in [None, Some("1H")] {
            let mut req = http::Request::builder()
                .uri(path)
                .header("content-type", "application/grpc");
            if let Some(t) = timeout {
                req = req.header(GRPC_TIMEOUT, t);
            }
            let started = tokio::time::Instant::now();
            let answer = svc.call(req.body(()).unwrap()).await.unwrap();
            assert_eq!(response_code(answer.headers()), Code::DeadlineExceeded);
            let took = started.elapsed();
            assert!(
                took >= Duration::from_secs(2) && took <= Duration::from_secs(3),
                "{timeout:?}: {took:?}"
            );
        }
        let health = svc.call(
            http::Request::builder()
                .uri("/grpc.health.v1.Health/Watch")
                .header("content-type", "application/grpc")
                .body(())
                .unwrap(),
        );
        assert!(
            tokio::time::timeout(Duration::from_secs(60), health)
                .await
                .is_err(),
            "health was cut"
        );
    }

    /// While the CPU governor admits a share of calls, the rest are refused on arrival with
    /// RESOURCE_EXHAUSTED and RetryInfo, without reaching the handler; health is never refused.
    #[tokio::test]
    async fn the_cpu_governor_refuses_its_share_before_the_handler() {
        use std::sync::atomic::AtomicUsize;

        use tonic_types::StatusExt;
        use tower_layer::Layer;
        use tower_service::Service;

        let handled = Arc::new(AtomicUsize::new(0));
        let counter = handled.clone();
        let ok = service_fn(move |_req: http::Request<Watched<()>>| {
            counter.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(())))
        });
        let gate = Arc::new(CpuAdmission::default());
        let mut svc = ObserveLayer::new(64, Duration::from_millis(1))
            .with_cpu_admission(Some(gate.clone()))
            .layer(ok);
        let eval = "/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";
        let call = |svc: &mut Observe<_>, path: &str| {
            svc.call(
                http::Request::builder()
                    .uri(path)
                    .header("content-type", "application/grpc")
                    .body(())
                    .unwrap(),
            )
        };

        let mut codes = Vec::new();
        for _ in 0..8 {
            codes.push(response_code(call(&mut svc, eval).await.unwrap().headers()));
        }
        assert!(codes.iter().all(|c| *c == Code::Ok));

        gate.set_share(0.25);
        let mut refused = None;
        let mut admitted = 0;
        for _ in 0..8 {
            let answer = call(&mut svc, eval).await.unwrap();
            match response_code(answer.headers()) {
                Code::Ok => admitted += 1,
                Code::ResourceExhausted => refused = Some(answer),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(admitted, 2, "a quarter of 8 calls");
        assert_eq!(
            handled.load(Ordering::Relaxed),
            8 + 2,
            "refused calls never reach the handler"
        );
        let refused = refused.unwrap();
        // Built once and reused: the same headers a fresh `Status` gives, content type included.
        let fresh = Status::from(ApiError::CpuSaturated {
            admitted_percent: 25,
        })
        .into_http::<()>();
        assert_eq!(refused.headers(), fresh.headers());
        let status = Status::from_header_map(refused.headers()).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(
            status.message().contains("CPU saturated"),
            "{}",
            status.message()
        );
        assert!(
            status.get_details_retry_info().is_some(),
            "RetryInfo tells clients to back off"
        );

        gate.set_share(0.0);
        let health = call(&mut svc, "/grpc.health.v1.Health/Check")
            .await
            .unwrap();
        assert_eq!(response_code(health.headers()), Code::Ok);
    }

    /// A `Service` from a closure (tests only).
    fn service_fn<F, Fut, Req, Resp, E>(f: F) -> FnService<F>
    where
        F: FnMut(Req) -> Fut + Clone,
        Fut: Future<Output = Result<Resp, E>>,
    {
        FnService(f)
    }

    #[derive(Clone)]
    struct FnService<F>(F);

    impl<F, Fut, Req, Resp, E> tower_service::Service<Req> for FnService<F>
    where
        F: FnMut(Req) -> Fut,
        Fut: Future<Output = Result<Resp, E>>,
    {
        type Response = Resp;
        type Error = E;
        type Future = Fut;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), E>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Req) -> Fut {
            (self.0)(req)
        }
    }

    #[test]
    fn codes_from_headers() {
        let mut h = http::HeaderMap::new();
        assert_eq!(response_code(&h), Code::Ok);
        h.insert("grpc-status", "3".parse().unwrap());
        assert_eq!(response_code(&h), Code::InvalidArgument);
        assert_eq!(code_label(Code::ResourceExhausted), "RESOURCE_EXHAUSTED");
    }
}
