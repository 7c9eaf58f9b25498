//! The UI's pages, rendered on the server: plain HTML with an embedded
//! stylesheet, no scripts, every piece of user text escaped ([`esc`]).

use std::fmt::Write as _;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slo_core::backtest::Report;
use slo_core::duration::Duration;
use slo_core::evaluation::{InstanceResult, Status};
use slo_core::policy::Severity;
use slo_core::time::Timestamp;

use super::{ApiError, Cycle, Entry, ListQuery, RangeQuery, TierState, Ui, label_text, svg};

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

/// The list page: every instance, worst budget first (unknown budgets
/// before all), with warnings for no data and low traffic.
pub(super) fn list(ui: &Ui, cycle: &Cycle, q: &ListQuery) -> Page {
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    let label = q
        .label
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('=').unwrap_or((s, "")));
    let mut rows = super::instances(ui, cycle);
    let shown = |e: &Entry, labels: &std::collections::BTreeMap<String, String>| {
        service.is_none_or(|s| e.slo.service == s)
            && label.is_none_or(|(k, v)| {
                let has = |l: &std::collections::BTreeMap<String, String>| {
                    l.get(k).is_some_and(|x| v.is_empty() || x == v)
                };
                has(labels) || has(&e.slo.labels)
            })
    };
    rows.retain(|(e, i, _)| shown(e, &i.labels));
    // SLOs never evaluated have no instance: listed all the same, unknown.
    let never: Vec<(&Entry, &super::Stale)> = ui
        .entries
        .iter()
        .enumerate()
        .filter_map(|(n, e)| Some((e, cycle.stale(n).filter(|s| s.last_good.is_none())?)))
        .filter(|(e, _)| shown(e, &Default::default()))
        .collect();
    rows.sort_by(|(_, a, _), (_, b, _)| {
        let key = |i: &InstanceResult| i.budget_remaining.unwrap_or(f64::NEG_INFINITY);
        key(a).total_cmp(&key(b))
    });
    let mut services: Vec<&str> = ui.entries.iter().map(|e| e.slo.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>Service level objectives</h1>\n<p class=\"meta\">Evaluated at <time datetime=\"{0}\">{0}</time> from {1}. Sorted by budget left, least first.</p>",
        slo_core::time::format(cycle.at),
        esc(&source_text(ui))
    );
    if let Some(since) = ui
        .entries
        .iter()
        .filter_map(|e| ui.data_since(&e.slo, cycle.at))
        .min()
    {
        let _ = writeln!(
            b,
            "<section class=\"warnings\"><p>The recorded data starts at {}: availability and budget left over a period longer than that count only the data there is.</p></section>",
            slo_core::time::format(since)
        );
    }
    stale_banner(&mut b, ui, cycle);
    // Filter form: plain GET, works without scripts.
    let _ = write!(
        b,
        "<form class=\"filter\" method=\"get\" action=\"/\">\n<label>Service <select name=\"service\"><option value=\"\">all</option>"
    );
    for s in &services {
        let sel = if Some(*s) == service { " selected" } else { "" };
        let _ = write!(b, "<option{sel}>{}</option>", esc(s));
    }
    let _ = writeln!(
        b,
        "</select></label>\n<label>Label <input name=\"label\" placeholder=\"team=payments\" value=\"{}\"></label>\n<button type=\"submit\">Filter</button>\n</form>",
        esc(q.label.as_deref().unwrap_or(""))
    );
    // Warnings: never silently healthy.
    let mut warnings = Vec::new();
    for (n, e) in ui.entries.iter().enumerate() {
        if let Some(st) = cycle.stale(n) {
            warnings.push(format!(
                "<strong>{}/{}</strong> could not be evaluated since <time>{}</time>: {}",
                esc(&e.slo.service),
                esc(&e.slo.name),
                slo_core::time::format(st.since),
                esc(&st.error)
            ));
        }
    }
    for (_, i, stale) in &rows {
        // A stale result's warnings are the last good cycle's, not news.
        if stale.is_some() {
            continue;
        }
        let name = format!(
            "{}/{}{}",
            i.service,
            i.slo,
            slo_core::instance::braces(&i.labels)
        );
        if i.status == Status::NoData {
            warnings.push(format!(
                "<strong>{}</strong>: no data in any window (no series matched, or no traffic): its alerts cannot fire",
                esc(&name)
            ));
        } else {
            // Held pairs cannot fire: say which and why.
            for reason in crate::evaluate::held_reasons(i) {
                let kind = if reason.contains("too few events") {
                    "low traffic"
                } else {
                    "no data"
                };
                warnings.push(format!(
                    "<strong>{}</strong>: {kind}: {}",
                    esc(&name),
                    esc(&reason)
                ));
            }
        }
    }
    if !warnings.is_empty() {
        let _ = writeln!(
            b,
            "<section class=\"warnings\" aria-label=\"Warnings\"><ul>"
        );
        for w in warnings {
            let _ = writeln!(b, "<li>{w}</li>");
        }
        let _ = writeln!(b, "</ul></section>");
    }
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"slos\">\n<thead><tr><th scope=\"col\">SLO</th><th scope=\"col\">Labels</th><th scope=\"col\">Objective</th><th scope=\"col\">Period</th><th scope=\"col\">SLI</th><th scope=\"col\">Availability</th><th scope=\"col\">Budget left</th><th scope=\"col\">Page</th><th scope=\"col\">Ticket</th><th scope=\"col\">Status</th></tr></thead>\n<tbody>"
    );
    for (e, st) in &never {
        let _ = writeln!(
            b,
            "<tr data-service=\"{0}\" data-slo=\"{1}\" data-budget=\"null\" data-status=\"held\" data-stale=\"{2}\"><th scope=\"row\"><a href=\"{3}\">{0}<span class=\"sep\">/</span>{1}</a></th><td class=\"labels\" data-label=\"Labels\">{4}</td><td data-label=\"Objective\">{5}</td><td data-label=\"Period\">{6}</td><td data-label=\"SLI\">{7}</td><td data-label=\"Availability\">unknown</td><td data-label=\"Budget left\">{8}</td><td data-label=\"Page\">unknown</td><td data-label=\"Ticket\">unknown</td><td data-label=\"Status\">{9}</td></tr>",
            esc(&e.slo.service),
            esc(&e.slo.name),
            slo_core::time::format(st.since),
            detail_href(&e.slo.service, &e.slo.name),
            esc(&label_text(&e.slo.labels)),
            percent(e.slo.objective.ratio()),
            e.slo.period,
            e.slo.sli.kind(),
            budget_cell(None),
            stale_badge(st),
        );
    }
    for (e, i, stale) in &rows {
        let mut labels = e.slo.labels.clone();
        labels.extend(i.labels.clone());
        let _ = write!(
            b,
            "<tr data-service=\"{}\" data-slo=\"{}\" data-budget=\"{}\" data-status=\"{}\"{}>",
            esc(&i.service),
            esc(&i.slo),
            i.budget_remaining
                .map_or_else(|| "null".to_owned(), |x| x.to_string()),
            if stale.is_some() {
                "held"
            } else {
                status_word(i.status)
            },
            stale.map_or_else(String::new, |st| format!(
                " data-stale=\"{}\"",
                slo_core::time::format(st.since)
            ))
        );
        let _ = write!(
            b,
            "<th scope=\"row\"><a href=\"{}{}\">{}<span class=\"sep\">/</span>{}</a></th>",
            detail_href(&i.service, &i.slo),
            instance_query(&i.labels),
            esc(&i.service),
            esc(&i.slo)
        );
        let _ = write!(
            b,
            "<td class=\"labels\" data-label=\"Labels\">{}</td><td data-label=\"Objective\">{}</td><td data-label=\"Period\">{}</td><td data-label=\"SLI\">{}</td><td data-label=\"Availability\">{}</td><td data-label=\"Budget left\">{}</td>",
            esc(&label_text(&labels)),
            percent(i.objective),
            e.slo.period,
            e.slo.sli.kind(),
            i.period_error_ratio
                .map_or_else(|| "unknown".to_owned(), |r| percent(1.0 - r)),
            budget_cell(i.budget_remaining)
        );
        for (severity, name) in [(Severity::Page, "Page"), (Severity::Ticket, "Ticket")] {
            let _ = write!(
                b,
                "<td data-label=\"{name}\">{}</td>",
                tier_cell(cycle, &e.slo, i, severity)
            );
        }
        let status = match stale {
            Some(st) => stale_badge(st),
            None => status_badge(i.status).to_owned(),
        };
        let _ = writeln!(b, "<td data-label=\"Status\">{status}</td></tr>");
    }
    if rows.is_empty() && never.is_empty() {
        let _ = writeln!(
            b,
            "<tr><td colspan=\"10\">No SLO matches the filter.</td></tr>"
        );
    }
    let _ = writeln!(b, "</tbody></table></div>");
    Page {
        title: "SLOs".into(),
        body: b,
    }
}

/// The list page's banner when the last cycle failed for some SLOs: the
/// page is not current for them, and says so above everything else.
fn stale_banner(b: &mut String, ui: &Ui, cycle: &Cycle) {
    let failed: Vec<&super::Stale> = (0..ui.entries.len())
        .filter_map(|n| cycle.stale(n))
        .collect();
    let Some(since) = failed.iter().map(|s| s.since).min() else {
        return;
    };
    let mut errors: Vec<&str> = failed.iter().map(|s| s.error.as_str()).collect();
    errors.sort_unstable();
    errors.dedup();
    let error = match errors.as_slice() {
        [one] => esc(one),
        _ => "see each SLO below".to_owned(),
    };
    let _ = writeln!(
        b,
        "<section class=\"warnings stale\" role=\"alert\"><p><strong>Stale: the last cycle (<time>{}</time>) failed</strong> for {} of {} SLOs, failing since <time>{}</time>: {error}. They show their last good cycle's numbers, marked held; their alerts are held as they were, never resolved, until {} answers again.</p></section>",
        slo_core::time::format(cycle.at),
        failed.len(),
        ui.entries.len(),
        slo_core::time::format(since),
        esc(&source_text(ui))
    );
}

/// A failed SLO's status: held, stale since when, numbers from when.
fn stale_badge(st: &super::Stale) -> String {
    let from = st.last_good.as_ref().map_or_else(
        || "never evaluated".to_owned(),
        |g| format!("numbers from <time>{}</time>", slo_core::time::format(g.0)),
    );
    format!(
        "<span class=\"badge held\">held</span> <small class=\"stale\">stale since <time>{}</time>, {from}</small>",
        slo_core::time::format(st.since)
    )
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Firing => "firing",
        Status::NoData => "no_data",
        Status::Held => "held",
        Status::Ok => "ok",
    }
}

/// `?instance=k=v,k=v` for an instance with labels.
fn instance_query(labels: &slo_core::instance::Instance) -> String {
    if labels.is_empty() {
        return String::new();
    }
    format!("?instance={}", url(&slo_core::instance::to_text(labels)))
}

/// One tier of an instance: its state and each pair's long-window burn
/// rate.
fn tier_cell(
    cycle: &Cycle,
    slo: &slo_core::spec::Slo,
    i: &InstanceResult,
    severity: Severity,
) -> String {
    let Some(t) = i.alerts.iter().find(|t| t.severity == severity) else {
        return "<span class=\"unknown\">none</span>".to_owned();
    };
    let mut s = tier_state(cycle, slo, i, t);
    for p in &t.pairs {
        let burn = p
            .decision
            .long
            .map(|m| m.error_ratio / (1.0 - i.objective))
            .filter(|b| b.is_finite());
        let _ = write!(
            s,
            " <span class=\"pair-burn\" title=\"{} over {}/{}, fires above {}x\">{} {}</span>",
            severity,
            p.long,
            p.short,
            number(p.factor),
            p.long,
            burn.map_or_else(|| "–".to_owned(), |b| format!("{}×", number(b)))
        );
    }
    s
}

fn source_text(ui: &Ui) -> String {
    match &ui.source {
        super::Source::Data(..) => "recorded data".to_owned(),
        super::Source::Prometheus { endpoint, .. } => format!("Prometheus at {}", endpoint.url),
    }
}

/// The detail page of one SLO: tiles, the alerts table, burn-rate graphs
/// over the replay, and the spec source.
pub(super) fn detail(
    ui: &Ui,
    cycle: &Cycle,
    entry: usize,
    q: &RangeQuery,
    replay: Result<std::sync::Arc<Report>, ApiError>,
) -> Page {
    let e: &Entry = &ui.entries[entry];
    let slo = &e.slo;
    let result = cycle.results.get(entry);
    let stale = cycle.stale(entry);
    // A failed SLO shows its last good cycle, flagged.
    let instances: Vec<&InstanceResult> = match (result, stale) {
        (Some(Ok(v)), _) => v.iter().collect(),
        (_, Some(st)) => st.last_good.iter().flat_map(|g| &g.1).collect(),
        _ => Vec::new(),
    };
    let wanted = slo_core::instance::from_text(q.instance.as_deref().unwrap_or(""));
    let inst = instances
        .iter()
        .find(|i| i.labels == wanted)
        .or(instances.first())
        .copied();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p class=\"crumbs\"><a href=\"/\">All SLOs</a> › <a href=\"/?service={}\">{}</a></p>\n<h1>{} <span class=\"sep\">/</span> {}</h1>",
        url(&slo.service),
        esc(&slo.service),
        esc(&slo.service),
        esc(&slo.name)
    );
    if let Some(d) = &slo.description {
        let _ = writeln!(b, "<p class=\"description\">{}</p>", esc(d));
    }
    let _ = writeln!(
        b,
        "<p class=\"meta\">{} SLI, period {}, labels {}. Evaluated at <time>{}</time> from {}.</p>",
        slo.sli.kind(),
        slo.period,
        esc(&label_text(&slo.labels)),
        slo_core::time::format(cycle.at),
        esc(&source_text(ui))
    );
    if instances.len() > 1 {
        let _ = write!(
            b,
            "<nav class=\"instances\" aria-label=\"Instances\">Instance:"
        );
        for i in &instances {
            let current = inst.is_some_and(|c| c.labels == i.labels);
            let _ = write!(
                b,
                " <a href=\"{}{}\"{}>{}</a>",
                detail_href(&slo.service, &slo.name),
                instance_query(&i.labels),
                if current {
                    " aria-current=\"page\""
                } else {
                    ""
                },
                esc(&slo_core::instance::braces(&i.labels))
            );
        }
        let _ = writeln!(b, "</nav>");
    }
    if let Some(st) = stale {
        let shown = st.last_good.as_ref().map_or_else(
            || "It has not been evaluated since this server started: nothing to show.".to_owned(),
            |g| format!(
                "The tiles and alerts below are from the last good cycle at <time>{}</time>; the alerts are held as they were.",
                slo_core::time::format(g.0)
            ),
        );
        let _ = writeln!(
            b,
            "<section class=\"warnings stale\" role=\"alert\"><p><strong>Stale: could not be evaluated</strong> since <time>{}</time> (last cycle <time>{}</time>): {}. {shown}</p></section>",
            slo_core::time::format(st.since),
            slo_core::time::format(cycle.at),
            esc(&st.error)
        );
    }
    if let Some(i) = inst {
        let at = stale
            .and_then(|s| s.last_good.as_ref())
            .map_or(cycle.at, |g| g.0);
        instance_section(&mut b, cycle, slo, i, ui.data_since(slo, at));
    }
    graphs(&mut b, ui, entry, inst, q, replay);
    b.push_str(&super::lab::detail_section(slo, inst.map(|i| &i.labels)));
    source_section(&mut b, ui, e);
    Page {
        title: format!("{}/{} – SLO", slo.service, slo.name),
        body: b,
    }
}

fn instance_section(
    b: &mut String,
    cycle: &Cycle,
    slo: &slo_core::spec::Slo,
    i: &InstanceResult,
    data_since: Option<Timestamp>,
) {
    // Over recorded data shorter than the period, "over 30d" would claim
    // 30 days the data does not have.
    let over = match data_since {
        Some(t) => format!(
            "over {}, but data only since {} ({})",
            slo.period,
            slo_core::time::format(t),
            Duration::from_millis(u64::try_from(cycle.at - t).unwrap_or(0))
        ),
        None => format!("over {}", slo.period),
    };
    if i.status == Status::NoData {
        let _ = writeln!(
            b,
            "<section class=\"warnings\"><p>No data in any window (no series matched, or no traffic): the alerts of this SLO cannot fire.</p></section>"
        );
    }
    let held = crate::evaluate::held_reasons(i);
    let longest = i.windows.last();
    let events = longest.and_then(|(w, v)| Some((w, v.events?))).map_or_else(
        || "unknown".to_owned(),
        |(w, n)| format!("{} <small>in {w}</small>", slo_core::num::format(n.round())),
    );
    let _ = writeln!(
        b,
        "<section class=\"tiles\" aria-label=\"Summary\">\n<div class=\"tile\"><h2>Objective</h2><p>{}</p></div>\n<div class=\"tile\"><h2>Availability</h2><p>{}</p><small>{}</small></div>\n<div class=\"tile\"><h2>Budget left</h2><p>{}</p></div>\n<div class=\"tile\"><h2>Events</h2><p>{events}</p></div>\n<div class=\"tile\"><h2>Status</h2><p>{}</p></div>\n</section>",
        percent(i.objective),
        i.period_error_ratio
            .map_or_else(|| "unknown".to_owned(), |r| percent(1.0 - r)),
        esc(&over),
        i.budget_remaining
            .map_or_else(|| "unknown".to_owned(), percent),
        status_badge(i.status)
    );
    if !held.is_empty() {
        let _ = writeln!(
            b,
            "<section class=\"warnings\" aria-label=\"Held pairs\"><ul>"
        );
        for h in held {
            let _ = writeln!(b, "<li>held: {}</li>", esc(&h));
        }
        let _ = writeln!(b, "</ul></section>");
    }
    let _ = writeln!(
        b,
        "<h2>Alerts</h2>\n<div class=\"scroll\"><table class=\"alerts\">\n<thead><tr><th scope=\"col\">Tier</th><th scope=\"col\">Pair</th><th scope=\"col\">Factor</th><th scope=\"col\">Threshold</th><th scope=\"col\">Short burn</th><th scope=\"col\">Long burn</th><th scope=\"col\">State</th><th scope=\"col\">For</th><th scope=\"col\">Budget spent when it fires</th><th scope=\"col\">Total outage: detect, reset</th></tr></thead>\n<tbody>"
    );
    let budget = slo.budget();
    let burn = |m: Option<slo_core::alert::Measurement>| {
        m.map(|m| m.error_ratio / (1.0 - i.objective))
            .filter(|b| b.is_finite())
            .map_or_else(|| "no data".to_owned(), |b| format!("{}×", number(b)))
    };
    for t in &i.alerts {
        let for_ = slo
            .alerting
            .tier(t.severity)
            .for_
            .map_or_else(|| "–".to_owned(), |d| d.to_string());
        for (n, p) in t.pairs.iter().enumerate() {
            // The tier's own state (pending under `for`) on its first row.
            let tier = if n == 0 {
                format!("{} {}", t.severity, tier_state(cycle, slo, i, t))
            } else {
                t.severity.to_string()
            };
            let d = &p.decision;
            let state = if d.firing {
                tier_badge(TierState::Firing)
            } else if d.held.is_some() {
                format!(
                    "<span class=\"badge held\">held</span> {}",
                    esc(&crate::evaluate::held_reason(d, i.min_events))
                )
            } else {
                tier_badge(TierState::Ok)
            };
            // `explain`'s numbers at an error ratio of 1.
            let pair = &d.pair;
            let outage = match (
                pair.detection_time(&budget, 1.0),
                pair.reset_time(&budget, 1.0),
            ) {
                (Some(detect), Some(reset)) => format!("{}, {}", seconds(detect), seconds(reset)),
                _ => "never fires".to_owned(),
            };
            let _ = writeln!(
                b,
                "<tr><td>{tier}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{for_}</td><td>{}</td><td>{outage}</td></tr>",
                p.long,
                p.short,
                number(p.factor),
                percent(d.threshold),
                burn(d.short),
                burn(d.long),
                percent(pair.budget_consumed(&budget)),
            );
        }
    }
    let _ = writeln!(b, "</tbody></table></div>");
}

/// The range picker and one burn-rate graph per long window.
fn graphs(
    b: &mut String,
    ui: &Ui,
    entry: usize,
    inst: Option<&InstanceResult>,
    q: &RangeQuery,
    replay: Result<std::sync::Arc<Report>, ApiError>,
) {
    let slo = &ui.entries[entry].slo;
    let _ = writeln!(b, "<h2>Burn rates</h2>");
    let _ = write!(b, "<nav class=\"ranges\" aria-label=\"Time range\">Range:");
    let base = detail_href(&slo.service, &slo.name);
    let inst_param = inst
        .map(|i| instance_query(&i.labels))
        .filter(|s| !s.is_empty())
        .map(|s| format!("&{}", &s[1..]))
        .unwrap_or_default();
    for r in ["1h", "6h", "1d", "3d", "7d"] {
        let current = q.range.as_deref() == Some(r);
        let _ = write!(
            b,
            " <a href=\"{base}?range={r}{inst_param}\"{}>{r}</a>",
            if current {
                " aria-current=\"page\""
            } else {
                ""
            }
        );
    }
    let period = slo.period.to_string();
    let _ = writeln!(
        b,
        " <a href=\"{base}?range={period}{inst_param}\">{period} (period)</a></nav>"
    );
    let report = match replay {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(
                b,
                "<section class=\"warnings\"><p>No graphs: {}</p></section>",
                esc(&e.message)
            );
            return;
        }
    };
    let labels = inst.map(|i| i.labels.clone()).unwrap_or_default();
    let Some(ir) = report.instance(&labels).or(report.instances.first()) else {
        let _ = writeln!(
            b,
            "<section class=\"warnings\"><p>No data to replay from {} to {}.</p></section>",
            slo_core::time::format(report.start),
            slo_core::time::format(report.end)
        );
        return;
    };
    let _ = writeln!(
        b,
        "<p class=\"meta\">Replayed from {} to {} every {} ({} evaluations, {} with data); shaded: when the tier fired. Times in UTC.</p>",
        slo_core::time::format(report.start),
        slo_core::time::format(report.end),
        report.step,
        report.steps,
        ir.steps_with_data
    );
    if ir.steps_with_data == 0 {
        let _ = writeln!(
            b,
            "<section class=\"warnings\"><p>No data in this range: nothing could alert.</p></section>"
        );
    }
    b.push_str(&charts(slo, &report, ir));
    let fired: Vec<String> = [Severity::Page, Severity::Ticket]
        .into_iter()
        .map(|s| format!("{} {}", ir.alerts_of(s).count(), s))
        .collect();
    let _ = writeln!(
        b,
        "<p>Alerts in this range: {}. The same replay as JSON: <a href=\"/api/v1/slos/{}/{}/backtest?start={}&amp;end={}&amp;step={}\">backtest</a>.</p>",
        fired.join(", "),
        url(&slo.service),
        url(&slo.name),
        report.start / 1000,
        report.end / 1000,
        report.step
    );
}

/// One burn-rate graph per long window of `slo`'s policy (its factors
/// drawn, the tier's firing periods shaded) and the budget left, from a
/// replay with burn rates: the detail page's graphs, and the offline
/// report's.
pub(super) fn charts(
    slo: &slo_core::spec::Slo,
    report: &Report,
    ir: &slo_core::backtest::InstanceReport,
) -> String {
    let mut b = String::new();
    for line in &ir.burn_rates {
        let pairs: Vec<_> = slo
            .policy
            .pairs()
            .iter()
            .filter(|p| p.long == line.window)
            .collect();
        let factors: Vec<(f64, String)> = pairs
            .iter()
            .map(|p| (p.factor, format!("{} {}×", p.severity, number(p.factor))))
            .collect();
        let firing: Vec<(i64, i64)> = ir
            .alerts
            .iter()
            .filter(|a| pairs.iter().any(|p| p.severity == a.severity))
            .map(|a| (a.start, a.end.unwrap_or(report.end)))
            .collect();
        let title = format!(
            "{} burn rate over {} ({})",
            slo.name,
            line.window,
            pairs
                .iter()
                .map(|p| format!("{} {}/{}", p.severity, p.long, p.short))
                .collect::<Vec<_>>()
                .join(", ")
        );
        b.push_str(&svg::burn_chart(
            &title,
            &line.points,
            &factors,
            &firing,
            (report.start, report.end),
        ));
    }
    if let Some(traffic) = &ir.traffic {
        let span = (report.start, report.end);
        let rate: Vec<(i64, f64)> = traffic
            .points
            .iter()
            .filter_map(|&(t, r, _)| Some((t, r?)))
            .collect();
        if !rate.is_empty() {
            b.push_str(&svg::linear_chart(
                &format!("{} requests per second over {}", slo.name, traffic.window),
                &rate,
                span,
                "events/s",
                false,
            ));
        }
        let ratio: Vec<(i64, f64)> = traffic.points.iter().map(|&(t, _, e)| (t, e)).collect();
        b.push_str(&svg::linear_chart(
            &format!("{} error ratio over {}", slo.name, traffic.window),
            &ratio,
            span,
            "error ratio",
            true,
        ));
    }
    b.push_str(&super::latency::section(slo, report, ir));
    if !ir.budget.is_empty() {
        let points: Vec<(i64, f64)> = ir
            .budget
            .iter()
            .filter_map(|p| Some((p.time, p.remaining?)))
            .collect();
        b.push_str(&svg::budget_chart(
            &format!("{} budget left", slo.name),
            &points,
            (report.start, report.end),
        ));
    }
    b
}

fn source_section(b: &mut String, ui: &Ui, e: &Entry) {
    let Some(file) = ui.files.get(e.file) else {
        return;
    };
    let _ = writeln!(
        b,
        "<h2>Spec</h2>\n<p class=\"meta\">{} (the SLO starts at line {})</p>\n<pre class=\"source\"><code>\n",
        esc(&file.path.display().to_string()),
        e.line
    );
    for (n, line) in file.source.lines().enumerate() {
        let n = n + 1;
        let class = if n == e.line { " class=\"here\"" } else { "" };
        // No newline between lines: each span is a block of its own.
        let _ = write!(
            b,
            "<span{class} id=\"L{n}\"><span class=\"ln\" aria-hidden=\"true\">{n:>4}</span> {}</span>",
            esc(line)
        );
    }
    let _ = writeln!(b, "</code></pre>");
}
