//! Command-line arguments and dispatch.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use slo_core::rules::Naming;

use crate::connection::ConnectionArgs;
use crate::errors::Error;
use crate::generate::{self, Target};
use crate::report::Reporter;
use crate::specs;
use crate::{convert, explain};

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
    Validate {
        /// Spec files or folders (searched for *.yaml and *.yml; YAML that is
        /// no spec, such as the daemon's configuration, is skipped with a note).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Leave out files whose path or name matches this glob; repeat for more.
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Also check each SLO against this Prometheus query API: selectors
        /// that match no series in the last hour, a latency threshold that is
        /// no bucket bound, `group_by` labels the series lack, a gauge where
        /// a counter belongs, queries that return nothing.
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
        /// How to connect to --prometheus.
        #[command(flatten)]
        connection: ConnectionArgs,
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
        /// Leave out files whose path or name matches this glob; repeat for more.
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// What to write: a rule file, or a prometheus-operator PrometheusRule.
        #[arg(long, value_enum, default_value_t = Target::Prometheus)]
        target: Target,
        /// PrometheusRule name: one object holding every service (default: one
        /// object per service, each named <service>-slo-rules).
        #[arg(long)]
        name: Option<String>,
        /// PrometheusRule namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// PrometheusRule label, as key=value; repeat for more.
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Series and label names: this tool's, or Sloth's (`sloth_id`,
        /// `sloth_window`, `slo:sli_error:ratio_rate30d`...) so Sloth
        /// dashboards keep working. The alerts are the same either way.
        #[arg(
            long,
            default_value = "native",
            value_parser = PossibleValuesParser::new(Naming::NAMES).try_map(|s| s.parse::<Naming>())
        )]
        naming: Naming,
    },
    /// Print specs of any format read (Sloth prometheus/v1, Sloth
    /// PrometheusServiceLevel, OpenSLO v1, slo/v1) as slo/v1.
    Convert {
        /// Spec files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The format to write.
        #[arg(long, default_value = slo_core::spec::VERSION, value_parser = convert::TARGETS)]
        to: String,
    },
    /// Evaluate every SLO once against a Prometheus query API: error ratio,
    /// events and burn rate per window, budget left, and which tiers fire.
    Eval {
        /// Base URL of the Prometheus (or Thanos/Mimir) query API.
        #[arg(long, value_name = "URL")]
        prometheus: String,
        /// Spec files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Evaluate at this time (RFC 3339 or Unix seconds) instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Queries in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// How to connect to --prometheus.
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Exit 3 when some SLO has no data in any window (a selector that
        /// matches nothing), after printing everything: a CI gate.
        #[arg(long)]
        fail_on_no_data: bool,
    },
    /// Replay each SLO's policy over history: the alert timeline, the budget
    /// over time, and precision, recall, detection and reset times.
    Backtest {
        /// Spec files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Read the history from an OpenMetrics file (as promtool backfills).
        #[arg(long, value_name = "FILE", conflicts_with = "prometheus")]
        data: Option<PathBuf>,
        /// Fetch the history from a Prometheus query API.
        #[arg(long, value_name = "URL", requires_all = ["start", "end"])]
        prometheus: Option<String>,
        /// First evaluation (RFC 3339 or Unix seconds); default: the data's start.
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
        /// Last evaluation; default: the data's end.
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
        /// Time between evaluations.
        #[arg(long, default_value = "1m")]
        step: slo_core::duration::Duration,
        /// Resolution of counters fetched from Prometheus.
        #[arg(long, default_value = "30s")]
        resolution: slo_core::duration::Duration,
        /// Incidents to score against (YAML); default: detected in the data.
        #[arg(long, value_name = "FILE")]
        incidents: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also draw burn rates, alerts and budget to this SVG file.
        #[arg(long, value_name = "OUT.svg")]
        plot: Option<PathBuf>,
        /// How to connect to --prometheus.
        #[command(flatten)]
        connection: ConnectionArgs,
    },
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
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Validate {
            paths,
            exclude,
            prometheus,
            connection,
        } => {
            let endpoint = prometheus
                .map(|url| connection.endpoint(&url, std::time::Duration::from_secs(30)))
                .transpose()?;
            let text = crate::validate::validate(
                &specs::Selection { paths, exclude },
                endpoint.as_ref(),
                &mut reporter,
            )?;
            stdout
                .write_all(text.as_bytes())
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
            exclude,
            output,
            target,
            name,
            namespace,
            labels,
            naming,
        } => {
            let specs = specs::load(&specs::Selection { paths, exclude }, &mut reporter)?;
            let options = generate::Options {
                target,
                name,
                namespace,
                labels,
                naming,
            };
            let text = generate::generate(&specs, &options)?;
            generate::write(&text, output.as_deref())
        }
        Command::Convert { paths, to: _ } => {
            // slo/v1 is the only target for now (clap checks `--to`).
            let text = convert::convert(&paths, &mut reporter)?;
            stdout
                .write_all(text.as_bytes())
                .map_err(|e| Error::Output(e.to_string()))
        }
        Command::Run { config } => crate::daemon::main(&config),
        Command::Backtest {
            paths,
            data,
            prometheus,
            start,
            end,
            step,
            resolution,
            incidents,
            json,
            plot,
            connection,
        } => {
            if let Some(path) = &plot {
                crate::backtest::check_plot_path(path)?;
            }
            // Connection mistakes (URL, CA file) first: before the specs.
            let endpoint = prometheus
                .as_deref()
                .map(|url| connection.endpoint(url, std::time::Duration::from_secs(60)))
                .transpose()?;
            let specs = specs::load_all(&paths, &mut reporter)?;
            let parse = |s: Option<String>, what: &str| -> Result<Option<i64>, Error> {
                s.map(|s| {
                    slo_core::time::parse(&s).ok_or_else(|| {
                        Error::Usage(format!(
                            "--{what} {s:?} is not an RFC 3339 time or Unix seconds"
                        ))
                    })
                })
                .transpose()
            };
            let (start, end) = (parse(start, "start")?, parse(end, "end")?);
            let dataset = match (data, endpoint) {
                (Some(path), _) => crate::backtest::read_data(&path)?,
                (None, Some(endpoint)) => {
                    let (Some(s), Some(e)) = (start, end) else {
                        return Err(Error::Usage("--prometheus needs --start and --end".into()));
                    };
                    let slos: Vec<&slo_core::spec::Slo> =
                        specs.iter().flat_map(|s| &s.slos).collect();
                    let warmup = slos
                        .iter()
                        .filter_map(|s| s.policy.longest_window())
                        .max()
                        .map_or(0, |d| d.as_millis() as i64);
                    let fetched = runtime()?.block_on(crate::backtest::fetch(
                        &endpoint,
                        &slos,
                        s - warmup,
                        e,
                        resolution,
                    ))?;
                    // Say which range was empty, not "the data holds no samples".
                    if fetched.time_range().is_none() {
                        return Err(Error::Usage(format!(
                            "no data: Prometheus has no samples of any SLO's series from {} to {} (nor in the {} before it): nothing to replay; check the range and the selectors",
                            slo_core::time::format(s),
                            slo_core::time::format(e),
                            slo_core::duration::Duration::from_millis(warmup as u64),
                        )));
                    }
                    fetched
                }
                (None, None) => {
                    return Err(Error::Usage(
                        "give the history: --data FILE or --prometheus URL --start T --end T"
                            .into(),
                    ));
                }
            };
            let incidents = incidents
                .map(|p| crate::backtest::read_incidents(&p, &specs))
                .transpose()?;
            let crate::backtest::Replayed { reports, skipped } =
                crate::backtest::replay(&specs, &dataset, start, end, step, incidents)?;
            if let Some(path) = &plot {
                crate::backtest::plot(path, &specs, &dataset, &reports)?;
            }
            let text = if json {
                let mut s = serde_json::to_string_pretty(&crate::backtest::Document {
                    slos: reports,
                    skipped,
                })
                .map_err(|e| Error::Output(e.to_string()))?;
                s.push('\n');
                s
            } else {
                let mut s = crate::backtest::text(&reports);
                for k in &skipped {
                    s.push_str(&format!("{}/{}: SKIPPED: {}\n", k.service, k.slo, k.reason));
                }
                if let Some(path) = &plot {
                    s.push_str(&format!("plot written to {}\n", path.display()));
                }
                s
            };
            stdout
                .write_all(text.as_bytes())
                .map_err(|e| Error::Output(e.to_string()))
        }
        Command::Eval {
            prometheus,
            paths,
            at,
            json,
            concurrency,
            connection,
            fail_on_no_data,
        } => {
            let endpoint = connection.endpoint(&prometheus, std::time::Duration::from_secs(30))?;
            let specs = specs::load_all(&paths, &mut reporter)?;
            let at = match at {
                None => None,
                Some(s) => Some(
                    slo_core::time::parse(&s).ok_or_else(|| {
                        Error::Usage(format!(
                            "--at {s:?} is not an RFC 3339 time or Unix seconds"
                        ))
                    })? as f64
                        / 1000.0,
                ),
            };
            let (text, no_data) =
                runtime()?.block_on(eval_once(&endpoint, &specs, at, json, concurrency))?;
            stdout
                .write_all(text.as_bytes())
                .map_err(|e| Error::Output(e.to_string()))?;
            match no_data.first() {
                Some(first) if fail_on_no_data => Err(Error::NoData {
                    slos: no_data.len(),
                    first: first.clone(),
                }),
                _ => Ok(()),
            }
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output(format!("cannot start the async runtime: {e}")))
}

async fn eval_once(
    endpoint: &crate::connection::Endpoint,
    specs: &[slo_core::spec::Spec],
    at: Option<f64>,
    json: bool,
    concurrency: usize,
) -> Result<(String, Vec<String>), Error> {
    use crate::evaluate;
    let client = std::sync::Arc::new(crate::prometheus::Client::new(endpoint)?);
    let slos: Vec<&slo_core::spec::Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    let now = at.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond() as f64 / 1000.0);
    let outcomes = evaluate::evaluate_all(&client, &slos, Some(now), concurrency, true).await;
    let mut report = evaluate::Report {
        evaluated_at: slo_core::time::format((now * 1000.0) as i64),
        slos: Vec::new(),
        failed: Vec::new(),
    };
    for o in outcomes {
        match o.result {
            Ok(instances) => report.slos.extend(instances),
            Err(e) => report.failed.push(evaluate::Failure {
                service: o.slo.service.clone(),
                slo: o.slo.name.clone(),
                error: e.to_string(),
            }),
        }
    }
    let text = if json {
        let mut s =
            serde_json::to_string_pretty(&report).map_err(|e| Error::Output(e.to_string()))?;
        s.push('\n');
        s
    } else {
        let mut s = format!("evaluated at {}\n", report.evaluated_at);
        for r in &report.slos {
            s.push_str(&evaluate::text(r));
        }
        for f in &report.failed {
            s.push_str(&format!("{}/{}: FAILED: {}\n", f.service, f.slo, f.error));
        }
        s
    };
    if let Some(first) = report.failed.first() {
        // Print what was evaluated, then fail: a partial answer must not
        // look like a complete one to a script.
        print!("{text}");
        return Err(Error::EvalFailed {
            failed: report.failed.len(),
            first: first.error.clone(),
        });
    }
    // Instances without data in any window, named for the exit message.
    let no_data = report
        .slos
        .iter()
        .filter(|r| r.status == evaluate::Status::NoData)
        .map(|r| format!("{}/{}{}", r.service, r.slo, evaluate::braces(&r.labels)))
        .collect();
    Ok((text, no_data))
}
