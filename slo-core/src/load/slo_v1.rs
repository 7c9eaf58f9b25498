//! Reading slo/v1, this project's own format (`version: slo/v1`, one
//! document per file): the README's reference of every field. Beside the
//! shared checks, it reads what only slo/v1 has: `ratio`, `latency` and
//! `slices` SLIs, `group_by`, window presets and pairs, `min_events` and
//! `absent_for`.

use std::collections::BTreeSet;

use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::load::checks::{Draft, Neither, Pick};
use crate::load::walk::{Blame, Cx, Fields, either, empty_map, map_value};
use crate::names;
use crate::policy::{Preset, Severity, Threshold, WindowSpec};
use crate::spec::{
    Alerting, Counted, DEFAULT_PERIOD, Labels, LatencySli, RatioSli, Sli, SliceOp, SlicesSli, Slo,
    Spec, VERSION, WINDOW_PLACEHOLDER,
};
use crate::yaml::{Kind, Node};

/// The fields of a tier (`page`, `ticket`).
const TIER_FIELDS: &[&str] = &["disable", "labels", "annotations", "for"];

/// Reads a slo/v1 file whose documents are `docs`: exactly one.
pub(super) fn spec(cx: &mut Cx, docs: &[Node]) -> Option<Spec> {
    match docs {
        [] => None,
        [_, second, ..] => {
            cx.error(
                second.location,
                "",
                "more than one YAML document: a slo/v1 spec file holds one (split them into files)",
            );
            None
        }
        [doc] => document(cx, doc),
    }
}

/// One slo/v1 document.
fn document(cx: &mut Cx, doc: &Node) -> Option<Spec> {
    let f = cx.fields(doc, "", &["version", "service", "labels", "slos"])?;
    match f.get("version") {
        None => cx.missing(&f, "version", "`version: slo/v1`"),
        Some(v) => match v.as_scalar() {
            Some(VERSION) => {}
            Some(other) => cx.error(
                v.location,
                "version",
                format!("unsupported version `{other}`: expected `{VERSION}`"),
            ),
            None => cx.error(
                v.location,
                "version",
                format!("expected `{VERSION}`, found {}", v.describe()),
            ),
        },
    }
    let service = cx.service(&f, "service");
    let labels = cx.user_labels(&f, "labels");
    let slos = cx.slos(&f, "slos", |cx, item, path| {
        slo(cx, item, path, service.as_deref().unwrap_or(""), &labels)
    });
    Some(Spec {
        service: service?,
        labels,
        slos,
    })
}

fn slo(cx: &mut Cx, node: &Node, path: &str, service: &str, file_labels: &Labels) -> Option<Slo> {
    let f = cx.fields(
        node,
        path,
        &[
            "name",
            "description",
            "objective",
            "period",
            "labels",
            "sli",
            "alerting",
        ],
    )?;
    let name = cx.slo_name(&f, "name");
    if let (Some(n), Some(node)) = (&name, f.get("name")) {
        cx.place(service, n, node.location);
    }
    let description = cx.string(&f, "description", None);
    let objective = cx.objective_percent(&f, "objective");
    let period = match cx.positive_duration(&f, "period") {
        Some(p) => Some(p),
        None if f.get("period").is_none() => Some((DEFAULT_PERIOD, f.node.location)),
        None => None,
    };
    let mut labels = file_labels.clone();
    labels.extend(cx.user_labels(&f, "labels"));
    let sli = match f.get("sli") {
        None => {
            cx.missing(&f, "sli", "one of ratio, latency, events, raw or slices");
            None
        }
        Some(n) => sli(cx, n, &f.path("sli")),
    };
    let alerting_path = f.path("alerting");
    let empty = empty_map(f.node.location);
    let alerting_node = f.get("alerting").filter(|n| !n.is_null()).unwrap_or(&empty);
    let alerting = alerting(cx, alerting_node, &alerting_path, period, sli.as_ref());
    let (alerting, windows, blame) = alerting?;
    let slice_at = f
        .get("sli")
        .and_then(|sli| map_value(sli, "slices"))
        .and_then(|s| map_value(s, "slice"))
        .map_or(f.key_location("sli"), |n| n.location);
    cx.finish(Draft {
        service: Some(service.to_owned()),
        name,
        description,
        objective,
        period: period?.0,
        labels,
        sli,
        alerting,
        windows,
        blame,
        whole: (alerting_node.location, &alerting_path),
        group_by_at: Some((f.path("sli"), f.key_location("sli"))),
        slice_at: Some((format!("{}.slices.slice", f.path("sli")), slice_at)),
    })
}

fn sli(cx: &mut Cx, node: &Node, path: &str) -> Option<Sli> {
    const KINDS: [&str; 5] = ["ratio", "latency", "events", "raw", "slices"];
    let f = cx.fields(node, path, &KINDS)?;
    let (kind, value) = cx.one_kind(&f, &KINDS)?;
    let path = f.path(kind);
    match kind {
        "ratio" => ratio(cx, value, &path).map(Sli::Ratio),
        "latency" => latency(cx, value, &path).map(Sli::Latency),
        "events" => cx.events(value, &path, ["error_query", "total_query"]),
        "slices" => slices(cx, value, &path).map(Sli::Slices),
        _ => cx.raw(value, &path, "error_ratio_query"),
    }
}

/// A `slices` SLI. The slice is checked against the windows once the
/// policy is known ([`Cx::check_slice`]).
fn slices(cx: &mut Cx, node: &Node, path: &str) -> Option<SlicesSli> {
    let f = cx.fields(node, path, &["query", "op", "threshold", "slice"])?;
    let query = cx
        .string(&f, "query", Some("a PromQL query evaluated once per slice"))
        .and_then(|q| {
            let loc = f.get("query").map_or(f.node.location, |n| n.location);
            let mut ok = true;
            if q.contains(WINDOW_PLACEHOLDER) {
                cx.push(
                    Diagnostic::error(
                        loc,
                        f.path("query"),
                        format!("a slices query is evaluated once per slice: it cannot use `{WINDOW_PLACEHOLDER}`"),
                    )
                    .with_help("write the range the slice needs, e.g. sum(rate(istio_requests_total[1m])) * 60 for a 1m slice"),
                );
                ok = false;
            }
            if q.trim().is_empty() {
                cx.error(loc, &f.path("query"), "the query is empty");
                ok = false;
            } else if let Err(why) = crate::check::query(&q) {
                cx.error(loc, &f.path("query"), format!("broken query: {why}"));
                ok = false;
            }
            ok.then(|| q.trim().to_owned())
        });
    let ops: Vec<&str> = SliceOp::ALL.iter().map(|o| o.as_str()).collect();
    let op = cx
        .string(
            &f,
            "op",
            Some("the comparison that makes a slice good: >=, >, <= or <"),
        )
        .and_then(|o| {
            let parsed = SliceOp::parse(&o);
            if parsed.is_none() {
                let node = f.get("op");
                if o.trim().is_empty() {
                    // `op: >` is a YAML block scalar: empty, and located
                    // on the next line. Blame the key.
                    let loc = node
                        .and_then(|n| n.key)
                        .unwrap_or(f.node.location);
                    cx.error(
                        loc,
                        &f.path("op"),
                        format!(
                            "empty operator: expected {} (an unquoted `>` begins a YAML block scalar: write `op: \">\"`)",
                            either(&ops)
                        ),
                    );
                } else {
                    let loc = node.map_or(f.node.location, |n| n.location);
                    cx.error(
                        loc,
                        &f.path("op"),
                        format!("unknown operator `{o}`: expected {}", either(&ops)),
                    );
                }
            }
            parsed
        });
    let threshold = match cx.number(&f, "threshold", "a number such as 1000") {
        None => {
            if f.get("threshold").is_none() {
                cx.missing(&f, "threshold", "the value the query is compared with");
            }
            None
        }
        Some((t, loc)) if !t.is_finite() => {
            cx.error(
                loc,
                &f.path("threshold"),
                format!("threshold {t} must be a finite number"),
            );
            None
        }
        Some((t, _)) => Some(t),
    };
    let slice = cx.positive_duration(&f, "slice");
    if f.get("slice").is_none() {
        cx.missing(&f, "slice", "the slice length, e.g. 1m");
    }
    Some(SlicesSli {
        query: query?,
        op: op?,
        threshold: threshold?,
        slice: slice?.0,
    })
}

fn group_by(cx: &mut Cx, f: &Fields<'_>) -> Vec<String> {
    let Some(node) = f.get("group_by") else {
        return Vec::new();
    };
    let path = f.path("group_by");
    let Kind::Seq(items) = &node.kind else {
        cx.error(
            node.location,
            &path,
            format!("expected a list of label names, found {}", node.describe()),
        );
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    // Names seen so far: a set, so a long list is not quadratic.
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some(name) = item
            .as_scalar()
            .filter(|_| matches!(item.kind, Kind::Scalar { .. }))
        else {
            cx.error(
                item.location,
                &p,
                format!("expected a label name, found {}", item.describe()),
            );
            continue;
        };
        if let Err(why) = names::check_label_name(name) {
            cx.error(
                item.location,
                &p,
                format!("invalid label name `{name}`: {why}"),
            );
        } else if seen.contains(name) {
            cx.error(item.location, &p, format!("`{name}` is listed twice"));
        } else if names::RESERVED_LABELS.contains(&name) {
            cx.error(
                item.location,
                &p,
                format!("label `{name}` is reserved: the generated series set it"),
            );
        } else {
            seen.insert(name);
            out.push(name.to_owned());
        }
    }
    out
}

fn ratio(cx: &mut Cx, node: &Node, path: &str) -> Option<RatioSli> {
    let f = cx.fields(node, path, &["errors", "good", "total", "group_by"])?;
    let counted = cx
        .exactly_one(
            &f,
            ["errors", "good"],
            Pick::Second,
            Neither::Either("a counter of bad or of good events"),
        )
        .and_then(|(pick, _)| match pick {
            Pick::First => cx.selector(&f, "errors", true).map(Counted::Errors),
            Pick::Second => cx.selector(&f, "good", true).map(Counted::Good),
        });
    let total = cx.selector(&f, "total", true);
    let group_by = group_by(cx, &f);
    Some(RatioSli {
        counted: counted?,
        total: total?,
        group_by,
    })
}

fn latency(cx: &mut Cx, node: &Node, path: &str) -> Option<LatencySli> {
    let f = cx.fields(
        node,
        path,
        &["histogram", "selector", "threshold", "group_by"],
    )?;
    let histogram = cx.string(
        &f,
        "histogram",
        Some("the histogram's name, without _bucket"),
    );
    let histogram = histogram.and_then(|h| {
        let h = h.strip_suffix("_bucket").unwrap_or(&h).to_owned();
        match names::check_metric_name(&h) {
            Ok(()) => Some(h),
            Err(why) => {
                let loc = f.get("histogram").map_or(node.location, |n| n.location);
                cx.error(
                    loc,
                    &f.path("histogram"),
                    format!("invalid metric name `{h}`: {why}"),
                );
                None
            }
        }
    });
    let selector = match f.get("selector") {
        None => Some(String::new()),
        Some(n) => {
            let s = cx.string(&f, "selector", None);
            s.and_then(|s| {
                let s = s.trim().to_owned();
                match crate::check::matchers(&s) {
                    Ok(()) => Some(s),
                    Err(why) => {
                        cx.error(
                            n.location,
                            &f.path("selector"),
                            format!("broken selector `{s}`: {why}"),
                        );
                        None
                    }
                }
            })
        }
    };
    let threshold = match cx.number(&f, "threshold", "a bucket bound such as 0.3") {
        None => {
            if f.get("threshold").is_none() {
                cx.missing(
                    &f,
                    "threshold",
                    "the bucket bound (le) under which requests are good",
                );
            }
            None
        }
        Some((t, loc)) if !(t.is_finite() && t > 0.0) => {
            cx.error(
                loc,
                &f.path("threshold"),
                format!("threshold {t} must be a finite positive number (a bucket bound; `+Inf` counts every request as good)"),
            );
            None
        }
        Some((t, _)) => Some(t),
    };
    let group_by = group_by(cx, &f);
    Some(LatencySli {
        histogram: histogram?,
        selector: selector?,
        threshold: threshold?,
        group_by,
    })
}

pub(super) fn alerting(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    period: Option<(Duration, Location)>,
    sli: Option<&Sli>,
) -> Option<(Alerting, Vec<WindowSpec>, Vec<Blame>)> {
    let f = cx.fields(
        node,
        path,
        &[
            "name",
            "labels",
            "annotations",
            "page",
            "ticket",
            "windows",
            "min_events",
            "absent_for",
        ],
    )?;
    let alerting = cx.alert_fields(&f, ["page", "ticket"], TIER_FIELDS);
    let min_events = match cx.number(&f, "min_events", "a number of events") {
        Some((n, loc)) if !(n.is_finite() && n >= 0.0) => {
            cx.error(
                loc,
                &f.path("min_events"),
                format!("min_events must be zero or more, found {n}"),
            );
            0.0
        }
        Some((n, loc)) => {
            // A slices SLI counts slices with data: min_events is then a
            // number of slices.
            if n > 0.0 && sli.is_some_and(|s| !s.counts_events()) {
                cx.error(
                    loc,
                    &f.path("min_events"),
                    "min_events needs an SLI that counts events: a `raw` error ratio cannot",
                );
            }
            n
        }
        None => 0.0,
    };
    let absent_for = cx.positive_duration(&f, "absent_for").map(|(d, _)| d);
    let windows = windows(cx, &f, period);
    let alerting = Alerting {
        min_events,
        absent_for,
        ..alerting?
    };
    let (specs, blame) = windows?;
    Some((alerting, specs, blame))
}

/// The window pairs: a preset name or a list, each with the field and
/// location to blame for its problems. Entries that fail to read are
/// reported and left out, so the others are still checked.
fn windows(
    cx: &mut Cx,
    f: &Fields<'_>,
    period: Option<(Duration, Location)>,
) -> Option<(Vec<WindowSpec>, Vec<Blame>)> {
    let path = f.path("windows");
    let Some(node) = f.get("windows") else {
        let specs = crate::policy::default_windows(period.map_or(DEFAULT_PERIOD, |(p, _)| p));
        let blame = (0..specs.len())
            .map(|i| {
                (
                    format!("{path}[{i}]"),
                    f.node.key.unwrap_or(f.node.location),
                )
            })
            .collect();
        return Some((specs, blame));
    };
    match &node.kind {
        Kind::Scalar { text, .. } => {
            let Some((preset, meant_for)) = Preset::by_name(text) else {
                let names: Vec<&str> = Preset::NAMES.iter().map(|(n, _, _)| *n).collect();
                cx.push(
                    Diagnostic::error(
                        node.location,
                        path,
                        format!("unknown window preset `{text}`"),
                    )
                    .with_help(format!(
                        "expected one of {} or a list of window pairs",
                        names.join(", ")
                    )),
                );
                return None;
            };
            if let (Some(want), Some((period, _))) = (meant_for, period)
                && want != period
            {
                cx.push(
                        Diagnostic::error(
                            node.location,
                            path,
                            format!("window preset `{text}` is for a {want} period, but this SLO's period is {period}"),
                        )
                        .with_help("use `windows: workbook` to apply the Workbook's budget shares to any period"),
                    );
                return None;
            }
            let specs = preset.windows();
            let blame = (0..specs.len())
                .map(|i| (format!("{path}[{i}]"), node.location))
                .collect();
            Some((specs, blame))
        }
        Kind::Seq(items) if !items.is_empty() => {
            let mut specs = Vec::new();
            let mut blame = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let field = format!("{path}[{i}]");
                if let Some(s) = window(cx, item, &field) {
                    specs.push(s);
                    blame.push((field, item.location));
                }
            }
            Some((specs, blame))
        }
        _ => {
            cx.error(
                node.location,
                &path,
                format!(
                    "expected a preset name or a list of window pairs, found {}",
                    node.describe()
                ),
            );
            None
        }
    }
}

fn window(cx: &mut Cx, node: &Node, path: &str) -> Option<WindowSpec> {
    let f = cx.fields(
        node,
        path,
        &["severity", "long", "short", "budget_percent", "factor"],
    )?;
    let severity = match cx.string(&f, "severity", Some("page or ticket")) {
        Some(s) => match Severity::parse(&s) {
            Some(sev) => Some(sev),
            None => {
                let loc = f.get("severity").map_or(node.location, |n| n.location);
                cx.error(
                    loc,
                    &f.path("severity"),
                    format!("unknown severity `{s}`: expected page or ticket"),
                );
                None
            }
        },
        None => None,
    };
    let long = cx.positive_duration(&f, "long");
    if f.get("long").is_none() {
        cx.missing(&f, "long", "the long window, e.g. 1h");
    }
    let short = cx.positive_duration(&f, "short");
    if f.get("short").is_none() {
        cx.missing(
            &f,
            "short",
            "the short window, e.g. 5m (a twelfth of the long one)",
        );
    }
    if let (Some((l, _)), Some((s, sloc))) = (long, short)
        && s >= l
    {
        cx.error(
            sloc,
            &f.path("short"),
            format!("the short window ({s}) must be shorter than the long window ({l})"),
        );
        return None;
    }
    let threshold = cx
        .exactly_one(
            &f,
            ["budget_percent", "factor"],
            Pick::Second,
            Neither::Missing(
                "budget_percent",
                "the share of the budget (percent) spent before alerting, or a `factor`",
            ),
        )
        .and_then(|(pick, _)| match pick {
            Pick::First => match cx.number(&f, "budget_percent", "a percentage such as 2") {
                Some((p, _)) if p > 0.0 && p <= 100.0 => Some(Threshold::BudgetShare(p / 100.0)),
                Some((p, loc)) => {
                    cx.error(
                        loc,
                        &f.path("budget_percent"),
                        format!("budget_percent {p} must be above 0 and at most 100"),
                    );
                    None
                }
                None => None,
            },
            Pick::Second => match cx.number(&f, "factor", "a burn-rate factor such as 14.4") {
                Some((x, _)) if x.is_finite() && x > 0.0 => Some(Threshold::Factor(x)),
                Some((x, loc)) => {
                    cx.error(
                        loc,
                        &f.path("factor"),
                        format!("factor {x} must be a finite positive number"),
                    );
                    None
                }
                None => None,
            },
        });
    Some(WindowSpec {
        severity: severity?,
        long: long?.0,
        short: short?.0,
        threshold: threshold?,
    })
}
