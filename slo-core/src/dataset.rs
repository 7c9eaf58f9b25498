//! Recorded history: counter series keyed by metric name and labels.
//!
//! ```
//! use slo_core::dataset::{Dataset, SeriesKey};
//!
//! let mut data = Dataset::new();
//! let key = SeriesKey::new("http_requests_total", [("job", "api"), ("code", "200")]);
//! data.push(&key, 0, 0.0)?;
//! data.push(&key, 60_000, 120.0)?;
//! assert_eq!(key.to_string(), r#"http_requests_total{code="200",job="api"}"#);
//! assert_eq!(data.get(&key).and_then(|s| s.increase(0, 60_000)), Some(120.0));
//! # Ok::<(), slo_core::series::Rejected>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::series::{Rejected, Series};
use crate::spec::Labels;
use crate::time::Timestamp;

/// A series' identity: metric name and labels (sorted by name). The metric
/// name is not repeated as a `__name__` label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SeriesKey {
    /// The metric name.
    pub name: String,
    /// The labels, without `__name__`.
    pub labels: Labels,
}

impl SeriesKey {
    /// A key from a name and label pairs.
    pub fn new<'a>(name: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            name: name.to_owned(),
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// A label's value; the name for `__name__`; empty when absent (as
    /// PromQL matchers see it).
    pub fn label(&self, name: &str) -> &str {
        if name == "__name__" {
            return &self.name;
        }
        self.labels.get(name).map_or("", String::as_str)
    }
}

impl fmt::Display for SeriesKey {
    /// The series as PromQL and the exposition formats write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"")?;
            for c in v.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

/// Series by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    series: BTreeMap<SeriesKey, Series>,
}

impl Dataset {
    /// No series.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a whole series.
    pub fn insert(&mut self, key: SeriesKey, series: Series) {
        self.series.insert(key, series);
    }

    /// Appends a sample to the series `key`, creating it; rejects what
    /// [`Series::push`] rejects.
    pub fn push(&mut self, key: &SeriesKey, t: Timestamp, v: f64) -> Result<(), Rejected> {
        match self.series.get_mut(key) {
            Some(s) => s.push(t, v),
            None => {
                let mut s = Series::new();
                s.push(t, v)?;
                self.series.insert(key.clone(), s);
                Ok(())
            }
        }
    }

    /// The series `key`.
    pub fn get(&self, key: &SeriesKey) -> Option<&Series> {
        self.series.get(key)
    }

    /// Every series, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &Series)> {
        self.series.iter()
    }

    /// The series of one metric name, sorted by labels.
    pub fn metric<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = (&'a SeriesKey, &'a Series)> + use<'a, 'n> {
        self.series
            .range(
                SeriesKey {
                    name: name.to_owned(),
                    labels: Labels::new(),
                }..,
            )
            .take_while(move |(k, _)| k.name == name)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True without series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Number of samples over all series.
    pub fn samples(&self) -> usize {
        self.series.values().map(Series::len).sum()
    }

    /// The earliest and latest sample times over all series.
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        self.series
            .values()
            .filter_map(Series::time_range)
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }

    /// Every sample `by` milliseconds later.
    pub fn shifted(&self, by: i64) -> Self {
        Self {
            series: self
                .series
                .iter()
                .map(|(k, s)| (k.clone(), s.shifted(by)))
                .collect(),
        }
    }
}
