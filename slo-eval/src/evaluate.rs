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
use slo_core::alert::{self, Decision, Measurement, PairDecision};
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
#[derive(Clone, Debug, Serialize)]
pub struct PairResult {
    /// The long window.
    pub long: Duration,
    /// The short window.
    pub short: Duration,
    /// The factor.
    pub factor: f64,
    /// The decision.
    #[serde(flatten)]
    pub decision: PairDecision,
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
    /// Every window of the policy, by name (`5m`, `1h`...).
    pub windows: BTreeMap<String, WindowValue>,
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
    // An ungrouped SLO is one instance, data or not: it is reported (as no
    // data) rather than vanishing.
    if slo.group_by().is_empty() {
        instances.insert(Instance::new());
    }
    let period_bad = by_instance(&Part::PeriodBad);
    let period_total = by_instance(&Part::PeriodTotal);
    instances
        .into_iter()
        .map(|inst| {
            let measure = |w: Duration| per_window.get(&w).and_then(|m| m.get(&inst)).copied();
            let decision = alert::decide(&slo.policy, &budget, slo.alerting.min_events, measure);
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
            InstanceResult {
                service: slo.service.clone(),
                slo: slo.name.clone(),
                labels: inst,
                objective: slo.objective.ratio(),
                windows: windows_out,
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

/// Human-readable lines for one instance.
pub fn text(r: &InstanceResult) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let firing: Vec<String> = r
        .alerts
        .iter()
        .filter(|t| t.firing)
        .map(|t| t.severity.to_string().to_uppercase())
        .collect();
    let _ = writeln!(
        out,
        "{}/{}{}: {}{}",
        r.service,
        r.slo,
        braces(&r.labels),
        if firing.is_empty() {
            "ok".to_owned()
        } else {
            format!("FIRING {}", firing.join(" + "))
        },
        r.budget_remaining
            .map(|b| format!(
                ", {}% of the budget left",
                slo_core::num::format(slo_core::num::round_sig(b * 100.0, 4))
            ))
            .unwrap_or_default(),
    );
    for (w, v) in &r.windows {
        let _ = writeln!(
            out,
            "  {w:>4}  error ratio {:<12}  burn rate {:<10}  events {}",
            slo_core::num::format(slo_core::num::round_sig(v.error_ratio, 4)),
            slo_core::num::format(slo_core::num::round_sig(v.burn_rate, 4)),
            v.events
                .map(|e| slo_core::num::format(e.round()))
                .unwrap_or_else(|| "-".to_owned()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
