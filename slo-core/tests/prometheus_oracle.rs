//! `increase()` checked against Prometheus itself: `promtool test rules`
//! (Prometheus 2.x) evaluates the same counters, and its answers (printed
//! when a test expects nothing) must equal [`Series::increase`] to 1e-12.
//!
//! A missing `promtool` fails the test with the command that installs it
//! (the project's convention: tests run the real thing, never skip).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use slo_core::duration::Duration;
use slo_core::series::Series;

const INTERVAL_MS: i64 = 15_000;

// The harness's finder (env override, clear failure when missing), shared
// so both crates' tests find binaries the same way.
#[path = "../../slo-eval/tests/support/binary.rs"]
mod binary;

fn promtool() -> PathBuf {
    binary::binary("promtool")
}

/// A value per 15 s slot: a sample, a gap (`_`) or a staleness marker.
#[derive(Clone, Copy)]
enum Slot {
    Value(f64),
    Gap,
    Stale,
}

/// Counters that exercise every rule of `increase()`.
fn cases() -> BTreeMap<&'static str, Vec<Slot>> {
    let ramp =
        |from: f64, by: f64, n: usize| (0..n).map(move |i| Slot::Value(from + by * i as f64));
    let mut cases = BTreeMap::new();
    cases.insert("steady", ramp(0.0, 10.0, 400).collect());
    // Resets: a restart to a low value, and one to zero.
    cases.insert(
        "resets",
        ramp(50.0, 7.0, 80)
            .chain(ramp(3.0, 7.0, 80))
            .chain(ramp(0.0, 4.5, 240))
            .collect(),
    );
    // Scrapes missed, and a target that went away (staleness) and came back.
    let mut gaps: Vec<Slot> = ramp(1000.0, 2.5, 400).collect();
    for i in (37..45).chain(200..230) {
        gaps[i] = Slot::Gap;
    }
    gaps[120] = Slot::Stale;
    for slot in gaps.iter_mut().skip(300).take(20) {
        *slot = Slot::Gap;
    }
    cases.insert("gaps", gaps);
    // Born late near zero: extrapolation stops where the counter would be 0.
    cases.insert(
        "born",
        std::iter::repeat_n(Slot::Gap, 130)
            .chain(ramp(3.0, 10.0, 270))
            .collect(),
    );
    // Born late far from zero, and ending early.
    cases.insert(
        "window",
        std::iter::repeat_n(Slot::Gap, 50)
            .chain(ramp(123_456.0, 0.25, 200))
            .chain(std::iter::repeat_n(Slot::Gap, 150))
            .collect(),
    );
    // Sparse and uneven: a sample every 1 to 5 slots, fractional values.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut v = 0.0;
    let uneven = (0..400)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(5) {
                v += (x >> 40) as f64 / (1u64 << 20) as f64;
                Slot::Value(v)
            } else if x.is_multiple_of(3) {
                v += 0.125;
                Slot::Value(v)
            } else {
                Slot::Gap
            }
        })
        .collect();
    cases.insert("uneven", uneven);
    cases
}

fn series(slots: &[Slot]) -> Series {
    Series::from_samples(slots.iter().enumerate().filter_map(|(i, s)| match s {
        Slot::Value(v) => Some((i as i64 * INTERVAL_MS, *v)),
        Slot::Gap | Slot::Stale => None,
    }))
}

fn notation(slots: &[Slot]) -> String {
    slots
        .iter()
        .map(|s| match s {
            Slot::Value(v) => format!("{v}"),
            Slot::Gap => "_".to_owned(),
            Slot::Stale => "stale".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn increase_matches_prometheus() {
    let cases = cases();
    let windows = ["1m", "5m", "7m30s", "10m", "1h"];
    // On samples, between them, before and after the data.
    let times = [
        "1m", "5m", "7m", "12m30s", "17m7s", "30m", "32m30s", "47m15s", "60m", "61m1s", "75m",
        "89m59s", "100m", "110m",
    ];
    let mut yaml = String::from(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 15s\n    input_series:\n",
    );
    for (name, slots) in &cases {
        yaml.push_str(&format!(
            "      - series: 'c{{case=\"{name}\"}}'\n        values: '{}'\n",
            notation(slots)
        ));
    }
    yaml.push_str("    promql_expr_test:\n");
    for w in windows {
        for t in times {
            yaml.push_str(&format!(
                "      - expr: increase(c[{w}])\n        eval_time: {t}\n        exp_samples: []\n"
            ));
        }
    }
    let dir = std::env::temp_dir().join(format!("slo-core-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("increase.yml");
    std::fs::write(&file, &yaml).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(promtool())
        .arg("test")
        .arg("rules")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("promtool: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);

    // Prometheus's answers: (window, time) -> case -> value. A test whose
    // answer is empty passes and prints nothing.
    let mut got: BTreeMap<(String, String), BTreeMap<String, f64>> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("expr: \"increase(c[") {
            let (w, rest) = rest
                .split_once("])\", time: ")
                .unwrap_or_else(|| panic!("{line}"));
            current = Some((w.to_owned(), rest.trim_end_matches(',').to_owned()));
        } else if let (Some(rest), Some(key)) = (line.strip_prefix("got: "), &current) {
            let answers = got.entry(key.clone()).or_default();
            for item in rest.split(", ") {
                let (labels, value) = item.rsplit_once(' ').unwrap_or_else(|| panic!("{item}"));
                let case = labels
                    .trim_start_matches("{case=\"")
                    .trim_end_matches("\"}");
                let value: f64 = value.parse().unwrap_or_else(|e| panic!("{value}: {e}"));
                answers.insert(case.to_owned(), value);
            }
        }
    }
    assert!(got.len() > 40, "promtool said:\n{text}");

    let mut compared = 0;
    for w in windows {
        let window: Duration = w.parse().unwrap_or_else(|e| panic!("{e}"));
        for t in times {
            let at: Duration = t.parse().unwrap_or_else(|e| panic!("{e}"));
            // promtool prints times the way Durations do.
            let key = (window.to_string(), at.to_string());
            let answers = got.get(&key).cloned().unwrap_or_default();
            for (name, slots) in &cases {
                let end = at.as_millis() as i64;
                let ours = series(slots).increase(end - window.as_millis() as i64, end);
                let theirs = answers.get(*name).copied();
                match (ours, theirs) {
                    (Some(a), Some(b)) => assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                        "increase(c{{case={name}}}[{w}]) at {t}: ours {a}, Prometheus {b}"
                    ),
                    (a, b) => assert_eq!(a, b, "increase(c{{case={name}}}[{w}]) at {t}"),
                }
                compared += 1;
            }
        }
    }
    assert_eq!(compared, windows.len() * times.len() * cases.len());
}
