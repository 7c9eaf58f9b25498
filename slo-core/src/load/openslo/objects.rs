//! OpenSLO objects: the header every object has (`apiVersion`, `kind`,
//! `metadata`), references to objects by name, and OpenSLO durations.

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::format::OPENSLO_API;
use crate::load::walk::{Cx, Fields, either};
use crate::names;
use crate::yaml::{Kind, Node};

/// The object kinds of OpenSLO v1.
/// Objects of one kind read once, by name (`None`: it failed to read).
pub(super) type Named<T> = BTreeMap<String, Option<T>>;

const KINDS: [&str; 7] = [
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "Service",
    "DataSource",
    "AlertNotificationTarget",
];

/// The fields of every object, top-level or inline.
const OBJECT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];

/// One object of the file, its header read.
pub(super) struct Object<'a> {
    pub(super) kind: &'static str,
    pub(super) name: String,
    /// The `metadata.name` value, for pointing at the object.
    pub(super) name_node: &'a Node,
    /// The `spec` mapping, when there is one.
    pub(super) spec: Option<&'a Node>,
    /// The field path of the spec: `SLO/availability.spec`.
    pub(super) path: String,
}

/// Reads an object's `apiVersion`, `kind` and `metadata`. `path` is empty
/// for a document and the field's path for an inline object; `want` is the
/// kind an inline object must be (it may leave out `apiVersion` and `kind`).
pub(super) fn header<'a>(
    cx: &mut Cx,
    node: &'a Node,
    path: &str,
    want: Option<&'static str>,
) -> Option<Object<'a>> {
    let f = cx.fields(node, path, OBJECT_FIELDS)?;
    match f.get("apiVersion") {
        None if want.is_none() => cx.missing(&f, "apiVersion", "`apiVersion: openslo/v1`"),
        None => {}
        Some(v) => match v.as_scalar() {
            Some(OPENSLO_API) => {}
            other => {
                cx.push(
                    Diagnostic::error(
                        v.location,
                        f.path("apiVersion"),
                        format!(
                            "unsupported apiVersion {}: expected `{OPENSLO_API}`",
                            other.map_or_else(|| v.describe().to_owned(), |s| format!("`{s}`"))
                        ),
                    )
                    .with_help("only OpenSLO v1 is read; earlier drafts have another schema"),
                );
                // Another version has another schema: read no further.
                return None;
            }
        },
    }
    let kind = match (f.get("kind"), want) {
        (None, Some(want)) => Some(want),
        (None, None) => {
            cx.missing(&f, "kind", &format!("one of {}", either(&KINDS)));
            None
        }
        (Some(k), _) => {
            let text = cx.string(&f, "kind", None);
            let found = text
                .as_deref()
                .and_then(|t| KINDS.iter().find(|kind| **kind == t).copied());
            match (text, found, want) {
                (Some(_), Some(found), Some(want)) if found != want => {
                    cx.error(
                        k.location,
                        &f.path("kind"),
                        format!("expected an inline {want} here, found {found}"),
                    );
                    None
                }
                (Some(_), Some(found), _) => Some(found),
                (Some(t), None, _) => {
                    let mut d = Diagnostic::error(
                        k.location,
                        f.path("kind"),
                        format!("unknown kind `{t}`"),
                    );
                    d = match names::closest(&t, &KINDS) {
                        Some(near) => d.with_help(format!("did you mean `{near}`?")),
                        None => d.with_help(format!("expected one of {}", either(&KINDS))),
                    };
                    cx.push(d);
                    None
                }
                (None, _, _) => None,
            }
        }
    };
    let Some(meta) = f.get("metadata") else {
        cx.missing(&f, "metadata", "the object's `name`");
        return None;
    };
    let m = cx.fields(
        meta,
        &f.path("metadata"),
        &["name", "displayName", "labels", "annotations"],
    )?;
    let name = if kind == Some("SLO") {
        cx.slo_name(&m, "name")
    } else {
        cx.string(&m, "name", Some("the object's name"))
    };
    let (kind, name, name_node) = (kind?, name?, m.get("name")?);
    let spec = f.get("spec");
    if spec.is_none() {
        cx.missing(&f, "spec", &format!("the {kind}'s definition"));
    }
    Some(Object {
        kind,
        path: if path.is_empty() {
            format!("{kind}/{name}.spec")
        } else {
            format!("{path}.spec")
        },
        name,
        name_node,
        spec,
    })
}

pub(super) fn data_source(cx: &mut Cx, node: &Node, path: &str) -> Option<String> {
    let f = cx.fields(node, path, &["description", "type", "connectionDetails"])?;
    cx.string(&f, "type", Some("the source's type, e.g. Prometheus"))
}

/// An OpenSLO duration: a whole number and one unit. `m` is minutes, `M`
/// months. Zero is refused: windows and periods need a length.
pub(super) fn duration(cx: &mut Cx, f: &Fields<'_>, name: &str) -> Option<(Duration, Location)> {
    any_duration(cx, f, name, false)
}

/// [`duration`], accepting zero when `zero_ok` (`alertAfter: 0m`, no wait,
/// is a valid `for`).
pub(super) fn any_duration(
    cx: &mut Cx,
    f: &Fields<'_>,
    name: &str,
    zero_ok: bool,
) -> Option<(Duration, Location)> {
    let node = f.get(name)?;
    let path = f.path(name);
    let Some(text) = node
        .as_scalar()
        .filter(|_| matches!(node.kind, Kind::Scalar { .. }))
    else {
        cx.error(
            node.location,
            &path,
            format!(
                "expected a duration such as 1h or 28d, found {}",
                node.describe()
            ),
        );
        return None;
    };
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let shaped = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let parsed = match unit {
        "M" | "Q" | "Y" if shaped => {
            cx.push(
                Diagnostic::error(
                    node.location,
                    path,
                    format!("`{text}`: months, quarters and years have no fixed length, and alert windows need one"),
                )
                .with_help("write the period in days or weeks, e.g. 30d or 4w"),
            );
            return None;
        }
        "m" | "h" | "d" | "w" if shaped => text
            .parse::<Duration>()
            .map_err(|e| e.to_string())
            .and_then(|d| crate::check::duration(d).map(|()| d)),
        _ => Err(format!(
            "`{text}` is not an OpenSLO duration: expected a whole number and one unit, m (minutes), h, d or w (e.g. 5m, 1h, 28d)"
        )),
    };
    match parsed {
        Ok(d) if d.is_zero() && !zero_ok => {
            cx.error(
                node.location,
                &path,
                format!("`{name}` must be longer than 0"),
            );
            None
        }
        Ok(d) => Some((d, node.location)),
        Err(why) => {
            cx.error(node.location, &path, why);
            None
        }
    }
}

/// An item that is either `{REF: name}`, looked up in `known`, or an inline
/// object of kind `kind`, read by `read`.
pub(super) fn resolve<T: Clone>(
    cx: &mut Cx,
    item: &Node,
    path: &str,
    reference: &str,
    kind: &'static str,
    read: impl FnOnce(&mut Cx, &Object<'_>) -> Option<T>,
    known: &Named<T>,
) -> Option<T> {
    let is_ref = matches!(&item.kind, Kind::Map(pairs)
        if pairs.iter().any(|(k, _)| k.as_scalar() == Some(reference)));
    if !is_ref {
        let object = header(cx, item, path, Some(kind))?;
        return read(cx, &object);
    }
    let f = cx.fields(item, path, &[reference])?;
    let name = cx.string(&f, reference, None)?;
    match known.get(&name) {
        Some(found) => found.clone(),
        None => {
            let loc = f.get(reference).map_or(item.location, |n| n.location);
            cx.error(
                loc,
                &f.path(reference),
                format!("no {kind} named `{name}` in this file"),
            );
            None
        }
    }
}
