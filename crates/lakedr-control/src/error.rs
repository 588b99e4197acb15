//! The one error type of the control-plane export, with the retry decision.

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while exporting a workspace or following its audit logs.
///
/// Every variant names the request, object or file it is about. [`Error::disposition`] decides
/// between trying again later, waiting for the next full export, and failing for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status.
    #[error("GET {endpoint}: HTTP {status}{}: {message}", if code.is_empty() { String::new() } else { format!(" {code}") })]
    Status {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The API answered 2xx with a body that is not JSON.
    #[error("GET {endpoint}: the response is not JSON ({detail})")]
    NotJson { endpoint: String, detail: String },
    /// Every attempt failed (throttled, server errors, timeouts, connection failures).
    #[error("GET {endpoint}: gave up after {attempts} attempts; last: {last}")]
    Exhausted {
        endpoint: String,
        attempts: u32,
        last: String,
    },
    /// An OAuth token could not be had.
    #[error("OAuth token from {endpoint}: {detail}")]
    Token { endpoint: String, detail: String },
    /// An event the function was given does not have a shape it takes (said with its id).
    #[error("{0}")]
    Malformed(String),
    /// The export is not configured to do this (credentials, a variable, a setting).
    #[error("{0}")]
    Config(String),
    /// Storage the export reads or writes (snapshots, audit state, model artifacts).
    #[error("storage: {0}")]
    Storage(#[from] lakedr::Error),
    /// A stored file that does not read back (a manifest, the audit state of a file).
    #[error("{key}: {detail}")]
    Corrupt { key: String, detail: String },
    /// Another export kept moving `latest` under this one.
    #[error("`latest` kept moving under this run ({0} tries): another export is running")]
    Contended(u32),
    /// A change known only by kind, or of a kind not read one object at a time: the next full
    /// export captures it.
    #[error("{kind}: {reason}; the next full export captures it")]
    Deferred { kind: String, reason: String },
    /// An event bus did not take the change events.
    #[error("event bus {bus}: {message}")]
    Bus { bus: String, message: String },
}

/// What becomes of the work whose error this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The same call may succeed later (throttling, a server error, storage, a race).
    Retry,
    /// Not an error of the input: the next full export does the work.
    Defer,
    /// Retrying changes nothing (a bad credential, a setting, a corrupt file).
    Fail,
}

impl Error {
    /// The object asked for does not exist (deleted since it was listed). An unknown endpoint
    /// is not a missing object: it must never turn into a tombstone.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Status {
                status,
                code,
                message,
                ..
            } => {
                code.ends_with("DOES_NOT_EXIST")
                    || code == "NOT_FOUND"
                    || (*status == 404 && code.is_empty())
                    || (*status == 400
                        && code == "INVALID_PARAMETER_VALUE"
                        && message.contains("does not exist"))
            }
            _ => false,
        }
    }

    /// Retry, defer or fail.
    pub fn disposition(&self) -> Disposition {
        match self {
            Error::Exhausted { .. } | Error::Contended(_) | Error::Bus { .. } => Disposition::Retry,
            Error::Storage(e) if e.is_retryable() => Disposition::Retry,
            Error::Token { .. } => Disposition::Retry,
            Error::Status { status, .. } if *status == 429 || *status >= 500 => Disposition::Retry,
            Error::Deferred { .. } => Disposition::Defer,
            Error::Status { .. }
            | Error::NotJson { .. }
            | Error::Config(_)
            | Error::Malformed(_)
            | Error::Storage(_)
            | Error::Corrupt { .. } => Disposition::Fail,
        }
    }

    /// A short, stable name of the variant (Lambda's `errorType`, a metric dimension).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Status { .. } => "ApiStatus",
            Error::NotJson { .. } => "ApiNotJson",
            Error::Exhausted { .. } => "ApiExhausted",
            Error::Token { .. } => "Token",
            Error::Config(_) => "Config",
            Error::Malformed(_) => "MalformedEvent",
            Error::Storage(_) => "Storage",
            Error::Corrupt { .. } => "Corrupt",
            Error::Contended(_) => "Contended",
            Error::Deferred { .. } => "Deferred",
            Error::Bus { .. } => "Bus",
        }
    }
}
