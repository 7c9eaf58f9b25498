//! `slo-eval convert`: Sloth and OpenSLO specs (or slo/v1 ones) printed as
//! slo/v1, the native spec.
//!
//! ```
//! let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
//! let path = dir.path().join("sloth.yaml");
//! std::fs::write(&path, "version: prometheus/v1\nservice: api\nslos:\n  - name: up\n    objective: 99.5\n    sli:\n      raw:\n        error_ratio_query: 1 - avg_over_time(up[{{.window}}])\n")
//!     .map_err(|e| e.to_string())?;
//! let mut reporter = slo_eval::report::Reporter::new(Box::new(std::io::sink()), false);
//! let text = slo_eval::convert::convert(&[path], &mut reporter).map_err(|e| e.to_string())?;
//! assert!(text.starts_with("version: slo/v1\nservice: api\n"));
//! # Ok::<(), String>(())
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use slo_core::format::Format;
use slo_core::native;

use crate::command;
use crate::errors::Error;
use crate::report::Reporter;
use crate::specs;

/// The arguments of `slo-eval convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The format to write.
    #[arg(long, default_value = slo_core::spec::VERSION, value_parser = TARGETS)]
    pub to: String,
}

/// Runs `slo-eval convert`: prints the specs as slo/v1.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    // slo/v1 is the only target for now (clap checks `--to`).
    command::print(&convert(&args.paths, reporter)?)
}

/// The spec formats `convert` can write (`--to`).
pub const TARGETS: [&str; 1] = [slo_core::spec::VERSION];

/// Reads every spec under `paths` (reporting problems through `reporter`)
/// and returns them as slo/v1 YAML: the spec itself for one file; for
/// several, one YAML document each, headed by a comment naming its source.
pub fn convert(paths: &[PathBuf], reporter: &mut Reporter) -> Result<String, Error> {
    let files = specs::read_all(paths, reporter)?;
    if let [file] = files.as_slice() {
        return Ok(file.spec.as_ref().map(native::to_yaml).unwrap_or_default());
    }
    let mut out = String::new();
    for (i, file) in files.iter().enumerate() {
        let Some(spec) = &file.spec else { continue };
        if i > 0 {
            out.push_str("---\n");
        }
        let format = Format::of_source(&file.source);
        let _ = writeln!(out, "# {} ({format})", file.path.display());
        out.push_str(&native::to_yaml(spec));
    }
    Ok(out)
}
