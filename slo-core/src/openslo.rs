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

use std::collections::BTreeMap;

use crate::budget::Objective;
use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::format::OPENSLO_API;
use crate::load::{Blame, Cx, Draft, Fields, Neither, Pick, describe_value, either};
use crate::names;
use crate::policy::{Severity, Threshold, WindowSpec};
use crate::promql;
use crate::spec::{
    Alerting, Counted, DEFAULT_ALERT_NAME, DEFAULT_PERIOD, EventsSli, Labels, RatioSli, RawSli,
    Sli, SliceOp, SlicesSli, Slo, Spec, Tier, WINDOW_PLACEHOLDER,
};
use crate::yaml::{Kind, Node};

/// The object kinds of OpenSLO v1.
const KINDS: [&str; 7] = [
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "Service",
    "DataSource",
    "AlertNotificationTarget",
];

/// The fields of every object, top-level or inline.
const OBJECT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];

/// Severities that page; every other one makes a ticket.
const PAGING_SEVERITIES: [&str; 2] = ["page", "critical"];

/// OpenSLO's comparison operators.
const OPS: [(&str, SliceOp); 4] = [
    ("lt", SliceOp::Lt),
    ("lte", SliceOp::Le),
    ("gt", SliceOp::Gt),
    ("gte", SliceOp::Ge),
];

/// The short window is this fraction of the lookback window (the Workbook's
/// 1h/5m, 6h/30m, 1d/2h, 3d/6h).
const SHORT_WINDOW_DIVISOR: u64 = 12;

/// One object of the file, its header read.
struct Object<'a> {
    kind: &'static str,
    name: String,
    /// The `metadata.name` value, for pointing at the object.
    name_node: &'a Node,
    /// The `spec` mapping, when there is one.
    spec: Option<&'a Node>,
    /// The field path of the spec: `SLO/availability.spec`.
    path: String,
}

/// A burn-rate condition read into a window pair.
#[derive(Clone)]
struct Condition {
    window: WindowSpec,
    alert_after: Duration,
    blame: Blame,
}

/// Objects read once and found by name.
#[derive(Default)]
struct Catalog {
    /// DataSource name to its type (None when it failed to read).
    sources: BTreeMap<String, Option<String>>,
    slis: BTreeMap<String, Option<Indicator>>,
    conditions: BTreeMap<String, Option<Condition>>,
    policies: BTreeMap<String, Option<Vec<Condition>>>,
}

/// Reads the OpenSLO objects of `docs` into one spec.
pub(crate) fn spec(cx: &mut Cx, docs: &[Node]) -> Option<Spec> {
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
                let sli = sli_spec(cx, spec, &o.path, &catalog);
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
        let policy = o.spec.and_then(|s| policy_spec(cx, s, &o.path, &catalog));
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

/// Reads an object's `apiVersion`, `kind` and `metadata`. `path` is empty
/// for a document and the field's path for an inline object; `want` is the
/// kind an inline object must be (it may leave out `apiVersion` and `kind`).
fn header<'a>(
    cx: &mut Cx,
    node: &'a Node,
    path: &str,
    want: Option<&'static str>,
) -> Option<Object<'a>> {
    let f = cx.fields(node, path, OBJECT_FIELDS)?;
    match f.get("apiVersion") {
        None if want.is_none() => cx.missing(&f, "apiVersion", "`apiVersion: openslo/v1`"),
        None => {}
        Some(v) => match v.as_scalar() {
            Some(OPENSLO_API) => {}
            other => {
                cx.push(
                    Diagnostic::error(
                        v.location,
                        f.path("apiVersion"),
                        format!(
                            "unsupported apiVersion {}: expected `{OPENSLO_API}`",
                            other.map_or_else(|| v.describe().to_owned(), |s| format!("`{s}`"))
                        ),
                    )
                    .with_help("only OpenSLO v1 is read; earlier drafts have another schema"),
                );
                // Another version has another schema: read no further.
                return None;
            }
        },
    }
    let kind = match (f.get("kind"), want) {
        (None, Some(want)) => Some(want),
        (None, None) => {
            cx.missing(&f, "kind", &format!("one of {}", either(&KINDS)));
            None
        }
        (Some(k), _) => {
            let text = cx.string(&f, "kind", None);
            let found = text
                .as_deref()
                .and_then(|t| KINDS.iter().find(|kind| **kind == t).copied());
            match (text, found, want) {
                (Some(_), Some(found), Some(want)) if found != want => {
                    cx.error(
                        k.location,
                        &f.path("kind"),
                        format!("expected an inline {want} here, found {found}"),
                    );
                    None
                }
                (Some(_), Some(found), _) => Some(found),
                (Some(t), None, _) => {
                    let mut d = Diagnostic::error(
                        k.location,
                        f.path("kind"),
                        format!("unknown kind `{t}`"),
                    );
                    d = match names::closest(&t, &KINDS) {
                        Some(near) => d.with_help(format!("did you mean `{near}`?")),
                        None => d.with_help(format!("expected one of {}", either(&KINDS))),
                    };
                    cx.push(d);
                    None
                }
                (None, _, _) => None,
            }
        }
    };
    let Some(meta) = f.get("metadata") else {
        cx.missing(&f, "metadata", "the object's `name`");
        return None;
    };
    let m = cx.fields(
        meta,
        &f.path("metadata"),
        &["name", "displayName", "labels", "annotations"],
    )?;
    let name = if kind == Some("SLO") {
        cx.slo_name(&m, "name")
    } else {
        cx.string(&m, "name", Some("the object's name"))
    };
    let (kind, name, name_node) = (kind?, name?, m.get("name")?);
    let spec = f.get("spec");
    if spec.is_none() {
        cx.missing(&f, "spec", &format!("the {kind}'s definition"));
    }
    Some(Object {
        kind,
        path: if path.is_empty() {
            format!("{kind}/{name}.spec")
        } else {
            format!("{path}.spec")
        },
        name,
        name_node,
        spec,
    })
}

fn data_source(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let f = cx.fields(node, path, &["description", "type", "connectionDetails"])?;
    cx.string(&f, "type", Some("the source's type, e.g. Prometheus"))
}

/// An OpenSLO duration: a whole number and one unit. `m` is minutes, `M`
/// months. Zero is refused: windows and periods need a length.
fn duration(cx: &mut Cx, f: &Fields<'_>, name: &str) -> Option<(Duration, Location)> {
    any_duration(cx, f, name, false)
}

/// [`duration`], accepting zero when `zero_ok` (`alertAfter: 0m`, no wait,
/// is a valid `for`).
fn any_duration(
    cx: &mut Cx,
    f: &Fields<'_>,
    name: &str,
    zero_ok: bool,
) -> Option<(Duration, Location)> {
    let node = f.get(name)?;
    let path = f.path(name);
    let Some(text) = node
        .as_scalar()
        .filter(|_| matches!(node.kind, Kind::Scalar { .. }))
    else {
        cx.error(
            node.location,
            &path,
            format!(
                "expected a duration such as 1h or 28d, found {}",
                node.describe()
            ),
        );
        return None;
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let shaped = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let parsed = match unit {
        "M" | "Q" | "Y" if shaped => {
            cx.push(
                Diagnostic::error(
                    node.location,
                    path,
                    format!("`{text}`: months, quarters and years have no fixed length, and alert windows need one"),
                )
                .with_help("write the period in days or weeks, e.g. 30d or 4w"),
            );
            return None;
        }
        "m" | "h" | "d" | "w" if shaped => text
            .parse::<Duration>()
            .map_err(|e| e.to_string())
            .and_then(|d| crate::check::duration(d).map(|()| d)),
        _ => Err(format!(
            "`{text}` is not an OpenSLO duration: expected a whole number and one unit, m (minutes), h, d or w (e.g. 5m, 1h, 28d)"
        )),
    };
    match parsed {
        Ok(d) if d.is_zero() && !zero_ok => {
            cx.error(
                node.location,
                &path,
                format!("`{name}` must be longer than 0"),
            );
            None
        }
        Ok(d) => Some((d, node.location)),
        Err(why) => {
            cx.error(node.location, &path, why);
            None
        }
    }
}

/// An SLI as read, before its SLO's budgeting method says what it counts.
#[derive(Clone)]
enum Indicator {
    /// A `ratioMetric`: events (or a raw ratio), for either budgeting.
    Events(Sli),
    /// A `thresholdMetric`: one query whose value the objective's `op` and
    /// `value` judge, slice by slice (Timeslices only).
    Threshold {
        /// The PromQL query.
        query: String,
        /// Where the `thresholdMetric` key is.
        at: Blame,
    },
}

/// An SLI's `spec`.
fn sli_spec(cx: &mut Cx, node: &Node, path: &str, catalog: &Catalog) -> Option<Indicator> {
    let f = cx.fields(
        node,
        path,
        &["description", "thresholdMetric", "ratioMetric"],
    )?;
    let (pick, ratio) = cx.exactly_one(
        &f,
        ["thresholdMetric", "ratioMetric"],
        Pick::First,
        Neither::Missing("ratioMetric", "good or bad events over total events"),
    )?;
    match pick {
        Pick::First => {
            let (query, _) = metric_query(cx, &f, "thresholdMetric", catalog)?;
            Some(Indicator::Threshold {
                query,
                at: (f.path("thresholdMetric"), f.key_location("thresholdMetric")),
            })
        }
        Pick::Second => {
            ratio_metric(cx, ratio, &f.path("ratioMetric"), catalog).map(Indicator::Events)
        }
    }
}

/// What a Prometheus query of a ratio metric is.
enum Query {
    /// A series selector: a counter.
    Selector(String),
    /// PromQL over a `[{{.window}}]` range: a rate.
    Windowed(String),
}

impl Query {
    fn windowed(self) -> String {
        match self {
            Query::Selector(s) => format!("sum(rate({s}[{WINDOW_PLACEHOLDER}]))"),
            Query::Windowed(q) => q,
        }
    }
}

fn ratio_metric(cx: &mut Cx, node: &Node, path: &str, catalog: &Catalog) -> Option<Sli> {
    let f = cx.fields(
        node,
        path,
        &["counter", "good", "bad", "total", "rawType", "raw"],
    )?;
    if f.get("raw").is_some() {
        for other in ["good", "bad", "total"] {
            if f.get(other).is_some() {
                cx.error(
                    f.key_location(other),
                    &f.path(other),
                    format!("`{other}` cannot be used with `raw`"),
                );
            }
        }
        return raw_metric(cx, &f, catalog);
    }
    if f.get("rawType").is_some() {
        cx.error(
            f.key_location("rawType"),
            &f.path("rawType"),
            "`rawType` goes with `raw` only",
        );
    }
    if cx.boolean(&f, "counter") == Some(false) {
        cx.push(
            Diagnostic::error(
                f.get("counter").map_or(node.location, |n| n.location),
                f.path("counter"),
                "only counters are supported: good, bad and total must count events (`counter: true`)",
            )
            .with_help("for a gauge that already holds a ratio, use `raw` with `rawType`"),
        );
    }
    let counted = cx
        .exactly_one(
            &f,
            ["good", "bad"],
            Pick::Second,
            Neither::Either("the good or the bad events"),
        )
        .and_then(|(pick, _)| match pick {
            Pick::First => metric(cx, &f, "good", catalog).map(|(q, _)| (true, q)),
            Pick::Second => metric(cx, &f, "bad", catalog).map(|(q, _)| (false, q)),
        });
    let total = match f.get("total") {
        None => {
            cx.missing(&f, "total", "all events");
            None
        }
        Some(_) => metric(cx, &f, "total", catalog).map(|(q, _)| q),
    };
    let ((good, counted), total) = (counted?, total?);
    Some(match (counted, total) {
        (Query::Selector(c), Query::Selector(total)) => Sli::Ratio(RatioSli {
            counted: if good {
                Counted::Good(c)
            } else {
                Counted::Errors(c)
            },
            total,
            group_by: Vec::new(),
        }),
        (counted, total) => {
            let (counted, total_query) = (counted.windowed(), total.windowed());
            let error_query = if good {
                format!("({total_query}) - ({counted})")
            } else {
                counted
            };
            Sli::Events(EventsSli {
                error_query,
                total_query,
            })
        }
    })
}

fn raw_metric(cx: &mut Cx, f: &Fields<'_>, catalog: &Catalog) -> Option<Sli> {
    let success = match cx.string(f, "rawType", Some("success or failure")) {
        Some(t) if t == "success" => Some(true),
        Some(t) if t == "failure" => Some(false),
        Some(t) => {
            let loc = f.get("rawType").map_or(f.node.location, |n| n.location);
            cx.error(
                loc,
                &f.path("rawType"),
                format!("unknown rawType `{t}`: expected success or failure"),
            );
            None
        }
        None => None,
    };
    let query = match metric(cx, f, "raw", catalog)? {
        (Query::Windowed(q), _) => Some(q),
        (Query::Selector(_), loc) => {
            cx.push(
                Diagnostic::error(
                    loc,
                    f.path("raw"),
                    format!("a raw ratio query needs a `{WINDOW_PLACEHOLDER}` range"),
                )
                .with_help("e.g. avg_over_time(ratio[{{.window}}])"),
            );
            None
        }
    };
    let (success, query) = (success?, query?);
    Some(Sli::Raw(RawSli {
        error_ratio_query: if success {
            format!("1 - ({query})")
        } else {
            query
        },
    }))
}

/// One metric of a ratio (`good`, `bad`, `total`, `raw`): a Prometheus
/// query that is a selector or PromQL over the window.
fn metric(cx: &mut Cx, f: &Fields<'_>, name: &str, catalog: &Catalog) -> Option<(Query, Location)> {
    let (query, loc) = metric_query(cx, f, name, catalog)?;
    let path = format!("{}.metricSource.spec.query", f.path(name));
    let query = classify(cx, query, loc, &path)?;
    Some((query, loc))
}

/// The Prometheus query of a metric, and where it is.
fn metric_query(
    cx: &mut Cx,
    f: &Fields<'_>,
    name: &str,
    catalog: &Catalog,
) -> Option<(String, Location)> {
    let node = f.get(name)?;
    let m = cx.fields(node, &f.path(name), &["metricSource"])?;
    let Some(source) = m.get("metricSource") else {
        cx.missing(&m, "metricSource", "the metric's source and query");
        return None;
    };
    let s = cx.fields(
        source,
        &m.path("metricSource"),
        &["metricSourceRef", "type", "spec"],
    )?;
    let reference = cx.string(&s, "metricSourceRef", None);
    let kind = match (cx.string(&s, "type", None), &reference) {
        (Some(t), _) => Some(t),
        (None, Some(r)) => match catalog.sources.get(r) {
            Some(t) => t.clone(),
            None => {
                let loc = s
                    .get("metricSourceRef")
                    .map_or(source.location, |n| n.location);
                cx.error(
                    loc,
                    &s.path("metricSourceRef"),
                    format!("no DataSource named `{r}` in this file"),
                );
                None
            }
        },
        (None, None) => {
            cx.missing(&s, "type", "`type: Prometheus` or a `metricSourceRef`");
            None
        }
    };
    if let Some(t) = &kind
        && !t.eq_ignore_ascii_case("prometheus")
    {
        let loc = s
            .get("type")
            .or(s.get("metricSourceRef"))
            .map_or(source.location, |n| n.location);
        cx.error(
            loc,
            &s.path("type"),
            format!("only Prometheus metric sources are supported, found `{t}`"),
        );
        return None;
    }
    let Some(spec) = s.get("spec") else {
        cx.missing(&s, "spec", "the Prometheus `query`");
        return None;
    };
    let q = cx.fields(spec, &s.path("spec"), &["query"])?;
    let query = cx.string(&q, "query", Some("a PromQL query"))?;
    let loc = q.get("query").map_or(spec.location, |n| n.location);
    if let Err(why) = crate::check::query(&query) {
        cx.error(loc, &q.path("query"), format!("broken query: {why}"));
        return None;
    }
    kind.map(|_| (query, loc))
}

/// A Prometheus query of a ratio metric: a selector or windowed PromQL.
fn classify(cx: &mut Cx, query: String, loc: Location, field: &str) -> Option<Query> {
    if names::check_selector(&query).is_ok() {
        return Some(Query::Selector(query.trim().to_owned()));
    }
    if query.contains(WINDOW_PLACEHOLDER) {
        return Some(Query::Windowed(query));
    }
    cx.push(
        Diagnostic::error(
            loc,
            field,
            format!("the query is neither a series selector nor PromQL over a `[{WINDOW_PLACEHOLDER}]` range"),
        )
        .with_help("write the counter (http_requests_total{code=~\"5..\"}) or a rate over the window (sum(rate(http_requests_total[{{.window}}])))"),
    );
    None
}

/// An AlertCondition's `spec`.
fn condition_spec(cx: &mut Cx, node: &Node, path: &str) -> Option<Condition> {
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
fn policy_spec(cx: &mut Cx, node: &Node, path: &str, catalog: &Catalog) -> Option<Vec<Condition>> {
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
    let items = list(cx, &f, "conditions", "a list of burnrate conditions")?;
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
            &catalog.conditions,
        );
        match c {
            Some(c) => conditions.push(c),
            None => ok = false,
        }
    }
    ok.then_some(conditions)
}

/// A required, non-empty list field.
fn list<'a>(cx: &mut Cx, f: &Fields<'a>, name: &str, what: &str) -> Option<&'a [Node]> {
    let Some(node) = f.get(name) else {
        cx.missing(f, name, what);
        return None;
    };
    match &node.kind {
        Kind::Seq(items) if !items.is_empty() => Some(items),
        _ => {
            cx.error(
                node.location,
                &f.path(name),
                format!("expected {what}, found {}", describe_value(node)),
            );
            None
        }
    }
}

/// An item that is either `{REF: name}`, looked up in `known`, or an inline
/// object of kind `kind`, read by `read`.
fn resolve<T: Clone>(
    cx: &mut Cx,
    item: &Node,
    path: &str,
    reference: &str,
    kind: &'static str,
    read: impl FnOnce(&mut Cx, &Object<'_>) -> Option<T>,
    known: &BTreeMap<String, Option<T>>,
) -> Option<T> {
    let is_ref = matches!(&item.kind, Kind::Map(pairs)
        if pairs.iter().any(|(k, _)| k.as_scalar() == Some(reference)));
    if !is_ref {
        let object = header(cx, item, path, Some(kind))?;
        return read(cx, &object);
    }
    let f = cx.fields(item, path, &[reference])?;
    let name = cx.string(&f, reference, None)?;
    match known.get(&name) {
        Some(found) => found.clone(),
        None => {
            let loc = f.get(reference).map_or(item.location, |n| n.location);
            cx.error(
                loc,
                &f.path(reference),
                format!("no {kind} named `{name}` in this file"),
            );
            None
        }
    }
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
    let conditions = alert_policies(cx, &f, catalog);
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

/// What a Timeslices objective says about its slices.
#[derive(Default)]
struct SliceTerms {
    /// `timeSliceTarget`: the good share a ratio (or a threshold metric's
    /// evaluations) must reach in a slice.
    target: Option<(f64, Location)>,
    /// `timeSliceWindow`: the slice.
    window: Option<(Duration, Location)>,
    /// `op`: how a threshold metric is compared with `value`.
    op: Option<(SliceOp, Location)>,
    /// `value`: the threshold metric's bound.
    value: Option<(f64, Location)>,
    /// The objective, for what it lacks.
    at: Location,
    path: String,
}

/// A Timeslices SLI: the slice judged by the indicator and the objective.
///
/// - A ratio (or raw) SLI: a slice is good when its good ratio over the
///   slice, `1 - (error ratio over the slice)`, reaches `timeSliceTarget`
///   (a slice without traffic is 0/0, NaN: neither good nor bad, as the
///   indicator drops NaN).
/// - A threshold metric: a slice is good when `query op value` holds at the
///   slice's evaluation; with `timeSliceTarget`, when that share of the
///   slice's evaluations (a subquery at the evaluation interval) holds it.
fn timeslices(cx: &mut Cx, indicator: Indicator, t: &SliceTerms) -> Option<SlicesSli> {
    let Some((slice, _)) = t.window else {
        cx.error(
            t.at,
            &t.path,
            "missing field `timeSliceWindow`: expected the slice length for Timeslices budgeting, e.g. 1m",
        );
        return None;
    };
    match indicator {
        Indicator::Events(sli) => {
            for (field, given) in [("op", t.op.map(|x| x.1)), ("value", t.value.map(|x| x.1))] {
                if let Some(loc) = given {
                    cx.error(
                        loc,
                        &format!("{}.{field}", t.path),
                        format!("`{field}` is for threshold metrics: a ratio's slice is good when its ratio reaches `timeSliceTarget`"),
                    );
                }
            }
            let Some((target, _)) = t.target else {
                cx.error(
                    t.at,
                    &t.path,
                    "missing field `timeSliceTarget`: expected the good ratio a slice must reach, e.g. 0.95",
                );
                return None;
            };
            Some(SlicesSli {
                query: format!("1 - ({})", promql::error_ratio(&sli, slice)),
                op: SliceOp::Ge,
                threshold: target,
                slice,
            })
        }
        Indicator::Threshold { query, .. } => {
            let op = t.op.map(|x| x.0);
            let value = t.value.map(|x| x.0);
            for (field, given, what) in [
                (
                    "op",
                    op.is_some(),
                    "how the metric is compared with `value`: lt, lte, gt or gte",
                ),
                (
                    "value",
                    value.is_some(),
                    "the bound a good slice's metric keeps to",
                ),
            ] {
                if !given {
                    cx.error(
                        t.at,
                        &t.path,
                        format!("missing field `{field}`: expected {what}"),
                    );
                }
            }
            let judged = SlicesSli {
                query: promql::substitute_window(&query, slice),
                op: op?,
                threshold: value?,
                slice,
            };
            Some(match t.target {
                None => judged,
                Some((target, _)) => SlicesSli {
                    query: format!(
                        "avg_over_time(({})[{slice}:])",
                        promql::slice_indicator(&judged)
                    ),
                    op: SliceOp::Ge,
                    threshold: target,
                    slice,
                },
            })
        }
    }
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
    let items = list(cx, f, "objectives", "a list of one objective")?;
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
        return sli_spec(cx, object.spec?, &object.path, catalog);
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

/// `alertPolicies`: every condition of every policy, `Some(empty)` when
/// there are none.
fn alert_policies(cx: &mut Cx, f: &Fields<'_>, catalog: &Catalog) -> Option<Vec<Condition>> {
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
            |cx: &mut Cx, o: &Object<'_>| o.spec.and_then(|s| policy_spec(cx, s, &o.path, catalog));
        match resolve(
            cx,
            item,
            &p,
            "alertPolicyRef",
            "AlertPolicy",
            read,
            &catalog.policies,
        ) {
            Some(c) => conditions.extend(c),
            None => ok = false,
        }
    }
    ok.then_some(conditions)
}

/// The SLO's alerting from its conditions: the window pairs, and each
/// tier's `for` from its conditions' `alertAfter`.
fn alerting(
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
