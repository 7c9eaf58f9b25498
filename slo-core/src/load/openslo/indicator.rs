//! OpenSLO SLIs: ratio, raw and threshold metrics from Prometheus metric
//! sources, and the time slices of Timeslices budgeting.

use super::objects::Named;
use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::load::checks::{Neither, Pick};
use crate::load::walk::{Blame, Cx, Fields};
use crate::names;
use crate::promql;
use crate::spec::{
    Counted, EventsSli, RatioSli, RawSli, Sli, SliceOp, SlicesSli, WINDOW_PLACEHOLDER,
};
use crate::yaml::Node;

/// DataSource name to its type (`None` when it failed to read).
pub(super) type Sources = Named<String>;

/// An SLI as read, before its SLO's budgeting method says what it counts.
#[derive(Clone)]
pub(super) enum Indicator {
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
pub(super) fn sli_spec(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    sources: &Sources,
) -> Option<Indicator> {
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
            let (query, _) = metric_query(cx, &f, "thresholdMetric", sources)?;
            Some(Indicator::Threshold {
                query,
                at: (f.path("thresholdMetric"), f.key_location("thresholdMetric")),
            })
        }
        Pick::Second => {
            ratio_metric(cx, ratio, &f.path("ratioMetric"), sources).map(Indicator::Events)
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

fn ratio_metric(cx: &mut Cx, node: &Node, path: &str, sources: &Sources) -> Option<Sli> {
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
        return raw_metric(cx, &f, sources);
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
            Pick::First => metric(cx, &f, "good", sources).map(|(q, _)| (true, q)),
            Pick::Second => metric(cx, &f, "bad", sources).map(|(q, _)| (false, q)),
        });
    let total = match f.get("total") {
        None => {
            cx.missing(&f, "total", "all events");
            None
        }
        Some(_) => metric(cx, &f, "total", sources).map(|(q, _)| q),
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

fn raw_metric(cx: &mut Cx, f: &Fields<'_>, sources: &Sources) -> Option<Sli> {
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
    let query = match metric(cx, f, "raw", sources)? {
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
fn metric(cx: &mut Cx, f: &Fields<'_>, name: &str, sources: &Sources) -> Option<(Query, Location)> {
    let (query, loc) = metric_query(cx, f, name, sources)?;
    let path = format!("{}.metricSource.spec.query", f.path(name));
    let query = classify(cx, query, loc, &path)?;
    Some((query, loc))
}

/// The Prometheus query of a metric, and where it is.
fn metric_query(
    cx: &mut Cx,
    f: &Fields<'_>,
    name: &str,
    sources: &Sources,
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
        (None, Some(r)) => match sources.get(r) {
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

/// What a Timeslices objective says about its slices.
#[derive(Default)]
pub(super) struct SliceTerms {
    /// `timeSliceTarget`: the good share a ratio (or a threshold metric's
    /// evaluations) must reach in a slice.
    pub(super) target: Option<(f64, Location)>,
    /// `timeSliceWindow`: the slice.
    pub(super) window: Option<(Duration, Location)>,
    /// `op`: how a threshold metric is compared with `value`.
    pub(super) op: Option<(SliceOp, Location)>,
    /// `value`: the threshold metric's bound.
    pub(super) value: Option<(f64, Location)>,
    /// The objective, for what it lacks.
    pub(super) at: Location,
    pub(super) path: String,
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
pub(super) fn timeslices(cx: &mut Cx, indicator: Indicator, t: &SliceTerms) -> Option<SlicesSli> {
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
