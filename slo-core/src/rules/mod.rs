//! Prometheus rules for SLOs: a typed rule file built from specs by pure
//! functions, serialised to YAML at the edge ([`RuleFile::to_yaml`],
//! [`RuleFile::to_prometheus_rule`]).
//!
//! # Layout and cost
//!
//! Rule evaluation cost lives in the long windows and the period read from
//! raw series (FIELD-NOTES, "Where rule cost lives"). So each SLO that counts
//! events gets three groups:
//!
//! 1. `slo:<service>:<slo>:increase` with `interval: 5m` ([`STEP`]): bad and
//!    total events of each 5m step, read once from the raw series
//!    (`slo:sli_total:increase5m`, `slo:sli_error:increase5m`). Because the
//!    group's interval equals the step, the recorded steps tile time.
//! 2. `slo:<service>:<slo>`: the error ratio of every window of the policy,
//!    the current burn rate, then the alerts. Windows up to [`RAW_WINDOW_MAX`] (5m, 30m, 1h) are read
//!    from the raw series so fast pages stay fast; longer ones (2h, 6h, 1d,
//!    3d) are `sum_over_time` of bad steps over `sum_over_time` of total
//!    steps, a few hundred points at most. Alerts sit in the same group,
//!    after the ratios, so they read ratios of the same evaluation.
//! 3. `slo:<service>:<slo>:period`, every [`PERIOD_INTERVAL`] (2m30s): the
//!    error ratio over the whole period from the same steps (no `rate()` over 30 days, no average of ratios: a
//!    step without traffic adds 0 to both sums, so no NaN is carried for a
//!    period), then the metadata series.
//!
//! A `raw` SLI cannot count events: all its windows are its own query, and it
//! has no period series (a period ratio would have to average ratios).
//!
//! A `slices` SLI replaces the step group with `slo:<service>:<slo>:slice`,
//! whose `interval` is the slice: it records the indicator
//! `slo:sli_slice:good` = `(query) OP bool threshold` once per slice (1 good,
//! 0 bad; a query without data records nothing, so that slice is neither
//! good nor bad). Every window, short ones included, and the period are
//! then `1 - avg_over_time(slo:sli_slice:good[W])`, the share of bad slices
//! among slices with data: W / slice points, the same small scan for every
//! window. Events (for `min_events`) are `count_over_time` of the indicator:
//! slices with data. Alerts and metadata are built exactly as for the other
//! kinds.
//!
//! # Naming
//!
//! | series | what |
//! |---|---|
//! | `slo:sli_error:ratio_rate<window>` | error ratio over a window (`ratio_rate5m`, `ratio_rate3d`) |
//! | `slo:sli_error:increase5m`, `slo:sli_total:increase5m` | bad and total events per 5m step |
//! | `slo:sli_slice:good` | a `slices` SLI's indicator: 1 good slice, 0 bad |
//! | `slo:sli_total:increase<window>` | events in a long window, for `min_events` |
//! | `slo:sli_error:ratio_period` | error ratio over the period |
//! | `slo:objective:ratio`, `slo:error_budget:ratio`, `slo:period:seconds` | the SLO's constants |
//! | `slo:current_burn_rate:ratio` | burn rate over the shortest window |
//! | `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio` | over the period |
//! | `slo:info` | always 1; labels say objective, period and SLI kind |
//!
//! Every series carries `slo_service`, `slo`, the spec's labels (file labels
//! merged with the SLO's) and the `group_by` labels; window series also carry
//! `slo_window`.
//!
//! ## Sloth's names
//!
//! [`Naming::Sloth`] (`generate --naming sloth`) writes the series and labels
//! Sloth writes, so dashboards and queries built on Sloth keep working after
//! a switch. Only names change: the layout, the expressions and the values
//! are the native ones (the period from 5m step increases, not an average of
//! 5m ratios; alerts without joins), so both namings alert at the same
//! times.
//!
//! | native | Sloth |
//! |---|---|
//! | `slo_service`, `slo` | `sloth_id` (`<service>-<slo>`), `sloth_service`, `sloth_slo` |
//! | `slo_window` | `sloth_window` |
//! | `slo:sli_error:ratio_period` | `slo:sli_error:ratio_rate<period>` (`ratio_rate30d`, `ratio_rate4w` for 28d) |
//! | `slo:period:seconds` | `slo:time_period:days` (in days) |
//! | `slo:info` with `slo_objective`, `slo_period`, `slo_sli` | `sloth_slo_info` with `sloth_objective` |
//! | alert label `slo_tier` | `sloth_severity` (`page` or `ticket`) |
//!
//! The other names (`slo:sli_error:ratio_rate<window>`, `slo:objective:ratio`,
//! `slo:error_budget:ratio`, `slo:current_burn_rate:ratio`,
//! `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio`,
//! the step increases) are the same in both. Group names stay ours: nothing
//! reads them. Sloth's `sloth_version`, `sloth_mode` and `sloth_spec` info
//! labels describe a run of Sloth and are not written. Where Sloth records
//! more, this layout does not follow: Sloth records all eight windows and
//! averages 5m ratios into a period for `raw` SLIs, while here a disabled
//! tier's windows are not recorded and a `raw` SLI has no period series.
//!
//! # Alerts
//!
//! One alert per tier (page, ticket), named by the spec. Its expression ORs
//! the tier's window pairs; a pair ANDs its long and short window above
//! `factor * budget` (and the long window's event count at or above
//! `min_events`, when set). `slo_window` differs between windows, so it is
//! aggregated away (`max without (slo_window)` on the long window,
//! `and ignoring (slo_window)` for the rest): the alert's labels are the
//! same whichever pair fires, and the alert does not flap between pairs. The
//! alert's value is the long window's burn rate. Constants (thresholds, the
//! budget) are written inline, so no expression joins with a metadata series
//! and no extra label can cause a "duplicate series" error.
//!
//! Alerts carry `severity` (per tier, overridable), `slo_tier` (`page` or
//! `ticket`, for Alertmanager inhibition of the ticket while the page fires),
//! `slo_service`, `slo`, the spec's labels and `alerting.labels`.
//!
//! ```
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: checkout
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio:
//!         errors: http_requests_total{code=~"5.."}
//!         total: http_requests_total
//! "#).map_err(|d| d[0].to_string())?;
//! let file = slo_core::rules::RuleFile::from_specs(std::slice::from_ref(&spec));
//! let yaml = file.to_yaml();
//! assert!(yaml.contains("record: slo:sli_error:ratio_rate1h"));
//! assert!(yaml.contains("alert: SLOErrorBudgetBurn"));
//! # Ok::<(), String>(())
//! ```

use crate::duration::Duration;
use crate::emit::Writer;
use crate::names::{SERVICE_LABEL, SLO_LABEL, TIER_LABEL, WINDOW_LABEL};
use crate::num;
use crate::policy::{Policy, Severity, WindowPair};
pub use crate::promql::STEP;
use crate::promql::{self, Counter};
use crate::spec::{Counted, Labels, Sli, Slo, Spec};

/// Windows up to this long are read from the raw series; longer ones are
/// derived from the recorded steps.
pub const RAW_WINDOW_MAX: Duration = Duration::from_hours(1);

/// The period group's interval: half a step. The period's sums only change
/// when a step lands (every 5m), so evaluating them more often (every 15s or
/// 30s of a global interval) only repeats the most expensive rule; half a
/// step keeps them within 2m30s of the steps and always inside Prometheus's
/// 5m lookback, so dashboards never see a gap.
pub const PERIOD_INTERVAL: Duration = Duration::from_secs(150);

/// Prefix of the per-window error ratios (`slo:sli_error:ratio_rate5m`).
pub const ERROR_RATIO_PREFIX: &str = "slo:sli_error:ratio_rate";
/// Prefix of recorded bad-event increases (`slo:sli_error:increase5m`).
pub const ERROR_INCREASE_PREFIX: &str = "slo:sli_error:increase";
/// Prefix of recorded event counts (`slo:sli_total:increase5m`).
pub const TOTAL_INCREASE_PREFIX: &str = "slo:sli_total:increase";
/// The indicator of a `slices` SLI, recorded once per slice.
pub const SLICE_GOOD: &str = "slo:sli_slice:good";
/// The error ratio over the whole period.
pub const PERIOD_ERROR_RATIO: &str = "slo:sli_error:ratio_period";
/// The objective as a ratio (0.999).
pub const OBJECTIVE: &str = "slo:objective:ratio";
/// The budget fraction (0.001).
pub const ERROR_BUDGET: &str = "slo:error_budget:ratio";
/// The period in seconds.
pub const PERIOD_SECONDS: &str = "slo:period:seconds";
/// The burn rate over the shortest window.
pub const CURRENT_BURN_RATE: &str = "slo:current_burn_rate:ratio";
/// The burn rate over the period.
pub const PERIOD_BURN_RATE: &str = "slo:period_burn_rate:ratio";
/// The share of the period's budget left (negative once overspent).
pub const PERIOD_BUDGET_REMAINING: &str = "slo:period_error_budget_remaining:ratio";
/// Always 1; its labels describe the SLO.
pub const INFO: &str = "slo:info";
/// `slo:info` label: the objective in percent.
pub const INFO_OBJECTIVE_LABEL: &str = "slo_objective";
/// `slo:info` label: the period.
pub const INFO_PERIOD_LABEL: &str = "slo_period";
/// `slo:info` label: the SLI kind.
pub const INFO_SLI_LABEL: &str = "slo_sli";
/// Suffix of the data-absent alert's name.
pub const ABSENT_SUFFIX: &str = "Absent";

/// Sloth's name for the period in days.
pub const SLOTH_PERIOD_DAYS: &str = "slo:time_period:days";
/// Sloth's info series.
pub const SLOTH_INFO: &str = "sloth_slo_info";
/// Sloth's identity label: `<service>-<slo>`.
pub const SLOTH_ID_LABEL: &str = "sloth_id";
/// Sloth's service label.
pub const SLOTH_SERVICE_LABEL: &str = "sloth_service";
/// Sloth's SLO label.
pub const SLOTH_SLO_LABEL: &str = "sloth_slo";
/// Sloth's window label.
pub const SLOTH_WINDOW_LABEL: &str = "sloth_window";
/// Sloth's alert tier label (`page` or `ticket`).
pub const SLOTH_SEVERITY_LABEL: &str = "sloth_severity";
/// `sloth_slo_info` label: the objective in percent.
pub const SLOTH_OBJECTIVE_LABEL: &str = "sloth_objective";

/// The names of the generated series and labels (see the module docs).
/// Only names vary: every expression has the same structure and value
/// under either naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Naming {
    /// This tool's names (`slo_service`, `slo`, `slo_window`, `slo_tier`).
    #[default]
    Native,
    /// Sloth's names and labels (`sloth_id`, `sloth_service`, `sloth_slo`,
    /// `sloth_window`, `sloth_severity`), so Sloth dashboards keep working.
    Sloth,
}

impl Naming {
    /// Every naming.
    pub const ALL: [Naming; 2] = [Naming::Native, Naming::Sloth];
    /// Every naming's name, as `--naming` takes it, in the order of
    /// [`Naming::ALL`].
    pub const NAMES: [&'static str; 2] = ["native", "sloth"];

    /// The naming's name.
    pub fn name(self) -> &'static str {
        match self {
            Naming::Native => Self::NAMES[0],
            Naming::Sloth => Self::NAMES[1],
        }
    }

    /// The labels that identify an SLO's series, with their values, in
    /// selector order.
    pub fn identity(self, slo: &Slo) -> Vec<(&'static str, String)> {
        match self {
            Naming::Native => vec![
                (SERVICE_LABEL, slo.service.clone()),
                (SLO_LABEL, slo.name.clone()),
            ],
            Naming::Sloth => vec![
                (SLOTH_ID_LABEL, format!("{}-{}", slo.service, slo.name)),
                (SLOTH_SERVICE_LABEL, slo.service.clone()),
                (SLOTH_SLO_LABEL, slo.name.clone()),
            ],
        }
    }

    /// The label carrying a window series' window.
    pub(crate) fn window_label(self) -> &'static str {
        match self {
            Naming::Native => WINDOW_LABEL,
            Naming::Sloth => SLOTH_WINDOW_LABEL,
        }
    }

    /// The label carrying an alert's tier (`page` or `ticket`).
    pub(crate) fn tier_label(self) -> &'static str {
        match self {
            Naming::Native => TIER_LABEL,
            Naming::Sloth => SLOTH_SEVERITY_LABEL,
        }
    }

    /// The error ratio over the period: `slo:sli_error:ratio_period`, or
    /// Sloth's `slo:sli_error:ratio_rate<period>` (`ratio_rate30d`; a 28d
    /// period prints as `4w`, as Sloth's Prometheus durations do).
    pub fn period_error_ratio(self, period: Duration) -> String {
        match self {
            Naming::Native => PERIOD_ERROR_RATIO.to_owned(),
            Naming::Sloth => error_ratio_metric(period),
        }
    }

    /// The series holding the period, and its value: seconds, or Sloth's
    /// days.
    pub(crate) fn period_constant(self, period: Duration) -> (&'static str, f64) {
        match self {
            Naming::Native => (PERIOD_SECONDS, period.as_secs_f64()),
            Naming::Sloth => (SLOTH_PERIOD_DAYS, period.as_secs_f64() / 86_400.0),
        }
    }

    /// The info series' name and the labels it adds to the series labels.
    /// Sloth's version, mode and spec labels describe a run of Sloth, so
    /// they are not written.
    pub fn info(self, slo: &Slo) -> (&'static str, Labels) {
        let objective = num::format(slo.objective.percent());
        let labels: Vec<(&str, String)> = match self {
            Naming::Native => vec![
                (INFO_OBJECTIVE_LABEL, objective),
                (INFO_PERIOD_LABEL, slo.period.to_string()),
                (INFO_SLI_LABEL, slo.sli.kind().to_owned()),
            ],
            Naming::Sloth => vec![(SLOTH_OBJECTIVE_LABEL, objective)],
        };
        let name = match self {
            Naming::Native => INFO,
            Naming::Sloth => SLOTH_INFO,
        };
        (
            name,
            labels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        )
    }

    /// The matchers that select one SLO's recorded series:
    /// `{slo_service="checkout",slo="availability"}`.
    pub fn matchers(self, slo: &Slo) -> String {
        let m: Vec<String> = self
            .identity(slo)
            .iter()
            .map(|(k, v)| promql::matcher(k, v))
            .collect();
        format!("{{{}}}", m.join(","))
    }
}

impl std::fmt::Display for Naming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Naming {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown naming `{s}`: expected one of {}",
                    Self::NAMES.join(", ")
                )
            })
    }
}

/// A rule file: what Prometheus loads with `rule_files`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RuleFile {
    /// The groups, in spec order.
    pub groups: Vec<RuleGroup>,
}

/// A rule group: rules evaluated in order, at one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleGroup {
    /// The group's name, unique in the file.
    pub name: String,
    /// The evaluation interval; `None` for Prometheus's global one.
    pub interval: Option<Duration>,
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// One rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Records an expression as a new series.
    Recording(RecordingRule),
    /// Fires an alert while an expression returns anything.
    Alerting(AlertingRule),
}

/// A recording rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingRule {
    /// The recorded metric's name.
    pub record: String,
    /// The PromQL expression.
    pub expr: String,
    /// Labels set on the recorded series.
    pub labels: Labels,
}

/// An alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertingRule {
    /// The alert's name.
    pub alert: String,
    /// The PromQL expression.
    pub expr: String,
    /// How long the expression must hold before the alert fires.
    pub for_: Option<Duration>,
    /// Labels of the alert.
    pub labels: Labels,
    /// Annotations (Go templates, as Prometheus renders them).
    pub annotations: Labels,
}

impl Rule {
    /// The rule's expression.
    pub fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(a) => &a.expr,
        }
    }
}

/// The Kubernetes object around the groups for `--target prometheus-operator`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ObjectMeta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, omitted when `None`.
    pub namespace: Option<String>,
    /// `metadata.labels` (e.g. the selector the Prometheus watches).
    pub labels: Labels,
}

/// The header comment of generated files.
const HEADER: &str =
    "Generated by slo-eval from SLO specs: do not edit, change the specs and regenerate.";

impl RuleFile {
    /// The rules for every SLO of `specs`, in order, with this tool's
    /// names.
    pub fn from_specs(specs: &[Spec]) -> Self {
        Self::from_specs_with(specs, Naming::Native)
    }

    /// The rules for every SLO of `specs`, in order, with `naming`'s names.
    pub fn from_specs_with(specs: &[Spec], naming: Naming) -> Self {
        Self {
            groups: specs
                .iter()
                .flat_map(|s| &s.slos)
                .flat_map(|slo| slo_groups(slo, naming))
                .collect(),
        }
    }

    /// Every expression of the file, in order.
    pub fn exprs(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().flat_map(|g| &g.rules).map(Rule::expr)
    }

    /// The file as Prometheus rule-file YAML.
    pub fn to_yaml(&self) -> String {
        let mut w = Writer::new();
        w.comment(0, HEADER);
        self.write_groups(&mut w, 0);
        w.finish()
    }

    /// The file wrapped in a `monitoring.coreos.com/v1` `PrometheusRule`.
    pub fn to_prometheus_rule(&self, meta: &ObjectMeta) -> String {
        self.to_object("monitoring.coreos.com/v1", "PrometheusRule", meta)
    }

    /// The file wrapped in an `operator.victoriametrics.com/v1beta1`
    /// `VMRule` (VictoriaMetrics' operator hands it to `vmalert`): its
    /// `spec.groups` are the rule file's groups, as in a `PrometheusRule`.
    pub fn to_vm_rule(&self, meta: &ObjectMeta) -> String {
        self.to_object("operator.victoriametrics.com/v1beta1", "VMRule", meta)
    }

    /// The file as `spec.groups` of a Kubernetes object.
    fn to_object(&self, api_version: &str, kind: &str, meta: &ObjectMeta) -> String {
        let mut w = Writer::new();
        w.comment(0, HEADER);
        w.field(0, false, "apiVersion", api_version);
        w.field(0, false, "kind", kind);
        w.open(0, false, "metadata");
        w.field(2, false, "name", &meta.name);
        if let Some(ns) = &meta.namespace {
            w.field(2, false, "namespace", ns);
        }
        w.map(2, "labels", &meta.labels);
        w.open(0, false, "spec");
        self.write_groups(&mut w, 2);
        w.finish()
    }

    fn write_groups(&self, w: &mut Writer, indent: usize) {
        if self.groups.is_empty() {
            w.empty_list(indent, "groups");
            return;
        }
        w.open(indent, false, "groups");
        let g_indent = indent + 4;
        for group in &self.groups {
            w.field(g_indent, true, "name", &group.name);
            if let Some(interval) = group.interval {
                w.field(g_indent, false, "interval", &interval.to_string());
            }
            w.open(g_indent, false, "rules");
            let r_indent = g_indent + 4;
            for rule in &group.rules {
                match rule {
                    Rule::Recording(r) => {
                        w.field(r_indent, true, "record", &r.record);
                        w.field(r_indent, false, "expr", &r.expr);
                        w.map(r_indent, "labels", &r.labels);
                    }
                    Rule::Alerting(a) => {
                        w.field(r_indent, true, "alert", &a.alert);
                        w.field(r_indent, false, "expr", &a.expr);
                        if let Some(d) = a.for_ {
                            w.field(r_indent, false, "for", &d.to_string());
                        }
                        w.map(r_indent, "labels", &a.labels);
                        w.map(r_indent, "annotations", &a.annotations);
                    }
                }
            }
        }
    }
}

/// `slo:sli_error:ratio_rate<window>`.
pub fn error_ratio_metric(window: Duration) -> String {
    format!("{ERROR_RATIO_PREFIX}{window}")
}

/// `slo:sli_error:increase<window>`.
pub(crate) fn error_increase_metric(window: Duration) -> String {
    format!("{ERROR_INCREASE_PREFIX}{window}")
}

/// `slo:sli_total:increase<window>`.
pub fn total_increase_metric(window: Duration) -> String {
    format!("{TOTAL_INCREASE_PREFIX}{window}")
}

/// The name of a rule group of an SLO: `slo:<service>:<slo>[:suffix]`.
/// Service and SLO names cannot hold `:`, so names never collide.
pub(crate) fn group_name(slo: &Slo, suffix: Option<&str>) -> String {
    match suffix {
        Some(s) => format!("slo:{}:{}:{s}", slo.service, slo.name),
        None => format!("slo:{}:{}", slo.service, slo.name),
    }
}

/// True when the ratio over `window` is derived from the recorded steps
/// rather than read from the raw series.
pub fn is_derived(sli: &Sli, window: Duration) -> bool {
    // A slices SLI is derived from its recorded indicator at every window.
    matches!(sli, Sli::Slices(_)) || (sli.counts_events() && window > RAW_WINDOW_MAX)
}

/// The windows whose error ratio is recorded: the policy's, or the step
/// alone when every tier is disabled (the current burn rate still needs one).
pub fn recorded_windows(slo: &Slo) -> Vec<Duration> {
    recorded_windows_of(&slo.policy)
}

/// [`recorded_windows`] of a policy, shortest first.
pub(crate) fn recorded_windows_of(policy: &Policy) -> Vec<Duration> {
    let windows: Vec<Duration> = policy.windows().into_iter().collect();
    if windows.is_empty() {
        vec![STEP]
    } else {
        windows
    }
}

/// Labels on every series of the SLO: the spec's labels (minus any that
/// `group_by` owns, and empty ones, which Prometheus treats as absent) and
/// the naming's identity labels.
pub(crate) fn series_labels(slo: &Slo, naming: Naming) -> Labels {
    let mut labels: Labels = slo
        .labels
        .iter()
        .filter(|(k, v)| !v.is_empty() && !slo.group_by().contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.extend(
        naming
            .identity(slo)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    labels
}

fn window_labels(slo: &Slo, naming: Naming, window: Duration) -> Labels {
    let mut labels = series_labels(slo, naming);
    labels.insert(naming.window_label().to_owned(), window.to_string());
    labels
}

/// The labels the rules put on a slice indicator of `slo` (besides those
/// of the query's result): the SLO's labels and identity, and the slice as
/// its window. Empty for other kinds.
pub fn indicator_labels(slo: &Slo, naming: Naming) -> Labels {
    match &slo.sli {
        Sli::Slices(s) => window_labels(slo, naming, s.slice),
        _ => Labels::new(),
    }
}

/// `metric{slo_service="...",slo="..."}`.
fn recorded(metric: &str, slo: &Slo, naming: Naming) -> String {
    format!("{metric}{}", naming.matchers(slo))
}

mod groups;

pub(crate) use groups::slo_groups;
pub use groups::{absent_alert, events_expr, tier_alert};
