//! What the daemon decides per alert besides the state machine: the
//! alert's labels (data literal, the spec's own templates rendered), the
//! data-absent alert, and a log line for every transition.

use jiff::Timestamp;
use slo_core::alert::{AlertState, Outcome};
use slo_core::rules::{AlertingRule, Naming};
use slo_core::spec::Slo;

use crate::evaluate::{Instance, InstanceResult};
use crate::notify::{Alert, Labels, Status};
use crate::server::LabelSet;
use crate::state::AlertRecord;

/// An alert's labels: the instance's labels from the data, literal (a route
/// named `{{ $value }}` is a name, not a template: rendering it would merge
/// it with the route `0` at Alertmanager); then the rule's labels, rendered
/// with `$labels` the data's labels, and winning over them, as Prometheus
/// does. The rule writes the SLO's own labels so that they render literally;
/// the spec's alert labels are templates.
pub fn labels(rule: &AlertingRule, data: &Instance) -> Labels {
    let mut out = data.clone();
    for (k, v) in &rule.labels {
        // $value is not known when the identity is built: Prometheus's value
        // would change the alert's identity at every evaluation anyway.
        out.insert(k.clone(), render(v, data, 0.0));
    }
    out.insert("alertname".to_owned(), rule.alert.clone());
    out
}

/// The alert key of the SLO's data-absent alert (one per SLO).
pub fn absent_key(slo: &Slo) -> String {
    format!("{}/{}/absent", slo.service, slo.name)
}

/// The data-absent alert of `slo` as the generated rules define it (name
/// `<alert>Absent`, the SLO's labels and the ticket tier's alert labels, the
/// same annotations), with its `for`: `absent_for`. `None` without
/// `absent_for`.
pub fn absent_rule(slo: &Slo) -> Option<(AlertingRule, Labels, Labels)> {
    let rule = slo_core::rules::absent_alert(slo, Naming::Native)?;
    let data = Instance::new();
    let labels = labels(&rule, &data);
    let annotations = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), render(v, &labels, 1.0)))
        .collect();
    Some((rule, labels, annotations))
}

/// The absent alert's condition this cycle: not firing as soon as some
/// instance has a measurement in the policy's shortest window (the series
/// exists, traffic or not), firing when none has. An SLO whose policy
/// reads no window cannot tell: unknown.
pub fn absent_outcome(slo: &Slo, instances: &[InstanceResult]) -> Outcome {
    let Some(shortest) = slo.policy.windows().first().map(ToString::to_string) else {
        return Outcome::Unknown;
    };
    if instances
        .iter()
        .any(|i| i.windows.iter().any(|(w, _)| *w == shortest))
    {
        Outcome::NotFiring
    } else {
        Outcome::Firing
    }
}

/// Who an alert is about, for its log lines.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The SLO.
    pub slo: &'a Slo,
    /// The instance's labels, `{k="v"}` (empty when ungrouped).
    pub instance: String,
    /// `page`, `ticket` or `absent`.
    pub tier: String,
    /// Burn rates per window, `5m=14.4 1h=12.1` (empty when unknown).
    pub burn_rates: String,
}

/// Burn rates of `inst` in window order, for log lines.
pub fn burn_rates(slo: &Slo, inst: &InstanceResult) -> String {
    slo.policy
        .windows()
        .iter()
        .filter_map(|w| {
            let name = w.to_string();
            let (_, v) = inst.windows.iter().find(|(n, _)| *n == name)?;
            Some(format!(
                "{w}={}",
                slo_core::num::format(slo_core::num::round_sig(v.burn_rate, 4))
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Logs the change from `prev` to `next` decided on `outcome`; `was_held`
/// is why the alert was held on unknown at the last cycle, if it was.
/// Returns whether it is held now (an unknown outcome on a pending or
/// firing alert); a hold is logged when it starts or its reason changes.
pub fn log_transition(
    who: &Subject<'_>,
    prev: AlertState,
    next: AlertState,
    outcome: Outcome,
    why_unknown: &str,
    was_held: Option<&str>,
) -> bool {
    let held = outcome == Outcome::Unknown
        && matches!(next, AlertState::Pending { .. } | AlertState::Firing { .. });
    macro_rules! log {
        ($level:ident, $msg:expr) => {
            tracing::$level!(
                service = %who.slo.service,
                slo = %who.slo.name,
                instance = %who.instance,
                tier = %who.tier,
                burn_rates = %who.burn_rates,
                $msg
            )
        };
    }
    match (prev, next) {
        (AlertState::Inactive | AlertState::Resolved { .. }, AlertState::Pending { .. }) => {
            log!(info, "alert pending")
        }
        (p, AlertState::Firing { .. }) if !p.is_firing() => log!(warn, "alert firing"),
        (AlertState::Firing { .. }, AlertState::Resolved { .. }) => log!(info, "alert resolved"),
        (AlertState::Pending { .. }, AlertState::Inactive) => {
            log!(info, "alert no longer pending")
        }
        _ => {}
    }
    if held && was_held != Some(why_unknown) {
        tracing::warn!(
            service = %who.slo.service,
            slo = %who.slo.name,
            instance = %who.instance,
            tier = %who.tier,
            burn_rates = %who.burn_rates,
            reason = why_unknown,
            state = state_name(next),
            "alert held-unknown: kept as it is, not resolved"
        );
    } else if was_held.is_some() && !held {
        log!(info, "alert evaluated again after being held");
    }
    held
}

/// The state's name in logs and metrics.
pub fn state_name(s: AlertState) -> &'static str {
    match s {
        AlertState::Inactive => "inactive",
        AlertState::Pending { .. } => "pending",
        AlertState::Firing { .. } => "firing",
        AlertState::Resolved { .. } => "resolved",
    }
}

/// `service/slo`: an SLO's id in alert keys and metric bookkeeping.
pub fn slo_id(slo: &Slo) -> String {
    format!("{}/{}", slo.service, slo.name)
}

/// The SLO id, instance (`{...}`, empty when ungrouped or absent) and tier
/// (`page`, `ticket`, `absent`) of an alert key. Names hold no `{`; the
/// tier is after the last `/`.
pub fn split_key(key: &str) -> (&str, &str, &str) {
    let (head, tier) = key.rsplit_once('/').unwrap_or((key, ""));
    match head.find('{') {
        Some(i) => (&head[..i], head[i..].trim_start_matches("{}"), tier),
        None => (head, "", tier),
    }
}

/// The `slo_eval_alert_state` value: 0 inactive or resolved, 1 pending, 2 firing.
pub fn state_code(s: AlertState) -> i64 {
    match s {
        AlertState::Firing { .. } => 2,
        AlertState::Pending { .. } => 1,
        _ => 0,
    }
}

/// The SLO's labels on the daemon's metrics.
pub fn slo_labels(slo: &Slo) -> LabelSet {
    vec![
        ("slo_service".to_owned(), slo.service.clone()),
        ("slo".to_owned(), slo.name.clone()),
    ]
}

/// Renders the few Go-template forms the generated annotations use, with
/// the daemon's values: `{{ $labels.x }}`, `{{ $value }}`,
/// `{{ printf "%.1f" $value }}` and the literal `{{ "{{" }}`.
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
            Some(slo_core::num::format(value))
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

/// A Unix-milliseconds time as a timestamp (the epoch if out of range).
pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The notification owed for a state change, if any.
pub fn transition(prev: AlertState, rec: &AlertRecord, now_ms: i64, url: &str) -> Option<Alert> {
    let fired = !prev.is_firing() && rec.state.is_firing();
    let resolved = prev.is_firing() && matches!(rec.state, AlertState::Resolved { .. });
    (fired || resolved)
        .then(|| to_alert(rec, url))
        .flatten()
        .map(|mut a| {
            if resolved {
                a.ends_at = Some(timestamp(now_ms));
            }
            a
        })
}

/// The Alertmanager view of a record: firing, or recently resolved.
/// The alert as notified: `None` unless firing or resolved.
pub fn to_alert(rec: &AlertRecord, url: &str) -> Option<Alert> {
    let (status, started_at, ends_at) = match rec.state {
        AlertState::Firing { started_at, .. } => (Status::Firing, started_at, None),
        AlertState::Resolved {
            started_at,
            resolved_at,
            ..
        } => (Status::Resolved, started_at, Some(timestamp(resolved_at))),
        _ => return None,
    };
    Some(Alert {
        labels: rec.labels.clone(),
        annotations: rec.annotations.clone(),
        starts_at: timestamp(started_at),
        ends_at,
        status,
        generator_url: url.to_owned(),
    })
}

/// One evaluation of one alert, for the daemon's `step_alert`.
#[derive(Debug)]
pub(crate) struct Step<'a> {
    /// The alert's key in the state.
    pub(crate) key: String,
    /// Its labels this evaluation.
    pub(crate) labels: Labels,
    /// Its rendered annotations this evaluation.
    pub(crate) annotations: Labels,
    /// Replace the recorded annotations (else only a new record takes them).
    pub(crate) refresh_annotations: bool,
    /// What the evaluation says.
    pub(crate) outcome: Outcome,
    /// The alert's `for`.
    pub(crate) hold_for: Option<slo_core::duration::Duration>,
    /// Who it is about, for the log.
    pub(crate) who: Subject<'a>,
    /// Why an unknown outcome is unknown, for the log.
    pub(crate) why: &'static str,
    /// The `slo_eval_alert_state` series labels.
    pub(crate) series: LabelSet,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12: an instance label `route="{{ $value }}"` was rendered to
    /// `0`, colliding with the route `0`. Data labels are literal; the
    /// spec's alert labels are still templates.
    #[test]
    fn label_values_from_the_data_are_not_templates() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: avail\n    objective: 99\n    sli:\n      ratio: {errors: 'x{code=\"500\"}', total: 'x', group_by: [route]}\n    alerting:\n      labels: {team: 'pay-{{ $labels.route }}'}\n";
        let spec = slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slo = &spec.slos[0];
        let rule =
            slo_core::rules::tier_alert(slo, Naming::Native, slo_core::policy::Severity::Page)
                .unwrap_or_else(|| panic!("no page rule"));
        let odd = Instance::from([("route".to_owned(), "{{ $value }}".to_owned())]);
        let zero = Instance::from([("route".to_owned(), "0".to_owned())]);
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
