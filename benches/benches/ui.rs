//! Page views of the web UI for 1,000 SLOs, from the evaluation cycle in
//! memory: the list page (`/`, every instance sorted by budget left), the
//! JSON API (`/api/v1/slos`) and one detail page's header (`/slos/...`
//! without its graphs is not a route, so the detail bench includes the
//! replay of one day behind its graphs, cached after the first view).
//! Server time per request: routing, rendering and the body, no network.
//!
//! `cargo bench -p slo-benches --bench ui -- --warm-up-time 1 --measurement-time 5`
//!
//! The data: one day at 60 s of two counters per SLO (100 services of 10
//! SLOs, 2,000 series), evaluated once at its end, as `serve --data` does.

use std::hint::black_box;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use slo_core::dataset::{Dataset, SeriesKey};
use slo_core::series::Series;
use slo_eval::specs::SpecFile;
use tower::ServiceExt;

const SERVICES: usize = 100;
const PER_SERVICE: usize = 10;
const STEP_MS: i64 = 60_000;
const START: i64 = 1_790_000_000_000;
const END: i64 = START + 86_400_000;

fn spec_files() -> Vec<SpecFile> {
    (0..SERVICES)
        .map(|s| {
            let mut yaml = format!("version: slo/v1\nservice: svc-{s:03}\nslos:\n");
            for k in 0..PER_SERVICE {
                yaml.push_str(&format!(
                    "  - name: slo-{k}\n    objective: 99.9\n    sli:\n      ratio:\n        errors: http_requests_total{{service=\"svc-{s:03}\",slo=\"slo-{k}\",code=\"500\"}}\n        total: http_requests_total{{service=\"svc-{s:03}\",slo=\"slo-{k}\"}}\n"
                ));
            }
            let (spec, diagnostics, places) = slo_core::load::check_placed(&yaml);
            assert!(spec.is_some(), "{diagnostics:?}");
            SpecFile {
                path: PathBuf::from(format!("svc-{s:03}.yaml")),
                source: yaml,
                spec,
                diagnostics,
                places,
            }
        })
        .collect()
}

/// Per SLO, 200 and 500 counters; every 13th SLO burns 20% errors in the
/// last hour, the rest 0.05%.
fn data() -> Dataset {
    let mut data = Dataset::new();
    for i in 0..SERVICES * PER_SERVICE {
        let (svc, slo) = (
            format!("svc-{:03}", i / PER_SERVICE),
            format!("slo-{}", i % PER_SERVICE),
        );
        let (mut ok, mut bad) = (Series::new(), Series::new());
        let (mut n_ok, mut n_bad) = (0.0, 0.0);
        let mut t = START;
        while t <= END {
            let _ = ok.push(t, n_ok);
            let _ = bad.push(t, n_bad);
            let e = if i % 13 == 0 && t >= END - 3_600_000 {
                0.2
            } else {
                0.0005
            };
            let n = (5 + i % 7) as f64 * 60.0;
            n_ok += n * (1.0 - e);
            n_bad += n * e;
            t += STEP_MS;
        }
        let labels = |code: &'static str| {
            SeriesKey::new(
                "http_requests_total",
                [
                    ("service", svc.as_str()),
                    ("slo", slo.as_str()),
                    ("code", code),
                ],
            )
        };
        data.insert(labels("200"), ok);
        data.insert(labels("500"), bad);
    }
    data
}

async fn view(router: &Router, path: &str) -> usize {
    let response = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_or(0, |b| b.len())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let router = rt.block_on(slo_eval::serve::router_over_data(spec_files(), data(), END));
    let mut group = c.benchmark_group("ui_1000_slos");
    for (name, path) in [
        ("list_page", "/"),
        ("api_slos", "/api/v1/slos"),
        ("detail_page_cached", "/slos/svc-013/slo-0"),
    ] {
        let bytes = rt.block_on(view(&router, path));
        assert!(bytes > 1000, "{path}: {bytes} bytes");
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(view(black_box(&router), path)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
