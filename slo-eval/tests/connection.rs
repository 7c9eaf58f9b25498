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
