//! Evaluating SLOs against a Prometheus query API: the queries of
//! [`slo_core::evaluation`], asked as instant queries, concurrently and
//! bounded; their answers assembled and decided by the core. Also the text
//! of one evaluated instance.
//!
//! An SLO whose queries fail is reported as failed as a whole: a decision on
//! half the windows could page or resolve wrongly.

use std::sync::Arc;

use serde::Serialize;
use slo_core::alert::{Hold, Measurement, PairDecision};
use slo_core::duration::Duration;
use slo_core::evaluation::{self, Answers, InstanceResult, Status};
use slo_core::spec::Slo;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::errors::QueryError;
use crate::prometheus::Client;

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
    for (part, q) in evaluation::queries(slo, with_period) {
        let client = Arc::clone(client);
        let limiter = Arc::clone(limiter);
        set.spawn(async move {
            let _permit = limiter.acquire_owned().await;
            (part, client.query(&q, at).await)
        });
    }
    let mut answers = Answers::new();
    while let Some(joined) = set.join_next().await {
        let (part, result) =
            joined.map_err(|e| QueryError::Decode(format!("query task failed: {e}")))?;
        let samples = result?.into_iter().map(|s| (s.labels, s.value)).collect();
        answers.insert(part, samples);
    }
    Ok(evaluation::assemble(slo, &answers))
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

fn number(x: f64) -> String {
    slo_core::num::format(slo_core::num::round_sig(x, 4))
}

/// Why a pair is held, in words: which windows lack data, or how few
/// events its long window counted.
pub(crate) fn held_reason(p: &PairDecision, min_events: f64) -> String {
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
        slo_core::instance::braces(&r.labels),
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
    use slo_core::evaluation::{Answers, Part, assemble};
    use slo_core::spec::Labels;

    fn sample(value: f64) -> (Labels, f64) {
        (Labels::new(), value)
    }

    /// The text of one instance: no data and held pairs are said, never
    /// `ok`; windows shortest first.
    #[test]
    fn text_says_no_data_and_held_pairs_plainly() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: 'x{code=\"5\"}', total: x}\n    alerting:\n      min_events: 1000\n";
        let spec = slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slo = &spec.slos[0];
        // Nothing at all: one instance, NO DATA.
        let none = assemble(slo, &Answers::new());
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
}
