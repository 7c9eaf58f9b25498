//! # slo-core
//!
//! Multi-window, multi-burn-rate SLO alerting (Google SRE Workbook, ch. 5),
//! as a pure library: no I/O, no async.
//!
//! - **The spec.** [`load`] reads YAML of any format (slo/v1, Sloth,
//!   OpenSLO) into a checked [`spec::Spec`], reporting every problem with
//!   its line and column ([`diagnostic`]); [`native`] writes a spec back as
//!   slo/v1. [`duration`] is the Prometheus duration grammar (`5m`,
//!   `1h30m`, `4w`).
//! - **The math.** [`budget`] turns objectives into error budgets and
//!   error ratios into burn rates; [`policy`] holds the window pairs and
//!   their factors; [`alert`] decides which pairs and tiers fire from what
//!   each window measured, in three values (unknown is not healthy), and
//!   steps the alert state machine.
//! - **Rules.** [`promql`] builds the SLI queries for any window; [`rules`]
//!   turns specs into Prometheus recording and alerting rules.
//! - **Evaluating.** [`evaluation`] says which queries to ask and what
//!   their answers mean per instance ([`instance`]); [`batch`] packs many
//!   queries into one request and [`shared`] one query into many SLOs'
//!   answers; [`ledger`] keeps every alert's state across
//!   cycles (holds, sweeps, the notifications owed), rendering labels and
//!   annotations with [`template`]; [`shard`] splits SLOs over a fleet;
//!   [`steps`] keeps the daemon's long windows as sums of 5m steps.
//!   The `slo-eval` daemon is a loop of queries and deliveries around them.
//! - **Replaying.** [`backtest`] replays a policy over recorded history
//!   ([`openmetrics`] text read into a [`dataset`]) and scores its alerts
//!   against [`incident`]s; [`series`] evaluates Prometheus's `increase()`
//!   over every window at every step in one pass.
//! - **Reporting.** [`compliance`] says, per calendar month or rolling
//!   period, how many events were bad, whether the objective was met and
//!   how much of the span had data.
//!
//! ```
//! use slo_core::{alert, load};
//!
//! let spec = load::load_str(r#"
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
//! let slo = &spec.slos[0];
//!
//! // 2% errors in every window: 20x the budget, enough for both pages.
//! let decision = alert::decide(&slo.policy, &slo.budget(), slo.alerting.min_events, |_| {
//!     Some(alert::Measurement { error_ratio: 0.02, events: Some(5_000.0) })
//! });
//! assert!(decision.firing(slo_core::policy::Severity::Page));
//! # Ok::<(), String>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alert;
pub mod backtest;
pub mod batch;
pub mod bucket;
pub mod budget;
pub mod check;
pub mod compliance;
pub mod dataset;
pub mod diagnostic;
pub mod duration;
pub(crate) mod emit;
pub mod errors;
pub mod evaluation;
pub mod events;
pub mod format;
pub mod incident;
pub mod instance;
pub mod ledger;
pub mod live;
pub mod load;
pub mod names;
pub mod native;
pub mod num;
pub mod openmetrics;
pub mod policy;
pub mod promql;
pub mod quantile;
pub mod rules;
pub mod selector;
pub mod series;
pub mod shard;
pub mod shared;
pub mod spec;
pub mod steps;
pub mod template;
pub mod time;
pub mod yaml;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
