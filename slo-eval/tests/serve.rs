//! The web UI's numbers are `eval`'s and `backtest`'s: the example shop's
//! history backfilled into a real Prometheus, then
//!
//! - the core's evaluation from recorded history
//!   (`slo_core::evaluation::evaluate_at`) equals `eval --json --at T` at
//!   several times (quiet, during each incident, the end of the data);
//! - `serve --data` and `serve --prometheus` answer `/api/v1/slos` with
//!   `eval --json`'s numbers, and the backtest endpoint with
//!   `backtest --json`'s document;
//! - bad requests get a clear 4xx.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Prometheus, Served};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace root"))
        .to_path_buf()
}

fn shop_data() -> PathBuf {
    repo_root().join("examples/data/shop.om")
}

fn shop_specs() -> PathBuf {
    repo_root().join("examples/shop")
}

/// Times of the shop's history worth comparing (Unix seconds): quiet, the
/// slow frontend burn, the catalog's latency regression, checkout's outage,
/// the one failed refund, and the end of the data.
const TIMES: [&str; 6] = [
    "2026-11-02T12:00:00Z",
    "2026-11-03T12:00:00Z",
    "2026-11-03T16:00:00Z",
    "2026-11-04T14:10:00Z",
    "2026-11-04T03:12:00Z",
    "2026-11-05T00:00:00Z",
];

fn secs(rfc: &str) -> i64 {
    slo_core::time::parse(rfc).unwrap_or_else(|| panic!("{rfc}")) / 1000
}

/// `eval --json --at at` against `url`.
fn eval_json(url: &str, at: i64) -> Value {
    let out = support::slo_eval()
        .args(["eval", "--json", "--prometheus", url, "--at"])
        .arg(at.to_string())
        .arg(shop_specs())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Asserts `got` equals `want` with numbers within 1e-9 (relative), naming
/// the path of the first difference.
fn assert_close(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1e-9),
                "{path}: got {a}, want {b}"
            );
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys_a: Vec<&String> = a.keys().collect();
            let keys_b: Vec<&String> = b.keys().collect();
            assert_eq!(keys_a, keys_b, "{path}: keys differ");
            for (k, v) in a {
                assert_close(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: lengths differ: {got} vs {want}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_close(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

#[test]
fn the_ui_shows_the_numbers_eval_and_backtest_give_on_the_shop() {
    let text = std::fs::read_to_string(shop_data()).unwrap_or_else(|e| panic!("shop.om: {e}"));
    let prom = Prometheus::start(&text, &[]);
    let data = slo_core::openmetrics::parse(&text).unwrap_or_else(|d| panic!("{}", d[0]));
    evaluation_from_history_equals_eval_against_prometheus(&prom, &data);
    a_grouped_slo_evaluates_per_instance_as_eval_does_and_its_instances_are_selectable(&prom);
    serve_data_lists_the_numbers_eval_gives_at_the_end_of_the_data(&prom);
    serve_prometheus_lists_the_numbers_eval_gives_at_its_cycle(&prom);
    the_backtest_endpoint_returns_the_backtest_json_document(&prom);
    bad_requests_get_a_clear_4xx(&prom);
    page_views_read_the_cycle_from_memory_and_graphs_are_fetched_once(&prom);
}

fn load_shop() -> Vec<slo_core::spec::Spec> {
    let mut specs = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(shop_specs())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        let yaml = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        specs.push(slo_core::load::load_str(&yaml).unwrap_or_else(|d| panic!("{}", d[0])));
    }
    specs
}

/// The core's evaluation from the data equals `eval --json` against the
/// Prometheus holding the same data, instance by instance, every field.
fn evaluation_from_history_equals_eval_against_prometheus(
    prom: &Prometheus,
    data: &slo_core::dataset::Dataset,
) {
    let specs = load_shop();
    let mut statuses = std::collections::BTreeSet::new();
    for rfc in TIMES {
        let at = secs(rfc);
        let report = eval_json(&prom.url, at);
        assert_eq!(report["failed"], serde_json::json!([]), "{rfc}");
        let want = report["slos"].as_array().cloned().unwrap_or_default();
        let mut got = Vec::new();
        for slo in specs.iter().flat_map(|s| &s.slos) {
            let r = slo_core::evaluation::evaluate_at(slo, data, at * 1000)
                .unwrap_or_else(|e| panic!("{}: {e}", slo.name));
            got.extend(r);
        }
        let key = |v: &Value| format!("{}/{}", v["service"], v["slo"]);
        let mut got: Vec<Value> = got
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        got.sort_by_key(key);
        let mut want = want;
        want.sort_by_key(key);
        assert_eq!(got.len(), 4, "{rfc}: {got:?}");
        for v in &want {
            statuses.insert(v["status"].as_str().unwrap_or_default().to_owned());
        }
        assert_close(&Value::Array(got), &Value::Array(want), rfc);
    }
    // The times chosen cover firing, held and ok instances.
    for s in ["firing", "held", "ok"] {
        assert!(
            statuses.contains(s),
            "no {s} instance at {TIMES:?}: {statuses:?}"
        );
    }
}

/// What `eval --json` says of one instance, in the API's shape: the tier
/// state follows from `firing` and the pairs' holds.
fn as_api(eval: &Value) -> Value {
    let alerts: Vec<Value> = eval["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let held = |h: &str| {
                t["pairs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["held"] == h)
            };
            let state = if t["firing"] == true {
                "firing"
            } else if held("no_data") {
                "no_data"
            } else if held("too_few_events") {
                "too_few_events"
            } else {
                "ok"
            };
            serde_json::json!({"severity": t["severity"], "state": state})
        })
        .collect();
    serde_json::json!({
        "service": eval["service"],
        "slo": eval["slo"],
        "labels": eval["labels"],
        "objective": eval["objective"],
        "budget_remaining": eval["budget_remaining"],
        "period_error_ratio": eval["period_error_ratio"],
        "windows": eval["windows"],
        "no_data": eval["no_data"],
        "alerts": alerts,
        "status": eval["status"],
    })
}

/// The API's instances, keeping only the fields `eval --json` also has.
fn api_instances(doc: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = doc["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mut s = s.clone();
            if let Some(m) = s.as_object_mut() {
                for k in ["slo_labels", "period", "sli"] {
                    m.remove(k);
                }
            }
            s
        })
        .collect();
    out.sort_by_key(|v| format!("{}/{}", v["service"], v["slo"]));
    out
}

fn eval_as_api(url: &str, at: i64) -> Vec<Value> {
    let report = eval_json(url, at);
    let mut out: Vec<Value> = report["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .map(as_api)
        .collect();
    out.sort_by_key(|v| format!("{}/{}", v["service"], v["slo"]));
    out
}

/// `serve --data`: now is the end of the data; `/api/v1/slos` gives what
/// `eval --json --at` that time gives against the Prometheus holding it.
fn serve_data_lists_the_numbers_eval_gives_at_the_end_of_the_data(prom: &Prometheus) {
    let data = shop_data();
    let specs = shop_specs();
    let served = Served::start(&[
        "--data",
        &data.display().to_string(),
        &specs.display().to_string(),
    ]);
    let doc = served.json("/api/v1/slos");
    assert_eq!(doc["evaluated_at"], "2026-11-05T00:00:00Z", "{doc}");
    assert_eq!(doc["failed"], serde_json::json!([]), "{doc}");
    let got = api_instances(&doc);
    assert_eq!(got.len(), 4, "{doc}");
    for s in &got {
        assert!(s["budget_remaining"].is_number(), "{s}");
    }
    let want = eval_as_api(&prom.url, secs("2026-11-05T00:00:00Z"));
    assert_close(&Value::Array(got), &Value::Array(want), "serve --data");
    // With --at, at the other times of the history: firing, low traffic
    // and no data, each with its warning on the list page.
    let warnings = [
        ("2026-11-04T14:10:00Z", None),
        (
            "2026-11-04T03:12:00Z",
            Some(
                "refunds/availability</strong>: low traffic: page 1h/5m: too few events: 6 in 1h, min_events 100",
            ),
        ),
        (
            "2026-11-03T12:00:00Z",
            Some("refunds/availability</strong>: no data: page 1h/5m: no data in"),
        ),
    ];
    for (at, warning) in warnings {
        let served_at = Served::start(&[
            "--data",
            &data.display().to_string(),
            "--at",
            at,
            &specs.display().to_string(),
        ]);
        let doc = served_at.json("/api/v1/slos");
        assert_eq!(doc["evaluated_at"], at, "{doc}");
        let want = eval_as_api(&prom.url, secs(at));
        assert_close(&Value::Array(api_instances(&doc)), &Value::Array(want), at);
        let (_, list) = served_at.get("/");
        match warning {
            Some(w) => assert!(list.contains(w), "{at}: no warning {w:?}:\n{list}"),
            None => assert!(list.contains("data-status=\"firing\""), "{at}:\n{list}"),
        }
    }
    // The SLO's own facts are there too.
    let first = &doc["slos"][0];
    assert_eq!(first["period"], "30d", "{first}");
    assert!(
        first["sli"].is_string() && first["slo_labels"].is_object(),
        "{first}"
    );
}

/// `serve --prometheus`: the cycle's time is in the document; `eval --json
/// --at` that time gives the same numbers (the shop's history is old, so
/// this is the no-data view of every SLO: never read as healthy).
fn serve_prometheus_lists_the_numbers_eval_gives_at_its_cycle(prom: &Prometheus) {
    let specs = shop_specs();
    let served = Served::start(&["--prometheus", &prom.url, &specs.display().to_string()]);
    let doc = served.json("/api/v1/slos");
    let at = slo_core::time::parse(doc["evaluated_at"].as_str().unwrap_or_default())
        .unwrap_or_else(|| panic!("{doc}"))
        / 1000;
    let got = api_instances(&doc);
    assert_eq!(got.len(), 4, "{doc}");
    let want = eval_as_api(&prom.url, at);
    assert_close(
        &Value::Array(got.clone()),
        &Value::Array(want),
        "serve --prometheus",
    );
    for s in &got {
        assert_eq!(s["status"], "no_data", "{s}");
        assert!(s["budget_remaining"].is_null(), "{s}");
    }
}

/// `backtest --json` of the shop over `[start, end]` at `step`, from the
/// data file or the Prometheus: the document of `slo` alone.
fn backtest_json(source: &[&str], start: &str, end: &str, step: &str, slo: &str) -> Value {
    let out = support::slo_eval()
        .arg("backtest")
        .arg(shop_specs())
        .args(source)
        .args(["--json", "--start", start, "--end", end, "--step", step])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let one = doc["slos"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|s| s["slo"] == "availability" && s["service"] == slo)
        })
        .cloned()
        .unwrap_or_else(|| panic!("no {slo} in {doc}"));
    serde_json::json!({"slos": [one], "skipped": []})
}

/// The backtest endpoint answers with `backtest --json`'s document for
/// that SLO, from the data and from Prometheus alike.
fn the_backtest_endpoint_returns_the_backtest_json_document(prom: &Prometheus) {
    let (start, end, step) = ("2026-11-04T12:00:00Z", "2026-11-04T18:00:00Z", "1m");
    let query = format!(
        "/api/v1/slos/checkout/availability/backtest?start={}&end={}&step={step}",
        secs(start),
        secs(end)
    );
    let data = shop_data().display().to_string();
    let specs = shop_specs().display().to_string();
    let from_data = Served::start(&["--data", &data, &specs]);
    let got = from_data.json(&query);
    let want = backtest_json(&["--data", &data], start, end, step, "checkout");
    assert_close(&got, &want, "backtest --data");
    // The outage pages: the comparison is not of two empty documents.
    let alerts = &got["slos"][0]["instances"][0]["alerts"];
    assert!(
        alerts
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["severity"] == "page")),
        "{alerts}"
    );
    let from_prom = Served::start(&["--prometheus", &prom.url, &specs]);
    let got = from_prom.json(&query);
    let want = backtest_json(&["--prometheus", &prom.url], start, end, step, "checkout");
    assert_close(&got, &want, "backtest --prometheus");
}

/// An unknown SLO is a 404, a malformed or oversized range a 400, each
/// with a message saying what is wrong; an unknown page is a 404 page.
fn bad_requests_get_a_clear_4xx(_prom: &Prometheus) {
    let data = shop_data().display().to_string();
    let specs = shop_specs().display().to_string();
    let served = Served::start(&["--data", &data, &specs]);
    // The list's filters (not errors, but the same query-string path).
    let rows = |path: &str| -> Vec<String> {
        let (status, body) = served.get(path);
        assert_eq!(status, 200, "{path}");
        body.match_indices("<tr data-service=\"")
            .map(|(i, m)| {
                let rest = &body[i + m.len()..];
                rest[..rest.find('"').unwrap_or(0)].to_owned()
            })
            .collect()
    };
    assert_eq!(rows("/").len(), 4);
    assert_eq!(rows("/?service=refunds"), ["refunds"]);
    let mut payments = rows("/?label=team%3Dpayments");
    payments.sort();
    assert_eq!(payments, ["checkout", "refunds"]);
    assert!(rows("/?service=nope").is_empty());
    let cases = [
        (
            "/api/v1/slos/nope/availability/backtest",
            404,
            "no SLO \\\"availability\\\" of service \\\"nope\\\"",
        ),
        (
            "/api/v1/slos/checkout/availability/backtest?start=yesterday",
            400,
            "is not an RFC 3339 time",
        ),
        (
            "/api/v1/slos/checkout/availability/backtest?step=0s",
            400,
            "step must be longer than 0s",
        ),
        (
            "/api/v1/slos/checkout/availability/backtest?step=fast",
            400,
            "step=\\\"fast\\\"",
        ),
        (
            "/api/v1/slos/checkout/availability/backtest?start=0&step=1s",
            400,
            "use a longer step or a shorter range",
        ),
        (
            "/api/v1/slos/checkout/availability/backtest?start=2026-11-05T00:00:00Z&end=2026-11-04T00:00:00Z",
            400,
            "end is before start",
        ),
        ("/slos/nope/x", 404, "no SLO"),
        ("/no/such/page", 404, "no such page"),
    ];
    for (path, status, message) in cases {
        let (got, body) = served.get(path);
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(message), "{path}: {body}");
    }
}

/// Every response carries the strict Content-Security-Policy, and user
/// text from the spec (description, labels) is escaped, never markup.
/// The shop's data covers 3 days of a 30d period: the availability and
/// budget are over those 3 days, and the pages say so instead of "over 30d"
/// alone; with `--at` a day in, a day.
#[test]
fn availability_over_a_period_longer_than_the_data_says_how_much_data_there_is() {
    let data = shop_data().display().to_string();
    let specs = shop_specs().display().to_string();
    for (at, covered) in [(None, "3d"), (Some("2026-11-03T00:00:00Z"), "1d")] {
        let mut args = vec!["--data", data.as_str()];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        args.push(specs.as_str());
        let served = Served::start(&args);
        let (status, detail) = served.get("/slos/checkout/availability");
        assert_eq!(status, 200);
        let tile = format!("over 30d, but data only since 2026-11-02T00:00:00Z ({covered})");
        assert!(detail.contains(&tile), "no {tile:?}:\n{detail}");
        let (_, list) = served.get("/");
        assert!(
            list.contains("The recorded data starts at 2026-11-02T00:00:00Z"),
            "{list}"
        );
    }
}

#[test]
fn pages_escape_spec_text_and_send_a_strict_csp() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("hostile.yaml");
    std::fs::write(
        &spec,
        r#"version: slo/v1
service: checkout
labels:
  team: "<b>payments</b>"
slos:
  - name: availability
    description: '<script>alert("x")</script> & <img src=x>'
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let served = Served::start(&[
        "--data",
        &shop_data().display().to_string(),
        &spec.display().to_string(),
    ]);
    for path in ["/", "/slos/checkout/availability"] {
        let (status, body) = served.get(path);
        assert_eq!(status, 200, "{path}");
        for raw in ["<script", "<b>", "<img"] {
            assert!(!body.contains(raw), "{path}: unescaped {raw}:\n{body}");
        }
        assert!(
            body.contains("&lt;b&gt;payments&lt;/b&gt;"),
            "{path}:\n{body}"
        );
    }
    let (_, detail) = served.get("/slos/checkout/availability");
    assert!(
        detail
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x&gt;"),
        "{detail}"
    );
    // The headers, read raw.
    use std::io::{Read as _, Write as _};
    let host = served.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{e}"));
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let head = response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'; style-src 'self';"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
}

/// Every shop service's requests as one SLO grouped by `job`, and the
/// good-events form of the same ratio.
const GROUPED: &str = r#"version: slo/v1
service: shop
slos:
  - name: requests
    objective: 99.5
    sli:
      ratio:
        errors: http_requests_total{code=~"5.."}
        total: http_requests_total
        group_by: [job]
  - name: good-requests
    objective: 99.5
    sli:
      ratio:
        good: http_requests_total{code!~"5.."}
        total: http_requests_total
        group_by: [job]
"#;

/// A grouped SLO (and one counting good events) gives one instance per
/// group, each with `eval`'s numbers, in the core's evaluation from data
/// and in `serve`; the detail page selects an instance by its labels.
fn a_grouped_slo_evaluates_per_instance_as_eval_does_and_its_instances_are_selectable(
    prom: &Prometheus,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec_path = dir.path().join("grouped.yaml");
    std::fs::write(&spec_path, GROUPED).unwrap_or_else(|e| panic!("{e}"));
    let spec = slo_core::load::load_str(GROUPED).unwrap_or_else(|d| panic!("{}", d[0]));
    let text = std::fs::read_to_string(shop_data()).unwrap_or_else(|e| panic!("{e}"));
    let data = slo_core::openmetrics::parse(&text).unwrap_or_else(|d| panic!("{}", d[0]));
    let at = "2026-11-04T14:10:00Z";
    let out = support::slo_eval()
        .args(["eval", "--json", "--prometheus", &prom.url, "--at"])
        .arg(secs(at).to_string())
        .arg(&spec_path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    for slo in &spec.slos {
        let r = slo_core::evaluation::evaluate_at(slo, &data, secs(at) * 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        // checkout, frontend and refunds count requests (the catalog a histogram).
        assert_eq!(r.len(), 3, "{}: {r:?}", slo.name);
        got.extend(
            r.iter()
                .map(|i| serde_json::to_value(i).unwrap_or_else(|e| panic!("{e}"))),
        );
    }
    let want = report["slos"].as_array().cloned().unwrap_or_default();
    assert_close(&Value::Array(got), &Value::Array(want), "grouped");
    let served = Served::start(&[
        "--data",
        &shop_data().display().to_string(),
        "--at",
        at,
        &spec_path.display().to_string(),
    ]);
    let (_, page) = served.get("/slos/shop/requests?instance=job%3Drefunds");
    for job in ["checkout", "frontend", "refunds"] {
        assert!(
            page.contains(&format!("?instance=job%3D{job}\"")),
            "no link to the {job} instance:\n{page}"
        );
    }
    assert!(
        page.contains("aria-current=\"page\">{job=&quot;refunds&quot;}</a>"),
        "refunds is not the instance shown:\n{page}"
    );
}

/// Counted by Prometheus itself: the list page and the API ask it nothing
/// (they read the last cycle), a detail page fetches its SLO's history with
/// a few range queries once, and a second view of the same range is
/// served from the cache.
fn page_views_read_the_cycle_from_memory_and_graphs_are_fetched_once(prom: &Prometheus) {
    let specs = shop_specs().display().to_string();
    // One cycle at start, the next an hour later: none during the test.
    let served = Served::start(&["--prometheus", &prom.url, "--interval", "1h", &specs]);
    let counts = || {
        (
            prom.answered("/api/v1/query"),
            prom.answered("/api/v1/query_range"),
        )
    };
    let before = counts();
    assert!(before.0 > 0.0, "the first cycle's queries are not counted");
    for _ in 0..5 {
        assert_eq!(served.get("/").0, 200);
        assert_eq!(served.get("/api/v1/slos").0, 200);
    }
    assert_eq!(counts(), before, "page views queried Prometheus");
    let detail = "/slos/checkout/availability?start=2026-11-04T12:00:00Z&end=2026-11-04T18:00:00Z";
    let (status, page) = served.get(detail);
    assert_eq!(status, 200);
    assert!(page.contains("<path class=\"line\""), "{page}");
    // Traffic next to the burn rates, from the same replay (no more fetches).
    for chart in [
        "availability requests per second over 5m",
        "availability error ratio over 5m",
    ] {
        let at = page
            .find(&format!("aria-label=\"{chart}\""))
            .unwrap_or_else(|| panic!("no chart {chart:?}"));
        let figure = &page[at..at + page[at..].find("</figure>").unwrap_or(0)];
        assert!(figure.contains("<path class=\"line\" d=\"M"), "{figure}");
    }
    let fetched = counts();
    let range_queries = fetched.1 - before.1;
    // Errors and total of one SLO over 6 hours and the 3d warm-up (under
    // the 11,000 points of one range query each).
    assert!(
        range_queries == 2.0 && fetched.0 == before.0,
        "{range_queries} range queries, {} instant",
        fetched.0 - before.0
    );
    assert_eq!(served.get(detail).0, 200);
    assert_eq!(counts(), fetched, "the same range was fetched again");
}

/// Two pages over the same live traffic, one with `for: 1h`.
const FOR_SPEC: &str = r#"
version: slo/v1
service: checkout
slos:
  - name: availability
    objective: 99
    period: 1h
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code="500"}
        total: http_requests_total{job="checkout"}
    alerting:
      windows:
        - {severity: page, long: 1m, short: 15s, factor: 10}
  - name: patient
    objective: 99
    period: 1h
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code="500"}
        total: http_requests_total{job="checkout"}
    alerting:
      page: {for: 1h}
      windows:
        - {severity: page, long: 1m, short: 15s, factor: 10}
"#;

/// From Prometheus the UI keeps the alerts' state across cycles, as the
/// daemon does: under half errors the page without `for` fires and the
/// one with `for: 1h` is pending, each since when, on the API and the list.
#[test]
fn serve_prometheus_tracks_pending_and_firing_across_cycles() {
    let target = support::LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    target.set_error_ratio(0.5);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("for.yaml");
    std::fs::write(&spec, FOR_SPEC).unwrap_or_else(|e| panic!("{e}"));
    let served = Served::start(&[
        "--prometheus",
        &prom.url,
        "--interval",
        "1s",
        &spec.display().to_string(),
    ]);
    let page = |doc: &Value, slo: &str| -> (String, bool) {
        doc["slos"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["slo"] == slo))
            .map(|s| {
                let alert = &s["alerts"][0];
                (
                    alert["state"].as_str().unwrap_or_default().to_owned(),
                    alert["since"].is_string(),
                )
            })
            .unwrap_or_default()
    };
    let settled = support::eventually(std::time::Duration::from_secs(90), || {
        let doc = served.json("/api/v1/slos");
        (page(&doc, "availability") == ("firing".to_owned(), true)
            && page(&doc, "patient") == ("pending".to_owned(), true))
            .then_some(doc)
    });
    assert!(
        settled.is_some(),
        "never firing and pending: {}",
        served.json("/api/v1/slos")
    );
    let (_, list) = served.get("/");
    assert!(
        list.contains("<span class=\"badge held\">pending</span> <small>since <time>"),
        "{list}"
    );
}
