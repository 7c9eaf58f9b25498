//! Error types of the core. Spec problems are not errors of this kind: they
//! are collected as [`Diagnostic`](crate::diagnostic::Diagnostic)s so that a
//! file reports every problem at once.
//!
//! ```
//! use slo_core::duration::Duration;
//! use slo_core::errors::DurationError;
//!
//! let e = "1.5h".parse::<Duration>().err();
//! assert!(matches!(e, Some(DurationError::Fraction(_))));
//! assert!(e.map(|e| e.to_string()).unwrap_or_default().contains("1h30m"));
//! ```

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
    /// Strictly between 0 and 100, but so close to either end that the
    /// ratio rounds to 0 or 1 (15 significant digits): no budget, or all.
    #[error(
        "objective {0} is too close to {1}: at 15 significant digits its ratio rounds to {2}; write at most 15 significant digits"
    )]
    TooPrecise(f64, u8, u8),
}

/// Why a series selector cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// Not `metric{label="value",...}`; `at` is the byte offset.
    #[error("{message} (at character {})", at + 1)]
    Syntax {
        /// Byte offset of the problem in the selector.
        at: usize,
        /// What is wrong.
        message: String,
    },
    /// A `=~` or `!~` value that is not a regular expression.
    #[error("the regex for label `{label}` does not compile: {message}")]
    Regex {
        /// The label matched.
        label: String,
        /// The regex engine's complaint.
        message: String,
    },
}

/// Why an SLO cannot be replayed over recorded data.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// `events` and `raw` SLIs are PromQL, which only Prometheus evaluates.
    #[error(
        "`{kind}` SLIs cannot be replayed: their hand-written PromQL is evaluated only by Prometheus (a ratio or latency SLI replays from raw counters)"
    )]
    UnsupportedSli {
        /// The SLI kind.
        kind: &'static str,
    },
    /// A `slices` SLI replays from its slice indicator, which the data does
    /// not hold.
    #[error(
        "no slice indicator `{selector}` in the data: a `slices` query is PromQL that only Prometheus evaluates, so replay it with `--prometheus URL` (which asks Prometheus for the indicator at every slice), or give data that holds the indicator the rules record"
    )]
    NoSliceIndicator {
        /// The recorded indicator looked for.
        selector: String,
    },
    /// A selector of the SLI does not parse.
    #[error("selector `{selector}`: {source}")]
    Selector {
        /// The selector as written.
        selector: String,
        /// Why it does not parse.
        source: SelectorError,
    },
    /// A selector the SLI needs matches nothing in the data.
    #[error("no series in the data match `{selector}`")]
    NoSeries {
        /// The selector as written.
        selector: String,
    },
    /// The latency threshold is not one of the histogram's bucket bounds.
    #[error(
        "histogram `{histogram}` has no bucket with le={threshold}: the threshold must be a bucket bound (found: {available})"
    )]
    NoBucket {
        /// The histogram series, labels included.
        histogram: String,
        /// The SLI's threshold.
        threshold: f64,
        /// The bounds found, comma-separated.
        available: String,
    },
    /// A histogram has neither a `le="+Inf"` bucket nor a `_count` series.
    #[error(
        "histogram `{histogram}` has neither a le=\"+Inf\" bucket nor a _count series to count all requests"
    )]
    NoTotal {
        /// The histogram series, labels included.
        histogram: String,
    },
    /// The replay's end is before its start.
    #[error("the replay range is empty: its end is before its start")]
    EmptyRange,
    /// A step of zero.
    #[error("the replay step must be longer than 0s")]
    ZeroStep,
    /// More evaluations than a replay holds in memory.
    #[error(
        "the replay would take {steps} steps, more than {max}: use a longer step or a shorter range"
    )]
    TooManySteps {
        /// Steps the range and step make.
        steps: u64,
        /// The most allowed.
        max: u64,
    },
}

/// Why a shard assignment is impossible.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ShardError {
    /// A fleet of no evaluators.
    #[error("shard count is 0: expected at least 1")]
    NoShards,
    /// An index outside `0..count`.
    #[error(
        "shard index {index} is not below the shard count {count}: indices run from 0 to count - 1"
    )]
    IndexOutOfRange {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
}

/// Why persisted steps ([`crate::steps`]) cannot be read back.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StepsError {
    /// Not a steps file (wrong magic bytes).
    #[error("not a steps file (its first bytes are not `SLOSTEPS`)")]
    NotSteps,
    /// Written by another format version.
    #[error("steps file version {found}, this release reads version {expected}")]
    Version {
        /// The version in the file.
        found: u8,
        /// The version this release reads.
        expected: u8,
    },
    /// Cut short or inconsistent.
    #[error("corrupt steps file at byte {at}: {what}")]
    Corrupt {
        /// Where the reader stopped.
        at: usize,
        /// What was wrong.
        what: String,
    },
    /// The bytes could not be read (the reader's error, as text).
    #[error("cannot read the steps at byte {at}: {reason}")]
    Read {
        /// Where the reader stopped.
        at: usize,
        /// The reader's error.
        reason: String,
    },
}

/// Why a string is not a calendar month (`2026-11`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MonthError {
    /// Not of the form `YYYY-MM`.
    #[error("`{0}` is not a month: expected YYYY-MM, e.g. 2026-11")]
    Format(String),
    /// The month number is not 1 to 12.
    #[error("`{0}`: the month must be 01 to 12")]
    MonthNumber(String),
    /// The year is before the Unix epoch (or past 9999).
    #[error("`{0}`: the year must be 1970 to 9999")]
    Year(String),
}
