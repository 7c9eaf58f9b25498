//! Three days of a small online shop's metrics, with known incidents.
//!
//! Deterministic: a seeded xorshift and arithmetic only. No `sin`, `exp` or
//! `ln`, whose last bits differ between platforms' math libraries: the
//! committed files must come out byte for byte the same everywhere, and a
//! test checks they do.
//!
//! Services (scraped every minute):
//!
//! - `frontend`: ~40 req/s with a daily rhythm (peak 15:00 UTC, 4x the
//!   03:00 trough), 0.02% errors. Its pods restart on day one at 09:17,
//!   resetting the counters. A **slow burn** (+0.5% errors, 5x the budget
//!   of a 99.9% SLO) from 2026-11-03T02:00Z to 22:00Z.
//! - `checkout`: ~4 req/s, 0.03% errors. A two-minute **blip** (5% errors)
//!   on 2026-11-03 at 10:30Z that should not alert, and a **sharp outage**
//!   (60% of requests fail with 503) on 2026-11-04 from 14:00Z to 14:20Z.
//! - `productcatalog`: ~25 req/s, a latency histogram; 0.3% of requests
//!   take over 250 ms. A **latency regression** (25% over 250 ms) on
//!   2026-11-03 from 15:00Z to 17:00Z.
//! - `refunds`: a back-office service at ~15 requests per hour, with **one
//!   failed request** on 2026-11-04 at 03:10Z: one error in a handful of
//!   requests, which must not page.

use std::fmt::Write;

/// 2026-11-02T00:00:00Z, in seconds.
pub(crate) const START: i64 = 1_793_577_600;
/// Three days.
pub(crate) const END: i64 = START + 3 * DAY;
/// The scrape interval, in seconds.
pub(crate) const SCRAPE: i64 = 60;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Seconds since START of day `d` (0-based) at `h:m` UTC.
const fn at(d: i64, h: i64, m: i64) -> i64 {
    START + d * DAY + h * HOUR + m * 60
}

const FRONTEND_RESTART: i64 = at(0, 9, 17);
const SLOW_BURN: (i64, i64) = (at(1, 2, 0), at(1, 22, 0));
const BLIP: (i64, i64) = (at(1, 10, 30), at(1, 10, 32));
const OUTAGE: (i64, i64) = (at(2, 14, 0), at(2, 14, 20));
const REGRESSION: (i64, i64) = (at(1, 15, 0), at(1, 17, 0));
const REFUND_ERROR: i64 = at(2, 3, 10);

/// The generated files.
pub(crate) struct Shop {
    /// `shop.om`: OpenMetrics text, timestamps in seconds.
    pub(crate) openmetrics: String,
    /// `incidents.yaml`: the incidents that matter.
    pub(crate) incidents: String,
}

/// xorshift64*: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal, approximately (Irwin-Hall: twelve uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    /// Poisson with mean `mean`, approximately.
    fn poisson(&mut self, mean: f64) -> u64 {
        if mean < 30.0 {
            // Binomial with many trials: Poisson in the limit.
            let p = mean / 64.0;
            (0..64).filter(|_| self.uniform() < p).count() as u64
        } else {
            (mean + mean.sqrt() * self.normal()).round().max(0.0) as u64
        }
    }

    /// Binomial: `n` trials at `p`, approximately.
    fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n <= 200 {
            return (0..n).filter(|_| self.uniform() < p).count() as u64;
        }
        if p > 0.5 {
            return n - self.binomial(n, 1.0 - p);
        }
        let mean = n as f64 * p;
        if mean < 30.0 {
            return self.poisson(mean).min(n);
        }
        let sd = (mean * (1.0 - p)).sqrt();
        (mean + sd * self.normal()).round().clamp(0.0, n as f64) as u64
    }
}

/// Traffic relative to the daily mean: 1.6 at 15:00 UTC, 0.4 at 03:00, a
/// smoothstep between (no trigonometry).
fn daily(t: i64) -> f64 {
    let x = (t - 15 * HOUR).rem_euclid(DAY) as f64 / DAY as f64;
    let tri = (2.0 * x - 1.0).abs();
    0.4 + 1.2 * tri * tri * (3.0 - 2.0 * tri)
}

fn within(t: i64, (from, to): (i64, i64)) -> bool {
    t > from && t <= to
}

/// One counter's samples.
struct Counter {
    labels: String,
    values: Vec<f64>,
}

impl Counter {
    fn new(labels: &str, start: f64) -> Self {
        Self {
            labels: labels.to_owned(),
            values: vec![start],
        }
    }

    fn add(&mut self, n: f64) {
        let last = self.values.last().copied().unwrap_or(0.0);
        self.values.push(last + n);
    }

    /// The process restarted just after the previous scrape: the counter
    /// counts from zero.
    fn restart_with(&mut self, n: f64) {
        self.values.push(n);
    }
}

/// Generates the shop's history.
pub(crate) fn generate() -> Shop {
    let mut rng = Rng(0x005e_ed0f_5109_2026);
    let times: Vec<i64> = (START..=END).step_by(SCRAPE as usize).collect();

    let mut frontend_ok = Counter::new(r#"job="frontend",code="200""#, 1_204_311.0);
    let mut frontend_err = Counter::new(r#"job="frontend",code="500""#, 212.0);
    let mut checkout_ok = Counter::new(r#"job="checkout",code="200""#, 88_410.0);
    let mut checkout_500 = Counter::new(r#"job="checkout",code="500""#, 31.0);
    let mut checkout_503 = Counter::new(r#"job="checkout",code="503""#, 4.0);
    let mut refunds_ok = Counter::new(r#"job="refunds",code="200""#, 1_873.0);
    let mut refunds_err = Counter::new(r#"job="refunds",code="500""#, 2.0);
    // Cumulative counts at or under each bound, then the sum of latencies.
    const BOUNDS: [&str; 6] = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
    let mut buckets: Vec<Vec<u64>> = vec![vec![0; BOUNDS.len()]];
    let mut sums: Vec<f64> = vec![0.0];

    for &t in &times[1..] {
        let rhythm = daily(t);

        // frontend
        let n = rng.poisson(40.0 * 60.0 * rhythm);
        let ratio = 0.0002 + if within(t, SLOW_BURN) { 0.005 } else { 0.0 };
        let bad = rng.binomial(n, ratio);
        let good = (n - bad) as f64;
        if t == FRONTEND_RESTART {
            frontend_ok.restart_with(good);
            frontend_err.restart_with(bad as f64);
        } else {
            frontend_ok.add(good);
            frontend_err.add(bad as f64);
        }

        // checkout
        let n = rng.poisson(4.0 * 60.0 * rhythm);
        let failing = if within(t, OUTAGE) {
            0.6
        } else if within(t, BLIP) {
            0.05
        } else {
            0.0
        };
        let unavailable = rng.binomial(n, failing);
        let broken = rng.binomial(n - unavailable, 0.0003);
        checkout_503.add(unavailable as f64);
        checkout_500.add(broken as f64);
        checkout_ok.add((n - unavailable - broken) as f64);

        // productcatalog: requests by latency bucket
        let n = rng.poisson(25.0 * 60.0 * rhythm);
        let slow_share = if within(t, REGRESSION) { 0.25 } else { 0.003 };
        let slow = rng.binomial(n, slow_share);
        let fast = n - slow;
        let under_50ms = rng.binomial(fast, 0.55);
        let under_100ms = under_50ms + rng.binomial(fast - under_50ms, 0.7);
        let under_500ms = fast + rng.binomial(slow, 0.7);
        let under_1s = under_500ms + rng.binomial(n - under_500ms, 0.8);
        let per_bucket = [under_50ms, under_100ms, fast, under_500ms, under_1s, n];
        let mut next = buckets.last().cloned().unwrap_or_default();
        for (cum, add) in next.iter_mut().zip(per_bucket) {
            *cum += add;
        }
        buckets.push(next);
        // Latency sum from bucket midpoints (1.5 s for the slowest).
        let mids = [0.03, 0.075, 0.17, 0.36, 0.7, 1.5];
        let mut prev = 0;
        let mut sum = 0.0;
        for (cum, mid) in per_bucket.iter().zip(mids) {
            sum += (cum - prev) as f64 * mid;
            prev = *cum;
        }
        let last_sum = sums.last().copied().unwrap_or(0.0);
        sums.push(last_sum + sum);

        // refunds: a handful of requests an hour
        let mut n = rng.poisson(15.0 / 60.0 * rhythm);
        let mut bad = 0;
        if t == REFUND_ERROR {
            n += 1;
            bad = 1;
        }
        refunds_ok.add((n - bad) as f64);
        refunds_err.add(bad as f64);
    }

    let mut om = String::new();
    // Families are written whole, series after series, each in time order:
    // what `promtool tsdb create-blocks-from openmetrics` expects.
    om.push_str("# HELP http_requests Requests served, by service and status code.\n");
    om.push_str("# TYPE http_requests counter\n");
    for c in [
        &frontend_ok,
        &frontend_err,
        &checkout_ok,
        &checkout_500,
        &checkout_503,
        &refunds_ok,
        &refunds_err,
    ] {
        for (t, v) in times.iter().zip(&c.values) {
            let _ = writeln!(om, "http_requests_total{{{}}} {v} {t}", c.labels);
        }
    }
    om.push_str("# HELP http_request_duration_seconds Request latency of the product catalog.\n");
    om.push_str("# TYPE http_request_duration_seconds histogram\n");
    // A histogram's samples at one time belong together (one MetricPoint).
    for (i, t) in times.iter().enumerate() {
        for (b, le) in BOUNDS.iter().enumerate() {
            let v = buckets[i][b];
            let _ = writeln!(
                om,
                "http_request_duration_seconds_bucket{{job=\"productcatalog\",le=\"{le}\"}} {v} {t}"
            );
        }
        let count = buckets[i][BOUNDS.len() - 1];
        let _ = writeln!(
            om,
            "http_request_duration_seconds_count{{job=\"productcatalog\"}} {count} {t}"
        );
        let _ = writeln!(
            om,
            "http_request_duration_seconds_sum{{job=\"productcatalog\"}} {:.3} {t}",
            sums[i]
        );
    }
    om.push_str("# EOF\n");

    Shop {
        openmetrics: om,
        incidents: incidents(),
    }
}

fn rfc3339(t: i64) -> String {
    slo_core::time::format(t * 1000)
}

fn incidents() -> String {
    let mut y = String::from(
        "# The incidents in shop.om that an SLO's alerts should catch (generated by\n\
         # slo-core/examples/gen_shop_data). Not listed, on purpose: checkout's\n\
         # two-minute blip of 5% errors on 2026-11-03 at 10:30Z, frontend's pod restart\n\
         # (a counter reset) on 2026-11-02 at 09:17Z, and the one failed refund on\n\
         # 2026-11-04 at 03:10Z: none of them is worth an alert.\n\
         incidents:\n",
    );
    let list = [
        (
            "frontend",
            "availability",
            SLOW_BURN,
            "ticket",
            "slow burn: a bad config pushed 0.5% of page views into errors for 20 hours (5x the budget)",
        ),
        (
            "productcatalog",
            "latency",
            REGRESSION,
            "page",
            "latency regression: a cache flush sent 25% of requests over 250 ms for 2 hours",
        ),
        (
            "checkout",
            "availability",
            OUTAGE,
            "page",
            "sharp outage: the payment provider failed 60% of checkouts for 20 minutes",
        ),
    ];
    for (service, slo, (from, to), severity, what) in list {
        let _ = write!(
            y,
            "  - service: {service}\n    slo: {slo}\n    start: {}\n    end: {}\n    severity: {severity}\n    description: \"{what}\"\n",
            rfc3339(from),
            rfc3339(to)
        );
    }
    y
}
