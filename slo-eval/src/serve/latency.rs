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

#[cfg(test)]
mod tests {
    use super::*;
    use slo_core::duration::Duration;

    fn slo() -> Slo {
        let spec = slo_core::load::load_str(
            "version: slo/v1\nservice: api\nslos:\n  - name: fast\n    objective: 99\n    sli:\n      latency: {histogram: rpc_duration_seconds, threshold: 0.3}\n",
        )
        .unwrap_or_else(|d| panic!("{}", d[0]));
        spec.slos[0].clone()
    }

    fn sli(slo: &Slo) -> &LatencySli {
        match &slo.sli {
            slo_core::spec::Sli::Latency(l) => l,
            _ => panic!("not latency"),
        }
    }

    /// A replay of 11 steps, a minute apart, with `latency`.
    fn report(slo: &Slo, latency: Latency) -> Report {
        Report {
            service: "api".into(),
            slo: "fast".into(),
            objective: 99.0,
            period: slo.period,
            start: 0,
            end: 600_000,
            step: Duration::from_mins(1),
            steps: 11,
            budget_history: slo.period,
            incident_source: slo_core::backtest::IncidentSource::Detected,
            instances: vec![InstanceReport {
                labels: Default::default(),
                steps_with_data: 11,
                alerts: Vec::new(),
                budget: Vec::new(),
                incidents: Vec::new(),
                quality: Vec::new(),
                burn_rates: Vec::new(),
                traffic: None,
                latency: Some(latency),
            }],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_failed_query_is_a_message_on_the_chart_and_no_line() {
        let slo = slo();
        let lat = Latency::failed(
            sli(&slo),
            Duration::from_mins(5),
            "the p50 query to Prometheus failed: 500".into(),
        );
        let report = report(&slo, lat);
        let html = section(&slo, &report, &report.instances[0]);
        assert!(
            html.contains("No latency percentiles: the p50 query"),
            "{html}"
        );
        assert!(
            html.contains(">the p50 query to Prometheus failed: 500</text>"),
            "{html}"
        );
        assert!(!html.contains("<path"), "a line without data: {html}");
        assert!(html.contains(">SLO 0.3 s<"), "{html}");
    }

    #[test]
    fn gaps_are_said_and_never_drawn_as_zero() {
        let slo = slo();
        // Values at minutes 0-3 and 8-10 only.
        let points = [0, 1, 2, 3, 8, 9, 10]
            .into_iter()
            .map(|m| (m * 60_000, vec![Some(0.1), Some(0.2), Some(0.25)]))
            .collect();
        let report = report(
            &slo,
            Latency::new(sli(&slo), Duration::from_mins(5), points),
        );
        let html = section(&slo, &report, &report.instances[0]);
        assert!(
            html.contains("no percentile at 4 of 11 evaluations"),
            "{html}"
        );
        // Each line breaks at the gap (a new M), none drops to the axis.
        let p50 = html
            .split("<path class=\"line q0\" d=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("no p50: {html}"));
        assert_eq!(p50.matches('M').count(), 2, "{p50}");
    }
}
