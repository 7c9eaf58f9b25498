//! Reading history from OpenMetrics text, the format
//! `promtool tsdb create-blocks-from openmetrics` backfills from.
//!
//! Each sample line is `name{label="value",...} value timestamp`, the
//! timestamp in **seconds** (fractions allowed). `# TYPE`, `# HELP`, `# UNIT`
//! and other comments are skipped, exemplars (`# {...} 1.0`) ignored, and
//! `# EOF` ends the data. Every malformed line is reported with its line and
//! column, not only the first.
//!
//! What the text format allows but a replay cannot use is refused: a sample
//! without a timestamp, and a timestamp that reads as a year after 5000 (a
//! millisecond timestamp written where seconds belong: `promtool` accepts it
//! silently and the data lands in the far future). Samples Prometheus would
//! drop (out of order, duplicate timestamps, non-finite values) are dropped
//! with one warning per series.
//!
//! ```
//! use slo_core::openmetrics;
//!
//! let data = openmetrics::parse(r#"# TYPE http_requests counter
//! http_requests_total{job="api",code="200"} 0 1700000000
//! http_requests_total{code="200",job="api"} 60 1700000060
//! ## EOF
//! "#).map_err(|d| d[0].to_string())?;
//! assert_eq!(data.len(), 1);
//! let (key, series) = data.iter().next().ok_or("no series")?;
//! assert_eq!(key.to_string(), r#"http_requests_total{code="200",job="api"}"#);
//! assert_eq!(series.times(), [1_700_000_000_000, 1_700_000_060_000]);
//!
//! let errors = openmetrics::parse("up{job=\"api\" 1 1700000000\n").err().unwrap_or_default();
//! assert_eq!(errors[0].to_string(), "1:14: error: expected `,` or `}` after a label, found `1`");
//! # Ok::<(), String>(())
//! ```

use std::collections::HashMap;

use crate::dataset::{Dataset, SeriesKey};
use crate::diagnostic::{Diagnostic, Location};
use crate::series::{Rejected, Series};
use crate::spec::Labels;
use crate::time::Timestamp;

/// Errors reported before giving up on a file: past this many, the rest of
/// the file is likely broken the same way.
const MAX_ERRORS: usize = 100;

/// Seconds past which a timestamp is taken for milliseconds (year 5138).
const MAX_SECONDS: f64 = 1e11;

/// Parses a file, returning the data only when no line has an error.
/// Warnings (dropped samples) are discarded; see [`check`].
pub fn parse(src: &str) -> Result<Dataset, Vec<Diagnostic>> {
    match check(src) {
        (Some(data), _) => Ok(data),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// Parses a file and returns every problem found, in file order. The data
/// is `Some` exactly when no diagnostic is an error.
pub fn check(src: &str) -> (Option<Dataset>, Vec<Diagnostic>) {
    let mut p = Parser::default();
    let mut offset = 0;
    let mut ended: Option<usize> = None;
    for (index, raw_line) in src.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let line_offset = offset;
        offset += raw_line.len();
        if ended.is_some() {
            if !line.trim().is_empty() {
                p.error(line_no, line, line_offset, 0, "content after `# EOF`");
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim() == "EOF" {
                ended = Some(line_no);
            }
            continue;
        }
        if let Err((at, message)) = p.sample(line, line_no, line_offset) {
            p.error(line_no, line, line_offset, at, message);
        }
        if p.errors >= MAX_ERRORS {
            p.diags.push(Diagnostic::error(
                Location {
                    line: line_no,
                    column: 1,
                    offset: line_offset,
                    len: 1,
                },
                "",
                format!("more than {MAX_ERRORS} errors: giving up on the rest of the file"),
            ));
            break;
        }
    }
    p.warn_dropped();
    if ended.is_none() && p.errors < MAX_ERRORS && !src.trim().is_empty() {
        // At the file's last character, where the marker should follow
        // (and after any error on that line, in sorted order).
        let text = src.trim_end();
        let start = text.rfind('\n').map_or(0, |i| i + 1);
        let line = src[..start].split_inclusive('\n').count() + 1;
        let (offset, last) = text.char_indices().next_back().unwrap_or((0, ' '));
        p.diags.push(
            Diagnostic::warning(
                Location {
                    line,
                    column: text[start..offset].chars().count() + 1,
                    offset,
                    len: last.len_utf8(),
                },
                "",
                "no `# EOF` line: the file may be truncated (an export or copy cut short), so the history may end early",
            )
            .with_help("OpenMetrics text ends with `# EOF`; add it if the file is complete"),
        );
    }
    let ok = p.errors == 0;
    let mut data = Dataset::new();
    for (key, series) in p.series {
        data.insert(key, series);
    }
    let mut diags = p.diags;
    diags.sort_by_key(|d| (d.location.line, d.location.column));
    (ok.then_some(data), diags)
}

/// Samples dropped from one series, for one warning per series.
struct Dropped {
    first_line: usize,
    first_offset: usize,
    count: usize,
    why: Rejected,
}

#[derive(Default)]
struct Parser<'a> {
    /// Series in order of first appearance.
    series: Vec<(SeriesKey, Series)>,
    /// The series text as written (`name{...}`) to its index: most lines
    /// repeat a series spelled the same way, so labels are parsed once.
    by_text: HashMap<&'a str, usize>,
    by_key: HashMap<SeriesKey, usize>,
    dropped: HashMap<usize, Dropped>,
    diags: Vec<Diagnostic>,
    errors: usize,
}

type LineError = (usize, String);

impl<'a> Parser<'a> {
    fn error(
        &mut self,
        line_no: usize,
        line: &str,
        line_offset: usize,
        at: usize,
        message: impl Into<String>,
    ) {
        let at = at.min(line.len());
        let column = line.get(..at).map_or(at, |s| s.chars().count()) + 1;
        let len = line
            .get(at..)
            .and_then(|r| r.chars().next())
            .map_or(1, char::len_utf8);
        self.diags.push(Diagnostic::error(
            Location {
                line: line_no,
                column,
                offset: line_offset + at,
                len,
            },
            "",
            message,
        ));
        self.errors += 1;
    }

    fn sample(
        &mut self,
        line: &'a str,
        line_no: usize,
        line_offset: usize,
    ) -> Result<(), LineError> {
        let mut cur = Cursor { s: line, pos: 0 };
        let name_end = cur.metric_name()?;
        let series_end = if cur.peek() == Some('{') {
            cur.labels(false)?;
            cur.pos
        } else {
            name_end
        };
        let series_text = &line[..series_end];
        cur.spaces(true)?;
        let value_at = cur.pos;
        let value = cur.word();
        let value: f64 =
            parse_float(value).ok_or_else(|| (value_at, format!("`{value}` is not a number")))?;
        if cur.at_end() || cur.rest().starts_with('#') {
            return Err((cur.pos, "missing timestamp: a replay needs the time of every sample (Unix seconds after the value)".to_owned()));
        }
        cur.spaces(true)?;
        let ts_at = cur.pos;
        let ts_text = cur.word();
        let seconds = parse_float(ts_text)
            .filter(|s| s.is_finite())
            .ok_or_else(|| {
                (
                    ts_at,
                    format!("`{ts_text}` is not a timestamp (Unix seconds)"),
                )
            })?;
        if seconds.abs() >= MAX_SECONDS {
            return Err((
                ts_at,
                format!(
                    "timestamp `{ts_text}` is after the year 5000: OpenMetrics timestamps are in seconds, not milliseconds"
                ),
            ));
        }
        let t = (seconds * 1000.0).round() as Timestamp;
        let after = cur.pos;
        cur.skip_spaces();
        if !cur.at_end() && !cur.rest().starts_with('#') {
            return Err((
                after.max(cur.pos),
                format!("unexpected `{}` after the timestamp", cur.rest()),
            ));
        }
        let index = match self.by_text.get(series_text) {
            Some(&i) => i,
            None => {
                let key = parse_key(line, name_end, series_end)?;
                let i = match self.by_key.get(&key) {
                    Some(&i) => i,
                    None => {
                        let i = self.series.len();
                        self.by_key.insert(key.clone(), i);
                        self.series.push((key, Series::new()));
                        i
                    }
                };
                self.by_text.insert(series_text, i);
                i
            }
        };
        if let Some((_, series)) = self.series.get_mut(index)
            && let Err(why) = series.push(t, value)
        {
            self.dropped
                .entry(index)
                .and_modify(|d| d.count += 1)
                .or_insert(Dropped {
                    first_line: line_no,
                    first_offset: line_offset,
                    count: 1,
                    why,
                });
        }
        Ok(())
    }

    fn warn_dropped(&mut self) {
        let mut dropped: Vec<(usize, &Dropped)> =
            self.dropped.iter().map(|(i, d)| (*i, d)).collect();
        dropped.sort_by_key(|(_, d)| d.first_line);
        for (i, d) in dropped {
            let Some((key, _)) = self.series.get(i) else {
                continue;
            };
            let why = match d.why {
                Rejected::NotFinite => "a NaN or infinite value",
                Rejected::OutOfOrder => "older than the series' latest sample",
                Rejected::Duplicate => "a timestamp the series already has",
            };
            let more = if d.count > 1 {
                format!(" (and {} more samples of this series)", d.count - 1)
            } else {
                String::new()
            };
            self.diags.push(
                Diagnostic::warning(
                    Location {
                        line: d.first_line,
                        column: 1,
                        offset: d.first_offset,
                        len: 1,
                    },
                    "",
                    format!("sample of {key} dropped: {why}{more}"),
                )
                .with_help(
                    "Prometheus drops such samples too; samples of a series must be in time order",
                ),
            );
        }
    }
}

/// Reads the key from a line whose name ends at `name_end` and whose labels
/// (if any) end at `series_end`; the syntax was checked already.
fn parse_key(line: &str, name_end: usize, series_end: usize) -> Result<SeriesKey, LineError> {
    let mut labels = Labels::new();
    if series_end > name_end {
        let mut cur = Cursor {
            s: &line[..series_end],
            pos: name_end,
        };
        for (name_at, name, value) in cur.labels(true)? {
            if name == "__name__" {
                return Err((
                    name_at,
                    "`__name__` cannot be a label here: write the metric name before the braces"
                        .to_owned(),
                ));
            }
            if labels.insert(name.to_owned(), value).is_some() {
                return Err((name_at, format!("label `{name}` is repeated")));
            }
        }
    }
    Ok(SeriesKey {
        name: line[..name_end].to_owned(),
        labels,
    })
}

/// Rust reads `inf`, `infinity` and `nan` in any case; the exposition
/// formats write `+Inf`, `-Inf` and `NaN`, which are among them.
fn parse_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    s.parse().ok()
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the line".to_owned(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// At least one space (`required`) or any.
    fn spaces(&mut self, required: bool) -> Result<(), LineError> {
        let before = self.pos;
        self.skip_spaces();
        if required && self.pos == before {
            return Err((
                self.pos,
                format!("expected a space, found {}", self.found()),
            ));
        }
        Ok(())
    }

    /// Up to the next space or the end.
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// A metric name; returns where it ends.
    fn metric_name(&mut self) -> Result<usize, LineError> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
            })
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return Err((
                self.pos,
                format!("expected a metric name, found {}", self.found()),
            ));
        }
        self.pos += len;
        Ok(self.pos)
    }

    /// `{name="value",...}` (a trailing comma and spaces allowed), returning
    /// each label's position, name and unescaped value when `collect` is set
    /// (checking the syntax alone allocates nothing).
    fn labels(&mut self, collect: bool) -> Result<Vec<(usize, &'a str, String)>, LineError> {
        let mut out = Vec::new();
        self.pos += 1; // the `{`
        loop {
            self.skip_spaces();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(out);
            }
            let name_at = self.pos;
            let rest = self.rest();
            let len = rest
                .char_indices()
                .find(|&(i, c)| {
                    !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()))
                })
                .map_or(rest.len(), |(i, _)| i);
            if len == 0 {
                return Err((
                    self.pos,
                    format!("expected a label name or `}}`, found {}", self.found()),
                ));
            }
            let name = &rest[..len];
            self.pos += len;
            self.skip_spaces();
            if self.peek() != Some('=') {
                return Err((
                    self.pos,
                    format!("expected `=` after label `{name}`, found {}", self.found()),
                ));
            }
            self.pos += 1;
            self.skip_spaces();
            if self.peek() != Some('"') {
                return Err((
                    self.pos,
                    format!(
                        "expected a quoted value for label `{name}`, found {}",
                        self.found()
                    ),
                ));
            }
            let open = self.pos;
            self.pos += 1;
            let mut value = String::new();
            loop {
                let Some(c) = self.peek() else {
                    return Err((open, format!("the value of label `{name}` is never closed")));
                };
                self.pos += c.len_utf8();
                match c {
                    '"' => break,
                    '\\' => {
                        let escaped = self.peek();
                        match escaped {
                            Some('\\') if collect => value.push('\\'),
                            Some('"') if collect => value.push('"'),
                            Some('n') if collect => value.push('\n'),
                            Some('\\' | '"' | 'n') => {}
                            _ => {
                                return Err((self.pos - 1, "unknown escape: label values escape only `\\\\`, `\\\"` and `\\n`".to_owned()));
                            }
                        }
                        self.pos += 1;
                    }
                    c if collect => value.push(c),
                    _ => {}
                }
            }
            if collect {
                out.push((name_at, name, value));
            }
            self.skip_spaces();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => {
                    return Err((
                        self.pos,
                        format!("expected `,` or `}}` after a label, found {}", self.found()),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        check(src).1.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reads_series_and_merges_spellings() {
        let src = "# HELP x help\n# TYPE x counter\nx_total 1 10\nx_total{a=\"1\"} 2 10.5\n\nx_total{ a = \"1\" , } 3 11 # {trace_id=\"abc\"} 1.0 10.9\n# EOF\n";
        let (data, diags) = check(src);
        assert!(diags.is_empty(), "{diags:?}");
        let data = data.unwrap_or_default();
        assert_eq!(data.len(), 2);
        let key = SeriesKey::new("x_total", [("a", "1")]);
        assert_eq!(
            data.get(&key).map(Series::times),
            Some(&[10_500, 11_000][..])
        );
    }

    /// Regression (issue 12): a file without `# EOF` (cut short by a
    /// copy) was read silently; now a warning at its last line says it may
    /// be truncated, and the data is still read.
    #[test]
    fn missing_eof_warns_that_the_file_may_be_truncated() {
        let (data, diags) = check("m 1 1\nm 2 2\n\n");
        assert_eq!(data.map(|d| d.len()), Some(1));
        let [d] = diags.as_slice() else {
            panic!("{diags:?}");
        };
        assert!(!d.is_error());
        assert_eq!((d.location.line, d.location.column), (2, 5));
        assert!(d.message.contains("may be truncated"), "{d:?}");
        let (_, diags) = check("m 1 1\n# EOF\n");
        assert!(diags.is_empty(), "{diags:?}");
        // A truncated last line mid-sample is an error of its own, plus the warning.
        let (data, diags) = check("m 1 1\nm 2");
        assert!(data.is_none());
        assert!(
            diags.iter().any(|d| d.message.contains("may be truncated")),
            "{diags:?}"
        );
    }

    #[test]
    fn unescapes_label_values() {
        let data = parse("m{a=\"x\\\"y\\\\z\\n\"} 1 1\n").unwrap_or_default();
        let key = SeriesKey::new("m", [("a", "x\"y\\z\n")]);
        assert!(data.get(&key).is_some());
        assert_eq!(key.to_string(), "m{a=\"x\\\"y\\\\z\\n\"}");
    }

    #[test]
    fn reports_every_bad_line_with_its_place() {
        let src = "ok 1 1\n{a=\"b\"} 1 1\nm{a=b} 1 1\nm{a=\"b\"} x 1\nm 1\nm 1 1700000000000\nm 1 1 extra\nm{a=\"b\",a=\"c\"} 1 1\nm{a=\"\\t\"} 1 1\n# EOF\nm 1 2\n";
        assert_eq!(
            errors(src),
            [
                "2:1: error: expected a metric name, found `{`",
                "3:5: error: expected a quoted value for label `a`, found `b`",
                "4:10: error: `x` is not a number",
                "5:4: error: missing timestamp: a replay needs the time of every sample (Unix seconds after the value)",
                "6:5: error: timestamp `1700000000000` is after the year 5000: OpenMetrics timestamps are in seconds, not milliseconds",
                "7:7: error: unexpected `extra` after the timestamp",
                "8:9: error: label `a` is repeated",
                "9:6: error: unknown escape: label values escape only `\\\\`, `\\\"` and `\\n`",
                "11:1: error: content after `# EOF`",
            ]
        );
    }

    #[test]
    fn warns_once_per_series_about_dropped_samples() {
        let (data, diags) = check("m 1 10\nm 2 5\nm 3 4\nm NaN 20\nn 1 1\n# EOF\n");
        assert!(data.is_some());
        let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "2:1: warning: sample of m dropped: older than the series' latest sample (and 2 more samples of this series)"
            ]
        );
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for src in [
            "\u{feff}m 1 1",
            "m{é=\"1\"} 1 1",
            "m{a=\"é",
            "m 1 1é",
            "é",
            "m{",
            "m{a",
            "m{a=",
            "m{a=\"\\",
            "\r\n\r\n",
            "m 1 NaN",
            "m 1 -1e400",
        ] {
            let _ = check(src);
        }
    }
}
