//! Errors of the command line, each with its exit code.

use std::path::PathBuf;

use thiserror::Error;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code when specs (or other inputs) are invalid.
pub const EXIT_INVALID: u8 = 1;
/// Exit code for usage, I/O and other operational errors.
pub const EXIT_ERROR: u8 = 2;
/// Exit code of `eval --fail-on-no-data` when some SLO has no data.
pub const EXIT_NO_DATA: u8 = 3;
/// Exit code of `report --fail-on-missed` when some SLO missed its
/// objective.
pub const EXIT_MISSED: u8 = 4;

/// What can stop a command.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Spec files had errors; they were already reported one by one.
    #[error("{files} spec file(s) with {errors} error(s)")]
    InvalidSpecs {
        /// Files with at least one error.
        files: usize,
        /// Errors in all.
        errors: usize,
    },
    /// No spec file was found under the paths given.
    #[error("no spec files (*.yaml, *.yml) found in {0}")]
    NoSpecs(String),
    /// A command-line value is out of range.
    #[error("{0}")]
    Usage(String),
    /// The daemon configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// Prometheus could not answer.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Two specs define the same SLO of the same service: their series
    /// would collide.
    #[error("SLO `{slo}` of service `{service}` is defined more than once")]
    DuplicateSlo {
        /// The service.
        service: String,
        /// The SLO's name.
        slo: String,
    },
    /// Some SLOs could not be evaluated.
    #[error("{failed} SLO(s) could not be evaluated; first: {first}")]
    EvalFailed {
        /// How many.
        failed: usize,
        /// The first reason.
        first: String,
    },
    /// `eval --fail-on-no-data`: some SLO instances had no data in any
    /// window.
    #[error("{slos} SLO(s) with no data in any window (check their selectors); first: {first}")]
    NoData {
        /// How many instances.
        slos: usize,
        /// The first, as service/slo{labels}.
        first: String,
    },
    /// `report --fail-on-missed`: some SLO instances missed their
    /// objective over the span.
    #[error("{slos} SLO(s) missed their objective; first: {first}")]
    Missed {
        /// How many instances.
        slos: usize,
        /// The first, as service/slo{labels}.
        first: String,
    },
    /// A data or incidents file had errors; they were reported one by one.
    #[error("{}: {errors} error(s)", path.display())]
    InvalidInput {
        /// The file.
        path: PathBuf,
        /// How many errors.
        errors: usize,
    },
    /// Output could not be serialised.
    #[error("cannot write output: {0}")]
    Output(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidSpecs { .. }
            | Error::DuplicateSlo { .. }
            | Error::InvalidInput { .. } => EXIT_INVALID,
            Error::NoData { .. } => EXIT_NO_DATA,
            Error::Missed { .. } => EXIT_MISSED,
            _ => EXIT_ERROR,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why a query to Prometheus failed.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The client configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// No connection (refused, DNS, TLS).
    #[error("Prometheus is unreachable: {0}")]
    Unreachable(String),
    /// No answer within the timeout.
    #[error("Prometheus did not answer in time")]
    Timeout,
    /// An error status, with Prometheus's `errorType` and message when given.
    #[error("Prometheus answered {status}{}: {message}", error_type.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Status {
        /// HTTP status code.
        status: u16,
        /// Prometheus's `errorType` (bad_data, execution, timeout, ...).
        error_type: Option<String>,
        /// The error message or the start of the body.
        message: String,
    },
    /// The answer could not be read.
    #[error("cannot read Prometheus's answer: {0}")]
    Decode(String),
}

impl QueryError {
    /// Classifies a transport error. The URL is left out: it is in the
    /// configuration already, and may carry a tenant or path users consider
    /// private.
    pub fn from_transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            return QueryError::Timeout;
        }
        QueryError::Unreachable(transport_message(e))
    }
}

/// The innermost cause of a transport error (refused, DNS, TLS), without
/// the URL.
pub fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    if msg.is_empty() {
        msg = if e.is_connect() {
            "connection failed".to_owned()
        } else {
            "request failed".to_owned()
        };
    }
    msg
}

/// Why a notification was not delivered.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The notifier configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// No connection.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// No answer within the timeout.
    #[error("no answer in time")]
    Timeout,
    /// The receiver answered with an error status.
    #[error("rejected with {status}: {body}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
}

impl NotifyError {
    /// True for failures worth retrying: no connection, no answer, 5xx, 408,
    /// 429. Any other 4xx (and a redirect not followed) will fail the same
    /// way again: it is dropped, never retried.
    pub fn is_transient(&self) -> bool {
        match self {
            NotifyError::Unreachable(_) | NotifyError::Timeout => true,
            NotifyError::Rejected { status, .. } => {
                *status >= 500 || *status == 429 || *status == 408
            }
            NotifyError::Config(_) => false,
        }
    }
}
