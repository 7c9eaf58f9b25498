//! `slo-eval report`: compliance per calendar month (UTC) or rolling period
//! for every SLO instance ([`slo_core::compliance`]): events, bad events,
//! availability, objective met or missed, budget spent and how much of the
//! span had data; as a table, JSON or CSV. From a Prometheus (per SLO two
//! instant `increase()` queries over the span and one range query of the
//! hourly events for the coverage, batched) or from recorded history.
//!
//! Exit codes: 0 once the report is printed, whatever it says (a missed
//! month is history, not a failure of the command); with
//! `--fail-on-missed`, 4 when some instance missed its objective (a CI
//! gate, like `eval --fail-on-no-data`); 2 when some SLO could not be
//! reported (its queries failed), after printing the others.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use slo_core::batch;
use slo_core::compliance::{self, Month, Observed, Row, Span, Status};
use slo_core::dataset::Dataset;
use slo_core::duration::Duration;
use slo_core::spec::{Labels, Slo};
use slo_core::time::{self, Timestamp};

use crate::command;
use crate::connection::ConnectionArgs;
use crate::errors::{Error, QueryError};
use crate::evaluate::{self, Failure};
use crate::prometheus::{Client, RangeSeries, Sample};
use crate::report::Reporter;
use crate::specs;

/// The arguments of `slo-eval report`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["prometheus", "data"])))]
#[command(group(clap::ArgGroup::new("span").required(true).args(["month", "rolling"])))]
pub struct Args {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Base URL of the Prometheus (or Thanos/Mimir) query API.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Read the history from an OpenMetrics file instead ("now" at its end).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Report this calendar month (UTC), as YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// Report each SLO's rolling period (its `period`) ending at --at.
    #[arg(long)]
    pub rolling: bool,
    /// "Now" (RFC 3339 or Unix seconds): the rolling periods' end, or how
    /// far a month not over yet is counted. Default: now (with --data: the
    /// end of the data).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV with a header line.
    #[arg(long)]
    pub csv: bool,
    /// Queries per request (1: one query per request).
    #[arg(long, value_name = "N", default_value_t = evaluate::DEFAULT_BATCH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch_size: usize,
    /// Exit 4 after printing when some SLO instance missed its objective.
    #[arg(long)]
    pub fail_on_missed: bool,
    /// How to connect to --prometheus.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Which spans a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// One calendar month for every SLO.
    Month(Month),
    /// Each SLO's rolling period, ending "now".
    Rolling,
}

impl Which {
    /// The span of `slo` when it is `now`.
    pub fn span(self, slo: &Slo, now: Timestamp) -> Span {
        match self {
            Which::Month(m) => Span::month(m),
            Which::Rolling => Span::rolling(now, slo.period),
        }
    }
}

/// The `--json` document (also `GET /api/v1/reports`).
#[derive(Debug, Serialize)]
pub struct Document {
    /// `month` or `rolling`.
    pub report: &'static str,
    /// The month reported (`--month`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<Month>,
    /// "Now": the rolling periods' end, how far a running month counts.
    pub at: String,
    /// One row per SLO instance, in spec order.
    pub slos: Vec<Row>,
    /// SLOs that could not be reported, with why.
    pub failed: Vec<Failure>,
}

impl Document {
    fn new(which: Which, now: Timestamp) -> Self {
        Self {
            report: match which {
                Which::Month(_) => "month",
                Which::Rolling => "rolling",
            },
            month: match which {
                Which::Month(m) => Some(m),
                Which::Rolling => None,
            },
            at: time::format(now),
            slos: Vec::new(),
            failed: Vec::new(),
        }
    }
}

/// Reads `--month`: a clear usage error for anything but `YYYY-MM`.
pub fn month_flag(value: &str) -> Result<Month, Error> {
    value
        .parse()
        .map_err(|e| Error::Usage(format!("--month: {e}")))
}

/// Runs `slo-eval report`.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    let which = match &args.month {
        Some(m) => Which::Month(month_flag(m)?),
        None => Which::Rolling,
    };
    let at = args
        .at
        .as_deref()
        .map(|s| command::time_flag("at", s))
        .transpose()?;
    let endpoint = args
        .prometheus
        .as_deref()
        .map(|url| {
            args.connection
                .endpoint(url, std::time::Duration::from_secs(60))
        })
        .transpose()?;
    let specs = specs::load_all(&args.paths, reporter)?;
    let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    let doc = match (&args.data, endpoint) {
        (Some(path), _) => {
            let data = crate::backtest::read_data(path)?;
            let end = data.time_range().map_or(0, |(_, end)| end);
            from_data(&slos, &data, which, at.unwrap_or(end))
        }
        (None, Some(endpoint)) => {
            let client = Client::new(&endpoint)?;
            let now = at.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond());
            command::runtime()?.block_on(from_prometheus(
                &client,
                &slos,
                which,
                now,
                args.batch_size,
            ))
        }
        (None, None) => return Err(Error::Usage("give --prometheus URL or --data FILE".into())),
    };
    let out = if args.csv {
        csv(&doc)
    } else {
        command::render(args.json, &doc, text)?
    };
    command::print(&out)?;
    if let Some(first) = doc.failed.first() {
        return Err(Error::EvalFailed {
            failed: doc.failed.len(),
            first: format!("{}/{}: {}", first.service, first.slo, first.error),
        });
    }
    let missed: Vec<String> = doc
        .slos
        .iter()
        .filter(|r| r.compliance.status == Status::Missed)
        .map(name)
        .collect();
    match missed.first() {
        Some(first) if args.fail_on_missed => Err(Error::Missed {
            slos: missed.len(),
            first: first.clone(),
        }),
        _ => Ok(()),
    }
}

/// `service/slo{labels}`.
fn name(r: &Row) -> String {
    format!(
        "{}/{}{}",
        r.service,
        r.slo,
        slo_core::instance::braces(&r.labels)
    )
}

/// The report over recorded `data` when it is `now`. An SLO the data
/// cannot count (an `events` SLI) is failed with the reason; one whose
/// selectors match nothing is a row without data.
pub fn from_data(slos: &[&Slo], data: &Dataset, which: Which, now: Timestamp) -> Document {
    let mut doc = Document::new(which, now);
    for slo in slos {
        let span = which.span(slo, now);
        match compliance::observe(slo, data, span, now) {
            Ok(instances) => doc.slos.extend(
                instances
                    .into_iter()
                    .map(|(labels, o)| Row::new(slo, labels, span, now, o)),
            ),
            // A selector matching nothing is an SLO without data, shown as
            // such (as from Prometheus), not a failure of the report.
            Err(slo_core::errors::ReplayError::NoSeries { .. }) => {
                doc.slos
                    .push(Row::new(slo, Labels::new(), span, now, Observed::default()))
            }
            Err(e) => doc.failed.push(failure(slo, e.to_string())),
        }
    }
    doc
}

fn failure(slo: &Slo, error: String) -> Failure {
    Failure {
        service: slo.service.clone(),
        slo: slo.name.clone(),
        error,
    }
}

/// A range query's grid: first point, last point, step (ms).
type Grid = (Timestamp, Timestamp, i64);

/// What Prometheus answered for one SLO.
#[derive(Debug, Default)]
struct Answers {
    bad: Vec<Sample>,
    total: Vec<Sample>,
    coverage: Vec<RangeSeries>,
    error: Option<QueryError>,
}

/// The report from Prometheus when it is `now`: every SLO's bad and total
/// events as instant queries (batched, `batch_size` per request) and its
/// hourly events as range queries (batched likewise, per span).
pub async fn from_prometheus(
    client: &Client,
    slos: &[&Slo],
    which: Which,
    now: Timestamp,
    batch_size: usize,
) -> Document {
    let plans: Vec<(Span, Option<compliance::Queries>)> = slos
        .iter()
        .map(|slo| {
            let span = which.span(slo, now);
            (span, compliance::queries(slo, span, now))
        })
        .collect();
    let mut answers: Vec<Answers> = slos.iter().map(|_| Answers::default()).collect();
    // Instant queries share their time, range queries their grid: one
    // group each (one in all for a month).
    let mut instants: BTreeMap<Timestamp, Vec<(usize, bool, &str)>> = BTreeMap::new();
    let mut ranges: BTreeMap<Grid, Vec<(usize, &str)>> = BTreeMap::new();
    for (i, (_, q)) in plans.iter().enumerate() {
        let Some(q) = q else { continue };
        let group = instants.entry(q.at).or_default();
        group.push((i, true, q.bad.as_str()));
        group.push((i, false, q.total.as_str()));
        ranges
            .entry((q.first, q.at, q.step))
            .or_default()
            .push((i, q.coverage.as_str()));
    }
    let secs = |ms: Timestamp| ms as f64 / 1000.0;
    // Once Prometheus is unreachable or silent, the other batches fail the
    // same way without waiting a timeout each: a report page answers in
    // one timeout while the TSDB is down.
    let mut down: Option<QueryError> = None;
    for (at, jobs) in &instants {
        let texts: Vec<&str> = jobs.iter().map(|j| j.2).collect();
        for range in batch::pack(&texts, batch_size, evaluate::Batching::default().bytes) {
            let queries: Vec<String> = texts[range.clone()].iter().map(|s| s.to_string()).collect();
            let at = Some(secs(*at));
            let results = match &down {
                Some(e) => queries.iter().map(|_| Err(e.clone())).collect(),
                None => {
                    evaluate::ask(&queries, |q| async move { client.query(&q, at).await })
                        .await
                        .0
                }
            };
            down = down.or_else(|| unreachable(&results));
            for ((i, bad, _), result) in jobs[range].iter().zip(results) {
                let a = &mut answers[*i];
                match result {
                    Ok(samples) if *bad => a.bad = samples,
                    Ok(samples) => a.total = samples,
                    Err(e) => {
                        a.error.get_or_insert(e);
                    }
                }
            }
        }
    }
    for ((first, at, step), jobs) in &ranges {
        let texts: Vec<&str> = jobs.iter().map(|j| j.1).collect();
        for range in batch::pack(&texts, batch_size, evaluate::Batching::default().bytes) {
            let results = match &down {
                Some(e) => texts[range.clone()]
                    .iter()
                    .map(|_| Err(e.clone()))
                    .collect(),
                None => {
                    ask_range(
                        client,
                        &texts[range.clone()],
                        secs(*first),
                        secs(*at),
                        secs(*step),
                    )
                    .await
                }
            };
            down = down.or_else(|| unreachable(&results));
            for ((i, _), result) in jobs[range].iter().zip(results) {
                match result {
                    Ok(series) => answers[*i].coverage = series,
                    Err(e) => {
                        answers[*i].error.get_or_insert(e);
                    }
                }
            }
        }
    }
    let mut doc = Document::new(which, now);
    for ((slo, (span, _)), a) in slos.iter().zip(plans).zip(answers) {
        if let Some(e) = a.error {
            doc.failed.push(failure(slo, e.to_string()));
            continue;
        }
        doc.slos.extend(
            assemble(slo, span, now, a)
                .into_iter()
                .map(|(labels, o)| Row::new(slo, labels, span, now, o)),
        );
    }
    doc
}

/// The first failure in `results` saying Prometheus cannot be reached or
/// did not answer in time.
fn unreachable<T>(results: &[Result<T, QueryError>]) -> Option<QueryError> {
    results.iter().find_map(|r| match r {
        Err(e @ (QueryError::Unreachable(_) | QueryError::Timeout)) => Some(e.clone()),
        _ => None,
    })
}

/// Range queries joined in one request ([`batch::combine`]); when that
/// fails for what was asked (400, 422), each on its own.
async fn ask_range(
    client: &Client,
    queries: &[&str],
    start: f64,
    end: f64,
    step: f64,
) -> Vec<Result<Vec<RangeSeries>, QueryError>> {
    match client
        .query_range(&batch::combine(queries), start, end, step)
        .await
    {
        Ok(series) if queries.len() == 1 => vec![Ok(series)],
        Ok(series) => {
            let mut per: Vec<Vec<RangeSeries>> = queries.iter().map(|_| Vec::new()).collect();
            for mut s in series {
                if let Some(list) = batch::untag(&mut s.labels).and_then(|k| per.get_mut(k)) {
                    list.push(s);
                }
            }
            per.into_iter().map(Ok).collect()
        }
        Err(QueryError::Status {
            status: 400 | 422, ..
        }) if queries.len() > 1 => {
            let mut out = Vec::new();
            for q in queries {
                out.push(client.query_range(q, start, end, step).await);
            }
            out
        }
        Err(e) => queries.iter().map(|_| Err(e.clone())).collect(),
    }
}

/// Each instance's observation from Prometheus's answers: the instances
/// any query returned, or one without labels and without data when none
/// did (an SLO whose selectors match nothing is shown, as no data).
fn assemble(slo: &Slo, span: Span, now: Timestamp, a: Answers) -> Vec<(Labels, Observed)> {
    let key = |labels: &BTreeMap<String, String>| {
        slo_core::instance::of(slo.group_by(), |l| labels.get(l).map(String::as_str))
    };
    let add = |slot: &mut Option<f64>, v: f64| {
        if v.is_finite() {
            *slot = Some(slot.unwrap_or(0.0) + v);
        }
    };
    let mut out: BTreeMap<Labels, Observed> = BTreeMap::new();
    let mut times: BTreeMap<Labels, Vec<Timestamp>> = BTreeMap::new();
    for s in &a.total {
        add(&mut out.entry(key(&s.labels)).or_default().total, s.value);
    }
    for s in &a.bad {
        add(&mut out.entry(key(&s.labels)).or_default().bad, s.value);
    }
    for s in &a.coverage {
        let list = times.entry(key(&s.labels)).or_default();
        list.extend(
            s.points
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(t, _)| (t * 1000.0).round() as Timestamp),
        );
    }
    for (labels, list) in times {
        out.entry(labels).or_default().slots_with_data = span.count_slots(now, list);
    }
    if out.is_empty() {
        out.insert(Labels::new(), Observed::default());
    }
    out.into_iter().collect()
}

/// Events as counted: whole numbers from 100 on, else three digits.
fn count(x: Option<f64>) -> String {
    match x {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => slo_core::num::format(slo_core::num::round_sig(x, 3)),
        None => "-".to_owned(),
    }
}

fn pct(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{:.decimals$}%", x * 100.0))
}

/// The verdict in words, with what makes it provisional.
pub fn verdict(r: &Row) -> String {
    let c = &r.compliance;
    let word = match c.status {
        Status::Missed => "MISSED".to_owned(),
        s => s.as_str().to_owned(),
    };
    let countable = matches!(c.status, Status::Met | Status::Missed | Status::NoEvents);
    if countable && c.in_progress {
        format!("{word} so far (not over)")
    } else if countable && !c.complete {
        format!("{word} (partial data)")
    } else {
        word
    }
}

/// The report as a table, one line per instance, then the reasons of the
/// rows without a verdict and the SLOs that failed.
pub fn text(doc: &Document) -> String {
    let mut s = match doc.month {
        Some(m) => format!(
            "compliance for {m} (UTC), {} to {}, as of {}\n",
            time::format(Span::month(m).start),
            time::format(Span::month(m).end),
            doc.at
        ),
        None => format!(
            "compliance over each SLO's rolling period ending {}\n",
            doc.at
        ),
    };
    let header = [
        "SLO",
        "OBJECTIVE",
        "EVENTS",
        "BAD",
        "AVAILABILITY",
        "BUDGET SPENT",
        "COVERAGE",
        "STATUS",
    ];
    let mut rows: Vec<[String; 8]> = vec![header.map(str::to_owned)];
    for r in &doc.slos {
        let c = &r.compliance;
        let objective = match doc.month {
            Some(_) => format!("{}%", slo_core::num::format(r.objective)),
            None => format!(
                "{}% / {}",
                slo_core::num::format(r.objective),
                Duration::from_millis((r.end - r.start).max(0) as u64)
            ),
        };
        rows.push([
            name(r),
            objective,
            count(c.events),
            count(c.bad_events),
            pct(c.availability, 3),
            pct(c.budget_spent, 1),
            pct(Some(c.coverage), 1),
            verdict(r),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|k| rows.iter().map(|r| r[k].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (k, cell) in row.iter().enumerate() {
            let pad = widths[k] - cell.chars().count();
            // Names and words left, numbers right.
            if k == 0 || k == 7 {
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    for r in &doc.slos {
        if let Some(reason) = &r.compliance.reason {
            let _ = writeln!(s, "{}: {}: {reason}", name(r), r.compliance.status.as_str());
        }
    }
    for f in &doc.failed {
        let _ = writeln!(s, "{}/{}: FAILED: {}", f.service, f.slo, f.error);
    }
    s
}

/// The CSV columns, in order.
pub const CSV_HEADER: &str = "service,slo,labels,objective,start,end,until,status,complete,in_progress,coverage,events,bad_events,availability,budget_spent,reason";

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The rows as CSV with a header line (RFC 4180: CRLF-free, quoted where
/// needed); numbers in full precision, empty where there is none, the
/// status as in JSON.
pub fn csv(doc: &Document) -> String {
    let mut s = format!("{CSV_HEADER}\n");
    let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    for r in &doc.slos {
        let c = &r.compliance;
        let status = serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let cells = [
            r.service.clone(),
            r.slo.clone(),
            slo_core::instance::to_text(&r.labels),
            r.objective.to_string(),
            time::format(r.start),
            time::format(r.end),
            time::format(r.until),
            status,
            c.complete.to_string(),
            c.in_progress.to_string(),
            c.coverage.to_string(),
            num(c.events),
            num(c.bad_events),
            num(c.availability),
            num(c.budget_spent),
            c.reason.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_month_flag_is_a_usage_error_saying_the_form() {
        let Err(Error::Usage(m)) = month_flag("2026-13") else {
            panic!("2026-13 was read as a month");
        };
        assert_eq!(m, "--month: `2026-13`: the month must be 01 to 12");
        let Err(Error::Usage(m)) = month_flag("Nov 2026") else {
            panic!("a month in words was read");
        };
        assert_eq!(
            m,
            "--month: `Nov 2026` is not a month: expected YYYY-MM, e.g. 2026-11"
        );
    }

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
