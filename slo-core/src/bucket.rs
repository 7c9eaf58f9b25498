//! Histogram bucket bounds matched by value, not by spelling.
//!
//! A bucket's `le` label is a string each client library writes its own
//! way: `1e+06` (Go and Python for 1,000,000), `0.15000000000000002` (Go's
//! `ExponentialBuckets`, binary noise), `0.3` or `0.30`, `1` or `1.0`
//! (Prometheus 3 normalises classic-histogram bounds to `1.0`). An exact
//! `le="1000000"` matcher silently matches nothing, and the SLO looks
//! perfect.
//!
//! **The rule**: a bound equals a threshold when both, written as decimals,
//! round (half up) to the same [`SIGNIFICANT_DIGITS`] significant digits.
//! Binary noise sits at the 16th and 17th digit, so `0.15000000000000002`
//! and `0.44999999999999996` are 0.15 and 0.45; two bounds a person would
//! write differently differ well before the 15th.
//!
//! The rule is applied in two ways that agree by construction (a property
//! test checks it): [`matches()`] compares a label value with a threshold
//! (the backtest), and [`le_regex`] is a regular expression of every
//! spelling clients write for the threshold (the generated rules and the
//! evaluator, as `le=~"..."`; PromQL anchors regexes at both ends). The
//! regex accepts plain decimals (`300`, `300.0`, `0.30`) and exponent forms
//! (`3e2`, `3e+02`, `3.0E+02`), each either exact (any trailing zeros) or
//! with noise past the 15th digit, above (`0.15000000000000002`) or below
//! (`0.14999999999999999`) the value.
//!
//! ```
//! use slo_core::bucket::{le_regex, matches};
//!
//! assert!(matches("1e+06", 1_000_000.0));
//! assert!(matches("0.15000000000000002", 0.15));
//! assert!(!matches("0.25", 0.3));
//! assert_eq!(le_regex(0.3).split('|').next(), Some(r"0\.30*"));
//! ```

use std::fmt::Write as _;

/// Significant digits two bounds must share to be one bucket.
pub const SIGNIFICANT_DIGITS: usize = 15;

/// A positive decimal rounded to [`SIGNIFICANT_DIGITS`]: its significant
/// digits (no leading or trailing zeros) and the power of ten of the first
/// one (`0.15` is `("15", -1)`). Zero is `("", 0)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exp: i64,
}

impl Decimal {
    /// Reads `[+-]digits[.digits][(e|E)[+-]digits]` (a leading `.` is read
    /// too); `None` for anything else, `Inf` and `NaN` included.
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (negative, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], parse_exp(&s[i + 1..])?),
            None => (s, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let raw = format!("{int}{frac}");
        let lead = raw.bytes().take_while(|b| *b == b'0').count();
        let digits = raw[lead..].trim_end_matches('0');
        if digits.is_empty() {
            return Some(Self {
                negative: false,
                digits: String::new(),
                exp: 0,
            });
        }
        // The first significant digit sits `int.len() - lead` digits left of
        // the point (negative: right of it).
        let exp = exp.saturating_add(int.len() as i64 - lead as i64 - 1);
        Some(Self::rounded(negative, digits, exp))
    }

    /// A float's shortest round-trip digits, rounded.
    fn of(x: f64) -> Option<Self> {
        if x.is_finite() {
            Self::parse(&format!("{x:e}"))
        } else {
            None
        }
    }

    /// `digits` rounded half up to [`SIGNIFICANT_DIGITS`].
    fn rounded(negative: bool, digits: &str, exp: i64) -> Self {
        let mut d: Vec<u8> = digits.bytes().collect();
        let mut exp = exp;
        if d.len() > SIGNIFICANT_DIGITS {
            let up = d[SIGNIFICANT_DIGITS] >= b'5';
            d.truncate(SIGNIFICANT_DIGITS);
            if up {
                // Carry: 0.1999...95 becomes 0.2, 9.99...95 becomes 10.
                let mut i = d.len();
                loop {
                    if i == 0 {
                        d.insert(0, b'1');
                        exp += 1;
                        break;
                    }
                    i -= 1;
                    if d[i] == b'9' {
                        d[i] = b'0';
                    } else {
                        d[i] += 1;
                        break;
                    }
                }
            }
        }
        while d.last() == Some(&b'0') {
            d.pop();
        }
        Self {
            negative,
            digits: String::from_utf8_lossy(&d).into_owned(),
            exp,
        }
    }
}

/// An exponent, saturating far beyond any float's range.
fn parse_exp(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    let value: i64 = if trimmed.len() > 6 {
        i64::from(i32::MAX)
    } else {
        trimmed.parse().unwrap_or(0)
    };
    Some(if neg { -value } else { value })
}

/// True when the bucket bound `le` (a label value) is `threshold` under
/// the module's rule. `+Inf`, `NaN` and text that is no number never match.
pub fn matches(le: &str, threshold: f64) -> bool {
    match (Decimal::parse(le), Decimal::of(threshold)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A bound as a number (`+Inf` included), for listing a histogram's
/// buckets; `None` for text that is no bound.
pub(crate) fn parse_bound(le: &str) -> Option<f64> {
    match le.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        s => s.parse().ok().filter(|x: &f64| !x.is_nan()),
    }
}

/// True when two bounds are one bucket under the module's rule (the same
/// [`SIGNIFICANT_DIGITS`] significant digits); `+Inf` is only itself.
pub(crate) fn same_bound(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    // Bounds that share 15 digits differ by under 1e-13 of their size: most
    // pairs are told apart without writing them out.
    if (a - b).abs() > 1e-13 * a.abs().max(b.abs()) {
        return false;
    }
    match (Decimal::of(a), Decimal::of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// How the digits after a fixed run of significant digits go on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Only zeros: the exact value.
    Zeros,
    /// A digit 0-4 then anything: rounds down to the value.
    Low,
    /// A digit 5-9 then anything: rounds up to the value.
    High,
}

impl Tail {
    /// The tail as a regex, right after the fixed digits.
    fn regex(self) -> &'static str {
        match self {
            Tail::Zeros => "0*",
            Tail::Low => "[0-4][0-9]*",
            Tail::High => "[5-9][0-9]*",
        }
    }
}

/// Digits as a regex, long runs of one digit written `d{n}` so noise
/// patterns stay readable (`0\.149{13}`: 0.14 then 13 nines).
fn digits_regex(digits: &str) -> String {
    let mut out = String::new();
    let b = digits.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| **c == b[i]).count();
        let c = char::from(b[i]);
        if run > 6 {
            let _ = write!(out, "{c}{{{run}}}");
        } else {
            out.extend(std::iter::repeat_n(c, run));
        }
        i += run;
    }
    out
}

/// The plain decimal spelling of `fixed` digits (the first at power `exp`)
/// followed by `tail`: `0\.150*`, `300(\.0*)?`, `299\.9{12}[5-9][0-9]*`.
fn plain(fixed: &str, tail: Tail, exp: i64) -> String {
    if exp < 0 {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        return format!(
            r"0\.{}{}",
            digits_regex(&format!("{zeros}{fixed}")),
            tail.regex()
        );
    }
    let int_len = usize::try_from(exp + 1).unwrap_or(usize::MAX);
    if int_len < fixed.len() {
        let (int, frac) = fixed.split_at(int_len);
        return format!(
            r"{}\.{}{}",
            digits_regex(int),
            digits_regex(frac),
            tail.regex()
        );
    }
    // The point comes after the fixed digits; the tail starts with the
    // integer's remaining digits, if any.
    let rest = int_len - fixed.len();
    let head = match tail {
        Tail::Zeros => format!("{fixed}{}", "0".repeat(rest)),
        _ => fixed.to_owned(),
    };
    let head = digits_regex(&head);
    match (tail, rest) {
        (Tail::Zeros, _) => format!(r"{head}(\.0*)?"),
        (_, 0) => format!(r"{head}\.{}", tail.regex()),
        (Tail::Low, _) => format!(r"{head}[0-4][0-9]{{{}}}(\.[0-9]*)?", rest - 1),
        (Tail::High, _) => format!(r"{head}[5-9][0-9]{{{}}}(\.[0-9]*)?", rest - 1),
    }
}

/// The exponent spelling: one digit, the rest after a point, then
/// `e+06`, `e6`, `E-01`...: `1(\.0*)?[eE]\+?0*6`.
fn exponent(fixed: &str, tail: Tail, exp: i64) -> String {
    let (first, rest) = fixed.split_at(1);
    let mantissa = match (rest.is_empty(), tail) {
        (true, Tail::Zeros) => format!(r"{first}(\.0*)?"),
        _ => format!(r"{first}\.{}{}", digits_regex(rest), tail.regex()),
    };
    let power = match exp {
        0 => "[+-]?0+".to_owned(),
        e if e > 0 => format!(r"\+?0*{e}"),
        e => format!("-0*{}", -e),
    };
    format!("{mantissa}[eE]{power}")
}

/// The regex (RE2 syntax, unanchored text: PromQL anchors `=~` at both
/// ends) of every spelling of `threshold` as a bucket bound; see the module
/// docs. A threshold that is not a positive finite number matches its own
/// spelling only.
pub fn le_regex(threshold: f64) -> String {
    let Some(d) = Decimal::of(threshold).filter(|d| !d.negative && !d.digits.is_empty()) else {
        return regex_escape(&crate::num::format(threshold));
    };
    let n = SIGNIFICANT_DIGITS;
    let padded = format!("{:0<n$}", d.digits);
    // The 15-digit neighbour below; below 10...0 it is 9...9 one decade
    // down.
    let (below, below_exp) = if padded.trim_end_matches('0') == "1" {
        ("9".repeat(n), d.exp - 1)
    } else {
        (decrement(&padded), d.exp)
    };
    let forms = [
        (d.digits.as_str(), Tail::Zeros, d.exp),
        (padded.as_str(), Tail::Low, d.exp),
        (below.as_str(), Tail::High, below_exp),
    ];
    let mut alternatives: Vec<String> = forms.iter().map(|(f, t, e)| plain(f, *t, *e)).collect();
    alternatives.extend(forms.iter().map(|(f, t, e)| exponent(f, *t, *e)));
    alternatives.join("|")
}

/// A digit string minus one in its last place (never called on 0...0).
fn decrement(digits: &str) -> String {
    let mut d: Vec<u8> = digits.bytes().collect();
    for c in d.iter_mut().rev() {
        if *c == b'0' {
            *c = b'9';
        } else {
            *c -= 1;
            break;
        }
    }
    String::from_utf8_lossy(&d).into_owned()
}

/// `s` with every regex metacharacter escaped.
pub(crate) fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchored(threshold: f64) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{})$", le_regex(threshold)))
            .unwrap_or_else(|e| panic!("{threshold}: {e}"))
    }

    #[test]
    fn client_spellings_match_by_value() {
        let cases: &[(f64, &[&str], &[&str])] = &[
            (
                1_000_000.0,
                &[
                    "1e+06",
                    "1e6",
                    "1.0e+06",
                    "1E6",
                    "1000000",
                    "1000000.0",
                    "1.0000000000000002e+06",
                    "999999.9999999999",
                ],
                &["1e+05", "1e+07", "100000", "10000000", "2e+06", "1000001"],
            ),
            (
                0.15,
                &[
                    "0.15",
                    "0.150",
                    "0.15000000000000002",
                    "0.14999999999999999",
                    "1.5e-01",
                    "1.5E-1",
                ],
                &["0.05", "0.45", "0.015", "1.5", "0.1500000000001", "0.16"],
            ),
            (
                0.3,
                &[
                    "0.3",
                    "0.30",
                    "0.30000000000000004",
                    "3e-01",
                    "2.9999999999999999e-01",
                ],
                &["0.25", "0.5", "3", "0.03"],
            ),
            (
                1.0,
                &[
                    "1",
                    "1.0",
                    "1e+00",
                    "1e0",
                    "0.9999999999999999",
                    "1.0000000000000002",
                ],
                &["10", "0.1", "11", "0.99"],
            ),
            (
                300.0,
                &[
                    "300",
                    "300.0",
                    "3e+02",
                    "300.00000000000006",
                    "299.99999999999994",
                ],
                &["30", "3000", "301", "+Inf"],
            ),
            (
                0.00001,
                &["1e-05", "0.00001", "1e-5", "0.000010"],
                &["1e-04", "0.0001", "1e-06"],
            ),
        ];
        for (t, yes, no) in cases {
            let re = anchored(*t);
            for s in *yes {
                assert!(re.is_match(s), "{t}: regex misses {s}: {}", le_regex(*t));
                assert!(matches(s, *t), "{t}: matches() misses {s}");
            }
            for s in *no {
                assert!(!re.is_match(s), "{t}: regex takes {s}: {}", le_regex(*t));
                assert!(!matches(s, *t), "{t}: matches() takes {s}");
            }
        }
    }

    #[test]
    fn the_regex_reads_as_the_spellings() {
        assert_eq!(
            le_regex(0.15),
            r"0\.150*|0\.150{13}[0-4][0-9]*|0\.149{13}[5-9][0-9]*|1\.50*[eE]-0*1|1\.50{13}[0-4][0-9]*[eE]-0*1|1\.49{13}[5-9][0-9]*[eE]-0*1"
        );
        assert_eq!(le_regex(300.0).split('|').next(), Some(r"300(\.0*)?"));
        assert_eq!(le_regex(1e6).split('|').nth(3), Some(r"1(\.0*)?[eE]\+?0*6"));
    }

    #[test]
    fn rounding_carries_across_a_decade() {
        assert!(matches("9.9999999999999999", 10.0));
        assert!(matches("0.99999999999999995", 1.0));
        assert!(!matches("0.9999999999999949", 1.0));
        assert!(anchored(10.0).is_match("9.9999999999999999"));
    }

    #[test]
    fn text_that_is_no_number_never_matches() {
        for s in ["", "+Inf", "NaN", "abc", "1e", "1.2.3", ".", "e5", "0x10"] {
            assert!(!matches(s, 1.0), "{s}");
        }
        assert!(matches(".5", 0.5));
        assert!(!matches("-1", 1.0));
        assert_eq!(parse_bound("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_bound("1e+06"), Some(1e6));
    }
}
