//! Policy decisions per second, and spec checks per second.
//!
//! - `decide/workbook`: `alert::decide` for the default Workbook policy (4
//!   pairs, 7 windows) over a batch of precomputed measurements, some
//!   firing, some quiet, some without traffic; throughput is decisions
//!   (whole-policy evaluations).
//! - `decide_pair/page_1h_5m`: one pair, for the per-pair cost.
//! - `load/check`: `load::check` on a three-SLO example spec.
//!
//! Run: `cargo bench -p slo-benches --bench decisions -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use slo_core::alert::{self, Measurement};
use slo_core::budget::{ErrorBudget, Objective};
use slo_core::duration::Duration;
use slo_core::load;
use slo_core::policy::Policy;

/// Measurement sets per batch.
const BATCH: usize = 1024;

/// One measurement per window of the policy, in `Policy::windows()` order.
type Measured = Vec<(Duration, Option<Measurement>)>;

/// A deterministic spread of situations: quiet, slow burns, fast burns,
/// recovering incidents, no traffic, low traffic.
fn batch(policy: &Policy) -> Vec<Measured> {
    let windows: Vec<Duration> = policy.windows().into_iter().collect();
    // A small linear congruential generator: reproducible without a
    // dependency.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..BATCH)
        .map(|i| {
            let base = match i % 8 {
                0..=2 => 0.0005 * next(),       // healthy
                3 | 4 => 0.002 + 0.01 * next(), // slow burn: tickets
                5 => 0.02 + 0.3 * next(),       // fast burn: pages
                6 => f64::NAN,                  // no traffic
                _ => 0.05 * next(),             // anything
            };
            windows
                .iter()
                .enumerate()
                .map(|(w, window)| {
                    // Shorter windows react more: scale the ratio a little
                    // per window so pairs disagree now and then.
                    let ratio = base * (0.5 + next() + 0.1 * w as f64);
                    let events = (window.as_secs_f64() * 20.0 * next()).floor();
                    (
                        *window,
                        Some(Measurement {
                            error_ratio: ratio,
                            events: Some(events),
                        }),
                    )
                })
                .collect()
        })
        .collect()
}

fn lookup(measured: &Measured, window: Duration) -> Option<Measurement> {
    measured
        .iter()
        .find(|(w, _)| *w == window)
        .and_then(|(_, m)| *m)
}

fn budget() -> ErrorBudget {
    let objective = Objective::from_percent(99.9).expect("99.9 is a valid objective");
    ErrorBudget::new(objective, Duration::from_days(30))
}

fn decisions(c: &mut Criterion) {
    let budget = budget();
    let policy = Policy::workbook(budget.period);
    assert_eq!(policy.pairs().len(), 4);
    assert_eq!(policy.windows().len(), 7);
    let measured = batch(&policy);

    // The batch exercises every outcome, or the figures mean little.
    let firing = measured
        .iter()
        .map(|m| alert::decide(&policy, &budget, 100.0, |w| lookup(m, w)))
        .filter(|d| d.pairs.iter().any(|p| p.firing))
        .count();
    assert!(
        firing > BATCH / 8 && firing < BATCH * 7 / 8,
        "{firing} of {BATCH} fire"
    );

    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("workbook", |b| {
        b.iter(|| {
            let mut firing = 0usize;
            for m in &measured {
                let d = alert::decide(
                    black_box(&policy),
                    black_box(&budget),
                    black_box(100.0),
                    |w| lookup(m, w),
                );
                firing += d.pairs.iter().filter(|p| p.firing).count();
            }
            black_box(firing)
        });
    });
    group.finish();

    let page = policy.pairs()[0];
    let mut group = c.benchmark_group("decide_pair");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("page_1h_5m", |b| {
        b.iter(|| {
            let mut firing = 0usize;
            for m in &measured {
                let d = alert::decide_pair(
                    black_box(&page),
                    black_box(&budget),
                    black_box(100.0),
                    lookup(m, page.long),
                    lookup(m, page.short),
                );
                firing += usize::from(d.firing);
            }
            black_box(firing)
        });
    });
    group.finish();
}

/// A realistic spec: a ratio SLI with the default policy, a latency SLI with
/// a custom policy and tier settings, and a 28-day SLO on a preset.
const EXAMPLE_SPEC: &str = r#"
version: slo/v1
service: checkout
labels:
  team: payments
slos:
  - name: requests-availability
    description: Checkout requests succeed.
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="checkout",code=~"5.."}
        total: http_requests_total{job="checkout"}
        group_by: [route]
    alerting:
      name: CheckoutAvailabilityBurn
      min_events: 100
      page:
        labels:
          team: payments-oncall
        annotations:
          runbook: https://runbooks.example/checkout/availability
      ticket:
        for: 15m

  - name: requests-latency
    objective: 99
    period: 30d
    sli:
      latency:
        histogram: http_request_duration_seconds
        selector: '{job="checkout",route!="/health"}'
        threshold: 0.3
    alerting:
      windows:
        - {severity: page, long: 1h, short: 5m, budget_percent: 2}
        - {severity: page, long: 6h, short: 30m, budget_percent: 5}
        - {severity: ticket, long: 3d, short: 6h, factor: 1}

  - name: payments-gateway
    objective: 99.5
    period: 28d
    sli:
      events:
        error_query: sum(rate(gateway_errors_total[{{.window}}]))
        total_query: sum(rate(gateway_requests_total[{{.window}}]))
    alerting:
      windows: google-28d
      absent_for: 10m
"#;

fn loading(c: &mut Criterion) {
    let (spec, diagnostics) = load::check(EXAMPLE_SPEC);
    // The 28-day preset's 3d/6h pair has factor 0.93 < 1: one warning.
    assert!(
        diagnostics.len() == 1 && !diagnostics[0].is_error(),
        "{diagnostics:?}"
    );
    assert_eq!(spec.map(|s| s.slos.len()), Some(3));

    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements(1));
    group.bench_function("check", |b| {
        b.iter(|| load::check(black_box(EXAMPLE_SPEC)));
    });
    group.finish();
}

criterion_group!(benches, decisions, loading);
criterion_main!(benches);
