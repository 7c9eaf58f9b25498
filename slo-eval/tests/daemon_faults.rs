//! The daemon under faults (issue 12), against a real Prometheus scraping
//! live targets served by this process, a real Alertmanager and webhook
//! receivers: a Prometheus outage, an SLO without data (`absent_for`),
//! label values that look like templates, and invalid spec files.
//!
//! Tests wait on what the daemon says (its cycle counter, metrics, logs)
//! with bounded deadlines, not on fixed sleeps.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::daemon::Daemon;
use support::{Alertmanager, LiveTarget, Prometheus, Receiver, eventually, get};

/// 99% over 1h; one page pair `long`/`short` at 10x (fires above 10%
/// errors); `extra` is appended to the SLO's `alerting`.
fn spec(long: &str, short: &str, group_by: &str, extra: &str) -> String {
    format!(
        r#"version: slo/v1
service: checkout
slos:
  - name: availability
    objective: 99
    period: 1h
    sli:
      ratio:
        errors: http_requests_total{{code="500"}}
        total: http_requests_total
        {group_by}
    alerting:
      name: CheckoutBurn
      windows:
        - {{severity: page, long: {long}, short: {short}, factor: 10}}
{extra}"#
    )
}

/// Writes `config.yaml` in `dir` (specs in `dir/specs`) and returns it.
fn config(
    dir: &Path,
    prometheus: &str,
    am: Option<&str>,
    hook: &str,
    listen: u16,
    extra: &str,
) -> PathBuf {
    let am = am
        .map(|u| format!("  alertmanagers: [{{url: {u:?}}}]\n"))
        .unwrap_or_default();
    let text = format!(
        "prometheus: {{url: {prometheus:?}, timeout: 2s}}\nspecs: [specs]\ninterval: 1s\nnotify:\n{am}  webhooks:\n    - {{name: oncall, url: {hook:?}}}\n  timeout: 2s\n  retries: 1\nlisten: 127.0.0.1:{listen}\nstate_file: state/state.json\n{extra}"
    );
    let path = dir.join(format!("config-{listen}.yaml"));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn write_spec(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("specs").join(name), text).unwrap_or_else(|e| panic!("{e}"));
}

/// The alerts named `name` in notifications of `status`.
fn alerts_named(r: &[support::Received], status: &str, name: &str) -> Vec<serde_json::Value> {
    r.iter()
        .filter(|x| x.json["status"] == status)
        .flat_map(|x| x.json["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == name)
        .collect()
}

fn count(r: &Receiver, status: &str, name: &str) -> usize {
    alerts_named(&r.received(), status, name).len()
}

fn instant(v: &serde_json::Value) -> jiff::Timestamp {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

/// Alertmanager's alerts (API v2) named `name`.
fn am_alerts(am: &Alertmanager, name: &str) -> Vec<serde_json::Value> {
    get(&format!("{}/api/v2/alerts", am.url))
        .and_then(|(_, b)| serde_json::from_str::<Vec<serde_json::Value>>(&b).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == name)
        .collect()
}

/// Issue 12: after a Prometheus outage every firing page resolved in the
/// first cycle back and fired again a cycle later with a new `startsAt`.
///
/// A Prometheus outage longer than the short window: when Prometheus is
/// back, the short window holds no samples yet while the long window,
/// read from the TSDB Prometheus saved at shutdown, still burns. That is
/// unknown, and held: no resolve and no second page reach the real
/// Alertmanager or the webhook receiver, and `startsAt` is unchanged.
///
/// How, in reasonable time: a policy `long: 1m, short: 20s`; a live target
/// served by this process, scraped every 3 s (so after the restart the
/// short window stays empty until two scrapes landed: several 1 s daemon
/// cycles); Prometheus stopped with SIGTERM and started again on the same
/// port and storage after at least 25 daemon cycles (over 20 s) of failed
/// queries. The test checks that the daemon saw the empty short window (its
/// `held-unknown` log line with that reason), so it cannot pass without
/// exercising the fault.
#[test]
fn a_prometheus_outage_longer_than_the_short_window_neither_resolves_nor_pages_again() {
    let target = LiveTarget::start("checkout", 50.0);
    target.set_error_ratio(0.5);
    let mut prom = Prometheus::scraping_every(&[&target.address], 3);
    let hook = Receiver::start();
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_spec(dir.path(), "checkout.yaml", &spec("1m", "20s", "", ""));
    let listen = support::free_port();
    let config = config(dir.path(), &prom.url, Some(&am.url), &hook.url, listen, "");
    let d = Daemon::start(&config, listen);

    let fired = eventually(Duration::from_secs(60), || {
        (count(&hook, "firing", "CheckoutBurn") >= 1).then_some(())
    });
    assert!(fired.is_some(), "no page within 60 s:\n{}", d.log());
    // The transition is logged with who and how fast it burns.
    let firing_line = d
        .log()
        .lines()
        .find(|l| l.contains("alert firing"))
        .map(str::to_owned)
        .unwrap_or_default();
    for part in [
        "service=checkout",
        "slo=availability",
        "tier=page",
        "burn_rates=20s=",
    ] {
        assert!(firing_line.contains(part), "{part} not in {firing_line:?}");
    }
    let am_fired = am_hook.wait_for(Duration::from_secs(30), |r| {
        !alerts_named(r, "firing", "CheckoutBurn").is_empty()
    });
    assert!(!alerts_named(&am_fired, "firing", "CheckoutBurn").is_empty());
    let received = hook.received();
    let first = alerts_named(&received, "firing", "CheckoutBurn")
        .into_iter()
        .next()
        .unwrap_or_default();
    let starts_at = instant(&first["startsAt"]);

    // The outage: over 25 daemon cycles of failed queries.
    prom.stop();
    d.wait_cycles(25.0, Duration::from_secs(120));
    assert!(
        d.metric("slo_eval_evaluation_failures_total", &[])
            .is_some_and(|v| v >= 20.0)
    );
    // Last known values stay exported while Prometheus is down.
    assert_eq!(
        d.metric("slo_eval_alert_state", &[("tier", "page")]),
        Some(2.0)
    );
    assert!(
        d.metric("slo_eval_burn_rate", &[("window", "1m")])
            .is_some_and(|v| v > 10.0)
    );
    let stale = d
        .metric(
            "slo_eval_last_evaluation_timestamp_seconds",
            &[("slo", "availability")],
        )
        .unwrap_or(0.0);
    assert!(
        jiff::Timestamp::now().as_second() as f64 - stale >= 20.0,
        "the staleness metric did not age: {stale}"
    );

    prom.resume();
    // Back: held on the empty short window, then firing on data again.
    let held = eventually(Duration::from_secs(60), || {
        d.log()
            .contains("a window it needs has no data")
            .then_some(())
    });
    assert!(
        held.is_some(),
        "the empty short window was never seen:\n{}",
        d.log()
    );
    let recovered = eventually(Duration::from_secs(60), || {
        (d.metric("slo_eval_alerts_held_unknown", &[]) == Some(0.0)
            && d.log().contains("alert evaluated again after being held"))
        .then_some(())
    });
    assert!(recovered.is_some(), "never evaluated again:\n{}", d.log());
    d.wait_cycles(5.0, Duration::from_secs(30));

    assert_eq!(
        count(&hook, "resolved", "CheckoutBurn"),
        0,
        "a resolve:\n{}",
        d.log()
    );
    assert_eq!(count(&hook, "firing", "CheckoutBurn"), 1, "a second page");
    let am_seen = am_hook.received();
    assert_eq!(alerts_named(&am_seen, "resolved", "CheckoutBurn").len(), 0);
    for a in alerts_named(&am_seen, "firing", "CheckoutBurn") {
        assert_eq!(instant(&a["startsAt"]), starts_at);
    }
    let live = am_alerts(&am, "CheckoutBurn");
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(instant(&live[0]["startsAt"]), starts_at);
    assert_eq!(live[0]["status"]["state"], "active");
}

/// Issue 12: `absent_for` was ignored by the daemon (an SLO with no data
/// never alerted). The SLO's series go stale (the target's scrapes fail):
/// once the shortest window has had no data for `absent_for`, the
/// `<alert>Absent` ticket reaches the webhook and Alertmanager, with the
/// generated rule's labels; it resolves when data returns. No page fires
/// on the missing data.
#[test]
fn an_slo_without_data_for_absent_for_sends_the_absent_alert_and_resolves_it() {
    let target = LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_spec(
        dir.path(),
        "checkout.yaml",
        &spec("1m", "10s", "", "      absent_for: 5s\n"),
    );
    // The daemon starts once the shortest window has data.
    let data = eventually(Duration::from_secs(30), || {
        get(&format!(
            "{}/api/v1/query?query=increase(http_requests_total%5B10s%5D)",
            prom.url
        ))
        .filter(|(_, b)| b.contains("\"result\":[{"))
    });
    assert!(data.is_some(), "Prometheus has no data:\n{}", prom.log());
    let listen = support::free_port();
    let config = config(dir.path(), &prom.url, Some(&am.url), &hook.url, listen, "");
    let d = Daemon::start(&config, listen);
    let seen = eventually(Duration::from_secs(30), || {
        d.metric("slo_eval_burn_rate", &[("window", "10s")])
    });
    assert!(seen.is_some(), "no data at first:\n{}", d.log());
    d.wait_cycles(3.0, Duration::from_secs(30));
    assert_eq!(
        d.metric("slo_eval_alert_state", &[("tier", "absent")]),
        Some(0.0)
    );
    assert_eq!(hook.received().len(), 0);

    target.set_down(true);
    let fired = eventually(Duration::from_secs(60), || {
        (count(&hook, "firing", "CheckoutBurnAbsent") >= 1).then_some(())
    });
    assert!(fired.is_some(), "no absent alert within 60 s:\n{}", d.log());
    let received = hook.received();
    let alert = alerts_named(&received, "firing", "CheckoutBurnAbsent")
        .into_iter()
        .next()
        .unwrap_or_default();
    assert_eq!(alert["labels"]["severity"], "ticket");
    assert_eq!(alert["labels"]["slo"], "availability");
    assert_eq!(alert["labels"]["slo_service"], "checkout");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("no SLI data for 5s")),
        "{alert}"
    );
    let am_got = am_hook.wait_for(Duration::from_secs(30), |r| {
        !alerts_named(r, "firing", "CheckoutBurnAbsent").is_empty()
    });
    assert!(!alerts_named(&am_got, "firing", "CheckoutBurnAbsent").is_empty());
    assert_eq!(
        d.metric("slo_eval_alert_state", &[("tier", "absent")]),
        Some(2.0)
    );
    assert_eq!(
        count(&hook, "firing", "CheckoutBurn"),
        0,
        "paged on no data"
    );

    target.set_down(false);
    let resolved = eventually(Duration::from_secs(60), || {
        (count(&hook, "resolved", "CheckoutBurnAbsent") >= 1).then_some(())
    });
    assert!(
        resolved.is_some(),
        "the absent alert never resolved:\n{}",
        d.log()
    );
    assert_eq!(count(&hook, "firing", "CheckoutBurnAbsent"), 1);
    assert!(d.log().contains("alert resolved"));
}

/// Issue 12: an instance label `route="{{ $value }}"` was rendered as a
/// template, became `0`, and Alertmanager merged it with the instance
/// `route="0"`. Both instances burn: Alertmanager holds two alerts, with
/// the data's values literal.
#[test]
fn label_values_from_the_data_are_literal_at_alertmanager() {
    let odd = LiveTarget::start("{{ $value }}", 50.0);
    let zero = LiveTarget::start("0", 50.0);
    odd.set_error_ratio(0.5);
    zero.set_error_ratio(0.5);
    let prom = Prometheus::scraping_every(&[&odd.address, &zero.address], 1);
    let hook = Receiver::start();
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_spec(
        dir.path(),
        "checkout.yaml",
        &spec("1m", "15s", "group_by: [job]", ""),
    );
    let listen = support::free_port();
    let config = config(dir.path(), &prom.url, Some(&am.url), &hook.url, listen, "");
    let d = Daemon::start(&config, listen);
    let both = eventually(Duration::from_secs(60), || {
        let live = am_alerts(&am, "CheckoutBurn");
        (live.len() >= 2).then_some(live)
    });
    let live = both.unwrap_or_else(|| {
        panic!(
            "Alertmanager never held two alerts: {:?}\n{}",
            am_alerts(&am, "CheckoutBurn"),
            d.log()
        )
    });
    let mut jobs: Vec<String> = live
        .iter()
        .map(|a| a["labels"]["job"].as_str().unwrap_or_default().to_owned())
        .collect();
    jobs.sort();
    assert_eq!(jobs, ["0", "{{ $value }}"]);
}

/// Issue 12: one invalid spec file kept the daemon from starting. The valid
/// file is loaded and pages; the broken one is named in `/readyz` (200,
/// degraded: the pod keeps alerting) and counted in `/metrics`. `strict:
/// true` refuses to start instead. On SIGHUP a file that breaks keeps its
/// previous version: its firing page is neither resolved nor re-sent.
#[test]
fn an_invalid_spec_file_is_reported_while_the_valid_ones_alert() {
    let target = LiveTarget::start("checkout", 50.0);
    target.set_error_ratio(0.5);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_spec(dir.path(), "checkout.yaml", &spec("1m", "15s", "", ""));
    write_spec(dir.path(), "broken.yaml", "version: slo/v1\nservice: [\n");

    // strict: refuses to start, naming the file.
    let strict_port = support::free_port();
    let strict = config(
        dir.path(),
        &prom.url,
        None,
        &hook.url,
        strict_port,
        "strict: true\n",
    );
    let mut child = Daemon::spawn(&strict, strict_port);
    let exited = eventually(Duration::from_secs(30), || child.try_wait());
    let log = std::fs::read_to_string(strict.with_extension("log")).unwrap_or_default();
    assert!(
        exited.is_some_and(|s| !s.success()),
        "strict started: {exited:?}\n{log}"
    );
    assert!(log.contains("broken.yaml"), "{log}");

    let listen = support::free_port();
    let config = config(dir.path(), &prom.url, None, &hook.url, listen, "");
    let d = Daemon::start(&config, listen);
    let (status, body) = get(&d.url("readyz")).unwrap_or_default();
    assert_eq!(status, 200);
    assert!(
        body.contains("degraded") && body.contains("broken.yaml"),
        "{body}"
    );
    assert_eq!(d.metric("slo_eval_spec_files_invalid", &[]), Some(1.0));
    assert!(d.log().contains("invalid spec file"), "{}", d.log());
    let paged = eventually(Duration::from_secs(60), || {
        (count(&hook, "firing", "CheckoutBurn") >= 1).then_some(())
    });
    assert!(paged.is_some(), "the valid file never paged:\n{}", d.log());

    // A bad edit of the valid file, then SIGHUP: its previous version stays.
    write_spec(dir.path(), "checkout.yaml", "version: slo/v1\nslos: 3\n");
    let pid = d.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    let reported = eventually(Duration::from_secs(20), || {
        (d.metric("slo_eval_spec_files_invalid", &[]) == Some(2.0)).then_some(())
    });
    assert!(reported.is_some(), "{}", d.log());
    let (_, body) = get(&d.url("readyz")).unwrap_or_default();
    assert!(
        body.contains("checkout.yaml") && body.contains("previous version"),
        "{body}"
    );
    d.wait_cycles(5.0, Duration::from_secs(30));
    assert_eq!(
        count(&hook, "resolved", "CheckoutBurn"),
        0,
        "resolved on a broken reload"
    );
    assert_eq!(count(&hook, "firing", "CheckoutBurn"), 1);
}

/// Issue 12: a restart while Prometheus is down, after a bad merge broke
/// the file of another SLO. Both firing pages (from the state file) are
/// held, not resolved: one because its queries fail, the other because its
/// SLO is not loaded while a spec file is invalid. `/metrics` exports the
/// persisted alert state, and each hold is logged with its reason.
#[test]
fn a_restart_during_an_outage_with_a_broken_file_holds_every_firing_page() {
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_spec(dir.path(), "checkout.yaml", &spec("1m", "15s", "", ""));
    write_spec(dir.path(), "payments.yaml", "version: slo/v1\nservice: [\n");
    let firing = r#"{"labels":{"alertname":"X"},"annotations":{},"state":{"state":"firing","active_since":1700000000000,"started_at":1700000000000}}"#;
    std::fs::create_dir_all(dir.path().join("state")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("state/state.json"),
        format!(
            r#"{{"version":1,"alerts":{{"checkout/availability{{}}/page":{firing},"payments/latency{{}}/page":{firing}}},"outbox":{{}}}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let listen = support::free_port();
    let config = config(dir.path(), &dead, None, &hook.url, listen, "");
    let d = Daemon::start(&config, listen);
    d.wait_cycles(3.0, Duration::from_secs(30));
    assert_eq!(
        d.metric(
            "slo_eval_alert_state",
            &[("slo", "availability"), ("tier", "page")]
        ),
        Some(2.0)
    );
    assert_eq!(d.metric("slo_eval_alerts_held_unknown", &[]), Some(2.0));
    assert_eq!(hook.received().len(), 0, "a resolve was sent");
    let log = d.log();
    assert!(log.contains("the SLO's queries failed"), "{log}");
    assert!(
        log.contains("its SLO is not loaded while a spec file is invalid"),
        "{log}"
    );
    let state = std::fs::read_to_string(dir.path().join("state/state.json")).unwrap_or_default();
    assert_eq!(state.matches("\"firing\"").count(), 2, "{state}");
}

/// Regression: an SLO whose selector matches nothing (a typo, no
/// `absent_for`) was silent in the daemon: alert state 0 ("inactive") in
/// `/metrics`, nothing logged, as healthy as a working SLO. Now
/// `slo_eval_slo_no_data` is 1 for it (0 for the SLO with data) and one
/// warning names it.
#[test]
fn an_slo_matching_no_series_is_logged_and_exported_as_no_data() {
    let target = LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_spec(dir.path(), "checkout.yaml", &spec("1m", "10s", "", ""));
    let typo = spec("1m", "10s", "", "")
        .replace("service: checkout", "service: typo")
        .replace("http_requests_total", "http_request_total");
    write_spec(dir.path(), "typo.yaml", &typo);
    let listen = support::free_port();
    let config = config(dir.path(), &prom.url, None, &hook.url, listen, "");
    let d = Daemon::start(&config, listen);
    let settled = eventually(Duration::from_secs(60), || {
        (d.metric("slo_eval_slo_no_data", &[("slo_service", "checkout")]) == Some(0.0))
            .then_some(())
    });
    assert!(settled.is_some(), "checkout never had data:\n{}", d.log());
    d.wait_cycles(2.0, Duration::from_secs(30));
    assert_eq!(
        d.metric("slo_eval_slo_no_data", &[("slo_service", "typo")]),
        Some(1.0),
        "{}",
        d.log()
    );
    let log = d.log();
    let warned = log
        .lines()
        .filter(|l| l.contains("no data in any window") && l.contains("service=typo"))
        .count();
    assert_eq!(warned, 1, "{log}");
}

/// The burn-rate and error-ratio series are updated in place (a cycle
/// used to remove and create them again, so a scrape in between could miss
/// them), and only those an SLO no longer writes go: after a reload that
/// changes the windows, the old windows' series are gone and the new ones
/// are there; a spec file removed takes its SLO's series, another file's
/// stay.
#[test]
fn a_reload_replaces_the_old_windows_series_and_a_removed_slo_takes_its_own() {
    let target = LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let other = spec("1m", "10s", "", "")
        .replace("service: checkout", "service: payments")
        .replace("CheckoutBurn", "PaymentsBurn");
    write_spec(dir.path(), "payments.yaml", &other);
    write_spec(dir.path(), "checkout.yaml", &spec("1m", "10s", "", ""));
    let listen = support::free_port();
    let config = config(dir.path(), &prom.url, None, &hook.url, listen, "");
    let d = Daemon::start(&config, listen);
    let series = |service: &str, name: &str, window: &str| {
        d.metric(name, &[("slo_service", service), ("window", window)])
    };
    let seen = eventually(Duration::from_secs(30), || {
        series("checkout", "slo_eval_burn_rate", "10s")
    });
    assert!(seen.is_some(), "no burn rate at first:\n{}", d.log());
    assert!(series("checkout", "slo_eval_error_ratio", "1m").is_some());

    write_spec(dir.path(), "checkout.yaml", &spec("2m", "20s", "", ""));
    let pid = d.pid().to_string();
    let hup = || {
        let status = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()));
    };
    hup();
    let replaced = eventually(Duration::from_secs(30), || {
        series("checkout", "slo_eval_burn_rate", "20s")
            .is_some()
            .then_some(())
    });
    assert!(replaced.is_some(), "no new window:\n{}", d.log());
    d.wait_cycles(2.0, Duration::from_secs(30));
    for (name, window) in [
        ("slo_eval_burn_rate", "10s"),
        ("slo_eval_burn_rate", "1m"),
        ("slo_eval_error_ratio", "10s"),
        ("slo_eval_error_ratio", "1m"),
    ] {
        assert_eq!(series("checkout", name, window), None, "{name} {window}");
    }
    assert!(series("payments", "slo_eval_burn_rate", "10s").is_some());

    std::fs::remove_file(dir.path().join("specs/checkout.yaml")).unwrap_or_else(|e| panic!("{e}"));
    hup();
    let gone = eventually(Duration::from_secs(30), || {
        d.metric("slo_eval_burn_rate", &[("slo_service", "checkout")])
            .is_none()
            .then_some(())
    });
    assert!(
        gone.is_some(),
        "the removed SLO's series stayed:\n{}",
        d.log()
    );
    assert_eq!(
        d.metric(
            "slo_eval_budget_remaining_ratio",
            &[("slo_service", "checkout")]
        ),
        None
    );
    d.wait_cycles(2.0, Duration::from_secs(30));
    assert!(series("payments", "slo_eval_burn_rate", "10s").is_some());
    assert!(series("payments", "slo_eval_error_ratio", "1m").is_some());
}
