//! # slo-eval
//!
//! The command line over [`slo_core`]: validate SLO specs, explain their alert
//! policies, generate Prometheus rules, evaluate and backtest.
//!
//! `main.rs` only calls [`main`]; every command is a function here so that
//! tests and other tools can drive it without a process.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backtest;
pub mod cli;
mod command;
pub mod compliance;
pub mod config;
pub mod connection;
pub mod convert;
pub mod daemon;
pub mod daemon_alerts;
pub mod daemon_specs;
pub mod delivery;
pub mod errors;
pub mod eval;
pub mod evaluate;
pub mod explain;
pub mod generate;
pub mod incremental;
pub mod notify;
pub mod prometheus;
pub mod report;
pub mod secret;
pub mod serve;
pub mod server;
pub mod specs;
pub mod state;
pub mod validate;

use std::process::ExitCode;

/// Parses the process arguments, runs the command and maps errors to exit
/// codes (see [`errors`]).
pub fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::from(errors::EXIT_OK),
        Err(e) => {
            // Spec problems were printed as they were found; say the total.
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
