//! Properties of the spec loader (`load::check`): it never panics, every
//! diagnostic points inside the input at a consistent line and column, and a
//! spec comes back exactly when there is no error.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use slo_core::diagnostic::Diagnostic;
use slo_core::load;
use slo_core::spec::Spec;
use slo_core::yaml;

// ---------------------------------------------------------------------------
// A YAML model and a printer for it.

#[derive(Clone, Debug)]
enum Style {
    Plain,
    Single,
    Double,
}

#[derive(Clone, Debug)]
enum Y {
    Scalar(String, Style),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
    /// The same node, printed in flow style (`{a: 1}`, `[x, y]`).
    Flow(Box<Y>),
}

fn plain(s: &str) -> Y {
    Y::Scalar(s.to_owned(), Style::Plain)
}

fn map(pairs: Vec<(&str, Y)>) -> Y {
    Y::Map(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn scalar_text(s: &str, style: &Style) -> String {
    match style {
        Style::Plain => s.to_owned(),
        Style::Single => format!("'{}'", s.replace('\'', "''")),
        // JSON strings are YAML double-quoted scalars.
        Style::Double => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()),
    }
}

fn flow(y: &Y, out: &mut String) {
    match y {
        Y::Scalar(s, style) => out.push_str(&scalar_text(s, style)),
        Y::Flow(inner) => flow(inner, out),
        Y::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
        Y::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
    }
}

/// Whether `y` prints on the same line as its key or dash.
fn inline(y: &Y) -> bool {
    match y {
        Y::Scalar(..) | Y::Flow(_) => true,
        Y::Seq(items) => items.is_empty(),
        Y::Map(pairs) => pairs.is_empty(),
    }
}

fn block(y: &Y, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match y {
        Y::Seq(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                if inline(item) {
                    out.push(' ');
                    flow(item, out);
                    out.push('\n');
                } else {
                    out.push('\n');
                    block(item, indent + 2, out);
                }
            }
        }
        Y::Map(pairs) if !pairs.is_empty() => {
            for (k, v) in pairs {
                out.push_str(&pad);
                out.push_str(k);
                out.push(':');
                if inline(v) {
                    out.push(' ');
                    flow(v, out);
                    out.push('\n');
                } else {
                    out.push('\n');
                    block(v, indent + 2, out);
                }
            }
        }
        _ => {
            out.push_str(&pad);
            flow(y, out);
            out.push('\n');
        }
    }
}

fn print(y: &Y) -> String {
    let mut out = String::new();
    block(y, 0, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Strategies.

/// Every key the spec format knows, and a few near misses.
const KEYS: &[&str] = &[
    "version",
    "service",
    "labels",
    "slos",
    "name",
    "description",
    "objective",
    "period",
    "sli",
    "ratio",
    "errors",
    "good",
    "total",
    "group_by",
    "latency",
    "histogram",
    "selector",
    "threshold",
    "events",
    "error_query",
    "total_query",
    "raw",
    "error_ratio_query",
    "alerting",
    "annotations",
    "page",
    "ticket",
    "disable",
    "for",
    "windows",
    "severity",
    "long",
    "short",
    "factor",
    "budget_percent",
    "min_events",
    "absent_for",
    "objetive",
    "slo",
    "team",
    "alertname",
    "slo_service",
];

/// Values that sit on an edge of some check.
const EDGE_SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "1e309",
    "-1e309",
    "1e-320",
    "5e-324",
    ".nan",
    ".NaN",
    ".inf",
    "-.inf",
    "+.inf",
    "nan",
    "inf",
    "0x10",
    "99.9",
    "99.999999999999",
    "100",
    "101",
    "0.5",
    "2",
    "14.4",
    "1000",
    "0s",
    "0",
    "1ms",
    "5m",
    "1h",
    "1h5m",
    "2h",
    "6h",
    "1d",
    "3d",
    "28d",
    "30d",
    "4w",
    "1y",
    "1.5h",
    "-5m",
    "30m1h",
    "600000000y",
    "18446744073709551615ms",
    "page",
    "ticket",
    "slo/v1",
    "prometheus/v1",
    "workbook",
    "google-30d",
    "google-28d",
    "checkout",
    "Checkout",
    "http_requests_total",
    "http_requests_total{code=~\"5..\"}",
    "x{a=\"}\"}",
    "x{",
    "{}",
    "[]",
    "rate(x[5m])",
    "sum(rate(x[{{.window}}]))",
    "{{.window}}",
    "é",
    "日本語",
    "🦀",
    "\u{FEFF}",
    "a\u{0}b",
    "&a",
    "*a",
    "!!str",
    "|",
    ">",
    "- x",
    "a: b",
    "#",
    "'",
    "\"",
    "\t",
    "\r",
    "\n",
    "%YAML 1.2",
    "---",
    "...",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_]{1,12}",
        1 => prop::sample::select(EDGE_SCALARS).prop_map(|s| scalar_text(s, &Style::Double)),
    ]
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![6 => Just(Style::Plain), 1 => Just(Style::Single), 1 => Just(Style::Double)]
}

fn scalar() -> impl Strategy<Value = Y> {
    prop_oneof![
        6 => (prop::sample::select(EDGE_SCALARS), style()).prop_map(|(s, st)| Y::Scalar(s.to_owned(), st)),
        1 => (any::<f64>(), style()).prop_map(|(x, st)| Y::Scalar(x.to_string(), st)),
        1 => ("[a-z0-9._-]{0,12}", style()).prop_map(|(s, st)| Y::Scalar(s, st)),
        1 => (any::<String>(), style()).prop_map(|(s, st)| Y::Scalar(s, st)),
    ]
}

/// Arbitrary YAML over the spec's keys: maps, lists, scalars, nested.
fn tree() -> impl Strategy<Value = Y> {
    scalar().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            3 => prop::collection::vec((key(), inner.clone()), 0..6).prop_map(Y::Map),
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Y::Seq),
            1 => inner.prop_map(|y| Y::Flow(Box::new(y))),
        ]
    })
}

/// `good` most of the time, otherwise an edge value or an arbitrary tree.
fn usually(good: impl Strategy<Value = Y> + 'static) -> BoxedStrategy<Y> {
    prop_oneof![
        40 => good,
        1 => scalar(),
        1 => tree(),
    ]
    .boxed()
}

/// The first value most of the time (the others are near misses), or
/// anything else now and then.
fn pick(values: &'static [&'static str]) -> BoxedStrategy<Y> {
    usually(prop_oneof![
        4 => Just(plain(values[0])),
        1 => prop::sample::select(values).prop_map(plain),
    ])
}

/// A map of the given fields, each present in `present` cases out of 20,
/// sometimes with an extra (unknown or duplicate) key somewhere.
fn fields(fields: Vec<(&'static str, u32, BoxedStrategy<Y>)>) -> BoxedStrategy<Y> {
    let present: Vec<BoxedStrategy<Option<(String, Y)>>> = fields
        .into_iter()
        .map(|(k, present, v)| {
            prop_oneof![
                present => v.prop_map(move |v| Some((k.to_owned(), v))),
                20 - present => Just(None),
            ]
            .boxed()
        })
        .collect();
    (
        present,
        prop::option::weighted(0.03, (key(), tree())),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(pairs, extra, at, as_flow)| {
            let mut pairs: Vec<(String, Y)> = pairs.into_iter().flatten().collect();
            if let Some(extra) = extra {
                let i = at.index(pairs.len() + 1);
                pairs.insert(i, extra);
            }
            let y = Y::Map(pairs);
            if as_flow && at.index(8) == 0 {
                Y::Flow(Box::new(y))
            } else {
                y
            }
        })
        .boxed()
}

fn labels() -> BoxedStrategy<Y> {
    usually(
        prop::collection::vec(
            (
                prop::sample::select(&["team", "tier", "slo", "severity", "__x", "a-b", "env"][..]),
                prop::sample::select(&["sre", "1", "", "x y"][..]),
            ),
            0..3,
        )
        .prop_map(|kv| {
            Y::Map(
                kv.into_iter()
                    .map(|(k, v)| (k.to_owned(), plain(v)))
                    .collect(),
            )
        }),
    )
}

fn selector() -> BoxedStrategy<Y> {
    pick(&[
        "http_requests_total",
        "http_requests_total{job=\"api\"}",
        "http_requests_total{job=\"api\",code=~\"5..\"}",
        "{__name__=\"x\"}",
        "x{a=\"b\"}}",
        "rate(x[5m])",
    ])
}

fn query() -> BoxedStrategy<Y> {
    pick(&[
        "sum(rate(errors_total[{{.window}}]))",
        "sum(rate(requests_total[{{.window}}]))",
        "sum(rate(x[5m]))",
        "sum(rate(x[{{.window}}])",
    ])
}

fn duration(values: &'static [&'static str]) -> BoxedStrategy<Y> {
    pick(values)
}

fn group_by() -> BoxedStrategy<Y> {
    usually(
        prop::collection::vec(
            prop::sample::select(&["instance", "route", "slo", "route", "1x"][..]),
            0..3,
        )
        .prop_map(|v| Y::Seq(v.into_iter().map(plain).collect())),
    )
}

fn sli() -> BoxedStrategy<Y> {
    let ratio = fields(vec![
        ("errors", 18, selector()),
        ("good", 2, selector()),
        ("total", 19, selector()),
        ("group_by", 3, group_by()),
    ]);
    let latency = fields(vec![
        (
            "histogram",
            19,
            pick(&["http_request_duration_seconds", "h_bucket", "1bad"]),
        ),
        ("selector", 6, pick(&["{job=\"api\"}", "", "job=\"api\""])),
        ("threshold", 19, pick(&["0.3", "0", "-1", ".inf", "abc"])),
        ("group_by", 3, group_by()),
    ]);
    let events = fields(vec![
        ("error_query", 19, query()),
        ("total_query", 19, query()),
    ]);
    let raw = fields(vec![("error_ratio_query", 19, query())]);
    let kinds = prop_oneof![
        4 => ratio.prop_map(|v| map(vec![("ratio", v)])),
        2 => latency.prop_map(|v| map(vec![("latency", v)])),
        1 => events.prop_map(|v| map(vec![("events", v)])),
        1 => raw.prop_map(|v| map(vec![("raw", v)])),
    ];
    usually(kinds)
}

fn window() -> BoxedStrategy<Y> {
    fields(vec![
        ("severity", 19, pick(&["page", "ticket", "warning"])),
        (
            "long",
            19,
            duration(&["1h", "6h", "1d", "3d", "5m", "31d", "1ms"]),
        ),
        (
            "short",
            19,
            duration(&["5m", "30m", "2h", "6h", "1h", "0s"]),
        ),
        (
            "budget_percent",
            17,
            pick(&["2", "5", "10", "100", "0", "150"]),
        ),
        ("factor", 3, pick(&["14.4", "6", "1", "0.5", "2000", "-1"])),
    ])
}

fn tier() -> BoxedStrategy<Y> {
    fields(vec![
        ("disable", 4, pick(&["true", "false", "yes"])),
        ("labels", 3, labels()),
        ("annotations", 3, labels()),
        ("for", 3, duration(&["0s", "5m", "2m30s"])),
    ])
}

fn alerting() -> BoxedStrategy<Y> {
    let windows = usually(prop_oneof![
        2 => prop::sample::select(&["workbook", "google-30d", "google-28d", "sloth"][..]).prop_map(plain),
        3 => prop::collection::vec(window(), 1..5).prop_map(Y::Seq),
    ]);
    fields(vec![
        (
            "name",
            5,
            pick(&["CheckoutBurn", "bad-name", "SLOErrorBudgetBurn"]),
        ),
        ("labels", 3, labels()),
        ("annotations", 3, labels()),
        ("page", 5, tier()),
        ("ticket", 5, tier()),
        ("windows", 8, windows),
        ("min_events", 5, pick(&["0", "100", "-1", ".nan", "1e300"])),
        ("absent_for", 3, duration(&["10m", "0s"])),
    ])
}

fn slo_name() -> BoxedStrategy<Y> {
    usually(prop_oneof![
        4 => "[a-z][a-z0-9-]{0,10}".prop_map(|s| Y::Scalar(s, Style::Plain)),
        1 => prop::sample::select(&["availability", "Bad Name", "-x"][..]).prop_map(plain),
    ])
}

fn slo() -> BoxedStrategy<Y> {
    fields(vec![
        ("name", 19, slo_name()),
        ("description", 3, pick(&["Checkout succeeds", "é 日本語"])),
        (
            "objective",
            19,
            pick(&["99.9", "99", "95", "99.99", "90", "0.5", "100", "1e-300"]),
        ),
        (
            "period",
            8,
            duration(&["30d", "28d", "7d", "1d", "90d", "0s"]),
        ),
        ("labels", 3, labels()),
        ("sli", 19, sli()),
        ("alerting", 8, alerting()),
    ])
}

/// Spec-shaped YAML: mostly the right fields with the right kinds of values,
/// perturbed with edge values, arbitrary subtrees and unknown keys.
fn spec_shaped() -> BoxedStrategy<Y> {
    fields(vec![
        ("version", 19, pick(&["slo/v1", "prometheus/v1", "slo/v2"])),
        (
            "service",
            19,
            pick(&["checkout", "api-gateway", "Checkout", "a b"]),
        ),
        ("labels", 3, labels()),
        (
            "slos",
            19,
            usually(prop::collection::vec(slo(), 1..4).prop_map(Y::Seq)),
        ),
    ])
}

// ---------------------------------------------------------------------------
// The invariants.

/// Line and 1-based column (in characters) of byte `offset`, counting
/// YAML line breaks (`\n`, `\r\n`, lone `\r`). A byte-order mark at the
/// start of the file takes no column, as in editors.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset];
    let before = before.strip_prefix('\u{FEFF}').unwrap_or(before);
    let mut line = 1;
    let mut col = 1;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                col = 1;
            }
            '\r' if chars.peek() != Some(&'\n') => {
                line += 1;
                col = 1;
            }
            '\r' => {}
            _ => col += 1,
        }
    }
    (line, col)
}

fn check_invariants(src: &str) -> Result<(Option<Spec>, Vec<Diagnostic>), TestCaseError> {
    if let Ok(docs) = yaml::parse(src) {
        let size: usize = docs.iter().map(yaml::expanded_size).sum();
        prop_assert!(size <= yaml::MAX_EXPANDED_BYTES, "{size} bytes");
    }
    let (spec, diags) = load::check(src);
    for d in &diags {
        let loc = d.location;
        prop_assert!(loc.line >= 1 && loc.column >= 1, "{d:?}");
        prop_assert!(
            loc.offset <= src.len(),
            "offset past the end: {d:?} in {src:?}"
        );
        prop_assert!(
            loc.offset + loc.len <= src.len(),
            "span past the end ({} bytes): {d:?} in {src:?}",
            src.len()
        );
        prop_assert!(
            loc.len >= 1 || loc.offset == src.len(),
            "empty span on text: {d:?}"
        );
        prop_assert!(
            src.is_char_boundary(loc.offset) && src.is_char_boundary(loc.offset + loc.len),
            "span splits a character: {d:?} in {src:?}"
        );
        prop_assert_eq!(
            line_col(src, loc.offset),
            (loc.line, loc.column),
            "line/column disagree with the offset: {:?} in {:?}",
            d,
            src
        );
        prop_assert!(!d.message.is_empty(), "{d:?}");
    }
    let sorted = diags.windows(2).all(|w| {
        (w[0].location.line, w[0].location.column) <= (w[1].location.line, w[1].location.column)
    });
    prop_assert!(sorted, "diagnostics out of order: {diags:?}");
    let has_error = diags.iter().any(Diagnostic::is_error);
    prop_assert_eq!(spec.is_some(), !has_error, "{:?}", diags);
    prop_assert_eq!(load::load_str(src).is_ok(), spec.is_some());
    if let Some(spec) = &spec {
        check_spec(spec)?;
    }
    Ok((spec, diags))
}

/// What a checked spec guarantees.
fn check_spec(spec: &Spec) -> Result<(), TestCaseError> {
    prop_assert!(slo_core::names::check_name(&spec.service).is_ok());
    prop_assert!(!spec.slos.is_empty());
    for slo in &spec.slos {
        prop_assert!(slo_core::names::check_name(&slo.name).is_ok());
        let o = slo.objective.ratio();
        prop_assert!(o > 0.0 && o < 1.0, "objective {o}");
        prop_assert!(!slo.period.is_zero());
        let budget = slo.budget();
        for pair in slo.policy.pairs() {
            prop_assert!(pair.factor.is_finite() && pair.factor > 0.0, "{pair:?}");
            prop_assert!(!pair.short.is_zero() && pair.short < pair.long, "{pair:?}");
            prop_assert!(pair.long <= slo.period, "{pair:?}");
            prop_assert!(pair.can_fire(&budget), "{pair:?} can never fire");
            prop_assert!(!slo.alerting.tier(pair.severity).disabled);
        }
        let m = slo.alerting.min_events;
        prop_assert!(m.is_finite() && m >= 0.0);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The loader fuzz: YAML full of anchors and aliases, with a memory bound.

/// One top-level entry of an alias-heavy file.
#[derive(Clone, Debug)]
enum Entry {
    /// `kN: &aN xxxx...` (a scalar of that many bytes).
    Scalar(usize),
    /// `kN: &aN [*aI, *aJ, ...]`, aliases to earlier anchors (or unknown
    /// ones, for the first entries).
    Seq(Vec<prop::sample::Index>),
    /// `kN: {*aI: *aJ}`, aliases as a key and a value.
    Map(prop::sample::Index, prop::sample::Index),
    /// `kN: <junk>`, YAML-ish text.
    Junk(String),
}

fn alias_heavy() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        2 => (0usize..4096).prop_map(Entry::Scalar),
        3 => prop::collection::vec(any::<prop::sample::Index>(), 0..12).prop_map(Entry::Seq),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(a, b)| Entry::Map(a, b)),
        1 => "[a-z:\\- \\[\\]{},&*!|>#.0-9]{0,24}".prop_map(Entry::Junk),
        1 => "[a-z.0-9]{0,24}".prop_map(Entry::Junk),
    ];
    (prop::collection::vec(entry, 0..24), any::<bool>()).prop_map(|(entries, spec)| {
        let mut out = String::new();
        if spec {
            out.push_str("version: slo/v1\nservice: x\nslos: [{name: a, objective: 99.9, sli: {raw: {error_ratio_query: '{{.window}}'}}}]\n");
        }
        // Aliases name anchors defined before (or `*none`, an error).
        let mut anchors: Vec<usize> = Vec::new();
        let alias = |anchors: &[usize], at: &prop::sample::Index| match anchors {
            [] => "*none".to_owned(),
            _ => format!("*a{}", anchors[at.index(anchors.len())]),
        };
        for (i, e) in entries.iter().enumerate() {
            let line = match e {
                Entry::Scalar(n) => format!("k{i}: &a{i} {}", "x".repeat(*n)),
                Entry::Seq(items) => {
                    let items: Vec<String> = items.iter().map(|at| alias(&anchors, at)).collect();
                    format!("k{i}: &a{i} [{}]", items.join(", "))
                }
                Entry::Map(a, b) => {
                    format!("k{i}: {{{} : {}}}", alias(&anchors, a), alias(&anchors, b))
                }
                Entry::Junk(junk) => format!("k{i}: {junk}"),
            };
            if matches!(e, Entry::Scalar(_) | Entry::Seq(_)) {
                anchors.push(i);
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    })
}

/// The fuzz's small budget: bombs are refused after at most this much
/// copying, so a case stays cheap; under it the loader runs on the input.
const FUZZ_BYTES: usize = 1 << 20;

/// No panic, and the tree never grows past the budget: either the parse is
/// refused with a located error, or its expanded size is within the budget
/// and the whole loader holds its invariants on the input.
fn fuzz_one(src: &str) -> Result<(), TestCaseError> {
    match yaml::parse_limited(src, FUZZ_BYTES) {
        Ok(docs) => {
            let size: usize = docs.iter().map(yaml::expanded_size).sum();
            prop_assert!(size <= FUZZ_BYTES, "{size} bytes");
            check_invariants(src)?;
        }
        Err(d) => {
            prop_assert!(d.location.offset + d.location.len <= src.len(), "{d:?}");
            prop_assert!(!d.message.is_empty());
        }
    }
    Ok(())
}

/// Cases for the loader fuzz: `PROPTEST_CASES` when set, else `default`.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_fuzz(cases: u32) {
    let mut runner = TestRunner::new(common::config(cases, "proptest-regressions/prop_load.txt"));
    let result = runner.run(&alias_heavy(), |src| fuzz_one(&src));
    assert!(result.is_ok(), "{result:?}");
}

/// The fuzz reaches both sides of the bound: files refused for their
/// expanded size, and files that load.
#[test]
fn fuzz_generator_reaches_refusals_and_loads() {
    let mut runner = TestRunner::new(Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(12),
        ..Config::default()
    });
    let strategy = alias_heavy();
    let (mut refused, mut parsed) = (0, 0);
    for _ in 0..300 {
        let tree = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates");
        let src = proptest::strategy::ValueTree::current(&tree);
        match yaml::parse_limited(&src, FUZZ_BYTES) {
            Ok(_) => parsed += 1,
            Err(d) if d.message.contains("beyond") || d.message.contains("larger than") => {
                refused += 1
            }
            Err(_) => {}
        }
    }
    assert!(
        refused >= 10 && parsed >= 10,
        "{refused} refused, {parsed} parsed"
    );
}

/// The loader fuzz as CI runs it (a few hundred cases; `PROPTEST_CASES`
/// overrides).
#[test]
fn fuzz_loader_alias_heavy_yaml_is_bounded() {
    run_fuzz(fuzz_cases(256));
}

/// The long run: 100,000 cases by default, about 95 s in debug. Ignored in
/// `cargo test` to keep the everyday suite quick; `.ci/run` runs it after
/// the suite (`cargo test -p slo-core --test prop_load -- --ignored fuzz_loader_long`).
#[test]
#[ignore = "long fuzz run (100,000 cases): .ci/run runs it after the suite"]
fn fuzz_loader_long() {
    run_fuzz(fuzz_cases(100_000));
}

/// Regression (issue 12): a 1 MB spec aliasing a 1 MB scalar 2,500 times
/// made `validate` allocate 2.6 GB, 10,000 aliases aborted. The loader
/// refuses it at the alias that crosses the budget, before copying it.
#[test]
fn alias_bomb_is_refused_with_a_located_error() {
    for aliases in [2_500, 10_000] {
        let mut src = format!(
            "version: slo/v1\nservice: x\nbig: &big {}\nlist:\n",
            "x".repeat(1 << 20)
        );
        src.push_str(&"  - *big\n".repeat(aliases));
        let (spec, diags) = load::check(&src);
        assert!(spec.is_none());
        let [d] = diags.as_slice() else {
            panic!("expected one error: {diags:?}");
        };
        assert!(d.is_error());
        assert!(
            d.message.contains("aliases expand this file beyond 64 MiB"),
            "{d:?}"
        );
        // At an alias (`  - *big` from line 5 on), located by line and column.
        assert!(d.location.line > 5 && d.location.line < 5 + 64, "{d:?}");
        assert_eq!(d.location.column, 5, "{d:?}");
        assert_eq!(&src[d.location.offset..d.location.offset + 4], "*big");
    }
}

proptest! {
    #![proptest_config(common::config(512, "proptest-regressions/prop_load.txt"))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let src = String::from_utf8_lossy(&bytes);
        check_invariants(&src)?;
    }

    #[test]
    fn yaml_like_text_never_panics(src in "[a-z:\\- \\n\\[\\]{},'\"&*!|>#%.0-9\\t\\r]{0,200}") {
        check_invariants(&src)?;
    }

    #[test]
    fn arbitrary_trees_over_spec_keys(y in tree()) {
        check_invariants(&print(&y))?;
    }

    #[test]
    fn spec_shaped_yaml(y in spec_shaped()) {
        check_invariants(&print(&y))?;
    }

    /// Cutting a spec anywhere (at a character boundary) still gives
    /// well-located diagnostics.
    #[test]
    fn truncated_specs(y in spec_shaped(), at in any::<prop::sample::Index>()) {
        let src = print(&y);
        let mut cut = at.index(src.len() + 1);
        while !src.is_char_boundary(cut) {
            cut -= 1;
        }
        check_invariants(&src[..cut])?;
    }

    /// The same spec with CRLF line ends, a BOM or tabs after values.
    #[test]
    fn line_end_variants(y in spec_shaped(), variant in 0usize..3) {
        let src = print(&y);
        let src = match variant {
            0 => src.replace('\n', "\r\n"),
            1 => format!("\u{FEFF}{src}"),
            _ => src.replace('\n', " \t# comment\n"),
        };
        check_invariants(&src)?;
    }
}

/// The spec-shaped generator must reach the end of the loader: a fair share
/// of what it makes loads without errors, and a fair share does not.
#[test]
fn spec_shaped_generator_reaches_valid_specs() {
    let mut runner = TestRunner::new(Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        ..Config::default()
    });
    let strategy = spec_shaped();
    let (mut ok, mut total) = (0, 0);
    for _ in 0..300 {
        let tree = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates");
        let src = print(&proptest::strategy::ValueTree::current(&tree));
        total += 1;
        if load::check(&src).0.is_some() {
            ok += 1;
        }
    }
    assert!(
        ok * 50 >= total,
        "only {ok} of {total} generated specs load"
    );
    assert!(ok * 10 <= total * 9, "{ok} of {total} generated specs load");
}

/// The printer makes what the loader expects, so the generators test the
/// loader rather than the printer.
#[test]
fn printer_makes_loadable_specs() {
    let slo = map(vec![
        ("name", plain("availability")),
        ("objective", plain("99.9")),
        (
            "sli",
            map(vec![(
                "ratio",
                map(vec![
                    (
                        "errors",
                        Y::Scalar("x{code=~\"5..\"}".to_owned(), Style::Double),
                    ),
                    ("total", Y::Scalar("x".to_owned(), Style::Single)),
                ]),
            )]),
        ),
        (
            "alerting",
            map(vec![(
                "windows",
                Y::Seq(vec![Y::Flow(Box::new(map(vec![
                    ("severity", plain("page")),
                    ("long", plain("1h")),
                    ("short", plain("5m")),
                    ("factor", plain("14.4")),
                ])))]),
            )]),
        ),
    ]);
    let spec = map(vec![
        ("version", plain("slo/v1")),
        ("service", plain("checkout")),
        ("slos", Y::Seq(vec![slo])),
    ]);
    let src = print(&spec);
    let (loaded, diags) = load::check(&src);
    assert!(diags.is_empty(), "{src}\n{diags:?}");
    let loaded = loaded.expect("the spec loads");
    assert_eq!(loaded.slos[0].policy.pairs().len(), 1);
    assert_eq!(loaded.slos[0].policy.pairs()[0].factor, 14.4);
}

/// Inputs that stress the parser's and loader's limits.
#[test]
fn pathological_inputs_are_reported_not_fatal() {
    let cases = [
        String::new(),
        " ".to_owned(),
        "\n\n\n".to_owned(),
        "#".to_owned(),
        "---\n---\n".to_owned(),
        "...".to_owned(),
        "\u{FEFF}".to_owned(),
        "é".to_owned(),
        "\"".to_owned(),
        "'é".to_owned(),
        "[é".to_owned(),
        "a: [".to_owned(),
        "a: &x\n  b: *x\n".to_owned(),
        "*x".to_owned(),
        "[".repeat(10_000),
        "{".repeat(10_000),
        "- ".repeat(5_000),
        "a:\n".repeat(2_000),
        (0..300).map(|i| format!("{}k:\n", " ".repeat(i))).collect(),
        format!("version: slo/v1\nservice: {}\n", "x".repeat(100_000)),
        format!("{}: 1\n", "objetive".repeat(1_000)),
        "version: slo/v1\nservice: x\nslos: [{name: a, objective: 99.9, period: 18446744073709551615ms, sli: {raw: {error_ratio_query: '{{.window}}'}}}]".to_owned(),
        "version: slo/v1\nservice: x\nslos: [{name: a, objective: 5e-324, sli: {raw: {error_ratio_query: '{{.window}}'}}}]".to_owned(),
    ];
    for src in &cases {
        let result = check_invariants(src);
        assert!(
            result.is_ok(),
            "{:?}: {result:?}",
            src.chars().take(80).collect::<String>()
        );
    }
}
