//! A fake Stripe Payment Evaluations server for tests and demos (`riskgate fake-stripe`).
//!
//! It checks each request as Stripe would — `POST /v1/radar/payment_evaluations`, basic auth with
//! the expected secret key, form encoding, `Stripe-Version`, `Idempotency-Key`, the required
//! parameters — records it, and answers in the configured shape after the configured delay, or with
//! a scripted fault: an error status (with or without `Stripe-Should-Retry`), malformed JSON, a
//! reset connection or a stalled body.
//!
//! The score is `metadata[fake_score]` when the request has it, else the configured score.

use std::{
    collections::VecDeque,
    convert::Infallible,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::{
    body::{Body, Frame, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch};

use super::{form, stripe::base64_decode};

/// What the fake does with a request (after checking it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// An error status; `should_retry` sets `Stripe-Should-Retry`.
    Status {
        code: u16,
        should_retry: Option<bool>,
    },
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// Close the connection without answering.
    Reset,
    /// Send the headers, then never finish the body.
    Stall,
}

impl Fault {
    /// Parses a CLI name: `none`, `500`, `429`, `409`, `503-no-retry`, `500-retry`, `malformed`,
    /// `reset`, `stall`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Fault::None,
            "malformed" => Fault::MalformedJson,
            "reset" => Fault::Reset,
            "stall" => Fault::Stall,
            _ => {
                let (code, should_retry) = match s.split_once('-') {
                    Some((code, "retry")) => (code, Some(true)),
                    Some((code, "no-retry")) => (code, Some(false)),
                    Some(_) => return None,
                    None => (s, None),
                };
                let code: u16 = code.parse().ok()?;
                if !(400..600).contains(&code) {
                    return None;
                }
                Fault::Status { code, should_retry }
            }
        })
    }
}

/// The answer shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `2026-01-28.preview`: `insights.fraudulent_dispute`.
    Preview,
    /// `2026-03-25.dahlia`: `recommended_action` + `signals.fraudulent_payment`.
    Dahlia,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    pub form: Vec<(String, String)>,
    /// Why the fake refused it (400/401), if it did.
    pub refused: Option<String>,
}

impl Received {
    /// The value of a form parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Settings {
    delay: Duration,
    score: f64,
    shape: Shape,
    default_fault: Fault,
    script: VecDeque<Fault>,
}

/// The fake's shared state: configure it and read what it received.
#[derive(Debug, Clone)]
pub struct FakeStripe {
    secret_key: Arc<str>,
    settings: Arc<Mutex<Settings>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeStripe {
    /// A fake expecting `secret_key`, answering score 12 in the dahlia shape at once.
    pub fn new(secret_key: &str) -> Self {
        Self {
            secret_key: secret_key.into(),
            settings: Arc::new(Mutex::new(Settings {
                delay: Duration::ZERO,
                score: 12.0,
                shape: Shape::Dahlia,
                default_fault: Fault::None,
                script: VecDeque::new(),
            })),
            received: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Waits this long before answering (virtual time under a paused tokio clock).
    pub fn set_delay(&self, delay: Duration) {
        self.settings().delay = delay;
    }

    pub fn set_score(&self, score: f64) {
        self.settings().score = score;
    }

    pub fn set_shape(&self, shape: Shape) {
        self.settings().shape = shape;
    }

    /// The fault for every request not covered by [`FakeStripe::script`].
    pub fn set_fault(&self, fault: Fault) {
        self.settings().default_fault = fault;
    }

    /// Faults for the next requests, in order; then the default fault.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.settings().script.extend(faults);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn settings(&self) -> std::sync::MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds `addr` and serves until `shutdown` turns true (or forever without one).
    pub async fn bind(
        self,
        addr: SocketAddr,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok((local, tokio::spawn(self.serve(listener, shutdown))))
    }

    async fn serve(self, listener: TcpListener, shutdown: Option<watch::Receiver<bool>>) {
        let stop = async move {
            match shutdown {
                Some(rx) => crate::server::stopped(rx).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stop);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                () = &mut stop => return,
            };
            let _ = stream.set_nodelay(true);
            let fake = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| fake.clone().handle(req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn handle(self, req: Request<Incoming>) -> Result<Response<FakeBody>, std::io::Error> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let form = std::str::from_utf8(&body).ok().and_then(form::decode);
        let mut received = Received {
            idempotency_key: header("idempotency-key"),
            stripe_version: header("stripe-version"),
            form: form.clone().unwrap_or_default(),
            refused: None,
        };
        let refusal = self.check(&parts, form.as_deref());
        received.refused = refusal.as_ref().map(|(_, _, m)| m.clone());
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(received.clone());
        if let Some((status, param, message)) = refusal {
            let body = serde_json::json!({"error": {
                "type": "invalid_request_error", "code": if param.is_some() { "parameter_missing" } else { "unauthorized" },
                "param": param, "message": message,
            }});
            return Ok(json(status, body.to_string(), None));
        }

        let (delay, fault, shape, default_score) = {
            let mut s = self.settings();
            let fault = s
                .script
                .pop_front()
                .unwrap_or_else(|| s.default_fault.clone());
            (s.delay, fault, s.shape, s.score)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let score = received
            .param("metadata[fake_score]")
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(default_score);
        Ok(match fault {
            Fault::None => json(StatusCode::OK, answer(shape, score), None),
            Fault::Status { code, should_retry } => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
                let kind = match code {
                    429 => "rate_limit_error",
                    409 => "idempotency_error",
                    _ => "api_error",
                };
                let body = serde_json::json!({"error": {"type": kind, "message": "fake fault"}});
                json(status, body.to_string(), should_retry)
            }
            Fault::MalformedJson => json(StatusCode::OK, "{\"id\": \"peval_".into(), None),
            Fault::Reset => return Err(std::io::Error::other("fake reset")),
            Fault::Stall => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(FakeBody::Stalled(Some(Bytes::from_static(b"{\"id\":"))))
                .expect("static response parts are valid"),
        })
    }

    /// Stripe's checks; `(status, param, message)` when the request is refused.
    fn check(
        &self,
        parts: &http::request::Parts,
        form: Option<&[(String, String)]>,
    ) -> Option<(StatusCode, Option<&'static str>, String)> {
        if parts.method != http::Method::POST || parts.uri.path() != super::stripe::PATH {
            return Some((
                StatusCode::NOT_FOUND,
                None,
                format!(
                    "unrecognized request URL ({} {})",
                    parts.method,
                    parts.uri.path()
                ),
            ));
        }
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(base64_decode)
            .and_then(|d| String::from_utf8(d).ok());
        if auth.as_deref().and_then(|a| a.strip_suffix(':')) != Some(&*self.secret_key) {
            return Some((
                StatusCode::UNAUTHORIZED,
                None,
                "invalid API key (basic auth with the secret key expected)".into(),
            ));
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if content_type != Some("application/x-www-form-urlencoded") {
            return Some((
                StatusCode::BAD_REQUEST,
                None,
                format!("content-type {content_type:?} is not form encoding"),
            ));
        }
        for (name, max) in [("stripe-version", 64), ("idempotency-key", 255)] {
            let len = parts.headers.get(name).map_or(0, |v| v.len());
            if len == 0 || len > max {
                return Some((
                    StatusCode::BAD_REQUEST,
                    None,
                    format!("header {name} missing or longer than {max}"),
                ));
            }
        }
        let Some(form) = form else {
            return Some((
                StatusCode::BAD_REQUEST,
                None,
                "body is not form encoded".into(),
            ));
        };
        for param in [
            "payment_details[amount]",
            "payment_details[currency]",
            "payment_details[payment_method_details][payment_method]",
        ] {
            if !form.iter().any(|(k, v)| k == param && !v.is_empty()) {
                return Some((
                    StatusCode::BAD_REQUEST,
                    Some(param),
                    format!("missing required param: {param}"),
                ));
            }
        }
        None
    }
}

fn answer(shape: Shape, score: f64) -> String {
    let action = if score >= 75.0 {
        "block"
    } else if score >= 50.0 {
        "request_three_d_secure"
    } else {
        "continue"
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!("peval_fake{}", fastrand::u64(..));
    let value = match shape {
        Shape::Preview => serde_json::json!({
            "id": id, "object": "radar.payment_evaluation", "created_at": now, "livemode": false,
            "insights": {"evaluated_at": now,
                "fraudulent_dispute": {"recommended_action": action, "risk_score": score.round()}},
        }),
        Shape::Dahlia => {
            let level = if score >= 65.0 {
                "highest"
            } else if score >= 20.0 {
                "elevated"
            } else {
                "normal"
            };
            serde_json::json!({
                "id": id, "object": "radar.payment_evaluation", "created_at": now,
                "livemode": false, "recommended_action": action,
                "signals": {"fraudulent_payment": {
                    "score": score, "risk_level": level, "evaluated_at": now}},
                "outcome": null,
            })
        }
    };
    value.to_string()
}

fn json(status: StatusCode, body: String, should_retry: Option<bool>) -> Response<FakeBody> {
    let mut b = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("request-id", format!("req_fake{}", fastrand::u32(..)));
    if let Some(retry) = should_retry {
        b = b.header("stripe-should-retry", if retry { "true" } else { "false" });
    }
    b.body(FakeBody::Full(Full::new(Bytes::from(body))))
        .expect("static response parts are valid")
}

/// A whole body, or one that sends a first chunk and then never ends.
pub enum FakeBody {
    Full(Full<Bytes>),
    Stalled(Option<Bytes>),
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            FakeBody::Full(full) => Pin::new(full).poll_frame(cx),
            FakeBody::Stalled(first) => match first.take() {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                // Never woken: the body stalls until the connection is dropped.
                None => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            FakeBody::Full(full) => full.is_end_stream(),
            FakeBody::Stalled(_) => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            FakeBody::Full(full) => full.size_hint(),
            FakeBody::Stalled(_) => hyper::body::SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_parse() {
        assert_eq!(Fault::parse("stall"), Some(Fault::Stall));
        assert_eq!(
            Fault::parse("503-no-retry"),
            Some(Fault::Status {
                code: 503,
                should_retry: Some(false)
            })
        );
        assert_eq!(
            Fault::parse("429"),
            Some(Fault::Status {
                code: 429,
                should_retry: None
            })
        );
        assert_eq!(Fault::parse("200"), None);
        assert_eq!(Fault::parse("500-maybe"), None);
    }

    #[test]
    fn answers_parse_in_both_shapes() {
        for shape in [Shape::Preview, Shape::Dahlia] {
            let p = super::super::answer::parse(answer(shape, 80.0).as_bytes()).unwrap();
            assert_eq!(p.score, Some(80.0));
            assert_eq!(p.recommended_action.as_deref(), Some("block"));
        }
    }
}
