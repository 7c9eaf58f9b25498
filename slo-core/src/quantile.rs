//! Latency percentiles from a histogram's buckets, as Prometheus's
//! `histogram_quantile` computes them (promql/quantile.go,
//! `bucketQuantile`, Prometheus 2.x), and the percentiles of a latency
//! SLI over a replay's steps.
//!
//! # Semantics
//!
//! Buckets are `(upper bound, cumulative count)`, in any order. Then:
//!
//! - buckets with one bound are one bucket (their counts added). A bound is
//!   the same when it rounds to the same 15 significant digits
//!   ([`bucket`](crate::bucket)): `le="0.3"`, `"0.30"` and `"3e-01"` parse
//!   to one number anyway, and `"0.15000000000000002"` (binary noise from a
//!   client library) is `"0.15"` too, where Prometheus would keep it apart;
//! - counts are made monotone (a bucket counting less than a lower one, as
//!   rates over a scrape race give, counts as much as the lower one);
//! - the rank is `q` times the `+Inf` bucket's count; the quantile lies in
//!   the first bucket counting at least the rank, linearly interpolated
//!   between its lower bound and its upper bound. The lowest bucket starts
//!   at 0 when its upper bound is above 0 (else its bound is the answer);
//!   a rank in the `+Inf` bucket gives the highest finite bound.
//!
//! **NaN** (no answer, never zero) when: `q` is NaN; there is no `+Inf`
//! bucket; fewer than two buckets are left; the `+Inf` bucket counts no
//! observations; or `q` is 0 and the lowest bucket (with a bound above 0)
//! counts nothing (0/0, as in Prometheus). `q` below 0 gives `-Inf`,
//! above 1 `+Inf`.
//!
//! ```
//! use slo_core::quantile::histogram_quantile;
//!
//! // 100 requests: 50 within 0.1s, 90 within 0.25s, all within 1s.
//! let buckets = [(0.1, 50.0), (0.25, 90.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
//! assert_eq!(histogram_quantile(0.5, &buckets), 0.1);
//! // The 70th request: halfway through the (0.1, 0.25] bucket.
//! assert!((histogram_quantile(0.7, &buckets) - 0.175).abs() < 1e-12);
//! // No observations: no answer, not a latency of zero.
//! assert!(histogram_quantile(0.5, &[(0.1, 0.0), (f64::INFINITY, 0.0)]).is_nan());
//! ```

use std::collections::BTreeMap;

use crate::dataset::Dataset;
use crate::duration::Duration;
use crate::errors::ReplayError;
use crate::selector::Selector;
use crate::series::{self, Steps};
use crate::spec::{Labels, LatencySli};
use crate::time::Timestamp;

/// The percentiles the detail page draws: p50, p90, p99.
pub const PERCENTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// The `q`-quantile of `buckets` (`(upper bound, cumulative count)`), as
/// Prometheus's `histogram_quantile`; see the module docs for NaN.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    quantile_of(q, &Buckets::new(buckets))
}

/// Buckets ready for quantiles: sorted, one per bound, counts monotone;
/// `None` without a `+Inf` bucket.
struct Buckets(Option<Vec<(f64, f64)>>);

impl Buckets {
    fn new(buckets: &[(f64, f64)]) -> Self {
        let mut sorted: Vec<(f64, f64)> = buckets
            .iter()
            .copied()
            .filter(|(bound, _)| !bound.is_nan())
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        if sorted.last().is_none_or(|b| b.0 != f64::INFINITY) {
            return Self(None);
        }
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
        for (bound, count) in sorted {
            match merged.last_mut() {
                Some(last) if crate::bucket::same_bound(last.0, bound) => last.1 += count,
                _ => merged.push((bound, count)),
            }
        }
        let mut highest = f64::NEG_INFINITY;
        for b in &mut merged {
            highest = highest.max(b.1);
            b.1 = highest;
        }
        Self(Some(merged))
    }
}

/// [`histogram_quantile`] over prepared buckets.
fn quantile_of(q: f64, buckets: &Buckets) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let Some(merged) = &buckets.0 else {
        return f64::NAN;
    };
    let n = merged.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = merged[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // Go's sort.Search over all but the +Inf bucket: the first counting at
    // least the rank (counts are monotone now), n - 1 for none.
    let b = merged[..n - 1].partition_point(|x| x.1 < rank);
    if b == n - 1 {
        return merged[n - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let end = merged[b].0;
    let mut start = 0.0;
    let mut count = merged[b].1;
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// A latency SLI's percentiles over a replay: what the latency graph
/// draws.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Latency {
    /// The window of the `rate()` of each bucket (the traffic graph's).
    pub window: Duration,
    /// The quantiles, e.g. `[0.5, 0.9, 0.99]`.
    pub quantiles: Vec<f64>,
    /// The histogram's unit as the spec's threshold is written: the bounds
    /// are in it (`seconds`, `milliseconds`, or empty when the metric name
    /// does not say).
    pub unit: String,
    /// `(time, value of each quantile)` at every step where one has a
    /// value; `None` where a quantile has none (NaN: no observations in
    /// the window, no `+Inf` bucket). A step without any value is left
    /// out: a gap, never a zero.
    pub points: Vec<(Timestamp, Vec<Option<f64>>)>,
    /// Why there are no points at all when something went wrong (e.g. the
    /// query failed); `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Latency {
    /// The [`PERCENTILES`] of `slo` over `window` at these points.
    pub fn new(
        slo: &LatencySli,
        window: Duration,
        points: Vec<(Timestamp, Vec<Option<f64>>)>,
    ) -> Self {
        Self {
            window,
            quantiles: PERCENTILES.to_vec(),
            unit: unit(&slo.histogram).to_owned(),
            points,
            error: None,
        }
    }

    /// No points, and why.
    pub fn failed(slo: &LatencySli, window: Duration, error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::new(slo, window, Vec::new())
        }
    }
}

/// The unit of a histogram from its name's suffix (Prometheus naming:
/// `_seconds`, `_milliseconds`, `_ms`); empty when it says none.
pub fn unit(histogram: &str) -> &'static str {
    if histogram.ends_with("_seconds") {
        "seconds"
    } else if histogram.ends_with("_milliseconds") || histogram.ends_with("_ms") {
        "milliseconds"
    } else {
        ""
    }
}

/// The PromQL Prometheus evaluates for the `q`-quantile of `slo` over
/// `window`: `histogram_quantile(q, sum by (le, <group_by>)
/// (rate(<histogram>_bucket{<selector>}[window])))`.
pub fn promql(slo: &LatencySli, q: f64, window: Duration) -> String {
    let mut by = vec!["le".to_owned()];
    by.extend(slo.group_by.iter().cloned());
    format!(
        "histogram_quantile({}, {})",
        crate::num::format(q),
        crate::promql::sum_by(
            &by,
            &format!(
                "rate({}_bucket{}[{window}])",
                slo.histogram,
                slo.selector.trim()
            )
        )
    )
}

/// Each instance's [`PERCENTILES`] of `slo` at every step, from every
/// bucket series of its histogram in `data`: the rate of each bucket over
/// `window` (Prometheus's `rate()`), summed by bound and instance, then
/// [`histogram_quantile`], as the query of [`promql`] does.
pub fn percentiles(
    slo: &LatencySli,
    data: &Dataset,
    steps: &Steps,
    window: Duration,
) -> Result<BTreeMap<Labels, Latency>, ReplayError> {
    let mut selector: Selector = slo
        .selector
        .parse()
        .map_err(|source| ReplayError::Selector {
            selector: slo.selector.clone(),
            source,
        })?;
    selector.metric = Some(format!("{}_bucket", slo.histogram));
    let seconds = window.as_millis() as f64 / 1000.0;
    // Per instance, per bucket series: its bound and its rate at each step.
    type Rates = Vec<(f64, Vec<Option<f64>>)>;
    let mut instances: BTreeMap<Labels, Rates> = BTreeMap::new();
    for (key, s) in selector.select(data) {
        let Some(bound) = crate::bucket::parse_bound(key.label("le")) else {
            continue;
        };
        let instance = crate::instance::of(&slo.group_by, |l| Some(key.label(l)));
        let rates = series::increases(s, window, steps)
            .into_iter()
            .map(|i| i.map(|v| v / seconds))
            .collect();
        instances.entry(instance).or_default().push((bound, rates));
    }
    let mut out = BTreeMap::new();
    for (labels, buckets) in instances {
        let mut points = Vec::new();
        let mut at_step = Vec::with_capacity(buckets.len());
        for (k, t) in steps.iter().enumerate() {
            at_step.clear();
            at_step.extend(buckets.iter().filter_map(|(b, r)| Some((*b, r[k]?))));
            let prepared = Buckets::new(&at_step);
            let values: Vec<Option<f64>> = PERCENTILES
                .iter()
                .map(|&q| Some(quantile_of(q, &prepared)).filter(|v| !v.is_nan()))
                .collect();
            if values.iter().any(Option::is_some) {
                points.push((t, values));
            }
        }
        out.insert(labels, Latency::new(slo, window, points));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn spellings_of_one_bound_are_one_bucket() {
        // 0.3 from two series, one with binary noise: one bucket of 40, so
        // the 25th request is halfway through (0.1, 0.3].
        let b = [
            (0.1, 10.0),
            (0.3, 20.0),
            (0.30000000000000004, 20.0),
            (INF, 50.0),
        ];
        assert!((histogram_quantile(0.5, &b) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn a_rank_in_the_inf_bucket_is_the_highest_finite_bound() {
        let b = [(0.1, 1.0), (0.5, 2.0), (INF, 10.0)];
        assert_eq!(histogram_quantile(0.99, &b), 0.5);
    }

    #[test]
    fn non_monotone_counts_are_made_monotone() {
        let b = [(0.1, 10.0), (0.2, 8.0), (INF, 10.0)];
        assert!((histogram_quantile(0.9, &b) - 0.09).abs() < 1e-12);
    }

    #[test]
    fn nan_for_the_documented_cases() {
        assert!(histogram_quantile(0.5, &[(0.1, 1.0), (1.0, 2.0)]).is_nan());
        assert!(histogram_quantile(0.5, &[(INF, 2.0)]).is_nan());
        assert!(histogram_quantile(0.5, &[(1.0, 0.0), (INF, 0.0)]).is_nan());
        assert!(histogram_quantile(f64::NAN, &[(1.0, 1.0), (INF, 1.0)]).is_nan());
        assert!(histogram_quantile(0.0, &[(1.0, 0.0), (INF, 1.0)]).is_nan());
        assert_eq!(histogram_quantile(-0.1, &[(1.0, 1.0), (INF, 1.0)]), -INF);
        assert_eq!(histogram_quantile(1.1, &[(1.0, 1.0), (INF, 1.0)]), INF);
    }

    #[test]
    fn a_lowest_bound_at_or_below_zero_is_the_answer() {
        assert_eq!(
            histogram_quantile(0.1, &[(0.0, 5.0), (1.0, 10.0), (INF, 10.0)]),
            0.0
        );
    }

    #[test]
    fn the_query_groups_by_le_and_the_instance_labels() {
        let sli = LatencySli {
            histogram: "http_request_duration_seconds".into(),
            selector: r#"{job="api"}"#.into(),
            threshold: 0.25,
            group_by: vec!["route".into()],
        };
        assert_eq!(
            promql(&sli, 0.99, Duration::from_mins(5)),
            r#"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))"#
        );
    }
}
