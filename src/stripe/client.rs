//! The Stripe client: Payment Evaluations (`POST {base_url}/v1/radar/payment_evaluations`, and
//! the outcome and event reports on an evaluation), the Radar value lists it can mirror
//! (`GET /v1/radar/value_lists`, `GET /v1/radar/value_list_items`) and charges. Form-encoded, basic
//! auth with the secret key, `Idempotency-Key` on every POST, and the `Stripe-Version` configured
//! for each endpoint family ([`Family`]).
//!
//! Retries are decided as Stripe's SDKs decide ([`crate::stripe::retry`]: broken connections,
//! `Stripe-Should-Retry` either way, else 409 and 5xx, never a plain 429), with their backoff on
//! riskgate's millisecond scale (the SDKs start at 0.5 s, longer than a whole evaluation's budget);
//! `Retry-After` is ignored, as the SDKs ignore it. Every attempt carries the same idempotency key.
//! Nothing ever runs past the budget: a backoff that would end after it is not started, and the
//! whole call is cut at the budget. A POST is never hedged.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::time::Instant;

use crate::{config::StripeConfig, telemetry};
use crate::{
    scoring::remote::{ErrorKind, RemoteRequest, RemoteScore, RemoteScorer, UpstreamError},
    stripe::{
        answer,
        basic_auth::base64,
        breaker::{Breaker, ErrorRate, Permit},
        retry::{RetryPolicy, retryable},
        version::Features,
    },
};
use riskgate_core::input::PaymentInput;

pub use crate::stripe::basic_auth::base64_decode;

/// The path of the Payment Evaluations endpoint.
pub const PATH: &str = "/v1/radar/payment_evaluations";
/// The value lists endpoint.
pub const VALUE_LISTS_PATH: &str = "/v1/radar/value_lists";
/// The value list items endpoint.
pub const VALUE_LIST_ITEMS_PATH: &str = "/v1/radar/value_list_items";
const NAME: &str = "stripe";

/// The endpoint families, each with its own `Stripe-Version` (`stripe.api_version`,
/// `stripe.charges_api_version`, `stripe.lists_api_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Payment Evaluations and the reports on them.
    Evaluations,
    /// `GET /v1/charges/{id}`.
    Charges,
    /// Radar value lists and their items.
    Lists,
}

/// One request to Stripe, sent as often as the retry policy allows.
struct Call<'a> {
    method: Method,
    uri: Uri,
    /// `Stripe-Version`.
    version: &'a HeaderValue,
    /// Form body (POST) or nothing (GET).
    body: Bytes,
    /// Sent on every attempt of a POST.
    idempotency_key: Option<&'a HeaderValue>,
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("stripe.base_url {0:?}: {1}")]
    BaseUrl(String, String),
    #[error("stripe secret key: {0}")]
    Secret(String),
    #[error("TLS set-up: {0}")]
    Tls(String),
    #[error("Stripe-Version {0:?}: {1}")]
    Version(String, &'static str),
}

/// See the module docs.
pub struct StripeClient {
    endpoint: Uri,
    /// `{base_url}` without a trailing slash, for the other paths.
    base: String,
    authorization: HeaderValue,
    /// `Stripe-Version` of each [`Family`]: evaluations, charges, lists.
    versions: [HeaderValue; 3],
    /// What the evaluations version accepts and answers.
    features: Features,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    retry: RetryPolicy,
    breaker: Arc<Breaker>,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("endpoint", &self.endpoint)
            .field("versions", &self.versions)
            .field("features", &self.features)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    /// A client for `config` with `secret_key` (never logged).
    pub fn new(config: &StripeConfig, secret_key: &str) -> Result<Self, ClientError> {
        let base = config.base_url.trim_end_matches('/');
        let endpoint: Uri =
            format!("{base}{PATH}")
                .parse()
                .map_err(|e: http::uri::InvalidUri| {
                    ClientError::BaseUrl(config.base_url.clone(), e.to_string())
                })?;
        match endpoint.scheme_str() {
            Some("https") | Some("http") => {}
            _ => {
                return Err(ClientError::BaseUrl(
                    config.base_url.clone(),
                    "must start with https:// (or http:// for a local fake)".into(),
                ));
            }
        }
        if secret_key.is_empty() || secret_key.chars().any(|c| c.is_whitespace() || c == ':') {
            return Err(ClientError::Secret(
                "empty or contains whitespace or ':'".into(),
            ));
        }
        let mut authorization = HeaderValue::from_str(&format!(
            "Basic {}",
            base64(format!("{secret_key}:").as_bytes())
        ))
        .map_err(|_| ClientError::Secret("not a valid header value".into()))?;
        authorization.set_sensitive(true);
        let version = |v: &String| {
            HeaderValue::from_str(v)
                .map_err(|_| ClientError::Version(v.clone(), "not a header value"))
        };
        if !Features::has_payment_evaluations(&config.api_version) {
            return Err(ClientError::Version(
                config.api_version.clone(),
                "predates Payment Evaluations (2026-01-28)",
            ));
        }
        let versions = [
            version(&config.api_version)?,
            version(&config.charges_api_version)?,
            version(&config.lists_api_version)?,
        ];

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_millis(config.connect_timeout_ms)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(config.pool_idle_timeout_secs))
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        Ok(Self {
            endpoint,
            base: base.to_owned(),
            authorization,
            versions,
            features: Features::of(&config.api_version, config.private_preview),
            client,
            retry: RetryPolicy {
                max_retries: config.max_retries,
                initial_backoff: Duration::from_millis(config.initial_backoff_ms),
                max_backoff: Duration::from_millis(config.max_backoff_ms),
            },
            breaker: Arc::new(
                Breaker::new(
                    NAME,
                    config.breaker_failure_threshold,
                    Duration::from_millis(config.breaker_open_ms),
                )
                .with_error_rate((config.breaker_error_rate_percent > 0).then(
                    || ErrorRate {
                        ratio: f64::from(config.breaker_error_rate_percent.min(100)) / 100.0,
                        window: Duration::from_secs(config.breaker_window_secs),
                        min_calls: config.breaker_window_min_calls,
                    },
                )),
            ),
        })
    }

    /// A URI under the base URL (`path` starts with `/`, query included).
    fn uri(&self, path_and_query: &str) -> Result<Uri, UpstreamError> {
        format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e: http::uri::InvalidUri| {
                err(ErrorKind::Transport, false, format!("bad URI: {e}"))
            })
    }

    /// The breaker guarding this upstream.
    pub fn breaker(&self) -> &Arc<Breaker> {
        &self.breaker
    }

    /// The `Stripe-Version` sent to `family`.
    pub fn api_version(&self, family: Family) -> &str {
        self.version(family)
            .to_str()
            .expect("built from a config string")
    }

    /// What the configured Payment Evaluations version accepts and answers.
    pub fn features(&self) -> Features {
        self.features
    }

    fn version(&self, family: Family) -> &HeaderValue {
        &self.versions[match family {
            Family::Evaluations => 0,
            Family::Charges => 1,
            Family::Lists => 2,
        }]
    }

    /// Sends `call` until it succeeds, fails for good, or the retry policy or `deadline` says
    /// stop; returns the answer body and the number of attempts.
    async fn attempts(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<(Bytes, u32), UpstreamError> {
        let mut attempt = 0;
        loop {
            match self.attempt(call).await {
                Ok(body) => return Ok((body, attempt + 1)),
                Err(e) if !e.retryable || attempt >= self.retry.max_retries => return Err(e),
                Err(e) => {
                    let backoff = self.retry.backoff(attempt);
                    // Never past the deadline: a retry that could not even start in time is not
                    // worth its wait.
                    if Instant::now() + backoff >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, attempt, ?backoff, "retrying Stripe");
                    tokio::time::sleep(backoff).await;
                    metrics::counter!(telemetry::UPSTREAM_RETRIES, "upstream" => NAME).increment(1);
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt: the body of a 2xx answer, else the error (retryable or not).
    async fn attempt(&self, call: &Call<'_>) -> Result<Bytes, UpstreamError> {
        // An injected failure is a broken connection (retryable, counts against the breaker); an
        // injected delay is a slow network, inside the call's deadline.
        crate::faults::inject(crate::faults::STRIPE_SEND)
            .await
            .map_err(|e| err(ErrorKind::Transport, true, e.to_string()))?;
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(call.uri.clone())
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header("stripe-version", call.version.clone())
            .header(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("riskgate/", env!("CARGO_PKG_VERSION"))),
            );
        if call.method == Method::POST {
            request = request.header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        if let Some(key) = call.idempotency_key {
            request = request.header("idempotency-key", key.clone());
        }
        let request = request
            .body(Full::new(call.body.clone()))
            .map_err(|e| err(ErrorKind::Transport, false, e.to_string()))?;
        let response = self.client.request(request).await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connect
            } else {
                ErrorKind::Transport
            };
            err(kind, true, e.to_string())
        })?;
        let status = response.status();
        let should_retry = response
            .headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<bool>().ok());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| {
                err(
                    ErrorKind::Transport,
                    true,
                    format!("reading the answer: {e}"),
                )
            })?
            .to_bytes();
        if status.is_success() {
            return Ok(body);
        }
        let mut e = err(
            ErrorKind::Status(status.as_u16()),
            retryable(status, should_retry),
            format!("HTTP {status}"),
        );
        e.stripe = answer::parse_error(&body).map(Box::new);
        Err(e)
    }

    /// Sends `call` within `budget` (retries included), without the breaker.
    async fn send(&self, call: &Call<'_>, budget: Duration) -> Result<(Bytes, u32), UpstreamError> {
        let deadline = Instant::now() + budget;
        match tokio::time::timeout_at(deadline, self.attempts(call, deadline)).await {
            Ok(result) => result,
            Err(_) => Err(err(
                ErrorKind::Timeout,
                true,
                format!("no answer within {budget:?}"),
            )),
        }
    }

    /// Posts an outcome or event report (`report.path` under the evaluation, `report.body` in
    /// form encoding) within `budget`, retried like an evaluation with the same `idempotency_key`.
    /// Reports skip the breaker's permits (they must not take the half-open probe from an
    /// evaluation) but are not sent while it is open.
    pub async fn report(
        &self,
        report: &crate::stripe::outcomes::Report,
        idempotency_key: &str,
        budget: Duration,
    ) -> Result<u32, UpstreamError> {
        if self.breaker.state() == crate::stripe::breaker::State::Open {
            return Err(err(ErrorKind::BreakerOpen, false, "circuit open".into()));
        }
        let key = HeaderValue::from_str(idempotency_key)
            .map_err(|_| err(ErrorKind::Transport, false, "bad idempotency key".into()))?;
        let call = Call {
            method: Method::POST,
            uri: self.uri(&report.path)?,
            version: self.version(Family::Evaluations),
            body: Bytes::from(report.body.clone()),
            idempotency_key: Some(&key),
        };
        let (body, attempts) = self.send(&call, budget).await?;
        answer::parse_object(&body, "radar.payment_evaluation")
            .map_err(|e| err(ErrorKind::Malformed, false, e.to_string()))?;
        Ok(attempts)
    }

    /// `GET` of a page of a value list endpoint (`path_and_query` includes `limit`,
    /// `starting_after`, …) within `budget`; the raw JSON body.
    pub async fn get_page(
        &self,
        path_and_query: &str,
        budget: Duration,
    ) -> Result<Bytes, UpstreamError> {
        self.get(Family::Lists, path_and_query, budget).await
    }

    /// `GET` of `path_and_query` with `family`'s `Stripe-Version`, within `budget`, retried as
    /// any call; the raw JSON body.
    pub async fn get(
        &self,
        family: Family,
        path_and_query: &str,
        budget: Duration,
    ) -> Result<Bytes, UpstreamError> {
        let call = Call {
            method: Method::GET,
            uri: self.uri(path_and_query)?,
            version: self.version(family),
            body: Bytes::new(),
            idempotency_key: None,
        };
        self.send(&call, budget).await.map(|(body, _)| body)
    }
}

/// A payment evaluation answer as a score (without one when Stripe did not assess the payment).
fn parse_score(body: &[u8], attempts: u32) -> Result<RemoteScore, UpstreamError> {
    let parsed =
        answer::parse(body).map_err(|e| err(ErrorKind::Malformed, false, e.to_string()))?;
    Ok(RemoteScore {
        score: parsed.score,
        recommended_action: parsed.recommended_action,
        risk_level: parsed.risk_level,
        id: parsed.id,
        attempts,
    })
}

fn err(kind: ErrorKind, retryable: bool, detail: String) -> UpstreamError {
    UpstreamError::new(NAME, kind, retryable, detail)
}

/// Whether a failure says the upstream is unhealthy (counts towards opening the breaker). Stripe
/// refusing a request (4xx other than 409/429) or not assessing it says nothing about its health;
/// a 429 does (riskgate backs off through the breaker rather than through retries).
fn is_health_failure(e: &UpstreamError) -> bool {
    match e.kind {
        ErrorKind::Status(s) => s == 409 || s == 429 || s >= 500,
        ErrorKind::NotAssessed
        | ErrorKind::BreakerOpen
        | ErrorKind::NoBudget
        | ErrorKind::InvalidRequest => false,
        ErrorKind::Connect | ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Malformed => {
            true
        }
    }
}

#[tonic::async_trait]
impl RemoteScorer for StripeClient {
    fn prepare(
        &self,
        input: &PaymentInput<'_>,
        caller_key: &str,
    ) -> Result<RemoteRequest, UpstreamError> {
        let body = crate::stripe::form::payment_evaluation(input, self.features).map_err(|e| {
            metrics::counter!(
                telemetry::UPSTREAM_CALLS,
                "upstream" => NAME,
                "outcome" => ErrorKind::InvalidRequest.as_str()
            )
            .increment(1);
            err(ErrorKind::InvalidRequest, false, e.to_string())
        })?;
        Ok(RemoteRequest {
            body: Bytes::from(body),
            idempotency_key: upstream_idempotency_key(caller_key),
        })
    }

    async fn score(
        &self,
        request: &RemoteRequest,
        budget: Duration,
    ) -> Result<RemoteScore, UpstreamError> {
        let started = Instant::now();
        let result = self.score_within(request, budget).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind.as_str(),
        };
        metrics::counter!(telemetry::UPSTREAM_CALLS, "upstream" => NAME, "outcome" => outcome)
            .increment(1);
        metrics::histogram!(telemetry::UPSTREAM_DURATION, "upstream" => NAME)
            .record(started.elapsed());
        result
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

impl StripeClient {
    async fn score_within(
        &self,
        request: &RemoteRequest,
        budget: Duration,
    ) -> Result<RemoteScore, UpstreamError> {
        if budget < Duration::from_millis(1) {
            return Err(err(
                ErrorKind::NoBudget,
                false,
                format!("{budget:?} left is too little for a call"),
            ));
        }
        let deadline = Instant::now() + budget;
        let key = HeaderValue::from_str(&request.idempotency_key)
            .map_err(|_| err(ErrorKind::Transport, false, "bad idempotency key".into()))?;
        let Some(permit): Option<Permit> = self.breaker.try_acquire(Instant::now()) else {
            return Err(err(ErrorKind::BreakerOpen, false, "circuit open".into()));
        };
        let call = Call {
            method: Method::POST,
            uri: self.endpoint.clone(),
            version: self.version(Family::Evaluations),
            body: request.body.clone(),
            idempotency_key: Some(&key),
        };
        let result = match tokio::time::timeout_at(deadline, self.attempts(&call, deadline)).await {
            Ok(Ok((body, attempts))) => parse_score(&body, attempts),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(err(
                ErrorKind::Timeout,
                true,
                format!("no answer within {budget:?}"),
            )),
        };
        let healthy = match &result {
            Ok(_) => true,
            Err(e) => !is_health_failure(e),
        };
        self.breaker.record(permit, healthy, Instant::now());
        result
    }
}

/// The `Idempotency-Key` sent upstream for an evaluation: derived from the caller's idempotency
/// key (so a caller's retry is a Stripe retry too), else fresh. Always ≤ 255 chars.
pub fn upstream_idempotency_key(caller_key: &str) -> String {
    use sha2::{Digest, Sha256};
    if caller_key.is_empty() {
        crate::ids::random_id("riskgate-", 32)
    } else {
        let digest = Sha256::digest(caller_key.as_bytes());
        let mut key = String::with_capacity(9 + 64);
        key.push_str("riskgate-");
        for b in digest {
            key.push_str(&format!("{b:02x}"));
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_derived_or_fresh() {
        let a = upstream_idempotency_key("order-1");
        assert_eq!(a, upstream_idempotency_key("order-1"));
        assert_ne!(a, upstream_idempotency_key("order-2"));
        assert!(
            !a.contains("order"),
            "the caller's key is not sent in clear"
        );
        let fresh = upstream_idempotency_key("");
        assert_ne!(fresh, upstream_idempotency_key(""));
        assert!(fresh.len() <= 255 && a.len() <= 255);
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut c = StripeConfig::default();
        assert!(StripeClient::new(&c, "").is_err());
        assert!(StripeClient::new(&c, "sk test").is_err());
        c.base_url = "ftp://x".into();
        assert!(matches!(
            StripeClient::new(&c, "sk_test_1"),
            Err(ClientError::BaseUrl(..))
        ));
    }

    #[test]
    fn secret_key_is_not_in_debug_output() {
        let c = StripeClient::new(&StripeConfig::default(), "sk_test_secret").unwrap();
        assert!(!format!("{c:?}").contains("sk_test_secret"));
    }
}
