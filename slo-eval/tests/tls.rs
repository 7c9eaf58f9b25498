//! TLS for every connection: a private CA (`ca_file`) and a client
//! certificate (`cert_file` + `key_file`) against servers that require one:
//! a real Alertmanager and a real Prometheus (`--web.config.file`), and a
//! rustls webhook receiver. The CA and certificates are made by the real
//! `openssl` in the test.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use slo_eval::connection::Endpoint;
use slo_eval::notify::{Alert, Labels, Notifier, Status, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new(support::binary("openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate,
/// all EC P-256.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=test-ca"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca-key.pem", "-out", "ca.pem"]);
    openssl(d, &ca);
    for (name, ext) in [
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ] {
        let mut req = vec!["req", "-subj"];
        let subj = format!("/CN={name}");
        req.push(&subj);
        req.extend(ec);
        let (key, csr, cert) = (
            format!("{name}-key.pem"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        req.extend(["-keyout", &key, "-out", &csr]);
        openssl(d, &req);
        std::fs::write(d.join(format!("{name}.ext")), ext).unwrap_or_else(|e| panic!("{e}"));
        let extfile = format!("{name}.ext");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &extfile,
                "-out",
                &cert,
            ],
        );
    }
    Pki {
        ca: d.join("ca.pem"),
        server_cert: d.join("server.pem"),
        server_key: d.join("server-key.pem"),
        client_cert: d.join("client.pem"),
        client_key: d.join("client-key.pem"),
        _dir: dir,
    }
}

/// One request a TLS server got: the request head and the body.
type Requests = Arc<Mutex<Vec<String>>>;

/// An HTTPS webhook receiver on 127.0.0.1 that requires a client
/// certificate signed by the CA, records each request and answers 200.
async fn tls_server(pki: &Pki) -> (String, Requests) {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.server_cert)
        .unwrap_or_else(|e| panic!("{e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let key = PrivateKeyDer::from_pem_file(&pki.server_key).unwrap_or_else(|e| panic!("{e}"));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&pki.ca).unwrap_or_else(|e| panic!("{e}")) {
        roots
            .add(c.unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap_or_else(|e| panic!("{e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let requests: Requests = Arc::default();
    let sink = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, sink) = (acceptor.clone(), Arc::clone(&sink));
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then Content-Length bytes of body.
                loop {
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                if let Ok(mut v) = sink.lock() {
                    v.push(String::from_utf8_lossy(&buf).into_owned());
                }
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), requests)
}

fn firing() -> Alert {
    Alert {
        labels: Labels::from([("alertname".into(), "TlsPage".into())]),
        annotations: Labels::new(),
        starts_at: Timestamp::now(),
        ends_at: None,
        status: Status::Firing,
        generator_url: String::new(),
    }
}

fn endpoint(url: &str, pki: &Pki, ca: bool, client: bool) -> Endpoint {
    Endpoint {
        url: url.to_owned(),
        headers: [("X-Scope-OrgID".to_owned(), "tenant-1".to_owned())].into(),
        ca_file: ca.then(|| pki.ca.clone()),
        cert_file: client.then(|| pki.client_cert.clone()),
        key_file: client.then(|| pki.client_key.clone()),
        timeout: Duration::from_secs(5),
        ..Endpoint::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_alertmanager_use_the_ca_file_and_client_certificate() {
    let pki = pki();
    let (url, requests) = tls_server(&pki).await;
    let n = Notifier::new(0, Duration::from_millis(10), "");
    let send = async |t: Target| {
        n.send(&t, &[firing()], Timestamp::now(), Duration::from_secs(60))
            .await
    };
    let hook = Target::webhook(
        "tls",
        &endpoint(&format!("{url}/hook"), &pki, true, true),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(send(hook).await, Ok(()));
    let am =
        Target::alertmanager(&endpoint(&url, &pki, true, true)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(send(am).await, Ok(()));
    let got = requests.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("POST /hook ") && got[0].contains("TlsPage"));
    assert!(got[1].starts_with("POST /api/v2/alerts "));
    assert!(
        got.iter()
            .all(|r| r.to_ascii_lowercase().contains("x-scope-orgid: tenant-1"))
    );

    // Without the client certificate the server refuses the handshake;
    // without the CA the client refuses the server.
    let no_client = Target::webhook("tls", &endpoint(&url, &pki, true, false), None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(send(no_client).await.is_err());
    let no_ca = Target::webhook("tls", &endpoint(&url, &pki, false, true), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = send(no_ca)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("unreachable") && e.to_ascii_lowercase().contains("certificate"),
        "{e}"
    );
    assert_eq!(requests.lock().map(|v| v.len()).unwrap_or(0), 2);
}

/// A real Prometheus or Alertmanager serving TLS that requires a client
/// certificate (`--web.config.file`), killed on drop.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsServer {
    async fn start(binary: &str, pki: &Pki) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = dir.path();
        std::fs::write(
            d.join("web.yml"),
            format!(
                "tls_server_config:\n  cert_file: {:?}\n  key_file: {:?}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {:?}\n",
                pki.server_cert, pki.server_key, pki.ca
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let port = support::free_port();
        let mut cmd = std::process::Command::new(support::binary(binary));
        cmd.arg(format!("--web.config.file={}", d.join("web.yml").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if binary == "prometheus" {
            std::fs::write(d.join("p.yml"), "global: {}\n").unwrap_or_else(|e| panic!("{e}"));
            cmd.arg(format!("--config.file={}", d.join("p.yml").display()))
                .arg(format!("--storage.tsdb.path={}", d.join("data").display()));
        } else {
            std::fs::write(
                d.join("am.yml"),
                "route: {receiver: none}\nreceivers: [{name: none}]\n",
            )
            .unwrap_or_else(|e| panic!("{e}"));
            cmd.arg(format!("--config.file={}", d.join("am.yml").display()))
                .arg(format!("--storage.path={}", d.join("data").display()))
                .arg("--cluster.listen-address=");
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        let http = endpoint(&server.url(), pki, true, true)
            .http_client()
            .unwrap_or_else(|e| panic!("{e}"));
        let ready = format!("{}/-/ready", server.url());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            if http
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{binary} with TLS was not ready within 60 s");
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

/// Against a real Alertmanager requiring client certificates: the alert is
/// accepted with the CA file and client certificate, and listed by
/// Alertmanager; plain http to the TLS port names the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_over_mutual_tls() {
    let pki = pki();
    let am = TlsServer::start("prometheus-alertmanager", &pki).await;
    let n = Notifier::new(0, Duration::from_millis(10), "");
    let target = Target::alertmanager(&endpoint(&am.url(), &pki, true, true))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = n
        .send(
            &target,
            &[firing()],
            Timestamp::now(),
            Duration::from_secs(300),
        )
        .await;
    assert_eq!(r, Ok(()));
    let http = endpoint(&am.url(), &pki, true, true)
        .http_client()
        .unwrap_or_else(|e| panic!("{e}"));
    let listed = http
        .get(format!("{}/api/v2/alerts", am.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(listed.contains("TlsPage"), "{listed}");

    let plain = am.url().replacen("https://", "http://", 1);
    let target =
        Target::alertmanager(&endpoint(&plain, &pki, true, true)).unwrap_or_else(|e| panic!("{e}"));
    let e = n
        .send(
            &target,
            &[firing()],
            Timestamp::now(),
            Duration::from_secs(300),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("is an HTTPS server: try `https://"), "{e}");
}

/// `eval` against a real Prometheus requiring client certificates: works
/// with the flags, and http:// against it names the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_against_a_real_prometheus_over_mutual_tls() {
    let pki = pki();
    let prom = TlsServer::start("prometheus", &pki).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        "version: slo/v1\nservice: checkout\nslos:\n  - name: availability\n    objective: 99.9\n    sli:\n      ratio:\n        errors: http_requests_total{code=~\"5..\"}\n        total: http_requests_total\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let (ca, cert, key, spec) = (
        path(&pki.ca),
        path(&pki.client_cert),
        path(&pki.client_key),
        path(&spec),
    );
    let run = move |url: String| {
        let (ca, cert, key, spec) = (ca.clone(), cert.clone(), key.clone(), spec.clone());
        tokio::task::spawn_blocking(move || {
            let out = support::slo_eval()
                .args([
                    "eval",
                    "--prometheus",
                    &url,
                    "--ca-file",
                    &ca,
                    "--cert-file",
                    &cert,
                    "--key-file",
                    &key,
                    "--timeout",
                    "10s",
                    &spec,
                ])
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
    };
    let e = run(prom.url()).await.unwrap_or_default();
    assert!(!e.contains("could not be evaluated"), "{e}");
    let e = run(prom.url().replacen("https://", "http://", 1))
        .await
        .unwrap_or_default();
    assert!(e.contains("is an HTTPS server: try `https://"), "{e}");
}
