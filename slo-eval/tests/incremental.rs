//! The incremental daemon against the direct one on a real Prometheus with
//! two days of backfilled history (incidents, counter resets, a scrape gap):
//! both [`Daemon`]s are driven by `cycle(now)` at the same simulated times,
//! every 5 minutes, and their tier decisions must agree at every cycle but
//! within one cycle of a transition. The incremental daemon is dropped
//! mid-incident and made again from its persisted files: it must not
//! re-read history (its requests are counted) and must go on deciding the
//! same; later it is down for an hour and catches up in one request.
//!
//! Why they may differ at an edge: the incremental daemon's windows above
//! 1h are sums of 5m steps ending at the last settled 5m boundary (the
//! cycles run 90 s after one, past the 60 s settle), while the direct
//! daemon's `increase()` ends at the cycle time and extrapolates at both
//! ends of its range; across the scrape gap the steps also miss the
//! events between the last sample before it and the first after (as the
//! generated rules do), which raw `increase()` over a long window counts.
//! Windows up to 1h are the same instant queries on both sides.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slo_core::policy::Severity;
use slo_eval::config::Config;
use slo_eval::daemon::Daemon;
use support::{OpenMetrics, Prometheus};

use support::CHECKOUT_SPEC as CHECKOUT;

const SEARCH: &str = r#"
version: slo/v1
service: search
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="search",code=~"5.."}
        total: http_requests_total{job="search"}
        group_by: [region]
"#;

const MIN: i64 = 60;
const HOUR: i64 = 3600;
const STEP: i64 = 300;
const BASELINE: f64 = 0.0005;

struct Scenario {
    start: i64,
    end: i64,
    /// checkout: 50% errors.
    outage: (i64, i64),
    /// checkout: 0.5% errors (a ticket, no page).
    slow_burn: (i64, i64),
    /// checkout: not scraped (traffic goes on).
    gap: (i64, i64),
    checkout_resets: [i64; 2],
    /// search eu: 100% errors.
    eu_outage: (i64, i64),
    /// search us: 0.4% errors.
    us_burn: (i64, i64),
    search_resets: [i64; 1],
}

fn within((from, to): (i64, i64), t: i64) -> bool {
    (from..to).contains(&t)
}

impl Scenario {
    /// Two days at a 30 s scrape, ending 6 h before now on a 5m boundary.
    fn new() -> Self {
        let end = (support::now() / STEP) * STEP - 6 * HOUR;
        let start = end - 48 * HOUR;
        let at = |h: i64, m: i64| start + h * HOUR + m * MIN;
        Self {
            start,
            end,
            outage: (at(20, 0), at(20, 30)),
            slow_burn: (at(32, 0), at(40, 0)),
            gap: (at(24, 0), at(24, 20)),
            checkout_resets: [at(26, 0), at(36, 0)],
            eu_outage: (at(16, 0), at(16, 10)),
            us_burn: (at(28, 0), at(36, 0)),
            search_resets: [at(30, 0)],
        }
    }

    /// Counters as `support::request_counters_with_resets` writes them,
    /// without the samples in `gap` (the target counts on, unscraped).
    #[allow(clippy::too_many_arguments)]
    fn counters(
        &self,
        om: &mut OpenMetrics,
        labels: &[(&str, &str)],
        rate: impl Fn(i64) -> f64,
        error_ratio: impl Fn(i64) -> f64,
        resets: &[i64],
        gap: Option<(i64, i64)>,
    ) {
        let (mut ok, mut bad) = (0.0_f64, 0.0_f64);
        let (mut ok_points, mut bad_points) = (Vec::new(), Vec::new());
        let mut t = self.start;
        while t <= self.end {
            if resets.contains(&t) {
                (ok, bad) = (0.0, 0.0);
            }
            if !gap.is_some_and(|g| within(g, t)) {
                ok_points.push((t, ok.round()));
                bad_points.push((t, bad.round()));
            }
            let n = rate(t) * 30.0;
            bad += n * error_ratio(t);
            ok += n * (1.0 - error_ratio(t));
            t += 30;
        }
        for (code, points) in [("200", &ok_points), ("500", &bad_points)] {
            let mut l = labels.to_vec();
            l.push(("code", code));
            om.series("http_requests_total", &l, points);
        }
    }

    fn openmetrics(&self) -> String {
        let mut om = OpenMetrics::default();
        self.counters(
            &mut om,
            &[("job", "checkout")],
            |_| 2000.0,
            |t| {
                if within(self.outage, t) {
                    0.5
                } else if within(self.slow_burn, t) {
                    0.005
                } else {
                    BASELINE
                }
            },
            &self.checkout_resets,
            Some(self.gap),
        );
        for region in ["eu", "us"] {
            let us = region == "us";
            self.counters(
                &mut om,
                &[("job", "search"), ("region", region)],
                |_| 1000.0,
                |t| {
                    if !us && within(self.eu_outage, t) {
                        1.0
                    } else if us && within(self.us_burn, t) {
                        0.004
                    } else {
                        BASELINE
                    }
                },
                &self.search_resets,
                None,
            );
        }
        om.finish()
    }
}

/// A daemon configuration over `url` in `dir` (its own state file).
fn config(dir: &Path, url: &str, mode: &str) -> PathBuf {
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(specs.join("checkout.yaml"), CHECKOUT).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(specs.join("search.yaml"), SEARCH).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{mode}.yaml"));
    let yaml = format!(
        "prometheus: {{url: {url:?}, timeout: 30s}}\nspecs: [specs]\ninterval: 5m\nlisten: 127.0.0.1:0\nstate_file: state-{mode}.json\nevaluation: {mode}\n"
    );
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn daemon(path: &Path) -> Daemon {
    let config = Config::load(path).unwrap_or_else(|e| panic!("{e}"));
    Daemon::new(config).unwrap_or_else(|e| panic!("{e}"))
}

/// `(service, instance, tier)`.
type Key = (String, String, Severity);

/// Each tier's decision in the daemon's last cycle.
fn decisions(d: &Daemon) -> BTreeMap<Key, bool> {
    d.decisions()
        .iter()
        .map(|t| {
            let inst = slo_core::instance::to_text(&t.instance);
            ((t.service.clone(), inst, t.severity), t.firing)
        })
        .collect()
}

fn near_transition(side: &[bool], k: usize) -> bool {
    (k > 0 && side[k - 1] != side[k]) || (k + 1 < side.len() && side[k + 1] != side[k])
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_daemon_decides_as_the_direct_one_across_a_restart() {
    let sc = Scenario::new();
    let prom = Prometheus::start(&sc.openmetrics(), &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let direct_cfg = config(dir.path(), &prom.url, "direct");
    let inc_cfg = config(dir.path(), &prom.url, "incremental");
    let mut direct = daemon(&direct_cfg);
    let inc = daemon(&inc_cfg);

    // Every 5 minutes, 90 s past the boundary, from 6 h in to the end.
    let times: Vec<i64> = (0..)
        .map(|k| sc.start + 6 * HOUR + k * STEP + 90)
        .take_while(|t| *t < sc.end)
        .collect();
    let restart_at = times
        .iter()
        .position(|t| *t >= sc.outage.0 + 10 * MIN)
        .unwrap_or_else(|| panic!("no cycle in the outage"));
    // Later, the incremental daemon is down for an hour of the slow burn
    // (its cycles skipped): the next one fetches the hour's steps at once.
    let down: Vec<usize> = (0..times.len())
        .filter(|k| {
            within(
                (sc.slow_burn.0 + HOUR, sc.slow_burn.0 + 2 * HOUR),
                times[*k],
            )
        })
        .collect();
    let (down_from, back_at) = match (down.first(), down.last()) {
        (Some(a), Some(b)) => (*a, b + 1),
        _ => panic!("no cycle in the slow burn"),
    };
    let mut sides: [BTreeMap<Key, Vec<bool>>; 2] = Default::default();
    let mut requests: Vec<i64> = Vec::new();
    let mut steps_bytes = 0;
    let mut inc = Some(inc);
    for (k, t) in times.iter().enumerate() {
        let now = jiff::Timestamp::from_second(*t).unwrap_or_else(|e| panic!("{e}"));
        direct.cycle(now).await.unwrap_or_else(|e| panic!("{e}"));
        if k == down_from {
            inc = None;
        } else if k == back_at {
            inc = Some(daemon(&inc_cfg));
        }
        let Some(d) = inc.as_mut() else {
            // Down: not compared (its side copies the direct one's).
            requests.push(-1);
            for (key, firing) in decisions(&direct) {
                for side in sides.iter_mut() {
                    side.entry(key.clone())
                        .or_insert_with(|| vec![false; times.len()])[k] = firing;
                }
            }
            continue;
        };
        d.cycle(now).await.unwrap_or_else(|e| panic!("{e}"));
        let m = d.metrics();
        requests.push(m.cycle_requests.get());
        assert_eq!(m.steps_missing.get(), 0, "steps missing after cycle {k}");
        steps_bytes = m.steps_bytes.get();
        for (side, d) in sides.iter_mut().zip([&direct, &*d]) {
            for (key, firing) in decisions(d) {
                let v = side.entry(key).or_insert_with(|| vec![false; times.len()]);
                v[k] = firing;
            }
        }
        if k == restart_at {
            // Mid-incident: the checkout page fires; a new daemon from the
            // persisted state and steps takes over.
            let page = ("checkout".to_owned(), String::new(), Severity::Page);
            assert!(sides[1][&page][k], "checkout pages at the restart");
            inc = Some(daemon(&inc_cfg));
        }
    }
    let steady = requests[1];
    eprintln!(
        "incremental requests per cycle: first {}, steady {steady}, after the restart {}, \
         after an hour down {}; steps memory {steps_bytes} bytes for 3 instances",
        requests[0],
        requests[restart_at + 1],
        requests[back_at]
    );
    // The first cycle back-fills the 3d of 5m steps a day per request (4
    // days at most), the 27 older days of the period in hour buckets in
    // one request, and asks the raw windows in one; afterwards one range
    // request (the new step of both SLOs) and one instant request (the raw
    // windows), also right after the restart: history is not read again.
    // After an hour down, the hour's 12 steps come in one range request
    // (two if they straddle a day).
    assert!(requests[0] > 2 && requests[0] <= 4 + 1 + 1, "{requests:?}");
    assert_eq!(steady, 2, "{requests:?}");
    assert!((2..=3).contains(&requests[back_at]), "{requests:?}");
    assert!(
        requests[1..]
            .iter()
            .enumerate()
            .all(|(k, r)| *r == steady || *r == -1 || k + 1 == back_at),
        "{requests:?}"
    );
    assert!(dir.path().join("state-incremental.json.steps").exists());

    let (direct_side, inc_side) = (&sides[0], &sides[1]);
    assert_eq!(
        direct_side.keys().collect::<Vec<_>>(),
        inc_side.keys().collect::<Vec<_>>()
    );
    let mut at_edges = Vec::new();
    let mut compared = 0;
    for (key, d) in direct_side {
        let i = &inc_side[key];
        for k in (0..d.len()).filter(|k| !(down_from..back_at).contains(k)) {
            compared += 1;
            if d[k] != i[k] {
                let h = (times[k] - sc.start) as f64 / HOUR as f64;
                assert!(
                    near_transition(d, k) || near_transition(i, k),
                    "{key:?} at {h:.2}h: direct {}, incremental {}, and neither side changes within a cycle",
                    d[k],
                    i[k]
                );
                at_edges.push((key.clone(), h));
            }
        }
    }
    let transitions: usize = direct_side
        .values()
        .map(|s| s.windows(2).filter(|w| w[0] != w[1]).count())
        .sum();
    eprintln!(
        "{compared} decisions compared, {} at edges ({transitions} transitions): {at_edges:?}",
        at_edges.len()
    );
    assert!(at_edges.len() <= transitions, "{at_edges:?}");

    // Not vacuous: the incidents fire on both sides.
    let fires = |side: &BTreeMap<Key, Vec<bool>>, service: &str, inst: &str, sev, span| {
        side[&(service.to_owned(), inst.to_owned(), sev)]
            .iter()
            .zip(&times)
            .any(|(f, t)| *f && within(span, *t))
    };
    for side in [direct_side, inc_side] {
        assert!(fires(side, "checkout", "", Severity::Page, sc.outage));
        assert!(fires(side, "checkout", "", Severity::Ticket, sc.slow_burn));
        assert!(fires(
            side,
            "search",
            "region=eu",
            Severity::Page,
            sc.eu_outage
        ));
        assert!(fires(
            side,
            "search",
            "region=us",
            Severity::Ticket,
            sc.us_burn
        ));
        assert!(!fires(
            side,
            "search",
            "region=us",
            Severity::Page,
            (sc.start, sc.end)
        ));
    }
    drop(prom);
}

/// A page whose long window (2h) comes from steps: 99% over 1d.
const PAY: &str = r#"
version: slo/v1
service: pay
slos:
  - name: availability
    objective: 99
    period: 1d
    sli:
      ratio:
        errors: http_requests_total{job="pay",code="500"}
        total: http_requests_total{job="pay"}
    alerting:
      name: PayBurn
      windows:
        - {severity: page, long: 2h, short: 5m, factor: 10}
"#;

/// The `startsAt` of every alert Alertmanager holds as active.
fn am_active(am: &str) -> Vec<String> {
    let Some((200, body)) = support::get(&format!("{am}/api/v2/alerts?active=true")) else {
        return Vec::new();
    };
    let json = match (body.find('['), body.rfind(']')) {
        (Some(a), Some(b)) if a < b => &body[a..=b],
        _ => return Vec::new(),
    };
    let alerts: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == "PayBurn")
        .filter_map(|a| a["startsAt"].as_str().map(str::to_owned))
        .collect()
}

/// `slo-eval run` in its default (incremental) mode over three hours of
/// history with 50% errors for the last 2.5 h: it back-fills the steps,
/// pages through a real Alertmanager (the 2h window from steps), is
/// killed (-9) and restarted: it loads its steps rather than re-reading
/// history, and Alertmanager holds the one alert with its `startsAt`.
#[test]
fn a_killed_incremental_daemon_resumes_its_steps_and_alertmanager_keeps_one_alert() {
    let end = (support::now() / 30) * 30 - 30;
    let start = end - 3 * HOUR;
    let mut om = OpenMetrics::default();
    support::request_counters(
        &mut om,
        "http_requests_total",
        &[("job", "pay")],
        (start, end, 30),
        |_| 100.0,
        |t| if t >= start + 30 * MIN { 0.5 } else { 0.0 },
    );
    let prom = Prometheus::start(&om.finish(), &[]);
    let am_hook = support::Receiver::start();
    let am = support::Alertmanager::start(&am_hook.url);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("specs")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("specs/pay.yaml"), PAY).unwrap_or_else(|e| panic!("{e}"));
    let listen = support::free_port();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "prometheus: {{url: {:?}, timeout: 5s}}\nspecs: [specs]\ninterval: 1s\nnotify:\n  alertmanagers: [{{url: {:?}}}]\nlisten: 127.0.0.1:{listen}\nstate_file: state/state.json\n",
            prom.url, am.url
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let daemon = support::daemon::Daemon::start(&config, listen);
    let fired = support::eventually(std::time::Duration::from_secs(60), || {
        let active = am_active(&am.url);
        (active.len() == 1).then_some(active)
    });
    let Some(first) = fired else {
        panic!("no page at Alertmanager within 60 s\n{}", daemon.log());
    };
    // The long window is the steps' sum: known, and burning.
    let burn = daemon.metric("slo_eval_burn_rate", &[("window", "2h")]);
    assert!(burn.is_some_and(|b| b > 10.0), "{burn:?}\n{}", daemon.log());
    assert_eq!(daemon.metric("slo_eval_steps_missing", &[]), Some(0.0));
    let log = daemon.log();
    assert_eq!(
        log.matches("filling steps from history").count(),
        1,
        "{log}"
    );

    drop(daemon);
    let daemon = support::daemon::Daemon::start(&config, listen);
    daemon.wait_cycles(3.0, std::time::Duration::from_secs(30));
    let log = daemon.log();
    assert!(log.contains("steps loaded"), "{log}");
    // No second back-fill: at most the new step and the raw windows.
    assert_eq!(
        log.matches("filling steps from history").count(),
        1,
        "{log}"
    );
    let requests = daemon.metric("slo_eval_cycle_requests", &[]);
    assert!(requests.is_some_and(|r| r <= 2.0), "{requests:?}");
    assert_eq!(daemon.metric("slo_eval_steps_missing", &[]), Some(0.0));
    assert_eq!(am_active(&am.url), first, "one alert, same startsAt");
    let pages = am_hook
        .received()
        .iter()
        .filter(|x| x.json["status"] == "firing")
        .count();
    assert_eq!(pages, 1, "Alertmanager notified once");
    drop(daemon);
}

/// Faults a real Prometheus will not produce on demand.
mod faults {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use slo_eval::evaluate::Batching;
    use slo_eval::incremental::Incremental;
    use slo_eval::prometheus::{Client, Endpoint};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    use super::support::mock;

    /// A client of the mock server at `url`, with a timeout in seconds.
    fn client_of(url: &str, timeout: u64) -> Arc<Client> {
        Arc::new(
            Client::new(&Endpoint {
                url: url.to_owned(),
                timeout: std::time::Duration::from_secs(timeout),
                ..Endpoint::default()
            })
            .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    /// The broken SLO's range (step) queries are refused (400, or 422 in
    /// a batch); its instant queries answer one series (100 events, 1
    /// bad); every other SLO's answers are empty.
    struct StepsBroken;

    impl Respond for StepsBroken {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let query = mock::query_of(request);
            let range = request.url.path().ends_with("query_range");
            match (range, query.contains("broken_total")) {
                (true, true) if query.contains(" or ") => mock::error(422, "execution"),
                (true, true) => mock::error(400, "bad_data"),
                (false, true) => {
                    let v = if query.contains("code=") { "1" } else { "100" };
                    mock::success(
                        request,
                        serde_json::json!([{"metric": {}, "value": [1.8e9, v]}]),
                    )
                }
                _ => mock::success(request, serde_json::json!([])),
            }
        }
    }

    /// Regression: a step query failing (in a batched back-fill) failed its
    /// whole SLO, raw windows too, so a page over 1h/5m could not fire
    /// while history was unreadable. Now only the windows summed from the
    /// missing steps have no answer: their pairs are held, the pair over
    /// raw windows decides; the other SLOs fill and evaluate.
    #[tokio::test]
    async fn a_broken_step_query_holds_only_the_windows_summed_from_steps() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(StepsBroken)
            .mount(&server)
            .await;
        let mut yaml = "version: slo/v1\nservice: web\nslos:\n".to_owned();
        for i in 0..20 {
            let metric = if i == 7 { "broken_total" } else { "ok_total" };
            yaml.push_str(&format!(
                "  - name: s{i}\n    objective: 99\n    sli:\n      ratio: {{errors: '{metric}{{code=\"500\",i=\"{i}\"}}', total: '{metric}{{i=\"{i}\"}}'}}\n"
            ));
        }
        let spec = slo_core::load::load_str(&yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slos: Vec<_> = spec.slos.iter().collect();
        let client = client_of(&server.uri(), 10);
        let mut inc = Incremental::default();
        let now = 1_800_000_000_000;
        for cycle in 0..2 {
            let out = inc
                .evaluate(
                    &client,
                    &slos,
                    now + cycle * 300_000,
                    2,
                    // One query per request: the mock's answers carry no batch tag.
                    Batching {
                        queries: 1,
                        ..Batching::default()
                    },
                    false,
                )
                .await;
            for o in &out.outcomes {
                let r = match &o.result {
                    Ok(r) => r,
                    Err(e) => panic!("{} failed: {e}", o.slo.name),
                };
                if o.slo.name != "s7" {
                    assert_eq!(r[0].status, slo_core::evaluation::Status::NoData);
                    continue;
                }
                // 1% errors: the page pair over raw windows decided (not
                // firing), every pair reading a long window held.
                assert_eq!(r[0].status, slo_core::evaluation::Status::Held);
                let pairs: Vec<_> = r[0].alerts.iter().flat_map(|t| &t.pairs).collect();
                for p in &pairs {
                    let raw = p.long <= slo_core::duration::Duration::from_hours(1);
                    assert_eq!(p.decision.held.is_none(), raw, "{}/{}", p.long, p.short);
                    assert!(!p.decision.firing);
                }
                assert!(pairs.iter().any(|p| p.decision.held.is_none()));
            }
        }
        // Only the broken SLO's steps are still missing (30 days and more).
        let missing = inc.stats().missing;
        assert!((8_640..8_640 + 14).contains(&missing), "{missing}");
    }

    /// Answers every query empty, and records of each range request the
    /// points it asks: steps times the SLOs (values of the label `i`) its
    /// query names.
    #[derive(Clone, Default)]
    struct Sizes(Arc<std::sync::Mutex<Vec<usize>>>);

    impl Respond for Sizes {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            if request.url.path().ends_with("query_range") {
                let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
                let time = |k: &str| form[k].parse::<f64>().unwrap_or(f64::NAN);
                let steps = ((time("end") - time("start")) / time("step")) as usize + 1;
                // `i="7"` (own queries, joined by `or`) or `i=~"7|8|9"`.
                let mut slos = BTreeSet::new();
                for part in form["query"].split("i=").skip(1) {
                    let values = part.trim_start_matches('~').trim_start_matches('"');
                    let values = values.split('"').next().unwrap_or_default();
                    slos.extend(values.split('|').map(str::to_owned));
                }
                if let Ok(mut sizes) = self.0.lock() {
                    sizes.push(steps * slos.len());
                }
            }
            mock::success(request, serde_json::json!([]))
        }
    }

    /// Requests per cycle for 1,000 SLOs (the default policy, batches of
    /// 400): the first cycle back-fills 31 days, each later one asks the
    /// new step and the raw windows, within the issue's 50 a cycle.
    /// Regression: the back-fill asked a month of hours for all 1,000 SLOs
    /// at once, tens of megabytes held until answered, and the daemon's
    /// memory kept that peak; now no request asks more than 25,000 points.
    #[tokio::test]
    async fn a_thousand_slos_cost_a_few_requests_a_cycle() {
        let server = MockServer::start().await;
        let sizes = Sizes::default();
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(sizes.clone())
            .mount(&server)
            .await;
        let mut yaml = "version: slo/v1\nservice: web\nslos:\n".to_owned();
        for i in 0..1000 {
            yaml.push_str(&format!(
                "  - name: s{i}\n    objective: 99\n    sli:\n      ratio: {{errors: 'ok_total{{code=\"500\",i=\"{i}\"}}', total: 'ok_total{{i=\"{i}\"}}'}}\n"
            ));
        }
        let spec = slo_core::load::load_str(&yaml).unwrap_or_else(|d| panic!("{d:?}"));
        let slos: Vec<_> = spec.slos.iter().collect();
        let client = client_of(&server.uri(), 30);
        let now = 1_800_000_000_000;
        let cycles = |batching: Batching| {
            let client = Arc::clone(&client);
            let slos = slos.clone();
            async move {
                let mut inc = Incremental::default();
                let mut requests = Vec::new();
                for cycle in 0..3 {
                    let out = inc
                        .evaluate(&client, &slos, now + cycle * 300_000, 8, batching, false)
                        .await;
                    assert!(out.outcomes.iter().all(|o| o.result.is_ok()));
                    requests.push((out.queries, out.requests));
                }
                assert_eq!(inc.stats().missing, 0);
                requests
            }
        };
        // Each SLO's own queries, batched (at most 400 a request) and
        // spread over the 8 requests in flight: 6,000 raw-window queries in
        // 15 requests; 2,000 step queries per range of back-fill: at first
        // a range per day of the 3d of 5m steps (3 or 4 days, as they fall)
        // and one for the older days of the period, in hour buckets; each
        // range asked in chunks of at most 25,000 points.
        let own = cycles(Batching {
            share: false,
            ..Batching::default()
        })
        .await;
        eprintln!("1,000 SLOs, own queries, (queries, requests) per cycle: {own:?}");
        let ranges = (own[0].0 - 6_000) / 2_000;
        assert!((4..=5).contains(&ranges), "{own:?}");
        assert!(own[0].1 <= 15 + ranges * 40, "{own:?}");
        assert_eq!(own[1], (8_000, 23), "{own:?}");
        assert_eq!(own[2], own[1]);
        // Shared: the SLOs differ only by the label `i`, so one query per
        // window and side answers all of them: 6 raw-window queries, then 2
        // step queries per chunk of a range (a day of steps: 86 SLOs; a
        // month of hours: 34), a few to a request; later cycles ask each
        // query in its own request (spread over the 8 in flight, so the
        // TSDB evaluates them on every core).
        let shared = cycles(Batching::default()).await;
        eprintln!("1,000 SLOs, shared queries, (queries, requests) per cycle: {shared:?}");
        assert!(shared[0].1 <= shared[0].0, "{shared:?}");
        assert!(
            (6 + ranges * 2..=6 + ranges * 2 * 30).contains(&shared[0].0),
            "{shared:?}"
        );
        assert_eq!(shared[1], (8, 8), "{shared:?}");
        let sizes = sizes.0.lock().map(|s| s.clone()).unwrap_or_default();
        let largest = sizes.iter().max().copied().unwrap_or(0);
        assert!(
            (20_000..=25_000).contains(&largest),
            "{largest} points asked at once"
        );
        assert_eq!(shared[2], shared[1]);
    }
}
