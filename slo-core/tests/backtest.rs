//! Replays of synthetic incidents whose outcome the Workbook's formulas
//! predict.

mod common;

use common::{DAY, HOUR, MIN, S, requests, slo};
use slo_core::backtest::{self, Incidents, Options};
use slo_core::duration::Duration;
use slo_core::incident::Incident;
use slo_core::policy::Severity;

const STEP: i64 = MIN;

const SCRAPE: i64 = 15 * S;

/// A constant error ratio `e` from `t0` to `t1` after a clean history long
/// enough for every window: the tier fires within one step of
/// `f * b * W / e` (minimum over its pairs) and resets within one step of the
/// slowest firing pair's `W_short * (1 - f * b / e)`.
///
/// With `offset` the incident starts that long after a step, and the steps
/// fall that long after a scrape: the data a step sees then lags the errors
/// by up to a scrape interval, which the tolerance allows for (Prometheus
/// has the same lag).
fn constant_incident(e: f64, severity: Severity, lasts: i64, offset: i64) {
    let slo = slo(99.9, "");
    let budget = slo.budget();
    let t0 = 3 * DAY + offset; // history for the 3d window
    let t1 = t0 + lasts;
    let data = requests(0, t1 + 6 * HOUR, SCRAPE, 10.0, |t| {
        if t > t0 && t <= t1 { e } else { 0.0 }
    });
    let mut options = Options::new(2 * DAY + offset * 3, t1 + 6 * HOUR);
    let tolerance = (STEP + if offset == 0 { 0 } else { SCRAPE }) as f64 / 1000.0;
    options.incidents = Incidents::Given(vec![Incident::new(t0, t1, Some(severity))]);
    let report = backtest::backtest(&slo, &data, &options).unwrap_or_else(|e| panic!("{e}"));
    let inst = &report.instances[0];
    let alerts: Vec<_> = inst.alerts_of(severity).collect();
    assert_eq!(alerts.len(), 1, "e={e}: {alerts:?}");
    let alert = alerts[0];

    let want = slo
        .policy
        .detection_time(&budget, Some(severity), e)
        .unwrap_or(f64::NAN);
    let got = (alert.start - t0) as f64 / 1000.0;
    assert!(
        (got - want).abs() <= tolerance,
        "e={e} {severity}: detected after {got}s, formula {want}s"
    );

    let firing_pairs = slo.policy.tier(severity).filter(|p| {
        p.detection_time(&budget, e)
            .is_some_and(|d| d < lasts as f64 / 1000.0)
    });
    let want_reset = firing_pairs
        .filter_map(|p| p.reset_time(&budget, e))
        .reduce(f64::max)
        .unwrap_or(f64::NAN);
    let end = alert.end.unwrap_or(i64::MAX);
    let reset = (end - t1) as f64 / 1000.0;
    assert!(
        (reset - want_reset).abs() <= tolerance,
        "e={e} {severity}: reset after {reset}s, formula {want_reset}s"
    );

    // The scores agree with the alert.
    let q = inst
        .quality_of(Some(severity))
        .unwrap_or_else(|| panic!("no quality row"));
    assert_eq!(
        (q.alerts, q.true_alerts, q.incidents, q.detected),
        (1, 1, 1, 1)
    );
    let detection = q.mean_detection_secs.unwrap_or(f64::NAN);
    assert!((detection - got).abs() < 1e-9);
    // Budget spent before firing: e/b burn over the detection time.
    let spent = q.max_budget_before_firing.unwrap_or(f64::NAN);
    let want_spent = budget.consumed(
        budget.burn_rate(e),
        Duration::from_millis((got * 1000.0) as u64),
    );
    assert!(
        (spent - want_spent).abs() <= want_spent * 0.02 + 1e-6,
        "spent {spent}, want {want_spent}"
    );
}

#[test]
fn total_outage_pages_in_52_seconds_and_resets_within_the_short_window() {
    constant_incident(1.0, Severity::Page, 20 * MIN, 0);
    constant_incident(1.0, Severity::Page, 20 * MIN, 7 * S);
}

#[test]
fn partial_outages_page_on_time() {
    for offset in [0, 25 * S] {
        constant_incident(0.15, Severity::Page, 30 * MIN, offset);
        constant_incident(0.05, Severity::Page, 2 * HOUR, offset);
        constant_incident(0.02, Severity::Page, 3 * HOUR, offset);
    }
}

#[test]
fn slow_burns_ticket_on_time_and_do_not_page() {
    constant_incident(0.005, Severity::Ticket, 20 * HOUR, 0);
    constant_incident(0.005, Severity::Ticket, 20 * HOUR, 40 * S);
    let slo = slo(99.9, "");
    let t0 = 3 * DAY;
    let data = requests(
        0,
        t0 + DAY,
        15 * S,
        10.0,
        |t| if t > t0 { 0.005 } else { 0.0 },
    );
    let report = backtest::backtest(&slo, &data, &Options::new(t0, t0 + DAY))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.instances[0].alerts_of(Severity::Page).count(), 0);
}

#[test]
fn for_delays_firing_by_its_duration() {
    let t0 = 2 * HOUR;
    let data = requests(0, 4 * HOUR, 15 * S, 10.0, |t| {
        if t > t0 && t <= t0 + 30 * MIN {
            1.0
        } else {
            0.0
        }
    });
    let run = |alerting: &str| {
        let report = backtest::backtest(&slo(99.9, alerting), &data, &Options::new(HOUR, 4 * HOUR))
            .unwrap_or_else(|e| panic!("{e}"));
        report.instances[0]
            .alerts_of(Severity::Page)
            .copied()
            .collect::<Vec<_>>()
    };
    let plain = run("");
    let held = run("      page:\n        for: 5m\n");
    assert_eq!((plain.len(), held.len()), (1, 1));
    assert_eq!(held[0].start - plain[0].start, 5 * MIN);
    assert_eq!(held[0].active_since, plain[0].start);
    assert_eq!(held[0].end, plain[0].end);
    // A total outage's peak burn rate is 1 / b.
    assert!(
        (plain[0].peak_burn_rate - 1000.0).abs() < 1.0,
        "{}",
        plain[0].peak_burn_rate
    );
}

#[test]
fn scores_precision_and_recall() {
    // A: listed, pages. B: listed but nothing happened. C: an outage nobody
    // listed, which pages: a false page by the list's account.
    let (a, b, c) = (3 * HOUR, 6 * HOUR, 9 * HOUR);
    let outage = |t: i64, at: i64| t > at && t <= at + 20 * MIN;
    let data = requests(0, 12 * HOUR, 15 * S, 10.0, |t| {
        if outage(t, a) || outage(t, c) {
            1.0
        } else {
            0.0
        }
    });
    let mut options = Options::new(HOUR, 12 * HOUR);
    options.incidents = Incidents::Given(vec![
        Incident::new(a, a + 20 * MIN, Some(Severity::Page)),
        Incident::new(b, b + 20 * MIN, Some(Severity::Page)),
    ]);
    let report =
        backtest::backtest(&slo(99.9, ""), &data, &options).unwrap_or_else(|e| panic!("{e}"));
    let inst = &report.instances[0];
    let page = inst
        .quality_of(Some(Severity::Page))
        .copied()
        .unwrap_or_else(|| panic!("page row"));
    assert_eq!(
        (page.alerts, page.true_alerts, page.incidents, page.detected),
        (2, 1, 2, 1)
    );
    assert_eq!((page.precision, page.recall), (Some(0.5), Some(0.5)));
    // Tickets fire for both outages too; none was expected (both are page
    // incidents), but the one during A is not noise.
    let ticket = inst
        .quality_of(Some(Severity::Ticket))
        .copied()
        .unwrap_or_else(|| panic!("ticket row"));
    assert_eq!((ticket.incidents, ticket.true_alerts), (0, 1));
    let any = inst
        .quality_of(None)
        .copied()
        .unwrap_or_else(|| panic!("any row"));
    // The ticket still firing from A did not detect B.
    assert_eq!((any.incidents, any.detected), (2, 1));
    // Each incident's outcome names the tier that caught it.
    let caught: Vec<bool> = inst
        .incidents
        .iter()
        .map(|o| o.detections[0].fired_at.is_some())
        .collect();
    assert_eq!(caught, [true, false]);
    // The outage spent 20 min of a 43.2 min budget.
    let spent = inst.incidents[0].budget_consumed.unwrap_or(f64::NAN);
    assert!((spent - 20.0 / 43.2).abs() < 0.01, "{spent}");
}

/// Regression: a range starting while an alert was already firing (for an
/// outage just before the range) scored that alert as a false positive.
/// Now it is unscored when it catches nothing in the range, matched when
/// an incident is in progress at the range's start (its detection time
/// unknown), and an alert that starts in the range is judged as before.
#[test]
fn an_alert_already_firing_at_the_range_start_is_not_a_false_positive() {
    let (a, c) = (3 * HOUR, 8 * HOUR);
    let outage = |t: i64, at: i64| t > at && t <= at + 20 * MIN;
    let data = requests(0, 12 * HOUR, 15 * S, 10.0, |t| {
        if outage(t, a) || outage(t, c) {
            1.0
        } else {
            0.0
        }
    });
    let page_row = |inst: &backtest::InstanceReport| {
        let q = inst
            .quality_of(Some(Severity::Page))
            .copied()
            .unwrap_or_else(|| panic!("page row"));
        (q.alerts, q.true_alerts, q.unscored, q.precision)
    };

    // Detected incidents: A ended before the range (only C is found); the
    // page still firing for A at the start is not called false.
    let start = a + 30 * MIN;
    let report = backtest::backtest(&slo(99.9, ""), &data, &Options::new(start, 12 * HOUR))
        .unwrap_or_else(|e| panic!("{e}"));
    let inst = &report.instances[0];
    let first = inst.alerts_of(Severity::Page).next().map(|x| x.start);
    assert_eq!(first, Some(start), "{:?}", inst.alerts);
    assert_eq!(inst.incidents.len(), 1, "{:?}", inst.incidents);
    assert_eq!(page_row(inst), (2, 1, 1, Some(1.0)));

    // A listed and in progress at the range's start: the page firing
    // since before the range caught it, when is unknown; C, unlisted, is
    // a false page as ever.
    let start = a + 10 * MIN;
    let mut options = Options::new(start, 12 * HOUR);
    options.incidents =
        Incidents::Given(vec![Incident::new(a, a + 20 * MIN, Some(Severity::Page))]);
    let report =
        backtest::backtest(&slo(99.9, ""), &data, &options).unwrap_or_else(|e| panic!("{e}"));
    let inst = &report.instances[0];
    assert_eq!(page_row(inst), (2, 1, 0, Some(0.5)));
    let q = inst
        .quality_of(Some(Severity::Page))
        .copied()
        .unwrap_or_else(|| panic!("page row"));
    assert_eq!((q.detected, q.recall), (1, Some(1.0)));
    let d = inst.incidents[0].detections[0];
    assert_eq!(d.fired_at, Some(start));
    assert_eq!((d.detection_secs, d.budget_before_firing), (None, None));
}

#[test]
fn detects_significant_burns_without_an_incident_list() {
    let (a, b) = (3 * HOUR, 10 * HOUR);
    let data = requests(0, 36 * HOUR, 15 * S, 10.0, |t| {
        if t > a && t <= a + 20 * MIN {
            1.0
        } else if t > b && t <= b + 20 * HOUR {
            0.003
        } else if t == 30 * HOUR {
            0.5 // a blip: a few errors in one scrape, far below 2% of the budget
        } else {
            0.0
        }
    });
    let report = backtest::backtest(&slo(99.9, ""), &data, &Options::new(HOUR, 36 * HOUR))
        .unwrap_or_else(|e| panic!("{e}"));
    let found: Vec<(i64, i64, Option<Severity>)> = report.instances[0]
        .incidents
        .iter()
        .map(|o| (o.incident.start, o.incident.end, o.incident.severity))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    let near = |x: i64, y: i64| (x - y).abs() <= 2 * STEP;
    assert!(
        near(found[0].0, a) && near(found[0].1, a + 20 * MIN) && found[0].2 == Some(Severity::Page),
        "{found:?}"
    );
    assert!(
        near(found[1].0, b)
            && near(found[1].1, b + 20 * HOUR)
            && found[1].2 == Some(Severity::Ticket),
        "{found:?}"
    );
}

#[test]
fn budget_timeline_tracks_the_period_ratio() {
    let t0 = 6 * HOUR;
    let data = requests(0, DAY, 15 * S, 10.0, |t| {
        if t > t0 && t <= t0 + 10 * MIN {
            1.0
        } else {
            0.0
        }
    });
    let report = backtest::backtest(&slo(99.9, ""), &data, &Options::new(HOUR, DAY))
        .unwrap_or_else(|e| panic!("{e}"));
    let budget = &report.instances[0].budget;
    assert_eq!(budget.len(), 24);
    assert_eq!(budget[0].remaining, Some(1.0));
    // At the end: 10 min of errors over 24h of history.
    let last = budget
        .last()
        .and_then(|p| p.error_ratio)
        .unwrap_or(f64::NAN);
    assert!((last - 10.0 / 1440.0).abs() < 1e-4, "{last}");
    assert!(budget.windows(2).all(|w| w[1].time - w[0].time <= HOUR));
}

/// The snapshot review of issue 13: a range ending days after the data
/// said the budget rested on "19d of data" when the data held 3. The
/// history is what lies in the period before the end *and* in the data.
#[test]
fn budget_history_counts_only_the_days_with_data() {
    let data = requests(0, 3 * DAY, 15 * S, 10.0, |_| 0.0);
    let report = backtest::backtest(&slo(99.9, ""), &data, &Options::new(DAY, 19 * DAY))
        .unwrap_or_else(|e| panic!("{e}"));
    let held = report.budget_history.as_millis() as i64;
    assert!(held <= 3 * DAY && held > 3 * DAY - HOUR, "{held}");
    // A range inside the data: the history up to its end, within the period.
    let report = backtest::backtest(&slo(99.9, ""), &data, &Options::new(HOUR, 2 * DAY))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.budget_history.as_millis() as i64, 2 * DAY);
}

#[test]
fn unsupported_slis_and_bad_ranges_are_errors() {
    let data = requests(0, HOUR, 15 * S, 1.0, |_| 0.0);
    let slo = slo(99.9, "");
    assert!(backtest::backtest(&slo, &data, &Options::new(HOUR, 0)).is_err());
    let mut options = Options::new(0, HOUR);
    options.step = Duration::ZERO;
    assert!(backtest::backtest(&slo, &data, &options).is_err());
    // A range too long for its step is refused, not allocated.
    let mut options = Options::new(i64::MIN, i64::MAX);
    options.step = Duration::from_millis(1);
    let err = backtest::backtest(&slo, &data, &options)
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("more than 10000000")));
}

#[test]
fn group_by_replays_each_instance_on_its_own() {
    use slo_core::dataset::{Dataset, SeriesKey};
    // Two regions; eu has an outage, us does not.
    let mut data = Dataset::new();
    for (region, outage) in [("eu", true), ("us", false)] {
        let one = requests(0, 6 * HOUR, 15 * S, 10.0, |t| {
            if outage && t > 3 * HOUR && t <= 3 * HOUR + 20 * MIN {
                1.0
            } else {
                0.0
            }
        });
        for (key, series) in one.iter() {
            let mut labels: Vec<(&str, &str)> = key
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            labels.push(("region", region));
            data.insert(SeriesKey::new(&key.name, labels), series.clone());
        }
    }
    let yaml = "version: slo/v1\nservice: shop\nslos:\n  - name: availability\n    objective: 99.9\n    sli:\n      ratio:\n        errors: req_total{code=\"500\"}\n        total: req_total\n        group_by: [region]\n";
    let slo = slo_core::load::load_str(yaml)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .slos
        .remove(0);
    let mut options = Options::covering(&data).unwrap_or_else(|| panic!("no data"));
    options.incidents = Incidents::Given(vec![{
        let mut i = Incident::new(3 * HOUR, 3 * HOUR + 20 * MIN, Some(Severity::Page));
        i.labels.insert("region".to_owned(), "eu".to_owned());
        i
    }]);
    let report = backtest::backtest(&slo, &data, &options).unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(String, usize, usize)> = report
        .instances
        .iter()
        .map(|i| {
            (
                i.labels["region"].clone(),
                i.alerts_of(Severity::Page).count(),
                i.incidents.len(),
            )
        })
        .collect();
    assert_eq!(summary, [("eu".to_owned(), 1, 1), ("us".to_owned(), 0, 0)]);
    assert_eq!(
        report.instances[0]
            .quality_of(Some(Severity::Page))
            .and_then(|q| q.recall),
        Some(1.0)
    );
}

/// The traffic graph's points are the shortest window's measurement: 10
/// requests/s, and the error ratio of the incident once the window is
/// inside it; absent without `burn_rates`.
#[test]
fn traffic_is_the_shortest_windows_rate_and_error_ratio() {
    let slo = slo(99.9, "");
    let t0 = 3 * DAY;
    let data = requests(0, t0 + 2 * HOUR, SCRAPE, 10.0, |t| {
        if t > t0 + HOUR { 0.25 } else { 0.0 }
    });
    let mut options = Options::new(t0, t0 + 2 * HOUR);
    let report = backtest::backtest(&slo, &data, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.instances[0].traffic.is_none());
    options.burn_rates = true;
    let report = backtest::backtest(&slo, &data, &options).unwrap_or_else(|e| panic!("{e}"));
    let traffic = report.instances[0]
        .traffic
        .as_ref()
        .unwrap_or_else(|| panic!("no traffic"));
    assert_eq!(traffic.window, Duration::from_mins(5));
    assert_eq!(traffic.points.len(), 121, "one point per step with data");
    for &(t, rate, ratio) in &traffic.points {
        let rate = rate.unwrap_or(f64::NAN);
        assert!((rate - 10.0).abs() < 0.5, "{t}: {rate} requests/s");
        if t <= t0 + HOUR {
            assert_eq!(ratio, 0.0, "{t}");
        } else if t >= t0 + HOUR + 6 * MIN {
            assert!((ratio - 0.25).abs() < 0.01, "{t}: {ratio}");
        }
    }
}
