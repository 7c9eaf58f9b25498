//! SLOs of one shape share their queries (`slo_core::shared`): on a real
//! Prometheus, a fleet evaluated with shared queries decides exactly as
//! with each SLO's own queries, in a fraction of the queries; a shared
//! query refused for what it asks falls back to each SLO's own, so one
//! broken SLO fails alone; a dead server is not asked once per SLO.

mod support;

use std::sync::Arc;

use serde_json::Value;
use slo_core::spec::Spec;
use slo_eval::evaluate::{Batching, Evaluated, evaluate_batched};
use slo_eval::prometheus::{Client, Endpoint};
use support::{OpenMetrics, Prometheus};

fn client(url: &str) -> Arc<Client> {
    Arc::new(
        Client::new(&Endpoint {
            url: url.to_owned(),
            timeout: std::time::Duration::from_secs(10),
            ..Endpoint::default()
        })
        .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn spec(yaml: &str) -> Spec {
    slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}\n{yaml}"))
}

fn unshared() -> Batching {
    Batching {
        share: false,
        ..Batching::default()
    }
}

/// Services whose values need escaping in a regex, and one with no series.
const SERVICES: [&str; 4] = ["cart", "checkout", "a.b", "pay|ments"];

/// Per service: errors, good counter, grouped by route, latency; plus an SLO
/// whose service has no series at all.
fn fleet() -> Spec {
    let mut y = "version: slo/v1\nservice: fleet\nslos:\n".to_owned();
    for (i, s) in SERVICES.iter().chain(&["ghost"]).enumerate() {
        let sel = |extra: &str| format!("req_total{{service=\\\"{s}\\\"{extra}}}");
        y.push_str(&format!(
            "  - name: errors-{i}\n    objective: 99.9\n    sli:\n      ratio: {{errors: \"{}\", total: \"{}\"}}\n",
            sel(",code=\\\"500\\\""),
            sel("")
        ));
        y.push_str(&format!(
            "  - name: good-{i}\n    objective: 99\n    sli:\n      ratio: {{good: \"{}\", total: \"{}\"}}\n",
            sel(",code=\\\"200\\\""),
            sel("")
        ));
        y.push_str(&format!(
            "  - name: routes-{i}\n    objective: 99.5\n    sli:\n      ratio: {{errors: \"{}\", total: \"{}\", group_by: [route]}}\n",
            sel(",code=\\\"500\\\""),
            sel("")
        ));
        y.push_str(&format!(
            "  - name: latency-{i}\n    objective: 99\n    sli:\n      latency: {{histogram: lat, selector: \"{{service=\\\"{s}\\\"}}\", threshold: 0.3}}\n"
        ));
    }
    spec(&y)
}

/// Numbers equal within float summation order (sums of series may be
/// added in another order), everything else exactly.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

fn outcomes(e: &Evaluated<'_>, log: &dyn Fn() -> String) -> Vec<Value> {
    e.outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(r) => serde_json::to_value(r).unwrap_or_default(),
            Err(e) => panic!("{}/{}: {e}\n{}", o.slo.service, o.slo.name, log()),
        })
        .collect()
}

#[tokio::test]
async fn shared_queries_decide_as_each_slos_own_in_a_fraction_of_the_queries() {
    let end = (support::now() / 60) * 60 - 6 * 3600;
    let start = end - 8 * 3600;
    let times: Vec<i64> = (start..=end).step_by(30).collect();
    let mut om = OpenMetrics::default();
    for (i, s) in SERVICES.iter().enumerate() {
        for (r, route) in ["r1", "r2"].iter().enumerate() {
            let rate = (3 + i + 2 * r) as f64;
            // The last two hours: route r2 of every other service fails 5%.
            let bad_share = |t: i64| {
                if r == 1 && i % 2 == 0 && t > end - 7200 {
                    0.05
                } else {
                    0.001
                }
            };
            let (mut ok, mut bad) = (0.0, 0.0);
            let mut oks = Vec::new();
            let mut bads = Vec::new();
            for &t in &times {
                // A counter reset halfway for the first service.
                if i == 0 && t == start + 4 * 3600 {
                    ok = 0.0;
                    bad = 0.0;
                }
                ok += 30.0 * rate * (1.0 - bad_share(t));
                bad += 30.0 * rate * bad_share(t);
                oks.push((t, ok.floor()));
                bads.push((t, bad.floor()));
            }
            let labels = |code: &'static str| [("service", *s), ("route", *route), ("code", code)];
            om.series("req_total", &labels("200"), &oks);
            om.series("req_total", &labels("500"), &bads);
        }
        let mut count = 0.0;
        let mut points: Vec<(i64, f64)> = Vec::new();
        for &t in &times {
            count += 30.0 * (4 + i) as f64;
            points.push((t, count));
        }
        for (le, share) in [("0.1", 0.5), ("0.3", 0.97 - 0.01 * i as f64), ("+Inf", 1.0)] {
            let bucket: Vec<(i64, f64)> = points
                .iter()
                .map(|&(t, c)| (t, (c * share).floor()))
                .collect();
            om.series("lat_bucket", &[("service", s), ("le", le)], &bucket);
        }
        om.series("lat_count", &[("service", s)], &points);
    }
    let prom = Prometheus::start(&om.finish(), &[]);
    let c = client(&prom.url);
    let spec = fleet();
    let slos: Vec<_> = spec.slos.iter().collect();
    let at = Some(end as f64);
    let log = || prom.log();

    let own = evaluate_batched(&c, &slos, at, 4, true, unshared()).await;
    let shared = evaluate_batched(&c, &slos, at, 4, true, Batching::default()).await;
    let (own_json, shared_json) = (outcomes(&own, &log), outcomes(&shared, &log));
    for ((slo, a), b) in slos.iter().zip(&own_json).zip(&shared_json) {
        assert!(close(a, b), "{}: own {a}\nshared {b}", slo.name);
    }
    // The answers are not empty: every SLO of a real service has data, the
    // failing routes fire, the ghost has none (and says so, shared or not).
    let status = |name: &str| -> Vec<String> {
        let i = slos
            .iter()
            .position(|s| s.name == name)
            .unwrap_or(usize::MAX);
        shared_json[i]
            .as_array()
            .map(|a| a.iter().map(|x| x["status"].to_string()).collect())
            .unwrap_or_default()
    };
    assert!(
        status("errors-4").iter().all(|s| s.contains("no_data")),
        "{:?}",
        status("errors-4")
    );
    assert!(
        status("errors-1").iter().all(|s| !s.contains("no_data")),
        "{:?}",
        status("errors-1")
    );
    assert_eq!(status("routes-0").len(), 2, "one instance per route");
    assert!(
        shared_json
            .iter()
            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
            .any(|i| i["status"].to_string().contains("firing")),
        "something fires: {shared_json:?}"
    );
    // Five services' SLOs of four shapes: at most the queries of one
    // service, whatever the fleet's size (fewer: its SLOs' identical
    // queries, such as the totals of `errors` and `good`, are asked once).
    let per_service = own.queries / (SERVICES.len() + 1);
    assert!(
        shared.queries <= per_service && shared.queries * 4 > per_service,
        "{} shared, {} own",
        shared.queries,
        own.queries
    );
    assert!(shared.requests <= own.requests);
}

mod faults {
    use super::*;
    use support::mock;
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    /// A shared query (a regex of services) is too costly (422); each
    /// SLO's own query answers an empty vector, but service s7's is bad
    /// data (400). Counts the requests.
    struct Picky;

    impl Respond for Picky {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let query = mock::query_of(request);
            if query.contains("service=~") {
                mock::error(422, "execution")
            } else if query.contains("\"s7\"") && !query.contains(" or ") {
                mock::error(400, "bad_data")
            } else if query.contains("\"s7\"") {
                mock::error(422, "execution")
            } else {
                mock::success(request, serde_json::json!([]))
            }
        }
    }

    fn specs(n: usize) -> Spec {
        let mut yaml = "version: slo/v1\nservice: web\nslos:\n".to_owned();
        for i in 0..n {
            yaml.push_str(&format!(
                "  - name: s{i}\n    objective: 99\n    sli:\n      ratio: {{errors: 'x_total{{service=\"s{i}\",code=\"500\"}}', total: 'x_total{{service=\"s{i}\"}}'}}\n"
            ));
        }
        spec(&yaml)
    }

    /// Regression: a refused shared query must not fail the SLOs it
    /// shares; they are asked alone, and only the broken one fails.
    #[tokio::test]
    async fn a_refused_shared_query_falls_back_to_each_slos_own() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(Picky)
            .mount(&server)
            .await;
        let spec = specs(20);
        let slos: Vec<_> = spec.slos.iter().collect();
        let c = client(&server.uri());
        let out = evaluate_batched(&c, &slos, Some(1e9), 2, true, Batching::default()).await;
        for o in &out.outcomes {
            match (&o.result, o.slo.name.as_str()) {
                (Err(e), "s7") => assert!(e.to_string().contains("bad_data"), "{e}"),
                (Err(e), name) => panic!("{name} failed with the shared query: {e}"),
                (Ok(r), "s7") => panic!("the broken SLO passed: {r:?}"),
                (Ok(r), _) => assert_eq!(r[0].status, slo_core::evaluation::Status::NoData),
            }
        }
        let per_slo = slo_core::evaluation::query_count(slos[0], true);
        assert_eq!(
            out.queries,
            per_slo + 20 * per_slo,
            "shared, then each alone"
        );
    }

    #[tokio::test]
    async fn a_dead_server_fails_shared_queries_without_asking_each_slo() {
        let port = support::free_port();
        let c = client(&format!("http://127.0.0.1:{port}"));
        let spec = specs(30);
        let slos: Vec<_> = spec.slos.iter().collect();
        let out = evaluate_batched(&c, &slos, Some(1e9), 2, true, Batching::default()).await;
        assert!(out.outcomes.iter().all(|o| o.result.is_err()));
        assert!(
            out.requests <= 2,
            "{} requests for {} shared queries, 2 in flight",
            out.requests,
            out.queries
        );
    }
}
