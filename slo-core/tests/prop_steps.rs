//! The incremental evaluator's step store ([`slo_core::steps`]) against a
//! naive model (every recorded step kept in a map): window sums equal the
//! naive sums (the far-edge bucket counted whole), a gap never reads as
//! zero, coarsening into hour buckets preserves totals, and the stores
//! survive serialization; corrupt bytes are errors, never panics.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use slo_core::duration::Duration;
use slo_core::evaluation::{Answers, Part};
use slo_core::spec::Labels;
use slo_core::steps::{self, BUCKET_MS, STEP_MS, Store};

/// Recorded steps: time -> instance (`i` label) -> `[bad, total]`
/// (`None`: the series was absent).
type Model = BTreeMap<i64, Step>;
/// One step's answer: per instance, maybe bad, maybe total.
type Step = BTreeMap<String, [Option<f64>; 2]>;
/// Advances, and after each which missing steps are fetched with what.
type Script = Vec<(i64, Vec<bool>, Vec<Step>)>;

const WINDOWS: [Duration; 2] = [Duration::from_hours(2), Duration::from_mins(185)];
const PERIOD: Duration = Duration::from_hours(6);
/// The longest window below the period.
const KEEP_FINE: i64 = 185 * 60_000;

/// `stores` as bytes.
fn encoded(stores: &BTreeMap<String, Store>) -> Vec<u8> {
    let mut out = Vec::new();
    steps::encode(stores, &mut out).unwrap_or_else(|e| panic!("writing to memory: {e}"));
    out
}

/// `bytes` read back.
fn decoded(bytes: &[u8]) -> Result<BTreeMap<String, Store>, slo_core::errors::StepsError> {
    steps::decode(bytes, bytes.len() as u64)
}

fn store() -> Store {
    Store::with_shape(7, vec!["i".to_owned()], WINDOWS.to_vec(), PERIOD)
}

fn labels(i: &str) -> Labels {
    Labels::from([("i".to_owned(), i.to_owned())])
}

/// One step's answer: per instance, maybe bad, maybe total.
fn step_values() -> impl Strategy<Value = Step> {
    prop::collection::btree_map(
        prop::sample::select(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]),
        [
            prop::option::weighted(0.7, 0u32..50),
            prop::option::weighted(0.9, 0u32..500),
        ]
        .prop_map(|[b, t]| [b.map(f64::from), t.map(f64::from)]),
        0..3,
    )
}

fn record(store: &mut Store, model: &mut Model, t: i64, v: &BTreeMap<String, [Option<f64>; 2]>) {
    let part = |k: usize| -> Vec<(Labels, f64)> {
        v.iter()
            .filter_map(|(i, x)| x[k].map(|x| (labels(i), x)))
            .collect()
    };
    assert!(store.record(t, &part(0), &part(1)), "step {t} refused");
    model.insert(t, v.clone());
}

/// What the store must answer at `head`, from the model.
fn expected(model: &Model, head: i64) -> Answers {
    let boundary = (head - KEEP_FINE).div_euclid(BUCKET_MS) * BUCKET_MS;
    let mut out = Answers::new();
    let ms = |d: Duration| d.as_millis() as i64;
    let all = WINDOWS
        .iter()
        .map(|w| (Part::Bad(*w), Part::Total(*w), ms(*w)))
        .chain([(Part::PeriodBad, Part::PeriodTotal, ms(PERIOD))]);
    for (bad_part, total_part, w) in all {
        let mut lo = head - w;
        if lo < boundary {
            lo = lo.div_euclid(BUCKET_MS) * BUCKET_MS;
        }
        let times: Vec<i64> = (1..)
            .map(|k| lo + k * STEP_MS)
            .take_while(|t| *t <= head)
            .collect();
        if !times.iter().all(|t| model.contains_key(t)) {
            continue;
        }
        let mut sums: BTreeMap<String, [Option<f64>; 2]> = BTreeMap::new();
        for t in &times {
            for (i, v) in &model[t] {
                let s = sums.entry(i.clone()).or_default();
                for k in 0..2 {
                    if let Some(x) = v[k] {
                        s[k] = Some(s[k].unwrap_or(0.0) + x);
                    }
                }
            }
        }
        let pick = |k: usize| -> Vec<(Labels, f64)> {
            sums.iter()
                .filter_map(|(i, s)| s[k].map(|x| (labels(i), x)))
                .collect()
        };
        out.insert(bad_part, pick(0));
        out.insert(total_part, pick(1));
    }
    out
}

/// A run: advances (in steps, each below the period so nothing resets)
/// and, after each, which missing steps get fetched and with what.
fn script() -> impl Strategy<Value = Script> {
    prop::collection::vec(
        (
            0i64..40,
            prop::collection::vec(prop::bool::weighted(0.8), 120),
            prop::collection::vec(step_values(), 120),
        ),
        1..25,
    )
}

proptest! {
    /// Values are kept as `f32`: with fractional values of any size (an
    /// extrapolated `increase`), every window's sum stays within 1e-6 of
    /// the naive `f64` sum, relative (2^-24 per value kept or bucket
    /// summed), and the same windows and instances answer.
    #[test]
    fn kept_values_stay_within_f32_precision(start in 0i64..10_000, run in script(), scale in 1e-3f64..1e9) {
        let mut s = store();
        let mut model = Model::new();
        let mut head = 400_000 * STEP_MS + start * STEP_MS;
        s.advance(head);
        for (advance, fetch, values) in run {
            head += advance * STEP_MS;
            s.advance(head);
            for (k, t) in s.missing().iter().enumerate() {
                if fetch[k % fetch.len()] {
                    let mut v = values[k % values.len()].clone();
                    for x in v.values_mut().flat_map(|a| a.iter_mut().flatten()) {
                        *x = *x * scale + scale / 7.0;
                    }
                    record(&mut s, &mut model, *t, &v);
                }
            }
            let (got, want) = (s.answers(), expected(&model, head));
            prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
            for (part, exact) in &want {
                let kept = &got[part];
                prop_assert_eq!(kept.len(), exact.len());
                for ((l, x), (m, y)) in kept.iter().zip(exact) {
                    prop_assert_eq!(l, m);
                    prop_assert!((x - y).abs() <= 1e-6 * y.abs(), "{:?}: {} kept, {} exact", part, x, y);
                }
            }
        }
    }

    /// At every head, each window's sums equal the naive sums over the
    /// recorded steps in it, and a window with any step never fetched has
    /// no answer (not zero).
    #[test]
    fn window_sums_equal_the_naive_sums_and_gaps_stay_unknown(start in 0i64..10_000, run in script()) {
        let mut s = store();
        let mut model = Model::new();
        let mut head = 400_000 * STEP_MS + start * STEP_MS;
        s.advance(head);
        for (advance, fetch, values) in run {
            head += advance * STEP_MS;
            s.advance(head);
            prop_assert_eq!(s.head(), Some(head));
            let missing = s.missing();
            let fetched: BTreeSet<i64> = model.keys().copied().collect();
            // Missing is exactly the kept steps not yet fetched.
            prop_assert!(missing.iter().all(|t| !fetched.contains(t) && *t <= head));
            for (k, t) in missing.iter().enumerate() {
                if fetch[k % fetch.len()] {
                    record(&mut s, &mut model, *t, &values[k % values.len()]);
                }
            }
            prop_assert_eq!(s.answers(), expected(&model, head));
        }
    }

    /// Everything fetched but one step: every window holding it (and the
    /// period) is unknown, whatever the other steps said.
    #[test]
    fn a_gap_never_reads_as_zero(start in 0i64..10_000, hole in 0usize..200, zero in any::<bool>()) {
        let mut s = store();
        let head = 400_000 * STEP_MS + start * STEP_MS;
        s.advance(head);
        let missing = s.missing();
        let hole = missing[hole % missing.len()];
        let v = if zero { 0.0 } else { 3.0 };
        for t in missing.iter().filter(|t| **t != hole) {
            s.record(*t, &[(labels("a"), v)], &[(labels("a"), 10.0)]);
        }
        prop_assert_eq!(s.missing(), vec![hole]);
        let answers = s.answers();
        prop_assert!(!answers.contains_key(&Part::PeriodBad) && !answers.contains_key(&Part::PeriodTotal));
        for w in WINDOWS {
            let holds = hole > head - w.as_millis() as i64;
            prop_assert_eq!(answers.contains_key(&Part::Total(w)), !holds);
            prop_assert_eq!(answers.contains_key(&Part::Bad(w)), !holds);
        }
    }

    /// Steps moved into hour buckets keep their events: with every step
    /// fetched as the head moves, the period's total is the naive sum,
    /// every cycle, and no step is ever asked twice.
    #[test]
    fn coarsening_preserves_totals(start in 0i64..10_000, advances in prop::collection::vec(1i64..30, 1..30), value in 1u32..1000) {
        let mut s = store();
        let mut model = Model::new();
        let mut head = 400_000 * STEP_MS + start * STEP_MS;
        s.advance(head);
        let one = BTreeMap::from([("a".to_owned(), [Some(1.0), Some(f64::from(value))])]);
        for t in s.missing() {
            record(&mut s, &mut model, t, &one);
        }
        for a in advances {
            head += a * STEP_MS;
            s.advance(head);
            let missing = s.missing();
            prop_assert_eq!(missing.len() as i64, a);
            for t in missing {
                record(&mut s, &mut model, t, &one);
            }
            let answers = s.answers();
            let exp = expected(&model, head);
            prop_assert_eq!(answers.get(&Part::PeriodTotal), exp.get(&Part::PeriodTotal));
            prop_assert!(answers.contains_key(&Part::PeriodTotal));
        }
    }

    /// A whole bucket of history recorded at once (`increase()` over the
    /// hour) answers as its 12 steps recorded one by one would: every
    /// window and the period, per instance. A bucket with a step fetched
    /// already is refused, and its steps stay as they are.
    #[test]
    fn a_bucket_filled_at_once_equals_its_steps(start in 0i64..10_000, per_step in prop::collection::vec(step_values(), 12), partial in any::<prop::sample::Index>()) {
        let (mut by_steps, mut at_once) = (store(), store());
        let head = 400_000 * STEP_MS + start * STEP_MS;
        by_steps.advance(head);
        at_once.advance(head);
        let buckets = at_once.missing_buckets();
        prop_assert!(!buckets.is_empty());
        prop_assert_eq!(buckets.clone(), by_steps.missing_buckets());
        let mut model = Model::new();
        for &b in &buckets {
            let mut sum: Step = BTreeMap::new();
            for (k, v) in per_step.iter().enumerate() {
                let t = b - BUCKET_MS + (k as i64 + 1) * STEP_MS;
                record(&mut by_steps, &mut model, t, v);
                for (i, x) in v {
                    let slot = sum.entry(i.clone()).or_insert([None, None]);
                    for j in 0..2 {
                        if let Some(x) = x[j] {
                            slot[j] = Some(slot[j].unwrap_or(0.0) + x);
                        }
                    }
                }
            }
            let part = |j: usize| -> Vec<(Labels, f64)> {
                sum.iter().filter_map(|(i, x)| x[j].map(|x| (labels(i), x))).collect()
            };
            prop_assert!(at_once.record_bucket(b, &part(0), &part(1)));
            prop_assert!(!at_once.record_bucket(b, &part(0), &part(1)), "a bucket filled twice");
        }
        prop_assert!(at_once.missing_buckets().is_empty());
        for t in at_once.missing() {
            let v = &per_step[(t / STEP_MS) as usize % 12];
            record(&mut at_once, &mut Model::new(), t, v);
            record(&mut by_steps, &mut model, t, v);
        }
        prop_assert!(by_steps.missing().is_empty());
        prop_assert_eq!(at_once.answers(), by_steps.answers());
        prop_assert_eq!(at_once.answers(), expected(&model, head));

        // One step fetched makes its bucket a step-by-step one.
        let mut mixed = store();
        mixed.advance(head);
        let b = buckets[partial.index(buckets.len())];
        prop_assert!(mixed.record(b, &[], &[(labels("a"), 1.0)]));
        prop_assert!(!mixed.record_bucket(b, &[], &[(labels("a"), 12.0)]));
        prop_assert!(!mixed.missing_buckets().contains(&b));
        prop_assert_eq!(mixed.missing().iter().filter(|t| **t > b - BUCKET_MS && **t <= b).count(), 11);
    }

    /// Bytes and back: the same bytes again and the same answers; every
    /// truncation is an error, any corruption is no panic.
    #[test]
    fn serialization_round_trips(start in 0i64..10_000, run in script(), flip in any::<(usize, u8)>()) {
        let mut s = store();
        let mut model = Model::new();
        let mut head = 400_000 * STEP_MS + start * STEP_MS;
        s.advance(head);
        for (advance, fetch, values) in run.into_iter().take(4) {
            head += advance * STEP_MS;
            s.advance(head);
            for (k, t) in s.missing().iter().enumerate() {
                if fetch[k % fetch.len()] {
                    record(&mut s, &mut model, *t, &values[k % values.len()]);
                }
            }
        }
        let stores = BTreeMap::from([("web/a".to_owned(), s.clone()), ("web/b".to_owned(), store())]);
        let bytes = encoded(&stores);
        let back = decoded(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(encoded(&back), bytes.clone());
        prop_assert_eq!(back["web/a"].answers(), s.answers());
        prop_assert_eq!(back["web/a"].missing(), s.missing());
        for cut in [0, 5, 9, bytes.len() / 2, bytes.len() - 1] {
            prop_assert!(decoded(&bytes[..cut]).is_err());
            // A reader that claims more bytes than it then gives.
            prop_assert!(steps::decode(&bytes[..cut], bytes.len() as u64).is_err());
        }
        let mut bad = bytes.clone();
        let at = flip.0 % bad.len();
        bad[at] ^= flip.1.max(1);
        let _ = decoded(&bad);
    }
}

/// One instance's bytes in a default-policy store (see below).
const HELD: std::ops::RangeInclusive<usize> = (864 + 648) * 8..=(876 + 649 + 13) * 8;

/// `slo`'s store with one instance, every step of 30 days recorded.
fn filled_default_store(slo: &slo_core::spec::Slo) -> Store {
    let mut s = Store::new(slo).unwrap_or_else(|| panic!("a ratio SLI has steps"));
    s.advance(1_000_000 * STEP_MS);
    let missing = s.missing().len();
    // 30 days of steps to fetch at start (plus the far-edge bucket's).
    assert!((8_640..8_640 + 12).contains(&missing), "{missing}");
    for t in s.missing() {
        s.record(t, &[(Labels::new(), 1.0)], &[(Labels::new(), 10.0)]);
    }
    s
}

fn default_slo() -> slo_core::spec::Slo {
    let spec = slo_core::load::load_str(
        "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: 'x{code=\"5\"}', total: x}\n",
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    spec.slos[0].clone()
}

/// Regression: a store's deques grew by doubling on its first advance (and
/// a bucket pushed before the oldest was dropped), and kept that capacity:
/// twice the memory its values need, for good.
#[test]
fn step_deques_kept_twice_their_capacity_after_advancing() {
    let mut s = filled_default_store(&default_slo());
    for _ in 0..30 {
        let head = s.head().unwrap_or_default();
        s.advance(head + STEP_MS);
        for t in s.missing() {
            s.record(t, &[(Labels::new(), 1.0)], &[(Labels::new(), 10.0)]);
        }
        let per_instance = s.value_bytes() / s.instances();
        assert!(HELD.contains(&per_instance), "{per_instance}");
    }
    // A long gap (a daemon down for a day) grows them; they fit again.
    let head = s.head().unwrap_or_default();
    s.advance(head + 288 * STEP_MS);
    let per_instance = s.value_bytes() / s.instances();
    assert!(HELD.contains(&per_instance), "{per_instance}");
}

/// The default policy's store: 30 days to fetch at start, 3d of 5m steps
/// and hour buckets beyond (the memory per instance), windows above 1h and
/// the period answered from steps, the shorter ones left to raw queries.
#[test]
fn default_policy_keeps_three_days_of_steps_and_hour_buckets_beyond() {
    let slo = &default_slo();
    let s = filled_default_store(slo);
    // 3d of 5m steps (864, plus up to 11 to the hour) and 27d of hour
    // buckets, 8 bytes each, and room for the next hour.
    let per_instance = s.value_bytes() / s.instances();
    assert!(HELD.contains(&per_instance), "{per_instance}");
    let answers = s.answers();
    assert_eq!(
        answers[&Part::Total(Duration::from_days(3))][0].1,
        864.0 * 10.0
    );
    assert_eq!(
        answers[&Part::Total(Duration::from_hours(6))][0].1,
        72.0 * 10.0
    );
    assert!(
        !answers.contains_key(&Part::Total(Duration::from_hours(1))),
        "1h is read raw"
    );
    let period = answers[&Part::PeriodTotal][0].1;
    assert!((86_400.0..=86_400.0 + 110.0).contains(&period), "{period}");
    // Raw windows are asked directly; the derived ones and the period are not.
    let raw: Vec<String> = steps::raw_queries(slo, true)
        .iter()
        .map(|(p, _)| format!("{p:?}"))
        .collect();
    assert_eq!(raw.len(), 6, "{raw:?}");
}

/// A kept step fetched again replaces its answer (an instance gone from
/// it no longer counts); a step already summed into a bucket is refused,
/// so it is never counted twice.
#[test]
fn a_step_fetched_again_replaces_and_a_bucketed_one_is_not_counted_twice() {
    let mut s = store();
    let head = 400_000 * STEP_MS;
    s.advance(head);
    for t in s.missing() {
        s.record(t, &[], &[(labels("a"), 1.0)]);
    }
    let two_hours = Part::Total(Duration::from_hours(2));
    assert_eq!(s.answers()[&two_hours], vec![(labels("a"), 24.0)]);
    assert!(s.record(head, &[], &[(labels("b"), 5.0)]));
    assert_eq!(
        s.answers()[&two_hours],
        vec![(labels("a"), 23.0), (labels("b"), 5.0)]
    );
    let oldest = head - PERIOD.as_millis() as i64 + STEP_MS;
    assert!(!s.record(oldest, &[], &[(labels("a"), 100.0)]));
    assert!(!s.record(head + STEP_MS, &[], &[]), "newer than the head");
    assert!(!s.record(head - 1, &[], &[]), "off the grid");
}
