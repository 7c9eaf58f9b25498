//! Queries shared by SLOs of one shape: one query answers many SLOs.
//!
//! Fleets of SLOs are mostly one SLO written many times over the same
//! metric, told apart by a label: `http_requests_total{service="a"}`,
//! `{service="b"}`... Asking each SLO's windows on its own costs the TSDB
//! a query per SLO and window, most of it per-query overhead. Here the SLOs
//! whose queries differ only in the values of equality matchers on the same
//! labels (the *key* labels: `service`) share one query per window, with
//! the values as one regex and the key labels added to the grouping:
//! `sum by (service) (increase(x{service=~"a|b"}[5m]))`. Each SLO then
//! reads its own series back ([`Shared::split`]): those carrying its key
//! values, the key labels dropped where its `group_by` has none. As every
//! series an SLO selects carries its key value, and no other SLO's series
//! does, the sums are the SLO's own query's, series for series.
//!
//! Only `ratio` and `latency` SLIs are shared this way (their queries are
//! built from selectors); the others' queries are shared only with SLOs
//! asking the very same text. A key label is one with an equality matcher
//! of the same non-empty value in every selector of the SLI and not in its
//! `group_by`. A shared query is bounded ([`Limits`]); each reader keeps
//! its own query ([`Reader::own`]) for the caller to ask alone when the
//! shared one is refused, so one SLO never fails another.
//!
//! ```
//! use slo_core::evaluation::{self, Part};
//! use slo_core::shared::{self, Limits};
//! use slo_core::spec::Labels;
//!
//! let spec = slo_core::load::load_str(r#"
//! version: slo/v1
//! service: shop
//! slos:
//!   - name: cart
//!     objective: 99.9
//!     sli:
//!       ratio:
//!         errors: http_requests_total{service="cart",code=~"5.."}
//!         total: http_requests_total{service="cart"}
//!   - name: checkout
//!     objective: 99.5
//!     sli:
//!       ratio:
//!         errors: http_requests_total{service="checkout",code=~"5.."}
//!         total: http_requests_total{service="checkout"}
//! "#).map_err(|d| d[0].to_string())?;
//! let slos: Vec<_> = spec.slos.iter().collect();
//! let queries = |slo: &slo_core::spec::Slo| evaluation::queries(slo, false);
//! let plan = shared::plan(&slos, queries, Limits::default());
//! // Both SLOs' queries, one per window and part instead of two.
//! assert_eq!(plan.len(), evaluation::query_count(slos[0], false));
//! let bad_5m = plan
//!     .iter()
//!     .find(|s| s.readers[0].part == Part::Bad("5m".parse().unwrap()))
//!     .unwrap();
//! assert_eq!(
//!     bad_5m.text,
//!     r#"sum by (service) (increase(http_requests_total{code=~"5..",service=~"cart|checkout"}[5m]))"#,
//! );
//! // The answer, split back: each SLO its own series, without the key.
//! let series = |service: &str, v: f64| {
//!     (Labels::from([("service".to_owned(), service.to_owned())]), v)
//! };
//! let split = bad_5m.split(vec![series("cart", 3.0), series("checkout", 7.0)]);
//! assert_eq!(split[0], vec![(Labels::new(), 3.0)]);
//! assert_eq!(split[1], vec![(Labels::new(), 7.0)]);
//! # Ok::<(), String>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::bucket::regex_escape;
use crate::evaluation::Part;
use crate::promql;
use crate::selector::{MatchOp, Selector};
use crate::spec::{Counted, Labels, LatencySli, RatioSli, Sli, Slo};

/// Bounds of one shared query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most SLOs reading one shared query (1: nothing is shared, see
    /// [`Limits::NONE`]).
    pub readers: usize,
    /// Most bytes of key values in one shared query's regexes.
    pub bytes: usize,
}

impl Limits {
    /// Nothing shared: every query of every SLO asked on its own.
    pub const NONE: Limits = Limits {
        readers: 1,
        bytes: 0,
    };
}

impl Default for Limits {
    /// 1,000 readers and 64 KiB of values: a fleet of a few thousand SLOs
    /// in a few queries per window, each well under what a TSDB accepts in
    /// a request.
    fn default() -> Self {
        Self {
            readers: 1_000,
            bytes: 64 * 1024,
        }
    }
}

/// A query to ask, and the SLOs that read its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    /// The PromQL.
    pub text: String,
    /// The key labels whose values tell the readers' series apart (empty:
    /// every reader reads the whole answer).
    pub keys: Vec<String>,
    /// Who reads the answer, each with its part.
    pub readers: Vec<Reader>,
}

/// One SLO's query answered by a [`Shared`] one.
#[derive(Clone, Debug, PartialEq)]
pub struct Reader {
    /// The SLO's index in the list planned.
    pub slo: usize,
    /// Which of its queries this is.
    pub part: Part,
    /// Its own query, to ask alone when the shared one is refused.
    pub own: String,
    /// Its values of the shared query's key labels, in their order.
    values: Vec<String>,
    /// Key labels to drop from its series (not in its `group_by`).
    drop: Vec<String>,
}

impl Shared {
    /// True when this query is one SLO's own, shared with nobody.
    pub fn alone(&self) -> bool {
        self.readers.len() == 1 && self.keys.is_empty()
    }

    /// Each reader's series of `answer` (the shared query's), in reader
    /// order: the series carrying the reader's key values, the key labels
    /// not in its `group_by` dropped. A series of no reader is left out.
    /// The values are whatever the answer holds per series: an instant
    /// query's number, a range query's points. The answer is taken, not
    /// copied: a range answer for a fleet is megabytes, and a series is
    /// cloned only for a second reader of the same values.
    pub fn split<T: Clone>(&self, answer: Vec<(Labels, T)>) -> Vec<Vec<(Labels, T)>> {
        let mut out: Vec<Vec<(Labels, T)>> = self.readers.iter().map(|_| Vec::new()).collect();
        if self.keys.is_empty() {
            if let Some((last, rest)) = out.split_last_mut() {
                for list in rest {
                    list.extend_from_slice(&answer);
                }
                *last = answer;
            }
            return out;
        }
        let mut by_values: BTreeMap<&[String], Vec<usize>> = BTreeMap::new();
        for (r, reader) in self.readers.iter().enumerate() {
            by_values.entry(&reader.values).or_default().push(r);
        }
        let mut values: Vec<String> = Vec::with_capacity(self.keys.len());
        for (labels, v) in answer {
            values.clear();
            values.extend(
                self.keys
                    .iter()
                    .map(|k| labels.get(k).cloned().unwrap_or_default()),
            );
            let Some((&last, rest)) = by_values
                .get(values.as_slice())
                .and_then(|r| r.split_last())
            else {
                continue;
            };
            let own = |r: usize, mut labels: Labels| {
                for d in &self.readers[r].drop {
                    labels.remove(d);
                }
                labels
            };
            for &r in rest {
                out[r].push((own(r, labels.clone()), v.clone()));
            }
            out[last].push((own(last, labels), v));
        }
        out
    }
}

/// The queries `queries_of` gives for each SLO of `slos`, shared where
/// SLOs have one shape (see the [module docs](self)): every query of every
/// SLO is read by exactly one [`Shared`] query's [`Reader`]. `limits`
/// bounds each shared query.
pub fn plan(
    slos: &[&Slo],
    queries_of: impl Fn(&Slo) -> Vec<(Part, String)>,
    limits: Limits,
) -> Vec<Shared> {
    /// Queries of one shape (or one text), and the key labels.
    type Group = (String, Vec<String>);
    let mut groups: BTreeMap<Group, Vec<Member>> = BTreeMap::new();
    if limits.readers <= 1 {
        return slos
            .iter()
            .enumerate()
            .flat_map(|(i, slo)| {
                queries_of(slo).into_iter().map(move |(part, text)| Shared {
                    text: text.clone(),
                    keys: Vec::new(),
                    readers: vec![Reader {
                        slo: i,
                        part,
                        own: text,
                        values: Vec::new(),
                        drop: Vec::new(),
                    }],
                })
            })
            .collect();
    }
    for (i, slo) in slos.iter().enumerate() {
        let own = queries_of(slo);
        // An SLO's query of a part is a function of its SLI, the part and
        // (for the period's) its period: SLOs whose SLIs are one without
        // their key matchers ask one query per part, told apart by keys.
        // (The NUL keeps these apart from query texts, which hold none.)
        let shape = shape(&slo.sli).map(|(normal, keys)| (format!("\0{normal:?}\0"), keys));
        for (part, text) in own {
            // The period matters to the period's queries only: SLOs of 28d
            // and 30d still share their windows.
            let period = matches!(part, Part::PeriodBad | Part::PeriodTotal).then_some(slo.period);
            let (group, values) = match &shape {
                Some((normal, keys)) => (
                    (
                        format!("{normal}{part:?}\0{period:?}"),
                        keys.iter().map(|(k, _)| k.clone()).collect(),
                    ),
                    keys.iter().map(|(_, v)| v.clone()).collect(),
                ),
                None => ((text.clone(), Vec::new()), Vec::new()),
            };
            groups
                .entry(group)
                .or_default()
                .push((i, part, text, values));
        }
    }
    let mut out = Vec::new();
    for ((_, keys), mut members) in groups {
        if keys.is_empty() {
            // The same text: asked once, whoever asks it.
            let text = members[0].2.clone();
            out.push(Shared {
                text,
                keys,
                readers: members
                    .into_iter()
                    .map(|(slo, part, own, _)| Reader {
                        slo,
                        part,
                        own,
                        values: Vec::new(),
                        drop: Vec::new(),
                    })
                    .collect(),
            });
            continue;
        }
        members.sort_by(|a, b| a.3.cmp(&b.3).then(a.0.cmp(&b.0)));
        for chunk in chunks(&members, limits) {
            out.push(share(slos, &queries_of, &keys, chunk));
        }
    }
    out
}

/// A query of a group: the SLO, its part, its own query, its key values.
type Member = (usize, Part, String, Vec<String>);

/// `members` (sorted by key values) cut into runs within `limits`: at most
/// `limits.readers` each, and `limits.bytes` of distinct key values.
fn chunks(members: &[Member], limits: Limits) -> Vec<&[Member]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (k, m) in members.iter().enumerate() {
        let size: usize = m.3.iter().map(|v| v.len() + 1).sum();
        let count = k - start;
        if count > 0 && (count >= limits.readers.max(1) || bytes + size > limits.bytes) {
            out.push(&members[start..k]);
            start = k;
            bytes = 0;
        }
        bytes += size;
    }
    if start < members.len() {
        out.push(&members[start..]);
    }
    out
}

/// One shared query for `members` (of one group, key labels `keys`): the
/// first member's query with the key matchers replaced by regexes of every
/// member's values, grouped by the key labels too. A single member keeps
/// its own query.
fn share(
    slos: &[&Slo],
    queries_of: &impl Fn(&Slo) -> Vec<(Part, String)>,
    keys: &[String],
    members: &[Member],
) -> Shared {
    let reader = |(slo, part, own, values): &Member| {
        let group_by = slos[*slo].group_by();
        Reader {
            slo: *slo,
            part: part.clone(),
            own: own.clone(),
            values: values.clone(),
            drop: keys
                .iter()
                .filter(|k| !group_by.contains(k))
                .cloned()
                .collect(),
        }
    };
    let (first, part, own, _) = &members[0];
    let text = (members.len() > 1)
        .then(|| {
            let sets: Vec<BTreeSet<&str>> = (0..keys.len())
                .map(|k| members.iter().map(|m| m.3[k].as_str()).collect())
                .collect();
            let sli = widened(&slos[*first].sli, keys, &sets)?;
            let mut slo = slos[*first].clone();
            slo.sli = sli;
            queries_of(&slo)
                .into_iter()
                .find(|(p, _)| p == part)
                .map(|(_, t)| t)
        })
        .flatten();
    match text {
        Some(text) => Shared {
            text,
            keys: keys.to_vec(),
            readers: members.iter().map(reader).collect(),
        },
        // Alone (or, never expected, not rebuilt): its own query, whole.
        None => Shared {
            text: own.clone(),
            keys: Vec::new(),
            readers: vec![Reader {
                values: Vec::new(),
                drop: Vec::new(),
                ..reader(&members[0])
            }],
        },
    }
}

/// The selectors of a ratio or latency SLI, parsed (`None` for other SLIs
/// or a selector this module does not read).
fn selectors(sli: &Sli) -> Option<Vec<Selector>> {
    match sli {
        Sli::Ratio(r) => {
            let counted = match &r.counted {
                Counted::Errors(s) | Counted::Good(s) => s,
            };
            Some(vec![
                Selector::terms(counted).ok()?,
                Selector::terms(&r.total).ok()?,
            ])
        }
        Sli::Latency(l) => Some(vec![Selector::terms(&l.selector).ok()?]),
        Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => None,
    }
}

/// `sli` with its selectors rewritten by `f`, and `extra` labels added to
/// its `group_by`.
fn rewritten(sli: &Sli, extra: &[String], f: impl Fn(&Selector) -> String) -> Option<Sli> {
    let sels = selectors(sli)?;
    let grouped = |group_by: &[String]| {
        let mut g = group_by.to_vec();
        g.extend(extra.iter().filter(|k| !group_by.contains(k)).cloned());
        g
    };
    Some(match sli {
        Sli::Ratio(r) => Sli::Ratio(RatioSli {
            counted: match &r.counted {
                Counted::Errors(_) => Counted::Errors(f(&sels[0])),
                Counted::Good(_) => Counted::Good(f(&sels[0])),
            },
            total: f(&sels[1]),
            group_by: grouped(&r.group_by),
        }),
        Sli::Latency(l) => Sli::Latency(LatencySli {
            histogram: l.histogram.clone(),
            selector: f(&sels[0]),
            threshold: l.threshold,
            group_by: grouped(&l.group_by),
        }),
        Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => return None,
    })
}

/// The shape of `sli`: the SLI without its key matchers, and its key
/// labels with their values (sorted by label). `None` for SLIs not
/// shared by shape.
fn shape(sli: &Sli) -> Option<(Sli, Vec<(String, String)>)> {
    let sels = selectors(sli)?;
    let group_by = match sli {
        Sli::Ratio(r) => &r.group_by,
        Sli::Latency(l) => &l.group_by,
        Sli::Events(_) | Sli::Raw(_) | Sli::Slices(_) => return None,
    };
    let equal = |sel: &Selector, label: &str| -> BTreeSet<String> {
        sel.matchers
            .iter()
            .filter(|m| m.op == MatchOp::Equal && m.label == label)
            .map(|m| m.value.clone())
            .collect()
    };
    let labels: BTreeSet<&str> = sels[0].matchers.iter().map(|m| m.label.as_str()).collect();
    let keys: Vec<(String, String)> = labels
        .into_iter()
        .filter(|l| *l != "__name__" && !group_by.iter().any(|g| g == l))
        .filter_map(|l| {
            let values = equal(&sels[0], l);
            let value = values.iter().next().filter(|_| values.len() == 1)?;
            (!value.is_empty() && sels.iter().all(|s| equal(s, l) == values))
                .then(|| (l.to_owned(), value.clone()))
        })
        .collect();
    let normal = rewritten(sli, &[], |sel| render(sel, &keys, None))?;
    Some((normal, keys))
}

/// `sli` with each key label's equality matcher replaced by a regex of
/// `sets` (one set of values per key), grouped by the keys too.
fn widened(sli: &Sli, keys: &[String], sets: &[BTreeSet<&str>]) -> Option<Sli> {
    let own: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), String::new())).collect();
    let regexes: Vec<(String, String)> = keys
        .iter()
        .zip(sets)
        .map(|(k, set)| {
            let alternatives: Vec<String> = set.iter().map(|v| regex_escape(v)).collect();
            (k.clone(), alternatives.join("|"))
        })
        .collect();
    rewritten(sli, keys, |sel| render(sel, &own, Some(&regexes)))
}

/// `sel` as PromQL without the equality matchers of `keys`' labels, and
/// with `regexes` (label, regex) added at the end.
fn render(
    sel: &Selector,
    keys: &[(String, String)],
    regexes: Option<&[(String, String)]>,
) -> String {
    let mut parts: Vec<String> = sel
        .matchers
        .iter()
        .filter(|m| !(m.op == MatchOp::Equal && keys.iter().any(|(k, _)| *k == m.label)))
        .map(|m| format!("{}{}{}", m.label, m.op.as_str(), promql::quote(&m.value)))
        .collect();
    for (label, regex) in regexes.unwrap_or_default() {
        parts.push(format!("{label}=~{}", promql::quote(regex)));
    }
    let metric = sel.metric.as_deref().unwrap_or("");
    if parts.is_empty() && !metric.is_empty() {
        metric.to_owned()
    } else {
        format!("{metric}{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_values_match_only_themselves() {
        for v in ["a.b", "x|y", "(1)", "c++", "$^", "back\\slash", "plain"] {
            let re = regex::Regex::new(&format!("^(?:{})$", regex_escape(v)))
                .unwrap_or_else(|e| panic!("{v}: {e}"));
            assert!(re.is_match(v), "{v}");
            assert!(!re.is_match(&format!("{v}x")), "{v}");
        }
        assert!(
            !regex::Regex::new(&format!("^(?:{})$", regex_escape("a.b")))
                .map(|r| r.is_match("axb"))
                .unwrap_or(true)
        );
    }
}
