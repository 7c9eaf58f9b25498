//! The daemon's spec loading, file by file: one broken file (a bad merge)
//! must not stop the alerts of every other file.
//!
//! At start the valid files are loaded and the broken ones reported (logs,
//! `/metrics`, `/readyz`); on SIGHUP a file that broke keeps its previous
//! good version, so its alerts neither vanish nor resolve. With `strict:
//! true` any broken file refuses the start (and a reload keeps every old
//! spec), as before.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use slo_core::load::SloPlace;
use slo_core::spec::Spec;

use crate::errors::Error;
use crate::report::Reporter;

/// A spec file the daemon could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenFile {
    /// The file.
    pub path: PathBuf,
    /// Why, at its first error's line and column.
    pub error: String,
    /// Its errors in all.
    pub errors: usize,
    /// True when the file's previous good version is still in use.
    pub kept_previous: bool,
}

/// The specs in use, by file, and the files that are broken.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Good specs by file, in file order (shared with the daemon's SLOs
    /// in use and the UI, never copied).
    pub files: BTreeMap<PathBuf, Arc<Spec>>,
    /// Broken files, in file order.
    pub broken: Vec<BrokenFile>,
    /// The text of each good spec (or of the version kept) and where each
    /// of its SLOs is defined, for the UI's source view.
    pub sources: BTreeMap<PathBuf, (String, Vec<SloPlace>)>,
}

/// Finds and reads the spec files under `paths`, reporting diagnostics to
/// `reporter`. A file that does not read or check, or that defines an SLO
/// an earlier file defines, is broken; it keeps its spec from `previous`
/// when there is one. An unreadable `paths` entry (a missing folder) is an
/// error of the whole load.
pub fn load(
    paths: &[PathBuf],
    previous: Option<&Loaded>,
    reporter: &mut Reporter,
) -> Result<Loaded, Error> {
    let mut out = Loaded::default();
    let mut seen: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for path in crate::specs::find(paths)? {
        let mut errors = 1;
        let error = match crate::specs::read(&path) {
            Err(e) => Some(e.to_string()),
            Ok(file) => {
                // The daemon's own config (in the specs folder) or an
                // incidents file is no broken spec, as for every command.
                // Only those two, and never a file that was a spec: a
                // mangled spec skipped would resolve its alerts.
                let was_spec = previous.is_some_and(|p| p.files.contains_key(&path));
                if let Some(what) = slo_core::load::not_a_spec(&file.source)
                    && !was_spec
                    && (what.starts_with("the daemon's configuration")
                        || what.starts_with("an incidents file"))
                {
                    tracing::info!(file = %path.display(), "skipped: this is {what}, not a spec");
                    continue;
                }
                reporter.report(&file);
                errors = file.errors().max(1);
                match (file.spec, file.diagnostics.iter().find(|d| d.is_error())) {
                    (Some(spec), None) => duplicate(&spec, &path, &mut seen).err().or_else(|| {
                        out.files.insert(path.clone(), Arc::new(spec));
                        out.sources.insert(path.clone(), (file.source, file.places));
                        None
                    }),
                    (_, Some(d)) => Some(format!("{}:{d}", path.display())),
                    (None, None) => Some(format!("{}: not a spec", path.display())),
                }
            }
        };
        if let Some(error) = error {
            let old = previous.and_then(|p| p.files.get(&path));
            let kept_previous = old.is_some_and(|s| duplicate(s, &path, &mut seen).is_ok());
            if let (true, Some(old)) = (kept_previous, old) {
                out.files.insert(path.clone(), Arc::clone(old));
                if let Some(text) = previous.and_then(|p| p.sources.get(&path)) {
                    out.sources.insert(path.clone(), text.clone());
                }
            }
            tracing::error!(
                file = %path.display(),
                %error,
                kept_previous,
                "invalid spec file: its SLOs are {}",
                if kept_previous { "evaluated from its previous version" } else { "not evaluated" }
            );
            out.broken.push(BrokenFile {
                path,
                error,
                errors,
                kept_previous,
            });
        }
    }
    Ok(out)
}

/// Records `spec`'s SLOs as defined by `path`, or says which earlier file
/// defines one of them already (alerts of two SLOs with one name collide).
fn duplicate(
    spec: &Spec,
    path: &Path,
    seen: &mut BTreeMap<(String, String), PathBuf>,
) -> Result<(), String> {
    let ids: BTreeSet<(String, String)> = spec
        .slos
        .iter()
        .map(|s| (s.service.clone(), s.name.clone()))
        .collect();
    if let Some((id, other)) = ids
        .iter()
        .find_map(|id| seen.get(id).map(|other| (id, other)))
    {
        return Err(format!(
            "{}: SLO `{}` of service `{}` is already defined in {}",
            path.display(),
            id.1,
            id.0,
            other.display()
        ));
    }
    for id in ids {
        seen.insert(id, path.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "version: slo/v1\nservice: web\nslos:\n  - name: avail\n    objective: 99\n    sli:\n      ratio: {errors: 'x{code=\"500\"}', total: 'x'}\n";

    fn quiet() -> Reporter {
        Reporter::new(Box::new(std::io::sink()), false)
    }

    #[test]
    fn one_broken_file_leaves_the_others_loaded() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path();
        std::fs::write(p.join("a.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("b.yaml"), "version: slo/v1\nservice: [\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let loaded = load(&[p.to_owned()], None, &mut quiet()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.files.len(), 1);
        assert_eq!(loaded.broken.len(), 1);
        assert!(
            loaded.broken[0].error.contains("b.yaml:"),
            "{:?}",
            loaded.broken
        );
        assert!(!loaded.broken[0].kept_previous);

        // b.yaml becomes good, then a.yaml breaks: a keeps its old version.
        std::fs::write(p.join("b.yaml"), GOOD.replace("web", "api"))
            .unwrap_or_else(|e| panic!("{e}"));
        let loaded =
            load(&[p.to_owned()], Some(&loaded), &mut quiet()).unwrap_or_else(|e| panic!("{e}"));
        assert!(loaded.broken.is_empty());
        std::fs::write(p.join("a.yaml"), "version: slo/v1\nslos: 3\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let again =
            load(&[p.to_owned()], Some(&loaded), &mut quiet()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.files.len(), 2);
        assert!(again.broken[0].kept_previous);
    }

    #[test]
    fn a_second_file_defining_the_same_slo_is_broken() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path();
        std::fs::write(p.join("a.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p.join("b.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
        let loaded = load(&[p.to_owned()], None, &mut quiet()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.files.len(), 1);
        assert!(
            loaded.broken[0].error.contains("already defined in"),
            "{:?}",
            loaded.broken
        );
    }

    /// Regression: with `specs: [.]` next to its config (one mounted
    /// folder), the daemon read its own config and an incidents file as
    /// broken specs (degraded `/readyz`; `strict: true` refused to start),
    /// while `validate` skips them with a note.
    #[test]
    fn the_daemons_own_config_in_the_specs_folder_is_skipped_not_broken() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path();
        std::fs::write(p.join("a.yaml"), GOOD).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            p.join("config.yaml"),
            include_str!("../../examples/daemon/config.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            p.join("incidents.yaml"),
            include_str!("../../examples/data/incidents.yaml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let loaded = load(&[p.to_owned()], None, &mut quiet()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.files.len(), 1);
        assert!(loaded.broken.is_empty(), "{:?}", loaded.broken);
        // A spec mangled into something else is still broken, not skipped:
        // its SLOs keep their previous version (and alerts).
        std::fs::write(p.join("a.yaml"), "foo: bar\n").unwrap_or_else(|e| panic!("{e}"));
        let again =
            load(&[p.to_owned()], Some(&loaded), &mut quiet()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.files.len(), 1);
        assert!(again.broken.len() == 1 && again.broken[0].kept_previous);
    }
}
