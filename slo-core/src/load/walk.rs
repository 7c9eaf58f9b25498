//! A walk over a located YAML tree ([`yaml`](crate::yaml)), the ground
//! every spec format is read on: a mapping is checked against the fields a
//! place allows ([`Cx::fields`]), values are read with their place (strings,
//! numbers, booleans, durations, label maps), and every problem is collected
//! as a [`Diagnostic`] with its field path, instead of stopping at the first.

use crate::diagnostic::{Diagnostic, Location};
use crate::duration::Duration;
use crate::names;
use crate::spec::Labels;
use crate::yaml::{Kind, Node};

/// The walk's state: problems found so far, and where each SLO is defined.
/// Every format's reader walks with one, so that every format is checked by
/// the same helpers.
#[derive(Default)]
pub(crate) struct Cx {
    pub(super) diags: Vec<Diagnostic>,
    /// Where each SLO's name was read, for reporting duplicates across files.
    pub(super) places: Vec<SloPlace>,
}

/// Where an SLO is defined in its file: the place of its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SloPlace {
    /// The service.
    pub service: String,
    /// The SLO's name.
    pub name: String,
    /// The place of the name.
    pub location: Location,
}

/// A mapping whose keys have been checked against the fields a place allows.
pub(crate) struct Fields<'a> {
    pub(crate) node: &'a Node,
    pub(crate) path: String,
    pub(crate) pairs: Vec<(&'a str, &'a Node, &'a Node)>,
}

impl<'a> Fields<'a> {
    pub(crate) fn get(&self, name: &str) -> Option<&'a Node> {
        self.pairs
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, _, v)| *v)
    }

    /// The location of a field's key, for errors about the field as a whole.
    pub(crate) fn key_location(&self, name: &str) -> Location {
        self.pairs
            .iter()
            .find(|(k, _, _)| *k == name)
            .map_or(self.node.location, |(_, k, _)| k.location)
    }

    pub(crate) fn path(&self, name: &str) -> String {
        join(&self.path, name)
    }
}

pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A field path and its location, for problems found after reading.
pub(crate) type Blame = (String, Location);
impl Cx {
    pub(crate) fn error(&mut self, location: Location, field: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(location, field, message));
    }

    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Records where the SLO `name` of `service` is defined.
    pub(crate) fn place(&mut self, service: &str, name: &str, location: Location) {
        self.places.push(SloPlace {
            service: service.to_owned(),
            name: name.to_owned(),
            location,
        });
    }

    /// Checks that `node` is a mapping whose keys are among `allowed`, each
    /// once. Unknown and duplicate keys are reported and skipped.
    pub(crate) fn fields<'a>(
        &mut self,
        node: &'a Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Fields<'a>> {
        let Kind::Map(pairs) = &node.kind else {
            self.error(
                node.location,
                path,
                format!("expected a mapping, found {}", node.describe()),
            );
            return None;
        };
        let mut fields = Fields {
            node,
            path: path.to_owned(),
            pairs: Vec::with_capacity(pairs.len()),
        };
        for (key, value) in pairs {
            let Some(name) = key.as_scalar() else {
                self.error(
                    key.location,
                    path,
                    format!("expected a field name, found {}", key.describe()),
                );
                continue;
            };
            if let Some((_, first, _)) = fields.pairs.iter().find(|(k, _, _)| *k == name) {
                let line = first.location.line;
                self.error(
                    key.location,
                    &join(path, name),
                    format!("duplicate field `{name}` (first set on line {line})"),
                );
                continue;
            }
            if !allowed.contains(&name) {
                let message = match names::closest(name, allowed) {
                    Some(near) => format!("unknown field `{name}`: did you mean `{near}`?"),
                    None => format!("unknown field `{name}`"),
                };
                self.push(
                    Diagnostic::error(key.location, join(path, name), message)
                        .with_help(format!("expected one of: {}", allowed.join(", "))),
                );
                continue;
            }
            fields.pairs.push((name, key, value));
        }
        Some(fields)
    }

    pub(crate) fn missing(&mut self, f: &Fields<'_>, name: &str, what: &str) {
        let location = f.node.key.unwrap_or(f.node.location);
        self.error(
            location,
            &f.path(name),
            format!("missing field `{name}`: expected {what}"),
        );
    }

    /// A required or optional string field (any non-null scalar).
    pub(crate) fn string(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        required: Option<&str>,
    ) -> Option<String> {
        let Some(node) = f.get(name) else {
            if let Some(what) = required {
                self.missing(f, name, what);
            }
            return None;
        };
        match node.as_scalar() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.error(
                    node.location,
                    &f.path(name),
                    format!("expected a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    pub(crate) fn number(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        what: &str,
    ) -> Option<(f64, Location)> {
        let node = f.get(name)?;
        match node.as_f64() {
            Some(x) => Some((x, node.location)),
            None => {
                self.error(
                    node.location,
                    &f.path(name),
                    format!("expected {what}, found {}", describe_value(node)),
                );
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, f: &Fields<'_>, name: &str) -> Option<bool> {
        let node = f.get(name)?;
        let b = node.as_bool();
        if b.is_none() {
            self.error(
                node.location,
                &f.path(name),
                format!("expected true or false, found {}", describe_value(node)),
            );
        }
        b
    }

    pub(crate) fn duration(&mut self, f: &Fields<'_>, name: &str) -> Option<(Duration, Location)> {
        let node = f.get(name)?;
        let path = f.path(name);
        let Some(text) = node
            .as_scalar()
            .filter(|_| !matches!(node.kind, Kind::Seq(_)))
        else {
            self.error(
                node.location,
                &path,
                format!(
                    "expected a duration such as 5m or 30d, found {}",
                    node.describe()
                ),
            );
            return None;
        };
        match text
            .parse::<Duration>()
            .map_err(|e| e.to_string())
            .and_then(|d| crate::check::duration(d).map(|()| d))
        {
            Ok(d) => Some((d, node.location)),
            Err(e) => {
                self.error(node.location, &path, e.to_string());
                None
            }
        }
    }

    /// A positive duration (windows and periods cannot be `0s`).
    pub(crate) fn positive_duration(
        &mut self,
        f: &Fields<'_>,
        name: &str,
    ) -> Option<(Duration, Location)> {
        let (d, loc) = self.duration(f, name)?;
        if d.is_zero() {
            self.error(
                loc,
                &f.path(name),
                format!("`{name}` must be longer than 0s"),
            );
            return None;
        }
        Some((d, loc))
    }

    /// A required, non-empty list field.
    pub(crate) fn list<'a>(
        &mut self,
        f: &Fields<'a>,
        name: &str,
        what: &str,
    ) -> Option<&'a [Node]> {
        let Some(node) = f.get(name) else {
            self.missing(f, name, what);
            return None;
        };
        match &node.kind {
            Kind::Seq(items) if !items.is_empty() => Some(items),
            _ => {
                self.error(
                    node.location,
                    &f.path(name),
                    format!("expected {what}, found {}", describe_value(node)),
                );
                None
            }
        }
    }

    /// A map of label (or annotation) names to string values.
    pub(crate) fn labels(&mut self, f: &Fields<'_>, name: &str, kind: &str) -> Labels {
        let mut labels = Labels::new();
        let Some(node) = f.get(name) else {
            return labels;
        };
        if node.is_null() {
            return labels;
        }
        let path = f.path(name);
        let Kind::Map(pairs) = &node.kind else {
            self.error(
                node.location,
                &path,
                format!(
                    "expected a mapping of {kind} names to values, found {}",
                    node.describe()
                ),
            );
            return labels;
        };
        for (key, value) in pairs {
            let Some(k) = key.as_scalar() else {
                self.error(
                    key.location,
                    &path,
                    format!("expected a {kind} name, found {}", key.describe()),
                );
                continue;
            };
            let field = join(&path, k);
            if let Err(why) = names::check_label_name(k) {
                self.error(
                    key.location,
                    &field,
                    format!("invalid {kind} name `{k}`: {why}"),
                );
                continue;
            }
            if labels.contains_key(k) {
                self.error(key.location, &field, format!("duplicate {kind} `{k}`"));
                continue;
            }
            let Some(v) = value
                .as_scalar()
                .filter(|_| matches!(value.kind, Kind::Scalar { .. }))
            else {
                self.error(
                    value.location,
                    &field,
                    format!(
                        "expected a string value for {kind} `{k}`, found {}",
                        value.describe()
                    ),
                );
                continue;
            };
            labels.insert(k.to_owned(), v.to_owned());
        }
        labels
    }
}

pub(crate) fn empty_map(location: Location) -> Node {
    Node {
        kind: Kind::Map(Vec::new()),
        location,
        key: None,
    }
}

/// The value of `key` in a mapping node, if it is one and has the key.
pub(crate) fn map_value<'a>(map: &'a Node, key: &str) -> Option<&'a Node> {
    match &map.kind {
        Kind::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The location of `key` in a mapping node, the node's own when absent.
pub(crate) fn key_location(map: &Node, key: &str) -> Location {
    match &map.kind {
        Kind::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map_or(map.location, |(k, _)| k.location),
        _ => map.location,
    }
}

/// "a string (`99.9%`)" for messages about a wrongly typed value.
pub(crate) fn describe_value(node: &Node) -> String {
    match node.as_scalar() {
        Some(s) if matches!(node.kind, Kind::Scalar { .. }) => {
            format!("{} (`{}`)", node.describe(), truncate(s, 40))
        }
        _ => node.describe().to_owned(),
    }
}

/// "a, b or c".
pub(crate) fn either(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}
