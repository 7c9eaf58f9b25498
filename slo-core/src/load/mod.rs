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

mod walk;

use std::collections::{BTreeMap, BTreeSet};

use crate::budget::{ErrorBudget, Objective};
use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::format::Format;
use crate::names;
use crate::policy::{Policy, Preset, Severity, Threshold, WindowSpec};
use crate::spec::{
    Alerting, Counted, EventsSli, Labels, LatencySli, RatioSli, RawSli, Sli, SliceOp, SlicesSli,
    Slo, Spec, Tier, VERSION, WINDOW_PLACEHOLDER,
};
use crate::yaml::{self, Kind, Node};

pub use crate::spec::{DEFAULT_ALERT_NAME, DEFAULT_PERIOD};
pub use walk::SloPlace;
pub(crate) use walk::{Blame, Cx, Fields, describe_value, either, empty_map};
use walk::{join, key_location, map_value};

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
    /// Alert labels and annotations are Go templates Prometheus parses when
    /// it loads the rules: each value of field `name` must parse
    /// ([`check::template`](crate::check::template)).
    pub(crate) fn templates(&mut self, f: &Fields<'_>, name: &str, values: &Labels) {
        let Some(node) = f.get(name) else { return };
        for (k, v) in values {
            if let Err(why) = crate::check::template(v) {
                let loc = map_value(node, k).map_or(node.location, |n| n.location);
                self.push(
                    Diagnostic::error(
                        loc,
                        join(&f.path(name), k),
                        format!("broken template: {why}"),
                    )
                    .with_help("Prometheus expands alert labels and annotations as Go templates, e.g. {{ $labels.route }} or {{ $value | humanize }}; write a literal `{{` as {{ \"{{\" }}"),
                );
            }
        }
    }

    /// Labels that may not collide with the ones this tool generates.
    pub(crate) fn user_labels(&mut self, f: &Fields<'_>, name: &str) -> Labels {
        let labels = self.labels(f, name, "label");
        for key in labels.keys() {
            if names::RESERVED_LABELS.contains(&key.as_str()) {
                let loc = f
                    .get(name)
                    .map_or(f.node.location, |n| key_location(n, key));
                self.push(
                    Diagnostic::error(
                        loc,
                        join(&f.path(name), key),
                        format!(
                            "label `{key}` is reserved: the generated series and alerts set it"
                        ),
                    )
                    .with_help(format!(
                        "reserved labels: {}",
                        names::RESERVED_LABELS.join(", ")
                    )),
                );
            }
        }
        labels
    }

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

    /// A required service name.
    pub(crate) fn service(&mut self, f: &Fields<'_>, name: &str) -> Option<String> {
        let service = self.string(f, name, Some("the service's name"));
        if let (Some(s), Some(node)) = (&service, f.get(name))
            && let Err(why) = names::check_name(s)
        {
            self.error(
                node.location,
                &f.path(name),
                format!("invalid service name `{s}`: {why}"),
            );
        }
        service
    }

    /// A required, non-empty list of SLOs, each read by `read`; names must
    /// be unique.
    pub(crate) fn slos(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        mut read: impl FnMut(&mut Self, &Node, &str) -> Option<Slo>,
    ) -> Vec<Slo> {
        let mut slos = Vec::new();
        let Some(node) = f.get(name) else {
            self.missing(f, name, "a list of SLOs");
            return slos;
        };
        let list = f.path(name);
        match &node.kind {
            Kind::Seq(items) if !items.is_empty() => {
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{list}[{i}]");
                    let Some(slo) = read(self, item, &path) else {
                        continue;
                    };
                    if let Some(line) = seen.get(&slo.name) {
                        let loc = self
                            .fields_quiet(item)
                            .map_or(item.location, |n| n.location);
                        self.error(
                            loc,
                            &format!("{path}.name"),
                            format!("duplicate SLO name `{}` (first on line {line})", slo.name),
                        );
                        continue;
                    }
                    seen.insert(slo.name.clone(), item.location.line);
                    slos.push(slo);
                }
            }
            Kind::Seq(_) => self.error(
                node.location,
                &list,
                "expected at least one SLO, found an empty list",
            ),
            _ => self.error(
                node.location,
                &list,
                format!("expected a list of SLOs, found {}", node.describe()),
            ),
        }
        slos
    }

    /// The `name` node of an SLO item, for pointing at duplicates.
    fn fields_quiet<'a>(&self, item: &'a Node) -> Option<&'a Node> {
        let Kind::Map(pairs) = &item.kind else {
            return None;
        };
        pairs
            .iter()
            .find(|(k, _)| k.as_scalar() == Some("name"))
            .map(|(_, v)| v)
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
        let alerting = match f.get("alerting") {
            Some(n) if !n.is_null() => {
                self.alerting(n, &alerting_path, period, objective, sli.as_ref())
            }
            _ => self.alerting(
                &empty_map(f.node.location),
                &alerting_path,
                period,
                objective,
                sli.as_ref(),
            ),
        };
        if let (Some(sli), Some((alerting, _))) = (&sli, &alerting) {
            self.check_group_labels(&f, sli, &labels, alerting);
        }
        if let (Some(Sli::Slices(s)), Some((_, policy)), Some((period, _))) =
            (&sli, &alerting, period)
        {
            let loc = f
                .get("sli")
                .and_then(|sli| map_value(sli, "slices"))
                .and_then(|s| map_value(s, "slice"))
                .map_or(f.key_location("sli"), |n| n.location);
            let path = format!("{}.slices.slice", f.path("sli"));
            self.check_slice((loc, &path), s.slice, policy, period);
        }
        let (alerting, policy) = alerting?;
        Some(Slo {
            service: service.to_owned(),
            name: name?,
            description,
            objective: objective?,
            period: period?.0,
            labels,
            sli: sli?,
            alerting,
            policy,
        })
    }

    /// A label set on every series or alert of the SLO cannot also be a
    /// `group_by` label: every group would get the same value, and their
    /// series (or alerts) would collide.
    fn check_group_labels(
        &mut self,
        f: &Fields<'_>,
        sli: &Sli,
        labels: &Labels,
        alerting: &Alerting,
    ) {
        let group_by: &[String] = match sli {
            Sli::Ratio(r) => &r.group_by,
            Sli::Latency(l) => &l.group_by,
            Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => &[],
        };
        let sets = [
            ("labels", labels),
            ("alerting.labels", &alerting.labels),
            ("alerting.page.labels", &alerting.page.labels),
            ("alerting.ticket.labels", &alerting.ticket.labels),
        ];
        for name in group_by {
            if let Some((place, _)) = sets.iter().find(|(_, l)| l.contains_key(name)) {
                self.error(
                    f.key_location("sli"),
                    &f.path("sli"),
                    format!(
                        "`{name}` is a group_by label and is also set in {place}: every group would get the same value and their series would collide"
                    ),
                );
            }
        }
    }

    /// A required SLO name.
    pub(crate) fn slo_name(&mut self, f: &Fields<'_>, name: &str) -> Option<String> {
        let slo = self.string(f, name, Some("the SLO's name"));
        if let (Some(n), Some(node)) = (&slo, f.get(name))
            && let Err(why) = names::check_name(n)
        {
            self.error(
                node.location,
                &f.path(name),
                format!("invalid SLO name `{n}`: {why}"),
            );
        }
        slo
    }

    /// A required objective written as a percentage (`99.9`).
    pub(crate) fn objective_percent(&mut self, f: &Fields<'_>, name: &str) -> Option<Objective> {
        let Some((percent, loc)) = self.number(f, name, "a percentage such as 99.9") else {
            if f.get(name).is_none() {
                self.missing(f, name, "a percentage such as 99.9");
            }
            return None;
        };
        match Objective::from_percent(percent) {
            Ok(o) => {
                if percent < 1.0 {
                    self.push(
                        Diagnostic::warning(
                            loc,
                            f.path(name),
                            format!(
                                "objective {percent} is read as {percent}%, not {}%",
                                percent * 100.0
                            ),
                        )
                        .with_help("objectives are percentages: write 99.9 for 99.9%"),
                    );
                }
                Some(o)
            }
            Err(e) => {
                self.error(loc, &f.path(name), e.to_string());
                None
            }
        }
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

    /// A slice must tile every window and the period: no longer than the
    /// shortest window and dividing each evenly, so that every window holds
    /// a whole number of slices and detection counts whole slices.
    pub(crate) fn check_slice(
        &mut self,
        (loc, path): (Location, &str),
        slice: Duration,
        policy: &Policy,
        period: Duration,
    ) {
        // The windows the rules record: the policy's, or the step alone
        // when every tier is disabled.
        let windows = crate::rules::recorded_windows_of(policy);
        if let Some(shortest) = windows.first()
            && slice > *shortest
        {
            self.push(
                Diagnostic::error(
                    loc,
                    path,
                    format!("the slice ({slice}) is longer than the shortest window ({shortest})"),
                )
                .with_help("a window must hold whole slices: shorten the slice or lengthen the short windows"),
            );
            return;
        }
        let uneven: Vec<String> = windows
            .iter()
            .copied()
            .chain(std::iter::once(period))
            .filter(|w| w.as_millis() % slice.as_millis().max(1) != 0)
            .map(|w| w.to_string())
            .collect();
        if !uneven.is_empty() {
            self.push(
                Diagnostic::error(
                    loc,
                    path,
                    format!(
                        "the slice ({slice}) does not divide {} evenly: a window must hold a whole number of slices",
                        uneven.join(", ")
                    ),
                )
                .with_help("use a slice that divides every window and the period, e.g. 1m"),
            );
        }
    }

    /// The one field of `f` that says which kind of SLI it is (`f` holds
    /// only `kinds`); a second one, or none, is an error.
    pub(crate) fn one_kind<'a>(
        &mut self,
        f: &Fields<'a>,
        kinds: &[&str],
    ) -> Option<(&'a str, &'a Node)> {
        let mut chosen: Option<(&'a str, &'a Node)> = None;
        for (name, key, value) in &f.pairs {
            if let Some((first, _)) = chosen {
                self.error(
                    key.location,
                    &f.path(name),
                    format!("an SLI has exactly one kind: found both `{first}` and `{name}`"),
                );
                continue;
            }
            chosen = Some((*name, *value));
        }
        if chosen.is_none() {
            self.error(
                f.node.location,
                &f.path,
                format!("expected exactly one SLI kind: {}", either(kinds)),
            );
        }
        chosen
    }

    /// An `events` SLI: bad and total event rates, fields named `keys`.
    pub(crate) fn events(&mut self, node: &Node, path: &str, keys: [&str; 2]) -> Option<Sli> {
        let g = self.fields(node, path, &keys)?;
        let error_query = self.query(&g, keys[0]);
        let total_query = self.query(&g, keys[1]);
        Some(Sli::Events(EventsSli {
            error_query: error_query?,
            total_query: total_query?,
        }))
    }

    /// A `raw` SLI: the error ratio query in field `key`.
    pub(crate) fn raw(&mut self, node: &Node, path: &str, key: &str) -> Option<Sli> {
        let g = self.fields(node, path, &[key])?;
        let q = self.query(&g, key);
        Some(Sli::Raw(RawSli {
            error_ratio_query: q?,
        }))
    }

    /// A hand-written PromQL query with the window placeholder.
    pub(crate) fn query(&mut self, f: &Fields<'_>, name: &str) -> Option<String> {
        let q = self.string(f, name, Some("a PromQL query with {{.window}}"))?;
        let loc = f.get(name).map_or(f.node.location, |n| n.location);
        let mut ok = true;
        if !q.contains(WINDOW_PLACEHOLDER) {
            self.push(
                Diagnostic::error(loc, f.path(name), format!("the query has no `{WINDOW_PLACEHOLDER}` placeholder"))
                    .with_help("write the range as [{{.window}}], e.g. sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))"),
            );
            ok = false;
        }
        if let Err(why) = crate::check::query(&q) {
            self.error(loc, &f.path(name), format!("broken query: {why}"));
            ok = false;
        }
        ok.then_some(q)
    }

    /// A series selector (`metric{matchers}`).
    pub(crate) fn selector(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        required: bool,
    ) -> Option<String> {
        let s = self.string(
            f,
            name,
            required.then_some("a series selector such as http_requests_total{job=\"api\"}"),
        )?;
        let loc = f.get(name).map_or(f.node.location, |n| n.location);
        match crate::check::selector(&s) {
            Ok(()) => Some(s.trim().to_owned()),
            Err(why) => {
                self.push(
                    Diagnostic::error(
                        loc,
                        f.path(name),
                        format!("broken series selector `{s}`: {why}"),
                    )
                    .with_help("for arbitrary PromQL use the `events` or `raw` SLI"),
                );
                None
            }
        }
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
        let counted = match (f.get("errors"), f.get("good")) {
            (Some(_), Some(good)) => {
                self.error(
                    f.key_location("good"),
                    &f.path("good"),
                    "set exactly one of `errors` and `good`, not both",
                );
                let _ = good;
                None
            }
            (None, None) => {
                self.error(
                    node.key.unwrap_or(node.location),
                    path,
                    "missing field `errors` or `good`: expected a counter of bad or of good events",
                );
                None
            }
            (Some(_), None) => self.selector(&f, "errors", true).map(Counted::Errors),
            (None, Some(_)) => self.selector(&f, "good", true).map(Counted::Good),
        };
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
        objective: Option<Objective>,
        sli: Option<&Sli>,
    ) -> Option<(Alerting, Policy)> {
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
        let (period, _) = period?;
        let policy = self.policy(
            &specs,
            blame,
            period,
            objective,
            &alerting,
            (node.location, path),
        );
        Some((alerting, policy))
    }

    /// Resolves window pairs for `period` into the SLO's policy: checks every
    /// pair of an enabled tier against the budget, drops disabled tiers, and
    /// warns (at `whole`) when neither tier alerts.
    pub(crate) fn policy(
        &mut self,
        specs: &[WindowSpec],
        blame: Vec<Blame>,
        period: Duration,
        objective: Option<Objective>,
        alerting: &Alerting,
        whole: (Location, &str),
    ) -> Policy {
        if let Some(objective) = objective {
            let budget = ErrorBudget::new(objective, period);
            for (spec, (field, loc)) in specs.iter().zip(blame) {
                if !alerting.tier(spec.severity).disabled {
                    self.check_pair(spec, &budget, loc, &field);
                }
            }
        }
        let mut policy = Policy::new(specs, period);
        policy.retain(|p| !alerting.tier(p.severity).disabled);
        if alerting.page.disabled && alerting.ticket.disabled {
            self.push(Diagnostic::warning(
                whole.0,
                whole.1,
                "both tiers are disabled: this SLO never alerts",
            ));
        }
        policy
    }

    /// An optional alert name (`alertname`), [`DEFAULT_ALERT_NAME`] when absent.
    pub(crate) fn alert_name(&mut self, f: &Fields<'_>, name: &str) -> String {
        let alert = self
            .string(f, name, None)
            .unwrap_or_else(|| DEFAULT_ALERT_NAME.to_owned());
        if let Err(why) = names::check_label_name(&alert) {
            let loc = f.get(name).map_or(f.node.location, |n| n.location);
            self.error(
                loc,
                &f.path(name),
                format!("invalid alert name `{alert}`: {why}"),
            );
        }
        alert
    }

    /// One tier's settings from field `name` (absent: the defaults); `allowed`
    /// are the fields the format knows, among those of [`TIER_FIELDS`].
    pub(crate) fn tier(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        severity: Severity,
        allowed: &[&str],
    ) -> Option<Tier> {
        let Some(node) = f.get(name).filter(|n| !n.is_null()) else {
            return Some(Tier::new(severity));
        };
        let mut tier = Tier::default();
        let g = self.fields(node, &f.path(name), allowed)?;
        tier.disabled = self.boolean(&g, "disable").unwrap_or(false);
        tier.labels = self.user_labels(&g, "labels");
        tier.labels
            .entry("severity".to_owned())
            .or_insert_with(|| severity.to_string());
        tier.annotations = self.labels(&g, "annotations", "annotation");
        self.templates(&g, "labels", &tier.labels);
        self.templates(&g, "annotations", &tier.annotations);
        tier.for_ = self
            .duration(&g, "for")
            .map(|(d, _)| d)
            .filter(|d| !d.is_zero());
        Some(tier)
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
        let threshold = match (f.get("budget_percent"), f.get("factor")) {
            (Some(_), Some(_)) => {
                self.error(
                    f.key_location("factor"),
                    &f.path("factor"),
                    "set exactly one of `budget_percent` and `factor`, not both",
                );
                None
            }
            (None, None) => {
                self.missing(
                    &f,
                    "budget_percent",
                    "the share of the budget (percent) spent before alerting, or a `factor`",
                );
                None
            }
            (Some(_), None) => match self.number(&f, "budget_percent", "a percentage such as 2") {
                Some((p, _)) if p > 0.0 && p <= 100.0 => Some(Threshold::BudgetShare(p / 100.0)),
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
            (None, Some(_)) => match self.number(&f, "factor", "a burn-rate factor such as 14.4") {
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
            },
        };
        Some(WindowSpec {
            severity: severity?,
            long: long?.0,
            short: short?.0,
            threshold: threshold?,
        })
    }

    pub(crate) fn check_pair(
        &mut self,
        spec: &WindowSpec,
        budget: &ErrorBudget,
        loc: Location,
        field: &str,
    ) {
        let pair = spec.resolve(budget.period);
        let (long, short) = (pair.long, pair.short);
        if long > budget.period {
            self.error(
                loc,
                field,
                format!(
                    "the {long} window is longer than the SLO's period ({})",
                    budget.period
                ),
            );
            return;
        }
        let factor = crate::num::format(pair.factor);
        if !pair.can_fire(budget) {
            let max = crate::num::format(budget.max_burn_rate());
            let needed = crate::num::format(pair.error_ratio_threshold(budget));
            self.push(
                Diagnostic::error(
                    loc,
                    field,
                    format!(
                        "the {long}/{short} pair can never fire: factor {factor} needs an error ratio above {needed}, but a total outage only burns at {max}x (1 / budget)"
                    ),
                )
                .with_help(format!("use a factor below {max}: lower the factor or budget share, or lengthen the long window")),
            );
        } else if pair.factor < 1.0 {
            self.push(
                Diagnostic::warning(
                    loc,
                    field,
                    format!(
                        "the {long}/{short} pair has factor {factor} < 1: it fires while the budget is spent slower than it accrues"
                    ),
                )
                .with_help("short periods need larger budget shares"),
            );
        }
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
