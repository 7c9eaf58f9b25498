//! The Prometheus client against a real Prometheus with backfilled history.

mod support;

use slo_eval::prometheus::{Client, Endpoint};
use support::{OpenMetrics, Prometheus};

/// 10 requests per second, 1% of them errors, scraped every 30 s for `hours`,
/// ending at `end`. Returns the history and its start.
fn steady(end: i64, hours: i64) -> (String, i64) {
    let start = end - hours * 3600;
    let mut om = OpenMetrics::default();
    let times: Vec<i64> = (start..=end).step_by(30).collect();
    let ok: Vec<(i64, f64)> = times
        .iter()
        .map(|t| (*t, ((t - start) * 99 / 10) as f64))
        .collect();
    let err: Vec<(i64, f64)> = times
        .iter()
        .map(|t| (*t, ((t - start) / 10) as f64))
        .collect();
    om.series("test_requests_total", &[("code", "200")], &ok);
    om.series("test_requests_total", &[("code", "500")], &err);
    (om.finish(), start)
}

fn client(url: &str) -> Client {
    Client::new(&Endpoint {
        url: url.to_owned(),
        timeout: std::time::Duration::from_secs(10),
        ..Endpoint::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn instant_and_chunked_range_queries_match_the_history() {
    // Whole minutes, well before "now" (the last hours are unsafe to backfill).
    let end = (support::now() / 60) * 60 - 6 * 3600;
    let (history, start) = steady(end, 100);
    let prom = Prometheus::start(&history, &[]);
    let c = client(&prom.url);

    let at = (end - 3600) as f64;
    let ratio = c
        .query(
            "sum(rate(test_requests_total{code=\"500\"}[1h])) / sum(rate(test_requests_total[1h]))",
            Some(at),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log()));
    assert_eq!(ratio.len(), 1);
    assert!((ratio[0].value - 0.01).abs() < 1e-3, "{ratio:?}");
    assert_eq!(ratio[0].timestamp, at);

    // No traffic matches: an empty vector, not an error.
    let none = c.query("test_requests_total{code=\"404\"}", Some(at)).await;
    assert_eq!(none.map(|v| v.len()), Ok(0));

    // 0/0 is NaN and arrives as such.
    let nan = c
        .query("vector(0) / vector(0)", Some(at))
        .await
        .unwrap_or_default();
    assert!(nan.first().is_some_and(|s| s.value.is_nan()), "{nan:?}");

    // 100 hours at a 30 s step is 12,001 points: two chunks, stitched.
    let range = c
        .query_range("sum(test_requests_total)", start as f64, end as f64, 30.0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(range.len(), 1);
    let points = &range[0].points;
    assert_eq!(points.len(), 12_001);
    assert!(points.windows(2).all(|w| w[1].0 - w[0].0 == 30.0));
    // The counters sum to 10 per second since the start.
    let (t, v) = points[6000];
    assert!((v - (t - start as f64) * 10.0).abs() <= 10.0, "{t} {v}");
}

#[tokio::test]
async fn prometheus_errors_are_reported_with_their_type() {
    let end = (support::now() / 60) * 60 - 6 * 3600;
    let (history, _) = steady(end, 2);
    let prom = Prometheus::start(&history, &[]);
    let c = client(&prom.url);
    let err = c.query("sum(rate(", None).await.err();
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("400") && text.contains("bad_data"), "{text}");
}

#[tokio::test]
async fn a_dead_prometheus_is_unreachable_not_a_panic() {
    let port = support::free_port();
    let c = client(&format!("http://127.0.0.1:{port}"));
    let err = c.query("up", None).await;
    assert!(
        matches!(err, Err(slo_eval::errors::QueryError::Unreachable(_))),
        "{err:?}"
    );
}

mod faults {
    //! What a real Prometheus will not do on demand.
    use super::client;
    use slo_eval::errors::QueryError;
    use std::time::Duration;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn answering(template: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/query"))
            .respond_with(template)
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn server_errors_keep_their_type() {
        let s = answering(ResponseTemplate::new(503).set_body_raw(
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
            "application/json",
        ))
        .await;
        let r = client(&s.uri()).query("up", None).await;
        assert!(
            matches!(&r, Err(QueryError::Status { status: 503, error_type: Some(t), .. }) if t == "timeout"),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_proxy_page_is_not_json() {
        let s =
            answering(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>")).await;
        let r = client(&s.uri()).query("up", None).await;
        assert!(
            matches!(&r, Err(QueryError::Status { status: 502, message, .. }) if message.contains("Bad Gateway")),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn garbage_and_wrong_shapes_are_decode_errors() {
        for body in [
            "garbage{",
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"banana"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            r#"{"status":"success"}"#,
        ] {
            let s =
                answering(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
            let r = client(&s.uri()).query("up", None).await;
            assert!(matches!(r, Err(QueryError::Decode(_))), "{body}: {r:?}");
        }
    }

    #[tokio::test]
    async fn a_slow_server_times_out() {
        let s = answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
        let c = slo_eval::prometheus::Client::new(&slo_eval::prometheus::Endpoint {
            url: s.uri(),
            timeout: Duration::from_millis(200),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.query("up", None).await, Err(QueryError::Timeout));
    }

    #[tokio::test]
    async fn headers_and_bearer_token_are_sent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/query"))
            .and(wiremock::matchers::header("X-Scope-OrgID", "tenant-1"))
            .and(wiremock::matchers::header("Authorization", "Bearer tok"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"NaN"]}]}}"#,
                "application/json",
            ))
            .mount(&server)
            .await;
        let c = slo_eval::prometheus::Client::new(&slo_eval::prometheus::Endpoint {
            url: server.uri(),
            headers: [("X-Scope-OrgID".to_owned(), "tenant-1".to_owned())].into(),
            bearer_token: Some(slo_eval::secret::Secret::new("tok")),
            timeout: Duration::from_secs(5),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let r = c.query("up", None).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(r[0].value.is_nan());
        assert_eq!(r[0].labels.get("a").map(String::as_str), Some("b"));
    }
}
