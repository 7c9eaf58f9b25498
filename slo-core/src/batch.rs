//! Many instant queries in one request: each query's result is tagged with
//! its index by `label_replace` and the tagged results joined with `or`, so
//! one evaluation returns every query's series, told apart by the label
//! [`QUERY_LABEL`]. A TSDB answers one HTTP request instead of hundreds.
//! The caller bounds a batch ([`pack`]) and, when a batch fails because
//! of one query in it, splits it to isolate that query.
//!
//! ```
//! use slo_core::batch::{self, QUERY_LABEL};
//! use slo_core::spec::Labels;
//!
//! let queries = ["sum(increase(a[5m]))", "sum(increase(b[5m]))"];
//! let expr = batch::combine(&queries);
//! assert!(expr.contains(" or "));
//! // What a series of the answer says: query 1, labels without the tag.
//! let mut labels = Labels::from([(QUERY_LABEL.to_owned(), "1".to_owned())]);
//! assert_eq!(batch::untag(&mut labels), Some(1));
//! assert!(labels.is_empty());
//! // One query alone is sent as it is.
//! assert_eq!(batch::combine(&queries[..1]), queries[0]);
//! ```

use std::ops::Range;

use crate::spec::Labels;

/// The label that tells the queries of a batch apart in its answer.
pub const QUERY_LABEL: &str = "slo_eval_query";

/// One expression asking every query of `queries`: each wrapped as
/// `label_replace((q), "slo_eval_query", "<i>", "", "")` (the empty regex
/// matches every series, so each gets the tag), joined by `or` (series
/// with different tags never collide) as a balanced tree: a chain
/// `a or b or c ...` makes each `or` re-read every series before it, so
/// its cost grows with the square of the batch; a tree's with `n log n`.
/// A single query is returned as is, so a scalar or an expression
/// `label_replace` rejects still works alone.
pub fn combine(queries: &[&str]) -> String {
    if let [only] = queries {
        return (*only).to_owned();
    }
    let tagged: Vec<String> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| format!("label_replace(({q}), \"{QUERY_LABEL}\", \"{i}\", \"\", \"\")"))
        .collect();
    tree(&tagged)
}

/// `a or b` over halves, down to single expressions.
fn tree(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            let side = |p: &[String]| {
                if p.len() == 1 {
                    tree(p)
                } else {
                    format!("({})", tree(p))
                }
            };
            format!("{} or {}", side(left), side(right))
        }
    }
}

/// Removes the tag from a series' labels and returns the index of the query
/// it answers (`None` without a tag, or a tag that is no index).
pub fn untag(labels: &mut Labels) -> Option<usize> {
    labels.remove(QUERY_LABEL)?.parse().ok()
}

/// Cuts `queries` into consecutive batches of at most `max_queries` queries
/// and, unless a query is longer alone, at most `max_bytes` of combined
/// expression each. `max_queries` 0 or 1: one query per batch.
pub fn pack(queries: &[&str], max_queries: usize, max_bytes: usize) -> Vec<Range<usize>> {
    // What each query adds to a combined expression: its wrapper and `or`.
    const OVERHEAD: usize = 48;
    let max_queries = max_queries.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, q) in queries.iter().enumerate() {
        let size = q.len() + OVERHEAD;
        if i > start && (i - start >= max_queries || bytes + size > max_bytes) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < queries.len() {
        out.push(start..queries.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_both_bounds_and_cover_every_query_once() {
        let long = "x".repeat(1000);
        let queries: Vec<&str> = (0..10)
            .map(|i| if i == 4 { long.as_str() } else { "up" })
            .collect();
        let batches = pack(&queries, 3, 600);
        let covered: Vec<usize> = batches.iter().flat_map(|r| r.clone()).collect();
        assert_eq!(covered, (0..10).collect::<Vec<_>>());
        assert!(batches.iter().all(|r| r.len() <= 3));
        // The long query is alone: too big for any batch, never dropped.
        assert!(batches.contains(&(4..5)));
        assert_eq!(pack(&queries, 0, 0).len(), 10);
        assert!(pack(&[], 5, 100).is_empty());
    }

    /// Nesting grows with the logarithm of the batch: 400 queries are 9
    /// levels deep, not 399.
    #[test]
    fn the_or_tree_is_balanced() {
        let queries: Vec<String> = (0..400).map(|i| format!("up{{i=\"{i}\"}}")).collect();
        let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
        let expr = combine(&refs);
        let mut depth: i32 = 0;
        let mut deepest = 0;
        for c in expr.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            deepest = deepest.max(depth);
        }
        // label_replace((q)) adds 2 levels, the tree at most 9.
        assert!(deepest <= 11, "{deepest}");
        assert_eq!(expr.matches(" or ").count(), 399);
        assert!(promql_parser::parser::parse(&expr).is_ok());
        for i in [0, 199, 399] {
            assert!(expr.contains(&format!("\"{QUERY_LABEL}\", \"{i}\"")));
        }
    }

    #[test]
    fn the_combined_expression_parses_as_promql() {
        let queries = [
            "sum(rate(a[5m]))",
            "sum by (route) (increase(b{code=~\"5..\"}[1h]))",
        ];
        let expr = combine(&queries);
        assert!(promql_parser::parser::parse(&expr).is_ok(), "{expr}");
    }
}
