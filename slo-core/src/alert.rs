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
//! For a state machine the question is three-valued ([`Outcome`]): a pair
//! that does not fire because a window it needs is **unknown** (no
//! measurement, NaN) has not been shown healthy. [`PairDecision::outcome`]
//! says *not firing* only when the known windows alone settle it (a window
//! at or below the threshold, or a failed guard), and [`Decision::outcome`]
//! combines a tier's pairs the same way (Kleene's three-valued OR).
//! [`AlertState::step`] holds an alert where it is on unknown: after a
//! Prometheus outage, a short window without samples yet neither resolves
//! a firing alert nor restarts its `startsAt`.
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
use crate::time::Timestamp;

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

/// What a decision says about an alert condition, in three values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The condition holds.
    Firing,
    /// The condition does not hold, whatever the unknown windows measure.
    NotFiring,
    /// The condition depends on a window that has no usable measurement.
    Unknown,
}

impl Outcome {
    /// Kleene's OR: firing if any is, not firing if all are, else unknown.
    /// Empty: not firing.
    pub fn any(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        let mut unknown = false;
        for o in outcomes {
            match o {
                Outcome::Firing => return Outcome::Firing,
                Outcome::Unknown => unknown = true,
                Outcome::NotFiring => {}
            }
        }
        if unknown {
            Outcome::Unknown
        } else {
            Outcome::NotFiring
        }
    }
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

impl PairDecision {
    /// The pair's three-valued outcome: firing; not firing when a known
    /// window is at or below the threshold, or both are known and the
    /// guard failed; unknown otherwise (a window it needs has no usable
    /// measurement, and the known one, if any, is above the threshold).
    pub fn outcome(&self) -> Outcome {
        if self.firing {
            return Outcome::Firing;
        }
        let (l, s) = (usable(self.long), usable(self.short));
        // A NaN threshold (broken budget) never fires, so it settles too.
        let settled_below = |m: Option<Measurement>| {
            m.is_some_and(|m| m.error_ratio <= self.threshold || self.threshold.is_nan())
        };
        if settled_below(l) || settled_below(s) || (l.is_some() && s.is_some()) {
            Outcome::NotFiring
        } else {
            Outcome::Unknown
        }
    }
}

impl Decision {
    /// The three-valued outcome of the tier `severity`: [`Outcome::any`]
    /// over its pairs.
    pub fn outcome(&self, severity: Severity) -> Outcome {
        Outcome::any(self.tier(severity).map(PairDecision::outcome))
    }

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
    decide_against(
        pair,
        pair.error_ratio_threshold(budget),
        min_events,
        long,
        short,
    )
}

/// The rules of the module documentation, for a threshold already known.
fn decide_against(
    pair: &WindowPair,
    threshold: f64,
    min_events: f64,
    long: Option<Measurement>,
    short: Option<Measurement>,
) -> PairDecision {
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
/// `measure` (called once per distinct window, shortest first).
pub fn decide(
    policy: &Policy,
    budget: &ErrorBudget,
    min_events: f64,
    mut measure: impl FnMut(Duration) -> Option<Measurement>,
) -> Decision {
    let decider = Decider::new(policy, budget, min_events);
    let measured: Vec<Option<Measurement>> =
        decider.windows().iter().map(|w| measure(*w)).collect();
    decider.decide(&measured)
}

/// A policy prepared for deciding at many times (a daemon's every cycle, a
/// replay's every step): the thresholds, and which windows each pair reads,
/// are worked out once, and deciding one pair allocates nothing.
///
/// Measurements are passed as a slice indexed like [`Decider::windows`].
#[derive(Clone, Debug, PartialEq)]
pub struct Decider {
    pairs: Vec<PreparedPair>,
    windows: Vec<Duration>,
    min_events: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct PreparedPair {
    pair: WindowPair,
    threshold: f64,
    long: usize,
    short: usize,
}

impl Decider {
    /// Prepares `policy` for `budget` with the `min_events` guard.
    pub fn new(policy: &Policy, budget: &ErrorBudget, min_events: f64) -> Self {
        let windows: Vec<Duration> = policy.windows().into_iter().collect();
        let index = |w: Duration| windows.iter().position(|x| *x == w).unwrap_or(usize::MAX);
        let pairs = policy
            .pairs()
            .iter()
            .map(|pair| PreparedPair {
                pair: *pair,
                threshold: pair.error_ratio_threshold(budget),
                long: index(pair.long),
                short: index(pair.short),
            })
            .collect();
        Self {
            pairs,
            windows,
            min_events,
        }
    }

    /// The distinct windows the policy reads, shortest first.
    pub fn windows(&self) -> &[Duration] {
        &self.windows
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True for a policy without pairs (every tier disabled).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Pair number `i`, in policy order (pages first).
    pub fn pair(&self, i: usize) -> Option<&WindowPair> {
        self.pairs.get(i).map(|p| &p.pair)
    }

    /// The indices into [`windows`](Self::windows) of pair `i`'s long and
    /// short windows.
    pub fn pair_windows(&self, i: usize) -> Option<(usize, usize)> {
        self.pairs.get(i).map(|p| (p.long, p.short))
    }

    /// Decides pair `i` from every window's measurement; `None` when there
    /// is no pair `i`. A window missing from `measured` counts as no data.
    #[inline]
    pub fn decide_pair(&self, i: usize, measured: &[Option<Measurement>]) -> Option<PairDecision> {
        let p = self.pairs.get(i)?;
        let long = measured.get(p.long).copied().flatten();
        let short = measured.get(p.short).copied().flatten();
        Some(decide_against(
            &p.pair,
            p.threshold,
            self.min_events,
            long,
            short,
        ))
    }

    /// Decides every pair.
    pub fn decide(&self, measured: &[Option<Measurement>]) -> Decision {
        Decision {
            pairs: (0..self.pairs.len())
                .filter_map(|i| self.decide_pair(i, measured))
                .collect(),
        }
    }
}

/// Where one alert (an SLO instance's tier) stands, as Prometheus tracks an
/// alerting rule: a condition that holds becomes *pending*, then *firing*
/// once it has held for the tier's `for` duration; when it stops holding, a
/// pending alert is forgotten and a firing one *resolved*.
///
/// ```
/// use slo_core::alert::AlertState;
/// use slo_core::duration::Duration;
///
/// let hold = Some(Duration::from_mins(2));
/// let s = AlertState::Inactive.next(true, hold, 0);
/// assert_eq!(s, AlertState::Pending { active_since: 0 });
/// let s = s.next(true, hold, 60_000).next(true, hold, 120_000);
/// assert_eq!(s, AlertState::Firing { active_since: 0, started_at: 120_000 });
/// let s = s.next(false, hold, 180_000);
/// assert_eq!(s.started_at(), Some(120_000));
/// assert!(!s.is_firing());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AlertState {
    /// The condition does not hold (and never fired, or was forgotten).
    #[default]
    Inactive,
    /// The condition holds but not yet for `for`.
    Pending {
        /// When the condition started to hold (Prometheus's `activeAt`).
        active_since: Timestamp,
    },
    /// The alert fires.
    Firing {
        /// When the condition started to hold.
        active_since: Timestamp,
        /// When the alert started firing: stable while it fires (the
        /// `startsAt` sent to Alertmanager).
        started_at: Timestamp,
    },
    /// The alert fired and then stopped.
    Resolved {
        /// When the condition started to hold.
        active_since: Timestamp,
        /// When the alert started firing.
        started_at: Timestamp,
        /// The first evaluation at which the condition no longer held.
        resolved_at: Timestamp,
    },
}

impl AlertState {
    /// The state after an evaluation at `now` found the condition holding
    /// (`condition`) or not, for a tier whose `for` is `hold_for` (`None`
    /// or zero: fire at once). Evaluations must come in time order.
    #[must_use]
    pub fn next(self, condition: bool, hold_for: Option<Duration>, now: Timestamp) -> Self {
        let hold = hold_for.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        match (self, condition) {
            (AlertState::Inactive | AlertState::Resolved { .. }, true) => {
                AlertState::Pending { active_since: now }.next(true, hold_for, now)
            }
            (AlertState::Pending { active_since }, true) => {
                if now.saturating_sub(active_since) >= hold {
                    AlertState::Firing {
                        active_since,
                        started_at: now,
                    }
                } else {
                    self
                }
            }
            (AlertState::Firing { .. }, true) => self,
            (AlertState::Inactive | AlertState::Pending { .. }, false) => AlertState::Inactive,
            (
                AlertState::Firing {
                    active_since,
                    started_at,
                },
                false,
            ) => AlertState::Resolved {
                active_since,
                started_at,
                resolved_at: now,
            },
            (AlertState::Resolved { .. }, false) => self,
        }
    }

    /// [`next`](Self::next) for a three-valued outcome: on
    /// [`Outcome::Unknown`] the state is held as it is (a pending alert
    /// keeps its `active_since` and is not promoted, a firing one keeps its
    /// `startsAt` and is not resolved), as Prometheus holds alert state
    /// through failed evaluations.
    #[must_use]
    pub fn step(self, outcome: Outcome, hold_for: Option<Duration>, now: Timestamp) -> Self {
        match outcome {
            Outcome::Firing => self.next(true, hold_for, now),
            Outcome::NotFiring => self.next(false, hold_for, now),
            Outcome::Unknown => self,
        }
    }

    /// The state's name in logs, metrics and JSON: `inactive`, `pending`,
    /// `firing` or `resolved`.
    pub fn name(&self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending { .. } => "pending",
            AlertState::Firing { .. } => "firing",
            AlertState::Resolved { .. } => "resolved",
        }
    }

    /// True while firing.
    pub fn is_firing(&self) -> bool {
        matches!(self, AlertState::Firing { .. })
    }

    /// When the alert started firing (firing or resolved).
    pub fn started_at(&self) -> Option<Timestamp> {
        match self {
            AlertState::Firing { started_at, .. } | AlertState::Resolved { started_at, .. } => {
                Some(*started_at)
            }
            AlertState::Inactive | AlertState::Pending { .. } => None,
        }
    }
}

/// Advances the alert of one tier from a decision: [`AlertState::next`] with
/// the tier's condition (any of its pairs firing). The two-valued rule the
/// tests compare against (it resolves on unknown: the bug of issue 12).
#[cfg(test)]
#[must_use]
pub(crate) fn advance(
    prev: AlertState,
    decision: &Decision,
    severity: Severity,
    hold_for: Option<Duration>,
    now: Timestamp,
) -> AlertState {
    prev.next(decision.firing(severity), hold_for, now)
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

    /// The bug of issue 12: after a Prometheus outage the short window has
    /// no samples yet (NaN, or no series at all) while the long window still
    /// burns. That is unknown, and a firing page is held with its startsAt.
    #[test]
    fn outage_short_window_unknown_holds_a_firing_page() {
        let (policy, budget) = setup();
        let hold = Some(Duration::from_mins(2));
        let firing = AlertState::Firing {
            active_since: 0,
            started_at: 120_000,
        };
        for short in [None, m(f64::NAN, 0.0)] {
            let d = decide(&policy, &budget, 0.0, |w| {
                if w <= Duration::from_mins(30) {
                    short
                } else {
                    m(0.5, 1e4)
                }
            });
            assert!(!d.firing(Severity::Page));
            assert_eq!(d.outcome(Severity::Page), Outcome::Unknown);
            let next = firing.step(d.outcome(Severity::Page), hold, 180_000);
            assert_eq!(next, firing);
            // The old two-valued rule resolved it: the bug.
            assert!(!advance(firing, &d, Severity::Page, hold, 180_000).is_firing());
        }
    }

    #[test]
    fn a_known_healthy_window_settles_not_firing() {
        let (policy, budget) = setup();
        // Short windows unknown, long windows healthy: not firing, resolves.
        let d = decide(&policy, &budget, 0.0, |w| {
            if w <= Duration::from_mins(30) {
                None
            } else {
                m(0.0, 1e4)
            }
        });
        assert_eq!(d.outcome(Severity::Page), Outcome::NotFiring);
        assert_eq!(d.outcome(Severity::Ticket), Outcome::NotFiring);
        // Everything known and burning fast: firing.
        let d = decide(&policy, &budget, 0.0, |_| m(0.5, 1e4));
        assert_eq!(d.outcome(Severity::Page), Outcome::Firing);
        // Both known and above, but too few events: not firing.
        let d = decide(&policy, &budget, 100.0, |_| m(0.5, 1.0));
        assert_eq!(d.outcome(Severity::Page), Outcome::NotFiring);
    }

    #[test]
    fn unknown_holds_pending_and_inactive_too() {
        let hold = Some(Duration::from_mins(2));
        let pending = AlertState::Pending { active_since: 0 };
        // Not promoted while unknown, even past `for`.
        assert_eq!(pending.step(Outcome::Unknown, hold, 600_000), pending);
        assert_eq!(
            pending.step(Outcome::Firing, hold, 600_000),
            AlertState::Firing {
                active_since: 0,
                started_at: 600_000
            }
        );
        assert_eq!(
            AlertState::Inactive.step(Outcome::Unknown, hold, 0),
            AlertState::Inactive
        );
        assert_eq!(Outcome::any([]), Outcome::NotFiring);
        assert_eq!(
            Outcome::any([Outcome::NotFiring, Outcome::Unknown]),
            Outcome::Unknown
        );
        assert_eq!(
            Outcome::any([Outcome::Unknown, Outcome::Firing]),
            Outcome::Firing
        );
    }
}
