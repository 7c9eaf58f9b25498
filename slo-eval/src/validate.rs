//! `slo-eval validate`: every spec read as every other command reads it
//! ([`specs::read_unreported`]), optionally checked against a live
//! Prometheus ([`slo_core::live`]), and a one-line summary.

use std::path::PathBuf;

use slo_core::diagnostic::{Diagnostic, Location};
use slo_core::live::{self, Labels, Question};

use crate::command;
use crate::connection::ConnectionArgs;
use crate::errors::{Error, QueryError};
use crate::prometheus::{Client, Endpoint};
use crate::report::Reporter;
use crate::specs::{self, Selection, SpecFile};

/// The arguments of `slo-eval validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or folders (searched for *.yaml and *.yml; YAML that is
    /// no spec, such as the daemon's configuration, is skipped with a note).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Leave out files whose path or name matches this glob; repeat for more.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Also check each SLO against this Prometheus query API: selectors
    /// that match no series in the last hour, a latency threshold that is
    /// no bucket bound, `group_by` labels the series lack, a gauge where
    /// a counter belongs, queries that return nothing.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// How to connect to --prometheus.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `slo-eval validate`: prints the summary line.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    let endpoint = args
        .prometheus
        .map(|url| {
            args.connection
                .endpoint(&url, std::time::Duration::from_secs(30))
        })
        .transpose()?;
    let selection = Selection {
        paths: args.paths,
        exclude: args.exclude,
    };
    command::print(&validate(&selection, endpoint.as_ref(), reporter)?)
}

/// Checks every spec of `selection` (and, with `prometheus`, each SLO
/// against that server), reporting problems through `reporter`; returns
/// the summary line.
pub fn validate(
    selection: &Selection,
    prometheus: Option<&Endpoint>,
    reporter: &mut Reporter,
) -> Result<String, Error> {
    let mut files = specs::read_unreported(selection, reporter)?;
    let clean = files.iter().all(|f| f.errors() == 0);
    let mut queries = 0;
    if let (Some(endpoint), true) = (prometheus, clean) {
        let client = Client::new(endpoint)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Output(format!("cannot start the async runtime: {e}")))?;
        for file in &mut files {
            queries += runtime.block_on(check_live(&client, file))?;
        }
    }
    specs::report(&files, reporter)?;
    let specs: Vec<_> = files.iter().filter_map(|f| f.spec.as_ref()).collect();
    let slos: usize = specs.iter().map(|s| s.slos.len()).sum();
    let mut services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let mut line = format!(
        "ok: {} file(s), {} service(s), {slos} SLO(s)",
        files.len(),
        services.len(),
    );
    if prometheus.is_some() {
        line.push_str(&format!(", checked against Prometheus ({queries} queries)"));
    }
    line.push('\n');
    Ok(line)
}

/// Asks the server every question about `file`'s SLOs and adds what the
/// answers mean to its diagnostics; returns the number of requests made.
/// A query the server refuses is a diagnostic at the field; a server that
/// cannot be reached fails the command.
async fn check_live(client: &Client, file: &mut SpecFile) -> Result<usize, Error> {
    let Some(spec) = file.spec.clone() else {
        return Ok(0);
    };
    let mut requests = 0;
    for slo in &spec.slos {
        let near = file
            .places
            .iter()
            .find(|p| p.service == slo.service && p.name == slo.name)
            .map_or(
                Location {
                    line: 1,
                    column: 1,
                    offset: 0,
                    len: 0,
                },
                |p| p.location,
            );
        for probe in live::probes(slo) {
            let at = live::locate(&file.source, &probe.needle, near);
            requests += 1;
            let answer: Result<Vec<Labels>, QueryError> = match (&probe.question, probe.query()) {
                (Question::Counter { metric }, _) => {
                    client.metric_types(metric).await.map(|types| {
                        types
                            .into_iter()
                            .map(|t| Labels::from([("type".to_owned(), t)]))
                            .collect()
                    })
                }
                (_, Some(q)) => client
                    .query(&q, None)
                    .await
                    .map(|samples| samples.into_iter().map(|s| s.labels).collect()),
                (_, None) => Ok(Vec::new()),
            };
            match answer {
                Ok(series) => file
                    .diagnostics
                    .extend(live::judge(&probe, slo, &series, at)),
                Err(QueryError::Status {
                    status, message, ..
                }) if (400..500).contains(&status) => {
                    file.diagnostics.push(Diagnostic::error(
                        at,
                        format!("{}/{}: {}", slo.service, slo.name, probe.field),
                        format!("Prometheus refuses the query ({status}): {message}"),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    file.diagnostics
        .sort_by_key(|d| (d.location.line, d.location.column));
    Ok(requests)
}
