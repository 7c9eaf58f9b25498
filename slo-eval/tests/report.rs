//! `slo-eval report` against a real Prometheus with backfilled history
//! spanning the October/November 2026 boundary: each month's numbers are
//! what PromQL `increase()` over the month says, and (where no
//! extrapolation applies) the naive sum of the recorded increments; the
//! same from `--data` over the same file; coverage says how little of each
//! month had data; CSV parses with its header.

mod strict_json;
mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{OpenMetrics, Prometheus};

/// 2026-10-31T00:00:00Z and 2026-11-01T00:00:00Z, Unix seconds.
const T0: i64 = 1_793_404_800;
const NOV: i64 = T0 + 86_400;
/// The data ends 12 hours into November.
const T1: i64 = NOV + 12 * 3600;
const STEP: i64 = 30;

const SPEC: &str = r#"
version: slo/v1
service: shop
slos:
  - name: availability
    objective: 99
    sli:
      ratio:
        errors: req_total{code="500"}
        total: req_total
        group_by: [route]
  - name: latency
    objective: 99.5
    sli:
      latency:
        histogram: lat_seconds
        threshold: 0.3
  - name: ghost
    objective: 99.9
    sli:
      ratio: {errors: 'ghost_total{code="500"}', total: ghost_total}
  - name: freshness
    objective: 99
    sli:
      raw:
        error_ratio_query: avg_over_time((queue_age_seconds > bool 300)[{{.window}}:1m])
"#;

/// Naive sums of the increments in `(from, to]` (Unix seconds).
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    total: f64,
    bad: f64,
}

/// The history: per route, `req_total{route, code}` counters starting at 0
/// on 2026-10-31 (so `increase()` does not extrapolate back past the
/// first sample), /pay restarting once in October; a histogram
/// `lat_seconds`. Returns the file and a function giving the naive sums of
/// a route (or `lat` for the histogram) over `(from, to]`.
fn history() -> (String, impl Fn(&str, i64, i64) -> Sums) {
    type Step = (i64, f64, f64);
    let steps: Vec<i64> = (0..)
        .map(|k| T0 + k * STEP)
        .take_while(|t| *t <= T1)
        .collect();
    // (time, ok increment, bad increment) per route and for the histogram.
    let incs = move |route: &str| -> Vec<Step> {
        steps
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let k = k as i64;
                if k == 0 {
                    return (*t, 0.0, 0.0);
                }
                let (ok, bad) = match route {
                    "/pay" => (10 + k % 7, i64::from(k % 13 == 0)),
                    "/cart" => (5 + k % 3, if k % 10 == 0 { 2 } else { 0 }),
                    _ => (20, if k % 10 == 0 { 4 } else { 0 }),
                };
                (*t, ok as f64, bad as f64)
            })
            .collect()
    };
    let mut om = OpenMetrics::default();
    for route in ["/pay", "/cart"] {
        let (mut ok_v, mut bad_v) = (0.0, 0.0);
        let (mut ok_pts, mut bad_pts) = (Vec::new(), Vec::new());
        for (k, (t, ok, bad)) in incs(route).into_iter().enumerate() {
            if route == "/pay" && k == 1000 {
                // A restart: both counters begin again from zero.
                ok_v = 0.0;
                bad_v = 0.0;
            }
            ok_v += ok;
            bad_v += bad;
            ok_pts.push((t, ok_v));
            bad_pts.push((t, bad_v));
        }
        om.series("req_total", &[("route", route), ("code", "200")], &ok_pts);
        om.series("req_total", &[("route", route), ("code", "500")], &bad_pts);
    }
    let (mut count, mut good) = (0.0, 0.0);
    let (mut count_pts, mut good_pts, mut inf_pts) = (Vec::new(), Vec::new(), Vec::new());
    for (t, ok, bad) in incs("lat") {
        count += ok;
        good += ok - bad;
        count_pts.push((t, count));
        good_pts.push((t, good));
        inf_pts.push((t, count));
    }
    om.series("lat_seconds_bucket", &[("le", "0.3")], &good_pts);
    om.series("lat_seconds_bucket", &[("le", "+Inf")], &inf_pts);
    om.series("lat_seconds_count", &[], &count_pts);
    let sums = move |route: &str, from: i64, to: i64| {
        incs(route)
            .into_iter()
            .filter(|(t, _, _)| *t > from && *t <= to)
            .fold(Sums::default(), |s, (_, ok, bad)| Sums {
                // For the histogram, `ok` is every request.
                total: s.total + ok + if route == "lat" { 0.0 } else { bad },
                bad: s.bad + bad,
            })
    };
    (om.finish(), sums)
}

fn spec_file(dir: &Path) -> PathBuf {
    let path = dir.join("shop.yaml");
    std::fs::write(&path, SPEC).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Runs `slo-eval report ARGS`: exit code, stdout, stderr.
fn report(args: &[&str]) -> (i32, String, String) {
    support::outcome(support::slo_eval().arg("report").args(args))
}

/// `report ARGS --json`, parsed by a parser that rejects duplicate keys
/// (a row flattens its verdict into it).
fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = report(&all);
    assert_eq!(code, 0, "{err}\n{out}");
    strict_json::parse_or_panic(&out)
}

/// The row of `slo` whose labels are `labels` (`{}` for none).
fn row<'a>(doc: &'a Value, slo: &str, labels: Value) -> &'a Value {
    doc["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["slo"] == slo && r["labels"] == labels)
        .unwrap_or_else(|| panic!("no row {slo} {labels} in {doc}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query, by the `route` label (`""` without).
fn promql(prom: &Prometheus, query: &str, at: i64) -> Vec<(String, f64)> {
    let url = format!(
        "{}/api/v1/query?query={}&time={at}",
        prom.url,
        url_encode(query)
    );
    let (status, body) = support::get(&url).unwrap_or_else(|| panic!("no answer from {url}"));
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    doc["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["metric"]["route"].as_str().unwrap_or_default().to_owned(),
                s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
            )
        })
        .collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Checks a route's (or the histogram's) row against the naive sums.
fn assert_sums(r: &Value, want: Sums) {
    assert!(close(num(&r["events"]), want.total), "{r} vs {want:?}");
    assert!(close(num(&r["bad_events"]), want.bad), "{r} vs {want:?}");
    let ratio = want.bad / want.total;
    assert!(close(num(&r["availability"]), 1.0 - ratio), "{r}");
}

#[test]
fn monthly_numbers_across_a_month_boundary_are_promql_increase_and_the_naive_sums() {
    let (om, sums) = history();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = spec_file(dir.path());
    let spec = spec.to_str().unwrap_or_default();
    let data = dir.path().join("history.om");
    std::fs::write(&data, &om).unwrap_or_else(|e| panic!("{e}"));
    let data = data.to_str().unwrap_or_default();
    let prom = Prometheus::start(&om, &[]);
    let url = prom.url.as_str();

    // October: only its last day has data; counters start at 0 and the last
    // sample sits on the boundary, so increase() is the exact sum.
    let oct = json(&["--prometheus", url, "--month", "2026-10", spec]);
    assert_eq!(oct["report"], "month");
    assert_eq!(oct["month"], "2026-10");
    for route in ["/pay", "/cart"] {
        let r = row(&oct, "availability", serde_json::json!({"route": route}));
        assert_sums(r, sums(route, T0, NOV));
        assert!(close(num(&r["coverage"]), 24.0 / 744.0), "{r}");
        assert_eq!(r["complete"], false, "{r}");
        assert_eq!(r["in_progress"], false, "{r}");
        assert_eq!(r["start"], "2026-10-01T00:00:00Z");
        assert_eq!(r["end"], "2026-11-01T00:00:00Z");
    }
    // 1/13 of the steps fail once at 10-16 requests: met; /cart 2 of ~60
    // every 10 steps: missed.
    let pay = row(&oct, "availability", serde_json::json!({"route": "/pay"}));
    assert_eq!(pay["status"], "met", "{pay}");
    let cart = row(&oct, "availability", serde_json::json!({"route": "/cart"}));
    assert_eq!(cart["status"], "missed", "{cart}");
    assert!(num(&cart["budget_spent"]) > 1.0, "{cart}");
    let lat = row(&oct, "latency", serde_json::json!({}));
    assert_sums(lat, sums("lat", T0, NOV));
    assert_eq!(lat["status"], "missed");
    // PromQL's own answer over the month, at its end.
    let by_route = promql(&prom, "sum by (route) (increase(req_total[31d]))", NOV);
    assert_eq!(by_route.len(), 2, "{by_route:?}");
    for (route, v) in &by_route {
        let r = row(&oct, "availability", serde_json::json!({"route": route}));
        assert!(close(num(&r["events"]), *v), "{r} vs PromQL {v}");
    }
    // A selector matching nothing is no data, not a perfect month; a raw
    // SLI is not countable.
    let ghost = row(&oct, "ghost", serde_json::json!({}));
    assert_eq!(ghost["status"], "no_data");
    assert_eq!(ghost["availability"], Value::Null);
    assert_eq!(ghost["coverage"], 0.0);
    assert_eq!(
        row(&oct, "freshness", serde_json::json!({}))["status"],
        "not_countable"
    );

    // November, over: 12 of its 720 hours have data; the end extrapolates
    // (the series stop long before the month's end), as PromQL does.
    let nov = json(&["--prometheus", url, "--month", "2026-11", spec]);
    let dec1 = NOV + 30 * 86_400;
    let want = promql(&prom, "sum by (route) (increase(req_total[30d]))", dec1);
    let bad = promql(
        &prom,
        r#"sum by (route) (increase(req_total{code="500"}[30d]))"#,
        dec1,
    );
    assert_eq!(want.len(), 2, "{want:?}");
    for ((route, total), (_, b)) in want.iter().zip(&bad) {
        let r = row(&nov, "availability", serde_json::json!({"route": route}));
        assert!(close(num(&r["events"]), *total), "{r} vs PromQL {total}");
        assert!(close(num(&r["bad_events"]), *b), "{r} vs PromQL {b}");
        assert!(close(num(&r["coverage"]), 12.0 / 720.0), "{r}");
        assert_eq!(
            (&r["complete"], &r["in_progress"]),
            (&false.into(), &false.into())
        );
    }

    // November as of the data's end: in progress, the exact sums, and the
    // same rows from the file.
    let at = ["--at", "2026-11-01T12:00:00Z"];
    let running = json(&[&["--prometheus", url, "--month", "2026-11", spec][..], &at].concat());
    let from_file = json(&["--data", data, "--month", "2026-11", spec]);
    for doc in [&running, &from_file] {
        for route in ["/pay", "/cart"] {
            let r = row(doc, "availability", serde_json::json!({"route": route}));
            assert_sums(r, sums(route, NOV, T1));
            assert_eq!(r["in_progress"], true, "{r}");
            assert_eq!(r["until"], "2026-11-01T12:00:00Z");
            assert!(close(num(&r["coverage"]), 12.0 / 720.0), "{r}");
        }
        assert_sums(
            row(doc, "latency", serde_json::json!({})),
            sums("lat", NOV, T1),
        );
        assert_eq!(
            row(doc, "ghost", serde_json::json!({}))["status"],
            "no_data"
        );
    }
    let file_oct = json(&["--data", data, "--month", "2026-10", spec]);
    assert_eq!(
        file_oct["slos"], oct["slos"],
        "--data and --prometheus differ"
    );

    // The text marks a running month; CSV parses with its header, one line
    // per row, the same numbers as JSON.
    let (code, text, _) =
        report(&[&["--prometheus", url, "--month", "2026-11", spec][..], &at].concat());
    assert_eq!(code, 0);
    assert!(
        text.contains("shop/availability{route=\"/cart\"}"),
        "{text}"
    );
    assert!(text.contains("so far (not over)"), "{text}");
    let (code, csv, err) = report(&["--prometheus", url, "--month", "2026-10", "--csv", spec]);
    assert_eq!(code, 0, "{err}");
    check_csv(&csv, &oct);

    // An `events` SLI (Prometheus only) over the same counters: its
    // `rate() * seconds` is the increase the ratio SLI counts per route.
    let events = dir.path().join("events.yaml");
    std::fs::write(
        &events,
        "version: slo/v1\nservice: shop\nslos:\n  - name: requests\n    objective: 99\n    sli:\n      events:\n        error_query: sum(rate(req_total{code=\"500\"}[{{.window}}]))\n        total_query: sum(rate(req_total[{{.window}}]))\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ev = json(&[
        "--prometheus",
        url,
        "--month",
        "2026-10",
        events.to_str().unwrap_or_default(),
    ]);
    let r = row(&ev, "requests", serde_json::json!({}));
    let (pay, cart) = (sums("/pay", T0, NOV), sums("/cart", T0, NOV));
    let want = Sums {
        total: pay.total + cart.total,
        bad: pay.bad + cart.bad,
    };
    assert!(
        (num(&r["events"]) - want.total).abs() <= 1e-6 * want.total,
        "{r} vs {want:?}"
    );
    assert!(
        (num(&r["bad_events"]) - want.bad).abs() <= 1e-6 * want.bad,
        "{r} vs {want:?}"
    );
    assert!(close(num(&r["coverage"]), 24.0 / 744.0), "{r}");
    // Over a file it cannot be counted: the command says so and fails.
    let (code, _, err) = report(&[
        "--data",
        data,
        "--month",
        "2026-10",
        events.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("shop/requests") && err.contains("`events` SLIs"),
        "{err}"
    );

    // The UI over the same Prometheus serves the same rows (a month over
    // does not depend on "now").
    let served = support::Served::start(&["--prometheus", url, spec]);
    let api = served.json("/api/v1/reports?month=2026-10");
    assert_eq!(
        api["slos"], oct["slos"],
        "the UI and `report --json` differ"
    );

    // --fail-on-missed: the report, then exit 4.
    let (code, out, err) = report(&[
        "--prometheus",
        url,
        "--month",
        "2026-10",
        "--fail-on-missed",
        spec,
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(out.contains("MISSED"), "{out}");
    assert!(err.contains("missed their objective"), "{err}");
}

/// Splits one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = out.last_mut() {
                    f.push('"');
                }
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => {
                if let Some(f) = out.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    out
}

fn check_csv(csv: &str, doc: &Value) {
    let mut lines = csv.lines();
    let header = csv_fields(lines.next().unwrap_or_default());
    assert_eq!(header[..3], ["service", "slo", "labels"]);
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    let slos = doc["slos"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), slos.len(), "{csv}");
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    for (fields, r) in rows.iter().zip(&slos) {
        assert_eq!(fields.len(), header.len(), "{fields:?}");
        assert_eq!(fields[col("slo")], r["slo"].as_str().unwrap_or_default());
        let status = r["status"].as_str().unwrap_or_default();
        assert_eq!(fields[col("status")], status);
        match r["events"].as_f64() {
            Some(e) => assert!(close(fields[col("events")].parse().unwrap_or(f64::NAN), e)),
            None => assert_eq!(fields[col("events")], ""),
        }
        assert!(close(
            fields[col("coverage")].parse().unwrap_or(f64::NAN),
            num(&r["coverage"])
        ));
    }
    // The grouped rows name their instance.
    assert!(csv.contains(",route=/pay,"), "{csv}");
}

#[test]
fn a_bad_month_is_a_usage_error_saying_the_form() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = spec_file(dir.path());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/shop.om");
    let (code, out, err) = report(&[
        "--data",
        data.to_str().unwrap_or_default(),
        "--month",
        "2026-13",
        spec.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out, "");
    assert!(
        err.contains("--month: `2026-13`: the month must be 01 to 12"),
        "{err}"
    );
}

#[test]
fn the_example_data_reports_every_shop_slo_with_the_coverage_of_its_three_days() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = root.join("examples/data/shop.om");
    let shop = root.join("examples/shop");
    let doc = json(&[
        "--data",
        data.to_str().unwrap_or_default(),
        "--month",
        "2026-11",
        shop.to_str().unwrap_or_default(),
    ]);
    let slos = doc["slos"].as_array().cloned().unwrap_or_default();
    assert_eq!(slos.len(), 4, "{doc}");
    for r in &slos {
        // Three days (Nov 2 to 5) of thirty, the month still running at the
        // data's end.
        assert!(close(num(&r["coverage"]), 0.1), "{r}");
        assert_eq!(r["in_progress"], true);
        assert_eq!(r["until"], "2026-11-05T00:00:00Z");
        assert!(num(&r["events"]) > 0.0, "{r}");
    }
    // The rolling 30 days end at the data's end, the same events.
    let rolling = json(&[
        "--data",
        data.to_str().unwrap_or_default(),
        "--rolling",
        shop.to_str().unwrap_or_default(),
    ]);
    assert_eq!(rolling["report"], "rolling");
    for (m, r) in slos
        .iter()
        .zip(rolling["slos"].as_array().into_iter().flatten())
    {
        assert_eq!(r["end"], "2026-11-05T00:00:00Z");
        assert_eq!(r["in_progress"], false);
        assert!(close(num(&r["coverage"]), 0.1), "{r}");
        assert_eq!(
            m["bad_events"].as_f64().is_some(),
            r["bad_events"].as_f64().is_some()
        );
    }
}
