//! `slo-eval serve`: a read-only web UI and JSON API over every SLO, from a
//! Prometheus (evaluated every `--interval`) or from recorded history
//! (`--data`, evaluated once with "now" at the end of the data, or at
//! `--at`). No notifications are sent.
//!
//! Pages and `/api/v1/slos` read the last evaluation cycle from memory: a
//! page view never turns into one query per SLO. The backtest endpoint and
//! the detail page's graphs replay one SLO ([`slo_core::backtest`]) over the
//! data in memory, or over its history fetched from Prometheus (a few
//! bounded range queries for that SLO), cached per range.
//!
//! An SLO a cycle could not evaluate (Prometheus down or hanging) keeps
//! its last good cycle on the pages and the API, marked held and stale
//! since its first failed cycle; the detail page's graphs wait at most one
//! query timeout.
//!
//! - `GET /`: every SLO instance, sorted by budget left.
//! - `GET /slos/{service}/{slo}`: tiles, alerts table, burn-rate graphs, the
//!   spec source.
//! - `GET /reports?month=2026-11` (or `?rolling=1`) and
//!   `GET /api/v1/reports?month=`: compliance per month, the `report --json`
//!   document ([`crate::compliance`]).
//! - `GET /api/v1/slos`: the cycle as JSON, with `eval --json`'s numbers.
//! - `GET /api/v1/slos/{service}/{slo}/backtest?start=&end=&step=`: the
//!   `backtest --json` document of that SLO; `POST` with an `alerting:`
//!   block (YAML or JSON) in the body: the same under that policy.
//! - `GET|POST /slos/{service}/{slo}/lab`: the policy lab, the spec's
//!   policy and alternatives replayed side by side (`serve::lab`).
//!
//! `slo-eval run` serves the same UI next to `/metrics` (`serve::live`), fed by
//! the daemon's own cycles and alert states instead of evaluating.

mod api;
mod html;
mod lab;
mod latency;
mod live;
mod reports;
mod svg;

pub(crate) use live::{Live, LoadedFile};

use api::ApiError;
pub use lab::offline_report;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use slo_core::alert::{AlertState, Hold};
use slo_core::backtest::{self, Options, Report};
use slo_core::dataset::Dataset;
use slo_core::duration::Duration;
use slo_core::evaluation::{InstanceResult, TierResult};
use slo_core::ledger::{self, Ledger};
use slo_core::spec::{Slo, Spec};
use slo_core::time::Timestamp;

use crate::connection::ConnectionArgs;
use crate::errors::Error;
use crate::evaluate::Failure;
use crate::prometheus::{Client, Endpoint};
use crate::report::Reporter;
use crate::{command, specs};

/// The default listen address: the daemon's port less one, so both run
/// side by side.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9098";

/// The most evaluations one replay request may take: a request must not
/// hold the server for long.
const MAX_REQUEST_STEPS: u64 = 200_000;
/// Replays kept per server.
const CACHE_ENTRIES: usize = 32;

/// The arguments of `slo-eval serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the Prometheus query API to evaluate against.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "data",
        required_unless_present = "data"
    )]
    pub prometheus: Option<String>,
    /// Serve recorded history from an OpenMetrics file instead, "now" at
    /// its end.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// With --data: evaluate at this time (RFC 3339 or Unix seconds)
    /// instead of the end of the data.
    #[arg(long, value_name = "TIME", requires = "data")]
    pub at: Option<String>,
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Address to listen on (port 0: any free port; the bound address is
    /// printed).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Time between evaluation cycles against --prometheus.
    #[arg(long, default_value = "1m")]
    pub interval: Duration,
    /// Queries in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// How to connect to --prometheus.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// One SLO as served: the spec, the file it comes from and where in it.
#[derive(Debug)]
struct Entry {
    slo: SloRef,
    file: usize,
    line: usize,
}

/// An SLO of a shared spec (the daemon's own: the UI holds no copy).
#[derive(Debug)]
struct SloRef {
    spec: Arc<Spec>,
    index: usize,
}

impl std::ops::Deref for SloRef {
    type Target = Slo;

    fn deref(&self) -> &Slo {
        &self.spec.slos[self.index]
    }
}

/// A spec file's path and text, for the detail page's source view.
#[derive(Debug)]
struct File {
    path: PathBuf,
    source: String,
}

/// Where evaluations and replays read from.
#[derive(Debug)]
enum Source {
    /// Recorded history, evaluated at the given time.
    Data(Dataset, Timestamp),
    Prometheus {
        endpoint: Endpoint,
        client: Arc<Client>,
        concurrency: usize,
    },
}

/// One evaluation cycle: every SLO's instances (or why it failed) at `at`.
#[derive(Debug, Default)]
struct Cycle {
    at: Timestamp,
    /// Per entry, in entry order.
    results: Vec<Result<Vec<InstanceResult>, String>>,
    /// From Prometheus: each alert's state in the ledger (pending under
    /// `for`, firing held on unknown), by [`ledger::alert_key`]. Empty over
    /// recorded data, evaluated once: there the state is the decision.
    states: BTreeMap<String, AlertState>,
    /// Per entry, in entry order: for an SLO whose evaluation failed this
    /// cycle, since when it fails and what it last decided. Empty before
    /// the first cycle.
    stale: Vec<Option<Stale>>,
}

/// An SLO that could not be evaluated (Prometheus down or hanging): the
/// pages keep showing its last good cycle, marked as such, as its alerts
/// are held as they were. Never a fresh "ok", never silently gone.
#[derive(Clone, Debug)]
struct Stale {
    /// The first failed cycle of this run of failures.
    since: Timestamp,
    /// The last cycle that evaluated it and what it decided then (none when
    /// it never was).
    last_good: Option<Arc<(Timestamp, Vec<InstanceResult>)>>,
    /// This cycle's error.
    error: String,
}

impl Cycle {
    /// The cycle after `prev`: `results` at `at`, each failed SLO carrying
    /// its failure's start and last good result over from `prev`.
    fn next(
        prev: &Cycle,
        at: Timestamp,
        results: Vec<Result<Vec<InstanceResult>, String>>,
        states: BTreeMap<String, AlertState>,
    ) -> Self {
        let stale = results
            .iter()
            .enumerate()
            .map(|(n, r)| {
                let error = r.as_ref().err()?.clone();
                Some(
                    match (
                        prev.results.get(n),
                        prev.stale.get(n).and_then(Option::as_ref),
                    ) {
                        (Some(Ok(good)), _) => Stale {
                            since: at,
                            last_good: Some(Arc::new((prev.at, good.clone()))),
                            error,
                        },
                        (_, Some(s)) => Stale { error, ..s.clone() },
                        _ => Stale {
                            since: at,
                            last_good: None,
                            error,
                        },
                    },
                )
            })
            .collect();
        Self {
            at,
            results,
            states,
            stale,
        }
    }

    /// Entry `n`'s failure, when this cycle could not evaluate it.
    fn stale(&self, n: usize) -> Option<&Stale> {
        self.stale.get(n).and_then(Option::as_ref)
    }

    /// A tier's state and since when (pending or firing), the ledger's
    /// where it has one.
    fn tier(
        &self,
        slo: &Slo,
        inst: &InstanceResult,
        t: &TierResult,
    ) -> (TierState, Option<Timestamp>) {
        let key = ledger::alert_key(slo, &inst.labels, t.severity);
        match self.states.get(&key) {
            Some(AlertState::Pending { active_since }) => (TierState::Pending, Some(*active_since)),
            Some(AlertState::Firing { started_at, .. }) => (TierState::Firing, Some(*started_at)),
            _ => (TierState::of(t), None),
        }
    }
}

/// The replays asked for, by SLO, range, step, with burn rates, and the
/// variant replayed (the alternative policy's `alerting:` YAML and the
/// incidents given; empty: the spec's, incidents detected).
type CacheKey = (usize, Timestamp, Timestamp, u64, bool, String);

/// What a replay changes from the spec: another `alerting:` block
/// ([`slo_core::load::alternative`]), incidents given instead of detected.
#[derive(Clone, Copy, Debug, Default)]
struct Alt<'a> {
    slo: Option<&'a Slo>,
    incidents: Option<&'a [slo_core::incident::Incident]>,
}

#[derive(Debug)]
struct Ui {
    entries: Vec<Entry>,
    files: Vec<File>,
    source: Source,
    cycle: RwLock<Arc<Cycle>>,
    /// The alerts' state across cycles (from Prometheus only).
    ledger: Mutex<Ledger>,
    cache: Mutex<Vec<(CacheKey, Arc<Report>)>>,
}

/// Runs `slo-eval serve` until interrupted.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    let endpoint = args
        .prometheus
        .as_deref()
        .map(|url| {
            args.connection
                .endpoint(url, std::time::Duration::from_secs(30))
        })
        .transpose()?;
    let files = specs::read_all(&args.paths, reporter)?;
    let source = match (&args.data, endpoint) {
        (Some(path), _) => {
            let data = crate::backtest::read_data(path)?;
            let end = data.time_range().map_or(0, |(_, end)| end);
            let at = args
                .at
                .as_deref()
                .map(|s| command::time_flag("at", s))
                .transpose()?
                .unwrap_or(end);
            Source::Data(data, at)
        }
        (None, Some(endpoint)) => Source::Prometheus {
            client: Arc::new(Client::new(&endpoint)?),
            endpoint,
            concurrency: args.concurrency,
        },
        (None, None) => {
            return Err(Error::Usage("give --prometheus URL or --data FILE".into()));
        }
    };
    let ui = Arc::new(Ui::new(LoadedFile::of(files), source));
    if ui.entries.is_empty() {
        return Err(Error::Usage("no SLO in the spec files given".into()));
    }
    command::runtime()?.block_on(async move {
        ui.evaluate().await;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", args.listen)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", args.listen)))?;
        command::print(&format!("serving the SLO UI on http://{bound}/\n"))?;
        if matches!(ui.source, Source::Prometheus { .. }) {
            let ui = Arc::clone(&ui);
            let every = std::time::Duration::from_millis(args.interval.as_millis().max(1000));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    ui.evaluate().await;
                }
            });
        }
        axum::serve(listener, router(ui))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Error::Output(format!("server stopped: {e}")))
    })
}

/// The UI's router over recorded data evaluated at `at`: what `serve
/// --data` serves, for the criterion bench of page views
/// (`benches/benches/ui.rs`). Not a stable API.
#[doc(hidden)]
pub async fn router_over_data(files: Vec<specs::SpecFile>, data: Dataset, at: Timestamp) -> Router {
    let ui = Arc::new(Ui::new(LoadedFile::of(files), Source::Data(data, at)));
    ui.evaluate().await;
    router(ui)
}

impl Ui {
    fn new(spec_files: Vec<LoadedFile>, source: Source) -> Self {
        let mut entries = Vec::new();
        let mut files = Vec::new();
        for f in spec_files {
            let file = files.len();
            for (index, slo) in f.spec.slos.iter().enumerate() {
                let line = f
                    .places
                    .iter()
                    .find(|p| p.service == slo.service && p.name == slo.name)
                    .map_or(1, |p| p.location.line);
                let slo = SloRef {
                    spec: Arc::clone(&f.spec),
                    index,
                };
                entries.push(Entry { slo, file, line });
            }
            files.push(File {
                path: f.path,
                source: f.source,
            });
        }
        Self {
            entries,
            files,
            source,
            cycle: RwLock::new(Arc::new(Cycle::default())),
            ledger: Mutex::new(Ledger::default()),
            cache: Mutex::new(Vec::new()),
        }
    }

    /// Evaluates every SLO and makes the result the current cycle.
    async fn evaluate(&self) {
        let cycle = match &self.source {
            Source::Data(data, at) => {
                let at = *at;
                let results = self
                    .entries
                    .iter()
                    .map(|e| {
                        slo_core::evaluation::evaluate_at(&e.slo, data, at)
                            .map_err(|e| e.to_string())
                    })
                    .collect();
                Cycle::next(&Cycle::default(), at, results, BTreeMap::new())
            }
            Source::Prometheus {
                client,
                concurrency,
                ..
            } => {
                let at = jiff::Timestamp::now().as_millisecond();
                let slos: Vec<&Slo> = self.entries.iter().map(|e| &*e.slo).collect();
                let outcomes = crate::evaluate::evaluate_all(
                    client,
                    &slos,
                    Some(at as f64 / 1000.0),
                    *concurrency,
                    true,
                )
                .await;
                let results: Vec<_> = outcomes
                    .into_iter()
                    .map(|o| o.result.map_err(|e| e.to_string()))
                    .collect();
                let states = self.advance(at, &results);
                Cycle::next(&self.cycle(), at, results, states)
            }
        };
        if let Ok(mut c) = self.cycle.write() {
            *c = Arc::new(cycle);
        }
    }

    /// Advances the ledger by one cycle (as the daemon does, without
    /// notifications) and returns every alert's state.
    fn advance(
        &self,
        at: Timestamp,
        results: &[Result<Vec<InstanceResult>, String>],
    ) -> BTreeMap<String, AlertState> {
        let Ok(mut ledger) = self.ledger.lock() else {
            return BTreeMap::new();
        };
        let mut cycle = ledger.cycle(at);
        for (e, r) in self.entries.iter().zip(results) {
            match r {
                Ok(instances) => cycle.evaluated(&e.slo, instances),
                Err(_) => cycle.failed(&e.slo),
            }
        }
        let _ = cycle.finish(false, 15 * 60_000);
        ledger
            .records()
            .map(|(k, r)| (k.to_owned(), r.state))
            .collect()
    }

    fn cycle(&self) -> Arc<Cycle> {
        self.cycle
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_default()
    }

    fn find(&self, service: &str, slo: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.slo.service == service && e.slo.name == slo)
    }

    /// Over recorded data that starts within `slo`'s period before `at`,
    /// when it starts: the availability and budget "over the period" then
    /// count only that much, and the pages say so.
    fn data_since(&self, slo: &Slo, at: Timestamp) -> Option<Timestamp> {
        let Source::Data(data, _) = &self.source else {
            return None;
        };
        let (first, _) = data.time_range()?;
        (first > at - slo.period.as_millis() as i64).then_some(first)
    }

    /// The default replay range of an SLO up to the cycle's time: over
    /// recorded data its period (at most a week, not before the data's
    /// start); from Prometheus a day (each view of a new range fetches it).
    fn default_range(&self, entry: usize, at: Timestamp) -> (Timestamp, Timestamp) {
        let period = self.entries[entry].slo.period;
        let most = match self.source {
            Source::Data(..) => Duration::from_hours(24 * 7),
            Source::Prometheus { .. } => Duration::from_hours(24),
        };
        let span = period.min(most).as_millis() as i64;
        let mut start = at - span;
        if let Source::Data(data, _) = &self.source
            && let Some((first, _)) = data.time_range()
        {
            start = start.max(first);
        }
        (start, at)
    }

    /// Replays one SLO over `[start, end]`, from the cache when asked
    /// before.
    async fn replay(
        &self,
        entry: usize,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
        burn_rates: bool,
    ) -> Result<Arc<Report>, ApiError> {
        self.replay_policy(entry, Alt::default(), start, end, step, burn_rates)
            .await
    }

    /// [`Ui::replay`] under `alt`: another `alerting:` block, incidents
    /// given instead of detected, or neither.
    async fn replay_policy(
        &self,
        entry: usize,
        alt: Alt<'_>,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
        burn_rates: bool,
    ) -> Result<Arc<Report>, ApiError> {
        let step_ms = step.as_millis();
        if step_ms == 0 {
            return Err(ApiError::bad("step must be longer than 0s"));
        }
        if end < start {
            return Err(ApiError::bad("end is before start"));
        }
        let steps = (end - start) as u64 / step_ms + 1;
        if steps > MAX_REQUEST_STEPS {
            return Err(ApiError::bad(format!(
                "{steps} steps from start to end at step {step}: at most {MAX_REQUEST_STEPS}; use a longer step or a shorter range"
            )));
        }
        let mut variant = alt
            .slo
            .map(slo_core::native::alerting_yaml)
            .unwrap_or_default();
        if let Some(list) = alt.incidents {
            variant.push_str("\n# incidents\n");
            variant.push_str(&serde_json::to_string(list).unwrap_or_default());
        }
        let key = (entry, start, end, step_ms, burn_rates, variant);
        if let Some(hit) = self.cache.lock().ok().and_then(|c| {
            c.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, r)| Arc::clone(r))
        }) {
            return Ok(hit);
        }
        let slo = alt.slo.unwrap_or(&self.entries[entry].slo);
        let mut options = Options::new(start, end);
        options.step = step;
        options.burn_rates = burn_rates;
        if let Some(list) = alt.incidents {
            options.incidents = backtest::Incidents::Given(list.to_vec());
        }
        let mut report = match &self.source {
            Source::Data(data, _) => backtest::backtest(slo, data, &options),
            Source::Prometheus { endpoint, .. } => {
                // The spec's warm-up at least: every policy of the lab
                // then sees the same history, so the same budget.
                let warmup = [slo, &self.entries[entry].slo]
                    .iter()
                    .filter_map(|s| s.policy.longest_window())
                    .max()
                    .map_or(0, |d| d.as_millis() as i64);
                let data = crate::backtest::fetch(
                    endpoint,
                    &[slo],
                    start - warmup,
                    end,
                    Duration::from_secs(30),
                )
                .await
                .map_err(|e| ApiError::upstream(e.to_string()))?;
                backtest::backtest(slo, &data, &options)
            }
        }
        .map_err(|e| ApiError::bad(e.to_string()))?;
        if let Source::Prometheus { client, .. } = &self.source
            && burn_rates
        {
            // The graphs' latency percentiles: Prometheus's, cached with
            // the replay.
            crate::backtest::fetch_latency(client, slo, &mut report).await;
        }
        let report = Arc::new(report);
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_ENTRIES {
                c.remove(0);
            }
            c.push((key, Arc::clone(&report)));
        }
        Ok(report)
    }
}

/// The Content-Security-Policy of every response: nothing but this
/// server's own stylesheet and inline SVG; no scripts.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn router(ui: Arc<Ui>) -> Router {
    Router::new()
        .route("/", get(list_page))
        .route("/slos/{service}/{slo}", get(detail_page))
        .route("/reports", get(reports::reports_page))
        .route("/api/v1/reports", get(reports::api_reports))
        .route("/assets/style.css", get(style))
        .route("/api/v1/slos", get(api::api_slos))
        .route(
            "/api/v1/slos/{service}/{slo}/backtest",
            get(api::api_backtest)
                .post(api::api_backtest_post)
                .layer(DefaultBodyLimit::max(lab::MAX_BODY)),
        )
        .route(
            "/slos/{service}/{slo}/lab",
            get(lab::lab_get)
                .post(lab::lab_post)
                .layer(DefaultBodyLimit::max(lab::MAX_BODY)),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { html::not_found("no such page") })
        .with_state(ui)
        .layer(axum::middleware::map_response(secure_headers))
}

async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("serve/style.css"),
    )
}

/// One tier's state in words: what the list and the API show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierState {
    /// Some pair fires.
    Firing,
    /// The condition holds, not yet for the tier's `for`.
    Pending,
    /// Some pair has a window without data: nothing can fire.
    NoData,
    /// Some pair's long window counted fewer events than `min_events`.
    TooFewEvents,
    /// Every pair decided, none fires.
    Ok,
}

impl TierState {
    fn of(t: &TierResult) -> Self {
        let held = |h: Hold| t.pairs.iter().any(|p| p.decision.held == Some(h));
        if t.firing {
            Self::Firing
        } else if held(Hold::NoData) {
            Self::NoData
        } else if held(Hold::TooFewEvents) {
            Self::TooFewEvents
        } else {
            Self::Ok
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Pending => "pending",
            Self::NoData => "no data",
            Self::TooFewEvents => "too few events",
            Self::Ok => "ok",
        }
    }
}

/// Every instance of the cycle with its SLO, in entry order; those of an
/// SLO that failed this cycle from its last good cycle, with the failure.
fn instances<'a>(
    ui: &'a Ui,
    cycle: &'a Cycle,
) -> Vec<(&'a Entry, &'a InstanceResult, Option<&'a Stale>)> {
    ui.entries
        .iter()
        .zip(&cycle.results)
        .enumerate()
        .flat_map(|(n, (e, r))| {
            let stale = cycle.stale(n);
            let list = match (r, stale.and_then(|s| s.last_good.as_deref())) {
                (Ok(list), _) => list.as_slice(),
                (Err(_), Some((_, list))) => list.as_slice(),
                (Err(_), None) => &[],
            };
            list.iter().map(move |i| (e, i, stale))
        })
        .collect()
}

fn failures(ui: &Ui, cycle: &Cycle) -> Vec<Failure> {
    ui.entries
        .iter()
        .zip(&cycle.results)
        .filter_map(|(e, r)| {
            r.as_ref().err().map(|error| Failure {
                service: e.slo.service.clone(),
                slo: e.slo.name.clone(),
                error: error.clone(),
            })
        })
        .collect()
}

/// `?start=&end=&step=` of the backtest endpoint and the detail page.
#[derive(Debug, Default, serde::Deserialize)]
struct RangeQuery {
    start: Option<String>,
    end: Option<String>,
    step: Option<String>,
    /// The detail page's range picker: this long up to the end.
    range: Option<String>,
    /// The detail page's instance, as `k=v,k=v`.
    instance: Option<String>,
}

/// The replay range a query asks for: `[start, end]` at `step`, each
/// defaulting to the SLO's default range and a step giving at most about
/// 1,500 points.
fn range_of(
    ui: &Ui,
    entry: usize,
    q: &RangeQuery,
) -> Result<(Timestamp, Timestamp, Duration), ApiError> {
    let cycle = ui.cycle();
    let time = |flag: &str, v: &Option<String>| -> Result<Option<Timestamp>, ApiError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                slo_core::time::parse(s).ok_or_else(|| {
                    ApiError::bad(format!(
                        "{flag}={s:?} is not an RFC 3339 time or Unix seconds"
                    ))
                })
            })
            .transpose()
    };
    let duration = |flag: &str, v: &Option<String>| -> Result<Option<Duration>, ApiError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<Duration>()
                    .map_err(|e| ApiError::bad(format!("{flag}={s:?}: {e}")))
            })
            .transpose()
    };
    let (default_start, default_end) = ui.default_range(entry, cycle.at);
    let end = time("end", &q.end)?.unwrap_or(default_end);
    let start = match (time("start", &q.start)?, duration("range", &q.range)?) {
        (Some(s), _) => s,
        (None, Some(r)) => end - r.as_millis() as i64,
        (None, None) => default_start,
    };
    let step = match duration("step", &q.step)? {
        Some(s) => s,
        None => {
            let span = (end - start).max(0) as u64;
            let minutes = span.div_ceil(1500 * 60_000).max(1);
            Duration::from_mins(minutes)
        }
    };
    Ok((start, end, step))
}

/// `?service=&label=` of the list page.
#[derive(Debug, Default, serde::Deserialize)]
struct ListQuery {
    service: Option<String>,
    label: Option<String>,
}

async fn list_page(State(ui): State<Arc<Ui>>, Query(q): Query<ListQuery>) -> Response {
    let cycle = ui.cycle();
    html::page(html::list(&ui, &cycle, &q))
}

async fn detail_page(
    State(ui): State<Arc<Ui>>,
    Path((service, slo)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> Response {
    let Some(entry) = ui.find(&service, &slo) else {
        return html::not_found(&format!("no SLO {slo:?} of service {service:?}"));
    };
    let cycle = ui.cycle();
    let replay = match range_of(&ui, entry, &q) {
        Ok((start, end, step)) => {
            let replay = ui.replay(entry, start, end, step, true);
            // A hanging Prometheus must not hang the page: its graphs get
            // one query timeout in all, however many queries they take.
            match &ui.source {
                Source::Prometheus { endpoint, .. } => tokio::time::timeout(
                    endpoint.timeout,
                    replay,
                )
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError::upstream(format!(
                        "Prometheus at {} did not send this SLO's history within {} (its timeout)",
                        endpoint.url,
                        Duration::from_millis(endpoint.timeout.as_millis() as u64)
                    )))
                }),
                Source::Data(..) => replay.await,
            }
        }
        Err(e) => Err(e),
    };
    html::page(html::detail(&ui, &cycle, entry, &q, replay))
}

/// Labels as `k=v, k=v` (empty for none).
fn label_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
