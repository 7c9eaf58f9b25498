//! The one YAML scalar writer of the crate, and a small, deterministic YAML
//! writer for generated rule files.
//!
//! Two kinds of files are written: Prometheus rule files ([`Writer`], used by
//! [`rules`](crate::rules)) and slo/v1 specs ([`native`](crate::native)).
//! Both carry user text (label values, annotations, hand-written PromQL) that
//! may hold quotes, backslashes, `#`, `{{ }}`, newlines or words YAML 1.1
//! reads as booleans (`on`, `yes`). Prometheus reads rule files with a YAML
//! 1.1-minded parser, so every scalar is written in the safest style that
//! still reads well:
//!
//! - plain, only for text that no YAML version reads as anything but this
//!   string; what counts as plain is the one thing the two kinds of files
//!   differ in ([`Plain`]);
//! - single-quoted for other printable one-line text (PromQL with `"`, `{`,
//!   `#`), where only `'` needs doubling;
//! - double-quoted with escapes for anything with control characters, line
//!   breaks, or a leading or trailing space;
//! - a literal block (`|-`, or `|` for one final line break) for multi-line
//!   text whose lines are printable and carry no trailing spaces ([`block`]).
//!
//! Output depends only on the input: no maps with random order, no floats
//! printed here (callers use [`num::format`](crate::num::format)).

use std::fmt::Write as _;

/// Words that YAML 1.1 or 1.2 resolve to null, booleans or special floats,
/// in any letter case.
const SPECIAL_WORDS: [&str; 12] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "~",
];

/// Which text may be written as a plain scalar.
///
/// Both sets are safe in block context for YAML 1.1 and 1.2 alike; they
/// differ so that each kind of file reads naturally. Rule files are full of
/// metric names (`slo:sli_error:ratio_rate5m`), specs of sentences
/// (`it's up`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Plain {
    /// Identifier-like text: letters, digits, `_ : . / -`, no spaces (rule
    /// files).
    #[default]
    Names,
    /// Words: letters, digits, `_ . / - ( ) '` and single spaces between
    /// words, but no `:`, so that nothing looks like `key: value` (specs;
    /// also safe in flow sequences, where the names of `group_by` go).
    Words,
}

impl Plain {
    fn allows(self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || match self {
                Plain::Names => matches!(c, '_' | ':' | '.' | '/' | '-'),
                Plain::Words => matches!(c, '_' | '.' | '/' | '-' | ' ' | '(' | ')' | '\''),
            }
    }
}

fn plain_ok(s: &str, style: Plain) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphanumeric() || first == '_')
        && s.chars().all(|c| style.allows(c))
        // A trailing space would be dropped, and runs of spaces are easy to
        // misread: both go to quotes.
        && !s.ends_with(' ')
        && !s.contains("  ")
        // `a:` at the end of a plain scalar starts a mapping (found by the
        // read-back property: `key: a:` does not parse).
        && !s.ends_with(':')
        && !reads_as_another_type(s)
}

/// True when some YAML reader could take `s`, written plain, for null, a
/// boolean or a number rather than a string.
fn reads_as_another_type(s: &str) -> bool {
    if SPECIAL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
        || s.parse::<f64>().is_ok()
        || crate::yaml::parse_yaml_float(s).is_some()
    {
        return true;
    }
    let mut chars = s.chars();
    let (Some(first), second) = (chars.next(), chars.next()) else {
        return false;
    };
    if !first.is_ascii_digit() {
        return false;
    }
    // 0x1F, 0o17 and 0b1 are integers somewhere.
    if first == '0' && second.is_some_and(|c| c.is_ascii_alphabetic()) {
        return true;
    }
    // Anything else that starts like a number may be read as one (1_000,
    // 1:30 sexagesimal and 2001-12-14 dates in YAML 1.1); durations such as
    // 5m start with a digit too but end in a unit letter, which no number
    // does.
    let ends_in_unit = s.ends_with(['s', 'm', 'h', 'd', 'w', 'y']);
    !(ends_in_unit && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Characters a single-quoted or block scalar can hold: everything but
/// controls and the characters some YAML readers take for line breaks or a
/// byte-order mark.
fn printable(c: char) -> bool {
    !(c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'))
}

/// A one-line YAML scalar for `s` in a rule file ([`Plain::Names`]).
pub(crate) fn scalar(s: &str) -> String {
    scalar_with(s, Plain::Names)
}

/// A one-line YAML scalar that reads back as `s`: plain when `style` allows
/// and nothing could read it as another type, single-quoted when it can
/// be, else double-quoted with escapes.
pub(crate) fn scalar_with(s: &str, style: Plain) -> String {
    if plain_ok(s, style) {
        return s.to_owned();
    }
    // Leading and trailing spaces are legal in single quotes, but easy to
    // lose when text is copied: the escapes of double quotes make them seen.
    if s.chars().all(printable) && !s.starts_with(' ') && !s.ends_with(' ') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

/// `s` as a double-quoted YAML scalar with every special character escaped.
pub(crate) fn double_quoted(s: &str) -> String {
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

/// `s` as a literal block scalar, for the value of a key at `indent`: the
/// header (`|-`, or `|` when `s` ends with one line break) then each line
/// at `indent + 2`. `None` unless the block reads back exactly: several
/// lines, all printable, none with trailing spaces, the first not indented,
/// at most one final line break, and no tabs (some readers take a tab for
/// indentation).
pub(crate) fn block(s: &str, indent: usize) -> Option<String> {
    let (text, header) = match s.strip_suffix('\n') {
        None => (s, "|-"),
        Some(body) => (body, "|"),
    };
    let ok = text.contains('\n')
        && !text.starts_with([' ', '\n'])
        && !text.ends_with('\n')
        && text.chars().all(|c| c == '\n' || printable(c))
        && !text.lines().any(|l| l.ends_with(' '));
    if !ok {
        return None;
    }
    let mut out = header.to_owned();
    for line in text.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            let _ = write!(out, "{:w$}{line}", "", w = indent + 2);
        }
    }
    Some(out)
}

/// An indenting writer of block mappings and sequences.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: String,
}

impl Writer {
    /// An empty document.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A `# comment` line (each line of `text` prefixed).
    pub(crate) fn comment(&mut self, indent: usize, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.out, "{:indent$}# {line}", "");
        }
    }

    /// `key:` opening a nested block; `dash` starts a sequence item.
    pub(crate) fn open(&mut self, indent: usize, dash: bool, key: &str) {
        let _ = writeln!(self.out, "{}{}:", prefix(indent, dash), scalar(key));
    }

    /// `key: value` with the value quoted as needed; multi-line text becomes a
    /// literal block.
    pub(crate) fn field(&mut self, indent: usize, dash: bool, key: &str, value: &str) {
        let value = block(value, indent).unwrap_or_else(|| scalar(value));
        let _ = writeln!(self.out, "{}{}: {value}", prefix(indent, dash), scalar(key));
    }

    /// `key: []`.
    pub(crate) fn empty_list(&mut self, indent: usize, key: &str) {
        let _ = writeln!(self.out, "{:indent$}{}: []", "", scalar(key));
    }

    /// A mapping of string keys to string values under `key`, or nothing
    /// when it is empty.
    pub(crate) fn map<'a>(
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
    pub(crate) fn finish(self) -> String {
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
        assert_eq!(scalar("0x1d"), "'0x1d'");
        assert_eq!(scalar("2001-12-14"), "'2001-12-14'");
        // Specs write sentences plain, and quote what looks like a key.
        assert_eq!(scalar_with("it's up", Plain::Words), "it's up");
        assert_eq!(scalar_with("a:b", Plain::Words), "'a:b'");
        assert_eq!(scalar_with("a  b", Plain::Words), "'a  b'");
        assert_eq!(scalar_with("5xx", Plain::Words), "'5xx'");
    }

    #[test]
    fn blocks_keep_one_final_line_break() {
        assert_eq!(block("a\nb\n", 0).as_deref(), Some("|\n  a\n  b"));
        assert_eq!(block("a\n\nb", 2).as_deref(), Some("|-\n    a\n\n    b"));
        assert_eq!(block("a\nb\n\n", 0), None);
        assert_eq!(block("one line", 0), None);
        assert_eq!(block("a\tb\nc", 0), None);
        assert_eq!(block(" a\nb", 0), None);
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

    /// What the crate's YAML reader reads back from `key: <value>`.
    fn read_back(value: &str) -> Option<String> {
        let docs = crate::yaml::parse(&format!("key: {value}\n")).ok()?;
        let crate::yaml::Kind::Map(pairs) = &docs.first()?.kind else {
            return None;
        };
        pairs.first()?.1.as_scalar().map(str::to_owned)
    }

    #[test]
    fn a_trailing_colon_is_quoted() {
        assert_eq!(scalar("a:"), "'a:'");
        assert_eq!(read_back(&scalar("slo:sli:")), Some("slo:sli:".to_owned()));
        assert_eq!(
            scalar("slo:sli_error:ratio_rate5m"),
            "slo:sli_error:ratio_rate5m"
        );
    }

    proptest::proptest! {
        #[test]
        fn rule_file_scalars_read_back(s in "\\PC*|[ -~\\t\\n\\r\u{85}\u{2028}\u{feff}]{0,40}") {
            proptest::prop_assert_eq!(read_back(&scalar(&s)), Some(s));
        }
    }
}
