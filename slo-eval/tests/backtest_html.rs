//! `slo-eval backtest --html OUT.html`: one self-contained page for a
//! postmortem (no request leaves the file), with the graphs and tables of
//! every SLO replayed, and the numbers of `backtest --json`.

use std::path::{Path, PathBuf};

mod support;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn run(args: &[&str]) -> (i32, String, String) {
    support::outcome(support::slo_eval().args(args))
}

/// Every value of the attribute `name` in `html`.
fn attrs<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        })
        .collect()
}

#[test]
fn backtest_html_writes_one_self_contained_page_with_every_slo() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("shop.html");
    let ex = examples();
    let (code, stdout, stderr) = run(&[
        "backtest",
        ex.join("shop").to_str().unwrap_or_default(),
        "--data",
        ex.join("data/shop.om").to_str().unwrap_or_default(),
        "--json",
        "--html",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}"));
    // The JSON is as without --html: no burn-rate lines leak into it.
    assert!(!stdout.contains("burn_rates"), "{stdout}");
    let html = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));

    // Self-contained: no stylesheet, script, image or font to fetch; the
    // only links are to places in the page.
    for tag in ["<link", "<script", "<img", "<iframe", "@import", "url("] {
        assert!(!html.contains(tag), "{tag} in the page");
    }
    assert!(attrs(&html, "src").is_empty(), "src= in the page");
    for href in attrs(&html, "href") {
        assert!(href.starts_with('#'), "a link out of the page: {href}");
    }
    assert!(html.contains("<style>"), "no inline stylesheet");

    // Every SLO replayed, with its graphs: one per long window, the budget,
    // and the alert timeline; one bar per alert and incident of the JSON.
    let specs: Vec<slo_core::spec::Spec> = std::fs::read_dir(ex.join("shop"))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|e| {
            let p = e.unwrap_or_else(|e| panic!("{e}")).path();
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{e}"));
            slo_core::load::load_str(&text).unwrap_or_else(|d| panic!("{}", d[0]))
        })
        .collect();
    let reports = doc["slos"].as_array().cloned().unwrap_or_default();
    assert_eq!(reports.len(), 4);
    let sections: Vec<&str> = html.split("<section class=\"slo\"").skip(1).collect();
    assert_eq!(sections.len(), reports.len());
    for (r, section) in reports.iter().zip(&sections) {
        let (service, name) = (
            r["service"].as_str().unwrap_or_default(),
            r["slo"].as_str().unwrap_or_default(),
        );
        assert!(
            section.contains(&format!(
                "<h2>{service} <span class=\"sep\">/</span> {name}</h2>"
            )),
            "{service}/{name}: not in its section"
        );
        let slo = specs
            .iter()
            .flat_map(|s| &s.slos)
            .find(|s| s.service == service && s.name == name)
            .unwrap_or_else(|| panic!("{service}/{name}"));
        let longs: std::collections::BTreeSet<_> =
            slo.policy.pairs().iter().map(|p| p.long).collect();
        let instances = r["instances"].as_array().cloned().unwrap_or_default();
        // Per instance: a burn-rate graph per long window, the error ratio
        // (and the request rate when the SLI counts events), the budget and
        // the alert timeline.
        let traffic = if slo.sli.counts_events() { 2 } else { 1 };
        // A latency SLI: its p50, p90, p99 too, each a line with data.
        let latency = usize::from(matches!(slo.sli, slo_core::spec::Sli::Latency(_)));
        assert_eq!(
            section.matches("<svg ").count(),
            instances.len() * (longs.len() + traffic + latency + 2),
            "{service}/{name}"
        );
        assert_eq!(
            section.matches("<path class=\"line q2\" d=\"M").count(),
            instances.len() * latency,
            "{service}/{name}: p99 lines"
        );
        // Burn-rate lines with data, not empty frames.
        assert!(
            section.matches("<path class=\"line\" d=\"M").count()
                >= instances.len() * (longs.len() + 1),
            "{service}/{name}: missing lines"
        );
        let count = |key: &str| -> usize {
            instances
                .iter()
                .map(|i| i[key].as_array().map_or(0, Vec::len))
                .sum()
        };
        let bars = section.matches("<rect class=\"span page\"").count()
            + section.matches("<rect class=\"span ticket\"").count();
        assert_eq!(bars, count("alerts"), "{service}/{name}: alert bars");
        assert_eq!(
            section.matches("<rect class=\"span incident\"").count(),
            count("incidents"),
            "{service}/{name}: incident bars"
        );
        // The YAML of the policy replayed, to paste.
        assert!(
            section.contains("<pre class=\"yaml\"><code>alerting"),
            "{service}/{name}"
        );
    }
    // The outage pages: the page draws something, not only frames.
    assert!(html.contains("<rect class=\"span page\""));
}

#[test]
fn backtest_html_into_a_missing_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("no/such/dir/shop.html");
    let ex = examples();
    let (code, _, stderr) = run(&[
        "backtest",
        ex.join("shop").to_str().unwrap_or_default(),
        "--data",
        ex.join("data/shop.om").to_str().unwrap_or_default(),
        "--html",
        out.to_str().unwrap_or_default(),
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&out.display().to_string()) && !stderr.contains("panicked"),
        "{stderr}"
    );
}
