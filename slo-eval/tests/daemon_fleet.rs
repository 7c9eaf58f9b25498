//! A fleet of daemons over one Prometheus and one Alertmanager (all real):
//! two replicas of one shard send identical alerts (labels, annotations,
//! `startsAt`), which Alertmanager de-duplicates, and killing one loses
//! nothing; a sharded pair evaluates each SLO once.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::daemon::Daemon;
use support::{Alertmanager, LiveTarget, Prometheus, Receiver, eventually, get};

/// One SLO of the checkout target, alerting as `alert`.
fn slo(name: &str, alert: &str) -> String {
    format!(
        r#"  - name: {name}
    objective: 99
    period: 1h
    sli:
      ratio:
        errors: http_requests_total{{job="checkout",code="500"}}
        total: http_requests_total{{job="checkout"}}
    alerting:
      name: {alert}
      windows:
        - {{severity: page, long: 1m, short: 15s, factor: 10}}
"#
    )
}

/// A daemon's folder: `specs/checkout.yaml` holding `slos`, and a config
/// that differs between members of the fleet only in `listen` and `extra`.
fn member(dir: &Path, slos: &str, prometheus: &str, am: &str, listen: u16, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("specs")).unwrap_or_else(|e| panic!("{e}"));
    let spec = format!("version: slo/v1\nservice: checkout\nslos:\n{slos}");
    std::fs::write(dir.join("specs/checkout.yaml"), spec).unwrap_or_else(|e| panic!("{e}"));
    let config = format!(
        "prometheus: {{url: {prometheus:?}, timeout: 2s}}\nspecs: [specs]\ninterval: 2s\nnotify:\n  alertmanagers: [{{url: {am:?}}}]\n  timeout: 2s\n  retries: 1\nlisten: 127.0.0.1:{listen}\nstate_file: state/state.json\nexternal_url: http://slo-eval.example\n{extra}"
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The alert records of a daemon's state file, by key.
fn records(config: &Path) -> serde_json::Map<String, serde_json::Value> {
    let path = config.with_file_name("state").join("state.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["alerts"].as_object().cloned())
        .unwrap_or_default()
}

fn firing_record(config: &Path) -> Option<serde_json::Value> {
    records(config)
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r["state"]["state"] == "firing")
}

/// Notifications the receiver got for `alertname` with `status`.
fn notified(r: &Receiver, alertname: &str, status: &str) -> usize {
    r.received()
        .iter()
        .filter(|x| x.json["status"] == status)
        .filter(|x| {
            x.json["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["labels"]["alertname"] == alertname))
        })
        .count()
}

/// Alertmanager's active alerts named `alertname`.
fn active_in_alertmanager(am: &Alertmanager, alertname: &str) -> Vec<serde_json::Value> {
    get(&format!("{}/api/v2/alerts?active=true", am.url))
        .and_then(|(_, body)| serde_json::from_str::<Vec<serde_json::Value>>(&body).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == alertname)
        .collect()
}

#[test]
fn two_replicas_send_identical_alerts_and_losing_one_loses_nothing() {
    let target = LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let am = Alertmanager::start(&hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let slos = slo("availability", "CheckoutBurn");
    let (la, lb) = (support::free_port(), support::free_port());
    let ca = member(&dir.path().join("a"), &slos, &prom.url, &am.url, la, "");
    let cb = member(&dir.path().join("b"), &slos, &prom.url, &am.url, lb, "");
    let a = Daemon::start(&ca, la);
    let b = Daemon::start(&cb, lb);
    a.wait_cycles(2.0, Duration::from_secs(30));
    b.wait_cycles(2.0, Duration::from_secs(30));

    target.set_error_ratio(0.5);
    let both = eventually(Duration::from_secs(90), || {
        Some((firing_record(&ca)?, firing_record(&cb)?))
    });
    let Some((ra, rb)) = both else {
        panic!(
            "the replicas did not both fire within 90 s\n--- a\n{}\n--- b\n{}",
            a.log(),
            b.log()
        );
    };
    // Same instants, same data: the same alert, down to its startsAt.
    assert_eq!(ra["labels"], rb["labels"]);
    assert_eq!(ra["annotations"], rb["annotations"]);
    assert_eq!(
        ra["state"]["started_at"],
        rb["state"]["started_at"],
        "replicas disagree on startsAt\n--- a\n{}\n--- b\n{}",
        a.log(),
        b.log()
    );
    let page = eventually(Duration::from_secs(30), || {
        (notified(&hook, "CheckoutBurn", "firing") >= 1).then_some(())
    });
    assert!(page.is_some(), "Alertmanager never notified");
    assert_eq!(active_in_alertmanager(&am, "CheckoutBurn").len(), 1);

    // One replica dies: the other keeps the alert alive in Alertmanager.
    drop(a);
    b.wait_cycles(8.0, Duration::from_secs(60));
    assert_eq!(active_in_alertmanager(&am, "CheckoutBurn").len(), 1);
    assert_eq!(notified(&hook, "CheckoutBurn", "firing"), 1, "paged twice");

    // Errors stop: the survivor resolves it, once.
    target.set_error_ratio(0.0);
    let resolved = eventually(Duration::from_secs(90), || {
        (notified(&hook, "CheckoutBurn", "resolved") >= 1).then_some(())
    });
    assert!(resolved.is_some(), "never resolved\n{}", b.log());
    b.wait_cycles(3.0, Duration::from_secs(30));
    assert_eq!(notified(&hook, "CheckoutBurn", "firing"), 1);
    assert_eq!(notified(&hook, "CheckoutBurn", "resolved"), 1);
}

#[test]
fn a_sharded_pair_evaluates_each_slo_once() {
    // Two SLO names that hash to different shards of two.
    let names: Vec<String> = (0..64).map(|i| format!("availability-{i}")).collect();
    let first = &names[0];
    let owner = slo_core::shard::of("checkout", first, 2);
    let Some(second) = names
        .iter()
        .find(|n| slo_core::shard::of("checkout", n, 2) != owner)
    else {
        panic!("64 names on one shard of two");
    };
    let slos = format!("{}{}", slo(first, "FirstBurn"), slo(second, "SecondBurn"));

    let target = LiveTarget::start("checkout", 50.0);
    let prom = Prometheus::scraping(&target.address);
    let hook = Receiver::start();
    let am = Alertmanager::start(&hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let daemons: Vec<(Daemon, PathBuf)> = (0..2)
        .map(|i| {
            let listen = support::free_port();
            let c = member(
                &dir.path().join(format!("shard{i}")),
                &slos,
                &prom.url,
                &am.url,
                listen,
                &format!("shard: {{index: {i}, count: 2}}\n"),
            );
            (Daemon::start(&c, listen), c)
        })
        .collect();
    for (d, _) in &daemons {
        d.wait_cycles(2.0, Duration::from_secs(30));
        assert_eq!(d.metric("slo_eval_slos", &[]), Some(1.0), "{}", d.log());
    }

    target.set_error_ratio(0.5);
    let both = eventually(Duration::from_secs(90), || {
        (notified(&hook, "FirstBurn", "firing") >= 1
            && notified(&hook, "SecondBurn", "firing") >= 1)
            .then_some(())
    });
    assert!(both.is_some(), "not both SLOs paged within 90 s");
    // Each SLO is decided by its owner only.
    for (i, (d, c)) in daemons.iter().enumerate() {
        let (mine, theirs) = if i as u32 == owner {
            (first, second)
        } else {
            (second, first)
        };
        assert!(d.metric("slo_eval_alert_state", &[("slo", mine)]).is_some());
        assert!(
            d.metric("slo_eval_alert_state", &[("slo", theirs)])
                .is_none()
        );
        let keys: Vec<String> = records(c).keys().cloned().collect();
        assert!(
            keys.iter()
                .all(|k| k.starts_with(&format!("checkout/{mine}{{"))),
            "{keys:?}"
        );
    }
    assert_eq!(notified(&hook, "FirstBurn", "firing"), 1);
    assert_eq!(notified(&hook, "SecondBurn", "firing"), 1);
}
