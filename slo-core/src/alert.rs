//! Alert decisions: which pairs and tiers fire, given what each window
//! measured.
//!
//! A pair fires when **all** of these hold:
//!
//! - both windows have a measurement whose error ratio is a finite number;
//!   a window with no traffic measures `0 / 0 = NaN` and never fires, so **no
//!   traffic never pages** (the data-absent alert, not the burn-rate alert,
//!   covers a service that went silent);
//! - both error ratios are strictly above the pair's threshold `f * b`;
//! - when `min_events` is above zero, the long window counted at least that
//!   many events (the low-traffic guard). A window whose event count is
//!   unknown (raw SLIs) or negative (broken data) fails the guard.
//!
//! Deciding is monotone: raising error ratios never stops a pair firing.
//!
//! ```
//! use slo_core::alert::{decide, Measurement};
//! use slo_core::budget::{ErrorBudget, Objective};
//! use slo_core::duration::Duration;
//! use slo_core::policy::{Policy, Severity};
//!
//! let budget = ErrorBudget::new(Objective::from_percent(99.9)?, Duration::from_days(30));
//! let policy = Policy::workbook(budget.period);
//! // 5% errors everywhere, with plenty of traffic: both page pairs fire.
//! let decision = decide(&policy, &budget, 0.0, |_window| {
//!     Some(Measurement { error_ratio: 0.05, events: Some(10_000.0) })
//! });
//! assert!(decision.firing(Severity::Page));
//! assert!(decision.firing(Severity::Ticket));
//! # Ok::<(), slo_core::errors::ObjectiveError>(())
//! ```

use crate::budget::ErrorBudget;
use crate::duration::Duration;
use crate::policy::{Policy, Severity, WindowPair};

/// What one window measured.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Measurement {
    /// Bad events over all events in the window (NaN without traffic).
    pub error_ratio: f64,
    /// Events counted in the window, when the SLI can count them.
    pub events: Option<f64>,
}

/// Why a pair that might otherwise fire did not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// A window had no measurement or a NaN/infinite ratio (no traffic).
    NoData,
    /// The long window counted fewer events than `min_events`.
    TooFewEvents,
}

/// The decision for one window pair.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PairDecision {
    /// The pair decided on.
    #[serde(skip)]
    pub pair: WindowPair,
    /// The error ratio both windows must exceed.
    pub threshold: f64,
    /// What the long window measured.
    pub long: Option<Measurement>,
    /// What the short window measured.
    pub short: Option<Measurement>,
    /// True when the pair fires.
    pub firing: bool,
    /// Set when a guard held the pair back.
    pub held: Option<Hold>,
}

/// The decision for every pair of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// One entry per pair, in policy order (pages first).
    pub pairs: Vec<PairDecision>,
}

impl Decision {
    /// True when any pair of `severity` fires.
    pub fn firing(&self, severity: Severity) -> bool {
        self.tier(severity).any(|p| p.firing)
    }

    /// The pair decisions of one tier.
    pub fn tier(&self, severity: Severity) -> impl Iterator<Item = &PairDecision> {
        self.pairs
            .iter()
            .filter(move |p| p.pair.severity == severity)
    }
}

fn usable(m: Option<Measurement>) -> Option<Measurement> {
    m.filter(|m| m.error_ratio.is_finite())
}

/// Decides one pair from the measurements of its two windows.
pub fn decide_pair(
    pair: &WindowPair,
    budget: &ErrorBudget,
    min_events: f64,
    long: Option<Measurement>,
    short: Option<Measurement>,
) -> PairDecision {
    let threshold = pair.error_ratio_threshold(budget);
    let mut decision = PairDecision {
        pair: *pair,
        threshold,
        long,
        short,
        firing: false,
        held: None,
    };
    let (Some(l), Some(s)) = (usable(long), usable(short)) else {
        decision.held = Some(Hold::NoData);
        return decision;
    };
    // Both above the threshold. A NaN threshold (broken budget) compares false.
    if !(l.error_ratio > threshold && s.error_ratio > threshold) {
        return decision;
    }
    // The guard only matters for pairs that would fire; `>=` on a NaN or
    // missing count is false, so unknown counts fail a non-zero guard.
    if min_events > 0.0 && !l.events.is_some_and(|n| n >= min_events) {
        decision.held = Some(Hold::TooFewEvents);
        return decision;
    }
    decision.firing = true;
    decision
}

/// Decides every pair of `policy`, reading each window's measurement from
/// `measure` (called once per distinct window).
pub fn decide(
    policy: &Policy,
    budget: &ErrorBudget,
    min_events: f64,
    mut measure: impl FnMut(Duration) -> Option<Measurement>,
) -> Decision {
    let measured: Vec<(Duration, Option<Measurement>)> = policy
        .windows()
        .into_iter()
        .map(|w| (w, measure(w)))
        .collect();
    let lookup = |w: Duration| {
        measured
            .iter()
            .find(|(window, _)| *window == w)
            .and_then(|(_, m)| *m)
    };
    let pairs = policy
        .pairs()
        .iter()
        .map(|pair| {
            decide_pair(
                pair,
                budget,
                min_events,
                lookup(pair.long),
                lookup(pair.short),
            )
        })
        .collect();
    Decision { pairs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Objective;

    fn setup() -> (Policy, ErrorBudget) {
        let objective = Objective::from_percent(99.9).unwrap_or_else(|e| panic!("{e}"));
        let budget = ErrorBudget::new(objective, Duration::from_days(30));
        (Policy::workbook(budget.period), budget)
    }

    fn m(error_ratio: f64, events: f64) -> Option<Measurement> {
        Some(Measurement {
            error_ratio,
            events: Some(events),
        })
    }

    #[test]
    fn no_traffic_never_pages() {
        let (policy, budget) = setup();
        let d = decide(&policy, &budget, 0.0, |_| m(f64::NAN, 0.0));
        assert!(!d.firing(Severity::Page) && !d.firing(Severity::Ticket));
        assert!(d.pairs.iter().all(|p| p.held == Some(Hold::NoData)));
        let d = decide(&policy, &budget, 0.0, |_| None);
        assert!(!d.firing(Severity::Page));
    }

    #[test]
    fn both_windows_must_exceed_the_threshold() {
        let (policy, budget) = setup();
        // Long window burning, short window recovered: the page resets.
        let d = decide(&policy, &budget, 0.0, |w| {
            if w == Duration::from_mins(5) {
                m(0.0, 100.0)
            } else {
                m(0.5, 1e4)
            }
        });
        assert!(!d.pairs[0].firing);
        // The 6h/30m pair still sees the burn in both windows.
        assert!(d.pairs[1].firing);
    }

    #[test]
    fn min_events_holds_low_traffic_pairs() {
        let (policy, budget) = setup();
        let d = decide(&policy, &budget, 100.0, |_| m(0.1, 10.0));
        assert!(!d.firing(Severity::Page));
        assert_eq!(d.pairs[0].held, Some(Hold::TooFewEvents));
        let d = decide(&policy, &budget, 100.0, |_| m(0.1, 100.0));
        assert!(d.firing(Severity::Page));
        // Unknown counts cannot satisfy a guard.
        let d = decide(&policy, &budget, 1.0, |_| {
            Some(Measurement {
                error_ratio: 0.1,
                events: None,
            })
        });
        assert!(!d.firing(Severity::Page));
    }

    #[test]
    fn threshold_is_strict() {
        let (policy, budget) = setup();
        let d = decide(&policy, &budget, 0.0, |_| m(0.0144, 1e6));
        assert!(!d.pairs[0].firing);
        assert!(d.pairs[1].firing);
    }
}
