//! Compliance reports: for an SLO, over a calendar month (UTC) or a rolling
//! period ending at a time, how many events there were, how many were bad,
//! the availability, whether the objective was met, and the share of the
//! budget spent. The SLA review of a month, with how much of it had data.
//!
//! # What is counted
//!
//! - **Events** are `increase()` of the SLI's counters over the whole span,
//!   evaluated at its end (or at "now" for a span not over yet): the same
//!   numbers as PromQL `increase(x[31d])` at the month's end
//!   ([`Queries::bad`], [`Queries::total`]), or [`observe`]d in recorded
//!   data with the same semantics ([`crate::series`]). Ratio and latency
//!   SLIs count requests; `events` SLIs the user's queries; `slices` SLIs
//!   the slices with data.
//! - **Raw** SLIs (an error ratio without events) are reported as
//!   [`Status::NotCountable`]: a time average of their ratios would weigh a
//!   quiet night like a busy afternoon (Sloth's mistake), so no availability
//!   is made up for them.
//! - **Coverage** is the share of the span's hour [`SLOT`]s whose total
//!   events had data (two samples or more in the hour, what `increase(x[1h])`
//!   needs). A span without any slot with data is [`Status::NoData`], never
//!   met: a month nobody measured is not a month at 100%. A span that is not
//!   over yet, or not covered in full, is not [`Compliance::complete`], and
//!   says so next to its verdict.
//! - An `errors` counter that does not exist counts no errors (it often
//!   appears with the first failure); a missing `good` counter or latency
//!   bucket is no data, never "no bad events".
//!
//! ```
//! use slo_core::compliance::{self, Month, Observed, Span, Status};
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: web
//! slos:
//!   - name: availability
//!     objective: 99.9
//!     sli:
//!       ratio: {errors: 'requests_total{code="500"}', total: requests_total}
//! "#).map_err(|d| d[0].to_string())?;
//! let slo = &spec.slos[0];
//! let november: Month = "2026-11".parse().map_err(|e| format!("{e}"))?;
//! let span = Span::month(november);
//! assert_eq!(span.slots(), 720);
//!
//! // 1,500 bad of 1,000,000: 0.15% against a 0.1% budget.
//! let full = Observed { bad: Some(1_500.0), total: Some(1e6), slots_with_data: 720 };
//! let c = compliance::assess(slo, span, span.end, full);
//! assert_eq!(c.status, Status::Missed);
//! assert!(c.complete && (c.budget_spent.unwrap_or(0.0) - 1.5).abs() < 1e-9);
//!
//! // Nothing recorded: no data, never "met".
//! let c = compliance::assess(slo, span, span.end, Observed::default());
//! assert_eq!((c.status, c.coverage), (Status::NoData, 0.0));
//!
//! // Half the month measured, all good: met, but not complete.
//! let half = Observed { bad: None, total: Some(5e5), slots_with_data: 360 };
//! let c = compliance::assess(slo, span, span.end, half);
//! assert_eq!((c.status, c.complete, c.coverage), (Status::Met, false, 0.5));
//! # Ok::<(), String>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::dataset::Dataset;
use crate::duration::Duration;
use crate::errors::{MonthError, ReplayError};
use crate::events::{self, Counts};
use crate::promql::{self, Counter};
use crate::spec::{Labels, Slo};
use crate::time::{self, MS_PER_DAY, Timestamp};

/// The unit of coverage: a span's slots are this long (or the whole span
/// when it is shorter), counted from its start.
pub const SLOT: Duration = Duration::from_hours(1);

/// A calendar month in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i64,
    month: i64,
}

impl Month {
    /// The month `month` (1 to 12) of `year` (1970 to 9999).
    pub fn new(year: i64, month: u32) -> Option<Self> {
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self {
            year,
            month: i64::from(month),
        })
    }

    /// The month `t` falls in (months before 1970 read as January 1970).
    pub fn containing(t: Timestamp) -> Self {
        let (y, m, _) = time::civil_from_days(t.max(0).div_euclid(MS_PER_DAY));
        Self { year: y, month: m }
    }

    /// Its first millisecond.
    pub fn start(self) -> Timestamp {
        time::days_from_civil(self.year, self.month, 1) * MS_PER_DAY
    }

    /// The first millisecond of the next month: the month's end.
    pub fn end(self) -> Timestamp {
        self.next().start()
    }

    /// The next month.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The previous month (January 1970 is its own).
    pub fn prev(self) -> Self {
        match (self.year, self.month) {
            (1970, 1) => self,
            (y, 1) => Self {
                year: y - 1,
                month: 12,
            },
            (y, m) => Self {
                year: y,
                month: m - 1,
            },
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthError;

    /// `YYYY-MM`, e.g. `2026-11`.
    fn from_str(s: &str) -> Result<Self, MonthError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
            return Err(MonthError::Format(s.to_owned()));
        }
        let year: i64 = s[..4]
            .parse()
            .map_err(|_| MonthError::Format(s.to_owned()))?;
        let month: u32 = s[5..]
            .parse()
            .map_err(|_| MonthError::Format(s.to_owned()))?;
        if !(1..=12).contains(&month) {
            return Err(MonthError::MonthNumber(s.to_owned()));
        }
        Self::new(year, month).ok_or_else(|| MonthError::Year(s.to_owned()))
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The time a report covers, `[start, end]` in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Its first millisecond.
    pub start: Timestamp,
    /// Its end (a month's end is the next month's first millisecond).
    pub end: Timestamp,
}

impl Span {
    /// A calendar month.
    pub fn month(m: Month) -> Self {
        Self {
            start: m.start(),
            end: m.end(),
        }
    }

    /// The rolling `period` ending at `end`.
    pub fn rolling(end: Timestamp, period: Duration) -> Self {
        let len = i64::try_from(period.as_millis()).unwrap_or(i64::MAX);
        Self {
            start: end.saturating_sub(len),
            end,
        }
    }

    /// How far the span is evaluated when it is `now`: its end once it is
    /// over, `now` while it runs (never before its start).
    pub fn until(self, now: Timestamp) -> Timestamp {
        now.clamp(self.start, self.end.max(self.start))
    }

    /// The length of one coverage slot (ms): [`SLOT`], or the whole span
    /// when it is shorter.
    pub fn slot(self) -> i64 {
        let len = (self.end - self.start).max(0);
        (SLOT.as_millis() as i64).min(len).max(1)
    }

    /// Slots in the whole span (a tail shorter than a slot is not one).
    pub fn slots(self) -> u64 {
        ((self.end - self.start).max(0) / self.slot()) as u64
    }

    /// The ends of the slots over before `until`: `start + slot`,
    /// `start + 2 slot`, ... Each slot is the closed range `[end - slot,
    /// end]`, what `increase(x[1h])` evaluated at its end reads.
    pub fn slot_ends(self, until: Timestamp) -> impl Iterator<Item = Timestamp> {
        let slot = self.slot();
        let n = ((self.until(until) - self.start) / slot).min(self.slots() as i64);
        (1..=n).map(move |k| self.start + k * slot)
    }

    /// How many of `times` are slot ends before `until` (each counted once):
    /// the slots with data, from a range query of the total events at every
    /// slot (its points' times, rounded to the millisecond).
    pub fn count_slots(self, until: Timestamp, times: impl IntoIterator<Item = Timestamp>) -> u64 {
        let slot = self.slot();
        let last = self.slot_ends(until).last().unwrap_or(self.start);
        let mut ends: Vec<Timestamp> = times
            .into_iter()
            .filter(|t| *t > self.start && *t <= last && (t - self.start) % slot == 0)
            .collect();
        ends.sort_unstable();
        ends.dedup();
        ends.len() as u64
    }
}

/// The PromQL of a report over one span, for an SLO that counts events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queries {
    /// Bad events over the span, by instance: an instant query at `at`.
    pub bad: String,
    /// All events over the span, by instance: an instant query at `at`.
    pub total: String,
    /// All events per slot, by instance: a range query from `first` to
    /// `at` at `step` ms; a point at a slot's end means it had data.
    pub coverage: String,
    /// When to evaluate the instant queries (ms): the span's end, or now.
    pub at: Timestamp,
    /// The first slot's end (ms).
    pub first: Timestamp,
    /// The slot (ms).
    pub step: i64,
}

/// The queries that report `slo` over `span` evaluated until `until`;
/// `None` for a raw SLI (not countable) or when no slot of the span is over
/// yet (nothing to ask).
pub fn queries(slo: &Slo, span: Span, until: Timestamp) -> Option<Queries> {
    let first = span.slot_ends(until).next()?;
    let at = span.until(until);
    let window = Duration::from_millis((at - span.start) as u64);
    let slot = span.slot();
    Some(Queries {
        bad: promql::bad_events(&slo.sli, window, Counter::Increase)?,
        total: promql::total_events(&slo.sli, window, Counter::Increase)?,
        coverage: promql::total_events(
            &slo.sli,
            Duration::from_millis(slot as u64),
            Counter::Increase,
        )?,
        at,
        first,
        step: slot,
    })
}

/// What was measured of one instance over a span.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Observed {
    /// Bad events (`None`: no answer).
    pub bad: Option<f64>,
    /// All events (`None`: no samples).
    pub total: Option<f64>,
    /// Slots of the span with data.
    pub slots_with_data: u64,
}

/// Every instance of `slo` in `data` over `span` until `until`, sorted by
/// labels, measured with Prometheus's `increase()` semantics. A raw SLI
/// gives one instance with nothing observed ([`assess`] calls it not
/// countable); an `events` SLI, PromQL only Prometheus evaluates, is an
/// error, like a selector that matches nothing.
pub fn observe(
    slo: &Slo,
    data: &Dataset,
    span: Span,
    until: Timestamp,
) -> Result<Vec<(Labels, Observed)>, ReplayError> {
    if !slo.sli.counts_events() {
        return Ok(vec![(Labels::new(), Observed::default())]);
    }
    let at = span.until(until);
    let slot = span.slot();
    let instances = events::event_series(slo, data)?;
    Ok(instances
        .into_iter()
        .map(|inst| {
            let (rt, rc) = inst.source.reductions();
            let sum = |series: &[&crate::series::Series], r, from, to| {
                series
                    .iter()
                    .filter_map(|s| s.reduce(r, from, to))
                    .fold(None, |acc: Option<f64>, v| Some(acc.unwrap_or(0.0) + v))
            };
            let total = sum(&inst.total, rt, span.start, at);
            let counted = sum(&inst.counted, rc, span.start, at);
            // As the PromQL says: bad = errors, or total - good (absent
            // without the good series).
            let bad = match inst.counts {
                Counts::Bad => counted,
                Counts::Good => total.zip(counted).map(|(t, g)| (t - g).max(0.0)),
            };
            let slots_with_data = span
                .slot_ends(until)
                .filter(|end| {
                    inst.total
                        .iter()
                        .any(|s| s.reduce(rt, end - slot, *end).is_some())
                })
                .count() as u64;
            (
                inst.labels,
                Observed {
                    bad,
                    total,
                    slots_with_data,
                },
            )
        })
        .collect())
}

/// The verdict over a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The error ratio stayed within the budget.
    Met,
    /// The error ratio exceeded the budget.
    Missed,
    /// No slot of the span had data (or bad events are unknown).
    NoData,
    /// Data, but no events: no availability to speak of.
    NoEvents,
    /// A raw SLI: an error ratio without events.
    NotCountable,
}

impl Status {
    /// The status in words, as the text and CSV print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Missed => "missed",
            Status::NoData => "no data",
            Status::NoEvents => "no events",
            Status::NotCountable => "not countable",
        }
    }
}

/// One instance's compliance over a span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compliance {
    /// The verdict.
    pub status: Status,
    /// The span is over and every slot had data: the verdict is final.
    pub complete: bool,
    /// The span is not over yet (evaluated until now).
    pub in_progress: bool,
    /// Share of the span's slots with data, 0 to 1.
    pub coverage: f64,
    /// All events counted.
    pub events: Option<f64>,
    /// Bad events counted.
    pub bad_events: Option<f64>,
    /// `1 - bad / events`.
    pub availability: Option<f64>,
    /// Share of the span's error budget spent: the error ratio over the
    /// budget fraction (above 1: the objective was missed).
    pub budget_spent: Option<f64>,
    /// Why there is no verdict on the events, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The verdict on `slo` over `span`, evaluated until `until`, from what was
/// `observed`.
pub fn assess(slo: &Slo, span: Span, until: Timestamp, observed: Observed) -> Compliance {
    let slots = span.slots();
    let with_data = observed.slots_with_data.min(slots);
    let in_progress = span.until(until) < span.end;
    let mut c = Compliance {
        status: Status::NoData,
        complete: !in_progress && slots > 0 && with_data == slots,
        in_progress,
        coverage: if slots == 0 {
            0.0
        } else {
            with_data as f64 / slots as f64
        },
        events: None,
        bad_events: None,
        availability: None,
        budget_spent: None,
        reason: None,
    };
    if !slo.sli.counts_events() {
        c.status = Status::NotCountable;
        c.reason = Some(
            "a raw SLI is an error ratio without events: averaging its ratios over time would weigh a quiet hour like a busy one".to_owned(),
        );
        return c;
    }
    let finite = |x: Option<f64>| x.filter(|v| v.is_finite());
    let total = finite(observed.total).map(|t| t.max(0.0));
    let Some(total) = total.filter(|_| with_data > 0) else {
        c.reason = Some(if span.slot_ends(until).next().is_none() {
            "the span has just begun: no hour of it is over yet".to_owned()
        } else {
            "no samples of the SLI's events in any hour of the span".to_owned()
        });
        return c;
    };
    let bad = match finite(observed.bad) {
        Some(b) => b.clamp(0.0, total),
        None if promql::missing_bad_is_zero(&slo.sli) => 0.0,
        None => {
            c.reason = Some(
                "events were counted but not the good ones (good counter or latency bucket missing): bad events unknown".to_owned(),
            );
            return c;
        }
    };
    c.events = Some(total);
    c.bad_events = Some(bad);
    if total == 0.0 {
        c.status = Status::NoEvents;
        return c;
    }
    let ratio = bad / total;
    let fraction = slo.objective.budget_fraction();
    c.availability = Some(1.0 - ratio);
    c.budget_spent = Some(ratio / fraction);
    c.status = if ratio <= fraction {
        Status::Met
    } else {
        Status::Missed
    };
    c
}

/// One row of a report: an SLO instance over its span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The service.
    pub service: String,
    /// The SLO.
    pub slo: String,
    /// The instance's `group_by` labels (empty for one instance).
    pub labels: Labels,
    /// The objective in percent.
    pub objective: f64,
    /// The span's start.
    #[serde(serialize_with = "rfc3339")]
    pub start: Timestamp,
    /// The span's end.
    #[serde(serialize_with = "rfc3339")]
    pub end: Timestamp,
    /// Evaluated until (the end, or now for a span not over).
    #[serde(serialize_with = "rfc3339")]
    pub until: Timestamp,
    /// The numbers and the verdict.
    #[serde(flatten)]
    pub compliance: Compliance,
}

impl Row {
    /// The row of `slo`'s instance `labels` over `span`.
    pub fn new(
        slo: &Slo,
        labels: Labels,
        span: Span,
        until: Timestamp,
        observed: Observed,
    ) -> Self {
        Self {
            service: slo.service.clone(),
            slo: slo.name.clone(),
            labels,
            objective: slo.objective.percent(),
            start: span.start,
            end: span.end,
            until: span.until(until),
            compliance: assess(slo, span, until, observed),
        }
    }
}

fn rfc3339<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&time::format(*t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step() {
        let m: Result<Month, _> = "2026-12".parse();
        assert_eq!(
            m.as_ref().map(ToString::to_string),
            Ok("2026-12".to_owned())
        );
        let m = m.unwrap_or(Month { year: 0, month: 0 });
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(time::format(m.start()), "2026-12-01T00:00:00Z");
        assert_eq!(time::format(m.end()), "2027-01-01T00:00:00Z");
        assert_eq!(Month::containing(m.end() - 1), m);
        assert_eq!(Month::containing(m.end()), m.next());
        assert_eq!(Span::month("2024-02".parse().unwrap_or(m)).slots(), 29 * 24);
    }

    #[test]
    fn a_bad_month_says_what_is_expected() {
        for (s, want) in [
            ("2026-13", "`2026-13`: the month must be 01 to 12"),
            ("2026-00", "`2026-00`: the month must be 01 to 12"),
            (
                "2026-1",
                "`2026-1` is not a month: expected YYYY-MM, e.g. 2026-11",
            ),
            (
                "november",
                "`november` is not a month: expected YYYY-MM, e.g. 2026-11",
            ),
            ("1969-12", "`1969-12`: the year must be 1970 to 9999"),
            (
                "２０２６-11",
                "`２０２６-11` is not a month: expected YYYY-MM, e.g. 2026-11",
            ),
        ] {
            assert_eq!(
                s.parse::<Month>().map_err(|e| e.to_string()),
                Err(want.to_owned())
            );
        }
    }

    #[test]
    fn a_span_not_an_hour_old_is_no_data_saying_it_has_just_begun() {
        let spec = crate::load::load_str(
            "version: slo/v1\nservice: s\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {errors: e_total, total: t_total}\n",
        )
        .unwrap_or_else(|d| panic!("{}", d[0]));
        let Some(slo) = spec.slos.first() else {
            panic!("the spec has no SLO");
        };
        let span = Span::month(Month::containing(0));
        let seen = Observed {
            bad: Some(0.0),
            total: Some(10.0),
            slots_with_data: 0,
        };
        let c = assess(slo, span, span.start + 59 * 60_000, seen);
        assert_eq!((c.status, c.in_progress), (Status::NoData, true));
        assert_eq!(
            c.reason.as_deref(),
            Some("the span has just begun: no hour of it is over yet")
        );
        assert!(queries(slo, span, span.start + 59 * 60_000).is_none());
    }

    #[test]
    fn slots_are_counted_from_the_start_up_to_until() {
        let span = Span {
            start: 0,
            end: 10 * 3_600_000,
        };
        assert_eq!(span.slots(), 10);
        assert_eq!(span.slot_ends(3 * 3_600_000 + 5).count(), 3);
        let times = [3_600_000, 3_600_000, 7_200_000, 7_200_001, 36_000_000];
        // The last one is not over at `until`; the odd one is no slot end.
        assert_eq!(span.count_slots(3 * 3_600_000, times), 2);
        let short = Span {
            start: 0,
            end: 60_000,
        };
        assert_eq!((short.slot(), short.slots()), (60_000, 1));
    }
}
