//! Printing spec diagnostics: one `FILE:LINE:COL: error: MESSAGE` line each,
//! the form editors and CI annotations understand, followed on a terminal
//! by a rendering of the source line.

use std::io::{IsTerminal, Write};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use slo_core::diagnostic::{Diagnostic, Level};

use crate::specs::SpecFile;

/// Where diagnostics go and how they look.
pub struct Reporter {
    out: Box<dyn Write>,
    graphical: bool,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("graphical", &self.graphical)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// Reports to standard error, with source snippets when it is a terminal.
    pub fn stderr() -> Self {
        let graphical = std::io::stderr().is_terminal();
        Self {
            out: Box::new(std::io::stderr()),
            graphical,
        }
    }

    /// Reports to `out`; `graphical` adds source snippets.
    pub fn new(out: Box<dyn Write>, graphical: bool) -> Self {
        Self { out, graphical }
    }

    /// Prints a note about a file that is not reported on otherwise (e.g.
    /// skipped).
    pub fn note(&mut self, path: &std::path::Path, message: &str) {
        let _ = writeln!(self.out, "{}: note: {message}", path.display());
    }

    /// Prints every diagnostic of `file`.
    pub fn report(&mut self, file: &SpecFile) {
        for d in &file.diagnostics {
            let line = format!("{}:{d}", file.path.display());
            let help = d.help.as_deref().map(|h| format!("  help: {h}"));
            // A closed stderr is no reason to fail the command.
            let _ = writeln!(self.out, "{line}");
            if self.graphical {
                let _ = write!(self.out, "{}", render(file, d));
            } else if let Some(help) = help {
                let _ = writeln!(self.out, "{help}");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Snippet {
    message: String,
    help: Option<String>,
    severity: miette::Severity,
    code: NamedSource<String>,
    label: LabeledSpan,
}

impl miette::Diagnostic for Snippet {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.code)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}

/// The diagnostic drawn under its source line.
pub fn render(file: &SpecFile, d: &Diagnostic) -> String {
    let len = file.source.len();
    let offset = d.location.offset.min(len);
    let span_len = d.location.len.min(len - offset);
    let snippet = Snippet {
        message: if d.field.is_empty() {
            d.message.clone()
        } else {
            format!("{}: {}", d.field, d.message)
        },
        help: d.help.clone(),
        severity: match d.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        },
        code: NamedSource::new(file.path.display().to_string(), file.source.clone()),
        label: LabeledSpan::at(offset..offset + span_len, "here"),
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode());
    if handler.render_report(&mut out, &snippet).is_err() {
        out.clear();
    }
    out
}
