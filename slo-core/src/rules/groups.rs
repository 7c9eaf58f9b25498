//! The rule groups of one SLO: the step increases, the windows' ratios and
//! alerts, the period and the metadata, and the data-absent alert.

use super::*;

/// The expression recorded as the error ratio over `window`: the raw query
/// ([`promql::error_ratio`]) for short windows, the sum of recorded bad
/// steps over the sum of recorded total steps for long ones.
pub(crate) fn window_expr(slo: &Slo, naming: Naming, window: Duration) -> String {
    if is_derived(&slo.sli, window) {
        derived_ratio(slo, naming, window)
    } else {
        promql::error_ratio(&slo.sli, window)
    }
}

/// The error ratio over `window` from recorded series: the recorded slice
/// indicator for a `slices` SLI, the recorded steps for the other kinds that
/// count events. The period's ratio is this too.
fn derived_ratio(slo: &Slo, naming: Naming, window: Duration) -> String {
    if let Sli::Slices(_) = slo.sli {
        return promql::bad_slice_ratio(&slice_range(slo, naming, window));
    }
    format!(
        "sum_over_time({}[{window}]) / sum_over_time({}[{window}])",
        recorded(&error_increase_metric(STEP), slo, naming),
        recorded(&total_increase_metric(STEP), slo, naming)
    )
}

/// `slo:sli_slice:good{...}[window]`.
fn slice_range(slo: &Slo, naming: Naming, window: Duration) -> String {
    format!("{}[{window}]", recorded(SLICE_GOOD, slo, naming))
}

/// The expression for the number of events in `window`: the sum of the
/// recorded steps in it. Exact in Prometheus, where the step group's
/// interval makes steps tile time; `promtool test rules` evaluates every
/// group at the test's `evaluation_interval`, so tests of event counts use a
/// 5m one. `None` for a `raw` SLI.
pub fn events_expr(slo: &Slo, naming: Naming, window: Duration) -> Option<String> {
    if !slo.sli.counts_events() {
        return None;
    }
    if let Sli::Slices(_) = slo.sli {
        return Some(promql::slice_count(&slice_range(slo, naming, window)));
    }
    let step = recorded(&total_increase_metric(STEP), slo, naming);
    if window == STEP {
        return Some(step);
    }
    Some(format!("sum_over_time({step}[{window}])"))
}

/// The step group: bad and total events of each [`STEP`], read once from
/// the raw series. `None` for a `raw` SLI.
pub(crate) fn increase_group(slo: &Slo, naming: Naming) -> Option<RuleGroup> {
    // A slices SLI records its indicator instead ([`slice_group`]).
    if let Sli::Slices(_) = slo.sli {
        return None;
    }
    let total = promql::total_events(&slo.sli, STEP, Counter::Increase)?;
    let bad = promql::bad_events(&slo.sli, STEP, Counter::Increase)?;
    let labels = window_labels(slo, naming, STEP);
    // A selector of bad events matches nothing until the first error, which
    // would leave the SLO without data rather than at 0 errors. Fill in 0
    // for every group that has traffic; `ignoring` the labels the rule adds
    // keeps the two sides apart, so they can never collide. Never for
    // `total - good`: there an absent good series (a threshold that is no
    // bucket) is no data, and a 0 would make a perfect SLO of it.
    let bad = if promql::missing_bad_is_zero(&slo.sli) {
        let ignoring: Vec<&str> = labels.keys().map(String::as_str).collect();
        format!(
            "{bad} or ignoring ({}) 0 * {}",
            ignoring.join(", "),
            recorded(&total_increase_metric(STEP), slo, naming)
        )
    } else {
        bad
    };
    Some(RuleGroup {
        name: group_name(slo, Some("increase")),
        interval: Some(STEP),
        rules: vec![
            Rule::Recording(RecordingRule {
                record: total_increase_metric(STEP),
                expr: total,
                labels: labels.clone(),
            }),
            Rule::Recording(RecordingRule {
                record: error_increase_metric(STEP),
                expr: bad,
                labels,
            }),
        ],
    })
}

/// The indicator group of a `slices` SLI: `slo:sli_slice:good` recorded
/// every slice (the group's interval), so the recorded slices tile time.
/// `None` for the other kinds.
pub(crate) fn slice_group(slo: &Slo, naming: Naming) -> Option<RuleGroup> {
    let Sli::Slices(s) = &slo.sli else {
        return None;
    };
    Some(RuleGroup {
        name: group_name(slo, Some("slice")),
        interval: Some(s.slice),
        rules: vec![Rule::Recording(RecordingRule {
            record: SLICE_GOOD.to_owned(),
            expr: promql::slice_indicator(s),
            labels: window_labels(slo, naming, s.slice),
        })],
    })
}

/// The main group: the error ratio of every window, the event counts
/// `min_events` needs, then the alerts.
pub(crate) fn sli_group(slo: &Slo, naming: Naming) -> RuleGroup {
    let mut rules: Vec<Rule> = recorded_windows(slo)
        .into_iter()
        .map(|w| {
            Rule::Recording(RecordingRule {
                record: error_ratio_metric(w),
                expr: window_expr(slo, naming, w),
                labels: window_labels(slo, naming, w),
            })
        })
        .collect();
    // Next to the window it reads, so it is as fresh as the alerts.
    let shortest = recorded_windows(slo).first().copied().unwrap_or(STEP);
    rules.push(Rule::Recording(RecordingRule {
        record: CURRENT_BURN_RATE.to_owned(),
        expr: format!(
            "{} / {}",
            recorded(&error_ratio_metric(shortest), slo, naming),
            num::format(slo.budget().fraction())
        ),
        labels: window_labels(slo, naming, shortest),
    }));
    for w in min_events_windows(slo) {
        if let Some(expr) = events_expr(slo, naming, w) {
            rules.push(Rule::Recording(RecordingRule {
                record: total_increase_metric(w),
                expr,
                labels: window_labels(slo, naming, w),
            }));
        }
    }
    for severity in Severity::ALL {
        if let Some(alert) = tier_alert(slo, naming, severity) {
            rules.push(Rule::Alerting(alert));
        }
    }
    if let Some(alert) = absent_alert(slo, naming) {
        rules.push(Rule::Alerting(alert));
    }
    RuleGroup {
        name: group_name(slo, None),
        interval: None,
        rules,
    }
}

/// Long windows whose event counts must be recorded for the `min_events`
/// guard (the step itself is recorded already).
fn min_events_windows(slo: &Slo) -> Vec<Duration> {
    if slo.alerting.min_events <= 0.0 || !slo.sli.counts_events() {
        return Vec::new();
    }
    let mut windows: Vec<Duration> = slo
        .policy
        .pairs()
        .iter()
        .map(|p| p.long)
        // The step's count is recorded already, except for slices, which
        // record no steps.
        .filter(|w| *w != STEP || matches!(slo.sli, Sli::Slices(_)))
        .collect();
    windows.sort();
    windows.dedup();
    windows
}

/// The period group: the error ratio over the period, then the metadata.
pub(crate) fn period_group(slo: &Slo, naming: Naming) -> RuleGroup {
    let budget = slo.budget();
    let b = num::format(budget.fraction());
    let labels = series_labels(slo, naming);
    let mut rules = Vec::new();
    let counts = slo.sli.counts_events();
    let period_ratio = naming.period_error_ratio(slo.period);
    // Under Sloth's names a long window as long as the period is the same
    // series as the period's ratio: the main group records it already (from
    // the same steps, unless it is a raw window), and recording it twice
    // would make two rules write one series.
    let recorded_already = recorded_windows(slo)
        .into_iter()
        .any(|w| error_ratio_metric(w) == period_ratio);
    if counts && !recorded_already {
        let p = slo.period;
        rules.push(Rule::Recording(RecordingRule {
            record: period_ratio.clone(),
            expr: derived_ratio(slo, naming, p),
            labels: window_labels(slo, naming, p),
        }));
    }
    let constant = |record: &str, value: f64| {
        Rule::Recording(RecordingRule {
            record: record.to_owned(),
            expr: format!("vector({})", num::format(value)),
            labels: labels.clone(),
        })
    };
    rules.push(constant(OBJECTIVE, slo.objective.ratio()));
    rules.push(constant(ERROR_BUDGET, budget.fraction()));
    let (period_metric, period_value) = naming.period_constant(slo.period);
    rules.push(constant(period_metric, period_value));
    if counts {
        let period_labels = window_labels(slo, naming, slo.period);
        rules.push(Rule::Recording(RecordingRule {
            record: PERIOD_BURN_RATE.to_owned(),
            expr: format!("{} / {b}", recorded(&period_ratio, slo, naming)),
            labels: period_labels.clone(),
        }));
        rules.push(Rule::Recording(RecordingRule {
            record: PERIOD_BUDGET_REMAINING.to_owned(),
            expr: format!("1 - {} / {b}", recorded(&period_ratio, slo, naming)),
            labels: period_labels,
        }));
    }
    let (info_metric, info_labels) = naming.info(slo);
    let mut info = labels.clone();
    info.extend(info_labels);
    rules.push(Rule::Recording(RecordingRule {
        record: info_metric.to_owned(),
        expr: "vector(1)".to_owned(),
        labels: info,
    }));
    RuleGroup {
        name: group_name(slo, Some("period")),
        interval: Some(PERIOD_INTERVAL),
        rules,
    }
}

/// Every group of one SLO, in evaluation-friendly order.
pub(crate) fn slo_groups(slo: &Slo, naming: Naming) -> Vec<RuleGroup> {
    let mut groups: Vec<RuleGroup> = slice_group(slo, naming)
        .into_iter()
        .chain(increase_group(slo, naming))
        .collect();
    groups.push(sli_group(slo, naming));
    groups.push(period_group(slo, naming));
    groups
}

/// One pair's condition: both windows above `factor * budget` (and enough
/// events in the long window when `min_events` is set). Its value is the
/// long window's burn rate; `slo_window` is aggregated away.
pub(crate) fn pair_expr(slo: &Slo, naming: Naming, pair: &WindowPair) -> String {
    let budget = slo.budget();
    let threshold = num::format(pair.error_ratio_threshold(&budget));
    let window = naming.window_label();
    let mut expr = format!(
        "max without ({window}) ({} > {threshold}) / {}\nand ignoring ({window})\n{} > {threshold}",
        recorded(&error_ratio_metric(pair.long), slo, naming),
        num::format(budget.fraction()),
        recorded(&error_ratio_metric(pair.short), slo, naming),
    );
    if slo.alerting.min_events > 0.0 && slo.sli.counts_events() {
        let _ = std::fmt::Write::write_fmt(
            &mut expr,
            format_args!(
                "\nand ignoring ({window})\n{} >= {}",
                recorded(&total_increase_metric(pair.long), slo, naming),
                num::format(slo.alerting.min_events)
            ),
        );
    }
    expr
}

/// The alert of one tier: its pairs ORed. `None` when the tier is disabled
/// or has no pairs.
pub fn tier_alert(slo: &Slo, naming: Naming, severity: Severity) -> Option<AlertingRule> {
    let tier = slo.alerting.tier(severity);
    let pairs: Vec<&WindowPair> = slo.policy.tier(severity).collect();
    if tier.disabled || pairs.is_empty() {
        return None;
    }
    let expr = pairs
        .iter()
        .map(|p| {
            let inner = pair_expr(slo, naming, p).replace('\n', "\n  ");
            format!("(\n  {inner}\n)")
        })
        .collect::<Vec<_>>()
        .join("\nor\n");
    let mut labels = literal_labels(series_labels(slo, naming));
    labels.extend(alert_labels(slo, severity));
    labels.insert(naming.tier_label().to_owned(), severity.to_string());
    let mut annotations = default_annotations(slo, severity, &pairs);
    annotations.extend(slo.alerting.annotations.clone());
    annotations.extend(tier.annotations.clone());
    Some(AlertingRule {
        alert: slo.alerting.name.clone(),
        expr,
        for_: tier.for_,
        labels,
        annotations,
    })
}

/// Prometheus expands alert labels as Go templates, but the spec's labels
/// are data, also recorded verbatim on series: write any `{{` so the
/// template prints it literally and the alert's label equals the series'.
fn literal_labels(labels: Labels) -> Labels {
    labels
        .into_iter()
        .map(|(k, v)| (k, v.replace("{{", "{{ \"{{\" }}")))
        .collect()
}

/// `alerting.labels` then the tier's own (which hold `severity`): alert
/// labels passed through as written, templates included.
fn alert_labels(slo: &Slo, severity: Severity) -> Labels {
    let mut labels = slo.alerting.labels.clone();
    labels.extend(slo.alerting.tier(severity).labels.clone());
    labels
}

/// ` (route={{ $labels.route }})` for grouped SLOs, empty otherwise.
fn group_text(slo: &Slo) -> String {
    let g = slo.group_by();
    if g.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = g
        .iter()
        .map(|l| format!("{l}={{{{ $labels.{l} }}}}"))
        .collect();
    format!(" ({})", parts.join(", "))
}

fn percent(ratio: f64) -> String {
    format!("{}%", num::format(ratio * 100.0))
}

fn default_annotations(slo: &Slo, severity: Severity, pairs: &[&WindowPair]) -> Labels {
    let budget = slo.budget();
    let who = format!("{}/{}{}", slo.service, slo.name, group_text(slo));
    let summary = match severity {
        Severity::Page => format!("{who} is burning its error budget fast"),
        Severity::Ticket => {
            format!("{who} is burning its error budget too fast to last the period")
        }
    };
    let conditions: Vec<String> = pairs
        .iter()
        .map(|p| {
            format!(
                "above {}x over both {} and {} ({} of the budget spent by then)",
                num::format(p.factor),
                p.long,
                p.short,
                percent(p.budget_consumed(&budget))
            )
        })
        .collect();
    let unit = if let Sli::Slices(s) = &slo.sli {
        format!("{} slices", s.slice)
    } else {
        "events".to_owned()
    };
    let guard = if slo.alerting.min_events > 0.0 {
        format!(
            " A window pair needs at least {} {unit} in its long window.",
            num::format(slo.alerting.min_events)
        )
    } else {
        String::new()
    };
    let description = format!(
        "The error budget of {who} ({} objective over {}, a budget of {} of {unit}) is burning at {{{{ printf \"%.1f\" $value }}}}x the rate that would spend it exactly over the period. This {severity} alert fires {}.{guard}",
        percent(slo.objective.ratio()),
        slo.period,
        percent(budget.fraction()),
        conditions.join(", or "),
    );
    let mut a = Labels::new();
    a.insert("summary".to_owned(), summary);
    a.insert("description".to_owned(), description);
    a
}

/// The data-absent alert, when `absent_for` is set: no total events (or, for
/// a raw SLI, no error ratio) for that long, or no good events where bad
/// events are `total - good` (a `good` counter, the latency bucket: a
/// threshold that is no bucket leaves the SLO without data forever). Off by
/// default, since silence is not an error-budget burn.
pub fn absent_alert(slo: &Slo, naming: Naming) -> Option<AlertingRule> {
    let d = slo.alerting.absent_for?;
    let absent = |series: &str| format!("absent_over_time({series}[{d}])");
    let expr = match &slo.sli {
        Sli::Ratio(r) => match &r.counted {
            Counted::Good(good) => missing_good(r.total.trim(), good.trim(), &r.group_by, d),
            Counted::Errors(_) => absent(r.total.trim()),
        },
        Sli::Latency(l) => missing_good(
            &promql::latency_total_selector(l),
            &promql::latency_good_selector(l),
            &l.group_by,
            d,
        ),
        Sli::Slices(_) => absent(&recorded(SLICE_GOOD, slo, naming)),
        Sli::Events(_) | Sli::Raw(_) => {
            let shortest = recorded_windows(slo).first().copied().unwrap_or(STEP);
            absent(&recorded(&error_ratio_metric(shortest), slo, naming))
        }
    };
    let mut labels = literal_labels(series_labels(slo, naming));
    labels.extend(alert_labels(slo, Severity::Ticket));
    let mut annotations = Labels::new();
    annotations.insert(
        "summary".to_owned(),
        format!("{}/{} has had no SLI data for {d}", slo.service, slo.name),
    );
    annotations.insert(
        "description".to_owned(),
        format!(
            "The SLI of {}/{} returned no data for {d}: its burn-rate alerts cannot fire until data comes back. Check the scrape targets and the SLI's series.",
            slo.service, slo.name
        ),
    );
    annotations.extend(slo.alerting.annotations.clone());
    Some(AlertingRule {
        alert: format!("{}{ABSENT_SUFFIX}", slo.alerting.name),
        expr,
        for_: None,
        labels,
        annotations,
    })
}

/// No data where bad events are `total - good`, checked in turn with
/// `or on ()` so one cause gives one alert: the total absent for `d`, else
/// the good series (the threshold's bucket) absent, else, for a grouped
/// SLO, each group with a total but no good series (one histogram without
/// the bucket among several).
fn missing_good(total: &str, good: &str, group_by: &[String], d: Duration) -> String {
    let mut expr = format!("absent_over_time({total}[{d}]) or on () absent_over_time({good}[{d}])");
    if !group_by.is_empty() {
        let g = group_by.join(", ");
        let _ = std::fmt::Write::write_fmt(
            &mut expr,
            format_args!(
                " or on () (count by ({g}) (count_over_time({total}[{d}])) unless count by ({g}) (count_over_time({good}[{d}])))"
            ),
        );
    }
    expr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Spec {
        crate::load::load_str(yaml).unwrap_or_else(|d| panic!("{:?}", d))
    }

    const BASIC: &str = r#"
version: slo/v1
service: api
labels: {team: "a\"b"}
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{code=~"5.."}
        total: http_requests_total
"#;

    #[test]
    fn layout_of_a_basic_slo() {
        let s = spec(BASIC);
        let groups = slo_groups(&s.slos[0], Naming::Native);
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "slo:api:avail:increase",
                "slo:api:avail",
                "slo:api:avail:period"
            ]
        );
        assert_eq!(groups[0].interval, Some(STEP));
        let records: Vec<String> = groups[1]
            .rules
            .iter()
            .filter_map(|r| match r {
                Rule::Recording(r) => Some(r.record.clone()),
                Rule::Alerting(_) => None,
            })
            .collect();
        assert_eq!(
            records,
            [
                "slo:sli_error:ratio_rate5m",
                "slo:sli_error:ratio_rate30m",
                "slo:sli_error:ratio_rate1h",
                "slo:sli_error:ratio_rate2h",
                "slo:sli_error:ratio_rate6h",
                "slo:sli_error:ratio_rate1d",
                "slo:sli_error:ratio_rate3d",
                "slo:current_burn_rate:ratio"
            ]
        );
        assert_eq!(groups[2].interval, Some(PERIOD_INTERVAL));
        // Short windows on raw series, long ones from the steps.
        assert!(
            window_expr(&s.slos[0], Naming::Native, Duration::from_hours(1))
                .contains("rate(http_requests_total[1h])")
        );
        assert!(
            window_expr(&s.slos[0], Naming::Native, Duration::from_hours(6))
                .starts_with("sum_over_time(slo:sli_error:increase5m{")
        );
    }

    #[test]
    fn slices_record_the_indicator_and_derive_every_window() {
        let s = spec(
            r#"
version: slo/v1
service: web
slos:
  - name: floor
    objective: 99
    sli:
      slices: {query: 'sum(rate(x[1m])) * 60', op: '>=', threshold: 1000, slice: 1m}
    alerting:
      min_events: 30
      absent_for: 10m
      windows:
        - {severity: page, long: 5m, short: 1m, factor: 14.4}
        - {severity: ticket, long: 1d, short: 2h, factor: 3}
"#,
        );
        let slo = &s.slos[0];
        let groups = slo_groups(slo, Naming::Native);
        let names: Vec<(&str, Option<Duration>)> = groups
            .iter()
            .map(|g| (g.name.as_str(), g.interval))
            .collect();
        assert_eq!(
            names,
            [
                ("slo:web:floor:slice", Some(Duration::from_mins(1))),
                ("slo:web:floor", None),
                ("slo:web:floor:period", Some(PERIOD_INTERVAL)),
            ]
        );
        assert_eq!(
            groups[0].rules[0].expr(),
            "((sum(rate(x[1m])) * 60) >= -Inf) >= bool 1000"
        );
        let good = r#"slo:sli_slice:good{slo_service="web",slo="floor"}"#;
        // Short windows too are read from the indicator, never the raw query.
        assert_eq!(
            window_expr(slo, Naming::Native, Duration::from_mins(1)),
            format!("1 - avg_over_time({good}[1m])")
        );
        let exprs: Vec<&str> = groups
            .iter()
            .flat_map(|g| &g.rules)
            .map(Rule::expr)
            .collect();
        assert!(exprs.contains(&format!("1 - avg_over_time({good}[30d])").as_str()));
        // min_events counts slices with data, the 5m long window included
        // (there is no recorded step to reuse).
        assert!(exprs.contains(&format!("count_over_time({good}[5m])").as_str()));
        assert!(exprs.contains(&format!("count_over_time({good}[1d])").as_str()));
        assert!(exprs.contains(&format!("absent_over_time({good}[10m])").as_str()));
        // No steps of bad events: a slices SLI has no step group.
        assert!(!exprs.iter().any(|e| e.contains(ERROR_INCREASE_PREFIX)));
    }

    /// Regression: `total - bucket or 0 * total` recorded zero errors for a
    /// threshold that is no bucket, a perfect SLO forever. Only an errors
    /// counter falls back to 0; the absent alert watches the bucket too.
    #[test]
    fn a_missing_good_series_is_no_data_not_zero_errors() {
        let s = spec(
            r#"
version: slo/v1
service: api
slos:
  - name: fast
    objective: 99
    sli:
      latency: {histogram: rpc_seconds, selector: '{job="api"}', threshold: 0.3}
    alerting: {absent_for: 10m}
  - name: good
    objective: 99
    sli:
      ratio: {good: 'req_total{code="200"}', total: req_total}
    alerting: {absent_for: 10m}
  - name: errors
    objective: 99
    sli:
      ratio: {errors: 'req_total{code="500"}', total: req_total}
    alerting: {absent_for: 10m}
"#,
        );
        let step_bad = |slo: &Slo| {
            increase_group(slo, Naming::Native)
                .map(|g| g.rules[1].expr().to_owned())
                .unwrap_or_default()
        };
        let absent = |slo: &Slo| {
            absent_alert(slo, Naming::Native)
                .map(|a| a.expr)
                .unwrap_or_default()
        };
        for slo in &s.slos[..2] {
            assert!(!step_bad(slo).contains(" or "), "{}", step_bad(slo));
        }
        assert!(step_bad(&s.slos[2]).contains(" or ignoring ("));
        let bucket = promql::latency_good_selector(match &s.slos[0].sli {
            Sli::Latency(l) => l,
            _ => panic!("not latency"),
        });
        assert_eq!(
            absent(&s.slos[0]),
            format!(
                "absent_over_time(rpc_seconds_count{{job=\"api\"}}[10m]) or on () absent_over_time({bucket}[10m])"
            )
        );
        assert_eq!(
            absent(&s.slos[1]),
            "absent_over_time(req_total[10m]) or on () absent_over_time(req_total{code=\"200\"}[10m])"
        );
        assert_eq!(absent(&s.slos[2]), "absent_over_time(req_total[10m])");
    }

    #[test]
    fn an_empty_file_is_an_empty_list() {
        let yaml = RuleFile::default().to_yaml();
        assert!(yaml.ends_with("\ngroups: []\n"), "{yaml}");
    }

    #[test]
    fn page_alert_ors_pairs_and_strips_the_window() {
        let s = spec(BASIC);
        let Some(alert) = tier_alert(&s.slos[0], Naming::Native, Severity::Page) else {
            panic!("no page alert");
        };
        assert_eq!(alert.expr.matches("\nor\n").count(), 1);
        assert!(alert.expr.contains("max without (slo_window) (slo:sli_error:ratio_rate1h{slo_service=\"api\",slo=\"avail\"} > 0.0144) / 0.001"));
        assert_eq!(
            alert.labels.get("slo_tier").map(String::as_str),
            Some("page")
        );
        assert_eq!(
            alert.labels.get("severity").map(String::as_str),
            Some("page")
        );
        assert_eq!(alert.labels.get("team").map(String::as_str), Some("a\"b"));
        assert!(
            alert.annotations["description"]
                .contains("above 14.4x over both 1h and 5m (2% of the budget spent by then)")
        );
    }

    fn records(groups: &[RuleGroup]) -> Vec<(&str, &Labels)> {
        groups
            .iter()
            .flat_map(|g| &g.rules)
            .filter_map(|r| match r {
                Rule::Recording(r) => Some((r.record.as_str(), &r.labels)),
                Rule::Alerting(_) => None,
            })
            .collect()
    }

    #[test]
    fn namings_parse_and_print() {
        for n in Naming::ALL {
            assert_eq!(n.to_string().parse::<Naming>(), Ok(n));
        }
        assert!("pyrra".parse::<Naming>().is_err());
    }

    #[test]
    fn sloth_naming_changes_names_only() {
        let s = spec(BASIC);
        let slo = &s.slos[0];
        let native = slo_groups(slo, Naming::Native);
        let sloth = slo_groups(slo, Naming::Sloth);
        // The same rules in the same groups, evaluated the same way.
        assert_eq!(native.len(), sloth.len());
        for (n, t) in native.iter().zip(&sloth) {
            assert_eq!((&n.name, n.interval), (&t.name, t.interval));
            assert_eq!(n.rules.len(), t.rules.len());
        }
        let names: Vec<&str> = records(&sloth).into_iter().map(|(r, _)| r).collect();
        for want in [
            "slo:sli_error:ratio_rate5m",
            "slo:sli_error:ratio_rate3d",
            "slo:sli_error:ratio_rate30d",
            "slo:time_period:days",
            "slo:period_error_budget_remaining:ratio",
            "sloth_slo_info",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        for (record, labels) in records(&sloth) {
            assert_eq!(
                labels.get("sloth_id").map(String::as_str),
                Some("api-avail")
            );
            assert_eq!(labels.get("sloth_service").map(String::as_str), Some("api"));
            assert_eq!(labels.get("sloth_slo").map(String::as_str), Some("avail"));
            assert!(
                !labels.contains_key("slo_service") && !labels.contains_key("slo_window"),
                "{record}: {labels:?}"
            );
        }
        let Some(alert) = tier_alert(slo, Naming::Sloth, Severity::Ticket) else {
            panic!("no ticket alert");
        };
        assert_eq!(
            alert.labels.get("sloth_severity").map(String::as_str),
            Some("ticket")
        );
        assert!(alert.expr.contains(
            "max without (sloth_window) (slo:sli_error:ratio_rate1d{sloth_id=\"api-avail\",sloth_service=\"api\",sloth_slo=\"avail\"} > 0.003)"
        ));
        // The period: summed steps, under Sloth's name and in days.
        let period = sloth[2]
            .rules
            .iter()
            .find_map(|r| match r {
                Rule::Recording(r) if r.record == "slo:sli_error:ratio_rate30d" => {
                    Some(r.expr.clone())
                }
                _ => None,
            })
            .unwrap_or_default();
        assert!(period.starts_with("sum_over_time(slo:sli_error:increase5m{sloth_id="));
        assert!(sloth[2].rules.iter().any(|r| r.expr() == "vector(30)"));
    }

    #[test]
    fn a_window_as_long_as_the_period_is_recorded_once_under_sloth_names() {
        let s = spec(
            r#"
version: slo/v1
service: api
slos:
  - name: avail
    objective: 99
    period: 7d
    sli:
      ratio:
        errors: x{code="500"}
        total: x
    alerting:
      windows:
        - {severity: ticket, long: 7d, short: 12h, factor: 1}
"#,
        );
        for naming in Naming::ALL {
            let groups = slo_groups(&s.slos[0], naming);
            let mut names: Vec<&str> = records(&groups).into_iter().map(|(r, _)| r).collect();
            let all = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), all, "{naming}: {names:?}");
        }
        assert_eq!(
            Naming::Sloth.period_error_ratio(Duration::from_hours(7 * 24)),
            "slo:sli_error:ratio_rate1w"
        );
    }
}
