//! Inline SVG graphs for the detail page: a window's burn rate over the
//! replay on a log scale, each factor a labelled line, firing periods
//! shaded; the budget left over time. Absolute UTC dates on the x axis.
//! Styled by classes from the page's stylesheet (the CSP allows no inline
//! styles), so they follow the light or dark scheme.

use std::fmt::Write as _;

use slo_core::time::Timestamp;

use super::html::esc;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
/// Room right of the data for the factor labels.
const RIGHT: f64 = 96.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 42.0;

/// Maps times and values to the plot area.
struct Frame {
    t0: Timestamp,
    t1: Timestamp,
    y: Box<dyn Fn(f64) -> f64>,
}

impl Frame {
    fn x(&self, t: Timestamp) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        LEFT + (t - self.t0) as f64 / span * (WIDTH - LEFT - RIGHT)
    }
}

fn open(b: &mut String, title: &str, class: &str) {
    let _ = writeln!(
        b,
        "<figure class=\"chart {class}\">\n<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{0}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{0}</title>",
        esc(title)
    );
}

fn close(b: &mut String, title: &str) {
    let _ = writeln!(
        b,
        "</svg>\n<figcaption>{}</figcaption>\n</figure>",
        esc(title)
    );
}

/// The x axis: ticks at round UTC times, each labelled with its time and,
/// where the day changes, its date.
fn x_axis(b: &mut String, f: &Frame) {
    x_axis_at(b, f, HEIGHT - BOTTOM);
}

/// [`x_axis`] with its line at `bottom`.
fn x_axis_at(b: &mut String, f: &Frame, bottom: f64) {
    const STEPS: [i64; 10] = [
        15 * 60_000,
        30 * 60_000,
        3_600_000,
        2 * 3_600_000,
        3 * 3_600_000,
        6 * 3_600_000,
        12 * 3_600_000,
        86_400_000,
        2 * 86_400_000,
        7 * 86_400_000,
    ];
    let span = (f.t1 - f.t0).max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8)
        .unwrap_or(30 * 86_400_000);
    let _ = writeln!(
        b,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\"/>",
        WIDTH - RIGHT
    );
    let mut t = f.t0.div_euclid(step) * step;
    if t < f.t0 {
        t += step;
    }
    let mut last_day = String::new();
    while t <= f.t1 {
        let x = f.x(t);
        let stamp = slo_core::time::format(t);
        let (day, time) = (&stamp[..10], &stamp[11..16]);
        let _ = writeln!(
            b,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{time}</text>",
            bottom + 14.0
        );
        if day != last_day {
            let _ = writeln!(
                b,
                "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{day}</text>",
                bottom + 28.0
            );
            last_day = day.to_owned();
        }
        t += step;
    }
}

/// A polyline through `points`, broken where samples are missing (a gap
/// longer than twice the usual spacing).
fn path(f: &Frame, points: &[(Timestamp, f64)], class: &str) -> String {
    let mut gaps: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_unstable();
    let usual = gaps.get(gaps.len() / 2).copied().unwrap_or(i64::MAX);
    let mut d = String::new();
    let mut prev: Option<Timestamp> = None;
    for &(t, v) in points {
        let cmd = match prev {
            Some(p) if t - p <= usual.saturating_mul(2) => 'L',
            _ => 'M',
        };
        let _ = write!(d, "{cmd}{:.1} {:.1}", f.x(t), (f.y)(v));
        prev = Some(t);
    }
    if d.is_empty() {
        return String::new();
    }
    format!("<path class=\"{class}\" d=\"{d}\"/>\n")
}

/// A window's burn rate over `[t0, t1]` on a log scale, with `factors`
/// (value, label) as labelled lines and `firing` periods shaded.
pub(super) fn burn_chart(
    title: &str,
    points: &[(Timestamp, f64)],
    factors: &[(f64, String)],
    firing: &[(Timestamp, Timestamp)],
    (t0, t1): (Timestamp, Timestamp),
) -> String {
    let positive = points
        .iter()
        .map(|p| p.1)
        .chain(factors.iter().map(|f| f.0))
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = positive.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    // Whole decades, at least 0.01x to 10x: zero burn sits on the floor.
    let lo_exp = lo.log10().floor().clamp(-2.0, 0.0);
    let hi_exp = hi.log10().ceil().max(1.0).max(lo_exp + 1.0);
    let bottom = HEIGHT - BOTTOM;
    let y = move |v: f64| {
        let e = if v > 0.0 && v.is_finite() {
            v.log10().clamp(lo_exp, hi_exp)
        } else {
            lo_exp
        };
        bottom - (e - lo_exp) / (hi_exp - lo_exp) * (bottom - TOP)
    };
    let f = Frame {
        t0,
        t1,
        y: Box::new(y),
    };
    let mut b = String::new();
    open(&mut b, title, "burn");
    for &(s, e) in firing {
        let (xs, xe) = (f.x(s.max(t0)), f.x(e.min(t1)));
        if xe >= xs {
            let _ = writeln!(
                b,
                "<rect class=\"firing\" x=\"{xs:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\"><title>firing from {} to {}</title></rect>",
                (xe - xs).max(1.0),
                bottom - TOP,
                slo_core::time::format(s),
                slo_core::time::format(e)
            );
        }
    }
    let mut e = lo_exp;
    while e <= hi_exp {
        let v = 10f64.powf(e);
        let yy = (f.y)(v);
        let _ = writeln!(
            b,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}×</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            slo_core::num::format(v)
        );
        e += 1.0;
    }
    x_axis(&mut b, &f);
    for (value, label) in factors {
        let yy = (f.y)(*value);
        let _ = writeln!(
            b,
            "<line class=\"factor\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/><text class=\"factor-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            WIDTH - RIGHT,
            WIDTH - RIGHT + 6.0,
            yy + 4.0,
            esc(label)
        );
    }
    b.push_str(&path(&f, points, "line"));
    let _ = writeln!(
        b,
        "<text class=\"unit\" x=\"{LEFT}\" y=\"{:.1}\">burn rate (log), UTC</text>",
        TOP - 4.0
    );
    close(&mut b, title);
    b
}

/// The budget left over `[t0, t1]`, 100% at the top, the zero line marked.
pub(super) fn budget_chart(
    title: &str,
    points: &[(Timestamp, f64)],
    (t0, t1): (Timestamp, Timestamp),
) -> String {
    let lo = points
        .iter()
        .map(|p| p.1)
        .fold(0.0_f64, f64::min)
        .max(-10.0);
    let lo = (lo * 4.0).floor() / 4.0;
    let bottom = HEIGHT - BOTTOM;
    let y = move |v: f64| bottom - (v.clamp(lo, 1.0) - lo) / (1.0 - lo) * (bottom - TOP);
    let f = Frame {
        t0,
        t1,
        y: Box::new(y),
    };
    let mut b = String::new();
    open(&mut b, title, "budget");
    // Ticks on whole multiples of a round step, 0% and 100% among them.
    let step = if 1.0 - lo > 2.0 { 1.0 } else { 0.25 };
    let mut k = (lo / step).ceil() as i64;
    while (k as f64) * step <= 1.0 + 1e-9 {
        let v = k as f64 * step;
        let yy = (f.y)(v);
        let class = if k == 0 { "factor" } else { "grid" };
        let _ = writeln!(
            b,
            "<line class=\"{class}\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}%</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            slo_core::num::format((v * 100.0).round())
        );
        k += 1;
    }
    x_axis(&mut b, &f);
    b.push_str(&path(&f, points, "line"));
    let _ = writeln!(
        b,
        "<text class=\"unit\" x=\"{LEFT}\" y=\"{:.1}\">budget left, UTC</text>",
        TOP - 4.0
    );
    close(&mut b, title);
    b
}

/// A quantity over `[t0, t1]` on a linear scale from zero to a round
/// maximum: request rate (`unit` "requests/s") or error ratio (`percent`).
pub(super) fn linear_chart(
    title: &str,
    points: &[(Timestamp, f64)],
    (t0, t1): (Timestamp, Timestamp),
    unit: &str,
    percent: bool,
) -> String {
    let scale = if percent { 100.0 } else { 1.0 };
    let top = points
        .iter()
        .map(|p| p.1 * scale)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let mut b = String::new();
    open(&mut b, title, "traffic");
    let f = linear_frame(&mut b, top, scale, if percent { "%" } else { "" }, (t0, t1));
    b.push_str(&path(&f, points, "line"));
    let _ = writeln!(
        b,
        "<text class=\"unit\" x=\"{LEFT}\" y=\"{:.1}\">{}, UTC</text>",
        TOP - 4.0,
        esc(unit)
    );
    close(&mut b, title);
    b
}

/// A linear y axis from zero to a round maximum at or above `top` (in
/// values times `scale`), its ticks labelled with `suffix`, and the x
/// axis: the frame of [`linear_chart`] and [`latency_chart`].
fn linear_frame(
    b: &mut String,
    top: f64,
    scale: f64,
    suffix: &str,
    (t0, t1): (Timestamp, Timestamp),
) -> Frame {
    // A round tick step giving at most five ticks above zero.
    let step = {
        let raw = (top / 5.0).max(f64::MIN_POSITIVE);
        let mag = 10f64.powf(raw.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag)
    };
    let hi = if top > 0.0 {
        (top / step).ceil() * step
    } else {
        1.0
    };
    let bottom = HEIGHT - BOTTOM;
    let y = move |v: f64| bottom - (v * scale).clamp(0.0, hi) / hi * (bottom - TOP);
    let f = Frame {
        t0,
        t1,
        y: Box::new(y),
    };
    let mut k = 0;
    while k as f64 * step <= hi + step * 1e-9 && k <= 10 {
        let v = k as f64 * step;
        let yy = (f.y)(v / scale);
        let _ = writeln!(
            b,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}{suffix}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            slo_core::num::format((v * 1e6).round() / 1e6),
        );
        k += 1;
    }
    x_axis(b, &f);
    f
}

/// Latency percentiles over `[t0, t1]` on a linear scale from zero: one
/// line per `(label, points)`, labelled right of the data (classes `q0`,
/// `q1`... tell them apart by colour and dash), the SLO's `threshold`
/// (value, label) a labelled dashed line. Without any point, `message`
/// is written across the empty plot: never a line at zero.
pub(super) fn latency_chart(
    title: &str,
    lines: &[(String, Vec<(Timestamp, f64)>)],
    threshold: (f64, &str),
    unit: &str,
    message: &str,
    (t0, t1): (Timestamp, Timestamp),
) -> String {
    let top = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .chain([threshold.0])
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let mut b = String::new();
    open(&mut b, title, "latency");
    let f = linear_frame(&mut b, top, 1.0, "", (t0, t1));
    let yy = (f.y)(threshold.0);
    let _ = writeln!(
        b,
        "<line class=\"factor\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/><text class=\"factor-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
        WIDTH - RIGHT,
        WIDTH - RIGHT + 6.0,
        yy + 4.0,
        esc(threshold.1)
    );
    // Each line's label at the height of its last point, nudged apart
    // (and off the threshold's label) so none hides another.
    let mut labels: Vec<(f64, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(n, (_, p))| Some(((f.y)(p.last()?.1), n)))
        .collect();
    labels.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut taken = vec![yy];
    for (y, n) in &mut labels {
        while taken.iter().any(|t| (*t - *y).abs() < 12.0) {
            *y += 12.0;
        }
        taken.push(*y);
        let _ = writeln!(
            b,
            "<text class=\"series-label q{n}\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            WIDTH - RIGHT + 6.0,
            *y + 4.0,
            esc(&lines[*n].0)
        );
    }
    for (n, (_, points)) in lines.iter().enumerate() {
        b.push_str(&path(&f, points, &format!("line q{n}")));
    }
    if lines.iter().all(|(_, p)| p.is_empty()) {
        let _ = writeln!(
            b,
            "<text class=\"unit\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            (TOP + HEIGHT - BOTTOM) / 2.0,
            esc(message)
        );
    }
    let _ = writeln!(
        b,
        "<text class=\"unit\" x=\"{LEFT}\" y=\"{:.1}\">{}, UTC</text>",
        TOP - 4.0,
        esc(unit)
    );
    close(&mut b, title);
    b
}

/// One lane of a [`timeline`]: its label and its intervals, each with a
/// class (`incident`, `page`, `ticket`) and a tooltip.
pub(super) struct Lane {
    pub(super) label: String,
    pub(super) spans: Vec<(Timestamp, Timestamp, &'static str, String)>,
}

/// Intervals over `[t0, t1]` in labelled lanes, one above the other: the
/// policy lab's alert timeline (incidents, pages, tickets).
pub(super) fn timeline(title: &str, lanes: &[Lane], (t0, t1): (Timestamp, Timestamp)) -> String {
    let bottom = HEIGHT - BOTTOM;
    let f = Frame {
        t0,
        t1,
        y: Box::new(|v| v),
    };
    let mut b = String::new();
    open(&mut b, title, "timeline");
    let lane = (bottom - TOP) / lanes.len().max(1) as f64;
    for (n, l) in lanes.iter().enumerate() {
        let top = TOP + n as f64 * lane;
        let _ = writeln!(
            b,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            top + lane,
            WIDTH - RIGHT,
            top + lane,
            LEFT - 6.0,
            top + lane / 2.0 + 4.0,
            esc(&l.label)
        );
        for (s, e, class, tip) in &l.spans {
            let (xs, xe) = (f.x((*s).max(t0)), f.x((*e).min(t1)));
            if xe < xs {
                continue;
            }
            let _ = writeln!(
                b,
                "<rect class=\"span {class}\" x=\"{xs:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                top + lane * 0.2,
                (xe - xs).max(2.0),
                lane * 0.6,
                esc(tip)
            );
        }
    }
    x_axis(&mut b, &f);
    let _ = writeln!(
        b,
        "<text class=\"unit\" x=\"{LEFT}\" y=\"{:.1}\">UTC</text>",
        TOP - 4.0
    );
    close(&mut b, title);
    b
}

/// One link of a [`link_strip`]: the interval it covers, where it leads,
/// its accessible name and its class.
pub(super) struct Link {
    pub(super) start: Timestamp,
    pub(super) end: Timestamp,
    pub(super) href: String,
    pub(super) label: String,
    pub(super) class: &'static str,
}

/// A strip over `[t0, t1]` whose intervals are links: `marked` (shaded,
/// in a thin upper lane) above `slots` (transparent, the rest of the
/// height). Not `role="img"`: its anchors must stay reachable by keyboard
/// and assistive technology. The lab marks incidents with it, without
/// scripts.
pub(super) fn link_strip(
    title: &str,
    marked: &[Link],
    slots: &[Link],
    (t0, t1): (Timestamp, Timestamp),
) -> String {
    const STRIP: f64 = 120.0;
    let f = Frame {
        t0,
        t1,
        y: Box::new(|v| v),
    };
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<figure class=\"chart strip\">\n<svg viewBox=\"0 0 {WIDTH} {STRIP}\" role=\"group\" aria-label=\"{0}\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{0}</title>",
        esc(title)
    );
    let bottom = STRIP - BOTTOM;
    let split = TOP + (bottom - TOP) * 0.35;
    // The axis and grid first: the links above them take the clicks.
    x_axis_at(&mut b, &f, bottom);
    let mut link = |l: &Link, y0: f64, y1: f64| {
        let (xs, xe) = (f.x(l.start.max(t0)), f.x(l.end.min(t1)));
        if xe < xs {
            return;
        }
        let _ = writeln!(
            b,
            "<a href=\"{href}\" aria-label=\"{label}\"><rect class=\"{class}\" x=\"{xs:.1}\" y=\"{y0:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"><title>{label}</title></rect></a>",
            href = esc(&l.href),
            label = esc(&l.label),
            class = l.class,
            w = (xe - xs).max(2.0),
            h = y1 - y0
        );
    };
    for l in marked {
        link(l, TOP, split);
    }
    for l in slots {
        link(l, split, bottom);
    }
    let _ = writeln!(
        b,
        "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{split:.1}\" x2=\"{:.1}\" y2=\"{split:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">marked</text><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">click</text>",
        WIDTH - RIGHT,
        LEFT - 6.0,
        (TOP + split) / 2.0 + 4.0,
        LEFT - 6.0,
        (split + bottom) / 2.0 + 4.0,
    );
    close(&mut b, title);
    b
}
