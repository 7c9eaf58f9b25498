//! One evaluation of an SLO, from query answers to decisions: which
//! queries to ask ([`queries`]: the same PromQL the generated rules record,
//! [`crate::promql`]), and what their answers say ([`assemble`]): per
//! instance, each window's measurement and burn rate, each pair's and
//! tier's decision ([`crate::alert`]), the budget left, and a [`Status`]
//! that never reads as healthy when something is unknown.
//!
//! Each window costs two queries (bad and total event increases) for all
//! instances of a grouped SLO at once; the error ratio is their quotient,
//! the event count is the total. A `raw` SLI costs one query per window and
//! counts no events. The period's budget costs two more. The caller runs
//! the queries (the evaluator and the daemon in `slo-eval`); everything
//! else is here, without I/O.
//!
//! ```
//! use std::collections::BTreeMap;
//! use slo_core::evaluation::{self, Part, Status};
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: web
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio: {errors: 'http_requests_total{code=~"5.."}', total: http_requests_total}
//! "#).map_err(|d| d[0].to_string())?;
//! let slo = &spec.slos[0];
//! // What Prometheus answered: 2% errors over 10,000 requests in every window.
//! let mut answers = BTreeMap::new();
//! for (part, _query) in evaluation::queries(slo, false) {
//!     let value = match part {
//!         Part::Bad(_) => 200.0,
//!         _ => 10_000.0,
//!     };
//!     answers.insert(part, vec![(BTreeMap::new(), value)]);
//! }
//! let instances = evaluation::assemble(slo, &answers);
//! assert_eq!(instances[0].status, Status::Firing);
//! assert_eq!(instances[0].windows[0].0, "5m");
//! # Ok::<(), String>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::alert::{self, Decision, Hold, Measurement, PairDecision};
use crate::duration::Duration;
use crate::instance::{self, Instance};
use crate::policy::Severity;
use crate::promql::{self, Counter};
use crate::spec::{Labels, Slo};

mod recorded;
pub use recorded::{answers_at, evaluate_all_at, evaluate_at};

/// What one window measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WindowValue {
    /// Bad over all events (NaN without traffic).
    pub error_ratio: f64,
    /// All events in the window (absent for raw SLIs).
    pub events: Option<f64>,
    /// The error ratio over the budget fraction.
    pub burn_rate: f64,
}

/// One tier's decision.
#[derive(Clone, Debug, Serialize)]
pub struct TierResult {
    /// page or ticket.
    pub severity: Severity,
    /// True when any pair fires.
    pub firing: bool,
    /// Each pair's decision.
    pub pairs: Vec<PairResult>,
}

/// One pair's decision, with its windows named.
#[derive(Clone, Debug)]
pub struct PairResult {
    /// The long window.
    pub long: Duration,
    /// The short window.
    pub short: Duration,
    /// The factor.
    pub factor: f64,
    /// The decision.
    pub decision: PairDecision,
}

impl Serialize for PairResult {
    /// `long`/`short` name the windows; what they measured is under
    /// `long_window`/`short_window` (flattening the decision wrote `long`
    /// twice, and JSON parsers keep only one of duplicate keys).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out {
            long: Duration,
            short: Duration,
            factor: f64,
            threshold: f64,
            long_window: Option<Measurement>,
            short_window: Option<Measurement>,
            firing: bool,
            held: Option<Hold>,
        }
        let d = &self.decision;
        Out {
            long: self.long,
            short: self.short,
            factor: self.factor,
            threshold: d.threshold,
            long_window: d.long,
            short_window: d.short,
            firing: d.firing,
            held: d.held,
        }
        .serialize(s)
    }
}

/// An instance's state at a glance, worst first: what a reader or a CI
/// gate must not mistake for health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Some tier fires.
    Firing,
    /// No window has data (no series matched, or no traffic anywhere): the
    /// SLO is not measured at all.
    NoData,
    /// Some pair could not decide (a window without data, or fewer events
    /// than `min_events`): nothing fires, but not all is known.
    Held,
    /// Every pair decided, none fires.
    Ok,
}

/// One SLO instance, evaluated.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceResult {
    /// The service.
    pub service: String,
    /// The SLO.
    pub slo: String,
    /// The instance's labels.
    pub labels: Instance,
    /// The objective as a ratio.
    pub objective: f64,
    /// Firing, no data, held or ok.
    pub status: Status,
    /// Windows that measured something, by name (`5m`, `1h`...), shortest
    /// first. A window without traffic has a null (NaN) ratio.
    #[serde(serialize_with = "ordered_map")]
    pub windows: Vec<(String, WindowValue)>,
    /// The policy's windows without data (no series, or a NaN ratio),
    /// shortest first.
    pub no_data: Vec<String>,
    /// The low-traffic guard: a pair fires only with this many events in
    /// its long window.
    pub min_events: f64,
    /// Share of the period's budget left (negative when overspent; absent
    /// when not evaluated or without data).
    pub budget_remaining: Option<f64>,
    /// Error ratio over the whole period.
    pub period_error_ratio: Option<f64>,
    /// Tier decisions, pages first.
    pub alerts: Vec<TierResult>,
    /// The full decision, for the alert state machine.
    #[serde(skip)]
    pub decision: Decision,
}

/// A query of the evaluation: what it is for, and its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Bad events over a window.
    Bad(Duration),
    /// All events over a window.
    Total(Duration),
    /// The error ratio over a window (raw SLIs).
    Ratio(Duration),
    /// Bad events over the SLO's period.
    PeriodBad,
    /// All events over the SLO's period.
    PeriodTotal,
}

/// The queries for one SLO: every window of its policy, and with
/// `with_period` the whole period (the costliest: two queries over it).
pub fn queries(slo: &Slo, with_period: bool) -> Vec<(Part, String)> {
    let mut out = Vec::new();
    let mut add = |part: Part, q: Option<String>| {
        if let Some(q) = q {
            out.push((part, q));
        }
    };
    for w in slo.policy.windows() {
        if slo.sli.counts_events() {
            add(
                Part::Bad(w),
                promql::bad_events(&slo.sli, w, Counter::Increase),
            );
            add(
                Part::Total(w),
                promql::total_events(&slo.sli, w, Counter::Increase),
            );
        } else {
            add(Part::Ratio(w), Some(promql::error_ratio(&slo.sli, w)));
        }
    }
    if with_period && slo.sli.counts_events() {
        add(
            Part::PeriodBad,
            promql::bad_events(&slo.sli, slo.period, Counter::Increase),
        );
        add(
            Part::PeriodTotal,
            promql::total_events(&slo.sli, slo.period, Counter::Increase),
        );
    }
    out
}

/// The number of queries one evaluation of `slo` issues.
pub fn query_count(slo: &Slo, with_period: bool) -> usize {
    queries(slo, with_period).len()
}

/// Query answers: per query, each returned series' labels and value.
pub type Answers = BTreeMap<Part, Vec<(Labels, f64)>>;

/// What the answers to [`queries`] say about each instance of `slo`. An
/// SLO with no data at all (a typo in a selector, grouped or not) is one
/// instance without data ([`Status::NoData`]) rather than none.
pub fn assemble(slo: &Slo, answers: &Answers) -> Vec<InstanceResult> {
    let budget = slo.budget();
    let by_instance = |part: &Part| -> BTreeMap<Instance, f64> {
        answers
            .get(part)
            .map(|samples| {
                samples
                    .iter()
                    .map(|(labels, value)| {
                        // Only the group_by labels: hand-written queries may return more.
                        let inst =
                            instance::of(slo.group_by(), |l| labels.get(l).map(String::as_str));
                        (inst, *value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let windows: Vec<Duration> = slo.policy.windows().into_iter().collect();
    // Instances are those with traffic (a total) in some window; for raw
    // SLIs, those with a ratio.
    let mut per_window: BTreeMap<Duration, BTreeMap<Instance, Measurement>> = BTreeMap::new();
    let mut instances: BTreeSet<Instance> = BTreeSet::new();
    // No bad series at all means zero bad only for an errors counter (no
    // error seen yet); for `total - good` it means no good series (a
    // threshold that is no bucket): no data, held.
    let bad_of = |bad: &BTreeMap<Instance, f64>, inst: &Instance| {
        bad.get(inst)
            .copied()
            .or_else(|| promql::missing_bad_is_zero(&slo.sli).then_some(0.0))
    };
    for w in &windows {
        let mut m = BTreeMap::new();
        if slo.sli.counts_events() {
            let bad = by_instance(&Part::Bad(*w));
            for (inst, total) in by_instance(&Part::Total(*w)) {
                instances.insert(inst.clone());
                let Some(b) = bad_of(&bad, &inst) else {
                    continue;
                };
                m.insert(
                    inst.clone(),
                    Measurement {
                        error_ratio: b / total,
                        events: Some(total),
                    },
                );
            }
        } else {
            for (inst, ratio) in by_instance(&Part::Ratio(*w)) {
                m.insert(
                    inst.clone(),
                    Measurement {
                        error_ratio: ratio,
                        events: None,
                    },
                );
                instances.insert(inst);
            }
        }
        per_window.insert(*w, m);
    }
    // An SLO with no data at all (a typo in a selector, grouped or not) is
    // reported as one instance without data rather than vanishing.
    if slo.group_by().is_empty() || instances.is_empty() {
        instances.insert(Instance::new());
    }
    let period_bad = by_instance(&Part::PeriodBad);
    let period_total = by_instance(&Part::PeriodTotal);
    instances
        .into_iter()
        .map(|inst| {
            let measure = |w: Duration| per_window.get(&w).and_then(|m| m.get(&inst)).copied();
            let decision = alert::decide(&slo.policy, &budget, slo.alerting.min_events, measure);
            let no_data = windows
                .iter()
                .filter(|w| !measure(**w).is_some_and(|m| m.error_ratio.is_finite()))
                .map(ToString::to_string)
                .collect::<Vec<_>>();
            let windows_out = windows
                .iter()
                .filter_map(|w| {
                    measure(*w).map(|m| {
                        (
                            w.to_string(),
                            WindowValue {
                                error_ratio: m.error_ratio,
                                events: m.events,
                                burn_rate: budget.burn_rate(m.error_ratio),
                            },
                        )
                    })
                })
                .collect();
            let period_error_ratio = period_total
                .get(&inst)
                .and_then(|t| Some(bad_of(&period_bad, &inst)? / t))
                .filter(|r| r.is_finite());
            let alerts = slo
                .policy
                .severities()
                .into_iter()
                .map(|severity| TierResult {
                    severity,
                    firing: decision.firing(severity),
                    pairs: decision
                        .tier(severity)
                        .map(|p| PairResult {
                            long: p.pair.long,
                            short: p.pair.short,
                            factor: p.pair.factor,
                            decision: *p,
                        })
                        .collect(),
                })
                .collect();
            let status = if decision.pairs.iter().any(|p| p.firing) {
                Status::Firing
            } else if !windows.is_empty() && no_data.len() == windows.len() {
                Status::NoData
            } else if decision.pairs.iter().any(|p| p.held.is_some()) {
                Status::Held
            } else {
                Status::Ok
            };
            InstanceResult {
                service: slo.service.clone(),
                slo: slo.name.clone(),
                labels: inst,
                objective: slo.objective.ratio(),
                status,
                windows: windows_out,
                no_data,
                min_events: slo.alerting.min_events,
                budget_remaining: period_error_ratio.map(|r| budget.remaining(r)),
                period_error_ratio,
                alerts,
                decision,
            }
        })
        .collect()
}

/// Serialises `(key, value)` pairs as a JSON object in their order.
fn ordered_map<S: serde::Serializer, V: Serialize>(
    pairs: &[(String, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap as _;
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(value: f64) -> (Labels, f64) {
        (Labels::new(), value)
    }

    /// Nothing at all is one instance without data; a window without
    /// traffic is no data for its pairs, and low traffic holds the rest.
    #[test]
    fn no_data_and_held_pairs_are_never_ok() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: 'x{code=\"5\"}', total: x}\n    alerting:\n      min_events: 1000\n";
        let spec = crate::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slo = &spec.slos[0];
        let none = assemble(slo, &Answers::new());
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].status, Status::NoData);
        assert_eq!(none[0].no_data.len(), slo.policy.windows().len());
        let mut answers = Answers::new();
        for w in slo.policy.windows() {
            let total = if w == Duration::from_mins(5) {
                0.0
            } else {
                100.0
            };
            answers.insert(Part::Total(w), vec![sample(total)]);
            answers.insert(Part::Bad(w), vec![sample(total / 2.0)]);
        }
        let held = assemble(slo, &answers);
        assert_eq!(held[0].status, Status::Held);
        assert_eq!(held[0].no_data, ["5m"]);
        let page = &held[0].alerts[0];
        assert_eq!(page.pairs[0].decision.held, Some(Hold::NoData));
        assert_eq!(page.pairs[1].decision.held, Some(Hold::TooFewEvents));
    }

    /// A slices SLI is evaluated without recorded rules: bad and total
    /// slices of each window are subqueries over the slice indicator, the
    /// same numbers the generated rules record (checked against promtool in
    /// `tests/promtool_slices.rs`).
    #[test]
    fn slices_are_evaluated_with_subqueries() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: floor\n    objective: 99\n    sli:\n      slices: {query: 'sum(rate(x[1m])) * 60', op: '>=', threshold: 1000, slice: 1m}\n    alerting:\n      windows: [{severity: page, long: 1h, short: 5m, factor: 14.4}]\n";
        let spec = crate::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let q = queries(&spec.slos[0], true);
        let range = |w: &str| format!("(((sum(rate(x[1m])) * 60) >= -Inf) >= bool 1000)[{w}:1m]");
        let text = |part: Part| {
            q.iter()
                .find(|(p, _)| *p == part)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        };
        let hour = Duration::from_hours(1);
        assert_eq!(
            text(Part::Total(hour)),
            format!("count_over_time({})", range("1h"))
        );
        assert_eq!(
            text(Part::Bad(hour)),
            format!("count_over_time({0}) - sum_over_time({0})", range("1h"))
        );
        assert_eq!(
            text(Part::PeriodTotal),
            format!("count_over_time({})", range("30d"))
        );
        // Two windows and the period, bad and total each.
        assert_eq!(q.len(), 6);
    }
}
