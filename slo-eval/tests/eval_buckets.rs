//! `eval` against a real Prometheus and `backtest` over the same samples
//! agree on latency SLIs whose bucket bounds clients spelled their own way
//! (`1e+06`, `0.15000000000000002`, `0.30`); a threshold that is no bucket
//! is no data in `eval` (held, never ok) and an error in `backtest`.
//!
//! Regression: with `threshold: 1000000` against `le="1e+06"` and every
//! request slow, `eval` reported "ok, 100% of the budget left" while
//! `backtest` on the same samples paged at 100x; with a threshold between
//! two buckets, `eval` read the missing bucket as zero errors.

mod support;

use std::path::{Path, PathBuf};

use slo_core::events::{self, Counts};
use slo_core::series::{Steps, WindowedSums};
use slo_core::spec::Spec;
use support::{OpenMetrics, Prometheus};

/// Three latency SLOs over the same traffic, each reading a histogram whose
/// threshold bucket is spelled differently.
const SPELLINGS: &str = r#"
version: slo/v1
service: api
slos:
  - name: go-exponent
    objective: 99.9
    sli:
      latency: {histogram: rpc_duration, selector: '{job="a"}', threshold: 1000000}
  - name: go-noise
    objective: 99.9
    sli:
      latency: {histogram: rpc_duration, selector: '{job="b"}', threshold: 0.15}
  - name: trailing-zero
    objective: 99.9
    sli:
      latency: {histogram: rpc_duration, selector: '{job="c"}', threshold: 0.3}
"#;

/// Buckets of each job, `true` for bounds at or under the threshold (fast
/// requests only).
const BUCKETS: [(&str, [(&str, bool); 4]); 3] = [
    (
        "a",
        [
            ("500000", true),
            ("1e+06", true),
            ("2.5e+06", false),
            ("+Inf", false),
        ],
    ),
    (
        "b",
        [
            ("0.05", true),
            ("0.15000000000000002", true),
            ("0.45000000000000007", false),
            ("+Inf", false),
        ],
    ),
    (
        "c",
        [
            ("0.10", true),
            ("0.30", true),
            ("1.00", false),
            ("+Inf", false),
        ],
    ),
];

/// A threshold between the buckets 0.25 and 0.5.
const NO_BUCKET: &str = r#"
version: slo/v1
service: api
slos:
  - name: between-buckets
    objective: 99.9
    sli:
      latency: {histogram: rpc_duration, selector: '{job="d"}', threshold: 0.3}
"#;

const STEP: i64 = 30;

/// Histogram counters for `job`: 10 requests/s, `slow(t)` of them slower
/// than the threshold, sampled every 30 s over `[start, end]`.
fn histogram(
    om: &mut OpenMetrics,
    job: &str,
    buckets: &[(&str, bool)],
    (start, end): (i64, i64),
    slow: impl Fn(i64) -> f64,
) {
    let (mut fast_n, mut slow_n) = (0.0_f64, 0.0_f64);
    let (mut fast, mut all) = (Vec::new(), Vec::new());
    let mut t = start;
    while t <= end {
        fast.push((t, fast_n.round()));
        all.push((t, (fast_n + slow_n).round()));
        let n = 10.0 * STEP as f64;
        slow_n += n * slow(t);
        fast_n += n * (1.0 - slow(t));
        t += STEP;
    }
    for (le, under) in buckets {
        let points = if *under { &fast } else { &all };
        om.series("rpc_duration_bucket", &[("job", job), ("le", le)], points);
    }
    om.series("rpc_duration_count", &[("job", job)], &all);
}

struct World {
    prom: Prometheus,
    data: PathBuf,
    incident_start: i64,
    dir: tempfile::TempDir,
}

/// Two days of 0.05% slow requests; 20% slow for the hour from
/// `incident_start`.
fn world() -> World {
    let end = (support::now() / 60) * 60 - 6 * 3600;
    let start = end - 2 * 86_400;
    let incident_start = end - 3 * 3600;
    let slow = |t: i64| {
        if (incident_start..incident_start + 3600).contains(&t) {
            0.2
        } else {
            0.0005
        }
    };
    let mut om = OpenMetrics::default();
    for (job, buckets) in BUCKETS {
        histogram(&mut om, job, &buckets, (start, end), slow);
    }
    histogram(
        &mut om,
        "d",
        &[("0.25", true), ("0.5", false), ("+Inf", false)],
        (start, end),
        slow,
    );
    let text = om.finish();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("history.om");
    std::fs::write(&data, &text).unwrap_or_else(|e| panic!("{e}"));
    World {
        prom: Prometheus::start(&text, &[]),
        data,
        incident_start,
        dir,
    }
}

fn write_spec(w: &World, name: &str, yaml: &str) -> PathBuf {
    let path = w.dir.path().join(name);
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn load(yaml: &str) -> Spec {
    slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{}", d[0]))
}

/// `eval --json` at `at`, whatever its exit code (no data may set one).
fn eval_json(w: &World, spec: &Path, at: i64) -> serde_json::Value {
    let out = support::slo_eval()
        .args(["eval", "--json", "--prometheus", &w.prom.url, "--at"])
        .arg(at.to_string())
        .arg(spec)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn backtest(w: &World, spec: &Path, from: i64, to: i64) -> std::process::Output {
    support::slo_eval()
        .arg("backtest")
        .arg(spec)
        .arg("--data")
        .arg(&w.data)
        .args([
            "--json",
            "--start",
            &from.to_string(),
            "--end",
            &to.to_string(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn instance<'a>(report: &'a serde_json::Value, slo: &str) -> &'a serde_json::Value {
    report["slos"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["slo"] == slo))
        .unwrap_or_else(|| panic!("no {slo} in {report}"))
}

fn firing(i: &serde_json::Value, severity: &str) -> bool {
    i["alerts"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["severity"] == severity))
        .is_some_and(|t| t["firing"] == true)
}

/// The backtest's error ratio of every policy window at `at` (seconds):
/// the replay's own series lookup (`events::event_series`, which finds the
/// bucket by value) and windowed increases.
fn replayed_ratios(
    slo: &slo_core::spec::Slo,
    data: &slo_core::dataset::Dataset,
    at: i64,
) -> Vec<(String, f64)> {
    let instances = events::event_series(slo, data).unwrap_or_else(|e| panic!("{}: {e}", slo.name));
    assert_eq!(instances.len(), 1, "{}", slo.name);
    let windows: Vec<_> = slo.policy.windows().into_iter().collect();
    let steps = Steps::new(
        at * 1000,
        at * 1000,
        slo_core::duration::Duration::from_mins(1),
    )
    .unwrap_or_else(|| panic!("steps"));
    let mut sums = WindowedSums::new(&windows, steps);
    instances[0].add_to(&mut sums, 0, 1);
    windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let [total, good] = sums.get(i, 0);
            let m = events::measurement(total, good, Counts::Good)
                .unwrap_or_else(|| panic!("{}: no {w} measurement", slo.name));
            (w.to_string(), m.error_ratio)
        })
        .collect()
}

#[test]
fn eval_and_backtest_agree_on_le_spellings_and_a_missing_bucket_is_no_data() {
    let w = world();
    le_spellings_give_eval_and_backtest_the_same_answer(&w);
    a_threshold_that_is_no_bucket_is_no_data_in_eval_and_an_error_in_backtest(&w);
    backtest_from_prometheus_names_the_missing_bucket_not_a_missing_histogram(&w);
    backtest_from_prometheus_over_a_range_without_data_says_no_data_and_the_range(&w);
    backtest_from_prometheus_does_not_drop_a_group_whose_histogram_lacks_the_bucket(&w);
}

fn le_spellings_give_eval_and_backtest_the_same_answer(w: &World) {
    let spec_path = write_spec(w, "spellings.yaml", SPELLINGS);
    let spec = load(SPELLINGS);
    let text = std::fs::read_to_string(&w.data).unwrap_or_else(|e| panic!("{e}"));
    let data = slo_core::openmetrics::parse(&text).unwrap_or_else(|d| panic!("{}", d[0]));
    let during = w.incident_start + 1800;
    let before = w.incident_start - 600;
    let report = eval_json(w, &spec_path, during);
    let quiet = eval_json(w, &spec_path, before);
    let mut first: Option<Vec<(String, f64)>> = None;
    for slo in &spec.slos {
        let inst = instance(&report, &slo.name);
        let replayed = replayed_ratios(slo, &data, during);
        for (window, want) in &replayed {
            let got = inst["windows"][window]["error_ratio"]
                .as_f64()
                .unwrap_or_else(|| panic!("{}: no {window} in eval: {inst}", slo.name));
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1e-9),
                "{} {window}: eval {got}, backtest {want}",
                slo.name
            );
        }
        // Same traffic for every spelling: the same ratios.
        match &first {
            None => first = Some(replayed.clone()),
            Some(f) => assert_eq!(f, &replayed, "{}", slo.name),
        }
        // 20% slow for 30 minutes: the 1h window near 10%, above 14.4x.
        assert!(firing(inst, "page"), "{inst}");
        let before_inst = instance(&quiet, &slo.name);
        assert!(
            !firing(before_inst, "page") && !firing(before_inst, "ticket"),
            "{before_inst}"
        );
        assert!(
            inst["budget_remaining"].as_f64().is_some_and(|b| b < 1.0),
            "{inst}"
        );
    }
    // The backtest pages over the same samples at the same times.
    let out = backtest(
        w,
        &spec_path,
        w.incident_start - 3600,
        w.incident_start + 7200,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    for slo in &spec.slos {
        let s = doc["slos"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["slo"] == slo.name.as_str()))
            .unwrap_or_else(|| panic!("no {} in {doc}", slo.name));
        let pages: Vec<(i64, i64)> = s["instances"][0]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["severity"] == "page")
            .map(|a| {
                (
                    a["start"].as_i64().unwrap_or(i64::MAX),
                    a["end"].as_i64().unwrap_or(i64::MAX),
                )
            })
            .collect();
        let at = |t: i64| pages.iter().any(|(s, e)| (*s..*e).contains(&(t * 1000)));
        assert!(at(during) && !at(before), "{}: pages {pages:?}", slo.name);
    }
}

fn a_threshold_that_is_no_bucket_is_no_data_in_eval_and_an_error_in_backtest(w: &World) {
    let spec_path = write_spec(w, "no-bucket.yaml", NO_BUCKET);
    let during = w.incident_start + 1800;
    let report = eval_json(w, &spec_path, during);
    let inst = instance(&report, "between-buckets");
    // Traffic, but no bucket: no window measured, every pair held for no
    // data, no budget; never "ok" with the whole budget left.
    assert_eq!(inst["windows"], serde_json::json!({}), "{inst}");
    assert!(inst["budget_remaining"].is_null(), "{inst}");
    assert!(inst["period_error_ratio"].is_null(), "{inst}");
    let pairs: Vec<&serde_json::Value> = inst["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["pairs"].as_array().into_iter().flatten())
        .collect();
    assert!(!pairs.is_empty(), "{inst}");
    for p in pairs {
        assert_eq!(p["held"], "no_data", "{inst}");
        assert_eq!(p["firing"], false, "{inst}");
    }
    let out = backtest(
        w,
        &spec_path,
        w.incident_start - 3600,
        w.incident_start + 7200,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no bucket with le=0.3") && stderr.contains("0.25, 0.5, +Inf"),
        "{stderr}"
    );
}

/// Regression: `backtest --prometheus` fetched only the threshold's bucket,
/// so a threshold that is no bucket read as "no series in the data match
/// `rpc_duration_bucket{job="d"}`" (a typo'd histogram) instead of naming
/// the missing bucket and the real bounds as `--data` does.
fn backtest_from_prometheus_names_the_missing_bucket_not_a_missing_histogram(w: &World) {
    let spec_path = write_spec(w, "no-bucket-prom.yaml", NO_BUCKET);
    let out = support::slo_eval()
        .arg("backtest")
        .arg(&spec_path)
        .args(["--prometheus", &w.prom.url, "--start"])
        .arg((w.incident_start - 3600).to_string())
        .arg("--end")
        .arg((w.incident_start + 7200).to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no bucket with le=0.3") && stderr.contains("0.25, 0.5, +Inf"),
        "{stderr}"
    );
    assert!(!stderr.contains("no series in the data"), "{stderr}");
}

/// Regression: `backtest --prometheus` over a range Prometheus holds nothing
/// of answered "the data holds no samples", naming neither the range nor
/// that it was the server's answer.
fn backtest_from_prometheus_over_a_range_without_data_says_no_data_and_the_range(w: &World) {
    let spec_path = write_spec(w, "empty-range.yaml", SPELLINGS);
    let out = support::slo_eval()
        .arg("backtest")
        .arg(&spec_path)
        .args(["--prometheus", &w.prom.url])
        .args([
            "--start",
            "2020-01-01T00:00:00Z",
            "--end",
            "2020-01-02T00:00:00Z",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no data")
            && stderr.contains("2020-01-01T00:00:00Z")
            && stderr.contains("2020-01-02T00:00:00Z"),
        "{stderr}"
    );
    assert!(!stderr.contains("the data holds no samples"), "{stderr}");
}

/// Regression: with `group_by`, a group whose histogram has no bucket at the
/// threshold (job `d`: 0.25 and 0.5, while job `c` has 0.30) was silently
/// left out of `backtest --prometheus` (only the `le=~` bucket was fetched),
/// which replayed job `c` alone and exited 0; `--data` refuses the SLO.
fn backtest_from_prometheus_does_not_drop_a_group_whose_histogram_lacks_the_bucket(w: &World) {
    let spec = r#"
version: slo/v1
service: api
slos:
  - name: grouped
    objective: 99.9
    sli:
      latency:
        histogram: rpc_duration
        selector: '{job=~"c|d"}'
        threshold: 0.3
        group_by: [job]
"#;
    let spec_path = write_spec(w, "grouped-no-bucket.yaml", spec);
    let (from, to) = (w.incident_start - 3600, w.incident_start + 7200);
    let from_file = backtest(w, &spec_path, from, to);
    let out = support::slo_eval()
        .arg("backtest")
        .arg(&spec_path)
        .args(["--prometheus", &w.prom.url, "--start"])
        .arg(from.to_string())
        .arg("--end")
        .arg(to.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    for (source, out) in [("--data", &from_file), ("--prometheus", &out)] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{source}: {stderr}");
        assert!(
            stderr.contains("no bucket with le=0.3") && stderr.contains("0.25, 0.5, +Inf"),
            "{source}: {stderr}"
        );
    }
}
