//! Test harness around the real `promtool`: check generated rule files and
//! run `promtool test rules` suites built from synthetic traffic.
//!
//! A missing `promtool` fails the test with the command that installs it;
//! it never skips.

#![allow(dead_code, unreachable_pub)]

#[path = "../support/mod.rs"]
pub mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use slo_core::promql::quote;
use slo_core::rules::RuleFile;
use slo_core::spec::Spec;

#[path = "../support/yaml.rs"]
mod yaml;
pub(crate) use yaml::scalar;

/// The `promtool` binary: `$PROMTOOL`, or the first on `PATH` (one finder
/// for every real binary the tests run: [`support::binary`]).
pub fn promtool() -> PathBuf {
    support::binary("promtool")
}

/// Reads and checks a spec, panicking with its diagnostics.
pub fn spec(yaml: &str) -> Spec {
    match slo_core::load::load_str(yaml) {
        Ok(s) => s,
        Err(d) => panic!("spec does not load: {d:#?}"),
    }
}

/// Reads a spec file.
pub fn spec_file(path: &Path) -> Spec {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    spec(&text)
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Example folders of slo/v1 specs (the Sloth and OpenSLO examples are
/// read by the convert tests).
pub const EXAMPLE_DIRS: [&str; 2] = ["examples/specs", "examples/istio"];

/// Every example spec and test fixture, sorted.
pub fn all_spec_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = Vec::new();
    let dirs = EXAMPLE_DIRS
        .iter()
        .map(|d| root.join(d))
        .chain([root.join("slo-eval/tests/fixtures")]);
    for dir in dirs {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Every example spec in every format (`examples/*/`), sorted.
pub fn example_files() -> Vec<PathBuf> {
    let root = repo_root().join("examples");
    let dirs = std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let mut files = Vec::new();
    // `data/` (history, incidents) and `daemon/` (its configuration) hold
    // no specs.
    let not_specs = ["data", "daemon"];
    for dir in dirs.flatten().map(|d| d.path()).filter(|p| {
        p.is_dir()
            && !p
                .file_name()
                .is_some_and(|n| not_specs.iter().any(|x| n == *x))
    }) {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")),
        );
    }
    files.sort();
    files
}

/// Runs `promtool check rules --lint=all --lint-fatal` on `path` and panics
/// with its output unless it succeeds.
pub fn check_rules(path: &Path) {
    let out = Command::new(promtool())
        .args(["check", "rules", "--lint=all", "--lint-fatal"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    assert!(
        out.status.success(),
        "promtool check rules failed for {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One minute of synthetic traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Minute {
    /// Good and bad requests served during the minute.
    Traffic { good: u64, bad: u64 },
    /// The target was not scraped: no sample at the end of the minute,
    /// though it served the requests (its counters went on counting).
    Gap { good: u64, bad: u64 },
    /// The process restarted: counters start again from 0 (plus the
    /// minute's traffic).
    Reset { good: u64, bad: u64 },
}

/// Builds minute-by-minute traffic.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// The minutes, from t = 0.
    pub minutes: Vec<Minute>,
}

impl Traffic {
    /// No minutes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `minutes` minutes of `per_minute` requests at error ratio `ratio`
    /// (bad requests rounded to whole requests).
    pub fn run(mut self, minutes: u64, per_minute: u64, ratio: f64) -> Self {
        let bad = (per_minute as f64 * ratio).round() as u64;
        for _ in 0..minutes {
            self.minutes.push(Minute::Traffic {
                good: per_minute - bad,
                bad,
            });
        }
        self
    }

    /// `minutes` minutes without a scrape, serving `per_minute` requests
    /// at error ratio `ratio` all the same.
    pub fn gap(mut self, minutes: u64, per_minute: u64, ratio: f64) -> Self {
        let bad = (per_minute as f64 * ratio).round() as u64;
        for _ in 0..minutes {
            self.minutes.push(Minute::Gap {
                good: per_minute - bad,
                bad,
            });
        }
        self
    }

    /// A restart: counters drop to 0 and count one minute of traffic.
    pub fn reset(mut self, per_minute: u64, ratio: f64) -> Self {
        let bad = (per_minute as f64 * ratio).round() as u64;
        self.minutes.push(Minute::Reset {
            good: per_minute - bad,
            bad,
        });
        self
    }

    /// Minutes so far.
    pub fn len(&self) -> u64 {
        self.minutes.len() as u64
    }

    /// Cumulative good and bad counters, one sample per minute from t = 0
    /// (the first at 0), `None` where scrapes are missing.
    pub fn counters(&self) -> (Vec<Option<u64>>, Vec<Option<u64>>) {
        let (mut good, mut bad) = (0u64, 0u64);
        let mut g = vec![Some(0)];
        let mut b = vec![Some(0)];
        for m in &self.minutes {
            match *m {
                Minute::Traffic { good: dg, bad: db } => {
                    good += dg;
                    bad += db;
                    g.push(Some(good));
                    b.push(Some(bad));
                }
                Minute::Gap { good: dg, bad: db } => {
                    good += dg;
                    bad += db;
                    g.push(None);
                    b.push(None);
                }
                Minute::Reset { good: dg, bad: db } => {
                    good = dg;
                    bad = db;
                    g.push(Some(good));
                    b.push(Some(bad));
                }
            }
        }
        (g, b)
    }
}

/// Samples in promtool's expanding notation: runs of equal steps become
/// `a+bxn`, missing samples `_`.
pub fn expanding(values: &[Option<u64>]) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        match values[i] {
            None => {
                let mut j = i;
                while j < values.len() && values[j].is_none() {
                    j += 1;
                }
                let n = j - i;
                tokens.push(if n == 1 {
                    "_".to_owned()
                } else {
                    format!("_x{n}")
                });
                i = j;
            }
            Some(v) => {
                let step = |k: usize| -> Option<i128> {
                    match (values.get(k)?, values.get(k + 1)?) {
                        (Some(a), Some(b)) => Some(i128::from(*b) - i128::from(*a)),
                        _ => None,
                    }
                };
                let Some(d) = step(i) else {
                    tokens.push(v.to_string());
                    i += 1;
                    continue;
                };
                let mut j = i + 1;
                while step(j) == Some(d) {
                    j += 1;
                }
                let n = j - i;
                tokens.push(if d >= 0 {
                    format!("{v}+{d}x{n}")
                } else {
                    format!("{v}-{}x{n}", -d)
                });
                i = j + 1;
            }
        }
    }
    tokens.join(" ")
}

/// Input series for a ratio SLI over `http_requests_total{job=...}`:
/// `code="200"` counts good requests, `code="500"` bad ones.
pub fn http_series(job: &str, extra: &str, traffic: &Traffic) -> Vec<(String, String)> {
    let (good, bad) = traffic.counters();
    vec![
        (
            format!(
                "http_requests_total{{job={},code=\"200\"{extra}}}",
                quote(job)
            ),
            expanding(&good),
        ),
        (
            format!(
                "http_requests_total{{job={},code=\"500\"{extra}}}",
                quote(job)
            ),
            expanding(&bad),
        ),
    ]
}

/// An expected sample: labels in series notation and a value.
#[derive(Clone, Debug)]
pub struct Sample {
    /// `{a="b"}` or `metric{a="b"}`.
    pub labels: String,
    /// The value.
    pub value: f64,
}

/// One `promql_expr_test`.
#[derive(Clone, Debug)]
pub struct ExprTest {
    /// The expression.
    pub expr: String,
    /// Seconds from the start.
    pub at: u64,
    /// Expected samples (empty: the expression returns nothing).
    pub samples: Vec<Sample>,
}

/// Label (or annotation) names and values.
pub type Pairs = Vec<(String, String)>;

/// One `alert_rule_test` expecting alerts with exact labels and annotations.
#[derive(Clone, Debug)]
pub struct AlertTest {
    /// The alert name.
    pub alertname: String,
    /// Seconds from the start.
    pub at: u64,
    /// Each expected alert's labels and annotations.
    pub alerts: Vec<(Pairs, Pairs)>,
}

/// A `promtool test rules` suite: a rule file, input series and tests.
#[derive(Clone, Debug)]
pub struct Suite {
    /// The rule file.
    pub rules: RuleFile,
    /// Evaluation interval in seconds.
    pub eval_interval: u64,
    /// Input series and their values (1m apart).
    pub series: Vec<(String, String)>,
    /// Expression tests.
    pub exprs: Vec<ExprTest>,
    /// Alert tests.
    pub alerts: Vec<AlertTest>,
}

fn duration(secs: u64) -> String {
    slo_core::duration::Duration::from_secs(secs).to_string()
}

impl Suite {
    /// A suite for `rules`, evaluated every `eval_interval` seconds.
    pub fn new(rules: RuleFile, eval_interval: u64) -> Self {
        Self {
            rules,
            eval_interval,
            series: Vec::new(),
            exprs: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// The test file's YAML.
    pub fn test_yaml(&self) -> String {
        let mut y = String::new();
        let _ = writeln!(y, "rule_files:\n  - rules.yml");
        let _ = writeln!(y, "evaluation_interval: {}", duration(self.eval_interval));
        // Steps first, then the windows and alerts that read them.
        let _ = writeln!(y, "group_eval_order:");
        for g in &self.rules.groups {
            let _ = writeln!(y, "  - {}", scalar(&g.name));
        }
        let _ = writeln!(y, "tests:\n  - interval: 1m\n    input_series:");
        for (series, values) in &self.series {
            let _ = writeln!(
                y,
                "      - series: {}\n        values: {}",
                scalar(series),
                scalar(values)
            );
        }
        if !self.exprs.is_empty() {
            let _ = writeln!(y, "    promql_expr_test:");
            for t in &self.exprs {
                let _ = writeln!(
                    y,
                    "      - expr: {}\n        eval_time: {}",
                    scalar(&t.expr),
                    duration(t.at)
                );
                if t.samples.is_empty() {
                    let _ = writeln!(y, "        exp_samples: []");
                } else {
                    let _ = writeln!(y, "        exp_samples:");
                    for s in &t.samples {
                        let _ = writeln!(
                            y,
                            "          - labels: {}\n            value: {}",
                            scalar(&s.labels),
                            slo_core::num::format(s.value)
                        );
                    }
                }
            }
        }
        if !self.alerts.is_empty() {
            let _ = writeln!(y, "    alert_rule_test:");
            for t in &self.alerts {
                let _ = writeln!(
                    y,
                    "      - alertname: {}\n        eval_time: {}",
                    scalar(&t.alertname),
                    duration(t.at)
                );
                if t.alerts.is_empty() {
                    let _ = writeln!(y, "        exp_alerts: []");
                    continue;
                }
                let _ = writeln!(y, "        exp_alerts:");
                for (labels, annotations) in &t.alerts {
                    let _ = writeln!(y, "          - exp_labels:");
                    for (k, v) in labels {
                        let _ = writeln!(y, "              {}: {}", scalar(k), scalar(v));
                    }
                    if !annotations.is_empty() {
                        let _ = writeln!(y, "            exp_annotations:");
                        for (k, v) in annotations {
                            let _ = writeln!(y, "              {}: {}", scalar(k), scalar(v));
                        }
                    }
                }
            }
        }
        y
    }

    /// Writes the suite to a fresh folder, checks the rules, runs
    /// `promtool test rules`, and returns whether it passed and its output.
    pub fn run(&self) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let rules = dir.path().join("rules.yml");
        let test = dir.path().join("test.yml");
        std::fs::write(&rules, self.rules.to_yaml()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&test, self.test_yaml()).unwrap_or_else(|e| panic!("{e}"));
        check_rules(&rules);
        let out = Command::new(promtool())
            .args(["test", "rules"])
            .arg(&test)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if std::env::var_os("SLO_KEEP_SUITES").is_some() {
            let keep = std::env::temp_dir().join(format!("slo-suite-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&keep);
            let _ = std::fs::copy(&rules, keep.join("rules.yml"));
            let _ = std::fs::copy(&test, keep.join("test.yml"));
        }
        (out.status.success(), text)
    }

    /// Runs the suite and panics with promtool's output unless it passes.
    pub fn assert_passes(&self) {
        let (ok, out) = self.run();
        assert!(ok, "promtool test rules failed:\n{out}");
        assert!(
            out.contains("SUCCESS"),
            "unexpected promtool output:\n{out}"
        );
    }

    /// Evaluates single-valued expressions through promtool's rule engine:
    /// each is tested against an impossible value and the value promtool
    /// reports is read back (`None` when the expression returned nothing).
    pub fn measure(&self, exprs: &[(String, u64)]) -> Vec<Option<f64>> {
        let mut probe = self.clone();
        probe.alerts.clear();
        probe.exprs = exprs
            .iter()
            .map(|(e, at)| ExprTest {
                expr: format!("min({e})"),
                at: *at,
                samples: vec![Sample {
                    labels: "{}".to_owned(),
                    value: -123_456_789.0,
                }],
            })
            .collect();
        let (_, out) = probe.run();
        // Failures are reported in order, one `got:` line each.
        let got: Vec<Option<f64>> = out
            .lines()
            .filter_map(|l| l.trim().strip_prefix("got: "))
            .map(|g| {
                g.strip_prefix("{} ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .collect();
        assert_eq!(
            got.len(),
            exprs.len(),
            "cannot read promtool's answers:\n{out}"
        );
        got
    }
}

/// `ALERTS{alertname="...",alertstate="firing",<extra>}`.
pub fn alerts_selector(alertname: &str, extra: &str) -> String {
    let mut s = format!(
        "ALERTS{{alertname={},alertstate=\"firing\"",
        quote(alertname)
    );
    if !extra.is_empty() {
        s.push(',');
        s.push_str(extra);
    }
    s.push('}');
    s
}

/// Seconds from the start of the first evaluation at or after `t` where
/// evaluations happen every `interval` seconds.
pub fn tick_at_or_after(t: f64, interval: u64) -> u64 {
    let i = interval as f64;
    ((t / i).ceil() * i) as u64
}

/// The last evaluation strictly before `t`.
pub fn tick_before(t: f64, interval: u64) -> u64 {
    let i = interval as f64;
    let k = (t / i).ceil() - 1.0;
    (k.max(0.0) * i) as u64
}
