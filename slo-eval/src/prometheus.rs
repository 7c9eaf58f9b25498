//! A small client for the Prometheus HTTP API (`/api/v1/query`,
//! `/api/v1/query_range`), also spoken by Thanos Query and Mimir.
//!
//! Queries go as POST forms, so long expressions never hit URL limits.
//! Values arrive as strings (`"NaN"`, `"+Inf"`, `"1e-07"`) and are parsed
//! here; every failure becomes a [`QueryError`] that says what happened
//! without echoing credentials.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::Deserialize;

use crate::connection::{Kind, check_url, redirect_message, scheme_hint};
use crate::errors::QueryError;

/// Most points Prometheus returns per series in one range query.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

pub use crate::connection::Endpoint;

/// One series of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Evaluation time, Unix seconds.
    pub timestamp: f64,
    /// The value (NaN and infinities included).
    pub value: f64,
}

/// One series of a range query.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// `(Unix seconds, value)` in time order.
    pub points: Vec<(f64, f64)>,
}

/// The API client.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// Parameters sent with every query (`partial_response`).
    params: Vec<(&'static str, String)>,
    /// Refuse answers marked partial (`partial_response: false`).
    deny_partial: bool,
}

/// An answer, its `data` decoded straight into typed values (no
/// intermediate JSON tree: a back-fill's range answers are large).
#[derive(Deserialize)]
struct Envelope<D> {
    status: String,
    #[serde(default = "none")]
    data: Option<D>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    /// VictoriaMetrics cluster: some storage node did not answer.
    #[serde(default, rename = "isPartial")]
    is_partial: bool,
}

fn none<D>() -> Option<D> {
    None
}

/// `data`: the result, by its `resultType`.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
    Scalar(Point),
    String(serde::de::IgnoredAny),
}

impl Data {
    fn kind(&self) -> &'static str {
        match self {
            Data::Vector(_) => "vector",
            Data::Matrix(_) => "matrix",
            Data::Scalar(_) => "scalar",
            Data::String(_) => "string",
        }
    }
}

#[derive(Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    value: Point,
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: BTreeMap<String, String>,
    values: Vec<Point>,
}

/// `[unix seconds, "value"]`, the value parsed as it is read.
#[derive(Deserialize)]
struct Point(f64, Value);

/// A sample value: a string (`"NaN"`, `"+Inf"`, `"1e-07"`), or a number
/// from engines that send one.
struct Value(f64);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sample value")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
                parse_value(s).map(Value).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value(v as f64))
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn parse_value(s: &str) -> Result<f64, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a sample value"))
}

impl Client {
    /// Builds a client; checks the URL, reads the TLS files, never logs
    /// secrets.
    pub fn new(endpoint: &Endpoint) -> Result<Self, QueryError> {
        check_url(&endpoint.url, Kind::Prometheus).map_err(QueryError::Config)?;
        let http = endpoint.http_client().map_err(QueryError::Config)?;
        let deny_partial = endpoint.partial_response == Some(false);
        let mut params: Vec<(&'static str, String)> = endpoint
            .partial_response
            .map(|p| ("partial_response", p.to_string()))
            .into_iter()
            .collect();
        if deny_partial {
            // VictoriaMetrics cluster's spelling of the same request.
            params.push(("deny_partial_response", "1".to_owned()));
        }
        Ok(Self {
            http,
            base: endpoint.url.trim_end_matches('/').to_owned(),
            params,
            deny_partial,
        })
    }

    async fn call(&self, path: &str, form: &[(&str, String)]) -> Result<Data, QueryError> {
        let url = format!("{}{path}", self.base);
        let form: Vec<(&str, &str)> = form
            .iter()
            .chain(&self.params)
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let response = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            return Err(QueryError::Status {
                status: status.as_u16(),
                error_type: None,
                message: redirect_message(status.as_u16(), location),
            });
        }
        let body = self.body(response, status).await?;
        let envelope = match serde_json::from_slice::<Envelope<Data>>(&body) {
            Ok(e) => e,
            // An answer whose envelope reads but whose result does not: a
            // failure's own message, or a result of the wrong shape.
            Err(bad) => match serde_json::from_slice::<Envelope<serde::de::IgnoredAny>>(&body) {
                Ok(e) => {
                    self.check(status, e)?;
                    return Err(QueryError::Decode(format!("bad result: {bad}")));
                }
                Err(_) => {
                    // A proxy's HTML error page, or garbage: say what came back.
                    let snippet: String =
                        String::from_utf8_lossy(&body).chars().take(120).collect();
                    return Err(if status.is_success() {
                        QueryError::Decode(format!(
                            "the answer is not Prometheus JSON: {snippet:?}"
                        ))
                    } else {
                        QueryError::Status {
                            status: status.as_u16(),
                            error_type: None,
                            // Go's answer to plain HTTP on a TLS port names the fix.
                            message: scheme_hint(&self.base, &snippet).unwrap_or(snippet),
                        }
                    });
                }
            },
        };
        drop(body);
        self.check(status, envelope)?
            .ok_or_else(|| QueryError::Decode("a success without data".into()))
    }

    /// The data of an answer that says success and is not partial (when
    /// partial answers are refused).
    fn check<D>(
        &self,
        status: reqwest::StatusCode,
        envelope: Envelope<D>,
    ) -> Result<Option<D>, QueryError> {
        if envelope.status != "success" || !status.is_success() {
            // VictoriaMetrics puts the HTTP status in `errorType` ("422"):
            // not worth saying twice.
            let error_type = envelope
                .error_type
                .filter(|t| *t != status.as_u16().to_string());
            return Err(QueryError::Status {
                status: status.as_u16(),
                error_type,
                message: envelope.error.unwrap_or_default(),
            });
        }
        if envelope.is_partial && self.deny_partial {
            // Missing storage nodes read as missing events: fewer errors.
            return Err(QueryError::Status {
                status: status.as_u16(),
                error_type: None,
                message: "the answer is partial (isPartial: some storage node did not answer), refused as partial_response is false".to_owned(),
            });
        }
        Ok(envelope.data)
    }

    /// A transport error, with a hint when the URL's scheme is the cause.
    /// The answer's body. An error answer may end in a reset (an HTTPS
    /// server closing a plain-HTTP request it did not read in full, when
    /// the request had a body): what arrived is kept, so its message still
    /// names the fix.
    async fn body(
        &self,
        mut response: reqwest::Response,
        status: reqwest::StatusCode,
    ) -> Result<Vec<u8>, QueryError> {
        // Sized once when the length is known: no doubling of a large answer.
        let mut body = Vec::with_capacity(
            response
                .content_length()
                .map_or(0, |n| usize::try_from(n).unwrap_or(0).min(1 << 26)),
        );
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => return Ok(body),
                Err(_) if !status.is_success() && !body.is_empty() => return Ok(body),
                Err(e) => return Err(self.transport(&e)),
            }
        }
    }

    fn transport(&self, e: &reqwest::Error) -> QueryError {
        match QueryError::from_transport(e) {
            QueryError::Unreachable(msg) => {
                QueryError::Unreachable(scheme_hint(&self.base, &msg).unwrap_or(msg))
            }
            other => other,
        }
    }

    /// The metric types the server knows for `metric`
    /// (`/api/v1/metadata`): empty when it has no metadata (e.g. series
    /// that were backfilled or pushed rather than scraped).
    pub async fn metric_types(&self, metric: &str) -> Result<Vec<String>, QueryError> {
        #[derive(Deserialize)]
        struct Meta {
            #[serde(rename = "type")]
            kind: String,
        }
        #[derive(Deserialize)]
        struct Answer {
            status: String,
            #[serde(default)]
            data: BTreeMap<String, Vec<Meta>>,
        }
        let url = format!("{}/api/v1/metadata", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[("metric", metric)])
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        let body = self.body(response, status).await?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|_| {
            QueryError::Decode(format!(
                "the metadata answer (HTTP {status}) is not Prometheus JSON"
            ))
        })?;
        if answer.status != "success" {
            return Err(QueryError::Status {
                status: status.as_u16(),
                error_type: None,
                message: "metadata request failed".to_owned(),
            });
        }
        Ok(answer
            .data
            .into_values()
            .flatten()
            .map(|m| m.kind)
            .collect())
    }

    /// An instant query at `at` (Unix seconds; `None`: the server's now).
    /// Scalars come back as one sample without labels.
    pub async fn query(&self, promql: &str, at: Option<f64>) -> Result<Vec<Sample>, QueryError> {
        let mut form = vec![("query", promql.to_owned())];
        if let Some(t) = at {
            form.push(("time", format_time(t)));
        }
        match self.call("/api/v1/query", &form).await? {
            Data::Vector(items) => Ok(items
                .into_iter()
                .map(|i| Sample {
                    labels: i.metric,
                    timestamp: i.value.0,
                    value: i.value.1.0,
                })
                .collect()),
            Data::Scalar(Point(t, v)) => Ok(vec![Sample {
                labels: BTreeMap::new(),
                timestamp: t,
                value: v.0,
            }]),
            other => Err(QueryError::Decode(format!(
                "expected an instant vector, got a {}",
                other.kind()
            ))),
        }
    }

    /// A range query from `start` to `end` (Unix seconds) at `step` seconds,
    /// split into chunks under Prometheus's 11,000 points per series and
    /// stitched back together.
    pub async fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<RangeSeries>, QueryError> {
        if !(step > 0.0 && end >= start) {
            return Err(QueryError::Config(format!(
                "bad range: start {start}, end {end}, step {step}"
            )));
        }
        // Keyed by the labels themselves: chunks of one series meet here.
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        let chunk = step * (MAX_POINTS_PER_SERIES - 1) as f64;
        let mut from = start;
        while from <= end {
            let to = (from + chunk).min(end);
            let form = [
                ("query", promql.to_owned()),
                ("start", format_time(from)),
                ("end", format_time(to)),
                ("step", format_time(step)),
            ];
            let items = match self.call("/api/v1/query_range", &form).await? {
                Data::Matrix(items) => items,
                other => {
                    return Err(QueryError::Decode(format!(
                        "expected a range vector, got a {}",
                        other.kind()
                    )));
                }
            };
            for item in items {
                // The answer's points become the series' in place (same
                // layout): a fleet's range answer is megabytes, not copied.
                let values = item.values.into_iter().map(|Point(t, v)| (t, v.0));
                match series.entry(item.metric) {
                    Entry::Vacant(e) => {
                        e.insert(values.collect());
                    }
                    // Chunks share their boundary step: keep it once.
                    Entry::Occupied(mut e) => {
                        let points = e.get_mut();
                        let last = points.last().map_or(f64::NEG_INFINITY, |p| p.0);
                        points.extend(values.filter(|(t, _)| *t > last));
                    }
                }
            }
            from = to + step;
        }
        Ok(series
            .into_iter()
            .map(|(labels, points)| RangeSeries { labels, points })
            .collect())
    }
}

/// Unix seconds as Prometheus reads them (decimal, millisecond precision).
pub fn format_time(t: f64) -> String {
    let ms = (t * 1000.0).round() / 1000.0;
    format!("{ms}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_value_strings() {
        assert!(parse_value("NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_value("+Inf").ok(), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf").ok(), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value("1e-07").ok(), Some(1e-7));
        assert!(parse_value("banana").is_err());
    }

    #[test]
    fn times_have_millisecond_precision() {
        assert_eq!(format_time(1_700_000_000.0), "1700000000");
        assert_eq!(format_time(1_700_000_000.123_45), "1700000000.123");
    }
}
