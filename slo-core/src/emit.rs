//! A small, deterministic YAML writer for generated files.
//!
//! Generated files carry user text (label values, annotations, hand-written
//! PromQL) that may hold quotes, backslashes, `#`, `{{ }}`, newlines or
//! words YAML 1.1 reads as booleans (`on`, `yes`). Prometheus reads rule files
//! with a YAML 1.1 parser, so every scalar is written in the safest style
//! that still reads well:
//!
//! - plain, only for identifier-like text that no YAML version reads as
//!   anything but a string (`slo:sli_error:ratio_rate5m`, `5m`, `page`);
//! - single-quoted for other printable one-line text (PromQL with `"`, `{`,
//!   `#`), where only `'` needs doubling;
//! - double-quoted with escapes for anything with control characters or
//!   line breaks;
//! - a literal block (`|-`) for multi-line expressions whose lines are
//!   printable and carry no trailing spaces.
//!
//! Output depends only on the input: no maps with random order, no floats
//! printed here (callers use [`num::format`](crate::num::format)).

use std::fmt::Write as _;

/// Words that YAML 1.1 or 1.2 resolve to null, booleans or numbers.
const SPECIAL_WORDS: [&str; 18] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "~", "Y", "N",
    "Yes", "No", "On", "Off",
];

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_' || first.is_ascii_digit()) {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '/' | '-'))
    {
        return false;
    }
    // Anything that starts like a number may be read as one (1, 0x1, 1e3,
    // 1_000, 1:30 sexagesimal in YAML 1.1); durations such as 5m start with
    // a digit too but end in a unit letter, which no number does.
    if first.is_ascii_digit() {
        let ends_in_unit = s.ends_with(['s', 'm', 'h', 'd', 'w', 'y']);
        let digits_and_units = s.chars().all(|c| c.is_ascii_alphanumeric());
        if !(ends_in_unit && digits_and_units) {
            return false;
        }
    }
    let lower = s.to_ascii_lowercase();
    !SPECIAL_WORDS.contains(&s)
        && !matches!(
            lower.as_str(),
            "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "y" | "n"
        )
}

fn printable(c: char) -> bool {
    !(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
}

/// A YAML scalar for `s`, quoted as needed (see the module docs).
pub fn scalar(s: &str) -> String {
    if plain_ok(s) {
        return s.to_owned();
    }
    if s.chars().all(printable) && !s.starts_with(' ') && !s.ends_with(' ') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

/// `s` as a double-quoted YAML scalar with every special character escaped.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if !printable(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True when `s` can be written as a literal block: several lines, all
/// printable, none with trailing spaces, the first not indented.
fn block_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with('\n')
        && s.lines()
            .all(|l| l.chars().all(printable) && !l.ends_with([' ', '\t']) && !l.contains('\t'))
}

/// An indenting writer of block mappings and sequences.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `# comment` line (each line of `text` prefixed).
    pub fn comment(&mut self, indent: usize, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.out, "{:indent$}# {line}", "");
        }
    }

    /// `key:` opening a nested block; `dash` starts a sequence item.
    pub fn open(&mut self, indent: usize, dash: bool, key: &str) {
        let _ = writeln!(self.out, "{}{}:", prefix(indent, dash), scalar(key));
    }

    /// `key: value` with the value quoted as needed; multi-line text becomes a
    /// literal block.
    pub fn field(&mut self, indent: usize, dash: bool, key: &str, value: &str) {
        let p = prefix(indent, dash);
        if block_ok(value) {
            let _ = writeln!(self.out, "{p}{}: |-", scalar(key));
            let inner = indent + 2;
            for line in value.lines() {
                if line.is_empty() {
                    self.out.push('\n');
                } else {
                    let _ = writeln!(self.out, "{:inner$}{line}", "");
                }
            }
        } else {
            let _ = writeln!(self.out, "{p}{}: {}", scalar(key), scalar(value));
        }
    }

    /// `key: []`.
    pub fn empty_list(&mut self, indent: usize, key: &str) {
        let _ = writeln!(self.out, "{:indent$}{}: []", "", scalar(key));
    }

    /// A `- value` sequence item.
    pub fn item(&mut self, indent: usize, value: &str) {
        let _ = writeln!(self.out, "{:indent$}- {}", "", scalar(value));
    }

    /// A mapping of string keys to string values under `key`, or nothing
    /// when it is empty.
    pub fn map<'a>(
        &mut self,
        indent: usize,
        key: &str,
        entries: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) {
        let mut entries = entries.into_iter().peekable();
        if entries.peek().is_none() {
            return;
        }
        self.open(indent, false, key);
        for (k, v) in entries {
            self.field(indent + 2, false, k, v);
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Indentation, with the sequence dash taking the last two columns.
fn prefix(indent: usize, dash: bool) -> String {
    if dash {
        format!("{:w$}- ", "", w = indent.saturating_sub(2))
    } else {
        format!("{:indent$}", "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_styles() {
        assert_eq!(
            scalar("slo:sli_error:ratio_rate5m"),
            "slo:sli_error:ratio_rate5m"
        );
        assert_eq!(scalar("5m"), "5m");
        assert_eq!(scalar("1"), "'1'");
        assert_eq!(scalar("1e3"), "'1e3'");
        assert_eq!(scalar("on"), "'on'");
        assert_eq!(scalar("No"), "'No'");
        assert_eq!(scalar(""), "''");
        assert_eq!(scalar("it's"), "'it''s'");
        assert_eq!(scalar(r#"x{a="b"} # c"#), r#"'x{a="b"} # c'"#);
        assert_eq!(scalar("a\"b\\c\nd}"), r#""a\"b\\c\nd}""#);
        assert_eq!(scalar(" lead"), "\" lead\"");
        assert_eq!(scalar("bell\u{7}"), r#""bell\u0007""#);
    }

    #[test]
    fn blocks_for_multi_line_text() {
        let mut w = Writer::new();
        w.field(4, true, "expr", "a\n  and\nb");
        w.field(4, false, "summary", "trailing \nspace");
        assert_eq!(
            w.finish(),
            "  - expr: |-\n      a\n        and\n      b\n    summary: \"trailing \\nspace\"\n"
        );
    }
}
