//! `slo-eval validate`: every spec read as every other command reads it
//! ([`specs::read_selection`]), and a one-line summary.

use crate::errors::Error;
use crate::report::Reporter;
use crate::specs::{self, Selection};

/// Checks every spec of `selection`, reporting problems through
/// `reporter`; returns the summary line.
pub fn validate(selection: &Selection, reporter: &mut Reporter) -> Result<String, Error> {
    let files = specs::read_selection(selection, reporter)?;
    let specs: Vec<_> = files.iter().filter_map(|f| f.spec.as_ref()).collect();
    let slos: usize = specs.iter().map(|s| s.slos.len()).sum();
    let mut services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    Ok(format!(
        "ok: {} file(s), {} service(s), {slos} SLO(s)\n",
        files.len(),
        services.len(),
    ))
}
