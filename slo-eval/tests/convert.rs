//! `slo-eval convert` on the Sloth and OpenSLO examples: the slo/v1 text it
//! prints is the expected one under `tests/expected/convert/` (regenerate
//! with `UPDATE_EXPECTED=1 cargo test -p slo-eval --test convert`), and it
//! validates as slo/v1.

mod support;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn slo_eval(args: &[&str]) -> (i32, String, String) {
    support::outcome(support::slo_eval().current_dir(root()).args(args))
}

/// Each interop example and the name of its expected text.
const EXAMPLES: [(&str, &str); 3] = [
    ("examples/sloth/myservice.yaml", "sloth-myservice.yaml"),
    ("examples/sloth/kubernetes.yaml", "sloth-kubernetes.yaml"),
    ("examples/openslo/checkout.yaml", "openslo-checkout.yaml"),
];

#[test]
fn each_example_converts_to_the_expected_slo_v1() {
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    for (example, expected) in EXAMPLES {
        let (code, stdout, stderr) = slo_eval(&["convert", example]);
        assert_eq!(code, 0, "{example}: {stderr}");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/expected/convert")
            .join(expected);
        if update {
            std::fs::write(&path, &stdout).unwrap_or_else(|e| panic!("{e}"));
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_EXPECTED=1)", path.display()));
        assert_eq!(stdout, want, "{example} no longer converts to {expected}");
    }
}

#[test]
fn converted_examples_are_valid_slo_v1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (example, expected) in EXAMPLES {
        let (_, stdout, _) = slo_eval(&["convert", example]);
        assert!(stdout.starts_with("version: slo/v1\n"), "{stdout}");
        let file = dir.path().join(expected);
        std::fs::write(&file, &stdout).unwrap_or_else(|e| panic!("{e}"));
        let (code, out, stderr) = slo_eval(&["validate", &file.display().to_string()]);
        assert_eq!(code, 0, "{example}: {stderr}\n{stdout}");
        assert!(
            out.starts_with("ok: 1 file(s), 1 service(s), 2 SLO(s)"),
            "{out}"
        );
    }
}

#[test]
fn several_files_are_several_documents_naming_their_source() {
    let (code, stdout, stderr) = slo_eval(&["convert", "examples/sloth", "--to", "slo/v1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(
            "# examples/sloth/kubernetes.yaml (Sloth PrometheusServiceLevel)\nversion: slo/v1\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "---\n# examples/sloth/myservice.yaml (Sloth prometheus/v1)\nversion: slo/v1\n"
        ),
        "{stdout}"
    );
}

#[test]
fn invalid_specs_are_reported_and_nothing_is_printed() {
    let (code, stdout, stderr) =
        slo_eval(&["convert", "slo-eval/tests/fixtures/invalid/openslo.yaml"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("slo-eval/tests/fixtures/invalid/openslo.yaml:13:20: error: SLO/timeslices.spec.budgetingMethod"),
        "{stderr}"
    );
}

#[test]
fn only_slo_v1_is_a_target() {
    let (code, _, stderr) = slo_eval(&["convert", "examples/sloth", "--to", "openslo/v1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("slo/v1"), "{stderr}");
}

#[test]
fn examples_of_every_format_validate_and_explain() {
    // Every spec folder of examples/ (the others hold data, incidents and
    // the daemon's configuration).
    // Validated one folder at a time: some folders hold the same SLO in
    // another format (openslo/checkout.yaml is specs/checkout.yaml), which
    // one invocation refuses as a duplicate, as `generate` would.
    let (mut files, mut services, mut slos) = (0, 0, 0);
    for folder in [
        "examples/specs",
        "examples/istio",
        "examples/shop",
        "examples/sloth",
        "examples/openslo",
    ] {
        let (code, stdout, stderr) = slo_eval(&["validate", folder]);
        assert_eq!(code, 0, "{folder}: {stderr}");
        let counts: Vec<usize> = stdout
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        let [f, s, n] = counts[..] else {
            panic!("{folder}: {stdout}")
        };
        (files, services, slos) = (files + f, services + s, slos + n);
    }
    // The spec folders above (9 files, 14 SLOs) plus examples/istio (6, 16).
    assert_eq!((files, services, slos), (15, 15, 30));
    let (code, stdout, stderr) = slo_eval(&["explain", "examples/openslo"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("checkout / requests-availability: 99.9% over 4w (ratio sli, budget 0.1%)")
            && stdout.contains("frontend / good-minutes: 99.5% over 4w (slices sli, budget 0.5%)"),
        "{stdout}"
    );
}

/// Regression (issue 12): numbers were printed with 12 significant digits,
/// so an objective of 99.9999999999999 became 100 (or was refused as
/// rounding to 100). Every decimal of up to 15 digits now round-trips.
#[test]
fn an_objective_of_15_digits_converts_exactly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("sloth.yaml");
    std::fs::write(
        &path,
        "version: prometheus/v1\nservice: api\nslos:\n  - name: up\n    objective: 99.9999999999999\n    sli:\n      raw:\n        error_ratio_query: 1 - avg_over_time(up[{{.window}}])\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = path.display().to_string();
    let (code, stdout, stderr) = slo_eval(&["convert", &path]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\n    objective: 99.9999999999999\n"),
        "{stdout}"
    );
    let (code, stdout, stderr) = slo_eval(&["explain", &path]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("99.9999999999999%"), "{stdout}");
}
