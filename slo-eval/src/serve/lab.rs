//! The policy lab: one SLO's history replayed under its spec's policy and
//! under alternatives side by side (presets derived from the spec, or an
//! `alerting:` block edited in a textarea), each with its alert timeline,
//! pages and tickets, precision and recall, detection and reset times
//! against the incidents detected in the data, the budget spent before
//! each alert, and the YAML to paste. A plain form (GET or POST): no
//! scripts. Also the offline report of `backtest --html`, built from the
//! same pieces.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use slo_core::backtest::{InstanceReport, Report};
use slo_core::duration::Duration;
use slo_core::policy::{Policy, Preset, Severity};
use slo_core::spec::{Labels, Slo, Spec};
use slo_core::time;

use super::html::{self, Page, esc, number, percent, seconds};
use super::{ApiError, RangeQuery, Ui, range_of, svg};

mod mark;

/// The largest request body taken (an `alerting:` block is a few hundred
/// bytes).
pub(super) const MAX_BODY: usize = 64 * 1024;
/// The most policies replayed for one lab view.
const MAX_POLICIES: usize = 6;
/// The key of the spec's own policy in the form.
const SPEC: &str = "spec";

/// `text`, an `alerting:` block, read for `slo`; a 400 naming each
/// mistake's line and column in `text` otherwise.
pub(super) fn alternative(slo: &Slo, text: &str) -> Result<Slo, ApiError> {
    slo_core::load::alternative(slo, text)
        .map(|(s, _)| s)
        .map_err(|diags| ApiError::bad(located("malformed alerting block", &diags)))
}

/// `what`, then each diagnostic as `LINE:COLUMN: error: FIELD: MESSAGE`
/// with its help.
fn located(what: &str, diags: &[slo_core::diagnostic::Diagnostic]) -> String {
    let mut m = format!("{what} (LINE:COLUMN in the text given):\n");
    for d in diags {
        let _ = writeln!(m, "{d}");
        if let Some(help) = &d.help {
            let _ = writeln!(m, "  help: {help}");
        }
    }
    m.trim_end().to_owned()
}

/// The presets offered beside the spec's policy: each a change of the
/// spec's own `alerting:` block, so its YAML keeps the alert's name,
/// labels and annotations. Key, name, and the block.
fn presets(slo: &Slo) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    let mut workbook = slo.clone();
    workbook.policy = Policy::new(&Preset::Workbook.windows(), slo.period);
    workbook
        .policy
        .retain(|p| !slo.alerting.tier(p.severity).disabled);
    out.push(("workbook", "Workbook windows", workbook));
    let mut page_for = slo.clone();
    page_for.alerting.page.for_ = Some(Duration::from_mins(5));
    out.push(("page-for-5m", "Pages held 5m (for: 5m)", page_for));
    let mut pages = slo.clone();
    pages.alerting.ticket.disabled = true;
    pages.policy.retain(|p| p.severity != Severity::Ticket);
    out.push(("pages-only", "Pages only (tickets off)", pages));
    if slo.sli.counts_events() {
        let mut guarded = slo.clone();
        guarded.alerting.min_events = 100.0;
        out.push((
            "min-events-100",
            "At least 100 events (min_events)",
            guarded,
        ));
    }
    out.into_iter()
        .map(|(k, n, s)| (k, n, slo_core::native::alerting_yaml(&s)))
        .collect()
}

/// What the lab was asked for, from the query string or a form body.
#[derive(Debug, Default)]
struct LabRequest {
    /// Preset keys (and [`SPEC`]) chosen.
    chosen: Vec<String>,
    /// An edited `alerting:` block.
    alerting: Option<String>,
    /// Incidents marked by the user (an incidents file's text), scored
    /// against instead of the detected ones.
    incidents: Option<String>,
    /// An incident's start clicked on the graph, its end not yet.
    mark: Option<String>,
    range: RangeQuery,
}

impl LabRequest {
    fn parse(raw: &[u8]) -> Self {
        let mut r = Self::default();
        for (k, v) in url::form_urlencoded::parse(raw) {
            let v = v.into_owned();
            let some = || Some(v.clone()).filter(|s| !s.trim().is_empty());
            match &*k {
                "p" => r.chosen.push(v),
                "alerting" => r.alerting = some(),
                "incidents" => r.incidents = some(),
                "mark" => r.mark = some(),
                "start" => r.range.start = some(),
                "end" => r.range.end = some(),
                "step" => r.range.step = some(),
                "range" => r.range.range = some(),
                "instance" => r.range.instance = some(),
                _ => {}
            }
        }
        r
    }
}

pub(super) async fn lab_get(
    State(ui): State<Arc<Ui>>,
    Path((service, slo)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let req = LabRequest::parse(q.unwrap_or_default().as_bytes());
    lab(&ui, &service, &slo, req).await
}

pub(super) async fn lab_post(
    State(ui): State<Arc<Ui>>,
    Path((service, slo)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    lab(&ui, &service, &slo, LabRequest::parse(&body)).await
}

/// One policy of the lab: its key, name, SLO and YAML.
struct Column {
    key: String,
    name: String,
    /// `None`: the spec's own.
    slo: Option<Slo>,
    yaml: String,
}

async fn lab(ui: &Ui, service: &str, name: &str, mut req: LabRequest) -> Response {
    let Some(entry) = ui.find(service, name) else {
        return html::not_found(&format!("no SLO {name:?} of service {service:?}"));
    };
    let spec_slo = &ui.entries[entry].slo;
    let spec_yaml = slo_core::native::alerting_yaml(spec_slo);
    let presets = presets(spec_slo);
    if req.chosen.is_empty() && req.alerting.is_none() {
        req.chosen.push(SPEC.to_owned());
        req.chosen
            .extend(presets.iter().map(|(k, _, _)| (*k).to_owned()));
    }
    let mut errors = Vec::new();
    let mut status = StatusCode::OK;
    let mut columns: Vec<Column> = Vec::new();
    let mut push = |c: Column, errors: &mut Vec<String>| {
        if columns.iter().any(|o| o.yaml == c.yaml) {
            return;
        }
        if columns.len() >= MAX_POLICIES {
            errors.push(format!(
                "at most {MAX_POLICIES} policies at once: {} left out",
                c.name
            ));
            return;
        }
        columns.push(c);
    };
    for key in &req.chosen {
        if key == SPEC {
            push(
                Column {
                    key: SPEC.to_owned(),
                    name: "The spec's policy".to_owned(),
                    slo: None,
                    yaml: spec_yaml.clone(),
                },
                &mut errors,
            );
        } else if let Some((k, n, yaml)) = presets.iter().find(|(k, _, _)| k == key) {
            match alternative(spec_slo, yaml) {
                Ok(s) => push(
                    Column {
                        key: (*k).to_owned(),
                        name: (*n).to_owned(),
                        slo: Some(s),
                        yaml: yaml.clone(),
                    },
                    &mut errors,
                ),
                Err(e) => errors.push(format!("preset {k} does not apply: {}", e.message)),
            }
        } else {
            status = StatusCode::BAD_REQUEST;
            let known: Vec<&str> = presets.iter().map(|(k, _, _)| *k).collect();
            errors.push(format!(
                "unknown preset {key:?}: expected {SPEC} or one of {}",
                known.join(", ")
            ));
        }
    }
    if let Some(text) = &req.alerting {
        match alternative(spec_slo, text) {
            Ok(s) => push(
                Column {
                    key: "edited".to_owned(),
                    name: "Edited".to_owned(),
                    yaml: slo_core::native::alerting_yaml(&s),
                    slo: Some(s),
                },
                &mut errors,
            ),
            Err(e) => {
                status = StatusCode::BAD_REQUEST;
                errors.push(e.message);
            }
        }
    }
    let incidents = req.incidents.as_deref().and_then(|text| {
        slo_core::incident::load_str_for(text, &[spec_slo])
            .map_err(|diags| {
                status = StatusCode::BAD_REQUEST;
                errors.push(located("malformed incidents", &diags));
            })
            .ok()
    });
    let mut replays = Vec::new();
    let mut marking = None;
    match range_of(ui, entry, &req.range) {
        Ok((start, end, step)) => {
            match mark::pending(req.mark.as_deref(), (start, end)) {
                Ok(pending) => marking = Some(((start, end, step), pending)),
                Err(e) => {
                    status = StatusCode::BAD_REQUEST;
                    errors.push(e);
                }
            }
            // Every column reads the same history: once Prometheus did not
            // answer, the others would only wait a timeout each to fail.
            let mut down: Option<String> = None;
            for c in &columns {
                if let Some(message) = &down {
                    replays.push(Err(ApiError::upstream(message.clone())));
                    continue;
                }
                let alt = super::Alt {
                    slo: c.slo.as_ref(),
                    incidents: incidents.as_deref(),
                };
                let r = ui.replay_policy(entry, alt, start, end, step, false).await;
                if let Err(e) = &r
                    && e.is_upstream()
                {
                    down = Some(e.message.clone());
                }
                replays.push(r);
            }
        }
        Err(e) => {
            status = StatusCode::BAD_REQUEST;
            errors.push(e.message);
        }
    }
    let wanted = slo_core::instance::from_text(req.range.instance.as_deref().unwrap_or(""));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p class=\"crumbs\"><a href=\"/\">All SLOs</a> › <a href=\"{}\">{} / {}</a></p>\n<h1>Policy lab <span class=\"sep\">·</span> {} <span class=\"sep\">/</span> {}</h1>",
        html::detail_href(service, name),
        esc(service),
        esc(name),
        esc(service),
        esc(name)
    );
    if !errors.is_empty() {
        let _ = writeln!(
            b,
            "<section class=\"warnings\" aria-label=\"Problems\"><ul>"
        );
        for e in &errors {
            let _ = writeln!(b, "<li><pre class=\"diag\">{}</pre></li>", esc(e));
        }
        let _ = writeln!(b, "</ul></section>");
    }
    let reports: Vec<(&Column, &Report)> = columns
        .iter()
        .zip(&replays)
        .filter_map(|(c, r)| Some((c, r.as_ref().ok()?.as_ref())))
        .collect();
    for (c, r) in columns.iter().zip(&replays) {
        if let Err(e) = r {
            let _ = writeln!(
                b,
                "<section class=\"warnings\"><p>{}: no replay: {}</p></section>",
                esc(&c.name),
                esc(&e.message)
            );
        }
    }
    if let Some((_, first)) = reports.first() {
        let inst = first.instance(&wanted).or(first.instances.first());
        let _ = writeln!(
            b,
            "<p class=\"meta\">Replayed from {} to {} every {} ({} evaluations){}. Incidents: {}, the same for every policy. Times in UTC.</p>",
            time::format(first.start),
            time::format(first.end),
            first.step,
            first.steps,
            inst.filter(|i| !i.labels.is_empty())
                .map(|i| format!(", instance {}", esc(&slo_core::instance::braces(&i.labels))))
                .unwrap_or_default(),
            match first.incident_source {
                slo_core::backtest::IncidentSource::Given => "as marked below",
                slo_core::backtest::IncidentSource::Detected =>
                    "detected in the data (the budget burning at a significant rate)",
            }
        );
        if let Some((range, pending)) = marking {
            let mut keep: Vec<(&str, &str)> =
                req.chosen.iter().map(|c| ("p", c.as_str())).collect();
            keep.extend(req.alerting.as_deref().map(|a| ("alerting", a)));
            keep.extend(req.range.instance.as_deref().map(|i| ("instance", i)));
            let m = mark::Marking {
                base: format!("{}/lab", html::detail_href(service, name)),
                keep,
                range,
                incidents: incidents.as_deref().unwrap_or(&[]),
                pending,
            };
            b.push_str(&m.section());
        }
        summary_table(&mut b, &reports, &wanted);
        let _ = writeln!(b, "<div class=\"lab-grid\">");
        for (c, r) in &reports {
            let ir = r.instance(&wanted).or(r.instances.first());
            let slo = c.slo.as_ref().unwrap_or(spec_slo);
            let _ = writeln!(
                b,
                "<section class=\"policy\" data-policy=\"{}\" aria-label=\"{}\">\n<h2>{}</h2>",
                esc(&c.key),
                esc(&c.name),
                esc(&c.name)
            );
            match ir {
                Some(ir) => b.push_str(&policy_block(slo, r, ir, &c.yaml)),
                None => {
                    let _ = writeln!(
                        b,
                        "<p class=\"warnings\">No data to replay in this range.</p>"
                    );
                }
            }
            let _ = writeln!(b, "</section>");
        }
        let _ = writeln!(b, "</div>");
    }
    let text = req.alerting.clone().unwrap_or(spec_yaml);
    let marked = req.incidents.as_deref().unwrap_or("");
    b.push_str(&form(
        spec_slo,
        &req.chosen,
        (&text, marked),
        &req.range,
        &presets,
    ));
    let mut response = html::page(Page {
        title: format!("{service}/{name} – policy lab"),
        body: b,
    });
    *response.status_mut() = status;
    response
}

/// The policies side by side in one table: counts and scores.
fn summary_table(b: &mut String, reports: &[(&Column, &Report)], wanted: &Labels) {
    let _ = writeln!(
        b,
        "<h2>Side by side</h2>\n<div class=\"scroll\"><table class=\"lab-summary\">\n<thead><tr><th scope=\"col\">Policy</th><th scope=\"col\">Pages</th><th scope=\"col\">Tickets</th><th scope=\"col\">Precision</th><th scope=\"col\">Recall</th><th scope=\"col\">Detection (mean, max)</th><th scope=\"col\">Reset (mean)</th><th scope=\"col\">Budget spent before firing (mean, max)</th></tr></thead>\n<tbody>"
    );
    for (c, r) in reports {
        let Some(ir) = r.instance(wanted).or(r.instances.first()) else {
            continue;
        };
        let q = ir.quality_of(None);
        let opt = |x: Option<f64>, f: fn(f64) -> String| x.map_or_else(|| "–".to_owned(), f);
        let _ = writeln!(
            b,
            "<tr data-policy=\"{}\" data-pages=\"{}\" data-tickets=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}, {}</td><td>{}</td><td>{}, {}</td></tr>",
            esc(&c.key),
            ir.alerts_of(Severity::Page).count(),
            ir.alerts_of(Severity::Ticket).count(),
            esc(&c.name),
            ir.alerts_of(Severity::Page).count(),
            ir.alerts_of(Severity::Ticket).count(),
            opt(q.and_then(|q| q.precision), percent),
            opt(q.and_then(|q| q.recall), percent),
            opt(q.and_then(|q| q.mean_detection_secs), seconds),
            opt(q.and_then(|q| q.max_detection_secs), seconds),
            opt(q.and_then(|q| q.mean_reset_secs), seconds),
            opt(q.and_then(|q| q.mean_budget_before_firing), percent),
            opt(q.and_then(|q| q.max_budget_before_firing), percent),
        );
    }
    let _ = writeln!(b, "</tbody></table></div>");
}

/// One policy's replay of one instance: the alert timeline, the scores
/// per tier, each alert with the budget spent before it, each incident
/// with its detection and reset, and the YAML.
fn policy_block(slo: &Slo, r: &Report, ir: &InstanceReport, yaml: &str) -> String {
    let mut b = String::new();
    let tip = |what: &str, s: i64, e: Option<i64>| {
        format!(
            "{what} from {} to {}",
            time::format(s),
            e.map_or_else(|| "the end (still firing)".to_owned(), time::format)
        )
    };
    let mut lanes = vec![svg::Lane {
        label: "incident".to_owned(),
        spans: ir
            .incidents
            .iter()
            .map(|o| {
                let i = &o.incident;
                (
                    i.start,
                    i.end,
                    "incident",
                    tip("incident", i.start, Some(i.end)),
                )
            })
            .collect(),
    }];
    for s in slo.policy.severities() {
        lanes.push(svg::Lane {
            label: s.to_string(),
            spans: ir
                .alerts_of(s)
                .map(|a| {
                    let class = match s {
                        Severity::Page => "page",
                        Severity::Ticket => "ticket",
                    };
                    (
                        a.start,
                        a.end.unwrap_or(r.end),
                        class,
                        tip(s.as_str(), a.start, a.end),
                    )
                })
                .collect(),
        });
    }
    b.push_str(&svg::timeline(
        &format!("{} alerts and incidents", slo.name),
        &lanes,
        (r.start, r.end),
    ));
    if ir.steps_with_data == 0 {
        let _ = writeln!(
            b,
            "<p class=\"warnings\">No data in this range: nothing could alert.</p>"
        );
    }
    pairs_table(&mut b, slo);
    // Per tier: counts and scores.
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"quality\">\n<thead><tr><th scope=\"col\">Tier</th><th scope=\"col\">Alerts</th><th scope=\"col\">Precision</th><th scope=\"col\">Recall</th><th scope=\"col\">Detection mean</th><th scope=\"col\">Reset mean</th></tr></thead>\n<tbody>"
    );
    for q in &ir.quality {
        let opt = |x: Option<f64>, f: fn(f64) -> String| x.map_or_else(|| "–".to_owned(), f);
        let _ = writeln!(
            b,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{} <small>({}/{})</small></td><td>{}</td><td>{}</td></tr>",
            q.severity.map_or("all", Severity::as_str),
            q.alerts,
            opt(q.precision, percent),
            opt(q.recall, percent),
            q.detected,
            q.incidents,
            opt(q.mean_detection_secs, seconds),
            opt(q.mean_reset_secs, seconds),
        );
    }
    let _ = writeln!(b, "</tbody></table></div>");
    // Every alert: when, how hard, and what it cost before it fired.
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"lab-alerts\">\n<thead><tr><th scope=\"col\">Tier</th><th scope=\"col\">Fired</th><th scope=\"col\">Resolved</th><th scope=\"col\">Peak burn</th><th scope=\"col\">Budget spent before it fired</th><th scope=\"col\">Budget left then</th></tr></thead>\n<tbody>"
    );
    for a in &ir.alerts {
        // The incident this alert caught first: what it had spent by then.
        let caught = ir
            .incidents
            .iter()
            .flat_map(|o| &o.detections)
            .find(|d| d.severity == Some(a.severity) && d.fired_at == Some(a.start));
        let spent = match caught {
            Some(d) => d
                .budget_before_firing
                .map_or_else(|| "unknown".to_owned(), percent),
            None => "no incident (false alarm)".to_owned(),
        };
        let left = ir
            .budget
            .iter()
            .rev()
            .find(|p| p.time <= a.start)
            .and_then(|p| p.remaining)
            .map_or_else(|| "unknown".to_owned(), percent);
        let _ = writeln!(
            b,
            "<tr class=\"{0}\"><td>{0}</td><td><time>{1}</time></td><td>{2}</td><td>{3}×</td><td>{spent}</td><td>{left}</td></tr>",
            a.severity,
            time::format(a.start),
            a.end
                .map_or_else(|| "still firing".to_owned(), time::format),
            number(a.peak_burn_rate),
        );
    }
    if ir.alerts.is_empty() {
        let _ = writeln!(b, "<tr><td colspan=\"6\">No alert in this range.</td></tr>");
    }
    let _ = writeln!(b, "</tbody></table></div>");
    // Every incident: caught by which tier, how fast, and the reset.
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"lab-incidents\">\n<thead><tr><th scope=\"col\">Incident</th><th scope=\"col\">Budget it spent</th><th scope=\"col\">Detected by</th><th scope=\"col\">Detection</th><th scope=\"col\">Reset</th><th scope=\"col\">Budget spent before firing</th></tr></thead>\n<tbody>"
    );
    for o in &ir.incidents {
        let any = o.detections.iter().find(|d| d.severity.is_none());
        let by: Vec<&str> = o
            .detections
            .iter()
            .filter(|d| d.fired_at.is_some())
            .filter_map(|d| d.severity.map(Severity::as_str))
            .collect();
        let opt = |x: Option<f64>, f: fn(f64) -> String| x.map_or_else(|| "–".to_owned(), f);
        let _ = writeln!(
            b,
            "<tr><td><time>{}</time> → <time>{}</time></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            time::format(o.incident.start),
            time::format(o.incident.end),
            opt(o.budget_consumed, percent),
            if by.is_empty() {
                "<strong>missed</strong>".to_owned()
            } else {
                by.join(", ")
            },
            opt(any.and_then(|d| d.detection_secs), seconds),
            opt(any.and_then(|d| d.reset_secs), seconds),
            opt(any.and_then(|d| d.budget_before_firing), percent),
        );
    }
    if ir.incidents.is_empty() {
        let _ = writeln!(
            b,
            "<tr><td colspan=\"6\">No incident in this range.</td></tr>"
        );
    }
    let _ = writeln!(b, "</tbody></table></div>");
    let _ = writeln!(
        b,
        "<details open><summary>YAML to paste into the SLO</summary><pre class=\"yaml\"><code>{}</code></pre></details>",
        esc(yaml)
    );
    b
}

/// The policy's pairs with `explain`'s numbers: factor, threshold, the
/// budget spent when a pair fires, and a total outage's detection and
/// reset; each tier's `for` and the `min_events` guard.
fn pairs_table(b: &mut String, slo: &Slo) {
    let budget = slo.budget();
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"pairs\">\n<thead><tr><th scope=\"col\">Tier</th><th scope=\"col\">Pair</th><th scope=\"col\">Factor</th><th scope=\"col\">Threshold</th><th scope=\"col\">Budget spent when it fires</th><th scope=\"col\">Total outage: detect, reset</th><th scope=\"col\">For</th></tr></thead>\n<tbody>"
    );
    for p in slo.policy.pairs() {
        let outage = match (p.detection_time(&budget, 1.0), p.reset_time(&budget, 1.0)) {
            (Some(d), Some(r)) => format!("{}, {}", seconds(d), seconds(r)),
            _ => "never fires".to_owned(),
        };
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{outage}</td><td>{}</td></tr>",
            p.severity,
            p.long,
            p.short,
            number(p.factor),
            percent(p.error_ratio_threshold(&budget)),
            percent(p.budget_consumed(&budget)),
            slo.alerting
                .tier(p.severity)
                .for_
                .map_or_else(|| "–".to_owned(), |d| d.to_string()),
        );
    }
    if slo.policy.pairs().is_empty() {
        let _ = writeln!(
            b,
            "<tr><td colspan=\"7\">No pair: this policy never alerts.</td></tr>"
        );
    }
    let _ = writeln!(b, "</tbody></table></div>");
    if slo.alerting.min_events > 0.0 {
        let _ = writeln!(
            b,
            "<p class=\"meta\">A pair fires only when its long window counted at least {} events (<code>min_events</code>).</p>",
            number(slo.alerting.min_events)
        );
    }
}

/// The lab's form: presets to compare, an `alerting:` block to edit, the
/// range. A plain POST to the lab's page.
fn form(
    slo: &Slo,
    chosen: &[String],
    (text, incidents): (&str, &str),
    range: &RangeQuery,
    presets: &[(&'static str, &'static str, String)],
) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<form class=\"lab-form\" method=\"post\" action=\"{}/lab\">\n<fieldset><legend>Compare</legend>",
        html::detail_href(&slo.service, &slo.name)
    );
    let all = std::iter::once((SPEC, "The spec's policy"))
        .chain(presets.iter().map(|(k, n, _)| (*k, *n)));
    for (k, n) in all {
        let checked = if chosen.iter().any(|c| c == k) {
            " checked"
        } else {
            ""
        };
        let _ = writeln!(
            b,
            "<label><input type=\"checkbox\" name=\"p\" value=\"{k}\"{checked}> {}</label>",
            esc(n)
        );
    }
    let _ = writeln!(
        b,
        "</fieldset>\n<label for=\"lab-alerting\">And this <code>alerting:</code> block (slo/v1: windows, factors or budget shares, <code>min_events</code>, <code>for</code>):</label>\n<textarea id=\"lab-alerting\" name=\"alerting\" rows=\"12\" spellcheck=\"false\">{}</textarea>",
        esc(text)
    );
    let _ = writeln!(
        b,
        "<label for=\"lab-incidents\">Score against these incidents instead of the detected ones (as <code>backtest --incidents</code> reads them; start, end, optional severity):</label>\n<textarea id=\"lab-incidents\" name=\"incidents\" rows=\"5\" spellcheck=\"false\" placeholder=\"incidents:&#10;  - start: 2026-11-04T14:00:00Z&#10;    end: 2026-11-04T14:20:00Z&#10;    severity: page\">{}</textarea>",
        esc(incidents)
    );
    let _ = write!(b, "<label>Range <select name=\"range\">");
    let period = slo.period.to_string();
    for r in ["1d", "3d", "7d", period.as_str()] {
        let sel = if range.range.as_deref() == Some(r) {
            " selected"
        } else {
            ""
        };
        let _ = write!(b, "<option{sel}>{r}</option>");
    }
    let _ = writeln!(b, "</select></label>");
    for (k, v) in [
        ("instance", &range.instance),
        ("start", &range.start),
        ("end", &range.end),
        ("step", &range.step),
    ] {
        if let Some(v) = v {
            let _ = writeln!(
                b,
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(v)
            );
        }
    }
    let _ = writeln!(b, "<button type=\"submit\">Replay</button>\n</form>");
    b
}

/// The lab's entry on the detail page: what it does and its form.
pub(super) fn detail_section(slo: &Slo, instance: Option<&Labels>) -> String {
    let range = RangeQuery {
        instance: instance
            .filter(|l| !l.is_empty())
            .map(slo_core::instance::to_text),
        ..RangeQuery::default()
    };
    let presets = presets(slo);
    let chosen: Vec<String> = std::iter::once(SPEC)
        .chain(presets.iter().map(|(k, _, _)| *k))
        .map(str::to_owned)
        .collect();
    let mut b = format!(
        "<h2 id=\"lab\">Policy lab</h2>\n<p class=\"meta\">Replay this SLO's history under its policy and alternatives, side by side: alerts, precision, recall, detection and reset, the budget spent before each alert. <a href=\"{}/lab\">Open the lab with every preset</a>.</p>\n",
        html::detail_href(&slo.service, &slo.name)
    );
    b.push_str(&form(
        slo,
        &chosen,
        (&slo_core::native::alerting_yaml(slo), ""),
        &range,
        &presets,
    ));
    b
}

/// `backtest --html`: one self-contained page (the stylesheet inline, the
/// graphs inline SVG, no link leaving the file) with, for each SLO
/// instance replayed, the detail page's burn-rate and budget graphs and
/// the lab's timeline and tables under the spec's policy.
pub fn offline_report(specs: &[Spec], reports: &[Report], skipped: &[String]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Backtest</h1>");
    if let (Some(first), Some(last)) = (reports.first(), reports.last()) {
        let _ = writeln!(
            b,
            "<p class=\"meta\">{} SLOs replayed from {} to {} every {}. Times in UTC.</p>",
            reports.len(),
            time::format(first.start),
            time::format(last.end),
            first.step
        );
    }
    if !skipped.is_empty() {
        let _ = writeln!(b, "<section class=\"warnings\"><ul>");
        for s in skipped {
            let _ = writeln!(b, "<li>skipped: {}</li>", esc(s));
        }
        let _ = writeln!(b, "</ul></section>");
    }
    let _ = writeln!(b, "<nav class=\"toc\" aria-label=\"SLOs\"><ul>");
    for (n, r) in reports.iter().enumerate() {
        let _ = writeln!(
            b,
            "<li><a href=\"#slo-{n}\">{} / {}</a></li>",
            esc(&r.service),
            esc(&r.slo)
        );
    }
    let _ = writeln!(b, "</ul></nav>");
    let slos = specs.iter().flat_map(|s| &s.slos);
    for (n, r) in reports.iter().enumerate() {
        let Some(slo) = slos
            .clone()
            .find(|s| s.service == r.service && s.name == r.slo)
        else {
            continue;
        };
        let _ = writeln!(
            b,
            "<section class=\"slo\" id=\"slo-{n}\">\n<h2>{} <span class=\"sep\">/</span> {}</h2>\n<p class=\"meta\">Objective {}% over {}, {} SLI.</p>",
            esc(&r.service),
            esc(&r.slo),
            number(r.objective),
            r.period,
            slo.sli.kind()
        );
        for w in &r.warnings {
            let _ = writeln!(b, "<p class=\"warnings\">{}</p>", esc(w));
        }
        for ir in &r.instances {
            if !ir.labels.is_empty() {
                let _ = writeln!(
                    b,
                    "<h3>{}</h3>",
                    esc(&slo_core::instance::braces(&ir.labels))
                );
            }
            b.push_str(&html::charts(slo, r, ir));
            b.push_str(&policy_block(
                slo,
                r,
                ir,
                &slo_core::native::alerting_yaml(slo),
            ));
        }
        let _ = writeln!(b, "</section>");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<title>Backtest</title>\n<style>\n{}</style>\n</head>\n<body>\n<main id=\"main\">\n{b}</main>\n</body>\n</html>\n",
        include_str!("style.css")
    )
}
