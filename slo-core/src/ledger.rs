//! The alert ledger: the state of every alert the evaluator owns, one per
//! (SLO, instance, tier) plus each SLO's data-absent alert, advanced once
//! per evaluation cycle from [`crate::evaluation`]'s results.
//!
//! A [`Cycle`] takes each SLO's evaluation ([`Cycle::evaluated`]) or its
//! failure ([`Cycle::failed`]) and, at [`Cycle::finish`], sweeps the alerts
//! nobody decided (their SLO, tier or `absent_for` is gone) and forgets
//! those resolved long enough ago. It returns the [`Event`]s of the cycle:
//! each alert's transition, whether it is held on unknown and why, and the
//! notification it owes. The daemon is the loop around it: queries,
//! logging, metrics and delivery.
//!
//! Unknown is held, never resolved ([`crate::alert::Outcome`]): an alert
//! whose SLO's queries failed, whose instance returned nothing, or whose
//! windows lack data keeps its state and `startsAt`. So does an alert whose
//! SLO is no longer loaded while a spec file is invalid (the invalid file
//! may be the one that defines it).
//!
//! ```
//! use std::collections::BTreeMap;
//! use slo_core::evaluation::{self, Part};
//! use slo_core::ledger::Ledger;
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: web
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio: {errors: 'http_requests_total{code=~"5.."}', total: http_requests_total}
//!     alerting:
//!       page: {for: 0s}
//! "#).map_err(|d| d[0].to_string())?;
//! let slo = &spec.slos[0];
//! let answers = |bad: f64| {
//!     let mut a = BTreeMap::new();
//!     for (part, _) in evaluation::queries(slo, false) {
//!         let v = if matches!(part, Part::Bad(_)) { bad } else { 10_000.0 };
//!         a.insert(part, vec![(BTreeMap::new(), v)]);
//!     }
//!     evaluation::assemble(slo, &a)
//! };
//!
//! let mut ledger = Ledger::default();
//! // 5% errors: the page fires at once and owes a notification.
//! let mut cycle = ledger.cycle(60_000);
//! cycle.evaluated(slo, &answers(500.0));
//! let report = cycle.finish(false, 15 * 60_000);
//! let page = report.events.iter().find(|e| e.subject.tier == "page").ok_or("no page")?;
//! assert!(page.next.is_firing() && page.notify.is_some());
//!
//! // Prometheus is down next cycle: every alert is held as it is (the
//! // page firing, the ticket pending), none resolved.
//! let mut cycle = ledger.cycle(120_000);
//! cycle.failed(slo);
//! let report = cycle.finish(false, 15 * 60_000);
//! assert!(report.events.iter().all(|e| e.held.is_some() && e.next == e.prev));
//! assert!(ledger.records().any(|(_, r)| r.state.is_firing()));
//! # Ok::<(), String>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::alert::{AlertState, Outcome};
use crate::evaluation::InstanceResult;
use crate::instance::{self, Instance};
use crate::policy::Severity;
use crate::rules::{self, AlertingRule, Naming};
use crate::spec::{Labels, Slo};
use crate::template;
use crate::time::Timestamp;

/// Why an alert of an SLO whose queries failed is held.
pub const QUERIES_FAILED: &str = "the SLO's queries failed";
/// Why an alert whose instance returned nothing this cycle is held.
pub const NO_INSTANCE: &str = "no data for the instance";
/// Why an alert whose windows lack data is held.
pub const NO_WINDOW: &str = "a window it needs has no data (no series, or NaN)";
/// Why a data-absent alert cannot decide.
pub const NO_POLICY_WINDOW: &str = "the policy reads no window";
/// Why an alert whose SLO is not loaded is held.
pub const UNLOADED: &str = "its SLO is not loaded while a spec file is invalid";

/// One alert: its labels and annotations as last sent, and its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// The alert's labels, as last sent.
    pub labels: Labels,
    /// Its annotations, as last sent.
    pub annotations: Labels,
    /// Where the state machine is.
    pub state: AlertState,
    /// The instance's labels (its `group_by` values; empty when ungrouped,
    /// for the absent alert, and in state files from before they were kept).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub instance: Labels,
}

/// Every alert's record, by key (`service/slo{instance}/tier`, or
/// `service/slo/absent`). Serialises as that map alone (the daemon's state
/// file); which alerts were held at the last cycle is not persisted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ledger {
    alerts: BTreeMap<String, AlertRecord>,
    /// Keys held on unknown at the last cycle, with why (so a hold is
    /// reported when it starts or its reason changes, not every cycle).
    #[serde(skip)]
    held: BTreeMap<String, String>,
}

impl PartialEq for Ledger {
    fn eq(&self, other: &Self) -> bool {
        self.alerts == other.alerts
    }
}

/// Who an alert is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// The SLO's service.
    pub service: String,
    /// The SLO's name.
    pub slo: String,
    /// The instance's labels, `{k="v"}` (empty when ungrouped or absent).
    pub instance: String,
    /// `page`, `ticket` or `absent`.
    pub tier: String,
    /// Burn rates per window, `5m=14.4 1h=12.1` (empty when unknown).
    pub burn_rates: String,
}

/// What happened to one alert in a cycle.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The alert's key.
    pub key: String,
    /// Who it is about.
    pub subject: Subject,
    /// Its state before the cycle.
    pub prev: AlertState,
    /// Its state after.
    pub next: AlertState,
    /// What the evaluation said.
    pub outcome: Outcome,
    /// Why it is held on unknown now (pending or firing, outcome unknown).
    pub held: Option<String>,
    /// Why it was held at the last cycle, if it was.
    pub was_held: Option<String>,
    /// False when its SLO or tier is no longer configured (swept).
    pub configured: bool,
    /// The record to notify: it started firing or resolved this cycle.
    pub notify: Option<AlertRecord>,
}

/// An alert decided or held this cycle, for the state metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked {
    /// The SLO's service.
    pub service: String,
    /// The SLO's name.
    pub slo: String,
    /// The instance's labels (empty for the absent alert).
    pub instance: Instance,
    /// `page`, `ticket` or `absent`.
    pub tier: String,
    /// Its state after the cycle.
    pub state: AlertState,
}

/// What a cycle did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CycleReport {
    /// Every alert stepped, held or swept, in the order decided.
    pub events: Vec<Event>,
    /// The alerts of loaded SLOs decided or held this cycle, by key.
    pub tracked: BTreeMap<String, Tracked>,
    /// How many alerts are held on unknown.
    pub held: usize,
}

/// `service/slo`: an SLO's id in alert keys.
pub fn slo_id(slo: &Slo) -> String {
    format!("{}/{}", slo.service, slo.name)
}

/// The key of the SLO's data-absent alert (one per SLO).
pub fn absent_key(slo: &Slo) -> String {
    format!("{}/{}/absent", slo.service, slo.name)
}

/// The key of the alert of `instance`'s tier `severity`.
pub fn alert_key(slo: &Slo, instance: &Instance, severity: Severity) -> String {
    format!(
        "{}/{severity}",
        instance::key(&slo.service, &slo.name, instance)
    )
}

/// The SLO id, instance (`{...}`, empty when ungrouped or absent) and tier
/// (`page`, `ticket`, `absent`) of an alert key. Names hold no `{`; the
/// tier is after the last `/`.
pub fn split_key(key: &str) -> (&str, &str, &str) {
    let (head, tier) = key.rsplit_once('/').unwrap_or((key, ""));
    match head.find('{') {
        Some(i) => (&head[..i], head[i..].trim_start_matches("{}"), tier),
        None => (head, "", tier),
    }
}

/// The data-absent alert of `slo` as the generated rules define it (name
/// `<alert>Absent`, the SLO's labels and the ticket tier's alert labels,
/// the same annotations), with its labels and annotations rendered. `None`
/// without `absent_for`.
pub fn absent_rule(slo: &Slo) -> Option<(AlertingRule, Labels, Labels)> {
    let rule = rules::absent_alert(slo, Naming::Native)?;
    let labels = template::labels(&rule, &Labels::new());
    let annotations = template::annotations(&rule, &labels, 1.0);
    Some((rule, labels, annotations))
}

/// The absent alert's condition: not firing as soon as some instance has a
/// measurement in the policy's shortest window (the series exists, traffic
/// or not), firing when none has. A policy that reads no window cannot
/// tell: unknown.
pub fn absent_outcome(slo: &Slo, instances: &[InstanceResult]) -> Outcome {
    let Some(shortest) = slo.policy.windows().first().map(ToString::to_string) else {
        return Outcome::Unknown;
    };
    if instances
        .iter()
        .any(|i| i.windows.iter().any(|(w, _)| *w == shortest))
    {
        Outcome::NotFiring
    } else {
        Outcome::Firing
    }
}

/// Burn rates of `inst` in window order, `5m=14.4 1h=12.1`, for logs.
pub fn burn_rates(slo: &Slo, inst: &InstanceResult) -> String {
    slo.policy
        .windows()
        .iter()
        .filter_map(|w| {
            let name = w.to_string();
            let (_, v) = inst.windows.iter().find(|(n, _)| *n == name)?;
            Some(format!(
                "{w}={}",
                crate::num::format(crate::num::round_sig(v.burn_rate, 4))
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Ledger {
    /// Every alert's record, by key.
    pub fn records(&self) -> impl Iterator<Item = (&str, &AlertRecord)> {
        self.alerts.iter().map(|(k, r)| (k.as_str(), r))
    }

    /// The record of `key`.
    pub fn get(&self, key: &str) -> Option<&AlertRecord> {
        self.alerts.get(key)
    }

    /// Records `record` under `key` (restoring or importing state), and
    /// returns the record it replaces.
    pub fn insert(&mut self, key: String, record: AlertRecord) -> Option<AlertRecord> {
        self.alerts.insert(key, record)
    }

    /// Number of alerts recorded.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// True when no alert is recorded.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Starts a cycle evaluated at `now` (Unix milliseconds; cycles must
    /// come in time order).
    pub fn cycle(&mut self, now: Timestamp) -> Cycle<'_> {
        Cycle {
            ledger: self,
            now,
            seen: BTreeSet::new(),
            held: BTreeMap::new(),
            report: CycleReport::default(),
        }
    }

    /// The SLO's instance alerts (keys are sorted by SLO id first).
    fn instance_keys(&self, id: &str) -> Vec<String> {
        let prefix = format!("{id}{{");
        self.alerts
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .cloned()
            .collect()
    }
}

/// One evaluation cycle over the ledger; see the module documentation.
#[derive(Debug)]
pub struct Cycle<'a> {
    ledger: &'a mut Ledger,
    now: Timestamp,
    seen: BTreeSet<String>,
    held: BTreeMap<String, String>,
    report: CycleReport,
}

/// One evaluation of one alert.
struct Step {
    key: String,
    labels: Labels,
    annotations: Labels,
    /// Replace the recorded annotations (else only a new record takes them).
    refresh_annotations: bool,
    outcome: Outcome,
    hold_for: Option<crate::duration::Duration>,
    subject: Subject,
    instance: Instance,
    why: &'static str,
}

impl Cycle<'_> {
    /// Advances the alerts of `slo` from its evaluated instances: each
    /// tier's alert of each instance, the data-absent alert, and (held)
    /// the alerts of instances that returned nothing this time.
    pub fn evaluated(&mut self, slo: &Slo, instances: &[InstanceResult]) {
        let tiers: Vec<(Severity, AlertingRule)> = [Severity::Page, Severity::Ticket]
            .into_iter()
            .filter_map(|s| Some((s, rules::tier_alert(slo, Naming::Native, s)?)))
            .collect();
        let budget = slo.budget();
        for inst in instances {
            let burn_rates = burn_rates(slo, inst);
            for tier in &inst.alerts {
                let Some((_, rule)) = tiers.iter().find(|(s, _)| *s == tier.severity) else {
                    continue;
                };
                let labels = template::labels(rule, &inst.labels);
                // $value: the highest long-window burn rate among firing
                // pairs, as the rules' alert expression yields.
                let value = tier
                    .pairs
                    .iter()
                    .filter(|p| p.decision.firing)
                    .filter_map(|p| p.decision.long.map(|m| budget.burn_rate(m.error_ratio)))
                    .fold(0.0, f64::max);
                let annotations = template::annotations(rule, &labels, value);
                let outcome = inst.decision.outcome(tier.severity);
                self.step(Step {
                    key: alert_key(slo, &inst.labels, tier.severity),
                    labels,
                    // Keep the annotations of the last firing evaluation.
                    annotations,
                    refresh_annotations: outcome == Outcome::Firing,
                    outcome,
                    hold_for: slo.alerting.tier(tier.severity).for_,
                    subject: Subject {
                        service: slo.service.clone(),
                        slo: slo.name.clone(),
                        instance: instance::braces(&inst.labels),
                        tier: tier.severity.to_string(),
                        burn_rates: burn_rates.clone(),
                    },
                    instance: inst.labels.clone(),
                    why: NO_WINDOW,
                });
            }
        }
        if let Some((_, labels, annotations)) = absent_rule(slo) {
            self.step(Step {
                key: absent_key(slo),
                labels,
                annotations,
                refresh_annotations: true,
                outcome: absent_outcome(slo, instances),
                hold_for: slo.alerting.absent_for,
                subject: Subject {
                    service: slo.service.clone(),
                    slo: slo.name.clone(),
                    tier: "absent".to_owned(),
                    ..Subject::default()
                },
                instance: Instance::new(),
                why: NO_POLICY_WINDOW,
            });
        }
        // An instance that returned nothing at all: unknown, held (while
        // its tier exists; else it is swept at the end).
        for key in self.ledger.instance_keys(&slo_id(slo)) {
            let tier = split_key(&key).2;
            let enabled = tiers.iter().any(|(s, _)| s.to_string() == tier);
            if enabled && !self.seen.contains(&key) {
                self.hold(slo, &key, NO_INSTANCE);
            }
        }
    }

    /// Holds every alert of `slo` as it is: its queries failed.
    pub fn failed(&mut self, slo: &Slo) {
        let mut keys = self.ledger.instance_keys(&slo_id(slo));
        let absent = absent_key(slo);
        if self.ledger.alerts.contains_key(&absent) {
            keys.push(absent);
        }
        for key in keys {
            self.hold(slo, &key, QUERIES_FAILED);
        }
    }

    /// Forgets the alerts of the SLO `service/slo` without resolving them:
    /// another evaluator owns it now (a re-sharded fleet). Alertmanager
    /// keeps them until their `endsAt`, unless the new owner's resends keep
    /// them firing: no resolve-then-fire flap at the hand-over.
    pub fn handed_over(&mut self, service: &str, slo: &str) {
        let id = format!("{service}/{slo}");
        let mut keys = self.ledger.instance_keys(&id);
        keys.push(format!("{id}/absent"));
        for k in keys {
            self.ledger.alerts.remove(&k);
            self.ledger.held.remove(&k);
        }
    }

    /// Ends the cycle: the alerts not decided this cycle (SLO removed, tier
    /// disabled, `absent_for` unset) resolve, or with `hold_unconfigured`
    /// (a spec file is invalid) are held; records inactive or resolved for
    /// `keep_resolved` milliseconds or more are forgotten.
    pub fn finish(mut self, hold_unconfigured: bool, keep_resolved: i64) -> CycleReport {
        let stale: Vec<String> = self
            .ledger
            .alerts
            .keys()
            .filter(|k| !self.seen.contains(*k))
            .cloned()
            .collect();
        for key in stale {
            let Some(rec) = self.ledger.alerts.get_mut(&key) else {
                continue;
            };
            let (id, instance, tier) = split_key(&key);
            let (service, slo) = id.split_once('/').unwrap_or((id, ""));
            let subject = Subject {
                service: service.to_owned(),
                slo: slo.to_owned(),
                instance: instance.to_owned(),
                tier: tier.to_owned(),
                burn_rates: String::new(),
            };
            let was_held = self.ledger.held.get(&key).cloned();
            let prev = rec.state;
            if hold_unconfigured {
                let live = matches!(prev, AlertState::Pending { .. } | AlertState::Firing { .. });
                if live {
                    self.held.insert(key.clone(), UNLOADED.to_owned());
                    self.report.events.push(Event {
                        key,
                        subject,
                        prev,
                        next: prev,
                        outcome: Outcome::Unknown,
                        held: Some(UNLOADED.to_owned()),
                        was_held,
                        configured: false,
                        notify: None,
                    });
                }
                continue;
            }
            rec.state = prev.next(false, None, self.now);
            let notify = notification(prev, rec);
            self.report.events.push(Event {
                key,
                subject,
                prev,
                next: rec.state,
                outcome: Outcome::NotFiring,
                held: None,
                was_held,
                configured: false,
                notify,
            });
        }
        let now = self.now;
        self.ledger.alerts.retain(|_, r| match r.state {
            AlertState::Inactive => false,
            AlertState::Resolved { resolved_at, .. } => now - resolved_at < keep_resolved,
            _ => true,
        });
        self.report.held = self.held.len();
        self.ledger.held = self.held;
        self.report
    }

    /// Advances one alert by `step`.
    fn step(&mut self, step: Step) {
        let Step {
            key,
            labels,
            annotations,
            refresh_annotations,
            outcome,
            hold_for,
            subject,
            instance,
            why,
        } = step;
        self.seen.insert(key.clone());
        let rec = self
            .ledger
            .alerts
            .entry(key.clone())
            .or_insert_with(|| AlertRecord {
                labels: labels.clone(),
                annotations: annotations.clone(),
                state: AlertState::Inactive,
                instance: Labels::new(),
            });
        rec.instance.clone_from(&instance);
        let prev = rec.state;
        rec.state = prev.step(outcome, hold_for, self.now);
        rec.labels = labels;
        if refresh_annotations {
            rec.annotations = annotations;
        }
        let next = rec.state;
        let notify = notification(prev, rec);
        self.record(key, subject, instance, prev, next, outcome, why, notify);
    }

    /// Holds `key` as it is: its condition is unknown, `why`.
    fn hold(&mut self, slo: &Slo, key: &str, why: &'static str) {
        self.seen.insert(key.to_owned());
        let Some(rec) = self.ledger.alerts.get(key) else {
            return;
        };
        let state = rec.state;
        // Known from the record only (a restart while Prometheus is down):
        // the instance's labels are on the alert.
        let instance = instance::of(slo.group_by(), |l| rec.labels.get(l).map(String::as_str));
        let (_, braces, tier) = split_key(key);
        let subject = Subject {
            service: slo.service.clone(),
            slo: slo.name.clone(),
            instance: braces.to_owned(),
            tier: tier.to_owned(),
            burn_rates: String::new(),
        };
        self.record(
            key.to_owned(),
            subject,
            instance,
            state,
            state,
            Outcome::Unknown,
            why,
            None,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        key: String,
        subject: Subject,
        instance: Instance,
        prev: AlertState,
        next: AlertState,
        outcome: Outcome,
        why: &'static str,
        notify: Option<AlertRecord>,
    ) {
        let live = matches!(next, AlertState::Pending { .. } | AlertState::Firing { .. });
        let held = (outcome == Outcome::Unknown && live).then(|| why.to_owned());
        if let Some(h) = &held {
            self.held.insert(key.clone(), h.clone());
        }
        self.report.tracked.insert(
            key.clone(),
            Tracked {
                service: subject.service.clone(),
                slo: subject.slo.clone(),
                instance,
                tier: subject.tier.clone(),
                state: next,
            },
        );
        let was_held = self.ledger.held.get(&key).cloned();
        self.report.events.push(Event {
            key,
            subject,
            prev,
            next,
            outcome,
            held,
            was_held,
            configured: true,
            notify,
        });
    }
}

/// The record to notify when the alert started firing or resolved.
fn notification(prev: AlertState, rec: &AlertRecord) -> Option<AlertRecord> {
    let fired = !prev.is_firing() && rec.state.is_firing();
    let resolved = prev.is_firing() && matches!(rec.state, AlertState::Resolved { .. });
    (fired || resolved).then(|| rec.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::{self, Answers, Part};

    const KEEP: i64 = 15 * 60_000;

    fn slo(yaml_alerting: &str) -> Slo {
        let yaml = format!(
            "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {{errors: 'x{{code=\"5\"}}', total: x, group_by: [route]}}\n    alerting:\n{yaml_alerting}"
        );
        let spec = crate::load::load_str(&yaml).unwrap_or_else(|d| panic!("{d:?}"));
        spec.slos[0].clone()
    }

    /// Every window measures `bad` of 10,000 events, for each route given.
    fn evaluate(slo: &Slo, routes: &[&str], bad: f64) -> Vec<InstanceResult> {
        let mut answers = Answers::new();
        for (part, _) in evaluation::queries(slo, false) {
            let v = if matches!(part, Part::Bad(_)) {
                bad
            } else {
                1e4
            };
            let samples = routes
                .iter()
                .map(|r| (Labels::from([("route".to_owned(), (*r).to_owned())]), v))
                .collect();
            answers.insert(part, samples);
        }
        evaluation::assemble(slo, &answers)
    }

    fn state(ledger: &Ledger, key: &str) -> AlertState {
        ledger.get(key).map_or(AlertState::Inactive, |r| r.state)
    }

    const PAGE_PAY: &str = "web/a{route=\"/pay\"}/page";

    #[test]
    fn an_instance_that_returns_nothing_is_held_then_resolves_when_its_slo_goes() {
        let slo = slo("      page: {for: 0s}\n");
        let mut ledger = Ledger::default();
        let mut c = ledger.cycle(0);
        c.evaluated(&slo, &evaluate(&slo, &["/pay", "/cart"], 500.0));
        let r = c.finish(false, KEEP);
        assert!(state(&ledger, PAGE_PAY).is_firing());
        let fired: Vec<&str> = r
            .events
            .iter()
            .filter(|e| e.notify.is_some())
            .map(|e| e.key.as_str())
            .collect();
        assert!(fired.contains(&PAGE_PAY), "{fired:?}");
        assert_eq!(r.tracked[PAGE_PAY].instance["route"], "/pay");

        // `/pay` returns nothing: held with its startsAt, reported once.
        let mut c = ledger.cycle(60_000);
        c.evaluated(&slo, &evaluate(&slo, &["/cart"], 500.0));
        let r = c.finish(false, KEEP);
        assert!(state(&ledger, PAGE_PAY).is_firing());
        let held = r.events.iter().find(|e| e.key == PAGE_PAY).expect("held");
        assert_eq!(held.held.as_deref(), Some(NO_INSTANCE));
        assert_eq!(held.was_held, None);
        let mut c = ledger.cycle(120_000);
        c.evaluated(&slo, &evaluate(&slo, &["/cart"], 500.0));
        let r = c.finish(false, KEEP);
        let held = r.events.iter().find(|e| e.key == PAGE_PAY).expect("held");
        assert_eq!(held.was_held.as_deref(), Some(NO_INSTANCE));

        // The SLO is gone while a spec file is invalid: held, not resolved.
        let c = ledger.cycle(180_000);
        let r = c.finish(true, KEEP);
        assert!(state(&ledger, PAGE_PAY).is_firing());
        assert!(r.events.iter().all(|e| e.held.as_deref() == Some(UNLOADED)));
        assert!(r.tracked.is_empty());

        // Gone for good: resolved (and notified), then forgotten after `keep`.
        let c = ledger.cycle(240_000);
        let r = c.finish(false, KEEP);
        let resolved = r.events.iter().find(|e| e.key == PAGE_PAY).expect("swept");
        assert!(!resolved.configured);
        assert!(matches!(
            resolved.notify.as_ref().map(|n| n.state),
            Some(AlertState::Resolved {
                resolved_at: 240_000,
                ..
            })
        ));
        let c = ledger.cycle(240_000 + KEEP);
        c.finish(false, KEEP);
        assert!(ledger.is_empty());
    }

    #[test]
    fn failed_queries_hold_every_alert_and_the_absent_one() {
        let slo = slo("      page: {for: 0s}\n      absent_for: 1m\n");
        let mut ledger = Ledger::default();
        // No series at all: the absent alert is pending, then fires; the
        // tiers have nothing to decide.
        let absent = absent_key(&slo);
        for now in [0, 60_000] {
            let mut c = ledger.cycle(now);
            c.evaluated(&slo, &evaluate(&slo, &[], 0.0));
            c.finish(false, KEEP);
        }
        assert!(state(&ledger, &absent).is_firing());
        let mut c = ledger.cycle(120_000);
        c.failed(&slo);
        let r = c.finish(false, KEEP);
        assert!(state(&ledger, &absent).is_firing());
        assert_eq!(r.held, 1);
        // Data is back: the absent alert resolves.
        let mut c = ledger.cycle(180_000);
        c.evaluated(&slo, &evaluate(&slo, &["/pay"], 0.0));
        let r = c.finish(false, KEEP);
        assert!(matches!(
            state(&ledger, &absent),
            AlertState::Resolved { .. }
        ));
        let e = r.events.iter().find(|e| e.key == absent).expect("absent");
        assert_eq!(e.was_held.as_deref(), Some(QUERIES_FAILED));
        assert!(e.notify.is_some());
    }

    #[test]
    fn value_in_annotations_is_the_firing_long_window_burn_rate() {
        let slo = slo("      page: {for: 0s}\n");
        let mut ledger = Ledger::default();
        let mut c = ledger.cycle(0);
        c.evaluated(&slo, &evaluate(&slo, &["/pay"], 500.0));
        c.finish(false, KEEP);
        let rec = ledger.get(PAGE_PAY).expect("page");
        // 5% errors over a 0.1% budget: burn rate 50.
        assert!(
            rec.annotations.values().any(|v| v.contains("50")),
            "{:?}",
            rec.annotations
        );
        assert_eq!(rec.labels["route"], "/pay");
        assert_eq!(rec.labels["severity"], "page");
    }
}
