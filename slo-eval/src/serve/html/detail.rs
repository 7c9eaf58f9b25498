//! The detail page of one SLO, and the burn-rate charts it shares with
//! the lab and the offline report.

use std::fmt::Write as _;

use slo_core::backtest::Report;
use slo_core::duration::Duration;
use slo_core::evaluation::{InstanceResult, Status};
use slo_core::policy::Severity;
use slo_core::time::Timestamp;

use super::{
    Page, detail_href, esc, instance_query, number, percent, seconds, source_text, status_badge,
    tier_badge, tier_state, url,
};
use crate::serve::{ApiError, Cycle, Entry, RangeQuery, TierState, Ui, label_text, svg};

/// The detail page of one SLO: tiles, the alerts table, burn-rate graphs
/// over the replay, and the spec source.
pub(in crate::serve) fn detail(
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
    b.push_str(&crate::serve::lab::detail_section(
        slo,
        inst.map(|i| &i.labels),
    ));
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
    let held: Vec<String> = held.iter().map(|h| format!("held: {}", esc(h))).collect();
    super::warning_list(b, "Held pairs", &held);
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
pub(in crate::serve) fn charts(
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
    b.push_str(&crate::serve::latency::section(slo, report, ir));
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
