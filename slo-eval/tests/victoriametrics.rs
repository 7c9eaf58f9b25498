//! `eval`, `backtest --prometheus` and `validate --prometheus` against a
//! real VictoriaMetrics (its Prometheus-compatible query API), compared
//! with a real Prometheus holding the same history: the example shop's
//! three days (`examples/data/shop.om`), backfilled into Prometheus with
//! promtool and imported into VictoriaMetrics with its own import API.
//!
//! # Where the engines differ, and the tolerance
//!
//! Both answer the same PromQL, but MetricsQL's `increase`/`rate` are
//! computed differently:
//!
//! - **No extrapolation, one sample more.** Prometheus takes the samples
//!   inside the window and extrapolates their increase towards the window's
//!   edges; VictoriaMetrics takes the increase from the last sample
//!   *before* the window to the last one inside it, without extrapolating.
//!   At a time on the scrape grid (the shop is sampled every minute, on the
//!   minute) both cover exactly the window and agree to the last bit; off
//!   the grid Prometheus covers the samples' span (up to one scrape
//!   interval short of the window, stretched back to it) and
//!   VictoriaMetrics the window plus up to one interval: event counts
//!   differ by up to about one interval of traffic, and a low-traffic
//!   window can hold one event on VictoriaMetrics and none (NO DATA, so
//!   `held`) on Prometheus.
//! - **A series' first sample.** Where a window reaches back before a
//!   series' first sample, Prometheus extrapolates the increase by up to
//!   half an average interval; VictoriaMetrics counts the first value as an
//!   increase from 0 when it is small (under ten times its next increment,
//!   plus one: a counter just created) and drops it otherwise. The shop's
//!   history starts at 2026-11-02T00:00Z with refunds' error counter at 2:
//!   VictoriaMetrics counts those 2 errors in every window reaching back to
//!   the start (the 3d window and the 30d period late on the 4th),
//!   Prometheus does not.
//!
//! So the test asserts: decisions (status and firing tiers of every SLO)
//! equal at the chosen times; on the grid, windows inside the history
//! equal (relative 1e-9) and windows reaching before it within one scrape
//! interval of average traffic plus the small first values VictoriaMetrics
//! counts (computed from the data, per service); off the grid, decisions
//! equal except a pair Prometheus holds for no events where
//! VictoriaMetrics saw the one from before the window.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::Prometheus;
use support::victoria::VictoriaMetrics;

const SHOP_DATA: &str = "examples/data/shop.om";
/// The shop's first sample, 2026-11-02T00:00:00Z.
const HISTORY_START: i64 = 1_793_577_600;
/// The shop's scrape interval.
const SCRAPE_SECS: f64 = 60.0;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn shop_text() -> String {
    std::fs::read_to_string(root().join(SHOP_DATA)).unwrap_or_else(|e| panic!("{SHOP_DATA}: {e}"))
}

/// `eval --json` at `at`; with `--partial-response false`, which both
/// real servers must accept (the parameters are Thanos's and vmselect's).
fn eval_json(url: &str, at: &str) -> Value {
    let out = support::slo_eval()
        .args(["eval", "--json", "--prometheus", url, "--at", at])
        .args(["--partial-response", "false"])
        .arg(root().join("examples/shop"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "eval against {url} at {at}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// Status and firing tiers of one SLO.
fn decision(slo: &Value) -> (String, Vec<String>) {
    let firing = slo["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["firing"] == Value::Bool(true))
        .map(|a| a["severity"].as_str().unwrap_or_default().to_owned())
        .collect();
    (
        slo["status"].as_str().unwrap_or_default().to_owned(),
        firing,
    )
}

fn service(slo: &Value) -> &str {
    slo["service"].as_str().unwrap_or_default()
}

/// (events, bad events) of a window; bad is `None` when the ratio is.
fn counts(window: &Value) -> (f64, Option<f64>) {
    let events = window["events"].as_f64().unwrap_or(0.0);
    (events, window["error_ratio"].as_f64().map(|r| r * events))
}

/// Per service (`job`), the sum of the first values VictoriaMetrics counts
/// as an increase from 0: a series' first value `v0` with next increment
/// `d` (taken as 10 when 0) is counted when `|v0| < 10 (|d| + 1)`.
fn counted_first_values(openmetrics: &str) -> BTreeMap<String, f64> {
    let mut firsts: BTreeMap<String, (f64, Option<f64>)> = BTreeMap::new();
    for line in openmetrics.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.rsplitn(3, ' ');
        let (_, Some(v), Some(series)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let v: f64 = v.parse().unwrap_or(0.0);
        match firsts.get_mut(series) {
            None => {
                firsts.insert(series.to_owned(), (v, None));
            }
            Some(e) if e.1.is_none() => e.1 = Some(v),
            Some(_) => {}
        }
    }
    let mut out = BTreeMap::new();
    for (series, (v0, v1)) in firsts {
        let d = v1.map_or(0.0, |v1| v1 - v0);
        let d = if d == 0.0 { 10.0 } else { d };
        let job = series
            .split("job=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_owned();
        if v0.abs() < 10.0 * (d.abs() + 1.0) {
            *out.entry(job).or_insert(0.0) += v0;
        }
    }
    out
}

/// Compares every SLO's decisions and windows at `at` (Unix seconds on the
/// scrape grid).
fn compare_on_the_grid(prom: &Value, vm: &Value, at: i64, first_values: &BTreeMap<String, f64>) {
    let (ps, vs) = (prom["slos"].as_array(), vm["slos"].as_array());
    let (ps, vs) = (ps.into_iter().flatten(), vs.into_iter().flatten());
    let mut compared = 0;
    for (p, v) in ps.zip(vs) {
        let name = service(p);
        assert_eq!(name, service(v));
        assert_eq!(
            decision(p),
            decision(v),
            "{name} at {at}: Prometheus and VictoriaMetrics decide differently"
        );
        let windows = p["windows"].as_object().into_iter().flatten();
        for (w, pw) in windows {
            let secs = w
                .parse::<slo_core::duration::Duration>()
                .map(|d| d.as_secs_f64() as i64)
                .unwrap_or_else(|_| panic!("window {w}"));
            let vw = &v["windows"][w];
            let ((pe, pb), (ve, vb)) = (counts(pw), counts(vw));
            if at - secs >= HISTORY_START {
                let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
                assert!(same(pe, ve), "{name} {w} at {at}: events {pe} vs {ve}");
                assert_eq!(pb.is_some(), vb.is_some(), "{name} {w} at {at}");
                if let (Some(pb), Some(vb)) = (pb, vb) {
                    assert!(same(pb, vb), "{name} {w} at {at}: bad {pb} vs {vb}");
                }
            } else {
                // One interval of the window's average traffic (Prometheus's
                // extrapolation at the start is at most half of it) plus the
                // first values VictoriaMetrics counts.
                let covered = (at - HISTORY_START) as f64;
                let allowance = first_values.get(name).copied().unwrap_or(0.0);
                let tol = |n: f64| n * SCRAPE_SECS / covered + allowance;
                assert!(
                    (pe - ve).abs() <= tol(pe),
                    "{name} {w} at {at}: events {pe} vs {ve} (tolerance {})",
                    tol(pe)
                );
                if let (Some(pb), Some(vb)) = (pb, vb) {
                    assert!(
                        (pb - vb).abs() <= tol(pb),
                        "{name} {w} at {at}: bad {pb} vs {vb} (tolerance {})",
                        tol(pb)
                    );
                }
            }
            compared += 1;
        }
    }
    assert!(compared >= 4 * 7, "only {compared} windows compared");
}

/// The decisions of `eval --json` on the shop agree between Prometheus and
/// VictoriaMetrics at chosen times (see the module doc for the tolerance):
/// during the checkout outage (page and ticket fire), after the one failed
/// refund (refunds held, too few events), during the frontend's slow burn
/// (ticket), and off the scrape grid during the outage.
#[test]
fn eval_decisions_agree_between_prometheus_and_victoriametrics() {
    let text = shop_text();
    let prom = Prometheus::start(&text, &[]);
    let vm = VictoriaMetrics::with_history(&text);
    let first_values = counted_first_values(&text);
    assert_eq!(
        first_values.get("refunds").copied(),
        Some(2.0),
        "the shop's refunds error counter starts at 2: {first_values:?}"
    );
    let mut seen = Vec::new();
    for at in [
        "2026-11-04T14:10:00Z",
        "2026-11-04T03:12:00Z",
        "2026-11-03T12:00:00Z",
    ] {
        let t = slo_core::time::parse(at).unwrap_or_default() / 1000;
        let (p, v) = (eval_json(&prom.url, at), eval_json(&vm.url, at));
        compare_on_the_grid(&p, &v, t, &first_values);
        for slo in p["slos"].as_array().into_iter().flatten() {
            seen.push((service(slo).to_owned(), decision(slo)));
        }
    }
    // The times are chosen to show every kind of decision.
    let has = |svc: &str, status: &str, tier: Option<&str>| {
        seen.iter().any(|(s, (st, tiers))| {
            s == svc && st == status && tier.is_none_or(|t| tiers.iter().any(|x| x == t))
        })
    };
    assert!(has("checkout", "firing", Some("page")), "{seen:?}");
    assert!(has("frontend", "firing", Some("ticket")), "{seen:?}");
    assert!(has("refunds", "held", None), "{seen:?}");
    assert!(has("productcatalog", "ok", None), "{seen:?}");

    // Off the grid (30 s after a scrape): Prometheus's 5m window holds 4.5
    // minutes of samples, VictoriaMetrics's reaches back to the sample
    // before it. Every decision agrees but refunds': its last request came
    // between 14:05 and 14:06, inside VictoriaMetrics's window (1 event,
    // 0 errors: ok) and outside Prometheus's (no events: the 1h/5m page
    // pair is held).
    let at = "2026-11-04T14:10:30Z";
    let (p, v) = (eval_json(&prom.url, at), eval_json(&vm.url, at));
    let (ps, vs) = (p["slos"].as_array(), v["slos"].as_array());
    for (ps, vs) in ps.into_iter().flatten().zip(vs.into_iter().flatten()) {
        if service(ps) == "refunds" {
            assert_eq!(decision(ps).0, "held", "{ps}");
            assert_eq!(decision(vs).0, "ok", "{vs}");
            assert_eq!(counts(&ps["windows"]["5m"]).0, 0.0, "{ps}");
            assert_eq!(counts(&vs["windows"]["5m"]).0, 1.0, "{vs}");
        } else {
            assert_eq!(decision(ps), decision(vs), "{} at {at}", service(ps));
        }
    }
}

/// `backtest --prometheus` finds the same alerts, to the minute, on both
/// engines over two days, the slices SLI's too: the replay asks for
/// counters (and slice indicators) resampled at the resolution on the
/// scrape grid, where the engines agree.
#[test]
fn backtest_finds_the_same_alerts_on_victoriametrics() {
    let text = shop_text();
    let prom = Prometheus::start(&text, &[]);
    let vm = VictoriaMetrics::with_history(&text);
    let run = |url: &str| {
        let out = support::slo_eval()
            .args(["backtest", "--json", "--prometheus", url])
            .args(["--start", "2026-11-03T00:00:00Z"])
            .args(["--end", "2026-11-05T00:00:00Z"])
            .arg(root().join("examples/shop"))
            .arg(root().join("slo-eval/tests/fixtures/backtest/checkout-slices.yaml"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        let mut alerts = Vec::new();
        for slo in doc["slos"].as_array().into_iter().flatten() {
            for inst in slo["instances"].as_array().into_iter().flatten() {
                for a in inst["alerts"].as_array().into_iter().flatten() {
                    alerts.push((
                        service(slo).to_owned(),
                        a["severity"].as_str().unwrap_or_default().to_owned(),
                        a["start"].as_i64().unwrap_or(0),
                        a["end"].as_i64().unwrap_or(0),
                    ));
                }
            }
        }
        alerts
    };
    let (a, b) = (run(&prom.url), run(&vm.url));
    assert!(a.len() >= 4, "the shop must alert: {a:?}");
    assert_eq!(a, b, "Prometheus {a:?}\nVictoriaMetrics {b:?}");
}

/// `validate --prometheus` reads VictoriaMetrics's answers (series,
/// buckets, an empty `/api/v1/metadata`) as it reads Prometheus's: with the
/// shop's samples imported at the current time, the shop validates clean,
/// and a misspelt metric is still an error.
#[test]
fn validate_live_against_victoriametrics() {
    let vm = VictoriaMetrics::start();
    // The last 20 minutes of the shop, moved to end now.
    let text = shop_text();
    let last = HISTORY_START + 3 * 86_400;
    let shift = (support::now() / 60) * 60 - last;
    let mut recent = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((rest, t)) = line.rsplit_once(' ') else {
            continue;
        };
        let t: i64 = t.parse().unwrap_or(0);
        if t > last - 20 * 60 {
            recent.push_str(&format!("{rest} {}\n", (t + shift) * 1000));
        }
    }
    vm.import_text(&recent);
    let out = support::slo_eval()
        .args(["validate", "--prometheus", &vm.url])
        .arg(root().join("examples/shop"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{}", vm.log());

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let typo = std::fs::read_to_string(root().join("examples/shop/checkout.yaml"))
        .unwrap_or_default()
        .replace("http_requests_total", "http_request_total");
    let spec = dir.path().join("checkout.yaml");
    std::fs::write(&spec, typo).unwrap_or_else(|e| panic!("{e}"));
    let out = support::slo_eval()
        .args(["validate", "--prometheus", &vm.url])
        .arg(&spec)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("matches no series"), "{stderr}");
}

/// The daemon (`run`) against VictoriaMetrics scraping a live target
/// itself (`-promscrape.config`): an incident pages through a real
/// Alertmanager once, across a kill -9 and restart mid-incident, and
/// resolves once (the same `startsAt`) when the errors stop.
/// `-search.latencyOffset=1s`: by default VictoriaMetrics answers a query
/// at "now" as of 30 s ago (samples still arriving), which would only delay
/// this test's 15 s windows.
#[test]
fn the_daemon_pages_once_across_a_restart_and_resolves_on_victoriametrics() {
    use std::time::Duration;
    use support::{Alertmanager, LiveTarget, Receiver, eventually};

    let target = LiveTarget::start("checkout", 50.0);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scrape = dir.path().join("scrape.yml");
    std::fs::write(
        &scrape,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: live\n    honor_labels: true\n    static_configs: [{{targets: [{:?}]}}]\n",
            target.address
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let vm = VictoriaMetrics::start_with(&[
        format!("-promscrape.config={}", scrape.display()),
        "-search.latencyOffset=1s".to_owned(),
    ]);
    let am_hook = Receiver::start();
    let am = Alertmanager::start(&am_hook.url);
    std::fs::create_dir_all(dir.path().join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("specs/checkout.yaml"), support::DAEMON_SPEC)
        .unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "prometheus: {{url: {:?}, timeout: 2s}}\nspecs: [specs]\ninterval: 1s\nnotify:\n  alertmanagers: [{{url: {:?}}}]\n  timeout: 2s\n  retries: 1\nlisten: 127.0.0.1:{listen}\nstate_file: state.json\n",
            vm.url, am.url
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let log_path = dir.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("{e}"));
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    drop(log);
    let start = || {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("{e}"));
        Kill(
            std::process::Command::new(assert_cmd::cargo::cargo_bin("slo-eval"))
                .args(["run", "--config"])
                .arg(&config)
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{e}")),
        )
    };
    let daemon = start();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let metrics = format!("http://127.0.0.1:{listen}/metrics");
    // Healthy traffic first: a few cycles, nothing sent.
    support::wait_cycles(&metrics, 5.0, Duration::from_secs(60), read_log);
    let status = |s: &str| {
        am_hook
            .received()
            .iter()
            .filter(|x| x.json["status"] == s)
            .count()
    };
    assert_eq!(
        status("firing"),
        0,
        "paged on healthy traffic:\n{}",
        read_log()
    );

    target.set_error_ratio(0.5);
    let fired = eventually(Duration::from_secs(60), || {
        (status("firing") >= 1).then_some(())
    });
    assert!(
        fired.is_some(),
        "no page within 60 s:\n{}\n{}",
        read_log(),
        vm.log()
    );
    let first = am_hook
        .received()
        .into_iter()
        .find(|x| x.json["status"] == "firing")
        .map(|x| x.json)
        .unwrap_or_default();
    assert_eq!(first["alerts"][0]["labels"]["alertname"], "CheckoutBurn");
    assert_eq!(first["alerts"][0]["labels"]["slo_tier"], "page");
    let starts_at = first["alerts"][0]["startsAt"].clone();

    // kill -9 mid-incident, restart on the same state: no second page.
    drop(daemon);
    let _daemon = start();
    support::wait_cycles(&metrics, 5.0, Duration::from_secs(60), read_log);
    assert_eq!(status("firing"), 1, "re-paged after the restart");

    target.set_error_ratio(0.0);
    let resolved = eventually(Duration::from_secs(90), || {
        (status("resolved") >= 1).then_some(())
    });
    assert!(resolved.is_some(), "never resolved:\n{}", read_log());
    assert_eq!(status("firing"), 1, "paged twice");
    let resolve = am_hook
        .received()
        .into_iter()
        .find(|x| x.json["status"] == "resolved")
        .map(|x| x.json["alerts"][0]["startsAt"].clone());
    assert_eq!(resolve, Some(starts_at), "the resolve is the same alert");
}

/// A `slices` SLI (a 1m slice is good while the checkout's 5m error ratio is
/// under 10%) on VictoriaMetrics. Two differences, both the engine's:
///
/// - its 30d period is a `[30d:1m]` subquery, 43,200 points: over
///   VictoriaMetrics' default `-search.maxPointsPerTimeseries` (30,000), so
///   `eval` fails with VictoriaMetrics' message naming the flag (never a
///   healthy SLO); with the flag raised it evaluates;
/// - its subqueries leave out the window's first slice (left-open, as
///   Prometheus 3's do): a window inside the history counts `W / slice`
///   slices, one fewer than Prometheus 2.42's `W / slice + 1`. The
///   decision is the same.
#[test]
fn slices_on_victoriametrics_need_the_points_limit_raised_and_count_one_slice_fewer() {
    let text = shop_text();
    let spec =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backtest/checkout-slices.yaml");
    let at = "2026-11-04T14:10:00Z";
    let eval = |url: &str| {
        support::slo_eval()
            .args(["eval", "--json", "--prometheus", url, "--at", at])
            .arg(&spec)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let strict = VictoriaMetrics::with_history(&text);
    let out = eval(&strict.url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("-search.maxPointsPerTimeseries") && !stderr.contains("(422)"),
        "{stderr}"
    );
    drop(strict);

    let vm = VictoriaMetrics::start_with(&["-search.maxPointsPerTimeseries=50000".to_owned()]);
    vm.import_openmetrics(&text);
    let prom = Prometheus::start(&text, &[]);
    let json = |out: std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
    };
    let (p, v) = (json(eval(&prom.url)), json(eval(&vm.url)));
    let (p, v) = (&p["slos"][0], &v["slos"][0]);
    assert_eq!(decision(p), decision(v));
    assert_eq!(decision(p).0, "firing", "{p}");
    let t = slo_core::time::parse(at).unwrap_or_default() / 1000;
    let mut inside = 0;
    for (w, pw) in p["windows"].as_object().into_iter().flatten() {
        let secs = w
            .parse::<slo_core::duration::Duration>()
            .map(|d| d.as_secs_f64() as i64)
            .unwrap_or_else(|_| panic!("window {w}"));
        if t - secs < HISTORY_START {
            continue;
        }
        let (pe, ve) = (counts(pw).0, counts(&v["windows"][w]).0);
        assert_eq!(pe, (secs / 60 + 1) as f64, "Prometheus {w}: {p}");
        assert_eq!(ve, (secs / 60) as f64, "VictoriaMetrics {w}: {v}");
        inside += 1;
    }
    assert!(inside >= 5, "{inside} windows inside the history");
}
