//! Finding and reading spec files.

use std::path::{Path, PathBuf};

use slo_core::diagnostic::Diagnostic;
use slo_core::spec::Spec;

use crate::errors::Error;
use crate::report::Reporter;

/// One spec file as read: its text, the checked spec (when it has no
/// errors) and every diagnostic.
#[derive(Debug)]
pub struct SpecFile {
    /// The path as given or found.
    pub path: PathBuf,
    /// The file's text.
    pub source: String,
    /// The spec, when it has no errors.
    pub spec: Option<Spec>,
    /// Errors and warnings, sorted by place.
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecFile {
    /// Number of error-level diagnostics.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

fn is_spec_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Expands `paths`: files are taken as they are, folders are searched
/// recursively for `*.yaml` and `*.yml`, in sorted order.
pub fn find(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            if found.is_empty() {
                return Err(Error::NoSpecs(path.display().to_string()));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if is_spec_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and checks one file.
pub fn read(path: &Path) -> Result<SpecFile, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // Invalid UTF-8 is reported as a diagnostic by the loader's parser once
    // replaced, rather than refusing the whole file without a place.
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let (spec, diagnostics) = slo_core::load::check(&source);
    Ok(SpecFile {
        path: path.to_owned(),
        source,
        spec,
        diagnostics,
    })
}

/// Reads every spec under `paths`, reports every diagnostic through
/// `reporter`, and returns the specs, or [`Error::InvalidSpecs`] when any
/// file had errors.
pub fn load_all(paths: &[PathBuf], reporter: &mut Reporter) -> Result<Vec<Spec>, Error> {
    let files = read_all(paths, reporter)?;
    Ok(files.into_iter().filter_map(|f| f.spec).collect())
}

/// Like [`load_all`], keeping each file's path and text with its spec.
pub fn read_all(paths: &[PathBuf], reporter: &mut Reporter) -> Result<Vec<SpecFile>, Error> {
    let files = find(paths)?
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut bad_files = 0;
    let mut errors = 0;
    for file in &files {
        reporter.report(file);
        if file.errors() > 0 {
            bad_files += 1;
            errors += file.errors();
        }
    }
    if bad_files > 0 {
        return Err(Error::InvalidSpecs {
            files: bad_files,
            errors,
        });
    }
    Ok(files)
}
