//! SLO instances: one per value of the SLO's `group_by` labels (one, with
//! no labels, when ungrouped). One identity for every output: the
//! evaluator, the daemon's alert keys, the backtest report and its plot.
//!
//! ```
//! use slo_core::instance::{self, Instance};
//!
//! let group_by = ["route".to_owned(), "zone".to_owned()];
//! let series = [("route", "/pay"), ("code", "500")];
//! let labels = |l: &str| series.iter().find(|(k, _)| *k == l).map(|(_, v)| *v);
//! // `zone` is absent from the series: absent from the instance, as in
//! // Prometheus's `sum by (route, zone)`.
//! let inst: Instance = instance::of(&group_by, labels);
//! assert_eq!(instance::braces(&inst), r#"{route="/pay"}"#);
//! assert_eq!(instance::key("shop", "checkout", &inst), r#"shop/checkout{route="/pay"}"#);
//! assert_eq!(instance::key("shop", "checkout", &Instance::new()), "shop/checkout{}");
//! // How links name an instance (the web UI's `?instance=`), and back.
//! assert_eq!(instance::to_text(&inst), "route=/pay");
//! assert_eq!(instance::from_text("route=/pay"), inst);
//! ```

use std::collections::BTreeMap;

/// An instance's labels: the SLO's `group_by` labels and their values
/// (empty when ungrouped).
pub type Instance = BTreeMap<String, String>;

/// The instance a series belongs to: its values of `group_by`. A label the
/// series lacks (or has empty, which Prometheus treats the same) is not
/// part of the instance, as `sum by (...)` drops it.
pub fn of<'a>(group_by: &[String], label: impl Fn(&str) -> Option<&'a str>) -> Instance {
    group_by
        .iter()
        .filter_map(|l| {
            label(l)
                .filter(|v| !v.is_empty())
                .map(|v| (l.clone(), v.to_owned()))
        })
        .collect()
}

/// `{k="v",...}` for an instance's labels, empty for none: how instances
/// are named in text output, logs and alert keys (values quoted and
/// escaped as Rust and PromQL strings agree on).
pub fn braces(labels: &Instance) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", l.join(","))
}

/// `service/slo{labels}`: an SLO instance's key in alert state. An
/// ungrouped instance keeps its `{}` (keys are persisted in that form).
pub fn key(service: &str, slo: &str, labels: &Instance) -> String {
    let b = braces(labels);
    format!("{service}/{slo}{}", if b.is_empty() { "{}" } else { &b })
}

/// `k=v,k=v`: an instance as links name it (the web UI's `?instance=`,
/// before URL encoding); empty for none.
pub fn to_text(labels: &Instance) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The instance [`to_text`] wrote (pairs without `=` are ignored).
pub fn from_text(text: &str) -> Instance {
    text.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
