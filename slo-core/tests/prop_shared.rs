//! Shared queries answer each SLO as its own query would: for random fleets
//! of SLOs over random series, every SLO's own query evaluated over the
//! series equals its share of the shared query's answer
//! (`shared::Shared::split`), series for series. The queries are evaluated
//! by a small evaluator of the PromQL subset the SLI queries use (`sum by`,
//! `increase`/`rate` of a selector, `a - b` matched on all labels), with
//! `promql-parser` reading the text: each series' value stands for its
//! rate (an increase is it times the range), per series as in Prometheus.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::parser::{self, Expr};
use proptest::prelude::*;
use slo_core::evaluation::{self, Part};
use slo_core::shared::{self, Limits};
use slo_core::spec::{Labels, Slo};

type Series = Vec<(Labels, f64)>;

/// The value of `expr` over `data` (each series' labels, with `__name__`,
/// and its increase).
fn eval(expr: &Expr, data: &Series) -> Series {
    match expr {
        Expr::Paren(p) => eval(&p.expr, data),
        Expr::Aggregate(a) => {
            assert_eq!(a.op.to_string(), "sum", "{expr}");
            let by: Vec<String> = a
                .modifier
                .as_ref()
                .map(|m| m.labels().labels.clone())
                .unwrap_or_default();
            let mut sums: BTreeMap<Labels, f64> = BTreeMap::new();
            for (labels, v) in eval(&a.expr, data) {
                let key: Labels = labels.into_iter().filter(|(k, _)| by.contains(k)).collect();
                *sums.entry(key).or_default() += v;
            }
            sums.into_iter().collect()
        }
        Expr::Call(c) => {
            assert!(
                ["increase", "rate"].contains(&c.func.name),
                "{}",
                c.func.name
            );
            let Some(Expr::MatrixSelector(m)) = c.args.args.first().map(|a| a.as_ref()) else {
                panic!("{expr}")
            };
            let vs = &m.vs;
            // Each series' value is its rate: an increase is that over the
            // range, so a query over another window reads another number.
            let over = if c.func.name == "increase" {
                m.range.as_secs_f64()
            } else {
                1.0
            };
            data.iter()
                .filter(|(labels, _)| {
                    vs.name
                        .as_ref()
                        .is_none_or(|n| labels.get("__name__") == Some(n))
                        && vs
                            .matchers
                            .matchers
                            .iter()
                            .all(|mt| mt.is_match(labels.get(&mt.name).map_or("", String::as_str)))
                })
                .map(|(labels, v)| {
                    let mut l = labels.clone();
                    l.remove("__name__");
                    (l, v * over)
                })
                .collect()
        }
        Expr::Binary(b) => {
            assert_eq!(b.op.to_string(), "-", "{expr}");
            assert!(b.modifier.is_none(), "{expr}");
            let right: BTreeMap<Labels, f64> = eval(&b.rhs, data).into_iter().collect();
            eval(&b.lhs, data)
                .into_iter()
                .filter_map(|(l, v)| right.get(&l).map(|r| (l, v - r)))
                .collect()
        }
        other => panic!("not in the subset: {other}"),
    }
}

fn run(query: &str, data: &Series) -> Series {
    let expr = parser::parse(query).unwrap_or_else(|e| panic!("{e}\n{query}"));
    let mut out = eval(&expr, data);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

const SERVICES: [&str; 4] = ["cart", "checkout", "a.b", "x|y"];

/// One SLO of the fleet: which service it selects (or none), its kind and
/// grouping.
#[derive(Clone, Debug)]
struct Member {
    service: Option<usize>,
    kind: u8,
    group_by: u8,
    tenant: bool,
    long_period: bool,
}

fn member() -> impl Strategy<Value = Member> {
    (
        prop::option::weighted(0.85, 0..SERVICES.len()),
        0u8..3,
        0u8..3,
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(service, kind, group_by, tenant, long_period)| Member {
            service,
            kind,
            group_by,
            tenant,
            long_period,
        })
}

fn yaml(fleet: &[Member]) -> String {
    let mut y = "version: slo/v1\nservice: fleet\nslos:\n".to_owned();
    for (i, m) in fleet.iter().enumerate() {
        let mut matchers: Vec<String> = Vec::new();
        if let Some(s) = m.service {
            matchers.push(format!("service=\"{}\"", SERVICES[s]));
        }
        if m.tenant {
            matchers.push("tenant=\"t1\"".to_owned());
        }
        let base = matchers.join(",");
        let with = |extra: &str| {
            let all: Vec<&str> = [base.as_str(), extra]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            format!("{{{}}}", all.join(","))
        };
        let group_by = match m.group_by {
            0 => "[]",
            1 => "[route]",
            _ => "[service]",
        };
        let sli = match m.kind {
            0 => format!(
                "ratio: {{errors: 'req_total{}', total: 'req_total{}', group_by: {group_by}}}",
                with("code=~\"5..\""),
                with("")
            ),
            1 => format!(
                "ratio: {{good: 'req_total{}', total: 'req_total{}', group_by: {group_by}}}",
                with("code=\"200\""),
                with("")
            ),
            _ => format!(
                "latency: {{histogram: lat, selector: '{}', threshold: 0.3, group_by: {group_by}}}",
                with("")
            ),
        };
        let period = if m.long_period { "30d" } else { "28d" };
        y.push_str(&format!(
            "  - name: s{i}\n    objective: 99\n    period: {period}\n    sli:\n      {sli}\n"
        ));
    }
    y
}

/// Random counters: requests by service, tenant, route and code, and a
/// latency histogram with buckets and a count, some series without a
/// service.
fn data() -> impl Strategy<Value = Series> {
    let one = (
        prop::option::weighted(0.9, 0..SERVICES.len()),
        any::<bool>(),
        0usize..2,
        0u32..1000,
        0u32..1000,
    );
    prop::collection::vec(one, 1..12).prop_map(|rows| {
        let mut out = Series::new();
        for (service, tenant, route, ok, bad) in rows {
            let mut base = Labels::new();
            if let Some(s) = service {
                base.insert("service".into(), SERVICES[s].into());
            }
            base.insert("tenant".into(), if tenant { "t1" } else { "t2" }.into());
            base.insert("route".into(), format!("r{route}"));
            let with = |pairs: &[(&str, &str)]| {
                let mut l = base.clone();
                for (k, v) in pairs {
                    l.insert((*k).into(), (*v).into());
                }
                l
            };
            out.push((
                with(&[("__name__", "req_total"), ("code", "200")]),
                f64::from(ok),
            ));
            out.push((
                with(&[("__name__", "req_total"), ("code", "503")]),
                f64::from(bad),
            ));
            let total = f64::from(ok + bad);
            for (le, share) in [("0.1", 0.5), ("0.3", 0.8), ("+Inf", 1.0)] {
                out.push((
                    with(&[("__name__", "lat_bucket"), ("le", le)]),
                    (total * share).floor(),
                ));
            }
            out.push((with(&[("__name__", "lat_count")]), total));
        }
        out
    })
}

fn close(a: &Series, b: &Series) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((la, va), (lb, vb))| la == lb && (va - vb).abs() <= 1e-9 * va.abs().max(1.0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Each SLO's share of the shared answers equals its own queries'
    /// answers, every query of every SLO is read exactly once, and sharing
    /// never asks more queries than asking alone.
    #[test]
    fn shared_answers_equal_own_answers(
        fleet in prop::collection::vec(member(), 1..9),
        data in data(),
        readers in 1usize..5,
    ) {
        let spec = slo_core::load::load_str(&yaml(&fleet)).unwrap_or_else(|d| panic!("{d:?}"));
        let slos: Vec<&Slo> = spec.slos.iter().collect();
        let queries = |slo: &Slo| evaluation::queries(slo, true);
        let plan = shared::plan(&slos, queries, Limits { readers, bytes: 1 << 16 });
        let own: usize = slos.iter().map(|s| queries(s).len()).sum();
        prop_assert!(plan.len() <= own, "{} shared, {own} own", plan.len());
        let mut read: BTreeSet<(usize, Part)> = BTreeSet::new();
        for query in &plan {
            prop_assert!(query.readers.len() <= readers.max(1) || query.keys.is_empty());
            let answer = run(&query.text, &data);
            for (reader, mine) in query.readers.iter().zip(query.split(answer)) {
                prop_assert!(read.insert((reader.slo, reader.part.clone())), "read twice");
                let alone = run(&reader.own, &data);
                let mut mine = mine;
                mine.sort_by(|a, b| a.0.cmp(&b.0));
                prop_assert!(
                    close(&alone, &mine),
                    "{}\nown: {}\n{alone:?}\nshared: {}\n{mine:?}",
                    slos[reader.slo].name, reader.own, query.text
                );
            }
        }
        prop_assert_eq!(read.len(), own);
    }

    /// With nothing shared, the plan is every SLO's own queries, in order.
    #[test]
    fn nothing_shared_is_every_query_alone(fleet in prop::collection::vec(member(), 1..6)) {
        let spec = slo_core::load::load_str(&yaml(&fleet)).unwrap_or_else(|d| panic!("{d:?}"));
        let slos: Vec<&Slo> = spec.slos.iter().collect();
        let queries = |slo: &Slo| evaluation::queries(slo, false);
        let plan = shared::plan(&slos, queries, Limits::NONE);
        let own: Vec<String> = slos.iter().flat_map(|s| queries(s)).map(|(_, t)| t).collect();
        let asked: Vec<String> = plan.iter().map(|s| s.text.clone()).collect();
        prop_assert_eq!(asked, own);
        prop_assert!(plan.iter().all(shared::Shared::alone));
    }
}

/// A fleet of one shape shares one query per window and part, whatever
/// its size within the limits; past them, a query per chunk.
#[test]
fn a_fleet_of_one_shape_asks_one_query_per_part() {
    let fleet: Vec<Member> = (0..SERVICES.len())
        .map(|s| Member {
            service: Some(s),
            kind: 0,
            group_by: 0,
            tenant: false,
            long_period: false,
        })
        .collect();
    let spec = slo_core::load::load_str(&yaml(&fleet)).unwrap_or_else(|d| panic!("{d:?}"));
    let slos: Vec<&Slo> = spec.slos.iter().collect();
    let queries = |slo: &Slo| evaluation::queries(slo, false);
    let per_slo = queries(slos[0]).len();
    assert_eq!(
        shared::plan(&slos, queries, Limits::default()).len(),
        per_slo
    );
    let two = Limits {
        readers: 2,
        ..Limits::default()
    };
    assert_eq!(shared::plan(&slos, queries, two).len(), 2 * per_slo);
}
