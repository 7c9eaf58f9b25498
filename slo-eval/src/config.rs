//! The daemon's configuration file (`slo-eval run --config FILE`).
//!
//! ```yaml
//! prometheus:
//!   url: http://127.0.0.1:9090
//!   headers: {X-Scope-OrgID: tenant-1}     # optional
//!   bearer_token: {file: /var/run/secrets/prometheus-token}   # or {env: VAR}
//!   basic_auth: {username: slo, password: {env: PROM_PASSWORD}}
//!   ca_file: /etc/ssl/private-ca.pem
//!   timeout: 30s
//!   concurrency: 8                        # requests in flight
//!   batch_size: 400                       # queries per request
//!   share_queries: true                   # SLOs of one shape share their queries
//!   partial_response: false               # Thanos: fail rather than answer from part of the stores
//! specs: [specs/]                         # files or folders, relative to this file
//! interval: 1m
//! notify:
//!   alertmanagers:
//!     - url: https://am.example:9093
//!       ca_file: /etc/ssl/private-ca.pem      # and cert_file/key_file for mTLS
//!       headers: {X-Scope-OrgID: tenant-1}
//!   webhooks:
//!     - name: oncall
//!       url: http://127.0.0.1:8080/hook
//!       headers: {X-Team: payments, X-Api-Key: {file: /run/secrets/hook-key}}
//!       signing_key: {env: SLO_WEBHOOK_KEY}   # HMAC-SHA256, X-Signature-SHA256
//!   timeout: 10s
//!   retries: 4
//!   resend_interval: 1m                       # Alertmanager resends
//! listen: 127.0.0.1:9099                   # /metrics, /healthz, /readyz
//! state_file: /var/lib/slo-eval/state.json
//! external_url: http://slo-eval.example    # generatorURL of alerts
//! strict: false     # true: refuse to start (or reload) if any spec file is invalid
//! shard: {index: 0, count: 2}   # optional: this daemon's share of the SLOs
//! evaluation: incremental        # default; `direct` queries every window every cycle
//! ```
//!
//! Secrets are read from files or environment variables named here, never
//! written in the file itself. Prometheus, each Alertmanager and each webhook
//! take the same connection keys (one `connection!` macro): `url`, `headers`
//! (values as strings or `{file: PATH}` / `{env: VAR}`), `bearer_token`,
//! `basic_auth`, `ca_file`, `cert_file` + `key_file`, `timeout`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use slo_core::duration::Duration;
use slo_core::shard::Shard;

use crate::connection::{Kind, check_url};
use crate::errors::Error;
use crate::notify::Target;
use crate::prometheus::Endpoint;
use crate::secret::SecretSource;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Prometheus-compatible query API.
    pub prometheus: PrometheusConfig,
    /// Spec files or folders.
    pub specs: Vec<PathBuf>,
    /// How often to evaluate.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Where alerts go.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// Address for `/metrics`, `/healthz` and `/readyz`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where alert state and undelivered notifications are kept.
    pub state_file: PathBuf,
    /// The `generatorURL` put on alerts.
    #[serde(default)]
    pub external_url: String,
    /// Refuse to start, and refuse a reload, when any spec file is invalid.
    /// Off by default: the valid files are loaded and the invalid ones
    /// reported in logs, `/metrics` and `/readyz`.
    #[serde(default)]
    pub strict: bool,
    /// This daemon's share of the SLOs in a fleet over one TSDB (absent:
    /// every SLO). Replicas of one shard send identical alerts.
    pub shard: Option<ShardConfig>,
    /// How the daemon evaluates: `incremental` (default; long windows and
    /// the period from 5m steps kept in memory) or `direct` (every window
    /// queried every cycle, as `eval` does).
    #[serde(default)]
    pub evaluation: Evaluation,
}

/// `evaluation: incremental|direct` ([`crate::incremental`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evaluation {
    /// Windows above 1h and the period from 5m steps fetched once each.
    #[default]
    Incremental,
    /// Every window's queries every cycle.
    Direct,
}

/// `shard: {index, count}`: evaluate only the SLOs that hash to `index` of
/// `count` shards ([`slo_core::shard`]).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardConfig {
    /// This daemon's shard, from 0.
    pub index: u32,
    /// The number of shards in the fleet.
    pub count: u32,
}

fn default_interval() -> Duration {
    Duration::from_mins(1)
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9099))
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_notify_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_concurrency() -> usize {
    8
}

fn default_true() -> bool {
    true
}

fn default_batch_size() -> usize {
    crate::evaluate::DEFAULT_BATCH
}

fn default_retries() -> usize {
    4
}

/// A header value: written in the file, or read from a file or an
/// environment variable (for API keys).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum HeaderSource {
    /// The value itself.
    Value(String),
    /// `{file: PATH}` or `{env: VAR}`.
    Secret(SecretSource),
}

/// Declares a server's configuration: the connection keys every server takes
/// (one definition, one reading into an [`Endpoint`]) plus its own keys.
/// serde's `flatten` would lose `deny_unknown_fields` and error locations,
/// hence a macro.
macro_rules! connection {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Base URL.
            pub url: String,
            /// Extra headers on every request.
            #[serde(default)]
            pub headers: BTreeMap<String, HeaderSource>,
            /// Bearer token source.
            pub bearer_token: Option<SecretSource>,
            /// Basic auth.
            pub basic_auth: Option<BasicAuth>,
            /// Extra CA certificates (PEM) to trust.
            pub ca_file: Option<PathBuf>,
            /// Client certificate (PEM) for mutual TLS; needs `key_file`.
            pub cert_file: Option<PathBuf>,
            /// The client certificate's private key (PEM).
            pub key_file: Option<PathBuf>,
            /// Per-request timeout.
            pub timeout: Option<Duration>,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl $name {
            /// Makes relative file paths relative to `base`.
            fn rebase(&mut self, base: &Path) {
                let files = self.headers.values_mut().filter_map(|h| match h {
                    HeaderSource::Secret(s) => s.file.as_mut(),
                    HeaderSource::Value(_) => None,
                });
                let files = files
                    .chain(self.bearer_token.as_mut().and_then(|s| s.file.as_mut()))
                    .chain(self.basic_auth.as_mut().and_then(|b| b.password.file.as_mut()))
                    .chain(self.ca_file.as_mut())
                    .chain(self.cert_file.as_mut())
                    .chain(self.key_file.as_mut());
                for f in files {
                    if f.is_relative() {
                        *f = base.join(&*f);
                    }
                }
            }

            /// The endpoint, with secrets read; `what` names this server in
            /// errors (`prometheus`, `webhook oncall`).
            fn endpoint_of(&self, what: &str, default_timeout: Duration) -> Result<Endpoint, Error> {
                let err = |key: &str, e: String| Error::Config(format!("{what}: {key}: {e}"));
                let mut headers = BTreeMap::new();
                for (k, v) in &self.headers {
                    let value = match v {
                        HeaderSource::Value(v) => v.clone(),
                        HeaderSource::Secret(s) => s
                            .read()
                            .map_err(|e| err(&format!("headers.{k}"), e))?
                            .expose()
                            .to_owned(),
                    };
                    headers.insert(k.clone(), value);
                }
                let endpoint = Endpoint {
                    url: self.url.clone(),
                    headers,
                    bearer_token: self
                        .bearer_token
                        .as_ref()
                        .map(|s| s.read().map_err(|e| err("bearer_token", e)))
                        .transpose()?,
                    basic_auth: self
                        .basic_auth
                        .as_ref()
                        .map(|b| {
                            b.password
                                .read()
                                .map(|pw| (b.username.clone(), pw))
                                .map_err(|e| err("basic_auth.password", e))
                        })
                        .transpose()?,
                    ca_file: self.ca_file.clone(),
                    cert_file: self.cert_file.clone(),
                    key_file: self.key_file.clone(),
                    timeout: self.timeout.unwrap_or(default_timeout).to_std(),
                    partial_response: None,
                };
                // Reads the TLS files now: a bad one is a start-up error.
                endpoint
                    .http_client()
                    .map_err(|e| Error::Config(format!("{what}: {e}")))?;
                Ok(endpoint)
            }
        }
    };
}

connection! {
    /// How to reach Prometheus.
    PrometheusConfig {
        /// Requests in flight at once.
        #[serde(default = "default_concurrency")]
        concurrency: usize,
        /// Queries per request (1: one query per request).
        #[serde(default = "default_batch_size")]
        batch_size: usize,
        /// SLOs whose queries differ only by a label's value share one
        /// query per window ([`slo_core::shared`]).
        #[serde(default = "default_true")]
        share_queries: bool,
        /// `partial_response` sent with every query (Thanos Query).
        #[serde(default)]
        partial_response: Option<bool>,
    }
}

/// Basic auth credentials.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password source.
    pub password: SecretSource,
}

/// Notification targets.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Alertmanagers (each gets every alert).
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Webhooks (each gets every change: firing and resolved).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Per-request timeout.
    #[serde(default = "default_notify_timeout")]
    pub timeout: Duration,
    /// Retries within one send to Alertmanager (webhook notifications are
    /// retried one by one with backoff until delivered or rejected).
    #[serde(default = "default_retries")]
    pub retries: usize,
    /// How often alerts are resent to Alertmanager, on their own clock
    /// (default: the evaluation interval, at most 1m).
    pub resend_interval: Option<Duration>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            alertmanagers: Vec::new(),
            webhooks: Vec::new(),
            timeout: default_notify_timeout(),
            retries: default_retries(),
            resend_interval: None,
        }
    }
}

connection! {
    /// One Alertmanager (each gets every alert).
    AlertmanagerConfig {}
}

connection! {
    /// One webhook.
    WebhookConfig {
        /// A name for logs, metrics and the body's `receiver`.
        name: String,
        /// HMAC-SHA256 signing key source.
        signing_key: Option<SecretSource>,
    }
}

impl Config {
    /// Reads and checks `path`; relative paths in it are resolved against
    /// its folder. Errors carry the file, line and column.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config: Config = serde_saphyr::from_str(&text).map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
            // serde-saphyr's Display may draw a snippet; keep its first line.
            let message = e.to_string();
            let message = message.lines().next().unwrap_or("invalid configuration");
            // Its first line repeats `error: line L column C:`, said already.
            let message = message.strip_prefix("error: ").unwrap_or(message);
            let message = match message.split_once(": ") {
                Some((at, rest)) if at.starts_with("line ") && at.contains(" column ") => rest,
                _ => message,
            };
            Error::Config(format!(
                "{}:{line}:{column}: error: {message}",
                path.display()
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in config.specs.iter_mut() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        // Every path in the file is relative to the file, as users expect
        // when they keep the config, specs and secrets side by side.
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        rebase(&mut config.state_file);
        config.prometheus.rebase(base);
        for a in &mut config.notify.alertmanagers {
            a.rebase(base);
        }
        for w in &mut config.notify.webhooks {
            w.rebase(base);
            if let Some(f) = w.signing_key.as_mut().and_then(|s| s.file.as_mut()) {
                rebase(f);
            }
        }
        let at = |what: &str| Error::Config(format!("{}: {what}", path.display()));
        if config.specs.is_empty() {
            return Err(at("`specs` lists no spec files or folders"));
        }
        if config.interval.as_secs() < 1 {
            return Err(at("`interval` must be at least 1s"));
        }
        if config.prometheus.concurrency == 0 {
            return Err(at("`prometheus.concurrency` must be at least 1"));
        }
        if config.prometheus.batch_size == 0 {
            return Err(at("`prometheus.batch_size` must be at least 1"));
        }
        // URL mistakes are named at start, not at the first failed request.
        let urls = std::iter::once((&config.prometheus.url, Kind::Prometheus, "prometheus.url"))
            .chain(
                config
                    .notify
                    .alertmanagers
                    .iter()
                    .map(|a| (&a.url, Kind::Alertmanager, "notify.alertmanagers[].url")),
            )
            .chain(
                config
                    .notify
                    .webhooks
                    .iter()
                    .map(|w| (&w.url, Kind::Webhook, "notify.webhooks[].url")),
            );
        for (url, kind, key) in urls {
            check_url(url, kind).map_err(|e| at(&format!("`{key}`: {e}")))?;
        }
        let mut names = std::collections::BTreeSet::new();
        for w in &config.notify.webhooks {
            if !names.insert(&w.name) {
                return Err(at(&format!("two webhooks are named `{}`", w.name)));
            }
        }
        if config
            .notify
            .resend_interval
            .is_some_and(|d| d.as_secs() < 1)
        {
            return Err(at("`notify.resend_interval` must be at least 1s"));
        }
        config.shard().map_err(|e| at(&format!("`shard`: {e}")))?;
        Ok(config)
    }

    /// This daemon's shard (every SLO without `shard`).
    pub fn shard(&self) -> Result<Shard, slo_core::errors::ShardError> {
        self.shard
            .map_or(Ok(Shard::all()), |s| Shard::new(s.index, s.count))
    }

    /// The Prometheus endpoint, with secrets read.
    pub fn endpoint(&self) -> Result<Endpoint, Error> {
        let mut endpoint = self
            .prometheus
            .endpoint_of("prometheus", default_timeout())?;
        endpoint.partial_response = self.prometheus.partial_response;
        Ok(endpoint)
    }

    /// The notification targets, with secrets read and clients built.
    pub fn targets(&self) -> Result<Vec<Target>, Error> {
        let timeout = self.notify.timeout;
        let mut out = Vec::new();
        for a in &self.notify.alertmanagers {
            let endpoint = a.endpoint_of(&format!("alertmanager {}", a.url), timeout)?;
            out.push(Target::alertmanager(&endpoint).map_err(|e| Error::Config(e.to_string()))?);
        }
        for w in &self.notify.webhooks {
            let what = format!("webhook {}", w.name);
            let endpoint = w.endpoint_of(&what, timeout)?;
            let signing_key = w
                .signing_key
                .as_ref()
                .map(|s| {
                    s.read()
                        .map_err(|e| Error::Config(format!("{what}: signing_key: {e}")))
                })
                .transpose()?;
            out.push(
                Target::webhook(&w.name, &endpoint, signing_key)
                    .map_err(|e| Error::Config(format!("{what}: {e}")))?,
            );
        }
        Ok(out)
    }

    /// How often alerts are resent to Alertmanager: `notify.resend_interval`,
    /// or the evaluation interval capped at 1m (Prometheus's `resend_delay`).
    pub fn resend_interval(&self) -> std::time::Duration {
        self.notify.resend_interval.map_or_else(
            || {
                self.interval
                    .to_std()
                    .min(std::time::Duration::from_secs(60))
            },
            |d| d.to_std(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Error> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        Config::load(&path)
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = load(
            "prometheus: {url: http://127.0.0.1:9090}\nspecs: [specs]\nstate_file: state.json\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.interval, Duration::from_mins(1));
        assert_eq!(c.prometheus.concurrency, 8);
        assert_eq!(c.resend_interval(), std::time::Duration::from_secs(60));
        assert!(c.specs[0].is_absolute());
        assert!(c.state_file.ends_with("state.json"));
        assert_eq!(c.evaluation, Evaluation::Incremental);
    }

    #[test]
    fn evaluation_is_incremental_or_direct() {
        let base = "prometheus: {url: http://127.0.0.1:9090}\nspecs: [specs]\nstate_file: s\n";
        let c = load(&format!("{base}evaluation: direct\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.evaluation, Evaluation::Direct);
        let e = load(&format!("{base}evaluation: sideways\n"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("config.yaml:4:") && e.contains("incremental"),
            "{e}"
        );
    }

    #[test]
    fn mistakes_point_at_their_line() {
        let e = load("prometheus: {url: http://x}\nspecs: [a]\nstate_file: s\ninterval: 1.5m\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("config.yaml:4:"), "{e}");
        assert!(e.contains("fraction"), "{e}");
        let e = load("prometheus: {url: http://x, tiemout: 5s}\nspecs: [a]\nstate_file: s\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("config.yaml:1:") && e.contains("tiemout"), "{e}");
    }

    #[test]
    fn credentials_in_urls_are_refused() {
        let e = load("prometheus: {url: 'http://u:p@x'}\nspecs: [a]\nstate_file: s\n");
        assert!(e.is_err_and(|e| !e.to_string().contains("u:p")));
    }
}

#[cfg(test)]
mod example {
    /// The README points users at this file: it must stay loadable.
    #[test]
    fn the_example_daemon_config_loads() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/daemon/config.yaml");
        let c = super::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.prometheus.url, "http://127.0.0.1:9090");
        assert!(c.specs[0].ends_with("../specs"));
        assert_eq!(c.targets().map(|t| t.len()).ok(), Some(1));
        assert!(crate::specs::find(&c.specs).is_ok_and(|f| !f.is_empty()));
    }
}
