//! Every `--json` output parses with a parser that rejects duplicate keys
//! (`eval --json` wrote `"long"` twice per pair; `serde_json` keeps the
//! last silently). `eval` is checked against a real Prometheus in
//! `tests/eval.rs`, `backtest` in `tests/backtest_cli.rs`; here `explain`.

mod strict_json;

use std::path::Path;

use assert_cmd::Command;

#[test]
fn explain_json_has_no_duplicate_keys() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for dir in ["shop", "istio", "openslo", "sloth"] {
        let out = Command::cargo_bin("slo-eval")
            .unwrap_or_else(|e| panic!("{e}"))
            .args(["explain", "--json"])
            .arg(examples.join(dir))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc = strict_json::parse_or_panic(&String::from_utf8_lossy(&out.stdout));
        assert!(
            doc["slos"].as_array().is_some_and(|a| !a.is_empty()),
            "{dir}: {doc}"
        );
    }
}
