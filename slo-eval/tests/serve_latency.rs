//! Latency percentiles of histogram SLIs, against a real Prometheus holding
//! the example shop and a synthetic histogram (two routes, a counter
//! reset, a route gone quiet for an hour, a bucket whose `le` changes
//! spelling from `0.1` to `0.10` halfway):
//!
//! - the core's `histogram_quantile` over the recorded data equals
//!   Prometheus's `histogram_quantile` at every step, gaps included;
//! - the detail page draws p50, p90 and p99 with the SLO's threshold, from
//!   `serve --data` and from `serve --prometheus`, whose percentile queries
//!   are cached with the replay;
//! - a failed percentile query is a message, not a failed replay.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slo_core::duration::Duration;
use slo_core::quantile::{self, PERCENTILES};
use slo_core::series::Steps;
use slo_core::spec::{Labels, LatencySli, Sli};
use slo_eval::prometheus::{Client, Endpoint};
use support::{OpenMetrics, Prometheus, Served};

const SPEC: &str = r#"
version: slo/v1
service: api
slos:
  - name: latency
    objective: 99
    sli:
      latency:
        histogram: api_duration_seconds
        selector: '{job="api"}'
        threshold: 0.25
        group_by: [route]
"#;

const STEP: i64 = 30;
const HOUR: i64 = 3600;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace root"))
        .to_path_buf()
}

/// The synthetic history (Unix seconds).
struct Synthetic {
    start: i64,
    end: i64,
    /// Route b serves nothing and is not scraped.
    quiet: (i64, i64),
    /// Route a's counters restart from 0.
    reset: i64,
    /// From here route b's `le="0.1"` bucket is written `le="0.10"`.
    respelled: i64,
}

impl Synthetic {
    fn new() -> Self {
        let end = (support::now() / 300) * 300 - 6 * HOUR;
        let start = end - 12 * HOUR;
        Self {
            start,
            end,
            quiet: (start + 4 * HOUR, start + 5 * HOUR),
            reset: start + 7 * HOUR,
            respelled: start + 9 * HOUR,
        }
    }

    /// Cumulative bucket counts of one route, every 30 s: 20 requests a
    /// second, their latency drifting over the hours (a different shape
    /// per route) so every bucket moves.
    fn write(&self, om: &mut OpenMetrics) {
        const BOUNDS: [&str; 6] = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
        for route in ["a", "b"] {
            let mut counts = [0.0_f64; 6];
            let mut points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 6];
            let mut respelled: Vec<(i64, f64)> = Vec::new();
            let mut t = self.start;
            while t <= self.end {
                let quiet = route == "b" && (self.quiet.0..self.quiet.1).contains(&t);
                if route == "a" && t == self.reset {
                    counts = [0.0; 6];
                }
                if !quiet {
                    let phase = (t - self.start) as f64 / HOUR as f64;
                    let slow = if route == "a" { 0.3 } else { 0.6 } + 0.25 * phase.sin();
                    // Shares of requests under each bound (cumulative).
                    let under = [
                        0.2 * (1.0 - slow),
                        0.6 * (1.0 - slow),
                        1.0 - slow * 0.5,
                        1.0 - slow * 0.1,
                        1.0 - slow * 0.02,
                        1.0,
                    ];
                    let n = 20.0 * STEP as f64;
                    for (c, u) in counts.iter_mut().zip(under) {
                        *c += (n * u).round();
                    }
                    for (i, c) in counts.iter().enumerate() {
                        if i == 1 && route == "b" && t >= self.respelled {
                            respelled.push((t, *c));
                        } else {
                            points[i].push((t, *c));
                        }
                    }
                }
                t += STEP;
            }
            for (le, p) in BOUNDS.iter().zip(&points) {
                om.series(
                    "api_duration_seconds_bucket",
                    &[("job", "api"), ("route", route), ("le", le)],
                    p,
                );
            }
            om.series(
                "api_duration_seconds_count",
                &[("job", "api"), ("route", route)],
                &points[5],
            );
            if !respelled.is_empty() {
                om.series(
                    "api_duration_seconds_bucket",
                    &[("job", "api"), ("route", route), ("le", "0.10")],
                    &respelled,
                );
            }
        }
    }
}

/// The synthetic history followed by the shop's, as one backfill.
fn history(sc: &Synthetic) -> String {
    let mut om = OpenMetrics::default();
    sc.write(&mut om);
    let synthetic = om.finish();
    let shop = std::fs::read_to_string(repo_root().join("examples/data/shop.om"))
        .unwrap_or_else(|e| panic!("shop.om: {e}"));
    format!(
        "{}{shop}",
        synthetic.strip_suffix("# EOF\n").unwrap_or(&synthetic)
    )
}

fn latency_sli(yaml: &str) -> LatencySli {
    let spec = slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{}", d[0]));
    match &spec.slos[0].sli {
        Sli::Latency(l) => l.clone(),
        other => panic!("not a latency SLI: {other:?}"),
    }
}

fn client(url: &str) -> Client {
    Client::new(&Endpoint {
        url: url.to_owned(),
        timeout: std::time::Duration::from_secs(30),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn latency_percentiles_equal_prometheus_and_are_drawn_on_the_detail_page() {
    let sc = Synthetic::new();
    let text = history(&sc);
    let prom = Prometheus::start(&text, &[]);
    let data = slo_core::openmetrics::parse(&text).unwrap_or_else(|d| panic!("{}", d[0]));

    core_percentiles_equal_prometheus_histogram_quantile(&prom, &data, &sc);
    shop_percentiles_equal_prometheus_histogram_quantile(&prom, &data);
    serve_data_draws_the_shop_percentiles();
    serve_prometheus_draws_percentiles_per_instance_and_caches_them(&prom, &sc);
}

/// `(instance, time ms) -> value` of each quantile, over `[from, to]`
/// every `step` seconds, from Prometheus.
fn from_prometheus(
    prom: &Prometheus,
    l: &LatencySli,
    window: Duration,
    (from, to, step): (i64, i64, i64),
) -> Vec<BTreeMap<(Labels, i64), f64>> {
    let client = client(&prom.url);
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    PERCENTILES
        .iter()
        .map(|&q| {
            let query = quantile::promql(l, q, window);
            let series = rt
                .block_on(client.query_range(&query, from as f64, to as f64, step as f64))
                .unwrap_or_else(|e| panic!("{query}: {e}"));
            let mut out = BTreeMap::new();
            for s in series {
                let labels =
                    slo_core::instance::of(&l.group_by, |k| s.labels.get(k).map(String::as_str));
                for (t, v) in s.points {
                    if !v.is_nan() {
                        out.insert((labels.clone(), (t * 1000.0).round() as i64), v);
                    }
                }
            }
            out
        })
        .collect()
}

/// The same from the core over the recorded data.
fn from_core(
    data: &slo_core::dataset::Dataset,
    l: &LatencySli,
    window: Duration,
    (from, to, step): (i64, i64, i64),
) -> Vec<BTreeMap<(Labels, i64), f64>> {
    let steps = Steps::new(from * 1000, to * 1000, Duration::from_secs(step as u64))
        .unwrap_or_else(|| panic!("steps"));
    let lines = quantile::percentiles(l, data, &steps, window).unwrap_or_else(|e| panic!("{e}"));
    (0..PERCENTILES.len())
        .map(|n| {
            let mut out = BTreeMap::new();
            for (labels, lat) in &lines {
                for (t, values) in &lat.points {
                    if let Some(v) = values[n] {
                        out.insert((labels.clone(), *t), v);
                    }
                }
            }
            out
        })
        .collect()
}

/// Same instances and times on both sides, values within 1e-9.
fn assert_equal(
    core: &[BTreeMap<(Labels, i64), f64>],
    prom: &[BTreeMap<(Labels, i64), f64>],
    what: &str,
) {
    for (n, (c, p)) in core.iter().zip(prom).enumerate() {
        let q = PERCENTILES[n];
        let only_core: Vec<_> = c.keys().filter(|k| !p.contains_key(*k)).collect();
        let only_prom: Vec<_> = p.keys().filter(|k| !c.contains_key(*k)).collect();
        assert!(
            only_core.is_empty() && only_prom.is_empty(),
            "{what} q={q}: times with a value on one side only: core {:?}, Prometheus {:?}",
            &only_core[..only_core.len().min(5)],
            &only_prom[..only_prom.len().min(5)]
        );
        for (k, v) in c {
            let w = p[k];
            assert!(
                (v - w).abs() <= 1e-9 * w.abs().max(1e-6),
                "{what} q={q} at {k:?}: core {v}, Prometheus {w}"
            );
        }
    }
}

fn core_percentiles_equal_prometheus_histogram_quantile(
    prom: &Prometheus,
    data: &slo_core::dataset::Dataset,
    sc: &Synthetic,
) {
    let l = latency_sli(SPEC);
    let window = Duration::from_mins(5);
    let range = (sc.start + 600, sc.end, 60);
    let core = from_core(data, &l, window, range);
    let theirs = from_prometheus(prom, &l, window, range);
    assert_equal(&core, &theirs, "api");
    let a: Labels = [("route".to_owned(), "a".to_owned())].into();
    let b: Labels = [("route".to_owned(), "b".to_owned())].into();
    let steps = ((range.1 - range.0) / range.2 + 1) as usize;
    let count = |labels: &Labels| core[2].keys().filter(|(l, _)| l == labels).count();
    // Route a has a value at every step (the reset changes nothing); route
    // b none while quiet (and up to a window after): a gap, on both sides.
    assert_eq!(count(&a), steps, "route a");
    // A window (5 steps) of the quiet hour still sees the last samples.
    let quiet_steps = ((sc.quiet.1 - sc.quiet.0) / range.2) as usize;
    assert!(
        steps - count(&b) >= quiet_steps - 6 && count(&b) > steps / 2,
        "route b: {} of {steps} steps with a p99",
        count(&b)
    );
    let mid = (sc.quiet.0 + 1800) * 1000;
    assert!(
        !core[0].contains_key(&(b.clone(), mid)),
        "a p50 while quiet"
    );
    // After the respelling, route b's p50 still interpolates in the
    // (0.1, 0.25] bucket as before it (the two spellings are one bound).
    let after = ((sc.respelled + 1800) / 60) * 60 * 1000;
    let p50 = core[0][&(b, after)];
    assert!(p50 > 0.1 && p50 <= 0.25, "p50 {p50} after the respelling");
}

const SHOP_START: &str = "2026-11-03T10:00:00Z";
const SHOP_END: &str = "2026-11-03T22:00:00Z";

fn secs(rfc: &str) -> i64 {
    slo_core::time::parse(rfc).unwrap_or_else(|| panic!("{rfc}")) / 1000
}

fn shop_sli() -> LatencySli {
    let yaml = std::fs::read_to_string(repo_root().join("examples/shop/productcatalog.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    latency_sli(&yaml)
}

/// Over the shop's catalog latency regression (2026-11-03 afternoon).
fn shop_percentiles_equal_prometheus_histogram_quantile(
    prom: &Prometheus,
    data: &slo_core::dataset::Dataset,
) {
    let l = shop_sli();
    let window = Duration::from_mins(5);
    let range = (secs(SHOP_START), secs(SHOP_END), 60);
    let core = from_core(data, &l, window, range);
    assert!(core[1].len() > 600, "{} p90 points", core[1].len());
    assert_equal(&core, &from_prometheus(prom, &l, window, range), "shop");
}

/// The latency figure of a detail page: its SVG, asserted to hold the
/// three labelled lines with points and the threshold.
fn latency_figure(page: &str) -> &str {
    let at = page
        .find("<figure class=\"chart latency\"")
        .unwrap_or_else(|| panic!("no latency chart:\n{page}"));
    let figure = &page[at..at + page[at..].find("</figure>").unwrap_or(0)];
    for n in 0..3 {
        assert!(
            figure.contains(&format!("<path class=\"line q{n}\" d=\"M")),
            "line q{n} has no points: {figure}"
        );
    }
    for label in ["p50", "p90", "p99", "SLO 0.25 s", "latency in seconds"] {
        assert!(
            figure.contains(&format!(">{label}")),
            "no {label:?}: {figure}"
        );
    }
    figure
}

fn serve_data_draws_the_shop_percentiles() {
    let shop = repo_root().join("examples/data/shop.om");
    let specs = repo_root().join("examples/shop");
    let served = Served::start(&[
        "--data",
        &shop.display().to_string(),
        &specs.display().to_string(),
    ]);
    let (status, page) = served.get(&format!(
        "/slos/productcatalog/latency?start={SHOP_START}&end={SHOP_END}"
    ));
    assert_eq!(status, 200, "{page}");
    let figure = latency_figure(&page);
    assert!(
        figure.contains("2026-11-03"),
        "no dates on the x axis: {figure}"
    );
    // Every step of the range has percentiles: no gap to report.
    assert!(!page.contains("Latency: no percentile at"), "{page}");
    // A ratio SLO has no latency chart.
    let (_, page) = served.get("/slos/checkout/availability");
    assert!(
        !page.contains("chart latency"),
        "a latency chart on a ratio SLO"
    );
}

fn serve_prometheus_draws_percentiles_per_instance_and_caches_them(
    prom: &Prometheus,
    sc: &Synthetic,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("api.yaml");
    std::fs::write(&spec, SPEC).unwrap_or_else(|e| panic!("{e}"));
    let served = Served::start(&[
        "--prometheus",
        &prom.url,
        "--interval",
        "1h",
        &spec.display().to_string(),
    ]);
    let range = |route: &str| {
        format!(
            "/slos/api/latency?start={}&end={}&instance=route%3D{route}",
            sc.start + HOUR,
            sc.end
        )
    };
    let before = prom.answered("/api/v1/query_range");
    let (status, page) = served.get(&range("b"));
    assert_eq!(status, 200, "{page}");
    latency_figure(&page);
    // Route b was quiet for an hour: the page says there are gaps.
    assert!(
        page.contains("Latency: no percentile at"),
        "the gap is not said: {page}"
    );
    let first = prom.answered("/api/v1/query_range") - before;
    // The counters (good bucket, count) and one query per percentile.
    assert_eq!(first, 5.0, "range queries for one detail page");
    // The other instance, same range: the same replay, from the cache.
    let (status, page) = served.get(&range("a"));
    assert_eq!(status, 200, "{page}");
    latency_figure(&page);
    assert!(!page.contains("Latency: no percentile at"), "{page}");
    assert_eq!(
        prom.answered("/api/v1/query_range") - before,
        first,
        "a cached range was queried again"
    );
}

/// A failed percentile query leaves a message on every instance, the
/// replay's other graphs intact (Prometheus will not fail on demand: a
/// mock answers 500).
#[test]
fn a_failed_percentile_query_is_a_message_not_a_failed_replay() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/query_range"))
            .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/query_range"))
            .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
            .mount(&server)
            .await;
        let spec = slo_core::load::load_str(SPEC).unwrap_or_else(|d| panic!("{}", d[0]));
        let slo = &spec.slos[0];
        // A replay with graphs over a little recorded data.
        let mut om = OpenMetrics::default();
        Synthetic {
            start: 0,
            end: 2 * HOUR,
            quiet: (0, 0),
            reset: -1,
            respelled: 3 * HOUR,
        }
        .write(&mut om);
        let data =
            slo_core::openmetrics::parse(&om.finish()).unwrap_or_else(|d| panic!("{}", d[0]));
        let mut options = slo_core::backtest::Options::new(1_800_000, 7_200_000);
        options.burn_rates = true;
        let mut report =
            slo_core::backtest::backtest(slo, &data, &options).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report
                .instances
                .iter()
                .all(|i| i.latency.as_ref().is_some_and(|l| !l.points.is_empty())),
            "no percentiles from the data"
        );
        slo_eval::backtest::fetch_latency(&client(&server.uri()), slo, &mut report).await;
        assert_eq!(report.instances.len(), 2);
        for i in &report.instances {
            let lat = i.latency.as_ref().unwrap_or_else(|| panic!("no latency"));
            let error = lat.error.as_deref().unwrap_or_default();
            assert!(
                lat.points.is_empty() && error.contains("p50 query to Prometheus failed"),
                "{lat:?}"
            );
            assert!(i.traffic.is_some() && !i.burn_rates.is_empty());
        }
    });
}
