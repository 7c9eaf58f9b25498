//! Writing YAML in test fixtures (promtool unit-test files).

/// A one-line YAML scalar for `s`: a JSON string is a valid YAML
/// double-quoted scalar.
pub(crate) fn scalar(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
