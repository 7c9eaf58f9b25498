//! The events an SLI counts, found in recorded data: for each instance of
//! the SLO (one per combination of `group_by` values), the counter series of
//! all events and of the counted (bad or good) ones.
//!
//! Counters are summed the only correct way: `increase()` per series, then
//! the sum ([`WindowedSums`]); summing raw
//! counters first turns one series' reset into a drop of the total.
//!
//! - **Ratio** SLIs read their two selectors.
//! - **Latency** SLIs read a histogram: all events are the `le="+Inf"`
//!   bucket (or the `_count` series when a histogram has no `+Inf` bucket)
//!   and good events the bucket whose bound equals the threshold. Bounds
//!   compare by value under the rule the generated rules' regex follows
//!   ([`bucket::matches`]), so `le="0.3"`, `le="0.30"`, `le="3e-01"` and
//!   `le="0.30000000000000004"` are one bucket (Prometheus 3 normalises
//!   them; 2.x exporters vary).
//! - **Slices** SLIs read their slice indicator (1 for a good slice, 0 for a
//!   bad one, nothing for a slice without data) as the rules record it:
//!   [`SLICE_GOOD`] labelled with the SLO's identity (native or Sloth
//!   naming). A window counts the indicator's samples in it
//!   (`count_over_time`) and the good ones (`sum_over_time`), exactly as
//!   the recorded window ratios do. The query itself is PromQL that only
//!   Prometheus evaluates: `slo-eval backtest --prometheus` asks it for the
//!   indicator at every slice; a data file must hold the recorded series
//!   (exported from a Prometheus that runs the rules).
//! - **Events** and **raw** SLIs are PromQL that only Prometheus evaluates:
//!   [`ReplayError::UnsupportedSli`].
//!
//! An `errors` selector that matches nothing counts zero errors (a counter of
//! failures often does not exist until the first failure); a `good` or
//! `total` selector that matches nothing is an error.
//!
//! ```
//! use slo_core::dataset::{Dataset, SeriesKey};
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: web
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio: {errors: 'requests_total{code="500"}', total: requests_total, group_by: [route]}
//! "#).map_err(|d| d[0].to_string())?;
//! let mut data = Dataset::new();
//! for (route, code) in [("/pay", "200"), ("/pay", "500"), ("/cart", "200")] {
//!     let key = SeriesKey::new("requests_total", [("route", route), ("code", code)]);
//!     data.push(&key, 0, 1.0).map_err(|e| format!("{e:?}"))?;
//! }
//! let instances = slo_core::events::event_series(&spec.slos[0], &data).map_err(|e| e.to_string())?;
//! // One instance per route; `/cart` has no error series yet: no errors, not no data.
//! assert_eq!(instances.len(), 2);
//! assert_eq!(instances[1].labels["route"], "/pay");
//! assert_eq!(instances[1].counted.len(), 1);
//! assert!(instances[0].counted.is_empty() && instances[0].total.len() == 1);
//! # Ok::<(), String>(())
//! ```

use std::collections::BTreeMap;

use crate::alert::Measurement;
use crate::bucket;
use crate::dataset::{Dataset, SeriesKey};
use crate::errors::ReplayError;
use crate::rules::{Naming, SLICE_GOOD};
use crate::selector::Selector;
use crate::series::{Reduce, Series, WindowedSums};
use crate::spec::{Counted, Labels, LatencySli, RatioSli, Sli, Slo};

/// What the counted series of an instance count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counts {
    /// Bad events.
    Bad,
    /// Good events: bad = total - good.
    Good,
}

/// The series of one SLO instance.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSeries<'a> {
    /// The `group_by` labels and their values (empty without `group_by`).
    pub labels: Labels,
    /// Counters of all events.
    pub total: Vec<&'a Series>,
    /// Counters of bad or good events.
    pub counted: Vec<&'a Series>,
    /// Whether `counted` counts bad or good events.
    pub counts: Counts,
    /// How a window reads the series.
    pub source: Source,
}

impl<'a> EventSeries<'a> {
    /// Adds the instance's series to `sums`, read as its [`Source`] says:
    /// all events to sum number `total`, the counted ones to `counted`.
    pub fn add_to(&self, sums: &mut WindowedSums<'a>, total: usize, counted: usize) {
        let (reduce_total, reduce_counted) = self.source.reductions();
        for s in &self.total {
            sums.add_as(s, total, reduce_total);
        }
        for s in &self.counted {
            sums.add_as(s, counted, reduce_counted);
        }
    }
}

/// What the series of an [`EventSeries`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Source {
    /// Counters: a window's events are their `increase()`.
    #[default]
    Counters,
    /// One slice indicator per instance (1 good, 0 bad), both `total` and
    /// `counted` (good): a window's events are its samples, the good ones
    /// their sum.
    Slices,
}

impl Source {
    /// How a window reduces the total series, then the counted ones.
    pub(crate) fn reductions(self) -> (Reduce, Reduce) {
        match self {
            Source::Counters => (Reduce::Increase, Reduce::Increase),
            Source::Slices => (Reduce::Count, Reduce::Sum),
        }
    }
}

/// Finds the series of every instance of `slo`'s SLI in `data`, sorted by
/// instance labels. Instances are those of the total series (of the slice
/// indicator for a `slices` SLI).
pub fn event_series<'a>(slo: &Slo, data: &'a Dataset) -> Result<Vec<EventSeries<'a>>, ReplayError> {
    match &slo.sli {
        Sli::Slices(_) => slices(slo, data),
        sli => counter_series(sli, slo.group_by(), data),
    }
}

/// The counters of a ratio or latency SLI, per instance.
fn counter_series<'a>(
    sli: &Sli,
    group_by: &[String],
    data: &'a Dataset,
) -> Result<Vec<EventSeries<'a>>, ReplayError> {
    match sli {
        Sli::Ratio(r) => ratio(r, group_by, data),
        Sli::Latency(l) => latency(l, group_by, data),
        Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => {
            Err(ReplayError::UnsupportedSli { kind: sli.kind() })
        }
    }
}

/// The key under which a slice indicator of `slo` is stored: [`SLICE_GOOD`]
/// with the labels of the query's result and those the rules add (the
/// SLO's identity under the native naming and the slice as its window), so
/// that indicators fetched from Prometheus read like recorded ones.
pub fn slice_indicator_key(slo: &Slo, result_labels: &Labels) -> SeriesKey {
    let mut labels = result_labels.clone();
    labels.extend(crate::rules::indicator_labels(slo, Naming::Native));
    SeriesKey {
        name: SLICE_GOOD.to_owned(),
        labels,
    }
}

/// The recorded slice indicators of `slo`, one instance per series; the
/// instance's labels are those the query returned (the rules' own labels
/// removed). Either naming is read, native first.
fn slices<'a>(slo: &Slo, data: &'a Dataset) -> Result<Vec<EventSeries<'a>>, ReplayError> {
    for naming in Naming::ALL {
        let selector = format!("{SLICE_GOOD}{}", naming.matchers(slo));
        let found = parse(&selector)?.select(data);
        if found.is_empty() {
            continue;
        }
        let ours = crate::rules::indicator_labels(slo, naming);
        let mut out: Vec<EventSeries<'a>> = found
            .into_iter()
            .map(|(key, series)| EventSeries {
                labels: key
                    .labels
                    .iter()
                    .filter(|(k, _)| !ours.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                total: vec![series],
                counted: vec![series],
                counts: Counts::Good,
                source: Source::Slices,
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        return Ok(out);
    }
    Err(ReplayError::NoSliceIndicator {
        selector: format!("{SLICE_GOOD}{}", Naming::Native.matchers(slo)),
    })
}

/// Bad and total events from the summed increases of an instance's total
/// and counted series over one window; `None` without total events. Bad
/// events are clamped at zero: extrapolation can leave `total - good` a
/// hair below it.
pub(crate) fn bad_and_total(
    total: Option<f64>,
    counted: Option<f64>,
    counts: Counts,
) -> Option<(f64, f64)> {
    let total = total?;
    // No counted series in the window: no errors, or (good) no good events.
    let counted = counted.unwrap_or(0.0);
    let bad = match counts {
        Counts::Bad => counted,
        Counts::Good => total - counted,
    };
    Some((bad.max(0.0), total))
}

/// What one window measured: the bad and total events as an error ratio (NaN
/// without traffic, which never fires) and the events counted.
#[inline]
pub fn measurement(
    total: Option<f64>,
    counted: Option<f64>,
    counts: Counts,
) -> Option<Measurement> {
    let (bad, total) = bad_and_total(total, counted, counts)?;
    Some(Measurement {
        error_ratio: bad / total,
        events: Some(total),
    })
}

fn parse(selector: &str) -> Result<Selector, ReplayError> {
    selector.parse().map_err(|source| ReplayError::Selector {
        selector: selector.to_owned(),
        source,
    })
}

/// The instance `key` belongs to ([`crate::instance::of`]).
fn instance_of(key: &SeriesKey, group_by: &[String]) -> Labels {
    crate::instance::of(group_by, |l| Some(key.label(l)))
}

/// Groups series by instance.
fn grouped<'a>(
    series: impl IntoIterator<Item = (&'a SeriesKey, &'a Series)>,
    group_by: &[String],
) -> BTreeMap<Labels, Vec<&'a Series>> {
    let mut out: BTreeMap<Labels, Vec<&'a Series>> = BTreeMap::new();
    for (key, s) in series {
        out.entry(instance_of(key, group_by)).or_default().push(s);
    }
    out
}

fn assemble<'a>(
    mut total: BTreeMap<Labels, Vec<&'a Series>>,
    mut counted: BTreeMap<Labels, Vec<&'a Series>>,
    counts: Counts,
) -> Vec<EventSeries<'a>> {
    let labels: Vec<Labels> = total.keys().cloned().collect();
    labels
        .into_iter()
        .map(|l| EventSeries {
            total: total.remove(&l).unwrap_or_default(),
            counted: counted.remove(&l).unwrap_or_default(),
            labels: l,
            counts,
            source: Source::Counters,
        })
        .collect()
}

fn ratio<'a>(
    r: &RatioSli,
    group_by: &[String],
    data: &'a Dataset,
) -> Result<Vec<EventSeries<'a>>, ReplayError> {
    let total_sel = parse(&r.total)?;
    let total = total_sel.select(data);
    if total.is_empty() {
        return Err(ReplayError::NoSeries {
            selector: r.total.clone(),
        });
    }
    let (text, counts) = match &r.counted {
        Counted::Errors(s) => (s, Counts::Bad),
        Counted::Good(s) => (s, Counts::Good),
    };
    let counted_sel = parse(text)?;
    let counted = counted_sel.select(data);
    if counted.is_empty() && counts == Counts::Good {
        return Err(ReplayError::NoSeries {
            selector: text.clone(),
        });
    }
    Ok(assemble(
        grouped(total, group_by),
        grouped(counted, group_by),
        counts,
    ))
}

fn latency<'a>(
    l: &LatencySli,
    group_by: &[String],
    data: &'a Dataset,
) -> Result<Vec<EventSeries<'a>>, ReplayError> {
    let matchers = parse(&l.selector)?;
    let bucket_name = format!("{}_bucket", l.histogram);
    let buckets = Selector {
        metric: Some(bucket_name.clone()),
        matchers: matchers.matchers.clone(),
    };
    let bucket_series = buckets.select(data);
    if bucket_series.is_empty() {
        return Err(ReplayError::NoSeries {
            selector: buckets.to_string(),
        });
    }
    // One histogram per label set without `le`.
    let mut histograms: BTreeMap<Labels, Vec<(&'a SeriesKey, &'a Series)>> = BTreeMap::new();
    for (key, s) in bucket_series {
        let mut labels = key.labels.clone();
        labels.remove("le");
        histograms.entry(labels).or_default().push((key, s));
    }
    let count_name = format!("{}_count", l.histogram);
    let mut total: BTreeMap<Labels, Vec<&'a Series>> = BTreeMap::new();
    let mut good: BTreeMap<Labels, Vec<&'a Series>> = BTreeMap::new();
    for (labels, bucket_list) in histograms {
        let key = SeriesKey {
            name: l.histogram.clone(),
            labels: labels.clone(),
        };
        let instance = instance_of(&key, group_by);
        // The rules' own test of a bound, so the replay finds the bucket
        // the generated `le=~` regex selects.
        let good_bucket = bucket_list
            .iter()
            .find(|(k, _)| bucket::matches(k.label("le"), l.threshold));
        let Some((_, good_series)) = good_bucket else {
            let mut bounds: Vec<f64> = bucket_list
                .iter()
                .filter_map(|(k, _)| bucket::parse_bound(k.label("le")))
                .collect();
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            return Err(ReplayError::NoBucket {
                histogram: key.to_string(),
                threshold: l.threshold,
                available: bounds
                    .iter()
                    .map(|b| crate::num::format(*b))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let all = bucket_list
            .iter()
            .find(|(k, _)| bucket::parse_bound(k.label("le")) == Some(f64::INFINITY))
            .map(|(_, s)| *s)
            .or_else(|| {
                data.get(&SeriesKey {
                    name: count_name.clone(),
                    labels: labels.clone(),
                })
            });
        let Some(all) = all else {
            return Err(ReplayError::NoTotal {
                histogram: key.to_string(),
            });
        };
        total.entry(instance.clone()).or_default().push(all);
        good.entry(instance).or_default().push(good_series);
    }
    Ok(assemble(total, good, Counts::Good))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{EventsSli, LatencySli};

    fn data(keys: &[(&str, &[(&str, &str)])]) -> Dataset {
        let mut d = Dataset::new();
        for (name, labels) in keys {
            let key = SeriesKey::new(name, labels.iter().copied());
            let _ = d.push(&key, 0, 0.0);
            let _ = d.push(&key, 60_000, 1.0);
        }
        d
    }

    fn ratio_sli(errors: &str, total: &str) -> Sli {
        Sli::Ratio(RatioSli {
            counted: Counted::Errors(errors.to_owned()),
            total: total.to_owned(),
            group_by: Vec::new(),
        })
    }

    #[test]
    fn ratio_groups_by_labels() {
        let d = data(&[
            ("req", &[("code", "200"), ("region", "eu")]),
            ("req", &[("code", "500"), ("region", "eu")]),
            ("req", &[("code", "200"), ("region", "us")]),
            ("req", &[("code", "503"), ("region", "us")]),
            ("req", &[("code", "500"), ("region", "us")]),
            ("other", &[("code", "500"), ("region", "us")]),
        ]);
        let sli = ratio_sli(r#"req{code=~"5.."}"#, "req");
        let by = vec!["region".to_owned()];
        let got = counter_series(&sli, &by, &d).unwrap_or_default();
        let shape: Vec<(String, usize, usize)> = got
            .iter()
            .map(|e| (e.labels["region"].clone(), e.total.len(), e.counted.len()))
            .collect();
        assert_eq!(shape, [("eu".to_owned(), 2, 1), ("us".to_owned(), 3, 2)]);
        let one = counter_series(&sli, &[], &d).unwrap_or_default();
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].total.len(), one[0].counted.len()), (5, 3));
    }

    #[test]
    fn missing_error_series_count_zero_but_missing_totals_are_errors() {
        let d = data(&[("req", &[("code", "200")])]);
        let got =
            counter_series(&ratio_sli(r#"req{code=~"5.."}"#, "req"), &[], &d).unwrap_or_default();
        assert_eq!(got.len(), 1);
        assert!(got[0].counted.is_empty());
        assert!(matches!(
            counter_series(&ratio_sli("req", "nope"), &[], &d),
            Err(ReplayError::NoSeries { .. })
        ));
        let events = Sli::Events(EventsSli {
            error_query: String::new(),
            total_query: String::new(),
        });
        assert!(matches!(
            counter_series(&events, &[], &d),
            Err(ReplayError::UnsupportedSli { kind: "events" })
        ));
    }

    #[test]
    fn latency_matches_bucket_bounds_as_numbers() {
        let d = data(&[
            ("lat_bucket", &[("job", "a"), ("le", "0.30")]),
            ("lat_bucket", &[("job", "a"), ("le", "1.0")]),
            ("lat_bucket", &[("job", "a"), ("le", "+Inf")]),
            ("lat_bucket", &[("job", "b"), ("le", "0.3")]),
            ("lat_count", &[("job", "b")]),
        ]);
        let sli = |t: f64| {
            Sli::Latency(LatencySli {
                histogram: "lat".to_owned(),
                selector: String::new(),
                threshold: t,
                group_by: Vec::new(),
            })
        };
        let got = counter_series(&sli(0.3), &["job".to_owned()], &d).unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .all(|e| e.total.len() == 1 && e.counted.len() == 1 && e.counts == Counts::Good)
        );
        let err = counter_series(&sli(0.5), &[], &d)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            r#"histogram `lat{job="a"}` has no bucket with le=0.5: the threshold must be a bucket bound (found: 0.3, 1, +Inf)"#
        );
        assert!(
            counter_series(&sli(1.0), &[], &d).is_err(),
            "job b has no le=1 bucket"
        );
    }
}
