//! The one error type of the core, with the context an operator needs and the retry decision.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while replicating.
///
/// Every variant names the object, table or field it is about. [`Error::is_retryable`] decides
/// between "try again later" (the message goes back to the queue) and "this input is bad"
/// (the message goes to the dead-letter queue and the unit stops at its last consistent state).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file is invalid; `field` is the dotted path of the offending field.
    #[error("invalid configuration: {field}: {message}")]
    Config { field: String, message: String },

    /// An incoming event could not be understood.
    #[error("malformed event{}: {message}", id.as_deref().map(|i| format!(" {i}")).unwrap_or_default())]
    MalformedEvent { id: Option<String>, message: String },

    /// An object does not exist (or not at the version the event named).
    #[error("not found: {url}")]
    NotFound { url: String },

    /// A put-if-absent or compare-and-swap lost: the object exists or changed.
    #[error("precondition failed (object exists or changed): {url}")]
    PreconditionFailed { url: String },

    /// A Delta commit references a file that is not at the source (vacuumed, or never written).
    #[error("table {table}: version {version} references {key}, which is missing at the source")]
    MissingSourceFile {
        table: String,
        version: u64,
        key: String,
    },

    /// A Delta log file could not be parsed.
    #[error("table {table}: version {version}: cannot parse {key}: {message}")]
    InvalidLogFile {
        table: String,
        version: u64,
        key: String,
        message: String,
    },

    /// The source log has a hole: a later commit exists but `version` does not.
    #[error(
        "table {table}: the source log has a gap: version {version} is missing but {next} exists"
    )]
    LogGap {
        table: String,
        version: u64,
        next: u64,
    },

    /// The DR log and the source log disagree about a commit that was already published.
    #[error(
        "table {table}: version {version} in DR differs from the source ({key}); DR is left untouched"
    )]
    Diverged {
        table: String,
        version: u64,
        key: String,
    },

    /// The table cannot be replicated into a self-contained DR copy.
    #[error("table {table}: version {version}: not self-contained: {reason}")]
    NotSelfContained {
        table: String,
        version: u64,
        reason: String,
    },

    /// The table has nothing a reader could start from (no commit 0 and no complete checkpoint).
    /// Deferred: while a table is being copied into the primary bucket, its commits can land
    /// before the checkpoint they were cleaned up behind; the arrival of that checkpoint is a
    /// log event of its own, which runs the table again.
    #[error("table {table}: cannot bootstrap yet: {reason}")]
    NoStartingPoint { table: String, reason: String },

    /// No version from `version` on can be published whole: `key`, which version `version`
    /// needs, is missing at the source (vacuumed, or never written), and no later checkpoint
    /// has all of its live files. DR stays at its last consistent version until the table's
    /// writer makes a new checkpoint (its arrival runs the table again).
    #[error(
        "table {table}: no version from {version} on can be published whole: {key} is missing \
         at the source (vacuumed?) and no later checkpoint has all its live files; DR stays at \
         its last consistent version until the next checkpoint"
    )]
    NoReadableVersion {
        table: String,
        version: u64,
        key: String,
    },

    /// A copy finished but the destination does not match the source.
    #[error("copy of {src} to {dst} is not identical: {message}")]
    CopyMismatch {
        src: String,
        dst: String,
        message: String,
    },

    /// A storage or queue call failed in a way that may succeed later (throttling, 5xx, timeout).
    #[error("transient error on {target}: {message}")]
    Transient { target: String, message: String },

    /// A storage or queue call failed for good (access denied, bad request...).
    #[error("{target}: {message}")]
    Storage { target: String, message: String },

    /// Local I/O.
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// An error and its sources as one line: each by its `Display`, joined by `: `, a source left
/// out when a message before it already says it (many errors quote their source), whitespace
/// collapsed. Libraries' errors often keep the cause only in `source()` (hyper's
/// `client error (Connect)`, the SDK's `streaming error`), so a message needs the chain.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What becomes of the message whose handling failed with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The same call may succeed later: the message goes back to its queue.
    Retry,
    /// The unit waits for a file that has not arrived yet; that file's own event runs it again,
    /// so the message is acknowledged (a retry would only hold the unit's FIFO group).
    Defer,
    /// The input is bad: the message goes to the dead-letter queue with the error.
    DeadLetter,
}

impl Error {
    /// What to do with the message: retry, defer or dead-letter.
    pub fn disposition(&self) -> Disposition {
        match self {
            Error::Transient { .. } | Error::Io { .. } => Disposition::Retry,
            Error::NoStartingPoint { .. } => Disposition::Defer,
            Error::Config { .. }
            | Error::MalformedEvent { .. }
            | Error::NotFound { .. }
            | Error::PreconditionFailed { .. }
            | Error::MissingSourceFile { .. }
            | Error::NoReadableVersion { .. }
            | Error::InvalidLogFile { .. }
            | Error::LogGap { .. }
            | Error::Diverged { .. }
            | Error::NotSelfContained { .. }
            | Error::CopyMismatch { .. }
            | Error::Storage { .. } => Disposition::DeadLetter,
        }
    }

    /// True when the same call may succeed later, so the message must be retried rather than
    /// dead-lettered.
    pub fn is_retryable(&self) -> bool {
        self.disposition() == Disposition::Retry
    }

    /// A short, stable name of the variant, used as a metric dimension and message attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "Config",
            Error::MalformedEvent { .. } => "MalformedEvent",
            Error::NotFound { .. } => "NotFound",
            Error::PreconditionFailed { .. } => "PreconditionFailed",
            Error::MissingSourceFile { .. } => "MissingSourceFile",
            Error::InvalidLogFile { .. } => "InvalidLogFile",
            Error::LogGap { .. } => "LogGap",
            Error::Diverged { .. } => "Diverged",
            Error::NotSelfContained { .. } => "NotSelfContained",
            Error::NoStartingPoint { .. } => "NoStartingPoint",
            Error::NoReadableVersion { .. } => "NoReadableVersion",
            Error::CopyMismatch { .. } => "CopyMismatch",
            Error::Transient { .. } => "Transient",
            Error::Storage { .. } => "Storage",
            Error::Io { .. } => "Io",
        }
    }

    pub(crate) fn config(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::Config {
            field: field.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn malformed(id: Option<&str>, message: impl fmt::Display) -> Self {
        Error::MalformedEvent {
            id: id.map(str::to_owned),
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}
