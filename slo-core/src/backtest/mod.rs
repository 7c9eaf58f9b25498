//! Backtesting: replay an SLO's alert policy over recorded history and score
//! the alerts it would have sent.
//!
//! At every step from `start` to `end` (default 1m) the replay decides every
//! pair with the rules the daemon uses ([`crate::alert::Decider`]), from
//! each window measured with Prometheus's `increase()` semantics
//! ([`series`](crate::series)), or for a `slices` SLI by counting the bad
//! and all slices of its indicator in the window ([`events`]), and advances
//! each tier's alert through the same state machine ([`AlertState`](crate::alert::AlertState)). Placing the steps among a series'
//! samples costs `O(samples + steps)`, once; a window is never re-scanned.
//!
//! Most steps of most pairs cannot fire: a pair fires only when both its
//! windows exceed its threshold, and bounds on the windows' sums (raw
//! increases, no extrapolation, no division) prove a window at or below it
//! over whole runs of steps. Only the steps left are measured exactly and
//! decided; a test checks the alerts equal those of deciding every step.
//!
//! Per SLO instance it reports:
//!
//! - **alerts**: per tier, when each alert started and ended (`None` if
//!   still firing at `end`) and the peak burn rate: the highest burn rate
//!   measured over the short window of a firing pair while it fired;
//! - **budget**: the error budget remaining over time, from the error ratio
//!   over the period up to each point (over the history available when it
//!   is shorter than the period), every `budget_every` (default 1h);
//! - **quality** against incidents, given or detected (below): precision,
//!   recall, detection and reset times, and the budget spent before the
//!   alert fired.
//!
//! # Scoring
//!
//! An alert *catches* an incident when it starts firing between the
//! incident's start (less one step, for incident times read off a clock)
//! and its end plus its tier's longest short window: a pair can only
//! start firing while its short window still sees the errors, so a later
//! alert is about something else, and an alert already firing when the
//! incident began was about something earlier.
//!
//! - **Recall** of a tier: the share of the incidents it is expected to
//!   catch (those of its severity or of none) that it caught.
//! - **Precision** of a tier: the share of its alerts that caught an
//!   incident it is expected to catch; for tickets, any incident (a ticket
//!   during an outage that paged is not noise), for pages, only incidents
//!   that deserve a page.
//! - **Detection time**: from the incident's start to the first alert that
//!   caught it (zero if it started up to a step early). **Reset time**: from the
//!   incident's end to the end of the last alert that caught it (zero if it
//!   ended before). **Budget before firing**: the bad events between the
//!   incident's start and the first alert, as a share of the period's budget
//!   (`b` times the period's events at the traffic seen over the period
//!   before the alert).
//!
//! The row with no severity scores all tiers together.
//!
//! An alert already active at the range's first step began at or before
//! it, and so may be about an incident before the range, which is neither
//! detected nor, usually, listed. It catches an incident in progress at
//! the range's start as any alert does; one that catches none is
//! *unscored*: counted among the alerts, left out of precision rather
//! than called false. Its detection time (and the budget spent before it)
//! for an incident also begun before the range is unknown: `None`.
//!
//! # Detected incidents
//!
//! Without an incidents file, incidents are the significant budget burns
//! found in the data ([`Significance`]): maximal periods where the burn rate
//! over a short window (5m) exceeded 1 (the budget burning faster than it
//! accrues), merged when less than 10m apart, kept when they spent at least
//! 2% of the period's budget (the smallest share the Workbook's policy pages
//! on). One that burned at 6x or more on average (the Workbook's slowest
//! page: a budget gone in 5 days) should page; any other should ticket.
//!
//! The merge gap trades two errors: longer gaps chain the random error
//! bursts of a low-traffic service (each keeps a 5m window burning for 5
//! minutes) into a real incident, moving its start earlier; shorter gaps
//! split a slow burn whose short windows dip below 1x into pieces too small
//! to count. An incident starts at the first step whose window burned and
//! ends a window before the last one (a window keeps burning for up to its
//! length after the errors stop).
//!
//! ```
//! use slo_core::backtest::{backtest, Options};
//! use slo_core::dataset::{Dataset, SeriesKey};
//! use slo_core::policy::Severity;
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: web
//! slos:
//!   - name: availability
//!     objective: 99
//!     sli:
//!       ratio: {errors: 'requests_total{code="500"}', total: requests_total}
//! "#).map_err(|d| d[0].to_string())?;
//! // Ten hours of 10 requests a second, every one failing from the sixth hour.
//! let mut data = Dataset::new();
//! let ok = SeriesKey::new("requests_total", [("code", "200")]);
//! let bad = SeriesKey::new("requests_total", [("code", "500")]);
//! let (mut good, mut errors) = (0.0, 0.0);
//! for minute in 0..600 {
//!     if minute < 360 { good += 600.0 } else { errors += 600.0 }
//!     data.push(&ok, minute * 60_000, good).map_err(|e| format!("{e:?}"))?;
//!     data.push(&bad, minute * 60_000, errors).map_err(|e| format!("{e:?}"))?;
//! }
//! let report = backtest(&spec.slos[0], &data, &Options::new(3_600_000, 35_940_000))
//!     .map_err(|e| e.to_string())?;
//! let pages: Vec<_> = report.instances[0].alerts_of(Severity::Page).collect();
//! assert!(!pages.is_empty());
//! assert!(pages[0].start > 360 * 60_000, "paged before the outage");
//! # Ok::<(), String>(())
//! ```

use crate::budget::ErrorBudget;
use crate::dataset::Dataset;
use crate::duration::Duration;
use crate::errors::ReplayError;
use crate::events::{self, EventSeries};
use crate::incident::Incident;
use crate::policy::Severity;
use crate::spec::{Counted, Labels, Sli, Slo};
use crate::time::Timestamp;

mod lines;
mod replay;
mod score;

pub use replay::Replayer;

/// The default step between evaluations.
pub const DEFAULT_STEP: Duration = Duration::from_mins(1);
/// The most steps a replay takes: a few bytes each per window and series
/// stay in memory (10 million is 19 years at 1m, or 115 days at 1s).
pub const MAX_STEPS: u64 = 10_000_000;
/// The default spacing of the budget timeline.
pub const DEFAULT_BUDGET_EVERY: Duration = Duration::from_hours(1);

/// What a backtest replays and scores against.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The first evaluation (ms).
    pub start: Timestamp,
    /// The last evaluation (ms), included when on a step.
    pub end: Timestamp,
    /// The time between evaluations (the rule group's interval).
    pub step: Duration,
    /// The time between points of the budget timeline (rounded down to
    /// whole steps; the last step is always a point).
    pub budget_every: Duration,
    /// The ground truth.
    pub incidents: Incidents,
    /// Also report each long window's burn rate at every step
    /// ([`InstanceReport::burn_rates`], what a plot draws); off by default:
    /// it costs a measurement per step and window.
    pub burn_rates: bool,
}

impl Options {
    /// Replays `[start, end]` every minute, with the budget every hour and
    /// incidents detected with the default [`Significance`].
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        Self {
            start,
            end,
            step: DEFAULT_STEP,
            budget_every: DEFAULT_BUDGET_EVERY,
            incidents: Incidents::Detect(Significance::default()),
            burn_rates: false,
        }
    }
}

impl Options {
    /// [`Options::new`] over the whole of `data`'s history, from its first
    /// sample to its last; `None` for data without samples.
    pub fn covering(data: &Dataset) -> Option<Self> {
        let (start, end) = data.time_range()?;
        Some(Self::new(start, end))
    }
}

/// Where the incidents come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Incidents {
    /// Given (e.g. from an incidents file); those that apply to the SLO and
    /// instance are used.
    Given(Vec<Incident>),
    /// Found in the data.
    Detect(Significance),
}

/// When a budget burn found in the data counts as an incident.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Significance {
    /// The window whose burn rate is watched.
    pub window: Duration,
    /// Burning means a burn rate above this over `window`.
    pub min_burn_rate: f64,
    /// Burns separated by less than this are one incident.
    pub merge_gap: Duration,
    /// The share of the period's budget an incident must spend.
    pub min_budget_share: f64,
    /// An incident burning at least this fast on average should page; a
    /// slower one should ticket.
    pub page_burn_rate: f64,
}

impl Default for Significance {
    fn default() -> Self {
        Self {
            window: Duration::from_mins(5),
            min_burn_rate: 1.0,
            merge_gap: Duration::from_mins(10),
            min_budget_share: 0.02,
            page_burn_rate: 6.0,
        }
    }
}

/// Where a report's incidents came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSource {
    /// Given to the backtest.
    Given,
    /// Detected in the data.
    Detected,
}

/// The backtest of one SLO.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// The service.
    pub service: String,
    /// The SLO.
    pub slo: String,
    /// The objective, in percent.
    pub objective: f64,
    /// The SLO's period.
    pub period: Duration,
    /// The first evaluation (ms).
    pub start: Timestamp,
    /// The last evaluation (ms).
    pub end: Timestamp,
    /// The step.
    pub step: Duration,
    /// The evaluations, from `start` to `end`.
    pub steps: usize,
    /// The history the budget at `end` is measured over: the period, or
    /// less when the data begins later. Then the budget is the error ratio
    /// of that history set against the whole period's budget, as if the
    /// rest of the period ran the same (an extrapolation to say).
    pub budget_history: Duration,
    /// Where the incidents came from.
    pub incident_source: IncidentSource,
    /// One report per instance, sorted by labels.
    pub instances: Vec<InstanceReport>,
    /// Things the reader should know (e.g. a selector matching nothing).
    pub warnings: Vec<String>,
}

impl Report {
    /// The instance with exactly these labels.
    pub fn instance(&self, labels: &Labels) -> Option<&InstanceReport> {
        self.instances.iter().find(|i| i.labels == *labels)
    }
}

/// The backtest of one SLO instance.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct InstanceReport {
    /// The instance's `group_by` labels (empty without `group_by`).
    pub labels: Labels,
    /// Evaluations at which the shortest window measured an error ratio
    /// (had samples and traffic). Zero: nothing in the range could alert,
    /// which "no alerts" must not hide.
    pub steps_with_data: usize,
    /// The alerts, by tier then start.
    pub alerts: Vec<AlertInterval>,
    /// The budget remaining over time.
    pub budget: Vec<BudgetPoint>,
    /// Each incident and how each tier did on it.
    pub incidents: Vec<IncidentOutcome>,
    /// Scores per tier, then for all tiers together.
    pub quality: Vec<TierQuality>,
    /// With [`Options::burn_rates`]: each pair's long window (shortest
    /// first) and its burn rate at every step that measured one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub burn_rates: Vec<BurnRateLine>,
    /// With [`Options::burn_rates`]: the shortest window's traffic and
    /// error ratio at every step that measured one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// With [`Options::burn_rates`], for a latency SLI: p50, p90 and p99
    /// over the traffic's window at every step, from every bucket of the
    /// histogram in the data ([`crate::quantile`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<crate::quantile::Latency>,
}

/// The shortest window's measurements over the replay: request rate and
/// error ratio, what a traffic graph draws.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Traffic {
    /// The window (the policy's shortest).
    pub window: Duration,
    /// `(time, events per second, error ratio)` at every step where the
    /// window had traffic; the rate is absent for a `raw` SLI, which
    /// counts no events.
    pub points: Vec<(Timestamp, Option<f64>, f64)>,
}

/// One window's burn rate over the replay.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BurnRateLine {
    /// The window.
    pub window: Duration,
    /// `(time, burn rate)` at every step where the window had traffic.
    pub points: Vec<(Timestamp, f64)>,
}

impl InstanceReport {
    /// The alerts of one tier.
    pub fn alerts_of(&self, severity: Severity) -> impl Iterator<Item = &AlertInterval> {
        self.alerts.iter().filter(move |a| a.severity == severity)
    }

    /// The scores of one tier (`None`: all tiers together).
    pub fn quality_of(&self, severity: Option<Severity>) -> Option<&TierQuality> {
        self.quality.iter().find(|q| q.severity == severity)
    }
}

/// One alert: from the step it started firing to the step it resolved.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AlertInterval {
    /// The tier.
    pub severity: Severity,
    /// When the condition started to hold (differs from `start` with `for`).
    pub active_since: Timestamp,
    /// When it started firing (ms).
    pub start: Timestamp,
    /// When it resolved (ms); `None` when still firing at the end.
    pub end: Option<Timestamp>,
    /// The highest short-window burn rate of a firing pair while it fired.
    pub peak_burn_rate: f64,
}

/// The budget at one time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct BudgetPoint {
    /// The time (ms).
    pub time: Timestamp,
    /// The error ratio over the period up to `time` (or the history
    /// available); `None` without traffic.
    pub error_ratio: Option<f64>,
    /// The share of the budget left (negative when overspent).
    pub remaining: Option<f64>,
}

/// How the alerts did on one incident.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct IncidentOutcome {
    /// The incident.
    pub incident: Incident,
    /// The share of the period's budget it spent.
    pub budget_consumed: Option<f64>,
    /// Per tier, then all tiers together.
    pub detections: Vec<Detection>,
}

/// How one tier did on one incident.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Detection {
    /// The tier (`None`: any tier).
    pub severity: Option<Severity>,
    /// Whether the tier was expected to catch the incident.
    pub expected: bool,
    /// When the first alert that caught it fired; `None`: missed.
    pub fired_at: Option<Timestamp>,
    /// Seconds from the incident's start to `fired_at`; `None` when missed,
    /// or when both began before the range (the real firing time is not
    /// in it).
    pub detection_secs: Option<f64>,
    /// Seconds from the incident's end to the end of the last alert that
    /// caught it; `None` when missed or still firing at the end.
    pub reset_secs: Option<f64>,
    /// The share of the period's budget spent between the incident's start
    /// and `fired_at`.
    pub budget_before_firing: Option<f64>,
}

/// Scores of one tier (or of all tiers) over every incident.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TierQuality {
    /// The tier (`None`: all tiers together).
    pub severity: Option<Severity>,
    /// Alerts sent.
    pub alerts: usize,
    /// Alerts that caught an incident the tier is expected to catch (for
    /// tickets and all tiers: any incident).
    pub true_alerts: usize,
    /// Alerts already active at the range's start that caught no incident
    /// in it: what they were about may lie before the range, so they are
    /// neither true nor false alerts (see Scoring in the module's docs).
    pub unscored: usize,
    /// `true_alerts / (alerts - unscored)`; `None` without such alerts.
    pub precision: Option<f64>,
    /// Incidents the tier is expected to catch.
    pub incidents: usize,
    /// Of those, the ones it caught.
    pub detected: usize,
    /// `detected / incidents`; `None` without incidents.
    pub recall: Option<f64>,
    /// Mean detection time over the detected incidents, in seconds.
    pub mean_detection_secs: Option<f64>,
    /// Longest detection time, in seconds.
    pub max_detection_secs: Option<f64>,
    /// Mean reset time over the detected incidents whose alerts ended.
    pub mean_reset_secs: Option<f64>,
    /// Mean share of the budget spent before the alert fired.
    pub mean_budget_before_firing: Option<f64>,
    /// Largest share of the budget spent before the alert fired.
    pub max_budget_before_firing: Option<f64>,
}

/// Backtests `slo` over `data`.
pub fn backtest(slo: &Slo, data: &Dataset, options: &Options) -> Result<Report, ReplayError> {
    let mut replayer = Replayer::new(slo, options)?;
    let instances = events::event_series(slo, data)?;
    let mut warnings = Vec::new();
    if let Sli::Ratio(r) = &slo.sli
        && let Counted::Errors(sel) = &r.counted
        && instances.iter().all(|i| i.counted.is_empty())
    {
        warnings.push(format!(
            "no series match the errors selector `{sel}`: counted as no errors at all"
        ));
    }
    let mut instances: Vec<InstanceReport> = instances.iter().map(|i| replayer.replay(i)).collect();
    if let Sli::Latency(l) = &slo.sli
        && options.burn_rates
    {
        latency_lines(l, data, &replayer.steps, &mut instances);
    }
    let end = replayer.steps.end();
    // The data inside the period before `end`: a range that ends after the
    // data does not count the days without any as history.
    let history = data.time_range().map_or(0, |(first, last)| {
        let from = end.saturating_sub(millis(slo.period)).max(first);
        end.min(last).saturating_sub(from).max(0)
    });
    let budget_history = Duration::from_millis(u64::try_from(history).unwrap_or(0)).min(slo.period);
    Ok(Report {
        service: slo.service.clone(),
        slo: slo.name.clone(),
        objective: slo.objective.percent(),
        period: slo.period,
        start: replayer.steps.start(),
        end,
        step: options.step,
        steps: replayer.steps.len(),
        budget_history,
        incident_source: match options.incidents {
            Incidents::Given(_) => IncidentSource::Given,
            Incidents::Detect(_) => IncidentSource::Detected,
        },
        instances,
        warnings,
    })
}

/// Each instance's latency percentiles over the window of its traffic
/// graph; an instance without a histogram of its own gets no points (a
/// gap, said so on the page).
fn latency_lines(
    l: &crate::spec::LatencySli,
    data: &Dataset,
    steps: &crate::series::Steps,
    instances: &mut [InstanceReport],
) {
    let Some(window) = instances
        .iter()
        .find_map(|i| Some(i.traffic.as_ref()?.window))
    else {
        return;
    };
    let mut lines = match crate::quantile::percentiles(l, data, steps, window) {
        Ok(lines) => lines,
        Err(e) => {
            for i in instances.iter_mut() {
                i.latency = Some(crate::quantile::Latency::failed(l, window, e.to_string()));
            }
            return;
        }
    };
    for i in instances.iter_mut() {
        i.latency = Some(lines.remove(&i.labels).unwrap_or_else(|| {
            crate::quantile::Latency::failed(l, window, "no bucket series of this instance".into())
        }));
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Bad and total events of an instance over `[from, to]` (`increase()` of
/// each counter over the range, or the slices in it, summed); `None`
/// without total events.
fn events_between(inst: &EventSeries<'_>, from: Timestamp, to: Timestamp) -> Option<(f64, f64)> {
    let (total, counted) = inst.source.reductions();
    let sum = |series: &[&crate::series::Series], reduce| {
        series
            .iter()
            .filter_map(|s| s.reduce(reduce, from, to))
            .fold(None, |acc: Option<f64>, x| Some(acc.unwrap_or(0.0) + x))
    };
    events::bad_and_total(
        sum(&inst.total, total),
        sum(&inst.counted, counted),
        inst.counts,
    )
}

/// The events a full period would hold at the traffic seen over the period
/// before `t` (or the history available).
fn period_events(slo: &Slo, inst: &EventSeries<'_>, t: Timestamp) -> Option<f64> {
    let period = millis(slo.period);
    let history_start = inst
        .total
        .iter()
        .filter_map(|s| s.time_range())
        .map(|(a, _)| a)
        .min()?;
    let from = t.saturating_sub(period).max(history_start);
    let (_, total) = events_between(inst, from, t)?;
    let covered = (t - from) as f64;
    (covered > 0.0).then(|| total / covered * period as f64)
}

/// The share of the period's budget spent by the bad events of
/// `[from, to]`.
fn budget_spent(
    slo: &Slo,
    budget: &ErrorBudget,
    inst: &EventSeries<'_>,
    from: Timestamp,
    to: Timestamp,
) -> Option<f64> {
    if to <= from {
        return Some(0.0);
    }
    let (bad, _) = events_between(inst, from, to)?;
    let budget_events = budget.fraction() * period_events(slo, inst, to)?;
    (budget_events > 0.0).then(|| bad / budget_events)
}
