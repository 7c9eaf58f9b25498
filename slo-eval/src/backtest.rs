//! `slo-eval backtest`: what would these alerts have done? Replays every
//! SLO's policy over history ([`slo_core::backtest`]) from an OpenMetrics file
//! or from a Prometheus, prints the alert timeline and the policy's quality
//! (precision, recall, detection and reset time), and can draw it as SVG.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use slo_core::backtest::{self, Incidents, Options, Report};
use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::duration::Duration;
use slo_core::num;
use slo_core::spec::{Counted, Sli, SlicesSli, Slo, Spec};
use slo_core::time::{self, Timestamp};

use crate::command;
use crate::connection::ConnectionArgs;
use crate::errors::Error;
use crate::prometheus::{Client, Endpoint};
use crate::report::Reporter;
use crate::specs;

/// The arguments of `slo-eval backtest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Read the history from an OpenMetrics file (as promtool backfills).
    #[arg(long, value_name = "FILE", conflicts_with = "prometheus")]
    pub data: Option<PathBuf>,
    /// Fetch the history from a Prometheus query API.
    #[arg(long, value_name = "URL", requires_all = ["start", "end"])]
    pub prometheus: Option<String>,
    /// First evaluation (RFC 3339 or Unix seconds); default: the data's start.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Last evaluation; default: the data's end.
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// Time between evaluations.
    #[arg(long, default_value = "1m")]
    pub step: Duration,
    /// Resolution of counters fetched from Prometheus.
    #[arg(long, default_value = "30s")]
    pub resolution: Duration,
    /// Incidents to score against (YAML); default: detected in the data.
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also draw burn rates, alerts and budget to this SVG file.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,
    /// Also write one self-contained HTML page (graphs, alert timelines,
    /// incidents and scores of every SLO; no network) to this file.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
    /// How to connect to --prometheus.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `slo-eval backtest`: reads or fetches the history, replays it,
/// prints the reports and draws the plot.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    if let Some(path) = &args.plot {
        check_plot_path(path)?;
    }
    // Connection mistakes (URL, CA file) first: before the specs.
    let endpoint = args
        .prometheus
        .as_deref()
        .map(|url| {
            args.connection
                .endpoint(url, std::time::Duration::from_secs(60))
        })
        .transpose()?;
    let specs = specs::load_all(&args.paths, reporter)?;
    let time = |s: Option<String>, flag: &str| s.map(|s| command::time_flag(flag, &s)).transpose();
    let (start, end) = (time(args.start, "start")?, time(args.end, "end")?);
    let from_prometheus = args.data.is_none().then(|| endpoint.clone()).flatten();
    let dataset = match (args.data, endpoint) {
        (Some(path), _) => read_data(&path)?,
        (None, Some(endpoint)) => {
            let (Some(s), Some(e)) = (start, end) else {
                return Err(Error::Usage("--prometheus needs --start and --end".into()));
            };
            fetch_history(&endpoint, &specs, s, e, args.resolution)?
        }
        (None, None) => {
            return Err(Error::Usage(
                "give the history: --data FILE or --prometheus URL --start T --end T".into(),
            ));
        }
    };
    let incidents = args
        .incidents
        .map(|p| read_incidents(&p, &specs))
        .transpose()?;
    let mut options = Options::new(0, 0);
    options.step = args.step;
    options.burn_rates = args.plot.is_some() || args.html.is_some();
    if let Some(list) = incidents {
        options.incidents = Incidents::Given(list);
    }
    let Replayed {
        mut reports,
        skipped,
    } = replay(&specs, &dataset, start, end, options)?;
    if let Some(endpoint) = from_prometheus.filter(|_| args.plot.is_some() || args.html.is_some()) {
        // The graphs' latency percentiles: the fetched data holds only the
        // threshold's bucket, so ask Prometheus for them.
        let client = Client::new(&endpoint)?;
        let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
        command::runtime()?.block_on(async {
            for r in &mut reports {
                if let Some(slo) = slos
                    .iter()
                    .find(|s| s.service == r.service && s.name == r.slo)
                {
                    fetch_latency(&client, slo, r).await;
                }
            }
        });
    }
    if let Some(path) = &args.plot {
        plot(path, &specs, &reports)?;
    }
    if let Some(path) = &args.html {
        let skipped: Vec<String> = skipped
            .iter()
            .map(|k| format!("{}/{}: {}", k.service, k.slo, k.reason))
            .collect();
        let page = crate::serve::offline_report(&specs, &reports, &skipped);
        std::fs::write(path, page).map_err(|e| Error::io(path, e))?;
    }
    // The graphs' lines are not part of the report.
    for inst in reports.iter_mut().flat_map(|r| &mut r.instances) {
        inst.burn_rates.clear();
        inst.traffic = None;
        inst.latency = None;
    }
    let doc = Document {
        slos: reports,
        skipped,
    };
    let out = command::render(args.json, &doc, |doc| {
        let mut s = text(&doc.slos);
        for k in &doc.skipped {
            s.push_str(&format!("{}/{}: SKIPPED: {}\n", k.service, k.slo, k.reason));
        }
        if let Some(path) = &args.plot {
            s.push_str(&format!("plot written to {}\n", path.display()));
        }
        if let Some(path) = &args.html {
            s.push_str(&format!("report written to {}\n", path.display()));
        }
        s
    })?;
    command::print(&out)
}

/// Fetches `specs`' series over `[start, end]` (ms) and the warm-up before
/// it (the longest window), so the first evaluation sees full windows.
fn fetch_history(
    endpoint: &Endpoint,
    specs: &[Spec],
    start: Timestamp,
    end: Timestamp,
    resolution: Duration,
) -> Result<Dataset, Error> {
    let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    let warmup = slos
        .iter()
        .filter_map(|s| s.policy.longest_window())
        .max()
        .map_or(0, |d| d.as_millis() as i64);
    let fetched =
        command::runtime()?.block_on(fetch(endpoint, &slos, start - warmup, end, resolution))?;
    // Say which range was empty, not "the data holds no samples".
    if fetched.time_range().is_none() {
        return Err(Error::Usage(format!(
            "no data: Prometheus has no samples of any SLO's series from {} to {} (nor in the {} before it): nothing to replay; check the range and the selectors",
            time::format(start),
            time::format(end),
            Duration::from_millis(warmup as u64),
        )));
    }
    Ok(fetched)
}

/// Where the history comes from.
#[derive(Debug)]
pub enum Source {
    /// An OpenMetrics text file (what `promtool` backfills).
    File(PathBuf),
    /// A Prometheus query API, over `[start, end]` (ms).
    Prometheus {
        /// Base URL.
        url: String,
        /// First evaluation (ms).
        start: Timestamp,
        /// Last evaluation (ms).
        end: Timestamp,
        /// Resolution of the fetched counters.
        resolution: Duration,
    },
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct Document {
    /// One report per SLO replayed.
    pub slos: Vec<Report>,
    /// SLOs that could not be replayed (an `events` SLI...), with why.
    pub skipped: Vec<Skipped>,
}

/// An SLO left out of the replay.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// The service.
    pub service: String,
    /// The SLO.
    pub slo: String,
    /// Why.
    pub reason: String,
}

/// What a replay made: reports, and the SLOs it had to skip.
#[derive(Debug)]
pub struct Replayed {
    /// One report per SLO replayed.
    pub reports: Vec<Report>,
    /// SLOs that could not be replayed.
    pub skipped: Vec<Skipped>,
}

/// Refuses a `--plot` path that does not end in `.svg`: the plot is SVG,
/// and SVG in a `.png` opens as a broken image.
pub fn check_plot_path(path: &Path) -> Result<(), Error> {
    let svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if svg {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--plot {}: the plot is drawn as SVG only; name the file *.svg",
            path.display()
        )))
    }
}

fn read_to_string(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Reads an OpenMetrics file, reporting every bad line as `FILE:LINE:COL`.
pub fn read_data(path: &Path) -> Result<Dataset, Error> {
    let text = read_to_string(path)?;
    let (data, diags) = slo_core::openmetrics::check(&text);
    for d in &diags {
        eprintln!("{}:{d}", path.display());
    }
    data.ok_or_else(|| Error::InvalidInput {
        path: path.to_owned(),
        errors: diags.iter().filter(|d| d.is_error()).count(),
    })
}

/// Reads an incidents file. An incident naming a service or SLO that none
/// of `specs` defines is an error at its line: it would never be scored,
/// and the precision and recall would silently leave it out.
pub fn read_incidents(
    path: &Path,
    specs: &[Spec],
) -> Result<Vec<slo_core::incident::Incident>, Error> {
    let text = read_to_string(path)?;
    let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    slo_core::incident::load_str_for(&text, &slos).map_err(|diags| {
        for d in &diags {
            eprintln!("{}:{d}", path.display());
        }
        Error::InvalidInput {
            path: path.to_owned(),
            errors: diags.len(),
        }
    })
}

/// The raw counter selectors an SLI replays from.
fn selectors(slo: &Slo) -> Vec<String> {
    match &slo.sli {
        Sli::Ratio(r) => {
            let counted = match &r.counted {
                Counted::Errors(s) | Counted::Good(s) => s.clone(),
            };
            vec![counted, r.total.clone()]
        }
        Sli::Latency(l) => vec![
            slo_core::promql::latency_good_selector(l),
            slo_core::promql::latency_total_selector(l),
        ],
        // Slices: their indicator is fetched on its own (`fetch`). Events
        // and raw: PromQL only Prometheus evaluates, which the replay
        // refuses.
        Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => Vec::new(),
    }
}

/// Fetches what `slos` replay from, from Prometheus over `[from, to]`: the
/// raw counters of ratio and latency SLIs at `resolution`, and the slice
/// indicator of `slices` SLIs evaluated by Prometheus at every slice (on
/// multiples of the slice, where the evaluator's subqueries put them),
/// stored as the rules record it. Range queries are chunked under the
/// 11,000-points limit by the client.
pub async fn fetch(
    endpoint: &Endpoint,
    slos: &[&Slo],
    from: Timestamp,
    to: Timestamp,
    resolution: Duration,
) -> Result<Dataset, Error> {
    let client = Client::new(endpoint)?;
    let mut data = Dataset::new();
    let mut done = std::collections::BTreeSet::new();
    let all: Vec<String> = slos.iter().flat_map(|s| selectors(s)).collect();
    let indicators: Vec<(&Slo, &SlicesSli)> = slos
        .iter()
        .filter_map(|slo| match &slo.sli {
            Sli::Slices(s) => Some((*slo, s)),
            _ => None,
        })
        .collect();
    let queries = all.len() + indicators.len();
    let progress = |i: usize, query: &str| {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!("\rfetching {}/{queries}: {query:.60}\x1b[K", i + 1);
        }
    };
    let secs = |ms: Timestamp| ms as f64 / 1000.0;
    for (i, selector) in all.iter().enumerate() {
        if !done.insert(selector.clone()) {
            continue;
        }
        progress(i, selector);
        let series = client
            .query_range(
                selector,
                secs(from),
                secs(to),
                resolution.as_secs_f64().max(1.0),
            )
            .await?;
        for s in series {
            let name = s.labels.get("__name__").cloned().unwrap_or_default();
            let key = SeriesKey::new(
                &name,
                s.labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "__name__")
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            push_points(&mut data, &key, s.points);
        }
    }
    // A latency threshold that is no bucket (for every histogram, or for
    // some groups): the `le=~` query above found nothing for them, and the
    // replay would call the histogram missing, or drop those groups. Fetch
    // their bucket bounds (one point each, at the end) so the replay says
    // which bucket is missing and lists the real bounds, as from a file.
    for slo in slos {
        let Sli::Latency(l) = &slo.sli else { continue };
        let Ok(sel) = l.selector.parse::<slo_core::selector::Selector>() else {
            continue;
        };
        let named = |name: String| slo_core::selector::Selector {
            metric: Some(name),
            matchers: sel.matchers.clone(),
        };
        let bucket = format!("{}_bucket", l.histogram);
        let with_bucket: std::collections::BTreeSet<_> = named(bucket.clone())
            .select(&data)
            .into_iter()
            .map(|(k, _)| {
                let mut labels = k.labels.clone();
                labels.remove("le");
                labels
            })
            .collect();
        let counts = named(format!("{}_count", l.histogram)).select(&data);
        if !with_bucket.is_empty() && counts.iter().all(|(k, _)| with_bucket.contains(&k.labels)) {
            continue;
        }
        let range_secs = (to - from).div_euclid(1000).max(1);
        let query = format!(
            "last_over_time({bucket}{}[{range_secs}s])",
            l.selector.trim()
        );
        for s in client.query(&query, Some(secs(to))).await? {
            let key = SeriesKey::new(
                &bucket,
                s.labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "__name__")
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            // Series fetched in full above keep their points as they are.
            if data.get(&key).is_none() {
                let _ = data.push(&key, to, s.value);
            }
        }
    }
    for (i, (slo, sli)) in indicators.into_iter().enumerate() {
        let query = slo_core::promql::slice_indicator(sli);
        progress(all.len() + i, &query);
        let slice = i64::try_from(sli.slice.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let first = from.div_euclid(slice) * slice;
        let series = client
            .query_range(&query, secs(first), secs(to), sli.slice.as_secs_f64())
            .await?;
        for s in series {
            let mut labels = s.labels;
            labels.remove("__name__");
            let key = slo_core::events::slice_indicator_key(slo, &labels);
            push_points(&mut data, &key, s.points);
        }
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("\rfetched {} series\x1b[K", data.len());
    }
    Ok(data)
}

/// Sets the latency percentiles of a latency SLI's `report` (a replay with
/// graphs) from Prometheus: one `query_range` per quantile
/// ([`slo_core::quantile::promql`]) over the report's steps and the
/// window of its traffic graph. The data fetched for the replay holds only
/// the threshold's bucket, so these are Prometheus's own
/// `histogram_quantile`. A failed query leaves each instance a message,
/// not an error: the graphs of the replay stand without it.
pub async fn fetch_latency(client: &Client, slo: &Slo, report: &mut Report) {
    use slo_core::quantile::{Latency, PERCENTILES};
    let Sli::Latency(l) = &slo.sli else { return };
    let Some(window) = report
        .instances
        .iter()
        .find_map(|i| Some(i.traffic.as_ref()?.window))
    else {
        return;
    };
    let secs = |ms: Timestamp| ms as f64 / 1000.0;
    let step = report.step.as_secs_f64().max(0.001);
    type Line = BTreeMap<Timestamp, Vec<Option<f64>>>;
    let mut lines: BTreeMap<slo_core::spec::Labels, Line> = BTreeMap::new();
    for (n, &q) in PERCENTILES.iter().enumerate() {
        let query = slo_core::quantile::promql(l, q, window);
        let series = match client
            .query_range(&query, secs(report.start), secs(report.end), step)
            .await
        {
            Ok(series) => series,
            Err(e) => {
                let error = format!(
                    "the p{} query to Prometheus failed: {e}",
                    num::format(q * 100.0)
                );
                for i in &mut report.instances {
                    i.latency = Some(Latency::failed(l, window, error.clone()));
                }
                return;
            }
        };
        for s in series {
            let labels =
                slo_core::instance::of(&l.group_by, |k| s.labels.get(k).map(String::as_str));
            let line = lines.entry(labels).or_default();
            // NaN (no observations, no +Inf bucket) is no point: a gap.
            for (t, v) in s.points.into_iter().filter(|p| p.1.is_finite()) {
                let at = (t * 1000.0).round() as Timestamp;
                line.entry(at)
                    .or_insert_with(|| vec![None; PERCENTILES.len()])[n] = Some(v);
            }
        }
    }
    for i in &mut report.instances {
        let points = lines.remove(&i.labels).unwrap_or_default();
        i.latency = Some(Latency::new(l, window, points.into_iter().collect()));
    }
}

/// Adds a range query's points (seconds) to `data`.
fn push_points(data: &mut Dataset, key: &SeriesKey, points: Vec<(f64, f64)>) {
    for (t, v) in points {
        // Out-of-order or duplicate points cannot come from one range
        // query; a rejected one would only be dropped.
        let _ = data.push(key, (t * 1000.0).round() as Timestamp, v);
    }
}

/// Replays every SLO of `specs` over `data`, as `options` say but over
/// `[start, end]` (the data's range by default). An SLO that cannot be
/// replayed (an `events` or `raw` SLI, a selector matching nothing) is
/// skipped with a warning on stderr, and the rest replayed; only when none
/// can be is it an error.
pub fn replay(
    specs: &[Spec],
    data: &Dataset,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    mut options: Options,
) -> Result<Replayed, Error> {
    let (first, last) = data
        .time_range()
        .ok_or_else(|| Error::Usage("the data holds no samples".to_owned()))?;
    options.start = start.unwrap_or(first);
    options.end = end.unwrap_or(last);
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for slo in specs.iter().flat_map(|s| &s.slos) {
        match backtest::backtest(slo, data, &options) {
            Ok(report) => reports.push(report),
            Err(e) => {
                eprintln!("warning: {}/{} skipped: {e}", slo.service, slo.name);
                skipped.push(Skipped {
                    service: slo.service.clone(),
                    slo: slo.name.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }
    if reports.is_empty()
        && let Some(first) = skipped.first()
    {
        return Err(Error::Usage(format!(
            "no SLO could be replayed; {}/{}: {}",
            first.service, first.slo, first.reason
        )));
    }
    Ok(Replayed { reports, skipped })
}

fn secs(s: Option<f64>) -> String {
    match s {
        Some(s) if s < 60.0 => format!("{}s", num::format(s.round())),
        Some(s) => Duration::from_secs(s.round() as u64).to_string(),
        None => "-".to_owned(),
    }
}

fn share(x: Option<f64>) -> String {
    x.map_or_else(
        || "-".to_owned(),
        |x| format!("{}%", num::format(num::round_sig(x * 100.0, 3))),
    )
}

/// The human-readable timeline and scores.
pub fn text(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        for inst in &r.instances {
            let _ = writeln!(
                out,
                "{}/{}{} ({}% over {}), {} to {} every {}",
                r.service,
                r.slo,
                slo_core::instance::braces(&inst.labels),
                num::format(r.objective),
                r.period,
                time::format(r.start),
                time::format(r.end),
                r.step,
            );
            if inst.steps_with_data == 0 {
                let _ = writeln!(
                    out,
                    "  NO DATA in this range: no samples (or no traffic) at any of its {} evaluations, so nothing could alert",
                    r.steps
                );
            } else if inst.alerts.is_empty() {
                let _ = writeln!(
                    out,
                    "  no alerts{}",
                    if inst.steps_with_data < r.steps {
                        format!(
                            " (data at {} of {} evaluations)",
                            inst.steps_with_data, r.steps
                        )
                    } else {
                        String::new()
                    }
                );
            }
            for a in &inst.alerts {
                let _ = writeln!(
                    out,
                    "  {:<6} {} -> {}  peak burn rate {}x",
                    a.severity.to_string(),
                    time::format(a.start),
                    a.end
                        .map_or_else(|| "still firing".to_owned(), time::format),
                    num::format(num::round_sig(a.peak_burn_rate, 3)),
                );
            }
            if let Some(b) = inst.budget.last().and_then(|b| b.remaining) {
                let basis = if r.budget_history < r.period {
                    format!(
                        "{} period, {} of data: that error ratio as if it held for the whole period",
                        r.period, r.budget_history
                    )
                } else {
                    format!("over the full {} period", r.period)
                };
                let _ = writeln!(
                    out,
                    "  budget remaining at the end ({basis}): {}",
                    share(Some(b))
                );
            }
            for o in &inst.incidents {
                let any = o.detections.iter().find(|d| d.severity.is_none());
                let _ = writeln!(
                    out,
                    "  incident {} -> {}{}: {}",
                    time::format(o.incident.start),
                    time::format(o.incident.end),
                    o.incident
                        .severity
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default(),
                    match any.and_then(|d| d.fired_at) {
                        // Both began before the range: when it fired is
                        // not in the replay.
                        Some(_) if any.is_some_and(|d| d.detection_secs.is_none()) => {
                            "an alert was already firing at the range's start".to_owned()
                        }
                        Some(_) => format!(
                            "detected after {}, {} of the budget spent first",
                            secs(any.and_then(|d| d.detection_secs)),
                            share(any.and_then(|d| d.budget_before_firing))
                        ),
                        None => "MISSED".to_owned(),
                    }
                );
            }
            for q in &inst.quality {
                let tier = q
                    .severity
                    .map_or_else(|| "all".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    out,
                    "  {tier:<6} precision {:<6} recall {:<6} ({}/{} incidents, {} alerts{})  detection mean {} max {}  reset mean {}",
                    share(q.precision),
                    share(q.recall),
                    q.detected,
                    q.incidents,
                    q.alerts,
                    if q.unscored > 0 {
                        format!(", {} firing since before the range, unscored", q.unscored)
                    } else {
                        String::new()
                    },
                    secs(q.mean_detection_secs),
                    secs(q.max_detection_secs),
                    secs(q.mean_reset_secs),
                );
            }
            out.push('\n');
        }
        for w in &r.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
    out
}

/// `2026-11-04 14:00` for an x position in hours since the epoch (UTC).
fn axis_date(hours: &f64) -> String {
    let ms = (hours * 3.6e6).round() as Timestamp;
    let t = time::format(ms);
    // RFC 3339 `2026-11-04T14:00:00Z` -> `2026-11-04 14:00`.
    t.get(..16).map_or(t.clone(), |s| s.replacen('T', " ", 1))
}

/// Draws every SLO instance as an SVG: the long windows' burn rates against
/// each pair's factor (log scale, each factor line labelled with its tier
/// and pair), alert periods shaded (pages red, tickets orange), and the
/// budget remaining; dates (UTC) on the x axes, the legend beside the data
/// rather than over it.
pub fn plot(path: &Path, specs: &[Spec], reports: &[Report]) -> Result<(), Error> {
    use plotters::prelude::*;
    let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    let panels: usize = reports
        .iter()
        .map(|r| r.instances.len())
        .sum::<usize>()
        .max(1);
    let height = 440 * panels as u32;
    let draw_err =
        |e: &dyn std::fmt::Display| Error::Output(format!("cannot draw {}: {e}", path.display()));
    let root = SVGBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let areas = root.split_evenly((panels, 1));
    let mut area_iter = areas.iter();
    for (slo, report) in slos.iter().zip(reports) {
        for inst in &report.instances {
            let Some(area) = area_iter.next() else { break };
            // The legend gets a column of its own, right of the data.
            let (plots, legend) = area.split_horizontally(1000);
            let (top, bottom) = plots.split_vertically(300);
            let windows: Vec<(Duration, &[(Timestamp, f64)])> = inst
                .burn_rates
                .iter()
                .map(|l| (l.window, l.points.as_slice()))
                .collect();
            let (x0, x1) = (report.start as f64 / 3.6e6, report.end as f64 / 3.6e6);
            let max_factor = slo
                .policy
                .pairs()
                .iter()
                .map(|p| p.factor)
                .fold(1.0, f64::max);
            let ymax = windows
                .iter()
                .flat_map(|(_, pts)| pts.iter().map(|(_, v)| *v))
                .fold(max_factor * 2.0, f64::max)
                .max(1.0);
            let labels: Vec<String> = inst
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let instance = if labels.is_empty() {
                String::new()
            } else {
                format!(" {{{}}}", labels.join(","))
            };
            let title = format!(
                "{}/{}{instance}: burn rate of the long windows (log scale) vs factors",
                report.service, report.slo,
            );
            let mut chart = ChartBuilder::on(&top)
                .caption(title, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, (0.01f64..ymax).log_scale())
                .map_err(|e| draw_err(&e))?;
            chart
                .configure_mesh()
                .x_labels(6)
                .x_label_formatter(&axis_date)
                .y_desc("burn rate (x budget)")
                .draw()
                .map_err(|e| draw_err(&e))?;
            for a in &inst.alerts {
                let color = match a.severity {
                    slo_core::policy::Severity::Page => RED.mix(0.15),
                    slo_core::policy::Severity::Ticket => RGBColor(255, 165, 0).mix(0.15),
                };
                let end = a.end.unwrap_or(report.end) as f64 / 3.6e6;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(a.start as f64 / 3.6e6, 0.01), (end, ymax)],
                        color.filled(),
                    )))
                    .map_err(|e| draw_err(&e))?;
            }
            let mut legend_rows: Vec<(String, RGBAColor)> = Vec::new();
            for (i, (w, pts)) in windows.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|(t, v)| (*t as f64 / 3.6e6, v.max(0.01))),
                        color,
                    ))
                    .map_err(|e| draw_err(&e))?;
                legend_rows.push((format!("{w} window"), color));
            }
            for p in slo.policy.pairs() {
                chart
                    .draw_series(LineSeries::new(
                        [(x0, p.factor), (x1, p.factor)],
                        BLACK.mix(0.4),
                    ))
                    .map_err(|e| draw_err(&e))?;
                // The factor's label sits on its line, at the left edge.
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!(
                            "{} {}/{} {}x",
                            p.severity,
                            p.long,
                            p.short,
                            slo_core::num::format(p.factor)
                        ),
                        (x0, p.factor * 1.08),
                        ("sans-serif", 11).into_font().color(&BLACK.mix(0.7)),
                    )))
                    .map_err(|e| draw_err(&e))?;
            }
            legend_rows.push(("page firing".to_owned(), RED.mix(0.35)));
            legend_rows.push(("ticket firing".to_owned(), RGBColor(255, 165, 0).mix(0.35)));
            legend_rows.push(("budget remaining".to_owned(), BLUE.to_rgba()));
            for (row, (text, color)) in legend_rows.iter().enumerate() {
                let y = 50 + 18 * row as i32;
                legend
                    .draw(&Rectangle::new([(8, y - 5), (24, y + 5)], color.filled()))
                    .map_err(|e| draw_err(&e))?;
                legend
                    .draw(&Text::new(
                        text.clone(),
                        (30, y - 6),
                        ("sans-serif", 12).into_font(),
                    ))
                    .map_err(|e| draw_err(&e))?;
            }
            let budget: Vec<(f64, f64)> = inst
                .budget
                .iter()
                .filter_map(|b| b.remaining.map(|r| (b.time as f64 / 3.6e6, r * 100.0)))
                .collect();
            let lo = budget.iter().map(|(_, v)| *v).fold(0.0, f64::min) - 5.0;
            let mut chart = ChartBuilder::on(&bottom)
                .caption("budget remaining", ("sans-serif", 14))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, lo..105.0)
                .map_err(|e| draw_err(&e))?;
            chart
                .configure_mesh()
                .x_labels(6)
                .x_label_formatter(&axis_date)
                .y_labels(5)
                .y_label_formatter(&|v| format!("{}%", slo_core::num::format(v.round())))
                .draw()
                .map_err(|e| draw_err(&e))?;
            chart
                .draw_series(LineSeries::new(budget, BLUE))
                .map_err(|e| draw_err(&e))?;
        }
    }
    root.present().map_err(|e| draw_err(&e))?;
    Ok(())
}
