//! Properties of the three-valued outcome (`alert::Outcome`) and of the
//! state machine holding on unknown (issue 12: a Prometheus outage must
//! never turn into a resolve and a second page).
//!
//! - a definite outcome (firing / not firing) is sound: whatever the unknown
//!   windows turn out to measure, the two-valued decision agrees;
//! - replacing any measurement by unknown never turns a firing tier into a
//!   not-firing one, so never turns a firing alert into a resolved one;
//! - an alert fed unknown outcomes stays exactly where it was.

mod common;

use proptest::prelude::*;
use slo_core::alert::{AlertState, Decider, Measurement, Outcome};
use slo_core::budget::{ErrorBudget, Objective};
use slo_core::duration::Duration;
use slo_core::policy::{Policy, Severity};

fn decider(percent: f64, min_events: f64) -> Decider {
    let objective = Objective::from_percent(percent).expect("a valid objective");
    let budget = ErrorBudget::new(objective, Duration::from_days(30));
    Decider::new(&Policy::workbook(budget.period), &budget, min_events)
}

/// A measurement or unknown (missing, or a NaN ratio as 0/0 gives).
fn measurement() -> impl Strategy<Value = Option<Measurement>> {
    let known = (
        prop_oneof![0.0f64..=1.0, 0.0f64..0.05, Just(0.0144), Just(0.006)],
        prop_oneof![
            4 => (0.0f64..1e6).prop_map(Some),
            1 => Just(None),
            1 => prop::sample::select(vec![0.0, 10.0, 100.0]).prop_map(Some),
        ],
    )
        .prop_map(|(error_ratio, events)| {
            Some(Measurement {
                error_ratio,
                events,
            })
        });
    prop_oneof![
        6 => known,
        1 => Just(None),
        1 => Just(Some(Measurement { error_ratio: f64::NAN, events: Some(0.0) })),
    ]
}

fn unknown(m: Option<Measurement>) -> bool {
    m.is_none_or(|m| !m.error_ratio.is_finite())
}

fn outcomes(d: &Decider, measured: &[Option<Measurement>]) -> [Outcome; 2] {
    let decision = d.decide(measured);
    [
        decision.outcome(Severity::Page),
        decision.outcome(Severity::Ticket),
    ]
}

proptest! {
    #![proptest_config(common::config(2000, "proptest-regressions/prop_unknown.txt"))]

    /// Replacing any set of measurements by unknown never turns a firing
    /// tier into not firing: it stays firing or becomes unknown (held).
    #[test]
    fn replacing_a_measurement_by_unknown_never_resolves(
        measured in prop::collection::vec(measurement(), 7),
        mask in prop::collection::vec(any::<bool>(), 7),
        min_events in prop::sample::select(vec![0.0, 100.0]),
        nan in any::<bool>(),
    ) {
        let d = decider(99.9, min_events);
        let before = outcomes(&d, &measured);
        let hidden: Vec<Option<Measurement>> = measured
            .iter()
            .zip(&mask)
            .map(|(m, hide)| if *hide {
                if nan { Some(Measurement { error_ratio: f64::NAN, events: Some(0.0) }) } else { None }
            } else { *m })
            .collect();
        let after = outcomes(&d, &hidden);
        let hold = Some(Duration::from_mins(2));
        for (b, a) in before.iter().zip(&after) {
            if *b == Outcome::Firing {
                prop_assert_ne!(*a, Outcome::NotFiring);
                let firing = AlertState::Firing { active_since: 0, started_at: 120_000 };
                let next = firing.step(*a, hold, 180_000);
                prop_assert!(next.is_firing());
                prop_assert_eq!(next.started_at(), Some(120_000));
            }
        }
    }

    /// A definite outcome is what the two-valued rule says for every value
    /// the unknown windows could take.
    #[test]
    fn a_definite_outcome_holds_whatever_the_unknown_windows_measure(
        measured in prop::collection::vec(measurement(), 7),
        filler in prop::collection::vec(measurement(), 7),
        min_events in prop::sample::select(vec![0.0, 100.0]),
    ) {
        let d = decider(99.9, min_events);
        let decided = outcomes(&d, &measured);
        let filled: Vec<Option<Measurement>> = measured
            .iter()
            .zip(&filler)
            .map(|(m, f)| if unknown(*m) { *f } else { *m })
            .collect();
        let decision = d.decide(&filled);
        for (severity, o) in [Severity::Page, Severity::Ticket].into_iter().zip(decided) {
            match o {
                Outcome::Firing => prop_assert!(decision.firing(severity)),
                Outcome::NotFiring => prop_assert!(!decision.firing(severity)),
                Outcome::Unknown => {}
            }
        }
    }

    /// Everything known: the outcome is the two-valued decision.
    #[test]
    fn with_every_window_known_the_outcome_is_never_unknown(
        ratios in prop::collection::vec(0.0f64..0.1, 7),
    ) {
        let d = decider(99.9, 0.0);
        let measured: Vec<Option<Measurement>> = ratios
            .iter()
            .map(|r| Some(Measurement { error_ratio: *r, events: Some(1e4) }))
            .collect();
        let decision = d.decide(&measured);
        for severity in [Severity::Page, Severity::Ticket] {
            let expected = if decision.firing(severity) { Outcome::Firing } else { Outcome::NotFiring };
            prop_assert_eq!(decision.outcome(severity), expected);
        }
    }

    /// Any run of unknown outcomes leaves any state exactly as it was.
    #[test]
    fn unknown_outcomes_hold_every_state(
        start in 0i64..1_000_000,
        kind in 0u8..4,
        steps in 1usize..20,
    ) {
        let state = match kind {
            0 => AlertState::Inactive,
            1 => AlertState::Pending { active_since: start },
            2 => AlertState::Firing { active_since: start, started_at: start + 60_000 },
            _ => AlertState::Resolved { active_since: start, started_at: start + 60_000, resolved_at: start + 120_000 },
        };
        let mut s = state;
        for k in 0..steps {
            s = s.step(Outcome::Unknown, Some(Duration::from_mins(1)), start + 200_000 + k as i64 * 60_000);
        }
        prop_assert_eq!(s, state);
    }
}
