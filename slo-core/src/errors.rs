//! Error types of the core. Spec problems are not errors of this kind: they
//! are collected as [`Diagnostic`](crate::diagnostic::Diagnostic)s so that a
//! file reports every problem at once.

use thiserror::Error;

/// Why a string is not a Prometheus duration.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The string is empty.
    #[error("empty duration: expected a Prometheus duration such as 5m, 1h30m or 30d")]
    Empty,
    /// A sign: durations are never negative.
    #[error("`{0}` is negative: durations are never negative")]
    Negative(String),
    /// A fraction such as `1.5h`, which Prometheus does not accept.
    #[error("`{0}` has a fraction: Prometheus durations take whole numbers (write 1h30m for 1.5h)")]
    Fraction(String),
    /// Units repeated or not in descending order (`30m1h`).
    #[error(
        "`{0}` repeats a unit or has units out of order: write them largest first, each once (e.g. 1h30m)"
    )]
    UnitOrder(String),
    /// Anything else that is not `<number><unit>...`.
    #[error(
        "`{0}` is not a Prometheus duration: expected <number><unit>... with units ms, s, m, h, d, w, y (e.g. 5m, 1h30m, 30d)"
    )]
    Invalid(String),
    /// Larger than the type can hold.
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// Why a number is not an SLO objective.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum ObjectiveError {
    /// Not strictly between 0 and 100 percent, or not a number.
    #[error(
        "objective {0} is out of range: expected a percentage strictly between 0 and 100 (e.g. 99.9)"
    )]
    OutOfRange(f64),
}
