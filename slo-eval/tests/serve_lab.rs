//! The POST form of the backtest API and the policy lab, against `serve
//! --data` and `serve --prometheus` (the example shop backfilled into a
//! real Prometheus):
//!
//! - POSTing an `alerting:` block answers `backtest --json`'s document for
//!   a spec carrying that block, over the same range;
//! - a malformed block is a 400 naming its line and column, an oversized
//!   body a 413, never a panic;
//! - the lab page draws a timeline per policy whose numbers are the API's
//!   under the YAML the page offers to paste.

mod support;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Prometheus, Served};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace root"))
        .to_path_buf()
}

fn shop_data() -> String {
    repo_root()
        .join("examples/data/shop.om")
        .display()
        .to_string()
}

fn shop_specs() -> PathBuf {
    repo_root().join("examples/shop")
}

fn secs(rfc: &str) -> i64 {
    slo_core::time::parse(rfc).unwrap_or_else(|| panic!("{rfc}")) / 1000
}

/// POSTs `body` to `url` (`http://127.0.0.1:PORT/path`): status and body.
fn post(url: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url}"));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{url}: {e}"));
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    // A server refusing a large body may close before reading it all.
    let _ = stream.write_all(body);
    let mut buf = Vec::new();
    // The server may answer (a 413) before reading the whole body and
    // close: what was read is the answer.
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("POST {url}: no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Asserts `got` equals `want` with numbers within 1e-9 (relative).
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

/// The shop's specs in a scratch folder, checkout's `alerting:` block
/// replaced by `alerting` (a block at column 0, indented here).
fn shop_with_checkout_alerting(dir: &Path, alerting: &str) -> PathBuf {
    let specs = dir.join("shop");
    std::fs::create_dir_all(&specs).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(shop_specs()).unwrap_or_else(|e| panic!("{e}")) {
        let p = e.unwrap_or_else(|e| panic!("{e}")).path();
        let mut text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        if p.file_name().is_some_and(|n| n == "checkout.yaml") {
            let at = text
                .find("    alerting:\n")
                .unwrap_or_else(|| panic!("checkout.yaml has no alerting block"));
            text.truncate(at);
            for line in alerting.lines() {
                text.push_str("    ");
                text.push_str(line);
                text.push('\n');
            }
        }
        std::fs::write(specs.join(p.file_name().unwrap_or_default()), text)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    specs
}

/// `backtest --json` of `specs` over the range, the document of
/// checkout/availability alone.
fn backtest_json(specs: &Path, source: &[&str], start: &str, end: &str, step: &str) -> Value {
    let out = support::slo_eval()
        .arg("backtest")
        .arg(specs)
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
        .and_then(|a| a.iter().find(|s| s["service"] == "checkout"))
        .cloned()
        .unwrap_or_else(|| panic!("no checkout in {doc}"));
    serde_json::json!({"slos": [one], "skipped": []})
}

/// A policy unlike the spec's (the Workbook's): one page pair at a lower
/// factor held 3 minutes, tickets off, a traffic guard.
const ALTERNATIVE: &str = "alerting:
  page:
    for: 3m
  ticket:
    disable: true
  min_events: 10
  windows:
    - severity: page
      long: 30m
      short: 5m
      factor: 8
";

#[test]
fn the_lab_and_the_post_backtest_answer_as_backtest_json_does() {
    let text = std::fs::read_to_string(shop_data()).unwrap_or_else(|e| panic!("shop.om: {e}"));
    let prom = Prometheus::start(&text, &[]);
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    post_backtest_equals_backtest_json_with_that_policy(&prom, scratch.path());
    a_malformed_alerting_block_is_a_4xx_with_its_line_and_column();
    the_lab_page_draws_each_policy_with_the_numbers_of_its_yaml(&prom);
    the_lab_scores_against_incidents_the_user_marks(scratch.path());
}

fn post_backtest_equals_backtest_json_with_that_policy(prom: &Prometheus, scratch: &Path) {
    let (start, end, step) = ("2026-11-04T12:00:00Z", "2026-11-04T18:00:00Z", "1m");
    let path = format!(
        "/api/v1/slos/checkout/availability/backtest?start={}&end={}&step={step}",
        secs(start),
        secs(end)
    );
    let specs = shop_with_checkout_alerting(scratch, ALTERNATIVE);
    let data = shop_data();
    let shop = shop_specs().display().to_string();
    let from_data = Served::start(&["--data", &data, &shop]);
    let from_prom = Served::start(&["--prometheus", &prom.url, &shop]);
    for (served, source) in [
        (&from_data, vec!["--data", data.as_str()]),
        (&from_prom, vec!["--prometheus", prom.url.as_str()]),
    ] {
        let (status, body) = post(
            &format!("{}{path}", served.url),
            "application/yaml",
            ALTERNATIVE.as_bytes(),
        );
        assert_eq!(status, 200, "{source:?}: {body}");
        let got: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let want = backtest_json(&specs, &source, start, end, step);
        assert_close(&got, &want, &format!("POST backtest {source:?}"));
        // The policy was applied: pages only, unlike the spec's replay,
        // which tickets the outage too.
        let alerts = |doc: &Value, severity: &str| {
            doc["slos"][0]["instances"][0]["alerts"]
                .as_array()
                .map_or(0, |a| {
                    a.iter().filter(|x| x["severity"] == severity).count()
                })
        };
        let spec = served.json(&path);
        assert!(alerts(&got, "page") > 0, "{got}");
        assert_eq!(alerts(&got, "ticket"), 0, "{got}");
        assert!(alerts(&spec, "ticket") > 0, "{spec}");
        // The same block as JSON: the same answer.
        let json = r#"{"alerting": {"page": {"for": "3m"}, "ticket": {"disable": true}, "min_events": 10,
            "windows": [{"severity": "page", "long": "30m", "short": "5m", "factor": 8}]}}"#;
        let (status, body) = post(
            &format!("{}{path}", served.url),
            "application/json",
            json.as_bytes(),
        );
        assert_eq!(status, 200, "{body}");
        let as_json: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_close(&as_json, &want, "POST backtest (JSON body)");
    }
}

fn a_malformed_alerting_block_is_a_4xx_with_its_line_and_column() {
    let data = shop_data();
    let shop = shop_specs().display().to_string();
    let served = Served::start(&["--data", &data, &shop]);
    let url = format!("{}/api/v1/slos/checkout/availability/backtest", served.url);
    let cases: [(&[u8], u16, &str); 7] = [
        (
            b"alerting:\n  windows: fastest\n",
            400,
            "2:12: error: alerting.windows: unknown window preset `fastest`",
        ),
        (
            b"alerting:\n  windows:\n    - {severity: page, long: 1h, short: 5m, factor: 5000}\n",
            400,
            "3:7: error: alerting.windows[0]: the 1h/5m pair can never fire",
        ),
        (
            b"alerting:\n  page: {for: soon}\n",
            400,
            "2:15: error: alerting.page.for",
        ),
        (b"alerting: {windows: [\n", 400, "invalid YAML"),
        (b"windows: workbook\n", 400, "1:1: error"),
        (b"", 400, "expected a mapping with an `alerting:` block"),
        (b"\xff\xfe", 400, ""),
    ];
    for (body, status, message) in cases {
        let (got, answer) = post(&url, "application/yaml", body);
        let shown = String::from_utf8_lossy(body);
        assert_eq!(got, status, "{shown:?}: {answer}");
        let error = serde_json::from_str::<Value>(&answer)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or(answer.clone());
        assert!(error.contains(message), "{shown:?}: {error}");
    }
    // Bounded: a body past 64 KiB is refused before it is read.
    let big = format!(
        "alerting:\n  annotations:\n    a: \"{}\"\n",
        "x".repeat(200_000)
    );
    let (got, answer) = post(&url, "application/yaml", big.as_bytes());
    assert_eq!(got, 413, "{answer}");
    // An unknown SLO is still a 404, whatever the body.
    let (got, answer) = post(
        &format!("{}/api/v1/slos/nope/availability/backtest", served.url),
        "application/yaml",
        ALTERNATIVE.as_bytes(),
    );
    assert_eq!(got, 404, "{answer}");
    // The lab's form: the same mistake, a 400 page that says where, and
    // still shows the spec's policy and keeps the text to fix.
    let form = format!(
        "p=spec&alerting={}",
        url_encode("alerting:\n  windows: fastest\n")
    );
    let (got, page) = post(
        &format!("{}/slos/checkout/availability/lab", served.url),
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(got, 400, "{page}");
    assert!(
        page.contains("2:12: error: alerting.windows: unknown window preset `fastest`"),
        "{page}"
    );
    assert!(page.contains("data-policy=\"spec\""), "{page}");
    assert!(page.contains("windows: fastest\n</textarea>"), "{page}");
    // An unknown preset: named, with the known ones.
    let (got, page) = served.get("/slos/checkout/availability/lab?p=spec&p=fastest");
    assert_eq!(got, 400, "{page}");
    assert!(
        page.contains("unknown preset &quot;fastest&quot;: expected spec or one of workbook"),
        "{page}"
    );
    // Marked incidents with a mistake: where, too.
    let form = format!(
        "p=spec&incidents={}",
        url_encode("incidents:\n  - start: 2026-11-04T14:00:00Z\n    end: soon\n")
    );
    let (got, page) = post(
        &format!("{}/slos/checkout/availability/lab", served.url),
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(got, 400, "{page}");
    assert!(page.contains("malformed incidents"), "{page}");
    assert!(page.contains("3:10: error: incidents[0].end"), "{page}");
}

/// Incidents marked in the lab's form are scored as `backtest
/// --incidents` scores them: the same precision, recall and detection.
fn the_lab_scores_against_incidents_the_user_marks(scratch: &Path) {
    let (start, end) = ("2026-11-04T00:00:00Z", "2026-11-05T00:00:00Z");
    // The outage, and a quiet hour no policy alerts in: recall 50%.
    let marked = "incidents:
  - start: 2026-11-04T14:00:00Z
    end: 2026-11-04T14:20:00Z
    severity: page
  - start: 2026-11-04T06:00:00Z
    end: 2026-11-04T07:00:00Z
";
    let file = scratch.join("incidents.yaml");
    std::fs::write(
        &file,
        marked.replace(
            "  - start",
            "  - service: checkout\n    slo: availability\n    start",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let data = shop_data();
    let want = backtest_json(
        &shop_specs(),
        &["--data", &data, "--incidents", &file.display().to_string()],
        start,
        end,
        "1m",
    );
    let served = Served::start(&["--data", &data, &shop_specs().display().to_string()]);
    let form = format!(
        "p=spec&incidents={}&start={}&end={}&step=1m",
        url_encode(marked),
        secs(start),
        secs(end)
    );
    let (status, page) = post(
        &format!("{}/slos/checkout/availability/lab", served.url),
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Incidents: as marked below"), "{page}");
    let inst = &want["slos"][0]["instances"][0];
    assert_eq!(inst["incidents"].as_array().map(Vec::len), Some(2));
    let all = inst["quality"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["severity"].is_null()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(all["recall"].as_f64(), Some(0.5), "{all}");
    let (_, section) = sections(&page)
        .into_iter()
        .find(|(k, _)| k == "spec")
        .unwrap_or_else(|| panic!("no spec section"));
    assert_eq!(section.matches("<rect class=\"span incident\"").count(), 2);
    let precision = all["precision"]
        .as_f64()
        .map(|p| slo_core::num::format(slo_core::num::round_sig(p * 100.0, 4)))
        .unwrap_or_else(|| panic!("no precision: {all}"));
    let row = format!(
        "<tr><th scope=\"row\">all</th><td>{}</td><td>{precision}%</td><td>50% <small>(1/2)</small></td>",
        inst["alerts"].as_array().map_or(0, Vec::len)
    );
    assert!(section.contains(&row), "no {row} in\n{section}");
    assert!(section.contains("<strong>missed</strong>"), "{section}");
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Each policy section of a lab page: key, the section's HTML.
fn sections(page: &str) -> Vec<(String, String)> {
    page.split("<section class=\"policy\" data-policy=\"")
        .skip(1)
        .map(|s| {
            let key = s[..s.find('"').unwrap_or(0)].to_owned();
            let body = s[..s.find("</section>").unwrap_or(s.len())].to_owned();
            (key, body)
        })
        .collect()
}

fn the_lab_page_draws_each_policy_with_the_numbers_of_its_yaml(prom: &Prometheus) {
    let (start, end) = (secs("2026-11-04T00:00:00Z"), secs("2026-11-05T00:00:00Z"));
    let range = format!("start={start}&end={end}&step=2m");
    let data = shop_data();
    let shop = shop_specs().display().to_string();
    for served in [
        Served::start(&["--data", &data, &shop]),
        Served::start(&["--prometheus", &prom.url, &shop]),
    ] {
        // Every preset by default, and an edited block by GET and POST.
        let (status, by_default) = served.get(&format!("/slos/checkout/availability/lab?{range}"));
        assert_eq!(status, 200, "{by_default}");
        // The detail page leads to it with the same form.
        let (_, detail) = served.get("/slos/checkout/availability");
        assert!(
            detail.contains("<form class=\"lab-form\" method=\"post\" action=\"/slos/checkout/availability/lab\">"),
            "{detail}"
        );
        let keys: Vec<String> = sections(&by_default).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["spec", "page-for-5m", "pages-only", "min-events-100"]
        );
        let form = format!(
            "p=spec&p=pages-only&alerting={}&{range}",
            url_encode(ALTERNATIVE)
        );
        let (status, posted) = post(
            &format!("{}/slos/checkout/availability/lab", served.url),
            "application/x-www-form-urlencoded",
            form.as_bytes(),
        );
        assert_eq!(status, 200, "{posted}");
        let (status, got) = served.get(&format!("/slos/checkout/availability/lab?{form}"));
        assert_eq!(status, 200);
        assert_eq!(sections(&got), sections(&posted), "GET and POST differ");
        let all: Vec<(String, String)> = sections(&by_default)
            .into_iter()
            .chain(sections(&posted).into_iter().filter(|(k, _)| k == "edited"))
            .collect();
        assert_eq!(all.len(), 5);
        for (key, html) in all {
            // The YAML offered to paste, replayed by the API: the numbers
            // the section shows.
            let yaml = html
                .split("<pre class=\"yaml\"><code>")
                .nth(1)
                .and_then(|s| s.split("</code>").next())
                .map(unescape)
                .unwrap_or_else(|| panic!("{key}: no YAML:\n{html}"));
            let (status, body) = post(
                &format!(
                    "{}/api/v1/slos/checkout/availability/backtest?{range}",
                    served.url
                ),
                "application/yaml",
                yaml.as_bytes(),
            );
            assert_eq!(status, 200, "{key}: {yaml}: {body}");
            let doc: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
            let inst = &doc["slos"][0]["instances"][0];
            let alerts = inst["alerts"].as_array().cloned().unwrap_or_default();
            let incidents = inst["incidents"].as_array().map_or(0, Vec::len);
            assert!(incidents > 0, "{key}: no incident to score against");
            // The timeline: an SVG with one bar per alert and incident.
            assert_eq!(html.matches("<svg ").count(), 1, "{key}");
            let bars = html.matches("<rect class=\"span ").count();
            assert_eq!(bars, alerts.len() + incidents, "{key}: {html}");
            assert!(!alerts.is_empty(), "{key}: no alert in the outage");
            for a in &alerts {
                let fired = slo_core::time::format(a["start"].as_i64().unwrap_or_default());
                assert!(
                    html.contains(&format!("<td><time>{fired}</time></td>")),
                    "{key}: alert at {fired} missing:\n{html}"
                );
            }
            // The scores are the API's (all tiers).
            let q = inst["quality"]
                .as_array()
                .and_then(|q| q.iter().find(|q| q["severity"].is_null()))
                .cloned()
                .unwrap_or_else(|| panic!("{key}: no overall quality"));
            let row = format!(
                "<tr><th scope=\"row\">all</th><td>{}</td><td>{}</td><td>{} <small>",
                alerts.len(),
                percent_cell(&q["precision"]),
                percent_cell(&q["recall"])
            );
            assert!(html.contains(&row), "{key}: no {row} in\n{html}");
            // The pairs replayed, with their factors, `for` and guard.
            match key.as_str() {
                "edited" => {
                    assert!(alerts.iter().all(|a| a["severity"] == "page"), "{key}");
                    assert!(
                        html.contains("<tr><td>page</td><td>30m/5m</td><td>8</td><td>0.8%</td>")
                            && html.contains("<td>3m</td></tr>")
                            && html.contains("at least 10 events"),
                        "{key}: pairs:\n{html}"
                    );
                }
                "pages-only" => assert!(!html.contains("<tr><td>ticket</td>"), "{key}"),
                _ => assert!(
                    html.contains("<tr><td>page</td><td>1h/5m</td><td>14.4</td><td>1.44%</td><td>2%</td><td>51.84s, 4.928m</td>")
                        && html.contains("<tr><td>ticket</td><td>3d/6h</td><td>1</td>"),
                    "{key}: pairs:\n{html}"
                ),
            }
        }
    }
}

/// Each marking link of a lab page: its accessible name and its path
/// (the `#fragment` cut, entities undone).
fn marking_links(page: &str) -> Vec<(String, String)> {
    page.split("<a href=\"")
        .skip(1)
        .filter_map(|s| {
            let tag = &s[..s.find('>')?];
            let href = &tag[..tag.find('"')?];
            let label = tag[tag.find("aria-label=\"")? + 12..].split('"').next()?;
            let href = unescape(href);
            let path = href.split('#').next()?.to_owned();
            Some((unescape(label), path))
        })
        .filter(|(l, _)| l.starts_with("Mark "))
        .collect()
}

/// A score as the lab prints it: a percentage to 4 significant digits, or
/// `–` when there is none.
fn percent_cell(x: &Value) -> String {
    x.as_f64().map_or_else(
        || "–".to_owned(),
        |p| {
            format!(
                "{}%",
                slo_core::num::format(slo_core::num::round_sig(p * 100.0, 4))
            )
        },
    )
}

/// The quality row "all" of the spec's section, as the lab prints it for
/// `backtest --json`'s instance.
fn quality_row(inst: &Value) -> String {
    let all = inst["quality"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["severity"].is_null()))
        .cloned()
        .unwrap_or_else(|| panic!("no quality for all tiers: {inst}"));
    format!(
        "<tr><th scope=\"row\">all</th><td>{}</td><td>{}</td><td>{} <small>({}/{})</small></td>",
        all["alerts"],
        percent_cell(&all["precision"]),
        percent_cell(&all["recall"]),
        all["detected"],
        all["incidents"],
    )
}

/// Two clicks on the lab's graph (the end first, then the start: the lab
/// orders them) mark one incident, and the lab then scores the policy
/// against exactly that incident, as `backtest --incidents` does; its
/// remove link takes it away again. Bad marks are a 400 saying why.
#[test]
fn incidents_marked_by_two_clicks_on_the_lab_graph_are_scored_as_backtest_json() {
    let (start, end) = ("2026-11-04T00:00:00Z", "2026-11-05T00:00:00Z");
    let data = shop_data();
    let served = Served::start(&["--data", &data, &shop_specs().display().to_string()]);
    let lab = format!(
        "/slos/checkout/availability/lab?p=spec&start={}&end={}&step=1m",
        secs(start),
        secs(end)
    );
    let (status, page) = served.get(&lab);
    assert_eq!(status, 200, "{page}");
    let slots = marking_links(&page);
    assert!(
        (24..=200).contains(&slots.len()),
        "{} slots: {slots:?}",
        slots.len()
    );
    // The slot holding 14:10, inside the shop's outage, clicked first.
    let starts: Vec<i64> = slots
        .iter()
        .map(|(l, _)| {
            secs(
                l.strip_prefix("Mark an incident starting at ")
                    .unwrap_or_else(|| panic!("{l}")),
            )
        })
        .collect();
    let later = starts
        .iter()
        .rposition(|&s| s <= secs("2026-11-04T14:10:00Z"))
        .unwrap_or_else(|| panic!("no slot before 14:10: {starts:?}"));
    let later_end = starts[later + 1];
    let (status, page) = served.get(&slots[later].1);
    assert_eq!(status, 200, "{page}");
    let pending = format!(
        "Incident start marked at <time>{}</time>: click its end.",
        slo_core::time::format(starts[later] * 1000)
    );
    assert!(page.contains(&pending), "no {pending:?} in {page}");
    // Then the slot holding 13:50, earlier.
    let earlier = starts
        .iter()
        .rposition(|&s| s <= secs("2026-11-04T13:50:00Z"))
        .unwrap_or_else(|| panic!("{starts:?}"));
    let seconds = marking_links(&page);
    assert_eq!(seconds.len(), slots.len());
    let (label, href) = &seconds[earlier];
    let want_label = format!(
        "Mark the incident from {} to {}",
        slo_core::time::format(starts[earlier] * 1000),
        slo_core::time::format(later_end * 1000)
    );
    assert_eq!(label, &want_label);
    let (status, page) = served.get(href);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Incidents: as marked below"), "{page}");
    assert!(!page.contains("Incident start marked at"), "{page}");
    // Exactly that incident, through `backtest --incidents`.
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = scratch.path().join("incidents.yaml");
    std::fs::write(
        &file,
        format!(
            "incidents:\n  - service: checkout\n    slo: availability\n    start: {}\n    end: {}\n",
            starts[earlier],
            later_end
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let want = backtest_json(
        &shop_specs(),
        &["--data", &data, "--incidents", &file.display().to_string()],
        start,
        end,
        "1m",
    );
    let inst = &want["slos"][0]["instances"][0];
    assert_eq!(
        inst["incidents"].as_array().map(Vec::len),
        Some(1),
        "{inst}"
    );
    let (_, section) = sections(&page)
        .into_iter()
        .find(|(k, _)| k == "spec")
        .unwrap_or_else(|| panic!("no spec section in {page}"));
    assert_eq!(section.matches("<rect class=\"span incident\"").count(), 1);
    let row = quality_row(inst);
    assert!(section.contains(&row), "no {row} in\n{section}");
    // Drawn shaded on the graph, with a link removing it.
    assert_eq!(page.matches("<rect class=\"marked\"").count(), 1, "{page}");
    let remove = page
        .split("<a class=\"remove\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|h| unescape(h).split('#').next().unwrap_or("").to_owned())
        .unwrap_or_else(|| panic!("no remove link in {page}"));
    let (status, page) = served.get(&remove);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Incidents: detected in the data"), "{page}");
    assert_eq!(page.matches("<rect class=\"marked\"").count(), 0);
    // Bad marks: a 400 saying which and why, never a panic.
    for (mark, why) in [
        ("soon", "mark=\"soon\" is not an RFC 3339 time"),
        ("2026-11-06T00:00:00Z", "is outside the replayed range"),
    ] {
        let (status, page) = served.get(&format!("{lab}&mark={mark}"));
        assert_eq!(status, 400, "{mark}: {page}");
        assert!(unescape(&page).contains(why), "{mark}: {page}");
    }
}
