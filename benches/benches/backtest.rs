//! Backtest throughput: 30 days of one SLO's counters at 15 s resolution
//! (2 series, 345,602 samples) replayed every minute with the Workbook
//! policy, against the floor of one pass summing the same samples in memory.
//!
//! `cargo bench -p slo-benches --bench backtest -- --warm-up-time 1 --measurement-time 5`
//!
//! `backtest` scores against a given (empty) incident list; the
//! `detecting_incidents` variant also finds significant burns in the data,
//! which reads a 5-minute window at every step.
//!
//! The 1,000-SLO figure replays 1,000 SLOs, each over its own pair of
//! series, cycling through 16 distinct 30-day datasets (16 x 8 MB; a
//! thousand would take 8 GB), so every replay reads memory that is not in
//! cache, as a real run over many SLOs would.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use slo_core::backtest::{self, Incidents, Options};
use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::series::Series;
use slo_core::spec::Slo;

const SCRAPE_MS: i64 = 15_000;
const DAY_MS: i64 = 86_400_000;
const START: i64 = 1_790_000_000_000;
const END: i64 = START + 30 * DAY_MS;

/// 30 days at 15 s of `req_total{code="200"}` and `req_total{code="500"}`:
/// ~10 req/s with noise, 0.02% errors, two outages and a day of slow burn
/// placed by `seed`.
fn dataset(seed: u64) -> Dataset {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut uniform = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let outage1 = START + (3 + (seed % 7) as i64) * DAY_MS;
    let outage2 = START + (15 + (seed % 5) as i64) * DAY_MS;
    let slow = START + (22 + (seed % 3) as i64) * DAY_MS;
    let n = (30 * DAY_MS / SCRAPE_MS + 1) as usize;
    let (mut ok, mut bad) = (Series::with_capacity(n), Series::with_capacity(n));
    let (mut n_ok, mut n_bad) = (0.0f64, 0.0f64);
    for i in 0..n {
        let t = START + i as i64 * SCRAPE_MS;
        let ratio = if (outage1..outage1 + 20 * 60_000).contains(&t)
            || (outage2..outage2 + 45 * 60_000).contains(&t)
        {
            0.3
        } else if (slow..slow + DAY_MS).contains(&t) {
            0.004
        } else {
            0.0002
        };
        let requests = (150.0 + 30.0 * (uniform() - 0.5)).round();
        let errors = (requests * ratio + uniform() - 0.5).round().max(0.0);
        n_ok += requests - errors;
        n_bad += errors;
        let _ = ok.push(t, n_ok);
        let _ = bad.push(t, n_bad);
    }
    let mut data = Dataset::new();
    data.insert(SeriesKey::new("req_total", [("code", "200")]), ok);
    data.insert(SeriesKey::new("req_total", [("code", "500")]), bad);
    data
}

fn slo() -> Slo {
    let yaml = "version: slo/v1\nservice: bench\nslos:\n  - name: availability\n    objective: 99.9\n    sli:\n      ratio:\n        errors: req_total{code=\"500\"}\n        total: req_total\n";
    match slo_core::load::load_str(yaml) {
        Ok(spec) => spec.slos[0].clone(),
        Err(d) => panic!("{d:?}"),
    }
}

fn one_pass(data: &Dataset) -> f64 {
    let mut sum = 0.0;
    for (_, series) in data.iter() {
        for v in series.values() {
            sum += v;
        }
    }
    sum
}

fn bench(c: &mut Criterion) {
    let slo = slo();
    let data = dataset(1);
    let samples = data.samples() as u64;
    assert_eq!(samples, 345_602);
    let mut options = Options::new(START, END);
    options.incidents = Incidents::Given(Vec::new());
    let detecting = Options::new(START, END);

    let mut group = c.benchmark_group("30d_15s_one_slo");
    group.throughput(Throughput::Elements(samples));
    group.bench_function("baseline_one_pass_sum", |b| {
        b.iter(|| one_pass(black_box(&data)))
    });
    group.bench_function("backtest", |b| {
        b.iter(|| backtest::backtest(black_box(&slo), black_box(&data), &options))
    });
    group.bench_function("backtest_detecting_incidents", |b| {
        b.iter(|| backtest::backtest(black_box(&slo), black_box(&data), &detecting))
    });
    group.finish();

    let datasets: Vec<Dataset> = (0..16).map(dataset).collect();
    let mut group = c.benchmark_group("30d_15s_1000_slos");
    group.sample_size(10);
    group.throughput(Throughput::Elements(samples * 1000));
    group.bench_function("baseline_one_pass_sum", |b| {
        b.iter(|| {
            (0..1000)
                .map(|i| one_pass(&datasets[i % datasets.len()]))
                .sum::<f64>()
        })
    });
    for (name, options) in [
        ("backtest", &options),
        ("backtest_detecting_incidents", &detecting),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                (0..1000)
                    .filter_map(|i| {
                        backtest::backtest(&slo, &datasets[i % datasets.len()], options).ok()
                    })
                    .map(|r| r.instances.len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
