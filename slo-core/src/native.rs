//! Writing a [`Spec`] as slo/v1 YAML: what `slo-eval convert` prints for a
//! Sloth or OpenSLO file.
//!
//! The text is deterministic (fields in the README's order, labels sorted)
//! and reads back, through [`load`](crate::load), as an equal `Spec`.
//! Defaults are left out; window pairs are written as the preset they equal,
//! or as a list with their factors.
//!
//! ```
//! use slo_core::{load, native};
//!
//! let sloth = r#"
//! version: prometheus/v1
//! service: myservice
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       raw:
//!         error_ratio_query: 1 - avg_over_time(up{job="myservice"}[{{.window}}])
//! "#;
//! let spec = load::load_str(sloth).map_err(|d| d[0].to_string())?;
//! let text = native::to_yaml(&spec);
//! assert!(text.starts_with("version: slo/v1\nservice: myservice\n"));
//! assert!(text.contains("    period: 30d\n"));
//! assert!(text.contains("      windows: google-30d\n"));
//! assert_eq!(load::load_str(&text), Ok(spec));
//! # Ok::<(), String>(())
//! ```

use std::fmt::Write as _;

use crate::duration::Duration;
use crate::emit::{self, Plain};
use crate::num;
use crate::policy::{Policy, Preset, Severity};
use crate::spec::{Alerting, Counted, DEFAULT_ALERT_NAME, Labels, Sli, Slo, Spec, Tier, VERSION};

/// The spec as slo/v1 YAML text.
pub fn to_yaml(spec: &Spec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "version: {VERSION}");
    let _ = writeln!(out, "service: {}", scalar(&spec.service));
    map(&mut out, 0, "labels", &spec.labels);
    out.push_str("slos:\n");
    for slo in &spec.slos {
        write_slo(&mut out, slo, &spec.labels);
    }
    out
}

/// The `alerting:` block of `slo` as slo/v1 YAML, to paste into a spec;
/// reads back through [`load::alternative`](crate::load::alternative) as
/// the same policy. The default windows are written as `alerting: {}`.
pub fn alerting_yaml(slo: &Slo) -> String {
    let mut out = String::new();
    write_alerting(&mut out, 0, slo);
    if out.is_empty() {
        out.push_str("alerting: {}\n");
    }
    out
}

fn write_slo(out: &mut String, slo: &Slo, file_labels: &Labels) {
    const IN: usize = 4;
    let _ = writeln!(out, "  - name: {}", scalar(&slo.name));
    if let Some(d) = &slo.description {
        field(out, IN, "description", d);
    }
    let _ = writeln!(
        out,
        "{:IN$}objective: {}",
        "",
        num::format(slo.objective.percent())
    );
    let _ = writeln!(out, "{:IN$}period: {}", "", slo.period);
    // The file's labels are merged into every SLO's: write only the rest.
    let own: Labels = slo
        .labels
        .iter()
        .filter(|(k, v)| file_labels.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    map(out, IN, "labels", &own);
    let _ = writeln!(out, "{:IN$}sli:", "");
    write_sli(out, IN + 2, &slo.sli);
    write_alerting(out, IN, slo);
}

fn write_sli(out: &mut String, indent: usize, sli: &Sli) {
    let inner = indent + 2;
    let _ = writeln!(out, "{:indent$}{}:", "", sli.kind());
    match sli {
        Sli::Ratio(r) => {
            match &r.counted {
                Counted::Errors(e) => field(out, inner, "errors", e),
                Counted::Good(g) => field(out, inner, "good", g),
            }
            field(out, inner, "total", &r.total);
            list(out, inner, "group_by", &r.group_by);
        }
        Sli::Latency(l) => {
            field(out, inner, "histogram", &l.histogram);
            if !l.selector.is_empty() {
                field(out, inner, "selector", &l.selector);
            }
            let _ = writeln!(out, "{:inner$}threshold: {}", "", num::format(l.threshold));
            list(out, inner, "group_by", &l.group_by);
        }
        Sli::Events(e) => {
            field(out, inner, "error_query", &e.error_query);
            field(out, inner, "total_query", &e.total_query);
        }
        Sli::Raw(r) => field(out, inner, "error_ratio_query", &r.error_ratio_query),
        Sli::Slices(sl) => {
            field(out, inner, "query", &sl.query);
            field(out, inner, "op", sl.op.as_str());
            let _ = writeln!(out, "{:inner$}threshold: {}", "", num::format(sl.threshold));
            duration(out, inner, "slice", sl.slice);
        }
    }
}

/// How a policy is written.
enum Windows {
    /// Left out: the Workbook default.
    Default,
    /// A preset's name.
    Preset(&'static str),
    /// The pairs, each with its factor.
    List,
}

fn windows(slo: &Slo) -> Windows {
    let mut workbook = Policy::new(&Preset::Workbook.windows(), slo.period);
    workbook.retain(|p| !slo.alerting.tier(p.severity).disabled);
    if workbook != slo.policy {
        return Windows::List;
    }
    // Name the preset that pins the period when there is one.
    let pinned = Preset::NAMES
        .iter()
        .find(|(_, preset, period)| *preset == Preset::Workbook && *period == Some(slo.period));
    match pinned {
        Some((name, _, _)) => Windows::Preset(name),
        None => Windows::Default,
    }
}

fn write_alerting(out: &mut String, indent: usize, slo: &Slo) {
    // Destructured so that a field added to `Alerting` cannot be forgotten.
    let Alerting {
        name,
        labels,
        annotations,
        page: _,
        ticket: _,
        min_events,
        absent_for,
    } = &slo.alerting;
    let mut body = String::new();
    let inner = indent + 2;
    if name != DEFAULT_ALERT_NAME {
        field(&mut body, inner, "name", name);
    }
    map(&mut body, inner, "labels", labels);
    map(&mut body, inner, "annotations", annotations);
    for severity in Severity::ALL {
        let tier = slo.alerting.tier(severity);
        // A tier left without a pair never alerts: written as disabled, so
        // that the text does not bring the preset's pairs back.
        let silent = slo.policy.pairs().is_empty() && !tier.disabled;
        write_tier(&mut body, inner, severity, tier, silent);
    }
    match windows(slo) {
        Windows::Default => {}
        Windows::Preset(preset) => field(&mut body, inner, "windows", preset),
        Windows::List if slo.policy.pairs().is_empty() => {}
        Windows::List => {
            let _ = writeln!(body, "{:inner$}windows:", "");
            for p in slo.policy.pairs() {
                let _ = writeln!(
                    body,
                    "{:inner$}  - {{severity: {}, long: {}, short: {}, factor: {}}}",
                    "",
                    p.severity,
                    p.long,
                    p.short,
                    num::format(p.factor)
                );
            }
        }
    }
    if *min_events > 0.0 {
        let _ = writeln!(
            body,
            "{:inner$}min_events: {}",
            "",
            num::format(*min_events)
        );
    }
    if let Some(d) = absent_for {
        duration(&mut body, inner, "absent_for", *d);
    }
    if !body.is_empty() {
        let _ = writeln!(out, "{:indent$}alerting:", "");
        out.push_str(&body);
    }
}

fn write_tier(out: &mut String, indent: usize, severity: Severity, tier: &Tier, silent: bool) {
    let defaults = Tier::new(severity);
    let mut body = String::new();
    let inner = indent + 2;
    if tier.disabled || silent {
        let _ = writeln!(body, "{:inner$}disable: true", "");
    }
    if tier.labels != defaults.labels {
        map(&mut body, inner, "labels", &tier.labels);
    }
    map(&mut body, inner, "annotations", &tier.annotations);
    if let Some(d) = tier.for_ {
        duration(&mut body, inner, "for", d);
    }
    if !body.is_empty() {
        let _ = writeln!(out, "{:indent$}{severity}:", "");
        out.push_str(&body);
    }
}

fn field(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{:indent$}{name}: {}",
        "",
        block_or_scalar(value, indent)
    );
}

fn duration(out: &mut String, indent: usize, name: &str, d: Duration) {
    let _ = writeln!(out, "{:indent$}{name}: {d}", "");
}

/// A mapping of names to strings, left out when empty.
fn map(out: &mut String, indent: usize, name: &str, labels: &Labels) {
    if labels.is_empty() {
        return;
    }
    let _ = writeln!(out, "{:indent$}{name}:", "");
    for (k, v) in labels {
        let inner = indent + 2;
        let _ = writeln!(
            out,
            "{:inner$}{}: {}",
            "",
            scalar(k),
            block_or_scalar(v, inner)
        );
    }
}

/// A list of names, as a flow sequence, left out when empty.
fn list(out: &mut String, indent: usize, name: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let items: Vec<String> = items.iter().map(|i| scalar(i)).collect();
    let _ = writeln!(out, "{:indent$}{name}: [{}]", "", items.join(", "));
}

/// A value at `indent`: a literal block for multi-line text that reads
/// back exactly, otherwise a [`scalar`].
fn block_or_scalar(s: &str, indent: usize) -> String {
    emit::block(s, indent).unwrap_or_else(|| scalar(s))
}

/// A string as a one-line YAML scalar that reads back as the same string,
/// plain for names and sentences ([`Plain::Words`]).
fn scalar(s: &str) -> String {
    emit::scalar_with(s, Plain::Words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{self, Kind};
    use proptest::prelude::*;

    /// What YAML reads back from `key: <value>`.
    fn read_back(value: &str) -> Option<String> {
        let docs = yaml::parse(&format!("key: {value}\n")).ok()?;
        let Kind::Map(pairs) = &docs.first()?.kind else {
            return None;
        };
        pairs.first()?.1.as_scalar().map(str::to_owned)
    }

    #[test]
    fn slices_round_trip() {
        for (op, threshold) in [(">=", "1000"), (">", "0.9"), ("<=", "-2.5"), ("<", "300")] {
            let src = format!(
                "version: slo/v1\nservice: frontend\nslos:\n  - name: floor\n    objective: 99\n    sli:\n      slices:\n        query: 'sum(rate(x{{a=\"b\"}}[1m])) * 60'\n        op: '{op}'\n        threshold: {threshold}\n        slice: 1m\n    alerting: {{min_events: 30}}\n"
            );
            let spec = crate::load::load_str(&src).unwrap_or_else(|d| panic!("{d:?}"));
            let text = to_yaml(&spec);
            assert_eq!(crate::load::load_str(&text), Ok(spec), "{text}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(scalar("checkout"), "checkout");
        assert_eq!(scalar("30d"), "30d");
        assert_eq!(scalar("1"), "'1'");
        assert_eq!(scalar("1e3"), "'1e3'");
        assert_eq!(scalar("null"), "'null'");
        assert_eq!(scalar("Yes"), "'Yes'");
        assert_eq!(scalar(""), "''");
        assert_eq!(scalar("0x1F"), "'0x1F'");
        assert_eq!(scalar(r#"x{code=~"5.."}"#), r#"'x{code=~"5.."}'"#);
        assert_eq!(scalar("it's up"), "it's up");
        assert_eq!(scalar("'quoted'"), "'''quoted'''");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar("a, b"), "'a, b'");
        assert_eq!(scalar("a #b"), "'a #b'");
        assert_eq!(scalar("a\tb\n"), "\"a\\tb\\n\"");
    }

    #[test]
    fn multi_line_queries_are_literal_blocks() {
        let q = "(\n  sum(rate(a[{{.window}}]))\n  -\n  sum(rate(b[{{.window}}]))\n)\n";
        let block = block_or_scalar(q, 4);
        assert!(block.starts_with("|\n      (\n"), "{block}");
        let doc = format!("k:\n    key: {block}\n");
        let docs = yaml::parse(&doc).unwrap_or_default();
        let text = format!("{docs:?}");
        assert!(
            text.contains("sum(rate(a[{{.window}}]))\\n  -\\n"),
            "{text}"
        );
    }

    proptest! {
        #[test]
        fn every_string_reads_back(s in "\\PC*|[ -~\\t\\n\\r\u{85}\u{2028}\u{feff}]{0,40}") {
            prop_assert_eq!(read_back(&scalar(&s)), Some(s));
        }

        #[test]
        fn every_block_reads_back(s in "[a-z {}()\\[\\]\"'#:\\-\\n\\t]{0,60}") {
            let value = block_or_scalar(&s, 0);
            let docs = yaml::parse(&format!("key: {value}\n"));
            let got = docs.ok().and_then(|d| match &d.first()?.kind {
                Kind::Map(pairs) => pairs.first().map(|(_, v)| match &v.kind {
                    Kind::Scalar { text, .. } => text.clone(),
                    _ => String::from("<not a scalar>"),
                }),
                _ => None,
            });
            prop_assert_eq!(got, Some(s));
        }
    }
}
