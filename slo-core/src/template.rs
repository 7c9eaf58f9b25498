//! An alert's labels and annotations as the evaluator sends them: the
//! generated rules' Go templates, rendered with the evaluator's values the
//! way Prometheus renders them, so an alert from the daemon and one from
//! the rules read the same.
//!
//! ```
//! use slo_core::spec::Labels;
//! use slo_core::template::render;
//!
//! let labels = Labels::from([("route".to_owned(), "/pay".to_owned())]);
//! let text = render("{{ $labels.route }} burns {{ printf \"%.1f\" $value }}x", &labels, 14.44);
//! assert_eq!(text, "/pay burns 14.4x");
//! ```

use crate::rules::AlertingRule;
use crate::spec::Labels;

/// An alert's labels: the instance's labels from the data, literal (a route
/// named `{{ $value }}` is a name, not a template: rendering it would merge
/// it with the route `0` at Alertmanager); then the rule's labels, rendered
/// with `$labels` the data's labels, and winning over them, as Prometheus
/// does. The rule writes the SLO's own labels so that they render literally;
/// the spec's alert labels are templates.
pub fn labels(rule: &AlertingRule, data: &Labels) -> Labels {
    let mut out = data.clone();
    for (k, v) in &rule.labels {
        // $value is not known when the identity is built: Prometheus's value
        // would change the alert's identity at every evaluation anyway.
        out.insert(k.clone(), render(v, data, 0.0));
    }
    out.insert("alertname".to_owned(), rule.alert.clone());
    out
}

/// The rule's annotations rendered with the alert's `labels` and `value`.
pub fn annotations(rule: &AlertingRule, labels: &Labels, value: f64) -> Labels {
    rule.annotations
        .iter()
        .map(|(k, v)| (k.clone(), render(v, labels, value)))
        .collect()
}

/// Renders the few Go-template forms the generated annotations use:
/// `{{ $labels.x }}`, `{{ $value }}`, `{{ printf "%.1f" $value }}` and the
/// literal `{{ "{{" }}`. Anything else is left as written.
pub fn render(template: &str, labels: &Labels, value: f64) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = rest[start + 2..start + end].trim();
        let replaced = if let Some(name) = inner.strip_prefix("$labels.") {
            Some(labels.get(name.trim()).cloned().unwrap_or_default())
        } else if inner == "$value" {
            Some(crate::num::format(value))
        } else if inner == "printf \"%.1f\" $value" {
            Some(format!("{value:.1}"))
        } else if inner == "\"{{\"" {
            Some("{{".to_owned())
        } else {
            None
        };
        match replaced {
            Some(r) => out.push_str(&r),
            None => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Naming, tier_alert};

    /// Issue 12: an instance label `route="{{ $value }}"` was rendered to
    /// `0`, colliding with the route `0`. Data labels are literal; the
    /// spec's alert labels are still templates.
    #[test]
    fn label_values_from_the_data_are_not_templates() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: avail\n    objective: 99\n    sli:\n      ratio: {errors: 'x{code=\"500\"}', total: 'x', group_by: [route]}\n    alerting:\n      labels: {team: 'pay-{{ $labels.route }}'}\n";
        let spec = crate::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slo = &spec.slos[0];
        let rule = tier_alert(slo, Naming::Native, crate::policy::Severity::Page)
            .unwrap_or_else(|| panic!("no page rule"));
        let odd = Labels::from([("route".to_owned(), "{{ $value }}".to_owned())]);
        let zero = Labels::from([("route".to_owned(), "0".to_owned())]);
        let a = labels(&rule, &odd);
        let b = labels(&rule, &zero);
        assert_eq!(a["route"], "{{ $value }}");
        assert_eq!(b["route"], "0");
        assert_ne!(a, b);
        assert_eq!(a["team"], "pay-{{ $value }}");
        assert_eq!(b["team"], "pay-0");
        assert_eq!(a["slo"], "avail");
        assert_eq!(a["alertname"], rule.alert);
    }

    #[test]
    fn renders_the_generated_templates() {
        let labels = Labels::from([("route".to_owned(), "/pay".to_owned())]);
        assert_eq!(
            render(
                "x (route={{ $labels.route }}) at {{ printf \"%.1f\" $value }}x {{ \"{{\" }}",
                &labels,
                14.44
            ),
            "x (route=/pay) at 14.4x {{"
        );
        assert_eq!(render("{{ unknown }} {{", &labels, 1.0), "{{ unknown }} {{");
    }
}
