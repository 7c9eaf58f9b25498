//! Secrets (tokens, passwords, signing keys): read from a file or an
//! environment variable, never printed.

use std::fmt;
use std::path::PathBuf;

/// A secret value. `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a secret comes from: exactly one of a file or an environment
/// variable.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// A file holding the secret (trailing newline trimmed).
    pub file: Option<PathBuf>,
    /// An environment variable holding the secret.
    pub env: Option<String>,
}

impl SecretSource {
    /// Reads the secret. Errors name the file or variable, never the value.
    pub fn read(&self) -> Result<Secret, String> {
        match (&self.file, &self.env) {
            (Some(path), None) => std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|e| format!("cannot read secret file {}: {e}", path.display())),
            (None, Some(var)) => std::env::var(var)
                .map(Secret)
                .map_err(|_| format!("environment variable {var} is not set")),
            _ => Err("a secret needs exactly one of `file` or `env`".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn read_from_a_file_trims_the_newline() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap_or_else(|e| panic!("{e}"));
        let src = SecretSource {
            file: Some(path),
            env: None,
        };
        assert_eq!(
            src.read().map(|s| s.expose().to_owned()),
            Ok("abc".to_owned())
        );
        let missing = SecretSource {
            file: None,
            env: Some("SLO_EVAL_TEST_SURELY_UNSET_VAR".into()),
        };
        assert!(
            missing
                .read()
                .is_err_and(|e| e.contains("SLO_EVAL_TEST_SURELY_UNSET_VAR"))
        );
        assert!(SecretSource::default().read().is_err());
    }
}
