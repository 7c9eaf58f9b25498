//! Incidents marked on the lab's graph, without scripts (the CSP forbids
//! them): a strip of links over time slots. A first click adds
//! `mark=<t>` to the lab's URL; a second turns the pending mark into an
//! incident appended to the `incidents` parameter the lab already reads,
//! so a marked incident is scored exactly as one typed into the form.
//! Every link carries the whole state (policies, range pinned to absolute
//! times, incidents), so the page needs no session.

use std::fmt::Write as _;

use slo_core::duration::Duration;
use slo_core::incident::Incident;
use slo_core::time::{self, Timestamp};

use crate::serve::html::esc;
use crate::serve::svg;

/// The most time slots one strip offers: enough to mark to a few minutes
/// over a day, few enough to keep the page small.
const MAX_SLOTS: usize = 200;

/// `mark=`: the pending start, which must lie within the replayed range;
/// an error naming the parameter and what was expected otherwise.
pub(super) fn pending(
    mark: Option<&str>,
    (start, end): (Timestamp, Timestamp),
) -> Result<Option<Timestamp>, String> {
    let Some(m) = mark.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    let t = time::parse(m)
        .ok_or_else(|| format!("mark={m:?} is not an RFC 3339 time or Unix seconds"))?;
    if t < start || t > end {
        return Err(format!(
            "mark={m:?} is outside the replayed range {} to {}",
            time::format(start),
            time::format(end)
        ));
    }
    Ok(Some(t))
}

/// `list` as an incidents file that [`slo_core::incident::load_str`]
/// reads back to the same incidents.
pub(super) fn incidents_yaml(list: &[Incident]) -> String {
    // JSON strings are YAML double-quoted scalars: any text survives.
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut y = String::from("incidents:\n");
    for i in list {
        let mut first = true;
        let mut field = |y: &mut String, k: &str, v: String| {
            let lead = if first { "  - " } else { "    " };
            first = false;
            let _ = writeln!(y, "{lead}{k}: {v}");
        };
        if let Some(s) = &i.service {
            field(&mut y, "service", quote(s));
        }
        if let Some(s) = &i.slo {
            field(&mut y, "slo", quote(s));
        }
        if !i.labels.is_empty() {
            let pairs: Vec<String> = i
                .labels
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
                .collect();
            field(&mut y, "labels", format!("{{{}}}", pairs.join(", ")));
        }
        field(&mut y, "start", time::format(i.start));
        field(&mut y, "end", time::format(i.end));
        if let Some(s) = i.severity {
            field(&mut y, "severity", s.as_str().to_owned());
        }
        if let Some(d) = &i.description {
            field(&mut y, "description", quote(d));
        }
    }
    y
}

/// What the marking links are built from.
pub(super) struct Marking<'a> {
    /// The lab's path.
    pub(super) base: String,
    /// Parameters every link keeps (policies, edited block, instance).
    pub(super) keep: Vec<(&'static str, &'a str)>,
    /// The replayed range and step.
    pub(super) range: (Timestamp, Timestamp, Duration),
    /// The incidents given so far.
    pub(super) incidents: &'a [Incident],
    /// A start clicked, its end not yet.
    pub(super) pending: Option<Timestamp>,
}

impl Marking<'_> {
    /// The lab's URL with this state, `incidents` and a pending mark.
    fn href(&self, incidents: &[Incident], mark: Option<Timestamp>) -> String {
        let (start, end, step) = self.range;
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.keep {
            q.append_pair(k, v);
        }
        q.append_pair("start", &time::format(start));
        q.append_pair("end", &time::format(end));
        q.append_pair("step", &step.to_string());
        if !incidents.is_empty() {
            q.append_pair("incidents", &incidents_yaml(incidents));
        }
        if let Some(m) = mark {
            q.append_pair("mark", &time::format(m));
        }
        format!("{}?{}#marking", self.base, q.finish())
    }

    /// The slots' width: whole steps, at most [`MAX_SLOTS`] slots.
    fn width(&self) -> i64 {
        let (start, end, step) = self.range;
        let step = (step.as_millis() as i64).max(1);
        let steps = ((end - start).max(1) + step - 1) / step;
        let per = (steps as usize).div_ceil(MAX_SLOTS).max(1) as i64;
        per * step
    }

    /// The strip, what to click next, and each marked incident with a
    /// link removing it.
    pub(super) fn section(&self) -> String {
        let (start, end, _) = self.range;
        let w = self.width();
        let mut slots = Vec::new();
        let mut s = start;
        while s < end {
            let e = (s + w).min(end);
            let (href, label) = match self.pending {
                None => (
                    self.href(self.incidents, Some(s)),
                    format!("Mark an incident starting at {}", time::format(s)),
                ),
                Some(m) => {
                    // The incident spans both clicked slots, whichever
                    // came first.
                    let (from, to) = (m.min(s), (m + w).min(end).max(e));
                    let mut list = self.incidents.to_vec();
                    list.push(Incident::new(from, to, None));
                    (
                        self.href(&list, None),
                        format!(
                            "Mark the incident from {} to {}",
                            time::format(from),
                            time::format(to)
                        ),
                    )
                }
            };
            slots.push(svg::Link {
                start: s,
                end: e,
                href,
                label,
                class: "slot",
            });
            s = e;
        }
        let mut marked = Vec::new();
        let mut removes = String::new();
        for (n, i) in self.incidents.iter().enumerate() {
            let mut rest = self.incidents.to_vec();
            rest.remove(n);
            let href = self.href(&rest, self.pending);
            let label = format!(
                "Remove the incident from {} to {}",
                time::format(i.start),
                time::format(i.end)
            );
            let _ = writeln!(
                removes,
                "<li><time>{}</time> → <time>{}</time> <a class=\"remove\" href=\"{}\">remove</a></li>",
                time::format(i.start),
                time::format(i.end),
                esc(&href)
            );
            marked.push(svg::Link {
                start: i.start,
                end: i.end,
                href,
                label,
                class: "marked",
            });
        }
        let mut b = String::from("<section id=\"marking\" aria-label=\"Mark incidents\">\n");
        match self.pending {
            None => {
                let _ = writeln!(
                    b,
                    "<p class=\"meta\">Mark an incident on the graph: click its start, then its end (or Tab to a slot and press Enter). Every policy is then scored against the incidents marked.</p>"
                );
            }
            Some(m) => {
                marked.push(svg::Link {
                    start: m,
                    end: (m + w).min(end),
                    href: self.href(self.incidents, None),
                    label: format!("Cancel the start marked at {}", time::format(m)),
                    class: "pending",
                });
                let _ = writeln!(
                    b,
                    "<p class=\"pending-mark\" role=\"status\"><strong>Incident start marked at <time>{}</time>: click its end.</strong> <a href=\"{}\">cancel</a></p>",
                    time::format(m),
                    esc(&self.href(self.incidents, None))
                );
            }
        }
        b.push_str(&svg::link_strip(
            "Mark incidents: click a start, then an end",
            &marked,
            &slots,
            (start, end),
        ));
        if !removes.is_empty() {
            let _ = writeln!(
                b,
                "<ul class=\"marked-incidents\" aria-label=\"Incidents marked\">\n{removes}</ul>"
            );
        }
        b.push_str("</section>\n");
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_yaml_reads_back_to_the_same_incidents() {
        let mut odd = Incident::new(1_000, 61_000, Some(slo_core::policy::Severity::Page));
        odd.service = Some("check\"out: #1".to_owned());
        odd.description = Some("a: b\n- c 'd' \\ é".to_owned());
        odd.labels
            .insert("region".to_owned(), "eu: west".to_owned());
        let list = vec![Incident::new(0, 120_000, None), odd];
        let back = slo_core::incident::load_str(&incidents_yaml(&list))
            .unwrap_or_else(|d| panic!("{}", d[0]));
        assert_eq!(back, list);
    }

    #[test]
    fn a_mark_outside_the_range_or_unparseable_is_an_error_naming_it() {
        let range = (1_000_000, 2_000_000);
        assert_eq!(pending(None, range), Ok(None));
        assert_eq!(pending(Some("1500"), range), Ok(Some(1_500_000)));
        let late = pending(Some("2001"), range).err().unwrap_or_default();
        assert!(late.contains("mark=\"2001\" is outside"), "{late}");
        let bad = pending(Some("soon"), range).err().unwrap_or_default();
        assert!(bad.contains("not an RFC 3339 time"), "{bad}");
    }
}
