//! `backtest --prometheus` fetches the same history from a real Prometheus
//! (the example shop backfilled with promtool) and finds the same alerts as
//! `backtest --data` on the file; a `slices` SLO, which a file cannot
//! replay, replays from the indicator Prometheus evaluates at every slice.

mod support;

use std::path::{Path, PathBuf};

use support::Prometheus;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn backtest(args: &[&str]) -> serde_json::Value {
    backtest_specs(
        &[
            examples().join("shop/checkout.yaml"),
            examples().join("shop/frontend.yaml"),
        ],
        args,
    )
}

fn backtest_specs(specs: &[PathBuf], args: &[&str]) -> serde_json::Value {
    let out = support::slo_eval()
        .arg("backtest")
        .args(specs)
        .args([
            "--json",
            "--start",
            "2026-11-03T00:00:00Z",
            "--end",
            "2026-11-05T00:00:00Z",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// (service, severity, start ms, end ms) of every alert.
fn alerts(doc: &serde_json::Value) -> Vec<(String, String, i64, i64)> {
    let mut out = Vec::new();
    for slo in doc["slos"].as_array().into_iter().flatten() {
        for inst in slo["instances"].as_array().into_iter().flatten() {
            for a in inst["alerts"].as_array().into_iter().flatten() {
                out.push((
                    slo["service"].as_str().unwrap_or_default().to_owned(),
                    a["severity"].as_str().unwrap_or_default().to_owned(),
                    a["start"].as_i64().unwrap_or(0),
                    a["end"].as_i64().unwrap_or(0),
                ));
            }
        }
    }
    out
}

#[test]
fn prometheus_history_gives_the_alerts_of_the_file() {
    let data = examples().join("data/shop.om");
    let text = std::fs::read_to_string(&data).unwrap_or_else(|e| panic!("{e}"));
    let prom = Prometheus::start(&text, &[]);
    slices_replay_from_the_indicator_prometheus_evaluates(&prom, &data);
    let from_file = backtest(&["--data", data.to_str().unwrap_or_default()]);
    let from_prom = backtest(&["--prometheus", &prom.url, "--resolution", "30s"]);
    let (a, b) = (alerts(&from_file), alerts(&from_prom));
    assert!(!a.is_empty(), "the example must alert: {from_file}");
    assert_eq!(a.len(), b.len(), "file {a:?}\nprometheus {b:?}");
    // Prometheus returns the counters resampled at the resolution: edges may
    // move by a step (1m), never more.
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        assert!((x.2 - y.2).abs() <= 60_000, "start {x:?} vs {y:?}");
        assert!((x.3 - y.3).abs() <= 60_000, "end {x:?} vs {y:?}");
    }
}

/// A minute is bad while the checkout's 5m error ratio is 10% or more: the
/// 20-minute outage at 60% errors (2026-11-04 14:00Z) makes bad slices from
/// about 14:01, and the page fires on the 9th (14.4 x 1% x 61 slices of the
/// 1h window), about 14:09; nothing else in the two days pages. A data file
/// holds no indicator: that replay fails and says to use `--prometheus`.
fn slices_replay_from_the_indicator_prometheus_evaluates(prom: &Prometheus, data: &Path) {
    let spec =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backtest/checkout-slices.yaml");
    let doc = backtest_specs(
        std::slice::from_ref(&spec),
        &["--prometheus", &prom.url, "--resolution", "30s"],
    );
    let alerts = alerts(&doc);
    let pages: Vec<_> = alerts.iter().filter(|a| a.1 == "page").collect();
    let outage = slo_core::time::parse("2026-11-04T14:00:00Z").unwrap_or_default();
    assert_eq!(pages.len(), 1, "{alerts:?}");
    let (start, end) = (pages[0].2, pages[0].3);
    assert!(
        (outage + 8 * 60_000..=outage + 11 * 60_000).contains(&start),
        "page at {} min after the outage began",
        (start - outage) as f64 / 60_000.0
    );
    assert!(
        end > outage + 20 * 60_000 && end < outage + 90 * 60_000,
        "{alerts:?}"
    );
    eprintln!(
        "slices page {:.1} min after the outage began, resolved after {:.1} min",
        (start - outage) as f64 / 60_000.0,
        (end - outage) as f64 / 60_000.0
    );
    let instance = &doc["slos"][0]["instances"][0];
    let remaining = instance["budget"]
        .as_array()
        .and_then(|b| b.last())
        .and_then(|p| p["remaining"].as_f64())
        .unwrap_or(f64::NAN);
    assert!(remaining < 1.0 && remaining > 0.0, "{remaining}");

    let out = support::slo_eval()
        .arg("backtest")
        .arg(&spec)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no slice indicator") && stderr.contains("--prometheus URL"),
        "{stderr}"
    );
}
