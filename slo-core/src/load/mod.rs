//! Reading specs: YAML text to a checked [`Spec`], or every problem in it.
//!
//! ```
//! use slo_core::load;
//!
//! let (spec, diagnostics) = load::check("version: slo/v1\nservice: api\nslos:\n  - name: x\n    objective: 101\n");
//! assert!(spec.is_none());
//! let objective = diagnostics.iter().find(|d| d.field == "slos[0].objective");
//! assert_eq!(objective.map(|d| (d.location.line, d.location.column)), Some((5, 16)));
//! assert!(objective.is_some_and(|d| d.message.contains("between 0 and 100")));
//! // The missing SLI is reported too, not only the first problem.
//! assert!(diagnostics.iter().any(|d| d.message.contains("missing field `sli`")));
//! ```

//!
//! Every format is read into the same [`Spec`] with the same diagnostics,
//! by layers that each use only the ones before them:
//!
//! - `walk`: a walk over the located YAML tree ([`yaml`]):
//!   mappings checked against the fields a place allows, typed values read
//!   with their place, every problem collected.
//! - `checks`: what every format shares: service and SLO names, the
//!   objective, labels and templates, tiers, queries, "exactly one of" two
//!   fields, window pairs against the budget, a slice against the windows,
//!   and the assembly of an SLO at the end of every reader.
//! - one module per format, told apart by [`Format`]: `slo_v1` (this
//!   project's own), `sloth` (Sloth's `prometheus/v1` and its Kubernetes
//!   manifest) and `openslo` (OpenSLO v1). A new format is one more module
//!   and one arm in [`check_placed`]'s dispatch; no format uses another.
//!
//! The defaults ([`DEFAULT_PERIOD`], [`DEFAULT_ALERT_NAME`]) belong to the
//! spec model and are re-exported here.

mod alternative;
mod checks;
mod openslo;
mod slo_v1;
mod sloth;
mod walk;

use std::collections::{BTreeSet, HashSet};

use crate::diagnostic::Diagnostic;
use crate::format::Format;
use crate::spec::Spec;
use crate::yaml::{self, Kind};
use walk::Cx;

pub use crate::spec::{DEFAULT_ALERT_NAME, DEFAULT_PERIOD};
pub use alternative::alternative;
pub use walk::SloPlace;

/// Reads a spec, returning it only when it has no errors. Warnings are
/// dropped; use [`check`] to see them.
pub fn load_str(src: &str) -> Result<Spec, Vec<Diagnostic>> {
    match check(src) {
        (Some(spec), _) => Ok(spec),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// Reads a spec and returns every problem found, sorted by place. The spec
/// is `Some` exactly when no diagnostic is an error.
pub fn check(src: &str) -> (Option<Spec>, Vec<Diagnostic>) {
    let (spec, diags, _) = check_placed(src);
    (spec, diags)
}

/// Like [`check`], also returning where each SLO is defined (the place of
/// its name), so callers that read several files can point at both
/// definitions of a duplicate.
pub fn check_placed(src: &str) -> (Option<Spec>, Vec<Diagnostic>, Vec<SloPlace>) {
    let mut cx = Cx::default();
    let spec = match yaml::parse(src) {
        Err(d) => {
            cx.diags.push(d);
            None
        }
        Ok(docs) => match docs.as_slice() {
            [] => {
                cx.error(
                    yaml::start_of(src),
                    "",
                    "the file is empty: expected a spec with `version: slo/v1`",
                );
                None
            }
            [first, ..] => {
                let read = match Format::of(first) {
                    Format::Sloth | Format::SlothKubernetes => sloth::spec,
                    Format::OpenSlo => openslo::spec,
                    Format::Native => slo_v1::spec,
                };
                read(&mut cx, &docs)
            }
        },
    };
    // What Prometheus would refuse in the generated rules, at the SLO: only
    // once every field passed, so a field's problem is reported once, there.
    let clean = !cx.diags.iter().any(Diagnostic::is_error);
    for slo in spec.iter().filter(|_| clean).flat_map(|s| &s.slos) {
        let at = cx
            .places
            .iter()
            .find(|p| p.service == slo.service && p.name == slo.name)
            .map_or_else(|| yaml::start_of(src), |p| p.location);
        for problem in crate::check::generated(slo) {
            cx.error(at, "", problem);
        }
    }
    // An object read for several SLOs (an OpenSLO AlertPolicy) reports its
    // problems once.
    let mut seen = HashSet::new();
    let mut diags = cx.diags;
    diags.retain(|d| {
        seen.insert((
            d.location,
            d.level,
            d.field.clone(),
            d.message.clone(),
            d.help.clone(),
        ))
    });
    diags.sort_by_key(|d| (d.location.line, d.location.column));
    let ok = !diags.iter().any(Diagnostic::is_error);
    (spec.filter(|_| ok), diags, cx.places)
}

/// Tells YAML that is no spec at all (the daemon's configuration, an
/// incidents file, another Kubernetes object) from a spec with mistakes:
/// returns what the file looks like when its first document is a mapping
/// with neither `service` nor `slos`, and no `version` or `apiVersion` of a
/// spec format. A file that does not parse, or has any of those, is a spec,
/// so its mistakes are reported.
pub fn not_a_spec(src: &str) -> Option<String> {
    let docs = yaml::parse(src).ok()?;
    let Kind::Map(pairs) = &docs.first()?.kind else {
        return None;
    };
    let keys: BTreeSet<&str> = pairs.iter().filter_map(|(k, _)| k.as_scalar()).collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(name))
            .and_then(|(_, v)| v.as_scalar())
    };
    // A spec's own fields, or a version of a spec format (`slo/v2` is a
    // spec with a wrong version, not something else).
    if keys.contains("service") || keys.contains("slos") {
        return None;
    }
    match field("version") {
        Some(v) if v.starts_with("slo/") || v.starts_with("prometheus/") => return None,
        Some(v) => {
            return Some(format!(
                "YAML with `version: {v}`, which is no spec format (slo/v1, Sloth prometheus/v1)"
            ));
        }
        None if keys.contains("version") => return None,
        None => {}
    }
    if let Some(api) = field("apiVersion") {
        if Format::of(&docs[0]) != Format::Native {
            return None;
        }
        let kind = field("kind").unwrap_or("?");
        return Some(format!(
            "a `{api}` `{kind}` object, not a spec format (slo/v1, Sloth, OpenSLO)"
        ));
    }
    if keys.contains("specs") && (keys.contains("prometheus") || keys.contains("notify")) {
        return Some("the daemon's configuration (`slo-eval run --config`)".to_owned());
    }
    if keys.contains("incidents") {
        return Some("an incidents file (`slo-eval backtest --incidents`)".to_owned());
    }
    Some("YAML without `version`, `apiVersion`, `service` or `slos`".to_owned())
}
#[cfg(test)]
mod tests {
    use super::*;

    fn spans(src: &str) -> Vec<(usize, usize)> {
        check(src)
            .1
            .iter()
            .map(|d| (d.location.offset, d.location.len))
            .collect()
    }

    #[test]
    fn empty_file_location_is_inside_the_input() {
        // Regression: the "file is empty" error always spanned one byte,
        // past the end of an empty input; a node at the very end (`!`, an
        // empty tagged value) did too.
        assert_eq!(spans(""), [(0, 0)]);
        assert_eq!(spans("é"), [(0, 2)]);
        assert_eq!(spans("# nothing\n"), [(0, 1)]);
        assert_eq!(spans("!"), [(1, 0)]);
    }

    #[test]
    fn long_group_by_is_not_quadratic() {
        // Regression: duplicate `group_by` labels were found by scanning the
        // list so far, quadratic in its length (50k labels took ten seconds
        // in a debug build); now a set.
        let labels: Vec<String> = (0..50_000).map(|i| format!("l{i}")).collect();
        let src = format!(
            "version: slo/v1\nservice: x\nslos:\n- name: a\n  objective: 99.9\n  sli:\n    ratio:\n      errors: x\n      total: y\n      group_by: [{}, l7, slo]\n",
            labels.join(", ")
        );
        // Timing belongs in benches; here the behaviour on a long list.
        let (spec, diags) = check(&src);
        assert!(spec.is_none());
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`l7` is listed twice",
                "label `slo` is reserved: the generated series set it"
            ]
        );
    }

    #[test]
    fn group_by_labels_cannot_also_be_set() {
        let (spec, diags) = check(
            r#"
version: slo/v1
service: api
labels: {route: all}
slos:
  - name: a
    objective: 99
    sli:
      ratio:
        errors: x{code="500"}
        total: x
        group_by: [route, region]
    alerting:
      page:
        labels: {region: eu}
"#,
        );
        assert!(spec.is_none());
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`route` is a group_by label and is also set in labels")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m
                .contains("`region` is a group_by label and is also set in alerting.page.labels")),
            "{messages:?}"
        );
    }
}
