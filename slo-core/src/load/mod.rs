//! Reading specs: YAML text to a checked [`Spec`], or every problem in it.
//!
//! ```
//! use slo_core::load;
//!
//! let (spec, diagnostics) = load::check("version: slo/v1\nservice: api\nslos:\n  - name: x\n    objective: 101\n");
//! assert!(spec.is_none());
//! let objective = diagnostics.iter().find(|d| d.field == "slos[0].objective");
//! assert_eq!(objective.map(|d| (d.location.line, d.location.column)), Some((5, 16)));
//! assert!(objective.is_some_and(|d| d.message.contains("between 0 and 100")));
//! // The missing SLI is reported too, not only the first problem.
//! assert!(diagnostics.iter().any(|d| d.message.contains("missing field `sli`")));
//! ```

mod checks;
mod walk;

use std::collections::BTreeSet;

use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::format::Format;
use crate::names;
use crate::policy::{Preset, Severity, Threshold, WindowSpec};
use crate::spec::{
    Alerting, Counted, Labels, LatencySli, RatioSli, Sli, SliceOp, SlicesSli, Slo, Spec, VERSION,
    WINDOW_PLACEHOLDER,
};
use crate::yaml::{self, Kind, Node};

pub use crate::spec::{DEFAULT_ALERT_NAME, DEFAULT_PERIOD};
pub(crate) use checks::{Draft, Neither, Pick};
pub use walk::SloPlace;
use walk::map_value;
pub(crate) use walk::{Blame, Cx, Fields, describe_value, either, empty_map};

/// Reads a spec, returning it only when it has no errors. Warnings are
/// dropped; use [`check`] to see them.
pub fn load_str(src: &str) -> Result<Spec, Vec<Diagnostic>> {
    match check(src) {
        (Some(spec), _) => Ok(spec),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// Reads a spec and returns every problem found, sorted by place. The spec
/// is `Some` exactly when no diagnostic is an error.
pub fn check(src: &str) -> (Option<Spec>, Vec<Diagnostic>) {
    let (spec, diags, _) = check_placed(src);
    (spec, diags)
}

/// Like [`check`], also returning where each SLO is defined (the place of
/// its name), so callers that read several files can point at both
/// definitions of a duplicate.
pub fn check_placed(src: &str) -> (Option<Spec>, Vec<Diagnostic>, Vec<SloPlace>) {
    let mut cx = Cx::default();
    let spec = match yaml::parse(src) {
        Err(d) => {
            cx.diags.push(d);
            None
        }
        Ok(docs) => match docs.as_slice() {
            [] => {
                cx.error(
                    yaml::start_of(src),
                    "",
                    "the file is empty: expected a spec with `version: slo/v1`",
                );
                None
            }
            [first, ..] => match Format::of(first) {
                Format::Sloth | Format::SlothKubernetes => crate::sloth::spec(&mut cx, &docs),
                Format::OpenSlo => crate::openslo::spec(&mut cx, &docs),
                Format::Native => match docs.as_slice() {
                    [_, second, ..] => {
                        cx.error(
                            second.location,
                            "",
                            "more than one YAML document: a slo/v1 spec file holds one (split them into files)",
                        );
                        None
                    }
                    _ => cx.spec(first),
                },
            },
        },
    };
    // What Prometheus would refuse in the generated rules, at the SLO: only
    // once every field passed, so a field's problem is reported once, there.
    let clean = !cx.diags.iter().any(Diagnostic::is_error);
    for slo in spec.iter().filter(|_| clean).flat_map(|s| &s.slos) {
        let at = cx
            .places
            .iter()
            .find(|p| p.service == slo.service && p.name == slo.name)
            .map_or_else(|| yaml::start_of(src), |p| p.location);
        for problem in crate::check::generated(slo) {
            cx.error(at, "", problem);
        }
    }
    // An object read for several SLOs (an OpenSLO AlertPolicy) reports its
    // problems once.
    let mut seen = std::collections::HashSet::new();
    let mut diags = cx.diags;
    diags.retain(|d| {
        seen.insert((
            d.location,
            d.level,
            d.field.clone(),
            d.message.clone(),
            d.help.clone(),
        ))
    });
    diags.sort_by_key(|d| (d.location.line, d.location.column));
    let ok = !diags.iter().any(Diagnostic::is_error);
    (spec.filter(|_| ok), diags, cx.places)
}

/// Tells YAML that is no spec at all (the daemon's configuration, an
/// incidents file, another Kubernetes object) from a spec with mistakes:
/// returns what the file looks like when its first document is a mapping
/// with neither `service` nor `slos`, and no `version` or `apiVersion` of a
/// spec format. A file that does not parse, or has any of those, is a spec,
/// so its mistakes are reported.
pub fn not_a_spec(src: &str) -> Option<String> {
    let docs = yaml::parse(src).ok()?;
    let Kind::Map(pairs) = &docs.first()?.kind else {
        return None;
    };
    let keys: BTreeSet<&str> = pairs.iter().filter_map(|(k, _)| k.as_scalar()).collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(name))
            .and_then(|(_, v)| v.as_scalar())
    };
    // A spec's own fields, or a version of a spec format (`slo/v2` is a
    // spec with a wrong version, not something else).
    if keys.contains("service") || keys.contains("slos") {
        return None;
    }
    match field("version") {
        Some(v) if v.starts_with("slo/") || v.starts_with("prometheus/") => return None,
        Some(v) => {
            return Some(format!(
                "YAML with `version: {v}`, which is no spec format (slo/v1, Sloth prometheus/v1)"
            ));
        }
        None if keys.contains("version") => return None,
        None => {}
    }
    if let Some(api) = field("apiVersion") {
        if Format::of(&docs[0]) != Format::Native {
            return None;
        }
        let kind = field("kind").unwrap_or("?");
        return Some(format!(
            "a `{api}` `{kind}` object, not a spec format (slo/v1, Sloth, OpenSLO)"
        ));
    }
    if keys.contains("specs") && (keys.contains("prometheus") || keys.contains("notify")) {
        return Some("the daemon's configuration (`slo-eval run --config`)".to_owned());
    }
    if keys.contains("incidents") {
        return Some("an incidents file (`slo-eval backtest --incidents`)".to_owned());
    }
    Some("YAML without `version`, `apiVersion`, `service` or `slos`".to_owned())
}
impl Cx {
    fn spec(&mut self, doc: &Node) -> Option<Spec> {
        let f = self.fields(doc, "", &["version", "service", "labels", "slos"])?;
        match f.get("version") {
            None => self.missing(&f, "version", "`version: slo/v1`"),
            Some(v) => match v.as_scalar() {
                Some(VERSION) => {}
                Some(other) => self.error(
                    v.location,
                    "version",
                    format!("unsupported version `{other}`: expected `{VERSION}`"),
                ),
                None => self.error(
                    v.location,
                    "version",
                    format!("expected `{VERSION}`, found {}", v.describe()),
                ),
            },
        }
        let service = self.service(&f, "service");
        let labels = self.user_labels(&f, "labels");
        let slos = self.slos(&f, "slos", |cx, item, path| {
            cx.slo(item, path, service.as_deref().unwrap_or(""), &labels)
        });
        Some(Spec {
            service: service?,
            labels,
            slos,
        })
    }

    fn slo(&mut self, node: &Node, path: &str, service: &str, file_labels: &Labels) -> Option<Slo> {
        let f = self.fields(
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
        let name = self.slo_name(&f, "name");
        if let (Some(n), Some(node)) = (&name, f.get("name")) {
            self.place(service, n, node.location);
        }
        let description = self.string(&f, "description", None);
        let objective = self.objective_percent(&f, "objective");
        let period = match self.positive_duration(&f, "period") {
            Some(p) => Some(p),
            None if f.get("period").is_none() => Some((DEFAULT_PERIOD, f.node.location)),
            None => None,
        };
        let mut labels = file_labels.clone();
        labels.extend(self.user_labels(&f, "labels"));
        let sli = match f.get("sli") {
            None => {
                self.missing(&f, "sli", "one of ratio, latency, events, raw or slices");
                None
            }
            Some(n) => self.sli(n, &f.path("sli")),
        };
        let alerting_path = f.path("alerting");
        let empty = empty_map(f.node.location);
        let alerting_node = f.get("alerting").filter(|n| !n.is_null()).unwrap_or(&empty);
        let alerting = self.alerting(alerting_node, &alerting_path, period, sli.as_ref());
        let (alerting, windows, blame) = alerting?;
        let slice_at = f
            .get("sli")
            .and_then(|sli| map_value(sli, "slices"))
            .and_then(|s| map_value(s, "slice"))
            .map_or(f.key_location("sli"), |n| n.location);
        self.finish(Draft {
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

    fn sli(&mut self, node: &Node, path: &str) -> Option<Sli> {
        const KINDS: [&str; 5] = ["ratio", "latency", "events", "raw", "slices"];
        let f = self.fields(node, path, &KINDS)?;
        let (kind, value) = self.one_kind(&f, &KINDS)?;
        let path = f.path(kind);
        match kind {
            "ratio" => self.ratio(value, &path).map(Sli::Ratio),
            "latency" => self.latency(value, &path).map(Sli::Latency),
            "events" => self.events(value, &path, ["error_query", "total_query"]),
            "slices" => self.slices(value, &path).map(Sli::Slices),
            _ => self.raw(value, &path, "error_ratio_query"),
        }
    }

    /// A `slices` SLI. The slice is checked against the windows once the
    /// policy is known ([`Cx::check_slice`]).
    fn slices(&mut self, node: &Node, path: &str) -> Option<SlicesSli> {
        let f = self.fields(node, path, &["query", "op", "threshold", "slice"])?;
        let query = self
            .string(&f, "query", Some("a PromQL query evaluated once per slice"))
            .and_then(|q| {
                let loc = f.get("query").map_or(f.node.location, |n| n.location);
                let mut ok = true;
                if q.contains(WINDOW_PLACEHOLDER) {
                    self.push(
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
                    self.error(loc, &f.path("query"), "the query is empty");
                    ok = false;
                } else if let Err(why) = crate::check::query(&q) {
                    self.error(loc, &f.path("query"), format!("broken query: {why}"));
                    ok = false;
                }
                ok.then(|| q.trim().to_owned())
            });
        let ops: Vec<&str> = SliceOp::ALL.iter().map(|o| o.as_str()).collect();
        let op = self
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
                        self.error(
                            loc,
                            &f.path("op"),
                            format!(
                                "empty operator: expected {} (an unquoted `>` begins a YAML block scalar: write `op: \">\"`)",
                                either(&ops)
                            ),
                        );
                    } else {
                        let loc = node.map_or(f.node.location, |n| n.location);
                        self.error(
                            loc,
                            &f.path("op"),
                            format!("unknown operator `{o}`: expected {}", either(&ops)),
                        );
                    }
                }
                parsed
            });
        let threshold = match self.number(&f, "threshold", "a number such as 1000") {
            None => {
                if f.get("threshold").is_none() {
                    self.missing(&f, "threshold", "the value the query is compared with");
                }
                None
            }
            Some((t, loc)) if !t.is_finite() => {
                self.error(
                    loc,
                    &f.path("threshold"),
                    format!("threshold {t} must be a finite number"),
                );
                None
            }
            Some((t, _)) => Some(t),
        };
        let slice = self.positive_duration(&f, "slice");
        if f.get("slice").is_none() {
            self.missing(&f, "slice", "the slice length, e.g. 1m");
        }
        Some(SlicesSli {
            query: query?,
            op: op?,
            threshold: threshold?,
            slice: slice?.0,
        })
    }

    fn group_by(&mut self, f: &Fields<'_>) -> Vec<String> {
        let Some(node) = f.get("group_by") else {
            return Vec::new();
        };
        let path = f.path("group_by");
        let Kind::Seq(items) = &node.kind else {
            self.error(
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
                self.error(
                    item.location,
                    &p,
                    format!("expected a label name, found {}", item.describe()),
                );
                continue;
            };
            if let Err(why) = names::check_label_name(name) {
                self.error(
                    item.location,
                    &p,
                    format!("invalid label name `{name}`: {why}"),
                );
            } else if seen.contains(name) {
                self.error(item.location, &p, format!("`{name}` is listed twice"));
            } else if names::RESERVED_LABELS.contains(&name) {
                self.error(
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

    fn ratio(&mut self, node: &Node, path: &str) -> Option<RatioSli> {
        let f = self.fields(node, path, &["errors", "good", "total", "group_by"])?;
        let counted = self
            .exactly_one(
                &f,
                ["errors", "good"],
                Pick::Second,
                Neither::Either("a counter of bad or of good events"),
            )
            .and_then(|(pick, _)| match pick {
                Pick::First => self.selector(&f, "errors", true).map(Counted::Errors),
                Pick::Second => self.selector(&f, "good", true).map(Counted::Good),
            });
        let total = self.selector(&f, "total", true);
        let group_by = self.group_by(&f);
        Some(RatioSli {
            counted: counted?,
            total: total?,
            group_by,
        })
    }

    fn latency(&mut self, node: &Node, path: &str) -> Option<LatencySli> {
        let f = self.fields(
            node,
            path,
            &["histogram", "selector", "threshold", "group_by"],
        )?;
        let histogram = self.string(
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
                    self.error(
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
                let s = self.string(&f, "selector", None);
                s.and_then(|s| {
                    let s = s.trim().to_owned();
                    match crate::check::matchers(&s) {
                        Ok(()) => Some(s),
                        Err(why) => {
                            self.error(
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
        let threshold = match self.number(&f, "threshold", "a bucket bound such as 0.3") {
            None => {
                if f.get("threshold").is_none() {
                    self.missing(
                        &f,
                        "threshold",
                        "the bucket bound (le) under which requests are good",
                    );
                }
                None
            }
            Some((t, loc)) if !(t.is_finite() && t > 0.0) => {
                self.error(
                    loc,
                    &f.path("threshold"),
                    format!("threshold {t} must be a finite positive number (a bucket bound; `+Inf` counts every request as good)"),
                );
                None
            }
            Some((t, _)) => Some(t),
        };
        let group_by = self.group_by(&f);
        Some(LatencySli {
            histogram: histogram?,
            selector: selector?,
            threshold: threshold?,
            group_by,
        })
    }

    fn alerting(
        &mut self,
        node: &Node,
        path: &str,
        period: Option<(Duration, Location)>,
        sli: Option<&Sli>,
    ) -> Option<(Alerting, Vec<WindowSpec>, Vec<Blame>)> {
        let f = self.fields(
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
        let name = self.alert_name(&f, "name");
        let labels = self.user_labels(&f, "labels");
        let annotations = self.labels(&f, "annotations", "annotation");
        self.templates(&f, "labels", &labels);
        self.templates(&f, "annotations", &annotations);
        let page = self.tier(&f, "page", Severity::Page, TIER_FIELDS);
        let ticket = self.tier(&f, "ticket", Severity::Ticket, TIER_FIELDS);
        let min_events = match self.number(&f, "min_events", "a number of events") {
            Some((n, loc)) if !(n.is_finite() && n >= 0.0) => {
                self.error(
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
                    self.error(
                        loc,
                        &f.path("min_events"),
                        "min_events needs an SLI that counts events: a `raw` error ratio cannot",
                    );
                }
                n
            }
            None => 0.0,
        };
        let absent_for = self.positive_duration(&f, "absent_for").map(|(d, _)| d);
        let windows = self.windows(&f, period);
        let (Some(page), Some(ticket)) = (page, ticket) else {
            return None;
        };
        let alerting = Alerting {
            name,
            labels,
            annotations,
            page,
            ticket,
            min_events,
            absent_for,
        };
        let (specs, blame) = windows?;
        Some((alerting, specs, blame))
    }

    /// The window pairs: a preset name or a list, each with the field and
    /// location to blame for its problems. Entries that fail to read are
    /// reported and left out, so the others are still checked.
    fn windows(
        &mut self,
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
                    self.push(
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
                    self.push(
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
                    if let Some(s) = self.window(item, &field) {
                        specs.push(s);
                        blame.push((field, item.location));
                    }
                }
                Some((specs, blame))
            }
            _ => {
                self.error(
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

    fn window(&mut self, node: &Node, path: &str) -> Option<WindowSpec> {
        let f = self.fields(
            node,
            path,
            &["severity", "long", "short", "budget_percent", "factor"],
        )?;
        let severity = match self.string(&f, "severity", Some("page or ticket")) {
            Some(s) => match Severity::parse(&s) {
                Some(sev) => Some(sev),
                None => {
                    let loc = f.get("severity").map_or(node.location, |n| n.location);
                    self.error(
                        loc,
                        &f.path("severity"),
                        format!("unknown severity `{s}`: expected page or ticket"),
                    );
                    None
                }
            },
            None => None,
        };
        let long = self.positive_duration(&f, "long");
        if f.get("long").is_none() {
            self.missing(&f, "long", "the long window, e.g. 1h");
        }
        let short = self.positive_duration(&f, "short");
        if f.get("short").is_none() {
            self.missing(
                &f,
                "short",
                "the short window, e.g. 5m (a twelfth of the long one)",
            );
        }
        if let (Some((l, _)), Some((s, sloc))) = (long, short)
            && s >= l
        {
            self.error(
                sloc,
                &f.path("short"),
                format!("the short window ({s}) must be shorter than the long window ({l})"),
            );
            return None;
        }
        let threshold = self
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
                Pick::First => match self.number(&f, "budget_percent", "a percentage such as 2") {
                    Some((p, _)) if p > 0.0 && p <= 100.0 => {
                        Some(Threshold::BudgetShare(p / 100.0))
                    }
                    Some((p, loc)) => {
                        self.error(
                            loc,
                            &f.path("budget_percent"),
                            format!("budget_percent {p} must be above 0 and at most 100"),
                        );
                        None
                    }
                    None => None,
                },
                Pick::Second => {
                    match self.number(&f, "factor", "a burn-rate factor such as 14.4") {
                        Some((x, _)) if x.is_finite() && x > 0.0 => Some(Threshold::Factor(x)),
                        Some((x, loc)) => {
                            self.error(
                                loc,
                                &f.path("factor"),
                                format!("factor {x} must be a finite positive number"),
                            );
                            None
                        }
                        None => None,
                    }
                }
            });
        Some(WindowSpec {
            severity: severity?,
            long: long?.0,
            short: short?.0,
            threshold: threshold?,
        })
    }
}

/// The fields of a tier (`page`, `ticket`).
const TIER_FIELDS: &[&str] = &["disable", "labels", "annotations", "for"];

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(src: &str) -> Vec<(usize, usize)> {
        check(src)
            .1
            .iter()
            .map(|d| (d.location.offset, d.location.len))
            .collect()
    }

    #[test]
    fn empty_file_location_is_inside_the_input() {
        // Regression: the "file is empty" error always spanned one byte,
        // past the end of an empty input; a node at the very end (`!`, an
        // empty tagged value) did too.
        assert_eq!(spans(""), [(0, 0)]);
        assert_eq!(spans("é"), [(0, 2)]);
        assert_eq!(spans("# nothing\n"), [(0, 1)]);
        assert_eq!(spans("!"), [(1, 0)]);
    }

    #[test]
    fn long_group_by_is_not_quadratic() {
        // Regression: duplicate `group_by` labels were found by scanning the
        // list so far, quadratic in its length (50k labels took ten seconds
        // in a debug build); now a set.
        let labels: Vec<String> = (0..50_000).map(|i| format!("l{i}")).collect();
        let src = format!(
            "version: slo/v1\nservice: x\nslos:\n- name: a\n  objective: 99.9\n  sli:\n    ratio:\n      errors: x\n      total: y\n      group_by: [{}, l7, slo]\n",
            labels.join(", ")
        );
        // Timing belongs in benches; here the behaviour on a long list.
        let (spec, diags) = check(&src);
        assert!(spec.is_none());
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`l7` is listed twice",
                "label `slo` is reserved: the generated series set it"
            ]
        );
    }

    #[test]
    fn group_by_labels_cannot_also_be_set() {
        let (spec, diags) = check(
            r#"
version: slo/v1
service: api
labels: {route: all}
slos:
  - name: a
    objective: 99
    sli:
      ratio:
        errors: x{code="500"}
        total: x
        group_by: [route, region]
    alerting:
      page:
        labels: {region: eu}
"#,
        );
        assert!(spec.is_none());
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`route` is a group_by label and is also set in labels")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m
                .contains("`region` is a group_by label and is also set in alerting.page.labels")),
            "{messages:?}"
        );
    }
}
