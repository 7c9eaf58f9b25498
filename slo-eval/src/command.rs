//! What the command modules share: writing their output (text or JSON) to
//! standard output, the time flags (`eval --at`, `backtest --start/--end`)
//! and the async runtime for the commands that query Prometheus.

use std::io::Write as _;

use serde::Serialize;
use slo_core::time::Timestamp;

use crate::errors::Error;

/// `doc` as pretty JSON with a final newline when `json`, else as `text`
/// renders it: every `--json` flag writes through here.
pub(crate) fn render<T: Serialize>(
    json: bool,
    doc: &T,
    text: impl FnOnce(&T) -> String,
) -> Result<String, Error> {
    if json {
        let mut s = serde_json::to_string_pretty(doc).map_err(|e| Error::Output(e.to_string()))?;
        s.push('\n');
        Ok(s)
    } else {
        Ok(text(doc))
    }
}

/// Writes a command's output to standard output.
pub(crate) fn print(text: &str) -> Result<(), Error> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::Output(e.to_string()))
}

/// Reads the value of a time flag (`--at`, `--start`, `--end`; `flag`
/// without the dashes): RFC 3339 or Unix seconds.
pub(crate) fn time_flag(flag: &str, value: &str) -> Result<Timestamp, Error> {
    slo_core::time::parse(value).ok_or_else(|| {
        Error::Usage(format!(
            "--{flag} {value:?} is not an RFC 3339 time or Unix seconds"
        ))
    })
}

/// A multi-threaded runtime for the commands that query Prometheus.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output(format!("cannot start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_flag_reads_rfc_3339_and_unix_seconds_alike() -> Result<(), Error> {
        let rfc = time_flag("at", "2026-11-03T14:00:00Z")?;
        assert_eq!(time_flag("start", "1793714400")?, rfc);
        assert_eq!(rfc, 1_793_714_400_000);
        Ok(())
    }

    #[test]
    fn a_bad_time_flag_is_a_usage_error_naming_the_flag_and_value() {
        let Err(Error::Usage(message)) = time_flag("end", "yesterday") else {
            panic!("'yesterday' was read as a time");
        };
        assert_eq!(
            message,
            "--end \"yesterday\" is not an RFC 3339 time or Unix seconds"
        );
    }

    #[test]
    fn render_writes_pretty_json_with_a_final_newline_or_the_text() -> Result<(), Error> {
        let doc = serde_json::json!({"slos": [1]});
        let json = render(true, &doc, |_| String::from("text, not JSON"))?;
        assert_eq!(json, "{\n  \"slos\": [\n    1\n  ]\n}\n");
        let text = render(false, &doc, |d| format!("{} slo(s)\n", d["slos"]))?;
        assert_eq!(text, "[1] slo(s)\n");
        Ok(())
    }
}
