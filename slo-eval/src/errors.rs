//! Errors of the command line, each with its exit code.

use std::path::PathBuf;

use thiserror::Error;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code when specs (or other inputs) are invalid.
pub const EXIT_INVALID: u8 = 1;
/// Exit code for usage, I/O and other operational errors.
pub const EXIT_ERROR: u8 = 2;

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
    /// Two specs define the same SLO of the same service: their series
    /// would collide.
    #[error("SLO `{slo}` of service `{service}` is defined more than once")]
    DuplicateSlo {
        /// The service.
        service: String,
        /// The SLO's name.
        slo: String,
    },
    /// Output could not be serialised.
    #[error("cannot write output: {0}")]
    Output(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidSpecs { .. } | Error::DuplicateSlo { .. } => EXIT_INVALID,
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
