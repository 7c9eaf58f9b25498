//! The daemon's delivery, on clocks of its own, independent of evaluation
//! and of each other:
//!
//! - **Alertmanager**: one task per Alertmanager resends the current alert
//!   set (firing, and resolved for 15 minutes) every `resend_interval`
//!   (default: the evaluation interval, at most 1m, as Prometheus's
//!   `resend_delay`) with `endsAt = now + 4 x max(resend_interval,
//!   interval)`, and at once when the set changes. A slow webhook, a slow
//!   or failed evaluation, or a failed state save never delays it, so live
//!   alerts do not expire at Alertmanager.
//! - **Webhooks**: one task per webhook sends each queued notification on
//!   its own (up to [`MAX_IN_FLIGHT`] at once). A transient failure (no
//!   connection, timeout, 5xx, 408, 429) schedules that notification's
//!   retry with backoff while newer ones go out; a rejection (any other
//!   4xx, a redirect to another host) drops it, logged and counted. Only
//!   notifications of the same alert keep their order (a resolve never
//!   overtakes its page).
//! - A watchdog marks the evaluation loop stalled when no cycle completed
//!   for a while (`/readyz` answers 503, `slo_eval_cycle_stalled` is 1).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use jiff::Timestamp;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::notify::{Alert, Notifier, Target};
use crate::server::LabelSet;
use crate::state::MAX_OUTBOX;

/// Most notifications in flight at once per webhook.
pub const MAX_IN_FLIGHT: usize = 4;
/// First retry delay of a webhook notification; doubles per attempt.
const RETRY_MIN: StdDuration = StdDuration::from_millis(200);
/// Longest delay between retries of a webhook notification.
const RETRY_MAX: StdDuration = StdDuration::from_secs(30);

/// When the last evaluation cycle completed, and when that is too long ago.
#[derive(Debug)]
pub struct CycleClock {
    /// Unix milliseconds of the last completed cycle; 0: none yet.
    last_ms: AtomicI64,
    stall_after: StdDuration,
}

impl CycleClock {
    /// A clock that calls the loop stalled after `stall_after` without a
    /// completed cycle.
    pub fn new(stall_after: StdDuration) -> Self {
        Self {
            last_ms: AtomicI64::new(0),
            stall_after,
        }
    }

    /// Records a completed cycle.
    pub fn completed(&self, at: Timestamp) {
        self.last_ms.store(at.as_millisecond(), Ordering::Relaxed);
    }

    /// Why the loop counts as stalled at `now`, if it does.
    pub fn stalled(&self, now: Timestamp) -> Option<String> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if last == 0 {
            return None;
        }
        let idle = StdDuration::from_millis((now.as_millisecond() - last).max(0) as u64);
        (idle > self.stall_after).then(|| {
            format!(
                "stalled: no evaluation cycle completed for {}s (limit {}s)",
                idle.as_secs(),
                self.stall_after.as_secs()
            )
        })
    }

    /// Unix seconds of the last completed cycle, 0 if none.
    pub fn last_seconds(&self) -> f64 {
        self.last_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

/// Metrics of delivery and of the loop's progress.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    /// Notifications waiting per webhook.
    pub queue_depth: Family<LabelSet, Gauge>,
    /// Notifications a receiver rejected (4xx), dropped, per target.
    pub rejected: Family<LabelSet, Counter>,
    /// Alertmanager sends that failed after retries, per target.
    pub alertmanager_failures: Family<LabelSet, Counter>,
    /// Unix seconds of the last successful send to each Alertmanager.
    pub alertmanager_last_success: Family<LabelSet, Gauge<f64, AtomicU64>>,
    /// Unix seconds of the last completed evaluation cycle.
    pub last_cycle: Gauge<f64, AtomicU64>,
    /// 1 while the evaluation loop is stalled.
    pub stalled: Gauge,
    /// State saves that failed (delivery went on).
    pub state_save_failures: Counter,
}

impl DeliveryMetrics {
    /// Adds these metrics to `r` (prefixed as `r` is).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "notification_queue_depth",
            "Webhook notifications waiting for delivery",
            self.queue_depth.clone(),
        );
        r.register(
            "notifications_rejected",
            "Notifications rejected by the receiver (4xx) and dropped",
            self.rejected.clone(),
        );
        r.register(
            "alertmanager_send_failures",
            "Alertmanager sends that failed after retries",
            self.alertmanager_failures.clone(),
        );
        r.register(
            "alertmanager_last_success_timestamp_seconds",
            "When alerts last reached each Alertmanager",
            self.alertmanager_last_success.clone(),
        );
        r.register(
            "last_cycle_completed_timestamp_seconds",
            "When the last evaluation cycle completed",
            self.last_cycle.clone(),
        );
        r.register(
            "cycle_stalled",
            "1 when no evaluation cycle completed for 3 intervals (plus the query timeout)",
            self.stalled.clone(),
        );
        r.register(
            "state_save_failures",
            "State file saves that failed (delivery goes on)",
            self.state_save_failures.clone(),
        );
    }
}

/// How delivery runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Alertmanager resend period.
    pub resend_every: StdDuration,
    /// `endsAt` of firing alerts is now plus this.
    pub hold: StdDuration,
}

/// One notification waiting for a webhook.
#[derive(Debug)]
struct Pending {
    id: u64,
    alert: Alert,
    fingerprint: String,
    attempts: u32,
    not_before: Option<Instant>,
    in_flight: bool,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Pending>,
    next_id: u64,
}

impl Queue {
    fn push(&mut self, alert: Alert) -> usize {
        self.next_id += 1;
        self.items.push_back(Pending {
            id: self.next_id,
            fingerprint: alert.fingerprint(),
            alert,
            attempts: 0,
            not_before: None,
            in_flight: false,
        });
        let mut dropped = 0;
        while self.items.len() > MAX_OUTBOX {
            // The oldest not being sent right now.
            match self.items.iter().position(|p| !p.in_flight) {
                Some(i) => {
                    self.items.remove(i);
                    dropped += 1;
                }
                None => break,
            }
        }
        dropped
    }
}

#[derive(Debug, Default)]
struct Outbox {
    queue: Mutex<Queue>,
    wake: Notify,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panicking sender task must not stop delivery: the queue stays
        // consistent (every change is a single push or remove).
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running delivery tasks and their shared queues.
#[derive(Debug)]
pub struct Delivery {
    active: watch::Sender<Arc<Vec<Alert>>>,
    outboxes: BTreeMap<String, Arc<Outbox>>,
    /// Metrics of delivery, registered by the daemon.
    pub metrics: Arc<DeliveryMetrics>,
    /// The loop's progress, read by `/readyz` and the watchdog.
    pub clock: Arc<CycleClock>,
    /// Notified when a notification left a webhook queue (delivered or
    /// dropped), so the daemon persists the queues.
    pub settled: Arc<Notify>,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Delivery {
    /// Starts one task per target and the watchdog; `outbox` holds the
    /// webhook notifications left undelivered by the last run. Must run
    /// inside a tokio runtime.
    pub fn start(
        notifier: Notifier,
        targets: Vec<Target>,
        outbox: BTreeMap<String, Vec<Alert>>,
        settings: Settings,
        clock: Arc<CycleClock>,
    ) -> Self {
        let metrics = Arc::new(DeliveryMetrics::default());
        let cancel = CancellationToken::new();
        let (active, _) = watch::channel(Arc::new(Vec::new()));
        let mut outboxes = BTreeMap::new();
        let mut tasks = Vec::new();
        let mut outbox = outbox;
        let settled = Arc::new(Notify::new());
        for target in targets {
            let target = Arc::new(target);
            match target.webhook_name() {
                None => tasks.push(tokio::spawn(alertmanager_loop(
                    notifier.clone(),
                    target,
                    active.subscribe(),
                    settings.clone(),
                    Arc::clone(&metrics),
                    cancel.clone(),
                ))),
                Some(name) => {
                    let o = Arc::new(Outbox::default());
                    {
                        let mut q = o.lock();
                        for a in outbox.remove(name).unwrap_or_default() {
                            q.push(a);
                        }
                    }
                    outboxes.insert(name.to_owned(), Arc::clone(&o));
                    tasks.push(tokio::spawn(webhook_loop(
                        notifier.clone(),
                        target,
                        o,
                        settings.hold,
                        Arc::clone(&metrics),
                        Arc::clone(&settled),
                        cancel.clone(),
                    )));
                }
            }
        }
        tasks.push(tokio::spawn(watchdog(
            Arc::clone(&clock),
            Arc::clone(&metrics),
            cancel.clone(),
        )));
        Self {
            active,
            outboxes,
            metrics,
            clock,
            settled,
            cancel,
            tasks,
        }
    }

    /// The alerts Alertmanager must hear about now; sent at once if they
    /// changed, then resent on the Alertmanager clock.
    pub fn publish(&self, alerts: Vec<Alert>) {
        self.active.send_if_modified(|current| {
            if **current == alerts {
                false
            } else {
                *current = Arc::new(alerts);
                true
            }
        });
    }

    /// Queues `alert` for every webhook; returns how many older
    /// notifications were dropped from full queues.
    pub fn enqueue(&self, alert: &Alert) -> usize {
        let mut dropped = 0;
        for o in self.outboxes.values() {
            dropped += o.lock().push(alert.clone());
            o.wake.notify_one();
        }
        dropped
    }

    /// The undelivered webhook notifications, oldest first, for the state
    /// file.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<Alert>> {
        self.outboxes
            .iter()
            .map(|(name, o)| {
                let q = o.lock();
                (
                    name.clone(),
                    q.items.iter().map(|p| p.alert.clone()).collect(),
                )
            })
            .collect()
    }

    /// Stops every task.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn target_labels(target: &Target) -> LabelSet {
    vec![("target".to_owned(), target.name())]
}

async fn alertmanager_loop(
    notifier: Notifier,
    target: Arc<Target>,
    mut active: watch::Receiver<Arc<Vec<Alert>>>,
    settings: Settings,
    metrics: Arc<DeliveryMetrics>,
    cancel: CancellationToken,
) {
    let labels = target_labels(&target);
    let mut tick = tokio::time::interval(settings.resend_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
            changed = active.changed() => if changed.is_err() { return },
        }
        let alerts = Arc::clone(&active.borrow_and_update());
        if alerts.is_empty() {
            continue;
        }
        let sent = tokio::select! {
            () = cancel.cancelled() => return,
            r = notifier.send(&target, &alerts, Timestamp::now(), settings.hold) => r,
        };
        match sent {
            Ok(()) => {
                metrics
                    .alertmanager_last_success
                    .get_or_create(&labels)
                    .set(Timestamp::now().as_millisecond() as f64 / 1000.0);
            }
            Err(e) => {
                metrics.alertmanager_failures.get_or_create(&labels).inc();
                tracing::warn!(target = %target.name(), error = %e, alerts = alerts.len(), "Alertmanager delivery failed; resent on the next tick");
            }
        }
        tick.reset();
    }
}

fn retry_delay(attempts: u32) -> StdDuration {
    RETRY_MIN
        .saturating_mul(1u32 << attempts.min(16))
        .min(RETRY_MAX)
}

async fn webhook_loop(
    notifier: Notifier,
    target: Arc<Target>,
    outbox: Arc<Outbox>,
    hold: StdDuration,
    metrics: Arc<DeliveryMetrics>,
    settled: Arc<Notify>,
    cancel: CancellationToken,
) {
    let labels = target_labels(&target);
    let mut flying: JoinSet<(u64, Result<(), crate::errors::NotifyError>)> = JoinSet::new();
    loop {
        let now = Instant::now();
        let mut next_due: Option<Instant> = None;
        {
            let mut q = outbox.lock();
            // An alert's notifications go out in order; other alerts' do not
            // wait for it.
            let mut earlier: BTreeSet<String> = BTreeSet::new();
            for p in q.items.iter_mut() {
                if !earlier.insert(p.fingerprint.clone()) || p.in_flight {
                    continue;
                }
                if let Some(t) = p.not_before.filter(|t| *t > now) {
                    next_due = Some(next_due.map_or(t, |d| d.min(t)));
                    continue;
                }
                if flying.len() >= MAX_IN_FLIGHT {
                    break;
                }
                p.in_flight = true;
                let (id, alert) = (p.id, p.alert.clone());
                let (n, t) = (notifier.clone(), Arc::clone(&target));
                flying.spawn(async move {
                    let r = n
                        .send_once(&t, std::slice::from_ref(&alert), Timestamp::now(), hold)
                        .await;
                    (id, r)
                });
            }
            metrics
                .queue_depth
                .get_or_create(&labels)
                .set(q.items.len() as i64);
        }
        let wait = next_due.unwrap_or(now + StdDuration::from_secs(5));
        tokio::select! {
            () = cancel.cancelled() => {
                flying.abort_all();
                return;
            }
            () = outbox.wake.notified() => {}
            () = tokio::time::sleep_until(wait) => {}
            Some(done) = flying.join_next(), if !flying.is_empty() => {
                if let Ok((id, result)) = done
                    && settle(&outbox, &target, &notifier, &metrics, &labels, id, result)
                {
                    settled.notify_one();
                }
            }
        }
    }
}

/// Applies a send's result to the queue; true when the notification left
/// it.
fn settle(
    outbox: &Outbox,
    target: &Target,
    notifier: &Notifier,
    metrics: &DeliveryMetrics,
    labels: &LabelSet,
    id: u64,
    result: Result<(), crate::errors::NotifyError>,
) -> bool {
    let mut q = outbox.lock();
    let Some(i) = q.items.iter().position(|p| p.id == id) else {
        return false;
    };
    match result {
        Ok(()) => {
            q.items.remove(i);
            true
        }
        Err(e) if !e.is_transient() => {
            if let Some(p) = q.items.remove(i) {
                metrics.rejected.get_or_create(labels).inc();
                notifier.counters.failed.inc();
                tracing::error!(
                    target = %target.name(),
                    error = %e,
                    alertname = p.alert.labels.get("alertname").map_or("", String::as_str),
                    status = ?p.alert.status,
                    "notification rejected; dropped (not retried, newer notifications are unaffected)"
                );
            }
            true
        }
        Err(e) => {
            let p = &mut q.items[i];
            p.in_flight = false;
            p.attempts += 1;
            let delay = retry_delay(p.attempts);
            p.not_before = Some(Instant::now() + delay);
            notifier.counters.retried.inc();
            tracing::warn!(target = %target.name(), error = %e, attempts = p.attempts, retry_in = ?delay, "webhook delivery failed; retrying this notification, newer ones go on");
            false
        }
    }
}

/// Updates the stalled gauge and the last-cycle timestamp every second.
async fn watchdog(
    clock: Arc<CycleClock>,
    metrics: Arc<DeliveryMetrics>,
    cancel: CancellationToken,
) {
    let mut was_stalled = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(StdDuration::from_secs(1)) => {}
        }
        metrics.last_cycle.set(clock.last_seconds());
        let stalled = clock.stalled(Timestamp::now());
        metrics.stalled.set(i64::from(stalled.is_some()));
        match (&stalled, was_stalled) {
            (Some(why), false) => {
                tracing::error!(reason = %why, "evaluation loop stalled; alerts are still resent to Alertmanager")
            }
            (None, true) => tracing::info!("evaluation loop progressing again"),
            _ => {}
        }
        was_stalled = stalled.is_some();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_are_capped() {
        assert_eq!(retry_delay(1), StdDuration::from_millis(400));
        assert!(retry_delay(3) > retry_delay(2));
        assert_eq!(retry_delay(40), RETRY_MAX);
    }

    #[test]
    fn the_clock_reports_a_stall_only_after_a_completed_cycle() {
        let c = CycleClock::new(StdDuration::from_secs(3));
        let t0 = Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        assert!(c.stalled(t0).is_none());
        c.completed(t0);
        assert!(c.stalled(t0 + jiff::SignedDuration::from_secs(3)).is_none());
        let why = c.stalled(t0 + jiff::SignedDuration::from_secs(10));
        assert!(why.is_some_and(|w| w.contains("10s")));
    }
}
