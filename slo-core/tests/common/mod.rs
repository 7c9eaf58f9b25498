//! Shared proptest configuration for the property tests.
//!
//! Proptest's default failure persistence looks for a `lib.rs` next to the
//! test source and finds none under `tests/`, so failures would not be saved.
//! Each test file saves its failing seeds to
//! `slo-core/proptest-regressions/<file>.txt` instead (cargo runs tests from
//! the package directory); commit those files so the cases run first forever.

use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` cases per property, regressions persisted to `path`.
pub(crate) fn config(cases: u32, path: &'static str) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..Config::default()
    }
}
