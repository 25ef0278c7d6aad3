//! The admin HTTP server (hyper, HTTP/1.1): `/metrics` in Prometheus text format (with the standard
//! process CPU and memory metrics), `/healthz` (the process is alive), `/readyz` (warmed up and not
//! shutting down), the analysts' review page (`/reviews`, [`reviews`]) and, when a signing secret
//! is configured, `POST /webhooks/stripe`.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, sync::watch};

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

/// Serves until `shutdown` turns true; connections in progress finish their current request.
pub async fn serve(listener: TcpListener, state: AdminState, shutdown: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    continue;
                }
            },
            () = crate::shutdown::stopped(shutdown.clone()) => return,
        };
        let state = state.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let conn = http1::Builder::new().serve_connection(
                TokioIo::new(stream),
                service_fn(move |req| handle(req, state.clone())),
            );
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "admin connection error");
                    }
                }
                () = crate::shutdown::stopped(shutdown) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
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

/// Verifies and handles one Stripe webhook; 2xx tells Stripe not to redeliver.
async fn webhook(
    req: Request<Incoming>,
    handler: Arc<WebhookHandler>,
    clock: &crate::clock::Clock,
) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match http_body_util::Limited::new(req.into_body(), MAX_WEBHOOK_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
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
