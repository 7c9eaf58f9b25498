//! Evaluating SLOs against a Prometheus query API: the queries of
//! [`slo_core::evaluation`], asked as instant queries in bounded batches
//! ([`slo_core::batch`]: many queries per request), a bounded number of
//! requests in flight; their answers assembled and decided by the core.
//! Also the text of one evaluated instance.
//!
//! An SLO whose queries fail is reported as failed as a whole: a decision on
//! half the windows could page or resolve wrongly.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use slo_core::alert::{Hold, Measurement, PairDecision};
use slo_core::batch;
use slo_core::duration::Duration;
use slo_core::evaluation::{self, Answers, InstanceResult, Part, Status};
use slo_core::shared;
use slo_core::spec::{Labels, Slo};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::errors::QueryError;
use crate::prometheus::{Client, RangeSeries, Sample};

/// How queries are grouped into requests ([`slo_core::batch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// Most queries per request (1: one query per request).
    pub queries: usize,
    /// Most bytes of combined PromQL per request.
    pub bytes: usize,
    /// SLOs of one shape share their queries ([`slo_core::shared`]).
    pub share: bool,
    /// Requests to spread queries over, when there are enough of them:
    /// the requests in flight. A TSDB evaluates one request on one core,
    /// so a few shared queries in one request would leave the others idle.
    pub spread: usize,
}

/// Queries per request by default: 1,000 SLOs (16,000 queries) in about
/// 40 requests (the daemon re-reads the period every 5 minutes: 14,000).
pub const DEFAULT_BATCH: usize = 400;

impl Batching {
    /// This batching, its queries spread over `concurrency` requests.
    pub(crate) fn spread_over(self, concurrency: usize) -> Batching {
        Batching {
            spread: concurrency.max(1),
            ..self
        }
    }

    /// How far queries are shared ([`slo_core::shared`]).
    pub(crate) fn limits(self) -> shared::Limits {
        if self.share {
            shared::Limits::default()
        } else {
            shared::Limits::NONE
        }
    }
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            queries: DEFAULT_BATCH,
            bytes: 256 * 1024,
            share: true,
            spread: 1,
        }
    }
}

/// Evaluates `slo` at `at` (Unix seconds; `None`: now), with at most
/// `limiter`'s permits of requests in flight. `with_period` adds the budget
/// over the whole period (two queries over the full period: the costliest).
pub async fn evaluate(
    client: &Arc<Client>,
    slo: &Slo,
    at: Option<f64>,
    limiter: &Arc<Semaphore>,
    with_period: bool,
) -> Result<Vec<InstanceResult>, QueryError> {
    let mut round = ask_all(
        client,
        &[slo],
        at,
        limiter,
        with_period,
        Batching::default(),
    )
    .await;
    round.outcomes.pop().unwrap_or_else(|| Ok(Vec::new()))
}

/// One SLO's outcome in a one-shot evaluation.
#[derive(Debug)]
pub struct SloOutcome<'a> {
    /// The SLO.
    pub slo: &'a Slo,
    /// Its instances, or why it could not be evaluated.
    pub result: Result<Vec<InstanceResult>, QueryError>,
}

/// Every SLO's outcome, and what asking cost.
#[derive(Debug)]
pub struct Evaluated<'a> {
    /// One outcome per SLO, in order.
    pub outcomes: Vec<SloOutcome<'a>>,
    /// Queries asked.
    pub queries: usize,
    /// HTTP requests sent.
    pub requests: usize,
}

/// Evaluates every SLO of `slos` at `at`, `concurrency` requests at a time,
/// queries batched by default.
pub async fn evaluate_all<'a>(
    client: &Arc<Client>,
    slos: &[&'a Slo],
    at: Option<f64>,
    concurrency: usize,
    with_period: bool,
) -> Vec<SloOutcome<'a>> {
    evaluate_batched(
        client,
        slos,
        at,
        concurrency,
        with_period,
        Batching::default(),
    )
    .await
    .outcomes
}

/// [`evaluate_all`] with the batching given, and its cost.
pub async fn evaluate_batched<'a>(
    client: &Arc<Client>,
    slos: &[&'a Slo],
    at: Option<f64>,
    concurrency: usize,
    with_period: bool,
    batching: Batching,
) -> Evaluated<'a> {
    let limiter = Arc::new(Semaphore::new(concurrency.max(1)));
    let batching = batching.spread_over(concurrency);
    let round = ask_all(client, slos, at, &limiter, with_period, batching).await;
    Evaluated {
        outcomes: slos
            .iter()
            .zip(round.outcomes)
            .map(|(slo, result)| SloOutcome { slo, result })
            .collect(),
        queries: round.queries,
        requests: round.requests,
    }
}

/// The outcomes of [`ask_all`], one per SLO, and its cost.
struct Round {
    outcomes: Vec<Result<Vec<InstanceResult>, QueryError>>,
    queries: usize,
    requests: usize,
}

/// Asks every query of `slos` in bounded batches, `limiter` requests at a
/// time, and assembles each SLO from its answers. An SLO any of whose
/// queries failed fails as a whole; the others are unaffected.
async fn ask_all(
    client: &Arc<Client>,
    slos: &[&Slo],
    at: Option<f64>,
    limiter: &Arc<Semaphore>,
    with_period: bool,
    batching: Batching,
) -> Round {
    let asked = ask_instant(client, slos, at, limiter, batching, |slo| {
        evaluation::queries(slo, with_period)
    })
    .await;
    let outcomes = slos
        .iter()
        .zip(asked.answers)
        .map(|(slo, answers)| answers.map(|a| evaluation::assemble(slo, &a)))
        .collect();
    Round {
        outcomes,
        queries: asked.queries,
        requests: asked.requests,
    }
}

/// Each SLO's answers (or its first failure), and what asking cost.
pub(crate) struct Asked {
    pub answers: Vec<Result<Answers, QueryError>>,
    pub queries: usize,
    pub requests: usize,
}

/// Asks the queries `queries_of` gives for each SLO of `slos` as instant
/// queries at `at` ([`ask_plan`]), and gathers each SLO's answers.
pub(crate) async fn ask_instant(
    client: &Arc<Client>,
    slos: &[&Slo],
    at: Option<f64>,
    limiter: &Arc<Semaphore>,
    batching: Batching,
    queries_of: impl Fn(&Slo) -> Vec<(Part, String)>,
) -> Asked {
    let plan = shared::plan(slos, queries_of, batching.limits());
    let client = Arc::clone(client);
    let asked = ask_plan(&plan, limiter, batching, move |q| {
        let client = Arc::clone(&client);
        async move { client.query(&q, at).await }
    })
    .await;
    let mut answers: Vec<Answers> = slos.iter().map(|_| Answers::new()).collect();
    let mut failed: Vec<Option<QueryError>> = slos.iter().map(|_| None).collect();
    for (slo, part, result) in asked.reads {
        match result {
            Ok(series) => {
                answers[slo].insert(part, series);
            }
            Err(e) => {
                failed[slo].get_or_insert(e);
            }
        }
    }
    Asked {
        answers: answers
            .into_iter()
            .zip(failed)
            .map(|(a, f)| match f {
                Some(e) => Err(e),
                None => Ok(a),
            })
            .collect(),
        queries: asked.queries,
        requests: asked.requests,
    }
}

/// One query's series (labels and value), or why it has none.
pub(crate) type Series<V> = Result<Vec<(Labels, V)>, QueryError>;

/// What each reader of a plan read: its SLO, part and series (or why
/// not), and what asking cost.
pub(crate) struct Read<V> {
    pub reads: Vec<(usize, Part, Series<V>)>,
    pub queries: usize,
    pub requests: usize,
}

/// Asks the queries of `plan` ([`slo_core::shared`]) with `fetch` (instant
/// or range queries) in bounded batches, `limiter` requests at a time, and
/// splits each answer between its readers. A shared query refused for
/// what it asks (400, 422: e.g. too many samples) is asked again as each
/// reader's own query, so one SLO never fails another; any other failure
/// (unreachable, timeout, 5xx) fails its readers at once.
pub(crate) async fn ask_plan<S, F, Fut>(
    plan: &[shared::Shared],
    limiter: &Arc<Semaphore>,
    batching: Batching,
    fetch: F,
) -> Read<S::Value>
where
    S: Tagged + Send + 'static,
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<S>, QueryError>> + Send + 'static,
{
    let texts: Vec<&str> = plan.iter().map(|s| s.text.as_str()).collect();
    let work = plan.iter().map(|s| s.readers.len()).sum();
    let (results, mut requests) = ask_texts(limiter, batching, &texts, work, fetch.clone()).await;
    let mut reads = Vec::new();
    let mut alone: Vec<&shared::Reader> = Vec::new();
    for (query, result) in plan.iter().zip(results) {
        match result {
            Ok(answer) => {
                let series: Vec<(Labels, S::Value)> =
                    answer.into_iter().map(Tagged::into_pair).collect();
                if query.alone() {
                    let r = &query.readers[0];
                    reads.push((r.slo, r.part.clone(), Ok(series)));
                    continue;
                }
                for (r, own) in query.readers.iter().zip(query.split(series)) {
                    reads.push((r.slo, r.part.clone(), Ok(own)));
                }
            }
            Err(QueryError::Status {
                status: 400 | 422, ..
            }) if !query.alone() => alone.extend(&query.readers),
            Err(e) => {
                for r in &query.readers {
                    reads.push((r.slo, r.part.clone(), Err(e.clone())));
                }
            }
        }
    }
    let mut queries = plan.len();
    if !alone.is_empty() {
        tracing::warn!(
            queries = alone.len(),
            "a shared query was refused; asking each SLO's own"
        );
        let texts: Vec<&str> = alone.iter().map(|r| r.own.as_str()).collect();
        let (results, sent) = ask_texts(limiter, batching, &texts, texts.len(), fetch).await;
        requests += sent;
        queries += alone.len();
        for (r, result) in alone.iter().zip(results) {
            let result = result.map(|answer| answer.into_iter().map(Tagged::into_pair).collect());
            reads.push((r.slo, r.part.clone(), result));
        }
    }
    Read {
        reads,
        queries,
        requests,
    }
}

/// SLO queries (a shared query counts each reader) a request must carry
/// at least before queries are spread over more requests.
const SPREAD_MIN_WORK: usize = 100;

/// Asks `texts` with `fetch` in bounded batches ([`ask`]), `limiter`
/// requests at a time, spread over up to `batching.spread` requests when
/// they answer `work` SLO queries enough: each text's answer, in order,
/// and the requests sent.
async fn ask_texts<S, F, Fut>(
    limiter: &Arc<Semaphore>,
    batching: Batching,
    texts: &[&str],
    work: usize,
    fetch: F,
) -> (Vec<Result<Vec<S>, QueryError>>, usize)
where
    S: Tagged + Send + 'static,
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<S>, QueryError>> + Send + 'static,
{
    // Spread only work worth a request each: a small fleet's queries stay
    // in one.
    let spread = if work >= batching.spread * SPREAD_MIN_WORK {
        batching.spread.max(1)
    } else {
        1
    };
    let per_request = batching.queries.min(texts.len().div_ceil(spread)).max(1);
    let mut set = JoinSet::new();
    for range in batch::pack(texts, per_request, batching.bytes) {
        let queries: Vec<String> = texts[range.clone()]
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        let limiter = Arc::clone(limiter);
        let fetch = fetch.clone();
        set.spawn(async move {
            let _permit = limiter.acquire_owned().await;
            (range.start, ask(&queries, fetch).await)
        });
    }
    let mut out: Vec<Option<Result<Vec<S>, QueryError>>> = texts.iter().map(|_| None).collect();
    let mut requests = 0;
    while let Some(joined) = set.join_next().await {
        let Ok((first, (results, sent))) = joined else {
            continue;
        };
        requests += sent;
        for (k, result) in results.into_iter().enumerate() {
            if let Some(slot) = out.get_mut(first + k) {
                *slot = Some(result);
            }
        }
    }
    // A batch whose task died leaves its queries unanswered: they fail.
    let results = out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(QueryError::Decode("query task died".into()))))
        .collect();
    (results, requests)
}

/// A series of an answer, whose labels carry the batch's tag.
pub(crate) trait Tagged {
    /// What a series holds besides its labels.
    type Value: Clone + Send + 'static;
    /// Its labels.
    fn labels_mut(&mut self) -> &mut BTreeMap<String, String>;
    /// Its labels and value, apart.
    fn into_pair(self) -> (Labels, Self::Value);
}

impl Tagged for Sample {
    type Value = f64;

    fn labels_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.labels
    }

    fn into_pair(self) -> (Labels, f64) {
        (self.labels, self.value)
    }
}

impl Tagged for RangeSeries {
    type Value = Vec<(f64, f64)>;

    fn labels_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.labels
    }

    fn into_pair(self) -> (Labels, Vec<(f64, f64)>) {
        (self.labels, self.points)
    }
}

/// Asks `queries` in one request ([`batch::combine`], sent by `fetch`, an
/// instant or a range query); when that fails
/// because of what was asked (Prometheus answers 400 bad data or 422 an
/// execution error, e.g. too many samples), asks each half on its own, down
/// to single queries, so a broken or costly query fails alone. Any other
/// failure (unreachable, timeout, 5xx, garbage) fails them all at once:
/// splitting would only multiply requests to a server that is down.
/// Returns each query's result and the requests sent (at most
/// `2 x queries - 1`).
pub(crate) async fn ask<T: Tagged, F>(
    queries: &[String],
    fetch: impl Fn(String) -> F,
) -> (Vec<Result<Vec<T>, QueryError>>, usize)
where
    F: Future<Output = Result<Vec<T>, QueryError>>,
{
    let mut out: Vec<Option<Result<Vec<T>, QueryError>>> = queries.iter().map(|_| None).collect();
    // Ranges of `queries` still to ask, the whole batch first.
    let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
    pending.push(0..queries.len());
    let mut requests = 0;
    while let Some(range) = pending.pop() {
        if range.is_empty() {
            continue;
        }
        let texts: Vec<&str> = queries[range.clone()].iter().map(String::as_str).collect();
        requests += 1;
        match fetch(batch::combine(&texts)).await {
            Ok(samples) if range.len() == 1 => out[range.start] = Some(Ok(samples)),
            Ok(samples) => {
                let mut per: Vec<Vec<T>> = range.clone().map(|_| Vec::new()).collect();
                for mut s in samples {
                    if let Some(list) = batch::untag(s.labels_mut()).and_then(|k| per.get_mut(k)) {
                        list.push(s);
                    }
                }
                for (k, list) in per.into_iter().enumerate() {
                    out[range.start + k] = Some(Ok(list));
                }
            }
            Err(QueryError::Status {
                status: 400 | 422, ..
            }) if range.len() > 1 => {
                let mid = range.start + range.len() / 2;
                pending.push(mid..range.end);
                pending.push(range.start..mid);
            }
            Err(e) => {
                for slot in &mut out[range] {
                    *slot = Some(Err(e.clone()));
                }
            }
        }
    }
    let results = out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(QueryError::Decode("query not asked".into()))))
        .collect();
    (results, requests)
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

/// Why the pairs of an instance are held, one line each
/// (`page 1h/5m: no data in 5m`).
pub(crate) fn held_reasons(r: &InstanceResult) -> Vec<String> {
    r.alerts
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
        .collect()
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
    let held = held_reasons(r);
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
