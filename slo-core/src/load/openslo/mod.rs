//! Reading OpenSLO v1 (`apiVersion: openslo/v1`).
//!
//! A file holds one or more objects, as YAML documents (or one YAML list):
//! `SLO`, `SLI`, `AlertPolicy`, `AlertCondition`, `Service`, `DataSource`
//! and `AlertNotificationTarget`. References (`indicatorRef`,
//! `alertPolicyRef`, `conditionRef`, `metricSourceRef`) are resolved within
//! the file. Every `SLO` becomes one SLO of the [`Spec`]; they must all belong
//! to one service (`spec.service`), since a spec is one service: split a file
//! that holds several.
//!
//! How OpenSLO maps onto slo/v1:
//!
//! - `metadata.name` of the SLO is its name; `spec.description` its
//!   description. Metadata labels and annotations are not Prometheus labels
//!   and are not carried over.
//! - `timeWindow: [{duration: 28d, isRolling: true}]` is the period (30d when
//!   absent). OpenSLO durations take one unit: `m` minutes, `h`, `d`, `w`.
//!   Months, quarters and years (`M`, `Q`, `Y`) have no fixed length and
//!   calendar-aligned windows are not rolling: both are errors.
//! - `budgetingMethod: Occurrences` counts events. `Timeslices` makes a
//!   `slices` SLI, the slice being the objective's `timeSliceWindow`: over a
//!   `ratioMetric`, a slice is good when its good ratio over the slice
//!   reaches `timeSliceTarget` (a slice without traffic has no data and is
//!   neither good nor bad); over a `thresholdMetric`, when `query op value`
//!   holds (`op`: `lt`, `lte`, `gt`, `gte`), or with `timeSliceTarget`, when
//!   it holds for that share of the slice's evaluations.
//!   `RatioTimeslices` (an average of per-slice ratios) is an error.
//! - One objective per SLO: `target` (a ratio, 0.999) or `targetPercent`
//!   (99.9).
//! - `ratioMetric` with `good` or `bad` over `total`, from Prometheus metric
//!   sources (`type: Prometheus`, or a `DataSource` of that type): when every
//!   query is a series selector the SLI is a `ratio` of counters; when a query
//!   is PromQL over a `[{{.window}}]` range the SLI is `events` (a selector
//!   beside it is read as `sum(rate(SELECTOR[{{.window}}]))`, and good events
//!   become `(total) - (good)`); any other query is an error. `raw` with
//!   `rawType` `failure` (or `success`, as `1 - (...)`) is a `raw` SLI.
//!   `thresholdMetric` (any PromQL) goes with Timeslices budgeting only.
//! - Each `burnrate` `AlertCondition` (`op: gt`, `gte` reads the same) is one
//!   window pair: factor = `threshold`, long window = `lookbackWindow`, and
//!   the short window a twelfth of it, the Workbook's rule (1h gives 5m, 6h
//!   30m, 1d 2h, 3d 6h), since OpenSLO gives one lookback window. Several
//!   conditions (in one or several policies) make several pairs.
//! - A condition's `severity` picks the tier: `page` or `critical` page,
//!   anything else makes a ticket. A tier's alert waits for its conditions'
//!   `alertAfter` (the shortest, with a warning, when they differ: a tier is
//!   one alert rule).
//! - An SLO without `alertPolicies` gets the Workbook windows, as a slo/v1
//!   SLO without `alerting` does. Notification targets, `alertWhenResolved`
//!   and `alertWhenBreaching` are Alertmanager's business and are not read;
//!   `alertWhenNoData: true` is reported as not converted.
//!
//! ```
//! let spec = slo_core::load::load_str(r#"
//! apiVersion: openslo/v1
//! kind: SLO
//! metadata: {name: availability}
//! spec:
//!   service: checkout
//!   budgetingMethod: Occurrences
//!   timeWindow: [{duration: 28d, isRolling: true}]
//!   objectives: [{target: 0.999}]
//!   indicator:
//!     metadata: {name: errors}
//!     spec:
//!       ratioMetric:
//!         counter: true
//!         bad: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code=~"5.."}'}}}
//!         total: {metricSource: {type: Prometheus, spec: {query: http_requests_total}}}
//!   alertPolicies:
//!     - kind: AlertPolicy
//!       metadata: {name: fast-burn}
//!       spec:
//!         conditions:
//!           - kind: AlertCondition
//!             metadata: {name: page-1h}
//!             spec:
//!               severity: page
//!               condition: {kind: burnrate, op: gt, threshold: 13.44, lookbackWindow: 1h, alertAfter: 2m}
//! "#).map_err(|d| d[0].to_string())?;
//! let slo = &spec.slos[0];
//! assert_eq!((slo.service.as_str(), slo.period.to_string()), ("checkout", "4w".to_owned()));
//! let pair = slo.policy.pairs()[0];
//! assert_eq!((pair.long.to_string(), pair.short.to_string(), pair.factor), ("1h".to_owned(), "5m".to_owned(), 13.44));
//! # Ok::<(), String>(())
//! ```

mod alerts;
mod indicator;
mod objects;

use std::collections::BTreeMap;

use crate::budget::Objective;
use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::load::checks::{Draft, Neither, Pick};
use crate::load::walk::{Cx, Fields, describe_value};
use crate::spec::{DEFAULT_PERIOD, Labels, Sli, SliceOp, Slo, Spec};
use crate::yaml::{Kind, Node};
use alerts::{Condition, alert_policies, alerting, condition_spec, policy_spec};
use indicator::{Indicator, SliceTerms, sli_spec, timeslices};
use objects::{Named, Object, data_source, duration, header};

/// OpenSLO's comparison operators.
const OPS: [(&str, SliceOp); 4] = [
    ("lt", SliceOp::Lt),
    ("lte", SliceOp::Le),
    ("gt", SliceOp::Gt),
    ("gte", SliceOp::Ge),
];

/// Objects read once and found by name.
#[derive(Default)]
struct Catalog {
    /// DataSource name to its type (None when it failed to read).
    sources: Named<String>,
    slis: Named<Indicator>,
    conditions: Named<Condition>,
    policies: Named<Vec<Condition>>,
}

/// Reads the OpenSLO objects of `docs` into one spec.
pub(super) fn spec(cx: &mut Cx, docs: &[Node]) -> Option<Spec> {
    let mut objects: Vec<Object<'_>> = Vec::new();
    let mut seen: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let items = docs.iter().flat_map(|doc| match &doc.kind {
        Kind::Seq(items) => items.iter().collect::<Vec<_>>(),
        _ => vec![doc],
    });
    for node in items.filter(|n| !n.is_null()) {
        let Some(object) = header(cx, node, "", None) else {
            continue;
        };
        let key = (object.kind, object.name.clone());
        if let Some(line) = seen.get(&key) {
            cx.error(
                object.name_node.location,
                "metadata.name",
                format!(
                    "duplicate {} `{}` (first on line {line})",
                    object.kind, object.name
                ),
            );
            continue;
        }
        seen.insert(key, object.name_node.location.line);
        objects.push(object);
    }

    // Read what others refer to first, each object once.
    let mut catalog = Catalog::default();
    for o in objects.iter().filter(|o| o.kind == "DataSource") {
        let source = o.spec.and_then(|s| data_source(cx, s, &o.path));
        catalog.sources.insert(o.name.clone(), source);
    }
    for o in &objects {
        let Some(spec) = o.spec else { continue };
        match o.kind {
            "SLI" => {
                let sli = sli_spec(cx, spec, &o.path, &catalog.sources);
                catalog.slis.insert(o.name.clone(), sli);
            }
            "AlertCondition" => {
                let c = condition_spec(cx, spec, &o.path);
                catalog.conditions.insert(o.name.clone(), c);
            }
            "Service" => {
                cx.fields(spec, &o.path, &["description"]);
            }
            "AlertNotificationTarget" => {
                if let Some(f) = cx.fields(spec, &o.path, &["description", "target"]) {
                    cx.string(&f, "target", Some("where notifications go, e.g. email"));
                }
            }
            _ => {}
        }
    }
    for o in objects.iter().filter(|o| o.kind == "AlertPolicy") {
        let policy = o
            .spec
            .and_then(|s| policy_spec(cx, s, &o.path, &catalog.conditions));
        catalog.policies.insert(o.name.clone(), policy);
    }

    let mut service: Option<(String, Location)> = None;
    let mut slos = Vec::new();
    let mut complete = true;
    for o in objects.iter().filter(|o| o.kind == "SLO") {
        match slo(cx, o, &catalog, &mut service) {
            Some(slo) => slos.push(slo),
            None => complete = false,
        }
    }
    if slos.is_empty() && complete {
        let at = docs.first().map_or(Location::default(), |d| d.location);
        cx.error(
            at,
            "",
            "no SLO in this file: expected at least one object of `kind: SLO`",
        );
        return None;
    }
    Some(Spec {
        service: service?.0,
        labels: Labels::new(),
        slos,
    })
}

/// One `SLO` object.
fn slo(
    cx: &mut Cx,
    o: &Object<'_>,
    catalog: &Catalog,
    service: &mut Option<(String, Location)>,
) -> Option<Slo> {
    let f = cx.fields(
        o.spec?,
        &o.path,
        &[
            "description",
            "service",
            "indicator",
            "indicatorRef",
            "timeWindow",
            "budgetingMethod",
            "objectives",
            "alertPolicies",
        ],
    )?;
    let description = cx.string(&f, "description", None);
    let this_service = cx.service(&f, "service");
    if let (Some(s), Some(node)) = (&this_service, f.get("service")) {
        match service {
            None => *service = Some((s.clone(), node.location)),
            Some((first, at)) if first != s => {
                let line = at.line;
                cx.push(
                    Diagnostic::error(
                        node.location,
                        f.path("service"),
                        format!("this file's SLOs belong to services `{first}` (line {line}) and `{s}`: a spec holds one service"),
                    )
                    .with_help("split the file by service"),
                );
            }
            Some(_) => {}
        }
    }
    let budgeting = budgeting(cx, &f);
    let period = time_window(cx, &f);
    let (objective, slices) = objectives(cx, &f, budgeting);
    let sli = match (budgeting, indicator(cx, &f, catalog)) {
        (Some(Budgeting::Occurrences), Some(Indicator::Events(sli))) => Some(sli),
        (Some(Budgeting::Occurrences), Some(Indicator::Threshold { at, .. })) => {
            cx.push(
                Diagnostic::error(
                    at.1,
                    at.0,
                    "a thresholdMetric is judged slice by slice: it needs `budgetingMethod: Timeslices`",
                )
                .with_help("set `budgetingMethod: Timeslices` with `op`, `value` and `timeSliceWindow` in the objective"),
            );
            None
        }
        (Some(Budgeting::Timeslices), Some(indicator)) => {
            timeslices(cx, indicator, &slices).map(Sli::Slices)
        }
        _ => None,
    };
    let conditions = alert_policies(cx, &f, &catalog.policies, &catalog.conditions);
    let (period, conditions) = (period?, conditions?);
    if let Some(service) = &this_service {
        cx.place(service, &o.name, o.name_node.location);
    }
    let (alerting, specs, blame) = alerting(cx, conditions, &f, period);
    cx.finish(Draft {
        service: this_service,
        name: Some(o.name.clone()),
        description,
        objective,
        period,
        labels: Labels::new(),
        sli,
        alerting,
        windows: specs,
        blame,
        whole: (o.name_node.location, &o.path),
        group_by_at: None,
        slice_at: slices
            .window
            .map(|(_, loc)| (format!("{}.timeSliceWindow", slices.path), loc)),
    })
}

/// How an SLO spends its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Budgeting {
    /// Bad events over all events.
    Occurrences,
    /// Bad slices over slices with data.
    Timeslices,
}

/// `budgetingMethod`; `None` when it is missing or unsupported.
fn budgeting(cx: &mut Cx, f: &Fields<'_>) -> Option<Budgeting> {
    let method = cx.string(f, "budgetingMethod", Some("`Occurrences` or `Timeslices`"))?;
    let loc = f
        .get("budgetingMethod")
        .map_or(f.node.location, |n| n.location);
    let path = f.path("budgetingMethod");
    match method.as_str() {
        "Occurrences" => return Some(Budgeting::Occurrences),
        "Timeslices" => return Some(Budgeting::Timeslices),
        "RatioTimeslices" => cx.push(
            Diagnostic::error(
                loc,
                path,
                "budgetingMethod RatioTimeslices is not supported: it averages per-slice ratios, which no error budget of events or slices adds up to",
            )
            .with_help("use `Occurrences` (bad events over all events) or `Timeslices` (bad slices over all slices)"),
        ),
        other => cx.error(
            loc,
            &path,
            format!("unknown budgetingMethod `{other}`: expected Occurrences or Timeslices"),
        ),
    }
    None
}

/// `timeWindow`: one rolling window, the period.
fn time_window(cx: &mut Cx, f: &Fields<'_>) -> Option<Duration> {
    let Some(node) = f.get("timeWindow") else {
        return Some(DEFAULT_PERIOD);
    };
    let path = f.path("timeWindow");
    let item = match &node.kind {
        Kind::Seq(items) if items.len() == 1 => &items[0],
        _ => {
            cx.error(
                node.location,
                &path,
                format!(
                    "expected a list of exactly one time window, found {}",
                    describe_value(node)
                ),
            );
            return None;
        }
    };
    let w = cx.fields(
        item,
        &format!("{path}[0]"),
        &["duration", "isRolling", "calendar"],
    )?;
    let rolling = cx.boolean(&w, "isRolling");
    let mut ok = true;
    if w.get("calendar").is_some() || rolling == Some(false) {
        let at = if w.get("calendar").is_some() {
            "calendar"
        } else {
            "isRolling"
        };
        cx.push(
            Diagnostic::error(
                w.key_location(at),
                w.path(at),
                "calendar-aligned time windows are not supported: burn-rate alerts need a rolling window",
            )
            .with_help("use `isRolling: true` with a duration in days, e.g. 28d"),
        );
        ok = false;
    }
    let period = duration(cx, &w, "duration");
    if w.get("duration").is_none() {
        cx.missing(&w, "duration", "the window's length, e.g. 28d");
    }
    let (period, _) = period?;
    ok.then_some(period)
}

/// `objectives`: exactly one, with `target` or `targetPercent`, and for
/// Timeslices budgeting what makes a slice good.
fn objectives(
    cx: &mut Cx,
    f: &Fields<'_>,
    budgeting: Option<Budgeting>,
) -> (Option<Objective>, SliceTerms) {
    let mut terms = SliceTerms::default();
    let objective = objective(cx, f, budgeting, &mut terms);
    (objective, terms)
}

fn objective(
    cx: &mut Cx,
    f: &Fields<'_>,
    budgeting: Option<Budgeting>,
    terms: &mut SliceTerms,
) -> Option<Objective> {
    let items = cx.list(f, "objectives", "a list of one objective")?;
    let path = f.path("objectives");
    if let Some(second) = items.get(1) {
        cx.push(
            Diagnostic::error(
                second.location,
                format!("{path}[1]"),
                "more than one objective: an SLO here has one",
            )
            .with_help("write one SLO per objective"),
        );
    }
    let o = cx.fields(
        &items[0],
        &format!("{path}[0]"),
        &[
            "displayName",
            "op",
            "value",
            "target",
            "targetPercent",
            "timeSliceTarget",
            "timeSliceWindow",
        ],
    )?;
    let timeslices = budgeting == Some(Budgeting::Timeslices);
    for field in ["op", "value", "timeSliceTarget", "timeSliceWindow"] {
        if budgeting == Some(Budgeting::Occurrences) && o.get(field).is_some() {
            cx.error(
                o.key_location(field),
                &o.path(field),
                format!("`{field}` applies to Timeslices budgeting only: an Occurrences objective needs only `target`"),
            );
        }
    }
    if timeslices {
        terms.at = items[0].location;
        terms.path = format!("{path}[0]");
        terms.window = duration(cx, &o, "timeSliceWindow");
        terms.value = cx.number(&o, "value", "the bound a good slice's metric keeps to");
        if let Some((target, loc)) = cx.number(&o, "timeSliceTarget", "a ratio such as 0.95") {
            if target > 0.0 && target <= 1.0 {
                terms.target = Some((target, loc));
            } else {
                cx.error(
                    loc,
                    &o.path("timeSliceTarget"),
                    format!("timeSliceTarget {target} is out of range: expected a ratio above 0 and at most 1 (e.g. 0.95)"),
                );
            }
        }
        if let Some(op) = cx.string(&o, "op", None) {
            let loc = o.get("op").map_or(o.node.location, |n| n.location);
            match OPS.iter().find(|(name, _)| *name == op) {
                Some((_, slice_op)) => terms.op = Some((*slice_op, loc)),
                None => cx.error(
                    loc,
                    &o.path("op"),
                    format!("unknown op `{op}`: expected lt, lte, gt or gte"),
                ),
            }
        }
    }
    let (pick, _) = cx.exactly_one(
        &o,
        ["target", "targetPercent"],
        Pick::Second,
        Neither::Missing("target", "a ratio such as 0.999 (or `targetPercent: 99.9`)"),
    )?;
    if pick == Pick::Second {
        return cx.objective_percent(&o, "targetPercent");
    }
    let (ratio, loc) = cx.number(&o, "target", "a ratio such as 0.999")?;
    match Objective::from_ratio(ratio).ok().filter(|_| ratio < 1.0) {
        Some(objective) => Some(objective),
        None => {
            let mut d = Diagnostic::error(
                loc,
                o.path("target"),
                format!(
                    "target {ratio} is out of range: expected a ratio strictly between 0 and 1 (e.g. 0.999)"
                ),
            );
            if ratio > 1.0 && ratio < 100.0 {
                d = d.with_help(format!("for a percentage write `targetPercent: {ratio}`"));
            }
            cx.push(d);
            None
        }
    }
}

/// `indicator` (inline) or `indicatorRef`.
fn indicator(cx: &mut Cx, f: &Fields<'_>, catalog: &Catalog) -> Option<Indicator> {
    let (pick, node) = cx.exactly_one(
        f,
        ["indicator", "indicatorRef"],
        Pick::Second,
        Neither::Missing("indicator", "the SLI inline, or `indicatorRef` to an SLI"),
    )?;
    if pick == Pick::First {
        let object = header(cx, node, &f.path("indicator"), Some("SLI"))?;
        return sli_spec(cx, object.spec?, &object.path, &catalog.sources);
    }
    let name = cx.string(f, "indicatorRef", None)?;
    match catalog.slis.get(&name) {
        Some(sli) => sli.clone(),
        None => {
            let loc = f
                .get("indicatorRef")
                .map_or(f.node.location, |n| n.location);
            cx.error(
                loc,
                &f.path("indicatorRef"),
                format!("no SLI named `{name}` in this file"),
            );
            None
        }
    }
}
