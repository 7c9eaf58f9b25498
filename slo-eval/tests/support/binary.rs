//! The one way tests find a real binary (`promtool`, `prometheus`,
//! `prometheus-alertmanager`, `openssl`, `chromium`, `victoria-metrics`, `vmalert`): slo-eval's harness and slo-core's
//! tests include this file, so the env override and the message that says
//! how to install are the same everywhere. A missing binary fails the
//! test, under `CI=true` too: these tests never skip.

#![allow(unreachable_pub)]

use std::path::PathBuf;

/// The path of `name`: `$NAME` in upper case with `-` as `_` (e.g.
/// `$PROMTOOL`, `$PROMETHEUS_ALERTMANAGER`) when set, else the first on
/// PATH, else a failure saying how to install it.
pub fn binary(name: &str) -> PathBuf {
    let var = name.to_uppercase().replace('-', "_");
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    let package = match name {
        "promtool" | "prometheus" => "prometheus",
        "victoria-metrics" | "vmalert" | "vmctl" => "victoria-metrics",
        other => other,
    };
    panic!(
        "`{name}` is not installed; these tests run the real thing. Install it with:\n    \
         apt-get install -y {package}\n(Debian's packages: prometheus ships prometheus and promtool, \
         victoria-metrics ships victoria-metrics and vmalert, chromium is the headless browser \
         the UI tests drive), or set ${var} to its path"
    );
}
