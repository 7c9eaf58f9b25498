//! Latency SLIs through Prometheus's own rule engine (`promtool test
//! rules`) when clients spell bucket bounds their own way, and when the
//! threshold is no bucket at all.
//!
//! Regressions: with `threshold: 1000000` against `le="1e+06"` the rules
//! never fired (`got: []`) while every request was slow; with `threshold:
//! 0.3` against buckets 0.25 and 0.5 the step rule `count - bucket or 0 *
//! total` recorded zero errors, a perfect SLO forever.

mod common;

use common::{Sample, Suite, Traffic, alerts_selector, tick_before};
use slo_core::duration::Duration;
use slo_core::policy::Severity;
use slo_core::rules::RuleFile;
use slo_core::spec::Spec;

const REQUESTS: u64 = 10_000; // per minute
const MIN: u64 = 60;
const HOUR: u64 = 3600;

fn latency_spec(threshold: &str) -> Spec {
    common::spec(&format!(
        r#"
version: slo/v1
service: api
slos:
  - name: latency
    objective: 99.9
    sli:
      latency:
        histogram: rpc_duration_seconds
        selector: '{{job="api"}}'
        threshold: {threshold}
    alerting:
      name: ApiSlow
      absent_for: 10m
"#
    ))
}

/// Where a bucket's requests come from: only the fast ones (bounds up to
/// the threshold) or all of them (bounds above every request).
#[derive(Clone, Copy)]
enum Holds {
    Fast,
    All,
}

/// Histogram series for `traffic` (its good requests are fast, its bad
/// ones slow), one per `(le, holds)`, plus `_count`.
fn histogram(traffic: &Traffic, buckets: &[(&str, Holds)]) -> Vec<(String, String)> {
    histogram_of("job=\"api\"", traffic, buckets)
}

/// [`histogram`] with the series' labels (besides `le`).
fn histogram_of(
    labels: &str,
    traffic: &Traffic,
    buckets: &[(&str, Holds)],
) -> Vec<(String, String)> {
    let (fast, slow) = traffic.counters();
    let all: Vec<Option<u64>> = fast
        .iter()
        .zip(&slow)
        .map(|(f, s)| Some((*f)? + (*s)?))
        .collect();
    let mut series: Vec<(String, String)> = buckets
        .iter()
        .map(|(le, holds)| {
            let v = match holds {
                Holds::Fast => &fast,
                Holds::All => &all,
            };
            (
                format!("rpc_duration_seconds_bucket{{{labels},le=\"{le}\"}}"),
                common::expanding(v),
            )
        })
        .collect();
    series.push((
        format!("rpc_duration_seconds_count{{{labels}}}"),
        common::expanding(&all),
    ));
    series
}

fn suite_of(spec: &Spec, series: Vec<(String, String)>) -> Suite {
    let mut suite = Suite::new(RuleFile::from_specs(std::slice::from_ref(spec)), MIN);
    suite.series = series;
    suite
}

/// `count(ALERTS{...})` at `at`: one alert, or none (`want` false).
fn alert_count_at(suite: &mut Suite, alert: &str, extra: &str, at: u64, want: bool) {
    suite.exprs.push(common::ExprTest {
        expr: format!("count({})", alerts_selector(alert, extra)),
        at,
        samples: if want {
            vec![Sample {
                labels: "{}".to_owned(),
                value: 1.0,
            }]
        } else {
            vec![]
        },
    });
}

/// The alert never fired at any evaluation up to `until`.
fn never_fired(suite: &mut Suite, alert: &str, until: u64) {
    suite.exprs.push(common::ExprTest {
        expr: format!(
            "max_over_time({}[{}])",
            alerts_selector(alert, ""),
            Duration::from_secs(until)
        ),
        at: until,
        samples: vec![],
    });
}

/// Every request slow from `t0`: the page fires within one evaluation of
/// the math (51.84 s at 99.9% for 14.4x over 1h), whichever way the client
/// spelled the threshold's bucket; the absent alert stays quiet.
#[test]
fn le_spellings_page_when_the_math_says() {
    let cases: [(&str, [(&str, Holds); 4]); 3] = [
        // Go and Python write 1,000,000 as 1e+06 (threshold in µs).
        (
            "1000000",
            [
                ("500000", Holds::Fast),
                ("1e+06", Holds::Fast),
                ("2.5e+06", Holds::All),
                ("+Inf", Holds::All),
            ],
        ),
        // Go's ExponentialBuckets(0.05, 3, 3): binary noise in the bounds.
        (
            "0.15",
            [
                ("0.05", Holds::Fast),
                ("0.15000000000000002", Holds::Fast),
                ("0.45000000000000007", Holds::All),
                ("+Inf", Holds::All),
            ],
        ),
        // Trailing zeros written by hand.
        (
            "0.3",
            [
                ("0.10", Holds::Fast),
                ("0.30", Holds::Fast),
                ("1.00", Holds::All),
                ("+Inf", Holds::All),
            ],
        ),
    ];
    let t0 = 2 * HOUR;
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(30, REQUESTS, 1.0);
    for (threshold, buckets) in cases {
        let spec = latency_spec(threshold);
        let slo = &spec.slos[0];
        let detect = slo
            .policy
            .detection_time(&slo.budget(), Some(Severity::Page), 1.0)
            .unwrap_or(f64::NAN);
        let t_math = t0 as f64 + detect;
        let mut suite = suite_of(&spec, histogram(&traffic, &buckets));
        let page = "slo_tier=\"page\"";
        // Quiet before the math says, firing one evaluation after.
        suite.exprs.push(common::ExprTest {
            expr: format!(
                "max_over_time({}[{}])",
                alerts_selector("ApiSlow", page),
                Duration::from_secs(tick_before(t_math, MIN))
            ),
            at: tick_before(t_math, MIN),
            samples: vec![],
        });
        let deadline = ((t_math + MIN as f64) / MIN as f64).floor() as u64 * MIN;
        alert_count_at(&mut suite, "ApiSlow", page, deadline, true);
        // Before the slowdown the 1h ratio is a measured 0, not nothing.
        suite.exprs.push(common::ExprTest {
            expr: "slo:sli_error:ratio_rate1h".to_owned(),
            at: t0,
            samples: vec![Sample {
                labels: "slo:sli_error:ratio_rate1h{slo=\"latency\",slo_service=\"api\",slo_window=\"1h\"}".to_owned(),
                value: 0.0,
            }],
        });
        never_fired(&mut suite, "ApiSlowAbsent", t0 + 30 * MIN);
        let (ok, out) = suite.run();
        assert!(
            ok,
            "threshold {threshold}, buckets {:?}:\n{out}",
            buckets.map(|b| b.0)
        );
    }
}

/// A threshold that is no bucket (0.3 with buckets 0.25 and 0.5) records
/// no error ratio at any window or the period (no fake 0), never pages even
/// with every request slow, and the absent alert fires. The same traffic
/// with a threshold on a bucket (0.25) pages and is never absent.
#[test]
fn a_threshold_that_is_no_bucket_is_no_data_and_the_absent_alert_fires() {
    let t0 = 2 * HOUR;
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(60, REQUESTS, 1.0);
    let buckets = [
        ("0.25", Holds::Fast),
        ("0.5", Holds::All),
        ("+Inf", Holds::All),
    ];
    let end = t0 + 60 * MIN;

    let spec = latency_spec("0.3");
    let mut suite = suite_of(&spec, histogram(&traffic, &buckets));
    for at in [t0, end] {
        for series in [
            "slo:sli_error:increase5m",
            "slo:sli_error:ratio_rate5m",
            "slo:sli_error:ratio_rate1h",
            "slo:sli_error:ratio_rate6h",
            "slo:sli_error:ratio_period",
            "slo:period_error_budget_remaining:ratio",
        ] {
            suite.exprs.push(common::ExprTest {
                expr: series.to_owned(),
                at,
                samples: vec![],
            });
        }
        // The total is there: the SLO has traffic, not a zero error ratio.
        suite.exprs.push(common::ExprTest {
            expr: "count(slo:sli_total:increase5m)".to_owned(),
            at,
            samples: vec![Sample {
                labels: "{}".to_owned(),
                value: 1.0,
            }],
        });
        alert_count_at(&mut suite, "ApiSlowAbsent", "", at, true);
    }
    never_fired(&mut suite, "ApiSlow", end);
    suite.assert_passes();

    let control = latency_spec("0.25");
    let mut suite = suite_of(&control, histogram(&traffic, &buckets));
    alert_count_at(
        &mut suite,
        "ApiSlow",
        "slo_tier=\"page\"",
        t0 + 5 * MIN,
        true,
    );
    never_fired(&mut suite, "ApiSlowAbsent", end);
    suite.assert_passes();
}

/// In a grouped SLO, one route's histogram lacks the threshold's bucket
/// (another client library, other buckets): that route records no ratio
/// and its own absent alert fires, labelled with the route; the route
/// with the bucket is measured and never absent.
#[test]
fn a_group_without_the_bucket_is_absent_on_its_own() {
    let spec = common::spec(
        r#"
version: slo/v1
service: api
slos:
  - name: latency
    objective: 99.9
    sli:
      latency:
        histogram: rpc_duration_seconds
        selector: '{job="api"}'
        threshold: 0.3
        group_by: [route]
    alerting:
      name: ApiSlow
      absent_for: 10m
"#,
    );
    let traffic = Traffic::new().run(60, REQUESTS, 0.0);
    let mut series = histogram_of(
        "job=\"api\",route=\"a\"",
        &traffic,
        &[("0.3", Holds::Fast), ("+Inf", Holds::All)],
    );
    series.extend(histogram_of(
        "job=\"api\",route=\"b\"",
        &traffic,
        &[
            ("0.25", Holds::Fast),
            ("0.5", Holds::All),
            ("+Inf", Holds::All),
        ],
    ));
    let mut suite = suite_of(&spec, series);
    let at = 30 * MIN;
    suite.exprs.push(common::ExprTest {
        expr: "slo:sli_error:ratio_rate5m".to_owned(),
        at,
        samples: vec![Sample {
            labels: "slo:sli_error:ratio_rate5m{route=\"a\",slo=\"latency\",slo_service=\"api\",slo_window=\"5m\"}".to_owned(),
            value: 0.0,
        }],
    });
    alert_count_at(&mut suite, "ApiSlowAbsent", "route=\"b\"", at, true);
    alert_count_at(&mut suite, "ApiSlowAbsent", "route=\"a\"", at, false);
    alert_count_at(&mut suite, "ApiSlowAbsent", "", at, true);
    suite.assert_passes();
}
