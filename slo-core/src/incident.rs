//! Known incidents: the ground truth a backtest scores alerts against.
//!
//! An incidents file lists periods when users were really hurt, and how
//! urgently someone should have been told:
//!
//! ```yaml
//! incidents:
//!   - service: checkout          # optional: applies to every service
//!     slo: availability          # optional: applies to every SLO
//!     labels: {region: eu}       # optional: instances whose group_by labels match
//!     start: 2026-11-03T14:00:00Z   # RFC 3339 or Unix seconds
//!     end: 2026-11-03T14:20:00Z
//!     severity: page             # optional: page or ticket; any tier when absent
//!     description: payment provider outage
//! ```
//!
//! A bare list (without `incidents:`) is accepted too.
//!
//! ```
//! let incidents = slo_core::incident::load_str(
//!     "- service: checkout\n  start: 2026-11-03T14:00:00Z\n  end: 2026-11-03T14:20:00Z\n  severity: page\n",
//! ).map_err(|d| d[0].to_string())?;
//! assert_eq!(incidents[0].end - incidents[0].start, 20 * 60_000);
//! # Ok::<(), String>(())
//! ```

use crate::diagnostic::{Diagnostic, Location};
use crate::names;
use crate::policy::Severity;
use crate::spec::{Labels, Slo};
use crate::time::{self, Timestamp};
use crate::yaml::{self, Kind, Node};

/// A period when an SLO's users were hurt.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Incident {
    /// The service it hit; `None`: any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The SLO it hit; `None`: any SLO of the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<String>,
    /// Instance labels it is limited to (a subset of the `group_by` values).
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// When it started (ms).
    pub start: Timestamp,
    /// When it ended (ms).
    pub end: Timestamp,
    /// The tier that should have caught it; `None`: any tier.
    pub severity: Option<Severity>,
    /// What happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Incident {
    /// An incident hitting anything from `start` to `end`.
    pub fn new(start: Timestamp, end: Timestamp, severity: Option<Severity>) -> Self {
        Self {
            service: None,
            slo: None,
            labels: Labels::new(),
            start,
            end,
            severity,
            description: None,
        }
    }

    /// True when the incident concerns `slo`'s instance with `instance`
    /// labels.
    pub fn applies_to(&self, slo: &Slo, instance: &Labels) -> bool {
        self.service.as_ref().is_none_or(|s| *s == slo.service)
            && self.slo.as_ref().is_none_or(|s| *s == slo.name)
            && self
                .labels
                .iter()
                .all(|(k, v)| instance.get(k).is_some_and(|x| x == v))
    }

    /// True when an alert of `severity` (`None`: any tier) is expected to
    /// catch the incident: its severity is that tier, or unspecified.
    pub fn expects(&self, severity: Option<Severity>) -> bool {
        match (self.severity, severity) {
            (None, _) | (_, None) => true,
            (Some(a), Some(b)) => a == b,
        }
    }
}

const FIELDS: [&str; 7] = [
    "service",
    "slo",
    "labels",
    "start",
    "end",
    "severity",
    "description",
];

/// Reads an incidents file, or every problem in it.
pub fn load_str(src: &str) -> Result<Vec<Incident>, Vec<Diagnostic>> {
    load_located(src).map(|list| list.into_iter().map(|(i, _)| i).collect())
}

/// [`load_str`], and an error for each incident that names a service or
/// an SLO none of `slos` is (a typo would leave it out of every score).
pub fn load_str_for(src: &str, slos: &[&Slo]) -> Result<Vec<Incident>, Vec<Diagnostic>> {
    let list = load_located(src)?;
    let mut diags = Vec::new();
    for (i, (inc, at)) in list.iter().enumerate() {
        let known = slos.iter().any(|slo| {
            inc.service.as_ref().is_none_or(|s| *s == slo.service)
                && inc.slo.as_ref().is_none_or(|s| *s == slo.name)
        });
        if known {
            continue;
        }
        let named = match (&inc.service, &inc.slo) {
            (Some(service), Some(slo)) => format!("SLO `{slo}` of service `{service}`"),
            (Some(service), None) => format!("service `{service}`"),
            (None, Some(slo)) => format!("SLO `{slo}`"),
            (None, None) => continue,
        };
        let mut names: Vec<String> = slos
            .iter()
            .take(10)
            .map(|s| format!("{}/{}", s.service, s.name))
            .collect();
        if slos.len() > 10 {
            names.push("...".to_owned());
        }
        diags.push(Diagnostic::error(
            *at,
            format!("incidents[{i}]"),
            format!(
                "the incident names {named}, which no spec given defines (the SLOs: {})",
                names.join(", ")
            ),
        ));
    }
    if diags.is_empty() {
        Ok(list.into_iter().map(|(i, _)| i).collect())
    } else {
        Err(diags)
    }
}

/// Reads an incidents file, each incident with the place it starts.
fn load_located(src: &str) -> Result<Vec<(Incident, Location)>, Vec<Diagnostic>> {
    let docs = yaml::parse(src).map_err(|d| vec![d])?;
    let mut diags = Vec::new();
    let list: &[Node] = match docs.as_slice() {
        [] => &[],
        [doc] => match &doc.kind {
            Kind::Seq(items) => items,
            Kind::Map(pairs) => {
                let mut found: &[Node] = &[];
                for (k, v) in pairs {
                    match (k.as_scalar(), &v.kind) {
                        (Some("incidents"), Kind::Seq(items)) => found = items,
                        (Some("incidents"), _) if v.is_null() => {}
                        (Some("incidents"), _) => diags.push(Diagnostic::error(
                            v.location,
                            "incidents",
                            format!("expected a list of incidents, found {}", v.describe()),
                        )),
                        _ => diags.push(Diagnostic::error(
                            k.location,
                            "",
                            "unknown field: an incidents file has only `incidents:`",
                        )),
                    }
                }
                found
            }
            Kind::Scalar { .. } if doc.is_null() => &[],
            Kind::Scalar { .. } => {
                return Err(vec![Diagnostic::error(
                    doc.location,
                    "",
                    "expected a list of incidents",
                )]);
            }
        },
        [_, second, ..] => {
            return Err(vec![Diagnostic::error(
                second.location,
                "",
                "more than one YAML document: put every incident in one list",
            )]);
        }
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        if let Some(incident) = incident(item, &format!("incidents[{i}]"), &mut diags) {
            out.push((incident, item.location));
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        diags.sort_by_key(|d| (d.location.line, d.location.column));
        Err(diags)
    }
}

fn incident(node: &Node, path: &str, diags: &mut Vec<Diagnostic>) -> Option<Incident> {
    let Kind::Map(pairs) = &node.kind else {
        diags.push(Diagnostic::error(
            node.location,
            path,
            format!(
                "expected an incident (a mapping), found {}",
                node.describe()
            ),
        ));
        return None;
    };
    let before = diags.len();
    let mut inc = Incident::new(0, 0, None);
    let (mut start, mut end): (Option<(Timestamp, Location)>, Option<Timestamp>) = (None, None);
    for (k, v) in pairs {
        let Some(name) = k.as_scalar() else {
            diags.push(Diagnostic::error(k.location, path, "expected a field name"));
            continue;
        };
        let field = format!("{path}.{name}");
        let text = v
            .as_scalar()
            .filter(|_| matches!(v.kind, Kind::Scalar { .. }));
        let mut expect_text = |what: &str| -> Option<String> {
            if text.is_none() {
                diags.push(Diagnostic::error(
                    v.location,
                    &field,
                    format!("expected {what}, found {}", v.describe()),
                ));
            }
            text.map(str::to_owned)
        };
        match name {
            "service" => inc.service = expect_text("a service name"),
            "slo" => inc.slo = expect_text("an SLO name"),
            "description" => inc.description = expect_text("a description"),
            "start" | "end" => {
                let Some(t) = expect_text("a time such as 2026-11-03T14:00:00Z") else {
                    continue;
                };
                match time::parse(&t) {
                    Some(ms) if name == "start" => start = Some((ms, v.location)),
                    Some(ms) => end = Some(ms),
                    None => diags.push(Diagnostic::error(v.location, &field, format!("`{t}` is not a time: expected RFC 3339 (2026-11-03T14:00:00Z) or Unix seconds"))),
                }
            }
            "severity" => {
                let Some(s) = expect_text("page or ticket") else {
                    continue;
                };
                match Severity::parse(&s) {
                    Some(sev) => inc.severity = Some(sev),
                    None => diags.push(Diagnostic::error(
                        v.location,
                        &field,
                        format!("unknown severity `{s}`: expected page or ticket"),
                    )),
                }
            }
            "labels" => match &v.kind {
                Kind::Map(labels) => {
                    for (lk, lv) in labels {
                        match (
                            lk.as_scalar(),
                            lv.as_scalar()
                                .filter(|_| matches!(lv.kind, Kind::Scalar { .. })),
                        ) {
                            (Some(lk), Some(lv)) => {
                                inc.labels.insert(lk.to_owned(), lv.to_owned());
                            }
                            _ => diags.push(Diagnostic::error(
                                lk.location,
                                &field,
                                "expected label: value",
                            )),
                        }
                    }
                }
                _ if v.is_null() => {}
                _ => diags.push(Diagnostic::error(
                    v.location,
                    &field,
                    format!("expected a mapping of labels, found {}", v.describe()),
                )),
            },
            other => {
                let mut d =
                    Diagnostic::error(k.location, &field, format!("unknown field `{other}`"));
                d = d.with_help(match names::closest(other, &FIELDS) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("expected one of: {}", FIELDS.join(", ")),
                });
                diags.push(d);
            }
        }
    }
    match (start, end) {
        (Some((s, loc)), Some(e)) => {
            if e <= s {
                diags.push(Diagnostic::error(
                    loc,
                    format!("{path}.end"),
                    "the incident must end after it starts",
                ));
            }
            inc.start = s;
            inc.end = e;
        }
        _ => {
            for (name, missing) in [("start", start.is_none()), ("end", end.is_none())] {
                if missing && !pairs.iter().any(|(k, _)| k.as_scalar() == Some(name)) {
                    diags.push(Diagnostic::error(
                        node.location,
                        format!("{path}.{name}"),
                        format!(
                            "missing field `{name}`: expected a time such as 2026-11-03T14:00:00Z"
                        ),
                    ));
                }
            }
        }
    }
    (diags.len() == before).then_some(inc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let a = load_str("incidents:\n  - start: 1000\n    end: 2000\n    labels: {region: eu}\n");
        let b = load_str(
            "- start: 1970-01-01T00:16:40Z\n  end: 1970-01-01T00:33:20Z\n  labels:\n    region: eu\n",
        );
        assert_eq!(a, b);
        let list = a.unwrap_or_default();
        assert_eq!((list[0].start, list[0].end), (1_000_000, 2_000_000));
        assert_eq!(load_str(""), Ok(vec![]));
    }

    #[test]
    fn reports_every_problem() {
        let errs: Vec<String> = load_str("incidents:\n  - start: yesterday\n    severty: page\n  - end: 5\n  - start: 10\n    end: 5\n    severity: urgent\n")
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "2:5: error: incidents[0].end: missing field `end`: expected a time such as 2026-11-03T14:00:00Z",
                "2:12: error: incidents[0].start: `yesterday` is not a time: expected RFC 3339 (2026-11-03T14:00:00Z) or Unix seconds",
                "3:5: error: incidents[0].severty: unknown field `severty`",
                "4:5: error: incidents[1].start: missing field `start`: expected a time such as 2026-11-03T14:00:00Z",
                "5:12: error: incidents[2].end: the incident must end after it starts",
                "7:15: error: incidents[2].severity: unknown severity `urgent`: expected page or ticket",
            ]
        );
    }
}
