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
//!   concurrency: 8                        # queries in flight
//! specs: [specs/]                         # files or folders, relative to this file
//! interval: 1m
//! notify:
//!   alertmanagers: [{url: http://127.0.0.1:9093}]
//!   webhooks:
//!     - name: oncall
//!       url: http://127.0.0.1:8080/hook
//!       headers: {X-Team: payments}
//!       signing_key: {env: SLO_WEBHOOK_KEY}   # HMAC-SHA256, X-Signature-SHA256
//!   timeout: 10s
//!   retries: 4
//! listen: 127.0.0.1:9099                   # /metrics, /healthz, /readyz
//! state_file: /var/lib/slo-eval/state.json
//! external_url: http://slo-eval.example    # generatorURL of alerts
//! ```
//!
//! Secrets are read from files or environment variables named here, never
//! written in the file itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use slo_core::duration::Duration;

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

fn default_retries() -> usize {
    4
}

/// How to reach Prometheus.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Base URL.
    pub url: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Bearer token source.
    pub bearer_token: Option<SecretSource>,
    /// Basic auth.
    pub basic_auth: Option<BasicAuth>,
    /// Extra CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Queries in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
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
    /// Retries within one send before the notification waits for the next
    /// cycle.
    #[serde(default = "default_retries")]
    pub retries: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            alertmanagers: Vec::new(),
            webhooks: Vec::new(),
            timeout: default_notify_timeout(),
            retries: default_retries(),
        }
    }
}

/// One Alertmanager.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Base URL.
    pub url: String,
}

/// One webhook.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// A name for logs, metrics and the body's `receiver`.
    pub name: String,
    /// Where to POST.
    pub url: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HMAC-SHA256 signing key source.
    pub signing_key: Option<SecretSource>,
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
        let mut secrets: Vec<&mut SecretSource> = Vec::new();
        secrets.extend(config.prometheus.bearer_token.as_mut());
        secrets.extend(
            config
                .prometheus
                .basic_auth
                .as_mut()
                .map(|b| &mut b.password),
        );
        secrets.extend(
            config
                .notify
                .webhooks
                .iter_mut()
                .filter_map(|w| w.signing_key.as_mut()),
        );
        for s in secrets {
            if let Some(f) = s.file.as_mut() {
                rebase(f);
            }
        }
        if let Some(ca) = config.prometheus.ca_file.as_mut() {
            rebase(ca);
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
        if config.prometheus.url.contains('@') {
            return Err(at(
                "put credentials in `basic_auth` or `bearer_token`, not in the URL (URLs appear in logs)",
            ));
        }
        Ok(config)
    }

    /// The Prometheus endpoint, with secrets read.
    pub fn endpoint(&self) -> Result<Endpoint, Error> {
        let p = &self.prometheus;
        Ok(Endpoint {
            url: p.url.clone(),
            headers: p.headers.clone(),
            bearer_token: p
                .bearer_token
                .as_ref()
                .map(|s| {
                    s.read()
                        .map_err(|e| Error::Config(format!("prometheus.bearer_token: {e}")))
                })
                .transpose()?,
            basic_auth: p
                .basic_auth
                .as_ref()
                .map(|b| {
                    b.password
                        .read()
                        .map(|pw| (b.username.clone(), pw))
                        .map_err(|e| Error::Config(format!("prometheus.basic_auth.password: {e}")))
                })
                .transpose()?,
            ca_file: p.ca_file.clone(),
            cert_file: None,
            key_file: None,
            timeout: p.timeout.to_std(),
        })
    }

    /// The notification targets, with signing keys read.
    pub fn targets(&self) -> Result<Vec<Target>, Error> {
        let mut out: Vec<Target> = self
            .notify
            .alertmanagers
            .iter()
            .map(|a| Target::Alertmanager { url: a.url.clone() })
            .collect();
        for w in &self.notify.webhooks {
            let signing_key = w
                .signing_key
                .as_ref()
                .map(|s| {
                    s.read()
                        .map_err(|e| Error::Config(format!("webhook {}: signing_key: {e}", w.name)))
                })
                .transpose()?;
            out.push(Target::Webhook {
                name: w.name.clone(),
                url: w.url.clone(),
                headers: w.headers.clone(),
                signing_key,
            });
        }
        Ok(out)
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
        assert!(c.specs[0].is_absolute());
        assert!(c.state_file.ends_with("state.json"));
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
