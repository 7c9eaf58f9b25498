//! `slo-eval generate`: Prometheus rules for every SLO of the specs, as a
//! rule file, a prometheus-operator `PrometheusRule` or a
//! VictoriaMetrics-operator `VMRule` (the same groups either way).
//!
//! `--naming sloth` writes Sloth's series and label names
//! ([`Naming::Sloth`](slo_core::rules::Naming)) so dashboards built on Sloth
//! keep working; the rules are otherwise the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::builder::{PossibleValuesParser, TypedValueParser};
use slo_core::rules::{Naming, ObjectMeta, RuleFile};
use slo_core::spec::{Labels, Spec};

use crate::command;
use crate::errors::Error;
use crate::report::Reporter;
use crate::specs;

/// The arguments of `slo-eval generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Leave out files whose path or name matches this glob; repeat for more.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// What to write: a rule file, a prometheus-operator PrometheusRule, or
    /// a VictoriaMetrics-operator VMRule.
    #[arg(long, value_enum, default_value_t = Target::Prometheus)]
    pub target: Target,
    /// PrometheusRule or VMRule name: one object holding every service
    /// (default: one object per service, each named <service>-slo-rules).
    // The text is also the --help line, where <service> reads as meant.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long)]
    pub name: Option<String>,
    /// PrometheusRule or VMRule namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    /// PrometheusRule or VMRule label, as key=value; repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Series and label names: this tool's, or Sloth's (`sloth_id`,
    /// `sloth_window`, `slo:sli_error:ratio_rate30d`...) so Sloth
    /// dashboards keep working. The alerts are the same either way.
    #[arg(
        long,
        default_value = "native",
        value_parser = PossibleValuesParser::new(Naming::NAMES).try_map(|s| s.parse::<Naming>())
    )]
    pub naming: Naming,
}

/// Runs `slo-eval generate`: writes the rules to `--output` or standard
/// output.
pub(crate) fn run(args: Args, reporter: &mut Reporter) -> Result<(), Error> {
    let selection = specs::Selection {
        paths: args.paths,
        exclude: args.exclude,
    };
    let specs = specs::load(&selection, reporter)?;
    let options = Options {
        target: args.target,
        name: args.name,
        namespace: args.namespace,
        labels: args.labels,
        naming: args.naming,
    };
    let text = generate(&specs, &options)?;
    write(&text, args.output.as_deref())
}

/// What `generate` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Target {
    /// A Prometheus rule file (`rule_files:`).
    #[default]
    Prometheus,
    /// A `monitoring.coreos.com/v1` `PrometheusRule` object.
    PrometheusOperator,
    /// An `operator.victoriametrics.com/v1beta1` `VMRule` object.
    VictoriametricsOperator,
}

impl Target {
    /// The Kubernetes kind an operator target writes.
    fn kind(self) -> &'static str {
        match self {
            Target::VictoriametricsOperator => "VMRule",
            Target::Prometheus | Target::PrometheusOperator => "PrometheusRule",
        }
    }

    /// `file` as one object of this target's kind.
    fn object(self, file: &RuleFile, meta: &ObjectMeta) -> String {
        match self {
            Target::VictoriametricsOperator => file.to_vm_rule(meta),
            Target::Prometheus | Target::PrometheusOperator => file.to_prometheus_rule(meta),
        }
    }
}

/// Options of `generate` beyond the specs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The output format.
    pub target: Target,
    /// `metadata.name` of the `PrometheusRule` or `VMRule`; derived from
    /// the service when `None`.
    pub name: Option<String>,
    /// `metadata.namespace` of the object.
    pub namespace: Option<String>,
    /// `metadata.labels` of the object, as `key=value`.
    pub labels: Vec<String>,
    /// The series and label names.
    pub naming: Naming,
}

/// The generated file's text for `specs`.
pub fn generate(specs: &[Spec], options: &Options) -> Result<String, Error> {
    check_unique(specs)?;
    let file = RuleFile::from_specs_with(specs, options.naming);
    match options.target {
        Target::Prometheus => {
            if options.name.is_some() || options.namespace.is_some() || !options.labels.is_empty() {
                return Err(Error::Usage(
                    "--name, --namespace and --label only apply to --target prometheus-operator or victoriametrics-operator"
                        .to_owned(),
                ));
            }
            Ok(file.to_yaml())
        }
        Target::PrometheusOperator | Target::VictoriametricsOperator => {
            operator_objects(specs, options)
        }
    }
}

/// One `PrometheusRule` (or `VMRule`) named `<service>-slo-rules` per
/// service (as `--name`'s help promises), as a multi-document YAML stream;
/// or, with `--name`, one object holding every service.
fn operator_objects(specs: &[Spec], options: &Options) -> Result<String, Error> {
    if options.name.is_some() || specs.is_empty() {
        let file = RuleFile::from_specs_with(specs, options.naming);
        return Ok(options.target.object(&file, &object_meta(specs, options)?));
    }
    let mut docs = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for service in by_service(specs) {
        let file = RuleFile::from_specs_with(&service, options.naming);
        let meta = object_meta(&service, options)?;
        // `my_svc` and `my-svc` make the same object name: `kubectl apply`
        // would keep one and silently drop the other service's alerts.
        if let Some(other) = names.insert(meta.name.clone(), service[0].service.clone()) {
            return Err(Error::Usage(format!(
                "services `{other}` and `{}` both make the {} name `{}` (Kubernetes names have no `_`): one would replace the other; rename a service, or give --name for a single object",
                service[0].service,
                options.target.kind(),
                meta.name
            )));
        }
        docs.push(options.target.object(&file, &meta));
    }
    Ok(docs.join("---\n"))
}

/// The specs grouped by service, in the order services first appear.
fn by_service(specs: &[Spec]) -> Vec<Vec<Spec>> {
    let mut groups: Vec<Vec<Spec>> = Vec::new();
    for spec in specs {
        match groups.iter_mut().find(|g| g[0].service == spec.service) {
            Some(g) => g.push(spec.clone()),
            None => groups.push(vec![spec.clone()]),
        }
    }
    groups
}

/// Writes `text` to `output`, or to standard output when `None`.
pub fn write(text: &str, output: Option<&Path>) -> Result<(), Error> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::io(path, e)),
        None => command::print(text),
    }
}

/// Two files defining the same service and SLO would record the same series.
fn check_unique(specs: &[Spec]) -> Result<(), Error> {
    let mut seen: BTreeMap<(&str, &str), ()> = BTreeMap::new();
    for slo in specs.iter().flat_map(|s| &s.slos) {
        if seen.insert((&slo.service, &slo.name), ()).is_some() {
            return Err(Error::DuplicateSlo {
                service: slo.service.clone(),
                slo: slo.name.clone(),
            });
        }
    }
    Ok(())
}

fn object_meta(specs: &[Spec], options: &Options) -> Result<ObjectMeta, Error> {
    let (name, flag) = match &options.name {
        Some(n) => (n.clone(), "--name".to_owned()),
        None => (
            default_name(specs),
            format!(
                "the object name made from service `{}` (give --name)",
                specs.first().map_or("", |s| s.service.as_str())
            ),
        ),
    };
    check_dns_name(&name, &flag)?;
    if let Some(ns) = &options.namespace {
        check_dns_name(ns, "--namespace")?;
    }
    let mut labels = Labels::new();
    for kv in &options.labels {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(Error::Usage(format!("--label {kv:?}: expected key=value")));
        };
        if k.is_empty() || k.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Usage(format!("--label {kv:?}: invalid key")));
        }
        labels.insert(k.to_owned(), v.to_owned());
    }
    Ok(ObjectMeta {
        name,
        namespace: options.namespace.clone(),
        labels,
    })
}

/// `<service>-slo-rules` (callers pass one service's specs), made a valid
/// Kubernetes name; `slo-rules` when there is no spec.
fn default_name(specs: &[Spec]) -> String {
    match specs.first() {
        Some(spec) => format!(
            "{}-slo-rules",
            spec.service.to_ascii_lowercase().replace(['_', '.'], "-")
        ),
        None => "slo-rules".to_owned(),
    }
}

/// Kubernetes object names: lower-case letters, digits, `-` and `.`,
/// starting and ending with a letter or digit, at most 253 characters.
fn check_dns_name(name: &str, flag: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{flag} {name:?} is not a Kubernetes name: use lower-case letters, digits, - and ."
        )))
    }
}
