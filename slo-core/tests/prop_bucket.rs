//! Bucket bounds are matched by value: for any threshold, the generated
//! `le` regex takes every spelling clients write for it (Rust, Go's `%g`,
//! Prometheus 3's normalised form, trailing zeros, binary noise) and no
//! other bucket; it agrees with `bucket::matches`, the backtest's test of a
//! bound; and the matcher reads back unchanged through a PromQL parser.

mod common;

use proptest::prelude::*;
use regex::Regex;
use slo_core::bucket::{le_regex, matches};

/// The regex as PromQL applies it: anchored at both ends.
fn anchored(threshold: f64) -> Regex {
    Regex::new(&format!("^(?:{})$", le_regex(threshold)))
        .unwrap_or_else(|e| panic!("{threshold}: {e}"))
}

/// Go's `strconv.FormatFloat(x, 'g', -1, 64)`, which client_golang (and
/// Python's client, mimicking it) write into `le`: shortest digits, the
/// exponent form below 1e-4 and from 1e6 on (`1e+06`), with a sign and at
/// least two exponent digits.
fn go_g(x: f64) -> String {
    let e = format!("{x:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{x}")
    }
}

/// Prometheus 3's normalised bound: Go's `%g`, plus `.0` on whole numbers.
fn prometheus3(x: f64) -> String {
    let g = go_g(x);
    if g.contains(['.', 'e']) {
        g
    } else {
        format!("{g}.0")
    }
}

/// The spellings of one bound that clients write.
fn spellings(x: f64) -> Vec<String> {
    let plain = format!("{x}");
    let with_point = if plain.contains('.') {
        plain.clone()
    } else {
        format!("{plain}.0")
    };
    let g = go_g(x);
    // `1.0e+06`: a point in the mantissa of the exponent form.
    let g_point = match g.split_once('e') {
        Some((m, e)) if !m.contains('.') => format!("{m}.0e{e}"),
        _ => g.clone(),
    };
    vec![
        plain,
        format!("{with_point}00"),
        with_point,
        format!("{x:e}"),
        format!("{x:E}"),
        g,
        g_point,
        prometheus3(x),
    ]
}

/// Any finite positive float.
fn any_positive() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::POSITIVE | proptest::num::f64::NORMAL,
        1e-9f64..1e12,
    ]
    .prop_filter("finite and positive", |x| x.is_finite() && *x > 0.0)
}

/// Bounds people configure: up to six significant digits, 1e-9 to 1e9.
fn configured() -> impl Strategy<Value = f64> {
    (1u32..=999_999, -12i32..=9).prop_map(|(m, e)| {
        format!("{m}e{e}")
            .parse::<f64>()
            .unwrap_or_else(|err| panic!("{err}"))
    })
}

fn neighbour(x: f64, up: bool) -> f64 {
    let bits = x.to_bits();
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}

proptest! {
    #![proptest_config(common::config(1000, "proptest-regressions/prop_bucket.txt"))]

    /// Every client spelling of any threshold is matched, by the regex and
    /// by `matches`; the spellings of the next bucket (and of one a tenth
    /// away) are not.
    #[test]
    fn every_spelling_matches_and_other_buckets_do_not(t in any_positive()) {
        let re = anchored(t);
        for s in spellings(t) {
            prop_assert!(re.is_match(&s), "{} misses {}", le_regex(t), s);
            prop_assert!(matches(&s, t), "matches() misses {}", s);
        }
        for other in [t * 2.0, t / 2.0, t * 1.1, t * 0.9] {
            if !other.is_finite() || other == 0.0 {
                continue;
            }
            for s in spellings(other) {
                prop_assert!(!re.is_match(&s), "{} takes {} ({})", le_regex(t), s, other);
                prop_assert!(!matches(&s, t), "matches() takes {}", s);
            }
        }
    }

    /// Binary noise around a configured bound is the bound: the floats one
    /// unit in the last place away, and what Go's `ExponentialBuckets` and
    /// `LinearBuckets` compute (`start * factor`, `start + width`), in every
    /// spelling.
    #[test]
    fn float_noise_is_the_same_bucket(t in configured(), k in 2u32..=7) {
        let re = anchored(t);
        // Noise from arithmetic: (t / k) * k and a sum of k steps of t / k.
        let step = t / f64::from(k);
        let sum = (0..k).fold(0.0, |acc, _| acc + step);
        for x in [neighbour(t, true), neighbour(t, false), step * f64::from(k), sum] {
            for s in spellings(x) {
                prop_assert!(re.is_match(&s), "{} misses {} (noise of {})", le_regex(t), s, t);
                prop_assert!(matches(&s, t), "matches() misses {}", s);
            }
        }
    }

    /// The regex never takes a spelling `matches` refuses, even a mangled
    /// one (one character of a spelling replaced, dropped or doubled).
    #[test]
    fn the_regex_takes_only_what_matches_takes(
        t in any_positive(),
        which in 0usize..8,
        at in 0usize..32,
        c in prop::sample::select(vec!['0', '1', '4', '5', '9', '.', 'e', '+', '-', 'E']),
        edit in 0u8..3,
    ) {
        let s = spellings(t).swap_remove(which % 8);
        let mut chars: Vec<char> = s.chars().collect();
        let i = at % chars.len().max(1);
        match edit {
            0 => chars[i] = c,
            1 => { chars.remove(i); }
            _ => chars.insert(i, c),
        }
        let mangled: String = chars.into_iter().collect();
        let by_regex = anchored(t).is_match(&mangled);
        let by_value = matches(&mangled, t);
        prop_assert!(!by_regex || by_value, "{} takes {} but matches() does not", le_regex(t), mangled);
        // Where the mangled text is still a form clients write (a plain
        // decimal without leading zeros, or one digit before the point of
        // an exponent form), they agree both ways.
        let client_form = Regex::new(
            r"^(([1-9][0-9]*|0)(\.[0-9]*)?|[1-9](\.[0-9]*)?[eE][+-]?[0-9]+)$",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        if client_form.is_match(&mangled) {
            prop_assert_eq!(by_regex, by_value, "{} on {}", le_regex(t), mangled);
        }
    }

    /// The matcher survives PromQL quoting: a parser reads back the regex.
    #[test]
    fn the_matcher_parses_as_promql(t in any_positive()) {
        let expr = format!("x_bucket{{{}}}", slo_core::promql::le_matcher(t));
        match promql_parser::parser::parse(&expr) {
            Ok(promql_parser::parser::Expr::VectorSelector(vs)) => {
                let m = vs.matchers.matchers.iter().find(|m| m.name == "le");
                prop_assert_eq!(m.map(|m| m.value.clone()), Some(le_regex(t)));
            }
            other => prop_assert!(false, "{}: {:?}", expr, other),
        }
    }
}
