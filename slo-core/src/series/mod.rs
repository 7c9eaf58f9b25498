//! Counter samples and Prometheus's `increase()` over them, evaluated at
//! every step of a replay in one pass.
//!
//! # Semantics
//!
//! `increase(c[W])` evaluated at `t` reads the samples in the **closed** range
//! `[t - W, t]`, as Prometheus 2.x does (Prometheus 3 made the range
//! left-open, `(t - W, t]`; the two differ only for a sample exactly on the
//! left edge). With fewer than two samples in range there is no result.
//! Otherwise, following Prometheus's `extrapolatedRate` (promql/functions.go,
//! 2.x order of steps):
//!
//! 1. the raw increase is `last - first`, plus, for every drop between
//!    consecutive samples (a counter reset: the process restarted and the
//!    counter started again from 0), the value before the drop;
//! 2. the start is extrapolated toward `t - W`, but never past the point
//!    where the counter, continuing its slope backwards, would be zero;
//! 3. each end is extrapolated to the range boundary when the boundary is
//!    within 1.1 average sample intervals, otherwise by half an interval
//!    (the series probably starts or ends inside the range);
//! 4. the raw increase is scaled by the extrapolated span over the sampled
//!    span.
//!
//! The lookback delta (5m) applies to instant selectors only; `increase()`
//! reads only its range, so it plays no part here.
//!
//! # Cost
//!
//! A replay needs `increase()` for each window at every step. Re-reading the
//! window's samples at each step (what Prometheus's `query_range` does) costs
//! `O(steps * samples per window)`. Here a series keeps its values with the
//! resets undone (a prefix sum of the values lost to resets), so the raw
//! increase between any two samples is one subtraction, and
//! [`WindowedSums`] places every step's window edges among the samples with
//! pointers that only move forward: `O(samples + steps)` per series (per
//! window and series when windows are not whole numbers of steps). After
//! that, any window's sum at any step is `O(series)`, and
//! [`WindowedSums::bounds`] bounds a sum over a whole run of steps without
//! extrapolating, so that a replay can skip the steps where nothing can
//! fire.
//!
//! A slice indicator (1 for a good slice, 0 for a bad one) is read the same
//! way with [`Reduce::Count`] and [`Reduce::Sum`]: `count_over_time` and
//! `sum_over_time` over the same closed range, from a prefix sum.
//!
//! # Bad samples
//!
//! Prometheus's storage rejects a sample at or before the latest one of its
//! series (out of order, or a duplicate timestamp: the first one wins), and
//! so does [`Series::push`]. Non-finite values are dropped too: a counter is
//! never NaN or infinite, and a staleness marker (a special NaN) means "no
//! sample", which is what dropping it gives.
//!
//! ```
//! use slo_core::series::Series;
//!
//! // A counter that restarts: 0, 10, 20, then 5.
//! let s = Series::from_samples([(0, 0.0), (60_000, 10.0), (120_000, 20.0), (180_000, 5.0)]);
//! // A reset counts as a restart from zero, as in Prometheus: 20 + 5.
//! assert_eq!(s.increase(0, 180_000), Some(25.0));
//! ```

use crate::duration::Duration;
use crate::time::Timestamp;

/// The samples of one counter, in strictly increasing time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    times: Vec<Timestamp>,
    values: Vec<f64>,
    /// `counts[i]`: the value at sample `i` plus every value lost to counter
    /// resets before it: what the counter would read had it never reset.
    /// The raw increase between any two samples is one subtraction.
    counts: Vec<f64>,
    /// The values lost to resets so far: `counts[i] = values[i] + lost` with
    /// `lost` as of sample `i`, so a series that never reset has
    /// `counts == values` exactly (and increases bit for bit Prometheus's).
    lost: f64,
    /// False once a value was negative: then `counts` may decrease, and
    /// bounds that rely on it never do are not given.
    monotone: bool,
}

impl Default for Series {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

/// Why [`Series::push`] dropped a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejected {
    /// The value is NaN (or a staleness marker) or infinite.
    NotFinite,
    /// The sample is older than the series' latest sample.
    OutOfOrder,
    /// The series already has a sample at this time (the first one wins).
    Duplicate,
}

impl Series {
    /// An empty series.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty series with room for `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            times: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
            counts: Vec::with_capacity(n),
            lost: 0.0,
            monotone: true,
        }
    }

    /// A series from samples, dropping the ones [`push`](Self::push) rejects.
    pub fn from_samples(samples: impl IntoIterator<Item = (Timestamp, f64)>) -> Self {
        let iter = samples.into_iter();
        let mut series = Self::with_capacity(iter.size_hint().0);
        for (t, v) in iter {
            // Dropping is the documented behaviour for bad samples.
            let _ = series.push(t, v);
        }
        series
    }

    /// Appends a sample; rejects it (leaving the series unchanged) when it is
    /// not finite or not later than the latest sample.
    pub fn push(&mut self, t: Timestamp, v: f64) -> Result<(), Rejected> {
        if !v.is_finite() {
            return Err(Rejected::NotFinite);
        }
        if let (Some(&last_t), Some(&last_v)) = (self.times.last(), self.values.last()) {
            if t < last_t {
                return Err(Rejected::OutOfOrder);
            }
            if t == last_t {
                return Err(Rejected::Duplicate);
            }
            // A drop is a reset: the counter restarted from 0, so what it
            // had counted before the drop is added back.
            if v < last_v {
                self.lost += last_v;
            }
        }
        self.monotone &= v >= 0.0;
        self.times.push(t);
        self.values.push(v);
        self.counts.push(v + self.lost);
        Ok(())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Sample times, increasing.
    pub fn times(&self) -> &[Timestamp] {
        &self.times
    }

    /// Sample values, in time order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The samples as `(time, value)` pairs.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = (Timestamp, f64)> + '_ {
        self.times.iter().copied().zip(self.values.iter().copied())
    }

    /// Time of the first and last samples.
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        Some((*self.times.first()?, *self.times.last()?))
    }

    /// The same samples `by` milliseconds later (earlier when negative).
    /// Times saturate at the ends of the range of [`Timestamp`].
    pub fn shifted(&self, by: i64) -> Self {
        Self {
            times: self.times.iter().map(|t| t.saturating_add(by)).collect(),
            values: self.values.clone(),
            counts: self.counts.clone(),
            lost: self.lost,
            monotone: self.monotone,
        }
    }

    /// Prometheus's `increase()` over the closed range `[start, end]`: what
    /// `increase(c[end - start])` evaluated at `end` returns. `None` when the
    /// range holds fewer than two samples.
    pub fn increase(&self, start: Timestamp, end: Timestamp) -> Option<f64> {
        let first = self.times.partition_point(|&t| t < start);
        let after = self.times.partition_point(|&t| t <= end);
        self.increase_between(first, after, start, end)
    }

    /// The series reduced over the closed range `[start, end]` as `reduce`
    /// says: [`increase`](Self::increase), `sum_over_time` or
    /// `count_over_time`. `None` when the range holds too few samples.
    pub fn reduce(&self, reduce: Reduce, start: Timestamp, end: Timestamp) -> Option<f64> {
        let first = self.times.partition_point(|&t| t < start);
        let after = self.times.partition_point(|&t| t <= end);
        match reduce {
            Reduce::Increase => self.increase_between(first, after, start, end),
            Reduce::Sum => (after > first).then(|| self.values[first..after].iter().sum()),
            Reduce::Count => (after > first).then(|| (after - first) as f64),
        }
    }

    /// `increase()` from the samples `first..after` (indices), extrapolated
    /// to `[start, end]`. `None` with fewer than two samples.
    #[inline]
    fn increase_between(
        &self,
        first: usize,
        after: usize,
        start: Timestamp,
        end: Timestamp,
    ) -> Option<f64> {
        if after < first + 2 {
            return None;
        }
        let last = after - 1;
        let (t_first, t_last) = (*self.times.get(first)?, *self.times.get(last)?);
        let v_first = *self.values.get(first)?;
        let raw = self.counts.get(last)? - self.counts.get(first)?;
        Some(extrapolate(
            raw,
            v_first,
            t_first,
            t_last,
            last - first,
            start,
            end,
        ))
    }

    /// A cursor evaluating `increase()` over `window` at increasing times.
    pub(crate) fn cursor(&self, window: Duration) -> IncreaseCursor<'_> {
        IncreaseCursor {
            series: self,
            window: millis(window),
            first: 0,
            after: 0,
            last_end: Timestamp::MIN,
        }
    }
}

/// Prometheus's `increase()` by the definition: scans `samples` (in any
/// order; out-of-order, duplicate and non-finite ones are dropped as
/// [`Series::push`] does) for those in `[start, end]` and extrapolates.
/// `O(samples)` per call: the reference the fast evaluators are tested
/// against.
pub fn increase_by_scan(
    samples: &[(Timestamp, f64)],
    start: Timestamp,
    end: Timestamp,
) -> Option<f64> {
    let series = Series::from_samples(samples.iter().copied());
    let in_range: Vec<(Timestamp, f64)> = series
        .samples()
        .filter(|&(t, _)| t >= start && t <= end)
        .collect();
    let (&(t_first, v_first), &(t_last, v_last)) = (in_range.first()?, in_range.last()?);
    if in_range.len() < 2 {
        return None;
    }
    let mut raw = v_last - v_first;
    for pair in in_range.windows(2) {
        if let [(_, prev), (_, cur)] = pair
            && cur < prev
        {
            raw += prev;
        }
    }
    Some(extrapolate(
        raw,
        v_first,
        t_first,
        t_last,
        in_range.len() - 1,
        start,
        end,
    ))
}

/// Steps 2-4 of the module's semantics: scales the raw increase seen between
/// the first and last samples in range to the range `[start, end]`.
/// `intervals` is the number of samples in range minus one (at least 1), and
/// `t_last > t_first`.
///
/// Works in milliseconds rather than Prometheus's seconds, and compares
/// without dividing: the same quantities up to float rounding, with one
/// division in the common case instead of five (this runs once per window,
/// series and step of a replay).
#[inline]
fn extrapolate(
    raw: f64,
    v_first: f64,
    t_first: Timestamp,
    t_last: Timestamp,
    intervals: usize,
    start: Timestamp,
    end: Timestamp,
) -> f64 {
    let sampled = (t_last - t_first) as f64;
    let n = intervals as f64;
    let mut to_start = (t_first - start) as f64;
    let to_end = (end - t_last) as f64;
    // The counter, continued backwards at its average slope, reaches zero
    // `sampled * v_first / raw` before the first sample: do not go past it.
    // (Prometheus 2.x applies this before the threshold below.)
    if raw > 0.0 && v_first >= 0.0 && sampled * v_first < to_start * raw {
        to_start = sampled * (v_first / raw);
    }
    // Within 1.1 average intervals of a boundary: extrapolate to it. Else
    // the series likely starts (ends) inside the range: half an interval.
    // `x < 1.1 * sampled / n` without the division.
    let threshold = 1.1 * sampled;
    let mut span = sampled;
    span += if to_start * n < threshold {
        to_start
    } else {
        sampled / n / 2.0
    };
    span += if to_end * n < threshold {
        to_end
    } else {
        sampled / n / 2.0
    };
    raw * (span / sampled)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Evaluates `increase()` over a fixed window at a sequence of times.
/// Increasing times cost `O(samples + times)` in total; a time earlier than
/// the previous one restarts the scan (still correct, just not linear).
#[derive(Clone, Debug)]
pub(crate) struct IncreaseCursor<'a> {
    series: &'a Series,
    window: i64,
    /// First sample at or after the range start.
    first: usize,
    /// First sample after the range end.
    after: usize,
    last_end: Timestamp,
}

impl<'a> IncreaseCursor<'a> {
    /// `increase()` over `[end - window, end]`.
    pub(crate) fn at(&mut self, end: Timestamp) -> Option<f64> {
        if end < self.last_end {
            self.first = 0;
            self.after = 0;
        }
        self.last_end = end;
        let start = end.saturating_sub(self.window);
        let times = &self.series.times;
        self.first = skip_while(times, self.first, |t| t < start);
        self.after = skip_while(times, self.after.max(self.first), |t| t <= end);
        self.series
            .increase_between(self.first, self.after, start, end)
    }
}

/// The first index at or after `from` whose time fails `pred`, for a `pred`
/// true on a prefix of `times`: a galloping search, `O(log distance)`, so
/// that far jumps are cheap and near ones cheaper still.
fn skip_while(times: &[Timestamp], from: usize, pred: impl Fn(Timestamp) -> bool) -> usize {
    match times.get(from) {
        Some(&t) if pred(t) => {}
        _ => return from.min(times.len()),
    }
    // times[lo] passes; times[hi] fails (or hi is the end).
    let (mut lo, mut stride) = (from, 1usize);
    let hi = loop {
        let probe = lo.saturating_add(stride);
        match times.get(probe) {
            Some(&t) if pred(t) => {
                lo = probe;
                stride = stride.saturating_mul(2);
            }
            Some(_) => break probe,
            None => break times.len(),
        }
    };
    lo + 1
        + times
            .get(lo + 1..hi)
            .map_or(0, |rest| rest.partition_point(|&t| pred(t)))
}

/// Evaluation times `start, start + step, ...`, never past `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Steps {
    start: Timestamp,
    step: i64,
    len: usize,
}

impl Steps {
    /// The steps from `start` to `end` (inclusive when on the grid). `None`
    /// for a zero step or `end` before `start`.
    pub fn new(start: Timestamp, end: Timestamp, step: Duration) -> Option<Self> {
        let step_ms = millis(step);
        if step_ms <= 0 || end < start {
            return None;
        }
        let count = (end.checked_sub(start)? / step_ms).checked_add(1)?;
        Some(Self {
            start,
            step: step_ms,
            len: usize::try_from(count).ok()?,
        })
    }

    /// The first time.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The last time.
    pub fn end(&self) -> Timestamp {
        self.at(self.len.saturating_sub(1))
    }

    /// The step.
    pub fn step(&self) -> Duration {
        Duration::from_millis(self.step.unsigned_abs())
    }

    /// Number of times.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true for steps made by [`Steps::new`]: there is always a first.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `k`-th time.
    pub fn at(&self, k: usize) -> Timestamp {
        self.start
            .saturating_add((k as i64).saturating_mul(self.step))
    }

    /// All times, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Timestamp> + '_ {
        (0..self.len).map(|k| self.at(k))
    }

    /// The same steps `by` milliseconds later.
    pub fn shifted(&self, by: i64) -> Self {
        Self {
            start: self.start.saturating_add(by),
            ..*self
        }
    }
}

/// `increase()` over `window` at every step: `O(samples + steps)`.
pub fn increases(series: &Series, window: Duration, steps: &Steps) -> Vec<Option<f64>> {
    let mut cursor = series.cursor(window);
    steps.iter().map(|t| cursor.at(t)).collect()
}

/// How many sums a [`WindowedSums`] keeps (e.g. all events and bad ones).
pub const GROUPS: usize = 2;

/// What a series added to a [`WindowedSums`] contributes to a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduce {
    /// `increase()` of a counter (two samples in the window or nothing).
    #[default]
    Increase,
    /// `sum_over_time()`: the values of the samples in the window (one
    /// sample or more, or nothing), e.g. the good slices of a slice
    /// indicator that is 1 for a good slice and 0 for a bad one.
    Sum,
    /// `count_over_time()`: the samples in the window (one or more, or
    /// nothing), e.g. the slices with data.
    Count,
}

impl Reduce {
    /// The fewest samples in a window that give a value.
    fn min_samples(self) -> usize {
        match self {
            Reduce::Increase => 2,
            Reduce::Sum | Reduce::Count => 1,
        }
    }
}

mod windowed;

pub use windowed::{SumBounds, WindowedSums};

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn steady(from: i64, to: i64, every: i64, rate: f64) -> Series {
        Series::from_samples(
            (0..)
                .map(|i| from + i * every)
                .take_while(|&t| t <= to)
                .map(|t| (t, (t - from) as f64 / 1000.0 * rate)),
        )
    }

    #[test]
    fn extrapolates_to_the_boundaries() {
        // 1/s sampled every 15 s; a 5m range catches 20 samples spanning
        // 285 s and extrapolates the missing 15 s: exactly 300.
        let s = steady(0, 3600 * S, 15 * S, 1.0);
        let x = s.increase(1000 * S + 5 * S, 1300 * S + 5 * S);
        assert_eq!(x.map(crate::num::canonical), Some(300.0));
    }

    #[test]
    fn extrapolates_half_an_interval_where_the_series_ends() {
        // Samples 0..=60s every 15 s, counter at 100 + 1/s: range [0, 300]
        // extrapolates to 0 at the start (within 1.1 intervals) and by 7.5 s
        // after the last sample.
        let s = Series::from_samples((0..=4).map(|i| (i * 15 * S, 100.0 + 15.0 * i as f64)));
        assert_eq!(s.increase(0, 300 * S), Some(60.0 * 67.5 / 60.0));
    }

    #[test]
    fn never_extrapolates_below_zero() {
        // A counter born at 5 s with value 0 and rising 1/s: the start would
        // extrapolate 5 s back, to -5; it stops at zero instead.
        let s = Series::from_samples((0..=4).map(|i| (5 * S + i * 10 * S, 10.0 * i as f64)));
        let x = s.increase(0, 45 * S);
        // Sampled 40 s, raw 40; start: to zero = 0 s; end: 0 s to boundary.
        assert_eq!(x, Some(40.0));
    }

    #[test]
    fn resets_count_from_zero() {
        let s = Series::from_samples([(0, 10.0), (10 * S, 20.0), (20 * S, 5.0), (30 * S, 15.0)]);
        // 10 + (reset: 5 counted from 0) + 10 = 25 over the 30 s sampled.
        assert_eq!(s.increase(0, 30 * S), Some(25.0));
        assert_eq!(s.increase(15 * S, 30 * S), Some(10.0 * 15.0 / 10.0));
    }

    #[test]
    fn needs_two_samples_and_includes_both_edges() {
        let s = Series::from_samples([(0, 1.0), (60 * S, 2.0)]);
        assert_eq!(s.increase(1, 60 * S), None);
        assert!(s.increase(0, 60 * S).is_some());
        assert_eq!(Series::new().increase(0, 1), None);
    }

    #[test]
    fn drops_bad_samples() {
        let mut s = Series::new();
        assert_eq!(s.push(10, 1.0), Ok(()));
        assert_eq!(s.push(10, 2.0), Err(Rejected::Duplicate));
        assert_eq!(s.push(5, 2.0), Err(Rejected::OutOfOrder));
        assert_eq!(s.push(20, f64::NAN), Err(Rejected::NotFinite));
        assert_eq!(s.push(20, f64::INFINITY), Err(Rejected::NotFinite));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn windowed_sums_match_single_evaluations() {
        let a = steady(0, 7200 * S, 15 * S, 3.0);
        let b = Series::from_samples(
            steady(7 * S, 7200 * S, 30 * S, 1.0)
                .samples()
                .map(|(t, v)| (t, if t > 3000 * S { v - 1000.0 } else { v })),
        );
        for step in [60 * S, 45 * S] {
            let steps = Steps::new(600 * S, 7200 * S, Duration::from_millis(step as u64))
                .unwrap_or_else(|| panic!("steps"));
            let windows = [
                Duration::from_mins(5),
                Duration::from_mins(30),
                Duration::from_hours(1),
            ];
            let mut sums = WindowedSums::new(&windows, steps);
            assert_eq!(sums.is_aligned(), step == 60 * S);
            sums.add(&a, 0);
            sums.add(&b, 0);
            sums.add(&b, 1);
            assert_eq!(sums.tracked_len(), 2);
            for (w, window) in windows.iter().enumerate() {
                for (k, t) in steps.iter().enumerate() {
                    let start = t - millis(*window);
                    let (x, y) = (a.increase(start, t), b.increase(start, t));
                    let want = match (x, y) {
                        (None, None) => None,
                        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
                    };
                    assert_eq!(sums.get(w, k), [want, y], "window {window} step {k}");
                    let [Some(b), _] = sums.bounds(w, k, k) else {
                        panic!("no bounds at {k}");
                    };
                    let sum = want.unwrap_or(f64::NAN);
                    let high = b.high_numerator / b.high_denominator * (1.0 + 1e-12);
                    assert!(b.low <= sum && sum <= high, "{b:?} {sum}");
                    // Over a run of steps too.
                    for from in k.saturating_sub(7)..=k {
                        if let [Some(r), _] = sums.bounds(w, from, k) {
                            let high = r.high_numerator / r.high_denominator * (1.0 + 1e-12);
                            assert!(r.low <= sum && sum <= high, "{r:?} {sum} over {from}..={k}");
                        }
                    }
                }
            }
        }
    }
}
