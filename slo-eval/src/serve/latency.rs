//! The detail page's latency graph of a histogram SLI: p50, p90 and p99
//! over the replay's range, the SLO's threshold drawn, gaps where a step
//! has no percentile (and said so above the graph, never drawn as zero).

use std::fmt::Write as _;

use slo_core::backtest::{InstanceReport, Report};
use slo_core::quantile::Latency;
use slo_core::spec::{LatencySli, Slo};

use super::html::{esc, number};
use super::svg;

/// The latency graph of `ir`, with a warning above it when some steps (or
/// all) have no percentile; empty for other SLIs or without percentiles.
pub(super) fn section(slo: &Slo, report: &Report, ir: &InstanceReport) -> String {
    let (Some(lat), slo_core::spec::Sli::Latency(l)) = (&ir.latency, &slo.sli) else {
        return String::new();
    };
    let mut b = String::new();
    let missing = report.steps.saturating_sub(lat.points.len());
    if let Some(e) = &lat.error {
        let _ = writeln!(
            b,
            "<section class=\"warnings\"><p>No latency percentiles: {}</p></section>",
            esc(e)
        );
    } else if missing > 0 {
        let _ = writeln!(
            b,
            "<section class=\"warnings\"><p>Latency: no percentile at {missing} of {} evaluations (no requests in the {} window, or a bucket missing): gaps in the graph, not zero.</p></section>",
            report.steps, lat.window
        );
    }
    b.push_str(&chart(slo, l, report, lat));
    b
}

fn chart(slo: &Slo, l: &LatencySli, report: &Report, lat: &Latency) -> String {
    let lines: Vec<(String, Vec<(i64, f64)>)> = lat
        .quantiles
        .iter()
        .enumerate()
        .map(|(n, q)| {
            let points = lat
                .points
                .iter()
                .filter_map(|(t, v)| Some((*t, (*v.get(n)?)?)))
                .collect();
            (format!("p{}", number(q * 100.0)), points)
        })
        .collect();
    let (unit, short) = match lat.unit.as_str() {
        "seconds" => ("latency in seconds", " s"),
        "milliseconds" => ("latency in milliseconds", " ms"),
        _ => ("latency, in the histogram's unit", ""),
    };
    // Short: the label sits in the narrow margin right of the plot.
    let threshold = format!("SLO {}{short}", number(l.threshold));
    let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    let message = lat.error.clone().unwrap_or_else(|| {
        format!(
            "no requests in any {} window: no percentile in this range",
            lat.window
        )
    });
    svg::latency_chart(
        &format!(
            "{} latency {} over {}",
            slo.name,
            names.join(", "),
            lat.window
        ),
        &lines,
        (l.threshold, &threshold),
        unit,
        &message,
        (report.start, report.end),
    )
}
