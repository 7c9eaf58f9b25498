//! Multi-window, multi-burn-rate alert policies.
//!
//! A policy is a list of [`WindowPair`]s, each with a severity tier, a long
//! and a short window and a burn-rate factor `f`. A pair fires while the
//! error ratio over *both* windows exceeds `f * b`; a tier fires while any of
//! its pairs does. The factor comes from the share of the budget a pair may
//! spend before alerting: `f = share * period / long`.
//!
//! ```
//! use slo_core::budget::{ErrorBudget, Objective};
//! use slo_core::duration::Duration;
//! use slo_core::policy::Policy;
//!
//! let budget = ErrorBudget::new(Objective::from_percent(99.9)?, Duration::from_days(30));
//! let policy = Policy::workbook(budget.period);
//! let factors: Vec<String> = policy.pairs().iter().map(|p| slo_core::num::format(p.factor)).collect();
//! assert_eq!(factors, ["14.4", "6", "3", "1"]);
//!
//! // A total outage is detected by the 1h/5m pair in 51.84 s.
//! let page = &policy.pairs()[0];
//! assert_eq!(page.detection_time(&budget, 1.0).map(slo_core::num::canonical), Some(51.84));
//! # Ok::<(), slo_core::errors::ObjectiveError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;

use crate::budget::ErrorBudget;
use crate::duration::Duration;

/// Alert tiers, fastest first. Each tier becomes one alert rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wakes someone up: fast, large burns.
    Page,
    /// Goes to a queue: slow burns that would still exhaust the budget.
    Ticket,
}

impl Severity {
    /// Both tiers, fastest first.
    pub const ALL: [Severity; 2] = [Severity::Page, Severity::Ticket];

    /// The lower-case name used in specs, labels and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }

    /// Parses `page` or `ticket`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a configured pair states its threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// Share of the period's budget (0.02 for 2%) the pair may spend over its
    /// long window before it fires; the factor follows from the period.
    BudgetShare(f64),
    /// The burn-rate factor itself.
    Factor(f64),
}

/// A window pair as written in a spec, before the period is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowSpec {
    /// The tier this pair alerts on.
    pub severity: Severity,
    /// The long window: sets the budget spent before firing.
    pub long: Duration,
    /// The short window: makes the alert reset quickly once errors stop.
    pub short: Duration,
    /// The pair's threshold.
    pub threshold: Threshold,
}

/// Named policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// The SRE Workbook's table 5-8 plus its 24h ticket row, as budget shares:
    /// page 1h/5m at 2% and 6h/30m at 5%, ticket 1d/2h and 3d/6h at 10% each.
    Workbook,
}

impl Preset {
    /// Preset names accepted in specs, with the period each is meant for
    /// (`None`: any period).
    pub const NAMES: [(&'static str, Preset, Option<Duration>); 3] = [
        ("workbook", Preset::Workbook, None),
        (
            "google-30d",
            Preset::Workbook,
            Some(Duration::from_days(30)),
        ),
        (
            "google-28d",
            Preset::Workbook,
            Some(Duration::from_days(28)),
        ),
    ];

    /// Looks a preset up by name; also returns the period it is meant for.
    pub fn by_name(name: &str) -> Option<(Preset, Option<Duration>)> {
        Self::NAMES
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, p, period)| (*p, *period))
    }

    /// The preset's window pairs.
    pub fn windows(self) -> Vec<WindowSpec> {
        match self {
            Preset::Workbook => {
                let pair = |severity, long, short, share| WindowSpec {
                    severity,
                    long,
                    short,
                    threshold: Threshold::BudgetShare(share),
                };
                vec![
                    pair(
                        Severity::Page,
                        Duration::from_hours(1),
                        Duration::from_mins(5),
                        0.02,
                    ),
                    pair(
                        Severity::Page,
                        Duration::from_hours(6),
                        Duration::from_mins(30),
                        0.05,
                    ),
                    pair(
                        Severity::Ticket,
                        Duration::from_days(1),
                        Duration::from_hours(2),
                        0.10,
                    ),
                    pair(
                        Severity::Ticket,
                        Duration::from_days(3),
                        Duration::from_hours(6),
                        0.10,
                    ),
                ]
            }
        }
    }
}

/// The windows of an SLO that names none: the Workbook's, with the slow
/// ticket pair (3d/6h) at the Workbook's burn rate 1 for a 28-day period.
/// Its 10% share is burn rate 1 over 30 days, but 0.933 over 28 days: a
/// pair that fires while the budget lasts, which the loader rightly warns
/// about, so a default must not produce it.
pub fn default_windows(period: Duration) -> Vec<WindowSpec> {
    let mut windows = Preset::Workbook.windows();
    if period == Duration::from_days(28) {
        for w in &mut windows {
            if w.long == Duration::from_days(3) {
                w.threshold = Threshold::Factor(1.0);
            }
        }
    }
    windows
}

/// A window pair resolved for a period: the factor is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowPair {
    /// The tier this pair alerts on.
    pub severity: Severity,
    /// The long window.
    pub long: Duration,
    /// The short window.
    pub short: Duration,
    /// The burn-rate factor `f`.
    pub factor: f64,
}

impl WindowSpec {
    /// Resolves the factor for `period`: `f = share * period / long`.
    pub fn resolve(&self, period: Duration) -> WindowPair {
        let factor = match self.threshold {
            Threshold::Factor(f) => f,
            Threshold::BudgetShare(share) => share * period.as_secs_f64() / self.long.as_secs_f64(),
        };
        WindowPair {
            severity: self.severity,
            long: self.long,
            short: self.short,
            factor,
        }
    }
}

impl WindowPair {
    /// The error ratio both windows must exceed: `f * b`.
    pub fn error_ratio_threshold(&self, budget: &ErrorBudget) -> f64 {
        // Rounded so that the evaluator compares against exactly the number
        // the generated rules print.
        crate::num::canonical(budget.error_ratio_at(self.factor))
    }

    /// The share of the period's budget spent when the pair fires:
    /// `f * W_long / P`.
    pub fn budget_consumed(&self, budget: &ErrorBudget) -> f64 {
        budget.consumed(self.factor, self.long)
    }

    /// False when the threshold is at or above an error ratio of 1: even a
    /// total outage cannot fire the pair (`f >= 1 / b`).
    pub fn can_fire(&self, budget: &ErrorBudget) -> bool {
        self.error_ratio_threshold(budget) < 1.0
    }

    /// Seconds from the start of a constant error ratio `e` (after a clean
    /// history and with steady traffic) until the pair fires:
    /// `f * b * W_long / e`. `None` when `e` never exceeds the threshold.
    pub fn detection_time(&self, budget: &ErrorBudget, error_ratio: f64) -> Option<f64> {
        let threshold = self.error_ratio_threshold(budget);
        (error_ratio > threshold && error_ratio <= 1.0)
            .then(|| threshold * self.long.as_secs_f64() / error_ratio)
    }

    /// Seconds from the end of a long incident at constant error ratio `e`
    /// until the pair stops firing: the short window must drain below the
    /// threshold, `W_short * (1 - f * b / e)`. `None` when the pair never
    /// fired at `e`.
    pub fn reset_time(&self, budget: &ErrorBudget, error_ratio: f64) -> Option<f64> {
        let threshold = self.error_ratio_threshold(budget);
        (error_ratio > threshold && error_ratio <= 1.0)
            .then(|| self.short.as_secs_f64() * (1.0 - threshold / error_ratio))
    }
}

/// What a pair does under a constant error ratio: the numbers `explain`
/// prints. Every number is rounded with [`num::canonical`](crate::num::canonical).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PairExplanation {
    /// The tier.
    pub severity: Severity,
    /// The long window.
    pub long: Duration,
    /// The short window.
    pub short: Duration,
    /// The burn-rate factor.
    pub factor: f64,
    /// The error ratio both windows must exceed.
    pub error_ratio_threshold: f64,
    /// The share of the period's budget spent when the pair fires.
    pub budget_consumed: f64,
    /// Seconds until the pair fires at the given error ratio (`None`: never).
    pub detection_seconds: Option<f64>,
    /// Seconds until the pair clears after the errors stop (`None`: never fired).
    pub reset_seconds: Option<f64>,
    /// False when even a total outage cannot fire the pair.
    pub can_fire: bool,
}

impl WindowPair {
    /// The pair's numbers under a constant `error_ratio`.
    pub fn explain(&self, budget: &ErrorBudget, error_ratio: f64) -> PairExplanation {
        use crate::num::canonical;
        PairExplanation {
            severity: self.severity,
            long: self.long,
            short: self.short,
            factor: canonical(self.factor),
            error_ratio_threshold: canonical(self.error_ratio_threshold(budget)),
            budget_consumed: canonical(self.budget_consumed(budget)),
            detection_seconds: self.detection_time(budget, error_ratio).map(canonical),
            reset_seconds: self.reset_time(budget, error_ratio).map(canonical),
            can_fire: self.can_fire(budget),
        }
    }
}

/// Whole slices for a time-slice SLI (`slices`), whose windows only change
/// once per slice.
///
/// A window's error ratio is the share of bad slices in it, so it changes
/// only at slice boundaries. Under a constant share `e` of bad slices (a
/// sustained outage makes every slice bad, `e = 1`), the long window
/// exceeds `f * b` once it holds more than `f * b * W / slice` bad slices:
/// detection is the first slice boundary **strictly after** the continuous
/// `f * b * W / e` (at exactly that many slices the ratio equals the
/// threshold, which does not fire). Reset is the first slice boundary **at
/// or after** the continuous `W_short * (1 - f * b / e)` (the short window
/// stops firing once its ratio is back at the threshold). Both are computed
/// from the continuous times rounded to 12 significant digits first, so
/// float noise cannot move a result by a slice.
impl PairExplanation {
    /// The explanation with detection and reset counted in whole slices.
    pub fn in_slices(mut self, slice: Duration) -> Self {
        self.detection_seconds = self.detection_seconds.map(|t| slice_detection(t, slice));
        self.reset_seconds = self.reset_seconds.map(|t| slice_reset(t, slice));
        self
    }
}

/// Detection in whole slices: the first slice boundary strictly after
/// `seconds` (see [`PairExplanation::in_slices`]).
pub fn slice_detection(seconds: f64, slice: Duration) -> f64 {
    let s = slice.as_secs_f64();
    if s <= 0.0 {
        return seconds;
    }
    let n = crate::num::round_sig(seconds / s, 12);
    (n.floor() + 1.0) * s
}

/// Reset in whole slices: the first slice boundary at or after `seconds`.
pub fn slice_reset(seconds: f64, slice: Duration) -> f64 {
    let s = slice.as_secs_f64();
    if s <= 0.0 {
        return seconds;
    }
    crate::num::round_sig(seconds / s, 12).ceil() * s
}

/// A policy: window pairs resolved for one period, fastest tier first.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pairs: Vec<WindowPair>,
}

impl Policy {
    /// Resolves `specs` for `period`, keeping their order within a tier and
    /// putting pages before tickets.
    pub fn new(specs: &[WindowSpec], period: Duration) -> Self {
        let mut pairs: Vec<WindowPair> = specs.iter().map(|s| s.resolve(period)).collect();
        pairs.sort_by_key(|p| p.severity);
        Self { pairs }
    }

    /// The Workbook policy for `period`.
    pub fn workbook(period: Duration) -> Self {
        Self::new(&Preset::Workbook.windows(), period)
    }

    /// Keeps only the pairs for which `keep` is true (e.g. a disabled tier).
    pub fn retain(&mut self, keep: impl FnMut(&WindowPair) -> bool) {
        self.pairs.retain(keep);
    }

    /// All pairs, pages first.
    pub fn pairs(&self) -> &[WindowPair] {
        &self.pairs
    }

    /// The pairs of one tier.
    pub fn tier(&self, severity: Severity) -> impl Iterator<Item = &WindowPair> {
        self.pairs.iter().filter(move |p| p.severity == severity)
    }

    /// The tiers that have at least one pair, fastest first.
    pub fn severities(&self) -> Vec<Severity> {
        let mut tiers: Vec<Severity> = self.pairs.iter().map(|p| p.severity).collect();
        tiers.dedup();
        tiers
    }

    /// Every distinct window (long and short) the policy reads, shortest
    /// first: what must be recorded or queried.
    pub fn windows(&self) -> BTreeSet<Duration> {
        self.pairs.iter().flat_map(|p| [p.long, p.short]).collect()
    }

    /// The longest window of the policy.
    pub fn longest_window(&self) -> Option<Duration> {
        self.pairs.iter().map(|p| p.long.max(p.short)).max()
    }

    /// Seconds until the fastest pair of `severity` (or of any tier, for
    /// `None`) fires at a constant error ratio: the minimum over pairs, since
    /// a tier ORs them.
    pub fn detection_time(
        &self,
        budget: &ErrorBudget,
        severity: Option<Severity>,
        error_ratio: f64,
    ) -> Option<f64> {
        self.pairs
            .iter()
            .filter(|p| severity.is_none_or(|s| s == p.severity))
            .filter_map(|p| p.detection_time(budget, error_ratio))
            .reduce(f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Objective;
    use crate::num;

    fn budget(percent: f64, days: u64) -> ErrorBudget {
        let objective = Objective::from_percent(percent).unwrap_or_else(|e| panic!("{e}"));
        ErrorBudget::new(objective, Duration::from_days(days))
    }

    fn factors(policy: &Policy) -> Vec<String> {
        policy
            .pairs()
            .iter()
            .map(|p| num::format(p.factor))
            .collect()
    }

    #[test]
    fn slices_round_detection_up_past_the_threshold() {
        let b = budget(99.0, 30);
        let policy = Policy::workbook(b.period);
        let page = policy.pairs()[0];
        let minute = Duration::from_mins(1);
        // 14.4 * 1% * 60 min = 8.64 min: the ninth bad minute fires.
        let e = page.explain(&b, 1.0).in_slices(minute);
        assert_eq!(e.detection_seconds, Some(540.0));
        // 5m * (1 - 0.144) = 4.28 min: the fifth good minute clears.
        assert_eq!(e.reset_seconds, Some(300.0));
        // Exactly on a boundary: the ratio equals the threshold there, so
        // one more slice is needed to fire, none to clear.
        assert_eq!(slice_detection(540.0, minute), 600.0);
        assert_eq!(slice_reset(540.0, minute), 540.0);
        assert_eq!(slice_detection(8.999_999_999_999_99 * 60.0, minute), 600.0);
    }

    #[test]
    fn workbook_factors_for_30_and_28_days() {
        assert_eq!(
            factors(&Policy::workbook(Duration::from_days(30))),
            ["14.4", "6", "3", "1"]
        );
        assert_eq!(
            factors(&Policy::workbook(Duration::from_days(28))),
            ["13.44", "5.6", "2.8", "0.933333333333333"]
        );
    }

    #[test]
    fn workbook_reference_detection_times() {
        let b = budget(99.9, 30);
        let page = Policy::workbook(b.period).pairs()[0];
        assert_eq!(
            page.detection_time(&b, 1.0).map(num::canonical),
            Some(51.84)
        );
        assert_eq!(
            page.detection_time(&b, 0.15).map(num::canonical),
            Some(345.6)
        );
        assert_eq!(page.reset_time(&b, 1.0).map(num::canonical), Some(295.68));
        // At exactly the threshold the pair never fires.
        assert_eq!(page.detection_time(&b, 0.0144), None);
        assert_eq!(page.detection_time(&b, f64::NAN), None);
    }

    #[test]
    fn a_pair_above_the_maximum_burn_rate_never_fires() {
        let b = budget(90.0, 30);
        let page = Policy::workbook(b.period).pairs()[0];
        assert!(!page.can_fire(&b));
        assert_eq!(page.detection_time(&b, 1.0), None);
        let ticket = Policy::workbook(b.period).pairs()[3];
        assert!(ticket.can_fire(&b));
    }

    #[test]
    fn policy_windows_and_tiers() {
        let policy = Policy::workbook(Duration::from_days(30));
        let windows: Vec<String> = policy.windows().iter().map(|w| w.to_string()).collect();
        assert_eq!(windows, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
        assert_eq!(policy.severities(), [Severity::Page, Severity::Ticket]);
        assert_eq!(policy.tier(Severity::Ticket).count(), 2);
        assert_eq!(policy.longest_window(), Some(Duration::from_days(3)));
    }
}
