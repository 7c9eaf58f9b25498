//! Problems found in a spec, each pointing at its place in the YAML.
//!
//! ```
//! let problems = slo_core::load::load_str("version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 120\n    sli:\n      ratio: {errors: 'x{code=\"5\"}', total: x}\n")
//!     .err()
//!     .unwrap_or_default();
//! let d = &problems[0];
//! assert_eq!((d.location.line, d.field.as_str()), (5, "slos[0].objective"));
//! assert!(d.to_string().contains("objective"));
//! ```

use std::fmt;

/// A place in a source file: 1-based line and column (in characters), and
/// the byte range for renderers that underline it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes (at least 1 where the source has text there).
    pub len: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The spec cannot be used.
    Error,
    /// The spec works but probably not as meant.
    Warning,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
        })
    }
}

/// One problem in a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Where in the file.
    pub location: Location,
    /// The field, as a path (`slos[0].sli.ratio.errors`); empty for the file.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: Location, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            location,
            field: field.into(),
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `location`.
    pub fn warning(
        location: Location,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(location, field, message)
        }
    }

    /// Adds a hint on how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `LINE:COL: LEVEL: FIELD: MESSAGE`; callers prefix the file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.location, self.level)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}
