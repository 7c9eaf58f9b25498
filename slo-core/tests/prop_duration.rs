//! Properties of the Prometheus duration type: printing and parsing agree,
//! printing is canonical, and the parser is total (never panics) and strict.

mod common;

use proptest::prelude::*;
use slo_core::duration::Duration;
use slo_core::errors::DurationError;

/// Units largest first, as the grammar orders them.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// Durations spread over every magnitude: a few ms up to the type's limit.
fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        any::<u64>().prop_map(Duration::from_millis),
        (0u64..100_000_000_000).prop_map(Duration::from_millis),
        (0u64..10_000_000).prop_map(Duration::from_secs),
        (0u64..100_000).prop_map(Duration::from_days),
        Just(Duration::ZERO),
        Just(Duration::from_millis(u64::MAX)),
    ]
}

/// A grammatical duration string: a non-empty subset of the units, in
/// descending order, each with a number (possibly zero or with leading
/// zeros), and the exact value it denotes (`None` past `u64`).
fn grammatical() -> impl Strategy<Value = (String, Option<u64>)> {
    (
        proptest::sample::subsequence(UNITS.to_vec(), 1..=UNITS.len()),
        proptest::collection::vec((0u64..100_000, 0usize..3), UNITS.len()),
    )
        .prop_map(|(units, numbers)| {
            let mut text = String::new();
            let mut total: u128 = 0;
            for ((unit, size), (n, zeros)) in units.into_iter().zip(numbers) {
                text.push_str(&"0".repeat(zeros));
                text.push_str(&n.to_string());
                text.push_str(unit);
                total += u128::from(n) * u128::from(size);
            }
            (text, u64::try_from(total).ok())
        })
}

/// Checks that `s` is in canonical printed form: `0s`, or terms with
/// non-zero numbers without leading zeros, units strictly descending.
fn assert_canonical_form(s: &str) {
    if s == "0s" {
        return;
    }
    let mut rest = s;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        assert!(digits > 0, "`{s}`: a term without a number");
        assert!(!rest.starts_with('0'), "`{s}`: zero or leading zero");
        let after = &rest[digits..];
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &after[..letters];
        let index = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .unwrap_or_else(|| panic!("`{s}`: unit `{unit}` unknown or out of order"));
        next_unit += index + 1;
        rest = &after[letters..];
    }
}

proptest! {
    #![proptest_config(common::config(2048, "proptest-regressions/prop_duration.txt"))]

    #[test]
    fn print_then_parse_round_trips(d in any_duration()) {
        let printed = d.to_string();
        prop_assert_eq!(printed.parse::<Duration>(), Ok(d), "printed as {}", printed);
    }

    #[test]
    fn printing_is_in_canonical_form(d in any_duration()) {
        assert_canonical_form(&d.to_string());
    }

    #[test]
    fn years_and_weeks_print_only_when_exact(d in any_duration()) {
        let printed = d.to_string();
        let letters: String = printed.chars().filter(char::is_ascii_alphabetic).collect();
        if letters.contains('y') {
            prop_assert_eq!(d.as_millis() % UNITS[0].1, 0);
        }
        if letters.contains('w') {
            prop_assert_eq!(d.as_millis() % UNITS[1].1, 0);
        }
    }

    #[test]
    fn grammatical_strings_parse_to_their_value((text, value) in grammatical()) {
        match value {
            Some(ms) => prop_assert_eq!(text.parse::<Duration>(), Ok(Duration::from_millis(ms))),
            None => prop_assert!(matches!(text.parse::<Duration>(), Err(DurationError::Overflow(_)))),
        }
    }

    /// parse(s) -> print -> parse gives parse(s) back, and printing a parsed
    /// value again prints the same text (the printed form is a fixpoint).
    #[test]
    fn printing_is_canonical((text, _) in grammatical()) {
        if let Ok(d) = text.parse::<Duration>() {
            let printed = d.to_string();
            let again = printed.parse::<Duration>();
            prop_assert_eq!(again.clone(), Ok(d), "{} printed as {}", text, printed);
            prop_assert_eq!(again.map(|d| d.to_string()), Ok(printed));
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = s.parse::<Duration>();
    }

    #[test]
    fn near_miss_strings_never_panic(s in "[0-9a-zA-Z.+\\- ]{0,24}") {
        if let Ok(d) = s.parse::<Duration>() {
            // Anything accepted is grammatical, so it prints back to itself
            // up to canonical form.
            prop_assert_eq!(d.to_string().parse::<Duration>(), Ok(d));
            prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "accepted `{}`", s);
        }
    }

    /// Fractions, signs and whitespace anywhere are rejected, even inside an
    /// otherwise valid duration.
    #[test]
    fn dots_signs_and_spaces_are_rejected(
        (text, _) in grammatical(),
        bad in prop::sample::select(vec![".", "-", "+", " ", "\t", "\n", ".5", "-1"]),
        at in any::<prop::sample::Index>(),
    ) {
        let at = at.index(text.len() + 1);
        let mut s = text.clone();
        s.insert_str(at, bad);
        let parsed = s.parse::<Duration>();
        prop_assert!(parsed.is_err(), "`{}` parsed as {:?}", s, parsed);
        if s.starts_with('-') {
            prop_assert!(matches!(parsed, Err(DurationError::Negative(_))), "{:?}", parsed);
        }
    }

    #[test]
    fn serde_round_trips(d in any_duration()) {
        let json = serde_json::to_string(&d).expect("a duration serializes");
        prop_assert_eq!(json.clone(), format!("\"{d}\""));
        let back: Duration = serde_json::from_str(&json).expect("a printed duration deserializes");
        prop_assert_eq!(back, d);
    }

    #[test]
    fn order_follows_length(a in any_duration(), b in any_duration()) {
        prop_assert_eq!(a.cmp(&b), a.as_millis().cmp(&b.as_millis()));
    }
}
