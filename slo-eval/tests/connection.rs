//! How `eval` and `backtest` connect: the shared connection flags, URL
//! mistakes named at start, and redirects to another host not followed.
//! wiremock stands in for Prometheus where the point is what the client
//! sends (headers, redirects), which a real Prometheus cannot show.

mod support;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::CHECKOUT_SPEC as SPEC;

fn spec() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("checkout.yaml");
    std::fs::write(&spec, SPEC).unwrap_or_else(|e| panic!("{e}"));
    (dir, spec)
}

fn slo_eval(args: &[&str]) -> std::process::Output {
    support::slo_eval()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const EMPTY_VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;

#[test]
fn eval_url_without_a_scheme_is_named_at_start() {
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy();
    let out = slo_eval(&["eval", "--prometheus", "127.0.0.1:9090", &spec]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("`127.0.0.1:9090` has no scheme") && e.contains("http://127.0.0.1:9090"),
        "{e}"
    );
    assert!(!e.contains("relative URL without a base"), "{e}");
}

#[test]
fn eval_url_with_a_trailing_api_path_names_the_base_to_use() {
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy();
    let out = slo_eval(&["eval", "--prometheus", "http://127.0.0.1:9/api/v1/", &spec]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("ends with `/api/v1`") && e.contains("`http://127.0.0.1:9`"),
        "{e}"
    );
}

/// Regression: a base URL with a query string (`?token=...`) passed the
/// check; the client appended `/api/v1/query` after it and a real Prometheus
/// answered "405: Method Not Allowed", naming nothing.
#[test]
fn url_with_a_query_string_is_refused_at_start_without_echoing_it() {
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy();
    let url = "http://127.0.0.1:9/?token=hunter2";
    for args in [
        vec!["eval", "--prometheus", url, &spec],
        vec!["validate", "--prometheus", url, &spec],
        vec![
            "backtest",
            "--prometheus",
            url,
            "--start",
            "1700000000",
            "--end",
            "1700003600",
            &spec,
        ],
    ] {
        let out = slo_eval(&args);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains("has a query string") && e.contains("`http://127.0.0.1:9`"),
            "{args:?}: {e}"
        );
        assert!(!e.contains("hunter2"), "{args:?}: {e}");
    }
}

#[test]
fn backtest_url_credentials_are_refused_without_echoing_them() {
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy();
    let out = slo_eval(&[
        "backtest",
        "--prometheus",
        "http://admin:hunter2@127.0.0.1:9",
        "--start",
        "1700000000",
        "--end",
        "1700003600",
        &spec,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("not in the URL") && !e.contains("hunter2"),
        "{e}"
    );
}

#[test]
fn eval_https_against_a_plain_http_server_says_so() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(MockServer::start());
    let (_d, spec) = spec();
    let url = server.uri().replacen("http://", "https://", 1);
    let out = slo_eval(&[
        "eval",
        "--prometheus",
        &url,
        "--timeout",
        "5s",
        &spec.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("does not speak TLS") && e.contains(&server.uri()),
        "{e}"
    );
}

#[test]
fn eval_sends_the_connection_flags_headers_token_and_header_files() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .and(path("/api/v1/query"))
            .and(header("X-Scope-OrgID", "tenant-1"))
            .and(header("X-Api-Key", "key-from-file"))
            .and(header("Authorization", "Bearer token-from-file"))
            .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_VECTOR))
            .mount(&server),
    );
    let (dir, spec) = spec();
    let token = dir.path().join("token");
    let key = dir.path().join("key");
    std::fs::write(&token, "token-from-file\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&key, "key-from-file\n").unwrap_or_else(|e| panic!("{e}"));
    let out = slo_eval(&[
        "eval",
        "--prometheus",
        &server.uri(),
        "--header",
        "X-Scope-OrgID=tenant-1",
        "--header-file",
        &format!("X-Api-Key={}", key.display()),
        "--bearer-token-file",
        &token.to_string_lossy(),
        "--json",
        &spec.to_string_lossy(),
    ]);
    // Every query matched the mock (an unmatched one gets a 404 and the
    // SLO fails to evaluate).
    let e = stderr(&out);
    assert!(!e.contains("could not be evaluated"), "{e}");
    let received = rt.block_on(server.received_requests()).unwrap_or_default();
    assert!(!received.is_empty());
}

#[test]
fn eval_basic_auth_and_a_bad_ca_file_are_checked_at_start() {
    let (dir, spec) = spec();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap_or_else(|e| panic!("{e}"));
    let out = slo_eval(&[
        "eval",
        "--prometheus",
        "http://127.0.0.1:9",
        "--ca-file",
        &ca.to_string_lossy(),
        &spec.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("ca.pem holds no PEM certificate"), "{e}");
    let out = slo_eval(&[
        "eval",
        "--prometheus",
        "http://127.0.0.1:9",
        "--basic-auth-user",
        "slo",
        &spec.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--basic-auth-password-file"));
}

#[test]
fn eval_does_not_follow_a_redirect_to_another_host_with_its_headers() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let (origin, other) =
        rt.block_on(async { (MockServer::start().await, MockServer::start().await) });
    // 127.0.0.1 redirects to `localhost` on another port: another origin.
    let elsewhere = other.uri().replacen("127.0.0.1", "localhost", 1);
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("Location", format!("{elsewhere}/api/v1/query").as_str()),
            )
            .mount(&origin),
    );
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_VECTOR))
            .mount(&other),
    );
    let (_d, spec) = spec();
    let out = slo_eval(&[
        "eval",
        "--prometheus",
        &origin.uri(),
        "--header",
        "X-Scope-OrgID=tenant-1",
        &spec.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("redirected (307)") && e.contains("not followed"),
        "{e}"
    );
    let leaked = rt.block_on(other.received_requests()).unwrap_or_default();
    assert!(
        leaked.is_empty(),
        "{} request(s) reached the other host",
        leaked.len()
    );
}

/// Every query form `body` the mock server received.
fn bodies(rt: &tokio::runtime::Runtime, server: &MockServer) -> Vec<String> {
    rt.block_on(server.received_requests())
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// `--partial-response false` (Thanos Query) goes with every instant and
/// range query of `eval` and `backtest --prometheus`; without the flag the
/// parameter is not sent at all (the server's default stands).
#[test]
fn partial_response_false_is_sent_with_every_query_only_when_asked() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path("/api/v1/query"))
            .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_VECTOR))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v1/query_range"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            ))
            .mount(&server)
            .await;
    });
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy().into_owned();
    slo_eval(&["eval", "--prometheus", &server.uri(), &spec]);
    let plain = bodies(&rt, &server);
    assert!(!plain.is_empty());
    assert!(
        plain.iter().all(|b| !b.contains("partial_response")),
        "{plain:?}"
    );
    rt.block_on(server.reset());
    rt.block_on(async {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_VECTOR))
            .mount(&server)
            .await;
    });
    slo_eval(&[
        "eval",
        "--prometheus",
        &server.uri(),
        "--partial-response",
        "false",
        &spec,
    ]);
    slo_eval(&[
        "backtest",
        "--prometheus",
        &server.uri(),
        "--start",
        "2026-11-03T00:00:00Z",
        "--end",
        "2026-11-03T01:00:00Z",
        "--partial-response",
        "false",
        &spec,
    ]);
    let received = rt.block_on(server.received_requests()).unwrap_or_default();
    assert!(
        received
            .iter()
            .any(|r| r.url.path() == "/api/v1/query_range"),
        "backtest sent no range query"
    );
    for r in &received {
        let body = String::from_utf8_lossy(&r.body);
        for param in ["partial_response=false", "deny_partial_response=1"] {
            assert!(
                body.split('&').any(|kv| kv == param),
                "{} without {param}: {body}",
                r.url.path()
            );
        }
    }
}

/// An answer VictoriaMetrics cluster marks `isPartial` (a storage node
/// did not answer) is read as usual by default, and refused with
/// `--partial-response false`: missing samples are missing events, and
/// missing errors would read as a healthy SLO.
#[test]
fn a_partial_answer_is_refused_with_partial_response_false() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}"#,
            ))
            .mount(&server),
    );
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy().into_owned();
    let out = slo_eval(&["eval", "--prometheus", &server.uri(), &spec]);
    let e = stderr(&out);
    assert!(!e.contains("could not be evaluated"), "{e}");
    let out = slo_eval(&[
        "eval",
        "--prometheus",
        &server.uri(),
        "--partial-response",
        "false",
        &spec,
    ]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("the answer is partial"), "{e}");
}

/// Basic auth with the password from an environment variable: the header
/// is sent; a rejected password fails with the server's answer, and
/// neither the password nor the encoded header is printed.
#[test]
fn basic_auth_password_from_env_is_sent_and_never_printed() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(MockServer::start());
    // base64("slo:pw-hunter2")
    let good = "Basic c2xvOnB3LWh1bnRlcjI=";
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(header("Authorization", good))
            .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_VECTOR))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_string("unauthorized\n"))
            .with_priority(2)
            .mount(&server)
            .await;
    });
    let (_d, spec) = spec();
    let spec = spec.to_string_lossy().into_owned();
    let run = |password: &str| {
        support::slo_eval()
            .args([
                "eval",
                "--prometheus",
                &server.uri(),
                "--basic-auth-user",
                "slo",
                "--basic-auth-password-env",
                "SLO_TEST_PROM_PASSWORD",
                &spec,
            ])
            .env("SLO_TEST_PROM_PASSWORD", password)
            .env("RUST_LOG", "trace")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let ok = run("pw-hunter2");
    let e = stderr(&ok);
    assert!(!e.contains("could not be evaluated"), "{e}");
    let bad = run("wrong-hunter3");
    let e = format!("{}{}", stderr(&bad), String::from_utf8_lossy(&bad.stdout));
    assert!(e.contains("401"), "{e}");
    for secret in [
        "hunter2",
        "hunter3",
        "c2xvOnB3LWh1bnRlcjI",
        "c2xvOndyb25nLWh1bnRlcjM",
    ] {
        assert!(!e.contains(secret), "{secret} printed: {e}");
    }
    // Without the variable: a usage error naming it, not the value.
    let out = support::slo_eval()
        .args([
            "eval",
            "--prometheus",
            &server.uri(),
            "--basic-auth-user",
            "slo",
            "--basic-auth-password-env",
            "SLO_TEST_SURELY_UNSET_PASSWORD",
            &spec,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SLO_TEST_SURELY_UNSET_PASSWORD"));
}

/// The daemon speaks the same conventions: `X-Scope-OrgID` through its
/// `headers`, a bearer token from the environment, `partial_response:
/// false`, on every query; its trace-level log never shows the token.
#[test]
fn the_daemon_sends_tenant_token_and_partial_response_and_logs_no_secret() {
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(header("X-Scope-OrgID", "tenant-1"))
            .and(header("Authorization", "Bearer tok-hunter2"))
            .and(wiremock::matchers::body_string_contains(
                "partial_response=false",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY_VECTOR))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_string("bad request\n"))
            .with_priority(2)
            .mount(&server)
            .await;
    });
    let (dir, spec) = spec();
    let listen = support::free_port();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "prometheus:\n  url: {:?}\n  headers: {{X-Scope-OrgID: tenant-1}}\n  bearer_token: {{env: SLO_TEST_PROM_TOKEN}}\n  partial_response: false\nspecs: [{:?}]\ninterval: 1s\nlisten: 127.0.0.1:{listen}\nstate_file: state.json\n",
            server.uri(),
            spec.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let log_path = dir.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("{e}"));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("slo-eval"))
        .args(["run", "--config"])
        .arg(&config)
        .env("SLO_TEST_PROM_TOKEN", "tok-hunter2")
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let metrics = format!("http://127.0.0.1:{listen}/metrics");
    let log_text = || std::fs::read_to_string(&log_path).unwrap_or_default();
    support::wait_cycles(&metrics, 3.0, std::time::Duration::from_secs(30), log_text);
    let _ = child.kill();
    let _ = child.wait();
    let received = rt.block_on(server.received_requests()).unwrap_or_default();
    assert!(!received.is_empty());
    for r in &received {
        let body = String::from_utf8_lossy(&r.body);
        let tenant = r.headers.get("X-Scope-OrgID").and_then(|v| v.to_str().ok());
        let auth = r.headers.get("Authorization").and_then(|v| v.to_str().ok());
        assert_eq!(tenant, Some("tenant-1"), "{}", r.url);
        assert_eq!(auth, Some("Bearer tok-hunter2"), "{}", r.url);
        assert!(body.contains("partial_response=false"), "{body}");
    }
    let text = log_text();
    assert!(!text.is_empty());
    assert!(
        !text.contains("hunter2"),
        "the token is in the log:\n{text}"
    );
}
