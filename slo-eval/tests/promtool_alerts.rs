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

fn pair(slo: &Slo, long: Duration) -> WindowPair {
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
fn fire_window(suite: &Suite, alert: &str, severity: Severity, end: u64) -> (Option<f64>, Option<f64>) {
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

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

fn report(what: &str, math: f64, measured: Option<f64>) {
    eprintln!(
        "{what}: math {} s, promtool {} s",
        slo_core::num::format(math),
        measured.map_or("never".to_owned(), slo_core::num::format)
    );
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
    let mut suite = Suite::new(RuleFile::from_specs(std::slice::from_ref(&spec)), interval);
    suite.series = http_series("api", "", &traffic);
    let t_math = t0 as f64 + detect;
    never_fired(&mut suite, "ApiBurn", Some(Severity::Page), tick_before(t_math, interval));
    let deadline = ((t_math + interval as f64) / interval as f64).floor() as u64 * interval;
    firing_at(&mut suite, "ApiBurn", Severity::Page, deadline, "");
    suite.assert_passes();
    let (first, _) = fire_window(&suite, "ApiBurn", Severity::Page, t0 + 30 * MIN);
    report("total outage, page after the outage starts", detect, first.map(|f| f - t0 as f64));
    let first = first.unwrap_or(f64::NAN);
    assert!(first >= t_math && first <= t_math + interval as f64, "fired at {first}");
}
