//! A real single-node VictoriaMetrics (Debian's `victoria-metrics`) on
//! 127.0.0.1 and a free port, history imported with its own import API, and
//! `vmalert` to validate and replay rule files over that history. Stopped
//! when dropped; a missing binary fails the test (see [`super::binary`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{binary, free_port, wait_ready};

/// One exported series: labels, and `(Unix milliseconds, value)` points.
pub type Exported = (BTreeMap<String, String>, Vec<(i64, f64)>);

/// A running VictoriaMetrics.
pub struct VictoriaMetrics {
    /// Base URL, `http://127.0.0.1:PORT`: the Prometheus query API is at
    /// the same paths (`/api/v1/query`, ...).
    pub url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl VictoriaMetrics {
    /// Starts an empty VictoriaMetrics. Its rollup cache is off: tests
    /// write into the past (imports, `vmalert` replays), and the cache
    /// assumes data older than a few minutes never changes, so a query
    /// made before a replay wrote its results would be answered stale.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Self::start`] with extra flags (e.g. `-promscrape.config=FILE`).
    pub fn start_with(extra: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let port = free_port();
        let log = dir.path().join("victoria-metrics.log");
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log: {e}"));
        let mut child = Command::new(binary("victoria-metrics"))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg("-retentionPeriod=100y")
            .arg("-search.disableCache")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start victoria-metrics: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(
            &format!("{url}/health"),
            "victoria-metrics",
            &mut child,
            &log,
        );
        Self { url, child, dir }
    }

    /// Starts VictoriaMetrics and imports `openmetrics` (the text the
    /// Prometheus harness backfills, see [`super::OpenMetrics`]).
    pub fn with_history(openmetrics: &str) -> Self {
        let vm = Self::start();
        vm.import_openmetrics(openmetrics);
        vm
    }

    /// A scratch folder that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Imports OpenMetrics text (timestamps in seconds, `# EOF`) through
    /// `POST /api/v1/import/prometheus`, which takes the text exposition
    /// format with timestamps in **milliseconds**; then flushes, so the
    /// samples are searchable when this returns.
    pub fn import_openmetrics(&self, openmetrics: &str) {
        self.import_text(&exposition_ms(openmetrics));
    }

    /// Imports Prometheus text exposition (timestamps in milliseconds).
    pub fn import_text(&self, text: &str) {
        let (status, body) = post(&format!("{}/api/v1/import/prometheus", self.url), text)
            .unwrap_or_else(|| panic!("import: no answer from {}", self.url));
        assert!(status == 204 || status == 200, "import: {status} {body}");
        self.flush();
    }

    /// Makes everything ingested so far searchable (`/internal/force_flush`).
    pub fn flush(&self) {
        let _ = super::get(&format!("{}/internal/force_flush", self.url));
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("victoria-metrics.log")).unwrap_or_default()
    }

    /// Every raw sample of the series matching `selector`
    /// (`/api/v1/export`): labels, and `(Unix milliseconds, value)` points.
    pub fn export(&self, selector: &str) -> Vec<Exported> {
        #[derive(serde::Deserialize)]
        struct Line {
            metric: BTreeMap<String, String>,
            values: Vec<f64>,
            timestamps: Vec<i64>,
        }
        let url = format!("{}/api/v1/export?match[]={}", self.url, encode(selector));
        let (status, body) =
            super::get(&url).unwrap_or_else(|| panic!("export: no answer from {}", self.url));
        assert_eq!(status, 200, "export {selector}: {body}");
        body.lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                let line: Line =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("export: {e}: {l}"));
                let points = line.timestamps.into_iter().zip(line.values).collect();
                (line.metric, points)
            })
            .collect()
    }

    /// Replays each rule file of `layers` in turn with `vmalert
    /// -replay.timeFrom/-replay.timeTo` over this server's history, the
    /// results (recorded series, `ALERTS`) written back into it.
    ///
    /// Why layers: a rule that reads what another rule records (the long
    /// windows read the 5m increase steps, the alerts the windows) must run
    /// after that is stored and searchable; one vmalert run per layer, each
    /// flushed at exit and then in VictoriaMetrics, orders them (within one
    /// run, vmalert only waits `-replay.rulesDelay` between a group's
    /// rules, and VictoriaMetrics takes about a second to make a write
    /// searchable). `-datasource.queryStep=0` makes each group's replay step
    /// its own `interval` (the default, 5m for every group, would record
    /// the 1m windows every 5m).
    pub fn vmalert_replay(&self, layers: &[PathBuf], from: &str, to: &str) {
        for rules in layers {
            let log = self.dir.path().join("vmalert.log");
            let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log: {e}"));
            let mut child = Command::new(binary("vmalert"))
                .arg(format!("-rule={}", rules.display()))
                .arg(format!("-datasource.url={}", self.url))
                .arg(format!("-remoteWrite.url={}", self.url))
                .arg("-remoteWrite.flushInterval=100ms")
                .arg("-replay.rulesDelay=0s")
                .arg("-datasource.queryStep=0")
                .arg(format!("-replay.timeFrom={from}"))
                .arg(format!("-replay.timeTo={to}"))
                .arg("-replay.disableProgressBar")
                .arg(format!("-httpListenAddr=127.0.0.1:{}", free_port()))
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run vmalert: {e}"));
            let deadline = Instant::now() + Duration::from_secs(180);
            let status = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    break status;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "vmalert replay did not finish within 180 s:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                status.success() && text.contains("replay finished"),
                "vmalert replay of {} failed ({status}):\n{text}",
                rules.display()
            );
            self.flush();
        }
    }
}

/// `vmalert -dryRun` on `rules`: whether it loads (rules parsed, every
/// expression checked by MetricsQL and every template), and its output.
pub fn vmalert_check(rules: &Path) -> (bool, String) {
    let out = Command::new(binary("vmalert"))
        .arg(format!("-rule={}", rules.display()))
        .arg("-dryRun")
        .output()
        .unwrap_or_else(|e| panic!("cannot run vmalert: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Percent-encodes a query parameter value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// OpenMetrics text (timestamps in seconds, `# EOF`) as the text exposition
/// VictoriaMetrics imports: comments dropped, timestamps in milliseconds.
pub fn exposition_ms(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len() + openmetrics.len() / 8);
    for line in openmetrics.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.rsplitn(3, ' ');
        let (Some(t), Some(v), Some(series)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("not a sample with a timestamp: {line}");
        };
        let secs: f64 = t
            .parse()
            .unwrap_or_else(|_| panic!("bad timestamp in {line}"));
        out.push_str(&format!(
            "{series} {v} {}\n",
            (secs * 1000.0).round() as i64
        ));
    }
    out
}

/// POSTs `body` to `url` (http://127.0.0.1:PORT/path): status and body.
fn post(url: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}
