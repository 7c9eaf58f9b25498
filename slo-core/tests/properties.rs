//! Properties of the replay: the fast windowed `increase()` (and slice
//! counts) are the slow ones, counter resets never create errors, and time is relative.

mod common;

use common::{HOUR, MIN, S, requests, slo};
use proptest::prelude::*;
use slo_core::backtest::{self, AlertInterval, Options};
use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::duration::Duration;
use slo_core::series::{Reduce, Series, Steps, WindowedSums, increase_by_scan, increases};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Raw samples as a scrape might deliver them: mostly in order at uneven
/// intervals, with duplicates, late samples, resets and the odd NaN. Times
/// are mostly on a 5 s grid and increments often zero, so that samples land
/// exactly on range edges and values repeat.
fn raw_samples() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let interval = prop_oneof![
        4 => (0i64..8).prop_map(|k| k * 5_000),
        1 => 1i64..40_000,
    ];
    let increment =
        prop_oneof![2 => Just(0.0), 3 => (0u8..20).prop_map(f64::from), 1 => 0.0f64..50.0];
    prop::collection::vec((interval, increment, 0u8..100), 0..150).prop_map(|steps| {
        let (mut t, mut v) = (1_700_000_000_000i64, 0.0);
        steps
            .into_iter()
            .map(|(dt, inc, kind)| match kind {
                0..=3 => (t - 25_000, v + 1.0), // late: out of order
                4..=5 => (t, v + inc),          // duplicate time
                6 => (t + 5_000, f64::NAN),     // dropped
                7..=10 => {
                    t += dt.max(1);
                    v = inc; // reset: restarted from 0, counted `inc` since
                    (t, v)
                }
                _ => {
                    t += dt;
                    v += inc;
                    (t, v)
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(common::config(256, "proptest-regressions/properties.txt"))]

    #[test]
    fn windowed_increase_equals_a_rescan(
        samples in raw_samples(),
        step in prop_oneof![3 => (1i64..24).prop_map(|k| k * 5_000), 1 => 1_000i64..120_000],
        windows in prop::collection::vec(0usize..3, 1..4),
        lengths in prop::collection::vec(1i64..40, 3),
        odd in prop::collection::vec(1i64..1_200_000, 3),
        from in prop_oneof![3 => (-120i64..600).prop_map(|k| k * 5_000), 1 => -600_000i64..3_000_000],
        count in 1usize..120,
    ) {
        let series = Series::from_samples(samples.iter().copied());
        // Whole steps (the shared grid), whole 5 s, or any length (cursors).
        let windows: Vec<i64> = windows
            .iter()
            .enumerate()
            .map(|(i, &k)| match k {
                0 => lengths[i] * step,
                1 => lengths[i] * 5_000,
                _ => odd[i],
            })
            .collect();
        let durations: Vec<Duration> = windows.iter().map(|&w| Duration::from_millis(w as u64)).collect();
        let start = 1_700_000_000_000 + from;
        let steps = Steps::new(start, start + step * (count as i64 - 1), Duration::from_millis(step as u64)).unwrap_or_else(|| panic!("steps"));
        let mut sums = WindowedSums::new(&durations, steps);
        sums.add(&series, 0);
        for (w, &window) in windows.iter().enumerate() {
            let cursor = increases(&series, durations[w], &steps);
            for (k, t) in steps.iter().enumerate() {
                let want = increase_by_scan(&samples, t - window, t);
                let [fast, _] = sums.get(w, k);
                for from in [k, k.saturating_sub(3), k.saturating_sub(20)] {
                    if let ([Some(b), _], Some(x)) = (sums.bounds(w, from, k), want) {
                        let high = b.high_numerator / b.high_denominator;
                        prop_assert!(
                            b.low <= x * (1.0 + 1e-12) && x <= high * (1.0 + 1e-12),
                            "bounds {:?} over {}..={} around {}", b, from, k, x
                        );
                    }
                }
                let slow = series.increase(t - window, t);
                for got in [fast, cursor[k], slow] {
                    prop_assert_eq!(got.is_some(), want.is_some(), "window {} at {}: {:?} vs {:?}", window, t, got, want);
                    if let (Some(g), Some(x)) = (got, want) {
                        prop_assert!(close(g, x), "window {} at {}: {} vs {}", window, t, g, x);
                    }
                }
            }
        }
    }

    #[test]
    fn windowed_slice_counts_equal_a_rescan(
        slices in prop::collection::vec(prop_oneof![3 => Just(Some(1.0)), 2 => Just(Some(0.0)), 1 => Just(None), 1 => (0.0f64..5.0).prop_map(Some)], 0..200),
        slice in prop_oneof![Just(15_000i64), Just(60_000), 1_000i64..90_000],
        step in prop_oneof![3 => (1i64..24).prop_map(|k| k * 5_000), 1 => 1_000i64..120_000],
        lengths in prop::collection::vec(1i64..40, 1..4),
        from in -600_000i64..3_000_000,
        count in 1usize..120,
    ) {
        // A slice indicator (values 1, 0, any gauge value, or no sample):
        // `count_over_time` and `sum_over_time` over the closed range
        // `[t - W, t]`, as Prometheus 2.x, whatever the steps and windows.
        let samples: Vec<(i64, f64)> = slices
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as i64 * slice, v)))
            .collect();
        let series = Series::from_samples(samples.iter().copied());
        let windows: Vec<i64> = lengths.iter().map(|k| k * step.min(slice)).collect();
        let durations: Vec<Duration> = windows.iter().map(|&w| Duration::from_millis(w as u64)).collect();
        let steps = Steps::new(from, from + step * (count as i64 - 1), Duration::from_millis(step as u64)).unwrap_or_else(|| panic!("steps"));
        let mut sums = WindowedSums::new(&durations, steps);
        sums.add_as(&series, 0, Reduce::Count);
        sums.add_as(&series, 1, Reduce::Sum);
        for (w, &window) in windows.iter().enumerate() {
            for (k, t) in steps.iter().enumerate() {
                let inside: Vec<f64> = samples.iter().filter(|(x, _)| *x >= t - window && *x <= t).map(|(_, v)| *v).collect();
                let want = (!inside.is_empty()).then(|| [inside.len() as f64, inside.iter().sum::<f64>()]);
                let got = sums.get(w, k);
                prop_assert_eq!(got[0].is_some(), want.is_some(), "window {} at {}", window, t);
                prop_assert_eq!(got[1].is_some(), want.is_some(), "window {} at {}", window, t);
                if let (Some(want), [Some(n), Some(sum)]) = (want, got) {
                    prop_assert_eq!(n, want[0]);
                    prop_assert!(close(sum, want[1]), "window {} at {}: {} vs {}", window, t, sum, want[1]);
                    for reduce in [(Reduce::Count, n), (Reduce::Sum, sum)] {
                        let one = series.reduce(reduce.0, t - window, t).unwrap_or(f64::NAN);
                        prop_assert!(close(one, reduce.1), "{:?}: {} vs {}", reduce.0, one, reduce.1);
                    }
                    for from in [k, k.saturating_sub(3), k.saturating_sub(20)] {
                        for (g, x) in [n, sum].into_iter().enumerate() {
                            if let Some(b) = sums.bounds(w, from, k)[g] {
                                let high = b.high_numerator / b.high_denominator;
                                prop_assert!(
                                    b.low <= x * (1.0 + 1e-12) + 1e-12 && x <= high * (1.0 + 1e-12) + 1e-12,
                                    "bounds {:?} over {}..={} around {}", b, from, k, x
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_counter_reset_never_creates_increase(
        incs in prop::collection::vec(0.0f64..20.0, 2..200),
        resets in prop::collection::vec(any::<bool>(), 200),
        first in 0.0f64..1e6,
        window in 1i64..40,
        step in prop_oneof![Just(15_000i64), Just(60_000), Just(45_000)],
    ) {
        // The same events counted by a counter that never restarts and by one
        // that restarts (from zero, right after a scrape) now and then.
        let (mut a, mut b) = (first, first);
        let mut plain = Vec::new();
        let mut restarted = Vec::new();
        for (i, inc) in incs.iter().enumerate() {
            a += inc;
            b = if i > 0 && resets[i] { *inc } else { b + inc };
            let t = i as i64 * 15_000;
            plain.push((t, a));
            restarted.push((t, b));
        }
        let (plain, restarted) = (Series::from_samples(plain), Series::from_samples(restarted));
        let w = window * 15_000;
        let steps = Steps::new(0, incs.len() as i64 * 15_000, Duration::from_millis(step as u64)).unwrap_or_else(|| panic!("steps"));
        let d = Duration::from_millis(w as u64);
        let (x, y) = (increases(&plain, d, &steps), increases(&restarted, d, &steps));
        for (p, r) in x.iter().zip(&y) {
            prop_assert_eq!(p.is_some(), r.is_some());
            if let (Some(p), Some(r)) = (p, r) {
                prop_assert!(*r >= 0.0, "negative increase {}", r);
                prop_assert!(*r <= p + 1e-9 * p.max(1.0), "a reset added events: {} > {}", r, p);
            }
        }
    }

    #[test]
    fn a_reset_of_the_error_counter_never_adds_alerts(
        bursts in prop::collection::vec((0i64..420, 1i64..30, 0.001f64..1.0), 0..4),
        resets in prop::collection::vec(0i64..480, 0..4),
    ) {
        let data = bursty(&bursts, 0);
        // The error counter restarts at each reset (after the scrape before it).
        let bad = SeriesKey::new("req_total", [("code", "500")]);
        let mut restarted = data.clone();
        if let Some(s) = data.get(&bad) {
            let mut lost = 0.0;
            let mut prev = 0.0;
            let samples = s.samples().map(|(t, v)| {
                if resets.iter().any(|r| r * MIN == t) {
                    lost = prev;
                }
                prev = v;
                (t, v - lost)
            });
            restarted.insert(bad, Series::from_samples(samples.collect::<Vec<_>>()));
        }
        let (with, without) = (alerts(&restarted, 0), alerts(&data, 0));
        for a in &with {
            prop_assert!(
                without.iter().any(|b| b.severity == a.severity && b.start <= a.start && match (a.end, b.end) {
                    (_, None) => true,
                    (Some(x), Some(y)) => x <= y,
                    (None, Some(_)) => false,
                }),
                "alert {:?} only with the reset: {:?}", a, without
            );
        }
    }

    #[test]
    fn shifting_time_shifts_the_timeline(
        bursts in prop::collection::vec((0i64..420, 1i64..60, 0.001f64..1.0), 0..4),
        shift in -1_000_000_000_000i64..1_000_000_000_000,
    ) {
        let report = |by: i64| {
            let data = bursty(&bursts, 0).shifted(by);
            let options = Options::new(HOUR + by, 8 * HOUR + by);
            backtest::backtest(&short_windows(), &data, &options).unwrap_or_else(|e| panic!("{e}")).instances.remove(0)
        };
        let (a, b) = (report(0), report(shift));
        prop_assert_eq!(a.alerts.len(), b.alerts.len());
        for (x, y) in a.alerts.iter().zip(&b.alerts) {
            prop_assert_eq!((x.severity, x.start + shift, x.active_since + shift, x.end.map(|e| e + shift)), (y.severity, y.start, y.active_since, y.end));
            prop_assert_eq!(x.peak_burn_rate, y.peak_burn_rate);
        }
        prop_assert_eq!(a.budget.len(), b.budget.len());
        for (x, y) in a.budget.iter().zip(&b.budget) {
            prop_assert_eq!((x.time + shift, x.error_ratio), (y.time, y.error_ratio));
        }
        prop_assert_eq!(a.incidents.len(), b.incidents.len());
        for (x, y) in a.incidents.iter().zip(&b.incidents) {
            prop_assert_eq!((x.incident.start + shift, x.incident.end + shift), (y.incident.start, y.incident.end));
        }
        prop_assert_eq!(a.quality, b.quality);
    }
}

proptest! {
    #![proptest_config(common::config(512, "proptest-regressions/properties.txt"))]

    /// The readers of user files never panic, on text near their syntax or
    /// on any text at all.
    #[test]
    fn readers_never_panic(
        near in r#"[a-z_:{}=!~",. 0-9#\\\n\t+\-eEINaf()\[\]`'é]{0,300}"#,
        any in ".{0,100}",
    ) {
        for text in [&near, &any] {
            let _ = slo_core::openmetrics::check(text);
            let _ = text.parse::<slo_core::selector::Selector>();
            let _ = slo_core::incident::load_str(text);
            let _ = slo_core::time::parse(text);
        }
    }
}

/// 8 hours of traffic at 15 s with error bursts `(start minute, minutes,
/// ratio)`.
fn bursty(bursts: &[(i64, i64, f64)], by: i64) -> Dataset {
    requests(by, 8 * HOUR + by, 15 * S, 5.0, |t| {
        let minute = (t - by) / MIN;
        bursts
            .iter()
            .filter(|(at, len, _)| minute >= *at && minute < at + len)
            .map(|(_, _, e)| *e)
            .fold(0.0, f64::max)
    })
}

/// The default policy's shape with windows short enough for 8 hours.
fn short_windows() -> slo_core::spec::Slo {
    slo(
        99.9,
        "      windows:\n        - {severity: page, long: 30m, short: 5m, factor: 14.4}\n        - {severity: page, long: 1h, short: 10m, factor: 6}\n        - {severity: ticket, long: 2h, short: 10m, factor: 3}\n",
    )
}

fn alerts(data: &Dataset, by: i64) -> Vec<AlertInterval> {
    let options = Options::new(HOUR + by, 8 * HOUR + by);
    backtest::backtest(&short_windows(), data, &options)
        .unwrap_or_else(|e| panic!("{e}"))
        .instances[0]
        .alerts
        .clone()
}
