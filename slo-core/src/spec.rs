//! The SLO spec: what a user writes, validated and resolved.
//!
//! One YAML file per service, several SLOs per file (`version: slo/v1`). The
//! types here are the *checked* model: every value has been validated and
//! every default filled in by [`load`](crate::load). See the README for the
//! reference of every field.
//!
//! ```
//! let yaml = r#"
//! version: slo/v1
//! service: checkout
//! slos:
//!   - name: requests-availability
//!     objective: 99.9
//!     sli:
//!       ratio:
//!         errors: http_requests_total{job="checkout",code=~"5.."}
//!         total: http_requests_total{job="checkout"}
//! "#;
//! let spec = slo_core::load::load_str(yaml).map_err(|d| d[0].message.clone())?;
//! let slo = &spec.slos[0];
//! assert_eq!(slo.budget().fraction(), 0.001);
//! assert_eq!(slo.period.to_string(), "30d");
//! assert_eq!(slo.policy.pairs().len(), 4);
//! # Ok::<(), String>(())
//! ```

use std::collections::BTreeMap;

use crate::budget::{ErrorBudget, Objective};
use crate::duration::Duration;
use crate::policy::{Policy, Severity};

/// Label names to values, sorted by name so output is deterministic.
pub type Labels = BTreeMap<String, String>;

/// The spec format version this crate reads.
pub const VERSION: &str = "slo/v1";

/// The rolling period when a spec gives none.
pub const DEFAULT_PERIOD: Duration = Duration::from_days(30);

/// The alert name (`alertname`) when a spec gives none.
pub const DEFAULT_ALERT_NAME: &str = "SLOErrorBudgetBurn";

/// One spec file: a service and its SLOs.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The service the SLOs belong to.
    pub service: String,
    /// Labels put on every generated series and alert of the file.
    pub labels: Labels,
    /// The SLOs, in file order.
    pub slos: Vec<Slo>,
}

/// One service-level objective.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// The service (copied from the file, so an `Slo` stands alone).
    pub service: String,
    /// The SLO's name, unique within its service.
    pub name: String,
    /// What the SLO promises, in words.
    pub description: Option<String>,
    /// The objective (e.g. 99.9%).
    pub objective: Objective,
    /// The rolling period the objective applies to.
    pub period: Duration,
    /// The file's labels merged with the SLO's own (the SLO's win).
    pub labels: Labels,
    /// How good and bad events are counted.
    pub sli: Sli,
    /// How the SLO alerts.
    pub alerting: Alerting,
    /// The window pairs, resolved for the period, disabled tiers removed.
    pub policy: Policy,
}

impl Slo {
    /// The SLO's error budget.
    pub fn budget(&self) -> ErrorBudget {
        ErrorBudget::new(self.objective, self.period)
    }

    /// Labels that split the SLO into instances (`group_by`), empty for a
    /// single instance.
    pub fn group_by(&self) -> &[String] {
        match &self.sli {
            Sli::Ratio(r) => &r.group_by,
            Sli::Latency(l) => &l.group_by,
            Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => &[],
        }
    }
}

/// The service-level indicator: how bad and total events are counted.
#[derive(Clone, Debug, PartialEq)]
pub enum Sli {
    /// Two counters: bad (or good) events and all events.
    Ratio(RatioSli),
    /// A histogram: requests slower than a bucket bound are bad.
    Latency(LatencySli),
    /// Hand-written PromQL for bad and total event rates, with `{{.window}}`.
    Events(EventsSli),
    /// Hand-written PromQL for the error ratio itself, with `{{.window}}`.
    Raw(RawSli),
    /// Time slices: the share of slices (e.g. minutes) in which a condition
    /// on a query held (OpenSLO "Timeslices").
    Slices(SlicesSli),
}

impl Sli {
    /// The kind's name as written in specs.
    pub fn kind(&self) -> &'static str {
        match self {
            Sli::Ratio(_) => "ratio",
            Sli::Latency(_) => "latency",
            Sli::Events(_) => "events",
            Sli::Raw(_) => "raw",
            Sli::Slices(_) => "slices",
        }
    }

    /// The slice length of a time-slice SLI, `None` for the other kinds.
    pub fn slice(&self) -> Option<Duration> {
        match self {
            Sli::Slices(s) => Some(s.slice),
            _ => None,
        }
    }

    /// True when the SLI can count events (for `min_events` and the budget
    /// over the period). A raw error ratio cannot. A time-slice SLI counts
    /// slices: its events are the slices that had data, so `min_events`
    /// is a number of slices.
    pub fn counts_events(&self) -> bool {
        !matches!(self, Sli::Raw(_))
    }
}

/// Which counter a ratio SLI names besides the total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counted {
    /// A counter of bad events.
    Errors(String),
    /// A counter of good events; bad = total - good.
    Good(String),
}

/// A ratio SLI over two counters (series selectors, e.g.
/// `http_requests_total{job="checkout",code=~"5.."}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatioSli {
    /// The bad or good counter.
    pub counted: Counted,
    /// The counter of all events.
    pub total: String,
    /// Labels that split the SLO into one instance per value.
    pub group_by: Vec<String>,
}

/// A latency SLI from a Prometheus histogram: requests at or under
/// `threshold` (a bucket's `le`) are good.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySli {
    /// The histogram's base name (without `_bucket`).
    pub histogram: String,
    /// Label matchers in braces, e.g. `{job="checkout"}`; empty for none.
    pub selector: String,
    /// The bucket bound, in the histogram's unit.
    pub threshold: f64,
    /// Labels that split the SLO into one instance per value.
    pub group_by: Vec<String>,
}

/// Hand-written PromQL event rates; `{{.window}}` stands for the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsSli {
    /// Bad events per second over the window.
    pub error_query: String,
    /// All events per second over the window.
    pub total_query: String,
}

/// Hand-written PromQL error ratio; `{{.window}}` stands for the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSli {
    /// The error ratio over the window.
    pub error_ratio_query: String,
}

/// A time-slice SLI: every `slice`, `query OP threshold` is evaluated; a
/// slice where it holds is good, one where it does not is bad, and a slice
/// where the query returns nothing is neither (it is not counted at all, so
/// a scrape gap neither spends nor earns budget). The error ratio over a
/// window is bad slices over slices with data.
#[derive(Clone, Debug, PartialEq)]
pub struct SlicesSli {
    /// PromQL evaluated once per slice, without `{{.window}}` (e.g.
    /// `sum(rate(istio_requests_total[1m])) * 60`).
    pub query: String,
    /// How the query's value is compared with the threshold.
    pub op: SliceOp,
    /// The value the query is compared with.
    pub threshold: f64,
    /// The slice length: positive, no longer than the shortest window, and
    /// dividing every window and the period evenly.
    pub slice: Duration,
}

/// The comparison that makes a slice good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceOp {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
}

impl SliceOp {
    /// Every operator, as written in specs and PromQL.
    pub const ALL: [SliceOp; 4] = [SliceOp::Ge, SliceOp::Gt, SliceOp::Le, SliceOp::Lt];

    /// The operator as written in specs and PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            SliceOp::Ge => ">=",
            SliceOp::Gt => ">",
            SliceOp::Le => "<=",
            SliceOp::Lt => "<",
        }
    }

    /// Reads an operator as written in specs (surrounding spaces allowed).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s.trim())
    }
}

impl std::fmt::Display for SliceOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The placeholder for the window in hand-written queries (Sloth's).
pub const WINDOW_PLACEHOLDER: &str = "{{.window}}";

/// How an SLO alerts.
#[derive(Clone, Debug, PartialEq)]
pub struct Alerting {
    /// The alert name (`alertname`).
    pub name: String,
    /// Labels on every alert of the SLO.
    pub labels: Labels,
    /// Annotations on every alert of the SLO.
    pub annotations: Labels,
    /// The page tier.
    pub page: Tier,
    /// The ticket tier.
    pub ticket: Tier,
    /// A pair fires only when its long window counted at least this many
    /// events (0: no guard).
    pub min_events: f64,
    /// When set, also alert when the SLI's total has had no data for this
    /// long (off by default: silence is not an error-budget burn).
    pub absent_for: Option<Duration>,
}

impl Alerting {
    /// The settings of one tier.
    pub fn tier(&self, severity: Severity) -> &Tier {
        match severity {
            Severity::Page => &self.page,
            Severity::Ticket => &self.ticket,
        }
    }
}

/// One alert tier's settings.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Tier {
    /// True when the tier never alerts (its pairs are dropped).
    pub disabled: bool,
    /// Labels of the tier's alert (`severity` defaults to the tier's name).
    pub labels: Labels,
    /// Annotations of the tier's alert.
    pub annotations: Labels,
    /// How long the condition must hold before the alert fires (`for`).
    pub for_: Option<Duration>,
}

impl Tier {
    /// The defaults of a tier: enabled, labelled `severity: <tier>`.
    pub fn new(severity: Severity) -> Self {
        let mut tier = Self::default();
        tier.labels
            .insert("severity".to_owned(), severity.to_string());
        tier
    }
}
