//! Objectives, error budgets and burn rates (SRE Workbook, ch. 5).
//!
//! With objective `T` the budget fraction is `b = 1 - T`. An error ratio `e`
//! measured over a window burns the budget at rate `e / b`: at burn rate 1
//! the budget lasts exactly one period.
//!
//! ```
//! use slo_core::budget::{ErrorBudget, Objective};
//! use slo_core::duration::Duration;
//!
//! let budget = ErrorBudget::new(Objective::from_percent(99.9)?, Duration::from_days(30));
//! assert_eq!(budget.fraction(), 0.001);
//! // A total outage burns 1000x: the whole budget is gone in 43.2 minutes.
//! assert_eq!(budget.burn_rate(1.0), 1000.0);
//! let exhaustion = budget.time_to_exhaustion(1000.0).map(|d| d.round());
//! assert_eq!(exhaustion, Some(43.2 * 60.0));
//! # Ok::<(), slo_core::errors::ObjectiveError>(())
//! ```
//!
//! Every function here is total: NaN in gives NaN (or `None`) out, never a panic.

use crate::duration::Duration;
use crate::errors::ObjectiveError;
use crate::num;

/// An SLO objective: the share of events (or time slices) that must be good,
/// strictly between 0 and 1.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Objective {
    ratio: f64,
    /// `1 - ratio` at the objective's precision, computed once: rounding it
    /// exactly goes through decimal text, too slow for every decision.
    budget: f64,
}

impl Objective {
    /// From a percentage such as `99.9`.
    pub fn from_percent(percent: f64) -> Result<Self, ObjectiveError> {
        if percent.is_finite() && percent > 0.0 && percent < 100.0 {
            let ratio = num::canonical(percent / 100.0);
            // Rounding can reach either end: 99.99999999999999 rounds to 1,
            // and a tiny percentage divides to 0 or to a subnormal that has
            // lost its digits.
            if ratio.is_normal() && ratio < 1.0 {
                let budget = num::difference(1.0, ratio);
                return Ok(Self { ratio, budget });
            }
            // In range as written: say it is the rounding, not the range.
            let (end, rounded) = if ratio >= 1.0 { (100, 1) } else { (0, 0) };
            return Err(ObjectiveError::TooPrecise(percent, end, rounded));
        }
        Err(ObjectiveError::OutOfRange(percent))
    }

    /// From a ratio such as `0.999`.
    pub fn from_ratio(ratio: f64) -> Result<Self, ObjectiveError> {
        Self::from_percent(ratio * 100.0)
    }

    /// The objective as a ratio in (0, 1).
    pub fn ratio(self) -> f64 {
        self.ratio
    }

    /// The objective as a percentage.
    pub fn percent(self) -> f64 {
        num::canonical(self.ratio * 100.0)
    }

    /// The budget fraction `1 - T`, rounded to the objective's precision so
    /// that 99.9% gives exactly `0.001`.
    pub fn budget_fraction(self) -> f64 {
        self.budget
    }
}

/// An error budget: an objective over a rolling period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorBudget {
    /// The objective.
    pub objective: Objective,
    /// The rolling period the objective applies to (e.g. 30d).
    pub period: Duration,
}

impl ErrorBudget {
    /// A budget for `objective` over `period`.
    pub fn new(objective: Objective, period: Duration) -> Self {
        Self { objective, period }
    }

    /// The budget fraction `b = 1 - T`.
    pub fn fraction(&self) -> f64 {
        self.objective.budget_fraction()
    }

    /// Burn rate for an error ratio: `e / b`. Linear in `e`; NaN stays NaN.
    pub fn burn_rate(&self, error_ratio: f64) -> f64 {
        error_ratio / self.fraction()
    }

    /// The error ratio at which the budget burns at `burn_rate`: `r * b`.
    pub fn error_ratio_at(&self, burn_rate: f64) -> f64 {
        burn_rate * self.fraction()
    }

    /// The share of the whole period's budget spent by burning at
    /// `burn_rate` for `window`: `r * W / P`.
    pub fn consumed(&self, burn_rate: f64, window: Duration) -> f64 {
        burn_rate * window.as_secs_f64() / self.period.as_secs_f64()
    }

    /// The share of the budget left when the error ratio over the whole period
    /// is `period_error_ratio`: `1 - e / b`. Negative once overspent.
    pub fn remaining(&self, period_error_ratio: f64) -> f64 {
        1.0 - self.burn_rate(period_error_ratio)
    }

    /// Seconds until a full budget is exhausted at `burn_rate`: `P / r`.
    /// `None` when the budget is never exhausted (rate zero, negative or NaN).
    pub fn time_to_exhaustion(&self, burn_rate: f64) -> Option<f64> {
        (burn_rate > 0.0).then(|| self.period.as_secs_f64() / burn_rate)
    }

    /// The largest burn rate possible, reached when every event fails: `1 / b`.
    /// A window pair with a factor at or above it can never fire.
    pub fn max_burn_rate(&self) -> f64 {
        1.0 / self.fraction()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `99.99999999999999` (under 100) was refused as "out of
    /// range: expected a percentage strictly between 0 and 100".
    #[test]
    fn an_objective_that_rounds_to_100_says_so_not_out_of_range() {
        let e = Objective::from_percent(99.999_999_999_999_99).err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("too close to 100"), "{text}");
        assert!(!text.contains("strictly between"), "{text}");
        assert!(Objective::from_percent(99.999_999_999_999_9).is_ok());
        assert!(matches!(
            Objective::from_percent(100.0),
            Err(ObjectiveError::OutOfRange(_))
        ));
    }

    fn budget_999() -> ErrorBudget {
        let objective = Objective::from_percent(99.9).unwrap_or_else(|e| panic!("{e}"));
        ErrorBudget::new(objective, Duration::from_days(30))
    }

    #[test]
    fn workbook_reference_numbers() {
        let b = budget_999();
        assert_eq!(b.fraction(), 0.001);
        assert_eq!(num::format(b.max_burn_rate()), "1000");
        // Total outage: budget gone in 43.2 minutes.
        let t = b.time_to_exhaustion(b.burn_rate(1.0));
        assert_eq!(t.map(num::canonical), Some(2592.0));
        // 14.4x for 1h spends 2% of a 30d budget.
        assert_eq!(
            num::format(b.consumed(14.4, Duration::from_hours(1))),
            "0.02"
        );
        assert_eq!(num::format(b.remaining(0.0005)), "0.5");
        assert!(b.remaining(0.002) < 0.0);
    }

    #[test]
    fn objective_bounds() {
        assert!(Objective::from_percent(0.0).is_err());
        assert!(Objective::from_percent(100.0).is_err());
        assert!(Objective::from_percent(f64::NAN).is_err());
        assert!(Objective::from_percent(-5.0).is_err());
        assert!(Objective::from_percent(99.99999999999999).is_err());
        assert!(Objective::from_percent(50.0).is_ok());
        assert_eq!(
            Objective::from_ratio(0.95).map(Objective::percent),
            Ok(95.0)
        );
    }

    #[test]
    fn tiny_objective_is_not_zero() {
        // Regression: rounding to 12 digits turned objectives under 1e-300%
        // into a ratio of exactly 0, and a subnormal percentage still
        // divides to 0: the objective must stay strictly inside (0, 1).
        let tiny = Objective::from_percent(1e-300).map(Objective::ratio);
        assert_eq!(tiny, Ok(1e-302));
        assert!(Objective::from_percent(5e-324).is_err());
        // A percentage whose ratio would be subnormal has lost its digits
        // (6.55e-313% read back as 6.55e-313 only to 10 digits): refused.
        assert!(Objective::from_percent(1e-318).is_err());
        assert!(Objective::from_percent(6.55127318255e-313).is_err());
    }

    #[test]
    fn no_exhaustion_without_burn() {
        let b = budget_999();
        assert_eq!(b.time_to_exhaustion(0.0), None);
        assert_eq!(b.time_to_exhaustion(f64::NAN), None);
        assert_eq!(b.time_to_exhaustion(-1.0), None);
        assert!(b.burn_rate(f64::NAN).is_nan());
    }
}
