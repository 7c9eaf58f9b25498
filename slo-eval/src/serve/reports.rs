//! Compliance reports on the UI: `GET /reports?month=2026-11` (or
//! `?rolling=1`) and `GET /api/v1/reports?month=`, the document `slo-eval
//! report --json` prints ([`crate::compliance`]). Over recorded data the
//! report is computed from memory; from Prometheus it is a few batched
//! queries for all SLOs (two instant and one range query per SLO, joined),
//! never one request per SLO.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slo_core::compliance::{Month, Status};
use slo_core::spec::Slo;
use slo_core::time::Timestamp;

use super::api::{ApiError, json_body};
use super::html::{self, Page, esc};
use super::{Source, Ui};
use crate::compliance::{self, Document, Which};

/// `?month=YYYY-MM` or `?rolling=1`.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ReportQuery {
    month: Option<String>,
    rolling: Option<String>,
}

/// "Now" for reports: the data's evaluation time, or the wall clock.
fn now(ui: &Ui) -> Timestamp {
    match &ui.source {
        Source::Data(_, at) => *at,
        Source::Prometheus { .. } => jiff::Timestamp::now().as_millisecond(),
    }
}

/// The span asked for; the month of "now" by default.
fn which(q: &ReportQuery, now: Timestamp) -> Result<Which, ApiError> {
    if q.rolling
        .as_deref()
        .is_some_and(|r| !r.is_empty() && r != "0")
    {
        return Ok(Which::Rolling);
    }
    match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => m
            .parse()
            .map(Which::Month)
            .map_err(|e| ApiError::bad(format!("month={m:?}: {e}"))),
        None => Ok(Which::Month(Month::containing(now))),
    }
}

async fn document(ui: &Ui, which: Which, now: Timestamp) -> Document {
    let slos: Vec<&Slo> = ui.entries.iter().map(|e| &*e.slo).collect();
    match &ui.source {
        Source::Data(data, _) => compliance::from_data(&slos, data, which, now),
        Source::Prometheus { client, .. } => {
            compliance::from_prometheus(client, &slos, which, now, crate::evaluate::DEFAULT_BATCH)
                .await
        }
    }
}

/// `GET /api/v1/reports`.
pub(super) async fn api_reports(
    State(ui): State<Arc<Ui>>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let now = now(&ui);
    match which(&q, now) {
        Ok(w) => json_body(&document(&ui, w, now).await),
        Err(e) => e.into_response(),
    }
}

/// The months offered, latest first: the month of "now" back to the month
/// before the data's first (a year back from Prometheus), so a month
/// without data is one click away and shows as such.
fn months(ui: &Ui, now: Timestamp) -> Vec<Month> {
    let last = Month::containing(now);
    let first = match &ui.source {
        Source::Data(data, _) => data
            .time_range()
            .map_or(last, |(start, _)| Month::containing(start).min(last))
            .prev(),
        Source::Prometheus { .. } => (0..11).fold(last, |m, _| m.prev()),
    };
    let mut out = vec![last];
    while let Some(m) = out.last().copied().filter(|m| *m > first) {
        out.push(m.prev());
    }
    out
}

fn status_badge(s: Status) -> String {
    let class = match s {
        Status::Met => "ok",
        Status::Missed => "firing",
        Status::NoData => "nodata",
        Status::NoEvents | Status::NotCountable => "held",
    };
    format!("<span class=\"badge {class}\">{}</span>", s.as_str())
}

fn pct(x: Option<f64>, digits: i32) -> String {
    x.map_or_else(
        || "<span class=\"unknown\">-</span>".to_owned(),
        |x| {
            format!(
                "{}%",
                slo_core::num::format(slo_core::num::round_sig(x * 100.0, digits))
            )
        },
    )
}

fn events(x: Option<f64>) -> String {
    x.map_or_else(
        || "<span class=\"unknown\">-</span>".to_owned(),
        |x| format!("{:.0}", x.round()),
    )
}

/// `GET /reports`.
pub(super) async fn reports_page(
    State(ui): State<Arc<Ui>>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let now = now(&ui);
    let which = match which(&q, now) {
        Ok(w) => w,
        Err(e) => {
            let mut r = html::page(Page {
                title: "Bad request".into(),
                body: format!(
                    "<h1>Bad request</h1>\n<p>{}. <a href=\"/reports\">This month's report</a></p>\n",
                    esc(&e.message)
                ),
            });
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return r;
        }
    };
    let doc = document(&ui, which, now).await;
    html::page(page(&ui, &doc, which, now))
}

fn page(ui: &Ui, doc: &Document, which: Which, now: Timestamp) -> Page {
    let mut b = String::new();
    let (title, query) = match which {
        Which::Month(m) => (format!("Compliance for {m}"), format!("month={m}")),
        Which::Rolling => (
            "Compliance over the rolling period".to_owned(),
            "rolling=1".to_owned(),
        ),
    };
    let _ = writeln!(b, "<h1>{}</h1>", esc(&title));
    let span = match which {
        Which::Month(m) => {
            let s = slo_core::compliance::Span::month(m);
            format!(
                "From <time>{}</time> to <time>{}</time> (UTC), as of <time>{}</time>.",
                slo_core::time::format(s.start),
                slo_core::time::format(s.end),
                esc(&doc.at)
            )
        }
        Which::Rolling => format!("Each SLO's period ending <time>{}</time>.", esc(&doc.at)),
    };
    let _ = writeln!(
        b,
        "<p class=\"meta\">{span} Coverage is the share of the span's hours with data. <a href=\"/api/v1/reports?{query}\">JSON</a></p>"
    );
    // Months to pick: links (keyboard reachable), and a month field.
    let _ = write!(b, "<nav class=\"ranges\" aria-label=\"Months\">Month:");
    for m in months(ui, now) {
        let current = if which == Which::Month(m) {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(b, " <a href=\"/reports?month={m}\"{current}>{m}</a>");
    }
    let current = if which == Which::Rolling {
        " aria-current=\"page\""
    } else {
        ""
    };
    let _ = writeln!(
        b,
        " <span class=\"sep\">|</span> <a href=\"/reports?rolling=1\"{current}>rolling period</a></nav>"
    );
    let _ = writeln!(
        b,
        "<form class=\"filter\" method=\"get\" action=\"/reports\"><label>Other month <input type=\"month\" name=\"month\" placeholder=\"2026-11\" value=\"{}\"></label><button type=\"submit\">Show</button></form>",
        match which {
            Which::Month(m) => m.to_string(),
            Which::Rolling => String::new(),
        }
    );
    // Never silently healthy: every row without a final verdict says so.
    let mut warnings: Vec<String> = doc
        .failed
        .iter()
        .map(|f| {
            format!(
                "<strong>{}/{}</strong> could not be reported: {}",
                esc(&f.service),
                esc(&f.slo),
                esc(&f.error)
            )
        })
        .collect();
    for r in &doc.slos {
        let name = format!(
            "{}/{}{}",
            r.service,
            r.slo,
            slo_core::instance::braces(&r.labels)
        );
        if let Some(reason) = &r.compliance.reason {
            warnings.push(format!(
                "<strong>{}</strong>: {}: {}",
                esc(&name),
                r.compliance.status.as_str(),
                esc(reason)
            ));
        } else if !r.compliance.complete && !r.compliance.in_progress {
            warnings.push(format!(
                "<strong>{}</strong>: partial data, {} of the span covered",
                esc(&name),
                pct(Some(r.compliance.coverage), 3)
            ));
        }
    }
    html::warning_list(&mut b, "Warnings", &warnings);
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"slos reports\">\n<thead><tr><th scope=\"col\">SLO</th><th scope=\"col\">Labels</th><th scope=\"col\">Objective</th><th scope=\"col\">Events</th><th scope=\"col\">Bad</th><th scope=\"col\">Availability</th><th scope=\"col\">Budget spent</th><th scope=\"col\">Coverage</th><th scope=\"col\">Status</th></tr></thead>\n<tbody>"
    );
    for r in &doc.slos {
        let c = &r.compliance;
        let status = serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = write!(
            b,
            "<tr data-service=\"{}\" data-slo=\"{}\" data-status=\"{status}\" data-events=\"{}\" data-coverage=\"{}\">",
            esc(&r.service),
            esc(&r.slo),
            c.events
                .map_or_else(|| "null".to_owned(), |x| x.to_string()),
            c.coverage
        );
        let _ = write!(
            b,
            "<th scope=\"row\"><a href=\"/slos/{}/{}\">{}<span class=\"sep\">/</span>{}</a></th>",
            html::url(&r.service),
            html::url(&r.slo),
            esc(&r.service),
            esc(&r.slo)
        );
        let period = match which {
            Which::Month(_) => String::new(),
            Which::Rolling => format!(
                " over {}",
                slo_core::duration::Duration::from_millis((r.end - r.start).max(0) as u64)
            ),
        };
        let mut verdict = status_badge(c.status);
        if c.in_progress && c.events.is_some() {
            verdict.push_str(" <small>so far (not over)</small>");
        } else if !c.complete && c.events.is_some() {
            verdict.push_str(" <small>partial data</small>");
        }
        let _ = writeln!(
            b,
            "<td class=\"labels\" data-label=\"Labels\">{}</td><td data-label=\"Objective\">{}%{period}</td><td data-label=\"Events\">{}</td><td data-label=\"Bad\">{}</td><td data-label=\"Availability\">{}</td><td data-label=\"Budget spent\">{}</td><td data-label=\"Coverage\"><span class=\"budget\"><meter min=\"0\" max=\"1\" low=\"0.99\" optimum=\"1\" value=\"{}\"></meter> {}</span></td><td data-label=\"Status\">{verdict}</td></tr>",
            esc(&slo_core::instance::to_text(&r.labels).replace(',', ", ")),
            slo_core::num::format(r.objective),
            events(c.events),
            events(c.bad_events),
            pct(c.availability, 5),
            pct(c.budget_spent, 3),
            c.coverage,
            pct(Some(c.coverage), 3),
        );
    }
    let _ = writeln!(b, "</tbody></table></div>");
    Page { title, body: b }
}
