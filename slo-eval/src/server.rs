//! The daemon's HTTP endpoints: `/metrics` (Prometheus exposition, via
//! `prometheus-client`), `/healthz` (the process lives) and `/readyz` (specs
//! loaded, one evaluation cycle completed, and the loop not stalled).
//!
//! `/readyz` stays 200 while some spec files are invalid, since the valid
//! ones still alert, and its body says which files are broken (`ready
//! (degraded)`); `slo_eval_spec_files_invalid` counts them. A loop that
//! stopped completing cycles answers 503 with the reason.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use tokio_util::sync::CancellationToken;

use crate::delivery::CycleClock;
use crate::errors::Error;

/// Label pairs of a metric series.
pub type LabelSet = Vec<(String, String)>;
/// A float gauge family.
pub type GaugeFamily = Family<LabelSet, Gauge<f64, AtomicU64>>;
/// A float gauge family of SLO instances' series.
pub type SeriesFamily = Family<SeriesLabels, Gauge<f64, AtomicU64>>;

/// The labels of one series of an SLO instance: the instance's own,
/// shared by the series of all its windows, and the window where the
/// series has one. 1,000 SLOs export some 15,000 such series; each holds
/// two pointers, not a copy of every label.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct SeriesLabels {
    /// The SLO's labels and the instance's.
    pub base: Arc<LabelSet>,
    /// The window, for a per-window series.
    pub window: Option<Arc<str>>,
}

impl EncodeLabelSet for SeriesLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        self.base.as_slice().encode(encoder)?;
        if let Some(w) = &self.window {
            ("window", w.as_ref()).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// Everything the daemon exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Burn rate per SLO instance and window.
    pub burn_rate: SeriesFamily,
    /// Error ratio per SLO instance and window.
    pub error_ratio: SeriesFamily,
    /// Share of the period's budget left per SLO instance.
    pub budget_remaining: SeriesFamily,
    /// Alert state per SLO instance and tier: 0 inactive, 1 pending, 2 firing.
    pub alert_state: GaugeFamily,
    /// Seconds the last evaluation cycle took.
    pub cycle_seconds: Gauge<f64, AtomicU64>,
    /// Queries issued in the last cycle.
    pub cycle_queries: Gauge,
    /// HTTP requests the last cycle sent (queries are batched).
    pub cycle_requests: Gauge,
    /// Evaluation cycles run.
    pub cycles: Counter,
    /// Incremental evaluation: 5m steps not fetched yet (the back-fill's
    /// progress; 0 once filled, between cycles).
    pub steps_missing: Gauge,
    /// Incremental evaluation: bytes of step values held in memory.
    pub steps_bytes: Gauge,
    /// SLO evaluations that failed, per SLO.
    pub failures: Family<LabelSet, Counter>,
    /// Webhook notifications dropped because a queue was full.
    pub notifications_dropped: Counter,
    /// Spec reloads that failed (the old specs stay in use).
    pub reload_failures: Counter,
    /// Unix time of the last successful evaluation, per SLO: burn rates,
    /// budgets and alert states keep their last known values while
    /// Prometheus is down, and this says how old they are.
    pub last_evaluation: GaugeFamily,
    /// Alerts held as they are because a measurement they need is unknown.
    pub alerts_held: Gauge,
    /// Spec files that are invalid (their SLOs are not evaluated, or are
    /// from the file's previous version).
    pub spec_files_invalid: Gauge,
    /// 1 per invalid spec file, by `file`.
    pub spec_file_invalid: Family<LabelSet, Gauge>,
    /// 1 per SLO whose last evaluation measured no window of any instance
    /// (a selector matching nothing, or no traffic), else 0.
    pub slo_no_data: Family<LabelSet, Gauge>,
    /// The SLOs this daemon evaluates, by `shard` and `shards` (its share
    /// of a fleet; `0` of `1` without sharding).
    pub slos: Family<LabelSet, Gauge>,
}

impl Metrics {
    /// Removes the burn-rate, error-ratio or budget series labelled `l`.
    pub fn remove_series(&self, l: &SeriesLabels) {
        self.burn_rate.remove(l);
        self.error_ratio.remove(l);
        self.budget_remaining.remove(l);
    }

    /// A registry holding every metric, prefixed `slo_eval_`, with the
    /// notifier's counters.
    pub fn registry(&self, notify: &crate::notify::Counters) -> Registry {
        let mut r = Registry::with_prefix("slo_eval");
        r.register(
            "burn_rate",
            "Error ratio over the budget fraction, per window",
            self.burn_rate.clone(),
        );
        r.register(
            "error_ratio",
            "Bad events over all events, per window",
            self.error_ratio.clone(),
        );
        r.register(
            "budget_remaining_ratio",
            "Share of the period's error budget left",
            self.budget_remaining.clone(),
        );
        r.register(
            "alert_state",
            "0 inactive, 1 pending, 2 firing",
            self.alert_state.clone(),
        );
        r.register(
            "cycle_duration_seconds",
            "Duration of the last evaluation cycle",
            self.cycle_seconds.clone(),
        );
        r.register(
            "cycle_queries",
            "Queries issued in the last evaluation cycle",
            self.cycle_queries.clone(),
        );
        r.register(
            "cycle_requests",
            "HTTP requests to the query API in the last cycle (queries are batched)",
            self.cycle_requests.clone(),
        );
        r.register("cycles", "Evaluation cycles run", self.cycles.clone());
        r.register(
            "steps_missing",
            "5m steps not fetched yet (incremental evaluation)",
            self.steps_missing.clone(),
        );
        r.register(
            "steps_bytes",
            "Bytes of 5m step values held (incremental evaluation)",
            self.steps_bytes.clone(),
        );
        r.register(
            "evaluation_failures",
            "SLO evaluations that failed",
            self.failures.clone(),
        );
        r.register(
            "notifications_sent",
            "Notifications delivered",
            notify.sent.clone(),
        );
        r.register(
            "notifications_retried",
            "Notification attempts retried",
            notify.retried.clone(),
        );
        r.register(
            "notifications_failed",
            "Notifications not delivered after retries",
            notify.failed.clone(),
        );
        r.register(
            "notifications_dropped",
            "Webhook notifications dropped from a full queue",
            self.notifications_dropped.clone(),
        );
        r.register(
            "reload_failures",
            "Spec reloads that failed",
            self.reload_failures.clone(),
        );
        r.register(
            "last_evaluation_timestamp_seconds",
            "Unix time of the SLO's last successful evaluation (its other series are that old)",
            self.last_evaluation.clone(),
        );
        r.register(
            "alerts_held_unknown",
            "Alerts held as they are because a measurement they need is unknown",
            self.alerts_held.clone(),
        );
        r.register(
            "spec_files_invalid",
            "Spec files that are invalid",
            self.spec_files_invalid.clone(),
        );
        r.register(
            "spec_file_invalid",
            "1 per invalid spec file",
            self.spec_file_invalid.clone(),
        );
        r.register(
            "slo_no_data",
            "1 when the SLO's last evaluation measured no window of any instance (no series matched, or no traffic): its alerts cannot fire",
            self.slo_no_data.clone(),
        );
        r.register(
            "slos",
            "SLOs this daemon evaluates (its shard's share of the loaded specs)",
            self.slos.clone(),
        );
        r
    }
}

/// What `/readyz` reports besides readiness: lines saying what is
/// degraded (empty when all is well).
pub type Degraded = Arc<RwLock<Vec<String>>>;

#[derive(Clone)]
struct AppState {
    registry: Arc<Registry>,
    ready: Arc<AtomicBool>,
    degraded: Degraded,
    clock: Arc<CycleClock>,
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    if encode(&mut body, &s.registry).is_err() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            String::new(),
        );
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> (StatusCode, String) {
    if !s.ready.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no evaluation cycle completed yet\n".to_owned(),
        );
    }
    // A loop that stopped completing cycles is not ready, even though
    // Alertmanager still gets the last known alerts.
    if let Some(why) = s.clock.stalled(jiff::Timestamp::now()) {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n"));
    }
    let degraded = s.degraded.read().map(|d| d.clone()).unwrap_or_default();
    if degraded.is_empty() {
        return (StatusCode::OK, "ready\n".to_owned());
    }
    // Still 200: the pod keeps alerting on what works; the body says what
    // does not.
    let mut body = "ready (degraded):\n".to_owned();
    for line in degraded {
        body.push_str(&format!("  {line}\n"));
    }
    (StatusCode::OK, body)
}

/// Binds `addr` and serves until `cancel` fires. Returns the bound address
/// (useful with port 0) and the server task.
pub async fn serve(
    addr: SocketAddr,
    registry: Registry,
    ready: Arc<AtomicBool>,
    degraded: Degraded,
    clock: Arc<CycleClock>,
    ui: Router,
    cancel: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Every other path is the web UI.
        .fallback_service(ui)
        .with_state(AppState {
            registry: Arc::new(registry),
            ready,
            degraded,
            clock,
        });
    let task = tokio::spawn(async move {
        let shutdown = async move { cancel.cancelled().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok((bound, task))
}
