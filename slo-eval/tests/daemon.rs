//! The daemon end to end: a real Prometheus scraping a live target, a real
//! Alertmanager, webhook receivers, kill -9 and restart, a dead Prometheus,
//! and a broken spec on SIGHUP.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::DAEMON_SPEC as SPEC;
use support::daemon::Daemon;
use support::{Alertmanager, LiveTarget, Prometheus, Receiver, eventually, get};

fn write_config(
    dir: &Path,
    prometheus: &str,
    am: Option<&str>,
    hook: &str,
    listen: u16,
) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("specs/checkout.yaml"), SPEC).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("key"), "webhook-signing-key\n").unwrap_or_else(|e| panic!("{e}"));
    let am = am
        .map(|u| format!("  alertmanagers: [{{url: {u:?}}}]\n"))
        .unwrap_or_default();
    let config = format!(
        "prometheus: {{url: {prometheus:?}, timeout: 2s}}\nspecs: [specs]\ninterval: 1s\nnotify:\n{am}  webhooks:\n    - {{name: oncall, url: {hook:?}, signing_key: {{file: key}}}}\n  timeout: 2s\n  retries: 1\nlisten: 127.0.0.1:{listen}\nstate_file: state/state.json\n"
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn count(r: &Receiver, status: &str) -> usize {
    r.received()
        .iter()
        .filter(|x| x.json["status"] == status)
        .count()
}

fn metric(d: &Daemon, name: &str) -> Option<f64> {
    d.metric(name, &[])
}

/// Lets the daemon complete `n` more evaluation cycles (bounded).
fn wait_cycles(d: &Daemon, n: f64) {
    d.wait_cycles(n, Duration::from_secs(30));
}

/// `run` serves the web UI on its listen address, from its own cycles: the
/// firing page is on the list, the API and the detail page.
fn the_ui_next_to_metrics_shows_the_page(daemon: &Daemon) {
    let api = eventually(Duration::from_secs(10), || {
        let (status, body) = get(&daemon.url("api/v1/slos"))?;
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let slo = doc["slos"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["slo"] == "availability"))?
            .clone();
        (slo["alerts"][0]["state"] == "firing").then_some(slo)
    });
    let slo = api.unwrap_or_else(|| panic!("the UI's API never showed the page firing"));
    assert_eq!(slo["service"], "checkout");
    assert_eq!(slo["alerts"][0]["severity"], "page");
    let (status, list) = get(&daemon.url("")).unwrap_or_else(|| panic!("no list page"));
    assert_eq!(status, 200);
    assert!(
        list.contains("availability") && list.contains("firing"),
        "{list}"
    );
    let (status, detail) =
        get(&daemon.url("slos/checkout/availability")).unwrap_or_else(|| panic!("no detail"));
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail.contains("CheckoutBurn") || detail.contains("firing"),
        "{detail}"
    );
    // The daemon's own endpoints are still its own.
    let (status, metrics) = get(&daemon.url("metrics")).unwrap_or_else(|| panic!("no metrics"));
    assert_eq!(status, 200);
    assert!(metrics.contains("slo_eval_cycles_total"));
    let (status, _) = get(&daemon.url("no/such/page")).unwrap_or_else(|| panic!("no answer"));
    assert_eq!(status, 404);
}

#[test]
fn an_incident_pages_once_across_kill_9_and_resolves_once() {
    let target = LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let config = write_config(dir.path(), &prom.url, Some(&am.url), &hook.url, listen);

    let daemon = Daemon::start(&config, listen);
    // Healthy traffic for a few cycles: nothing is sent.
    wait_cycles(&daemon, 4.0);
    assert_eq!(hook.received().len(), 0);

    target.set_error_ratio(0.5);
    let fired = eventually(Duration::from_secs(60), || {
        (count(&hook, "firing") >= 1).then_some(())
    });
    assert!(fired.is_some(), "no page within 60 s\n{}", prom.log());
    let first = hook.received()[0].clone();
    assert_eq!(
        first.json["alerts"][0]["labels"]["alertname"],
        "CheckoutBurn"
    );
    assert_eq!(first.json["alerts"][0]["labels"]["slo_tier"], "page");
    assert_eq!(first.json["alerts"][0]["labels"]["severity"], "page");
    let signature = first
        .headers
        .iter()
        .find(|(k, _)| k == "x-signature-sha256")
        .map(|(_, v)| v.clone());
    let expected = slo_eval::notify::sign(
        &slo_eval::secret::Secret::new("webhook-signing-key"),
        &first.body,
    )
    .ok();
    assert_eq!(signature, expected);
    // Alertmanager got it too and notified its receiver.
    let am_fired = am_hook.wait_for(Duration::from_secs(20), |r| {
        r.iter().any(|x| x.json["status"] == "firing")
    });
    assert!(
        am_fired.iter().any(|x| x.json["status"] == "firing"),
        "{am_fired:?}"
    );
    assert!(metric(&daemon, "slo_eval_alert_state").is_some_and(|v| v == 2.0));
    assert!(metric(&daemon, "slo_eval_burn_rate").is_some_and(|v| v > 10.0));
    the_ui_next_to_metrics_shows_the_page(&daemon);
    let starts_at = first.json["alerts"][0]["startsAt"].clone();

    // kill -9, then restart on the same state: no second page.
    drop(daemon);
    let daemon = Daemon::start(&config, listen);
    wait_cycles(&daemon, 5.0);
    assert_eq!(count(&hook, "firing"), 1, "re-paged after restart");
    assert_eq!(
        am_hook
            .received()
            .iter()
            .filter(|x| x.json["status"] == "firing")
            .count(),
        1
    );

    // Errors stop: exactly one resolve, after the restart.
    target.set_error_ratio(0.0);
    let resolved = eventually(Duration::from_secs(60), || {
        (count(&hook, "resolved") >= 1).then_some(())
    });
    assert!(resolved.is_some(), "never resolved");
    let resolve = hook
        .received()
        .into_iter()
        .find(|x| x.json["status"] == "resolved");
    assert_eq!(
        resolve.map(|r| r.json["alerts"][0]["startsAt"].clone()),
        Some(starts_at)
    );
    wait_cycles(&daemon, 3.0);
    assert_eq!(count(&hook, "firing"), 1);
    assert_eq!(count(&hook, "resolved"), 1);
    let am_resolved = am_hook.wait_for(Duration::from_secs(20), |r| {
        r.iter().any(|x| x.json["status"] == "resolved")
    });
    assert!(am_resolved.iter().any(|x| x.json["status"] == "resolved"));
    drop(daemon);
}

#[test]
fn a_dead_prometheus_holds_alerts_and_a_broken_reload_keeps_the_specs() {
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let config = write_config(dir.path(), &dead, None, &hook.url, listen);
    // A page that was firing when the daemon last stopped.
    std::fs::create_dir_all(dir.path().join("state")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("state/state.json"),
        r#"{"version":1,"alerts":{"checkout/availability{}/page":{"labels":{"alertname":"CheckoutBurn","slo":"availability"},"annotations":{},"state":{"state":"firing","active_since":1700000000000,"started_at":1700000000000}}},"outbox":{}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let daemon = Daemon::start(&config, listen);
    let failures = eventually(Duration::from_secs(20), || {
        metric(&daemon, "slo_eval_evaluation_failures_total").filter(|v| *v >= 3.0)
    });
    assert!(failures.is_some(), "failures not counted");
    // Held: no resolve for the firing page while Prometheus is unreachable.
    assert_eq!(hook.received().len(), 0);
    assert_eq!(
        get(&format!("http://127.0.0.1:{listen}/healthz")).map(|r| r.0),
        Some(200)
    );
    let state = std::fs::read_to_string(dir.path().join("state/state.json")).unwrap_or_default();
    assert!(state.contains("\"firing\""), "{state}");

    // A broken spec on SIGHUP: reported, old specs kept, the loop goes on.
    std::fs::write(
        dir.path().join("specs/checkout.yaml"),
        "version: slo/v1\nservice: [\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pid = daemon.pid().to_string();
    let status = Command::new("kill").args(["-HUP", &pid]).status();
    assert!(status.is_ok_and(|s| s.success()));
    let reloaded = eventually(Duration::from_secs(10), || {
        metric(&daemon, "slo_eval_reload_failures_total").filter(|v| *v >= 1.0)
    });
    assert!(reloaded.is_some(), "reload failure not counted");
    let before = metric(&daemon, "slo_eval_cycles_total").unwrap_or(0.0);
    let after = eventually(Duration::from_secs(10), || {
        metric(&daemon, "slo_eval_cycles_total").filter(|v| *v > before + 1.0)
    });
    assert!(after.is_some(), "the loop stopped after a broken reload");

    // SIGTERM: a clean stop with the state saved.
    let mut daemon = daemon;
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let exited = eventually(Duration::from_secs(10), || daemon.try_wait());
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
}
