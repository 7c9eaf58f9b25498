//! Finding and reading spec files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slo_core::diagnostic::{Diagnostic, Location};
use slo_core::load::SloPlace;
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
    /// Where each SLO is defined.
    pub places: Vec<SloPlace>,
}

/// Which files to read: paths (files, or folders searched recursively) and
/// glob patterns of files to leave out.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Spec files or folders.
    pub paths: Vec<PathBuf>,
    /// Glob patterns (`--exclude`), matched against each found path and its
    /// file name.
    pub exclude: Vec<String>,
}

impl Selection {
    /// Every file under `paths`, none excluded.
    pub fn of(paths: &[PathBuf]) -> Self {
        Self {
            paths: paths.to_vec(),
            exclude: Vec::new(),
        }
    }
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
    let source = read_text(path)?;
    let (spec, diagnostics, places) = slo_core::load::check_placed(&source);
    Ok(SpecFile {
        path: path.to_owned(),
        source,
        spec,
        diagnostics,
        places,
    })
}

fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // Invalid UTF-8 is reported as a diagnostic by the loader's parser once
    // replaced, rather than refusing the whole file without a place.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads every spec under `paths`, reports every diagnostic through
/// `reporter`, and returns the specs, or [`Error::InvalidSpecs`] when any
/// file had errors.
pub fn load_all(paths: &[PathBuf], reporter: &mut Reporter) -> Result<Vec<Spec>, Error> {
    load(&Selection::of(paths), reporter)
}

/// Like [`load_all`], keeping each file's path and text with its spec.
pub fn read_all(paths: &[PathBuf], reporter: &mut Reporter) -> Result<Vec<SpecFile>, Error> {
    read_selection(&Selection::of(paths), reporter)
}

/// Reads every spec of `selection`: the one loading function of every
/// command, so that what `validate` accepts, `generate`, `eval` and the
/// daemon load. See [`read_selection`].
pub fn load(selection: &Selection, reporter: &mut Reporter) -> Result<Vec<Spec>, Error> {
    let files = read_selection(selection, reporter)?;
    Ok(files.into_iter().filter_map(|f| f.spec).collect())
}

/// Reads every file of `selection`, skipping (with a note) YAML that is no
/// spec ([`slo_core::load::not_a_spec`]) and excluded files; reports an SLO
/// defined in two files at both places; reports every diagnostic through
/// `reporter`, and fails with [`Error::InvalidSpecs`] when any file had
/// errors.
pub fn read_selection(
    selection: &Selection,
    reporter: &mut Reporter,
) -> Result<Vec<SpecFile>, Error> {
    let files = read_unreported(selection, reporter)?;
    report(&files, reporter)?;
    Ok(files)
}

/// [`read_selection`] without reporting the files' diagnostics (notes on
/// skipped files are printed), so a caller can add its own first and then
/// [`report`] them.
pub fn read_unreported(
    selection: &Selection,
    reporter: &mut Reporter,
) -> Result<Vec<SpecFile>, Error> {
    let excludes = selection
        .exclude
        .iter()
        .map(|g| {
            glob::Pattern::new(g)
                .map_err(|e| Error::Usage(format!("--exclude {g:?} is not a glob pattern: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::new();
    for path in find(&selection.paths)? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if excludes
            .iter()
            .any(|g| g.matches_path(&path) || name.as_deref().is_some_and(|n| g.matches(n)))
        {
            continue;
        }
        let source = read_text(&path)?;
        if let Some(what) = slo_core::load::not_a_spec(&source) {
            reporter.note(&path, &format!("skipped: this is {what}, not a spec"));
            continue;
        }
        let (spec, diagnostics, places) = slo_core::load::check_placed(&source);
        files.push(SpecFile {
            path,
            source,
            spec,
            diagnostics,
            places,
        });
    }
    if files.is_empty() {
        let paths: Vec<String> = selection
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(Error::NoSpecs(paths.join(", ")));
    }
    report_duplicates(&mut files);
    Ok(files)
}

/// Reports every diagnostic of `files`; fails with [`Error::InvalidSpecs`]
/// when any is an error.
pub fn report(files: &[SpecFile], reporter: &mut Reporter) -> Result<(), Error> {
    let mut bad_files = 0;
    let mut errors = 0;
    for file in files {
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
    Ok(())
}

/// An SLO (service and name) defined in two files, or twice given the same
/// file, would record the same series: an error at each definition, naming
/// the other's place.
fn report_duplicates(files: &mut [SpecFile]) {
    let mut first: BTreeMap<(String, String), (usize, Location)> = BTreeMap::new();
    let mut found: Vec<(usize, Location, usize, Location, String, String)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let mut in_file = std::collections::BTreeSet::new();
        for p in &file.places {
            let key = (p.service.clone(), p.name.clone());
            // The loader reports duplicates within a file; an OpenSLO
            // object may also be read once per alert policy.
            if !in_file.insert(key.clone()) {
                continue;
            }
            match first.get(&key) {
                Some(&(j, at)) => found.push((j, at, i, p.location, key.0, key.1)),
                None => {
                    first.insert(key, (i, p.location));
                }
            }
        }
    }
    for (j, at_j, i, at_i, service, name) in found {
        let place = |k: usize, at: Location| {
            format!("{}:{}:{}", files[k].path.display(), at.line, at.column)
        };
        let (here, there) = (place(i, at_i), place(j, at_j));
        let message = |other: &str| {
            format!(
                "SLO `{name}` of service `{service}` is defined more than once: also at {other}"
            )
        };
        let help = "SLOs are identified by service and name across every file read: rename one or remove the copy";
        for (k, at, other) in [(j, at_j, &here), (i, at_i, &there)] {
            let file = &mut files[k];
            file.diagnostics
                .push(Diagnostic::error(at, "name", message(other)).with_help(help));
            file.diagnostics
                .sort_by_key(|d| (d.location.line, d.location.column));
            file.spec = None;
        }
    }
}
