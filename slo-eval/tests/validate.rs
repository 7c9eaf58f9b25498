//! `slo-eval validate` on specs with known mistakes.
//!
//! Each fixture under `tests/fixtures/invalid/` marks the problems it must
//! produce with trailing comments, `#~ error: TEXT` or `#~ warning: TEXT`, on
//! the line the problem must be reported at. The test runs the real binary
//! and checks both ways: every mark is reported on its line, and every
//! reported error is marked (no noise, nothing missed).

mod support;

use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

#[derive(Debug, Clone, PartialEq)]
struct Reported {
    line: usize,
    column: usize,
    level: String,
    message: String,
}

/// Parses `FILE:LINE:COL: LEVEL: MESSAGE` lines for `file` out of stderr.
fn reported(stderr: &str, file: &Path) -> Vec<Reported> {
    let prefix = format!("{}:", file.display());
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let mut parts = rest.splitn(4, ':');
            let line = parts.next()?.parse().ok()?;
            let column = parts.next()?.parse().ok()?;
            let level = parts.next()?.trim().to_owned();
            let message = parts.next()?.trim().to_owned();
            Some(Reported {
                line,
                column,
                level,
                message,
            })
        })
        .collect()
}

/// The `#~ LEVEL: TEXT` marks of a fixture, by line.
fn marks(source: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        for mark in line.split("#~ ").skip(1) {
            let (level, text) = mark
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad mark on line {}: {mark}", i + 1));
            out.push((i + 1, level.to_owned(), text.trim().to_owned()));
        }
    }
    out
}

fn validate(files: &[PathBuf]) -> (i32, String, String) {
    support::outcome(support::slo_eval().arg("validate").args(files))
}

#[test]
fn every_marked_problem_is_reported_at_its_line_and_nothing_else() {
    for file in fixtures("invalid") {
        let source = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let (code, _, stderr) = validate(std::slice::from_ref(&file));
        assert_eq!(code, 1, "{}: expected exit 1\n{stderr}", file.display());
        let got = reported(&stderr, &file);
        let want = marks(&source);
        assert!(!want.is_empty(), "{} has no marks", file.display());
        for (line, level, text) in &want {
            assert!(
                got.iter()
                    .any(|r| r.line == *line && &r.level == level && r.message.contains(text)),
                "{}:{line}: expected {level} containing {text:?}; reported:\n{stderr}",
                file.display()
            );
        }
        for r in &got {
            assert!(
                want.iter().any(|(line, level, text)| r.line == *line
                    && *level == r.level
                    && r.message.contains(text)),
                "{}: unexpected {r:?}\n{stderr}",
                file.display()
            );
            assert!(r.column >= 1);
        }
    }
}

#[test]
fn columns_point_at_the_value() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/values.yaml");
    let (_, _, stderr) = validate(std::slice::from_ref(&file));
    let got = reported(&stderr, &file);
    let objective = got
        .iter()
        .find(|r| r.line == 8)
        .unwrap_or_else(|| panic!("nothing on line 8:\n{stderr}"));
    assert_eq!(
        objective.column, 16,
        "`objective: 100` value starts at column 16"
    );
    assert!(objective.message.starts_with("slos[0].objective: "));
}

#[test]
fn valid_specs_pass_with_a_summary() {
    let mut files = fixtures("valid");
    files.extend(fixtures("../../../examples/specs"));
    files.extend(fixtures("../../../examples/istio"));
    let (code, stdout, stderr) = validate(&files);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn a_folder_is_searched_for_specs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let (code, _, stderr) = validate(&[dir]);
    assert_eq!(code, 1);
    for file in fixtures("invalid") {
        assert!(
            stderr.contains(&format!("{}:", file.display())),
            "{} not reported",
            file.display()
        );
    }
}

#[test]
fn missing_file_is_an_operational_error() {
    let (code, _, stderr) = validate(&[PathBuf::from("does/not/exist.yaml")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("does/not/exist.yaml"), "{stderr}");
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

const CHECKOUT: &str = "version: slo/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job=\"checkout\",code=~\"5..\"}
        total: http_requests_total{job=\"checkout\"}
";

/// Regression (issue 12): the same SLO in two files passed `validate`, and
/// `generate` failed without naming the files. Both commands now load
/// through one function that reports the duplicate at both places.
#[test]
fn duplicate_slo_across_files_is_reported_at_both_places() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = write(dir.path(), "a.yaml", CHECKOUT);
    let b = write(dir.path(), "b.yaml", &format!("# a copy\n{CHECKOUT}"));
    for command in ["validate", "generate"] {
        let out = support::slo_eval()
            .arg(command)
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        let at_a = format!(
            "{}:4:11: error: name: SLO `availability` of service `checkout` is defined more than once: also at {}:5:11",
            a.display(),
            b.display()
        );
        let at_b = format!(
            "{}:5:11: error: name: SLO `availability` of service `checkout` is defined more than once: also at {}:4:11",
            b.display(),
            a.display()
        );
        assert!(stderr.contains(&at_a), "{command}: {stderr}");
        assert!(stderr.contains(&at_b), "{command}: {stderr}");
    }
}

/// Regression (issue 12): `validate examples/` failed on the daemon's
/// configuration and the incidents file. YAML that is no spec is skipped
/// with a note saying what it is; `--exclude` leaves files out.
#[test]
fn yaml_that_is_not_a_spec_is_skipped_with_a_note() {
    let ex = examples();
    let (code, stdout, stderr) = validate(&[ex.join("daemon"), ex.join("data"), ex.join("shop")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("ok: 4 file(s)"), "{stdout}");
    assert!(
        stderr.contains("daemon/config.yaml: note: skipped: this is the daemon's configuration"),
        "{stderr}"
    );
    assert!(
        stderr.contains("data/incidents.yaml: note: skipped: this is an incidents file"),
        "{stderr}"
    );
    // Another Kubernetes object is no spec either; a spec with mistakes
    // (an unknown version) is still reported.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\ndata: {}\n",
    );
    write(dir.path(), "compose.yaml", "version: \"3\"\nservices: {}\n");
    let bad = write(
        dir.path(),
        "bad.yaml",
        &CHECKOUT.replace("slo/v1", "slo/v9"),
    );
    let (code, _, stderr) = validate(&[dir.path().to_owned()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cm.yaml: note: skipped: this is a `v1` `ConfigMap` object"),
        "{stderr}"
    );
    assert!(
        stderr.contains("compose.yaml: note: skipped: this is YAML with `version: 3`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:1:", bad.display())),
        "{stderr}"
    );
}

#[test]
fn exclude_leaves_matching_files_out() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "a.yaml", CHECKOUT);
    write(dir.path(), "copy.yaml", CHECKOUT);
    let run = |args: &[&str]| {
        let out = support::slo_eval()
            .arg("validate")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(run(&[]).0, Some(1));
    assert_eq!(
        run(&["--exclude", "copy.*"]),
        (
            Some(0),
            "ok: 1 file(s), 1 service(s), 1 SLO(s)\n".to_owned()
        )
    );
    let glob = format!("{}/*", dir.path().display());
    let (code, _) = run(&["--exclude", &glob]);
    assert_eq!(code, Some(2), "everything excluded: no specs");
    assert_eq!(run(&["--exclude", "[z"]).0, Some(2));
    // generate loads the same files.
    let out = support::slo_eval()
        .arg("generate")
        .arg(dir.path())
        .args(["--exclude", "copy.*"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("checkout"));
}

/// Regression (issue 12): an SLO with `period: 28d` and no windows warned
/// that its own default 3d/6h pair had factor 0.933 < 1. The default for
/// 28 days keeps that pair at burn rate 1, as the Workbook's table has it.
#[test]
fn default_windows_of_a_28d_period_do_not_warn() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = write(
        dir.path(),
        "28d.yaml",
        &CHECKOUT.replace("objective: 99.9\n", "objective: 99.9\n    period: 28d\n"),
    );
    let (code, _, stderr) = validate(std::slice::from_ref(&spec));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    // Asked for by name, the Sloth-compatible table keeps its 0.933 pair,
    // and says so.
    let named = write(
        dir.path(),
        "named.yaml",
        &format!(
            "{}    alerting:\n      windows: google-28d\n",
            std::fs::read_to_string(&spec).unwrap_or_default()
        ),
    );
    let (code, _, stderr) = validate(std::slice::from_ref(&named));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("factor 0.933333333333333 < 1"), "{stderr}");
}
