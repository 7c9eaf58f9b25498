//! `backtest --prometheus` fetches the same history from a real Prometheus
//! (the example shop backfilled with promtool) and finds the same alerts as
//! `backtest --data` on the file.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use support::Prometheus;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn backtest(args: &[&str]) -> serde_json::Value {
    let out = Command::cargo_bin("slo-eval")
        .unwrap_or_else(|e| panic!("{e}"))
        .arg("backtest")
        .arg(examples().join("shop/checkout.yaml"))
        .arg(examples().join("shop/frontend.yaml"))
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
