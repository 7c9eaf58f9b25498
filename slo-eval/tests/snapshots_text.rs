//! Snapshots (insta) of the text users read: `explain` tables, `eval`
//! reports (text and `--json`) from a real Prometheus, `backtest` reports,
//! and `validate` diagnostics for each kind of bad spec.
//!
//! Each snapshot holds the command line, the exit code, stdout and stderr,
//! so a change to any of them shows in review. Paths are given relative to
//! the repository (the commands run there); what varies between runs is
//! replaced: temporary folders by `[TMP]`, the Prometheus URL (its port) by
//! `[PROMETHEUS]`. Times are fixed by `--at`, `--start` and `--end`.
//!
//! insta refuses to write snapshots under `CI=true`: a missing or changed
//! snapshot fails there. Accept changes locally with
//! `INSTA_UPDATE=always cargo test -p slo-eval --test snapshots_text` (or
//! `cargo insta review`) and read the `.snap` files before committing.

mod support;

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// What varies between runs, and what stands for it in a snapshot.
#[derive(Default)]
struct Redactions(Vec<(String, &'static str)>);

impl Redactions {
    fn with(mut self, varying: impl Into<String>, placeholder: &'static str) -> Self {
        self.0.push((varying.into(), placeholder));
        self
    }

    fn apply(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |t, (from, to)| {
            t.replace(from.as_str(), to)
        })
    }
}

/// Runs `slo-eval ARGS` in the repository's root and shows what a user
/// sees: the command, the exit code, stdout and stderr, redacted.
fn shown(args: &[&str], redactions: &Redactions) -> String {
    let (code, stdout, stderr) = support::outcome(
        support::slo_eval()
            .current_dir(repo_root())
            .env("NO_COLOR", "1")
            .args(args),
    );
    let text = format!(
        "$ slo-eval {}\nexit code: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    );
    redactions.apply(&text)
}

fn show(args: &[&str]) -> String {
    shown(args, &Redactions::default())
}

// ---- explain -------------------------------------------------------------

#[test]
fn explain_example_specs_at_a_total_outage() {
    insta::assert_snapshot!(
        "explain_example_specs",
        show(&["explain", "examples/specs"])
    );
}

/// At 0.2% errors only the 3d/6h ticket (threshold 0.1%) can fire: every
/// other pair says `never`, and a whole budget lasts 15 days.
#[test]
fn explain_at_a_low_error_ratio_shows_pairs_that_never_fire() {
    insta::assert_snapshot!(
        "explain_example_specs_error_ratio_0.002",
        show(&["explain", "examples/specs", "--error-ratio", "0.002"])
    );
}

/// Every SLI kind, disabled tiers, `min_events`, a 4w period.
#[test]
fn explain_every_sli_kind_and_disabled_tiers() {
    insta::assert_snapshot!(
        "explain_all_kinds",
        show(&["explain", "slo-eval/tests/fixtures/all-kinds.yaml"])
    );
}

/// Regression: over a 4w period a 1h/5m pair at 14.4x spends 14.4/672 of
/// the budget, which `explain` printed as `2.14285714285714%` (and a
/// Workbook factor as `0.933333333333333`). Derived numbers now print to 4
/// significant digits.
#[test]
fn explain_4w_budget_share_is_not_printed_with_15_digits() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("4w.yaml");
    std::fs::write(
        &spec,
        "version: slo/v1\nservice: checkout\nslos:\n  - name: a\n    objective: 99.9\n    period: 4w\n    sli:\n      ratio: {errors: 'e{code=\"500\"}', total: e}\n    alerting:\n      windows:\n        - {severity: page, long: 1h, short: 5m, factor: 14.4}\n        - {severity: ticket, long: 3d, short: 6h, factor: 0.9333333333333333}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let spec = spec.display().to_string();
    let out = shown(&["explain", &spec], &Redactions::default());
    let row = |tier: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.trim_start().starts_with(tier))
            .unwrap_or_else(|| panic!("no {tier} row:\n{out}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // tier long short factor threshold budget detect reset
    let page = row("page");
    assert_eq!(page[3..6], ["14.4", "1.44%", "2.143%"], "{out}");
    let ticket = row("ticket");
    assert_eq!(ticket[3..6], ["0.9333", "0.09333%", "10%"], "{out}");
    // Every digit is still in --json.
    let json = shown(&["explain", "--json", &spec], &Redactions::default());
    assert!(json.contains("0.02142857142857"), "{json}");
}

/// Sloth and OpenSLO specs explain as slo/v1 does, slices counted whole.
#[test]
fn explain_sloth_and_openslo_examples() {
    insta::assert_snapshot!(
        "explain_sloth_and_openslo",
        show(&["explain", "examples/sloth", "examples/openslo"])
    );
}

const NEVER_ALERTS: &str = "version: slo/v1
service: batch
slos:
  - name: nightly
    objective: 99
    sli:
      ratio:
        errors: jobs_failed_total
        total: jobs_total
    alerting:
      page: {disable: true}
      ticket: {disable: true}
";

/// Both tiers disabled: `explain` says the SLO never alerts (and warns),
/// `validate` passes with the warning.
#[test]
fn every_tier_disabled_is_a_warning_and_explain_says_it_never_alerts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("never-alerts.yaml");
    std::fs::write(&spec, NEVER_ALERTS).unwrap_or_else(|e| panic!("{e}"));
    let spec = spec.display().to_string();
    let redactions = Redactions::default().with(dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!(
        "explain_every_tier_disabled",
        shown(&["explain", &spec], &redactions)
    );
    insta::assert_snapshot!(
        "validate_every_tier_disabled_warns",
        shown(&["validate", &spec], &redactions)
    );
}

// ---- validate ------------------------------------------------------------

/// `validate` on one fixture of `tests/fixtures/invalid/`.
fn validate_fixture(name: &str) -> String {
    show(&[
        "validate",
        &format!("slo-eval/tests/fixtures/invalid/{name}.yaml"),
    ])
}

#[test]
fn validate_yaml_syntax_error_is_reported_at_its_line_and_column() {
    insta::assert_snapshot!("validate_yaml_syntax", validate_fixture("yaml-syntax"));
}

#[test]
fn validate_unquoted_operator_says_it_begins_a_block_scalar() {
    insta::assert_snapshot!(
        "validate_yaml_unquoted_operator",
        validate_fixture("yaml-unquoted-operator")
    );
}

/// Unknown (with "did you mean"), missing, duplicate and mistyped fields.
#[test]
fn validate_unknown_missing_duplicate_and_mistyped_fields() {
    insta::assert_snapshot!("validate_fields", validate_fixture("fields"));
}

#[test]
fn validate_bad_durations() {
    insta::assert_snapshot!("validate_durations", validate_fixture("durations"));
}

/// Broken selectors and queries (parsed as PromQL), broken Go templates.
#[test]
fn validate_bad_promql_selectors_queries_and_templates() {
    insta::assert_snapshot!("validate_promql", validate_fixture("promql"));
}

/// Version, names, label names, objectives, duplicate SLO names.
#[test]
fn validate_bad_values_and_names() {
    insta::assert_snapshot!("validate_values", validate_fixture("values"));
}

#[test]
fn validate_bad_sli_definitions() {
    insta::assert_snapshot!("validate_sli", validate_fixture("sli"));
}

#[test]
fn validate_bad_slices_sli() {
    insta::assert_snapshot!("validate_slices", validate_fixture("slices"));
}

/// Windows longer than the period, pairs that can never fire, a factor
/// under 1 (a warning).
#[test]
fn validate_bad_window_pairs() {
    insta::assert_snapshot!("validate_windows", validate_fixture("windows"));
}

/// Held back at first: `page` (for `page_alert`) was answered "did you
/// mean `name`?" (fixed in `names::closest`).
#[test]
fn validate_sloth_errors() {
    insta::assert_snapshot!("validate_sloth", validate_fixture("sloth"));
}

#[test]
fn validate_sloth_kubernetes_errors() {
    insta::assert_snapshot!(
        "validate_sloth_kubernetes",
        validate_fixture("sloth-kubernetes")
    );
}

#[test]
fn validate_openslo_errors() {
    insta::assert_snapshot!("validate_openslo", validate_fixture("openslo"));
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

/// The same SLO in two files of a folder: an error at both places, each
/// naming the other.
#[test]
fn validate_duplicate_slo_across_two_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("a.yaml"), CHECKOUT).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("b.yaml"), format!("# a copy\n{CHECKOUT}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir_path = dir.path().display().to_string();
    insta::assert_snapshot!(
        "validate_duplicate_across_files",
        shown(
            &["validate", &dir_path],
            &Redactions::default().with(&dir_path, "[TMP]")
        )
    );
}

/// The example checkout SLOs in slo/v1 and in OpenSLO: duplicates across
/// formats, at each file's own line.
#[test]
fn validate_duplicate_slo_across_formats() {
    insta::assert_snapshot!(
        "validate_duplicate_across_formats",
        show(&["validate", "examples/specs", "examples/openslo"])
    );
}

/// A clean run: notes for the YAML that is no spec, one summary line.
#[test]
fn validate_clean_specs_print_a_summary_and_skip_what_is_no_spec() {
    insta::assert_snapshot!(
        "validate_clean_with_skipped_files",
        show(&[
            "validate",
            "examples/shop",
            "examples/daemon",
            "examples/data"
        ])
    );
}

// ---- backtest from a file ------------------------------------------------

const SHOP_DATA: &str = "examples/data/shop.om";

#[test]
fn backtest_example_shop_against_listed_incidents() {
    insta::assert_snapshot!(
        "backtest_shop_listed_incidents",
        show(&[
            "backtest",
            "examples/shop",
            "--data",
            SHOP_DATA,
            "--incidents",
            "examples/data/incidents.yaml",
        ])
    );
}

/// A range after the data: NO DATA, and the budget's basis is the 3 days
/// of data there are (it said "19d of data": the time from the data's
/// start to the range's end).
#[test]
fn backtest_range_after_the_data_says_no_data_and_the_days_it_has() {
    insta::assert_snapshot!(
        "backtest_range_without_data",
        show(&[
            "backtest",
            "examples/shop/checkout.yaml",
            "--data",
            SHOP_DATA,
            "--start",
            "2026-11-20T00:00:00Z",
            "--end",
            "2026-11-21T00:00:00Z",
        ])
    );
}

#[test]
fn backtest_example_shop_against_detected_incidents() {
    insta::assert_snapshot!(
        "backtest_shop_detected_incidents",
        show(&["backtest", "examples/shop", "--data", SHOP_DATA])
    );
}

/// An `events` SLI is skipped with a warning (stderr) and listed as
/// SKIPPED (stdout); the checkout outage replays.
#[test]
fn backtest_skips_an_events_sli_and_replays_the_rest() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let jobs = dir.path().join("jobs.yaml");
    std::fs::write(
        &jobs,
        "version: slo/v1\nservice: jobs\nslos:\n  - name: success\n    objective: 99\n    sli:\n      events:\n        error_query: sum(rate(jobs_failed_total[{{.window}}]))\n        total_query: sum(rate(jobs_total[{{.window}}]))\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir_path = dir.path().display().to_string();
    insta::assert_snapshot!(
        "backtest_skips_events_sli",
        shown(
            &[
                "backtest",
                "examples/shop/checkout.yaml",
                &jobs.display().to_string(),
                "--data",
                SHOP_DATA,
                "--start",
                "2026-11-04T13:00:00Z",
                "--end",
                "2026-11-04T16:00:00Z",
            ],
            &Redactions::default().with(&dir_path, "[TMP]")
        )
    );
}

// ---- eval and backtest against a real Prometheus --------------------------

/// The example shop's three days of history backfilled into a real
/// Prometheus; `eval` at fixed times in it, and `backtest --prometheus` over
/// the checkout outage's day. One server for all: starting it costs the
/// backfill.
#[test]
fn eval_and_backtest_of_the_example_shop_in_prometheus() {
    let data = std::fs::read_to_string(repo_root().join(SHOP_DATA))
        .unwrap_or_else(|e| panic!("{SHOP_DATA}: {e}"));
    let prom = support::Prometheus::start(&data, &[]);
    let redactions = Redactions::default().with(&prom.url, "[PROMETHEUS]");
    let eval = |at: &str, extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--prometheus",
            &prom.url,
            "--at",
            at,
            "examples/shop",
        ];
        args.extend(extra);
        shown(&args, &redactions)
    };
    // Ten minutes into the checkout outage (60% errors from 14:00Z): the
    // page fires; the other services are fine.
    insta::assert_snapshot!(
        "eval_shop_during_checkout_outage",
        eval("2026-11-04T14:10:00Z", &[])
    );
    insta::assert_snapshot!(
        "eval_shop_during_checkout_outage_json",
        eval("2026-11-04T14:10:00Z", &["--json"])
    );
    // Two minutes after the one failed refund (03:10Z): too few events
    // for refunds' `min_events: 100`, so its pairs are held, not firing.
    insta::assert_snapshot!(
        "eval_shop_after_one_failed_refund",
        eval("2026-11-04T03:12:00Z", &[])
    );
    // Before the history begins: NO DATA for every SLO, never "ok", and
    // the CI gate's exit code 3.
    insta::assert_snapshot!(
        "eval_shop_before_history_fails_on_no_data",
        eval("2026-11-01T00:00:00Z", &["--fail-on-no-data"])
    );
    insta::assert_snapshot!(
        "backtest_checkout_from_prometheus",
        shown(
            &[
                "backtest",
                "examples/shop/checkout.yaml",
                "--prometheus",
                &prom.url,
                "--start",
                "2026-11-04T00:00:00Z",
                "--end",
                "2026-11-05T00:00:00Z",
            ],
            &redactions
        )
    );
}

// ---- report --------------------------------------------------------------

/// November 2026 over the example shop's three days: every SLO's numbers
/// marked "so far (not over)" with 10% coverage (the data ends on the 5th);
/// October, before the data, is no data with the reason, never met.
#[test]
fn report_example_shop_by_month() {
    insta::assert_snapshot!(
        "report_shop_november",
        show(&[
            "report",
            "examples/shop",
            "--data",
            SHOP_DATA,
            "--month",
            "2026-11"
        ])
    );
    insta::assert_snapshot!(
        "report_shop_october",
        show(&[
            "report",
            "examples/shop",
            "--data",
            SHOP_DATA,
            "--month",
            "2026-10"
        ])
    );
}
