//! [`WindowedSums`]: the increases of many series over every window at
//! every step, summed per group, in one pass over each series' samples;
//! and [`SumBounds`], what a run of steps can hold without visiting them.

use super::*;

/// Sums of `increase()` over sets of series, for several windows, at any
/// step: `sum(increase(c[W]))`, increase per series first, then the sum, as
/// PromQL must be written for counters.
///
/// Adding a series costs `O(samples + steps)` (one pass placing the steps
/// among its samples); after that, the sum for any window and step is
/// `O(series)`, computed when asked, so a replay pays only for the windows
/// it reads. A series can count toward several of the [`GROUPS`] sums and
/// is evaluated once for all of them.
///
/// A step where no series of a group had two samples in the window has no
/// value for that group (like an empty PromQL result).
#[derive(Clone, Debug)]
pub struct WindowedSums<'a> {
    steps: Steps,
    /// Window lengths in milliseconds.
    windows: Vec<i64>,
    /// When every window is a whole number of steps: their lengths in steps
    /// and the longest. The pointers of a series then live on one grid,
    /// `start - lead * step, ..., end`, shared by all windows.
    aligned: Option<(Vec<usize>, usize)>,
    tracked: Vec<Tracked<'a>>,
    /// Pointer buffers of series cleared, for reuse.
    pool: Vec<Vec<u32>>,
}

#[derive(Clone, Debug)]
struct Tracked<'a> {
    series: &'a Series,
    /// Bit `g` set: the series counts toward sum `g`.
    groups: u8,
    reduce: Reduce,
    /// [`Reduce::Sum`] only: `prefix[i]` is the sum of the first `i`
    /// values, so a window's sum is one subtraction. Empty otherwise.
    prefix: Vec<f64>,
    /// Not aligned: the index of the first sample at or after each window's
    /// start at each step (window-major). Aligned: empty (see `afters`).
    firsts: Vec<u32>,
    /// The index after the last sample at or before each grid time
    /// (aligned) or step. On the grid, the top bit is set when a sample
    /// sits exactly on the time: the first sample at or after it is then
    /// one earlier (one array instead of two: half the memory to walk).
    afters: Vec<u32>,
}

impl<'a> WindowedSums<'a> {
    /// Whether the steps fell on the aligned fast path (for tests).
    #[cfg(test)]
    pub(super) fn is_aligned(&self) -> bool {
        self.aligned.is_some()
    }

    /// How many series are tracked (for tests).
    #[cfg(test)]
    pub(super) fn tracked_len(&self) -> usize {
        self.tracked.len()
    }

    /// Room for `windows` at `steps`, with no series added yet.
    pub fn new(windows: &[Duration], steps: Steps) -> Self {
        let step = steps.step;
        let lengths = windows
            .iter()
            .map(|w| {
                let ms = millis(*w);
                (ms % step == 0)
                    .then(|| usize::try_from(ms / step).ok())
                    .flatten()
            })
            .collect::<Option<Vec<usize>>>();
        let aligned = lengths.and_then(|l| {
            let lead = l.iter().copied().max().unwrap_or(0);
            // The shared grid costs memory per step of the longest window:
            // fall back to per-window pointers when it would dwarf the
            // steps themselves.
            (lead <= steps.len.saturating_mul(4).max(1 << 16)).then_some((l, lead))
        });
        Self {
            steps,
            windows: windows.iter().map(|w| millis(*w)).collect(),
            aligned,
            tracked: Vec::new(),
            pool: Vec::new(),
        }
    }

    /// Forgets every series added, keeping the memory.
    pub fn clear(&mut self) {
        for t in self.tracked.drain(..) {
            self.pool.push(t.firsts);
            self.pool.push(t.afters);
        }
    }

    /// The steps.
    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    /// The number of windows.
    pub fn windows(&self) -> usize {
        self.windows.len()
    }

    /// Window number `w`.
    pub fn window(&self, w: usize) -> Option<Duration> {
        self.windows
            .get(w)
            .map(|ms| Duration::from_millis(ms.unsigned_abs()))
    }

    /// Adds the `increase()` of `series` to sum number `group` (ignored
    /// unless below [`GROUPS`]). Adding the same series (by address) to
    /// another group shares its evaluation.
    pub fn add(&mut self, series: &'a Series, group: usize) {
        self.add_as(series, group, Reduce::Increase);
    }

    /// Adds `series`, reduced over each window as `reduce` says, to sum
    /// number `group` (ignored unless below [`GROUPS`]). Adding the same
    /// series (by address) with the same reduction to another group shares
    /// its evaluation.
    pub fn add_as(&mut self, series: &'a Series, group: usize, reduce: Reduce) {
        let Some(bit) = u32::try_from(group)
            .ok()
            .filter(|g| (*g as usize) < GROUPS)
            .map(|g| 1u8 << g)
        else {
            return;
        };
        if let Some(t) = self
            .tracked
            .iter_mut()
            .find(|t| std::ptr::eq(t.series, series) && t.reduce == reduce)
        {
            t.groups |= bit;
            return;
        }
        // Pointers are 31-bit to keep memory small; longer series are
        // skipped rather than misread (2 billion samples is 1,000 years at
        // 15 s).
        if series.len() < reduce.min_samples() || series.len() >= 1 << 31 {
            return;
        }
        let prefix = match reduce {
            Reduce::Sum => std::iter::once(0.0)
                .chain(series.values().iter().scan(0.0, |acc, v| {
                    *acc += v;
                    Some(*acc)
                }))
                .collect(),
            Reduce::Increase | Reduce::Count => Vec::new(),
        };
        let mut firsts = self.pool.pop().unwrap_or_default();
        let mut afters = self.pool.pop().unwrap_or_default();
        firsts.clear();
        afters.clear();
        let times = series.times();
        let n = self.steps.len;
        let lead = self.aligned.as_ref().map_or(0, |(_, lead)| *lead);
        match &self.aligned {
            Some(_) => afters.reserve_exact(n + lead),
            None => {
                firsts.reserve_exact(n.saturating_mul(self.windows.len()));
                afters.reserve_exact(n);
            }
        }
        match &self.aligned {
            Some((_, lead)) => {
                // One forward walk over grid times and samples. The first
                // sample at or after a time is the first after it, unless a
                // sample sits exactly on it.
                let origin = self.steps.start - (*lead as i64) * self.steps.step;
                let mut after = 0usize;
                for g in 0..n + lead {
                    let t = origin + (g as i64) * self.steps.step;
                    // Steps usually span a few samples: skip four at a time.
                    while after + 4 <= times.len() && times[after + 3] <= t {
                        after += 4;
                    }
                    while after < times.len() && times[after] <= t {
                        after += 1;
                    }
                    let on_time = after > 0 && times[after - 1] == t;
                    afters.push(after as u32 | u32::from(on_time) << 31);
                }
            }
            None => {
                let mut after = 0usize;
                for k in 0..n {
                    let t = self.steps.at(k);
                    while after < times.len() && times[after] <= t {
                        after += 1;
                    }
                    afters.push(after as u32);
                }
                for &window in &self.windows {
                    let mut first = 0usize;
                    for k in 0..n {
                        let start = self.steps.at(k).saturating_sub(window);
                        while first < times.len() && times[first] < start {
                            first += 1;
                        }
                        firsts.push(first as u32);
                    }
                }
            }
        }
        self.tracked.push(Tracked {
            series,
            groups: bit,
            reduce,
            prefix,
            firsts,
            afters,
        });
    }

    /// The sample indices `first..after` of a tracked series in window `w`
    /// at step `k` (in bounds: callers check `w` and `k`).
    #[inline]
    fn range(&self, t: &Tracked<'_>, w: usize, k: usize) -> (usize, usize) {
        let (first, after) = match &self.aligned {
            Some((lengths, lead)) => {
                let m = lengths.get(w).copied().unwrap_or(0);
                (
                    t.afters.get(k + lead - m).map(|&a| first_on_grid(a)),
                    t.afters.get(k + lead),
                )
            }
            None => (
                t.firsts.get(w * self.steps.len + k).map(|&i| i as usize),
                t.afters.get(k),
            ),
        };
        (first.unwrap_or(0), after.map_or(0, |&a| after_of(a)))
    }

    /// The sums for window number `w` at step `k`; `None` for a group in
    /// which no series had a value there (or out of bounds).
    #[inline]
    pub fn get(&self, w: usize, k: usize) -> [Option<f64>; GROUPS] {
        let mut out = [None; GROUPS];
        let (Some(&window), true) = (self.windows.get(w), k < self.steps.len) else {
            return out;
        };
        let end = self.steps.at(k);
        let start = end.saturating_sub(window);
        for t in &self.tracked {
            let (first, after) = self.range(t, w, k);
            if let Some(x) = t.value(first, after, start, end) {
                for (g, slot) in out.iter_mut().enumerate() {
                    if t.groups & (1 << g) != 0 {
                        *slot = Some(slot.map_or(x, |s| s + x));
                    }
                }
            }
        }
        out
    }

    /// Sums of `increase()` over `[start, t_k]` for any `start` at or
    /// before step `k` (e.g. a whole period, longer than every window): the
    /// step's end is already placed among each series' samples, and each
    /// series' start is searched forward from `from[i]` (updated), so that
    /// increasing starts cost little. `from` has one entry per series added.
    pub fn sums_since(
        &self,
        start: Timestamp,
        k: usize,
        from: &mut Vec<usize>,
    ) -> [Option<f64>; GROUPS] {
        let mut out = [None; GROUPS];
        if k >= self.steps.len {
            return out;
        }
        from.resize(self.tracked.len(), 0);
        let end = self.steps.at(k);
        for (t, hint) in self.tracked.iter().zip(from.iter_mut()) {
            // Any window will do: a step's end is the same for all.
            let (_, after) = self.range(t, 0, k);
            let first = skip_while(t.series.times(), *hint, |x| x < start);
            *hint = first;
            if let Some(x) = t.value(first, after, start, end) {
                for (g, slot) in out.iter_mut().enumerate() {
                    if t.groups & (1 << g) != 0 {
                        *slot = Some(slot.map_or(x, |s| s + x));
                    }
                }
            }
        }
        out
    }

    /// Bounds on [`get`](Self::get) for window `w` that hold at every step
    /// of `from..=to`, found without extrapolating (no division): for each
    /// group, [`SumBounds`], or `None` when unsure (a series that has data
    /// at some of those steps but not all, or whose values went negative).
    ///
    /// Extrapolation scales a series' raw increase by a factor between 1
    /// and `window / sampled` (it never reaches past the range), and over a
    /// run of steps the raw increase of a counter lies between what it
    /// counted from the run's last window start to its first window end and
    /// from the first window start to the last end.
    pub fn bounds(&self, w: usize, from: usize, to: usize) -> [Option<SumBounds>; GROUPS] {
        let Some(&window) = self
            .windows
            .get(w)
            .filter(|_| from <= to && to < self.steps.len)
        else {
            return [None; GROUPS];
        };
        let mut acc = BoundsAcc::default();
        for t in &self.tracked {
            let (first_from, after_from) = self.range(t, w, from);
            let (first_to, after_to) = if to == from {
                (first_from, after_from)
            } else {
                self.range(t, w, to)
            };
            acc.add(t, (first_from, after_from), (first_to, after_to), window);
        }
        acc.finish(window)
    }

    /// [`bounds`](Self::bounds) of window `w` at each step on its own, in
    /// step order: `f(k, bounds)`. One pass in memory order, for windows
    /// too short for runs of steps to pay.
    pub fn each_step_bounds(
        &self,
        w: usize,
        mut f: impl FnMut(usize, [Option<SumBounds>; GROUPS]),
    ) {
        let Some(&window) = self.windows.get(w) else {
            return;
        };
        let n = self.steps.len;
        // Each series' pointers for this window, one per step.
        let views: Vec<(&Tracked<'_>, &[u32], &[u32])> = self
            .tracked
            .iter()
            .map(|t| {
                let (firsts, afters) = match &self.aligned {
                    Some((lengths, lead)) => {
                        let from = lead - lengths.get(w).copied().unwrap_or(0);
                        (t.afters.get(from..from + n), t.afters.get(*lead..lead + n))
                    }
                    None => (t.firsts.get(w * n..(w + 1) * n), t.afters.get(..n)),
                };
                (t, firsts.unwrap_or(&[]), afters.unwrap_or(&[]))
            })
            .collect();
        for k in 0..n {
            let mut acc = BoundsAcc::default();
            for (t, firsts, afters) in &views {
                if let (Some(&first), Some(&after)) = (firsts.get(k), afters.get(k)) {
                    let first = match self.aligned {
                        Some(_) => first_on_grid(first),
                        None => first as usize,
                    };
                    let range = (first, after_of(after));
                    acc.add(t, range, range, window);
                }
            }
            f(k, acc.finish(window));
        }
    }
}

impl Tracked<'_> {
    /// The series' value over samples `first..after` of a window `[start,
    /// end]`, as its reduction says; `None` with too few samples.
    #[inline]
    fn value(&self, first: usize, after: usize, start: Timestamp, end: Timestamp) -> Option<f64> {
        match self.reduce {
            Reduce::Increase => self.series.increase_between(first, after, start, end),
            Reduce::Sum => (after > first)
                .then(|| Some(self.prefix.get(after)? - self.prefix.get(first)?))
                .flatten(),
            Reduce::Count => (after > first).then(|| (after - first) as f64),
        }
    }

    /// What [`BoundsAcc`] needs of samples `first..after`: the value before
    /// extrapolation and the span it is scaled from (the window itself for
    /// sums and counts, which are never extrapolated).
    /// How far rounding can move a value of
    /// [`raw_between`](Self::raw_between) over samples `first..after`: a
    /// difference of two running totals is off by up to a few ulps of the
    /// larger total, which can be large against a small increase (a
    /// counter reset many times).
    #[inline]
    fn rounding(&self, first: usize, after: usize) -> f64 {
        let totals: &[f64] = match self.reduce {
            Reduce::Increase => &self.series.counts,
            Reduce::Sum => &self.prefix,
            Reduce::Count => return 0.0,
        };
        let at = |i: usize| totals.get(i).map_or(0.0, |v: &f64| v.abs());
        8.0 * f64::EPSILON * at(first).max(at(after)).max(at(after.saturating_sub(1)))
    }

    #[inline]
    fn raw_between(&self, first: usize, after: usize, window: i64) -> Option<(f64, f64)> {
        match self.reduce {
            Reduce::Increase => self.series.raw_between(first, after),
            Reduce::Sum | Reduce::Count => Some((self.value(first, after, 0, 0)?, window as f64)),
        }
    }
}

/// [`WindowedSums::bounds`] being summed over series.
#[derive(Clone, Copy, Debug)]
struct BoundsAcc {
    low: [f64; GROUPS],
    high: [f64; GROUPS],
    shortest: [f64; GROUPS],
    unsure: [bool; GROUPS],
}

impl Default for BoundsAcc {
    fn default() -> Self {
        Self {
            low: [0.0; GROUPS],
            high: [0.0; GROUPS],
            shortest: [f64::INFINITY; GROUPS],
            unsure: [false; GROUPS],
        }
    }
}

impl BoundsAcc {
    /// Adds a series whose window holds samples `first..after` at the first
    /// step of a run (`at_from`) and at the last (`at_to`).
    #[inline]
    fn add(
        &mut self,
        t: &Tracked<'_>,
        at_from: (usize, usize),
        at_to: (usize, usize),
        window: i64,
    ) {
        let ((first_from, after_from), (first_to, after_to)) = (at_from, at_to);
        let need = t.reduce.min_samples();
        // Enough samples in range at some step of the run?
        if after_to < first_from + need {
            return;
        }
        // ... and at every step, with the raw value and sampled span at
        // their smallest.
        let sure = (after_from >= first_to + need)
            .then(|| {
                let min = t.raw_between(first_to, after_from, window)?;
                let (max, _) = t.raw_between(first_from, after_to, window)?;
                Some((min, max))
            })
            .flatten()
            .filter(|_| t.series.monotone);
        for g in 0..GROUPS {
            if t.groups & (1 << g) == 0 {
                continue;
            }
            match sure {
                Some(((raw_min, sampled_min), raw_max)) => {
                    // Widened by the rounding of the running totals, so a
                    // bound holds for the value computed another way.
                    let slack = t.rounding(first_from, after_to);
                    self.low[g] += raw_min - slack;
                    self.high[g] += raw_max + slack;
                    self.shortest[g] = self.shortest[g].min(sampled_min);
                }
                None => self.unsure[g] = true,
            }
        }
    }

    #[inline]
    fn finish(&self, window: i64) -> [Option<SumBounds>; GROUPS] {
        let mut out = [None; GROUPS];
        for (g, slot) in out.iter_mut().enumerate() {
            if self.unsure[g] {
                continue;
            }
            *slot = Some(if self.shortest[g].is_finite() {
                SumBounds {
                    low: self.low[g],
                    high_numerator: self.high[g] * window as f64,
                    high_denominator: self.shortest[g],
                }
            } else {
                // No series has data at any step: the sum is absent (its
                // value, where one is needed, is at most 0).
                SumBounds {
                    low: 0.0,
                    high_numerator: 0.0,
                    high_denominator: 1.0,
                }
            });
        }
        out
    }
}

/// The sample index after a grid time, from its packed pointer.
#[inline]
fn after_of(packed: u32) -> usize {
    (packed & !(1 << 31)) as usize
}

/// The first sample at or after a grid time, from its packed pointer.
#[inline]
fn first_on_grid(packed: u32) -> usize {
    after_of(packed) - (packed >> 31) as usize
}

/// Bounds on a sum of increases: `low <= sum <= high_numerator /
/// high_denominator` (kept as a fraction so that comparing costs no
/// division). A sum with no series at all has bounds 0 and 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SumBounds {
    /// At most the sum.
    pub low: f64,
    /// At least the sum times `high_denominator`.
    pub high_numerator: f64,
    /// Positive.
    pub high_denominator: f64,
}

impl Series {
    /// The raw increase (before extrapolation) and the sampled span (ms)
    /// of the samples `first..after`; `None` with fewer than two.
    #[inline]
    fn raw_between(&self, first: usize, after: usize) -> Option<(f64, f64)> {
        if after < first + 2 {
            return None;
        }
        let last = after - 1;
        let raw = self.counts.get(last)? - self.counts.get(first)?;
        let sampled = (self.times.get(last)? - self.times.get(first)?) as f64;
        Some((raw, sampled))
    }
}
