//! PromQL series selectors (`metric{label="value",code=~"5.."}`), read and
//! matched against recorded series the way Prometheus matches them.
//!
//! - `=` and `!=` compare strings; `=~` and `!~` match a regular expression
//!   **anchored at both ends** (`5..` matches `503`, not `1503`), with `.`
//!   matching newlines, as Prometheus compiles `^(?s:re)$`.
//! - A label a series does not have matches as the empty string, so
//!   `{env=""}` selects series without `env`.
//! - The metric name is a `__name__` matcher; it may also be given as one.
//!
//! Regexes use the `regex` crate, whose syntax is that of Go's RE2 minus
//! nothing a selector is likely to use.
//!
//! ```
//! use slo_core::dataset::SeriesKey;
//! use slo_core::selector::Selector;
//!
//! let sel: Selector = r#"http_requests_total{job="checkout",code=~"5.."}"#.parse()?;
//! assert!(sel.matches(&SeriesKey::new("http_requests_total", [("job", "checkout"), ("code", "503")])));
//! assert!(!sel.matches(&SeriesKey::new("http_requests_total", [("job", "checkout"), ("code", "1503")])));
//! assert!(!sel.matches(&SeriesKey::new("http_requests_total", [("job", "cart"), ("code", "500")])));
//! # Ok::<(), slo_core::errors::SelectorError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use regex::Regex;

use crate::dataset::{Dataset, SeriesKey};
use crate::errors::SelectorError;
use crate::series::Series;

/// How a matcher compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The label (`__name__` for the metric name).
    pub label: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or regex as written (unescaped).
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// A matcher; fails only for a regex that does not compile.
    pub fn new(label: &str, op: MatchOp, value: &str) -> Result<Self, SelectorError> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|e| SelectorError::Regex {
                    label: label.to_owned(),
                    message: e.to_string(),
                })?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            label: label.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// True when `value` (empty for a missing label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // Built by `new`, a regex op always has its regex.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

/// A series selector: an optional metric name and label matchers, all of
/// which must match.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Selector {
    /// The metric name, when given before the braces.
    pub metric: Option<String>,
    /// The label matchers (a `__name__` matcher stays here).
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// True when `key` satisfies the name and every matcher.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.metric.as_ref().is_none_or(|m| *m == key.name)
            && self.matchers.iter().all(|m| m.matches(key.label(&m.label)))
    }

    /// The series of `data` that match.
    pub fn select<'d>(&self, data: &'d Dataset) -> Vec<(&'d SeriesKey, &'d Series)> {
        match &self.metric {
            Some(name) => data.metric(name).filter(|(k, _)| self.matches(k)).collect(),
            None => data.iter().filter(|(k, _)| self.matches(k)).collect(),
        }
    }

    /// This selector with `matcher` added.
    pub fn with(mut self, matcher: Matcher) -> Self {
        self.matchers.push(matcher);
        self
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = &self.metric {
            f.write_str(m)?;
        }
        if self.matchers.is_empty() && self.metric.is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}{}{:?}", m.label, m.op.as_str(), m.value)?;
        }
        f.write_str("}")
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    /// Reads `metric`, `metric{matchers}` or `{matchers}`; an empty string
    /// is the selector that matches everything.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::read(s, true)
    }
}

impl Selector {
    /// Reads a selector for its terms only, without compiling its regexes
    /// (the costly part of reading one): such a selector's regex matchers
    /// match nothing, so it is for reading and rewriting, never matching.
    pub(crate) fn terms(s: &str) -> Result<Self, SelectorError> {
        Selector::read(s, false)
    }

    fn read(s: &str, compile: bool) -> Result<Self, SelectorError> {
        let mut p = Reader { s, pos: 0 };
        p.spaces();
        let mut sel = Selector::default();
        let name = p.take_while(|i, c| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
        });
        if !name.is_empty() {
            sel.metric = Some(name.to_owned());
        }
        p.spaces();
        if p.eat('{') {
            loop {
                p.spaces();
                if p.eat('}') {
                    break;
                }
                let label = p.take_while(|i, c| {
                    c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())
                });
                if label.is_empty() {
                    return Err(p.error(format!(
                        "expected a label name or `}}`, found {}",
                        p.found()
                    )));
                }
                p.spaces();
                let op = if p.eat_str("=~") {
                    MatchOp::Regex
                } else if p.eat_str("!~") {
                    MatchOp::NotRegex
                } else if p.eat_str("!=") {
                    MatchOp::NotEqual
                } else if p.eat('=') {
                    MatchOp::Equal
                } else {
                    return Err(p.error(format!(
                        "expected =, !=, =~ or !~ after `{label}`, found {}",
                        p.found()
                    )));
                };
                p.spaces();
                let value = p.string()?;
                sel.matchers.push(if compile {
                    Matcher::new(label, op, &value)?
                } else {
                    Matcher {
                        label: label.to_owned(),
                        op,
                        value,
                        regex: None,
                    }
                });
                p.spaces();
                if p.eat(',') {
                    continue;
                }
                if p.eat('}') {
                    break;
                }
                return Err(p.error(format!("expected `,` or `}}`, found {}", p.found())));
            }
            p.spaces();
        }
        if p.pos < s.len() {
            return Err(p.error(format!("unexpected {} after the selector", p.found())));
        }
        Ok(sel)
    }
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn error(&self, message: String) -> SelectorError {
        SelectorError::Syntax {
            at: self.pos,
            message,
        }
    }

    fn found(&self) -> String {
        match self.rest().chars().next() {
            None => "the end".to_owned(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, ok: impl Fn(usize, char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| !ok(i, c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        &rest[..len]
    }

    /// A PromQL string: `"..."` or `'...'` with Go escapes, or a raw
    /// `` `...` ``.
    fn string(&mut self) -> Result<String, SelectorError> {
        let open_at = self.pos;
        let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'))
        else {
            return Err(self.error(format!("expected a quoted value, found {}", self.found())));
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                return Err(SelectorError::Syntax {
                    at: open_at,
                    message: format!("the {quote} quote is never closed"),
                });
            };
            self.pos += c.len_utf8();
            if c == quote {
                return Ok(out);
            }
            if c != '\\' || quote == '`' {
                out.push(c);
                continue;
            }
            let Some(e) = self.rest().chars().next() else {
                continue;
            };
            self.pos += e.len_utf8();
            out.push(match e {
                'a' => '\u{7}',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'v' => '\u{b}',
                '\\' | '\'' | '"' => e,
                _ => {
                    return Err(SelectorError::Syntax {
                        at: self.pos - e.len_utf8() - 1,
                        message: format!("unknown escape `\\{e}` (in a regex, write `\\\\{e}`)"),
                    });
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(name, labels.iter().copied())
    }

    #[test]
    fn all_four_operators() {
        let k = key("x", &[("code", "503"), ("job", "api")]);
        assert!(sel(r#"x{code="503"}"#).matches(&k));
        assert!(!sel(r#"x{code!="503"}"#).matches(&k));
        assert!(sel(r#"x{code=~"5.."}"#).matches(&k));
        assert!(!sel(r#"x{code!~"5..|4.."}"#).matches(&k));
        assert!(sel(r#"x{code=~"5"}"#).matches(&key("x", &[("code", "5")])));
        assert!(!sel(r#"x{code=~"5"}"#).matches(&k), "regexes are anchored");
        assert!(!sel("y").matches(&k));
        assert!(sel(r#"{__name__="x",job='api'}"#).matches(&k));
        assert!(sel(r#"{__name__=~"x|y"}"#).matches(&k));
    }

    #[test]
    fn missing_labels_are_empty() {
        let k = key("x", &[("job", "api")]);
        assert!(sel(r#"x{env=""}"#).matches(&k));
        assert!(sel(r#"x{env!="prod"}"#).matches(&k));
        assert!(!sel(r#"x{env=~".+"}"#).matches(&k));
    }

    #[test]
    fn strings_and_escapes() {
        let s = sel(r#" x { path =~ "/a\\.b" , q=`\d`, r='it\'s' , } "#);
        assert_eq!(s.matchers[0].value, r"/a\.b");
        assert_eq!(s.matchers[1].value, r"\d");
        assert_eq!(s.matchers[2].value, "it's");
        assert!(s.matchers[0].matches("/a.b"));
        assert!(!s.matchers[0].matches("/aXb"));
    }

    #[test]
    fn errors_say_where() {
        let err = |s: &str| s.parse::<Selector>().err().map(|e| e.to_string());
        assert_eq!(
            err(r#"x{a="b""#).as_deref(),
            Some("expected `,` or `}`, found the end (at character 8)")
        );
        assert_eq!(
            err(r#"x{a~"b"}"#).as_deref(),
            Some("expected =, !=, =~ or !~ after `a`, found `~` (at character 4)")
        );
        assert_eq!(
            err(r#"x{a="b}"#).as_deref(),
            Some("the \" quote is never closed (at character 5)")
        );
        assert_eq!(
            err(r#"x{a="\d"}"#).as_deref(),
            Some("unknown escape `\\d` (in a regex, write `\\\\d`) (at character 6)")
        );
        assert!(err(r#"x{a=~"("}"#).is_some_and(|e| e.contains("does not compile")));
        assert!(err("rate(x[5m])").is_some());
        assert_eq!(sel(""), Selector::default());
    }
}
