//! Every generated expression parses with `promql-parser`, and strings
//! written by `promql::quote` read back as the original value.

use std::path::{Path, PathBuf};

use promql_parser::parser::{self, Expr};
use slo_core::duration::Duration;
use slo_core::promql;
use slo_core::rules::RuleFile;

fn spec_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut files = Vec::new();
    for dir in ["examples/specs", "slo-eval/tests/fixtures"] {
        let dir = root.join(dir);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if p.extension().is_some_and(|e| e == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn load(path: &Path) -> slo_core::spec::Spec {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    slo_core::load::load_str(&text).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
}

#[test]
fn every_generated_expression_parses() {
    let mut count = 0;
    for path in spec_files() {
        let spec = load(&path);
        let file = RuleFile::from_specs(std::slice::from_ref(&spec));
        for expr in file.exprs() {
            if let Err(e) = parser::parse(expr) {
                panic!("{}: {e}\n{expr}", path.display());
            }
            count += 1;
        }
        // The evaluator's queries too: every SLI at every window.
        for slo in &spec.slos {
            for w in slo_core::rules::recorded_windows(slo) {
                let q = promql::error_ratio(&slo.sli, w);
                parser::parse(&q).unwrap_or_else(|e| panic!("{e}\n{q}"));
                for f in [promql::Counter::Rate, promql::Counter::Increase] {
                    for q in [
                        promql::bad_events(&slo.sli, w, f),
                        promql::total_events(&slo.sli, w, f),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        parser::parse(&q).unwrap_or_else(|e| panic!("{e}\n{q}"));
                    }
                }
            }
        }
    }
    assert!(count > 100, "only {count} expressions");
}

fn first_matcher_value(expr: &str) -> String {
    match parser::parse(expr) {
        Ok(Expr::VectorSelector(vs)) => vs
            .matchers
            .matchers
            .iter()
            .find(|m| m.name == "a")
            .map(|m| m.value.clone())
            .unwrap_or_else(|| panic!("no matcher a in {expr}")),
        other => panic!("{expr}: {other:?}"),
    }
}

#[test]
fn quoted_values_read_back_unchanged() {
    for value in [
        "plain",
        "quote \" backslash \\ newline \n brace } tab \t",
        "{{ $value }} # not a comment",
        "unicode é ✓",
        "",
    ] {
        let expr = format!("x{{{}}}", promql::matcher("a", value));
        assert_eq!(first_matcher_value(&expr), value, "{expr}");
    }
    // A value cannot end the selector early: the parser sees one matcher.
    let evil = "\"} or vector(1) or x{a=\"";
    let expr = format!("x{{{}}}", promql::matcher("a", evil));
    assert_eq!(first_matcher_value(&expr), evil);
}

#[test]
fn latency_bucket_regex_reads_back_unchanged() {
    let m = promql::le_matcher(300.0);
    let expr = format!("x{{{}}}", m.replacen("le", "a", 1));
    assert_eq!(
        first_matcher_value(&expr),
        slo_core::bucket::le_regex(300.0)
    );
    let windows = [
        Duration::from_mins(5),
        Duration::from_days(3),
        Duration::from_secs(5430),
    ];
    for w in windows {
        parser::parse(&format!("rate(x[{w}])")).unwrap_or_else(|e| panic!("{w}: {e}"));
    }
}
