//! Properties of the budget math (SRE Workbook ch. 5): burn rates,
//! budget shares, remaining budget, exhaustion, factors, and the number
//! formatting every output goes through.

mod common;

use proptest::prelude::*;
use slo_core::budget::{ErrorBudget, Objective};
use slo_core::duration::Duration;
use slo_core::num;
use slo_core::policy::{Policy, Preset, Severity, Threshold, WindowSpec};

/// `a` and `b` agree to `rel` relative to the larger magnitude.
fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Objectives people write (two to five nines and in between) and the odd
/// ones the type accepts (anything strictly between 0 and 100).
fn objective() -> impl Strategy<Value = Objective> {
    prop_oneof![
        prop::sample::select(vec![90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999]),
        1.0f64..99.9999,
        1e-6f64..100.0,
    ]
    .prop_filter_map("objective out of range", |p| {
        Objective::from_percent(p).ok()
    })
}

/// Periods from a day to a year, in whole seconds.
fn period() -> impl Strategy<Value = Duration> {
    prop_oneof![
        prop::sample::select(vec![7u64, 28, 30, 90, 365]).prop_map(Duration::from_days),
        (86_400u64..=365 * 86_400).prop_map(Duration::from_secs),
    ]
}

fn budget() -> impl Strategy<Value = ErrorBudget> {
    (objective(), period()).prop_map(|(o, p)| ErrorBudget::new(o, p))
}

/// Error ratios: anything in [0, 1], with the ends and tiny values.
fn error_ratio() -> impl Strategy<Value = f64> {
    prop_oneof![0.0f64..=1.0, 1e-9f64..1e-3, Just(0.0), Just(1.0),]
}

/// Any float, with extra weight on the extremes of the exponent range
/// (tiny and subnormal numbers, numbers near the largest float).
fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (1.0f64..10.0, -324i32..-280, any::<bool>()).prop_map(|(m, e, neg)| if neg {
            -m
        } else {
            m
        } * 10f64.powi(e)),
        (1.0f64..1.797, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m } * 1e308),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(f64::MAX),
    ]
}

proptest! {
    #![proptest_config(common::config(1024, "proptest-regressions/prop_math.txt"))]

    #[test]
    fn objective_is_strictly_between_zero_and_one(p in any::<f64>()) {
        if let Ok(o) = Objective::from_percent(p) {
            prop_assert!(o.ratio() > 0.0 && o.ratio() < 1.0, "{p}% -> ratio {}", o.ratio());
            let b = o.budget_fraction();
            prop_assert!(b > 0.0 && b <= 1.0, "{p}% -> budget {b}");
            prop_assert!(close(o.ratio() + b, 1.0, 1e-11));
            prop_assert!(close(o.percent(), p, 1e-10), "{p}% reads back as {}", o.percent());
        } else {
            prop_assert!(!(p.is_finite() && p > 1e-300 && p < 99.9999999));
        }
    }

    #[test]
    fn objective_accepts_the_whole_open_range(p in 1e-300f64..99.9999999) {
        prop_assert!(Objective::from_percent(p).is_ok(), "{p}% rejected");
    }

    /// br(k * e) == k * br(e): burn rate is linear in the error ratio.
    #[test]
    fn burn_rate_is_linear(b in budget(), e in error_ratio(), k in 0.0f64..1000.0) {
        prop_assert!(close(b.burn_rate(k * e), k * b.burn_rate(e), 1e-12));
        prop_assert!(close(b.burn_rate(e), e / b.fraction(), 1e-15));
    }

    /// Burn rate and error ratio are inverse maps.
    #[test]
    fn error_ratio_at_inverts_burn_rate(b in budget(), e in error_ratio()) {
        prop_assert!(close(b.error_ratio_at(b.burn_rate(e)), e, 1e-12));
    }

    /// A total outage burns at the maximum rate, 1 / b.
    #[test]
    fn total_outage_burns_at_the_maximum_rate(b in budget()) {
        prop_assert!(close(b.burn_rate(1.0), b.max_burn_rate(), 1e-15));
        prop_assert!(close(b.max_burn_rate() * b.fraction(), 1.0, 1e-15));
    }

    /// remaining(e) == 1 - br(e): spending the whole period at burn rate 1
    /// leaves nothing.
    #[test]
    fn remaining_is_one_minus_burn_rate(b in budget(), e in error_ratio()) {
        prop_assert_eq!(b.remaining(e), 1.0 - b.burn_rate(e));
        prop_assert!(b.remaining(b.error_ratio_at(1.0)).abs() < 1e-12);
        prop_assert_eq!(b.remaining(0.0), 1.0);
    }

    /// time_to_exhaustion(r) * r == P, and no exhaustion without a burn.
    #[test]
    fn exhaustion_time_times_rate_is_the_period(b in budget(), r in prop_oneof![1e-6f64..1e6, Just(1.0)]) {
        let t = b.time_to_exhaustion(r);
        prop_assert!(t.is_some_and(|t| close(t * r, b.period.as_secs_f64(), 1e-12)), "{t:?}");
        prop_assert_eq!(b.time_to_exhaustion(-r), None);
    }

    /// Burning at rate r for the exhaustion time consumes the whole budget.
    #[test]
    fn consumed_matches_exhaustion(b in budget(), r in 1e-3f64..1e4) {
        if let Some(t) = b.time_to_exhaustion(r) {
            // Whole milliseconds: the duration type's resolution.
            let w = Duration::from_millis((t * 1000.0).round() as u64);
            let tolerance = 1.0 / (t * 1000.0) + 1e-12;
            prop_assert!(close(b.consumed(r, w), 1.0, tolerance), "{}", b.consumed(r, w));
        }
    }

    /// f = share * P / W_long, so f * W_long / P gives the share back: the
    /// budget consumed when a pair fires is the share it was given.
    #[test]
    fn factor_times_long_over_period_is_the_share(
        b in budget(),
        share in prop_oneof![0.001f64..=1.0, Just(0.02), Just(0.05), Just(0.1)],
        long_secs in 60u64..=7 * 86_400,
    ) {
        let long = Duration::from_secs(long_secs);
        let spec = WindowSpec {
            severity: Severity::Page,
            long,
            short: Duration::from_secs(long_secs / 12),
            threshold: Threshold::BudgetShare(share),
        };
        let pair = spec.resolve(b.period);
        prop_assert!(close(pair.factor * long.as_secs_f64() / b.period.as_secs_f64(), share, 1e-12));
        prop_assert!(close(pair.budget_consumed(&b), share, 1e-12));
        prop_assert!(close(b.consumed(pair.factor, long), share, 1e-12));
    }

    /// The Workbook preset spends 2%, 5%, 10% and 10% of any period's
    /// budget, pages before tickets.
    #[test]
    fn workbook_shares_hold_for_every_period(b in budget()) {
        let policy = Policy::workbook(b.period);
        let shares: Vec<f64> = policy.pairs().iter().map(|p| num::canonical(p.budget_consumed(&b))).collect();
        prop_assert_eq!(shares, vec![0.02, 0.05, 0.1, 0.1]);
        let severities: Vec<Severity> = policy.pairs().iter().map(|p| p.severity).collect();
        prop_assert_eq!(severities, vec![Severity::Page, Severity::Page, Severity::Ticket, Severity::Ticket]);
        prop_assert_eq!(policy.pairs().len(), Preset::Workbook.windows().len());
    }

    /// A pair can fire exactly when its factor is below the maximum burn
    /// rate 1 / b (away from the rounding boundary).
    #[test]
    fn can_fire_iff_factor_below_max_burn_rate(b in budget(), scale in 0.0f64..3.0) {
        let factor = scale * b.max_burn_rate();
        prop_assume!(!close(factor, b.max_burn_rate(), 1e-9));
        let pair = WindowSpec {
            severity: Severity::Ticket,
            long: Duration::from_hours(1),
            short: Duration::from_mins(5),
            threshold: Threshold::Factor(factor),
        }
        .resolve(b.period);
        prop_assert_eq!(pair.can_fire(&b), factor < b.max_burn_rate());
        // A pair that cannot fire has no detection time, even at 100% errors.
        if !pair.can_fire(&b) {
            prop_assert_eq!(pair.detection_time(&b, 1.0), None);
        }
    }

    /// t_detect = f*b*W_long/e: decreasing in e, never longer than W_long,
    /// and defined exactly when e > f*b; t_reset = W_short*(1 - f*b/e) is
    /// increasing in e and shorter than W_short.
    #[test]
    fn detection_and_reset_time_shapes(
        b in budget(),
        e1 in error_ratio(),
        e2 in error_ratio(),
        share in 0.001f64..0.5,
    ) {
        let (lo, hi) = if e1 <= e2 { (e1, e2) } else { (e2, e1) };
        let spec = WindowSpec {
            severity: Severity::Page,
            long: Duration::from_hours(1),
            short: Duration::from_mins(5),
            threshold: Threshold::BudgetShare(share),
        };
        let pair = spec.resolve(b.period);
        let th = pair.error_ratio_threshold(&b);
        for e in [lo, hi] {
            let t = pair.detection_time(&b, e);
            prop_assert_eq!(t.is_some(), e > th, "e={} th={}", e, th);
            if let Some(t) = t {
                prop_assert!(t > 0.0 && t <= pair.long.as_secs_f64() * (1.0 + 1e-12));
                prop_assert!(close(t * e, th * pair.long.as_secs_f64(), 1e-12));
            }
            let r = pair.reset_time(&b, e);
            prop_assert_eq!(r.is_some(), e > th);
            if let Some(r) = r {
                prop_assert!((0.0..pair.short.as_secs_f64()).contains(&r));
            }
        }
        if let (Some(t_lo), Some(t_hi)) = (pair.detection_time(&b, lo), pair.detection_time(&b, hi)) {
            prop_assert!(t_hi <= t_lo);
        }
        if let (Some(r_lo), Some(r_hi)) = (pair.reset_time(&b, lo), pair.reset_time(&b, hi)) {
            prop_assert!(r_hi >= r_lo);
        }
    }

    /// The policy's detection time is the minimum over its pairs (an OR).
    #[test]
    fn policy_detection_is_the_fastest_pair(b in budget(), e in error_ratio()) {
        let policy = Policy::workbook(b.period);
        for severity in [None, Some(Severity::Page), Some(Severity::Ticket)] {
            let fastest = policy
                .pairs()
                .iter()
                .filter(|p| severity.is_none_or(|s| s == p.severity))
                .filter_map(|p| p.detection_time(&b, e))
                .min_by(f64::total_cmp);
            prop_assert_eq!(policy.detection_time(&b, severity, e), fastest);
        }
    }

    /// Formatted numbers read back within the 12 significant digits kept,
    /// for every finite float, and never lose a non-zero value's sign.
    #[test]
    fn formatted_numbers_parse_back(x in any_float()) {
        let s = num::format(x);
        if x.is_finite() {
            let back: f64 = s.parse().map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
            prop_assert!(close(back, x, 1e-11), "{x:e} -> {s}");
            prop_assert_eq!(back == 0.0, x == 0.0, "{:e} -> {}", x, s);
        } else {
            prop_assert!(matches!(s.as_str(), "NaN" | "+Inf" | "-Inf"));
        }
    }

    /// Rounding is idempotent and keeps 12 significant digits.
    #[test]
    fn canonical_is_idempotent(x in any_float()) {
        let c = num::canonical(x);
        if x.is_finite() {
            prop_assert_eq!(num::canonical(c), c, "{:e}", x);
            prop_assert!(close(c, x, 1e-11), "{x:e} -> {c:e}");
        } else {
            prop_assert!(c.is_nan() == x.is_nan() && (x.is_nan() || c == x));
        }
    }

    /// Rounding to any number of digits never panics, keeps finite numbers
    /// finite and stays within half a unit of the last digit kept.
    #[test]
    fn round_sig_is_total(x in any_float(), digits in any::<i32>(), small in 1i32..=15) {
        let r = num::round_sig(x, digits);
        prop_assert_eq!(r.is_nan(), x.is_nan());
        prop_assert_eq!(r.is_finite(), x.is_finite());
        if x.is_finite() {
            let r = num::round_sig(x, small);
            prop_assert!(close(r, x, 10f64.powi(1 - small)), "{x:e} to {small} digits: {r:e}");
        }
    }
}
