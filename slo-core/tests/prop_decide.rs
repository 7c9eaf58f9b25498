//! Properties of alert decisions (`alert::decide`): they follow the
//! documented rule exactly, are monotone in the error ratio and in the event
//! counts, never fire without traffic, and never panic on broken numbers.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use slo_core::alert::{self, Decision, Hold, Measurement};
use slo_core::budget::{ErrorBudget, Objective};
use slo_core::duration::Duration;
use slo_core::policy::{Policy, Severity};

fn budget(percent: f64, days: u64) -> ErrorBudget {
    let objective = Objective::from_percent(percent).expect("a valid objective");
    ErrorBudget::new(objective, Duration::from_days(days))
}

fn any_budget() -> impl Strategy<Value = ErrorBudget> {
    (
        prop::sample::select(vec![90.0, 99.0, 99.5, 99.9, 99.95, 99.99]),
        prop::sample::select(vec![7u64, 28, 30]),
    )
        .prop_map(|(p, d)| budget(p, d))
}

/// The Workbook policy's seven windows, shortest first.
fn workbook_windows() -> Vec<Duration> {
    Policy::workbook(Duration::from_days(30))
        .windows()
        .into_iter()
        .collect()
}

/// Error ratios around the Workbook thresholds (0.1% .. 1.44% at 99.9%),
/// plus the edges.
fn finite_ratio() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0f64..=1.0,
        0.0f64..0.05,
        Just(0.0),
        Just(1.0),
        Just(0.0144),
        Just(0.006),
    ]
}

fn events() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        4 => (0.0f64..1e6).prop_map(Some),
        1 => Just(None),
        1 => prop::sample::select(vec![0.0, 1.0, 10.0, 100.0]).prop_map(Some),
    ]
}

/// Finite measurements (or none) for each of the seven windows.
fn finite_measurements() -> impl Strategy<Value = Vec<Option<Measurement>>> {
    prop::collection::vec(
        prop_oneof![
            9 => (finite_ratio(), events()).prop_map(|(error_ratio, events)| Some(Measurement { error_ratio, events })),
            1 => Just(None),
        ],
        7,
    )
}

/// Any float at all, weighted towards the troublesome ones.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            -1.0,
            -1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            1.5,
        ]),
        -2.0f64..2.0,
    ]
}

fn wild_measurements() -> impl Strategy<Value = Vec<Option<Measurement>>> {
    prop::collection::vec(
        prop_oneof![
            9 => (wild(), prop::option::of(wild())).prop_map(|(error_ratio, events)| Some(Measurement { error_ratio, events })),
            1 => Just(None),
        ],
        7,
    )
}

fn decide_with(
    policy: &Policy,
    budget: &ErrorBudget,
    min_events: f64,
    measurements: &[Option<Measurement>],
) -> Decision {
    let windows = workbook_windows();
    alert::decide(policy, budget, min_events, |w| {
        let i = windows
            .iter()
            .position(|x| *x == w)
            .expect("only the policy's windows are measured");
        measurements[i]
    })
}

/// The documented rule, written independently of the implementation.
fn reference_fires(
    threshold: f64,
    min_events: f64,
    long: Option<Measurement>,
    short: Option<Measurement>,
) -> bool {
    let (Some(l), Some(s)) = (long, short) else {
        return false;
    };
    if !(l.error_ratio.is_finite() && s.error_ratio.is_finite()) {
        return false;
    }
    if !(l.error_ratio > threshold && s.error_ratio > threshold) {
        return false;
    }
    if min_events > 0.0 {
        return matches!(l.events, Some(n) if n >= min_events);
    }
    true
}

fn bits(m: Option<Measurement>) -> Option<(u64, Option<u64>)> {
    m.map(|m| (m.error_ratio.to_bits(), m.events.map(f64::to_bits)))
}

fn firing_pairs(d: &Decision) -> Vec<bool> {
    d.pairs.iter().map(|p| p.firing).collect()
}

proptest! {
    #![proptest_config(common::config(1024, "proptest-regressions/prop_decide.txt"))]

    /// Every pair decision is the documented rule applied to its windows,
    /// in policy order, and a tier fires exactly when one of its pairs does.
    #[test]
    fn decisions_follow_the_rule(
        b in any_budget(),
        ms in wild_measurements(),
        min_events in prop_oneof![wild(), Just(0.0), 0.0f64..1e4],
    ) {
        let policy = Policy::workbook(b.period);
        let windows = workbook_windows();
        let d = decide_with(&policy, &b, min_events, &ms);
        prop_assert_eq!(d.pairs.len(), policy.pairs().len());
        for (pd, pair) in d.pairs.iter().zip(policy.pairs()) {
            prop_assert_eq!(&pd.pair, pair);
            let at = |w: Duration| ms[windows.iter().position(|x| *x == w).expect("a policy window")];
            let (long, short) = (at(pair.long), at(pair.short));
            // Bit for bit (NaN included): the decision reports what was measured.
            prop_assert_eq!(bits(pd.long), bits(long));
            prop_assert_eq!(bits(pd.short), bits(short));
            prop_assert_eq!(pd.threshold, pair.error_ratio_threshold(&b));
            let expected = reference_fires(pd.threshold, min_events, long, short);
            prop_assert_eq!(pd.firing, expected, "{:?}", pd);
            if pd.firing {
                prop_assert_eq!(pd.held, None);
            }
        }
        for severity in Severity::ALL {
            prop_assert_eq!(d.firing(severity), d.tier(severity).any(|p| p.firing));
        }
    }

    /// Raising error ratios (keeping them finite) never turns a firing pair
    /// or tier off.
    #[test]
    fn monotone_in_the_error_ratio(
        b in any_budget(),
        ms in finite_measurements(),
        bumps in prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..0.1, 0.0f64..1.0], 7),
        min_events in prop_oneof![Just(0.0), 0.0f64..1e4],
    ) {
        let policy = Policy::workbook(b.period);
        let before = decide_with(&policy, &b, min_events, &ms);
        let raised: Vec<Option<Measurement>> = ms
            .iter()
            .zip(&bumps)
            .map(|(m, bump)| m.map(|m| Measurement { error_ratio: m.error_ratio + bump, ..m }))
            .collect();
        let after = decide_with(&policy, &b, min_events, &raised);
        for (x, y) in before.pairs.iter().zip(&after.pairs) {
            prop_assert!(!x.firing || y.firing, "raised {:?} -> {:?}", x, y);
        }
        for severity in Severity::ALL {
            prop_assert!(!before.firing(severity) || after.firing(severity));
        }
    }

    /// Counting more events never turns a firing pair off; asking for more
    /// events never turns a quiet pair on.
    #[test]
    fn monotone_in_events(
        b in any_budget(),
        ms in finite_measurements(),
        extra in prop::collection::vec(0.0f64..1e5, 7),
        min_events in 0.0f64..1e4,
        more_min in 0.0f64..1e4,
    ) {
        let policy = Policy::workbook(b.period);
        let before = decide_with(&policy, &b, min_events, &ms);
        let more: Vec<Option<Measurement>> = ms
            .iter()
            .zip(&extra)
            .map(|(m, x)| m.map(|m| Measurement { events: m.events.map(|n| n + x), ..m }))
            .collect();
        let after = decide_with(&policy, &b, min_events, &more);
        for (x, y) in before.pairs.iter().zip(&after.pairs) {
            prop_assert!(!x.firing || y.firing, "more events {:?} -> {:?}", x, y);
        }
        let stricter = decide_with(&policy, &b, min_events + more_min, &ms);
        for (x, y) in before.pairs.iter().zip(&stricter.pairs) {
            prop_assert!(x.firing || !y.firing, "stricter guard {:?} -> {:?}", x, y);
        }
        // No guard at all fires at least as much as any guard.
        let unguarded = decide_with(&policy, &b, 0.0, &ms);
        for (x, y) in before.pairs.iter().zip(&unguarded.pairs) {
            prop_assert!(!x.firing || y.firing);
            if y.firing && !x.firing {
                prop_assert_eq!(x.held, Some(Hold::TooFewEvents));
            }
        }
    }

    /// No traffic (0/0 = NaN in every window, or no series at all) never
    /// fires, whatever the counts say, and says why.
    #[test]
    fn no_traffic_never_fires(
        b in any_budget(),
        events in prop::option::of(wild()),
        absent in any::<bool>(),
        min_events in wild(),
    ) {
        let policy = Policy::workbook(b.period);
        let d = alert::decide(&policy, &b, min_events, |_| {
            (!absent).then_some(Measurement { error_ratio: f64::NAN, events })
        });
        for p in &d.pairs {
            prop_assert!(!p.firing);
            prop_assert_eq!(p.held, Some(Hold::NoData));
        }
    }

    /// A pair with a window without traffic never fires, whatever the other
    /// windows measure.
    #[test]
    fn a_silent_window_silences_its_pairs(
        b in any_budget(),
        ms in wild_measurements(),
        silent in 0usize..7,
    ) {
        let policy = Policy::workbook(b.period);
        let windows = workbook_windows();
        let mut ms = ms;
        ms[silent] = Some(Measurement { error_ratio: f64::NAN, events: Some(0.0) });
        let d = decide_with(&policy, &b, 0.0, &ms);
        for p in &d.pairs {
            if p.pair.long == windows[silent] || p.pair.short == windows[silent] {
                prop_assert!(!p.firing);
                prop_assert_eq!(p.held, Some(Hold::NoData));
            }
        }
    }

    /// Each distinct window is measured exactly once, whatever the policy.
    #[test]
    fn each_window_is_measured_once(
        b in any_budget(),
        keep in prop::collection::vec(any::<bool>(), 4),
        ratio in finite_ratio(),
    ) {
        let mut policy = Policy::workbook(b.period);
        let mut i = 0;
        policy.retain(|_| { i += 1; keep[i - 1] });
        let calls: RefCell<BTreeMap<Duration, usize>> = RefCell::default();
        let d = alert::decide(&policy, &b, 0.0, |w| {
            *calls.borrow_mut().entry(w).or_default() += 1;
            Some(Measurement { error_ratio: ratio, events: Some(1e4) })
        });
        let calls = calls.into_inner();
        prop_assert!(calls.values().all(|&n| n == 1), "{:?}", calls);
        prop_assert_eq!(calls.keys().copied().collect::<Vec<_>>(), policy.windows().into_iter().collect::<Vec<_>>());
        prop_assert_eq!(d.pairs.len(), policy.pairs().len());
    }

    /// Uniform error ratios: a pair fires exactly when the ratio is above its
    /// threshold, so firing pairs are those with the smallest factors.
    #[test]
    fn uniform_ratio_fires_pairs_below_it(b in any_budget(), ratio in finite_ratio()) {
        let policy = Policy::workbook(b.period);
        let d = alert::decide(&policy, &b, 0.0, |_| Some(Measurement { error_ratio: ratio, events: None }));
        let expected: Vec<bool> = policy.pairs().iter().map(|p| ratio > p.error_ratio_threshold(&b)).collect();
        prop_assert_eq!(firing_pairs(&d), expected);
    }
}
