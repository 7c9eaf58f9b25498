//! Replays recorded history through SLOs' alert policies (a backtest): reads
//! an OpenMetrics file into a dataset, replays every SLO of the given specs
//! over all of it, a step a minute, and prints the alerts each tier would
//! have sent and how they did on the incidents found in the data (budget
//! burns that spent at least 2% of the budget).
//!
//! ```sh
//! cargo run --release -p slo-core --example replay_history          # the example shop
//! cargo run --release -p slo-core --example replay_history -- history.om spec.yaml...
//! ```
//!
//! By default: `examples/data/shop.om` (three days of a small shop, made by
//! the `gen_shop_data` example) and every spec in `examples/shop/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use slo_core::backtest::{self, Options};
use slo_core::policy::Severity;
use slo_core::{num, time};

fn main() -> Result<(), String> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let data = args
        .next()
        .unwrap_or_else(|| examples().join("data/shop.om"));
    let mut specs: Vec<PathBuf> = args.collect();
    if specs.is_empty() {
        specs = shop_specs()?;
    }
    print!("{}", replay(&data, &specs)?);
    Ok(())
}

/// The repository's `examples/` folder.
pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The shop's specs, `examples/shop/*.yaml`, in name order.
pub(crate) fn shop_specs() -> Result<Vec<PathBuf>, String> {
    let dir = examples().join("shop");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut specs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|x| x == "yaml") {
            specs.push(path);
        }
    }
    specs.sort();
    Ok(specs)
}

/// The backtest of every SLO in `specs` over the history in `data`, as text.
pub(crate) fn replay(data: &Path, specs: &[PathBuf]) -> Result<String, String> {
    let text = std::fs::read_to_string(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let dataset = slo_core::openmetrics::parse(&text).map_err(|d| located(data, &d))?;
    // The whole history, every minute; incidents are detected in the data.
    let options = Options::covering(&dataset)
        .ok_or_else(|| format!("{}: no samples to replay", data.display()))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} series, {} samples, {} .. {}",
        data.file_name()
            .map_or(data.as_os_str(), |n| n)
            .to_string_lossy(),
        dataset.len(),
        dataset.samples(),
        time::format(options.start),
        time::format(options.end),
    );
    for path in specs {
        let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec = slo_core::load::load_str(&src).map_err(|d| located(path, &d))?;
        for slo in &spec.slos {
            let report = backtest::backtest(slo, &dataset, &options)
                .map_err(|e| format!("{}: {}/{}: {e}", path.display(), slo.service, slo.name))?;
            for warning in &report.warnings {
                let _ = writeln!(out, "warning: {}/{}: {warning}", slo.service, slo.name);
            }
            for instance in &report.instances {
                let labels: Vec<String> = instance
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "{}/{}{}: {} alerts, {} incidents",
                    slo.service,
                    slo.name,
                    if labels.is_empty() {
                        String::new()
                    } else {
                        format!("{{{}}}", labels.join(","))
                    },
                    instance.alerts.len(),
                    instance.incidents.len(),
                );
                for alert in &instance.alerts {
                    let _ = writeln!(
                        out,
                        "  {:<6} {} .. {}  peak burn rate {}",
                        alert.severity.as_str(),
                        time::format(alert.start),
                        alert
                            .end
                            .map_or_else(|| "(still firing)".to_owned(), time::format),
                        num::format(num::round_sig(alert.peak_burn_rate, 3)),
                    );
                }
                for severity in Severity::ALL.map(Some).into_iter().chain([None]) {
                    if let Some(q) = instance.quality_of(severity) {
                        let _ = writeln!(
                            out,
                            "  {:<6} caught {}/{} expected incidents, {}/{} alerts true",
                            severity.map_or("any", Severity::as_str),
                            q.detected,
                            q.incidents,
                            q.true_alerts,
                            q.alerts,
                        );
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Diagnostics prefixed with their file (each says its line and column).
fn located(path: &Path, diagnostics: &[slo_core::diagnostic::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("{}: {d}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}
