//! `slo-eval backtest` on the embedded example shop: the README's main job.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("slo-eval")
        .unwrap_or_else(|e| panic!("{e}"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
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
