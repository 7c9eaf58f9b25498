//! How every command reaches a server: Prometheus (`eval`, `backtest`,
//! `validate --prometheus`, the daemon), Alertmanager and webhooks (the
//! daemon). One [`Endpoint`] type holds the URL, headers, credentials and TLS
//! files; one function builds the HTTP client from it, so all of them share
//! the same rules:
//!
//! - URLs are checked before the first request ([`check_url`]): a missing
//!   scheme, credentials in the URL, or an API path the client adds itself
//!   are refused with a message naming the URL (never its credentials).
//! - Redirects are followed only to the same scheme, host and port, at most
//!   [`MAX_REDIRECTS`] times: custom headers (`X-Scope-OrgID`, `X-Api-Key`,
//!   the webhook signature) and request bodies never reach another host.
//! - Every custom header is marked sensitive, so HTTP-level logging never
//!   prints it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::errors::Error;
use crate::secret::Secret;

/// Most redirects followed (all to the same origin).
pub const MAX_REDIRECTS: usize = 5;

/// Where and how to reach one server.
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    /// Base URL, e.g. `http://127.0.0.1:9090` or a Mimir prefix
    /// `http://mimir/prometheus`.
    pub url: String,
    /// Extra headers on every request (e.g. `X-Scope-OrgID`).
    pub headers: BTreeMap<String, String>,
    /// Bearer token, read from a file or the environment.
    pub bearer_token: Option<Secret>,
    /// Basic auth user and password.
    pub basic_auth: Option<(String, Secret)>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// Timeout of one request.
    pub timeout: StdDuration,
    /// Thanos Query's `partial_response` parameter on every query: `false`
    /// makes a query fail when a store is down instead of answering from
    /// the stores left (missing samples read as fewer errors); it also
    /// sends VictoriaMetrics cluster's `deny_partial_response=1` and refuses
    /// an answer marked `isPartial`. `None` sends nothing (the server's
    /// default). Queries only.
    pub partial_response: Option<bool>,
}

/// What a URL points at: decides which API paths the client adds itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A Prometheus query API (the client adds `/api/v1/...`).
    Prometheus,
    /// An Alertmanager (the client adds `/api/v2/alerts`).
    Alertmanager,
    /// A webhook receiver (the URL is used as given).
    Webhook,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Prometheus => "Prometheus",
            Kind::Alertmanager => "Alertmanager",
            Kind::Webhook => "webhook",
        }
    }
}

/// `url` without user name and password, for messages and logs.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.has_authority() => {
            if u.username().is_empty() && u.password().is_none() {
                return url.to_owned();
            }
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        // Unparseable or without `//`: drop everything up to an `@` that
        // may hold userinfo.
        _ => match url.rfind('@') {
            Some(at) => {
                let scheme_end = url.find("://").map_or(0, |i| i + 3);
                format!("{}{}", &url[..scheme_end.min(at)], &url[at + 1..])
            }
            None => url.to_owned(),
        },
    }
}

/// Checks a base URL before any request: it must be absolute http(s), carry
/// no credentials, and not end with an API path the client adds itself.
/// The message names the URL without credentials.
pub fn check_url(url: &str, kind: Kind) -> Result<Url, String> {
    let shown = redact(url);
    let what = kind.name();
    let parsed = Url::parse(url).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            format!("{what} URL `{shown}` has no scheme: write http://{shown} or https://{shown}")
        }
        e => format!("{what} URL `{shown}` is not a URL: {e}"),
    })?;
    if !url.contains("://") {
        // `localhost:9090` parses as the scheme `localhost`.
        return Err(format!(
            "{what} URL `{shown}` has no scheme: write http://{shown} or https://{shown}"
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{what} URL `{shown}` must start with http:// or https://"
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{what} URL `{shown}` has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{what} URL `{shown}`: put credentials in basic auth or a bearer token, not in the URL (URLs appear in logs)"
        ));
    }
    // The client appends `/api/v1/query` to the base, after the query
    // string: the server answered 405 or 404. Not named: it may hold a token.
    if kind != Kind::Webhook && (parsed.query().is_some() || parsed.fragment().is_some()) {
        let mut base = parsed.clone();
        base.set_query(None);
        base.set_fragment(None);
        return Err(format!(
            "{what} URL `{}` has a query string or fragment (`?...`, `#...`), which the client cannot append its API path to: give the base URL; pass tokens with headers or a bearer token",
            base.as_str().trim_end_matches('/')
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    let added: &[&str] = match kind {
        Kind::Prometheus => &["/api/v1", "/api/v1/query", "/api/v1/query_range", "/graph"],
        Kind::Alertmanager => &["/api/v2", "/api/v2/alerts", "/api/v1/alerts", "/api/v1"],
        Kind::Webhook => &[],
    };
    if let Some(suffix) = added.iter().find(|s| path.ends_with(*s)) {
        let mut base = parsed.clone();
        base.set_path(&path[..path.len() - suffix.len()]);
        base.set_query(None);
        return Err(format!(
            "{what} URL `{shown}` ends with `{suffix}`, which the client adds itself: give the base URL, e.g. `{}`",
            base.as_str().trim_end_matches('/')
        ));
    }
    Ok(parsed)
}

/// A hint for a transport failure caused by the URL's scheme: https against
/// a plain-HTTP server fails in the TLS handshake with a "corrupt message".
pub fn scheme_hint(url: &str, message: &str) -> Option<String> {
    let shown = redact(url);
    let lower = message.to_ascii_lowercase();
    if url.starts_with("https://")
        && (lower.contains("invalidcontenttype")
            || lower.contains("corrupt message")
            || lower.contains("wrong version number")
            || lower.contains("record overflow"))
    {
        let plain = shown.replacen("https://", "http://", 1);
        return Some(format!(
            "`{shown}` does not speak TLS: the server answers plain HTTP, try `{plain}`"
        ));
    }
    if url.starts_with("http://") && lower.contains("http request to an https server") {
        let tls = shown.replacen("http://", "https://", 1);
        return Some(format!(
            "`{shown}` is an HTTPS server: try `{tls}` (and `ca_file` for a private CA)"
        ));
    }
    None
}

impl Endpoint {
    /// Builds the HTTP client: default headers (all marked sensitive),
    /// credentials, CA and client certificate, timeouts and the same-origin
    /// redirect policy. Reads the TLS files; errors name them, never secrets.
    pub fn http_client(&self) -> Result<reqwest::Client, String> {
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("invalid header name `{k}`"))?;
            let mut value =
                HeaderValue::from_str(v).map_err(|_| format!("invalid value for header `{k}`"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if let Some(token) = &self.bearer_token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| "the bearer token is not a valid header value".to_owned())?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        if let Some((user, password)) = &self.basic_auth {
            let raw = format!("{user}:{}", password.expose());
            let mut value = HeaderValue::from_str(&format!("Basic {}", base64(raw.as_bytes())))
                .map_err(|_| "basic auth is not a valid header value".to_owned())?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(same_origin_redirects())
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(StdDuration::from_secs(10)));
        if let Some(path) = &self.ca_file {
            let pem = read(path, "CA file")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| format!("CA file {} holds no PEM certificate", path.display()))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let mut pem = read(cert, "client certificate file")?;
                pem.push(b'\n');
                pem.extend(read(key, "client key file")?);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
                    format!(
                        "{} and {} are not a PEM certificate and its private key",
                        cert.display(),
                        key.display()
                    )
                })?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            (Some(_), None) => return Err("a client certificate (cert_file) needs key_file".into()),
            (None, Some(_)) => return Err("a client key (key_file) needs cert_file".into()),
        }
        builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Follows redirects only within the first URL's scheme, host and port, at
/// most [`MAX_REDIRECTS`] times; any other redirect is returned as the 3xx
/// answer it is, so the caller reports it instead of sending headers and
/// body to another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if same {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Describes a 3xx answer the client did not follow.
pub fn redirect_message(status: u16, location: Option<&str>) -> String {
    match location {
        Some(to) => format!(
            "redirected ({status}) to `{}` on another host, not followed: headers and body are never sent to another host; configure that URL instead",
            redact(to)
        ),
        None => format!("redirected ({status}) without a Location"),
    }
}

/// Standard base64, for the basic-auth header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Connection options shared by every command that queries Prometheus
/// (`eval`, `backtest`, `validate --prometheus`). The URL itself is each
/// command's own `--prometheus` flag.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConnectionArgs {
    /// Extra header on every query, as NAME=VALUE (e.g.
    /// X-Scope-OrgID=tenant-1); repeat for more.
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Extra header whose value is read from a file (API keys stay out of
    /// the shell history), as NAME=PATH; repeat for more.
    #[arg(long = "header-file", value_name = "NAME=PATH")]
    pub header_files: Vec<String>,
    /// Send `Authorization: Bearer` with the token read from this file.
    #[arg(long, value_name = "PATH", conflicts_with = "basic_auth_user")]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic auth user name (the password comes from
    /// --basic-auth-password-file or --basic-auth-password-env).
    #[arg(long, value_name = "USER", requires = "basic_auth_password")]
    pub basic_auth_user: Option<String>,
    /// File holding the basic auth password.
    #[arg(
        long,
        value_name = "PATH",
        requires = "basic_auth_user",
        group = "basic_auth_password"
    )]
    pub basic_auth_password_file: Option<PathBuf>,
    /// Environment variable holding the basic auth password.
    #[arg(
        long,
        value_name = "VAR",
        requires = "basic_auth_user",
        group = "basic_auth_password"
    )]
    pub basic_auth_password_env: Option<String>,
    /// Extra CA certificates (PEM) to trust.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, value_name = "PATH", requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "PATH", requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// Timeout of one query [default: 30s; backtest: 60s].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<slo_core::duration::Duration>,
    /// Send `partial_response=BOOL` with every query (Thanos Query); false
    /// also sends `deny_partial_response=1` (VictoriaMetrics cluster) and
    /// refuses answers marked partial: a query fails when a store is down
    /// rather than answering with part of the data.
    #[arg(long, value_name = "BOOL")]
    pub partial_response: Option<bool>,
}

impl ConnectionArgs {
    /// The endpoint for the Prometheus at `url`: checks the URL, reads the
    /// secret files. `default_timeout` applies without `--timeout`.
    pub fn endpoint(&self, url: &str, default_timeout: StdDuration) -> Result<Endpoint, Error> {
        check_url(url, Kind::Prometheus).map_err(|e| Error::Usage(format!("--prometheus: {e}")))?;
        let secret = |path: &Path, flag: &str| -> Result<Secret, Error> {
            crate::secret::SecretSource {
                file: Some(path.to_owned()),
                env: None,
            }
            .read()
            .map_err(|e| Error::Usage(format!("--{flag}: {e}")))
        };
        let mut headers = BTreeMap::new();
        for h in &self.headers {
            let (k, v) = split_pair(h, "header", "NAME=VALUE")?;
            headers.insert(k.to_owned(), v.to_owned());
        }
        for h in &self.header_files {
            let (k, path) = split_pair(h, "header-file", "NAME=PATH")?;
            let v = secret(Path::new(path), "header-file")?;
            headers.insert(k.to_owned(), v.expose().to_owned());
        }
        let bearer_token = self
            .bearer_token_file
            .as_deref()
            .map(|p| secret(p, "bearer-token-file"))
            .transpose()?;
        let basic_auth = match (
            &self.basic_auth_user,
            &self.basic_auth_password_file,
            &self.basic_auth_password_env,
        ) {
            (Some(user), Some(p), _) => {
                Some((user.clone(), secret(p, "basic-auth-password-file")?))
            }
            (Some(user), None, Some(var)) => {
                let password = crate::secret::SecretSource {
                    file: None,
                    env: Some(var.clone()),
                }
                .read()
                .map_err(|e| Error::Usage(format!("--basic-auth-password-env: {e}")))?;
                Some((user.clone(), password))
            }
            _ => None,
        };
        let endpoint = Endpoint {
            url: url.to_owned(),
            headers,
            bearer_token,
            basic_auth,
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            timeout: self.timeout.map_or(default_timeout, |t| t.to_std()),
            partial_response: self.partial_response,
        };
        // Build once now so a bad CA or key file is reported before any
        // spec is evaluated.
        endpoint.http_client().map_err(Error::Usage)?;
        Ok(endpoint)
    }
}

fn split_pair<'a>(s: &'a str, flag: &str, form: &str) -> Result<(&'a str, &'a str), Error> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| {
            let name = s.split('=').next().unwrap_or_default();
            Error::Usage(format!("--{flag} `{name}...`: expected {form}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn a_url_without_a_scheme_says_so() {
        let e = check_url("127.0.0.1:9090", Kind::Prometheus).err();
        let e = e.unwrap_or_default();
        assert!(
            e.contains("no scheme") && e.contains("http://127.0.0.1:9090"),
            "{e}"
        );
        for url in ["prometheus", "localhost:9090", "prometheus.example/x"] {
            let e = check_url(url, Kind::Prometheus).err().unwrap_or_default();
            assert!(e.contains("no scheme"), "{e}");
        }
        let e = check_url("ftp://p", Kind::Alertmanager)
            .err()
            .unwrap_or_default();
        assert!(e.contains("http:// or https://"), "{e}");
    }

    #[test]
    fn a_trailing_api_path_is_named_with_the_base_to_use() {
        let e = check_url("http://p:9090/api/v1/", Kind::Prometheus)
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("`/api/v1`") && e.contains("`http://p:9090`"),
            "{e}"
        );
        let e = check_url("http://am:9093/api/v2/alerts", Kind::Alertmanager)
            .err()
            .unwrap_or_default();
        assert!(e.contains("`/api/v2/alerts`"), "{e}");
        assert!(check_url("http://mimir/prometheus", Kind::Prometheus).is_ok());
        assert!(check_url("http://hook/api/v1", Kind::Webhook).is_ok());
    }

    #[test]
    fn credentials_never_appear_in_url_errors() {
        for url in ["http://user:hunter2@p:9090", "user:hunter2@p:9090/api/v1"] {
            let e = check_url(url, Kind::Prometheus).err().unwrap_or_default();
            assert!(!e.contains("hunter2") && !e.is_empty(), "{e}");
        }
        assert_eq!(redact("https://u:pw@h:1/x"), "https://h:1/x");
    }

    #[test]
    fn scheme_mismatches_get_a_hint() {
        let h = scheme_hint(
            "https://127.0.0.1:9090",
            "received corrupt message of type InvalidContentType",
        );
        assert!(h.is_some_and(|h| h.contains("try `http://127.0.0.1:9090`")));
        assert!(scheme_hint("http://x", "connection refused").is_none());
        // Go's answer to plain HTTP on a TLS port (Prometheus, Alertmanager).
        let h = scheme_hint(
            "http://127.0.0.1:9093",
            "Client sent an HTTP request to an HTTPS server.",
        );
        assert!(h.is_some_and(|h| h.contains("try `https://127.0.0.1:9093`")));
    }
}
