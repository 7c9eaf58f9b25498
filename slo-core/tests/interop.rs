//! Sloth and OpenSLO specs read into the same `Spec` as their slo/v1
//! equivalents, and every spec written back as slo/v1 reads back equal.

use std::path::{Path, PathBuf};

use slo_core::diagnostic::{Diagnostic, Level};
use slo_core::load;
use slo_core::native;
use slo_core::policy::Severity;
use slo_core::spec::{Counted, Sli, Spec};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn load(src: &str) -> Spec {
    load::load_str(src).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn errors(src: &str) -> Vec<Diagnostic> {
    let (spec, diags) = load::check(src);
    assert!(spec.is_none(), "expected errors, got a spec");
    diags
        .into_iter()
        .filter(|d| d.level == Level::Error)
        .collect()
}

/// Every example and valid fixture, whatever its format.
fn every_valid_spec() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "examples/specs",
        "examples/sloth",
        "examples/openslo",
        "slo-eval/tests/fixtures/valid",
    ] {
        files.extend(yaml_files(&root().join(dir)));
    }
    assert!(files.len() >= 5, "{files:?}");
    files
}

#[test]
fn every_spec_written_as_slo_v1_reads_back_equal() {
    for file in every_valid_spec() {
        let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let spec = load(&src);
        let text = native::to_yaml(&spec);
        let (back, diags) = load::check(&text);
        assert_eq!(
            back.as_ref(),
            Some(&spec),
            "{}: {diags:?}\n{text}",
            file.display()
        );
        // Written once more, the text is the same: the writer is stable.
        assert_eq!(native::to_yaml(&load(&text)), text, "{}", file.display());
    }
}

const SLOTH: &str = r#"
version: prometheus/v1
service: myservice
labels: {owner: myteam}
slos:
  - name: requests-availability
    objective: 99.9
    description: Requests that succeed
    labels: {category: availability}
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels: {category: availability}
      annotations: {summary: High error rate}
      page_alert: {labels: {severity: critical}}
      ticket_alert: {disable: true}
"#;

const NATIVE: &str = r#"
version: slo/v1
service: myservice
labels: {owner: myteam}
slos:
  - name: requests-availability
    objective: 99.9
    period: 30d
    description: Requests that succeed
    labels: {category: availability}
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels: {category: availability}
      annotations: {summary: High error rate}
      page: {labels: {severity: critical}}
      ticket: {disable: true}
      windows: google-30d
"#;

#[test]
fn a_sloth_spec_is_its_slo_v1_equivalent() {
    assert_eq!(load(SLOTH), load(NATIVE));
}

#[test]
fn a_sloth_manifest_is_the_same_spec() {
    let manifest = r#"
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: myservice, namespace: monitoring}
spec:
  service: myservice
  labels: {owner: myteam}
  slos:
    - name: requests-availability
      objective: 99.9
      description: Requests that succeed
      labels: {category: availability}
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total[{{.window}}]))
      alerting:
        name: MyServiceHighErrorRate
        labels: {category: availability}
        annotations: {summary: High error rate}
        pageAlert: {labels: {severity: critical}}
        ticketAlert: {disable: true}
"#;
    assert_eq!(load(manifest), load(SLOTH));
}

#[test]
fn sloth_without_alerting_pages_and_tickets_on_google_30d() {
    let spec = load(
        "version: prometheus/v1\nservice: a\nslos:\n  - name: b\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: x[{{.window}}]\n",
    );
    let slo = &spec.slos[0];
    let pairs: Vec<(Severity, String, String, f64)> = slo
        .policy
        .pairs()
        .iter()
        .map(|p| {
            (
                p.severity,
                p.long.to_string(),
                p.short.to_string(),
                p.factor,
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (Severity::Page, "1h".into(), "5m".into(), 14.4),
            (Severity::Page, "6h".into(), "30m".into(), 6.0),
            (Severity::Ticket, "1d".into(), "2h".into(), 3.0),
            (Severity::Ticket, "3d".into(), "6h".into(), 1.0),
        ]
    );
    assert_eq!(slo.alerting.name, load::DEFAULT_ALERT_NAME);
}

fn openslo(sli: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: openslo/v1
kind: SLO
metadata: {{name: availability}}
spec:
  service: checkout
  budgetingMethod: Occurrences
  objectives: [{{targetPercent: 99.5}}]
  indicator:
    metadata: {{name: sli}}
    spec:
      ratioMetric:
{sli}
{extra}"#
    )
}

fn prom(query: &str) -> String {
    format!("{{metricSource: {{type: Prometheus, spec: {{query: '{query}'}}}}}}")
}

#[test]
fn openslo_selectors_make_a_ratio_sli() {
    let sli = format!(
        "        counter: true\n        good: {}\n        total: {}",
        prom(r#"http_requests_total{code!~"5.."}"#),
        prom("http_requests_total")
    );
    let spec = load(&openslo(&sli, ""));
    let slo = &spec.slos[0];
    assert_eq!(slo.period.to_string(), "30d");
    let Sli::Ratio(r) = &slo.sli else {
        panic!("{:?}", slo.sli)
    };
    assert_eq!(
        r.counted,
        Counted::Good(r#"http_requests_total{code!~"5.."}"#.into())
    );
    assert_eq!(r.total, "http_requests_total");
    // No alert policy: the Workbook windows, as in slo/v1.
    assert_eq!(slo.policy.pairs().len(), 4);
}

#[test]
fn openslo_windowed_queries_make_an_events_sli() {
    let sli = format!(
        "        good: {}\n        total: {}",
        prom("sum(rate(ok_total[{{.window}}]))"),
        prom("all_total")
    );
    let spec = load(&openslo(&sli, ""));
    let Sli::Events(e) = &spec.slos[0].sli else {
        panic!("{:?}", spec.slos[0].sli)
    };
    assert_eq!(
        e.error_query,
        "(sum(rate(all_total[{{.window}}]))) - (sum(rate(ok_total[{{.window}}])))"
    );
    assert_eq!(e.total_query, "sum(rate(all_total[{{.window}}]))");
}

#[test]
fn openslo_raw_success_ratio_is_inverted() {
    let sli = format!(
        "        rawType: success\n        raw: {}",
        prom("avg_over_time(probe_success[{{.window}}])")
    );
    let spec = load(&openslo(&sli, ""));
    let Sli::Raw(r) = &spec.slos[0].sli else {
        panic!("{:?}", spec.slos[0].sli)
    };
    assert_eq!(
        r.error_ratio_query,
        "1 - (avg_over_time(probe_success[{{.window}}]))"
    );
}

fn condition(severity: &str, threshold: f64, lookback: &str, after: &str) -> String {
    format!(
        "        - kind: AlertCondition\n          metadata: {{name: c-{lookback}}}\n          spec:\n            severity: {severity}\n            condition: {{kind: burnrate, op: gt, threshold: {threshold}, lookbackWindow: {lookback}, alertAfter: {after}}}\n"
    )
}

#[test]
fn openslo_conditions_become_window_pairs_with_a_twelfth_short_window() {
    let sli = format!(
        "        bad: {}\n        total: {}",
        prom("errors_total"),
        prom("requests_total")
    );
    let policies = format!(
        "  alertPolicies:\n    - kind: AlertPolicy\n      metadata: {{name: p}}\n      spec:\n        conditions:\n{}{}{}",
        condition("critical", 14.4, "1h", "2m"),
        condition("sev2", 1.0, "3d", "1h"),
        condition("page", 6.0, "6h", "5m"),
    );
    let (spec, diags) = load::check(&openslo(&sli, &policies));
    let slo = &spec.unwrap_or_else(|| panic!("{diags:?}")).slos[0];
    let pairs: Vec<(Severity, String, String, f64)> = slo
        .policy
        .pairs()
        .iter()
        .map(|p| {
            (
                p.severity,
                p.long.to_string(),
                p.short.to_string(),
                p.factor,
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (Severity::Page, "1h".into(), "5m".into(), 14.4),
            (Severity::Page, "6h".into(), "30m".into(), 6.0),
            (Severity::Ticket, "3d".into(), "6h".into(), 1.0),
        ]
    );
    // The page tier waits for the shortest alertAfter, with a warning.
    assert_eq!(
        slo.alerting.page.for_.map(|d| d.to_string()),
        Some("2m".into())
    );
    assert_eq!(
        slo.alerting.ticket.for_.map(|d| d.to_string()),
        Some("1h".into())
    );
    assert!(
        diags
            .iter()
            .any(|d| d.level == Level::Warning && d.message.contains("alertAfter 5m differs")),
        "{diags:?}"
    );
}

/// Regression (issue 12): `alertAfter: 0m` was refused ("must be longer
/// than 0"), but no wait is a valid `for`; a zero lookbackWindow still is not.
#[test]
fn openslo_alert_after_zero_is_no_wait() {
    let sli = format!(
        "        bad: {}\n        total: {}",
        prom("errors_total"),
        prom("requests_total")
    );
    for after in ["0m", "0h", "0"] {
        let policies = format!(
            "  alertPolicies:\n    - kind: AlertPolicy\n      metadata: {{name: p}}\n      spec:\n        conditions:\n{}",
            condition("page", 14.4, "1h", after),
        );
        let (spec, diags) = load::check(&openslo(&sli, &policies));
        let spec = spec.unwrap_or_else(|| panic!("alertAfter: {after}: {diags:?}"));
        assert_eq!(spec.slos[0].alerting.page.for_, None, "alertAfter: {after}");
    }
    let policies = format!(
        "  alertPolicies:\n    - kind: AlertPolicy\n      metadata: {{name: p}}\n      spec:\n        conditions:\n{}",
        condition("page", 14.4, "0m", "0m"),
    );
    let (spec, diags) = load::check(&openslo(&sli, &policies));
    assert!(spec.is_none());
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("`lookbackWindow` must be longer than 0")),
        "{diags:?}"
    );
}

#[test]
fn openslo_objects_may_be_one_yaml_list() {
    let src = r#"
- apiVersion: openslo/v1
  kind: SLI
  metadata: {name: errors}
  spec:
    ratioMetric:
      counter: true
      bad: {metricSource: {metricSourceRef: prom, spec: {query: errors_total}}}
      total: {metricSource: {metricSourceRef: prom, spec: {query: requests_total}}}
- apiVersion: openslo/v1
  kind: DataSource
  metadata: {name: prom}
  spec: {type: prometheus}
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: availability}
  spec:
    service: api
    indicatorRef: errors
    budgetingMethod: Occurrences
    timeWindow: [{duration: 2w, isRolling: true}]
    objectives: [{target: 0.99}]
"#;
    let spec = load(src);
    assert_eq!(spec.service, "api");
    assert_eq!(spec.slos[0].period.to_string(), "2w");
    assert_eq!(spec.slos[0].objective.percent(), 99.0);
}

#[test]
fn openslo_problems_are_reported_at_their_place() {
    let sli = format!(
        "        bad: {}\n        total: {}",
        prom("errors_total"),
        prom("requests_total")
    );
    let src = openslo(&sli, "").replace(
        "budgetingMethod: Occurrences",
        "budgetingMethod: RatioTimeslices",
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "SLO/availability.spec.budgetingMethod");
    assert_eq!((errs[0].location.line, errs[0].location.column), (7, 20));
}

#[test]
fn openslo_with_no_slo_is_an_error() {
    let errs = errors("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: a}\nspec: {}\n");
    assert!(errs[0].message.contains("no SLO in this file"), "{errs:?}");
}

#[test]
fn several_objectives_are_one_too_many() {
    let sli = format!(
        "        bad: {}\n        total: {}",
        prom("errors_total"),
        prom("requests_total")
    );
    let src = openslo(&sli, "").replace(
        "objectives: [{targetPercent: 99.5}]",
        "objectives: [{targetPercent: 99.5}, {target: 0.99}]",
    );
    let errs = errors(&src);
    assert!(
        errs.iter()
            .any(|d| d.message.contains("more than one objective")),
        "{errs:?}"
    );
}

#[test]
fn nothing_panics_on_odd_shapes() {
    for src in [
        "apiVersion: openslo/v1\n",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: []\nspec: 3\n",
        "- apiVersion: openslo/v1\n- 3\n- [x]\n",
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec: {service: a, budgetingMethod: Occurrences, objectives: [], indicatorRef: [], timeWindow: [{duration: 0d}], alertPolicies: [3, {alertPolicyRef: {}}]}\n",
        "apiVersion: openslo/v1\nkind: AlertCondition\nmetadata: {name: a}\nspec: {severity: page, condition: {lookbackWindow: 11ms, threshold: .nan}}\n",
        "apiVersion: openslo/v1\nkind: AlertCondition\nmetadata: {name: a}\nspec: {severity: page, condition: {lookbackWindow: 99999999999999999999w, threshold: 1}}\n",
        "version: prometheus/v1\n",
        "version: prometheus/v1\nslos: {}\nservice: []\n",
        "apiVersion: sloth.slok.dev/v1\n",
        "apiVersion: sloth.slok.dev/v1\nkind: X\nmetadata: 1\nspec: {slos: [{sli: {events: 1, raw: 2}}]}\n",
    ] {
        let (spec, diags) = load::check(src);
        assert!(spec.is_none(), "{src}");
        assert!(diags.iter().any(Diagnostic::is_error), "{src}");
    }
}

/// Every example with each line dropped, and with each value replaced by
/// something of another shape: the loader reports, never panics.
#[test]
fn mangled_examples_never_panic() {
    for file in every_valid_spec() {
        let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = src.lines().collect();
        for i in 0..lines.len() {
            let mut dropped = lines.clone();
            dropped.remove(i);
            let _ = load::check(&dropped.join("\n"));
            let Some((key, _)) = lines[i].split_once(": ") else {
                continue;
            };
            for value in ["[]", "{}", "~", "0", "-1", "x", "'{{.window}}'", "[a, [b]]"] {
                let mut changed = lines.clone();
                let line = format!("{key}: {value}");
                changed[i] = &line;
                let _ = load::check(&changed.join("\n"));
            }
        }
    }
}

/// The slices SLI of an OpenSLO Timeslices SLO.
fn slices_of(spec: &slo_core::spec::Spec) -> slo_core::spec::SlicesSli {
    match &spec.slos[0].sli {
        slo_core::spec::Sli::Slices(s) => s.clone(),
        other => panic!("expected a slices SLI, got {other:?}"),
    }
}

#[test]
fn openslo_timeslices_over_a_ratio_judge_each_slice_by_its_ratio() {
    let sli = format!(
        "        counter: true\n        bad: {}\n        total: {}",
        prom(r#"http_requests_total{code=~"5.."}"#),
        prom("http_requests_total")
    );
    let src = openslo(&sli, "")
        .replace(
            "budgetingMethod: Occurrences",
            "budgetingMethod: Timeslices",
        )
        .replace(
            "objectives: [{targetPercent: 99.5}]",
            "objectives: [{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m}]",
        );
    let spec = load(&src);
    let s = slices_of(&spec);
    assert_eq!(spec.slos[0].objective.percent(), 99.0);
    assert_eq!(
        (s.op, s.threshold, s.slice.to_string()),
        (slo_core::spec::SliceOp::Ge, 0.95, "1m".to_owned())
    );
    assert_eq!(
        s.query,
        r#"1 - (sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m])))"#
    );
    // Written as slo/v1, it reads back the same.
    let native = slo_core::native::to_yaml(&spec);
    assert_eq!(load(&native), spec, "{native}");
}

#[test]
fn openslo_timeslices_over_a_threshold_metric_compare_it_each_slice() {
    let threshold = |objective: &str| {
        format!(
            r#"
apiVersion: openslo/v1
kind: SLO
metadata: {{name: p99-latency}}
spec:
  service: checkout
  budgetingMethod: Timeslices
  objectives: [{objective}]
  indicator:
    metadata: {{name: p99}}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[{{{{.window}}}}])))
"#
        )
    };
    let spec = load(&threshold(
        "{target: 0.99, op: lte, value: 0.3, timeSliceWindow: 5m}",
    ));
    let s = slices_of(&spec);
    assert_eq!(
        s.query,
        "histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[5m])))"
    );
    assert_eq!((s.op, s.threshold), (slo_core::spec::SliceOp::Le, 0.3));
    let spec = load(&threshold(
        "{target: 0.99, op: lt, value: 0.3, timeSliceTarget: 0.9, timeSliceWindow: 5m}",
    ));
    let s = slices_of(&spec);
    assert_eq!(
        (s.query.as_str(), s.op, s.threshold),
        (
            "avg_over_time((((histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[5m])))) >= -Inf) < bool 0.3)[5m:])",
            slo_core::spec::SliceOp::Ge,
            0.9
        )
    );
    // Each missing piece is named at the objective; the wrong budgeting at the metric.
    let errs = errors(&threshold("{target: 0.99, timeSliceWindow: 7m}"));
    let messages: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with("missing field `op`"))
            && messages
                .iter()
                .any(|m| m.starts_with("missing field `value`")),
        "{messages:?}"
    );
    let errs = errors(&threshold("{target: 0.99, op: lte, value: 0.3}"));
    assert!(
        errs[0]
            .message
            .starts_with("missing field `timeSliceWindow`"),
        "{errs:?}"
    );
    let errs = errors(&threshold(
        "{target: 0.99, op: lte, value: 0.3, timeSliceWindow: 2m}",
    ));
    assert!(errs[0].message.contains("does not divide"), "{errs:?}");
    assert_eq!(
        errs[0].field,
        "SLO/p99-latency.spec.objectives[0].timeSliceWindow"
    );
    let errs = errors(&threshold("{target: 0.99, op: lte, value: 0.3}").replace(
        "budgetingMethod: Timeslices",
        "budgetingMethod: Occurrences",
    ));
    assert!(
        errs.iter().any(
            |d| d.message.contains("needs `budgetingMethod: Timeslices`")
                && d.field == "SLO/p99-latency.spec.indicator.spec.thresholdMetric"
        ),
        "{errs:?}"
    );
}
