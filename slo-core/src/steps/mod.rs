//! The daemon's incremental evaluation: long windows and the period as
//! sums of aligned 5m steps kept in memory, the construction of the
//! generated rules ([`crate::rules`]: windows up to
//! [`RAW_WINDOW_MAX`](crate::rules::RAW_WINDOW_MAX) read the raw series,
//! longer ones sum the step group's `increase(...[5m])`).
//!
//! A [`Store`] holds one SLO's steps per instance. Step times are multiples
//! of 5m since the epoch; step `t` holds the bad and total events of
//! `(t - 5m, t]` (`increase(...[5m])` evaluated at `t`). The store knows
//! which steps were fetched: an instance absent from a fetched step had no
//! events in it (as the rules' `sum_over_time` skips it), a step never
//! fetched is a gap, unknown. A window is answered at the newest step
//! (`head`) as the sum of the steps in `(head - w, head]`, and only when
//! every one of them was fetched: a gap never reads as zero.
//!
//! Memory: 5m steps are kept as far back as the longest derived window
//! shorter than the period needs (3d by default: 864 steps); older steps are
//! summed into hour buckets (`(b - 1h, b]`, `b` a multiple of 1h) back to
//! the period. A window reaching into the buckets (the period) counts the
//! bucket at its far edge whole: it may cover up to 55 minutes more than
//! its length at that edge (less than 0.2% of a 30d period). 8 bytes per
//! step or bucket and instance (`f32` bad and total, summed in `f64`):
//! about 12 KB per instance for 30d and a 3d window.
//!
//! Raw SLIs (no events) and `slices` SLIs are not kept here ([`applies`]):
//! the daemon keeps their direct queries.
//!
//! ```
//! use std::collections::BTreeMap;
//! use slo_core::duration::Duration;
//! use slo_core::evaluation::Part;
//! use slo_core::steps::{STEP_MS, Store};
//!
//! // A 6h window, a 1d period.
//! let mut store = Store::with_shape(0, vec![], vec![Duration::from_hours(6)], Duration::from_days(1));
//! let head = 1_000 * 3_600_000;
//! store.advance(head);
//! let none = BTreeMap::new();
//! let answers = store.answers();
//! assert!(answers.get(&Part::Total(Duration::from_hours(6))).is_none()); // nothing fetched: unknown
//! for t in store.missing() {
//!     store.record(t, &[(none.clone(), 1.0)], &[(none.clone(), 100.0)]);
//! }
//! assert!(store.missing().is_empty());
//! let answers = store.answers();
//! assert_eq!(answers[&Part::Total(Duration::from_hours(6))][0].1, 72.0 * 100.0);
//! assert_eq!(answers[&Part::PeriodBad][0].1, 288.0);
//! ```

use std::collections::{BTreeMap, VecDeque};

use crate::duration::Duration;
use crate::evaluation::{self, Answers, Part};
use crate::instance::{self, Instance};
use crate::promql::{self, Counter, STEP};
use crate::rules::is_derived;
use crate::spec::{Labels, Sli, Slo};

mod codec;
pub use codec::{decode, encode};

/// A step, in milliseconds.
pub const STEP_MS: i64 = STEP.as_millis() as i64;
/// A bucket of old steps, in milliseconds.
pub const BUCKET_MS: i64 = 3_600_000;
/// Steps per bucket.
const PER_BUCKET: usize = (BUCKET_MS / STEP_MS) as usize;
/// A bucket whose every step was fetched.
const FULL: u16 = (1 << PER_BUCKET) - 1;
/// No sample: the instance had no series in the step (or in any step of
/// the bucket).
const ABSENT: [f64; 2] = [f64::NAN, f64::NAN];
/// [`ABSENT`] as kept.
const KEPT_ABSENT: Kept = [f32::NAN, f32::NAN];

/// A step's or bucket's `[bad, total]` as kept: `f32`, half the memory of
/// `f64`. Events of a step or an hour are counts far below 2^24 in
/// relative precision terms: each value is off by at most 2^-24 of itself
/// (integers up to 16,777,216 exactly), and sums are taken in `f64`, so a
/// window's sum is off by at most 2^-24 of it (6e-8), far below any
/// threshold's resolution. Infinities and NaN are kept as they are.
type Kept = [f32; 2];

fn narrow(v: [f64; 2]) -> Kept {
    [v[0] as f32, v[1] as f32]
}

fn widen(v: Kept) -> [f64; 2] {
    [f64::from(v[0]), f64::from(v[1])]
}

/// True when `slo` is evaluated from steps: SLIs that count events, but
/// not `slices` (their indicator is recorded per slice, not per step).
pub fn applies(slo: &Slo) -> bool {
    slo.sli.counts_events() && !matches!(slo.sli, Sli::Slices(_))
}

/// The step queries of `slo`: bad and total events over 5m, the PromQL of
/// the rules' step group.
pub fn step_queries(slo: &Slo) -> Option<(String, String)> {
    if !applies(slo) {
        return None;
    }
    Some((
        promql::bad_events(&slo.sli, STEP, Counter::Increase)?,
        promql::total_events(&slo.sli, STEP, Counter::Increase)?,
    ))
}

/// The bucket queries of `slo`: bad and total events over 1h, asked at
/// hour boundaries to fill whole [`BUCKET_MS`] buckets of history at once
/// (12 times fewer points than its steps; `increase()` over the hour is
/// the sum of its 5m steps up to Prometheus's extrapolation at the edges).
pub fn bucket_queries(slo: &Slo) -> Option<(String, String)> {
    if !applies(slo) {
        return None;
    }
    let hour = Duration::from_hours(1);
    Some((
        promql::bad_events(&slo.sli, hour, Counter::Increase)?,
        promql::total_events(&slo.sli, hour, Counter::Increase)?,
    ))
}

/// The queries still asked directly each cycle: the windows read from the
/// raw series (every window, and with `with_period` the period, for SLIs
/// the steps do not apply to).
pub fn raw_queries(slo: &Slo, with_period: bool) -> Vec<(Part, String)> {
    let all = evaluation::queries(slo, with_period);
    if !applies(slo) {
        return all;
    }
    all.into_iter()
        .filter(|(part, _)| match part {
            Part::Bad(w) | Part::Total(w) | Part::Ratio(w) => !is_derived(&slo.sli, *w),
            Part::PeriodBad | Part::PeriodTotal => false,
        })
        .collect()
}

/// The newest step usable at `now_ms`: the last 5m boundary at least
/// `settle_ms` ago (scrapes stamped before it have been ingested).
pub fn last_step(now_ms: i64, settle_ms: i64) -> i64 {
    align_down(now_ms - settle_ms, STEP_MS)
}

fn align_down(t: i64, unit: i64) -> i64 {
    t.div_euclid(unit) * unit
}

/// What identifies an SLO's steps: its step queries, grouping, windows and
/// period (FNV-1a). A spec change to any of them drops the steps.
pub fn key_of(slo: &Slo) -> u64 {
    let (bad, total) = step_queries(slo).unwrap_or_default();
    let mut parts: Vec<String> = vec![bad, total, slo.period.to_string()];
    parts.extend(slo.group_by().iter().cloned());
    parts.extend(derived_windows(slo).iter().map(ToString::to_string));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in &parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn derived_windows(slo: &Slo) -> Vec<Duration> {
    slo.policy
        .windows()
        .into_iter()
        .filter(|w| is_derived(&slo.sli, *w))
        .collect()
}

/// One instance's steps and buckets: `[bad, total]`, NaN when absent.
#[derive(Clone, Debug, Default)]
pub(crate) struct Series {
    fine: VecDeque<Kept>,
    coarse: VecDeque<Kept>,
}

impl Series {
    /// `fine` steps and `coarse` buckets, all absent.
    fn absent(fine: usize, coarse: usize) -> Self {
        let mut s = Self {
            fine: VecDeque::with_capacity(fine + PER_BUCKET),
            coarse: VecDeque::with_capacity(coarse + 1),
        };
        s.fine.extend(std::iter::repeat_n(KEPT_ABSENT, fine));
        s.coarse.extend(std::iter::repeat_n(KEPT_ABSENT, coarse));
        s
    }

    /// Room for the next bucket's steps and one more bucket, no more: a
    /// deque grown by doubling (a fresh store's first advance, a long
    /// outage) would otherwise hold up to twice its values for good.
    fn fit(&mut self) {
        fn fit(d: &mut VecDeque<Kept>, slack: usize) {
            if d.capacity() > d.len() + 2 * slack {
                d.shrink_to(d.len() + slack);
            } else if d.capacity() < d.len() + slack {
                d.reserve_exact(d.len() + slack - d.capacity());
            }
        }
        fit(&mut self.fine, PER_BUCKET);
        fit(&mut self.coarse, 1);
    }
}

/// One SLO's steps, per instance. See the [module](self).
#[derive(Clone, Debug)]
pub struct Store {
    key: u64,
    group_by: Vec<String>,
    /// The windows answered, besides the period.
    windows: Vec<Duration>,
    period: Duration,
    /// How far back 5m steps are kept, and everything.
    keep_fine: i64,
    keep_span: i64,
    /// The newest step; `None` before the first [`Store::advance`].
    head: Option<i64>,
    /// Steps up to `boundary` (a multiple of 1h) are in buckets, the last
    /// bucket ending at `boundary`; steps in `(boundary, head]` are kept.
    boundary: i64,
    /// Per kept step, oldest first: fetched?
    fetched: VecDeque<bool>,
    /// Per bucket, oldest first: which of its 12 steps were fetched.
    masks: VecDeque<u16>,
    series: BTreeMap<Instance, Series>,
}

/// Adds `v` to `acc`, an absent value adding nothing.
fn add(acc: &mut [f64; 2], v: [f64; 2]) {
    for k in 0..2 {
        if !v[k].is_nan() {
            acc[k] = if acc[k].is_nan() { v[k] } else { acc[k] + v[k] };
        }
    }
}

impl Store {
    /// An empty store for `slo`; `None` when [`applies`] is false.
    pub fn new(slo: &Slo) -> Option<Self> {
        step_queries(slo)?;
        Some(Self::with_shape(
            key_of(slo),
            slo.group_by().to_vec(),
            derived_windows(slo),
            slo.period,
        ))
    }

    /// An empty store answering `windows` and `period`, its instances
    /// told apart by `group_by`, identified by `key` ([`key_of`]).
    pub fn with_shape(
        key: u64,
        group_by: Vec<String>,
        windows: Vec<Duration>,
        period: Duration,
    ) -> Self {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        let keep_fine = windows
            .iter()
            .filter(|w| **w < period)
            .map(|w| ms(*w))
            .max()
            .unwrap_or(0);
        let keep_span = windows
            .iter()
            .map(|w| ms(*w))
            .chain([ms(period)])
            .max()
            .unwrap_or(0);
        Self {
            key,
            group_by,
            windows,
            period,
            keep_fine,
            keep_span,
            head: None,
            boundary: 0,
            fetched: VecDeque::new(),
            masks: VecDeque::new(),
            series: BTreeMap::new(),
        }
    }

    /// The key it was made for ([`key_of`]).
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The newest step, once advanced.
    pub fn head(&self) -> Option<i64> {
        self.head
    }

    /// The instances it holds.
    pub fn instances(&self) -> usize {
        self.series.len()
    }

    /// Bytes held for step values: 8 per step or bucket and instance, and
    /// the room kept for the next hour's (12 steps and a bucket).
    pub fn value_bytes(&self) -> usize {
        self.series
            .values()
            .map(|s| (s.fine.capacity() + s.coarse.capacity()) * size_of::<Kept>())
            .sum()
    }

    /// The time of the first bucket's end.
    fn first_bucket(&self) -> i64 {
        self.boundary - (self.masks.len() as i64 - 1) * BUCKET_MS
    }

    /// Starts afresh with `head` the newest step: nothing fetched.
    fn reset(&mut self, head: i64) {
        self.head = Some(head);
        self.boundary = align_down(head - self.keep_fine, BUCKET_MS);
        let steps = ((head - self.boundary) / STEP_MS) as usize;
        let first = align_down(head - self.keep_span, BUCKET_MS) + BUCKET_MS;
        let buckets = if self.boundary >= first {
            ((self.boundary - first) / BUCKET_MS + 1) as usize
        } else {
            0
        };
        self.fetched = VecDeque::from(vec![false; steps]);
        self.masks = VecDeque::from(vec![0; buckets]);
        self.series.clear();
    }

    /// Moves the newest step to `end` (rounded down to a step): new steps
    /// are gaps until recorded, steps older than the fine windows go into
    /// hour buckets, buckets older than the period are dropped. An `end`
    /// before the head changes nothing.
    pub fn advance(&mut self, end: i64) {
        let end = align_down(end, STEP_MS);
        let head = match self.head {
            Some(h) if end <= h => return,
            Some(h) if end - h < self.keep_span => h,
            _ => return self.reset(end),
        };
        let new = ((end - head) / STEP_MS) as usize;
        self.fetched.extend(std::iter::repeat_n(false, new));
        for s in self.series.values_mut() {
            s.fine.extend(std::iter::repeat_n(KEPT_ABSENT, new));
        }
        self.head = Some(end);
        let target = align_down(end - self.keep_fine, BUCKET_MS);
        let mut moved = false;
        while self.boundary < target {
            let mut mask = 0u16;
            for bit in 0..PER_BUCKET {
                if self.fetched.pop_front().unwrap_or(false) {
                    mask |= 1 << bit;
                }
            }
            for s in self.series.values_mut() {
                let mut acc = ABSENT;
                for _ in 0..PER_BUCKET {
                    add(&mut acc, widen(s.fine.pop_front().unwrap_or(KEPT_ABSENT)));
                }
                s.coarse.push_back(narrow(acc));
            }
            self.masks.push_back(mask);
            self.boundary += BUCKET_MS;
            moved = true;
        }
        let first = align_down(end - self.keep_span, BUCKET_MS) + BUCKET_MS;
        while !self.masks.is_empty() && self.first_bucket() < first {
            self.masks.pop_front();
            for s in self.series.values_mut() {
                s.coarse.pop_front();
            }
        }
        if moved {
            // Instances gone from everything kept are forgotten.
            self.series.retain(|_, s| {
                s.fine
                    .iter()
                    .chain(&s.coarse)
                    .any(|v| !v[0].is_nan() || !v[1].is_nan())
            });
        }
        for s in self.series.values_mut() {
            s.fit();
        }
    }

    /// Records the answers of the step at `t`: bad and total events per
    /// series (reduced to the instance's `group_by` labels). Instances
    /// absent from it had no events. Returns false (and changes nothing)
    /// for a time off the grid, newer than the head, older than what is
    /// kept, or already counted in a bucket.
    pub fn record(&mut self, t: i64, bad: &[(Labels, f64)], total: &[(Labels, f64)]) -> bool {
        let Some(head) = self.head else {
            return false;
        };
        if t.rem_euclid(STEP_MS) != 0 || t > head {
            return false;
        }
        let values = self.by_instance(bad, total);
        let (fine_len, coarse_len) = (self.fetched.len(), self.masks.len());
        let fresh = || Series::absent(fine_len, coarse_len);
        if t > self.boundary {
            let i = ((t - self.boundary) / STEP_MS - 1) as usize;
            // A step fetched again replaces what it said, absences included.
            for s in self.series.values_mut() {
                s.fine[i] = KEPT_ABSENT;
            }
            for (inst, v) in values {
                self.series.entry(inst).or_insert_with(fresh).fine[i] = narrow(v);
            }
            self.fetched[i] = true;
            return true;
        }
        let b = align_down(t - STEP_MS, BUCKET_MS) + BUCKET_MS;
        let j = (b - self.first_bucket()).div_euclid(BUCKET_MS);
        let Ok(j) = usize::try_from(j) else {
            return false;
        };
        if j >= self.masks.len() {
            return false;
        }
        let bit = 1u16 << ((t - (b - BUCKET_MS)) / STEP_MS - 1);
        if self.masks[j] & bit != 0 {
            return false;
        }
        self.masks[j] |= bit;
        for (inst, v) in values {
            let kept = &mut self.series.entry(inst).or_insert_with(fresh).coarse[j];
            let mut acc = widen(*kept);
            add(&mut acc, v);
            *kept = narrow(acc);
        }
        true
    }

    /// Records a whole bucket `(b - 1h, b]` of history at once (the answers
    /// of [`bucket_queries`] at `b`), as if its 12 steps were recorded.
    /// Returns false (and changes nothing) unless `b` is a bucket kept and
    /// none of its steps was fetched yet.
    pub fn record_bucket(
        &mut self,
        b: i64,
        bad: &[(Labels, f64)],
        total: &[(Labels, f64)],
    ) -> bool {
        if self.head.is_none() || b.rem_euclid(BUCKET_MS) != 0 || self.masks.is_empty() {
            return false;
        }
        let j = (b - self.first_bucket()).div_euclid(BUCKET_MS);
        let Ok(j) = usize::try_from(j) else {
            return false;
        };
        if j >= self.masks.len() || self.masks[j] != 0 {
            return false;
        }
        let values = self.by_instance(bad, total);
        let (fine_len, coarse_len) = (self.fetched.len(), self.masks.len());
        for (inst, v) in values {
            let s = self
                .series
                .entry(inst)
                .or_insert_with(|| Series::absent(fine_len, coarse_len));
            s.coarse[j] = narrow(v);
        }
        self.masks[j] = FULL;
        true
    }

    /// The ends of the buckets none of whose steps was fetched, oldest
    /// first: what [`Store::record_bucket`] fills.
    pub fn missing_buckets(&self) -> Vec<i64> {
        let first = self.first_bucket();
        self.masks
            .iter()
            .enumerate()
            .filter(|(_, m)| **m == 0)
            .map(|(j, _)| first + j as i64 * BUCKET_MS)
            .collect()
    }

    /// Bad and total per instance, absent values left out.
    fn by_instance(
        &self,
        bad: &[(Labels, f64)],
        total: &[(Labels, f64)],
    ) -> BTreeMap<Instance, [f64; 2]> {
        let mut values: BTreeMap<Instance, [f64; 2]> = BTreeMap::new();
        for (k, samples) in [bad, total].into_iter().enumerate() {
            for (labels, v) in samples {
                let inst = instance::of(&self.group_by, |l| labels.get(l).map(String::as_str));
                let slot = values.entry(inst).or_insert(ABSENT);
                let mut one = ABSENT;
                one[k] = *v;
                add(slot, one);
            }
        }
        values
    }

    /// The step times never fetched among those kept, oldest first.
    pub fn missing(&self) -> Vec<i64> {
        let mut out = Vec::new();
        let first = self.first_bucket();
        for (j, mask) in self.masks.iter().enumerate() {
            let start = first + (j as i64 - 1) * BUCKET_MS;
            for bit in 0..PER_BUCKET {
                if mask & (1 << bit) == 0 {
                    out.push(start + (bit as i64 + 1) * STEP_MS);
                }
            }
        }
        for (i, f) in self.fetched.iter().enumerate() {
            if !f {
                out.push(self.boundary + (i as i64 + 1) * STEP_MS);
            }
        }
        out
    }

    /// Where the sum over `(head - w, head]` starts in the kept steps and
    /// in the buckets; `None` when some step in it was never fetched.
    fn range(&self, w: i64) -> Option<(usize, usize)> {
        let head = self.head?;
        let lo = head - w;
        let fine_from = if lo <= self.boundary {
            0
        } else {
            (lo - self.boundary).div_euclid(STEP_MS) as usize
        };
        if self.fetched.iter().skip(fine_from).any(|f| !f) {
            return None;
        }
        let mut bucket_from = self.masks.len();
        if lo < self.boundary {
            // The bucket holding `lo` counts whole (the far edge).
            let j = (lo - self.first_bucket()).div_euclid(BUCKET_MS) + 1;
            bucket_from = usize::try_from(j).ok()?;
            if self.masks.iter().skip(bucket_from).any(|m| *m != FULL) {
                return None;
            }
        }
        Some((fine_from, bucket_from))
    }

    /// Every derived window's and the period's bad and total events at the
    /// head, as [`evaluation::assemble`] reads them. A window with a gap has
    /// no answer at all (its pairs are held); an instance without series in
    /// a window has none in it.
    pub fn answers(&self) -> Answers {
        let mut out = Answers::new();
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        let parts = self
            .windows
            .iter()
            .map(|w| (Part::Bad(*w), Part::Total(*w), ms(*w)))
            .chain([(Part::PeriodBad, Part::PeriodTotal, ms(self.period))]);
        for (bad_part, total_part, w) in parts {
            let Some((fine_from, bucket_from)) = self.range(w) else {
                continue;
            };
            let (mut bad, mut total) = (Vec::new(), Vec::new());
            for (inst, s) in &self.series {
                let mut acc = ABSENT;
                for v in s
                    .fine
                    .iter()
                    .skip(fine_from)
                    .chain(s.coarse.iter().skip(bucket_from))
                {
                    add(&mut acc, widen(*v));
                }
                if !acc[0].is_nan() {
                    bad.push((inst.clone(), acc[0]));
                }
                if !acc[1].is_nan() {
                    total.push((inst.clone(), acc[1]));
                }
            }
            out.insert(bad_part, bad);
            out.insert(total_part, total);
        }
        out
    }
}
