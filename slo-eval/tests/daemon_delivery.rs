//! The daemon's delivery under faults, end to end: a real Prometheus
//! scraping a live target, a real Alertmanager, a webhook receiver that
//! never answers, a state file that cannot be saved, and connection
//! mistakes in the configuration.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::DAEMON_SPEC as SPEC;
use support::{Alertmanager, LiveTarget, Prometheus, Receiver, eventually, get};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A webhook receiver that accepts connections and never answers.
fn hung_receiver() -> String {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://127.0.0.1:{port}/hook")
}

fn config(dir: &Path, body: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("specs/checkout.yaml"), SPEC).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("config.yaml");
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn spawn(config: &Path) -> Daemon {
    let log = std::fs::File::create(config.with_extension("log")).unwrap_or_else(|e| panic!("{e}"));
    Daemon(
        Command::new(assert_cmd::cargo::cargo_bin("slo-eval"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn metric(listen: u16, name: &str) -> Option<f64> {
    support::metric(&format!("http://127.0.0.1:{listen}/metrics"), name, &[])
}

/// The `endsAt` of each alert Alertmanager holds as active, by alertname.
fn am_active(am: &str) -> Vec<(String, jiff::Timestamp)> {
    let Some((200, body)) = get(&format!("{am}/api/v2/alerts?active=true")) else {
        return Vec::new();
    };
    // Tolerate a chunked body: the JSON array is between the brackets.
    let json = match (body.find('['), body.rfind(']')) {
        (Some(a), Some(b)) if a < b => &body[a..=b],
        _ => return Vec::new(),
    };
    let alerts: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["status"]["state"] == "active")
        .filter_map(|a| {
            Some((
                a["labels"]["alertname"].as_str()?.to_owned(),
                a["endsAt"].as_str()?.parse().ok()?,
            ))
        })
        .collect()
}

/// Regression: alerts were sent to Alertmanager only at the end of a cycle,
/// so a hung webhook (a 55 s cycle) or a failed state save (delivery
/// skipped) let Alertmanager resolve alerts that were still firing. Now
/// Alertmanager keeps the live page for many times 4 x interval while the
/// webhook never answers and the state file cannot be written, and the
/// failed saves are counted.
#[test]
fn a_hung_webhook_and_a_failed_save_keep_every_live_alert_at_alertmanager() {
    let target = LiveTarget::start("checkout", 50.0);
    target.set_error_ratio(0.5);
    let prom = Prometheus::scraping(&target.address);
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let hook = hung_receiver();
    let config = config(
        dir.path(),
        &format!(
            "prometheus: {{url: {:?}, timeout: 2s}}\nspecs: [specs]\ninterval: 1s\nnotify:\n  alertmanagers: [{{url: {:?}}}]\n  webhooks: [{{name: hung, url: {hook:?}}}]\n  timeout: 60s\nlisten: 127.0.0.1:{listen}\nstate_file: state/state.json\n",
            prom.url, am.url
        ),
    );
    let _daemon = spawn(&config);
    let log = || std::fs::read_to_string(config.with_extension("log")).unwrap_or_default();
    let fired = eventually(Duration::from_secs(60), || {
        am_active(&am.url)
            .iter()
            .any(|(n, _)| n == "CheckoutBurn")
            .then_some(())
    });
    assert!(fired.is_some(), "no page at Alertmanager\n{}", log());

    // The state file can no longer be replaced: a non-empty folder sits at
    // its path.
    let state = dir.path().join("state/state.json");
    std::fs::remove_file(&state).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(state.join("blocked")).unwrap_or_else(|e| panic!("{e}"));

    // 4 x interval is 4 s: watch for 15 s. The page stays active, and its
    // endsAt keeps moving into the future.
    let until = Instant::now() + Duration::from_secs(15);
    let mut last_ends = None;
    while Instant::now() < until {
        let active = am_active(&am.url);
        let ends = active
            .iter()
            .find(|(n, _)| n == "CheckoutBurn")
            .map(|(_, e)| *e);
        assert!(
            ends.is_some(),
            "Alertmanager dropped the live page\n{}",
            log()
        );
        last_ends = ends;
        // The poll step of a watch that must span several of Alertmanager's
        // resolve timeouts (time passing is the point), not a wait for the
        // daemon.
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(last_ends.is_some_and(|e| e > jiff::Timestamp::now()));
    assert!(
        metric(listen, "slo_eval_state_save_failures_total").is_some_and(|v| v >= 3.0),
        "failed saves not counted"
    );
    assert!(metric(listen, "slo_eval_notification_queue_depth").is_some_and(|v| v >= 1.0));
    assert!(
        metric(
            listen,
            "slo_eval_alertmanager_last_success_timestamp_seconds"
        )
        .is_some_and(|t| t > (jiff::Timestamp::now().as_second() - 5) as f64)
    );
    // Evaluation was never held up by the hung receiver: not stalled.
    assert_eq!(metric(listen, "slo_eval_cycle_stalled"), Some(0.0));
    assert_eq!(
        get(&format!("http://127.0.0.1:{listen}/readyz")).map(|r| r.0),
        Some(200)
    );
    assert!(log().contains("cannot save the state; delivery goes on"));
}

fn run_config(body: &str) -> (String, Option<i32>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = config(dir.path(), body);
    let out = assert_cmd::Command::cargo_bin("slo-eval")
        .unwrap_or_else(|e| panic!("{e}"))
        .args(["run", "--config"])
        .arg(&config)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn url_mistakes_in_the_daemon_config_are_named_at_start() {
    let base = "specs: [specs]\nstate_file: s.json\nlisten: 127.0.0.1:0\n";
    let (e, code) = run_config(&format!("prometheus: {{url: 'localhost:9090'}}\n{base}"));
    assert_eq!(code, Some(2));
    assert!(
        e.contains("`prometheus.url`") && e.contains("no scheme"),
        "{e}"
    );
    let (e, _) = run_config(&format!(
        "prometheus: {{url: 'http://127.0.0.1:9/api/v1'}}\n{base}"
    ));
    assert!(e.contains("ends with `/api/v1`"), "{e}");
    let (e, _) = run_config(&format!(
        "prometheus: {{url: 'http://127.0.0.1:9'}}\n{base}notify:\n  alertmanagers: [{{url: 'http://am:pw-in-url@127.0.0.1:9093'}}]\n"
    ));
    assert!(
        e.contains("not in the URL") && !e.contains("pw-in-url"),
        "{e}"
    );
    let (e, _) = run_config(&format!(
        "prometheus: {{url: 'http://127.0.0.1:9'}}\n{base}notify:\n  alertmanagers: [{{url: 'http://127.0.0.1:9093/api/v2/alerts'}}]\n"
    ));
    assert!(e.contains("ends with `/api/v2/alerts`"), "{e}");
}

#[test]
fn tls_files_of_alertmanager_and_webhooks_are_checked_at_start() {
    let base = "prometheus: {url: 'http://127.0.0.1:9'}\nspecs: [specs]\nstate_file: s.json\nlisten: 127.0.0.1:0\n";
    let (e, code) = run_config(&format!(
        "{base}notify:\n  alertmanagers: [{{url: 'https://127.0.0.1:9093', ca_file: missing-ca.pem}}]\n"
    ));
    assert_eq!(code, Some(2));
    assert!(
        e.contains("cannot read CA file") && e.contains("missing-ca.pem"),
        "{e}"
    );
    let (e, _) = run_config(&format!(
        "{base}notify:\n  webhooks: [{{name: h, url: 'https://127.0.0.1:1/x', cert_file: c.pem}}]\n"
    ));
    assert!(
        e.contains("webhook h") && e.contains("needs key_file"),
        "{e}"
    );
    let (e, _) = run_config(&format!(
        "{base}notify:\n  webhooks: [{{name: h, url: 'http://127.0.0.1:1/x', headers: {{X-Api-Key: {{env: SLO_EVAL_TEST_UNSET_KEY}}}}}}]\n"
    ));
    assert!(
        e.contains("headers.X-Api-Key") && e.contains("SLO_EVAL_TEST_UNSET_KEY"),
        "{e}"
    );
}

/// A Prometheus that accepts connections and never answers.
fn hung_prometheus() -> String {
    hung_receiver().trim_end_matches("/hook").to_owned()
}

/// Regression: a stalled loop kept `/readyz` at 200 and no metric moved.
/// With every query hanging until its timeout, cycles fall far behind the
/// interval: `/readyz` answers 503 with the reason, `slo_eval_cycle_stalled`
/// is 1, and the page that was firing when the daemon stopped stays active
/// at Alertmanager all along (resent from the start, held while unknown).
#[test]
fn a_stalled_loop_is_reported_and_alertmanager_keeps_the_held_page() {
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let config = config(
        dir.path(),
        &format!(
            "prometheus: {{url: {:?}, timeout: 1s, concurrency: 1, batch_size: 16}}\nspecs: [specs]\ninterval: 1s\nnotify:\n  alertmanagers: [{{url: {:?}}}]\nlisten: 127.0.0.1:{listen}\nstate_file: state.json\n",
            hung_prometheus(),
            am.url
        ),
    );
    // Seven more SLOs: with one SLO's 16 queries per request, each request
    // waits for its timeout (1 s) one after the other, so a cycle takes
    // about 8 s at a 1 s interval.
    let more: String = (1..=7)
        .map(|i| {
            format!(
                "  - name: more-{i}\n    objective: 99\n    sli:\n      ratio:\n        errors: x_total{{code=\"500\"}}\n        total: x_total\n"
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("specs/more.yaml"),
        format!("version: slo/v1\nservice: more\nslos:\n{more}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let started = jiff::Timestamp::now().as_millisecond() - 60_000;
    std::fs::write(
        dir.path().join("state.json"),
        format!(
            r#"{{"version":1,"alerts":{{"checkout/availability{{}}/page":{{"labels":{{"alertname":"CheckoutBurn","slo":"availability"}},"annotations":{{}},"state":{{"state":"firing","active_since":{started},"started_at":{started}}}}}}},"outbox":{{}}}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let _daemon = spawn(&config);
    let log = || std::fs::read_to_string(config.with_extension("log")).unwrap_or_default();
    let at_am = eventually(Duration::from_secs(20), || {
        am_active(&am.url)
            .iter()
            .any(|(n, _)| n == "CheckoutBurn")
            .then_some(())
    });
    assert!(
        at_am.is_some(),
        "the held page never reached Alertmanager\n{}",
        log()
    );
    let stalled = eventually(Duration::from_secs(60), || {
        let (status, body) = get(&format!("http://127.0.0.1:{listen}/readyz"))?;
        (status == 503 && body.contains("stalled")).then_some(body)
    });
    assert!(
        stalled.is_some(),
        "/readyz never reported the stall\n{}",
        log()
    );
    let gauge = eventually(Duration::from_secs(30), || {
        metric(listen, "slo_eval_cycle_stalled").filter(|v| *v == 1.0)
    });
    assert!(gauge.is_some(), "slo_eval_cycle_stalled never went to 1");
    assert!(
        am_active(&am.url).iter().any(|(n, _)| n == "CheckoutBurn"),
        "Alertmanager lost the held page during the stall\n{}",
        log()
    );
    assert!(log().contains("evaluation loop stalled"), "{}", log());
}
