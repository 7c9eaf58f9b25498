//! A YAML tree that remembers where every node came from.
//!
//! Serde stops at the first error; a spec must report every problem with its
//! line and column. So specs are read in two steps: this module parses YAML
//! (with the event parser that `serde-saphyr` is built on) into a tree of
//! located nodes, then [`load`](crate::load) walks the tree, collecting
//! diagnostics as it goes.
//!
//! Aliases are expanded with a budget, and nesting is bounded, so no input
//! can exhaust memory or the stack.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span};

use crate::diagnostic::{Diagnostic, Location};

/// Deepest nesting accepted; specs need fewer than ten levels.
const MAX_DEPTH: usize = 128;
/// Most nodes a file may expand to through aliases (a "billion laughs" guard).
const MAX_NODES: usize = 1_000_000;

/// A located YAML node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Where it starts.
    pub location: Location,
    /// For a mapping's value, where its key is: the place to blame for
    /// what the value lacks ("missing field" errors).
    pub key: Option<Location>,
}

/// The three kinds of YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar's text, and whether it was written plain (unquoted): only
    /// plain scalars can be null, booleans or numbers.
    Scalar {
        /// The text after YAML escapes.
        text: String,
        /// True for unquoted, non-block scalars.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, as key/value pairs in file order (duplicates kept, so the
    /// loader can report them).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// True for `~`, `null` or an empty plain scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar's text, for any non-null scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// The node as a number, for plain scalars that read as one.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => parse_yaml_float(text),
            _ => None,
        }
    }

    /// The node as a boolean, for plain `true`/`false`.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A word for the node's type, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Scalar { .. } if self.is_null() => "nothing (null)",
            Kind::Scalar { .. } if self.as_bool().is_some() => "a boolean",
            Kind::Scalar { .. } if self.as_f64().is_some() => "a number",
            Kind::Scalar { .. } => "a string",
        }
    }
}

/// YAML 1.2 core-schema floats, plus the `.inf`/`.nan` spellings.
pub(crate) fn parse_yaml_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    // Rust also parses "inf", "NaN" and "infinity": YAML does not.
    let first = digits.chars().next()?;
    if !(first.is_ascii_digit() || first == '.') {
        return None;
    }
    text.parse().ok()
}

/// The location of `start..end` in `src`. The byte range always lies inside
/// `src` on character boundaries, so renderers can slice the source with it:
/// an empty range (a parser error, an empty node) covers the character at
/// `start`, and is empty only at the end of the input.
fn location(src: &str, start: &Marker, end: &Marker) -> Location {
    let offset = floor_char_boundary(src, start.byte_offset().unwrap_or(0));
    let end_offset = end
        .byte_offset()
        .map_or(offset, |e| ceil_char_boundary(src, e.max(offset)));
    let len = if end_offset > offset {
        end_offset - offset
    } else {
        src[offset..].chars().next().map_or(0, char::len_utf8)
    };
    Location {
        line: start.line().max(1),
        column: start.col() + 1,
        offset,
        len,
    }
}

/// The largest character boundary of `src` at or before `i`.
fn floor_char_boundary(src: &str, i: usize) -> usize {
    let mut i = i.min(src.len());
    while !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest character boundary of `src` at or after `i` (at most its
/// length).
fn ceil_char_boundary(src: &str, i: usize) -> usize {
    let mut i = i.min(src.len());
    while !src.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn span_location(src: &str, span: &Span) -> Location {
    location(src, &span.start, &span.end)
}

/// The location of the start of `src`: its first character, or nothing for
/// an empty input.
pub(crate) fn start_of(src: &str) -> Location {
    Location {
        line: 1,
        column: 1,
        offset: 0,
        len: src.chars().next().map_or(0, char::len_utf8),
    }
}

/// A collection being built.
enum Open {
    Seq(Location, usize, Vec<Node>),
    Map(Location, usize, Vec<(Node, Node)>, Option<Node>),
}

/// Parses every document of `src`. A syntax error is one diagnostic at the
/// place the parser stopped; there is no sensible tree to go on with.
pub fn parse(src: &str) -> Result<Vec<Node>, Diagnostic> {
    let mut documents = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut budget = MAX_NODES;

    for event in Parser::new_from_str(src) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            let mut message = format!("invalid YAML: {}", e.info());
            if e.info().contains("block scalar") {
                // `op: >=`: the value starts with a block scalar indicator.
                message.push_str(
                    " (`>` and `|` begin a block scalar in YAML: quote a value that starts with them, e.g. `op: \">=\"`)",
                );
            }
            Diagnostic::error(location(src, m, m), "", message)
        })?;
        let node = match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node {
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    location: span_location(src, &span),
                    key: None,
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(Diagnostic::error(
                        span_location(src, &span),
                        "",
                        "invalid YAML: alias to an unknown anchor",
                    ));
                };
                let size = count(target);
                budget = budget.checked_sub(size).ok_or_else(|| {
                    Diagnostic::error(
                        span_location(src, &span),
                        "",
                        format!("aliases expand this file beyond {MAX_NODES} nodes"),
                    )
                })?;
                let mut node = target.clone();
                node.location = span_location(src, &span);
                node.key = None;
                node
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Diagnostic::error(
                        span_location(src, &span),
                        "",
                        format!("YAML nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let loc = span_location(src, &span);
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq(loc, anchor, Vec::new())
                } else {
                    Open::Map(loc, anchor, Vec::new(), None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Open::Seq(location, anchor, items)) => (
                        Node {
                            kind: Kind::Seq(items),
                            location,
                            key: None,
                        },
                        anchor,
                    ),
                    Some(Open::Map(location, anchor, pairs, _)) => (
                        Node {
                            kind: Kind::Map(pairs),
                            location,
                            key: None,
                        },
                        anchor,
                    ),
                    None => continue,
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::DocumentEnd => {
                anchors.clear();
                continue;
            }
            _ => continue,
        };
        budget = budget.checked_sub(1).ok_or_else(|| {
            Diagnostic::error(
                node.location,
                "",
                format!("this file has more than {MAX_NODES} nodes"),
            )
        })?;
        match stack.last_mut() {
            None => documents.push(node),
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, pairs, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let mut value = node;
                    value.key = Some(k.location);
                    pairs.push((k, value));
                }
            },
        }
    }
    Ok(documents)
}

fn count(node: &Node) -> usize {
    match &node.kind {
        Kind::Scalar { .. } => 1,
        Kind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Kind::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nodes() {
        let docs = parse("a: 1\nb:\n  - x\n  - 'y'\n").unwrap_or_default();
        let Some(Node {
            kind: Kind::Map(pairs),
            ..
        }) = docs.first()
        else {
            panic!("expected a map: {docs:?}");
        };
        assert_eq!(pairs[1].0.location.line, 2);
        let Kind::Seq(items) = &pairs[1].1.kind else {
            panic!("expected a list");
        };
        assert_eq!((items[1].location.line, items[1].location.column), (4, 5));
        assert_eq!(items[1].as_scalar(), Some("y"));
        assert_eq!(items[1].as_f64(), None);
        assert_eq!(pairs[0].1.as_f64(), Some(1.0));
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let err = parse("a: [1, 2\nb: 3\n").err();
        assert!(err.is_some_and(|d| d.location.line >= 1 && d.message.contains("invalid YAML")));
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&src).err();
        assert!(err.is_some_and(|d| d.message.contains("nodes")));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = "[".repeat(10_000);
        assert!(parse(&src).is_err());
    }

    #[test]
    fn yaml_numbers_not_rust_numbers() {
        assert_eq!(parse_yaml_float("inf"), None);
        assert_eq!(parse_yaml_float("NaN"), None);
        assert_eq!(parse_yaml_float("1e3"), Some(1000.0));
        assert_eq!(parse_yaml_float("-0.5"), Some(-0.5));
        assert!(parse_yaml_float(".nan").is_some_and(f64::is_nan));
    }

    /// Every byte range lies inside the source on character boundaries.
    fn assert_inside(src: &str, loc: Location) {
        let end = loc.offset + loc.len;
        assert!(end <= src.len(), "{loc:?} past the end of {src:?}");
        assert!(
            src.is_char_boundary(loc.offset) && src.is_char_boundary(end),
            "{loc:?} splits a character of {src:?}"
        );
        assert!(
            loc.len > 0 || loc.offset == src.len(),
            "{loc:?} empty on text"
        );
    }

    #[test]
    fn error_spans_never_split_characters_or_pass_the_end() {
        // Regression: a parser error (an empty marker range) was given one
        // byte, which split multi-byte characters (a BOM or U+FFFD where the
        // parser stopped) and ran past the end when it stopped at the end of
        // the input, so renderers slicing the source would fail.
        for src in [
            "\u{FFFD}\u{e}",
            "version:\n  version: \u{FEFF}\n",
            "a: [",
            "%",
            "é: &",
        ] {
            let err = parse(src).err();
            let Some(d) = err else {
                panic!("{src:?} should not parse");
            };
            assert_inside(src, d.location);
        }
        let bom = parse("version:\n  version: \u{FEFF}\n").err();
        assert_eq!(
            bom.map(|d| (d.location.offset, d.location.len)),
            Some((20, 3))
        );
        // Stopped at the end of the input: an empty range there.
        let eof = parse("%").err();
        assert_eq!(
            eof.map(|d| (d.location.offset, d.location.len)),
            Some((1, 0))
        );
    }

    #[test]
    fn node_spans_stay_inside_the_input() {
        let src = "é: ñ\nlist:\n- 日本\n- {}\n";
        let docs = parse(src).unwrap_or_default();
        fn walk(src: &str, node: &Node) {
            assert_inside(src, node.location);
            match &node.kind {
                Kind::Scalar { .. } => {}
                Kind::Seq(items) => items.iter().for_each(|n| walk(src, n)),
                Kind::Map(pairs) => pairs.iter().for_each(|(k, v)| {
                    walk(src, k);
                    walk(src, v);
                }),
            }
        }
        assert_eq!(docs.len(), 1);
        docs.iter().for_each(|d| walk(src, d));
    }
}
