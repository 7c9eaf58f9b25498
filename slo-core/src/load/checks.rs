//! The checks every spec format shares, on top of the [walker](super::walk):
//! service and SLO names, the objective, labels and alert templates, alert
//! tiers, SLI queries and selectors, "exactly one of" two fields, and the
//! end of every reader, where window pairs are checked against the budget
//! and an [`Slo`] is assembled ([`Cx::finish`]).

use std::collections::BTreeMap;

use super::walk::{Blame, Cx, Fields, either, join, key_location, map_value};
use crate::budget::{ErrorBudget, Objective};
use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::names;
use crate::policy::{Policy, Severity, WindowSpec};
use crate::spec::{
    Alerting, DEFAULT_ALERT_NAME, EventsSli, Labels, RawSli, Sli, Slo, Tier, WINDOW_PLACEHOLDER,
};
use crate::yaml::{Kind, Node};

/// Which of two exclusive fields is set ([`Cx::exactly_one`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The first of the pair.
    First,
    /// The second of the pair.
    Second,
}

/// What to report when neither of two exclusive fields is set.
pub(crate) enum Neither<'s> {
    /// "missing field `NAME`: expected WHAT", at the mapping's key.
    Missing(&'s str, &'s str),
    /// "missing field `A` or `B`: expected WHAT", at the mapping's key, for
    /// the mapping as a whole.
    Either(&'s str),
}

/// What a format's reader found for one SLO, before its window pairs are
/// resolved: [`Cx::finish`] checks them and assembles the [`Slo`].
pub(crate) struct Draft<'s> {
    /// The service, `None` when it failed to read.
    pub(crate) service: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) objective: Option<Objective>,
    pub(crate) period: Duration,
    /// The file's labels merged with the SLO's.
    pub(crate) labels: Labels,
    pub(crate) sli: Option<Sli>,
    pub(crate) alerting: Alerting,
    /// The window pairs before the period resolves them, all tiers.
    pub(crate) windows: Vec<WindowSpec>,
    /// The field and place to blame for each of `windows`.
    pub(crate) blame: Vec<Blame>,
    /// The place and path blamed when no tier alerts.
    pub(crate) whole: (Location, &'s str),
    /// Where the SLI is, for a `group_by` label also set elsewhere; `None`
    /// for formats without `group_by`.
    pub(crate) group_by_at: Option<Blame>,
    /// Where a slices SLI's slice is written, checked against the windows.
    pub(crate) slice_at: Option<Blame>,
}

impl Cx {
    /// The end of every reader: resolves the draft's window pairs into the
    /// SLO's policy ([`Cx::policy`]), checks what needs the policy (the
    /// `group_by` labels, a slice against the windows) and assembles the
    /// SLO when every part of it was read.
    pub(crate) fn finish(&mut self, d: Draft<'_>) -> Option<Slo> {
        let policy = self.policy(
            &d.windows,
            d.blame,
            d.period,
            d.objective,
            &d.alerting,
            d.whole,
        );
        if let (Some(sli), Some(at)) = (&d.sli, &d.group_by_at) {
            self.check_group_labels(at, sli, &d.labels, &d.alerting);
        }
        if let (Some(Sli::Slices(s)), Some((path, loc))) = (&d.sli, &d.slice_at) {
            self.check_slice((*loc, path), s.slice, &policy, d.period);
        }
        Some(Slo {
            service: d.service?,
            name: d.name?,
            description: d.description,
            objective: d.objective?,
            period: d.period,
            labels: d.labels,
            sli: d.sli?,
            alerting: d.alerting,
            policy,
        })
    }

    /// Checks that exactly one of the two fields `pair` of `f` is set, and
    /// says which. Both set is an error at the key of the one `blame`
    /// picks; neither, at the mapping's key, as `neither` says.
    pub(crate) fn exactly_one<'a>(
        &mut self,
        f: &Fields<'a>,
        pair: [&str; 2],
        blame: Pick,
        neither: Neither<'_>,
    ) -> Option<(Pick, &'a Node)> {
        let [a, b] = pair;
        match (f.get(a), f.get(b)) {
            (Some(_), Some(_)) => {
                let at = match blame {
                    Pick::First => a,
                    Pick::Second => b,
                };
                self.error(
                    f.key_location(at),
                    &f.path(at),
                    format!("set exactly one of `{a}` and `{b}`, not both"),
                );
                None
            }
            (None, None) => {
                match neither {
                    Neither::Missing(name, what) => self.missing(f, name, what),
                    Neither::Either(what) => self.error(
                        f.node.key.unwrap_or(f.node.location),
                        &f.path,
                        format!("missing field `{a}` or `{b}`: expected {what}"),
                    ),
                }
                None
            }
            (Some(node), None) => Some((Pick::First, node)),
            (None, Some(node)) => Some((Pick::Second, node)),
        }
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

    /// The alert fields the formats share: `name`, `labels` and
    /// `annotations` (their templates checked), and the page and ticket
    /// tiers from the fields `tiers`, which know the fields `tier_fields`.
    /// No `min_events` guard and no absent alert; `None` when a tier failed
    /// to read.
    pub(crate) fn alert_fields(
        &mut self,
        f: &Fields<'_>,
        [page, ticket]: [&str; 2],
        tier_fields: &[&str],
    ) -> Option<Alerting> {
        let name = self.alert_name(f, "name");
        let labels = self.user_labels(f, "labels");
        let annotations = self.labels(f, "annotations", "annotation");
        self.templates(f, "labels", &labels);
        self.templates(f, "annotations", &annotations);
        let page = self.tier(f, page, Severity::Page, tier_fields);
        let ticket = self.tier(f, ticket, Severity::Ticket, tier_fields);
        Some(Alerting {
            name,
            labels,
            annotations,
            page: page?,
            ticket: ticket?,
            min_events: 0.0,
            absent_for: None,
        })
    }

    /// An optional alert name (`alertname`), [`DEFAULT_ALERT_NAME`] when absent.
    fn alert_name(&mut self, f: &Fields<'_>, name: &str) -> String {
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
    /// are the fields the format knows, among `disable`, `labels`,
    /// `annotations` and `for`.
    fn tier(
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

    /// A label set on every series or alert of the SLO cannot also be a
    /// `group_by` label: every group would get the same value, and their
    /// series (or alerts) would collide.
    fn check_group_labels(
        &mut self,
        (path, loc): &Blame,
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
                    *loc,
                    path,
                    format!(
                        "`{name}` is a group_by label and is also set in {place}: every group would get the same value and their series would collide"
                    ),
                );
            }
        }
    }
}
