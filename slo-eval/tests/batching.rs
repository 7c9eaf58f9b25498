//! Many queries per request: the batched evaluation equals the one query
//! per request evaluation on a real Prometheus, in far fewer requests; a
//! batch failing because of one query is split until that query fails
//! alone; a dead server is not asked once per query. Sharing queries
//! between SLOs ([`slo_core::shared`], `tests/shared.rs`) is off here: these
//! SLOs ask the same queries, which sharing would ask once.

mod support;

use std::sync::Arc;

use slo_core::spec::Spec;
use slo_eval::evaluate::{Batching, evaluate_batched};
use slo_eval::prometheus::{Client, Endpoint};
use support::{OpenMetrics, Prometheus};

/// Batched as by default, nothing shared.
fn unshared() -> Batching {
    Batching {
        share: false,
        ..Batching::default()
    }
}

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
    slo_core::load::load_str(yaml).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Four SLOs over one history: ratio, grouped ratio, and a raw SLI whose
/// query is a scalar (which `label_replace` rejects: it must be asked
/// alone, and is).
const SPECS: &str = r#"
version: slo/v1
service: web
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio: {errors: 'test_requests_total{code="500"}', total: test_requests_total}
  - name: by-code
    objective: 99
    sli:
      ratio: {errors: 'test_requests_total{code="500"}', total: test_requests_total, group_by: [code]}
  - name: strict
    objective: 99.99
    sli:
      ratio: {errors: 'test_requests_total{code="500"}', total: test_requests_total}
  - name: scalar
    objective: 99
    sli:
      raw:
        error_ratio_query: 'scalar(sum(rate(test_requests_total{code="500"}[{{.window}}])) / sum(rate(test_requests_total[{{.window}}])))'
"#;

#[tokio::test]
async fn batched_answers_equal_one_query_per_request_in_fewer_requests() {
    let end = (support::now() / 60) * 60 - 6 * 3600;
    let start = end - 80 * 3600;
    let mut om = OpenMetrics::default();
    let times: Vec<i64> = (start..=end).step_by(30).collect();
    let ok: Vec<(i64, f64)> = times
        .iter()
        .map(|t| (*t, ((t - start) * 97 / 10) as f64))
        .collect();
    let err: Vec<(i64, f64)> = times
        .iter()
        .map(|t| (*t, ((t - start) * 3 / 10) as f64))
        .collect();
    om.series("test_requests_total", &[("code", "200")], &ok);
    om.series("test_requests_total", &[("code", "500")], &err);
    let prom = Prometheus::start(&om.finish(), &[]);
    let c = client(&prom.url);
    let spec = spec(SPECS);
    let slos: Vec<_> = spec.slos.iter().collect();
    let at = Some((end - 3600) as f64);

    let one = Batching {
        queries: 1,
        share: false,
        ..Batching::default()
    };
    let alone = evaluate_batched(&c, &slos, at, 4, true, one).await;
    let batched = evaluate_batched(&c, &slos, at, 4, true, unshared()).await;
    let json = |e: &slo_eval::evaluate::Evaluated<'_>| -> Vec<String> {
        e.outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(r) => serde_json::to_string(r).unwrap_or_default(),
                Err(e) => panic!("{}/{}: {e}\n{}", o.slo.service, o.slo.name, prom.log()),
            })
            .collect()
    };
    assert_eq!(json(&alone), json(&batched));
    assert_eq!(alone.queries, batched.queries);
    assert_eq!(alone.requests, alone.queries);
    // The scalar queries are rejected in a batch and isolated by splitting:
    // still fewer requests than one per query, at most 2 x queries - 1.
    assert!(
        batched.requests < alone.requests,
        "{} requests batched, {} alone",
        batched.requests,
        alone.requests
    );
    // Without them, every query of the ratio SLOs goes in one request (too
    // few to spread over the 4 in flight).
    let ratios = &slos[..3];
    let one_request = evaluate_batched(&c, ratios, at, 4, true, unshared()).await;
    assert!(one_request.outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(one_request.queries, 48);
    assert_eq!(one_request.requests, 1);
}

mod faults {
    use super::*;
    use support::mock;
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    /// Prometheus's behaviour on demand: a combined query is rejected (422,
    /// too many samples) whenever it holds the broken selector; that
    /// selector alone is bad data (400); anything else answers an empty
    /// vector.
    struct Picky;

    impl Respond for Picky {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let query = mock::query_of(request);
            match (query.contains("broken_total"), query.contains(" or ")) {
                (true, true) => mock::error(422, "execution"),
                (true, false) => mock::error(400, "bad_data"),
                _ => mock::success(request, serde_json::json!([])),
            }
        }
    }

    fn specs(n: usize, broken: usize) -> Spec {
        let mut yaml = "version: slo/v1\nservice: web\nslos:\n".to_owned();
        for i in 0..n {
            let metric = if i == broken {
                "broken_total"
            } else {
                "ok_total"
            };
            yaml.push_str(&format!(
                "  - name: s{i}\n    objective: 99\n    sli:\n      ratio: {{errors: '{metric}{{code=\"500\"}}', total: {metric}}}\n"
            ));
        }
        spec(&yaml)
    }

    #[tokio::test]
    async fn a_batch_failing_on_one_query_fails_only_its_slo() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(Picky)
            .mount(&server)
            .await;
        let spec = specs(20, 7);
        let slos: Vec<_> = spec.slos.iter().collect();
        let c = client(&server.uri());
        let out = evaluate_batched(&c, &slos, Some(1e9), 2, true, unshared()).await;
        for o in &out.outcomes {
            match (&o.result, o.slo.name.as_str()) {
                (Err(e), "s7") => assert!(e.to_string().contains("bad_data"), "{e}"),
                (Err(e), name) => panic!("{name} failed with the broken one: {e}"),
                (Ok(r), "s7") => panic!("the broken SLO passed: {r:?}"),
                // Empty answers: no data, never ok.
                (Ok(r), _) => assert_eq!(r[0].status, slo_core::evaluation::Status::NoData),
            }
        }
        // Split down to the broken query: far fewer than one per query, and
        // never more than 2 x queries - 1 per batch.
        assert!(
            out.requests < out.queries / 4,
            "{} of {}",
            out.requests,
            out.queries
        );
    }

    #[tokio::test]
    async fn a_dead_server_is_asked_once_per_batch_not_once_per_query() {
        let port = support::free_port();
        let c = client(&format!("http://127.0.0.1:{port}"));
        let spec = specs(30, usize::MAX);
        let slos: Vec<_> = spec.slos.iter().collect();
        let out = evaluate_batched(&c, &slos, Some(1e9), 2, true, unshared()).await;
        assert!(out.outcomes.iter().all(|o| o.result.is_err()));
        assert_eq!(out.requests, 2, "{} queries in batches of 400", out.queries);
    }
}
