//! The fake's checks of a request: Stripe's own (the URL, basic auth, form encoding, the headers a
//! POST needs), then the spec's ([`crate::stripe_spec::Spec::check_request`]).

use http::{StatusCode, header};
use serde_json::Value;

use riskgate::stripe::client::base64_decode;

use super::{FakeStripe, Received, answers};
use crate::stripe_spec::{self, Endpoint};

impl FakeStripe {
    /// Stripe's checks, then the spec's: the endpoint, or the refusal's status and error body.
    pub(super) fn check(
        &self,
        parts: &http::request::Parts,
        form: Option<&[(String, String)]>,
        received: &Received,
        private_preview: bool,
    ) -> Result<Endpoint, (StatusCode, Value)> {
        let refuse =
            |status: StatusCode, code: Option<&str>, param: Option<&str>, message: String| {
                Err((
                    status,
                    answers::error("invalid_request_error", code, param, &message),
                ))
            };
        let spec = stripe_spec::spec();
        if spec
            .endpoint(parts.method.as_str(), parts.uri.path())
            .is_none()
        {
            return refuse(
                StatusCode::NOT_FOUND,
                None,
                None,
                format!(
                    "Unrecognized request URL ({}: {})",
                    parts.method,
                    parts.uri.path()
                ),
            );
        }
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(base64_decode)
            .and_then(|d| String::from_utf8(d).ok());
        if auth.as_deref().and_then(|a| a.strip_suffix(':')) != Some(&*self.secret_key) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                None,
                None,
                "Invalid API Key provided (basic auth with the secret key expected)".into(),
            );
        }
        let post = parts.method == http::Method::POST;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if post && content_type != Some("application/x-www-form-urlencoded") {
            return refuse(
                StatusCode::BAD_REQUEST,
                None,
                None,
                format!("content-type {content_type:?} is not form encoding"),
            );
        }
        let headers: &[(&str, usize)] = if post {
            &[("stripe-version", 64), ("idempotency-key", 255)]
        } else {
            &[("stripe-version", 64)]
        };
        for &(name, max) in headers {
            let len = parts.headers.get(name).map_or(0, |v| v.len());
            if len == 0 || len > max {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    None,
                    None,
                    format!("header {name} missing or longer than {max}"),
                );
            }
        }
        let Some(form) = form else {
            return refuse(
                StatusCode::BAD_REQUEST,
                None,
                None,
                "body is not form encoded".into(),
            );
        };
        spec.check_request(&stripe_spec::Request {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            stripe_version: received.stripe_version.as_deref(),
            form,
            private_preview,
        })
        .map_err(|v| {
            (
                StatusCode::from_u16(v.status).unwrap_or(StatusCode::BAD_REQUEST),
                answers::error(
                    "invalid_request_error",
                    v.code,
                    v.param.as_deref(),
                    &v.message,
                ),
            )
        })
    }
}
