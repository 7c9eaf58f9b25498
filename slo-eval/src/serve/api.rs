//! The JSON API: `/api/v1/slos` from the last cycle in memory, and one
//! SLO's backtest document; errors as `{"status": "error", "error": ...}`
//! with a 4xx (or 502 when Prometheus could not answer a fetch).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use slo_core::duration::Duration;
use slo_core::evaluation::{Status, WindowValue};

use super::{RangeQuery, TierState, Ui, failures, instances, range_of};
use crate::backtest::Document;
use crate::evaluate::Failure;

/// A request that cannot be answered, with a status and a message.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(super) fn not_found(service: &str, slo: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("no SLO {slo:?} of service {service:?}"),
        }
    }

    pub(super) fn upstream(message: String) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            message,
        }
    }

    /// True when Prometheus could not answer (not the request's fault).
    pub(super) fn is_upstream(&self) -> bool {
        self.status == StatusCode::BAD_GATEWAY
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"status": "error", "error": self.message});
        (self.status, json_body(&body)).into_response()
    }
}

/// `GET /api/v1/slos`.
#[derive(Debug, Serialize)]
struct SlosDoc<'a> {
    evaluated_at: String,
    slos: Vec<ApiSlo<'a>>,
    failed: Vec<Failure>,
}

#[derive(Debug, Serialize)]
struct ApiSlo<'a> {
    service: &'a str,
    slo: &'a str,
    labels: &'a slo_core::instance::Instance,
    slo_labels: &'a slo_core::spec::Labels,
    objective: f64,
    period: Duration,
    sli: &'static str,
    budget_remaining: Option<f64>,
    period_error_ratio: Option<f64>,
    windows: Windows<'a>,
    no_data: &'a [String],
    alerts: Vec<ApiAlert>,
    /// `held` while the SLO cannot be evaluated ([`ApiStale`]).
    status: Status,
    /// When this cycle could not evaluate the SLO: the numbers above are
    /// its last good cycle's.
    #[serde(skip_serializing_if = "Option::is_none")]
    stale: Option<ApiStale>,
}

/// Why and since when an SLO's numbers are not this cycle's.
#[derive(Debug, Serialize)]
struct ApiStale {
    /// The first failed cycle of this run of failures.
    since: String,
    /// The cycle the numbers come from.
    last_good_at: Option<String>,
    /// This cycle's error.
    error: String,
}

#[derive(Debug, Serialize)]
struct ApiAlert {
    severity: slo_core::policy::Severity,
    state: TierState,
    /// Since when the alert is pending or firing (from Prometheus).
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
}

/// The windows as an object in policy order, shortest first.
#[derive(Debug)]
struct Windows<'a>(&'a [(String, WindowValue)]);

impl Serialize for Windows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

pub(super) async fn api_slos(State(ui): State<Arc<Ui>>) -> Response {
    let cycle = ui.cycle();
    let slos = instances(&ui, &cycle)
        .into_iter()
        .map(|(e, i, stale)| ApiSlo {
            service: &i.service,
            slo: &i.slo,
            labels: &i.labels,
            slo_labels: &e.slo.labels,
            objective: i.objective,
            period: e.slo.period,
            sli: e.slo.sli.kind(),
            budget_remaining: i.budget_remaining,
            period_error_ratio: i.period_error_ratio,
            windows: Windows(&i.windows),
            no_data: &i.no_data,
            alerts: i
                .alerts
                .iter()
                .map(|t| {
                    let (state, since) = cycle.tier(&e.slo, i, t);
                    ApiAlert {
                        severity: t.severity,
                        state,
                        since: since.map(slo_core::time::format),
                    }
                })
                .collect(),
            status: if stale.is_some() {
                Status::Held
            } else {
                i.status
            },
            stale: stale.map(|s| ApiStale {
                since: slo_core::time::format(s.since),
                last_good_at: s.last_good.as_ref().map(|g| slo_core::time::format(g.0)),
                error: s.error.clone(),
            }),
        })
        .collect();
    let doc = SlosDoc {
        evaluated_at: slo_core::time::format(cycle.at),
        slos,
        failed: failures(&ui, &cycle),
    };
    json_body(&doc).into_response()
}

pub(super) async fn api_backtest(
    State(ui): State<Arc<Ui>>,
    Path((service, slo)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> Result<Response, ApiError> {
    let entry = ui
        .find(&service, &slo)
        .ok_or_else(|| ApiError::not_found(&service, &slo))?;
    let (start, end, step) = range_of(&ui, entry, &q)?;
    let report = ui.replay(entry, start, end, step, false).await?;
    let doc = Document {
        slos: vec![(*report).clone()],
        skipped: Vec::new(),
    };
    Ok(json_body(&doc).into_response())
}

/// `POST /api/v1/slos/{service}/{slo}/backtest`: the body is an
/// `alerting:` block (YAML or JSON); the answer is the GET's document
/// under that policy, or a 400 naming each mistake's line and column.
pub(super) async fn api_backtest_post(
    State(ui): State<Arc<Ui>>,
    Path((service, slo)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
    body: String,
) -> Result<Response, ApiError> {
    let entry = ui
        .find(&service, &slo)
        .ok_or_else(|| ApiError::not_found(&service, &slo))?;
    let alt = super::lab::alternative(&ui.entries[entry].slo, &body)?;
    let (start, end, step) = range_of(&ui, entry, &q)?;
    let report = ui
        .replay_policy(
            entry,
            super::Alt {
                slo: Some(&alt),
                incidents: None,
            },
            start,
            end,
            step,
            false,
        )
        .await?;
    let doc = Document {
        slos: vec![(*report).clone()],
        skipped: Vec::new(),
    };
    Ok(json_body(&doc).into_response())
}

/// `doc` as a JSON response (axum's `Json` needs a feature this crate
/// does not build).
pub(super) fn json_body<T: Serialize>(doc: &T) -> Response {
    match serde_json::to_string(doc) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the response: {e}"),
        )
            .into_response(),
    }
}
