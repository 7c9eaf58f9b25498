//! What Prometheus itself checks when it loads a rule file, checked while a
//! spec is read, so that what `validate` accepts `promtool check rules`
//! accepts: PromQL through a real parser (`promql-parser`), Go-template
//! syntax of alert labels and annotations, and Prometheus's duration limit.
//!
//! ```
//! use slo_core::check;
//!
//! assert!(check::query("sum(rate(x[{{.window}}]))").is_ok());
//! assert!(check::selector(r#"x{desti~ation="a"}"#).is_err());
//! assert!(check::template("{{ $value | humanize }}").is_ok());
//! assert!(check::template("{{ $value | humanize }").is_err());
//! ```

use std::collections::BTreeSet;

use crate::duration::Duration;
use crate::names;
use crate::rules::{Naming, Rule, RuleFile};
use crate::spec::{Labels, Slo, Spec, WINDOW_PLACEHOLDER};

/// The longest duration Prometheus accepts (`for`, ranges): Go's
/// `time.Duration`, int64 nanoseconds, is about 292 years; `293y` is
/// "duration out of range".
pub const MAX_DURATION: Duration = Duration::from_millis(i64::MAX as u64 / 1_000_000);

/// Checks that Prometheus can hold `d` (see [`MAX_DURATION`]).
pub fn duration(d: Duration) -> Result<(), String> {
    if d > MAX_DURATION {
        Err(format!(
            "`{d}` is out of Prometheus's range: durations are int64 nanoseconds, at most {MAX_DURATION} (about 292y)"
        ))
    } else {
        Ok(())
    }
}

/// Parses `q` as Prometheus would, with `{{.window}}` standing for a range.
pub fn query(q: &str) -> Result<(), String> {
    names::check_balanced(q)?;
    parse(&q.replace(WINDOW_PLACEHOLDER, "5m"))
}

/// Checks a series selector (`metric{matchers}`) with the real parser.
pub fn selector(s: &str) -> Result<(), String> {
    names::check_selector(s)?;
    match promql_parser::parser::parse(s.trim()) {
        Ok(promql_parser::parser::Expr::VectorSelector(_)) => Ok(()),
        Ok(_) => Err("it is not a series selector".to_owned()),
        Err(e) => Err(parse_error(&e)),
    }
}

/// Checks label matchers in braces (`{job="api"}`) with the real parser.
pub fn matchers(m: &str) -> Result<(), String> {
    names::check_matchers(m)?;
    if m.trim().is_empty() {
        return Ok(());
    }
    selector(&format!("x{}", m.trim()))
}

fn parse(q: &str) -> Result<(), String> {
    // The Rust parser accepts some identifiers Prometheus 2.x's lexer does
    // not: metric and label names are ASCII there.
    if let Some(c) = non_ascii_outside_strings(q) {
        return Err(format!(
            "`{c}` outside a string: PromQL names are ASCII letters, digits, `_` and `:`"
        ));
    }
    promql_parser::parser::parse(q)
        .map(|_| ())
        .map_err(|e| parse_error(&e))
}

fn parse_error(e: &str) -> String {
    format!("PromQL does not parse: {}", e.trim())
}

fn non_ascii_outside_strings(q: &str) -> Option<char> {
    let mut chars = q.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                while let Some(d) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
            }
            '#' => {
                // A comment runs to the end of the line.
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            c if !c.is_ascii() => return Some(c),
            _ => {}
        }
    }
    None
}

/// Problems Prometheus would find in the rules generated for `slo`: every
/// expression parsed (rules and the evaluator's queries at every window),
/// every alert label and annotation parsed as a template. The checks of
/// each field while reading make this empty; it guards the combination.
pub fn generated(slo: &Slo) -> Vec<String> {
    use crate::promql::{self, Counter};
    let spec = Spec {
        service: slo.service.clone(),
        labels: Labels::new(),
        slos: vec![slo.clone()],
    };
    let file = RuleFile::from_specs_with(std::slice::from_ref(&spec), Naming::Native);
    let mut problems = Vec::new();
    for group in &file.groups {
        for rule in &group.rules {
            let (name, expr) = match rule {
                Rule::Recording(r) => (&r.record, &r.expr),
                Rule::Alerting(a) => (&a.alert, &a.expr),
            };
            if let Err(e) = parse(expr) {
                problems.push(format!(
                    "the generated rule `{name}` would not load: {e}\n  {expr}"
                ));
            }
            if let Rule::Alerting(a) = rule {
                for (k, v) in a.labels.iter().chain(&a.annotations) {
                    if let Err(e) = template(v) {
                        problems.push(format!("the generated alert `{name}` would not load: `{k}`: broken template: {e}"));
                    }
                }
            }
        }
    }
    for w in crate::rules::recorded_windows(slo) {
        let mut queries = vec![promql::error_ratio(&slo.sli, w)];
        for f in [Counter::Rate, Counter::Increase] {
            queries.extend(promql::bad_events(&slo.sli, w, f));
            queries.extend(promql::total_events(&slo.sli, w, f));
        }
        for q in queries {
            if let Err(e) = parse(&q) {
                problems.push(format!(
                    "the query for the {w} window would not run: {e}\n  {q}"
                ));
            }
        }
    }
    problems
}

/// Functions of Prometheus 2.42's alert templates: Go's built-ins and
/// Prometheus's own. Any other name is "function not defined".
const FUNCTIONS: [&str; 45] = [
    "and",
    "call",
    "html",
    "index",
    "slice",
    "js",
    "len",
    "not",
    "or",
    "print",
    "printf",
    "println",
    "urlquery",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "ne",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
    "stripDomain",
];

/// Variables Prometheus defines before expanding an alert template.
const VARIABLES: [&str; 5] = ["$", "$labels", "$externalLabels", "$externalURL", "$value"];

/// Checks Go-template syntax of an alert label or annotation as Prometheus
/// parses it (`text/template` with its functions and variables): balanced
/// `{{ }}`, trim markers, comments, pipelines of known functions, defined
/// variables, and `if`/`range`/`with`/`define`/`block` closed by `end`.
pub fn template(text: &str) -> Result<(), String> {
    let mut vars: BTreeSet<String> = VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    let mut blocks: Vec<&'static str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let mut body = &rest[start + 2..];
        if let Some(b) = body.strip_prefix('-') {
            if b.starts_with([' ', '\t', '\n', '\r']) {
                body = b;
            } else if !b.starts_with(|c: char| c.is_ascii_digit()) {
                return Err("`{{-` is a trim marker only when a space follows it".to_owned());
            }
        }
        let trimmed = body.trim_start();
        if let Some(comment) = trimmed.strip_prefix("/*") {
            let end = comment
                .find("*/")
                .ok_or("unclosed comment: `/*` without `*/`")?;
            let after = &comment[end + 2..];
            let after = after
                .strip_prefix(" -}}")
                .or_else(|| after.strip_prefix("}}"))
                .ok_or("a comment must end right before `}}`")?;
            rest = after;
            continue;
        }
        let (tokens, after) = lex(body)?;
        action(&tokens, &mut vars, &mut blocks)?;
        rest = after;
    }
    match blocks.last() {
        Some(b) => Err(format!("`{{{{{b}}}}}` is never closed by `{{{{end}}}}`")),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A function name or keyword.
    Ident(String),
    /// `$name` with any `.field` chain.
    Var(String),
    /// `.` or `.Field.chain`.
    Field,
    /// A string, number, char, `true`, `false` or `nil`.
    Literal,
    Pipe,
    Open,
    Close,
    Declare,
    Assign,
    Comma,
}

/// Splits an action's text into tokens, up to its closing `}}` (or ` -}}`);
/// returns the tokens and the text after the action.
fn lex(s: &str) -> Result<(Vec<Tok>, &str), String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if s[i..].starts_with("}}") {
            return Ok((out, &s[i + 2..]));
        }
        if c.is_ascii_whitespace() {
            if s[i + 1..].starts_with("-}}") {
                return Ok((out, &s[i + 4..]));
            }
            i += 1;
            continue;
        }
        match c {
            b'"' | b'`' | b'\'' => {
                let mut j = i + 1;
                loop {
                    match b.get(j) {
                        None => return Err("unterminated quoted string in `{{ }}`".to_owned()),
                        Some(b'\\') if c != b'`' => j += 2,
                        Some(b'\n') if c != b'`' => {
                            return Err("newline in a quoted string in `{{ }}`".to_owned());
                        }
                        Some(&d) if d == c => break,
                        Some(_) => j += 1,
                    }
                }
                out.push(Tok::Literal);
                i = j + 1;
            }
            b'|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
                i = skip_fields(b, i)?;
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                out.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                out.push(Tok::Assign);
                i += 1;
            }
            b'$' => {
                let j = word_end(b, i + 1);
                let name = &s[i..j];
                out.push(Tok::Var(name.to_owned()));
                i = skip_fields(b, j)?;
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push(Tok::Field);
                i = skip_fields(b, i)?;
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                let mut j = i + 1;
                while j < b.len()
                    && (b[j].is_ascii_alphanumeric()
                        || matches!(b[j], b'.' | b'_')
                        || (matches!(b[j], b'+' | b'-')
                            && matches!(b[j - 1], b'e' | b'E' | b'p' | b'P')))
                {
                    j += 1;
                }
                number(&s[i..j])?;
                out.push(Tok::Literal);
                i = j;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let j = word_end(b, i);
                let word = &s[i..j];
                out.push(match word {
                    "true" | "false" | "nil" => Tok::Literal,
                    _ => Tok::Ident(word.to_owned()),
                });
                i = j;
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected `{ch}` in `{{{{ }}}}`"));
            }
        }
    }
    Err("unclosed action: `{{` without `}}`".to_owned())
}

fn word_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    i
}

/// Skips a `.field.chain` starting at `i` (a lone `.` is the dot itself).
fn skip_fields(b: &[u8], mut i: usize) -> Result<usize, String> {
    while i < b.len() && b[i] == b'.' {
        let j = word_end(b, i + 1);
        if j == i + 1
            && b.get(j)
                .is_some_and(|c| !c.is_ascii_whitespace() && *c != b'}' && *c != b')' && *c != b'|')
        {
            return Err("a field name after `.` must be a letter or `_`".to_owned());
        }
        if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return Err("a field name cannot start with a digit".to_owned());
        }
        i = j;
    }
    Ok(i)
}

fn number(s: &str) -> Result<(), String> {
    let t = s.trim_start_matches(['+', '-']).replace('_', "");
    let ok = t.parse::<f64>().is_ok()
        || ["0x", "0X", "0o", "0O", "0b", "0B"].iter().any(|p| {
            t.strip_prefix(p)
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_hexdigit()))
        });
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a number"))
    }
}

fn action(
    tokens: &[Tok],
    vars: &mut BTreeSet<String>,
    blocks: &mut Vec<&'static str>,
) -> Result<(), String> {
    let keyword = match tokens.first() {
        Some(Tok::Ident(w)) => w.as_str(),
        None => return Err("empty action `{{ }}`: missing value for command".to_owned()),
        _ => "",
    };
    let rest = &tokens[1.min(tokens.len())..];
    match keyword {
        "if" | "with" | "range" => {
            if rest.is_empty() {
                return Err(format!("missing value for `{keyword}`"));
            }
            pipeline(rest, vars, keyword == "range")?;
            blocks.push(match keyword {
                "if" => "if",
                "with" => "with",
                _ => "range",
            });
            Ok(())
        }
        "else" => {
            if !matches!(blocks.last(), Some(&("if" | "with" | "range"))) {
                return Err("`{{else}}` outside `{{if}}`, `{{with}}` or `{{range}}`".to_owned());
            }
            match rest.first() {
                None => Ok(()),
                Some(Tok::Ident(w)) if w == "if" || w == "with" => {
                    if rest.len() < 2 {
                        return Err(format!("missing value for `else {w}`"));
                    }
                    pipeline(&rest[1..], vars, false)
                }
                _ => Err("unexpected words after `else`".to_owned()),
            }
        }
        "end" => {
            if !rest.is_empty() {
                return Err("unexpected words after `end`".to_owned());
            }
            blocks
                .pop()
                .map(|_| ())
                .ok_or_else(|| "unexpected `{{end}}`: no block is open".to_owned())
        }
        "break" | "continue" => {
            if !blocks.contains(&"range") {
                return Err(format!("`{{{{{keyword}}}}}` outside `{{{{range}}}}`"));
            }
            if rest.is_empty() {
                Ok(())
            } else {
                Err(format!("unexpected words after `{keyword}`"))
            }
        }
        "define" | "block" | "template" => {
            if rest.first() != Some(&Tok::Literal) {
                return Err(format!("`{keyword}` needs a quoted template name"));
            }
            if rest.len() > 1 {
                if keyword == "define" {
                    return Err("unexpected words after `define \"name\"`".to_owned());
                }
                pipeline(&rest[1..], vars, false)?;
            }
            if keyword != "template" {
                blocks.push(if keyword == "define" {
                    "define"
                } else {
                    "block"
                });
            }
            Ok(())
        }
        _ => pipeline(tokens, vars, false),
    }
}

/// `[$x :=] command | command ...` (`$i, $e :=` in a range).
fn pipeline(tokens: &[Tok], vars: &mut BTreeSet<String>, range: bool) -> Result<(), String> {
    let mut tokens = tokens;
    let declared: Vec<String> = match tokens {
        [
            Tok::Var(a),
            Tok::Comma,
            Tok::Var(b),
            Tok::Declare,
            rest @ ..,
        ] if range => {
            tokens = rest;
            vec![a.clone(), b.clone()]
        }
        [Tok::Var(a), Tok::Declare, rest @ ..] => {
            tokens = rest;
            vec![a.clone()]
        }
        [Tok::Var(a), Tok::Assign, rest @ ..] => {
            if !vars.contains(a) {
                return Err(format!("undefined variable `{a}`"));
            }
            tokens = rest;
            Vec::new()
        }
        _ => Vec::new(),
    };
    if declared.iter().any(|v| v.contains('.')) {
        return Err("only a plain `$name` can be declared".to_owned());
    }
    if tokens.is_empty() {
        return Err("missing value for command".to_owned());
    }
    let mut depth = 0usize;
    let mut start = 0;
    let mut stage = 0;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.checked_sub(1).ok_or("unexpected `)` in `{{ }}`")?;
            }
            Tok::Pipe if depth == 0 => {
                command(&tokens[start..i], vars, stage)?;
                stage += 1;
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err("unclosed `(` in `{{ }}`".to_owned());
    }
    command(&tokens[start..], vars, stage)?;
    vars.extend(declared);
    Ok(())
}

fn command(tokens: &[Tok], vars: &mut BTreeSet<String>, stage: usize) -> Result<(), String> {
    let Some(first) = tokens.first() else {
        return Err("missing command in a pipeline".to_owned());
    };
    if stage > 0 && *first == Tok::Literal {
        return Err(format!("a constant cannot be pipeline stage {}", stage + 1));
    }
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Ident(f) => {
                if !FUNCTIONS.contains(&f.as_str()) {
                    return Err(format!(
                        "function `{f}` is not defined in Prometheus templates"
                    ));
                }
            }
            Tok::Var(v) => {
                let base = v.split('.').next().unwrap_or(v);
                if !vars.contains(base) {
                    return Err(format!("undefined variable `{base}`"));
                }
            }
            Tok::Open => {
                let mut depth = 0;
                let mut j = i;
                loop {
                    match tokens.get(j) {
                        Some(Tok::Open) => depth += 1,
                        Some(Tok::Close) => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                        None => return Err("unclosed `(` in `{{ }}`".to_owned()),
                    }
                    j += 1;
                }
                pipeline(&tokens[i + 1..j], vars, false)?;
                i = j;
            }
            Tok::Field | Tok::Literal => {}
            Tok::Close | Tok::Pipe => return Err("unexpected `)` or `|` in `{{ }}`".to_owned()),
            Tok::Declare | Tok::Assign | Tok::Comma => {
                return Err("unexpected `:=`, `=` or `,` in `{{ }}`".to_owned());
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_prometheus_accepts() {
        for t in [
            "plain text",
            "{{ $labels.instance }} is {{ $value }}",
            "{{ .Labels.x }}",
            "{{ $value | humanize }}",
            "{{ $value | humanizePercentage | printf \"%s\" }}",
            "{{- $value -}}",
            "{{/* a comment */}}",
            "{{- /* trimmed */ -}}",
            "{{ if gt $value 1.5 }}high{{ else if lt $value 0 }}neg{{ else }}ok{{ end }}",
            "{{ range $i, $e := $labels }}{{ $i }}={{ $e }}{{ end }}",
            "{{ with $value }}{{ . }}{{ end }}",
            "{{ $x := 1 }}{{ $x }}",
            "{{ (humanize $value) }}",
            "{{ printf \"%.1f\" $value }}",
            "{{ $externalURL }}/graph",
            "{{-3}}",
            "{{ 0x1F }}",
            "{{ 'a' }}",
            "{{ $.Labels }}",
            "{{ \"}}\" }}",
            "{{ range $labels }}{{ break }}{{ end }}",
        ] {
            assert_eq!(template(t), Ok(()), "{t}");
        }
    }

    #[test]
    fn templates_prometheus_rejects() {
        for t in [
            "{{ $value | humanize }",
            "{{ $value",
            "{{ $foo }}",
            "{{ }}",
            "{{ end }}",
            "{{ if $value }}x",
            "{{-$value}}",
            "{{/* c */ }}",
            "{{ $value | \"x\" }}",
            "{{ bogus $value }}",
            "{{ urlQueryEscape $value }}",
            "{{ break }}",
            "{{ $value.5 }}",
            "{{ \"unterminated }}",
            "{{ (humanize $value }}",
            "{{ else }}",
            "{{ if }}{{ end }}",
        ] {
            assert!(template(t).is_err(), "{t}");
        }
    }

    #[test]
    fn queries_through_the_parser() {
        assert!(query("sum(rate(x{code=~\"5..\"}[{{.window}}]))").is_ok());
        assert!(query("sum(rate(x[{{.window}}])").is_err());
        assert!(query("sum(rate(http_requésts_total[{{.window}}]))").is_err());
        assert!(query("sum(rate(x{a=\"é\"}[{{.window}}]))").is_ok());
        assert!(query("rate(x[{{.window}}]) +").is_err());
        assert!(selector("x{desti~ation=\"a\"}").is_err());
        assert!(selector("x{destination=\"a\"}").is_ok());
        assert!(matchers("{desti~ation=\"a\"}").is_err());
        assert!(matchers("{a=\"b\",c!~\"d\"}").is_ok());
    }

    proptest::proptest! {
        /// Templates and queries come from any YAML: checking them never
        /// panics (byte-indexed lexing must stay on character boundaries).
        #[test]
        fn checks_never_panic(
            t in r#"(\{\{-? ?|\}\}| ?-\}\}|[-$. |()"'`\\a-z0-9/*:=,_]|é|\n){0,40}"#,
            q in r#"([a-z_{}()\[\]"'`=~!,.+*/#\\ 0-9]|é|\{\{\.window\}\}){0,40}"#,
        ) {
            let _ = template(&t);
            let _ = query(&q);
            let _ = selector(&q);
            let _ = matchers(&q);
        }
    }

    #[test]
    fn durations_over_292_years_are_out_of_range() {
        let d = |s: &str| s.parse::<Duration>().unwrap_or(Duration::ZERO);
        assert!(duration(d("292y")).is_ok());
        assert!(duration(d("2562047h")).is_ok());
        assert!(duration(d("2562048h")).is_err());
        assert!(duration(d("293y")).is_err());
    }
}
