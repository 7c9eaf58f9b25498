//! The generated rules in VictoriaMetrics' rule engine, `vmalert`: every
//! example loads (`vmalert -dryRun` parses each expression with MetricsQL
//! and each template), and a replay over history imported into a real
//! VictoriaMetrics (`vmalert -replay.timeFrom/-replay.timeTo`, results
//! written back with `-remoteWrite.url`) fires where Prometheus's own rule
//! engine (`promtool test rules`) fires on the same traffic.
//!
//! # Where the engines differ
//!
//! The traffic is sampled every minute on the minute and both engines
//! evaluate on the same grid, so the raw windows (5m, 30m, 1h) agree to
//! the bit (MetricsQL's non-extrapolating `increase` equals Prometheus's
//! when the window starts on a sample: see `tests/victoriametrics.rs`).
//! The windows derived from the 5m increase steps differ by how each engine
//! runs the steps' group: `vmalert` honours the group's `interval: 5m`, so
//! the steps tile time; `promtool test rules` evaluates every group at
//! every evaluation (1m), so its steps overlap five times over (the ratio
//! of their sums is the same, but its edges move by the minute, not by the
//! step). A tier whose pairs read derived windows may so start or stop up
//! to one step (5m) apart; a tier reading only raw windows agrees to the
//! minute.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::support::victoria::{self, VictoriaMetrics};
use common::{Suite, Traffic, alerts_selector, http_series, spec};
use slo_core::duration::Duration;
use slo_core::rules::{Rule, RuleFile, RuleGroup, STEP};
use slo_core::spec::Spec;

const MIN: u64 = 60;

/// `vmalert -dryRun` on `path`: loads, or fails with its output.
fn assert_loads(path: &Path) {
    let (ok, out) = victoria::vmalert_check(path);
    assert!(ok, "vmalert does not load {}:\n{out}", path.display());
}

/// Every example and fixture's rules (native and Sloth naming) load in
/// vmalert; a broken file does not (the check can fail).
#[test]
fn every_example_loads_in_vmalert() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut checked = 0;
    for file in common::all_spec_files() {
        let spec = common::spec_file(&file);
        for naming in [
            slo_core::rules::Naming::Native,
            slo_core::rules::Naming::Sloth,
        ] {
            let rules = RuleFile::from_specs_with(std::slice::from_ref(&spec), naming);
            let path = dir.path().join(format!("rules-{checked}.yml"));
            std::fs::write(&path, rules.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
            assert_loads(&path);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} files checked");
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m]) by\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (ok, out) = victoria::vmalert_check(&broken);
    assert!(!ok, "vmalert loaded a broken rule:\n{out}");
}

/// The rule file in dependency layers: layer 0 reads only raw series, layer
/// n reads something a group of layer n-1 records. A group reading its own
/// recorded series (the alerts read the group's windows) stays one group.
fn layers(file: &RuleFile) -> Vec<RuleFile> {
    let records = |g: &RuleGroup| -> BTreeSet<String> {
        g.rules
            .iter()
            .filter_map(|r| match r {
                Rule::Recording(r) => Some(r.record.clone()),
                Rule::Alerting(_) => None,
            })
            .collect()
    };
    let reads = |g: &RuleGroup, names: &BTreeSet<String>| {
        g.rules
            .iter()
            .any(|r| names.iter().any(|n| r.expr().contains(n.as_str())))
    };
    let mut left: Vec<RuleGroup> = file.groups.clone();
    let mut out = Vec::new();
    while !left.is_empty() {
        let pending: Vec<BTreeSet<String>> = left.iter().map(records).collect();
        let (ready, rest): (Vec<_>, Vec<_>) = left.iter().enumerate().partition(|(i, g)| {
            let others: BTreeSet<String> = pending
                .iter()
                .enumerate()
                .filter(|(j, _)| j != i)
                .flat_map(|(_, r)| r.iter().cloned())
                .collect();
            !reads(g, &others)
        });
        assert!(!ready.is_empty(), "a cycle between rule groups");
        out.push(RuleFile {
            groups: ready.into_iter().map(|(_, g)| g.clone()).collect(),
        });
        left = rest.into_iter().map(|(_, g)| g.clone()).collect();
    }
    out
}

fn api_spec() -> Spec {
    spec(
        r#"
version: slo/v1
service: api
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="api",code=~"5.."}
        total: http_requests_total{job="api"}
    alerting:
      name: ApiBurn
"#,
    )
}

/// `(first, last)` firing evaluation of a tier (seconds from the start),
/// through promtool.
fn promtool_fire_window(suite: &Suite, tier: &str, end: u64) -> (Option<f64>, Option<f64>) {
    let sel = alerts_selector("ApiBurn", &format!("slo_tier=\"{tier}\""));
    let range = Duration::from_secs(end);
    let got = suite.measure(&[
        (format!("min_over_time(timestamp({sel})[{range}:1m])"), end),
        (format!("max_over_time(timestamp({sel})[{range}:1m])"), end),
    ]);
    (got[0], got[1])
}

/// The same traffic in promtool and in a vmalert replay: 7h clean (every
/// page window full), then 40 minutes at 5% errors (the 1h/5m page fires
/// after f*b*W/e = 17.3 min; the 1d/2h ticket once the 1d window, 7h40m of
/// data, averages over 0.3%), then 2.5h clean (both clear). Page and
/// ticket must start and stop where promtool says, within the module
/// doc's tolerance.
#[test]
fn vmalert_replay_fires_where_promtool_does() {
    let spec = api_spec();
    let requests = 10_000;
    let traffic = Traffic::new()
        .run(7 * 60, requests, 0.0)
        .run(40, requests, 0.05)
        .run(150, requests, 0.0);
    let end = traffic.len() * MIN;
    let rules = RuleFile::from_specs(std::slice::from_ref(&spec));

    let mut suite = Suite::new(rules.clone(), MIN);
    suite.series = http_series("api", "", &traffic);
    let promtool: Vec<(Option<f64>, Option<f64>)> = ["page", "ticket"]
        .iter()
        .map(|tier| promtool_fire_window(&suite, tier, end))
        .collect();

    // The same samples in VictoriaMetrics, from a start on every group's
    // grid (a multiple of 5m and 2m30s).
    let t0: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z
    let (good, bad) = traffic.counters();
    let mut text = String::new();
    for (code, values) in [("200", &good), ("500", &bad)] {
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let t = (t0 + i as i64 * 60) * 1000;
                text.push_str(&format!(
                    "http_requests_total{{job=\"api\",code=\"{code}\"}} {v} {t}\n"
                ));
            }
        }
    }
    let vm = VictoriaMetrics::start();
    vm.import_text(&text);
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, layer) in layers(&rules).iter().enumerate() {
        let path = vm.dir().join(format!("layer-{i}.yml"));
        std::fs::write(&path, layer.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
        files.push(path);
    }
    assert!(files.len() >= 2, "the steps and the windows are layers");
    let rfc = |t: i64| slo_core::time::format(t * 1000);
    vm.vmalert_replay(&files, &rfc(t0), &rfc(t0 + end as i64));
    let firing = vm.export("ALERTS{alertname=\"ApiBurn\",alertstate=\"firing\"}");

    let mut lines = Vec::new();
    for (tier, (p_first, p_last)) in ["page", "ticket"].iter().zip(&promtool) {
        let times: Vec<f64> = firing
            .iter()
            .filter(|(labels, _)| labels.get("slo_tier").map(String::as_str) == Some(*tier))
            .flat_map(|(_, points)| points.iter())
            .filter(|(_, v)| *v == 1.0)
            .map(|(t, _)| (*t / 1000 - t0) as f64)
            .collect();
        let v_first = times.iter().copied().reduce(f64::min);
        let v_last = times.iter().copied().reduce(f64::max);
        lines.push(format!(
            "{tier}: promtool {:?}..{:?} s, vmalert {v_first:?}..{v_last:?} s",
            p_first, p_last
        ));
        let (Some(pf), Some(pl), Some(vf), Some(vl)) = (*p_first, *p_last, v_first, v_last) else {
            panic!("a tier never fired:\n{}\n{}", lines.join("\n"), vm.log());
        };
        let derived = spec.slos[0]
            .policy
            .tier(if *tier == "page" {
                slo_core::policy::Severity::Page
            } else {
                slo_core::policy::Severity::Ticket
            })
            .any(|p| slo_core::rules::is_derived(&spec.slos[0].sli, p.long));
        let slack = if derived { STEP.as_secs_f64() } else { 0.0 };
        assert!(
            (pf - vf).abs() <= slack && (pl - vl).abs() <= slack,
            "{tier} (tolerance {slack} s):\n{}",
            lines.join("\n")
        );
    }
    eprintln!("{}", lines.join("\n"));
}
