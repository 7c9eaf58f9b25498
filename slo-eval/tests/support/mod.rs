//! Real servers for integration tests: Prometheus with backfilled history,
//! Alertmanager, and a webhook receiver. Each listens on 127.0.0.1 and a
//! free port and is stopped when dropped.
//!
//! A missing binary fails the test with the command that installs it: these
//! tests never skip.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "binary.rs"]
mod binary;
pub use binary::binary;
#[path = "daemon.rs"]
pub mod daemon;
#[path = "serve.rs"]
mod serve;
#[allow(unused_imports)] // only the UI tests start `serve`
pub use serve::Served;

/// Faults from a mocked Prometheus.
#[path = "mock.rs"]
pub mod mock;

/// VictoriaMetrics and vmalert.
#[path = "victoria.rs"]
pub mod victoria;

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"))
        .port()
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Writes OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`:
/// timestamps in seconds, samples in time order per series, `# EOF` last.
#[derive(Default)]
pub struct OpenMetrics {
    text: String,
    types: std::collections::BTreeSet<String>,
}

impl OpenMetrics {
    /// Adds one series: `name{labels}` with `(unix seconds, value)` points.
    pub fn series(&mut self, name: &str, labels: &[(&str, &str)], points: &[(i64, f64)]) {
        if self.types.insert(name.to_owned()) {
            let family = name.strip_suffix("_total").unwrap_or(name);
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(self.text, "# TYPE {family} {kind}");
        }
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let selector = format!("{name}{{{}}}", labels.join(","));
        for (t, v) in points {
            let _ = writeln!(self.text, "{selector} {v} {t}");
        }
    }

    /// The finished text.
    pub fn finish(mut self) -> String {
        self.text.push_str("# EOF\n");
        self.text
    }
}

fn wait_ready(url: &str, what: &str, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited with {status} before it was ready:\n{log}");
        }
        if http_get::ok(url).unwrap_or(false) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what} was not ready within 60 s:\n{log}");
}

/// A tiny blocking GET for readiness checks.
mod http_get {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    /// True when `url` (http://127.0.0.1:PORT/path) answers 200.
    pub fn ok(url: &str) -> std::io::Result<bool> {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = TcpStream::connect(host)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut buf = String::new();
        stream.read_to_string(&mut buf)?;
        Ok(buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200"))
    }
}

/// A running Prometheus with backfilled history.
pub struct Prometheus {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Backfills `openmetrics` (see [`OpenMetrics`]) with promtool, then
    /// starts Prometheus on it with `rule_files` loaded.
    pub fn start(openmetrics: &str, rule_files: &[PathBuf]) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        backfill_openmetrics(dir.path(), openmetrics);
        Self::launch(dir, rule_files)
    }

    /// Writes the config (global 30s intervals, `rule_files`) into `dir` and
    /// starts Prometheus on `dir/data`.
    fn launch(dir: tempfile::TempDir, rule_files: &[PathBuf]) -> Self {
        let mut config = format!(
            "global:\n  evaluation_interval: {EVAL_INTERVAL_SECS}s\n  scrape_interval: 30s\n"
        );
        if !rule_files.is_empty() {
            config.push_str("rule_files:\n");
            for f in rule_files {
                let _ = writeln!(config, "  - {:?}", f.display().to_string());
            }
        }
        std::fs::write(dir.path().join("prometheus.yml"), config)
            .unwrap_or_else(|e| panic!("write: {e}"));
        let (url, child) = spawn_prometheus(dir.path());
        Self { url, child, dir }
    }

    /// Stops Prometheus and starts it again on the same data and config
    /// (on a new port: `url` changes), so blocks written into its data
    /// directory since it started are read.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (url, child) = spawn_prometheus(self.dir.path());
        self.url = url;
        self.child = child;
    }

    /// Stops Prometheus with SIGTERM (it saves its head and WAL) and waits:
    /// an outage. Its data, config and port stay for [`Self::resume`].
    pub fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts Prometheus again after [`Self::stop`] on the same port, data
    /// and config: the end of the outage, at the same URL.
    pub fn resume(&mut self) {
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url));
        let (url, child) = spawn_prometheus_on(self.dir.path(), port);
        self.url = url;
        self.child = child;
    }

    /// The TSDB directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Queries the server has answered on `handler`, from its own `/metrics`.
    pub fn answered(&self, handler: &str) -> f64 {
        metric(
            &format!("{}/metrics", self.url),
            "prometheus_http_requests_total",
            &[("handler", handler), ("code", "200")],
        )
        .unwrap_or(0.0)
    }
}

/// The evaluation interval of the Prometheus these tests start, and of
/// backfilled rule groups that set none.
pub const EVAL_INTERVAL_SECS: u64 = 30;

/// `promtool tsdb create-blocks-from openmetrics` of `openmetrics` into
/// `dir/data`, with day-long blocks (the default 2h blocks are 6x slower).
fn backfill_openmetrics(dir: &Path, openmetrics: &str) {
    let input = dir.join("history.om");
    std::fs::write(&input, openmetrics).unwrap_or_else(|e| panic!("write: {e}"));
    let mut cmd = Command::new(binary("promtool"));
    cmd.args([
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "--max-block-duration=24h",
    ])
    .arg(&input)
    .arg(dir.join("data"));
    run_bounded(cmd, dir, "promtool create-blocks-from openmetrics");
}

/// Starts Prometheus on `dir/data` with `dir/prometheus.yml`, logging to
/// `dir/prometheus.log`, on a free port; waits (bounded) until it is ready.
fn spawn_prometheus(dir: &Path) -> (String, Child) {
    spawn_prometheus_on(dir, free_port())
}

fn spawn_prometheus_on(dir: &Path, port: u16) -> (String, Child) {
    let log = dir.join("prometheus.log");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("log: {e}"));
    let mut child = Command::new(binary("prometheus"))
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg("--storage.tsdb.retention.time=400d")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("start prometheus: {e}"));
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{url}/-/ready"), "prometheus", &mut child, &log);
    (url, child)
}

/// Runs `cmd` to completion within 120 s (killing it after), its output
/// captured in files under `dir`; fails the test with that output unless it
/// succeeds.
fn run_bounded(cmd: Command, dir: &Path, what: &str) {
    run_all_bounded(vec![(cmd, dir.to_owned())], 1, what);
}

/// Runs every command, `parallel` at a time, each with its output captured
/// in `command.out` in its directory; all must finish within 120 s (the
/// rest are killed then) and succeed, or the test fails with the output.
fn run_all_bounded(cmds: Vec<(Command, PathBuf)>, parallel: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut waiting = cmds.into_iter();
    let mut running: Vec<(Child, PathBuf)> = Vec::new();
    let output = |dir: &Path| std::fs::read_to_string(dir.join("command.out")).unwrap_or_default();
    loop {
        while running.len() < parallel.max(1) {
            let Some((mut cmd, dir)) = waiting.next() else {
                break;
            };
            let out = std::fs::File::create(dir.join("command.out"))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let err = out.try_clone().unwrap_or_else(|e| panic!("{what}: {e}"));
            let child = cmd
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            running.push((child, dir));
        }
        if running.is_empty() {
            return;
        }
        let mut i = 0;
        while i < running.len() {
            let status = running[i]
                .0
                .try_wait()
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            match status {
                Some(status) if status.success() => {
                    running.swap_remove(i);
                }
                Some(status) => {
                    let dir = running[i].1.clone();
                    for (child, _) in &mut running {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    panic!("{what} failed ({status}):\n{}", output(&dir));
                }
                None => i += 1,
            }
        }
        if Instant::now() > deadline {
            let dir = running[0].1.clone();
            for (child, _) in &mut running {
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!("{what} did not finish within 120 s:\n{}", output(&dir));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// History with recorded rules: Prometheus started on backfilled raw
/// samples *and* on the recording rules of a rule file evaluated over that
/// history, as if Prometheus had been running them all along. Prometheus
/// only evaluates rules at wall-clock time, so this is how a test compares
/// alert expressions over the past.
///
/// How (each step checked against promtool 2.42):
///
/// 1. the raw samples are backfilled (`create-blocks-from openmetrics`) and
///    Prometheus started on them, without rules;
/// 2. the recording rules are backfilled with `promtool tsdb
///    create-blocks-from rules --url` (which asks the running Prometheus
///    `query_range` for each rule over the range, at the group's `interval`,
///    or [`EVAL_INTERVAL_SECS`] for groups without one), **in dependency
///    order**: promtool writes blocks into the data directory but the running
///    Prometheus does not read them, so a rule reading a series another
///    rule records (the long windows read the 5m increase steps; the bad
///    step reads the total step) sees nothing until Prometheus restarts.
///    Rules are layered (layer 0 reads only raw series, layer n reads
///    something recorded in layer n-1) and Prometheus restarts after each
///    layer;
/// 3. each rule is backfilled by its own promtool run (several at once:
///    promtool writes one block per rule and 2h, and waits on the disk),
///    in a group of the original name and interval, from a file of the same
///    relative name, so each group keeps one evaluation grid (Prometheus
///    offsets a group's evaluations by a hash of its name and file): a
///    group's series share their timestamps;
/// 4. alerting rules are left out (promtool skips them anyway): tests ask
///    `query_range` for the alert expressions over the recorded series.
///
/// The Prometheus returned serves the whole data directory, rules not
/// loaded (they would only add samples at "now").
pub struct RulesHistory;

impl RulesHistory {
    /// Backfills `openmetrics` and the recording rules of `rules` from
    /// `start` to `end` (Unix seconds). History within ~3 hours of now
    /// overlaps Prometheus's head and is unsafe to backfill: end it earlier.
    ///
    /// Cost here: two days of 2 SLOs (20 recording rules, ~500 blocks of
    /// 2h) take ~15 s, and deleting those blocks on drop ~8 s more.
    pub fn start(
        openmetrics: &str,
        rules: &slo_core::rules::RuleFile,
        start: i64,
        end: i64,
    ) -> Prometheus {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        backfill_openmetrics(dir.path(), openmetrics);
        let mut prom = Prometheus::launch(dir, &[]);
        // promtool writes one block per rule and 2h of range (about 0.1 s
        // each here, mostly waiting on the disk): one process per rule, 8
        // at a time. Each runs in its own folder on a file of the same
        // relative name, so a group's evaluation offset (a hash of its name
        // and file) is the same for all its rules.
        for (n, layer) in rule_layers(rules).iter().enumerate() {
            let mut cmds = Vec::new();
            for group in &layer.groups {
                for rule in &group.rules {
                    let dir = prom.dir.path().join(format!("rules-{n}-{}", cmds.len()));
                    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
                    let one = slo_core::rules::RuleFile {
                        groups: vec![slo_core::rules::RuleGroup {
                            name: group.name.clone(),
                            interval: group.interval,
                            rules: vec![rule.clone()],
                        }],
                    };
                    std::fs::write(dir.join("rules.yml"), one.to_yaml())
                        .unwrap_or_else(|e| panic!("write: {e}"));
                    let mut cmd = Command::new(binary("promtool"));
                    cmd.current_dir(&dir)
                        .args(["tsdb", "create-blocks-from", "rules", "--quiet"])
                        .arg(format!("--start={start}"))
                        .arg(format!("--end={end}"))
                        .arg(format!("--url={}", prom.url))
                        .arg(format!("--output-dir={}", prom.data_dir().display()))
                        .arg(format!("--eval-interval={EVAL_INTERVAL_SECS}s"))
                        .arg("rules.yml");
                    cmds.push((cmd, dir));
                }
            }
            run_all_bounded(cmds, 8, "promtool tsdb create-blocks-from rules");
            prom.restart();
            // A rule whose inputs were not there records nothing, silently:
            // every name of the layer must now have some series.
            for group in &layer.groups {
                for rule in &group.rules {
                    let name = match rule {
                        slo_core::rules::Rule::Recording(r) => &r.record,
                        slo_core::rules::Rule::Alerting(a) => &a.alert,
                    };
                    let query = format!("count(present_over_time({name}[{}s]))", end - start);
                    let (status, body) = get(&format!(
                        "{}/api/v1/query?query={}&time={end}",
                        prom.url,
                        url_encode(&query)
                    ))
                    .unwrap_or_else(|| panic!("prometheus did not answer {query}"));
                    assert!(
                        status == 200 && body.contains("\"value\""),
                        "backfilling {name} recorded nothing ({status}): {body}\n{}",
                        prom.log()
                    );
                }
            }
        }
        prom
    }
}

/// Percent-encodes `s` for a query string.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// True when `expr` reads the series named `metric` (a whole name, not a
/// prefix of a longer one).
fn reads_metric(expr: &str, metric: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(metric).any(|(i, m)| {
        !expr[..i].chars().next_back().is_some_and(name_char)
            && !expr[i + m.len()..].chars().next().is_some_and(name_char)
    })
}

/// The recording rules of `file` split into layers: layer 0 reads no
/// recorded series of the file, layer n reads something of layer n-1 (and
/// nothing later). Each layer keeps the groups' names, intervals and rule
/// order; groups without rules in a layer are left out of it.
pub fn rule_layers(file: &slo_core::rules::RuleFile) -> Vec<slo_core::rules::RuleFile> {
    use slo_core::rules::{Rule, RuleFile, RuleGroup};
    let recording: Vec<(usize, &slo_core::rules::RecordingRule)> = file
        .groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| {
            group.rules.iter().filter_map(move |r| match r {
                Rule::Recording(r) => Some((g, r)),
                Rule::Alerting(_) => None,
            })
        })
        .collect();
    // deps[i]: the rules whose series rule i reads (by name: several SLOs
    // record the same names with different labels).
    let deps: Vec<Vec<usize>> = recording
        .iter()
        .enumerate()
        .map(|(i, (_, r))| {
            recording
                .iter()
                .enumerate()
                .filter(|(j, (_, d))| *j != i && reads_metric(&r.expr, &d.record))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let mut layer = vec![0usize; recording.len()];
    let mut settled = false;
    for _ in 0..=recording.len() {
        let next: Vec<usize> = deps
            .iter()
            .map(|d| d.iter().map(|j| layer[*j] + 1).max().unwrap_or(0))
            .collect();
        if next == layer {
            settled = true;
            break;
        }
        layer = next;
    }
    assert!(settled, "recording rules read each other in a cycle");
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    (0..depth)
        .map(|n| RuleFile {
            groups: file
                .groups
                .iter()
                .enumerate()
                .filter_map(|(g, group)| {
                    let rules: Vec<Rule> = recording
                        .iter()
                        .zip(&layer)
                        .filter(|((rg, _), l)| *rg == g && **l == n)
                        .map(|((_, r), _)| Rule::Recording((*r).clone()))
                        .collect();
                    (!rules.is_empty()).then(|| RuleGroup {
                        name: group.name.clone(),
                        interval: group.interval,
                        rules,
                    })
                })
                .collect(),
        })
        .collect()
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running Alertmanager that notifies one webhook at once (group_wait 0s,
/// group_interval 1s), clustering off.
pub struct Alertmanager {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager sending every notification to `webhook_url`.
    pub fn start(webhook_url: &str) -> Self {
        let bin = binary("prometheus-alertmanager");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = format!(
            "route:\n  receiver: hook\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: hook\n    webhook_configs:\n      - url: {webhook_url:?}\n        send_resolved: true\n"
        );
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("write: {e}"));
        let port = free_port();
        let log = dir.path().join("alertmanager.log");
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log: {e}"));
        let mut child = Command::new(&bin)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start alertmanager: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&format!("{url}/-/ready"), "alertmanager", &mut child, &log);
        Self { url, child, dir }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP server on 127.0.0.1 that records every POST body (and headers).
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// Request headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (Null when it was not JSON).
    pub json: serde_json::Value,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Receiver {
    /// Starts the receiver on a background thread.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // Recorded before the answer goes out, so a sender that got
                // its 200 always finds its request here.
                read_request(stream, &sink);
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Waits (bounded) until `pred` holds for what was received.
    pub fn wait_for(&self, within: Duration, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if pred(&got) || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_request(mut stream: std::net::TcpStream, sink: &Mutex<Vec<Received>>) -> Option<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length.min(16 * 1024 * 1024)];
    reader.read_exact(&mut body).ok()?;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if let Ok(mut v) = sink.lock() {
        v.push(Received {
            headers,
            json,
            body,
        });
    }
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Some(())
}

/// Synthetic request counters: `rate(t)` requests per second, `error_ratio(t)`
/// of them failing, sampled every `step` seconds from `start` to `end`.
/// Counts are whole numbers carried forward exactly, so rates are exact.
pub fn request_counters(
    om: &mut OpenMetrics,
    name: &str,
    labels: &[(&str, &str)],
    range: (i64, i64, i64),
    rate: impl Fn(i64) -> f64,
    error_ratio: impl Fn(i64) -> f64,
) {
    request_counters_with_resets(om, name, labels, range, rate, error_ratio, &[]);
}

/// [`request_counters`] whose counters restart from 0 (a process restart)
/// at each time of `resets`: the sample at that time reads 0.
pub fn request_counters_with_resets(
    om: &mut OpenMetrics,
    name: &str,
    labels: &[(&str, &str)],
    (start, end, step): (i64, i64, i64),
    rate: impl Fn(i64) -> f64,
    error_ratio: impl Fn(i64) -> f64,
    resets: &[i64],
) {
    let (mut ok, mut bad) = (0.0_f64, 0.0_f64);
    let mut ok_points = Vec::new();
    let mut bad_points = Vec::new();
    let mut t = start;
    while t <= end {
        if resets.contains(&t) {
            (ok, bad) = (0.0, 0.0);
        }
        ok_points.push((t, ok.round()));
        bad_points.push((t, bad.round()));
        let n = rate(t) * step as f64;
        let e = error_ratio(t);
        bad += n * e;
        ok += n * (1.0 - e);
        t += step;
    }
    let mut with = |code: &str, points: &[(i64, f64)]| {
        let mut l: Vec<(&str, &str)> = labels.to_vec();
        l.push(("code", code));
        om.series(name, &l, points);
    };
    with("200", &ok_points);
    with("500", &bad_points);
}

/// A live scrape target: request counters growing at `rate` per second with
/// a settable error ratio, served as Prometheus text on 127.0.0.1.
pub struct LiveTarget {
    /// `127.0.0.1:PORT`.
    pub address: String,
    error_ratio: Arc<Mutex<f64>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl LiveTarget {
    /// Starts counting `rate` requests per second of job `job`.
    pub fn start(job: &str, rate: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .to_string();
        let error_ratio = Arc::new(Mutex::new(0.0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let counts = Arc::new(Mutex::new((0.0_f64, 0.0_f64)));
        {
            let (counts, ratio, stop) = (
                Arc::clone(&counts),
                Arc::clone(&error_ratio),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                    let e = ratio.lock().map(|r| *r).unwrap_or(0.0);
                    if let Ok(mut c) = counts.lock() {
                        c.0 += rate * 0.1 * (1.0 - e);
                        c.1 += rate * 0.1 * e;
                    }
                }
            });
        }
        let job = job.to_owned();
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let is_down = Arc::clone(&down);
        std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Write};
            for mut stream in listener.incoming().flatten() {
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                if is_down.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = stream.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                let (ok, bad) = counts.lock().map(|c| *c).unwrap_or((0.0, 0.0));
                let body = format!(
                    "# TYPE http_requests_total counter\nhttp_requests_total{{job=\"{job}\",code=\"200\"}} {}\nhttp_requests_total{{job=\"{job}\",code=\"500\"}} {}\n",
                    ok.floor(),
                    bad.floor()
                );
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            address,
            error_ratio,
            stop,
            down,
        }
    }

    /// Makes scrapes fail (503) or succeed again: its series go stale, as
    /// when a service's pods are gone.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the share of requests that fail from now on.
    pub fn set_error_ratio(&self, e: f64) {
        if let Ok(mut r) = self.error_ratio.lock() {
            *r = e;
        }
    }
}

impl Drop for LiveTarget {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Prometheus {
    /// Starts Prometheus with no history, scraping `target` every second.
    pub fn scraping(target: &str) -> Self {
        Self::scraping_every(&[target], 1)
    }

    /// Starts Prometheus with no history, scraping `targets` every `secs`.
    pub fn scraping_every(targets: &[&str], secs: u64) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = format!(
            "global:\n  scrape_interval: {secs}s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: live\n    honor_labels: true\n    static_configs:\n      - targets: {targets:?}\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config)
            .unwrap_or_else(|e| panic!("write: {e}"));
        let (url, child) = spawn_prometheus(dir.path());
        Self { url, child, dir }
    }
}

/// GETs `url` (http://127.0.0.1:PORT/path), returning status and body.
pub fn get(url: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `within`.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The largest value of `name` on the `/metrics` page at `url`, among the
/// series carrying every `labels`; `None` when unreachable or absent.
pub fn metric(url: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let (_, body) = get(url)?;
    body.lines()
        .filter(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(f64::max)
}

/// Waits (bounded by `within`) until the daemon serving `/metrics` at `url`
/// completes `n` more evaluation cycles (its own `slo_eval_cycles_total`),
/// instead of sleeping a guess of how long `n` cycles take; fails with
/// `log()` when it does not.
pub fn wait_cycles(url: &str, n: f64, within: Duration, log: impl Fn() -> String) {
    let cycles = || metric(url, "slo_eval_cycles_total", &[]).unwrap_or(0.0);
    let start = cycles();
    let done = eventually(within, || (cycles() >= start + n).then_some(()));
    assert!(
        done.is_some(),
        "fewer than {n} cycles in {within:?}:\n{}",
        log()
    );
}

/// The `slo-eval` binary under test, ready for arguments.
pub fn slo_eval() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("slo-eval").unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `cmd` to its end: exit code (-1 when killed by a signal), stdout
/// and stderr.
pub fn outcome(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The daemon tests' spec, a fast policy so they run in seconds: 99% over
/// 1h, one page pair 1m/15s at 10x (fires above 10% errors).
pub const DAEMON_SPEC: &str = r#"
version: slo/v1
service: checkout
slos:
  - name: availability
    objective: 99
    period: 1h
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code="500"}
        total: http_requests_total{job="checkout"}
    alerting:
      name: CheckoutBurn
      windows:
        - {severity: page, long: 1m, short: 15s, factor: 10}
"#;

/// One checkout SLO at 99.9% over its 5xx ratio, for CLI and evaluator
/// tests.
pub const CHECKOUT_SPEC: &str = r#"
version: slo/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
"#;
