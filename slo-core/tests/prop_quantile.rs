//! `histogram_quantile` over any histogram: monotone in `q`; the answer lies
//! within the bucket holding the rank (the highest finite bound when that is
//! the `+Inf` bucket); scaling every count by `k > 0` leaves it unchanged
//! (rates and increases give the same quantile); NaN only in the documented
//! cases, never for a histogram with observations.

use proptest::prelude::*;
use slo_core::quantile::histogram_quantile;

const INF: f64 = f64::INFINITY;

/// A histogram with observations: 1 to 12 finite bounds, strictly
/// increasing and above 0, cumulative counts, and the `+Inf` bucket; in a
/// shuffled order (the function sorts).
fn histogram() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((0.001f64..10.0, 0u32..1000), 1..12)
        .prop_flat_map(|steps| {
            let mut bound = 0.0;
            let mut count = 0.0;
            let out: Vec<(f64, f64)> = steps
                .into_iter()
                .map(|(width, n)| {
                    bound += width;
                    count += f64::from(n);
                    (bound, count)
                })
                .collect();
            let total = count;
            (0u32..100).prop_map(move |extra| {
                let mut h = out.clone();
                // At least one observation in all.
                h.push((
                    INF,
                    total + f64::from(extra) + if total == 0.0 { 1.0 } else { 0.0 },
                ));
                h
            })
        })
        .prop_shuffle()
}

/// Sorted by bound.
fn sorted(h: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut s = h.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    s
}

proptest! {
    #[test]
    fn quantile_is_monotone_in_q(h in histogram(), a in 0.001f64..=1.0, b in 0.001f64..=1.0) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (x, y) = (histogram_quantile(lo, &h), histogram_quantile(hi, &h));
        prop_assert!(x <= y + 1e-12 * y.abs().max(1.0), "q {lo} -> {x}, q {hi} -> {y}: {h:?}");
    }

    #[test]
    fn quantile_lies_in_the_bucket_holding_the_rank(h in histogram(), q in 0.001f64..=1.0) {
        let s = sorted(&h);
        let total = s[s.len() - 1].1;
        let rank = q * total;
        let v = histogram_quantile(q, &h);
        let b = s.iter().position(|x| x.1 >= rank).unwrap_or(s.len() - 1);
        if b == s.len() - 1 {
            prop_assert_eq!(v, s[s.len() - 2].0);
        } else {
            let lower = if b == 0 { 0.0 } else { s[b - 1].0 };
            let tol = 1e-12 * s[b].0;
            prop_assert!(v >= lower - tol && v <= s[b].0 + tol, "{v} outside ({lower}, {}]: {s:?}", s[b].0);
        }
    }

    #[test]
    fn scaling_every_count_leaves_the_quantile_unchanged(
        h in histogram(),
        q in 0.0f64..=1.0,
        k in 0.001f64..1000.0,
    ) {
        let scaled: Vec<(f64, f64)> = h.iter().map(|&(b, c)| (b, c * k)).collect();
        let (x, y) = (histogram_quantile(q, &h), histogram_quantile(q, &scaled));
        if x.is_nan() {
            prop_assert!(y.is_nan(), "{x} vs {y}");
        } else {
            prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y} (k {k})");
        }
    }

    #[test]
    fn nan_only_in_the_documented_cases(
        h in histogram(),
        q in 0.0f64..=1.0,
        drop_inf in any::<bool>(),
        zero in any::<bool>(),
        keep in 0usize..3,
    ) {
        let mut h = sorted(&h);
        if drop_inf {
            h.pop();
        }
        if zero {
            for b in &mut h {
                b.1 = 0.0;
            }
        }
        if keep < 2 {
            let n = h.len();
            h.drain(..n.saturating_sub(keep));
        }
        let has_inf = h.last().is_some_and(|b| b.0 == INF);
        let observations = h.last().map_or(0.0, |b| b.1);
        let empty_lowest_at_q0 = q == 0.0 && h.first().is_some_and(|b| b.0 > 0.0 && b.1 == 0.0);
        let documented = !has_inf || h.len() < 2 || observations == 0.0 || empty_lowest_at_q0;
        prop_assert_eq!(histogram_quantile(q, &h).is_nan(), documented, "{:?} at q {}", h, q);
    }
}

#[test]
fn nan_q_and_out_of_range_q_follow_prometheus() {
    let h = [(1.0, 1.0), (INF, 2.0)];
    assert!(histogram_quantile(f64::NAN, &h).is_nan());
    assert_eq!(histogram_quantile(-1.0, &h), f64::NEG_INFINITY);
    assert_eq!(histogram_quantile(2.0, &h), INF);
}
