//! Delivery to a real Alertmanager and to webhooks; faults from wiremock.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use slo_eval::connection::Endpoint;
use slo_eval::notify::{Alert, Labels, Notifier, Status, Target};
use slo_eval::secret::Secret;
use support::{Alertmanager, Receiver};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn alert(status: Status) -> Alert {
    Alert {
        labels: Labels::from([
            ("alertname".into(), "CheckoutAvailabilityBurn".into()),
            ("slo_service".into(), "checkout".into()),
            ("slo".into(), "requests-availability".into()),
            ("slo_tier".into(), "page".into()),
            ("severity".into(), "page".into()),
        ]),
        annotations: Labels::from([("summary".into(), "burning".into())]),
        starts_at: Timestamp::now() - jiff::SignedDuration::from_secs(60),
        ends_at: (status == Status::Resolved).then(Timestamp::now),
        status,
        generator_url: "http://127.0.0.1/slo".into(),
    }
}

fn notifier() -> Notifier {
    Notifier::new(3, Duration::from_millis(10), "http://slo-eval")
}

fn endpoint(url: &str, timeout: Duration) -> Endpoint {
    Endpoint {
        url: url.into(),
        headers: BTreeMap::from([("X-Team".into(), "payments".into())]),
        timeout,
        ..Endpoint::default()
    }
}

fn hook(url: &str, key: Option<&str>) -> Target {
    Target::webhook(
        "test",
        &endpoint(url, Duration::from_secs(2)),
        key.map(Secret::new),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn alertmanager_delivers_firing_then_resolved_to_its_webhook() {
    let receiver = Receiver::start();
    let am = Alertmanager::start(&receiver.url);
    let n = notifier();
    let target = Target::alertmanager(&endpoint(&am.url, Duration::from_secs(2)))
        .unwrap_or_else(|e| panic!("{e}"));
    n.send(
        &target,
        &[alert(Status::Firing)],
        Timestamp::now(),
        Duration::from_secs(240),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let got = receiver.wait_for(Duration::from_secs(20), |r| {
        r.iter().any(|x| x.json["status"] == "firing")
    });
    let firing = got.iter().find(|x| x.json["status"] == "firing");
    let firing = firing.unwrap_or_else(|| panic!("no firing notification: {got:?}"));
    assert_eq!(
        firing.json["alerts"][0]["labels"]["slo"],
        "requests-availability"
    );
    assert_eq!(
        firing.json["alerts"][0]["annotations"]["summary"],
        "burning"
    );

    n.send(
        &target,
        &[alert(Status::Resolved)],
        Timestamp::now(),
        Duration::from_secs(240),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let got = receiver.wait_for(Duration::from_secs(20), |r| {
        r.iter().any(|x| x.json["status"] == "resolved")
    });
    assert!(
        got.iter().any(|x| x.json["status"] == "resolved"),
        "no resolved notification: {got:?}"
    );
}

#[tokio::test]
async fn webhooks_get_an_alertmanager_body_signed_with_hmac() {
    let receiver = Receiver::start();
    let n = notifier();
    n.send(
        &hook(&receiver.url, Some("s3cret")),
        &[alert(Status::Firing)],
        Timestamp::now(),
        Duration::from_secs(240),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let body = &got[0];
    assert_eq!(body.json["version"], "4");
    assert_eq!(body.json["status"], "firing");
    assert_eq!(body.json["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(body.json["commonLabels"]["slo_service"], "checkout");
    let header = |name: &str| {
        body.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("x-team"), "payments");
    let expected = slo_eval::notify::sign(&Secret::new("s3cret"), &body.body).unwrap_or_default();
    assert_eq!(header("x-signature-sha256"), expected);
    assert_eq!(expected.len(), 64);
}

#[tokio::test]
async fn transient_failures_are_retried_until_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let n = notifier();
    let r = n
        .send(
            &hook(&format!("{}/hook", server.uri()), None),
            &[alert(Status::Firing)],
            Timestamp::now(),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(r, Ok(()));
    let c = &n.counters;
    assert_eq!(c.retried.get(), 2);
    assert_eq!(c.sent.get(), 1);
}

#[tokio::test]
async fn a_rejection_is_not_retried_and_a_dead_receiver_gives_up_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad alert"))
        .expect(1)
        .mount(&server)
        .await;
    let n = notifier();
    let r = n
        .send(
            &hook(&server.uri(), None),
            &[alert(Status::Firing)],
            Timestamp::now(),
            Duration::from_secs(60),
        )
        .await;
    assert!(
        matches!(&r, Err(e) if e.to_string().contains("400") && !e.is_transient()),
        "{r:?}"
    );

    let dead = format!("http://127.0.0.1:{}/hook", support::free_port());
    let started = std::time::Instant::now();
    let r = n
        .send(
            &hook(&dead, Some("topsecretkey")),
            &[alert(Status::Firing)],
            Timestamp::now(),
            Duration::from_secs(60),
        )
        .await;
    assert!(matches!(&r, Err(e) if e.is_transient()), "{r:?}");
    let shown = format!(
        "{r:?} {}",
        r.as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    assert!(!shown.contains("topsecretkey"), "{shown}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(n.counters.failed.get(), 2);
}

#[tokio::test]
async fn a_slow_receiver_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let n = Notifier::new(1, Duration::from_millis(10), "");
    let slow = Target::webhook(
        "slow",
        &endpoint(&server.uri(), Duration::from_millis(200)),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = n
        .send(
            &slow,
            &[alert(Status::Firing)],
            Timestamp::now(),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(r, Err(slo_eval::errors::NotifyError::Timeout));
}
