//! `slo-eval run` as a child process: started on a config, ready-checked,
//! its log and `/metrics` at hand, killed (as `kill -9`) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running daemon.
pub struct Daemon {
    child: Child,
    /// Its listen port (`/metrics`, `/readyz`).
    pub listen: u16,
    /// Its stderr (appended across restarts on one config).
    pub log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `slo-eval run --config CONFIG` (listening on `listen`) and
    /// waits (bounded) until `/readyz` says 200.
    pub fn start(config: &Path, listen: u16) -> Self {
        let d = Self::spawn(config, listen);
        let ready = super::eventually(Duration::from_secs(30), || {
            super::get(&d.url("readyz")).filter(|(s, _)| *s == 200)
        });
        assert!(
            ready.is_some(),
            "the daemon never became ready:\n{}",
            d.log()
        );
        d
    }

    /// Starts the daemon without waiting for it.
    pub fn spawn(config: &Path, listen: u16) -> Self {
        let log = config.with_extension("log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = Command::new(assert_cmd::cargo::cargo_bin("slo-eval"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        Self { child, listen, log }
    }

    /// Its process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `http://127.0.0.1:LISTEN/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.listen)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The largest value of `name` among series carrying every `labels`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        super::metric(&self.url("metrics"), name, labels)
    }

    /// Waits (bounded) until the daemon ran `n` more cycles.
    pub fn wait_cycles(&self, n: f64, within: Duration) {
        super::wait_cycles(&self.url("metrics"), n, within, || self.log());
    }
}
