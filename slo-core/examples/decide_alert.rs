//! Decides an alert from numbers, with no spec file and no Prometheus: a
//! 99.9% SLO over 30 days with the SRE Workbook's policy, and five
//! evaluations a minute apart of what the windows measured. Each evaluation
//! is [`alert::decide`]d into per-pair decisions, reduced to the page tier's
//! three-valued [`Outcome`], and stepped through the [`AlertState`] machine
//! with a `for` of 2 minutes. The fourth evaluation has no data in the short
//! windows (say, Prometheus was restarting): the outcome is unknown and the
//! firing alert is held, not resolved.
//!
//! ```sh
//! cargo run -p slo-core --example decide_alert
//! ```

use std::fmt::Write as _;

use slo_core::alert::{self, AlertState, Measurement, Outcome};
use slo_core::budget::{ErrorBudget, Objective};
use slo_core::duration::Duration;
use slo_core::num;
use slo_core::policy::{Policy, Severity};

fn main() -> Result<(), String> {
    print!("{}", scenario()?);
    Ok(())
}

/// One evaluation: the error ratio measured over the long windows (1h and
/// up) and over the short ones (`None`: no samples), with 10,000 events in
/// every window.
const EVALUATIONS: [(f64, Option<f64>); 5] = [
    (0.02, Some(0.02)),
    (0.02, Some(0.02)),
    (0.02, Some(0.02)),
    (0.02, None),
    (0.02, Some(0.0)),
];

/// Runs the evaluations and describes each, one line per evaluation.
pub(crate) fn scenario() -> Result<String, String> {
    let objective = Objective::from_percent(99.9).map_err(|e| e.to_string())?;
    let budget = ErrorBudget::new(objective, Duration::from_days(30));
    let policy = Policy::workbook(budget.period);
    let hold_for = Some(Duration::from_mins(2));
    let mut out = String::new();
    for pair in policy.tier(Severity::Page) {
        let _ = writeln!(
            out,
            "page pair {}/{}: fires above error ratio {}",
            pair.long,
            pair.short,
            num::format(num::canonical(pair.error_ratio_threshold(&budget))),
        );
    }
    let mut state = AlertState::Inactive;
    for (i, (long, short)) in EVALUATIONS.into_iter().enumerate() {
        let now = i64::try_from(i).map_err(|e| e.to_string())? * 60_000;
        let decision = alert::decide(&policy, &budget, 0.0, |window| {
            let ratio = if window >= Duration::from_hours(1) {
                Some(long)
            } else {
                short
            };
            ratio.map(|error_ratio| Measurement {
                error_ratio,
                events: Some(10_000.0),
            })
        });
        let outcome = decision.outcome(Severity::Page);
        state = state.step(outcome, hold_for, now);
        let _ = writeln!(
            out,
            "t={}m long={} short={}: page {} -> {}",
            i,
            num::format(long),
            short.map_or_else(|| "none".to_owned(), num::format),
            describe(outcome),
            describe_state(state),
        );
    }
    Ok(out)
}

fn describe(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Firing => "firing",
        Outcome::NotFiring => "not firing",
        Outcome::Unknown => "unknown",
    }
}

fn describe_state(state: AlertState) -> String {
    let m = |t: i64| t / 60_000;
    match state {
        AlertState::Inactive => "inactive".to_owned(),
        AlertState::Pending { active_since } => format!("pending since {}m", m(active_since)),
        AlertState::Firing { started_at, .. } => format!("firing since {}m", m(started_at)),
        AlertState::Resolved {
            started_at,
            resolved_at,
            ..
        } => format!(
            "resolved at {}m (fired from {}m)",
            m(resolved_at),
            m(started_at)
        ),
    }
}
