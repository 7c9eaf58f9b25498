//! What the graphs of a replay draw: each long window's burn rate and the
//! shortest window's traffic at every step ([`super::Options::burn_rates`]).

use crate::events::Counts;

use super::replay::Replayer;
use super::{BurnRateLine, Traffic};

impl Replayer<'_> {
    /// The shortest window's event rate and error ratio at every step with
    /// traffic.
    pub(super) fn traffic(&self, counts: Counts) -> Option<Traffic> {
        let w = (0..self.sums.windows()).min_by_key(|&w| self.sums.window(w))?;
        let window = self.sums.window(w)?;
        let seconds = window.as_millis() as f64 / 1000.0;
        let points = (0..self.steps.len())
            .filter_map(|k| {
                let m = self.measure(w, k, counts)?;
                m.error_ratio.is_finite().then(|| {
                    (
                        self.steps.at(k),
                        m.events.map(|e| e / seconds),
                        m.error_ratio,
                    )
                })
            })
            .collect();
        Some(Traffic { window, points })
    }

    /// Each pair's long window's burn rate at every step with traffic.
    pub(super) fn burn_rate_lines(&self, counts: Counts) -> Vec<BurnRateLine> {
        let mut longs: Vec<usize> = (0..self.decider.len())
            .filter_map(|i| Some(self.decider.pair_windows(i)?.0))
            .collect();
        // The decider's windows are sorted shortest first.
        longs.sort_unstable();
        longs.dedup();
        longs
            .into_iter()
            .filter_map(|w| Some((w, *self.decider.windows().get(w)?)))
            .map(|(w, window)| BurnRateLine {
                window,
                points: (0..self.steps.len())
                    .filter_map(|k| {
                        let m = self.measure(w, k, counts)?;
                        m.error_ratio
                            .is_finite()
                            .then(|| (self.steps.at(k), self.budget.burn_rate(m.error_ratio)))
                    })
                    .collect(),
            })
            .collect()
    }
}
