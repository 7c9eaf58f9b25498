//! The daemon's UI while Prometheus is dead or hanging (issue 15): every
//! page and the API keep answering within the query timeout and say the
//! numbers are stale since when, the alerts are held (a firing page stays
//! firing), and the next good cycle clears it.
//!
//! Against a real Prometheus with backfilled history, stopped and started
//! again on the same port; wiremock only for the upstream that accepts and
//! never answers. Tests wait on what the daemon serves, with bounded
//! deadlines.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::daemon::Daemon;
use support::{OpenMetrics, Prometheus, Receiver, eventually, get};

/// The daemon tests' spec with a page pair of 1h/5m at 10x (fires above
/// 10% errors): hours of history decide it.
fn spec() -> String {
    support::DAEMON_SPEC.replace("long: 1m, short: 15s", "long: 1h, short: 5m")
}

/// The daemon's query timeout in these tests, in seconds.
const TIMEOUT_SECS: u64 = 2;

/// How long a page may take while the upstream is down or hanging: the
/// query timeout and a margin for a loaded machine. A request hanging on
/// the upstream would take the test client's own 5 s read timeout and
/// fail.
fn answer_bound() -> Duration {
    Duration::from_secs(TIMEOUT_SECS + 2)
}

/// Three hours of checkout traffic up to now, 10 requests/s, half of them
/// failing over the last 30 minutes: the page fires.
fn history() -> String {
    let end = support::now() / 15 * 15;
    let mut om = OpenMetrics::default();
    support::request_counters(
        &mut om,
        "http_requests_total",
        &[("job", "checkout")],
        (end - 3 * 3600, end, 15),
        |_| 10.0,
        |t| if t > end - 1800 { 0.5 } else { 0.0 },
    );
    om.finish()
}

fn config(dir: &Path, prometheus: &str, hook: &str, listen: u16) -> PathBuf {
    std::fs::create_dir_all(dir.join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("specs/checkout.yaml"), spec()).unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "prometheus: {{url: {prometheus:?}, timeout: {TIMEOUT_SECS}s}}\nspecs: [specs]\ninterval: 1s\nnotify:\n  webhooks:\n    - {{name: oncall, url: {hook:?}}}\n  timeout: 2s\n  retries: 1\nlisten: 127.0.0.1:{listen}\nstate_file: state/state.json\n"
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// GETs `path` of the daemon: a 200 within [`answer_bound`], its body.
fn page(d: &Daemon, path: &str) -> String {
    let started = Instant::now();
    let answer = get(&d.url(path));
    let took = started.elapsed();
    let (status, body) =
        answer.unwrap_or_else(|| panic!("GET /{path}: no answer within the client's 5 s"));
    assert_eq!(status, 200, "GET /{path}: {body}");
    assert!(
        took <= answer_bound(),
        "GET /{path} took {took:?}: longer than the query timeout and a margin"
    );
    body
}

/// The checkout SLO in `/api/v1/slos`.
fn api_slo(d: &Daemon) -> Option<Value> {
    let body = page(d, "api/v1/slos");
    let doc: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    doc["slos"]
        .as_array()?
        .iter()
        .find(|s| s["slo"] == "availability")
        .cloned()
}

/// Every page of the UI answers; their bodies by path.
fn all_pages(d: &Daemon) -> [(&'static str, String); 5] {
    [
        "",
        "slos/checkout/availability",
        "api/v1/slos",
        "reports",
        "slos/checkout/availability/lab",
    ]
    .map(|p| (p, page(d, p)))
}

/// Prometheus killed mid-run: the pages say stale since when, keep the last
/// good numbers flagged and the page firing (held, never resolved); the
/// detail page says why it has no graphs. Prometheus back on the same port:
/// the next cycle clears it all.
#[test]
fn ui_while_prometheus_is_dead_says_stale_and_holds_then_recovers() {
    let mut prom = Prometheus::start(&history(), &[]);
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let d = Daemon::start(&config(dir.path(), &prom.url, &hook.url, listen), listen);

    let good = eventually(Duration::from_secs(30), || {
        api_slo(&d).filter(|s| s["alerts"][0]["state"] == "firing")
    })
    .unwrap_or_else(|| panic!("the page never fired:\n{}", d.log()));
    assert_eq!(good["status"], "firing", "{good}");
    assert!(good.get("stale").is_none(), "{good}");
    let budget = good["budget_remaining"].as_f64();
    assert!(budget.is_some(), "{good}");
    let detail = page(&d, "slos/checkout/availability");
    assert!(
        detail.contains("<svg") && !detail.contains("No graphs"),
        "no graphs while Prometheus is up:\n{detail}"
    );

    prom.stop();
    let stale = eventually(Duration::from_secs(30), || {
        api_slo(&d).filter(|s| s.get("stale").is_some())
    })
    .unwrap_or_else(|| panic!("the API never said stale:\n{}", d.log()));
    // The numbers of the last good cycle, flagged; the page held firing.
    assert_eq!(stale["status"], "held", "{stale}");
    assert_eq!(stale["alerts"][0]["state"], "firing", "{stale}");
    assert_eq!(stale["budget_remaining"].as_f64(), budget, "{stale}");
    for field in ["since", "last_good_at", "error"] {
        assert!(stale["stale"][field].is_string(), "{field}: {stale}");
    }
    let since = stale["stale"]["since"].as_str().unwrap_or_default();

    let pages = all_pages(&d);
    let list = &pages[0].1;
    assert!(
        list.contains("Stale: the last cycle") && list.contains(since),
        "no stale banner with its start on the list:\n{list}"
    );
    assert!(
        list.contains(&format!("data-status=\"held\" data-stale=\"{since}\"")),
        "the row is not marked held and stale:\n{list}"
    );
    assert!(
        !list.contains("No SLO matches"),
        "the list lost its SLO:\n{list}"
    );
    let detail = &pages[1].1;
    assert!(
        detail.contains("Stale: could not be evaluated") && detail.contains("last good cycle"),
        "no stale message on the detail page:\n{detail}"
    );
    assert!(
        detail.contains("class=\"tiles\"") && detail.contains("class=\"alerts\""),
        "the detail page lost its tiles or alerts table:\n{detail}"
    );
    assert!(
        detail.contains("No graphs:") && !detail.contains("<svg"),
        "graphs without data, or no word why there are none:\n{detail}"
    );

    prom.resume();
    let back = eventually(Duration::from_secs(30), || {
        api_slo(&d).filter(|s| s.get("stale").is_none())
    })
    .unwrap_or_else(|| panic!("still stale after Prometheus came back:\n{}", d.log()));
    assert_eq!(back["status"], "firing", "{back}");
    let list = page(&d, "");
    assert!(!list.contains("Stale:"), "the banner stayed:\n{list}");
    let detail = page(&d, "slos/checkout/availability");
    assert!(
        !detail.contains("Stale:") && detail.contains("<svg"),
        "the detail page did not recover:\n{detail}"
    );
    // Held, never resolved: no resolve went out during the outage.
    assert!(
        hook.received()
            .iter()
            .all(|r| r.json["status"] != "resolved"),
        "a resolve went out: {:?}",
        hook.received().iter().map(|r| &r.json).collect::<Vec<_>>()
    );
}

/// An upstream that accepts and never answers: every page answers within
/// the query timeout and a margin, the SLO is listed as held and never
/// evaluated (not "no SLO"), and the detail page's graph fetch gives up
/// with a message saying so.
#[test]
fn ui_while_prometheus_hangs_answers_within_the_timeout() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
            .mount(&server),
    );
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let d = Daemon::start(
        &config(dir.path(), &server.uri(), &hook.url, listen),
        listen,
    );

    let pages = all_pages(&d);
    let list = &pages[0].1;
    assert!(
        list.contains("Stale: the last cycle") && list.contains("data-status=\"held\""),
        "the list does not say the SLO is held:\n{list}"
    );
    assert!(list.contains("never evaluated"), "{list}");
    let detail = &pages[1].1;
    // The page's own bound or the first query's timeout, whichever
    // fires first: both say the history did not come.
    assert!(
        detail.contains("Stale: could not be evaluated")
            && detail.contains("No graphs:")
            && (detail.contains(&format!("within {TIMEOUT_SECS}s"))
                || detail.contains("did not answer in time")),
        "the detail page does not say the history did not come:\n{detail}"
    );
    let api: Value = serde_json::from_str(&pages[2].1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api["slos"], Value::Array(Vec::new()), "{api}");
    assert_eq!(api["failed"][0]["slo"], "availability", "{api}");
    drop(d);
    drop(server);
}

/// `serve --prometheus` at a port where nothing listens (connection
/// refused from the start): it still serves, and lists the SLO as held and
/// never evaluated rather than dropping it from the list and the API.
#[test]
fn serve_with_a_dead_prometheus_lists_every_slo_as_never_evaluated() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("checkout.yaml");
    std::fs::write(&file, spec()).unwrap_or_else(|e| panic!("{e}"));
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let served = support::Served::start(&[
        "--prometheus",
        &dead,
        "--timeout",
        "2s",
        &file.display().to_string(),
    ]);
    let (status, list) = served.get("/");
    assert_eq!(status, 200, "{list}");
    assert!(
        list.contains("Stale: the last cycle")
            && list.contains("data-slo=\"availability\" data-budget=\"null\" data-status=\"held\"")
            && list.contains("never evaluated"),
        "the SLO is not listed as held and never evaluated:\n{list}"
    );
    assert!(!list.contains("No SLO matches"), "{list}");
    // Filters apply to it as to any row.
    let (_, filtered) = served.get("/?label=team%3Dnobody");
    assert!(
        filtered.contains("No SLO matches") && !filtered.contains("data-slo=\"availability\""),
        "{filtered}"
    );
    let api = served.json("/api/v1/slos");
    assert_eq!(api["slos"], Value::Array(Vec::new()), "{api}");
    assert_eq!(api["failed"][0]["slo"], "availability", "{api}");
    let (status, detail) = served.get("/slos/checkout/availability");
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail.contains("Stale: could not be evaluated")
            && detail.contains("not been evaluated since this server started")
            && detail.contains("No graphs:"),
        "{detail}"
    );
}
