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
//! A replay evaluates `increase()` for each window at every step. Re-reading
//! the window's samples at each step (what Prometheus's `query_range` does)
//! costs `O(steps * samples per window)`. Here each series keeps a prefix sum
//! of its reset corrections, so the raw increase between any two samples is
//! `O(1)`, and the first and last sample in range are found by pointers that
//! only move forward: `O(samples + steps)` per window. When every window is
//! a whole number of steps (the usual case), the pointers are computed once
//! per series on a shared grid and reused by all windows.
//!
//! # Bad samples
//!
//! Prometheus's storage rejects a sample at or before the latest one of its
//! series (out of order, or a duplicate timestamp: the first one wins), and
//! so does [`Series::push`]. Non-finite values are dropped too: a counter is
//! never NaN or infinite, and a staleness marker (a special NaN) means "no
//! sample", which is what dropping it gives.

use crate::duration::Duration;
use crate::time::Timestamp;

/// The samples of one counter, in strictly increasing time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    times: Vec<Timestamp>,
    values: Vec<f64>,
    /// `resets[i]`: the sum of the values lost to counter resets between
    /// sample 0 and sample `i` (a prefix sum, so any range is `O(1)`).
    resets: Vec<f64>,
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
            resets: Vec::with_capacity(n),
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
        let correction = match (self.times.last(), self.values.last(), self.resets.last()) {
            (Some(&last_t), Some(&last_v), Some(&acc)) => {
                if t < last_t {
                    return Err(Rejected::OutOfOrder);
                }
                if t == last_t {
                    return Err(Rejected::Duplicate);
                }
                // A drop is a reset: the counter restarted from 0, so what it
                // had counted before the drop is added back.
                if v < last_v { acc + last_v } else { acc }
            }
            _ => 0.0,
        };
        self.times.push(t);
        self.values.push(v);
        self.resets.push(correction);
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
            resets: self.resets.clone(),
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
        let (v_first, v_last) = (*self.values.get(first)?, *self.values.get(last)?);
        let lost = self.resets.get(last)? - self.resets.get(first)?;
        let raw = (v_last - v_first) + lost;
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
    pub fn cursor(&self, window: Duration) -> IncreaseCursor<'_> {
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
pub struct IncreaseCursor<'a> {
    series: &'a Series,
    window: i64,
    /// First sample at or after the range start.
    first: usize,
    /// First sample after the range end.
    after: usize,
    last_end: Timestamp,
}

impl IncreaseCursor<'_> {
    /// `increase()` over `[end - window, end]`.
    pub fn at(&mut self, end: Timestamp) -> Option<f64> {
        if end < self.last_end {
            self.first = 0;
            self.after = 0;
        }
        self.last_end = end;
        let start = end.saturating_sub(self.window);
        let times = &self.series.times;
        while self.first < times.len() && times[self.first] < start {
            self.first += 1;
        }
        self.after = self.after.max(self.first);
        while self.after < times.len() && times[self.after] <= end {
            self.after += 1;
        }
        self.series
            .increase_between(self.first, self.after, start, end)
    }
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

/// Sums of `increase()` over several series, for several windows, at every
/// step: `sum(increase(c[W]))`, increase per series first, then the sum, as
/// PromQL must be written for counters.
///
/// A step where no series had two samples in the window has no value (like
/// an empty PromQL result).
#[derive(Clone, Debug)]
pub struct WindowedSums {
    steps: Steps,
    windows: Vec<Duration>,
    /// Window-major: `sums[w * steps + k]`. NaN where no series had a value
    /// (increases of finite samples are finite, so NaN is free as a marker).
    sums: Vec<f64>,
    /// When every window is a whole number of steps: the window lengths in
    /// steps, and the pointers of the series being added on the grid
    /// `start - max_m * step, ..., end`.
    aligned: Option<Vec<usize>>,
    before: Vec<u32>,
    upto: Vec<u32>,
}

impl WindowedSums {
    /// Room for `windows` at `steps`, with no series added yet.
    pub fn new(windows: &[Duration], steps: Steps) -> Self {
        let step = steps.step;
        let aligned = windows
            .iter()
            .map(|w| {
                let ms = millis(*w);
                (ms % step == 0)
                    .then(|| usize::try_from(ms / step).ok())
                    .flatten()
            })
            .collect::<Option<Vec<usize>>>()
            // The shared grid costs memory per step of the longest window:
            // fall back to cursors when it would dwarf the steps themselves.
            .filter(|ms| {
                ms.iter()
                    .all(|&m| m <= steps.len.saturating_mul(4).max(1 << 16))
            });
        Self {
            steps,
            windows: windows.to_vec(),
            sums: vec![f64::NAN; windows.len() * steps.len],
            aligned,
            before: Vec::new(),
            upto: Vec::new(),
        }
    }

    /// Forgets every series added, keeping the memory.
    pub fn clear(&mut self) {
        self.sums.fill(f64::NAN);
    }

    /// The steps.
    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    /// The windows, in the order given.
    pub fn windows(&self) -> &[Duration] {
        &self.windows
    }

    /// Adds one series' increases for every window and step.
    pub fn add(&mut self, series: &Series) {
        if series.len() < 2 {
            return;
        }
        // Grid pointers are u32 (half the memory); longer series use cursors.
        match self.aligned.take() {
            Some(lengths) if u32::try_from(series.len()).is_ok() => {
                self.add_aligned(series, &lengths);
                self.aligned = Some(lengths);
            }
            other => {
                self.add_with_cursors(series);
                self.aligned = other;
            }
        }
    }

    fn add_with_cursors(&mut self, series: &Series) {
        let n = self.steps.len;
        for (w, window) in self.windows.iter().enumerate() {
            let mut cursor = series.cursor(*window);
            let out = &mut self.sums[w * n..(w + 1) * n];
            for (k, slot) in out.iter_mut().enumerate() {
                if let Some(x) = cursor.at(self.steps.at(k)) {
                    *slot = add_present(*slot, x);
                }
            }
        }
    }

    fn add_aligned(&mut self, series: &Series, lengths: &[usize]) {
        let n = self.steps.len;
        let lead = lengths.iter().copied().max().unwrap_or(0);
        let grid_len = n + lead;
        let origin = self.steps.start - (lead as i64) * self.steps.step;
        self.before.clear();
        self.upto.clear();
        self.before.reserve(grid_len);
        self.upto.reserve(grid_len);
        // One forward walk over grid points and samples: for each grid time,
        // how many samples come before it, and at or before it.
        let times = series.times();
        let (mut before, mut upto) = (0usize, 0usize);
        for g in 0..grid_len {
            let t = origin + (g as i64) * self.steps.step;
            while before < times.len() && times[before] < t {
                before += 1;
            }
            upto = upto.max(before);
            while upto < times.len() && times[upto] <= t {
                upto += 1;
            }
            self.before.push(before as u32);
            self.upto.push(upto as u32);
        }
        for (w, &m) in lengths.iter().enumerate() {
            let window = m as i64 * self.steps.step;
            let out = &mut self.sums[w * n..(w + 1) * n];
            let firsts = &self.before[lead - m..lead - m + n];
            let afters = &self.upto[lead..lead + n];
            for (k, ((slot, &first), &after)) in out.iter_mut().zip(firsts).zip(afters).enumerate()
            {
                let end = self.steps.start + (k as i64) * self.steps.step;
                if let Some(x) =
                    series.increase_between(first as usize, after as usize, end - window, end)
                {
                    *slot = add_present(*slot, x);
                }
            }
        }
    }

    /// The sum for window number `w` at step `k`; `None` when no series had
    /// a value there (or out of bounds).
    pub fn get(&self, w: usize, k: usize) -> Option<f64> {
        if k >= self.steps.len {
            return None;
        }
        let x = *self.sums.get(w * self.steps.len + k)?;
        (!x.is_nan()).then_some(x)
    }

    /// All sums of window number `w`, one per step, NaN where no series had
    /// a value. Empty when `w` is out of range.
    pub fn window(&self, w: usize) -> &[f64] {
        let n = self.steps.len;
        self.sums.get(w * n..(w + 1) * n).unwrap_or(&[])
    }
}

#[inline]
fn add_present(sum: f64, x: f64) -> f64 {
    if sum.is_nan() { x } else { sum + x }
}

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
            assert_eq!(sums.aligned.is_some(), step == 60 * S);
            sums.add(&a);
            sums.add(&b);
            for (w, window) in windows.iter().enumerate() {
                for (k, t) in steps.iter().enumerate() {
                    let start = t - millis(*window);
                    let want = match (a.increase(start, t), b.increase(start, t)) {
                        (None, None) => None,
                        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
                    };
                    assert_eq!(sums.get(w, k), want, "window {window} step {k}");
                }
            }
        }
    }
}
