//! Delivering alerts: to Alertmanager (`POST /api/v2/alerts`) and to
//! webhooks with an Alertmanager-compatible (version "4") body, so existing
//! receivers work unchanged.
//!
//! Webhook bodies are signed with HMAC-SHA256 when a key is configured: the
//! `X-Signature-SHA256` header holds the lower-case hex digest of the exact
//! body bytes. Every send retries transient failures (connection errors,
//! timeouts, 5xx, 408, 429) with exponential backoff, a bounded number of
//! times; [`Notifier::send_once`] makes one attempt for callers that
//! schedule their own retries (the daemon's webhook queues).

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use backon::{ExponentialBuilder, Retryable};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::connection::{Endpoint, Kind, check_url, redact, redirect_message, scheme_hint};
use crate::errors::{NotifyError, transport_message};
use crate::secret::Secret;

/// Labels or annotations.
pub type Labels = BTreeMap<String, String>;

/// Per-request headers (the signature).
type Headers = Vec<(&'static str, String)>;

/// Firing or resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The alert is active.
    Firing,
    /// The alert has ended.
    Resolved,
}

/// One alert at one moment, as Alertmanager and webhooks see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identity: Alertmanager fingerprints alerts by their labels.
    pub labels: Labels,
    /// Summary, description, runbook...
    pub annotations: Labels,
    /// When the alert started firing; stable across sends.
    pub starts_at: Timestamp,
    /// For resolved alerts, when they ended.
    pub ends_at: Option<Timestamp>,
    /// Firing or resolved.
    pub status: Status,
    /// A link back to the source.
    pub generator_url: String,
}

impl Alert {
    /// A stable fingerprint of the labels (FNV-1a 64, hex), as webhook
    /// receivers use to correlate firing and resolved notifications.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (k, v) in &self.labels {
            for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    }
}

/// Alertmanager's `postableAlert`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert<'a> {
    labels: &'a Labels,
    annotations: &'a Labels,
    starts_at: Timestamp,
    ends_at: Timestamp,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
}

/// The webhook body (Alertmanager's webhook format, version "4").
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    version: &'static str,
    group_key: String,
    truncated_alerts: u32,
    status: Status,
    receiver: &'a str,
    group_labels: Labels,
    common_labels: Labels,
    common_annotations: Labels,
    #[serde(rename = "externalURL")]
    external_url: &'a str,
    alerts: Vec<WebhookAlert<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert<'a> {
    status: Status,
    labels: &'a Labels,
    annotations: &'a Labels,
    starts_at: Timestamp,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    fingerprint: String,
}

/// Where notifications go: a server and its own HTTP client (CA, client
/// certificate, headers, credentials, timeout; see [`Endpoint`]).
#[derive(Clone, Debug)]
pub struct Target {
    /// What kind of receiver, with its own settings.
    pub kind: TargetKind,
    /// Where to POST (for Alertmanager, the base URL plus `/api/v2/alerts`).
    url: String,
    /// The URL as configured, without credentials, for logs.
    shown: String,
    http: reqwest::Client,
}

/// Alertmanager, or a webhook.
#[derive(Clone, Debug)]
pub enum TargetKind {
    /// An Alertmanager: gets every active alert on its own clock.
    Alertmanager,
    /// A webhook: gets each change once, through a queue.
    Webhook {
        /// A name for logs, metrics and the body's `receiver`.
        name: String,
        /// HMAC-SHA256 signing key.
        signing_key: Option<Secret>,
    },
}

impl Target {
    /// An Alertmanager at `endpoint.url` (its base URL).
    pub fn alertmanager(endpoint: &Endpoint) -> Result<Self, NotifyError> {
        check_url(&endpoint.url, Kind::Alertmanager).map_err(NotifyError::Config)?;
        Ok(Self {
            kind: TargetKind::Alertmanager,
            url: format!("{}/api/v2/alerts", endpoint.url.trim_end_matches('/')),
            shown: redact(&endpoint.url),
            http: endpoint.http_client().map_err(NotifyError::Config)?,
        })
    }

    /// A webhook named `name` POSTed at `endpoint.url`.
    pub fn webhook(
        name: &str,
        endpoint: &Endpoint,
        signing_key: Option<Secret>,
    ) -> Result<Self, NotifyError> {
        check_url(&endpoint.url, Kind::Webhook).map_err(NotifyError::Config)?;
        Ok(Self {
            kind: TargetKind::Webhook {
                name: name.to_owned(),
                signing_key,
            },
            url: endpoint.url.clone(),
            shown: redact(&endpoint.url),
            http: endpoint.http_client().map_err(NotifyError::Config)?,
        })
    }

    /// A name for logs and metrics: `alertmanager URL` (without
    /// credentials) or `webhook NAME`.
    pub fn name(&self) -> String {
        match &self.kind {
            TargetKind::Alertmanager => format!("alertmanager {}", self.shown),
            TargetKind::Webhook { name, .. } => format!("webhook {name}"),
        }
    }

    /// The webhook's name, `None` for Alertmanager.
    pub fn webhook_name(&self) -> Option<&str> {
        match &self.kind {
            TargetKind::Webhook { name, .. } => Some(name),
            TargetKind::Alertmanager => None,
        }
    }
}

/// Counters the daemon exports (shared handles: clones count together).
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Requests that succeeded.
    pub sent: prometheus_client::metrics::counter::Counter,
    /// Attempts retried after a transient failure.
    pub retried: prometheus_client::metrics::counter::Counter,
    /// Sends given up (after retries, or rejected).
    pub failed: prometheus_client::metrics::counter::Counter,
}

/// Builds bodies and sends them, with or without retries.
#[derive(Clone, Debug)]
pub struct Notifier {
    backoff: ExponentialBuilder,
    /// Counters shared with the metrics endpoint.
    pub counters: Counters,
    external_url: String,
}

impl Notifier {
    /// A notifier making at most `retries` retries per [`send`](Self::send),
    /// backing off from `min_delay` (doubling, with jitter, capped at 10 s).
    /// Timeouts and TLS are each target's own.
    pub fn new(retries: usize, min_delay: StdDuration, external_url: impl Into<String>) -> Self {
        Self {
            backoff: ExponentialBuilder::default()
                .with_min_delay(min_delay)
                .with_max_delay(StdDuration::from_secs(10))
                .with_max_times(retries)
                .with_jitter(),
            counters: Counters::default(),
            external_url: external_url.into(),
        }
    }

    /// Sends `alerts` to `target`, retrying transient failures. Alertmanager
    /// gets every alert; firing ones with `endsAt = now + hold` so they
    /// expire if we stop resending.
    pub async fn send(
        &self,
        target: &Target,
        alerts: &[Alert],
        now: Timestamp,
        hold: StdDuration,
    ) -> Result<(), NotifyError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let (body, headers) = self.request(target, alerts, now, hold)?;
        let counters = self.counters.clone();
        let attempt = || post(target, &body, &headers);
        let result = attempt
            .retry(self.backoff)
            .when(NotifyError::is_transient)
            .notify(|e, after| {
                counters.retried.inc();
                tracing::warn!(target = %target.name(), error = %e, retry_in = ?after, "notification failed, retrying");
            })
            .await;
        match &result {
            Ok(()) => self.counters.sent.inc(),
            Err(_) => self.counters.failed.inc(),
        };
        result
    }

    /// One attempt, no retry: the webhook queue schedules its own retries
    /// so that one failing notification never holds back the next.
    pub async fn send_once(
        &self,
        target: &Target,
        alerts: &[Alert],
        now: Timestamp,
        hold: StdDuration,
    ) -> Result<(), NotifyError> {
        let (body, headers) = self.request(target, alerts, now, hold)?;
        let result = post(target, &body, &headers).await;
        if result.is_ok() {
            self.counters.sent.inc();
        }
        result
    }

    /// The body and per-request headers (the signature) for `alerts`.
    fn request(
        &self,
        target: &Target,
        alerts: &[Alert],
        now: Timestamp,
        hold: StdDuration,
    ) -> Result<(Vec<u8>, Headers), NotifyError> {
        match &target.kind {
            TargetKind::Alertmanager => {
                let ends = now
                    .checked_add(jiff::SignedDuration::try_from(hold).unwrap_or_default())
                    .unwrap_or(now);
                let postable: Vec<PostableAlert<'_>> = alerts
                    .iter()
                    .map(|a| PostableAlert {
                        labels: &a.labels,
                        annotations: &a.annotations,
                        starts_at: a.starts_at,
                        ends_at: match a.status {
                            Status::Firing => ends,
                            Status::Resolved => a.ends_at.unwrap_or(now).max(a.starts_at),
                        },
                        generator_url: &a.generator_url,
                    })
                    .collect();
                let body = serde_json::to_vec(&postable)
                    .map_err(|e| NotifyError::Config(e.to_string()))?;
                Ok((body, Vec::new()))
            }
            TargetKind::Webhook { name, signing_key } => {
                let body = self.webhook_body(name, alerts)?;
                let mut extra = Vec::new();
                if let Some(key) = signing_key {
                    extra.push(("X-Signature-SHA256", sign(key, &body)?));
                }
                Ok((body, extra))
            }
        }
    }

    fn webhook_body(&self, receiver: &str, alerts: &[Alert]) -> Result<Vec<u8>, NotifyError> {
        let common = |pick: fn(&Alert) -> &Labels| -> Labels {
            let mut it = alerts.iter();
            let Some(first) = it.next() else {
                return Labels::new();
            };
            let mut common = pick(first).clone();
            for a in it {
                common.retain(|k, v| pick(a).get(k) == Some(v));
            }
            common
        };
        let common_labels = common(|a| &a.labels);
        let status = if alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        };
        let group_key = format!(
            "{{}}:{{{}}}",
            common_labels
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let body = WebhookBody {
            version: "4",
            group_key,
            truncated_alerts: 0,
            status,
            receiver,
            group_labels: common_labels.clone(),
            common_labels,
            common_annotations: common(|a| &a.annotations),
            external_url: &self.external_url,
            alerts: alerts
                .iter()
                .map(|a| WebhookAlert {
                    status: a.status,
                    labels: &a.labels,
                    annotations: &a.annotations,
                    starts_at: a.starts_at,
                    // Alertmanager's webhooks carry the zero time while firing.
                    ends_at: match (a.status, a.ends_at) {
                        (Status::Resolved, Some(t)) => t.to_string(),
                        _ => "0001-01-01T00:00:00Z".to_owned(),
                    },
                    generator_url: &a.generator_url,
                    fingerprint: a.fingerprint(),
                })
                .collect(),
        };
        serde_json::to_vec(&body).map_err(|e| NotifyError::Config(e.to_string()))
    }
}

/// One POST. A redirect is never followed to another host (see
/// [`crate::connection`]): it comes back as a rejection saying so.
async fn post(target: &Target, body: &[u8], headers: &Headers) -> Result<(), NotifyError> {
    let mut req = target
        .http
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            NotifyError::Timeout
        } else {
            let msg = transport_message(&e);
            NotifyError::Unreachable(scheme_hint(&target.url, &msg).unwrap_or(msg))
        }
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        return Err(NotifyError::Rejected {
            status: status.as_u16(),
            body: redirect_message(status.as_u16(), location),
        });
    }
    let text: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Err(NotifyError::Rejected {
        status: status.as_u16(),
        body: scheme_hint(&target.url, &text).unwrap_or(text),
    })
}

/// The `X-Signature-SHA256` value for `body`: hex HMAC-SHA256.
pub fn sign(key: &Secret, body: &[u8]) -> Result<String, NotifyError> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose().as_bytes())
        .map_err(|_| NotifyError::Config("the signing key cannot be used for HMAC".into()))?;
    mac.update(body);
    Ok(hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc4231_case_2() {
        let key = Secret::new("Jefe");
        assert_eq!(
            sign(&key, b"what do ya want for nothing?").ok().as_deref(),
            Some("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn fingerprints_depend_on_labels_only() {
        let mut a = Alert {
            labels: Labels::from([("alertname".into(), "X".into()), ("slo".into(), "a".into())]),
            annotations: Labels::new(),
            starts_at: Timestamp::UNIX_EPOCH,
            ends_at: None,
            status: Status::Firing,
            generator_url: String::new(),
        };
        let f = a.fingerprint();
        a.status = Status::Resolved;
        a.annotations.insert("summary".into(), "changed".into());
        assert_eq!(a.fingerprint(), f);
        a.labels.insert("slo".into(), "b".into());
        assert_ne!(a.fingerprint(), f);
    }
}
