//! A small client for the Prometheus HTTP API (`/api/v1/query`,
//! `/api/v1/query_range`), also spoken by Thanos Query and Mimir.
//!
//! Queries go as POST forms, so long expressions never hit URL limits.
//! Values arrive as strings (`"NaN"`, `"+Inf"`, `"1e-07"`) and are parsed
//! here; every failure becomes a [`QueryError`] that says what happened
//! without echoing credentials.

use std::collections::BTreeMap;

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

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    /// VictoriaMetrics cluster: some storage node did not answer.
    #[serde(default, rename = "isPartial")]
    is_partial: bool,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

fn parse_value(s: &str) -> Result<f64, QueryError> {
    s.parse()
        .map_err(|_| QueryError::Decode(format!("`{s}` is not a sample value")))
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
        let envelope: Envelope = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(_) => {
                // A proxy's HTML error page, or garbage: say what came back.
                let snippet: String = String::from_utf8_lossy(&body).chars().take(120).collect();
                return Err(if status.is_success() {
                    QueryError::Decode(format!("the answer is not Prometheus JSON: {snippet:?}"))
                } else {
                    QueryError::Status {
                        status: status.as_u16(),
                        error_type: None,
                        // Go's answer to plain HTTP on a TLS port names the fix.
                        message: scheme_hint(&self.base, &snippet).unwrap_or(snippet),
                    }
                });
            }
        };
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
        envelope
            .data
            .ok_or_else(|| QueryError::Decode("a success without data".into()))
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
        let mut body = Vec::new();
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
        let data = self.call("/api/v1/query", &form).await?;
        match data.result_type.as_str() {
            "vector" => {
                let items: Vec<VectorItem> = serde_json::from_value(data.result)
                    .map_err(|e| QueryError::Decode(format!("bad vector: {e}")))?;
                items
                    .into_iter()
                    .map(|i| {
                        Ok(Sample {
                            labels: i.metric,
                            timestamp: i.value.0,
                            value: parse_value(&i.value.1)?,
                        })
                    })
                    .collect()
            }
            "scalar" => {
                let (t, v): (f64, String) = serde_json::from_value(data.result)
                    .map_err(|e| QueryError::Decode(format!("bad scalar: {e}")))?;
                Ok(vec![Sample {
                    labels: BTreeMap::new(),
                    timestamp: t,
                    value: parse_value(&v)?,
                }])
            }
            other => Err(QueryError::Decode(format!(
                "expected an instant vector, got a {other}"
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
        let mut series: BTreeMap<Vec<(String, String)>, RangeSeries> = BTreeMap::new();
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
            let data = self.call("/api/v1/query_range", &form).await?;
            if data.result_type != "matrix" {
                return Err(QueryError::Decode(format!(
                    "expected a range vector, got a {}",
                    data.result_type
                )));
            }
            let items: Vec<MatrixItem> = serde_json::from_value(data.result)
                .map_err(|e| QueryError::Decode(format!("bad matrix: {e}")))?;
            for item in items {
                let key: Vec<(String, String)> = item.metric.clone().into_iter().collect();
                let entry = series.entry(key).or_insert_with(|| RangeSeries {
                    labels: item.metric,
                    points: Vec::new(),
                });
                for (t, v) in item.values {
                    // Chunks share their boundary step: keep it once.
                    if entry.points.last().is_none_or(|(last, _)| t > *last) {
                        entry.points.push((t, parse_value(&v)?));
                    }
                }
            }
            from = to + step;
        }
        Ok(series.into_values().collect())
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
