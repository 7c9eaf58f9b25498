//! The generated rules, run by Prometheus's own rule engine
//! (`promtool test rules`) on synthetic traffic, for a 99.9% / 30d SLO.
//!
//! Expected times come from slo-core's math (`WindowPair::detection_time`,
//! `reset_time`), never hard-coded. Windows read from raw series (5m, 30m,
//! 1h) must fire within one evaluation interval after the math; windows
//! derived from recorded 5m steps may lag by up to one step more.

mod common;

use common::{Sample, Suite, Traffic, alerts_selector, http_series, spec, tick_before};
use slo_core::duration::Duration;
use slo_core::policy::{Severity, WindowPair};
use slo_core::rules::{self, RuleFile, STEP};
use slo_core::spec::{Slo, Spec};

const REQUESTS: u64 = 10_000; // per minute
const MIN: u64 = 60;
const HOUR: u64 = 3600;

fn api_spec(alerting_extra: &str) -> Spec {
    spec(&format!(
        r#"
version: slo/v1
service: api
labels:
  team: core
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{{job="api",code=~"5.."}}
        total: http_requests_total{{job="api"}}
    alerting:
      name: ApiBurn
{alerting_extra}
"#
    ))
}

fn slo(spec: &Spec) -> &Slo {
    &spec.slos[0]
}

fn pair_with_long(slo: &Slo, long: Duration) -> WindowPair {
    match slo.policy.pairs().iter().find(|p| p.long == long) {
        Some(p) => *p,
        None => panic!("no pair with a {long} long window"),
    }
}

fn tier(severity: Severity) -> String {
    format!("slo_tier=\"{severity}\"")
}

/// First and last firing evaluation of an alert tier, in seconds, read
/// through promtool.
fn fire_window(
    suite: &Suite,
    alert: &str,
    severity: Severity,
    end: u64,
) -> (Option<f64>, Option<f64>) {
    let sel = alerts_selector(alert, &tier(severity));
    let range = Duration::from_secs(end);
    let got = suite.measure(&[
        (format!("min_over_time(timestamp({sel})[{range}:1m])"), end),
        (format!("max_over_time(timestamp({sel})[{range}:1m])"), end),
    ]);
    (got[0], got[1])
}

/// No alert of `severity` fired at any evaluation up to `until`.
fn never_fired(suite: &mut Suite, alert: &str, severity: Option<Severity>, until: u64) {
    let extra = severity.map(tier).unwrap_or_default();
    suite.exprs.push(common::ExprTest {
        expr: format!(
            "max_over_time({}[{}])",
            alerts_selector(alert, &extra),
            Duration::from_secs(until.max(1))
        ),
        at: until.max(1),
        samples: vec![],
    });
}

/// The alert of `severity` is firing at `at` (one series, the SLO's).
fn firing_at(suite: &mut Suite, alert: &str, severity: Severity, at: u64, extra_labels: &str) {
    let labels = format!(
        "ALERTS{{alertname=\"{alert}\",alertstate=\"firing\",severity=\"{severity}\",slo=\"availability\",slo_service=\"api\",slo_tier=\"{severity}\",team=\"core\"{extra_labels}}}"
    );
    suite.exprs.push(common::ExprTest {
        expr: alerts_selector(alert, &tier(severity)),
        at,
        samples: vec![Sample { labels, value: 1.0 }],
    });
}

fn not_firing_at(suite: &mut Suite, alert: &str, severity: Severity, at: u64) {
    suite.exprs.push(common::ExprTest {
        expr: alerts_selector(alert, &tier(severity)),
        at,
        samples: vec![],
    });
}

fn report(what: &str, math: f64, measured: Option<f64>) {
    eprintln!(
        "{what}: math {} s, promtool {} s",
        slo_core::num::format(math),
        measured.map_or("never".to_owned(), slo_core::num::format)
    );
}

fn suite(spec: &Spec, interval: u64) -> Suite {
    Suite::new(RuleFile::from_specs(std::slice::from_ref(spec)), interval)
}

/// The last evaluation at or before `t`.
fn tick_at_or_before(t: f64, interval: u64) -> u64 {
    (t / interval as f64).floor() as u64 * interval
}

/// A total outage pages within one evaluation interval after f*b*W/e
/// (51.84 s for 14.4x over 1h at 99.9%), and not before.
#[test]
fn total_outage_pages_within_one_interval_of_the_math() {
    let spec = api_spec("");
    let slo = slo(&spec);
    let interval = MIN;
    let t0 = 2 * HOUR; // a clean history longer than the 1h window
    let detect = slo
        .policy
        .detection_time(&slo.budget(), Some(Severity::Page), 1.0)
        .unwrap_or(f64::NAN);
    assert_eq!(slo_core::num::canonical(detect), 51.84);
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(30, REQUESTS, 1.0);
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    let t_math = t0 as f64 + detect;
    never_fired(
        &mut suite,
        "ApiBurn",
        Some(Severity::Page),
        tick_before(t_math, interval),
    );
    let deadline = tick_at_or_before(t_math + interval as f64, interval);
    firing_at(&mut suite, "ApiBurn", Severity::Page, deadline, "");
    suite.assert_passes();
    let (first, _) = fire_window(&suite, "ApiBurn", Severity::Page, t0 + 30 * MIN);
    report("total outage: page", detect, first.map(|f| f - t0 as f64));
    let first = first.unwrap_or(f64::NAN);
    assert!(
        first >= t_math && first <= t_math + interval as f64,
        "fired at {first}"
    );
}

/// `for` delays the page by exactly its duration after the condition holds.
#[test]
fn for_delays_the_page() {
    let spec = api_spec("      page:\n        for: 3m");
    let slo = slo(&spec);
    let interval = MIN;
    let t0 = 2 * HOUR;
    let detect = slo
        .policy
        .detection_time(&slo.budget(), Some(Severity::Page), 1.0)
        .unwrap_or(f64::NAN);
    let hold = slo.alerting.page.for_.map_or(0, |d| d.as_secs());
    assert_eq!(hold, 180);
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(30, REQUESTS, 1.0);
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    // The condition first holds at the first tick after the math; the
    // alert fires `for` later.
    let pending = common::tick_at_or_after(t0 as f64 + detect, interval);
    never_fired(
        &mut suite,
        "ApiBurn",
        Some(Severity::Page),
        pending + hold - interval,
    );
    firing_at(&mut suite, "ApiBurn", Severity::Page, pending + hold, "");
    suite.assert_passes();
}

/// At twice a pair's threshold the pair fires after half its long window
/// (f*b*W/e), for each of the four pairs; the tier that fires is the
/// pair's, and the other tier stays quiet where the math says it must.
#[test]
fn twice_the_threshold_fires_when_the_math_says() {
    let spec = api_spec("");
    let slo = slo(&spec);
    let budget = slo.budget();
    let mut lines = Vec::new();
    for p in slo.policy.pairs() {
        let e = 2.0 * p.error_ratio_threshold(&budget);
        let detect = p.detection_time(&budget, e).unwrap_or(f64::NAN);
        // The pair is the tier's fastest at this error ratio.
        assert_eq!(
            slo.policy.detection_time(&budget, Some(p.severity), e),
            Some(detect)
        );
        // Long windows derived from 5m steps lag by up to one step; the
        // ticket runs (days of history) are evaluated every 5m.
        let derived = rules::is_derived(&slo.sli, p.long);
        let interval = if p.severity == Severity::Page {
            MIN
        } else {
            5 * MIN
        };
        let slack = interval + if derived { STEP.as_secs() } else { 0 };
        // A clean history as long as every window of the tier: the 1d/2h and
        // 3d/6h pairs both spend 10% of the budget, so they tie.
        let t0 = slo
            .policy
            .tier(p.severity)
            .map(|q| q.long.as_secs())
            .max()
            .unwrap_or(0)
            + HOUR;
        let run = (detect as u64 + slack + 10 * MIN) / MIN;
        let traffic = Traffic::new()
            .run(t0 / MIN, REQUESTS, 0.0)
            .run(run, REQUESTS, e);
        let mut suite = suite(&spec, interval);
        suite.series = http_series("api", "", &traffic);
        let t_math = t0 as f64 + detect;
        never_fired(
            &mut suite,
            "ApiBurn",
            Some(p.severity),
            tick_before(t_math, interval),
        );
        let deadline = tick_at_or_before(t_math + slack as f64, interval);
        firing_at(&mut suite, "ApiBurn", p.severity, deadline, "");
        if p.severity == Severity::Ticket {
            // A ticket-level burn never pages.
            never_fired(&mut suite, "ApiBurn", Some(Severity::Page), t0 + run * MIN);
        }
        suite.assert_passes();
        let (first, _) = fire_window(&suite, "ApiBurn", p.severity, t0 + run * MIN);
        let measured = first.map(|f| f - t0 as f64);
        lines.push(format!(
            "{} {}/{} at e={}: math {} s, promtool {} s (eval every {} s)",
            p.severity,
            p.long,
            p.short,
            slo_core::num::format(e),
            slo_core::num::format(detect),
            measured.map_or("never".to_owned(), slo_core::num::format),
            interval
        ));
        let first = first.unwrap_or(f64::NAN);
        assert!(
            first >= t_math && first <= t_math + slack as f64,
            "{}",
            lines.join("\n")
        );
    }
    eprintln!("{}", lines.join("\n"));
}

/// A steady 0.05% error ratio (half the budget) with a daily 5-minute
/// spike to 10% never fires anything over four days, and the period's
/// budget remaining says how much is left.
#[test]
fn a_baseline_under_the_budget_never_fires() {
    let spec = api_spec("");
    let interval = 5 * MIN;
    let mut traffic = Traffic::new();
    for _ in 0..4 {
        traffic = traffic
            .run(20 * 60, REQUESTS, 0.0005)
            .run(5, REQUESTS, 0.1)
            .run(4 * 60 - 5, REQUESTS, 0.0005);
    }
    let end = traffic.len() * MIN;
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    never_fired(&mut suite, "ApiBurn", None, end);
    suite.assert_passes();
    let (good, bad) = traffic.counters();
    let (g, b) = (
        good.last().copied().flatten().unwrap_or(0) as f64,
        bad.last().copied().flatten().unwrap_or(0) as f64,
    );
    let expected = slo(&spec).budget().remaining(b / (g + b));
    let got = suite.measure(&[(
        format!("{}{{slo=\"availability\"}}", rules::PERIOD_BUDGET_REMAINING),
        end,
    )]);
    eprintln!("budget remaining after 4 days: expected {expected}, promtool {got:?}");
    let got = got[0].unwrap_or(f64::NAN);
    assert!(
        (got - expected).abs() < 0.01,
        "remaining {got}, expected {expected}"
    );
}

/// After an incident at 5% errors, the page clears once the 5m window
/// drains below the threshold, W_short*(1 - f*b/e) after the errors stop:
/// not before, within one evaluation interval after, inside the short window.
#[test]
fn the_page_clears_within_the_short_window() {
    let spec = api_spec("");
    let slo = slo(&spec);
    let budget = slo.budget();
    let interval = MIN;
    let e = 0.05;
    let fast = pair_with_long(slo, Duration::from_hours(1));
    let other = pair_with_long(slo, Duration::from_hours(6));
    let t0 = 7 * HOUR; // clean 6h window, so only the 1h/5m pair fires
    let incident = 30 * MIN;
    assert!(
        fast.detection_time(&budget, e)
            .is_some_and(|d| d < incident as f64)
    );
    let reset = fast.reset_time(&budget, e).unwrap_or(f64::NAN);
    let t_stop = (t0 + incident) as f64;
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(incident / MIN, REQUESTS, e)
        .run(60, REQUESTS, 0.0);
    let end = traffic.len() * MIN;
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    // Still firing at the last evaluation before the math says it clears.
    firing_at(
        &mut suite,
        "ApiBurn",
        Severity::Page,
        tick_before(t_stop + reset, interval),
        "",
    );
    let cleared = tick_at_or_before(t_stop + reset + interval as f64, interval);
    not_firing_at(&mut suite, "ApiBurn", Severity::Page, cleared);
    assert!(cleared as f64 <= t_stop + fast.short.as_secs_f64());
    suite.assert_passes();
    let (_, last) = fire_window(&suite, "ApiBurn", Severity::Page, end);
    // It clears at the evaluation after the last firing one.
    let cleared_at = last.map(|l| l + interval as f64 - t_stop);
    report(
        "5% incident: page clears after the errors stop",
        reset,
        cleared_at,
    );
    // The 6h/30m pair's threshold needs more than this incident spends.
    assert!(
        other
            .detection_time(&budget, e)
            .is_some_and(|d| d > incident as f64)
    );
}

/// Counter resets (restarts every 90 minutes) fire nothing, and do not bend
/// the period's error ratio.
#[test]
fn counter_resets_fire_nothing() {
    let spec = api_spec("");
    let interval = MIN;
    let mut traffic = Traffic::new();
    for _ in 0..5 {
        traffic = traffic.run(89, REQUESTS, 0.0005).reset(REQUESTS, 0.0005);
    }
    let end = traffic.len() * MIN;
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    never_fired(&mut suite, "ApiBurn", None, end);
    suite.assert_passes();
    let got = suite.measure(&[(
        format!("{}{{slo=\"availability\"}}", rules::PERIOD_BUDGET_REMAINING),
        end,
    )]);
    let got = got[0].unwrap_or(f64::NAN);
    assert!(
        (got - 0.5).abs() < 0.01,
        "remaining {got} after resets, expected 0.5"
    );
}

/// Hours without traffic (counters flat: every ratio is 0/0) fire nothing,
/// and the period's ratio is a number again as soon as traffic is back:
/// no NaN is carried.
#[test]
fn no_traffic_fires_nothing_and_poisons_nothing() {
    let spec = api_spec("");
    let interval = MIN;
    let traffic = Traffic::new()
        .run(2 * 60, REQUESTS, 0.0005)
        .run(3 * 60, 0, 0.0)
        .run(2 * 60, REQUESTS, 0.0005);
    let end = traffic.len() * MIN;
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    never_fired(&mut suite, "ApiBurn", None, end);
    suite.assert_passes();
    let got = suite.measure(&[
        (
            format!("{}{{slo=\"availability\"}}", rules::PERIOD_BUDGET_REMAINING),
            end,
        ),
        (
            format!("{}{{slo=\"availability\"}}", rules::PERIOD_ERROR_RATIO),
            4 * HOUR,
        ),
    ]);
    let remaining = got[0].unwrap_or(f64::NAN);
    assert!((remaining - 0.5).abs() < 0.01, "remaining {remaining}");
    // In the middle of the quiet hours the period ratio still holds the
    // traffic before them.
    let ratio = got[1].unwrap_or(f64::NAN);
    assert!((ratio - 0.0005).abs() < 0.00001, "period ratio {ratio}");
}

/// A 30-minute scrape gap (the service kept serving, the counters kept
/// counting) fires nothing.
#[test]
fn scrape_gaps_fire_nothing() {
    let spec = api_spec("");
    let interval = MIN;
    let traffic = Traffic::new()
        .run(2 * 60, REQUESTS, 0.0005)
        .gap(30, REQUESTS, 0.0005)
        .run(2 * 60, REQUESTS, 0.0005)
        .gap(7, REQUESTS, 0.0005)
        .run(60, REQUESTS, 0.0005);
    let end = traffic.len() * MIN;
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", "", &traffic);
    never_fired(&mut suite, "ApiBurn", None, end);
    suite.assert_passes();
}

/// A service serving 1 request a minute, below `min_events` in every page
/// window, does not page on three failed requests; the same burst pages
/// without the guard, and pages with it at 100 requests a minute.
#[test]
fn low_traffic_under_min_events_does_not_page() {
    // Event counts sum 5m steps that tile time only when each group runs at
    // its own interval: promtool runs every group at this one.
    let interval = STEP.as_secs();
    let guarded = api_spec("      min_events: 500");
    let unguarded = api_spec("");
    let burst = |per_minute: u64| {
        Traffic::new()
            .run(2 * 60, per_minute, 0.0)
            .run(3, per_minute, 1.0)
            .run(2 * 60, per_minute, 0.0)
    };
    let low = burst(1);
    let end = low.len() * MIN;

    let mut quiet = suite(&guarded, interval);
    quiet.series = http_series("api", "", &low);
    never_fired(&mut quiet, "ApiBurn", None, end);
    quiet.assert_passes();

    let mut control = suite(&unguarded, interval);
    control.series = http_series("api", "", &low);
    firing_at(
        &mut control,
        "ApiBurn",
        Severity::Page,
        2 * HOUR + 5 * MIN,
        "",
    );
    control.assert_passes();

    let mut busy = suite(&guarded, interval);
    busy.series = http_series("api", "", &burst(100));
    firing_at(&mut busy, "ApiBurn", Severity::Page, 2 * HOUR + 5 * MIN, "");
    busy.assert_passes();
}

/// A grouped SLO (`group_by: [route]`) fires only for the failing route.
#[test]
fn grouped_slos_fire_only_for_the_failing_group() {
    let spec = spec(
        r#"
version: slo/v1
service: api
labels:
  team: core
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="api",code=~"5.."}
        total: http_requests_total{job="api"}
        group_by: [route]
    alerting:
      name: ApiBurn
"#,
    );
    let interval = MIN;
    let t0 = 2 * HOUR;
    let failing = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(30, REQUESTS, 1.0);
    let healthy = Traffic::new().run(t0 / MIN + 30, REQUESTS, 0.0005);
    let mut suite = suite(&spec, interval);
    suite.series = http_series("api", ",route=\"/pay\"", &failing);
    suite
        .series
        .extend(http_series("api", ",route=\"/browse\"", &healthy));
    let at = t0 + 10 * MIN;
    // Exactly one page, for /pay.
    firing_at(&mut suite, "ApiBurn", Severity::Page, at, ",route=\"/pay\"");
    // And never for /browse.
    suite.exprs.push(common::ExprTest {
        expr: format!(
            "max_over_time({}[{}])",
            alerts_selector("ApiBurn", "route=\"/browse\""),
            Duration::from_secs(t0 + 30 * MIN)
        ),
        at: t0 + 30 * MIN,
        samples: vec![],
    });
    suite.assert_passes();
}

/// A latency SLI pages when requests get slow, reading buckets written
/// `le="300.0"` (Prometheus 3) for a 300 ms threshold.
#[test]
fn latency_sli_pages_on_slow_requests() {
    let spec = spec(
        r#"
version: slo/v1
service: api
labels:
  team: core
slos:
  - name: availability
    objective: 99.9
    sli:
      latency:
        histogram: rpc_duration_milliseconds
        selector: '{job="api"}'
        threshold: 300
    alerting:
      name: ApiBurn
"#,
    );
    let slo = slo(&spec);
    let interval = MIN;
    let t0 = 2 * HOUR;
    let detect = slo
        .policy
        .detection_time(&slo.budget(), Some(Severity::Page), 1.0)
        .unwrap_or(f64::NAN);
    // "good" requests are fast (<= 100 ms), "bad" ones take over a second.
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(30, REQUESTS, 1.0);
    let (fast, slow) = traffic.counters();
    let add = |a: &[Option<u64>], b: &[Option<u64>]| -> Vec<Option<u64>> {
        a.iter().zip(b).map(|(x, y)| Some((*x)? + (*y)?)).collect()
    };
    let all = add(&fast, &slow);
    let bucket = |le: &str, v: &[Option<u64>]| {
        (
            format!("rpc_duration_milliseconds_bucket{{job=\"api\",le=\"{le}\"}}"),
            common::expanding(v),
        )
    };
    let mut suite = suite(&spec, interval);
    suite.series = vec![
        bucket("100.0", &fast),
        bucket("300.0", &fast),
        bucket("1000.0", &fast),
        bucket("+Inf", &all),
        (
            "rpc_duration_milliseconds_count{job=\"api\"}".to_owned(),
            common::expanding(&all),
        ),
    ];
    let t_math = t0 as f64 + detect;
    never_fired(
        &mut suite,
        "ApiBurn",
        Some(Severity::Page),
        tick_before(t_math, interval),
    );
    firing_at(
        &mut suite,
        "ApiBurn",
        Severity::Page,
        tick_at_or_before(t_math + interval as f64, interval),
        "",
    );
    suite.assert_passes();
}

/// Label values with a quote, a backslash, a newline, `}` and `{{ }}`
/// survive YAML, PromQL and Go templates: promtool sees exactly the spec's
/// values on the alert, and the default description renders the burn rate.
#[test]
fn escaped_labels_round_trip_through_promtool() {
    let path = common::repo_root().join("slo-eval/tests/fixtures/escaping.yaml");
    let spec = common::spec_file(&path);
    let slo = slo(&spec);
    assert!(slo.labels["note"].contains("\"") && slo.labels["note"].contains('\n'));
    let interval = MIN;
    let t0 = 2 * HOUR;
    let traffic = Traffic::new()
        .run(t0 / MIN, REQUESTS, 0.0)
        .run(90, REQUESTS, 1.0);
    let mut suite = suite(&spec, interval);
    suite.series = http_series("tricky\"job", "", &traffic);
    let Some(alert) = rules::tier_alert(slo, rules::Naming::Native, Severity::Page) else {
        panic!("no page alert");
    };
    // Only the page tier is enabled in the fixture.
    assert!(rules::tier_alert(slo, rules::Naming::Native, Severity::Ticket).is_none());
    // An empty label value is no label at all in Prometheus.
    let mut labels: Vec<(String, String)> = slo
        .labels
        .clone()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    labels.extend(slo.alerting.labels.clone());
    labels.extend([
        ("severity".to_owned(), "page".to_owned()),
        ("slo".to_owned(), "availability".to_owned()),
        ("slo_service".to_owned(), "tricky".to_owned()),
        ("slo_tier".to_owned(), "page".to_owned()),
    ]);
    // After 90 minutes of errors the 1h window holds only errors: burn
    // rate 1 / b = 1000.
    let annotations: Vec<(String, String)> = alert
        .annotations
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace("{{ printf \"%.1f\" $value }}", "1000.0")
                .replace("{{ $labels.slo }}", "availability");
            (k.clone(), v)
        })
        .collect();
    suite.alerts.push(common::AlertTest {
        alertname: "TrickyBurn".to_owned(),
        at: t0 + 90 * MIN,
        alerts: vec![(labels, annotations)],
    });
    suite.assert_passes();
}

/// The data-absent alert is quiet by default (no rule at all) and, when
/// `absent_for` is set, fires that long after the SLI's series vanish,
/// while the burn-rate alerts stay quiet.
#[test]
fn absent_alert_fires_after_absent_for_and_only_when_asked() {
    let quiet = api_spec("");
    let file = RuleFile::from_specs(std::slice::from_ref(&quiet));
    assert!(
        !file.to_yaml().contains(rules::ABSENT_SUFFIX),
        "an absent alert was generated without absent_for"
    );
    let spec = api_spec("      absent_for: 10m");
    let interval = MIN;
    let traffic = Traffic::new().run(60, REQUESTS, 0.0005);
    let last_sample = traffic.len() * MIN;
    let mut suite = suite(&spec, interval);
    let mut series = http_series("api", "", &traffic);
    for (_, values) in &mut series {
        values.push_str(" _x40");
    }
    suite.series = series;
    let absent_for = 10 * MIN;
    // absent_over_time's range includes its start: a sample exactly 10m old
    // still counts.
    let fires = last_sample + absent_for + interval;
    never_fired(&mut suite, "ApiBurnAbsent", None, fires - interval);
    suite.exprs.push(common::ExprTest {
        expr: format!("count({})", alerts_selector("ApiBurnAbsent", "")),
        at: fires,
        samples: vec![Sample {
            labels: "{}".to_owned(),
            value: 1.0,
        }],
    });
    never_fired(&mut suite, "ApiBurn", None, last_sample + 40 * MIN);
    suite.assert_passes();
}
