//! A fake Stripe for tests and demos (`riskgate fake-stripe`): Payment Evaluations, their outcome
//! and event reports, and Radar value lists.
//!
//! It checks each request as Stripe would — basic auth with the expected secret key,
//! `Stripe-Version`, and for POSTs form encoding, `Idempotency-Key` and the required parameters —
//! records it, and answers after the configured delay, or with a scripted fault: an error status
//! (with or without `Stripe-Should-Retry`), malformed JSON, a reset connection or a stalled body.
//!
//! Routes:
//! - `POST /v1/radar/payment_evaluations`: answers in the configured shape; the score is
//!   `metadata[fake_score]` when the request has it, else the configured score.
//! - `POST /v1/radar/payment_evaluations/{id}/report_outcome` (`type`, `occurred_at`, and
//!   `rejected[card][reason]` for a rejection) and `…/{id}/report` (`events[0][…]` with the
//!   details each event type requires): answers the evaluation object.
//! - `GET /v1/radar/value_lists` and `GET /v1/radar/value_list_items?value_list=…`: the lists set
//!   with [`FakeStripe::set_value_lists`], paged with `limit` and `starting_after`.

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

use riskgate::stripe::{client::base64_decode, form};

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
    /// 200 with the normal answer after 2 MiB of JSON whitespace: valid, but larger than any
    /// answer Stripe sends.
    Oversized,
}

impl Fault {
    /// Parses a CLI name: `none`, `500`, `429`, `409`, `503-no-retry`, `500-retry`, `malformed`,
    /// `reset`, `stall`, `oversized`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Fault::None,
            "malformed" => Fault::MalformedJson,
            "reset" => Fault::Reset,
            "stall" => Fault::Stall,
            "oversized" => Fault::Oversized,
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
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    /// The form body (POST) or the query parameters (GET).
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

/// A Radar value list the fake serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeList {
    /// `rsl_…`.
    pub id: String,
    pub alias: String,
    pub item_type: String,
    /// `(rsli_… id, value)`.
    pub items: Vec<(String, String)>,
}

impl FakeList {
    /// A list with item ids `{id}_item{n}`.
    pub fn new(id: &str, alias: &str, item_type: &str, values: &[&str]) -> Self {
        Self {
            id: id.into(),
            alias: alias.into(),
            item_type: item_type.into(),
            items: values
                .iter()
                .enumerate()
                .map(|(n, v)| {
                    (
                        format!("rsli_{}_{n}", id.trim_start_matches("rsl_")),
                        (*v).to_owned(),
                    )
                })
                .collect(),
        }
    }
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Evaluate,
    /// `report_outcome` (true) or `report` (false) on an evaluation.
    Report {
        evaluation: String,
        outcome: bool,
    },
    ValueLists,
    ValueListItems,
}

impl Route {
    fn of(method: &http::Method, path: &str) -> Option<Self> {
        let p = riskgate::stripe::client::PATH;
        match *method {
            http::Method::POST if path == p => Some(Route::Evaluate),
            http::Method::POST => {
                let rest = path.strip_prefix(p)?.strip_prefix('/')?;
                let (evaluation, call) = rest.split_once('/')?;
                let outcome = match call {
                    "report_outcome" => true,
                    "report" => false,
                    _ => return None,
                };
                (!evaluation.is_empty()).then(|| Route::Report {
                    evaluation: evaluation.to_owned(),
                    outcome,
                })
            }
            http::Method::GET if path == riskgate::stripe::client::VALUE_LISTS_PATH => {
                Some(Route::ValueLists)
            }
            http::Method::GET if path == riskgate::stripe::client::VALUE_LIST_ITEMS_PATH => {
                Some(Route::ValueListItems)
            }
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Settings {
    delay: Duration,
    score: f64,
    shape: Shape,
    default_fault: Fault,
    script: VecDeque<Fault>,
    lists: Vec<FakeList>,
    log_requests: bool,
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
                lists: Vec::new(),
                log_requests: false,
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

    /// Prints one line per request on standard error (method, path, refusal; never the body).
    pub fn set_log_requests(&self, on: bool) {
        self.settings().log_requests = on;
    }

    /// The Radar value lists served (replacing earlier ones).
    pub fn set_value_lists(&self, lists: Vec<FakeList>) {
        self.settings().lists = lists;
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

    /// A fake for `secret_key` serving on an ephemeral loopback port for the rest of the runtime
    /// (tests and examples): the handle to steer and inspect it, and its address.
    pub async fn start_local(secret_key: &str) -> std::io::Result<(Self, SocketAddr)> {
        let fake = Self::new(secret_key);
        let (addr, _serving) = fake
            .clone()
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)), None)
            .await?;
        Ok((fake, addr))
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
                Some(rx) => riskgate::shutdown::stopped(rx).await,
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
        let form = if parts.method == http::Method::GET {
            form::decode(parts.uri.query().unwrap_or(""))
        } else {
            std::str::from_utf8(&body).ok().and_then(form::decode)
        };
        let mut received = Received {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            idempotency_key: header("idempotency-key"),
            stripe_version: header("stripe-version"),
            form: form.clone().unwrap_or_default(),
            refused: None,
        };
        let route = Route::of(&parts.method, parts.uri.path());
        let refusal = self.check(&parts, route.as_ref(), form.as_deref());
        received.refused = refusal.as_ref().map(|(_, _, m)| m.clone());
        if self.settings().log_requests {
            match &received.refused {
                Some(why) => eprintln!("{} {} refused: {why}", received.method, received.path),
                None => eprintln!("{} {}", received.method, received.path),
            }
        }
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

        let (delay, fault, shape, default_score, lists) = {
            let mut s = self.settings();
            let fault = s
                .script
                .pop_front()
                .unwrap_or_else(|| s.default_fault.clone());
            (s.delay, fault, s.shape, s.score, s.lists.clone())
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let score = received
            .param("metadata[fake_score]")
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(default_score);
        let ok_body = match route {
            Some(Route::Report { evaluation, .. }) => serde_json::json!({
                "id": evaluation, "object": "radar.payment_evaluation", "livemode": false,
            })
            .to_string(),
            Some(Route::ValueLists) => page(
                &lists,
                |l| &l.id,
                |l| {
                    serde_json::json!({
                        "id": l.id, "object": "radar.value_list", "alias": l.alias,
                        "name": l.alias, "item_type": l.item_type, "livemode": false,
                        "list_items": {"object": "list", "data": [], "has_more": !l.items.is_empty()},
                    })
                },
                &received,
                riskgate::stripe::client::VALUE_LISTS_PATH,
            ),
            Some(Route::ValueListItems) => {
                let list_id = received.param("value_list").unwrap_or_default();
                let items: Vec<(String, String)> = lists
                    .iter()
                    .find(|l| l.id == list_id)
                    .map(|l| l.items.clone())
                    .unwrap_or_default();
                page(
                    &items,
                    |(id, _)| id,
                    |(id, value)| {
                        serde_json::json!({
                            "id": id, "object": "radar.value_list_item", "value": value,
                            "value_list": list_id, "livemode": false,
                        })
                    },
                    &received,
                    riskgate::stripe::client::VALUE_LIST_ITEMS_PATH,
                )
            }
            _ => answer(shape, score),
        };
        Ok(match fault {
            Fault::None => json(StatusCode::OK, ok_body, None),
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
            Fault::Oversized => json(StatusCode::OK, " ".repeat(2 << 20) + &ok_body, None),
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
        route: Option<&Route>,
        form: Option<&[(String, String)]>,
    ) -> Option<(StatusCode, Option<&'static str>, String)> {
        let Some(route) = route else {
            return Some((
                StatusCode::NOT_FOUND,
                None,
                format!(
                    "unrecognized request URL ({} {})",
                    parts.method,
                    parts.uri.path()
                ),
            ));
        };
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
        let post = parts.method == http::Method::POST;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if post && content_type != Some("application/x-www-form-urlencoded") {
            return Some((
                StatusCode::BAD_REQUEST,
                None,
                format!("content-type {content_type:?} is not form encoding"),
            ));
        }
        let headers: &[(&str, usize)] = if post {
            &[("stripe-version", 64), ("idempotency-key", 255)]
        } else {
            &[("stripe-version", 64)]
        };
        for &(name, max) in headers {
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
        let get = |k: &str| {
            form.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let missing = |param: &'static str| {
            Some((
                StatusCode::BAD_REQUEST,
                Some(param),
                format!("missing required param: {param}"),
            ))
        };
        let invalid = |param: &'static str, value: &str| {
            Some((
                StatusCode::BAD_REQUEST,
                Some(param),
                format!("invalid value for {param}: {value:?}"),
            ))
        };
        let timestamp = |param: &'static str| match get(param) {
            None => missing(param),
            Some(v) if v.parse::<u64>().is_err() => invalid(param, v),
            Some(_) => None,
        };
        match route {
            Route::Evaluate => {
                for param in [
                    "payment_details[amount]",
                    "payment_details[currency]",
                    "payment_details[payment_method_details][payment_method]",
                ] {
                    if get(param).is_none() {
                        return missing(param);
                    }
                }
                None
            }
            Route::Report { outcome: true, .. } => {
                const TYPES: &[&str] = &[
                    "failed",
                    "merchant_blocked",
                    "processed_on_stripe",
                    "rejected",
                    "succeeded",
                ];
                const REASONS: &[&str] = &[
                    "authentication_failed",
                    "do_not_honor",
                    "expired",
                    "incorrect_cvc",
                    "incorrect_number",
                    "incorrect_postal_code",
                    "insufficient_funds",
                    "invalid_account",
                    "lost_card",
                    "other",
                    "processing_error",
                    "reported_stolen",
                    "try_again_later",
                ];
                match get("type") {
                    None => return missing("type"),
                    Some(t) if !TYPES.contains(&t) => return invalid("type", t),
                    Some("rejected") => match get("rejected[card][reason]") {
                        None => return missing("rejected[card][reason]"),
                        Some(r) if !REASONS.contains(&r) => {
                            return invalid("rejected[card][reason]", r);
                        }
                        Some(_) => {}
                    },
                    Some(_) => {}
                }
                timestamp("occurred_at")
            }
            Route::Report { outcome: false, .. } => {
                let kind = match get("events[0][type]") {
                    None => return missing("events[0][type]"),
                    Some(k) => k,
                };
                if let Some(refused) = timestamp("events[0][occurred_at]") {
                    return Some(refused);
                }
                let required: &[&'static str] = match kind {
                    "refunded" => &[
                        "events[0][refunded][amount]",
                        "events[0][refunded][currency]",
                        "events[0][refunded][reason]",
                    ],
                    "dispute_opened" => &[
                        "events[0][dispute_opened][amount]",
                        "events[0][dispute_opened][currency]",
                        "events[0][dispute_opened][reason]",
                    ],
                    "early_fraud_warning_received" => {
                        &["events[0][early_fraud_warning_received][fraud_type]"]
                    }
                    "user_intervention_raised" | "user_intervention_resolved" => &[],
                    other => return invalid("events[0][type]", other),
                };
                required
                    .iter()
                    .find(|p| get(p).is_none())
                    .and_then(|p| missing(p))
            }
            Route::ValueLists => None,
            Route::ValueListItems => match get("value_list") {
                None => missing("value_list"),
                Some(_) => None,
            },
        }
    }
}

/// A Stripe list page of `all`, after the request's `starting_after`, at most `limit` long.
fn page<T>(
    all: &[T],
    id: impl Fn(&T) -> &String,
    object: impl Fn(&T) -> serde_json::Value,
    request: &Received,
    url: &str,
) -> String {
    let limit = request
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let start = match request.param("starting_after") {
        Some(after) => all
            .iter()
            .position(|x| id(x) == after)
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let rest = &all[start.min(all.len())..];
    let data: Vec<serde_json::Value> = rest.iter().take(limit).map(object).collect();
    serde_json::json!({
        "object": "list", "url": url, "has_more": rest.len() > limit, "data": data,
    })
    .to_string()
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
            let p = riskgate::stripe::answer::parse(answer(shape, 80.0).as_bytes()).unwrap();
            assert_eq!(p.score, Some(80.0));
            assert_eq!(p.recommended_action.as_deref(), Some("block"));
        }
    }
}
