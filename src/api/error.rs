//! The edge's one error type, mapped to a gRPC status in one place.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{api::validate::FieldViolation, stores::StoreError};

/// Domain of the `google.rpc.ErrorInfo` riskgate attaches.
pub const ERROR_DOMAIN: &str = "riskgate.dev";

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The request broke validation rules; every violation, with its field path.
    #[error("invalid request: {}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The idempotency key was used before with other parameters (Stripe's `idempotency_error`).
    #[error(
        "idempotency_key was already used with different parameters; use a new key for a new evaluation"
    )]
    IdempotencyConflict,
    /// The caller's deadline passed before an answer was ready.
    #[error("deadline exceeded after {elapsed:?} (caller allowed {budget:?})")]
    DeadlineExceeded { budget: Duration, elapsed: Duration },
    /// The concurrency limit is reached; retry with backoff.
    #[error("server is at its concurrency limit ({limit} calls in flight); retry with backoff")]
    Overloaded { limit: usize },
    /// The gateway's CPU is saturated and it admits only a share of calls; retry with backoff.
    #[error(
        "server is overloaded (CPU saturated; admitting {admitted_percent} % of calls); retry with backoff"
    )]
    CpuSaturated { admitted_percent: u8 },
    /// The admin token is missing or wrong.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The object named in the request does not exist.
    #[error("no such {kind}: '{id}'")]
    NotFound { kind: &'static str, id: String },
    /// The object exists already (a list alias, a list item).
    #[error("{field}: {message}")]
    AlreadyExists { field: String, message: String },
    /// The request is well formed but cannot apply in the current state (deleting a default list,
    /// a rules file that does not compile).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A backing store is unavailable; retry with backoff.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summarize(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// The gRPC code of this error.
    pub fn code(&self) -> Code {
        match self {
            ApiError::InvalidArgument(_) => Code::InvalidArgument,
            ApiError::IdempotencyConflict => Code::FailedPrecondition,
            ApiError::DeadlineExceeded { .. } => Code::DeadlineExceeded,
            ApiError::Overloaded { .. } | ApiError::CpuSaturated { .. } => Code::ResourceExhausted,
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::NotFound { .. } => Code::NotFound,
            ApiError::AlreadyExists { .. } => Code::AlreadyExists,
            ApiError::FailedPrecondition(_) => Code::FailedPrecondition,
            ApiError::Unavailable(_) => Code::Unavailable,
            ApiError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Status {
        let code = err.code();
        let message = err.to_string();
        let details = match &err {
            ApiError::InvalidArgument(violations) => {
                let mut d = ErrorDetails::new();
                for v in violations {
                    d.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                d
            }
            ApiError::IdempotencyConflict => {
                let mut d = ErrorDetails::with_error_info(
                    "idempotency_error",
                    ERROR_DOMAIN,
                    [("param".to_owned(), "idempotency_key".to_owned())],
                );
                d.add_precondition_failure_violation(
                    "idempotency_error",
                    "idempotency_key",
                    "keys must not be reused with different parameters",
                );
                d
            }
            ApiError::Overloaded { .. } | ApiError::CpuSaturated { .. } => {
                ErrorDetails::with_retry_info(Some(Duration::from_millis(50)))
            }
            ApiError::NotFound { kind, id } => {
                let mut d = ErrorDetails::new();
                d.set_resource_info(*kind, id.clone(), "", "not found");
                d
            }
            ApiError::AlreadyExists { field, message } => {
                let mut d = ErrorDetails::new();
                d.add_bad_request_violation(field.clone(), message.clone());
                d
            }
            ApiError::DeadlineExceeded { .. }
            | ApiError::Unauthenticated(_)
            | ApiError::FailedPrecondition(_)
            | ApiError::Unavailable(_)
            | ApiError::Internal(_) => {
                return Status::new(code, message);
            }
        };
        Status::with_error_details(code, message, details)
    }
}

/// The one mapping from store errors to the edge's errors.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => ApiError::NotFound { kind, id },
            StoreError::Invalid { field, message } => {
                ApiError::InvalidArgument(vec![FieldViolation {
                    field: field.into(),
                    description: message,
                }])
            }
            StoreError::AlreadyExists { field, message } => ApiError::AlreadyExists {
                field: field.into(),
                message,
            },
            StoreError::Refused(m) => ApiError::FailedPrecondition(m),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                ApiError::Unavailable(m)
            }
            e @ (StoreError::Io { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Journal { .. }
            | StoreError::Internal(_)) => {
                tracing::error!(error = %e, "store failed");
                ApiError::Internal("the store failed; the change was not applied".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_carry_every_field() {
        let status = Status::from(ApiError::InvalidArgument(vec![
            FieldViolation {
                field: "payment_details.amount".into(),
                description: "must be positive".into(),
            },
            FieldViolation {
                field: "payment_details.currency".into(),
                description: "required".into(),
            },
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status
                .message()
                .contains("payment_details.amount: must be positive")
        );
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(
            fields,
            ["payment_details.amount", "payment_details.currency"]
        );
    }

    #[test]
    fn idempotency_conflict_is_a_failed_precondition_with_reason() {
        let status = Status::from(ApiError::IdempotencyConflict);
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.get_error_details().error_info().unwrap().reason,
            "idempotency_error"
        );
    }
}
