//! The UI in a real headless browser (Debian's `chromium`): `slo-eval
//! serve --data` on the example shop, then
//!
//! - the list page's DOM shows every SLO of the shop with the budget
//!   `/api/v1/slos` gives (the API is checked against `eval --json` in
//!   `tests/serve.rs`);
//! - the detail page's DOM holds an SVG per long window with a drawn data
//!   path (not an empty frame), the factor labelled and the outage shaded;
//! - screenshots of both pages at 1280x900 decode to non-blank PNGs (kept
//!   under `target/tmp/ui-screenshots/` as CI artefacts);
//! - the policy lab draws an alert timeline per policy, an incident marked
//!   on its graph by two links shaded, and the offline report of
//!   `backtest --html` opens from a file with its graphs.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Served;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace root"))
        .to_path_buf()
}

/// Runs headless chromium with `args` on `url` (bounded: killed after two
/// minutes) and returns its standard output.
fn chromium(profile: &Path, args: &[&str], url: &str) -> String {
    let bin = support::binary("chromium");
    let out_path = profile.join("stdout.txt");
    let out = std::fs::File::create(&out_path).unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .args(args)
        .arg(url)
        .stdout(Stdio::from(out))
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} {url} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium {args:?} {url}: {status}");
    std::fs::read_to_string(&out_path).unwrap_or_else(|e| panic!("{e}"))
}

/// The value of attribute `name` in the tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Every opening tag `<name ...>` of `dom`.
fn tags<'a>(dom: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    dom.match_indices(&open)
        .filter_map(|(i, _)| dom[i..].find('>').map(|end| &dom[i..i + end + 1]))
        .collect()
}

/// Mean and variance of the luminance of a PNG, and its size.
fn png_stats(path: &Path) -> (u32, u32, f64, f64) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
    let lum: Vec<f64> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match p {
            [r, g, b, ..] => 0.299 * f64::from(*r) + 0.587 * f64::from(*g) + 0.114 * f64::from(*b),
            [v, ..] => f64::from(*v),
            [] => 0.0,
        })
        .collect();
    let n = lum.len().max(1) as f64;
    let mean = lum.iter().sum::<f64>() / n;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n;
    (info.width, info.height, mean, var)
}

#[test]
fn the_browser_shows_every_shop_slo_with_its_budget_and_draws_the_graphs() {
    let served = Served::start(&[
        "--data",
        &repo_root()
            .join("examples/data/shop.om")
            .display()
            .to_string(),
        &repo_root().join("examples/shop").display().to_string(),
    ]);
    let api = served.json("/api/v1/slos");
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));

    // The list: one row per instance, the API's budget on each.
    let dom = chromium(scratch.path(), &["--dump-dom"], &format!("{}/", served.url));
    let rows = tags(&dom, "tr");
    let mut seen = Vec::new();
    for slo in api["slos"].as_array().into_iter().flatten() {
        let (service, name) = (
            slo["service"].as_str().unwrap_or_default(),
            slo["slo"].as_str().unwrap_or_default(),
        );
        let row = rows
            .iter()
            .find(|r| attr(r, "data-service") == Some(service) && attr(r, "data-slo") == Some(name))
            .unwrap_or_else(|| panic!("no row for {service}/{name} in the list:\n{dom}"));
        let budget: f64 = attr(row, "data-budget")
            .and_then(|b| b.parse().ok())
            .unwrap_or_else(|| panic!("{row}: no budget"));
        // serde_json reads floats to within an ulp or two, not exactly.
        let want = slo["budget_remaining"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (budget - want).abs() <= 1e-12 * want.abs(),
            "{service}/{name}: the list shows {budget}, the API {want}"
        );
        seen.push(format!("{service}/{name}"));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "checkout/availability",
            "frontend/availability",
            "productcatalog/latency",
            "refunds/availability"
        ]
    );
    // Every SLO is a link (keyboard reachable) to its detail page.
    for s in &seen {
        assert!(dom.contains(&format!("href=\"/slos/{s}\"")), "{s}: no link");
    }

    // The detail page: an SVG per long window and the budget, each with a
    // data path of many points; the factor labelled; the outage shaded.
    let detail_url = format!("{}/slos/checkout/availability", served.url);
    let dom = chromium(scratch.path(), &["--dump-dom"], &detail_url);
    let svgs = dom.matches("<svg ").count();
    assert_eq!(
        svgs, 7,
        "4 long windows, request rate, error ratio and the budget:\n{dom}"
    );
    let paths = tags(&dom, "path");
    assert_eq!(paths.len(), 7, "{dom}");
    // Burn rates, request rate and error ratio every 3 minutes over 3
    // days, the budget every hour.
    let points: Vec<usize> = paths
        .iter()
        .map(|p| attr(p, "d").unwrap_or_default().matches('L').count())
        .collect();
    assert!(
        points[..6].iter().all(|n| *n > 1000) && points[6] > 60,
        "near-empty paths: {points:?}"
    );
    assert!(
        dom.contains(">page 14.4×<") && dom.contains(">ticket 3×<"),
        "{dom}"
    );
    assert!(!tags(&dom, "rect").is_empty(), "no firing period shaded");
    // The alerts table has `explain`'s numbers: at 99.9% a total outage
    // fires 14.4x over 1h in 51.84 s having spent 2% of the budget.
    assert!(
        dom.contains("<td>2%</td><td>51.84s, 4.928m</td>"),
        "no explain numbers in the alerts table:\n{dom}"
    );
    assert!(dom.contains("2026-11-04"), "no dates on the axis");

    // A latency SLI's page also draws p50, p90 and p99 (a line each, with
    // the 3 days' points) and the SLO's threshold, labelled.
    let latency_url = format!("{}/slos/productcatalog/latency", served.url);
    let dom = chromium(scratch.path(), &["--dump-dom"], &latency_url);
    let at = dom
        .find("<figure class=\"chart latency\"")
        .unwrap_or_else(|| panic!("no latency chart:\n{dom}"));
    let figure = &dom[at..at + dom[at..].find("</figure>").unwrap_or(0)];
    let lines: Vec<usize> = tags(figure, "path")
        .iter()
        .map(|p| attr(p, "d").unwrap_or_default().matches('L').count())
        .collect();
    assert!(
        lines.len() == 3 && lines.iter().all(|n| *n > 1000),
        "latency lines: {lines:?}"
    );
    for label in [">p50<", ">p90<", ">p99<", ">SLO 0.25 s<"] {
        assert!(figure.contains(label), "no {label}: {figure}");
    }

    // Screenshots: non-blank pictures of the pages.
    for (name, url) in [
        ("list", format!("{}/", served.url)),
        ("detail", detail_url),
        ("detail-latency", latency_url),
    ] {
        screenshot(scratch.path(), &shots, name, &url);
    }
}

/// A screenshot of `url` at 1280x900 under `shots`, asserted non-blank
/// (a blank page has no variance; text, tables and graphs do).
fn screenshot(profile: &Path, shots: &Path, name: &str, url: &str) {
    let file = shots.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&file);
    chromium(
        profile,
        &[
            &format!("--screenshot={}", file.display()),
            "--window-size=1280,900",
        ],
        url,
    );
    let (w, h, mean, var) = png_stats(&file);
    assert_eq!((w, h), (1280, 900), "{name}");
    assert!(
        var > 100.0,
        "{name}: a blank screenshot (mean {mean}, variance {var})"
    );
}

#[test]
fn the_browser_draws_the_policy_lab_and_the_offline_report() {
    let data = repo_root().join("examples/data/shop.om");
    let specs = repo_root().join("examples/shop");
    let served = Served::start(&[
        "--data",
        &data.display().to_string(),
        &specs.display().to_string(),
    ]);
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));

    // The lab: one section per policy, each with a timeline whose bars
    // are the alerts the side-by-side table counts.
    let lab_url = format!("{}/slos/checkout/availability/lab", served.url);
    let dom = chromium(scratch.path(), &["--dump-dom"], &lab_url);
    let sections: Vec<&str> = dom
        .split("<section class=\"policy\"")
        .skip(1)
        .map(|s| &s[..s.find("</section>").unwrap_or(s.len())])
        .collect();
    assert_eq!(sections.len(), 4, "{dom}");
    for s in &sections {
        let key = attr(s, "data-policy").unwrap_or_else(|| panic!("no key: {s}"));
        assert_eq!(s.matches("<svg ").count(), 1, "{key}");
        let row = tags(&dom, "tr")
            .into_iter()
            .find(|r| attr(r, "data-policy") == Some(key) && attr(r, "data-pages").is_some())
            .unwrap_or_else(|| panic!("{key}: no row in the side-by-side table"));
        for tier in ["pages", "tickets"] {
            let bars = s
                .matches(&format!(
                    "<rect class=\"span {}\"",
                    tier.trim_end_matches('s')
                ))
                .count();
            assert_eq!(
                attr(row, &format!("data-{tier}")),
                Some(bars.to_string().as_str()),
                "{key}: {tier}"
            );
        }
        assert!(
            s.contains("<rect class=\"span page\""),
            "{key}: the outage did not page"
        );
        assert!(s.contains("class=\"yaml\""), "{key}: no YAML");
    }
    // The form works without scripts: a plain POST.
    assert!(
        dom.contains("<form class=\"lab-form\" method=\"post\""),
        "{dom}"
    );
    assert!(!dom.contains("<script"), "{dom}");
    screenshot(scratch.path(), &shots, "lab", &lab_url);

    // Marking an incident on the lab's graph: two links followed, then
    // the browser draws it shaded, with its remove link.
    let marking = |dom: &str, prefix: &str| -> Vec<String> {
        tags(dom, "a")
            .into_iter()
            .filter(|t| attr(t, "aria-label").is_some_and(|l| l.starts_with(prefix)))
            .filter_map(|t| attr(t, "href").map(|h| h.replace("&amp;", "&")))
            .collect()
    };
    let firsts = marking(&dom, "Mark an incident starting at");
    assert!(firsts.len() > 2, "no marking links: {dom}");
    let (status, pending) = served.get(&firsts[firsts.len() / 2]);
    assert_eq!(status, 200, "{pending}");
    let seconds = marking(&pending, "Mark the incident from");
    assert_eq!(seconds.len(), firsts.len(), "{pending}");
    let marked_url = format!("{}{}", served.url, seconds[firsts.len() / 2 + 1]);
    let dom = chromium(scratch.path(), &["--dump-dom"], &marked_url);
    assert_eq!(dom.matches("<rect class=\"marked\"").count(), 1, "{dom}");
    assert!(dom.contains("Incidents: as marked below"), "{dom}");
    assert!(dom.contains("<a class=\"remove\""), "{dom}");
    screenshot(scratch.path(), &shots, "lab-marked", &marked_url);

    // The offline report, opened from its file: the browser finds every
    // graph of the file, and draws it.
    let html = scratch.path().join("shop.html");
    let out = support::slo_eval()
        .arg("backtest")
        .arg(&specs)
        .arg("--data")
        .arg(&data)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap_or_else(|e| panic!("{e}"));
    let file_url = format!("file://{}", html.display());
    let dom = chromium(scratch.path(), &["--dump-dom"], &file_url);
    let svgs = dom.matches("<svg ").count();
    assert!(svgs >= 4 * 3, "{svgs} graphs");
    assert_eq!(svgs, text.matches("<svg ").count());
    screenshot(scratch.path(), &shots, "backtest-report", &file_url);
}

/// The reports page: `/api/v1/reports?month=` is the document `report
/// --json` prints over the same data; the page in the browser has a row
/// per SLO with the API's events and coverage, the month selected among the
/// months offered, a month without data shown as no data (never met); the
/// list page links to it; a bad month is a 400 saying the form; a
/// non-blank screenshot.
#[test]
fn the_reports_page_shows_each_month_as_report_json_computes_it() {
    let data = repo_root()
        .join("examples/data/shop.om")
        .display()
        .to_string();
    let shop = repo_root().join("examples/shop").display().to_string();
    let served = Served::start(&["--data", &data, &shop]);
    let api = served.json("/api/v1/reports?month=2026-11");
    let out = support::slo_eval()
        .args([
            "report", "--data", &data, "--month", "2026-11", "--json", &shop,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api, cli, "the API and `report --json` differ");
    // The default month is the one of "now" (the end of the data).
    assert_eq!(served.json("/api/v1/reports"), api);
    let (status, body) = served.get("/api/v1/reports?month=2026-13");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("the month must be 01 to 12"), "{body}");

    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let list = chromium(scratch.path(), &["--dump-dom"], &format!("{}/", served.url));
    assert!(
        list.contains("href=\"/reports\""),
        "the list does not link the reports"
    );
    let url = format!("{}/reports?month=2026-11", served.url);
    let dom = chromium(scratch.path(), &["--dump-dom"], &url);
    let rows = tags(&dom, "tr");
    let slos = api["slos"].as_array().cloned().unwrap_or_default();
    assert_eq!(slos.len(), 4, "{api}");
    for r in &slos {
        let (service, slo) = (
            r["service"].as_str().unwrap_or_default(),
            r["slo"].as_str().unwrap_or_default(),
        );
        let row = rows
            .iter()
            .find(|t| attr(t, "data-service") == Some(service) && attr(t, "data-slo") == Some(slo))
            .unwrap_or_else(|| panic!("no row for {service}/{slo}:\n{dom}"));
        let events: f64 = attr(row, "data-events")
            .and_then(|e| e.parse().ok())
            .unwrap_or_else(|| panic!("{row}: no events"));
        let want = r["events"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (events - want).abs() <= 1e-9 * want,
            "{service}/{slo}: {events} vs {want}"
        );
        assert_eq!(attr(row, "data-coverage"), Some("0.1"), "{row}");
        assert_eq!(attr(row, "data-status"), r["status"].as_str(), "{row}");
    }
    assert!(
        dom.contains("so far (not over)"),
        "a running month is not marked:\n{dom}"
    );
    assert!(
        dom.contains("<a href=\"/reports?month=2026-11\" aria-current=\"page\">2026-11</a>"),
        "the month is not selected:\n{dom}"
    );
    // October, offered before the data's first month: no data, not met.
    assert!(dom.contains("href=\"/reports?month=2026-10\""), "{dom}");
    let october = chromium(
        scratch.path(),
        &["--dump-dom"],
        &format!("{}/reports?month=2026-10", served.url),
    );
    let statuses: Vec<&str> = tags(&october, "tr")
        .iter()
        .filter_map(|t| attr(t, "data-status"))
        .collect();
    assert_eq!(statuses, ["no_data"; 4], "{october}");
    assert!(
        october.contains("no samples of the SLI's events"),
        "{october}"
    );

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));
    let file = shots.join("reports.png");
    let _ = std::fs::remove_file(&file);
    chromium(
        scratch.path(),
        &[
            &format!("--screenshot={}", file.display()),
            "--window-size=1280,900",
        ],
        &url,
    );
    let (w, h, mean, var) = png_stats(&file);
    assert_eq!((w, h), (1280, 900));
    assert!(
        var > 100.0,
        "a blank screenshot (mean {mean}, variance {var})"
    );
}
