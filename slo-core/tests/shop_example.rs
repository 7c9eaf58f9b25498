//! The example shop (examples/data, examples/shop): the committed files are
//! the generator's output, and the backtest catches the incidents that
//! matter without alerting on the ones that do not.

#[path = "../examples/gen_shop_data/shop.rs"]
#[allow(dead_code)]
mod shop;

use std::path::PathBuf;
use std::sync::OnceLock;

use slo_core::backtest::{self, Incidents, InstanceReport, Options, Report};
use slo_core::dataset::Dataset;
use slo_core::incident::Incident;
use slo_core::policy::Severity;
use slo_core::spec::Slo;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Example {
    data: Dataset,
    incidents: Vec<Incident>,
    generated: shop::Shop,
}

fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let text = read("data/shop.om");
        let (data, diagnostics) = slo_core::openmetrics::check(&text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let incidents = slo_core::incident::load_str(&read("data/incidents.yaml"))
            .unwrap_or_else(|d| panic!("{d:?}"));
        Example {
            data: data.unwrap_or_default(),
            incidents,
            generated: shop::generate(),
        }
    })
}

fn slo(file: &str) -> Slo {
    let spec = slo_core::load::load_str(&read(&format!("shop/{file}.yaml")))
        .unwrap_or_else(|d| panic!("{d:?}"));
    spec.slos[0].clone()
}

fn run(slo: &Slo) -> Report {
    let ex = example();
    let mut options = Options::new(shop::START * 1000, shop::END * 1000);
    options.incidents = Incidents::Given(ex.incidents.clone());
    backtest::backtest(slo, &ex.data, &options).unwrap_or_else(|e| panic!("{e}"))
}

fn only(report: &Report) -> &InstanceReport {
    assert_eq!(report.instances.len(), 1);
    &report.instances[0]
}

#[test]
fn committed_files_are_the_generators_output() {
    let ex = example();
    // Compare lengths first: a diff of 5 MB is no help.
    let committed = read("data/shop.om");
    assert_eq!(
        committed.len(),
        ex.generated.openmetrics.len(),
        "regenerate: cargo run -p slo-core --example gen_shop_data -- examples/data"
    );
    assert!(
        committed == ex.generated.openmetrics,
        "regenerate: cargo run -p slo-core --example gen_shop_data -- examples/data"
    );
    assert_eq!(read("data/incidents.yaml"), ex.generated.incidents);
    assert!(committed.len() < 5_000_000);
    assert_eq!(ex.data.len(), 15);
}

#[test]
fn the_sharp_outage_pages_fast_and_the_blip_does_not() {
    let report = run(&slo("checkout"));
    let inst = only(&report);
    let page = inst
        .quality_of(Some(Severity::Page))
        .copied()
        .unwrap_or_else(|| panic!("page row"));
    assert_eq!(
        (page.alerts, page.true_alerts, page.incidents, page.detected),
        (1, 1, 1, 1),
        "{:?}",
        inst.alerts
    );
    // 60% errors at 99.9%: the 1h/5m pair needs 14.4 * 0.001 * 1h / 0.6 = 86 s.
    let detection = page.max_detection_secs.unwrap_or(f64::NAN);
    assert!(detection <= 86.4 + 60.0 + 60.0, "{detection}");
    let spent = page.max_budget_before_firing.unwrap_or(f64::NAN);
    assert!(spent < 0.05, "{spent}");
    // Resolves within the 6h/30m pair's short window of the end.
    let reset = page.mean_reset_secs.unwrap_or(f64::NAN);
    assert!(reset <= 30.0 * 60.0 + 60.0, "{reset}");
}

#[test]
fn the_slow_burn_tickets_and_never_pages() {
    let report = run(&slo("frontend"));
    let inst = only(&report);
    assert_eq!(
        inst.alerts_of(Severity::Page).count(),
        0,
        "{:?}",
        inst.alerts
    );
    let ticket = inst
        .quality_of(Some(Severity::Ticket))
        .copied()
        .unwrap_or_else(|| panic!("ticket row"));
    assert_eq!(
        (
            ticket.alerts,
            ticket.true_alerts,
            ticket.incidents,
            ticket.detected
        ),
        (1, 1, 1, 1),
        "{:?}",
        inst.alerts
    );
    // The pod restart (a counter reset) did not show up as errors.
    let restart = inst
        .budget
        .iter()
        .find(|p| p.time == (shop::START + 12 * 3600) * 1000)
        .and_then(|p| p.error_ratio);
    assert!(restart.is_some_and(|r| r < 0.0005), "{restart:?}");
}

#[test]
fn the_latency_regression_pages() {
    let report = run(&slo("productcatalog"));
    let inst = only(&report);
    let page = inst
        .quality_of(Some(Severity::Page))
        .copied()
        .unwrap_or_else(|| panic!("page row"));
    assert_eq!(
        (page.alerts, page.true_alerts, page.detected),
        (1, 1, 1),
        "{:?}",
        inst.alerts
    );
    // 25% slow at 99%: 14.4 * 0.01 * 1h / 0.25 = 34.6 min.
    let detection = page.max_detection_secs.unwrap_or(f64::NAN);
    assert!((detection - 2073.6).abs() <= 5.0 * 60.0, "{detection}");
}

#[test]
fn one_failed_refund_does_not_page_thanks_to_min_events() {
    let guarded = slo("refunds");
    let report = run(&guarded);
    assert_eq!(only(&report).alerts.len(), 0, "{:?}", only(&report).alerts);
    // Without the floor on events, the night-time error pages someone.
    let mut unguarded = guarded;
    unguarded.alerting.min_events = 0.0;
    let report = run(&unguarded);
    assert!(only(&report).alerts_of(Severity::Page).count() >= 1);
}

#[test]
fn detected_incidents_match_the_listed_ones() {
    let ex = example();
    for (file, (from, to)) in [
        ("checkout", (1_793_800_800, 1_793_802_000)),
        ("productcatalog", (1_793_718_000, 1_793_725_200)),
    ] {
        let report = backtest::backtest(
            &slo(file),
            &ex.data,
            &Options::new(shop::START * 1000, shop::END * 1000),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let found: Vec<(i64, i64)> = only(&report)
            .incidents
            .iter()
            .map(|o| (o.incident.start / 1000, o.incident.end / 1000))
            .collect();
        assert_eq!(found.len(), 1, "{file}: {found:?}");
        assert!(
            (found[0].0 - from).abs() <= 120 && (found[0].1 - to).abs() <= 600,
            "{file}: {found:?}"
        );
    }
}

#[test]
fn reports_serialize_to_json() {
    let report = run(&slo("checkout"));
    let json = serde_json::to_string(&report).unwrap_or_default();
    assert!(json.contains(r#""severity":"page""#), "{json}");
    assert!(json.contains(r#""incident_source":"given""#));
}
