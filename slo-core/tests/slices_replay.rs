//! Replaying `slices` SLIs from their slice indicator: detection counts
//! whole slices, a dip the budget allows fires nothing, slices without
//! data are neither good nor bad, and an indicator missing from the data is
//! a clear error.

mod common;

use common::{HOUR, MIN};
use slo_core::backtest::{self, Options};
use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::duration::Duration;
use slo_core::events;
use slo_core::policy::{self, Severity};
use slo_core::rules::{self, Naming};
use slo_core::spec::{Labels, Slo};

/// A traffic floor: 99% of 1m slices over 30d, the Workbook windows.
fn floor() -> Slo {
    let yaml = r#"
version: slo/v1
service: frontend
slos:
  - name: traffic-floor
    objective: 99
    sli:
      slices:
        query: sum(rate(http_requests_total{job="frontend"}[1m])) * 60
        op: ">="
        threshold: 1000
        slice: 1m
"#;
    match slo_core::load::load_str(yaml) {
        Ok(spec) => spec.slos[0].clone(),
        Err(d) => panic!("{d:?}"),
    }
}

/// The indicator recorded every minute over `[0, end]`: `slice(t)` is 1
/// (good), 0 (bad) or `None` (no data).
fn indicator(slo: &Slo, end: i64, slice: impl Fn(i64) -> Option<f64>) -> Dataset {
    let key = events::slice_indicator_key(slo, &Labels::new());
    let mut data = Dataset::new();
    for t in (0..=end).step_by(MIN as usize) {
        if let Some(v) = slice(t) {
            let _ = data.push(&key, t, v);
        }
    }
    data
}

/// Bad slices in `[from, to)`, good elsewhere.
fn bad_between(from: i64, to: i64) -> impl Fn(i64) -> Option<f64> {
    move |t| Some(if t >= from && t < to { 0.0 } else { 1.0 })
}

fn pages(slo: &Slo, data: &Dataset, from: i64, to: i64) -> Vec<(i64, Option<i64>)> {
    let report =
        backtest::backtest(slo, data, &Options::new(from, to)).unwrap_or_else(|e| panic!("{e}"));
    report.instances[0]
        .alerts_of(Severity::Page)
        .map(|a| (a.start, a.end))
        .collect()
}

#[test]
fn a_drop_below_the_floor_pages_on_the_slice_the_math_says() {
    let slo = floor();
    let slice = Duration::from_mins(1);
    let t = slo
        .policy
        .detection_time(&slo.budget(), Some(Severity::Page), 1.0)
        .unwrap_or(f64::NAN);
    let detect = policy::slice_detection(t, slice) as i64 * 1000;
    // The first bad slice is recorded at t0 (its indicator sample).
    let t0 = 7 * HOUR;
    let data = indicator(&slo, 9 * HOUR, bad_between(t0, t0 + 30 * MIN));
    let got = pages(&slo, &data, 6 * HOUR + 30 * MIN, 9 * HOUR);
    // Bad slices at t0, t0 + 1m, ...: the 9th is at t0 + 8m, when the 1h
    // window holds 9 of 61 (both ends count in Prometheus 2.x).
    assert_eq!(detect, 9 * MIN);
    assert_eq!(got.first().map(|a| a.0), Some(t0 + detect - MIN), "{got:?}");
    assert_eq!(got.len(), 1, "{got:?}");
}

#[test]
fn a_dip_the_budget_allows_fires_nothing() {
    let slo = floor();
    let t0 = 3 * 24 * HOUR;
    // Eight bad slices: one short of the 1h/5m page (8/61 < 14.4%).
    let data = indicator(&slo, t0 + 3 * HOUR, bad_between(t0, t0 + 8 * MIN));
    let report = backtest::backtest(&slo, &data, &Options::new(t0 - HOUR, t0 + 3 * HOUR))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.instances[0].alerts.is_empty(), "{report:?}");
    // One more bad slice pages.
    let data = indicator(&slo, t0 + 3 * HOUR, bad_between(t0, t0 + 9 * MIN));
    assert_eq!(pages(&slo, &data, t0 - HOUR, t0 + 3 * HOUR).len(), 1);
}

#[test]
fn slices_without_data_are_neither_good_nor_bad() {
    let slo = floor();
    let t0 = 7 * HOUR;
    // 20 minutes of no data, then 7 bad slices: at the 6th the 1h window
    // holds 35 good and 6 bad slices with data (14.6% > 14.4%, where 5 of
    // 40 is 12.5%): it pages. Counting the gap as good (6 of 61) would not
    // page, counting it as bad would have paged during the gap.
    let gap_then_bad = move |t: i64| {
        if t >= t0 && t < t0 + 20 * MIN {
            None
        } else if t >= t0 + 20 * MIN && t < t0 + 27 * MIN {
            Some(0.0)
        } else {
            Some(1.0)
        }
    };
    let data = indicator(&slo, 9 * HOUR, gap_then_bad);
    let got = pages(&slo, &data, 6 * HOUR + 30 * MIN, 9 * HOUR);
    assert_eq!(got.first().map(|a| a.0), Some(t0 + 25 * MIN), "{got:?}");
    // The budget counts only slices with data: 7 bad of the 521 recorded.
    let report = backtest::backtest(&slo, &data, &Options::new(6 * HOUR, 9 * HOUR))
        .unwrap_or_else(|e| panic!("{e}"));
    let last = report.instances[0]
        .budget
        .last()
        .and_then(|p| p.error_ratio)
        .unwrap_or(f64::NAN);
    assert!((last - 7.0 / 521.0).abs() < 1e-12, "{last}");
}

#[test]
fn sloth_named_indicators_replay_too() {
    let slo = floor();
    let t0 = 7 * HOUR;
    let native = indicator(&slo, 9 * HOUR, bad_between(t0, t0 + 30 * MIN));
    let mut sloth = Dataset::new();
    let key = SeriesKey {
        name: rules::SLICE_GOOD.to_owned(),
        labels: rules::indicator_labels(&slo, Naming::Sloth),
    };
    for (_, series) in native.iter() {
        for (t, v) in series.samples() {
            let _ = sloth.push(&key, t, v);
        }
    }
    let window = (6 * HOUR + 30 * MIN, 9 * HOUR);
    assert_eq!(
        pages(&slo, &sloth, window.0, window.1),
        pages(&slo, &native, window.0, window.1)
    );
}

#[test]
fn regression_a_missing_indicator_says_how_to_replay_a_slices_sli() {
    let slo = floor();
    let data = common::requests(0, HOUR, 15_000, 10.0, |_| 0.0);
    let err = backtest::backtest(&slo, &data, &Options::new(0, HOUR))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(r#"slo:sli_slice:good{slo_service="frontend",slo="traffic-floor"}"#)
            && err.contains("--prometheus"),
        "{err}"
    );
}
