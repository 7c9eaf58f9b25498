//! `slo-eval validate --prometheus` against a real Prometheus (issue 12):
//! backfilled history up to now, and a live scrape target for metadata.
//! Every mistake that reads as a healthy SLO is reported at the spec's line.

mod support;

use std::path::Path;

use support::{OpenMetrics, Prometheus};

const SPEC: &str = r#"version: slo/v1
service: checkout
slos:
  - name: fine
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
        group_by: [region]
  - name: typo
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="chekout",code=~"5.."}
        total: http_requests_total{job="chekout"}
  - name: metric-typo
    objective: 99.9
    sli:
      ratio:
        errors: http_request_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
  - name: no-such-label
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
        group_by: [zone]
  - name: not-a-bucket
    objective: 99
    sli:
      latency:
        histogram: http_request_duration_seconds
        selector: '{job="checkout"}'
        threshold: 0.3
  - name: a-bucket-spelled-1e6
    objective: 99
    sli:
      latency:
        histogram: http_request_duration_seconds
        selector: '{job="checkout"}'
        threshold: 1000000
  - name: empty-total
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout",code="999"}[{{.window}}]))
  - name: gauge-by-name
    objective: 99.9
    sli:
      ratio:
        errors: queue_depth{job="checkout",kind="failed"}
        total: queue_depth{job="checkout"}
  - name: probes
    objective: 99
    sli:
      slices:
        query: max(probe_success{job="blackbox"})
        op: ">="
        threshold: 1
        slice: 1m
"#;

/// The 1-based line of the first line of `SPEC` containing `text` after
/// the line containing `after`.
fn line_of(after: &str, text: &str) -> usize {
    let lines: Vec<&str> = SPEC.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(after))
        .unwrap_or_else(|| panic!("{after} not in SPEC"));
    start
        + 1
        + lines[start..]
            .iter()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("{text} not after {after}"))
}

fn history() -> Prometheus {
    // Up to the last minute: the checks look at the last hour.
    let end = (support::now() / 30) * 30 - 30;
    let start = end - 3 * 3600;
    let mut om = OpenMetrics::default();
    support::request_counters(
        &mut om,
        "http_requests_total",
        &[("job", "checkout"), ("region", "eu")],
        (start, end, 30),
        |_| 10.0,
        |_| 0.01,
    );
    let times: Vec<i64> = (0..=(end - start) / 30).map(|i| start + i * 30).collect();
    // Go's client writes 1e+06 for a bound of a million.
    for (le, share) in [
        ("0.1", 0.5),
        ("0.25", 0.8),
        ("0.5", 0.9),
        ("1e+06", 1.0),
        ("+Inf", 1.0),
    ] {
        let points: Vec<(i64, f64)> = times
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, (i as f64 * 300.0 * share).round()))
            .collect();
        om.series(
            "http_request_duration_seconds_bucket",
            &[("job", "checkout"), ("le", le)],
            &points,
        );
    }
    let count: Vec<(i64, f64)> = times
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, i as f64 * 300.0))
        .collect();
    om.series(
        "http_request_duration_seconds_count",
        &[("job", "checkout")],
        &count,
    );
    let depth: Vec<(i64, f64)> = times.iter().map(|t| (*t, 3.0)).collect();
    om.series("queue_depth", &[("job", "checkout")], &depth);
    om.series(
        "queue_depth",
        &[("job", "checkout"), ("kind", "failed")],
        &depth,
    );
    Prometheus::start(&om.finish(), &[])
}

fn validate(url: &str, spec: &Path) -> (i32, String, String) {
    support::outcome(
        support::slo_eval()
            .args(["validate", "--prometheus", url])
            .arg(spec),
    )
}

/// Regression (issue 12): a typo'd selector, a threshold that is no bucket,
/// a missing `group_by` label, an empty total query and a gauge passed
/// `validate` and read as healthy SLOs. Each is now reported at its line;
/// the correct SLOs (including `le="1e+06"` for 1000000) are not.
#[test]
fn validate_against_prometheus_reports_each_mistake_at_its_line() {
    let prom = history();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("checkout.yaml");
    std::fs::write(&spec, SPEC).unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = validate(&prom.url, &spec);
    assert_eq!(code, 1, "{stdout}\n{stderr}\n{}", prom.log());
    let at = |line: usize, level: &str, text: &str| {
        let prefix = format!("{}:{line}:", spec.display());
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(level) && l.contains(text)),
            "expected {level} at line {line} containing {text:?}:\n{stderr}"
        );
    };
    at(
        line_of("name: typo", "total:"),
        "error:",
        "checkout/typo: sli.ratio.total: `http_requests_total{job=\"chekout\"}` matches no series",
    );
    at(
        line_of("name: typo", "errors:"),
        "warning:",
        "matches no series",
    );
    at(
        line_of("name: no-such-label", "total:"),
        "error:",
        "group_by label `zone` is on none of the series",
    );
    at(
        line_of("name: not-a-bucket", "threshold:"),
        "error:",
        "threshold 0.3 is not a bucket bound of `http_request_duration_seconds_bucket{job=\"checkout\"}`: its bounds are 0.1, 0.25, 0.5, 1e+06, +Inf",
    );
    at(
        line_of("name: empty-total", "total_query:"),
        "error:",
        "the query returns nothing",
    );
    at(
        line_of("name: gauge-by-name", "total:"),
        "warning:",
        "`queue_depth` has no metadata on the server and is not named like a counter",
    );
    at(
        line_of("name: probes", "query:"),
        "error:",
        "the query returns nothing",
    );
    // Nothing about the correct SLOs, nor about the 1e+06 bucket.
    for name in ["checkout/fine:", "checkout/a-bucket-spelled-1e6:"] {
        assert!(!stderr.contains(name), "{name} reported:\n{stderr}");
    }
    let errors = stderr.lines().filter(|l| l.contains(": error: ")).count();
    assert_eq!(errors, 6, "{stderr}");

    // The same spec without its broken SLOs passes, checked.
    let fine: String = SPEC
        .split("  - name: typo")
        .next()
        .unwrap_or_default()
        .to_owned();
    std::fs::write(&spec, fine).unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = validate(&prom.url, &spec);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("ok: 1 file(s), 1 service(s), 1 SLO(s), checked against Prometheus"),
        "{stdout}"
    );
}

/// A target that serves one gauge misnamed like a counter.
fn gauge_target() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let body = "# TYPE jobs_total gauge\njobs_total{job=\"worker\",state=\"failed\"} 2\njobs_total{job=\"worker\",state=\"done\"} 40\n";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

/// A counter selector that names a gauge (the metadata says so, whatever
/// the name) is an error: `rate()` of a gauge measures nothing.
#[test]
fn validate_against_prometheus_refuses_a_gauge_as_a_counter() {
    let target = gauge_target();
    let prom = Prometheus::scraping(&target);
    let metadata = format!("{}/api/v1/metadata?metric=jobs_total", prom.url);
    support::eventually(std::time::Duration::from_secs(30), || {
        support::get(&metadata).filter(|(_, body)| body.contains("gauge"))
    })
    .unwrap_or_else(|| panic!("no metadata scraped:\n{}", prom.log()));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("worker.yaml");
    std::fs::write(
        &spec,
        "version: slo/v1\nservice: worker\nslos:\n  - name: jobs\n    objective: 99\n    sli:\n      ratio:\n        errors: jobs_total{job=\"worker\",state=\"failed\"}\n        total: jobs_total{job=\"worker\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = validate(&prom.url, &spec);
    assert_eq!(code, 1, "{stderr}");
    for line in [8, 9] {
        let prefix = format!("{}:{line}:", spec.display());
        assert!(
            stderr.lines().any(|l| l.starts_with(&prefix)
                && l.contains("error:")
                && l.contains("`jobs_total` is a gauge")),
            "line {line}:\n{stderr}"
        );
    }
}
