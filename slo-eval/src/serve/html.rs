//! The UI's pages, rendered on the server: plain HTML with an embedded
//! stylesheet, no scripts, every piece of user text escaped ([`esc`]).

use std::fmt::Write as _;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slo_core::evaluation::{InstanceResult, Status};

use super::{Cycle, TierState, Ui};

mod detail;
mod list;

pub(super) use detail::{charts, detail};
pub(super) use list::list;

/// A page: its title and the body's HTML.
pub(super) struct Page {
    pub(super) title: String,
    pub(super) body: String,
}

/// `s` safe inside HTML text and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as one URL path segment or query value.
pub(super) fn url(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub(super) fn number(x: f64) -> String {
    slo_core::num::format(slo_core::num::round_sig(x, 4))
}

/// Seconds as `51.84s`, `9.5m` or `2.4h`.
pub(super) fn seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{}s", number(s))
    } else if s < 7200.0 {
        format!("{}m", number(s / 60.0))
    } else {
        format!("{}h", number(s / 3600.0))
    }
}

pub(super) fn percent(x: f64) -> String {
    format!("{}%", number(x * 100.0))
}

/// The whole document around a page.
/// A warnings section listing `items` (HTML already escaped) under
/// `label`, or nothing when there are none.
pub(super) fn warning_list(b: &mut String, label: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(b, "<section class=\"warnings\" aria-label=\"{label}\"><ul>");
    for w in items {
        let _ = writeln!(b, "<li>{w}</li>");
    }
    let _ = writeln!(b, "</ul></section>");
}

pub(super) fn page(p: Page) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<title>{}</title>\n<link rel=\"stylesheet\" href=\"/assets/style.css\">\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<nav class=\"top\"><a href=\"/\">SLOs</a> <a href=\"/reports\">Reports</a></nav>\n<main id=\"main\">\n{}</main>\n</body>\n</html>\n",
        esc(&p.title),
        p.body
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// A 404 page saying what was not found.
pub(super) fn not_found(what: &str) -> Response {
    let mut r = page(Page {
        title: "Not found".into(),
        body: format!(
            "<h1>Not found</h1>\n<p>{}. <a href=\"/\">All SLOs</a></p>\n",
            esc(what)
        ),
    });
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn status_badge(s: Status) -> &'static str {
    match s {
        Status::Firing => "<span class=\"badge firing\">firing</span>",
        Status::NoData => "<span class=\"badge nodata\">no data</span>",
        Status::Held => "<span class=\"badge held\">held</span>",
        Status::Ok => "<span class=\"badge ok\">ok</span>",
    }
}

fn tier_badge(s: TierState) -> String {
    let class = match s {
        TierState::Firing => "firing",
        TierState::Pending => "held",
        TierState::NoData => "nodata",
        TierState::TooFewEvents => "held",
        TierState::Ok => "ok",
    };
    format!("<span class=\"badge {class}\">{}</span>", s.as_str())
}

/// A tier's state badge, with since when it is pending or firing.
fn tier_state(
    cycle: &Cycle,
    slo: &slo_core::spec::Slo,
    i: &InstanceResult,
    t: &slo_core::evaluation::TierResult,
) -> String {
    let (state, since) = cycle.tier(slo, i, t);
    let mut s = tier_badge(state);
    if let Some(since) = since {
        let _ = write!(
            s,
            " <small>since <time>{}</time></small>",
            slo_core::time::format(since)
        );
    }
    s
}

pub(super) fn detail_href(service: &str, slo: &str) -> String {
    format!("/slos/{}/{}", url(service), url(slo))
}

fn budget_cell(b: Option<f64>) -> String {
    match b {
        Some(b) => {
            let class = if b < 0.0 {
                "over"
            } else if b < 0.25 {
                "low"
            } else {
                "fine"
            };
            // A meter, not a styled bar: the CSP forbids inline styles.
            format!(
                "<span class=\"budget {class}\"><meter min=\"0\" max=\"1\" low=\"0.25\" optimum=\"1\" value=\"{}\"></meter> {}</span>",
                b.clamp(0.0, 1.0),
                percent(b)
            )
        }
        None => "<span class=\"unknown\">unknown</span>".to_owned(),
    }
}

/// `?instance=k=v,k=v` for an instance with labels.
fn instance_query(labels: &slo_core::instance::Instance) -> String {
    if labels.is_empty() {
        return String::new();
    }
    format!("?instance={}", url(&slo_core::instance::to_text(labels)))
}

fn source_text(ui: &Ui) -> String {
    match &ui.source {
        super::Source::Data(..) => "recorded data".to_owned(),
        super::Source::Prometheus { endpoint, .. } => format!("Prometheus at {}", endpoint.url),
    }
}
