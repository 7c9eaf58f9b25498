//! Names and small pieces of PromQL that specs hold: SLO and service names,
//! label names, metric names and series selectors.
//!
//! These checks catch what is obviously broken (unbalanced braces or quotes, a
//! label name with a dash) with a message that says why; the real PromQL
//! parser has the last word when rules are loaded.
//!
//! ```
//! use slo_core::names;
//!
//! assert!(names::check_name("checkout-availability").is_ok());
//! assert!(names::check_name("Checkout").is_err());
//! assert!(names::check_label_name("team-name").is_err());
//! assert_eq!(names::closest("lables", &["labels", "name"]), Some("labels"));
//! ```

/// The label carrying the service name on every generated series and alert.
pub const SERVICE_LABEL: &str = "slo_service";
/// The label carrying the SLO name.
pub const SLO_LABEL: &str = "slo";
/// The label carrying the window of a recorded ratio.
pub const WINDOW_LABEL: &str = "slo_window";
/// The label carrying an alert's tier (page, ticket), for inhibition.
pub const TIER_LABEL: &str = "slo_tier";

/// Labels the tool sets itself; specs may not set them.
pub const RESERVED_LABELS: [&str; 5] = [
    SERVICE_LABEL,
    SLO_LABEL,
    WINDOW_LABEL,
    TIER_LABEL,
    "alertname",
];

/// SLO and service names: lower-case letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit, at most 128 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("it is empty".to_owned()),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Err("it must start with a lower-case letter or a digit".to_owned());
        }
        _ => {}
    }
    if let Some(c) = chars.find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.')) {
        return Err(format!(
            "`{c}` is not allowed: use lower-case letters, digits, -, _ and ."
        ));
    }
    if name.len() > 128 {
        return Err("it is longer than 128 characters".to_owned());
    }
    Ok(())
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__` reserved.
pub fn check_label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("it is empty".to_owned()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err("it must start with a letter or _".to_owned());
        }
        _ => {}
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(format!("`{c}` is not allowed: use letters, digits and _"));
    }
    if name.starts_with("__") {
        return Err("names starting with __ are reserved for Prometheus".to_owned());
    }
    Ok(())
}

/// Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("it is empty".to_owned()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_' || c == ':') => {
            return Err("it must start with a letter, _ or :".to_owned());
        }
        _ => {}
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == ':')) {
        return Err(format!("`{c}` is not allowed in a metric name"));
    }
    Ok(())
}

/// Checks quotes and brackets pair up, as PromQL's lexer would see them.
pub(crate) fn check_balanced(query: &str) -> Result<(), String> {
    let mut stack: Vec<char> = Vec::new();
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let quote = c;
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' && quote != '`' {
                        chars.next();
                    } else if d == quote {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(format!("a {quote} quote is never closed"));
                }
            }
            '(' | '{' | '[' => stack.push(c),
            ')' | '}' | ']' => {
                let open = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match stack.pop() {
                    Some(o) if o == open => {}
                    Some(o) => return Err(format!("`{o}` is closed by `{c}`")),
                    None => return Err(format!("`{c}` has no opening `{open}`")),
                }
            }
            '#' => break, // a PromQL comment runs to the end of the line
            _ => {}
        }
    }
    match stack.pop() {
        Some(o) => Err(format!("`{o}` is never closed")),
        None => Ok(()),
    }
}

/// A series selector: a metric name, label matchers in braces, or both.
pub(crate) fn check_selector(selector: &str) -> Result<(), String> {
    let s = selector.trim();
    if s.is_empty() {
        return Err("it is empty".to_owned());
    }
    let (name, matchers) = match s.find('{') {
        Some(i) => (s[..i].trim_end(), &s[i..]),
        None => (s, ""),
    };
    if !name.is_empty() {
        check_metric_name(name).map_err(|why| {
            format!("`{name}` is not a metric name ({why}); expected metric{{label=\"value\"}}")
        })?;
    }
    if matchers.is_empty() {
        return Ok(());
    }
    check_matchers(matchers)
}

/// Label matchers in braces: `{job="api",code=~"5.."}`, or empty.
pub(crate) fn check_matchers(matchers: &str) -> Result<(), String> {
    let m = matchers.trim();
    if m.is_empty() {
        return Ok(());
    }
    check_balanced(m)?;
    if !(m.starts_with('{') && m.ends_with('}')) {
        return Err("label matchers must be one {...} block".to_owned());
    }
    // Nothing may follow the closing brace of the first block.
    let inner = &m[1..m.len() - 1];
    if check_balanced(inner).is_err() || inner.contains(['{', '}']) && !within_quotes_only(inner) {
        return Err("label matchers must be one {...} block".to_owned());
    }
    Ok(())
}

/// True when every brace in `s` is inside a quoted string.
fn within_quotes_only(s: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '{' | '}' => return false,
                _ => {}
            },
        }
    }
    true
}

/// The candidate `word` most likely meant, for "did you mean": the only
/// one it is the start of (`page` for `page_alert`: a name cut short), or
/// else the closest within two edits.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut started = candidates
        .iter()
        .filter(|c| word.chars().count() >= 3 && c.starts_with(word) && **c != word);
    if let (Some(only), None) = (started.next(), started.next()) {
        return Some(only);
    }
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the snapshot review of issue 13: Sloth's `page` (for
    /// `page_alert`) was answered "did you mean `name`?".
    #[test]
    fn a_name_cut_short_suggests_the_name_it_starts() {
        let sloth = [
            "name",
            "labels",
            "annotations",
            "page_alert",
            "ticket_alert",
            "disable",
        ];
        assert_eq!(closest("page", &sloth), Some("page_alert"));
        assert_eq!(closest("nmae", &sloth), Some("name"));
        assert_eq!(closest("lables", &sloth), Some("labels"));
        // Two names start so: no guess from the start, the edit distance decides.
        assert_eq!(closest("pag", &["page_alert", "page_size"]), None);
    }

    #[test]
    fn names() {
        assert!(check_name("requests-availability").is_ok());
        assert!(check_name("v1.2_x").is_ok());
        assert!(check_name("Checkout").is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_label_name("team").is_ok());
        assert!(check_label_name("team-name").is_err());
        assert!(check_label_name("__name__").is_err());
        assert!(check_label_name("1x").is_err());
    }

    #[test]
    fn selectors() {
        assert!(check_selector(r#"http_requests_total{job="checkout",code=~"5.."}"#).is_ok());
        assert!(check_selector("http_requests_total").is_ok());
        assert!(check_selector(r#"{__name__="x"}"#).is_ok());
        assert!(check_selector(r#"x{a="}"}"#).is_ok());
        assert!(check_selector(r#"x{job="checkout""#).is_err());
        assert!(check_selector(r#"x{job="checkout}"#).is_err());
        assert!(check_selector(r#"x{a="b"}}"#).is_err());
        assert!(check_selector(r#"x{a="b"}{c="d"}"#).is_err());
        assert!(check_selector("rate(x[5m])").is_err());
        assert!(check_selector("").is_err());
    }

    #[test]
    fn balanced() {
        assert!(check_balanced("sum(rate(x{a=\"(\"}[{{.window}}]))").is_ok());
        assert!(check_balanced("sum(rate(x[5m])").is_err());
        assert!(check_balanced("x{a='b}").is_err());
        assert!(check_balanced("x]").is_err());
    }

    #[test]
    fn did_you_mean() {
        assert_eq!(
            closest("objetive", &["objective", "period"]),
            Some("objective")
        );
        assert_eq!(closest("zzz", &["objective", "period"]), None);
    }
}
