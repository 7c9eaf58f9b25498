//! The examples in `slo-core/examples/` run and say what their docs promise:
//! each example's logic is a function, included here and checked, so an API
//! change that breaks or changes an example fails a test.

#[path = "../examples/decide_alert.rs"]
#[allow(dead_code)]
mod decide_alert;
#[path = "../examples/explain_spec.rs"]
#[allow(dead_code)]
mod explain_spec;
#[path = "../examples/generate_rules.rs"]
#[allow(dead_code)]
mod generate_rules;
#[path = "../examples/replay_history.rs"]
#[allow(dead_code)]
mod replay_history;

use std::path::Path;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn explain_spec_prints_the_workbook_numbers_for_checkout() {
    let text =
        explain_spec::explain(&explain_spec::default_spec(), 1.0).unwrap_or_else(|e| panic!("{e}"));
    let lines = lines(&text);
    assert_eq!(
        lines[0],
        "checkout/availability: objective 99.9% over 30d, error budget 0.001"
    );
    assert_eq!(lines[1], "at error ratio 1 (burn rate 1000):");
    // One line per pair, pages first: 14.4 * 0.001 * 3600 s / 1 = 51.84 s.
    assert_eq!(lines.len(), 2 + 4, "{text}");
    assert!(
        lines[2].starts_with("  page   1h/5m: factor 14.4, threshold 0.0144,")
            && lines[2].contains("fires after 51.84s"),
        "{text}"
    );
    assert!(lines[5].starts_with("  ticket 3d/6h: factor 1,"), "{text}");
}

#[test]
fn explain_spec_says_never_below_the_threshold() {
    // 0.5% errors is below both page thresholds (1.44%, 0.6%): only tickets fire.
    let text = explain_spec::explain(&explain_spec::default_spec(), 0.005)
        .unwrap_or_else(|e| panic!("{e}"));
    let pages: Vec<&str> = text.lines().filter(|l| l.contains(" page ")).collect();
    assert_eq!(pages.len(), 2, "{text}");
    assert!(
        pages
            .iter()
            .all(|l| l.ends_with("fires after never, resets never after")),
        "{text}"
    );
    let tickets: Vec<&str> = text.lines().filter(|l| l.contains(" ticket ")).collect();
    assert_eq!(tickets.len(), 2, "{text}");
    assert!(tickets.iter().all(|l| !l.contains("never")), "{text}");
}

#[test]
fn explain_spec_reports_a_bad_spec_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("slo-core-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "version: slo/v1\nservice: api\nslos:\n  - name: up\n    objective: 120\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = explain_spec::explain(&file, 1.0).expect_err("objective 120 must be refused");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        err.contains("bad.yaml") && err.contains("objective"),
        "{err}"
    );
}

#[test]
fn generate_rules_writes_recording_and_alerting_rules_for_checkout() {
    let yaml =
        generate_rules::generate(&generate_rules::default_spec()).unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_json::Value =
        serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let groups = doc["groups"].as_array().unwrap_or_else(|| panic!("{yaml}"));
    let rules: Vec<&serde_json::Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    let alerts: Vec<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    // One alerting rule per tier, named as the spec says.
    assert_eq!(
        alerts,
        ["CheckoutAvailabilityBurn", "CheckoutAvailabilityBurn"],
        "{yaml}"
    );
    let recorded: Vec<&str> = rules.iter().filter_map(|r| r["record"].as_str()).collect();
    // Every window of the workbook policy is recorded.
    for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
        assert!(
            recorded.contains(&format!("slo:sli_error:ratio_rate{w}").as_str()),
            "{w} missing from {recorded:?}"
        );
    }
}

#[test]
fn decide_alert_pends_fires_holds_on_unknown_and_resolves() {
    let text = decide_alert::scenario().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lines(&text),
        [
            "page pair 1h/5m: fires above error ratio 0.0144",
            "page pair 6h/30m: fires above error ratio 0.006",
            "t=0m long=0.02 short=0.02: page firing -> pending since 0m",
            "t=1m long=0.02 short=0.02: page firing -> pending since 0m",
            "t=2m long=0.02 short=0.02: page firing -> firing since 2m",
            "t=3m long=0.02 short=none: page unknown -> firing since 2m",
            "t=4m long=0.02 short=0: page not firing -> resolved at 4m (fired from 2m)",
        ]
    );
}

#[test]
fn replay_history_catches_the_shops_incidents() {
    let specs = replay_history::shop_specs().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = specs.iter().filter_map(|p| p.file_stem()).collect();
    assert_eq!(names, ["checkout", "frontend", "productcatalog", "refunds"]);
    let data = replay_history::examples().join("data/shop.om");
    let text = replay_history::replay(&data, &specs).unwrap_or_else(|e| panic!("{e}"));
    let lines = lines(&text);
    assert!(
        lines[0].starts_with("shop.om: ")
            && lines[0].ends_with("2026-11-02T00:00:00Z .. 2026-11-05T00:00:00Z"),
        "{text}"
    );
    // The checkout outage of 2026-11-04 14:00-14:20 pages within minutes.
    let checkout = lines
        .iter()
        .position(|l| l.starts_with("checkout/availability:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        lines[checkout + 1].starts_with("  page   2026-11-04T14:0"),
        "{text}"
    );
    // The one failed refund alerts nobody.
    assert!(
        lines.contains(&"refunds/availability: 0 alerts, 0 incidents"),
        "{text}"
    );
    // Every incident found in the data is caught by some tier.
    for line in lines.iter().filter(|l| l.starts_with("  any ")) {
        let caught = line
            .split_whitespace()
            .nth(2)
            .and_then(|c| c.split_once('/'))
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(caught.0, caught.1, "{text}");
    }
}

#[test]
fn replay_history_refuses_a_missing_file_by_name() {
    let err = replay_history::replay(Path::new("no/such/history.om"), &[])
        .expect_err("a missing file must be an error");
    assert!(err.starts_with("no/such/history.om: "), "{err}");
}
