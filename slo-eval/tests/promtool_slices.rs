//! Time-slice SLIs (`slices`) run by Prometheus's own rule engine
//! (`promtool test rules`): a traffic floor of 1,000 requests a minute,
//! 99% of 1m slices over 30d, the default (Workbook) windows.
//!
//! Expected times come from slo-core's math (`WindowPair::detection_time`
//! rounded to whole slices by `policy::slice_detection`), never
//! hard-coded. Every evaluation happens on a slice boundary here (the
//! test's interval is the slice), so a window range `[W]` holds W / slice + 1
//! indicator samples in Prometheus 2.x (both ends are inclusive); for the
//! 1h/5m page that is 61 instead of 60, and 0.144 * 61 = 8.78 needs the same
//! 9 bad slices as 0.144 * 60 = 8.64.

mod common;

use common::{Sample, Suite, Traffic, alerts_selector, http_series, spec};
use slo_core::duration::Duration;
use slo_core::policy::{self, Severity};
use slo_core::promql;
use slo_core::rules::{self, Naming, RuleFile};
use slo_core::spec::{Slo, Spec};

const MIN: u64 = 60;
const HOUR: u64 = 3600;
/// Requests a minute above and below the floor of 1,000.
const ABOVE: u64 = 2_000;
const BELOW: u64 = 500;

fn floor_spec() -> Spec {
    floor_spec_with("")
}

fn floor_spec_with(alerting_extra: &str) -> Spec {
    spec(&format!(
        r#"
version: slo/v1
service: frontend
slos:
  - name: traffic-floor
    objective: 99
    sli:
      slices:
        query: sum(rate(http_requests_total{{job="frontend"}}[1m])) * 60
        op: ">="
        threshold: 1000
        slice: 1m
    alerting:
      name: FrontendTrafficFloor
{alerting_extra}
"#
    ))
}

const ALERT: &str = "FrontendTrafficFloor";

fn slo(spec: &Spec) -> &Slo {
    &spec.slos[0]
}

fn suite(spec: &Spec, traffic: &Traffic) -> Suite {
    let mut s = Suite::new(RuleFile::from_specs(std::slice::from_ref(spec)), MIN);
    s.series = http_series("frontend", "", traffic);
    s
}

fn tier(severity: Severity) -> String {
    format!("slo_tier=\"{severity}\"")
}

/// Seconds from a clean start until a total drop below the floor pages:
/// the page tier's continuous detection time, in whole slices.
fn page_detection(slo: &Slo) -> f64 {
    let slice = slo.sli.slice().unwrap_or(Duration::from_mins(1));
    let t = slo
        .policy
        .detection_time(&slo.budget(), Some(Severity::Page), 1.0)
        .unwrap_or(f64::NAN);
    policy::slice_detection(t, slice)
}

/// Nothing of `severity` (any tier for `None`) fired up to `until`.
fn never_fired(suite: &mut Suite, severity: Option<Severity>, until: u64) {
    let extra = severity.map(tier).unwrap_or_default();
    suite.exprs.push(common::ExprTest {
        expr: format!(
            "max_over_time({}[{}])",
            alerts_selector(ALERT, &extra),
            Duration::from_secs(until)
        ),
        at: until,
        samples: vec![],
    });
}

fn paging_at(suite: &mut Suite, at: u64) {
    suite.exprs.push(common::ExprTest {
        expr: alerts_selector(ALERT, &tier(Severity::Page)),
        at,
        samples: vec![Sample {
            labels: format!(
                "ALERTS{{alertname=\"{ALERT}\",alertstate=\"firing\",severity=\"page\",slo=\"traffic-floor\",slo_service=\"frontend\",slo_tier=\"page\"}}"
            ),
            value: 1.0,
        }],
    });
}

/// The first evaluation at which the page fired, read through promtool.
fn first_page(suite: &Suite, end: u64) -> Option<f64> {
    let sel = alerts_selector(ALERT, &tier(Severity::Page));
    suite.measure(&[(
        format!(
            "min_over_time(timestamp({sel})[{}:1m])",
            Duration::from_secs(end)
        ),
        end,
    )])[0]
}

/// A drop below the floor pages when the math says, counted in whole
/// slices: 14.4 * 1% * 60 slices = 8.64, so on the 9th bad slice (9 min
/// after the last good one), and not on the 8th.
#[test]
fn a_drop_below_the_floor_pages_on_the_slice_the_math_says() {
    let spec = floor_spec();
    let slo = slo(&spec);
    let detect = page_detection(slo);
    assert_eq!(detect, 540.0);
    // A clean history as long as the page tier's longest window (6h), plus
    // an hour: with less, the 6h/30m pair sees too few good slices and
    // fires first.
    let t0 = 7 * HOUR;
    let traffic = Traffic::new().run(t0 / MIN, ABOVE, 0.0).run(30, BELOW, 0.0);
    let mut suite = suite(&spec, &traffic);
    let fire = t0 + detect as u64;
    never_fired(&mut suite, Some(Severity::Page), fire - MIN);
    paging_at(&mut suite, fire);
    suite.assert_passes();
    let first = first_page(&suite, t0 + 30 * MIN);
    eprintln!(
        "floor drop: math {detect} s (8.64 min in whole slices), promtool {} s",
        first.map_or("never".to_owned(), |f| slo_core::num::format(f - t0 as f64))
    );
    assert_eq!(first, Some(fire as f64));
}

/// A dip of 8 slices, one short of what the 1h/5m page needs, after three
/// days of good slices (every window full) fires nothing, page or ticket,
/// during the dip or in the two hours after it.
#[test]
fn a_dip_shorter_than_the_budget_allows_fires_nothing() {
    let spec = floor_spec();
    let slo = slo(&spec);
    let dip = page_detection(slo) as u64 / MIN - 1;
    assert_eq!(dip, 8);
    let t0 = 3 * 24 * HOUR + HOUR;
    let traffic = Traffic::new()
        .run(t0 / MIN, ABOVE, 0.0)
        .run(dip, BELOW, 0.0)
        .run(2 * HOUR / MIN, ABOVE, 0.0);
    let mut suite = suite(&spec, &traffic);
    let end = traffic.len() * MIN;
    never_fired(&mut suite, None, end);
    // The dip did register: 8 bad slices in the last hour.
    let good = format!("{}{}", rules::SLICE_GOOD, Naming::Native.matchers(slo));
    suite.exprs.push(common::ExprTest {
        expr: format!("count_over_time({good}[1h]) - sum_over_time({good}[1h])"),
        at: t0 + dip * MIN,
        samples: vec![Sample {
            labels: "{slo=\"traffic-floor\",slo_service=\"frontend\",slo_window=\"1m\"}".to_owned(),
            value: 8.0,
        }],
    });
    suite.assert_passes();
}

/// A scrape gap is no data: its slices are neither bad (a gap alone fires
/// nothing and leaves the error ratio at 0) nor good (they do not dilute
/// later bad slices). After a 20-minute gap, 6 bad slices page: the 1h
/// window holds 40 slices with data, and 6 / 40 = 15% > 14.4%; had the gap
/// counted as good, 6 / 61 = 9.8% would not.
#[test]
fn a_gap_is_neither_good_nor_bad() {
    let spec = floor_spec();
    let slo = slo(&spec);
    // Every page window full of good slices before the gap.
    let t0 = 7 * HOUR;
    let gap = 20;
    // The first minute after the gap has no sample before it in its 1m
    // range, so it is no data too: 7 minutes below the floor give 6 bad
    // slices.
    let traffic = Traffic::new()
        .run(t0 / MIN, ABOVE, 0.0)
        .gap(gap, ABOVE, 0.0)
        .run(7, BELOW, 0.0)
        .run(30, ABOVE, 0.0);
    let gap_end = t0 + gap * MIN;
    let fire = gap_end + 7 * MIN;
    let id = Naming::Native.matchers(slo);
    let hour = Duration::from_hours(1);
    let ratio = format!("{}{id}", rules::error_ratio_metric(hour));
    let labels = format!(
        "{}{{slo=\"traffic-floor\",slo_service=\"frontend\",slo_window=\"1h\"}}",
        rules::error_ratio_metric(hour)
    );

    let mut suite = suite(&spec, &traffic);
    // The gap alone fires nothing, page or ticket; then no page until the
    // 6th bad slice. (The ticket tier is left out after the gap: its 1d
    // window holds only 7h of history here, so 6 bad slices are 1.4% of it.)
    never_fired(&mut suite, None, gap_end + MIN);
    never_fired(&mut suite, Some(Severity::Page), fire - MIN);
    // At the end of the gap the ratio is still 0: no slice went bad.
    suite.exprs.push(common::ExprTest {
        expr: ratio.clone(),
        at: gap_end,
        samples: vec![Sample {
            labels: labels.clone(),
            value: 0.0,
        }],
    });
    // The window at the page counts the 61 - 21 slices with data only.
    suite.exprs.push(common::ExprTest {
        expr: format!("count_over_time({}{id}[{hour}])", rules::SLICE_GOOD),
        at: fire,
        samples: vec![Sample {
            labels: "{slo=\"traffic-floor\",slo_service=\"frontend\",slo_window=\"1m\"}".to_owned(),
            value: 40.0,
        }],
    });
    // 1 - avg_over_time leaves float noise (0.15000000000000002): compare
    // in whole percent.
    suite.exprs.push(common::ExprTest {
        expr: format!("round({ratio} * 100)"),
        at: fire,
        samples: vec![Sample {
            labels: labels.replace(&rules::error_ratio_metric(hour), ""),
            value: 15.0,
        }],
    });
    paging_at(&mut suite, fire);
    suite.assert_passes();
}

/// The evaluator's queries (subqueries over the raw series, where no rule
/// is loaded) give the recorded numbers: error ratio, bad and total slices,
/// through a drop, a gap and a recovery.
#[test]
fn the_evaluator_queries_agree_with_the_recorded_rules() {
    let spec = floor_spec();
    let slo = slo(&spec);
    let traffic = Traffic::new()
        .run(90, ABOVE, 0.0)
        .run(12, BELOW, 0.0)
        .gap(10, ABOVE, 0.0)
        .run(30, ABOVE, 0.0);
    let suite = suite(&spec, &traffic);
    let id = Naming::Native.matchers(slo);
    let mut exprs = Vec::new();
    for w in [Duration::from_mins(5), Duration::from_hours(1)] {
        for at in [95 * MIN, 102 * MIN, 110 * MIN, 130 * MIN] {
            exprs.push((promql::error_ratio(&slo.sli, w), at));
            exprs.push((format!("{}{id}", rules::error_ratio_metric(w)), at));
            for f in [
                promql::bad_events(&slo.sli, w, promql::Counter::Increase),
                promql::total_events(&slo.sli, w, promql::Counter::Increase),
            ] {
                exprs.push((f.unwrap_or_default(), at));
            }
            exprs.push((
                rules::events_expr(slo, Naming::Native, w).unwrap_or_default(),
                at,
            ));
            exprs.push((
                format!(
                    "count_over_time({}{id}[{w}]) - sum_over_time({}{id}[{w}])",
                    rules::SLICE_GOOD,
                    rules::SLICE_GOOD
                ),
                at,
            ));
        }
    }
    let got = suite.measure(&exprs);
    for (i, chunk) in got.chunks(6).enumerate() {
        let (query_ratio, recorded_ratio) = (chunk[0], chunk[1]);
        let (query_bad, query_total) = (chunk[2], chunk[3]);
        let (recorded_total, recorded_bad) = (chunk[4], chunk[5]);
        let at = &exprs[i * 6].1;
        assert_eq!(query_ratio, recorded_ratio, "ratio at {at}");
        assert_eq!(query_total, recorded_total, "slices at {at}");
        assert_eq!(query_bad, recorded_bad, "bad slices at {at}");
        eprintln!("t={at}: ratio {query_ratio:?}, bad {query_bad:?} of {query_total:?} slices");
    }
}

/// `min_events` counts slices with data: the gap test's page (6 bad of 40
/// slices with data in the 1h window) is held back when a pair needs 50.
#[test]
fn min_events_counts_slices_with_data() {
    let spec = floor_spec_with("      min_events: 50");
    let t0 = 7 * HOUR;
    let traffic = Traffic::new()
        .run(t0 / MIN, ABOVE, 0.0)
        .gap(20, ABOVE, 0.0)
        .run(7, BELOW, 0.0)
        .run(30, ABOVE, 0.0);
    let fire_without_guard = t0 + 27 * MIN;
    let mut suite = suite(&spec, &traffic);
    never_fired(
        &mut suite,
        Some(Severity::Page),
        fire_without_guard + 5 * MIN,
    );
    let slo = slo(&spec);
    suite.exprs.push(common::ExprTest {
        expr: format!(
            "{}{}",
            rules::total_increase_metric(Duration::from_hours(1)),
            Naming::Native.matchers(slo)
        ),
        at: fire_without_guard,
        samples: vec![Sample {
            labels: format!(
                "{}{{slo=\"traffic-floor\",slo_service=\"frontend\",slo_window=\"1h\"}}",
                rules::total_increase_metric(Duration::from_hours(1))
            ),
            value: 40.0,
        }],
    });
    suite.assert_passes();
}

/// The backtest, fed the indicator Prometheus's engine evaluates at every
/// slice (what `backtest --prometheus` fetches), pages and tickets at
/// exactly the evaluations where the rules' alerts fire: through a drop, a
/// scrape gap, a recovery, a dip the budget allows and a second drop.
#[test]
fn the_backtest_agrees_with_the_rules() {
    use slo_core::backtest::{self, Options};
    use slo_core::dataset::Dataset;

    let spec = floor_spec();
    let slo = slo(&spec);
    let t0 = 6 * HOUR + 10 * MIN;
    let traffic = Traffic::new()
        .run(t0 / MIN, ABOVE, 0.0)
        .run(14, BELOW, 0.0)
        .gap(10, ABOVE, 0.0)
        .run(45, ABOVE, 0.0)
        .run(5, BELOW, 0.0)
        .run(40, ABOVE, 0.0)
        .run(25, BELOW, 0.0)
        .run(30, ABOVE, 0.0);
    let end = t0 + 169 * MIN;
    let suite = suite(&spec, &traffic);
    let Some(sli) = (match &slo.sli {
        slo_core::spec::Sli::Slices(s) => Some(s),
        _ => None,
    }) else {
        panic!("a slices SLI");
    };
    let from = t0 - 10 * MIN;
    let minutes: Vec<u64> = (0..=end / MIN).collect();
    let mut exprs: Vec<(String, u64)> = minutes
        .iter()
        .map(|m| (promql::slice_indicator(sli), m * MIN))
        .collect();
    let checked: Vec<u64> = minutes
        .iter()
        .map(|m| m * MIN)
        .filter(|t| *t >= from)
        .collect();
    for severity in Severity::ALL {
        for t in &checked {
            exprs.push((alerts_selector(ALERT, &tier(severity)), *t));
        }
    }
    let got = suite.measure(&exprs);
    let (indicator, alerts) = got.split_at(minutes.len());
    let key = slo_core::events::slice_indicator_key(slo, &Default::default());
    let mut data = Dataset::new();
    for (m, v) in minutes.iter().zip(indicator) {
        if let Some(v) = v {
            let _ = data.push(&key, (m * MIN * 1000) as i64, *v);
        }
    }
    assert!(
        indicator.iter().filter(|v| v.is_none()).count() >= 10,
        "the scrape gap leaves slices without data"
    );
    let report = backtest::backtest(
        slo,
        &data,
        &Options::new((from * 1000) as i64, (end * 1000) as i64),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut fired = 0;
    for (i, severity) in Severity::ALL.into_iter().enumerate() {
        let rules: Vec<bool> = alerts[i * checked.len()..(i + 1) * checked.len()]
            .iter()
            .map(Option::is_some)
            .collect();
        let replay: Vec<bool> = checked
            .iter()
            .map(|t| {
                let t = (t * 1000) as i64;
                report.instances[0]
                    .alerts_of(severity)
                    .any(|a| a.start <= t && a.end.is_none_or(|e| t < e))
            })
            .collect();
        let differ: Vec<u64> = checked
            .iter()
            .zip(rules.iter().zip(&replay))
            .filter(|(_, (a, b))| a != b)
            .map(|(t, _)| (t - t0) / MIN)
            .collect();
        assert!(
            differ.is_empty(),
            "{severity}: minutes after t0 where the backtest and the rules differ: {differ:?}\nrules  {rules:?}\nreplay {replay:?}"
        );
        fired += rules.iter().filter(|f| **f).count();
        eprintln!(
            "{severity}: {} alerts in the replay, firing at {} of {} evaluations in both",
            report.instances[0].alerts_of(severity).count(),
            rules.iter().filter(|f| **f).count(),
            checked.len()
        );
    }
    assert!(fired > 0, "the drops must alert");
}

/// A slice whose query is NaN (a ratio over a minute without requests: 0/0)
/// is neither good nor bad, like a slice without data: 40 idle minutes at
/// night spend no budget and page nothing, and the 1h window counts only
/// the minutes with requests. Without the indicator's NaN guard every idle
/// minute would be a bad one and the page would fire 9 minutes in.
#[test]
fn regression_idle_minutes_of_a_ratio_slice_are_not_bad() {
    let spec = spec(
        r#"
version: slo/v1
service: frontend
slos:
  - name: good-minutes
    objective: 99
    sli:
      slices:
        query: sum(rate(http_requests_total{job="frontend",code=~"5.."}[1m])) / sum(rate(http_requests_total{job="frontend"}[1m]))
        op: "<"
        threshold: 0.05
        slice: 1m
    alerting:
      name: FrontendGoodMinutes
"#,
    );
    let slo = &spec.slos[0];
    let t0 = 7 * HOUR;
    let idle = 40;
    let traffic = Traffic::new()
        .run(t0 / MIN, ABOVE, 0.0)
        .run(idle, 0, 0.0)
        .run(30, ABOVE, 0.0);
    let mut suite = suite(&spec, &traffic);
    suite.exprs.push(common::ExprTest {
        expr: format!(
            "max_over_time({}[{}])",
            alerts_selector("FrontendGoodMinutes", ""),
            Duration::from_secs(t0 + (idle + 30) * MIN)
        ),
        at: t0 + (idle + 30) * MIN,
        samples: vec![],
    });
    suite.assert_passes();
    let id = Naming::Native.matchers(slo);
    let at = t0 + idle * MIN;
    let got = suite.measure(&[
        (
            format!("count_over_time({}{id}[1h])", rules::SLICE_GOOD),
            at,
        ),
        (
            format!("{}{id}", rules::error_ratio_metric(Duration::from_hours(1))),
            at,
        ),
    ]);
    // The 1h window at the end of the idle run: 61 slices, of which the
    // idle minutes (their 1m rate is 0/0) have no sample.
    assert_eq!(got[0], Some((61 - idle) as f64), "{got:?}");
    assert_eq!(got[1], Some(0.0), "{got:?}");
}
