//! The daemon's delivery tasks: webhook queues without head-of-line
//! blocking, rejections dropped and counted, redirects to another host not
//! followed. wiremock plays receivers that fail on demand (4xx, 5xx,
//! redirects); the page that must get through goes to a real receiver.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use slo_eval::connection::Endpoint;
use slo_eval::delivery::{CycleClock, Delivery, Settings};
use slo_eval::notify::{Alert, Labels, Notifier, Status, Target};
use support::Receiver;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn alert(name: &str, status: Status) -> Alert {
    Alert {
        labels: Labels::from([
            ("alertname".into(), name.into()),
            ("severity".into(), "page".into()),
        ]),
        annotations: Labels::new(),
        starts_at: Timestamp::now() - jiff::SignedDuration::from_secs(60),
        ends_at: (status == Status::Resolved).then(Timestamp::now),
        status,
        generator_url: String::new(),
    }
}

fn webhook(name: &str, url: &str) -> Target {
    let endpoint = Endpoint {
        url: url.into(),
        headers: BTreeMap::from([("X-Api-Key".into(), "hook-api-key".into())]),
        timeout: Duration::from_secs(5),
        ..Endpoint::default()
    };
    Target::webhook(name, &endpoint, None).unwrap_or_else(|e| panic!("{e}"))
}

fn start(targets: Vec<Target>) -> Delivery {
    Delivery::start(
        Notifier::new(0, Duration::from_millis(10), "http://slo-eval"),
        targets,
        BTreeMap::new(),
        Settings {
            resend_every: Duration::from_secs(1),
            hold: Duration::from_secs(4),
        },
        Arc::new(CycleClock::new(Duration::from_secs(60))),
    )
}

async fn requests_with(server: &MockServer, needle: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(needle))
        .count()
}

async fn poll<T>(within: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Regression: a 400 on a resolve held back a later page for 70 s and more
/// (the queue stopped at its first failure). Now the rejected resolve is
/// dropped after one attempt, a notification failing with 503 is retried
/// on its own, and the page behind both reaches the real receiver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_notification_never_blocks_a_later_page() {
    let flaky = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("\"status\":\"resolved\""))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad alert"))
        .mount(&flaky)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("StillFailing"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&flaky)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(10)
        .mount(&flaky)
        .await;
    let receiver = Receiver::start();
    let delivery = start(vec![
        webhook("flaky", &format!("{}/hook", flaky.uri())),
        webhook("oncall", &receiver.url),
    ]);
    // Oldest first: a resolve the flaky receiver rejects, a page it keeps
    // failing with 503, then the page that matters.
    delivery.enqueue(&alert("Rejected", Status::Resolved));
    delivery.enqueue(&alert("StillFailing", Status::Firing));
    delivery.enqueue(&alert("LaterPage", Status::Firing));

    // The later page reaches the flaky receiver and the real one.
    let got = poll(Duration::from_secs(10), async || {
        (requests_with(&flaky, "LaterPage").await >= 1).then_some(())
    })
    .await;
    assert!(
        got.is_some(),
        "the later page never went out behind the failures"
    );
    let real = receiver.wait_for(Duration::from_secs(10), |r| {
        r.iter()
            .any(|x| x.json["alerts"][0]["labels"]["alertname"] == "LaterPage")
    });
    assert_eq!(real.len(), 3, "the real receiver gets all three: {real:?}");

    // The 503 is retried while the 400 was tried once and dropped.
    let retried = poll(Duration::from_secs(10), async || {
        (requests_with(&flaky, "StillFailing").await >= 3).then_some(())
    })
    .await;
    assert!(retried.is_some(), "the 503 was not retried");
    assert_eq!(requests_with(&flaky, "Rejected").await, 1);
    // What is still queued is the 503 page, and only it.
    let snapshot = delivery.snapshot();
    let flaky_queue: Vec<&str> = snapshot["flaky"]
        .iter()
        .filter_map(|a| a.labels.get("alertname").map(String::as_str))
        .collect();
    assert_eq!(flaky_queue, ["StillFailing"]);
    assert!(snapshot["oncall"].is_empty());

    let mut registry = prometheus_client::registry::Registry::with_prefix("slo_eval");
    delivery.metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text.contains("slo_eval_notifications_rejected_total{target=\"webhook flaky\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("slo_eval_notification_queue_depth{target=\"webhook flaky\"} 1"),
        "{text}"
    );
    delivery.shutdown().await;
}

/// A resolve never overtakes its own page: notifications of one alert keep
/// their order even while the page waits for a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_waits_for_its_own_page() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let delivery = start(vec![webhook("h", &server.uri())]);
    delivery.enqueue(&alert("Same", Status::Firing));
    delivery.enqueue(&alert("Same", Status::Resolved));
    let done = poll(Duration::from_secs(15), async || {
        delivery.snapshot()["h"].is_empty().then_some(())
    })
    .await;
    assert!(done.is_some(), "not delivered");
    let bodies: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    // Two failed pages, the delivered page, then the resolve.
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert!(
        bodies[..3]
            .iter()
            .all(|b| b.contains("\"status\":\"firing\""))
    );
    assert!(bodies[3].contains("\"status\":\"resolved\""));
    delivery.shutdown().await;
}

/// Regression: redirects were followed to other hosts with the body and
/// custom headers. 127.0.0.1 redirecting to `localhost` on another port is
/// another origin: nothing reaches it, and the failure says why.
#[tokio::test]
async fn a_webhook_redirect_to_another_host_is_not_followed() {
    let (origin, other) = (MockServer::start().await, MockServer::start().await);
    let elsewhere = other.uri().replacen("127.0.0.1", "localhost", 1);
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(308).insert_header("Location", format!("{elsewhere}/x").as_str()),
        )
        .mount(&origin)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&other)
        .await;
    let n = Notifier::new(2, Duration::from_millis(10), "");
    for target in [
        webhook("r", &origin.uri()),
        Target::alertmanager(&Endpoint {
            url: origin.uri(),
            timeout: Duration::from_secs(5),
            ..Endpoint::default()
        })
        .unwrap_or_else(|e| panic!("{e}")),
    ] {
        let r = n
            .send(
                &target,
                &[alert("X", Status::Firing)],
                Timestamp::now(),
                Duration::from_secs(60),
            )
            .await;
        let e = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("redirected (308)") && e.contains("not followed"),
            "{e}"
        );
    }
    let leaked = other.received_requests().await.unwrap_or_default();
    assert!(
        leaked.is_empty(),
        "{} request(s) reached the other host",
        leaked.len()
    );
    // A redirect on the same origin is followed.
    let same = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/old"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/new"))
        .mount(&same)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/new"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&same)
        .await;
    let r = n
        .send(
            &webhook("s", &format!("{}/old", same.uri())),
            &[alert("X", Status::Firing)],
            Timestamp::now(),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(r, Ok(()));
}

/// Regression: a failed Alertmanager post was logged as "Prometheus is
/// unreachable".
#[tokio::test]
async fn alertmanager_failures_do_not_mention_prometheus() {
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let am = Target::alertmanager(&Endpoint {
        url: dead.clone(),
        timeout: Duration::from_secs(2),
        ..Endpoint::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(am.name(), format!("alertmanager {dead}"));
    let r = Notifier::new(0, Duration::from_millis(10), "")
        .send(
            &am,
            &[alert("X", Status::Firing)],
            Timestamp::now(),
            Duration::from_secs(60),
        )
        .await;
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.starts_with("unreachable") && !e.contains("Prometheus"),
        "{e}"
    );
}
