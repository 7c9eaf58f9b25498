//! Generates the Prometheus rule file for a spec: recording rules for the
//! error ratio over every window the policy needs, and one alerting rule per
//! tier. The YAML goes to standard output, ready for `promtool check rules`.
//!
//! ```sh
//! cargo run -p slo-core --example generate_rules                     # examples/shop/checkout.yaml
//! cargo run -p slo-core --example generate_rules -- path/to/spec.yaml > rules.yaml
//! ```

use std::path::{Path, PathBuf};

use slo_core::rules::RuleFile;

fn main() -> Result<(), String> {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(default_spec, PathBuf::from);
    print!("{}", generate(&path)?);
    Ok(())
}

/// The shop's checkout spec, from the repository's `examples/`.
pub(crate) fn default_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop/checkout.yaml")
}

/// The rule file for the spec at `path`, as YAML.
pub(crate) fn generate(path: &Path) -> Result<String, String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = slo_core::load::load_str(&src).map_err(|diagnostics| {
        diagnostics
            .iter()
            .map(|d| format!("{}: {d}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    // Several specs go into one file the same way: `from_specs(&[a, b])`.
    Ok(RuleFile::from_specs(std::slice::from_ref(&spec)).to_yaml())
}
