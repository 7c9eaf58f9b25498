//! An alternative `alerting:` block for an SLO already loaded: what the
//! policy lab and the backtest API replay. The block is read by the same
//! slo/v1 reader as a spec's, so its mistakes get the same diagnostics,
//! located in the text given (line and column of the block's own text).

use super::walk::{Cx, map_value};
use crate::diagnostic::Diagnostic;
use crate::spec::{Sli, Slo};
use crate::yaml::{self, Kind};

/// Reads `src`, a YAML (or JSON) mapping holding an `alerting:` block as
/// slo/v1 writes it, and returns `slo` with that alerting and its policy,
/// with any warnings; or every problem found. The SLI, objective and
/// period stay the SLO's.
///
/// ```
/// let spec = slo_core::load::load_str(
///     "version: slo/v1\nservice: api\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: 'e_total', total: 't_total'}\n",
/// ).map_err(|d| d[0].to_string())?;
/// let slo = &spec.slos[0];
/// let alt = "alerting:\n  windows:\n    - {severity: page, long: 1h, short: 5m, factor: 10}\n";
/// let (other, _) = slo_core::load::alternative(slo, alt).map_err(|d| d[0].to_string())?;
/// assert_eq!(other.policy.pairs().len(), 1);
/// let bad = "alerting:\n  windows:\n    - {severity: page, long: 1h, short: 2h, factor: 10}\n";
/// let diags = slo_core::load::alternative(slo, bad).err().unwrap_or_default();
/// assert_eq!((diags[0].location.line, diags[0].location.column), (3, 41));
/// # Ok::<(), String>(())
/// ```
pub fn alternative(slo: &Slo, src: &str) -> Result<(Slo, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut cx = Cx::default();
    let docs = yaml::parse(src).map_err(|d| vec![d])?;
    let Some(doc) = docs.first() else {
        return Err(vec![Diagnostic::error(
            yaml::start_of(src),
            "",
            "empty: expected a mapping with an `alerting:` block",
        )]);
    };
    if docs.len() > 1 {
        cx.error(
            docs[1].location,
            "",
            "more than one YAML document: give one `alerting:` block",
        );
    }
    let node = match &doc.kind {
        Kind::Map(_) => cx.fields(doc, "", &["alerting"]).and_then(|f| {
            let node = f.get("alerting").filter(|n| !n.is_null());
            if node.is_none() {
                cx.missing(
                    &f,
                    "alerting",
                    "the alerting block, e.g. `windows: workbook`",
                );
            }
            node
        }),
        _ => {
            cx.error(
                doc.location,
                "",
                format!(
                    "expected a mapping with an `alerting:` block, found {}",
                    doc.describe()
                ),
            );
            None
        }
    };
    let slo = node.and_then(|node| {
        let period = Some((slo.period, node.location));
        let (alerting, windows, blame) =
            super::slo_v1::alerting(&mut cx, node, "alerting", period, Some(&slo.sli))?;
        let slice_at = map_value(node, "windows").map_or(node.location, |n| n.location);
        cx.finish(super::checks::Draft {
            service: Some(slo.service.clone()),
            name: Some(slo.name.clone()),
            description: slo.description.clone(),
            objective: Some(slo.objective),
            period: slo.period,
            labels: slo.labels.clone(),
            sli: Some(slo.sli.clone()),
            alerting,
            windows,
            blame,
            whole: (node.location, "alerting"),
            group_by_at: Some(("alerting".to_owned(), node.location)),
            slice_at: matches!(slo.sli, Sli::Slices(_))
                .then(|| ("alerting.windows".to_owned(), slice_at)),
        })
    });
    let mut diags = cx.diags;
    if let (Some(s), false) = (&slo, diags.iter().any(Diagnostic::is_error)) {
        let at = node.map_or_else(|| yaml::start_of(src), |n| n.location);
        for problem in crate::check::generated(s) {
            diags.push(Diagnostic::error(at, "alerting", problem));
        }
    }
    diags.sort_by_key(|d| (d.location.line, d.location.column));
    match slo {
        Some(s) if !diags.iter().any(Diagnostic::is_error) => Ok((s, diags)),
        _ if diags.is_empty() => Err(vec![Diagnostic::error(
            yaml::start_of(src),
            "alerting",
            "cannot read the alerting block",
        )]),
        _ => Err(diags.into_iter().filter(Diagnostic::is_error).collect()),
    }
}
