//! `slo-eval run`: the alerting daemon.
//!
//! Every interval it evaluates each SLO (incrementally by default, long
//! windows from 5m steps kept in memory: [`crate::incremental`]; or
//! directly, [`crate::evaluate`]),
//! advances each alert's state machine ([`slo_core::alert::AlertState`]),
//! and delivers:
//!
//! - to **Alertmanager**, every firing alert, resent on its own clock with
//!   `endsAt = now + 4 x max(resend interval, interval)`, and each resolved
//!   alert for 15 minutes after it resolved, as Prometheus does (so a lost
//!   request is repaired by the next one, and alerts expire if the daemon
//!   dies);
//! - to **webhooks**, each change once (firing, then resolved), through a
//!   persisted queue: a notification stays queued until a receiver took it
//!   or rejected it.
//!
//! Delivery runs in tasks of its own ([`crate::delivery`]): a hung receiver
//! never delays evaluation or the other receivers. State (alerts and
//! queues) is saved atomically after every cycle, before new notifications
//! are handed to delivery, so a restart neither re-pages what was delivered
//! nor forgets a resolve it owes; a failed save is logged and counted, and
//! delivery goes on. An alert whose condition is unknown (the SLO's queries
//! fail, a window it needs has no data or NaN, its instance returned
//! nothing) is held as it is ([`slo_core::alert::Outcome`]): no spurious
//! resolve, no spurious page, `startsAt` kept; the loop goes on. Every
//! transition is logged. SIGTERM/SIGINT stop after saving; SIGHUP reloads
//! the specs file by file ([`crate::daemon_specs`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use jiff::Timestamp;
use slo_core::evaluation::InstanceResult;
use slo_core::ledger::{Tracked, slo_id, split_key};
use slo_core::shard::Shard;
use slo_core::spec::{Slo, Spec};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Evaluation};
use crate::daemon_alerts::{self as alerts, slo_labels, state_code};
use crate::daemon_specs::{self, Loaded};
use crate::delivery::{CycleClock, Delivery, Settings};
use crate::errors::Error;
use crate::incremental::{self, Incremental};
use crate::notify::{Alert, Notifier};
use crate::prometheus::{Client, Endpoint};
use crate::report::Reporter;
use crate::server::{Degraded, LabelSet, Metrics, SeriesLabels};
use crate::state::State;
use crate::{evaluate, serve};

/// How long resolved alerts are resent to Alertmanager.
const RESOLVED_RESEND: StdDuration = StdDuration::from_secs(15 * 60);
/// How often the budget over the whole period is re-queried: it moves
/// slowly, and its two queries read the whole period.
const PERIOD_REFRESH: StdDuration = StdDuration::from_secs(5 * 60);

/// The running daemon.
#[derive(Debug)]
pub struct Daemon {
    config: Config,
    client: Arc<Client>,
    notifier: Notifier,
    delivery: Delivery,
    specs: Arc<Vec<Arc<Spec>>>,
    state: State,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    /// What `/readyz` reports as degraded (invalid spec files).
    degraded: Degraded,
    /// The spec files in use and the broken ones.
    loaded: Loaded,
    /// This daemon's share of the SLOs.
    shard: Shard,
    /// The loaded SLOs other shards own (`service`, `slo`): alerts this
    /// daemon has for them (from before a re-sharding) are handed over.
    elsewhere: Vec<(String, String)>,
    /// Budget left per alert-key prefix (SLO instance), between refreshes.
    period_cache: BTreeMap<String, Option<f64>>,
    last_period: Option<Instant>,
    /// `slo_eval_alert_state` series by alert key: labels and code.
    alert_series: BTreeMap<String, (LabelSet, i64)>,
    /// Burn-rate, error-ratio and budget series written per SLO
    /// (`service/slo`): those not written again when the SLO is next
    /// evaluated are removed, and all of them with the SLO.
    slo_series: BTreeMap<String, Vec<SeriesLabels>>,
    /// Window labels, one string per window for all series.
    window_labels: BTreeMap<String, Arc<str>>,
    /// SLOs (`service/slo`) whose last evaluation measured nothing (to log
    /// changes once).
    no_data: BTreeSet<String>,
    /// Where replays for the UI read history.
    endpoint: Endpoint,
    /// The web UI served next to `/metrics`, fed by each cycle.
    ui: serve::Live,
    /// The steps of incremental evaluation (`None`: direct).
    steps: Option<Incremental>,
    /// Each tier's decision in the last cycle.
    decisions: Vec<TierDecision>,
}

/// One tier's decision in a cycle (before `for`), for tests and tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierDecision {
    /// The service.
    pub service: String,
    /// The SLO.
    pub slo: String,
    /// The instance's labels.
    pub instance: slo_core::instance::Instance,
    /// The tier.
    pub severity: slo_core::policy::Severity,
    /// Whether any of its pairs fires.
    pub firing: bool,
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

impl Daemon {
    /// Builds the daemon from a configuration: reads secrets, specs and the
    /// state file, and starts delivery (inside a tokio runtime).
    pub fn new(config: Config) -> Result<Self, Error> {
        let endpoint = config.endpoint()?;
        let client = Arc::new(Client::new(&endpoint)?);
        let notifier = Notifier::new(
            config.notify.retries,
            StdDuration::from_millis(200),
            config.external_url.clone(),
        );
        let targets = config.targets()?;
        let config_shard = config
            .shard()
            .map_err(|e| Error::Config(format!("shard: {e}")))?;
        let loaded = daemon_specs::load(&config.specs, None, &mut Reporter::stderr())?;
        if config.strict && !loaded.broken.is_empty() {
            return Err(Error::InvalidSpecs {
                files: loaded.broken.len(),
                errors: loaded.broken.iter().map(|b| b.errors).sum(),
            });
        }
        let state = State::load(&config.state_file)?;
        let steps = (config.evaluation == Evaluation::Incremental)
            .then(|| Incremental::load(&incremental::steps_file(&config.state_file)));
        let interval = config.interval.to_std();
        let resend_every = config.resend_interval();
        // A cycle may legitimately take its queries' timeout; three
        // intervals more without one completing is a stall.
        let clock = Arc::new(CycleClock::new(interval * 3 + endpoint.timeout));
        let delivery = Delivery::start(
            notifier.clone(),
            targets,
            state.outbox.clone(),
            Settings {
                resend_every,
                hold: resend_every.max(interval) * 4,
            },
            clock,
        );
        let mut daemon = Self {
            config,
            client,
            notifier,
            delivery,
            specs: Arc::default(),
            state,
            metrics: Arc::new(Metrics::default()),
            ready: Arc::new(AtomicBool::new(false)),
            degraded: Degraded::default(),
            loaded: Loaded::default(),
            shard: config_shard,
            elsewhere: Vec::new(),
            period_cache: BTreeMap::new(),
            last_period: None,
            no_data: BTreeSet::new(),
            alert_series: BTreeMap::new(),
            slo_series: BTreeMap::new(),
            window_labels: BTreeMap::new(),
            endpoint,
            ui: serve::Live::default(),
            steps,
            decisions: Vec::new(),
        };
        daemon.use_specs(loaded);
        // The alerts firing when the daemon stopped are resent from the
        // start, so a slow first cycle does not let them expire.
        daemon.delivery.publish(daemon.active_alerts());
        Ok(daemon)
    }

    /// Puts `loaded` in use and reports its broken files in `/metrics` and
    /// `/readyz`.
    fn use_specs(&mut self, loaded: Loaded) {
        let total: usize = loaded.files.values().map(|s| s.slos.len()).sum();
        let mut elsewhere = Vec::new();
        // Each file's SLOs this shard owns: the loaded spec itself when it
        // owns them all (no copy), else a copy holding those it owns.
        let mine: Vec<(PathBuf, Arc<Spec>)> = loaded
            .files
            .iter()
            .map(|(path, spec)| {
                let owns = |slo: &Slo| self.shard.owns(&slo.service, &slo.name);
                elsewhere.extend(
                    spec.slos
                        .iter()
                        .filter(|slo| !owns(slo))
                        .map(|slo| (slo.service.clone(), slo.name.clone())),
                );
                if spec.slos.iter().all(owns) {
                    return (path.clone(), Arc::clone(spec));
                }
                let mut part = Spec::clone(spec);
                part.slos.retain(owns);
                (path.clone(), Arc::new(part))
            })
            .collect();
        let specs: Vec<Arc<Spec>> = mine.iter().map(|(_, s)| Arc::clone(s)).collect();
        self.elsewhere = elsewhere;
        let owned: usize = specs.iter().map(|s| s.slos.len()).sum();
        if self.shard.count() > 1 {
            tracing::info!(
                shard = self.shard.index(),
                shards = self.shard.count(),
                slos = owned,
                loaded = total,
                "evaluating this shard's SLOs"
            );
        }
        self.metrics.slos.clear();
        self.metrics
            .slos
            .get_or_create(&vec![
                ("shard".to_owned(), self.shard.index().to_string()),
                ("shards".to_owned(), self.shard.count().to_string()),
            ])
            .set(owned as i64);
        self.specs = Arc::new(specs);
        self.ui_load(&loaded, mine);
        self.metrics
            .spec_files_invalid
            .set(loaded.broken.len() as i64);
        self.metrics.spec_file_invalid.clear();
        let mut lines = Vec::new();
        for b in &loaded.broken {
            self.metrics
                .spec_file_invalid
                .get_or_create(&vec![("file".to_owned(), b.path.display().to_string())])
                .set(1);
            lines.push(format!(
                "invalid spec file ({}): {}",
                if b.kept_previous {
                    "its previous version is in use"
                } else {
                    "its SLOs are not evaluated"
                },
                b.error
            ));
        }
        if let Ok(mut d) = self.degraded.write() {
            *d = lines;
        }
        self.loaded = loaded;
    }

    /// Puts this daemon's SLOs of `loaded` (`mine`: its shard's, by file)
    /// on the UI.
    fn ui_load(&self, loaded: &Loaded, mine: Vec<(PathBuf, Arc<Spec>)>) {
        let files = mine
            .into_iter()
            .filter(|(_, spec)| !spec.slos.is_empty())
            .map(|(path, spec)| {
                let (source, places) = loaded.sources.get(&path).cloned().unwrap_or_default();
                serve::LoadedFile {
                    path,
                    source,
                    spec,
                    places,
                }
            })
            .collect();
        self.ui
            .load(files, &self.endpoint, Arc::clone(&self.client));
    }

    /// Shows this cycle on the UI: its decisions (budgets between period
    /// refreshes from the cache, as `/metrics` has them) and the ledger's
    /// alert states. Takes the outcomes: the UI keeps them, not a copy.
    fn ui_publish(&self, now: Timestamp, outcomes: Vec<evaluate::SloOutcome<'_>>) {
        let results = outcomes
            .into_iter()
            .map(|o| {
                let slo = o.slo;
                let result = match o.result {
                    Ok(mut instances) => {
                        for inst in &mut instances {
                            if inst.budget_remaining.is_none() {
                                let ikey =
                                    slo_core::instance::key(&slo.service, &slo.name, &inst.labels);
                                inst.budget_remaining =
                                    self.period_cache.get(&ikey).copied().flatten();
                            }
                        }
                        Ok(instances)
                    }
                    Err(e) => Err(e.to_string()),
                };
                ((slo.service.clone(), slo.name.clone()), result)
            })
            .collect();
        let states = self
            .state
            .alerts
            .records()
            .map(|(k, r)| (k.to_owned(), r.state))
            .collect();
        self.ui.publish(millis(now), results, states);
    }

    /// Reloads the specs file by file: a file that became invalid keeps
    /// its previous version. With `strict`, any invalid file keeps every
    /// spec in use; a missing folder does too.
    pub fn reload(&mut self) {
        match daemon_specs::load(
            &self.config.specs,
            Some(&self.loaded),
            &mut Reporter::stderr(),
        ) {
            Ok(loaded) if self.config.strict && !loaded.broken.is_empty() => {
                self.metrics.reload_failures.inc();
                tracing::error!(
                    invalid_files = loaded.broken.len(),
                    "spec reload refused (strict); keeping the specs in use"
                );
            }
            Ok(loaded) => {
                if !loaded.broken.is_empty() {
                    self.metrics.reload_failures.inc();
                }
                let n: usize = loaded.files.values().map(|s| s.slos.len()).sum();
                tracing::info!(
                    slos = n,
                    invalid_files = loaded.broken.len(),
                    "specs reloaded"
                );
                self.use_specs(loaded);
            }
            Err(e) => {
                self.metrics.reload_failures.inc();
                tracing::error!(error = %e, "spec reload failed; keeping the specs in use");
            }
        }
    }

    /// One evaluation and delivery cycle at `now`: the queries, then the
    /// ledger's cycle ([`slo_core::ledger`]), then logs, metrics and
    /// delivery of what it decided.
    pub async fn cycle(&mut self, now: Timestamp) -> Result<(), Error> {
        let started = Instant::now();
        let specs = Arc::clone(&self.specs);
        let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
        let with_period = self
            .last_period
            .is_none_or(|t| t.elapsed() >= PERIOD_REFRESH);
        let batching = evaluate::Batching {
            queries: self.config.prometheus.batch_size,
            share: self.config.prometheus.share_queries,
            ..evaluate::Batching::default()
        };
        let concurrency = self.config.prometheus.concurrency;
        let evaluated = match self.steps.as_mut() {
            Some(steps) => {
                steps
                    .evaluate(
                        &self.client,
                        &slos,
                        millis(now),
                        concurrency,
                        batching,
                        with_period,
                    )
                    .await
            }
            None => {
                evaluate::evaluate_batched(
                    &self.client,
                    &slos,
                    Some(millis(now) as f64 / 1000.0),
                    concurrency,
                    with_period,
                    batching,
                )
                .await
            }
        };
        let outcomes = evaluated.outcomes;
        if with_period {
            self.last_period = Some(Instant::now());
        }
        let now_ms = millis(now);
        let mut cycle = self.state.alerts.cycle(now_ms);
        for (service, slo) in &self.elsewhere {
            cycle.handed_over(service, slo);
        }
        for outcome in &outcomes {
            match &outcome.result {
                Err(_) => cycle.failed(outcome.slo),
                Ok(instances) => cycle.evaluated(outcome.slo, instances),
            }
        }
        // An invalid spec file may be the one defining the alerts nobody
        // decided: they are held rather than resolved.
        let report = cycle.finish(
            !self.loaded.broken.is_empty(),
            RESOLVED_RESEND.as_millis() as i64,
        );
        // SLOs whose metric series keep their last values (failed queries).
        let mut kept: BTreeSet<String> = BTreeSet::new();
        self.decisions.clear();
        for outcome in &outcomes {
            let slo = outcome.slo;
            let id = slo_id(slo);
            match &outcome.result {
                Err(e) => {
                    tracing::warn!(service = %slo.service, slo = %slo.name, error = %e, "evaluation failed; alerts held");
                    self.metrics.failures.get_or_create(&slo_labels(slo)).inc();
                    kept.insert(id);
                }
                Ok(instances) => {
                    // Tracked even without instances, to be removed with the SLO.
                    let before = self.slo_series.insert(id.clone(), Vec::new());
                    // Steps give the period every cycle.
                    let period =
                        with_period || (self.steps.is_some() && slo_core::steps::applies(slo));
                    for inst in instances {
                        self.write_series(slo, inst, period);
                    }
                    // Series written again were updated in place (a scrape
                    // meanwhile never misses them); the others are gone.
                    let written: HashSet<&SeriesLabels> = self.slo_series[&id].iter().collect();
                    for l in before.iter().flatten().filter(|l| !written.contains(l)) {
                        self.metrics.remove_series(l);
                    }
                    self.decisions.extend(instances.iter().flat_map(|i| {
                        i.alerts.iter().map(|t| TierDecision {
                            service: i.service.clone(),
                            slo: i.slo.clone(),
                            instance: i.labels.clone(),
                            severity: t.severity,
                            firing: t.firing,
                        })
                    }));
                    self.note_no_data(slo, instances);
                    self.metrics
                        .last_evaluation
                        .get_or_create(&slo_labels(slo))
                        .set(millis(now) as f64 / 1000.0);
                }
            }
        }
        let mut changes: Vec<Alert> = Vec::new();
        for event in &report.events {
            alerts::log(event);
            if let Some(rec) = &event.notify {
                changes.extend(alerts::notification(
                    event.prev,
                    rec,
                    now_ms,
                    &self.config.external_url,
                ));
            }
        }
        for (key, t) in &report.tracked {
            let mut l = vec![
                ("slo_service".to_owned(), t.service.clone()),
                ("slo".to_owned(), t.slo.clone()),
            ];
            l.extend(t.instance.iter().map(|(k, v)| (k.clone(), v.clone())));
            l.push(("tier".to_owned(), t.tier.clone()));
            self.alert_series
                .insert(key.clone(), (l, state_code(t.state)));
        }
        self.publish(&report.tracked, &kept);
        self.ui_publish(now, outcomes);
        self.metrics.alerts_held.set(report.held as i64);
        self.hand_over(changes);
        self.save_steps();
        self.metrics.cycles.inc();
        self.metrics.cycle_queries.set(evaluated.queries as i64);
        self.metrics.cycle_requests.set(evaluated.requests as i64);
        self.metrics
            .cycle_seconds
            .set(started.elapsed().as_secs_f64());
        self.ready.store(true, Ordering::Relaxed);
        self.delivery.clock.completed(Timestamp::now());
        Ok(())
    }

    /// Each tier's decision in the last cycle (SLOs whose queries failed
    /// are absent).
    pub fn decisions(&self) -> &[TierDecision] {
        &self.decisions
    }

    /// What the daemon exports.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Saves the steps when they changed, and exports what they hold; a
    /// failure is logged and counted, never fatal (a restart refills).
    fn save_steps(&mut self) {
        let Some(steps) = self.steps.as_mut() else {
            return;
        };
        let stats = steps.stats();
        self.metrics.steps_missing.set(stats.missing as i64);
        self.metrics.steps_bytes.set(stats.bytes as i64);
        let path = incremental::steps_file(&self.config.state_file);
        if let Err(e) = steps.save(&path) {
            self.delivery.metrics.state_save_failures.inc();
            tracing::error!(error = %e, "cannot save the steps; evaluation goes on");
        }
    }

    /// Removes the burn-rate, error-ratio and budget series last written
    /// for the SLO `id`.
    fn forget_series(&mut self, id: &str) {
        for l in self.slo_series.remove(id).unwrap_or_default() {
            self.metrics.remove_series(&l);
        }
    }

    /// Writes `slo_eval_alert_state` for the alerts decided or held this
    /// cycle (and those of SLOs whose queries failed: last known values),
    /// and drops the series of SLOs no longer configured.
    fn publish(&mut self, seen: &BTreeMap<String, Tracked>, kept: &BTreeSet<String>) {
        let ids: BTreeSet<String> = self
            .specs
            .iter()
            .flat_map(|s| &s.slos)
            .map(slo_id)
            .collect();
        self.alert_series.retain(|k, _| {
            let id = split_key(k).0;
            ids.contains(id) && (seen.contains_key(k) || kept.contains(id))
        });
        self.metrics.alert_state.clear();
        for (l, code) in self.alert_series.values() {
            self.metrics.alert_state.get_or_create(l).set(*code as f64);
        }
        let gone: Vec<String> = self
            .slo_series
            .keys()
            .filter(|id| !ids.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            self.forget_series(&id);
            if let Some((service, name)) = id.split_once('/') {
                let labels = vec![
                    ("slo_service".to_owned(), service.to_owned()),
                    ("slo".to_owned(), name.to_owned()),
                ];
                self.metrics.last_evaluation.remove(&labels);
                self.metrics.slo_no_data.remove(&labels);
            }
            self.no_data.remove(&id);
        }
    }

    /// No window measured in any instance (or no instance): the SLO's
    /// alerts cannot fire. Without `absent_for` nothing else would say so,
    /// so it is logged when it starts and ends, and exported.
    fn note_no_data(&mut self, slo: &Slo, instances: &[InstanceResult]) {
        let id = slo_id(slo);
        let none = instances.iter().all(|i| i.windows.is_empty());
        self.metrics
            .slo_no_data
            .get_or_create(&slo_labels(slo))
            .set(i64::from(none));
        if none && self.no_data.insert(id.clone()) {
            tracing::warn!(service = %slo.service, slo = %slo.name, "no data in any window (no series matched, or no traffic): its alerts cannot fire");
        } else if !none && self.no_data.remove(&id) {
            tracing::info!(service = %slo.service, slo = %slo.name, "data is back");
        }
    }

    /// Writes the burn-rate and error-ratio series of `inst`'s windows and
    /// its budget left (re-queried every [`PERIOD_REFRESH`], cached between).
    fn write_series(&mut self, slo: &Slo, inst: &InstanceResult, with_period: bool) {
        let ikey = slo_core::instance::key(&slo.service, &slo.name, &inst.labels);
        let mut base: LabelSet = slo_labels(slo);
        base.extend(inst.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let base = Arc::new(base);
        let written = self.slo_series.entry(slo_id(slo)).or_default();
        for (w, v) in &inst.windows {
            let window = match self.window_labels.get(w) {
                Some(l) => Arc::clone(l),
                None => {
                    let l: Arc<str> = Arc::from(w.as_str());
                    self.window_labels.insert(w.clone(), Arc::clone(&l));
                    l
                }
            };
            let l = SeriesLabels {
                base: Arc::clone(&base),
                window: Some(window),
            };
            self.metrics.burn_rate.get_or_create(&l).set(v.burn_rate);
            self.metrics
                .error_ratio
                .get_or_create(&l)
                .set(v.error_ratio);
            written.push(l);
        }
        let remaining = if with_period {
            self.period_cache.insert(ikey, inst.budget_remaining);
            inst.budget_remaining
        } else {
            self.period_cache.get(&ikey).copied().flatten()
        };
        if let Some(b) = remaining {
            let l = SeriesLabels { base, window: None };
            self.metrics.budget_remaining.get_or_create(&l).set(b);
            written.push(l);
        }
    }

    /// The alerts Alertmanager must hear about now.
    fn active_alerts(&self) -> Vec<Alert> {
        self.state
            .alerts
            .records()
            .filter_map(|(_, r)| alerts::to_alert(r, &self.config.external_url))
            .collect()
    }

    /// Saves the state with the queues as they are now; a failure is logged
    /// and counted, never fatal.
    fn save(&mut self) {
        self.state.outbox = self.delivery.snapshot();
        self.persist();
    }

    fn persist(&mut self) {
        if let Err(e) = self.state.save(&self.config.state_file) {
            self.delivery.metrics.state_save_failures.inc();
            tracing::error!(error = %e, "cannot save the state; delivery goes on");
        }
    }

    /// Saves the state with `changes` queued, then hands them and the
    /// current alerts to delivery. Save first: a crash in between re-sends
    /// at worst, never loses. A failed save does not stop delivery.
    fn hand_over(&mut self, changes: Vec<Alert>) {
        self.state.outbox = self.delivery.snapshot();
        let webhooks: Vec<String> = self.state.outbox.keys().cloned().collect();
        for a in &changes {
            for name in &webhooks {
                self.state.enqueue(name, a.clone());
            }
        }
        self.persist();
        for a in &changes {
            let dropped = self.delivery.enqueue(a);
            self.metrics.notifications_dropped.inc_by(dropped as u64);
        }
        self.delivery.publish(self.active_alerts());
    }

    /// Runs cycles until `cancel` fires; SIGHUP (via `reload`) reloads specs.
    pub async fn run(
        mut self,
        cancel: CancellationToken,
        mut reload: tokio::sync::mpsc::Receiver<()>,
    ) -> Result<(), Error> {
        let mut registry = self.metrics.registry(&self.notifier.counters);
        self.delivery.metrics.register(&mut registry);
        let (addr, server) = crate::server::serve(
            self.config.listen,
            registry,
            Arc::clone(&self.ready),
            Arc::clone(&self.degraded),
            Arc::clone(&self.delivery.clock),
            self.ui.router(),
            cancel.clone(),
        )
        .await?;
        tracing::info!(%addr, slos = self.specs.iter().map(|s| s.slos.len()).sum::<usize>(), "slo-eval daemon started");
        let interval = self.config.interval.to_std();
        let interval_ms = interval.as_millis() as i64;
        // Scrapes stamped before an instant are ingested within seconds.
        let settle_ms = (interval_ms / 2).min(10_000);
        let settled = Arc::clone(&self.delivery.settled);
        'cycles: loop {
            // Evaluate on the interval's grid: replicas of one shard pick
            // the same instants, see the same data, send the same alerts.
            let slot = slo_core::shard::evaluation_slot(
                Timestamp::now().as_millisecond(),
                interval_ms,
                settle_ms,
            );
            let at = alerts::timestamp(slot);
            if let Err(e) = self.cycle(at).await {
                tracing::error!(error = %e, "cycle failed");
            }
            let due = slot + interval_ms + settle_ms;
            let wait = u64::try_from(due - Timestamp::now().as_millisecond()).unwrap_or(0);
            let next = tokio::time::Instant::now() + StdDuration::from_millis(wait);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break 'cycles,
                    Some(()) = reload.recv() => { self.reload(); break; }
                    () = tokio::time::sleep_until(next) => break,
                    // A notification left a queue: persist that at once, so
                    // a restart does not send it again.
                    () = settled.notified() => self.save(),
                }
            }
        }
        self.state.outbox = self.delivery.snapshot();
        self.state.save(&self.config.state_file)?;
        self.save_steps();
        self.delivery.shutdown().await;
        let _ = server.await;
        tracing::info!("slo-eval daemon stopped; state saved");
        Ok(())
    }
}

/// `slo-eval run --config FILE`: sets up logging and signals, then runs.
pub fn main(config_path: &Path) -> Result<(), Error> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let config = Config::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let daemon = Daemon::new(config)?;
        let cancel = CancellationToken::new();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        spawn_signals(cancel.clone(), tx)?;
        daemon.run(cancel, rx).await
    })
}

fn spawn_signals(
    cancel: CancellationToken,
    reload: tokio::sync::mpsc::Sender<()>,
) -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let sig = |kind| signal(kind).map_err(|e| Error::Config(format!("cannot handle signals: {e}")));
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut hup = sig(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); cancel.cancel(); break; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); cancel.cancel(); break; }
                _ = hup.recv() => { tracing::info!("SIGHUP: reloading specs"); let _ = reload.try_send(()); }
            }
        }
    });
    Ok(())
}

/// The state file path (for tests and tools).
pub fn state_file(config: &Config) -> PathBuf {
    config.state_file.clone()
}
