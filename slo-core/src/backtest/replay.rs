//! The replay: an SLO's windows summed over the steps once, then the
//! alert state machine stepped only where a pair may fire.

use crate::alert::{AlertState, Decider, Measurement};
use crate::budget::ErrorBudget;
use crate::duration::Duration;
use crate::errors::ReplayError;
use crate::events::{self, Counts, EventSeries};
use crate::incident::Incident;
use crate::policy::Severity;
use crate::series::{Steps, SumBounds, WindowedSums};
use crate::spec::Slo;
use crate::time::Timestamp;

use super::score::Scorer;
use super::{
    AlertInterval, BudgetPoint, IncidentOutcome, Incidents, InstanceReport, MAX_STEPS, Options,
    Significance, budget_spent, events_between, millis,
};

/// Replays one SLO over instances, keeping its working memory between
/// them.
#[derive(Debug)]
pub struct Replayer<'a> {
    pub(super) slo: &'a Slo,
    pub(super) options: &'a Options,
    pub(super) budget: ErrorBudget,
    pub(super) decider: Decider,
    pub(super) steps: Steps,
    pub(super) significance: Option<(usize, Significance)>,
    /// Sum [`TOTAL`] counts all events, sum [`COUNTED`] the bad or good
    /// ones, over the decider's windows (then the significance window when
    /// detecting incidents and the policy lacks it).
    pub(super) sums: WindowedSums<'a>,
    /// Measurements of the current step, by window; `None` until measured.
    pub(super) measured: Vec<Option<Option<Measurement>>>,
}

/// The [`WindowedSums`] group of all events.
const TOTAL: usize = 0;
/// The [`WindowedSums`] group of the counted (bad or good) events.
const COUNTED: usize = 1;

impl<'a> Replayer<'a> {
    /// Prepares a replay of `slo` as `options` say.
    pub fn new(slo: &'a Slo, options: &'a Options) -> Result<Self, ReplayError> {
        if options.step.is_zero() || options.budget_every.is_zero() {
            return Err(ReplayError::ZeroStep);
        }
        if options.end < options.start {
            return Err(ReplayError::EmptyRange);
        }
        let span = options.end.abs_diff(options.start) / options.step.as_millis().max(1);
        if span >= MAX_STEPS {
            return Err(ReplayError::TooManySteps {
                steps: span.saturating_add(1),
                max: MAX_STEPS,
            });
        }
        let steps =
            Steps::new(options.start, options.end, options.step).ok_or(ReplayError::EmptyRange)?;
        let budget = slo.budget();
        let decider = Decider::new(&slo.policy, &budget, slo.alerting.min_events);
        let mut windows = decider.windows().to_vec();
        let significance = match &options.incidents {
            Incidents::Detect(sig) => {
                let w = match windows.iter().position(|w| *w == sig.window) {
                    Some(w) => w,
                    None => {
                        windows.push(sig.window);
                        windows.len() - 1
                    }
                };
                Some((w, *sig))
            }
            Incidents::Given(_) => None,
        };
        Ok(Self {
            slo,
            options,
            budget,
            sums: WindowedSums::new(&windows, steps),
            measured: vec![None; windows.len()],
            decider,
            steps,
            significance,
        })
    }

    /// The evaluation times.
    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    /// Replays one instance.
    pub fn replay(&mut self, inst: &EventSeries<'a>) -> InstanceReport {
        self.track(inst);
        let alerts = self.run_alerts(inst.counts);
        let budget = self.budget_timeline(inst.counts);
        let incidents: Vec<Incident> = match (&self.options.incidents, self.significance) {
            (Incidents::Given(list), _) => list
                .iter()
                .filter(|i| i.applies_to(self.slo, &inst.labels))
                .cloned()
                .collect(),
            (Incidents::Detect(_), Some((w, sig))) => self.detect(inst, w, &sig),
            (Incidents::Detect(_), None) => Vec::new(),
        };
        let scorer = Scorer {
            slo: self.slo,
            budget: &self.budget,
            step: self.options.step,
            inst,
            alerts: &alerts,
            start: self.steps.at(0),
        };
        let outcomes: Vec<IncidentOutcome> = incidents.iter().map(|i| scorer.outcome(i)).collect();
        let quality = scorer.quality(&outcomes);
        InstanceReport {
            labels: inst.labels.clone(),
            steps_with_data: self.steps_with_data(inst.counts),
            alerts,
            budget,
            incidents: outcomes,
            quality,
            burn_rates: if self.options.burn_rates {
                self.burn_rate_lines(inst.counts)
            } else {
                Vec::new()
            },
            traffic: self
                .options
                .burn_rates
                .then(|| self.traffic(inst.counts))
                .flatten(),
            latency: None,
        }
    }

    /// The steps at which the shortest window measures a finite ratio.
    fn steps_with_data(&self, counts: Counts) -> usize {
        let Some(w) = (0..self.sums.windows()).min_by_key(|&w| self.sums.window(w)) else {
            return 0;
        };
        let n = self.steps.len();
        if n == 0 {
            return 0;
        }
        // A run whose total events are surely above zero at every step has
        // data at each; one surely at zero has none; the others are stepped
        // through. Bounds prove a positive total only over runs shorter
        // than the window (the windows of a run's first and last steps must
        // overlap), so runs are half a window.
        let per_window = self.sums.window(w).map_or(1, |d| {
            (d.as_millis() / self.steps.step().as_millis().max(1)) as usize
        });
        let run = (per_window / 2).max(1);
        let mut count = 0;
        let mut from = 0;
        while from < n {
            let to = (from + run - 1).min(n - 1);
            match self.sums.bounds(w, from, to)[TOTAL] {
                Some(b) if b.low > 0.0 => count += to - from + 1,
                Some(b) if b.high_numerator <= 0.0 => {}
                _ => {
                    count += (from..=to)
                        .filter(|&k| {
                            self.measure(w, k, counts)
                                .is_some_and(|m| m.error_ratio.is_finite())
                        })
                        .count();
                }
            }
            from = to + 1;
        }
        count
    }

    /// Places the instance's series on the steps.
    fn track(&mut self, inst: &EventSeries<'a>) {
        self.sums.clear();
        inst.add_to(&mut self.sums, TOTAL, COUNTED);
    }

    /// The measurement of window `w` at step `k`.
    #[inline]
    pub(super) fn measure(&self, w: usize, k: usize, counts: Counts) -> Option<Measurement> {
        let [total, counted] = self.sums.get(w, k);
        events::measurement(total, counted, counts)
    }

    /// [`clears`] over every step of `from..=to`.
    #[inline]
    fn surely_at_most(
        &self,
        w: usize,
        from: usize,
        to: usize,
        threshold: f64,
        counts: Counts,
    ) -> bool {
        clears(self.sums.bounds(w, from, to), threshold, counts)
    }

    /// The steps, among those of `within` (all when `None`), at which a
    /// window's error ratio may exceed `threshold`.
    ///
    /// Runs of half a window are tried first: over such a run the bounds
    /// are within 3x of the ratio, which clears a quiet history at once. A
    /// run that cannot be cleared is halved down to an eighth of the window
    /// (where bounds are within 30%), then checked step by step when
    /// `refine`, or else kept whole (for long windows: a run that close to
    /// the threshold is usually above it throughout, and checking each step
    /// would only confirm it).
    fn may_exceed(
        &self,
        w: usize,
        threshold: f64,
        counts: Counts,
        within: Option<&StepSet>,
        refine: bool,
    ) -> StepSet {
        let n = self.steps.len();
        let mut out = StepSet::new(n);
        let steps_per_window = self.sums.window(w).map_or(1, |d| {
            (d.as_millis() / self.options.step.as_millis().max(1)) as usize
        });
        let (top, leaf) = ((steps_per_window / 2).max(1), (steps_per_window / 8).max(1));
        let wanted = |k: usize| within.is_none_or(|m| m.contains(k));
        let any_wanted = |a: usize, b: usize| within.is_none_or(|m| m.any_in(a, b));
        if top <= 4 {
            // A window of a few steps: runs would be nearly as many as
            // steps, so check each wanted step (all of them in one pass).
            match within {
                None => self.sums.each_step_bounds(w, |k, bounds| {
                    if !clears(bounds, threshold, counts) {
                        out.insert(k);
                    }
                }),
                Some(m) => {
                    let mut k = 0;
                    while let Some(next) = m.next_from(k) {
                        if !self.surely_at_most(w, next, next, threshold, counts) {
                            out.insert(next);
                        }
                        k = next + 1;
                    }
                }
            }
            return out;
        }
        let mut pending = Vec::new();
        let mut from = 0;
        while from < n {
            // Jump to the next step wanted.
            if let Some(m) = within {
                match m.next_from(from) {
                    Some(next) => from = next,
                    None => break,
                }
            }
            let to = (from + top - 1).min(n - 1);
            pending.push((from, to));
            while let Some((a, b)) = pending.pop() {
                if !any_wanted(a, b) || self.surely_at_most(w, a, b, threshold, counts) {
                    continue;
                }
                if b - a + 1 > leaf {
                    let mid = a + (b - a) / 2;
                    pending.push((mid + 1, b));
                    pending.push((a, mid));
                    continue;
                }
                for k in a..=b {
                    if wanted(k) && !(refine && self.surely_at_most(w, k, k, threshold, counts)) {
                        out.insert(k);
                    }
                }
            }
            from = to + 1;
        }
        out
    }

    fn run_alerts(&mut self, counts: Counts) -> Vec<AlertInterval> {
        let tiers = self.slo.policy.severities();
        let mut states = vec![AlertState::Inactive; tiers.len()];
        // The alert being built per tier, and the peak error ratio of its
        // firing pairs' short windows.
        let mut open: Vec<Option<(AlertInterval, f64)>> = vec![None; tiers.len()];
        let mut done = Vec::new();
        // Per pair: its tier, windows and threshold.
        let pairs: Vec<(usize, usize, usize, f64)> = (0..self.decider.len())
            .filter_map(|i| {
                let pair = self.decider.pair(i)?;
                let tier = tiers.iter().position(|t| *t == pair.severity)?;
                let (long, short) = self.decider.pair_windows(i)?;
                Some((tier, long, short, pair.error_ratio_threshold(&self.budget)))
            })
            .collect();
        let hold: Vec<Option<Duration>> = tiers
            .iter()
            .map(|t| self.slo.alerting.tier(*t).for_)
            .collect();
        let mut firing = vec![false; tiers.len()];
        let mut peak = vec![f64::NEG_INFINITY; tiers.len()];
        let mut measured = std::mem::take(&mut self.measured);
        let mut slice: Vec<Option<Measurement>> = vec![None; measured.len()];
        // Steps at which each pair might fire: its long window is not surely
        // at or below its threshold. In a quiet history almost no step
        // survives this.
        let n = self.steps.len();
        let candidates: Vec<StepSet> = pairs
            .iter()
            .map(|&(_, long, short, threshold)| {
                let long = self.may_exceed(long, threshold, counts, None, false);
                self.may_exceed(short, threshold, counts, Some(&long), true)
            })
            .collect();
        let mut any = StepSet::new(n);
        for c in &candidates {
            any.union_with(c);
        }
        let mut k = 0;
        while k < n {
            // Nothing can fire and nothing is pending or firing: the state
            // machine would stay put (inactive or resolved) until the next
            // candidate step.
            if !any.contains(k)
                && states
                    .iter()
                    .all(|s| matches!(s, AlertState::Inactive | AlertState::Resolved { .. }))
            {
                match any.next_from(k) {
                    Some(next) => k = next,
                    None => break,
                }
            }
            let now = self.steps.at(k);
            measured.fill(None);
            firing.fill(false);
            peak.fill(f64::NEG_INFINITY);
            for (i, &(tier, long, short, _)) in pairs.iter().enumerate() {
                if !candidates[i].contains(k) {
                    continue;
                }
                for w in [long, short] {
                    let m = *measured[w].get_or_insert_with(|| self.measure(w, k, counts));
                    slice[w] = m;
                }
                let Some(d) = self.decider.decide_pair(i, &slice) else {
                    continue;
                };
                if d.firing {
                    firing[tier] = true;
                    if let Some(s) = d.short {
                        peak[tier] = peak[tier].max(s.error_ratio);
                    }
                }
            }
            for t in 0..tiers.len() {
                let next = states[t].next(firing[t], hold[t], now);
                match (next, &mut open[t]) {
                    (
                        AlertState::Firing {
                            active_since,
                            started_at,
                        },
                        slot,
                    ) => {
                        let (_, p) = slot.get_or_insert((
                            AlertInterval {
                                severity: tiers[t],
                                active_since,
                                start: started_at,
                                end: None,
                                peak_burn_rate: 0.0,
                            },
                            f64::NEG_INFINITY,
                        ));
                        *p = p.max(peak[t]);
                    }
                    (AlertState::Resolved { resolved_at, .. }, slot) => {
                        if let Some((mut a, p)) = slot.take() {
                            a.end = Some(resolved_at);
                            a.peak_burn_rate = self.budget.burn_rate(p);
                            done.push(a);
                        }
                    }
                    _ => {}
                }
                states[t] = next;
            }
            k += 1;
        }
        self.measured = measured;
        for slot in open.iter_mut() {
            if let Some((mut a, p)) = slot.take() {
                a.peak_burn_rate = self.budget.burn_rate(p);
                done.push(a);
            }
        }
        done.sort_by_key(|a| (a.severity, a.start));
        done
    }

    fn budget_timeline(&self, counts: Counts) -> Vec<BudgetPoint> {
        // Points on whole steps, so that their ends are already placed.
        let every = (self.options.budget_every.as_millis() / self.options.step.as_millis().max(1))
            .max(1) as usize;
        let period = millis(self.slo.period);
        let last = self.steps.len() - 1;
        let mut from = Vec::new();
        (0..=last)
            .step_by(every)
            .chain((!last.is_multiple_of(every)).then_some(last))
            .map(|k| {
                let t = self.steps.at(k);
                let [total, counted] = self.sums.sums_since(t.saturating_sub(period), k, &mut from);
                let ratio = events::bad_and_total(total, counted, counts)
                    .and_then(|(bad, total)| (total > 0.0).then(|| bad / total));
                BudgetPoint {
                    time: t,
                    error_ratio: ratio,
                    remaining: ratio.map(|r| self.budget.remaining(r)),
                }
            })
            .collect()
    }

    fn detect(&self, inst: &EventSeries<'_>, w: usize, sig: &Significance) -> Vec<Incident> {
        let counts = inst.counts;
        let threshold = self.budget.error_ratio_at(sig.min_burn_rate);
        let window = millis(sig.window);
        let gap = millis(sig.merge_gap);
        // Burning runs as (first step burning, last step burning).
        let mut runs: Vec<(Timestamp, Timestamp)> = Vec::new();
        let maybe = self.may_exceed(w, threshold, counts, None, true);
        let mut next = maybe.next_from(0);
        while let Some(k) = next {
            next = maybe.next_from(k + 1);
            let burning = self
                .measure(w, k, counts)
                .is_some_and(|m| m.error_ratio > threshold);
            if !burning {
                continue;
            }
            let t = self.steps.at(k);
            match runs.last_mut() {
                Some((_, last)) if t - *last <= gap => *last = t,
                _ => runs.push((t, t)),
            }
        }
        runs.into_iter()
            .filter_map(|(first, last)| {
                // A window keeps burning for up to its length after the
                // errors stop: the incident ended about a window earlier.
                let end = last.saturating_sub(window).max(first.saturating_add(1));
                let spent = budget_spent(self.slo, &self.budget, inst, first, end)?;
                if spent < sig.min_budget_share {
                    return None;
                }
                let (bad, total) = events_between(inst, first, end)?;
                let burn = self.budget.burn_rate(bad / total);
                let severity = if burn >= sig.page_burn_rate {
                    Severity::Page
                } else {
                    Severity::Ticket
                };
                let mut incident = Incident::new(first, end, Some(severity));
                incident.service = Some(self.slo.service.clone());
                incident.slo = Some(self.slo.name.clone());
                incident.labels = inst.labels.clone();
                incident.description = Some(format!(
                    "detected: {} of the budget at {}x on average",
                    crate::num::format(spent),
                    crate::num::format(burn)
                ));
                Some(incident)
            })
            .collect()
    }
}

/// A set of step indices, as bits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StepSet {
    words: Vec<u64>,
    len: usize,
}

impl StepSet {
    /// No steps, room for `n`.
    fn new(n: usize) -> Self {
        Self {
            words: vec![0; n.div_ceil(64)],
            len: n,
        }
    }

    fn insert(&mut self, k: usize) {
        if k >= self.len {
            return;
        }
        if let Some(w) = self.words.get_mut(k / 64) {
            *w |= 1 << (k % 64);
        }
    }

    fn contains(&self, k: usize) -> bool {
        self.words
            .get(k / 64)
            .is_some_and(|w| w >> (k % 64) & 1 == 1)
    }

    /// True when some step of `a..=b` is in the set.
    fn any_in(&self, a: usize, b: usize) -> bool {
        self.next_from(a).is_some_and(|k| k <= b)
    }

    /// The first step at or after `k` in the set.
    fn next_from(&self, k: usize) -> Option<usize> {
        let mut i = k / 64;
        let mut word = self.words.get(i)? & (u64::MAX << (k % 64));
        loop {
            if word != 0 {
                return Some(i * 64 + word.trailing_zeros() as usize);
            }
            i += 1;
            word = *self.words.get(i)?;
        }
    }

    fn union_with(&mut self, other: &StepSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }
}

/// True when bounds on a window's total and counted sums prove its error
/// ratio is at most `threshold` (or that it has no data), so that no pair
/// with this threshold can fire on it (see [`alert`](crate::alert): both
/// windows must exceed the threshold). No division, no extrapolation; false
/// when unsure.
#[inline]
fn clears(bounds: [Option<SumBounds>; 2], threshold: f64, counts: Counts) -> bool {
    let [Some(total), Some(counted)] = bounds else {
        return false;
    };
    // Keep clear of ties: rounding differs from the exact path's.
    let threshold = threshold * (1.0 - 1e-9);
    match counts {
        // bad <= counted's high and total >= its low.
        Counts::Bad => counted.high_numerator <= threshold * total.low * counted.high_denominator,
        // bad = total - good <= total's high - good's low.
        Counts::Good => {
            total.high_numerator <= (threshold * total.low + counted.low) * total.high_denominator
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert;
    use crate::backtest::*;
    use crate::dataset::SeriesKey;

    type Interval = (Severity, Timestamp, Option<Timestamp>);

    /// The replay's alerts, by the book: exact measurements of every window
    /// at every step, `alert::decide`, the state machine.
    fn reference(r: &Replayer<'_>, counts: Counts) -> Vec<Interval> {
        let windows = r.decider.windows().to_vec();
        let mut out = Vec::new();
        for severity in r.slo.policy.severities() {
            let mut state = AlertState::Inactive;
            let hold = r.slo.alerting.tier(severity).for_;
            for k in 0..r.steps.len() {
                let decision =
                    alert::decide(&r.slo.policy, &r.budget, r.slo.alerting.min_events, |w| {
                        let i = windows.iter().position(|x| *x == w)?;
                        r.measure(i, k, counts)
                    });
                let next = alert::advance(state, &decision, severity, hold, r.steps.at(k));
                if let (
                    AlertState::Firing { .. },
                    AlertState::Resolved {
                        started_at,
                        resolved_at,
                        ..
                    },
                ) = (state, next)
                {
                    out.push((severity, started_at, Some(resolved_at)));
                }
                state = next;
            }
            if let AlertState::Firing { started_at, .. } = state {
                out.push((severity, started_at, None));
            }
        }
        out.sort();
        out
    }

    /// Three days of error ratios wandering across every threshold of the
    /// Workbook policy at 99.9%, with little traffic (so `min_events` bites).
    fn wandering() -> Dataset {
        let ok = SeriesKey::new("req", [("code", "200")]);
        let bad = SeriesKey::new("req", [("code", "500")]);
        let mut data = Dataset::new();
        let (mut n_ok, mut n_bad, mut x) = (0.0, 0.0, 0x2545_f491_4f6c_dd1d_u64);
        for i in 0..(3 * 24 * 240) {
            let t = i * 15_000;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let hour = t / 3_600_000;
            let ratio = [
                0.0008, 0.0011, 0.0029, 0.0031, 0.0059, 0.0061, 0.0143, 0.0145, 0.02,
            ][(hour % 9) as usize];
            let n = 20.0 + (x % 7) as f64;
            let e = (n * ratio * 10.0 + (x >> 40) as f64 / (1u64 << 24) as f64).floor() / 10.0;
            n_ok += n - e;
            n_bad += e;
            let _ = data.push(&ok, t, n_ok);
            let _ = data.push(&bad, t, n_bad);
        }
        data
    }

    /// The count of steps with data, found run by run from the bounds,
    /// equals stepping through every step: over traffic, a scrape gap, a
    /// stretch without traffic and a range past the data's end.
    #[test]
    fn steps_with_data_counts_as_stepping_does() {
        let ok = SeriesKey::new("req", [("code", "200")]);
        let bad = SeriesKey::new("req", [("code", "500")]);
        let mut data = Dataset::new();
        let (mut n_ok, mut n_bad) = (0.0, 0.0);
        for i in 0..(3 * 24 * 240) {
            let t: i64 = i * 15_000;
            let hour = t / 3_600_000;
            if (10..12).contains(&hour) {
                continue; // a scrape gap
            }
            if !(30..33).contains(&hour) {
                n_ok += 10.0; // else: no traffic, counters flat
                n_bad += (i % 3) as f64;
            }
            let _ = data.push(&ok, t, n_ok);
            let _ = data.push(&bad, t, n_bad);
        }
        let slo = crate::load::load_str(
            "version: slo/v1\nservice: s\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: 'req{code=\"500\"}', total: req}\n",
        )
        .unwrap_or_else(|d| panic!("{d:?}"))
        .slos
        .remove(0);
        for (start, end) in [(0, 3 * 86_400_000), (3_600_000, 4 * 86_400_000)] {
            let options = Options::new(start, end);
            let instances = events::event_series(&slo, &data).unwrap_or_default();
            let mut r = Replayer::new(&slo, &options).unwrap_or_else(|e| panic!("{e}"));
            r.track(&instances[0]);
            let shortest = 0; // the decider's windows are shortest first
            let naive = (0..r.steps.len())
                .filter(|&k| {
                    r.measure(shortest, k, instances[0].counts)
                        .is_some_and(|m| m.error_ratio.is_finite())
                })
                .count();
            assert!(naive > 0 && naive < r.steps.len(), "{naive}");
            assert_eq!(r.steps_with_data(instances[0].counts), naive);
        }
    }

    #[test]
    fn step_sets() {
        let mut s = StepSet::new(200);
        for k in [0, 63, 64, 130, 199, 200, 1000] {
            s.insert(k);
        }
        let all: Vec<usize> =
            std::iter::successors(s.next_from(0), |k| s.next_from(k + 1)).collect();
        assert_eq!(all, [0, 63, 64, 130, 199]);
        assert!(s.contains(130) && !s.contains(131) && !s.contains(5000));
        assert!(s.any_in(65, 130) && !s.any_in(65, 129) && !s.any_in(200, 300));
        assert_eq!(s.next_from(131), Some(199));
        assert_eq!(StepSet::new(0).next_from(0), None);
        let mut t = StepSet::new(200);
        t.insert(5);
        t.union_with(&s);
        assert_eq!(t.next_from(1), Some(5));
    }

    /// The replay of `yaml`'s SLO over `data` (the first instance) at
    /// `step` alerts exactly as [`reference`] does, and often.
    fn gate_matches_reference(yaml: &str, data: impl Fn(&Slo) -> Dataset, step: u64) {
        let slo = crate::load::load_str(yaml)
            .unwrap_or_else(|d| panic!("{d:?}"))
            .slos
            .remove(0);
        let data = data(&slo);
        let mut options = Options::new(3_600_000, 3 * 86_400_000);
        options.step = Duration::from_millis(step);
        let report = backtest(&slo, &data, &options).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<Interval> = report.instances[0]
            .alerts
            .iter()
            .map(|a| (a.severity, a.start, a.end))
            .collect();
        let instances = events::event_series(&slo, &data).unwrap_or_default();
        let mut r = Replayer::new(&slo, &options).unwrap_or_else(|e| panic!("{e}"));
        r.track(&instances[0]);
        let want = reference(&r, instances[0].counts);
        assert!(want.len() > 10, "{want:?}");
        assert_eq!(got, want, "step {step}, {yaml}");
    }

    #[test]
    fn the_bounds_gate_never_changes_a_decision() {
        for (step, alerting) in [
            (60_000, "      min_events: 50\n"),
            // Windows that are not whole steps: pointers per window.
            (45_000, "      min_events: 50\n"),
            (60_000, "      page:\n        for: 3m\n"),
        ] {
            let yaml = format!(
                "version: slo/v1\nservice: s\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio:\n        errors: req{{code=\"500\"}}\n        total: req\n    alerting:\n{alerting}"
            );
            gate_matches_reference(&yaml, |_| wandering(), step);
        }
    }

    /// A slice indicator over three days whose bad share wanders across the
    /// Workbook thresholds at 99%, with gaps (no data) now and then.
    fn wandering_slices(slo: &Slo) -> Dataset {
        let key = events::slice_indicator_key(slo, &crate::spec::Labels::new());
        let mut data = Dataset::new();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..(3 * 24 * 60) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let hour = i / 60;
            let bad_share = [0.005, 0.02, 0.05, 0.07, 0.15, 0.3, 0.0, 0.11][hour % 8];
            if x.is_multiple_of(97) || (hour % 11 == 3 && i % 60 < 20) {
                continue; // no data
            }
            let bad = ((x >> 11) as f64 / (1u64 << 53) as f64) < bad_share;
            let _ = data.push(&key, i as i64 * 60_000, if bad { 0.0 } else { 1.0 });
        }
        data
    }

    #[test]
    fn the_bounds_gate_never_changes_a_slice_decision() {
        for (step, alerting) in [
            (60_000, ""),
            // Steps off the slices, and windows that are not whole steps.
            (45_000, "    alerting:\n      min_events: 30\n"),
            (120_000, "    alerting:\n      ticket:\n        for: 10m\n"),
        ] {
            let yaml = format!(
                "version: slo/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      slices:\n        query: up\n        op: \">=\"\n        threshold: 1\n        slice: 1m\n{alerting}"
            );
            gate_matches_reference(&yaml, wandering_slices, step);
        }
    }
}
