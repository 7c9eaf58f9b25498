//! Sloth's own alerts fire when the slo/v1 conversion of its spec says they
//! do, checked by Prometheus's rule engine (`promtool test rules`).
//!
//! The rules are written here in Sloth's layout (FIELD-NOTES section 2: per
//! window `slo:sli_error:ratio_rate<w>` recordings labelled `sloth_*`, and
//! one alert per tier ORing its window pairs), with Sloth's own window and
//! factor table written out below, independently of this crate's presets.
//! Only the spec's queries and labels come from the loader. The expected
//! firing times come from the *converted* spec: its objective, period and
//! window pairs (detection time `f * b * W_long / e`). So the test fails if
//! the conversion changes when a Sloth user would be paged.

#[path = "support/binary.rs"]
mod binary;
#[path = "support/yaml.rs"]
mod yaml;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use slo_core::native::to_yaml;
use slo_core::policy::Severity;
use slo_core::spec::{Labels, Sli, Slo};
use yaml::scalar;

/// Sloth's default alert windows ("google-30d"): severity, long, short,
/// factor.
const SLOTH_WINDOWS: [(&str, &str, &str, f64); 4] = [
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6.0),
    ("ticket", "1d", "2h", 3.0),
    ("ticket", "3d", "6h", 1.0),
];

/// Scrape step of the synthetic series, minutes.
const STEP_MINUTES: u64 = 1;
/// Clean history before the errors start: the longest window, so every
/// window holds real data when the errors begin.
const CLEAN_MINUTES: u64 = 3 * 24 * 60;
/// Requests per minute, and errors per minute once they start (2%).
const REQUESTS: u64 = 100;
const ERRORS: u64 = 2;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn labels_yaml(out: &mut String, indent: usize, labels: &Labels) {
    for (k, v) in labels {
        let _ = writeln!(out, "{:indent$}{k}: {}", "", scalar(v));
    }
}

/// Sloth's recording rules and alerts for one events SLO.
fn sloth_rules(slo: &Slo) -> String {
    let Sli::Events(events) = &slo.sli else {
        panic!("the test reads events SLIs");
    };
    let id = format!("{}-{}", slo.service, slo.name);
    let sloth = |window: Option<&str>| {
        let mut l = slo.labels.clone();
        l.insert("sloth_id".into(), id.clone());
        l.insert("sloth_service".into(), slo.service.clone());
        l.insert("sloth_slo".into(), slo.name.clone());
        if let Some(w) = window {
            l.insert("sloth_window".into(), w.into());
        }
        l
    };
    let mut out = String::from("groups:\n");
    let _ = writeln!(out, "  - name: sloth-slo-sli-recordings-{id}\n    rules:");
    let mut windows: Vec<&str> = SLOTH_WINDOWS.iter().flat_map(|w| [w.1, w.2]).collect();
    windows.sort();
    windows.dedup();
    for w in windows {
        let expr = format!(
            "({})\n/\n({})",
            events.error_query.replace("{{.window}}", w),
            events.total_query.replace("{{.window}}", w)
        );
        let _ = writeln!(out, "      - record: slo:sli_error:ratio_rate{w}");
        let _ = writeln!(out, "        expr: {}", scalar(&expr));
        let _ = writeln!(out, "        labels:");
        labels_yaml(&mut out, 10, &sloth(Some(w)));
    }
    let _ = writeln!(out, "  - name: sloth-slo-alerts-{id}\n    rules:");
    let budget = 1.0 - slo.objective.ratio();
    let selector = format!(
        "{{sloth_id=\"{id}\", sloth_service=\"{}\", sloth_slo=\"{}\"}}",
        slo.service, slo.name
    );
    for severity in ["page", "ticket"] {
        let tier = slo
            .alerting
            .tier(Severity::parse(severity).unwrap_or(Severity::Page));
        if tier.disabled {
            continue;
        }
        let pairs: Vec<String> = SLOTH_WINDOWS
            .iter()
            .filter(|w| w.0 == severity)
            .map(|(_, long, short, factor)| {
                format!(
                    "(max(slo:sli_error:ratio_rate{short}{selector} > ({factor} * {budget})) without (sloth_window)\nand\nmax(slo:sli_error:ratio_rate{long}{selector} > ({factor} * {budget})) without (sloth_window))"
                )
            })
            .collect();
        let mut labels = slo.alerting.labels.clone();
        labels.extend(tier.labels.clone());
        labels.insert("sloth_severity".into(), severity.into());
        let _ = writeln!(out, "      - alert: {}", slo.alerting.name);
        let _ = writeln!(out, "        expr: {}", scalar(&pairs.join("\nor\n")));
        let _ = writeln!(out, "        labels:");
        labels_yaml(&mut out, 10, &labels);
    }
    out
}

/// Minutes from the start of the errors until `severity` fires, by the
/// converted spec.
fn detection_minutes(slo: &Slo, severity: Severity, error_ratio: f64) -> f64 {
    let seconds = slo
        .policy
        .detection_time(&slo.budget(), Some(severity), error_ratio)
        .unwrap_or_else(|| panic!("{severity} never fires at {error_ratio}"));
    seconds / 60.0
}

#[test]
fn sloth_alerts_fire_when_the_converted_spec_says() {
    let promtool = binary::binary("promtool");
    let path = root().join("examples/sloth/myservice.yaml");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let sloth = slo_core::load::load_str(&source).unwrap_or_else(|d| panic!("{d:?}"));
    let converted = slo_core::load::load_str(&to_yaml(&sloth)).unwrap_or_else(|d| panic!("{d:?}"));
    let original = &sloth.slos[0];
    let slo = &converted.slos[0];
    assert_eq!(slo.name, "requests-availability");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("rules.yml"), sloth_rules(original))
        .unwrap_or_else(|e| panic!("{e}"));

    // 100 requests a minute, then 2% of them fail (5xx) from CLEAN_MINUTES on.
    let error_ratio = ERRORS as f64 / REQUESTS as f64;
    let page = detection_minutes(slo, Severity::Page, error_ratio);
    let ticket = detection_minutes(slo, Severity::Ticket, error_ratio);
    let errors_for = ticket.ceil() as u64 + 10;
    let ok_rate = REQUESTS - ERRORS;
    let ok = format!(
        "0+{REQUESTS}x{CLEAN_MINUTES} {}+{ok_rate}x{}",
        REQUESTS * CLEAN_MINUTES + ok_rate,
        errors_for - 1
    );
    let failed = format!("0x{CLEAN_MINUTES} {ERRORS}+{ERRORS}x{}", errors_for - 1);

    // Each tier: not firing a step and a half before its detection time,
    // firing a step and a half after (Prometheus samples once a minute).
    let margin = 1.5 * STEP_MINUTES as f64;
    let mut cases = String::new();
    let alert = &slo.alerting.name;
    let labels = |severity: Severity| {
        let tier = slo.alerting.tier(severity);
        let mut l = slo.labels.clone();
        l.extend(slo.alerting.labels.clone());
        l.extend(tier.labels.clone());
        l.insert("sloth_id".into(), format!("{}-{}", slo.service, slo.name));
        l.insert("sloth_service".into(), slo.service.clone());
        l.insert("sloth_slo".into(), slo.name.clone());
        l.insert("sloth_severity".into(), severity.to_string());
        let mut out = String::new();
        labels_yaml(&mut out, 14, &l);
        out
    };
    let mut case = |minute: f64, firing: &[Severity]| {
        let at = CLEAN_MINUTES as f64 + minute;
        let _ = writeln!(
            cases,
            "      - eval_time: {}m\n        alertname: {alert}",
            at.round()
        );
        if firing.is_empty() {
            let _ = writeln!(cases, "        exp_alerts: []");
            return;
        }
        let _ = writeln!(cases, "        exp_alerts:");
        for severity in firing {
            let _ = write!(cases, "          - exp_labels:\n{}", labels(*severity));
        }
    };
    case(-1.0, &[]);
    case(page - margin, &[]);
    case(page + margin, &[Severity::Page]);
    case(ticket - margin, &[Severity::Page]);
    case(ticket + margin, &[Severity::Page, Severity::Ticket]);

    let suite = format!(
        "rule_files: [rules.yml]\nevaluation_interval: {STEP_MINUTES}m\ntests:\n  - interval: {STEP_MINUTES}m\n    input_series:\n      - series: 'http_request_duration_seconds_count{{job=\"myservice\",code=\"200\"}}'\n        values: '{ok}'\n      - series: 'http_request_duration_seconds_count{{job=\"myservice\",code=\"503\"}}'\n        values: '{failed}'\n    alert_rule_test:\n{cases}"
    );
    std::fs::write(dir.path().join("test.yml"), &suite).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&promtool)
        .current_dir(dir.path())
        .args(["test", "rules", "test.yml"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "promtool: {}{}\n--- test.yml\n{suite}\n--- rules.yml\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sloth_rules(original)
    );
    // The page fires at 43.2 minutes, the tickets at 3.6 hours: far enough
    // apart for the checks above to tell the tiers and their factors apart.
    assert_eq!((page.round(), ticket.round()), (43.0, 216.0));
}
