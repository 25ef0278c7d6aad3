//! A fake Stripe for tests and demos (`riskgate fake-stripe`): Payment Evaluations, their outcome
//! and event reports, and Radar value lists — accepting and answering only what Stripe's
//! published description allows ([`crate::stripe_spec`], the spec fixture).
//!
//! It checks each request as Stripe would — the URL, basic auth with the expected secret key, and
//! for POSTs form encoding and an `Idempotency-Key` — and then against the spec: a
//! `Stripe-Version` under which the endpoint exists, every parameter known to that version (and
//! to the private preview when [`FakeStripe::set_private_preview`] says the account is in it),
//! every enum value, the required ones. A refusal is a 400 (404 for an unknown URL) with Stripe's
//! error object. It records each request and answers after the configured delay, or with a
//! scripted fault: an error status (with or without `Stripe-Should-Retry`), malformed JSON, a
//! reset connection or a stalled body. Every answer it builds is checked against the schema too;
//! one that is not spec-shaped is kept in [`FakeStripe::own_violations`] (tests assert none).
//!
//! Routes:
//! - `POST /v1/radar/payment_evaluations`: answers in the shape of the request's version (the
//!   `insights` shape before 2026-03-25, else `recommended_action` + `signals` with the version's
//!   risk levels); the score is `metadata[fake_score]` when the request has it, else the
//!   configured score (-1: not assessed). The evaluation is kept for reports.
//! - `POST /v1/radar/payment_evaluations/{id}/report_outcome` and `…/{id}/report`: the paths
//!   riskgate infers (no published description has them); the parameters of the fixture's
//!   `report_calls`. Answers the evaluation with its `outcome` or `events` (404 for an unknown
//!   evaluation).
//! - `GET /v1/radar/value_lists` and `GET /v1/radar/value_list_items?value_list=…`: the lists set
//!   with [`FakeStripe::set_value_lists`], paged with `limit` and `starting_after`.
//! - `GET /v1/charges/{id}`: the charges kept with [`FakeStripe::insert_charge`] (404 for others),
//!   as webhook events name them.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch};

use riskgate::stripe::form;
use serde_json::Value;

use crate::stripe_spec::{self, Channel, Endpoint, ObjectKind};

mod answers;
mod body;
mod check;

pub use body::FakeBody;
use body::raw_json;

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
    /// The endpoint the spec names for it, if any.
    pub endpoint: Option<Endpoint>,
    /// Why the fake refused it (400/401/404), if it did.
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

#[derive(Debug)]
struct Settings {
    delay: Duration,
    score: f64,
    private_preview: bool,
    default_fault: Fault,
    script: VecDeque<Fault>,
    lists: Vec<FakeList>,
    log_requests: bool,
    /// Evaluations created, by id, for the reports on them.
    evaluations: HashMap<String, Value>,
    /// Charges served by `GET /v1/charges/{id}`.
    charges: HashMap<String, Value>,
    /// Answers of the fake's own that broke the spec.
    own_violations: Vec<String>,
}

/// The fake's shared state: configure it and read what it received.
#[derive(Debug, Clone)]
pub struct FakeStripe {
    secret_key: Arc<str>,
    settings: Arc<Mutex<Settings>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeStripe {
    /// A fake expecting `secret_key`, answering score 12 at once, for an account outside the
    /// private preview.
    pub fn new(secret_key: &str) -> Self {
        Self {
            secret_key: secret_key.into(),
            settings: Arc::new(Mutex::new(Settings {
                delay: Duration::ZERO,
                score: 12.0,
                private_preview: false,
                default_fault: Fault::None,
                script: VecDeque::new(),
                lists: Vec::new(),
                log_requests: false,
                evaluations: HashMap::new(),
                charges: HashMap::new(),
                own_violations: Vec::new(),
            })),
            received: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Waits this long before answering (virtual time under a paused tokio clock).
    pub fn set_delay(&self, delay: Duration) {
        self.settings().delay = delay;
    }

    /// The score answered (0–100; -1: not assessed) when a request has no `metadata[fake_score]`.
    pub fn set_score(&self, score: f64) {
        self.settings().score = score;
    }

    /// Whether the account is in the Payment Evaluations private preview (its `.preview`
    /// versions then accept inline device data and card facts).
    pub fn set_private_preview(&self, on: bool) {
        self.settings().private_preview = on;
    }

    /// Keeps an evaluation `id` (current shape, score 12) as if it had been created, for reports
    /// on it.
    pub fn insert_evaluation(&self, id: &str) {
        let version = stripe_spec::spec()
            .evaluation_version(riskgate::config::DEFAULT_API_VERSION, Channel::Ga)
            .expect("the default version has Payment Evaluations");
        let evaluation =
            answers::evaluation(id, &version, 12.0, Value::Object(Default::default()), now());
        self.settings()
            .evaluations
            .insert(id.to_owned(), evaluation);
    }

    /// Keeps a card charge `id` (see [`charge`]) for `GET /v1/charges/{id}`.
    pub fn insert_charge(&self, charge: Value) {
        let id = charge["id"].as_str().unwrap_or_default().to_owned();
        self.settings().charges.insert(id, charge);
    }

    /// The evaluation `id` as the fake keeps it (with the outcome and events reported).
    pub fn evaluation(&self, id: &str) -> Option<Value> {
        self.settings().evaluations.get(id).cloned()
    }

    /// Answers of the fake's own that broke the spec (none, unless the fake has a bug).
    pub fn own_violations(&self) -> Vec<String> {
        self.settings().own_violations.clone()
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
            endpoint: None,
            refused: None,
        };
        let private_preview = self.settings().private_preview;
        let checked = self.check(&parts, form.as_deref(), &received, private_preview);
        match &checked {
            Ok(endpoint) => received.endpoint = Some(endpoint.clone()),
            Err((_, refusal)) => {
                received.refused = Some(
                    refusal["error"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
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
        let endpoint = match checked {
            Ok(endpoint) => endpoint,
            Err((status, body)) => return Ok(self.json(status, body, None)),
        };

        let (delay, fault) = {
            let mut s = self.settings();
            let fault = s
                .script
                .pop_front()
                .unwrap_or_else(|| s.default_fault.clone());
            (s.delay, fault)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(match fault {
            Fault::None => {
                let (status, body) = self.answer(&endpoint, &received, private_preview);
                self.json(status, body, None)
            }
            Fault::Status { code, should_retry } => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
                self.json(status, answers::fault_error(code), should_retry)
            }
            Fault::MalformedJson => raw_json(StatusCode::OK, "{\"id\": \"peval_".into(), None),
            Fault::Reset => return Err(std::io::Error::other("fake reset")),
            Fault::Stall => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(FakeBody::Stalled(Some(Bytes::from_static(b"{\"id\":"))))
                .expect("static response parts are valid"),
        })
    }

    /// The answer to an accepted request.
    fn answer(
        &self,
        endpoint: &Endpoint,
        received: &Received,
        private: bool,
    ) -> (StatusCode, Value) {
        let spec = stripe_spec::spec();
        let version = received.stripe_version.clone().unwrap_or_default();
        let channel = Channel::of(&version, private);
        match endpoint {
            Endpoint::CreateEvaluation => {
                let facts = spec
                    .evaluation_version(&version, channel)
                    .expect("the request check accepted the version");
                let score = received
                    .param("metadata[fake_score]")
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or_else(|| self.settings().score);
                let metadata = spec.form_to_json(endpoint, &received.form)["metadata"].take();
                let metadata = if metadata.is_null() {
                    Value::Object(Default::default())
                } else {
                    metadata
                };
                let id = format!("peval_fake{}", fastrand::u64(..));
                let evaluation = answers::evaluation(&id, &facts, score, metadata, now());
                self.own_check(&ObjectKind::Evaluation { version, channel }, &evaluation);
                self.settings().evaluations.insert(id, evaluation.clone());
                (StatusCode::OK, evaluation)
            }
            Endpoint::ReportOutcome { evaluation } | Endpoint::ReportEvent { evaluation } => {
                let report = spec.form_to_json(endpoint, &received.form);
                let outcome_call = matches!(endpoint, Endpoint::ReportOutcome { .. });
                let mut s = self.settings();
                let Some(stored) = s.evaluations.get_mut(evaluation) else {
                    drop(s);
                    let body = answers::error(
                        "invalid_request_error",
                        Some("resource_missing"),
                        Some("payment_evaluation"),
                        &format!("No such payment_evaluation: '{evaluation}'"),
                    );
                    return (StatusCode::NOT_FOUND, body);
                };
                answers::apply_report(stored, report, outcome_call);
                let answer = stored.clone();
                drop(s);
                let kind = if answer.get("signals").is_some() {
                    ObjectKind::Evaluation {
                        version: riskgate::config::DEFAULT_API_VERSION.into(),
                        channel: Channel::Ga,
                    }
                } else {
                    ObjectKind::Evaluation {
                        version: "2026-01-28.preview".into(),
                        channel: Channel::PublicPreview,
                    }
                };
                self.own_check(&kind, &answer);
                (StatusCode::OK, answer)
            }
            Endpoint::ValueLists => {
                let lists = self.settings().lists.clone();
                let body = page(
                    &lists,
                    |l| &l.id,
                    |l| answers::value_list(&l.id, &l.alias, &l.item_type, !l.items.is_empty()),
                    received,
                    "/v1/radar/value_lists",
                );
                self.own_check(&ObjectKind::ValueListPage, &body);
                (StatusCode::OK, body)
            }
            Endpoint::ValueListItems => {
                let list_id = received.param("value_list").unwrap_or_default().to_owned();
                let items: Vec<(String, String)> = self
                    .settings()
                    .lists
                    .iter()
                    .find(|l| l.id == list_id)
                    .map(|l| l.items.clone())
                    .unwrap_or_default();
                let body = page(
                    &items,
                    |(id, _)| id,
                    |(id, value)| answers::value_list_item(id, value, &list_id),
                    received,
                    "/v1/radar/value_list_items",
                );
                self.own_check(&ObjectKind::ValueListItemPage, &body);
                (StatusCode::OK, body)
            }
            Endpoint::RetrieveCharge { charge } => {
                let kept = self.settings().charges.get(charge).cloned();
                match kept {
                    Some(kept) => {
                        self.own_check(&ObjectKind::Schema("charge".into()), &kept);
                        (StatusCode::OK, kept)
                    }
                    None => (
                        StatusCode::NOT_FOUND,
                        answers::error(
                            "invalid_request_error",
                            Some("resource_missing"),
                            Some("id"),
                            &format!("No such charge: '{charge}'"),
                        ),
                    ),
                }
            }
        }
    }

    /// Keeps the ways `value`, an answer of the fake's own, breaks the spec.
    fn own_check(&self, kind: &ObjectKind, value: &Value) {
        let violations = stripe_spec::spec().check_object(kind, value);
        if !violations.is_empty() {
            eprintln!("fake Stripe answered off-spec: {violations:?}");
            self.settings().own_violations.extend(violations);
        }
    }

    /// A JSON answer; error bodies are checked against the spec's error object first.
    fn json(
        &self,
        status: StatusCode,
        body: Value,
        should_retry: Option<bool>,
    ) -> Response<FakeBody> {
        if !status.is_success() {
            self.own_check(&ObjectKind::Error, &body);
        }
        raw_json(status, body.to_string(), should_retry)
    }
}

/// A succeeded card charge as `GET /v1/charges/{id}` answers it: card `fingerprint`, `customer`
/// and billing `email` (each optional), paid with payment method `pm_<fingerprint>`.
pub fn charge(id: &str, fingerprint: &str, customer: Option<&str>, email: Option<&str>) -> Value {
    serde_json::json!({
        "id": id, "object": "charge", "status": "succeeded",
        "customer": customer, "receipt_email": email, "outcome": null,
        "payment_intent": format!("pi_{}", id.trim_start_matches("ch_")),
        "payment_method": format!("pm_{fingerprint}"),
        "billing_details": {"email": email, "name": null, "phone": null, "address": null},
        "payment_method_details": {"type": "card", "card": {
            "brand": "visa", "country": "US", "fingerprint": fingerprint, "last4": "4242",
            "exp_month": 12, "exp_year": 2030, "funding": "credit",
        }},
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A Stripe list page of `all`, after the request's `starting_after`, at most `limit` long.
fn page<T>(
    all: &[T],
    id: impl Fn(&T) -> &String,
    object: impl Fn(&T) -> Value,
    request: &Received,
    url: &str,
) -> Value {
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
    let data: Vec<Value> = rest.iter().take(limit).map(object).collect();
    serde_json::json!({
        "object": "list", "url": url, "has_more": rest.len() > limit, "data": data,
    })
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
    fn answers_follow_the_version_and_parse() {
        let spec = stripe_spec::spec();
        for (version, channel) in spec.evaluation_entries() {
            let facts = spec.evaluation_version(&version, channel).unwrap();
            for score in [-1.0, 3.0, 12.345, 55.0, 80.0] {
                let v = answers::evaluation("peval_1", &facts, score, serde_json::json!({}), 1);
                let kind = ObjectKind::Evaluation {
                    version: version.clone(),
                    channel,
                };
                assert_eq!(
                    spec.check_object(&kind, &v),
                    Vec::<String>::new(),
                    "{version}"
                );
                let p = riskgate::stripe::answer::parse(v.to_string().as_bytes()).unwrap();
                assert_eq!(p.score.is_none(), score < 0.0);
            }
        }
    }
}
