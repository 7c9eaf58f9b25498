//! Checking a spec against what a Prometheus holds (`validate
//! --prometheus`): which questions to ask about each SLO, and what the
//! answers mean. A selector that matches nothing, a threshold that is no
//! bucket, a `group_by` label the series lack: each reads as a healthy SLO
//! (no errors counted) while it measures nothing. The I/O is the caller's.
//!
//! ```
//! use slo_core::diagnostic::Location;
//! use slo_core::live::{self, Question};
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: web
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio: {errors: 'requests_total{job="web",code="500"}', total: 'requests_total{job="wbe"}'}
//! "#).map_err(|d| d[0].to_string())?;
//! let slo = &spec.slos[0];
//! let probes = live::probes(slo);
//! let total = probes
//!     .iter()
//!     .find(|p| p.field == "sli.ratio.total")
//!     .ok_or("no probe for the total")?;
//! assert!(matches!(total.question, Question::Series { .. }));
//! // The server's answer: no series matched the typo `wbe`. An error, not a
//! // healthy SLO.
//! let problems = live::judge(total, slo, &[], Location::default());
//! assert!(problems[0].to_string().contains("matches no series"), "{}", problems[0]);
//! # Ok::<(), String>(())
//! ```

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Location};
use crate::num;
use crate::promql;
use crate::spec::{Counted, Sli, Slo, WINDOW_PLACEHOLDER};
use crate::yaml::{self, Kind, Node};

/// How far back a selector must have had a sample to count as matching.
pub const LOOKBACK: &str = "1h";

/// Labels of one series in an answer.
pub type Labels = BTreeMap<String, String>;

/// What a probe asks.
#[derive(Clone, Debug, PartialEq)]
pub enum Question {
    /// Which series a selector matched over [`LOOKBACK`], counted by the
    /// SLI's `group_by` labels; `required` when no series means no data
    /// (the total), not merely no errors yet.
    Series {
        /// The selector.
        selector: String,
        /// The labels the SLO groups by.
        group_by: Vec<String>,
        /// True for the total (or the histogram): nothing there is no data.
        required: bool,
    },
    /// The `le` bounds of a histogram's buckets, to find the threshold.
    Buckets {
        /// The `_bucket` selector, without `le`.
        selector: String,
        /// The SLI's threshold.
        threshold: f64,
    },
    /// Whether a hand-written query returns anything.
    Data {
        /// The query, window filled in.
        query: String,
        /// True for queries whose emptiness is no data (totals, ratios).
        required: bool,
    },
    /// Whether a metric has any series at all: an errors selector that
    /// matches nothing may just have seen no errors yet, but a metric name
    /// with no series is a typo.
    Metric {
        /// The metric name.
        metric: String,
    },
    /// The metric's type (`/api/v1/metadata`): a counter selector must not
    /// name a gauge.
    Counter {
        /// The metric name.
        metric: String,
    },
}

/// One question about one field of an SLO.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// The field, as the loader names it under the SLO (`sli.ratio.total`).
    pub field: String,
    /// The field's text as written, to find its place in the file.
    pub needle: String,
    /// The question.
    pub question: Question,
}

impl Probe {
    /// The instant PromQL query that answers the question (`None` for
    /// [`Question::Counter`], answered by the metadata API).
    pub fn query(&self) -> Option<String> {
        let range = |s: &str| format!("last_over_time({}[{LOOKBACK}])", s.trim());
        match &self.question {
            Question::Series {
                selector, group_by, ..
            } => Some(if group_by.is_empty() {
                format!("count({})", range(selector))
            } else {
                format!("count by ({}) ({})", group_by.join(", "), range(selector))
            }),
            Question::Buckets { selector, .. } => {
                Some(format!("count by (le) ({})", range(selector)))
            }
            Question::Data { query, .. } => Some(query.clone()),
            Question::Metric { metric } => Some(format!(
                "count({})",
                range(&format!("{{__name__={}}}", promql::quote(metric)))
            )),
            Question::Counter { .. } => None,
        }
    }
}

/// The questions to ask about `slo`.
pub fn probes(slo: &Slo) -> Vec<Probe> {
    let mut out = Vec::new();
    let window = format!("[{LOOKBACK}]");
    let mut series = |field: &str, selector: &str, group_by: &[String], required: bool| {
        out.push(Probe {
            field: field.to_owned(),
            needle: selector.to_owned(),
            question: Question::Series {
                selector: selector.to_owned(),
                group_by: group_by.to_vec(),
                required,
            },
        });
    };
    match &slo.sli {
        Sli::Ratio(r) => {
            let (field, counted) = match &r.counted {
                Counted::Errors(s) => ("sli.ratio.errors", s),
                Counted::Good(s) => ("sli.ratio.good", s),
            };
            series(field, counted, &[], false);
            series("sli.ratio.total", &r.total, &r.group_by, true);
            if let Some(metric) = metric_name(counted) {
                out.push(Probe {
                    field: field.to_owned(),
                    needle: counted.clone(),
                    question: Question::Metric { metric },
                });
            }
        }
        Sli::Latency(l) => {
            let total = promql::latency_total_selector(l);
            out.push(Probe {
                field: "sli.latency.histogram".to_owned(),
                needle: l.histogram.clone(),
                question: Question::Series {
                    selector: total,
                    group_by: l.group_by.clone(),
                    required: true,
                },
            });
        }
        _ => {}
    }
    match &slo.sli {
        Sli::Ratio(r) => {
            let counted = match &r.counted {
                Counted::Errors(s) | Counted::Good(s) => s,
            };
            for (field, s) in [("sli.ratio.total", &r.total), ("sli.ratio.errors", counted)] {
                if let Some(metric) = metric_name(s) {
                    out.push(Probe {
                        field: field.to_owned(),
                        needle: s.clone(),
                        question: Question::Counter { metric },
                    });
                }
            }
        }
        Sli::Latency(l) => out.push(Probe {
            field: "sli.latency.threshold".to_owned(),
            needle: num::format(l.threshold),
            question: Question::Buckets {
                selector: format!("{}_bucket{}", l.histogram, l.selector.trim()),
                threshold: l.threshold,
            },
        }),
        Sli::Events(e) => {
            for (field, q, required) in [
                ("sli.events.error_query", &e.error_query, false),
                ("sli.events.total_query", &e.total_query, true),
            ] {
                out.push(Probe {
                    field: field.to_owned(),
                    needle: q.clone(),
                    question: Question::Data {
                        query: q.replace(WINDOW_PLACEHOLDER, &window[1..window.len() - 1]),
                        required,
                    },
                });
            }
        }
        Sli::Raw(r) => out.push(Probe {
            field: "sli.raw.error_ratio_query".to_owned(),
            needle: r.error_ratio_query.clone(),
            question: Question::Data {
                query: r
                    .error_ratio_query
                    .replace(WINDOW_PLACEHOLDER, &window[1..window.len() - 1]),
                required: true,
            },
        }),
        Sli::Slices(s) => out.push(Probe {
            field: "sli.slices.query".to_owned(),
            needle: s.query.clone(),
            question: Question::Data {
                query: s.query.clone(),
                required: true,
            },
        }),
    }
    out
}

/// The metric name of a selector (`x{...}` gives `x`), if it has one.
fn metric_name(selector: &str) -> Option<String> {
    let name = selector.split('{').next().unwrap_or("").trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// What an answer to `probe` means, as diagnostics at `at` (the field's
/// place). `answer` is the series the query returned (for a
/// [`Question::Counter`], one series per metadata entry with a `type`
/// label).
pub fn judge(probe: &Probe, slo: &Slo, answer: &[Labels], at: Location) -> Vec<Diagnostic> {
    let field = format!("{}/{}: {}", slo.service, slo.name, probe.field);
    let mut out = Vec::new();
    match &probe.question {
        Question::Series {
            selector,
            group_by,
            required,
        } => {
            if answer.is_empty() {
                let message =
                    format!("`{selector}` matches no series with a sample in the last {LOOKBACK}");
                out.push(if *required {
                    Diagnostic::error(at, &field, message)
                        .with_help("no series is no data: check the metric name and every matcher against the server")
                } else {
                    Diagnostic::warning(at, &field, message).with_help(
                        "fine if nothing failed yet; a typo here would read as no errors, a perfect SLO",
                    )
                });
            }
            for label in group_by {
                let carried = answer.iter().filter(|s| s.contains_key(label)).count();
                if !answer.is_empty() && carried == 0 {
                    out.push(
                        Diagnostic::error(
                            at,
                            &field,
                            format!("group_by label `{label}` is on none of the series `{selector}` matches"),
                        )
                        .with_help("every instance would be one group without the label: check its spelling"),
                    );
                }
            }
        }
        Question::Buckets {
            selector,
            threshold,
        } => {
            let mut bounds: Vec<(f64, &str)> = answer
                .iter()
                .filter_map(|s| s.get("le"))
                .filter_map(|le| le.trim().parse::<f64>().ok().map(|b| (b, le.as_str())))
                .collect();
            bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
            bounds.dedup_by(|a, b| num::canonical(a.0) == num::canonical(b.0));
            if bounds.is_empty() {
                out.push(
                    Diagnostic::error(
                        at,
                        &field,
                        format!("`{selector}` has no buckets with a sample in the last {LOOKBACK}"),
                    )
                    .with_help(
                        "no buckets is no data: check the histogram's name and the selector",
                    ),
                );
            } else if !bounds
                .iter()
                .any(|(b, _)| num::canonical(*b) == num::canonical(*threshold))
            {
                let list: Vec<&str> = bounds.iter().map(|(_, s)| *s).collect();
                out.push(
                    Diagnostic::error(
                        at,
                        &field,
                        format!(
                            "threshold {} is not a bucket bound of `{selector}`: its bounds are {}",
                            num::format(*threshold),
                            list.join(", ")
                        ),
                    )
                    .with_help("a latency SLI counts the requests in the bucket at the threshold: pick one of the bounds"),
                );
            }
        }
        Question::Data { query, required } => {
            if answer.is_empty() {
                let message =
                    format!("the query returns nothing now (window {LOOKBACK}): `{query}`");
                out.push(if *required {
                    Diagnostic::error(at, &field, message)
                        .with_help("nothing returned is no data, never zero errors: check the query against the server")
                } else {
                    Diagnostic::warning(at, &field, message)
                        .with_help("fine if nothing failed in the window; a typo would read as no errors")
                });
            }
        }
        Question::Metric { metric } => {
            if answer.is_empty() {
                out.push(
                    Diagnostic::error(
                        at,
                        &field,
                        format!("metric `{metric}` has no series at all in the last {LOOKBACK}"),
                    )
                    .with_help("a misspelt metric counts no errors, a perfect SLO: check the name against the server"),
                );
            }
        }
        Question::Counter { metric } => {
            let types: Vec<&str> = answer
                .iter()
                .filter_map(|s| s.get("type").map(String::as_str))
                .collect();
            if types.contains(&"gauge") {
                out.push(
                    Diagnostic::error(
                        at,
                        &field,
                        format!("`{metric}` is a gauge (its metadata says so), but a ratio SLI takes rate() of counters"),
                    )
                    .with_help("use a counter (usually named *_total), or an `events`/`raw` SLI for gauges"),
                );
            } else if types.is_empty()
                && !["_total", "_count", "_sum", "_bucket"]
                    .iter()
                    .any(|s| metric.ends_with(s))
            {
                out.push(Diagnostic::warning(
                    at,
                    &field,
                    format!("`{metric}` has no metadata on the server and is not named like a counter (*_total): rate() of a gauge measures nothing"),
                ));
            }
        }
    }
    out
}

/// The place of the field `needle` was read from: the first scalar whose
/// text is `needle` (trimmed) at or after `near` (the SLO's name), else
/// the first anywhere (an OpenSLO SLI may be its own object), else a
/// scalar that contains it, else `near`.
pub fn locate(src: &str, needle: &str, near: Location) -> Location {
    let Ok(docs) = yaml::parse(src) else {
        return near;
    };
    let needle = needle.trim();
    if needle.is_empty() {
        return near;
    }
    let mut exact = Vec::new();
    let mut partial = Vec::new();
    for doc in &docs {
        scalars(doc, needle, &mut exact, &mut partial);
    }
    let pick = |mut found: Vec<Location>| {
        found.sort_by_key(|l| l.offset);
        found
            .iter()
            .find(|l| l.offset >= near.offset)
            .or(found.first())
            .copied()
    };
    pick(exact).or_else(|| pick(partial)).unwrap_or(near)
}

fn scalars(node: &Node, needle: &str, exact: &mut Vec<Location>, partial: &mut Vec<Location>) {
    match &node.kind {
        Kind::Scalar { text, .. } => {
            let t = text.trim();
            if t == needle {
                exact.push(node.location);
            } else if t.contains(needle) {
                partial.push(node.location);
            }
        }
        Kind::Seq(items) => items
            .iter()
            .for_each(|n| scalars(n, needle, exact, partial)),
        Kind::Map(pairs) => pairs
            .iter()
            .for_each(|(_, v)| scalars(v, needle, exact, partial)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_match_by_value() {
        assert!(crate::bucket::matches("0.3", 0.3));
        assert!(crate::bucket::matches("0.30", 0.3));
        assert!(crate::bucket::matches("1e+06", 1e6));
        assert!(crate::bucket::matches("1000000.0", 1e6));
        assert!(crate::bucket::matches("0.15000000000000002", 0.15));
        assert!(!crate::bucket::matches("0.25", 0.3));
        assert!(!crate::bucket::matches("+Inf", 0.3));
        assert!(!crate::bucket::matches("x", 0.3));
    }

    #[test]
    fn fields_are_found_after_their_slo() {
        let src = "slos:\n  - name: a\n    total: x{job=\"a\"}\n  - name: b\n    errors: x{job=\"a\",code=\"5\"}\n    total: x{job=\"a\"}\n";
        let near = |line| Location {
            line,
            column: 1,
            offset: src.lines().take(line - 1).map(|l| l.len() + 1).sum(),
            len: 1,
        };
        assert_eq!(locate(src, "x{job=\"a\"}", near(2)).line, 3);
        assert_eq!(locate(src, "x{job=\"a\"}", near(4)).line, 6);
        assert_eq!(locate(src, "code=\"5\"", near(4)).line, 5);
        assert_eq!(locate(src, "nowhere", near(4)).line, 4);
    }
}
