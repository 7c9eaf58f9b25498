//! A YAML tree that remembers where every node came from.
//!
//! Serde stops at the first error; a spec must report every problem with its
//! line and column. So specs are read in two steps: this module parses YAML
//! (with the event parser that `serde-saphyr` is built on) into a tree of
//! located nodes, then [`load`](crate::load) walks the tree, collecting
//! diagnostics as it goes.
//!
//! The tree's expanded size (see [`expanded_size`]) is bounded by
//! [`MAX_EXPANDED_BYTES`], counted before anything is copied, and nesting is
//! bounded, so no input can exhaust memory or the stack: an alias copies its
//! anchor's whole subtree, so a small file aliasing a large scalar many times
//! (an "alias bomb") would otherwise allocate gigabytes.
//!
//! ```
//! use slo_core::yaml;
//!
//! let docs = yaml::parse("a: [1, 2]\n").map_err(|d| d.to_string())?;
//! assert!(yaml::expanded_size(&docs[0]) <= yaml::MAX_EXPANDED_BYTES);
//! // Aliases are counted as what they copy, and refused past the bound.
//! let aliases = "a: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n";
//! assert!(yaml::parse(aliases).is_ok());
//! assert!(yaml::parse_limited(aliases, 4 * yaml::NODE_BYTES).is_err());
//! # Ok::<(), String>(())
//! ```

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, Span};

use crate::diagnostic::{Diagnostic, Location};

/// Deepest nesting accepted; specs need fewer than ten levels.
const MAX_DEPTH: usize = 128;
/// Most bytes a file's tree may take once aliases are expanded: scalar text
/// counted once per copy, plus [`NODE_BYTES`] per node. Nodes, not only
/// text, count, so a "billion laughs" of empty scalars is bounded too. A
/// real spec of 1 MB expands to well under 16 MiB.
pub const MAX_EXPANDED_BYTES: usize = 64 << 20;
/// What one node costs on top of its scalar text.
pub const NODE_BYTES: usize = std::mem::size_of::<Node>();

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
    parse_limited(src, MAX_EXPANDED_BYTES)
}

/// [`parse`] with a smaller budget than [`MAX_EXPANDED_BYTES`] (for fuzzing
/// the bound cheaply): the documents' [`expanded_size`] never exceeds
/// `max_bytes`.
pub fn parse_limited(src: &str, max_bytes: usize) -> Result<Vec<Node>, Diagnostic> {
    let mut documents = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Each anchor with its expanded size, so an alias is priced without
    // walking its subtree.
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    // Sizes of the open collections, to price them when they close.
    let mut sizes: Vec<usize> = Vec::new();
    let mut budget = max_bytes;

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
        let (node, size) = match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let size = NODE_BYTES.saturating_add(text.len());
                budget = spend(budget, size, || too_large(max_bytes))
                    .map_err(|m| Diagnostic::error(span_location(src, &span), "", m))?;
                let node = Node {
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    location: span_location(src, &span),
                    key: None,
                };
                if anchor != 0 {
                    budget = keep_anchor(budget, max_bytes, size, src, &span)?;
                    anchors.insert(anchor, (node.clone(), size));
                }
                (node, size)
            }
            Event::Alias(id) => {
                let Some((target, size)) = anchors.get(&id) else {
                    return Err(Diagnostic::error(
                        span_location(src, &span),
                        "",
                        "invalid YAML: alias to an unknown anchor",
                    ));
                };
                // Priced before the copy, so a refused alias allocates nothing.
                budget = spend(budget, *size, || {
                    format!(
                        "aliases expand this file beyond {} (this alias copies {size} bytes); \
                         write the value out or use fewer aliases",
                        mib(max_bytes)
                    )
                })
                .map_err(|m| Diagnostic::error(span_location(src, &span), "", m))?;
                let mut node = target.clone();
                node.location = span_location(src, &span);
                node.key = None;
                (node, *size)
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Diagnostic::error(
                        span_location(src, &span),
                        "",
                        format!("YAML nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                budget = spend(budget, NODE_BYTES, || too_large(max_bytes))
                    .map_err(|m| Diagnostic::error(span_location(src, &span), "", m))?;
                sizes.push(NODE_BYTES);
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
                let size = sizes.pop().unwrap_or(NODE_BYTES);
                if anchor != 0 {
                    budget = keep_anchor(budget, max_bytes, size, src, &span)?;
                    anchors.insert(anchor, (node.clone(), size));
                }
                (node, size)
            }
            Event::DocumentEnd => {
                anchors.clear();
                continue;
            }
            _ => continue,
        };
        if let Some(open) = sizes.last_mut() {
            *open = open.saturating_add(size);
        }
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

/// Takes `cost` from `budget`, or says why not.
fn spend(budget: usize, cost: usize, why: impl FnOnce() -> String) -> Result<usize, String> {
    budget.checked_sub(cost).ok_or_else(why)
}

fn too_large(max_bytes: usize) -> String {
    format!("this file's YAML is larger than {}", mib(max_bytes))
}

/// `64 MiB`, or bytes for limits under a MiB.
fn mib(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Charges the copy of an anchored node kept for its aliases: nested
/// anchors each keep a copy, so they are bounded too.
fn keep_anchor(
    budget: usize,
    max_bytes: usize,
    size: usize,
    src: &str,
    span: &Span,
) -> Result<usize, Diagnostic> {
    spend(budget, size, || {
        format!(
            "this file's YAML and its anchors are larger than {}",
            mib(max_bytes)
        )
    })
    .map_err(|m| Diagnostic::error(span_location(src, span), "", m))
}

/// The bytes `node` takes by the measure [`parse`] bounds: [`NODE_BYTES`]
/// per node plus each scalar's text, counted once per copy.
pub fn expanded_size(node: &Node) -> usize {
    NODE_BYTES.saturating_add(match &node.kind {
        Kind::Scalar { text, .. } => text.len(),
        Kind::Seq(items) => items.iter().map(expanded_size).sum::<usize>(),
        Kind::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| expanded_size(k).saturating_add(expanded_size(v)))
            .sum::<usize>(),
    })
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
        assert!(err.is_some_and(|d| d.message.contains("aliases expand this file beyond")));
    }

    #[test]
    fn alias_bomb_of_a_large_scalar_is_refused_at_the_alias() {
        // Regression (issue 12): a 1 MB scalar aliased 2,500 times expanded
        // to 2.6 GB, under the old budget of a million nodes.
        let mut src = format!("big: &big {}\nlist:\n", "x".repeat(1 << 20));
        src.push_str(&"  - *big\n".repeat(2_500));
        let err = parse(&src).err();
        let Some(d) = err else {
            panic!("the alias bomb parsed");
        };
        assert!(
            d.message.contains("aliases expand this file beyond 64 MiB"),
            "{d:?}"
        );
        // Refused at an alias, well before the last: about 62 copies fit.
        assert!(d.location.line > 3 && d.location.line < 70, "{d:?}");
        assert_eq!(d.location.column, 5);
    }

    #[test]
    fn expanded_size_of_an_accepted_tree_is_within_the_limit() {
        let mut src = format!("big: &big {}\nlist:\n", "x".repeat(1 << 20));
        src.push_str(&"  - *big\n".repeat(40));
        let docs = parse(&src).unwrap_or_default();
        let size: usize = docs.iter().map(expanded_size).sum();
        assert!(size > 41 << 20 && size <= MAX_EXPANDED_BYTES, "{size}");
    }

    #[test]
    fn nested_anchors_are_charged() {
        // Every anchor keeps a copy of its subtree: 100 nested anchors over
        // a 1 MB scalar would keep 100 MB.
        let mut src = String::new();
        for i in 0..100 {
            src.push_str(&format!("{}- &a{i}\n", "  ".repeat(i)));
        }
        src.push_str(&format!("{}- {}\n", "  ".repeat(100), "x".repeat(1 << 20)));
        let err = parse(&src).err();
        assert!(err.is_some_and(|d| d.message.contains("anchors are larger than")));
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
