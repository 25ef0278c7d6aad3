//! The admin HTTP server (hyper, HTTP/1.1): `/metrics` in Prometheus text format (with the standard
//! process CPU and memory metrics), `/healthz` (the process is alive), `/readyz` (warmed up and not
//! shutting down), the analysts' review page (`/reviews`, [`reviews`]) and, when a signing secret
//! is configured, `POST /webhooks/stripe`.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};

use super::accept::Acceptor;
use crate::telemetry;

use crate::stripe::webhook::{Handled, WebhookError, WebhookHandler};

// === reviews (issue 19): the review page, in its own files (src/server/admin/reviews*) ===
pub mod reviews;

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the admin endpoints read.
#[derive(Clone)]
pub struct AdminState {
    pub metrics: PrometheusHandle,
    pub ready: Arc<AtomicBool>,
    /// Stripe webhooks, when a signing secret is configured.
    pub webhooks: Option<Arc<WebhookHandler>>,
    /// Checks the age of webhook signatures.
    pub clock: crate::clock::Clock,
    /// The review page (`/reviews`).
    pub reviews: Option<reviews::Shared>,
}

/// Path of the Stripe webhook endpoint.
pub const STRIPE_WEBHOOK_PATH: &str = "/webhooks/stripe";
/// Largest webhook body accepted (Stripe events are a few KiB).
const MAX_WEBHOOK_BYTES: usize = 1 << 20;

/// Bounds of the admin HTTP server (issue 18: no header or idle timeout let slow clients hold
/// connections forever).
#[derive(Debug, Clone, Copy)]
pub struct AdminLimits {
    /// Connections open at once; a new one beyond it is closed at once.
    pub max_connections: usize,
    /// A request's headers must arrive within this (also the wait for a kept-alive connection's
    /// next request).
    pub header_read_timeout: Duration,
    /// Nothing read or written for this long closes the connection.
    pub idle_timeout: Duration,
}

impl From<&crate::config::AdminConfig> for AdminLimits {
    fn from(c: &crate::config::AdminConfig) -> Self {
        Self {
            max_connections: c.max_connections,
            header_read_timeout: Duration::from_secs(c.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs),
        }
    }
}

/// The largest request head (request line and headers): the endpoints take no large headers.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header fields in a request.
const MAX_HEADERS: usize = 64;
/// A webhook body (at most [`MAX_WEBHOOK_BYTES`]) must arrive within this: Stripe sends a few KiB
/// at once; a trickled body would otherwise hold its connection for as long as it trickles.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until `shutdown` turns true; connections in progress finish their current request.
/// Accept errors back off (`super::accept`); at most `limits.max_connections` are served at once.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    limits: AdminLimits,
    shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut acceptor = Acceptor::new("admin");
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    acceptor.accepted();
                    stream
                }
                Err(e) => {
                    let pause = acceptor.failed(&e);
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = crate::shutdown::stopped(shutdown.clone()) => return,
                    }
                    continue;
                }
            },
            () = crate::shutdown::stopped(shutdown.clone()) => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!(telemetry::ADMIN_HTTP_CLOSED, "reason" => "connection_limit")
                .increment(1);
            drop(stream);
            continue;
        };
        let (state, shutdown) = (state.clone(), shutdown.clone());
        tokio::spawn(async move {
            let open = metrics::gauge!(telemetry::ADMIN_HTTP_CONNECTIONS);
            open.increment(1.0);
            serve_connection(stream, state, limits, shutdown).await;
            open.decrement(1.0);
            drop(slot);
        });
    }
}

/// One connection, under the header-read and idle timeouts.
async fn serve_connection(
    stream: TcpStream,
    state: AdminState,
    limits: AdminLimits,
    shutdown: watch::Receiver<bool>,
) {
    let activity = Activity::default();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES.max(8192))
        .max_headers(MAX_HEADERS);
    let conn = builder.serve_connection(io, service_fn(move |req| handle(req, state.clone())));
    tokio::pin!(conn);
    let idle = |reason: &'static str| {
        metrics::counter!(telemetry::ADMIN_HTTP_CLOSED, "reason" => reason).increment(1);
        tracing::debug!(reason, "admin connection closed");
    };
    tokio::select! {
        result = conn.as_mut() => match result {
            Err(e) if e.is_timeout() => idle("header_timeout"),
            Err(e) => tracing::debug!(error = %e, "admin connection error"),
            Ok(()) => {}
        },
        () = activity.idle_for(limits.idle_timeout) => idle("idle_timeout"),
        () = crate::shutdown::stopped(shutdown) => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                () = activity.idle_for(limits.idle_timeout) => idle("idle_timeout"),
            }
        }
    }
}

/// When a connection last moved a byte, in milliseconds since it was opened.
#[derive(Clone, Default)]
struct Activity(Arc<(std::sync::OnceLock<tokio::time::Instant>, AtomicU64)>);

impl Activity {
    fn origin(&self) -> tokio::time::Instant {
        *self.0.0.get_or_init(tokio::time::Instant::now)
    }

    fn touch(&self) {
        let ms = self.origin().elapsed().as_millis() as u64;
        self.0.1.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        let origin = self.origin();
        loop {
            let last = origin + Duration::from_millis(self.0.1.load(Ordering::Relaxed));
            let deadline = last + limit;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A stream that records its activity.
struct Watched {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn handle(
    req: Request<Incoming>,
    state: AdminState,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, content_type: &'static str, body: Bytes| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .expect("static response parts are valid")
    };
    if reviews::is_page(req.uri().path())
        && let Some(page) = &state.reviews
    {
        return Ok(page.handle(req).await);
    }
    if req.uri().path() == STRIPE_WEBHOOK_PATH {
        return Ok(match (&state.webhooks, req.method()) {
            (None, _) => reply(
                StatusCode::NOT_FOUND,
                "text/plain",
                Bytes::from_static(b"webhooks are off: no signing secret configured\n"),
            ),
            (Some(_), m) if m != Method::POST => reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                Bytes::from_static(b"POST only\n"),
            ),
            (Some(handler), _) => {
                let (status, text) = webhook(req, handler.clone(), &state.clock).await;
                reply(status, "text/plain", Bytes::from(text))
            }
        });
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            Bytes::from_static(b"GET only\n"),
        ));
    }
    Ok(match req.uri().path() {
        "/metrics" => {
            let mut text = state.metrics.render();
            text.push_str(&crate::telemetry::process_metrics());
            reply(StatusCode::OK, PROMETHEUS_TEXT, Bytes::from(text))
        }
        "/healthz" => reply(StatusCode::OK, "text/plain", Bytes::from_static(b"ok\n")),
        "/readyz" if state.ready.load(Ordering::Acquire) => {
            reply(StatusCode::OK, "text/plain", Bytes::from_static(b"ready\n"))
        }
        "/readyz" => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            Bytes::from_static(b"not ready\n"),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found: try /metrics, /healthz, /readyz or /reviews\n"),
        ),
    })
}

/// A webhook refused before any HMAC: counted by reason, answered in microseconds.
fn refused(status: StatusCode, reason: &'static str, text: String) -> (StatusCode, String) {
    metrics::counter!(telemetry::WEBHOOK_REFUSED, "reason" => reason).increment(1);
    tracing::debug!(reason, "stripe webhook refused before verification");
    (status, text)
}

/// Verifies and handles one Stripe webhook; 2xx tells Stripe not to redeliver.
///
/// The signature header is parsed and its timestamp checked before a byte of the body is read;
/// the body is bounded by its declared length and by [`MAX_WEBHOOK_BYTES`] as it is read; only
/// then is one HMAC computed (`crate::stripe::signature`).
async fn webhook(
    req: Request<Incoming>,
    handler: Arc<WebhookHandler>,
    clock: &crate::clock::Clock,
) -> (StatusCode, String) {
    use crate::stripe::signature;
    use http_body_util::BodyExt;
    let signature_header = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let checked = signature::parse(signature_header.as_deref())
        .and_then(|p| signature::check_time(&p, handler.tolerance(), clock.now()));
    if let Err(e) = checked {
        // Counted as every refused signature always was, and by the bound that refused it.
        metrics::counter!(telemetry::WEBHOOKS, "outcome" => "bad_signature", "event" => "unknown")
            .increment(1);
        let reason = e.refusal_reason().unwrap_or("malformed_header");
        return refused(
            StatusCode::BAD_REQUEST,
            reason,
            format!("bad signature: {e}\n"),
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BYTES as u64) {
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {MAX_WEBHOOK_BYTES} bytes\n"),
        );
    }
    let signature = signature_header;
    let read = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        http_body_util::Limited::new(req.into_body(), MAX_WEBHOOK_BYTES).collect(),
    );
    let Ok(collected) = read.await else {
        return refused(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the body did not arrive within {BODY_READ_TIMEOUT:?}\n"),
        );
    };
    let body = match collected {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {MAX_WEBHOOK_BYTES} bytes\n"),
            );
        }
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}\n"),
            );
        }
    };
    // Accepted = recorded in the deliveries ledger (fsynced, or claimed on Redis) and queued:
    // from then on Stripe hears 2xx, and the label is applied in the background.
    match handler
        .handle(signature.as_deref(), &body, clock.now())
        .await
    {
        Ok(Handled::Accepted { event }) => (StatusCode::OK, format!("accepted {event}\n")),
        Ok(Handled::Duplicate) => (StatusCode::OK, "duplicate event\n".into()),
        Ok(Handled::Ignored) => (StatusCode::OK, "event type not handled\n".into()),
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(error = %e, "stripe webhook refused");
            (StatusCode::BAD_REQUEST, format!("bad signature: {e}\n"))
        }
        Err(e @ WebhookError::Payload(_)) => (StatusCode::BAD_REQUEST, format!("{e}\n")),
        Err(e) => {
            tracing::error!(error = %e, "stripe webhook failed");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
        }
    }
}
