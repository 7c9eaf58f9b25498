//! Planning shared queries (`slo_core::shared::plan`) for a fleet of
//! 1,000 and 10,000 SLOs of one shape (ten per service, told apart by
//! `service` and `slo`), against each SLO asking its own queries: the
//! planner's cost per evaluation cycle of the daemon, paid before any
//! query is sent. And splitting one shared answer of 10,000 series back
//! to its readers.
//!
//! `cargo bench -p slo-benches --bench shared -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use slo_core::evaluation;
use slo_core::shared::{self, Limits};
use slo_core::spec::{Labels, Slo, Spec};

fn fleet(n: usize) -> Vec<Spec> {
    (0..n.div_ceil(10))
        .map(|s| {
            let mut yaml = format!("version: slo/v1\nservice: svc-{s:04}\nslos:\n");
            for k in 0..10 {
                yaml.push_str(&format!(
                    "  - name: slo-{k}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: http_requests_total{{service=\"svc-{s:04}\",slo=\"slo-{k}\",code=~\"5..\"}}\n        total: http_requests_total{{service=\"svc-{s:04}\",slo=\"slo-{k}\"}}\n"
                ));
            }
            slo_core::load::load_str(&yaml).unwrap_or_else(|d| panic!("{d:?}"))
        })
        .collect()
}

fn plans(c: &mut Criterion) {
    for n in [1_000, 10_000] {
        let specs = fleet(n);
        let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
        let queries = |slo: &Slo| evaluation::queries(slo, false);
        c.bench_function(&format!("plan shared, {n} SLOs"), |b| {
            b.iter(|| black_box(shared::plan(&slos, queries, Limits::default())))
        });
        c.bench_function(&format!("plan own, {n} SLOs"), |b| {
            b.iter(|| black_box(shared::plan(&slos, queries, Limits::NONE)))
        });
    }
}

fn split(c: &mut Criterion) {
    let specs = fleet(10_000);
    let slos: Vec<&Slo> = specs.iter().flat_map(|s| &s.slos).collect();
    let plan = shared::plan(
        &slos,
        |slo| evaluation::queries(slo, false),
        Limits::default(),
    );
    let query = &plan[0];
    let answer: Vec<(Labels, f64)> = (0..10_000)
        .map(|i| {
            let labels = Labels::from([
                ("service".to_owned(), format!("svc-{:04}", i / 10)),
                ("slo".to_owned(), format!("slo-{}", i % 10)),
            ]);
            (labels, i as f64)
        })
        .collect();
    c.bench_function("split one answer, 1,000 readers", |b| {
        b.iter_batched(
            || answer.clone(),
            |answer| black_box(query.split(answer)),
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, plans, split);
criterion_main!(benches);
