//! Explains a spec's alert policy: for every SLO, the error budget and, per
//! window pair, the burn-rate factor, the error ratio both windows must
//! exceed, and how long the pair takes to fire and to reset under a constant
//! error ratio.
//!
//! ```sh
//! cargo run -p slo-core --example explain_spec                       # examples/shop/checkout.yaml
//! cargo run -p slo-core --example explain_spec -- path/to/spec.yaml 0.05
//! ```
//!
//! The second argument is the error ratio (default 1: a total outage).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use slo_core::num;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args.next().map_or_else(default_spec, PathBuf::from);
    let error_ratio = match args.next() {
        Some(e) => e
            .parse::<f64>()
            .map_err(|err| format!("error ratio {e:?}: {err}"))?,
        None => 1.0,
    };
    print!("{}", explain(&path, error_ratio)?);
    Ok(())
}

/// The shop's checkout spec, from the repository's `examples/`.
pub(crate) fn default_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop/checkout.yaml")
}

/// The explanation of every SLO in the spec at `path`, as text.
pub(crate) fn explain(path: &Path, error_ratio: f64) -> Result<String, String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Every diagnostic carries its line and column.
    let spec = slo_core::load::load_str(&src).map_err(|diagnostics| {
        diagnostics
            .iter()
            .map(|d| format!("{}: {d}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut out = String::new();
    for slo in &spec.slos {
        let budget = slo.budget();
        let _ = writeln!(
            out,
            "{}/{}: objective {}% over {}, error budget {}",
            slo.service,
            slo.name,
            num::format(slo.objective.percent()),
            slo.period,
            num::format(budget.fraction()),
        );
        let _ = writeln!(
            out,
            "at error ratio {} (burn rate {}):",
            num::format(error_ratio),
            num::format(num::canonical(budget.burn_rate(error_ratio))),
        );
        for pair in slo.policy.pairs() {
            let e = pair.explain(&budget, error_ratio);
            let secs = |s: Option<f64>| {
                s.map_or_else(|| "never".to_owned(), |s| format!("{}s", num::format(s)))
            };
            let _ = writeln!(
                out,
                "  {:<6} {}/{}: factor {}, threshold {}, budget spent {}, fires after {}, resets {} after",
                e.severity.as_str(),
                e.long,
                e.short,
                num::format(e.factor),
                num::format(e.error_ratio_threshold),
                num::format(e.budget_consumed),
                secs(e.detection_seconds),
                secs(e.reset_seconds),
            );
        }
    }
    Ok(out)
}
