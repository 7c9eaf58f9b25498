//! `slo-eval explain`: each SLO's policy as a table or JSON, with what every
//! window pair does under a constant error ratio.
//!
//! ```
//! let spec = slo_core::load::load_str(
//!     "version: slo/v1\nservice: api\nslos:\n  - name: up\n    objective: 99.9\n    sli:\n      ratio: {errors: e_total, total: t_total}\n",
//! ).map_err(|d| d[0].to_string())?;
//! let e = slo_eval::explain::explain(&spec.slos[0], 1.0);
//! // A total outage trips the 1h/5m page after 51.84 s.
//! assert_eq!(e.alerts[0].detection_seconds, Some(51.84));
//! assert!(slo_eval::explain::table(&e).contains("51.8s"));
//! # Ok::<(), String>(())
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use slo_core::duration::Duration;
use slo_core::num;
use slo_core::policy::PairExplanation;
use slo_core::spec::Slo;

use crate::command;
use crate::errors::Error;
use crate::report::Reporter;
use crate::specs;

/// The arguments of `slo-eval explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The constant error ratio for detection and reset times (1.0 is a
    /// total outage).
    #[arg(long, default_value_t = 1.0)]
    pub error_ratio: f64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `slo-eval explain`: one table per SLO, or one JSON document.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    let error_ratio = args.error_ratio;
    if !(error_ratio > 0.0 && error_ratio <= 1.0) {
        return Err(Error::Usage(format!(
            "--error-ratio {error_ratio} must be above 0 and at most 1"
        )));
    }
    let specs = specs::load_all(&args.paths, reporter)?;
    let slos = specs
        .iter()
        .flat_map(|s| &s.slos)
        .map(|slo| explain(slo, error_ratio))
        .collect();
    let text = command::render(args.json, &Explanation { slos }, |doc| {
        doc.slos.iter().map(table).collect::<Vec<_>>().join("\n")
    })?;
    command::print(&text)
}

/// One SLO's explanation: the `--json` shape.
#[derive(Debug, Serialize)]
pub struct SloExplanation {
    /// The service.
    pub service: String,
    /// The SLO's name.
    pub slo: String,
    /// The objective as a ratio (0.999).
    pub objective: f64,
    /// The rolling period.
    pub period: Duration,
    /// The budget fraction (0.001).
    pub budget_fraction: f64,
    /// The SLI kind (ratio, latency, events, raw).
    pub sli: &'static str,
    /// The constant error ratio the times are computed for.
    pub error_ratio: f64,
    /// Seconds until the whole budget is gone at that error ratio.
    pub time_to_exhaustion_seconds: Option<f64>,
    /// Minimum events in a long window before a pair may fire (slices with
    /// data for a `slices` SLI).
    pub min_events: f64,
    /// The slice of a `slices` SLI: its error ratio is the share of bad
    /// slices, and detection and reset count whole slices.
    pub slice: Option<Duration>,
    /// One row per window pair, pages first.
    pub alerts: Vec<PairExplanation>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct Explanation {
    /// Every SLO of every file, in order.
    pub slos: Vec<SloExplanation>,
}

/// Explains `slo` under a constant `error_ratio`.
pub fn explain(slo: &Slo, error_ratio: f64) -> SloExplanation {
    let budget = slo.budget();
    SloExplanation {
        service: slo.service.clone(),
        slo: slo.name.clone(),
        objective: slo.objective.ratio(),
        period: slo.period,
        budget_fraction: budget.fraction(),
        sli: slo.sli.kind(),
        error_ratio,
        time_to_exhaustion_seconds: budget
            .time_to_exhaustion(budget.burn_rate(error_ratio))
            .map(num::canonical),
        min_events: slo.alerting.min_events,
        slice: slo.sli.slice(),
        alerts: slo
            .policy
            .pairs()
            .iter()
            .map(|p| {
                let e = p.explain(&budget, error_ratio);
                // A slice window only changes at slice boundaries.
                match slo.sli.slice() {
                    Some(slice) => e.in_slices(slice),
                    None => e,
                }
            })
            .collect(),
    }
}

/// Seconds as a Prometheus-style duration, to the second (`51.84` -> `52s`).
fn human(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => {
            if s < 60.0 {
                format!("{}s", num::format(num::round_sig(s, 3)))
            } else {
                Duration::from_secs(s.round() as u64).to_string()
            }
        }
        _ => "never".to_owned(),
    }
}

fn percent(ratio: f64) -> String {
    format!("{}%", num::format(ratio * 100.0))
}

/// A number derived from the spec (a factor, threshold or budget share),
/// to 4 significant digits: over a 4w period a 1h pair's share is
/// 1/672 of the budget times its factor, which has no short decimal form.
/// The inputs (objective, budget, error ratio) print as given, and
/// `--json` keeps every digit.
fn derived(x: f64) -> String {
    num::format(num::round_sig(x, 4))
}

/// The human-readable table for one SLO.
pub fn table(e: &SloExplanation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} / {}: {} over {} ({} sli, budget {})",
        e.service,
        e.slo,
        percent(e.objective),
        e.period,
        e.sli,
        percent(e.budget_fraction),
    );
    let (errors, events) = match e.slice {
        Some(_) => ("bad slices", "slices with data"),
        None => ("errors", "events"),
    };
    let _ = writeln!(
        out,
        "  at {} {errors} the whole budget lasts {}{}",
        percent(e.error_ratio),
        human(e.time_to_exhaustion_seconds),
        if e.min_events > 0.0 {
            format!(
                "; pairs need {} {events} in their long window",
                num::format(e.min_events)
            )
        } else {
            String::new()
        }
    );
    if let Some(slice) = e.slice {
        let _ = writeln!(
            out,
            "  error ratio = share of bad {slice} slices (no data: not counted); detect and reset count whole slices"
        );
    }
    let header = [
        "tier",
        "long",
        "short",
        "factor",
        "threshold",
        "budget",
        "detect",
        "reset",
    ];
    let rows: Vec<[String; 8]> = e
        .alerts
        .iter()
        .map(|a| {
            [
                a.severity.to_string(),
                a.long.to_string(),
                a.short.to_string(),
                derived(a.factor),
                format!("{}%", derived(a.error_ratio_threshold * 100.0)),
                format!("{}%", derived(a.budget_consumed * 100.0)),
                if a.can_fire {
                    human(a.detection_seconds)
                } else {
                    "can never fire".to_owned()
                },
                human(a.reset_seconds),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let mut l = String::from("  ");
        for (cell, w) in cells.iter().zip(widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&header.map(str::to_owned));
    for row in &rows {
        line(row);
    }
    if rows.is_empty() {
        let _ = writeln!(out, "  (every tier is disabled: this SLO never alerts)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_detect_in_whole_slices() {
        let yaml = "version: slo/v1\nservice: web\nslos:\n  - name: floor\n    objective: 99\n    sli:\n      slices: {query: 'sum(rate(x[1m])) * 60', op: '>=', threshold: 1000, slice: 1m}\n";
        let spec = slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let e = explain(&spec.slos[0], 1.0);
        // 14.4 * 1% * 1h = 8.64 min, counted in whole minutes: 9 min.
        assert_eq!(e.alerts[0].detection_seconds, Some(540.0));
        assert_eq!(e.slice, Some(Duration::from_mins(1)));
        assert!(
            table(&e).contains("share of bad 1m slices"),
            "{}",
            table(&e)
        );
    }
}
