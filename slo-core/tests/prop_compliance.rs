//! Properties of compliance reports: a span without data is never met, the
//! numbers agree with each other, months tile time, and over recorded data
//! a month's events are the naive sum of the counter's increments.

mod common;

use proptest::prelude::*;
use slo_core::compliance::{self, Month, Observed, Span, Status};
use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::spec::Slo;

fn slo(objective: f64, counted: &str) -> Slo {
    let spec = slo_core::load::load_str(&format!(
        r#"
version: slo/v1
service: web
slos:
  - name: availability
    objective: {objective}
    sli:
      ratio: {{{counted}: 'requests_total{{code="x"}}', total: requests_total}}
"#
    ))
    .unwrap_or_else(|d| panic!("{}", d[0]));
    spec.slos[0].clone()
}

fn month() -> impl Strategy<Value = Month> {
    (1970i64..=2100, 1u32..=12).prop_map(|(y, m)| Month::new(y, m).unwrap_or_else(|| panic!()))
}

fn objective() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![99.0, 99.5, 99.9, 99.95, 99.99])
}

proptest! {
    #![proptest_config(common::config(256, "proptest-regressions/prop_compliance.txt"))]

    #[test]
    fn a_span_without_a_slot_of_data_is_never_met(
        objective in objective(),
        m in month(),
        bad in prop::option::of(0.0f64..1e9),
        total in prop::option::of(0.0f64..1e9),
        good in any::<bool>(),
        now_offset in -1e10f64..1e10,
    ) {
        let slo = slo(objective, if good { "good" } else { "errors" });
        let span = Span::month(m);
        let now = span.end + now_offset as i64;
        let c = compliance::assess(&slo, span, now, Observed { bad, total, slots_with_data: 0 });
        prop_assert_eq!(c.status, Status::NoData);
        prop_assert_eq!(c.coverage, 0.0);
        prop_assert!(!c.complete);
        prop_assert_eq!(c.availability, None);
    }

    #[test]
    fn the_numbers_of_a_verdict_agree(
        objective in objective(),
        m in month(),
        bad in prop::option::of(0.0f64..1e9),
        total in prop::option::of(0.0f64..1e9),
        slots in 0u64..800,
        now_offset in -3e9f64..3e9,
    ) {
        let slo = slo(objective, "errors");
        let span = Span::month(m);
        let now = span.end + now_offset as i64;
        let c = compliance::assess(&slo, span, now, Observed { bad, total, slots_with_data: slots });
        prop_assert!((0.0..=1.0).contains(&c.coverage));
        prop_assert_eq!(c.in_progress, now < span.end);
        if c.complete {
            prop_assert!(c.coverage == 1.0 && !c.in_progress);
        }
        let fraction = slo.objective.budget_fraction();
        match c.status {
            Status::Met | Status::Missed => {
                let (Some(a), Some(s)) = (c.availability, c.budget_spent) else {
                    return Err(TestCaseError::fail("a verdict without numbers"));
                };
                prop_assert!((0.0..=1.0).contains(&a));
                prop_assert!(((1.0 - a) - s * fraction).abs() <= 1e-9);
                prop_assert_eq!(c.status == Status::Met, s <= 1.0 + 1e-12);
                prop_assert!(c.bad_events <= c.events);
                prop_assert!(c.coverage > 0.0);
            }
            Status::NoEvents => prop_assert_eq!(c.events, Some(0.0)),
            Status::NoData => prop_assert_eq!(c.availability, None),
            Status::NotCountable => prop_assert!(false, "a ratio SLI counts events"),
        }
    }

    #[test]
    fn months_tile_time(t in 0i64..253_402_300_799_000) {
        let m = Month::containing(t);
        prop_assert!(m.start() <= t && t < m.end());
        prop_assert_eq!(m.next().start(), m.end());
        prop_assert_eq!(m.next().prev(), m);
        prop_assert_eq!(m.to_string().parse::<Month>(), Ok(m));
        let days = (m.end() - m.start()) / 86_400_000;
        prop_assert!((28..=31).contains(&days));
        prop_assert_eq!(Span::month(m).slots(), days as u64 * 24);
    }

    /// Over a counter sampled every 5 minutes on the month's grid, from
    /// `late` hours into the month (resets included), the month's events
    /// are the sum of the increments in it, the hours before the first
    /// sample are the ones without data, and the verdict follows the
    /// naive ratio.
    #[test]
    fn events_over_recorded_data_are_the_naive_sum_of_increments(
        objective in objective(),
        m in (2026i64..=2027, 1u32..=12).prop_map(|(y, m)| Month::new(y, m).unwrap_or_else(|| panic!())),
        late in prop_oneof![Just(0u64), 0u64..100],
        steps in prop::collection::vec((0u32..200, 0u32..3, 0u32..40), 1..40),
    ) {
        let slo = slo(objective, "errors");
        let span = Span::month(m);
        let step = 300_000i64;
        let first = span.start + late as i64 * 3_600_000;
        let total_key = SeriesKey::new("requests_total", [("code", "200")]);
        let bad_key = SeriesKey::new("requests_total", [("code", "x")]);
        let mut data = Dataset::new();
        let (mut t, mut ok_v, mut bad_v) = (first, 0.0f64, 0.0f64);
        let (mut naive_total, mut naive_bad) = (0.0f64, 0.0f64);
        let mut i = 0usize;
        // Past the month's end by an hour: the last sample sits on the end.
        while t <= span.end + 3_600_000 {
            let (ok, bad, reset) = steps[i % steps.len()];
            i += 1;
            if t > first {
                if reset == 0 && i.is_multiple_of(7) {
                    // A restart: both counters start again from zero.
                    ok_v = 0.0;
                    bad_v = 0.0;
                }
                ok_v += f64::from(ok);
                bad_v += f64::from(bad);
                if t <= span.end {
                    naive_total += f64::from(ok + bad);
                    naive_bad += f64::from(bad);
                }
            }
            data.push(&total_key, t, ok_v).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            data.push(&bad_key, t, bad_v).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            t += step;
        }
        let got = compliance::observe(&slo, &data, span, i64::MAX)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got.len(), 1);
        let observed = got[0].1;
        let slots = span.slots();
        prop_assert_eq!(observed.slots_with_data, slots.saturating_sub(late));
        let c = compliance::assess(&slo, span, i64::MAX, observed);
        prop_assert!(!c.in_progress);
        prop_assert_eq!(c.complete, late == 0);
        if late == 0 {
            // Samples on both edges: no extrapolation, the exact sum.
            let total = observed.total.unwrap_or(-1.0);
            prop_assert!((total - naive_total).abs() <= 1e-9 * naive_total.max(1.0), "{} vs {}", total, naive_total);
            let bad = observed.bad.unwrap_or(-1.0);
            prop_assert!((bad - naive_bad).abs() <= 1e-9 * naive_bad.max(1.0));
            if naive_total > 0.0 {
                let met = naive_bad / naive_total <= slo.objective.budget_fraction();
                // Ties within rounding may go either way.
                let tie = ((naive_bad / naive_total) / slo.objective.budget_fraction() - 1.0).abs() < 1e-9;
                prop_assert!(tie || (c.status == Status::Met) == met, "{:?}", c);
            } else {
                prop_assert_eq!(c.status, Status::NoEvents);
            }
        } else if late >= slots {
            prop_assert_eq!(c.status, Status::NoData);
        }
    }
}
