//! Prometheus durations: `90s`, `1h30m`, `30d`, `4w`, `1y`.
//!
//! Prometheus has its own grammar (`model.ParseDuration`): one or more
//! `<integer><unit>` terms, units `ms s m h d w y` each at most once and in
//! descending order, `y` = 365 days and `w` = 7 days. No fractions, no signs, no
//! spaces. `humantime` and `jiff` accept other things (`1.5h`, `1 hour`) and
//! print other things, so the core owns this small type.
//!
//! ```
//! use slo_core::duration::Duration;
//!
//! let d: Duration = "1h30m".parse()?;
//! assert_eq!(d.as_secs(), 5400);
//! assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
//! assert!("1.5h".parse::<Duration>().is_err());
//! # Ok::<(), slo_core::errors::DurationError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::errors::DurationError;

/// A non-negative span of time with millisecond resolution, printed and
/// parsed in Prometheus notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

/// Units from largest to smallest, in milliseconds. Order matters: the parser
/// requires it and the printer follows it.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl Duration {
    /// The zero duration (`0s`).
    pub const ZERO: Self = Self { millis: 0 };

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            millis: secs.saturating_mul(1000),
        }
    }

    /// A duration of `mins` minutes.
    pub const fn from_mins(mins: u64) -> Self {
        Self::from_secs(mins.saturating_mul(60))
    }

    /// A duration of `hours` hours.
    pub const fn from_hours(hours: u64) -> Self {
        Self::from_secs(hours.saturating_mul(3600))
    }

    /// A duration of `days` days.
    pub const fn from_days(days: u64) -> Self {
        Self::from_secs(days.saturating_mul(86_400))
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Whole seconds (truncated).
    pub const fn as_secs(self) -> u64 {
        self.millis / 1000
    }

    /// Seconds as a float, for the budget math.
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// True for `0s`.
    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }

    /// The duration as a [`std::time::Duration`].
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }

    /// Divides by `n` rounding down to whole milliseconds; `None` for `n == 0`.
    pub const fn checked_div(self, n: u64) -> Option<Self> {
        match self.millis.checked_div(n) {
            Some(millis) => Some(Self { millis }),
            None => None,
        }
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        if s == "0" {
            // Prometheus accepts a bare zero.
            return Ok(Self::ZERO);
        }
        let bytes = s.as_bytes();
        let mut pos = 0;
        // Index into UNITS of the next unit allowed: each unit once, descending.
        let mut next_unit = 0;
        let mut total: u64 = 0;
        while pos < bytes.len() {
            let digits_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if digits_start == pos {
                return Err(invalid(s));
            }
            let number: u64 = s[digits_start..pos]
                .parse()
                .map_err(|_| DurationError::Overflow(s.to_owned()))?;
            let unit_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            let unit = &s[unit_start..pos];
            if unit.is_empty() {
                return Err(invalid(s));
            }
            let Some(offset) = UNITS[next_unit..].iter().position(|(u, _)| *u == unit) else {
                return Err(if UNITS.iter().any(|(u, _)| *u == unit) {
                    DurationError::UnitOrder(s.to_owned())
                } else {
                    invalid(s)
                });
            };
            let index = next_unit + offset;
            next_unit = index + 1;
            total = number
                .checked_mul(UNITS[index].1)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(|| DurationError::Overflow(s.to_owned()))?;
        }
        Ok(Self { millis: total })
    }
}

fn invalid(s: &str) -> DurationError {
    if s.starts_with('-') {
        DurationError::Negative(s.to_owned())
    } else if s.contains('.') {
        DurationError::Fraction(s.to_owned())
    } else {
        DurationError::Invalid(s.to_owned())
    }
}

impl fmt::Display for Duration {
    /// Prints the canonical form, largest units first, as Prometheus does
    /// (`90s` prints as `1m30s`, zero as `0s`). Years and weeks are used only
    /// when they divide the whole duration, so 30 days print as `30d`, not
    /// `4w2d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (unit, size) in UNITS {
            let exact_only = matches!(unit, "y" | "w");
            if exact_only && !rest.is_multiple_of(size) {
                continue;
            }
            let n = rest / size;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                rest -= n * size;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Result<Duration, DurationError> {
        s.parse()
    }

    #[test]
    fn parses_the_prometheus_grammar() {
        assert_eq!(d("90s").map(Duration::as_secs), Ok(90));
        assert_eq!(d("1h30m").map(Duration::as_secs), Ok(5400));
        assert_eq!(d("30d").map(Duration::as_secs), Ok(30 * 86_400));
        assert_eq!(d("4w").map(Duration::as_secs), Ok(28 * 86_400));
        assert_eq!(d("1y").map(Duration::as_secs), Ok(365 * 86_400));
        assert_eq!(d("1m500ms").map(Duration::as_millis), Ok(60_500));
        assert_eq!(d("0"), Ok(Duration::ZERO));
        assert_eq!(d("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        assert!(matches!(d(""), Err(DurationError::Empty)));
        assert!(matches!(d("5x"), Err(DurationError::Invalid(_))));
        assert!(matches!(d("-1h"), Err(DurationError::Negative(_))));
        assert!(matches!(d("1.5h"), Err(DurationError::Fraction(_))));
        assert!(matches!(d("30m1h"), Err(DurationError::UnitOrder(_))));
        assert!(matches!(d("1h1h"), Err(DurationError::UnitOrder(_))));
        assert!(matches!(d("5"), Err(DurationError::Invalid(_))));
        assert!(matches!(d("h"), Err(DurationError::Invalid(_))));
        assert!(matches!(d(" 5m"), Err(DurationError::Invalid(_))));
        assert!(matches!(d("5 m"), Err(DurationError::Invalid(_))));
        assert!(matches!(d("5M"), Err(DurationError::Invalid(_))));
        assert!(matches!(
            d("99999999999999999999y"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(d("600000000y"), Err(DurationError::Overflow(_))));
    }

    #[test]
    fn prints_canonically() {
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
        assert_eq!(Duration::from_days(30).to_string(), "30d");
        assert_eq!(Duration::from_days(90).to_string(), "90d");
        assert_eq!(Duration::from_days(365).to_string(), "1y");
        assert_eq!(Duration::from_days(366).to_string(), "366d");
        assert_eq!(Duration::from_hours(25).to_string(), "1d1h");
        assert_eq!(Duration::from_days(28).to_string(), "4w");
        assert_eq!(Duration::from_millis(1500).to_string(), "1s500ms");
        assert_eq!(Duration::ZERO.to_string(), "0s");
    }
}
