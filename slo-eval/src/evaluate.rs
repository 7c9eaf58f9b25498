//! Evaluating SLOs against a Prometheus query API: the same PromQL the
//! generated rules record ([`slo_core::promql`]), asked as instant queries,
//! then decided by [`slo_core::alert`].
//!
//! Each window costs two queries (bad and total event increases) for all
//! instances of a grouped SLO at once; the error ratio is their quotient,
//! the event count is the total. A `raw` SLI costs one query per window and
//! counts no events. The period's budget costs two more.
//!
//! An SLO whose queries fail is reported as failed as a whole: a decision on
//! half the windows could page or resolve wrongly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use slo_core::alert::{self, Decision, Hold, Measurement, PairDecision};
use slo_core::duration::Duration;
use slo_core::policy::Severity;
use slo_core::promql::{self, Counter};
use slo_core::spec::Slo;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::errors::QueryError;
use crate::prometheus::{Client, Sample};

/// An instance's labels (the SLO's `group_by` labels; empty when ungrouped).
pub type Instance = BTreeMap<String, String>;

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
enum Part {
    Bad(Duration),
    Total(Duration),
    Ratio(Duration),
    PeriodBad,
    PeriodTotal,
}

/// The queries for one SLO, for `windows` and optionally the period.
fn queries(slo: &Slo, with_period: bool) -> Vec<(Part, String)> {
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

fn group_key(slo: &Slo, sample: &Sample) -> Instance {
    // Keep only the group_by labels: hand-written queries may return more.
    slo.group_by()
        .iter()
        .filter_map(|l| sample.labels.get(l).map(|v| (l.clone(), v.clone())))
        .collect()
}

/// Evaluates `slo` at `at` (Unix seconds; `None`: now), with at most
/// `limiter`'s permits of queries in flight. `with_period` adds the budget
/// over the whole period (two queries over the full period: the costliest).
pub async fn evaluate(
    client: &Arc<Client>,
    slo: &Slo,
    at: Option<f64>,
    limiter: &Arc<Semaphore>,
    with_period: bool,
) -> Result<Vec<InstanceResult>, QueryError> {
    let mut set = JoinSet::new();
    for (part, q) in queries(slo, with_period) {
        let client = Arc::clone(client);
        let limiter = Arc::clone(limiter);
        set.spawn(async move {
            let _permit = limiter.acquire_owned().await;
            (part, client.query(&q, at).await)
        });
    }
    let mut answers: BTreeMap<Part, Vec<Sample>> = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        let (part, result) =
            joined.map_err(|e| QueryError::Decode(format!("query task failed: {e}")))?;
        answers.insert(part, result?);
    }
    Ok(assemble(slo, &answers))
}

fn assemble(slo: &Slo, answers: &BTreeMap<Part, Vec<Sample>>) -> Vec<InstanceResult> {
    let budget = slo.budget();
    let by_instance = |part: &Part| -> BTreeMap<Instance, f64> {
        answers
            .get(part)
            .map(|samples| {
                samples
                    .iter()
                    .map(|s| (group_key(slo, s), s.value))
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

/// One SLO's outcome in a one-shot evaluation.
#[derive(Debug)]
pub struct SloOutcome<'a> {
    /// The SLO.
    pub slo: &'a Slo,
    /// Its instances, or why it could not be evaluated.
    pub result: Result<Vec<InstanceResult>, QueryError>,
}

/// Evaluates every SLO of `slos` at `at`, `concurrency` queries at a time,
/// the period included.
pub async fn evaluate_all<'a>(
    client: &Arc<Client>,
    slos: &[&'a Slo],
    at: Option<f64>,
    concurrency: usize,
    with_period: bool,
) -> Vec<SloOutcome<'a>> {
    let limiter = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, slo) in slos.iter().enumerate() {
        let client = Arc::clone(client);
        let limiter = Arc::clone(&limiter);
        let slo = (*slo).clone();
        set.spawn(async move { (i, evaluate(&client, &slo, at, &limiter, with_period).await) });
    }
    let mut results: Vec<Option<Result<Vec<InstanceResult>, QueryError>>> =
        (0..slos.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined
            && let Some(slot) = results.get_mut(i)
        {
            *slot = Some(r);
        }
    }
    slos.iter()
        .zip(results)
        .map(|(slo, r)| SloOutcome {
            slo,
            result: r.unwrap_or_else(|| Err(QueryError::Decode("evaluation task died".into()))),
        })
        .collect()
}

/// The `--json` document of `slo-eval eval`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// RFC 3339 time of the evaluation.
    pub evaluated_at: String,
    /// Every evaluated SLO instance.
    pub slos: Vec<InstanceResult>,
    /// SLOs that could not be evaluated, with the reason.
    pub failed: Vec<Failure>,
}

/// An SLO that could not be evaluated.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// The service.
    pub service: String,
    /// The SLO.
    pub slo: String,
    /// Why.
    pub error: String,
}

/// `{k="v",...}` for an instance's labels, empty for none: how instances
/// are named in text output, logs and alert keys.
pub fn braces(labels: &Instance) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", l.join(","))
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

fn number(x: f64) -> String {
    slo_core::num::format(slo_core::num::round_sig(x, 4))
}

/// Why a pair is held, in words: which windows lack data, or how few
/// events its long window counted.
fn held_reason(p: &PairDecision, min_events: f64) -> String {
    let known = |m: Option<Measurement>| m.is_some_and(|m| m.error_ratio.is_finite());
    match p.held {
        Some(Hold::NoData) => {
            let missing: Vec<String> = [(p.pair.long, p.long), (p.pair.short, p.short)]
                .into_iter()
                .filter(|(_, m)| !known(*m))
                .map(|(w, _)| w.to_string())
                .collect();
            format!("no data in {}", missing.join(" and "))
        }
        Some(Hold::TooFewEvents) => format!(
            "too few events: {} in {}, min_events {}",
            p.long
                .and_then(|m| m.events)
                .map_or_else(|| "unknown".to_owned(), |e| number(e.round())),
            p.pair.long,
            number(min_events)
        ),
        None => String::new(),
    }
}

/// Human-readable lines for one instance: its status first (never "ok"
/// when something is unknown), then every window of the policy, shortest
/// first, those without data said so.
pub fn text(r: &InstanceResult) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let firing: Vec<String> = r
        .alerts
        .iter()
        .filter(|t| t.firing)
        .map(|t| t.severity.to_string().to_uppercase())
        .collect();
    let held: Vec<String> = r
        .alerts
        .iter()
        .flat_map(|t| {
            t.pairs
                .iter()
                .filter(|p| p.decision.held.is_some())
                .map(|p| {
                    format!(
                        "{} {}/{}: {}",
                        t.severity,
                        p.long,
                        p.short,
                        held_reason(&p.decision, r.min_events)
                    )
                })
        })
        .collect();
    let status = match r.status {
        Status::Firing => format!("FIRING {}", firing.join(" + ")),
        Status::NoData => {
            "NO DATA in any window (no series matched, or no traffic): not evaluated".to_owned()
        }
        Status::Held => "HELD (some pairs cannot decide)".to_owned(),
        Status::Ok => "ok".to_owned(),
    };
    let budget = match r.budget_remaining {
        Some(b) => format!(", {}% of the budget left", number(b * 100.0)),
        None if r.status == Status::NoData => String::new(),
        None => ", budget left unknown (no data over the period)".to_owned(),
    };
    let _ = writeln!(
        out,
        "{}/{}{}: {status}{budget}",
        r.service,
        r.slo,
        braces(&r.labels),
    );
    if !held.is_empty() {
        let _ = writeln!(out, "  held: {}", held.join("; "));
    }
    let mut windows: Vec<Duration> = r
        .alerts
        .iter()
        .flat_map(|t| &t.pairs)
        .flat_map(|p| [p.long, p.short])
        .collect();
    windows.sort();
    windows.dedup();
    for w in windows {
        let name = w.to_string();
        match r.windows.iter().find(|(n, _)| *n == name).map(|(_, v)| v) {
            Some(v) if v.error_ratio.is_finite() => {
                let _ = writeln!(
                    out,
                    "  {name:>4}  error ratio {:<12}  burn rate {:<10}  events {}",
                    number(v.error_ratio),
                    number(v.burn_rate),
                    v.events
                        .map(|e| slo_core::num::format(e.round()))
                        .unwrap_or_else(|| "-".to_owned()),
                );
            }
            Some(v) => {
                let _ = writeln!(
                    out,
                    "  {name:>4}  no data (no traffic: {} events)",
                    v.events
                        .map(|e| slo_core::num::format(e.round()))
                        .unwrap_or_else(|| "-".to_owned())
                );
            }
            None => {
                let _ = writeln!(out, "  {name:>4}  no data (no series)");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(value: f64) -> Sample {
        Sample {
            labels: BTreeMap::new(),
            timestamp: 0.0,
            value,
        }
    }

    /// The text of one instance: no data and held pairs are said, never
    /// `ok`; windows shortest first.
    #[test]
    fn text_says_no_data_and_held_pairs_plainly() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: 'x{code=\"5\"}', total: x}\n    alerting:\n      min_events: 1000\n";
        let spec = slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slo = &spec.slos[0];
        // Nothing at all: one instance, NO DATA.
        let none = assemble(slo, &BTreeMap::new());
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].status, Status::NoData);
        let t = text(&none[0]);
        assert!(t.starts_with("web/a: NO DATA in any window"), "{t}");
        let order: Vec<&str> = t
            .lines()
            .skip(2)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(order, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"], "{t}");
        // Every window at 50% errors over 100 events, but the 5m window
        // without traffic (0 / 0): the 1h/5m pair has no data, the others
        // would fire but for min_events.
        let mut answers = BTreeMap::new();
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
        let t = text(&held[0]);
        assert!(t.starts_with("web/a: HELD"), "{t}");
        assert!(t.contains("page 1h/5m: no data in 5m"), "{t}");
        assert!(
            t.contains("page 6h/30m: too few events: 100 in 6h, min_events 1000"),
            "{t}"
        );
        assert!(t.contains("    5m  no data (no traffic: 0 events)"), "{t}");
        assert_eq!(held[0].no_data, ["5m"]);
    }

    /// A slices SLI is evaluated without recorded rules: bad and total
    /// slices of each window are subqueries over the slice indicator, the
    /// same numbers the generated rules record (checked against promtool in
    /// `tests/promtool_slices.rs`).
    #[test]
    fn slices_are_evaluated_with_subqueries() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: floor\n    objective: 99\n    sli:\n      slices: {query: 'sum(rate(x[1m])) * 60', op: '>=', threshold: 1000, slice: 1m}\n    alerting:\n      windows: [{severity: page, long: 1h, short: 5m, factor: 14.4}]\n";
        let spec = slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
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
