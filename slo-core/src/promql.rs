//! PromQL for SLIs: the queries that count bad and total events and divide
//! them, for any window, for every SLI kind.
//!
//! The generated recording rules ([`rules`](crate::rules)) and the evaluator
//! issue exactly these strings, so a number on a dashboard and a number in a
//! report come from the same query.
//!
//! Rules the queries follow:
//!
//! - **rate (or increase) first, then sum**: `sum by (g) (rate(x[5m]))`, never
//!   `rate(sum(x))`, which breaks on counter resets (pyrra #981).
//! - `group_by` labels are the only labels left after aggregation, so both
//!   sides of a ratio match one-to-one.
//! - A `good` counter (ratio SLI) or a histogram bucket (latency SLI) counts
//!   good events: bad = total - good, each side rated and summed on its own.
//!   If the good series does not exist at all, neither does the difference:
//!   export the good counter (or bucket) from the start.
//! - Latency buckets are matched by value with a regex of the bound's
//!   spellings (`le="300"`, `"300.0"`, `"3e+02"`, `"300.00000000000006"`):
//!   clients write bounds differently and Prometheus 3 normalises them
//!   (pyrra #1502); see [`bucket`](crate::bucket).
//! - `events` and `raw` SLIs are the user's PromQL with `{{.window}}`
//!   replaced; their rates become increases by multiplying by the window's
//!   seconds.
//! - A `slices` SLI is an indicator, `(query) OP bool threshold`: 1 for a
//!   good slice, 0 for a bad one, nothing for a slice without data. Over a
//!   window, its events are the indicator's samples (`count_over_time`),
//!   its bad events the count minus their sum, its error ratio
//!   `1 - avg_over_time`. The range is either the recorded indicator
//!   (`slo:sli_slice:good[W]`, see [`rules`](crate::rules)) or, where no
//!   rule is loaded, a subquery `(indicator)[W:slice]`: both give the same
//!   numbers, and slices without data count in neither.
//!
//! ```
//! use slo_core::duration::Duration;
//! use slo_core::promql;
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: api
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio:
//!         errors: http_requests_total{code=~"5.."}
//!         total: http_requests_total
//!         group_by: [route]
//! "#).map_err(|d| d[0].to_string())?;
//! let sli = &spec.slos[0].sli;
//! assert_eq!(
//!     promql::error_ratio(sli, Duration::from_mins(5)),
//!     r#"sum by (route) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (route) (rate(http_requests_total[5m]))"#,
//! );
//! # Ok::<(), String>(())
//! ```

use std::fmt::Write as _;

use crate::duration::Duration;
use crate::num;
use crate::spec::{Counted, LatencySli, Sli, SlicesSli, WINDOW_PLACEHOLDER};

/// The step of the recorded event increases: long windows and the period are
/// sums of these steps (see [`rules`](crate::rules)).
pub const STEP: Duration = Duration::from_mins(5);

/// How a counter is read over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Events per second: `rate(x[w])`.
    Rate,
    /// Events in the window: `increase(x[w])`.
    Increase,
}

impl Counter {
    /// The PromQL function's name.
    pub fn function(self) -> &'static str {
        match self {
            Counter::Rate => "rate",
            Counter::Increase => "increase",
        }
    }
}

/// A PromQL string literal for `s`: double quotes, with backslash, quote and
/// every control character escaped, so no value can end the string early or
/// break the line.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An equality matcher `name="value"`, the value escaped with [`quote`].
pub fn matcher(name: &str, value: &str) -> String {
    format!("{name}={}", quote(value))
}

/// Replaces every `{{.window}}` in a hand-written query with `window`.
pub(crate) fn substitute_window(query: &str, window: Duration) -> String {
    query
        .trim()
        .replace(WINDOW_PLACEHOLDER, &window.to_string())
}

/// `sum by (a, b) (inner)`, or `sum(inner)` without group labels.
pub(crate) fn sum_by(group_by: &[String], inner: &str) -> String {
    if group_by.is_empty() {
        format!("sum({inner})")
    } else {
        format!("sum by ({}) ({inner})", group_by.join(", "))
    }
}

/// The `le` matcher for a latency threshold: `le=~"..."`, a regex of
/// every spelling clients write for the bound (`1e+06`, `1000000.0`,
/// `0.15000000000000002`...), so the bucket is found by value
/// ([`bucket`](crate::bucket)).
pub fn le_matcher(threshold: f64) -> String {
    format!("le=~{}", quote(&crate::bucket::le_regex(threshold)))
}

/// Adds a matcher to a `{...}` block (which may be empty):
/// `{job="api"}` + `le="1"` gives `{job="api",le="1"}`.
fn with_matcher(matchers: &str, extra: &str) -> String {
    let inner = matchers
        .trim()
        .strip_prefix('{')
        .and_then(|m| m.strip_suffix('}'))
        .unwrap_or("")
        .trim()
        .trim_end_matches(',')
        .trim();
    if inner.is_empty() {
        format!("{{{extra}}}")
    } else {
        format!("{{{inner},{extra}}}")
    }
}

/// The series selector of a latency SLI's good events: the bucket at the
/// threshold.
pub fn latency_good_selector(sli: &LatencySli) -> String {
    format!(
        "{}_bucket{}",
        sli.histogram,
        with_matcher(&sli.selector, &le_matcher(sli.threshold))
    )
}

/// The series selector of a latency SLI's total events: the histogram's
/// `_count`.
pub fn latency_total_selector(sli: &LatencySli) -> String {
    format!("{}_count{}", sli.histogram, sli.selector.trim())
}

/// `sum by (g) (f(selector[window]))`: rate or increase first, then sum.
fn counted(group_by: &[String], f: Counter, selector: &str, window: Duration) -> String {
    sum_by(
        group_by,
        &format!("{}({}[{window}])", f.function(), selector.trim()),
    )
}

/// A hand-written per-second rate as `f` over `window`: as written for a
/// rate, times the window's seconds for an increase.
fn hand_written(query: &str, f: Counter, window: Duration) -> String {
    let q = substitute_window(query, window);
    match f {
        Counter::Rate => format!("({q})"),
        Counter::Increase => format!("({q}) * {}", num::format(window.as_secs_f64())),
    }
}

/// The indicator of one slice: `((query) >= -Inf) OP bool threshold`, 1
/// when the slice is good and 0 when it is bad. A query that returns nothing
/// gives no sample, and so does a NaN (`>= -Inf` keeps every number but
/// NaN): a ratio or a quantile over a slice without requests is 0/0, and
/// such a slice is neither good nor bad, where `NaN OP bool t` alone would
/// call it bad.
pub fn slice_indicator(sli: &SlicesSli) -> String {
    let t = num::format(sli.threshold);
    // `x >= bool -1` parses, but parentheses keep a negative bound readable.
    let t = if sli.threshold < 0.0 {
        format!("({t})")
    } else {
        t
    };
    format!("(({}) >= -Inf) {} bool {t}", sli.query.trim(), sli.op)
}

/// The indicator's slices in `window` as a subquery, `(indicator)[W:slice]`:
/// what the evaluator reads where the recorded indicator is not available.
pub(crate) fn slice_subquery(sli: &SlicesSli, window: Duration) -> String {
    format!("({})[{window}:{}]", slice_indicator(sli), sli.slice)
}

/// Slices with data in `range` (a range of indicator samples, recorded or a
/// subquery): the events of a `slices` SLI.
pub(crate) fn slice_count(range: &str) -> String {
    format!("count_over_time({range})")
}

/// Bad slices in `range`: the slices with data minus the good ones.
pub(crate) fn bad_slices(range: &str) -> String {
    format!("count_over_time({range}) - sum_over_time({range})")
}

/// The share of bad slices in `range`: `1 - avg_over_time(range)`, the same
/// as [`bad_slices`] over [`slice_count`] in one scan. No slice with data
/// gives no sample (not NaN), so an empty window never fires.
pub(crate) fn bad_slice_ratio(range: &str) -> String {
    format!("1 - avg_over_time({range})")
}

/// `count` slices over `window` as `f`: per second for a rate.
fn slices_as(count: String, f: Counter, window: Duration) -> String {
    match f {
        Counter::Increase => count,
        Counter::Rate => format!("({count}) / {}", num::format(window.as_secs_f64())),
    }
}

/// True when the bad-events series of `sli` may be absent while events
/// happen: an `errors` counter or an `events` error query often has no
/// series until the first failure, and then zero errors is what the data
/// says. Where bad events are a difference (`total - good`: a `good`
/// counter, a latency bucket), an absent good series is no data, never
/// zero errors: a threshold that is no bucket would otherwise read as a
/// perfect SLO.
pub(crate) fn missing_bad_is_zero(sli: &Sli) -> bool {
    match sli {
        Sli::Ratio(r) => matches!(r.counted, Counted::Errors(_)),
        Sli::Events(_) => true,
        Sli::Latency(_) | Sli::Raw(_) | Sli::Slices(_) => false,
    }
}

/// Bad events over `window` (per second or in all), grouped by the SLI's
/// `group_by`. `None` for a `raw` SLI, which does not count events.
pub fn bad_events(sli: &Sli, window: Duration, f: Counter) -> Option<String> {
    match sli {
        Sli::Ratio(r) => Some(match &r.counted {
            Counted::Errors(errors) => counted(&r.group_by, f, errors, window),
            Counted::Good(good) => format!(
                "{} - {}",
                counted(&r.group_by, f, &r.total, window),
                counted(&r.group_by, f, good, window)
            ),
        }),
        Sli::Latency(l) => Some(format!(
            "{} - {}",
            counted(&l.group_by, f, &latency_total_selector(l), window),
            counted(&l.group_by, f, &latency_good_selector(l), window)
        )),
        Sli::Events(e) => Some(hand_written(&e.error_query, f, window)),
        Sli::Raw(_) => None,
        Sli::Slices(s) => Some(slices_as(bad_slices(&slice_subquery(s, window)), f, window)),
    }
}

/// All events over `window` (per second or in all), grouped by the SLI's
/// `group_by`. `None` for a `raw` SLI.
pub fn total_events(sli: &Sli, window: Duration, f: Counter) -> Option<String> {
    match sli {
        Sli::Ratio(r) => Some(counted(&r.group_by, f, &r.total, window)),
        Sli::Latency(l) => Some(counted(&l.group_by, f, &latency_total_selector(l), window)),
        Sli::Events(e) => Some(hand_written(&e.total_query, f, window)),
        Sli::Raw(_) => None,
        Sli::Slices(s) => Some(slices_as(
            slice_count(&slice_subquery(s, window)),
            f,
            window,
        )),
    }
}

/// The error ratio over `window` from the raw series: bad events per second
/// over all events per second. With no traffic it is `0 / 0 = NaN`, which
/// never fires an alert.
pub fn error_ratio(sli: &Sli, window: Duration) -> String {
    match sli {
        Sli::Raw(r) => substitute_window(&r.error_ratio_query, window),
        Sli::Slices(s) => bad_slice_ratio(&slice_subquery(s, window)),
        Sli::Ratio(r) if matches!(r.counted, Counted::Errors(_)) => format!(
            "{} / {}",
            bad_events(sli, window, Counter::Rate).unwrap_or_default(),
            total_events(sli, window, Counter::Rate).unwrap_or_default()
        ),
        // Bad events that are one sum (or parenthesised already) need no
        // parentheses; a difference does.
        Sli::Events(_) => format!(
            "{} / {}",
            bad_events(sli, window, Counter::Rate).unwrap_or_default(),
            total_events(sli, window, Counter::Rate).unwrap_or_default()
        ),
        _ => format!(
            "({}) / {}",
            bad_events(sli, window, Counter::Rate).unwrap_or_default(),
            total_events(sli, window, Counter::Rate).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_everything_that_could_break_out() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(quote("a\"b\\c\nd}"), r#""a\"b\\c\nd}""#);
        assert_eq!(quote("\u{7}"), r#""\u0007""#);
    }

    #[test]
    fn le_is_matched_by_value() {
        let m = le_matcher(1.0);
        assert!(m.starts_with(r#"le=~"1(\\.0*)?|"#), "{m}");
    }

    #[test]
    fn matchers_are_merged() {
        assert_eq!(with_matcher("", "le=\"1\""), "{le=\"1\"}");
        assert_eq!(with_matcher("{a=\"b\",}", "le=\"1\""), "{a=\"b\",le=\"1\"}");
        assert_eq!(with_matcher(" { } ", "x=\"y\""), "{x=\"y\"}");
    }

    #[test]
    fn slices_read_the_indicator_over_a_subquery() {
        use crate::spec::SliceOp;
        let sli = Sli::Slices(SlicesSli {
            query: "sum(rate(x[1m])) * 60".to_owned(),
            op: SliceOp::Ge,
            threshold: 1000.0,
            slice: Duration::from_mins(1),
        });
        let range = "(((sum(rate(x[1m])) * 60) >= -Inf) >= bool 1000)[1h:1m]";
        assert_eq!(
            error_ratio(&sli, Duration::from_hours(1)),
            format!("1 - avg_over_time({range})")
        );
        assert_eq!(
            total_events(&sli, Duration::from_hours(1), Counter::Increase),
            Some(format!("count_over_time({range})"))
        );
        assert_eq!(
            bad_events(&sli, Duration::from_hours(1), Counter::Increase),
            Some(format!("count_over_time({range}) - sum_over_time({range})"))
        );
        let negative = SlicesSli {
            query: "x".to_owned(),
            op: SliceOp::Lt,
            threshold: -2.5,
            slice: Duration::from_mins(1),
        };
        assert_eq!(slice_indicator(&negative), "((x) >= -Inf) < bool (-2.5)");
    }

    #[test]
    fn windows_are_substituted() {
        assert_eq!(
            substitute_window("sum(rate(x[{{.window}}])) / 2", Duration::from_hours(6)),
            "sum(rate(x[6h])) / 2"
        );
    }
}
