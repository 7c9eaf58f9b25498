//! What `validate` refuses, `promtool check rules` refuses too, and what it
//! accepts, promtool accepts (issue 12: a selector typo, non-ASCII or broken
//! PromQL, broken `{{ }}` templates and `for: 293y` passed `validate` and
//! broke Prometheus's rule loading).
//!
//! Each rejected case is put into an otherwise valid SLO behind the
//! loader's back, the rules are generated from it as `generate` would, and
//! the real promtool must refuse the file; the same text must be refused
//! by the check `validate` runs. Accepted templates go through promtool
//! the same way and must pass.

mod common;

use std::path::Path;
use std::process::Command;

use slo_core::check;
use slo_core::duration::Duration;
use slo_core::rules::RuleFile;
use slo_core::spec::{Counted, EventsSli, RawSli, Sli, Slo, Spec};

const BASE: &str = "version: slo/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job=\"checkout\",code=~\"5..\"}
        total: http_requests_total{job=\"checkout\"}
";

const SLICES: &str = "version: slo/v1
service: checkout
slos:
  - name: probes
    objective: 99
    sli:
      slices:
        query: max(probe_success{job=\"blackbox\"})
        op: \">=\"
        threshold: 1
        slice: 1m
";

/// Whether promtool loads the rules generated for `slo`, and its output.
fn promtool_accepts(dir: &Path, slo: &Slo) -> (bool, String) {
    let spec = Spec {
        service: slo.service.clone(),
        labels: Default::default(),
        slos: vec![slo.clone()],
    };
    let path = dir.join("rules.yml");
    std::fs::write(&path, RuleFile::from_specs(&[spec]).to_yaml())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(common::promtool())
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn base() -> Slo {
    common::spec(BASE).slos[0].clone()
}

const BAD_SELECTORS: [&str; 4] = [
    "http_requests_total{desti~ation=\"checkout\"}",
    "http_requests_total{job=\"checkout\",,}",
    "http_requests_tötal{job=\"checkout\"}",
    "http_requests_total{rüte=\"/\"}",
];

const BAD_QUERIES: [&str; 4] = [
    "sum(rate(http_requests_tötal[{{.window}}]))",
    "sum(rate(errors_total[{{.window}}])) / sum(rate(requests_total[{{.window}}])) /",
    "sum by (code (rate(x[{{.window}}]))",
    "sum(rate(x[{{.window}}])) and on",
];

const BAD_TEMPLATES: [&str; 12] = [
    "{{ $value | humanize }",
    "{{ $value",
    "{{ $foo }}",
    "{{ }}",
    "{{ end }}",
    "{{ if $value }}x",
    "{{-$value}}",
    "{{/* c */ }}",
    "{{ $value | \"x\" }}",
    "{{ humanise $value }}",
    "{{ break }}",
    "{{ $value.5 }}",
];

const GOOD_TEMPLATES: [&str; 14] = [
    "{{ $labels.instance }} is {{ $value }}",
    "{{ .Labels.route }}",
    "{{ $value | humanize }}",
    "{{ $value | humanizePercentage | printf \"%s\" }}",
    "{{- $value -}}",
    "{{/* a comment */}}",
    "{{- /* trimmed */ -}}",
    "{{ if gt $value 1.5 }}high{{ else if lt $value 0.0 }}neg{{ else }}ok{{ end }}",
    "{{ range $i, $e := $labels }}{{ $i }}={{ $e }}{{ end }}",
    "{{ with $value }}{{ . }}{{ end }}",
    "{{ $x := 1 }}{{ $x }}",
    "{{ (humanize $value) }}",
    "{{ $externalURL }}/graph?g0.expr={{ reReplaceAll \"x\" \"y\" \"z\" }}",
    "{{ \"}}\" }}",
];

#[test]
fn what_validate_refuses_promtool_refuses() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cases: Vec<(String, Result<(), String>, Slo)> = Vec::new();
    for s in BAD_SELECTORS {
        let mut slo = base();
        slo.sli = Sli::Ratio(slo_core::spec::RatioSli {
            counted: Counted::Errors(s.to_owned()),
            total: "http_requests_total".to_owned(),
            group_by: Vec::new(),
        });
        cases.push((format!("selector {s}"), check::selector(s), slo));
    }
    for q in BAD_QUERIES {
        let mut slo = base();
        slo.sli = Sli::Events(EventsSli {
            error_query: q.to_owned(),
            total_query: "sum(rate(http_requests_total[{{.window}}]))".to_owned(),
        });
        cases.push((format!("events query {q}"), check::query(q), slo.clone()));
        slo.sli = Sli::Raw(RawSli {
            error_ratio_query: q.to_owned(),
        });
        cases.push((format!("raw query {q}"), check::query(q), slo));
        let mut slo = common::spec(SLICES).slos[0].clone();
        if let Sli::Slices(s) = &mut slo.sli {
            s.query = q.replace("{{.window}}", "1m");
        }
        cases.push((
            format!("slices query {q}"),
            check::query(&q.replace("{{.window}}", "1m")),
            slo,
        ));
    }
    for t in BAD_TEMPLATES {
        let mut slo = base();
        slo.alerting.annotations.insert("summary".into(), t.into());
        cases.push((format!("annotation {t}"), check::template(t), slo));
        let mut slo = base();
        slo.alerting.labels.insert("team".into(), t.into());
        cases.push((format!("label {t}"), check::template(t), slo));
    }
    let mut slo = base();
    let long: Duration = "293y".parse().unwrap_or_else(|e| panic!("{e}"));
    slo.alerting.page.for_ = Some(long);
    cases.push(("for: 293y".into(), check::duration(long), slo));
    for (what, ours, slo) in &cases {
        assert!(ours.is_err(), "validate's check accepts {what}");
        let (ok, out) = promtool_accepts(dir.path(), slo);
        assert!(
            !ok,
            "promtool accepts {what}, which validate refuses:\n{out}"
        );
    }
    // The limit is exact: 292y passes both.
    let mut slo = base();
    let d: Duration = "292y".parse().unwrap_or_else(|e| panic!("{e}"));
    slo.alerting.page.for_ = Some(d);
    assert_eq!(check::duration(d), Ok(()));
    let (ok, out) = promtool_accepts(dir.path(), &slo);
    assert!(ok, "{out}");
}

#[test]
fn what_validate_accepts_promtool_accepts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut slo = base();
    for (i, t) in GOOD_TEMPLATES.iter().enumerate() {
        assert_eq!(check::template(t), Ok(()), "{t}");
        slo.alerting
            .annotations
            .insert(format!("a{i}"), (*t).to_owned());
        slo.alerting.labels.insert(format!("l{i}"), (*t).to_owned());
    }
    // Non-ASCII inside strings is fine for both.
    let q = "sum(rate(http_requests_total{route=\"/café\"}[{{.window}}]))";
    assert_eq!(check::query(q), Ok(()));
    slo.sli = Sli::Events(EventsSli {
        error_query: q.to_owned(),
        total_query: "sum(rate(http_requests_total[{{.window}}]))".to_owned(),
    });
    assert_eq!(check::generated(&slo), Vec::<String>::new());
    let (ok, out) = promtool_accepts(dir.path(), &slo);
    assert!(ok, "{out}");
}
