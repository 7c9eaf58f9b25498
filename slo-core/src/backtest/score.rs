//! Scoring a replay's alerts against incidents: detection, reset, budget
//! spent before each alert, precision and recall per tier.

use crate::events::EventSeries;
use crate::incident::Incident;
use crate::policy::Severity;

use crate::budget::ErrorBudget;
use crate::duration::Duration;
use crate::spec::Slo;
use crate::time::Timestamp;

use super::{AlertInterval, Detection, IncidentOutcome, TierQuality, budget_spent, millis};

/// What scoring reads of a replay: the SLO, its budget, the step, one
/// instance's events and its alerts.
pub(super) struct Scorer<'r, 'a> {
    pub(super) slo: &'r Slo,
    pub(super) budget: &'r ErrorBudget,
    pub(super) step: Duration,
    pub(super) inst: &'r EventSeries<'a>,
    pub(super) alerts: &'r [AlertInterval],
    /// The range's first step.
    pub(super) start: Timestamp,
}

impl Scorer<'_, '_> {
    /// The tiers scored: each of the policy's, then all together.
    fn tiers(&self) -> Vec<Option<Severity>> {
        let mut t: Vec<Option<Severity>> =
            self.slo.policy.severities().into_iter().map(Some).collect();
        t.push(None);
        t
    }

    /// How long after an incident's end an alert of the tier may still be
    /// about it: the tier's longest short window.
    fn grace(&self, severity: Severity) -> i64 {
        self.slo
            .policy
            .tier(severity)
            .map(|p| millis(p.short))
            .max()
            .unwrap_or(0)
    }

    fn alerts_of(&self, severity: Option<Severity>) -> impl Iterator<Item = &AlertInterval> {
        self.alerts
            .iter()
            .filter(move |a| severity.is_none_or(|s| s == a.severity))
    }

    /// Active at the range's first step: it began at or before it.
    fn carried_over(&self, alert: &AlertInterval) -> bool {
        alert.active_since <= self.start
    }

    fn catches(&self, alert: &AlertInterval, incident: &Incident) -> bool {
        let grace = self.grace(alert.severity);
        let early = millis(self.step);
        alert.start >= incident.start.saturating_sub(early)
            && alert.start <= incident.end.saturating_add(grace)
    }

    pub(super) fn outcome(&self, incident: &Incident) -> IncidentOutcome {
        let detections = self
            .tiers()
            .into_iter()
            .map(|severity| {
                let caught: Vec<&AlertInterval> = self
                    .alerts_of(severity)
                    .filter(|a| self.catches(a, incident))
                    .collect();
                let fired_at = caught.iter().map(|a| a.start).min();
                let last_end = caught.iter().max_by_key(|a| a.start).map(|a| a.end);
                // Both began before the range: when it really fired is
                // not in the data replayed.
                let unknown = incident.start <= self.start
                    && caught
                        .iter()
                        .min_by_key(|a| a.start)
                        .is_some_and(|a| self.carried_over(a));
                let fired_at_known = fired_at.filter(|_| !unknown);
                Detection {
                    severity,
                    expected: incident.expects(severity),
                    fired_at,
                    detection_secs: fired_at_known
                        .map(|f| secs(f.saturating_sub(incident.start).max(0))),
                    reset_secs: last_end
                        .flatten()
                        .map(|e| secs(e.saturating_sub(incident.end).max(0))),
                    budget_before_firing: fired_at_known.and_then(|f| {
                        budget_spent(self.slo, self.budget, self.inst, incident.start, f)
                    }),
                }
            })
            .collect();
        IncidentOutcome {
            incident: incident.clone(),
            budget_consumed: budget_spent(
                self.slo,
                self.budget,
                self.inst,
                incident.start,
                incident.end,
            ),
            detections,
        }
    }

    pub(super) fn quality(&self, outcomes: &[IncidentOutcome]) -> Vec<TierQuality> {
        self.tiers()
            .into_iter()
            .map(|severity| {
                let alerts: Vec<&AlertInterval> = self.alerts_of(severity).collect();
                let caught: Vec<bool> = alerts
                    .iter()
                    .map(|a| {
                        outcomes.iter().any(|o| {
                            let relevant =
                                severity != Some(Severity::Page) || o.incident.expects(severity);
                            relevant && self.catches(a, &o.incident)
                        })
                    })
                    .collect();
                let true_alerts = caught.iter().filter(|c| **c).count();
                let unscored = alerts
                    .iter()
                    .zip(&caught)
                    .filter(|(a, c)| !**c && self.carried_over(a))
                    .count();
                let expected: Vec<&Detection> = outcomes
                    .iter()
                    .filter_map(|o| {
                        o.detections
                            .iter()
                            .find(|d| d.severity == severity && d.expected)
                    })
                    .collect();
                let detected: Vec<&&Detection> =
                    expected.iter().filter(|d| d.fired_at.is_some()).collect();
                let detection: Vec<f64> =
                    detected.iter().filter_map(|d| d.detection_secs).collect();
                let reset: Vec<f64> = detected.iter().filter_map(|d| d.reset_secs).collect();
                let spent: Vec<f64> = detected
                    .iter()
                    .filter_map(|d| d.budget_before_firing)
                    .collect();
                TierQuality {
                    severity,
                    alerts: alerts.len(),
                    true_alerts,
                    unscored,
                    precision: ratio(true_alerts, alerts.len() - unscored),
                    incidents: expected.len(),
                    detected: detected.len(),
                    recall: ratio(detected.len(), expected.len()),
                    mean_detection_secs: mean(&detection),
                    max_detection_secs: detection.iter().copied().reduce(f64::max),
                    mean_reset_secs: mean(&reset),
                    mean_budget_before_firing: mean(&spent),
                    max_budget_before_firing: spent.iter().copied().reduce(f64::max),
                }
            })
            .collect()
    }
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}
