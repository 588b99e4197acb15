//! SDK errors mapped onto `lakedr::Error` with the object they are about.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use lakedr::Error;
use lakedr::error::chain;

/// Maps an SDK error: 404 is [`Error::NotFound`] (but `NoSuchBucket` is [`Error::Storage`]), 412 [`Error::PreconditionFailed`],
/// throttling, 5xx, 409 (conditional-write conflict) and network errors are retryable.
pub(crate) fn map_sdk<E, R>(err: SdkError<E, R>, target: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HasStatus + Send + Sync + 'static,
{
    let status = err.raw_response().map(HasStatus::status);
    let code = err
        .as_service_error()
        .and_then(|e| e.code().map(str::to_owned));
    let message = one_line(&err, status);
    match (status, code.as_deref()) {
        // A missing bucket is a deployment fault, never "the object is gone".
        (_, Some("NoSuchBucket")) => Error::Storage {
            target: target.to_string(),
            message,
        },
        (Some(404), _) | (_, Some("NoSuchKey" | "NotFound" | "NoSuchVersion")) => Error::NotFound {
            url: target.to_string(),
        },
        (Some(412), _) | (_, Some("PreconditionFailed")) => Error::PreconditionFailed {
            url: target.to_string(),
        },
        (Some(s), _) if s == 408 || s == 409 || s == 429 || s >= 500 => Error::Transient {
            target: target.to_string(),
            message,
        },
        (
            _,
            Some(
                "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "InternalError",
            ),
        ) => Error::Transient {
            target: target.to_string(),
            message,
        },
        (None, _) => Error::Transient {
            target: target.to_string(),
            message,
        }, // dispatch, timeout, I/O
        _ => Error::Storage {
            target: target.to_string(),
            message,
        },
    }
}

/// What went wrong, as one readable line: the service's code and message when it sent them
/// (`NoSuchBucket: The specified bucket does not exist (HTTP 404)`), else the SDK's own
/// account of a failure that never reached a service (dispatch, timeout, I/O).
pub(crate) fn one_line<E, R>(err: &SdkError<E, R>, status: Option<u16>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let http = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
    let text = match err.as_service_error() {
        Some(e) => match (e.code(), e.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}{http}"),
            (Some(code), None) => format!("{code}{http}"),
            (None, Some(msg)) => format!("{msg}{http}"),
            (None, None) => format!("{}{http}", chain(err)),
        },
        None => chain(err),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The HTTP status of a raw response.
pub(crate) trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}
