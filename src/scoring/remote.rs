//! Remote scoring: the small async trait the pipeline calls with a time budget
//! ([`RemoteScorer`]), what it answers, and how it fails. Stripe's client implements it
//! ([`crate::stripe::client::StripeClient`]); the decision core never sees the network, only the
//! chosen score and its source.

use std::{fmt, time::Duration};

use riskgate_core::input::PaymentInput;

/// A score from an upstream, with the words it came with (as the upstream wrote them).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteScore {
    /// Stripe's risk score, 0–100 (two decimals); `None` when Stripe did not assess the payment
    /// (its score -1).
    pub score: Option<f64>,
    /// Stripe's recommended action (`block`, `continue`, `request_three_d_secure`), if given.
    pub recommended_action: Option<String>,
    /// Stripe's risk level (`low`, `normal`, `elevated`, `highest`, `not_assessed`, `unknown`),
    /// if given (the older `insights` shape has none).
    pub risk_level: Option<String>,
    /// The evaluation's id at Stripe (`peval_…`), for outcome reports.
    pub id: Option<String>,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
}

impl RemoteScore {
    /// The score as a probability for the decision core, when there is one.
    pub fn probability(&self) -> Option<f64> {
        self.score.map(|s| (s / 100.0).clamp(0.0, 1.0))
    }
}

/// Where an upstream failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Connecting (DNS, TCP, TLS) failed.
    Connect,
    /// The connection broke while sending or before a complete answer arrived.
    Transport,
    /// The time budget ran out.
    Timeout,
    /// Stripe answered with an error status.
    Status(u16),
    /// The answer was not a payment evaluation.
    Malformed,
    /// The budget was too small to try at all.
    NoBudget,
    /// The circuit breaker is open.
    BreakerOpen,
    /// Stripe answered but did not assess the payment (score -1), where a score was needed
    /// (`scoring.stripe_levels = "relevel"`).
    NotAssessed,
    /// The payment cannot be put in a request the upstream accepts (Stripe requires a
    /// `customer_details` field); nothing was sent.
    InvalidRequest,
}

impl ErrorKind {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Status(429) => "rate_limited",
            ErrorKind::Status(s) if s >= 500 => "status_5xx",
            ErrorKind::Status(_) => "status_4xx",
            ErrorKind::Malformed => "malformed",
            ErrorKind::NoBudget => "no_budget",
            ErrorKind::BreakerOpen => "breaker_open",
            ErrorKind::NotAssessed => "not_assessed",
            ErrorKind::InvalidRequest => "invalid_request",
        }
    }
}

/// Stripe's error object: `error{type, code, param, message}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct StripeError {
    #[serde(rename = "type")]
    pub kind: String,
    pub code: Option<String>,
    pub param: Option<String>,
    pub message: Option<String>,
}

/// An upstream call that failed: what kind, whether it may be retried, and Stripe's error when it
/// sent one.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamError {
    pub kind: ErrorKind,
    /// Whether trying again could succeed: as Stripe's SDKs decide (`Stripe-Should-Retry` either
    /// way, else 409, 5xx and transport failures; never 429 without `Stripe-Should-Retry: true`).
    pub retryable: bool,
    /// The upstream's name (`stripe`).
    pub upstream: &'static str,
    /// Boxed: errors travel in `Result`s on the hot path, and Stripe's error object is rare.
    pub stripe: Option<Box<StripeError>>,
    /// Free text for logs (never request data).
    pub detail: String,
}

impl UpstreamError {
    pub fn new(upstream: &'static str, kind: ErrorKind, retryable: bool, detail: String) -> Self {
        Self {
            kind,
            retryable,
            upstream,
            stripe: None,
            detail,
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.upstream,
            self.kind.as_str(),
            self.detail
        )?;
        if let Some(e) = &self.stripe {
            write!(f, " (type {}", e.kind)?;
            if let Some(code) = &e.code {
                write!(f, ", code {code}")?;
            }
            if let Some(param) = &e.param {
                write!(f, ", param {param}")?;
            }
            if let Some(message) = &e.message {
                write!(f, ": {message}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for UpstreamError {}

/// A payment encoded for an upstream, once: owned, so a shadow call can outlive the request it
/// came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRequest {
    /// The request body, in the upstream's encoding.
    pub body: bytes::Bytes,
    /// Sent on every attempt of this evaluation.
    pub idempotency_key: String,
}

/// Scores a payment remotely within `budget`; never takes longer than the budget.
#[tonic::async_trait]
pub trait RemoteScorer: Send + Sync + 'static {
    /// Encodes `input` for this upstream. `caller_key` is the caller's idempotency key (empty when
    /// it sent none): the same caller key gives the same upstream key, so a caller's retry is an
    /// upstream retry too. Fails ([`ErrorKind::InvalidRequest`]) when the payment cannot be put
    /// in a request the upstream accepts.
    fn prepare(
        &self,
        input: &PaymentInput<'_>,
        caller_key: &str,
    ) -> Result<RemoteRequest, UpstreamError>;

    async fn score(
        &self,
        request: &RemoteRequest,
        budget: Duration,
    ) -> Result<RemoteScore, UpstreamError>;

    /// The upstream's name, for metrics.
    fn name(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_stripe_fields() {
        let mut e = UpstreamError::new("stripe", ErrorKind::Status(402), false, "402".into());
        e.stripe = Some(Box::new(StripeError {
            kind: "invalid_request_error".into(),
            code: Some("parameter_missing".into()),
            param: Some("payment_details[amount]".into()),
            message: Some("Missing amount".into()),
        }));
        let text = e.to_string();
        assert!(text.contains("param payment_details[amount]"), "{text}");
        assert!(text.contains("code parameter_missing"), "{text}");
        assert_eq!(ErrorKind::Status(429).as_str(), "rate_limited");
    }
}
