//! Evaluation from recorded history instead of a Prometheus: the
//! [`Answers`] the instant queries of [`queries`](super::queries) would get
//! at time `t` from a Prometheus holding `data`, computed in memory with
//! Prometheus's own `increase()` (and, for slice indicators,
//! `count_over_time`/`sum_over_time`) over the closed range `[t - W, t]`,
//! then [`assemble`]d as for a live evaluation. The UI runs on the example
//! shop this way, and the result equals `slo-eval eval` against a
//! Prometheus backfilled with the same data (checked in
//! `slo-eval/tests/serve.rs`).
//!
//! Where PromQL would answer nothing, so does this: `sum(increase(..))` of
//! series without two samples in the window is absent, and `total - good`
//! is present only when both sides are (never clamped, as PromQL does not
//! clamp). A selector that matches nothing in the data (no total series, a
//! latency threshold that is no bucket) gives no answers: the SLO reads as
//! no data, as `eval` shows it. (For a grouped SLO, `eval` would list each
//! group without data where this lists one instance.)

use super::{Answers, InstanceResult, Part, assemble};
use crate::dataset::Dataset;
use crate::duration::Duration;
use crate::errors::ReplayError;
use crate::events::{self, Counts, EventSeries};
use crate::series::Reduce;
use crate::spec::{Labels, Slo};
use crate::time::Timestamp;

/// The answers Prometheus would give [`queries`](super::queries)`(slo,
/// with_period)` at `at` (ms) over `data`. Fails only for SLIs whose PromQL
/// only Prometheus evaluates (`events`, `raw`, a `slices` query without its
/// recorded indicator) or a selector that does not parse.
pub fn answers_at(
    slo: &Slo,
    data: &Dataset,
    at: Timestamp,
    with_period: bool,
) -> Result<Answers, ReplayError> {
    let instances = match events::event_series(slo, data) {
        Ok(found) => found,
        // Prometheus would answer these queries with nothing: no data.
        Err(
            ReplayError::NoSeries { .. }
            | ReplayError::NoBucket { .. }
            | ReplayError::NoTotal { .. },
        ) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut answers = Answers::new();
    let mut windows: Vec<(Duration, Part, Part)> = slo
        .policy
        .windows()
        .into_iter()
        .map(|w| (w, Part::Bad(w), Part::Total(w)))
        .collect();
    if with_period {
        windows.push((slo.period, Part::PeriodBad, Part::PeriodTotal));
    }
    for (window, bad_part, total_part) in windows {
        let start = at.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        let mut bad: Vec<(Labels, f64)> = Vec::new();
        let mut total: Vec<(Labels, f64)> = Vec::new();
        for inst in &instances {
            let (t, b) = bad_and_total(inst, start, at);
            if let Some(t) = t {
                total.push((inst.labels.clone(), t));
            }
            if let Some(b) = b {
                bad.push((inst.labels.clone(), b));
            }
        }
        answers.insert(bad_part, bad);
        answers.insert(total_part, total);
    }
    Ok(answers)
}

/// [`answers_at`], assembled: every instance of `slo` at `at` (ms), with
/// the period's budget, as `eval` reports it.
pub fn evaluate_at(
    slo: &Slo,
    data: &Dataset,
    at: Timestamp,
) -> Result<Vec<InstanceResult>, ReplayError> {
    Ok(assemble(slo, &answers_at(slo, data, at, true)?))
}

/// One instance's PromQL answers over `[start, end]`: all events, and bad
/// events (`None` where PromQL returns no sample).
fn bad_and_total(
    inst: &EventSeries<'_>,
    start: Timestamp,
    end: Timestamp,
) -> (Option<f64>, Option<f64>) {
    let (reduce_total, reduce_counted) = inst.source.reductions();
    let total = sum(&inst.total, reduce_total, start, end);
    let counted = sum(&inst.counted, reduce_counted, start, end);
    let bad = match inst.counts {
        Counts::Bad => counted,
        // `total - good`: one-to-one on the group labels, both sides needed.
        Counts::Good => total.zip(counted).map(|(t, g)| t - g),
    };
    (total, bad)
}

/// `sum(f(series[W]))`: absent when no series has a value.
fn sum(
    series: &[&crate::series::Series],
    reduce: Reduce,
    start: Timestamp,
    end: Timestamp,
) -> Option<f64> {
    series
        .iter()
        .filter_map(|s| s.reduce(reduce, start, end))
        .fold(None, |acc, x| Some(acc.unwrap_or(0.0) + x))
}

/// Every SLO of `slos` evaluated at `at` (ms): per SLO its instances or why
/// it could not be evaluated from `data`.
pub fn evaluate_all_at<'a>(
    slos: impl IntoIterator<Item = &'a Slo>,
    data: &Dataset,
    at: Timestamp,
) -> Vec<(&'a Slo, Result<Vec<InstanceResult>, ReplayError>)> {
    slos.into_iter()
        .map(|slo| (slo, evaluate_at(slo, data, at)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::SeriesKey;
    use crate::evaluation::Status;

    fn spec(sli: &str) -> crate::spec::Spec {
        let yaml = format!(
            "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99\n    sli:\n{sli}\n"
        );
        crate::load::load_str(&yaml).unwrap_or_else(|d| panic!("{d:?}"))
    }

    /// 10 requests a minute for two hours, one error a minute in the last
    /// 30 minutes, good requests in a `good` counter too.
    fn data() -> Dataset {
        let mut d = Dataset::new();
        let ok = SeriesKey::new("req", [("code", "200")]);
        let err = SeriesKey::new("req", [("code", "500")]);
        let good = SeriesKey::new("good", []);
        let (mut n_ok, mut n_err) = (0.0, 0.0);
        for m in 0..=120_i64 {
            let t = m * 60_000;
            let _ = d.push(&ok, t, n_ok);
            let _ = d.push(&good, t, n_ok);
            if m >= 90 {
                let _ = d.push(&err, t, n_err);
                n_err += 1.0;
                n_ok += 9.0;
            } else {
                n_ok += 10.0;
            }
        }
        d
    }

    /// The 5m window at the end: 45 requests counted, 5 of them errors (a
    /// 10x burn at 99%); windows before the errors began have none, and a
    /// `good` counter gives the same ratios as an `errors` one.
    #[test]
    fn windows_are_prometheus_increases_and_errors_or_good_agree() {
        let d = data();
        let errors = spec("      ratio: {errors: 'req{code=\"500\"}', total: req}");
        let good = spec("      ratio: {good: good, total: req}");
        let end = 120 * 60_000;
        let a = evaluate_at(&errors.slos[0], &d, end).unwrap_or_else(|e| panic!("{e}"));
        let b = evaluate_at(&good.slos[0], &d, end).unwrap_or_else(|e| panic!("{e}"));
        let five = &a[0].windows[0];
        assert_eq!(five.0, "5m");
        assert!((five.1.error_ratio - 0.1).abs() < 1e-12, "{five:?}");
        assert_eq!(five.1.events, Some(50.0));
        assert!((five.1.burn_rate - 10.0).abs() < 1e-9);
        for ((wa, va), (wb, vb)) in a[0].windows.iter().zip(&b[0].windows) {
            assert_eq!(wa, wb);
            assert!((va.error_ratio - vb.error_ratio).abs() < 1e-12, "{wa}");
        }
        // Before the first error: zero errors for an errors counter.
        let before =
            evaluate_at(&errors.slos[0], &d, 60 * 60_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(before[0].windows[0].1.error_ratio, 0.0);
        assert_eq!(before[0].status, Status::Ok, "{before:?}");
    }

    /// A selector matching nothing is no data, never zero errors; an
    /// `events` SLI cannot be evaluated from data at all.
    #[test]
    fn nothing_matched_is_no_data_and_promql_slis_are_refused() {
        let d = data();
        let none = spec("      ratio: {errors: 'req{code=\"500\"}', total: nope}");
        let r = evaluate_at(&none.slos[0], &d, 120 * 60_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::NoData);
        assert_eq!(r[0].budget_remaining, None);
        let events = spec(
            "      events: {error_query: 'sum(rate(x[{{.window}}]))', total_query: 'sum(rate(y[{{.window}}]))'}",
        );
        assert!(matches!(
            evaluate_at(&events.slos[0], &d, 0),
            Err(ReplayError::UnsupportedSli { .. })
        ));
    }

    proptest::proptest! {
        /// At any time, over counters with resets and scrape gaps, the
        /// point evaluation measures every window as the backtest's
        /// windowed sums do at that step: the UI's numbers and its graphs
        /// are one computation.
        #[test]
        fn point_evaluation_equals_the_replays_windows(
            steps in proptest::collection::vec((0u32..50, 0u32..5, 0u8..20), 10..400),
            at_frac in 0.0f64..1.2,
        ) {
            let mut d = Dataset::new();
            let ok = SeriesKey::new("req", [("code", "200")]);
            let err = SeriesKey::new("req", [("code", "500")]);
            let (mut n_ok, mut n_err, mut t) = (0.0, 0.0, 0_i64);
            for (good, bad, gap) in &steps {
                // Now and then a scrape gap, and a counter reset.
                t += if *gap == 0 { 600_000 } else { 30_000 };
                if *gap == 1 {
                    n_ok = 0.0;
                }
                n_ok += f64::from(*good);
                n_err += f64::from(*bad);
                let _ = d.push(&ok, t, n_ok);
                let _ = d.push(&err, t, n_err);
            }
            let errors = spec("      ratio: {errors: 'req{code=\"500\"}', total: req}");
            let slo = &errors.slos[0];
            let at = (t as f64 * at_frac) as i64;
            let answers = answers_at(slo, &d, at, false).unwrap_or_else(|e| panic!("{e}"));
            let found = events::event_series(slo, &d).unwrap_or_else(|e| panic!("{e}"));
            let windows: Vec<Duration> = slo.policy.windows().into_iter().collect();
            let one = crate::series::Steps::new(at, at, Duration::from_mins(1))
                .unwrap_or_else(|| panic!("steps"));
            let mut sums = crate::series::WindowedSums::new(&windows, one);
            found[0].add_to(&mut sums, 0, 1);
            let value = |part: Part| answers.get(&part).and_then(|v| v.first()).map(|x| x.1);
            for (i, w) in windows.iter().enumerate() {
                let [total, bad] = sums.get(i, 0);
                let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    (a, b) => a == b,
                };
                proptest::prop_assert!(close(value(Part::Total(*w)), total), "{w} total: {:?} vs {total:?}", value(Part::Total(*w)));
                proptest::prop_assert!(close(value(Part::Bad(*w)), bad), "{w} bad: {:?} vs {bad:?}", value(Part::Bad(*w)));
            }
        }
    }
}
