//! Helpers shared by the integration tests: synthetic request counters,
//! and the proptest configuration that persists regressions.

#![allow(dead_code, unreachable_pub)]

use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::spec::Slo;

pub const S: i64 = 1000;
pub const MIN: i64 = 60 * S;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// `req_total{code="200"}` and `req_total{code="500"}` sampled every
/// `every` ms over `[from, to]`, at `rate` requests per second; the interval
/// ending at `t` fails at `error_ratio(t)`.
pub fn requests(
    from: i64,
    to: i64,
    every: i64,
    rate: f64,
    error_ratio: impl Fn(i64) -> f64,
) -> Dataset {
    let ok = SeriesKey::new("req_total", [("code", "200")]);
    let bad = SeriesKey::new("req_total", [("code", "500")]);
    let mut data = Dataset::new();
    let (mut n_ok, mut n_bad) = (0.0, 0.0);
    let mut t = from;
    while t <= to {
        if t > from {
            let n = rate * every as f64 / 1000.0;
            let e = error_ratio(t);
            n_ok += n * (1.0 - e);
            n_bad += n * e;
        }
        let _ = data.push(&ok, t, n_ok);
        let _ = data.push(&bad, t, n_bad);
        t += every;
    }
    data
}

/// A spec with one SLO over those counters; `alerting` is YAML indented for
/// the `alerting:` key (empty for the defaults).
pub fn slo(objective: f64, alerting: &str) -> Slo {
    let yaml = format!(
        "version: slo/v1\nservice: shop\nslos:\n  - name: availability\n    objective: {objective}\n    sli:\n      ratio:\n        errors: req_total{{code=\"500\"}}\n        total: req_total\n{}",
        if alerting.is_empty() {
            String::new()
        } else {
            format!("    alerting:\n{alerting}")
        }
    );
    match slo_core::load::load_str(&yaml) {
        Ok(spec) => spec.slos[0].clone(),
        Err(d) => panic!(
            "{yaml}\n{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

// Shared proptest configuration for the property tests.
//
// Proptest's default failure persistence looks for a `lib.rs` next to the
// test source and finds none under `tests/`, so failures would not be saved.
// Each test file saves its failing seeds to
// `slo-core/proptest-regressions/<file>.txt` instead (cargo runs tests from
// the package directory); commit those files so the cases run first forever.

use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` cases per property, regressions persisted to `path`.
pub(crate) fn config(cases: u32, path: &'static str) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..Config::default()
    }
}
