//! The list page: every SLO and instance, worst budget first.

use std::fmt::Write as _;

use slo_core::evaluation::{InstanceResult, Status};
use slo_core::policy::Severity;

use super::{
    Page, budget_cell, detail_href, esc, instance_query, number, percent, source_text,
    status_badge, tier_state,
};
use crate::serve::{Cycle, Entry, ListQuery, Ui, label_text};

/// The list page: every instance, worst budget first (unknown budgets
/// before all), with warnings for no data and low traffic.
pub(in crate::serve) fn list(ui: &Ui, cycle: &Cycle, q: &ListQuery) -> Page {
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    let label = q
        .label
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('=').unwrap_or((s, "")));
    let mut rows = crate::serve::instances(ui, cycle);
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
    let never: Vec<(&Entry, &crate::serve::Stale)> = ui
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
    super::warning_list(&mut b, "Warnings", &warnings);
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
    let failed: Vec<&crate::serve::Stale> = (0..ui.entries.len())
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
fn stale_badge(st: &crate::serve::Stale) -> String {
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
