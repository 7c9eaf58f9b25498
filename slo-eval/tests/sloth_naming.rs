//! `generate --naming sloth`: Sloth's series and label names over this
//! tool's rules, checked by Prometheus's own rule engine (`promtool test
//! rules`).
//!
//! - The rules generated with Sloth's names from a Sloth spec alert at the
//!   same evaluations, with Sloth's labels, as the native rules generated
//!   from its slo/v1 conversion; the times come from slo-core's math.
//! - The queries a Sloth dashboard issues return the expected values.

mod common;

use common::{ExprTest, Sample, Suite, Traffic, expanding, spec, spec_file, tick_before};
use slo_core::policy::Severity;
use slo_core::promql::quote;
use slo_core::rules::{self, Naming, RuleFile, STEP};
use slo_core::spec::{Labels, Slo, Spec};

const MIN: u64 = 60;
const DAY: u64 = 24 * 3600;
const ALERT: &str = "MyServiceHighErrorRate";

/// The Sloth example and its slo/v1 conversion, read back.
fn myservice() -> (Spec, Spec) {
    let sloth = spec_file(&common::repo_root().join("examples/sloth/myservice.yaml"));
    let converted = spec(&slo_core::native::to_yaml(&sloth));
    (sloth, converted)
}

/// The counters the example's queries read: `code="200"` good requests,
/// `code="503"` bad ones.
fn myservice_series(traffic: &Traffic) -> Vec<(String, String)> {
    let (good, bad) = traffic.counters();
    let series = |code: &str| {
        format!("http_request_duration_seconds_count{{job=\"myservice\",code=\"{code}\"}}")
    };
    vec![
        (series("200"), expanding(&good)),
        (series("503"), expanding(&bad)),
    ]
}

/// `metric{a="b",...}` in promtool's series notation.
fn series(metric: &str, labels: &Labels) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    format!("{metric}{{{}}}", inner.join(","))
}

/// The labels an alert of `severity` must carry under `naming`, written out
/// here rather than taken from the generator: the spec's labels, the
/// alerting and tier labels, the identity and the tier label.
fn alert_labels(slo: &Slo, naming: Naming, severity: Severity) -> Labels {
    let mut l = slo.labels.clone();
    l.extend(slo.alerting.labels.clone());
    l.extend(slo.alerting.tier(severity).labels.clone());
    let identity: Vec<(&str, String)> = match naming {
        Naming::Sloth => vec![
            ("sloth_id", format!("{}-{}", slo.service, slo.name)),
            ("sloth_service", slo.service.clone()),
            ("sloth_slo", slo.name.clone()),
            ("sloth_severity", severity.to_string()),
        ],
        Naming::Native => vec![
            ("slo_service", slo.service.clone()),
            ("slo", slo.name.clone()),
            ("slo_tier", severity.to_string()),
        ],
    };
    l.extend(identity.into_iter().map(|(k, v)| (k.to_owned(), v)));
    l.insert("alertname".to_owned(), ALERT.to_owned());
    l.insert("alertstate".to_owned(), "firing".to_owned());
    l
}

/// Exactly the alerts of `firing` are firing at `at`.
fn expect_alerts(suite: &mut Suite, slo: &Slo, naming: Naming, at: u64, firing: &[Severity]) {
    suite.exprs.push(ExprTest {
        expr: common::alerts_selector(ALERT, ""),
        at,
        samples: firing
            .iter()
            .map(|s| Sample {
                labels: series("ALERTS", &alert_labels(slo, naming, *s)),
                value: 1.0,
            })
            .collect(),
    });
}

fn tick_at_or_before(t: f64, interval: u64) -> u64 {
    (t / interval as f64).floor() as u64 * interval
}

/// 2% of requests fail from a clean start (three days, the longest
/// window): the page (14.4x over 1h/5m) fires at 43.2 minutes, the ticket
/// (3x over 1d/2h, and 1x over 3d/6h) at 3.6 hours, by the converted spec's
/// math. Both namings are run on the same series and must show the same
/// alerts at the same evaluations, each with its own labels.
#[test]
fn sloth_names_alert_when_the_native_rules_do() {
    let (sloth, converted) = myservice();
    let slo = &converted.slos[0];
    assert_eq!(slo.name, "requests-availability");
    let budget = slo.budget();
    let e = 0.02;
    let detect = |s: Severity| {
        slo.policy
            .detection_time(&budget, Some(s), e)
            .unwrap_or_else(|| panic!("{s} never fires at {e}"))
    };
    let (page, ticket) = (detect(Severity::Page), detect(Severity::Ticket));
    assert_eq!((page.round(), ticket.round()), (2592.0, 12960.0));
    // Steps tile time at a 5m evaluation interval, as in Prometheus.
    let interval = STEP.as_secs();
    let t0 = 3 * DAY;
    let run = (ticket as u64 + 30 * MIN) / MIN;
    let traffic = Traffic::new().run(t0 / MIN, 100, 0.0).run(run, 100, e);
    // The fastest page pair reads raw windows: one interval late at most.
    // The ticket pairs are derived from 5m steps: up to one step more.
    let fast = slo
        .policy
        .tier(Severity::Page)
        .find(|p| p.detection_time(&budget, e) == Some(page))
        .is_some_and(|p| !rules::is_derived(&slo.sli, p.long));
    assert!(fast, "the page pair at {e} should read raw windows");
    let page_by = tick_at_or_before(t0 as f64 + page + interval as f64, interval);
    let ticket_by = tick_at_or_before(
        t0 as f64 + ticket + (interval + STEP.as_secs()) as f64,
        interval,
    );
    let cases = [
        (t0 - interval, vec![]),
        (tick_before(t0 as f64 + page, interval), vec![]),
        (page_by, vec![Severity::Page]),
        (
            tick_before(t0 as f64 + ticket, interval),
            vec![Severity::Page],
        ),
        (ticket_by, vec![Severity::Page, Severity::Ticket]),
    ];
    for (naming, spec) in [(Naming::Sloth, &sloth), (Naming::Native, &converted)] {
        let rules = RuleFile::from_specs_with(std::slice::from_ref(spec), naming);
        let mut suite = Suite::new(rules, interval);
        suite.series = myservice_series(&traffic);
        for (at, firing) in &cases {
            expect_alerts(&mut suite, slo, naming, *at, firing);
        }
        let (ok, out) = suite.run();
        assert!(ok && out.contains("SUCCESS"), "{naming} naming:\n{out}");
    }
}

/// The queries of a Sloth dashboard, on Sloth-named rules: the 5m error
/// ratio by `sloth_service` and `sloth_slo`, the period's ratio, burn rate
/// and budget left by `sloth_id`, and the metadata. Traffic is one bad
/// request in 2048 (5 bad a second), so every value is exact in binary and
/// promtool's exact comparison holds.
#[test]
fn sloth_dashboard_queries_return_the_expected_values() {
    let (sloth, _) = myservice();
    let slo = &sloth.slos[0];
    let ratio = 1.0 / 2048.0;
    let traffic = Traffic::new().run(3 * 60, 2048 * 300, ratio);
    let at = traffic.len() * MIN;
    let budget = slo.budget();
    let mut suite = Suite::new(
        RuleFile::from_specs_with(std::slice::from_ref(&sloth), Naming::Sloth),
        MIN,
    );
    suite.series = myservice_series(&traffic);
    let id = "myservice-requests-availability";
    let mut labels = slo.labels.clone();
    labels.extend([
        ("sloth_id".to_owned(), id.to_owned()),
        ("sloth_service".to_owned(), "myservice".to_owned()),
        ("sloth_slo".to_owned(), "requests-availability".to_owned()),
    ]);
    let with = |extra: &[(&str, &str)]| {
        let mut l = labels.clone();
        l.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        l
    };
    let by_id = format!("{{sloth_id=\"{id}\"}}");
    let burn = budget.burn_rate(ratio);
    let queries: Vec<(String, Labels, f64)> = vec![
        (
            "slo:sli_error:ratio_rate5m{sloth_service=\"myservice\",sloth_slo=\"requests-availability\"}"
                .to_owned(),
            with(&[("sloth_window", "5m")]),
            ratio,
        ),
        (
            format!("slo:sli_error:ratio_rate30d{by_id}"),
            with(&[("sloth_window", "30d")]),
            ratio,
        ),
        (
            format!("slo:current_burn_rate:ratio{by_id}"),
            with(&[("sloth_window", "5m")]),
            burn,
        ),
        (
            format!("slo:period_burn_rate:ratio{by_id}"),
            with(&[("sloth_window", "30d")]),
            burn,
        ),
        (
            format!("slo:period_error_budget_remaining:ratio{by_id}"),
            with(&[("sloth_window", "30d")]),
            budget.remaining(ratio),
        ),
        (
            format!("slo:objective:ratio{by_id}"),
            with(&[]),
            slo.objective.ratio(),
        ),
        (
            format!("slo:error_budget:ratio{by_id}"),
            with(&[]),
            budget.fraction(),
        ),
        (format!("slo:time_period:days{by_id}"), with(&[]), 30.0),
        (
            format!("sloth_slo_info{by_id}"),
            with(&[("sloth_objective", "99.9")]),
            1.0,
        ),
    ];
    for (expr, labels, value) in queries {
        let metric = expr.split('{').next().unwrap_or_default().to_owned();
        suite.exprs.push(ExprTest {
            expr,
            at,
            samples: vec![Sample {
                labels: series(&metric, &labels),
                value,
            }],
        });
    }
    // What Sloth's "remaining error budget" panel shows: 1 - (1/2048) / 0.001.
    assert_eq!(budget.remaining(ratio), 0.51171875);
    suite.assert_passes();
}
