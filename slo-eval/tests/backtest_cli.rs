//! `slo-eval backtest` on the embedded example shop: the README's main job.

use std::path::{Path, PathBuf};

mod strict_json;
mod support;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn run(args: &[&str]) -> (i32, String, String) {
    support::outcome(support::slo_eval().args(args))
}

#[test]
fn the_example_shop_catches_its_incidents_and_draws_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let svg = dir.path().join("shop.svg");
    let ex = examples();
    let (code, stdout, stderr) = run(&[
        "backtest",
        ex.join("shop").to_str().unwrap_or_default(),
        "--data",
        ex.join("data/shop.om").to_str().unwrap_or_default(),
        "--incidents",
        ex.join("data/incidents.yaml").to_str().unwrap_or_default(),
        "--json",
        "--plot",
        svg.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc = strict_json::parse_or_panic(&stdout);
    let slo = |service: &str| {
        doc["slos"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["service"] == service))
            .unwrap_or_else(|| panic!("no {service}"))
            .clone()
    };
    let alerts = |service: &str, severity: &str| -> usize {
        slo(service)["instances"][0]["alerts"]
            .as_array()
            .map_or(0, |a| {
                a.iter().filter(|x| x["severity"] == severity).count()
            })
    };
    // The sharp outage pages, the slow burn tickets without paging, the
    // latency regression pages, the low-traffic refunds never alert.
    assert_eq!(alerts("checkout", "page"), 1);
    assert_eq!(alerts("frontend", "page"), 0);
    assert_eq!(alerts("frontend", "ticket"), 1);
    assert_eq!(alerts("productcatalog", "page"), 1);
    assert_eq!(alerts("refunds", "page") + alerts("refunds", "ticket"), 0);
    for service in ["checkout", "frontend", "productcatalog"] {
        let all = slo(service)["instances"][0]["quality"]
            .as_array()
            .and_then(|q| q.iter().find(|x| x["severity"].is_null()))
            .cloned()
            .unwrap_or_default();
        assert_eq!(all["recall"], 1.0, "{service}: {all}");
        assert_eq!(all["precision"], 1.0, "{service}: {all}");
    }
    let drawing = std::fs::read_to_string(&svg).unwrap_or_default();
    assert!(
        drawing.starts_with("<svg") && drawing.matches("<polyline").count() > 10,
        "bad SVG"
    );
    // Issue 14: dates on the axes, each factor line labelled, the legend
    // named (beside the data); no "hours since epoch".
    assert!(drawing.contains("2026-11-03 00:00"), "no dates on the axis");
    assert!(
        drawing.contains("page 1h/5m 14.4x"),
        "factor lines unlabelled"
    );
    assert!(drawing.contains("page firing") && drawing.contains("1h window"));
    assert!(!drawing.contains("hours since epoch"));
}

#[test]
fn the_text_output_is_a_timeline() {
    let ex = examples();
    let (code, stdout, stderr) = run(&[
        "backtest",
        ex.join("shop/checkout.yaml").to_str().unwrap_or_default(),
        "--data",
        ex.join("data/shop.om").to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("checkout/availability"), "{stdout}");
    assert!(stdout.contains("page   2026-11-04T14:0"), "{stdout}");
    assert!(stdout.contains("precision"), "{stdout}");
}

#[test]
fn bad_data_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("bad.om");
    std::fs::write(
        &data,
        "x_total{a=\"b\"} 1 100\nx_total{a=\"b\" 2 160\n# EOF\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = run(&[
        "backtest",
        examples()
            .join("shop/checkout.yaml")
            .to_str()
            .unwrap_or_default(),
        "--data",
        data.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("bad.om:2:"), "{stderr}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// Regression (issue 12): one `events` SLI aborted the whole run; now it is
/// skipped with a warning and the other SLOs are replayed.
#[test]
fn backtest_skips_an_events_sli_and_replays_the_rest() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ex = examples();
    std::fs::copy(
        ex.join("shop/checkout.yaml"),
        dir.path().join("checkout.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("jobs.yaml"),
        "version: slo/v1\nservice: jobs\nslos:\n  - name: success\n    objective: 99\n    sli:\n      events:\n        error_query: sum(rate(jobs_failed_total[{{.window}}]))\n        total_query: sum(rate(jobs_total[{{.window}}]))\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let data = ex.join("data/shop.om");
    let (code, stdout, stderr) = run(&["backtest", path(dir.path()), "--data", path(&data)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: jobs/success skipped: `events` SLIs cannot be replayed"),
        "{stderr}"
    );
    assert!(stdout.contains("checkout/availability (99.9%"), "{stdout}");
    assert!(stdout.contains("jobs/success: SKIPPED"), "{stdout}");
    let (code, json, stderr) = run(&[
        "backtest",
        path(dir.path()),
        "--data",
        path(&data),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc = strict_json::parse_or_panic(&json);
    assert_eq!(doc["slos"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["skipped"][0]["slo"], "success", "{doc}");
    // Only the events SLI: nothing to replay is an error.
    let (code, _, stderr) = run(&[
        "backtest",
        path(&dir.path().join("jobs.yaml")),
        "--data",
        path(&data),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no SLO could be replayed"), "{stderr}");
}

/// Regression (issue 12): a range without data printed "no alerts".
#[test]
fn backtest_range_without_data_says_no_data() {
    let ex = examples();
    let (code, stdout, stderr) = run(&[
        "backtest",
        path(&ex.join("shop/checkout.yaml")),
        "--data",
        path(&ex.join("data/shop.om")),
        "--start",
        "2026-11-20T00:00:00Z",
        "--end",
        "2026-11-21T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "NO DATA in this range: no samples (or no traffic) at any of its 1441 evaluations"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("no alerts"), "{stdout}");
    let (_, json, _) = run(&[
        "backtest",
        path(&ex.join("shop/checkout.yaml")),
        "--data",
        path(&ex.join("data/shop.om")),
        "--start",
        "2026-11-20T00:00:00Z",
        "--end",
        "2026-11-21T00:00:00Z",
        "--json",
    ]);
    let doc = strict_json::parse_or_panic(&json);
    assert_eq!(
        doc["slos"][0]["instances"][0]["steps_with_data"], 0,
        "{doc}"
    );
    assert_eq!(doc["slos"][0]["steps"], 1441, "{doc}");
}

/// Regression (issue 12): an incident naming an unknown SLO was silently
/// left out of every score.
#[test]
fn backtest_incident_naming_an_unknown_slo_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let incidents = dir.path().join("incidents.yaml");
    std::fs::write(
        &incidents,
        "incidents:\n  - service: checkout\n    slo: availability\n    start: 2026-11-04T14:00:00Z\n    end: 2026-11-04T14:20:00Z\n  - service: checkout\n    slo: availabilty\n    start: 2026-11-04T14:00:00Z\n    end: 2026-11-04T14:20:00Z\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ex = examples();
    let (code, _, stderr) = run(&[
        "backtest",
        path(&ex.join("shop/checkout.yaml")),
        "--data",
        path(&ex.join("data/shop.om")),
        "--incidents",
        path(&incidents),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("incidents.yaml:6:5: error: incidents[1]: the incident names SLO `availabilty` of service `checkout`, which no spec given defines (the SLOs: checkout/availability)"),
        "{stderr}"
    );
}

/// Regression (issue 12): `--plot x.png` wrote SVG into a .png.
#[test]
fn backtest_plot_to_a_png_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let png = dir.path().join("x.png");
    let ex = examples();
    let (code, _, stderr) = run(&[
        "backtest",
        path(&ex.join("shop/checkout.yaml")),
        "--data",
        path(&ex.join("data/shop.om")),
        "--plot",
        path(&png),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the plot is drawn as SVG only; name the file *.svg"),
        "{stderr}"
    );
    assert!(!png.exists());
}

/// Regression (issue 12): a data file without `# EOF` (cut short) was read
/// silently; now it is read with a warning that it may be truncated, and the
/// budget line says what it is measured over.
#[test]
fn backtest_data_without_eof_warns_and_budget_states_its_basis() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ex = examples();
    let full = std::fs::read_to_string(ex.join("data/shop.om")).unwrap_or_default();
    let cut = full.trim_end().strip_suffix("# EOF").unwrap_or_default();
    assert!(!cut.is_empty());
    let data = dir.path().join("cut.om");
    std::fs::write(&data, cut).unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run(&[
        "backtest",
        path(&ex.join("shop/checkout.yaml")),
        "--data",
        path(&data),
    ]);
    assert_eq!(code, 0, "{stderr}");
    // At the last character of the file.
    let last = cut.trim_end().lines().count();
    let column = cut.trim_end().lines().last().map_or(0, str::len);
    assert!(
        stderr.contains(&format!(
            "cut.om:{last}:{column}: warning: no `# EOF` line: the file may be truncated"
        )),
        "{stderr}"
    );
    // Three days of a 30-day period: the basis is said.
    assert!(
        stdout.contains("budget remaining at the end (30d period, 3d of data: that error ratio as if it held for the whole period): -368%"),
        "{stdout}"
    );
}
