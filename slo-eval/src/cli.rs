//! Command-line arguments and dispatch: each command's arguments and body
//! live in the module named for it (`validate`, `explain`, `generate`,
//! `convert`, `eval`, `backtest`; `report` in `compliance`, as `report` is
//! the diagnostics printer; `run` is the [`daemon`](crate::daemon)).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::errors::Error;
use crate::report::Reporter;
use crate::{backtest, compliance, convert, eval, explain, generate, serve, validate};

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
    /// Check spec files (slo/v1, Sloth prometheus/v1 or PrometheusServiceLevel,
    /// OpenSLO v1); print every problem as FILE:LINE:COL.
    Validate(validate::Args),
    /// Show each SLO's alert policy: thresholds, budget spent, detection and
    /// reset times under a constant error ratio.
    Explain(explain::Args),
    /// Generate Prometheus recording and alerting rules for every SLO.
    Generate(generate::Args),
    /// Print specs of any format read (Sloth prometheus/v1, Sloth
    /// PrometheusServiceLevel, OpenSLO v1, slo/v1) as slo/v1.
    Convert(convert::Args),
    /// Evaluate every SLO once against a Prometheus query API: error ratio,
    /// events and burn rate per window, budget left, and which tiers fire.
    Eval(eval::Args),
    /// Replay each SLO's policy over history: the alert timeline, the budget
    /// over time, and precision, recall, detection and reset times.
    Backtest(backtest::Args),
    /// Compliance per calendar month or rolling period for every SLO:
    /// events, availability, objective met or missed, budget spent, and how
    /// much of the span had data.
    Report(compliance::Args),
    /// Serve a read-only web UI and JSON API over every SLO, from a
    /// Prometheus or from recorded history (no notifications).
    Serve(serve::Args),
    /// Run the alerting daemon: evaluate every interval, notify
    /// Alertmanager and webhooks, serve /metrics, /healthz and /readyz.
    Run {
        /// The daemon's YAML configuration.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    let mut reporter = Reporter::stderr();
    match cli.command {
        Command::Validate(args) => validate::run(args, &mut reporter),
        Command::Explain(args) => explain::run(args, &mut reporter),
        Command::Generate(args) => generate::run(args, &mut reporter),
        Command::Convert(args) => convert::run(args, &mut reporter),
        Command::Eval(args) => eval::run(args, &mut reporter),
        Command::Backtest(args) => backtest::run(args, &mut reporter),
        Command::Report(args) => compliance::run(args, &mut reporter),
        Command::Serve(args) => serve::run(args, &mut reporter),
        Command::Run { config } => crate::daemon::main(&config),
    }
}
