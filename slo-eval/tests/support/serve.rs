//! `slo-eval serve` as a child process on 127.0.0.1 and a free port,
//! killed when dropped.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `slo-eval serve`.
pub struct Served {
    /// Base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    child: Child,
}

impl Served {
    /// Starts `slo-eval serve ARGS --listen 127.0.0.1:0` and waits for the
    /// line saying where it listens (it prints it once the first cycle is
    /// in memory); fails with its stderr when it exits instead.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slo-eval"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn slo-eval serve: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        // Returns at the first line, or at EOF when the process exits.
        let _ = BufReader::new(stdout).read_line(&mut line);
        let Some(url) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(|u| u.trim_end_matches('/').to_owned())
        else {
            let _ = child.kill();
            let out = child.wait_with_output().ok();
            panic!(
                "slo-eval serve {args:?} did not say where it listens: {line:?}\n{}",
                out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .unwrap_or_default()
            );
        };
        Self { url, child }
    }

    /// GETs `path` (starting with `/`): status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        super::get(&format!("{}{path}", self.url))
            .unwrap_or_else(|| panic!("GET {path}: no answer from {}", self.url))
    }

    /// GETs `path` and reads the body as JSON, asserting a 200.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
