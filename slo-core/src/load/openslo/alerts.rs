//! OpenSLO alerting: burn-rate `AlertCondition`s as window pairs,
//! `AlertPolicy`s as lists of them, and the SLO's tiers from their
//! severities and `alertAfter`.

use super::objects::{Named, Object, any_duration, duration, resolve};
use crate::diagnostic::Diagnostic;
use crate::duration::Duration;
use crate::load::walk::{Blame, Cx, Fields};
use crate::policy::{Severity, Threshold, WindowSpec};
use crate::spec::{Alerting, DEFAULT_ALERT_NAME, Labels, Tier};
use crate::yaml::{Kind, Node};

/// Severities that page; every other one makes a ticket.
const PAGING_SEVERITIES: [&str; 2] = ["page", "critical"];

/// The short window is this fraction of the lookback window (the Workbook's
/// 1h/5m, 6h/30m, 1d/2h, 3d/6h).
const SHORT_WINDOW_DIVISOR: u64 = 12;

/// A burn-rate condition read into a window pair.
#[derive(Clone)]
pub(super) struct Condition {
    pub(super) window: WindowSpec,
    pub(super) alert_after: Duration,
    pub(super) blame: Blame,
}

/// An AlertCondition's `spec`.
pub(super) fn condition_spec(cx: &mut Cx, node: &Node, path: &str) -> Option<Condition> {
    let f = cx.fields(node, path, &["description", "severity", "condition"])?;
    let severity = cx
        .string(
            &f,
            "severity",
            Some("the alert's severity, e.g. page or ticket"),
        )
        .map(|s| {
            if PAGING_SEVERITIES.iter().any(|p| p.eq_ignore_ascii_case(&s)) {
                Severity::Page
            } else {
                Severity::Ticket
            }
        });
    let Some(cond) = f.get("condition") else {
        cx.missing(&f, "condition", "a burnrate condition");
        return None;
    };
    let c = cx.fields(
        cond,
        &f.path("condition"),
        &["kind", "op", "threshold", "lookbackWindow", "alertAfter"],
    )?;
    let mut ok = true;
    if let Some(kind) = cx.string(&c, "kind", None)
        && !kind.eq_ignore_ascii_case("burnrate")
    {
        let loc = c.get("kind").map_or(cond.location, |n| n.location);
        cx.push(
            Diagnostic::error(
                loc,
                c.path("kind"),
                format!("unsupported condition kind `{kind}`: only `burnrate` is supported"),
            )
            .with_help("burnrate: threshold (the factor), lookbackWindow, alertAfter"),
        );
        ok = false;
    }
    match cx.string(&c, "op", None).as_deref() {
        None | Some("gt" | "gte") => {}
        Some(op @ ("lt" | "lte")) => {
            let loc = c.get("op").map_or(cond.location, |n| n.location);
            cx.error(
                loc,
                &c.path("op"),
                format!("op `{op}` alerts while the burn rate is low: burn-rate alerts fire above the threshold (gt)"),
            );
            ok = false;
        }
        Some(op) => {
            let loc = c.get("op").map_or(cond.location, |n| n.location);
            cx.error(
                loc,
                &c.path("op"),
                format!("unknown op `{op}`: expected gt"),
            );
            ok = false;
        }
    }
    let factor = match cx.number(&c, "threshold", "a burn-rate factor such as 14.4") {
        Some((x, _)) if x.is_finite() && x > 0.0 => Some(x),
        Some((x, loc)) => {
            cx.error(
                loc,
                &c.path("threshold"),
                format!("threshold {x} must be a positive burn rate"),
            );
            None
        }
        None => {
            if c.get("threshold").is_none() {
                cx.missing(&c, "threshold", "the burn-rate factor, e.g. 14.4");
            }
            None
        }
    };
    let long = duration(cx, &c, "lookbackWindow");
    if c.get("lookbackWindow").is_none() {
        cx.missing(&c, "lookbackWindow", "the long window, e.g. 1h");
    }
    let short = long.and_then(|(l, loc)| match l.checked_div(SHORT_WINDOW_DIVISOR) {
        Some(s) if !s.is_zero() => Some(s),
        _ => {
            cx.error(
                loc,
                &c.path("lookbackWindow"),
                format!("lookbackWindow {l} is too short for a short window of a twelfth of it"),
            );
            None
        }
    });
    let alert_after = match c.get("alertAfter") {
        None => Some(Duration::ZERO),
        Some(n) if n.as_scalar() == Some("0") => Some(Duration::ZERO),
        Some(_) => any_duration(cx, &c, "alertAfter", true).map(|(d, _)| d),
    };
    let blame = (f.path("condition"), f.key_location("condition"));
    let (severity, factor, (long, _), short, alert_after) =
        (severity?, factor?, long?, short?, alert_after?);
    ok.then_some(Condition {
        window: WindowSpec {
            severity,
            long,
            short,
            threshold: Threshold::Factor(factor),
        },
        alert_after,
        blame,
    })
}

/// An AlertPolicy's `spec`: its conditions.
pub(super) fn policy_spec(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    defined: &Named<Condition>,
) -> Option<Vec<Condition>> {
    let f = cx.fields(
        node,
        path,
        &[
            "description",
            "alertWhenNoData",
            "alertWhenResolved",
            "alertWhenBreaching",
            "conditions",
            "notificationTargets",
        ],
    )?;
    cx.boolean(&f, "alertWhenResolved");
    cx.boolean(&f, "alertWhenBreaching");
    if cx.boolean(&f, "alertWhenNoData") == Some(true) {
        cx.push(
            Diagnostic::warning(
                f.get("alertWhenNoData")
                    .map_or(node.location, |n| n.location),
                f.path("alertWhenNoData"),
                "alertWhenNoData is not converted: no alert fires when the SLI has no data",
            )
            .with_help("set `alerting.absent_for` (e.g. 15m) in the slo/v1 spec"),
        );
    }
    let items = cx.list(&f, "conditions", "a list of burnrate conditions")?;
    let mut conditions = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = format!("{}[{i}]", f.path("conditions"));
        let c = resolve(
            cx,
            item,
            &p,
            "conditionRef",
            "AlertCondition",
            |cx, o| o.spec.and_then(|s| condition_spec(cx, s, &o.path)),
            defined,
        );
        match c {
            Some(c) => conditions.push(c),
            None => ok = false,
        }
    }
    ok.then_some(conditions)
}

/// `alertPolicies`: every condition of every policy, `Some(empty)` when
/// there are none.
pub(super) fn alert_policies(
    cx: &mut Cx,
    f: &Fields<'_>,
    policies: &Named<Vec<Condition>>,
    defined: &Named<Condition>,
) -> Option<Vec<Condition>> {
    let Some(node) = f.get("alertPolicies").filter(|n| !n.is_null()) else {
        return Some(Vec::new());
    };
    let path = f.path("alertPolicies");
    let Kind::Seq(items) = &node.kind else {
        cx.error(
            node.location,
            &path,
            format!(
                "expected a list of alert policies, found {}",
                node.describe()
            ),
        );
        return None;
    };
    let mut conditions = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let read =
            |cx: &mut Cx, o: &Object<'_>| o.spec.and_then(|s| policy_spec(cx, s, &o.path, defined));
        match resolve(
            cx,
            item,
            &p,
            "alertPolicyRef",
            "AlertPolicy",
            read,
            policies,
        ) {
            Some(c) => conditions.extend(c),
            None => ok = false,
        }
    }
    ok.then_some(conditions)
}

/// The SLO's alerting from its conditions: the window pairs, and each
/// tier's `for` from its conditions' `alertAfter`.
pub(super) fn alerting(
    cx: &mut Cx,
    conditions: Vec<Condition>,
    f: &Fields<'_>,
    period: Duration,
) -> (Alerting, Vec<WindowSpec>, Vec<Blame>) {
    let mut alerting = Alerting {
        name: DEFAULT_ALERT_NAME.to_owned(),
        labels: Labels::new(),
        annotations: Labels::new(),
        page: Tier::new(Severity::Page),
        ticket: Tier::new(Severity::Ticket),
        min_events: 0.0,
        absent_for: None,
    };
    if conditions.is_empty() {
        // As a slo/v1 SLO without `alerting`: the default windows.
        let specs = crate::policy::default_windows(period);
        let at = f.node.key.unwrap_or(f.node.location);
        let blame = specs.iter().map(|_| (f.path.clone(), at)).collect();
        return (alerting, specs, blame);
    }
    for severity in Severity::ALL {
        let mut tier = conditions.iter().filter(|c| c.window.severity == severity);
        let Some(first) = tier.next() else { continue };
        let mut shortest = first.alert_after;
        for c in tier {
            if c.alert_after != first.alert_after {
                cx.push(Diagnostic::warning(
                    c.blame.1,
                    c.blame.0.clone(),
                    format!(
                        "alertAfter {} differs from {} of another {severity} condition (line {}): the {severity} tier is one alert, it waits for the shortest",
                        c.alert_after, first.alert_after, first.blame.1.line
                    ),
                ));
            }
            shortest = shortest.min(c.alert_after);
        }
        let tier = match severity {
            Severity::Page => &mut alerting.page,
            Severity::Ticket => &mut alerting.ticket,
        };
        tier.for_ = (!shortest.is_zero()).then_some(shortest);
    }
    let (specs, blame) = conditions.into_iter().map(|c| (c.window, c.blame)).unzip();
    (alerting, specs, blame)
}
