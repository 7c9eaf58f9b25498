//! Command-line arguments and dispatch.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::errors::Error;
use crate::explain;
use crate::generate::{self, Target};
use crate::report::Reporter;
use crate::specs;

/// Multi-window, multi-burn-rate SLO alerting for Prometheus.
#[derive(Debug, Parser)]
#[command(name = "slo-eval", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check spec files; print every problem as FILE:LINE:COL.
    Validate {
        /// Spec files or folders (searched for *.yaml and *.yml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show each SLO's alert policy: thresholds, budget spent, detection and
    /// reset times under a constant error ratio.
    Explain {
        /// Spec files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The constant error ratio for detection and reset times (1.0 is a
        /// total outage).
        #[arg(long, default_value_t = 1.0)]
        error_ratio: f64,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Generate Prometheus recording and alerting rules for every SLO.
    Generate {
        /// Spec files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// What to write: a rule file, or a prometheus-operator PrometheusRule.
        #[arg(long, value_enum, default_value_t = Target::Prometheus)]
        target: Target,
        /// PrometheusRule name (default: <service>-slo-rules).
        #[arg(long)]
        name: Option<String>,
        /// PrometheusRule namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// PrometheusRule label, as key=value; repeat for more.
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    let mut reporter = Reporter::stderr();
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Validate { paths } => {
            let specs = specs::load_all(&paths, &mut reporter)?;
            let slos: usize = specs.iter().map(|s| s.slos.len()).sum();
            writeln!(
                stdout,
                "ok: {} file(s), {} service(s), {slos} SLO(s)",
                specs::find(&paths)?.len(),
                specs.len(),
            )
            .map_err(|e| Error::Output(e.to_string()))
        }
        Command::Explain {
            paths,
            error_ratio,
            json,
        } => {
            if !(error_ratio > 0.0 && error_ratio <= 1.0) {
                return Err(Error::Usage(format!(
                    "--error-ratio {error_ratio} must be above 0 and at most 1"
                )));
            }
            let specs = specs::load_all(&paths, &mut reporter)?;
            let slos: Vec<explain::SloExplanation> = specs
                .iter()
                .flat_map(|s| &s.slos)
                .map(|slo| explain::explain(slo, error_ratio))
                .collect();
            let text = if json {
                let doc = explain::Explanation { slos };
                let mut s =
                    serde_json::to_string_pretty(&doc).map_err(|e| Error::Output(e.to_string()))?;
                s.push('\n');
                s
            } else {
                slos.iter()
                    .map(explain::table)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            stdout
                .write_all(text.as_bytes())
                .map_err(|e| Error::Output(e.to_string()))
        }
        Command::Generate {
            paths,
            output,
            target,
            name,
            namespace,
            labels,
        } => {
            let specs = specs::load_all(&paths, &mut reporter)?;
            let options = generate::Options {
                target,
                name,
                namespace,
                labels,
            };
            let text = generate::generate(&specs, &options)?;
            generate::write(&text, output.as_deref())
        }
    }
}
