//! An alternative `alerting:` block read for a loaded SLO (the policy lab's
//! and the backtest API's input): the YAML `native::alerting_yaml` writes
//! reads back as the same SLO for every example spec, and mistakes get the
//! spec reader's diagnostics at their line and column in the block.

use std::path::{Path, PathBuf};

use slo_core::{load, native};

fn example_specs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    for dir in ["shop", "specs", "sloth", "openslo"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_pasted_alerting_block_reads_back_as_the_same_slo() {
    let mut checked = 0;
    for path in example_specs() {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let Ok(spec) = load::load_str(&text) else {
            continue;
        };
        for slo in &spec.slos {
            let yaml = native::alerting_yaml(slo);
            let (back, _) = load::alternative(slo, &yaml).unwrap_or_else(|d| {
                panic!(
                    "{}: {}/{}: {yaml}\n{}",
                    path.display(),
                    slo.service,
                    slo.name,
                    d[0]
                )
            });
            assert_eq!(&back, slo, "{}: {yaml}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} SLOs read");
}

fn shop_checkout() -> slo_core::spec::Slo {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop/checkout.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let spec = load::load_str(&text).unwrap_or_else(|d| panic!("{}", d[0]));
    spec.slos[0].clone()
}

#[test]
fn an_alternative_changes_only_the_alerting() {
    let slo = shop_checkout();
    let json = r#"{"alerting": {"windows": [{"severity": "page", "long": "1h", "short": "5m", "factor": 10}], "ticket": {"disable": true}, "min_events": 50, "page": {"for": "2m"}}}"#;
    let (alt, _) = load::alternative(&slo, json).unwrap_or_else(|d| panic!("{}", d[0]));
    assert_eq!(alt.policy.pairs().len(), 1);
    assert_eq!(alt.policy.pairs()[0].factor, 10.0);
    assert_eq!(alt.alerting.min_events, 50.0);
    assert_eq!(
        alt.alerting.page.for_.map(|d| d.to_string()).as_deref(),
        Some("2m")
    );
    assert_eq!(
        (alt.sli, alt.objective, alt.period),
        (slo.sli, slo.objective, slo.period)
    );
}

#[test]
fn a_malformed_alternative_is_located_in_its_own_text() {
    let slo = shop_checkout();
    let cases: [(&str, (usize, usize), &str); 6] = [
        (
            "alerting:\n  windows: fastest\n",
            (2, 12),
            "unknown window preset `fastest`",
        ),
        (
            "alerting:\n  windows:\n    - severity: page\n      long: 1h\n      short: 5m\n      factor: 5000\n",
            (3, 7),
            "can never fire",
        ),
        (
            "alerting:\n  min_events: -1\n",
            (2, 15),
            "min_events must be zero or more",
        ),
        ("alerting:\n  pgae: {}\n", (2, 3), "pgae"),
        ("alerting: [1, 2\n", (1, 11), "invalid YAML"),
        ("windows: workbook\n", (1, 1), "windows"),
    ];
    for (src, (line, column), message) in cases {
        let diags = load::alternative(&slo, src)
            .err()
            .unwrap_or_else(|| panic!("{src:?} was accepted"));
        let d = &diags[0];
        assert_eq!(
            (d.location.line, d.location.column),
            (line, column),
            "{src:?}: {d}"
        );
        assert!(d.to_string().contains(message), "{src:?}: {d}");
    }
    // Not a mapping at all, and nothing.
    assert!(load::alternative(&slo, "- 1\n").is_err());
    assert!(load::alternative(&slo, "").is_err());
}
