//! What a mocked Prometheus (wiremock) needs to fake faults: the query a
//! request asks, and answers written as Prometheus writes them.

use wiremock::{Request, ResponseTemplate};

/// The `query` parameter of a POSTed query form.
pub fn query_of(request: &Request) -> String {
    url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "query")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// An error answer: `status`, with Prometheus's `errorType`.
pub fn error(status: u16, kind: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "status": "error", "errorType": kind, "error": format!("{kind} in query")
    }))
}

/// A success: the result of a range query (a matrix) or an instant one.
pub fn success(request: &Request, result: serde_json::Value) -> ResponseTemplate {
    let kind = if request.url.path().ends_with("query_range") {
        "matrix"
    } else {
        "vector"
    };
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "status": "success", "data": {"resultType": kind, "result": result}
    }))
}
