//! `slo-eval eval`: every SLO evaluated once against a Prometheus query API:
//! error ratio, events and burn rate per window, budget left, and which
//! tiers fire.

use std::path::PathBuf;

use slo_core::spec::{Slo, Spec};

use crate::command;
use crate::connection::{ConnectionArgs, Endpoint};
use crate::errors::Error;
use crate::evaluate::{self, Failure, Report};
use crate::report::Reporter;
use crate::specs;
use slo_core::evaluation::Status;

/// The arguments of `slo-eval eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the Prometheus (or Thanos/Mimir) query API.
    #[arg(long, value_name = "URL")]
    pub prometheus: String,
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Evaluate at this time (RFC 3339 or Unix seconds) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Queries per request (1: one query per request).
    #[arg(long, value_name = "N", default_value_t = evaluate::DEFAULT_BATCH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch_size: usize,
    /// How to connect to --prometheus.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Exit 3 when some SLO has no data in any window (a selector that
    /// matches nothing), after printing everything: a CI gate.
    #[arg(long)]
    pub fail_on_no_data: bool,
}

/// Runs `slo-eval eval`: prints the report, then fails if some SLO could
/// not be evaluated (or, with `--fail-on-no-data`, has no data).
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    let endpoint = args
        .connection
        .endpoint(&args.prometheus, std::time::Duration::from_secs(30))?;
    let specs = specs::load_all(&args.paths, reporter)?;
    let at = args
        .at
        .map(|s| command::time_flag("at", &s))
        .transpose()?
        .map(|ms| ms as f64 / 1000.0);
    let batching = evaluate::Batching {
        queries: args.batch_size,
        // `--batch-size 1`: each query on its own, nothing combined.
        share: args.batch_size > 1,
        ..evaluate::Batching::default()
    };
    let report = command::runtime()?.block_on(eval_once(
        &endpoint,
        &specs,
        at,
        args.concurrency,
        batching,
    ))?;
    command::print(&command::render(args.json, &report, text)?)?;
    if let Some(first) = report.failed.first() {
        // Printed what was evaluated, now fail: a partial answer must not
        // look like a complete one to a script.
        return Err(Error::EvalFailed {
            failed: report.failed.len(),
            first: first.error.clone(),
        });
    }
    // Instances without data in any window, named for the exit message.
    let no_data: Vec<String> = report
        .slos
        .iter()
        .filter(|r| r.status == Status::NoData)
        .map(|r| {
            format!(
                "{}/{}{}",
                r.service,
                r.slo,
                slo_core::instance::braces(&r.labels)
            )
        })
        .collect();
    match no_data.first() {
        Some(first) if args.fail_on_no_data => Err(Error::NoData {
            slos: no_data.len(),
            first: first.clone(),
        }),
        _ => Ok(()),
    }
}

/// Evaluates every SLO of `specs` once, at `at` (Unix seconds) or now.
async fn eval_once(
    endpoint: &Endpoint,
    specs: &[Spec],
    at: Option<f64>,
    concurrency: usize,
    batching: evaluate::Batching,
) -> Result<Report, Error> {
    let client = std::sync::Arc::new(crate::prometheus::Client::new(endpoint)?);
    let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    let now = at.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond() as f64 / 1000.0);
    let outcomes =
        evaluate::evaluate_batched(&client, &slos, Some(now), concurrency, true, batching)
            .await
            .outcomes;
    let mut report = Report {
        evaluated_at: slo_core::time::format((now * 1000.0) as i64),
        slos: Vec::new(),
        failed: Vec::new(),
    };
    for o in outcomes {
        match o.result {
            Ok(instances) => report.slos.extend(instances),
            Err(e) => report.failed.push(Failure {
                service: o.slo.service.clone(),
                slo: o.slo.name.clone(),
                error: e.to_string(),
            }),
        }
    }
    Ok(report)
}

/// The report as text: the time, one block per instance, one line per
/// SLO that failed.
fn text(report: &Report) -> String {
    let mut s = format!("evaluated at {}\n", report.evaluated_at);
    for r in &report.slos {
        s.push_str(&evaluate::text(r));
    }
    for f in &report.failed {
        s.push_str(&format!("{}/{}: FAILED: {}\n", f.service, f.slo, f.error));
    }
    s
}
