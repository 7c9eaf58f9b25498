//! The daemon's incremental evaluation (`evaluation: incremental`, the
//! default): per cycle, the windows up to 1h as instant queries (as in
//! direct mode), and the long windows and the period from 5m steps kept in
//! memory ([`slo_core::steps`]), the construction of the generated rules.
//! Only the steps not fetched yet are asked, as range queries
//! (`query_range`, `step=5m`) of the batched step queries: one point per
//! SLO and 5 minutes in the steady state; at start (and after a Prometheus
//! outage) a back-fill from history, a day per request, at most
//! [`FILL_CHUNKS_PER_CYCLE`] days per cycle, newest first, progress logged.
//! History older than the fine steps (beyond 3d by default) lands in hour
//! buckets anyway, so it is asked an hour at a time (`increase(...[1h])`,
//! `step=1h`): a 30d period's 27 older days are one range query per batch
//! instead of 27 of twelve times the points.
//!
//! Raw SLIs and `slices` SLIs keep their direct queries. The steps are
//! persisted next to the state file ([`steps_file`]), so a restart only
//! fetches the steps it missed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use slo_core::duration::Duration;
use slo_core::evaluation::{self, Part};
use slo_core::ledger::slo_id;
use slo_core::shared;
use slo_core::spec::{Labels, Slo};
use slo_core::steps::{self, BUCKET_MS, STEP_MS, Store};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::errors::{Error, QueryError};
use crate::evaluate::{self, Batching, Evaluated, SloOutcome};
use crate::prometheus::{Client, RangeSeries};

/// How long after a 5m boundary its step is fetched. A step is fetched
/// once and kept: fetched before the scrapes stamped in it are ingested
/// (a scrape is stamped when it starts and appended when it ends, within
/// its timeout, 10s by default), it would miss events for good. A minute
/// covers scrape intervals and timeouts up to a minute; the long windows
/// it delays are 6h and more.
pub const STEP_SETTLE_MS: i64 = 60_000;
/// Steps per back-fill request: a day.
pub const FILL_CHUNK_STEPS: i64 = 288;
/// Back-fill days asked per cycle (a 30d period fills in one cycle; more
/// history waits for the next ones).
pub const FILL_CHUNKS_PER_CYCLE: usize = 32;

/// The steps file beside the state file: `<state file>.steps`.
pub fn steps_file(state_file: &Path) -> PathBuf {
    let mut name = state_file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".steps");
    state_file.with_file_name(name)
}

/// Every SLO's steps, by SLO id.
#[derive(Debug, Default)]
pub struct Incremental {
    stores: BTreeMap<String, Store>,
    /// Changed since the last save.
    dirty: bool,
}

/// What the steps hold, for `/metrics` and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps not fetched yet, over every SLO.
    pub missing: usize,
    /// Instances held.
    pub instances: usize,
    /// Bytes of step values held.
    pub bytes: usize,
}

/// One back-fill request's worth: a range of steps (or of whole hour
/// buckets, `every` 1h) and the SLOs (indices) asking it.
struct Chunk {
    start: i64,
    end: i64,
    every: i64,
    slos: Vec<usize>,
}

/// Back-fill requests in flight at once (at most the configured
/// concurrency): each holds a large answer while it is decoded (a day of
/// 5m points, or a month of hours, for a batch of queries), and a
/// Prometheus on a few cores answers them no faster in parallel. The
/// daemon's memory after a back-fill is its peak during it (freed memory
/// stays with the process), so this bounds it.
pub const FILL_CONCURRENCY: usize = 2;

/// Points per series one range query may return (Prometheus refuses more
/// than 11,000).
const MAX_POINTS: i64 = 10_000;

/// Points one back-fill chunk may ask for (SLOs × steps, bad and total
/// each): a fleet's month of hours at once is tens of megabytes of JSON and
/// points, held until the chunk is answered, and the daemon's memory keeps
/// that peak (freed memory stays with the process). 25,000 is under 1 MB
/// of JSON a query: a day of 5m steps for 86 SLOs, a month of hours for 34
/// (an SLO grouped `by` labels answers a series per instance). At 1,000
/// SLOs this took the RSS after a back-fill from 67 to 59 MB, for some 40
/// more requests, once.
const FILL_POINTS: usize = 25_000;

impl Incremental {
    /// Reads the steps file; a missing one is a fresh start, a corrupt or
    /// older one is logged and refilled from Prometheus.
    pub fn load(path: &Path) -> Self {
        let read = std::fs::File::open(path).and_then(|f| Ok((f.metadata()?.len(), f)));
        let stores = match read {
            // Read through a buffer: the file is megabytes, and a copy of it
            // beside the steps it decodes to would double the start's peak.
            Ok((len, f)) => match steps::decode(std::io::BufReader::new(f), len) {
                Ok(stores) => stores,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read the steps file; refilling from Prometheus");
                    BTreeMap::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the steps file; refilling from Prometheus");
                BTreeMap::new()
            }
        };
        if !stores.is_empty() {
            tracing::info!(file = %path.display(), slos = stores.len(), "steps loaded");
        }
        Self {
            stores,
            dirty: false,
        }
    }

    /// Writes the steps atomically when they changed since the last save.
    pub fn save(&mut self, path: &Path) -> Result<(), Error> {
        if !self.dirty {
            return Ok(());
        }
        crate::state::write_atomic(path, |w| steps::encode(&self.stores, w))?;
        self.dirty = false;
        Ok(())
    }

    /// What the steps hold now.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for store in self.stores.values() {
            s.missing += store.missing().len();
            s.instances += store.instances();
            s.bytes += store.value_bytes();
        }
        s
    }

    /// Puts a store in place for each SLO that has steps, advanced to the
    /// last settled step; drops those of SLOs gone or changed.
    fn prepare(&mut self, slos: &[&Slo], now_ms: i64) {
        let ids: BTreeSet<String> = slos.iter().map(|s| slo_id(s)).collect();
        let before = self.stores.len();
        self.stores.retain(|id, _| ids.contains(id));
        self.dirty |= self.stores.len() != before;
        let head = steps::last_step(now_ms, STEP_SETTLE_MS);
        for slo in slos {
            let Some(fresh) = Store::new(slo) else {
                continue;
            };
            let store = self
                .stores
                .entry(slo_id(slo))
                .or_insert_with(|| fresh.clone());
            if store.key() != fresh.key() {
                tracing::info!(service = %slo.service, slo = %slo.name, "queries changed: its steps are fetched again");
                *store = fresh;
                self.dirty = true;
            }
            store.advance(head);
        }
    }

    /// The back-fill requests of this cycle: per day (steps `(d, d + 1d]`)
    /// each SLO's missing steps from its first to its last, SLOs asking
    /// the same range together; newest days first, at most
    /// [`FILL_CHUNKS_PER_CYCLE`] days.
    fn plan(&self, slos: &[&Slo]) -> Vec<Chunk> {
        let day = FILL_CHUNK_STEPS * STEP_MS;
        let mut by_range: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
        let mut by_buckets: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
        for (i, slo) in slos.iter().enumerate() {
            let Some(store) = self.stores.get(&slo_id(slo)) else {
                continue;
            };
            // History older than the fine steps comes an hour at a time:
            // runs of buckets never fetched, as few range queries.
            let buckets = store.missing_buckets();
            let mut run: Option<(i64, i64)> = None;
            for b in buckets.iter().copied().chain([i64::MIN]) {
                match run {
                    Some((s, e)) if b == e + BUCKET_MS && (b - s) / BUCKET_MS < MAX_POINTS => {
                        run = Some((s, b));
                    }
                    _ => {
                        if let Some(r) = run.take() {
                            by_buckets.entry(r).or_default().push(i);
                        }
                        run = (b != i64::MIN).then_some((b, b));
                    }
                }
            }
            let in_missing_bucket = |t: i64| {
                let b = (t - STEP_MS).div_euclid(BUCKET_MS) * BUCKET_MS + BUCKET_MS;
                buckets.binary_search(&b).is_ok()
            };
            let mut days: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
            for t in store
                .missing()
                .into_iter()
                .filter(|t| !in_missing_bucket(*t))
            {
                let d = (t - STEP_MS).div_euclid(day);
                let r = days.entry(d).or_insert((t, t));
                r.0 = r.0.min(t);
                r.1 = r.1.max(t);
            }
            for range in days.into_values() {
                by_range.entry(range).or_default().push(i);
            }
        }
        let days: BTreeSet<i64> = by_range
            .keys()
            .map(|(s, _)| (s - STEP_MS).div_euclid(day))
            .collect();
        let kept: BTreeSet<i64> = days.into_iter().rev().take(FILL_CHUNKS_PER_CYCLE).collect();
        let mut out: Vec<Chunk> = by_range
            .into_iter()
            .filter(|((s, _), _)| kept.contains(&(s - STEP_MS).div_euclid(day)))
            .map(|((start, end), slos)| Chunk {
                start,
                end,
                every: STEP_MS,
                slos,
            })
            .chain(by_buckets.into_iter().map(|((start, end), slos)| Chunk {
                start,
                end,
                every: BUCKET_MS,
                slos,
            }))
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.end));
        // A chunk's answers are held until all of its queries are answered:
        // at most FILL_POINTS per chunk, whether its SLOs share queries or not.
        out.into_iter()
            .flat_map(|c| {
                let points = ((c.end - c.start) / c.every + 1) as usize;
                let per = (FILL_POINTS / points).max(1);
                c.slos
                    .chunks(per)
                    .map(|slos| Chunk {
                        slos: slos.to_vec(),
                        ..c
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Fetches the planned steps and records them. Returns each SLO's
    /// first failure (its steps stay missing), the queries and requests.
    async fn fill(
        &mut self,
        client: &Arc<Client>,
        slos: &[&Slo],
        limiter: &Arc<Semaphore>,
        batching: Batching,
    ) -> (BTreeMap<usize, QueryError>, usize, usize) {
        let chunks = self.plan(slos);
        let mut failed: BTreeMap<usize, QueryError> = BTreeMap::new();
        if chunks.is_empty() {
            return (failed, 0, 0);
        }
        let backfill = chunks.iter().any(|c| c.end > c.start);
        let narrow;
        let limiter = if backfill && limiter.available_permits() > FILL_CONCURRENCY {
            narrow = Arc::new(Semaphore::new(FILL_CONCURRENCY));
            &narrow
        } else {
            limiter
        };
        let missing = self.stats().missing;
        if backfill {
            tracing::info!(
                missing_steps = missing,
                requests_at_least = chunks.len(),
                "filling steps from history"
            );
        }
        // Each range's bad and total step queries of its SLOs, shared by
        // SLOs of one shape; the ranges asked side by side.
        let mut set = JoinSet::new();
        for (c, chunk) in chunks.iter().enumerate() {
            let asking: Vec<&Slo> = chunk.slos.iter().map(|&i| slos[i]).collect();
            let bucket = chunk.every == BUCKET_MS;
            let window = Duration::from_millis(chunk.every as u64);
            let plan = shared::plan(
                &asking,
                |slo| {
                    let queries = if bucket {
                        steps::bucket_queries(slo)
                    } else {
                        steps::step_queries(slo)
                    };
                    queries.map_or_else(Vec::new, |(bad, total)| {
                        vec![(Part::Bad(window), bad), (Part::Total(window), total)]
                    })
                },
                batching.limits(),
            );
            let client = Arc::clone(client);
            let limiter = Arc::clone(limiter);
            let (start, end) = (chunk.start as f64 / 1000.0, chunk.end as f64 / 1000.0);
            let every = chunk.every as f64 / 1000.0;
            set.spawn(async move {
                let read = evaluate::ask_plan(&plan, &limiter, batching, move |q| {
                    let client = Arc::clone(&client);
                    async move { client.query_range(&q, start, end, every).await }
                })
                .await;
                (c, read)
            });
        }
        // Each range's answers are recorded as soon as its task is done, so
        // only the ranges in flight are held, not the whole back-fill.
        let mut queries = 0;
        let mut requests = 0;
        let mut done: BTreeSet<(usize, usize)> = BTreeSet::new();
        while let Some(joined) = set.join_next().await {
            let (c, read) = match joined {
                Ok(r) => r,
                // A range whose task died stays missing (see below).
                Err(e) => {
                    tracing::warn!(error = %e, "a step query task died");
                    continue;
                }
            };
            queries += read.queries;
            requests += read.requests;
            let chunk = &chunks[c];
            // Each SLO's bad and total, by its index in the chunk.
            let mut pairs: BTreeMap<usize, [Option<Vec<RangeSeries>>; 2]> = BTreeMap::new();
            for (k, part, result) in read.reads {
                let series = match result {
                    Ok(series) => series,
                    Err(e) => {
                        failed.entry(chunk.slos[k]).or_insert(e);
                        continue;
                    }
                };
                let side = usize::from(matches!(part, Part::Total(_)));
                pairs.entry(k).or_default()[side] = Some(
                    series
                        .into_iter()
                        .map(|(labels, points)| RangeSeries { labels, points })
                        .collect(),
                );
            }
            for (k, pair) in pairs {
                let [Some(bad), Some(total)] = pair else {
                    continue;
                };
                done.insert((c, k));
                self.record_answers(chunk, slos[chunk.slos[k]], bad, total);
            }
        }
        // A range whose task died leaves its SLOs' steps missing: unfilled.
        for (c, chunk) in chunks.iter().enumerate() {
            for (k, &i) in chunk.slos.iter().enumerate() {
                if !done.contains(&(c, k)) && steps::step_queries(slos[i]).is_some() {
                    failed
                        .entry(i)
                        .or_insert_with(|| QueryError::Decode("query task died".into()));
                }
            }
        }
        if backfill {
            tracing::info!(
                fetched_steps = missing - self.stats().missing,
                missing_steps = self.stats().missing,
                requests,
                "steps filled"
            );
        }
        (failed, queries, requests)
    }

    /// Records one SLO's range answers for `chunk` in its store.
    fn record_answers(
        &mut self,
        chunk: &Chunk,
        slo: &Slo,
        bad: Vec<RangeSeries>,
        total: Vec<RangeSeries>,
    ) {
        let Some(store) = self.stores.get_mut(&slo_id(slo)) else {
            return;
        };
        let group_by = slo.group_by();
        let (mut bad, mut total) = (Cursors::new(bad, group_by), Cursors::new(total, group_by));
        // Two buffers reused for every step: no allocation per point.
        let (mut b, mut v) = (Vec::new(), Vec::new());
        for t in (chunk.start..=chunk.end).step_by(chunk.every as usize) {
            bad.at(t, &mut b);
            total.at(t, &mut v);
            self.dirty |= if chunk.every == BUCKET_MS {
                store.record_bucket(t, &b, &v)
            } else {
                store.record(t, &b, &v)
            };
        }
    }

    /// Evaluates `slos` at `now_ms`: the steps missing, then the windows
    /// read raw, then each SLO assembled from both. An SLO any of whose raw
    /// queries failed fails as a whole (its alerts are held). Steps that
    /// could not be fetched stay missing, and the windows summed from them
    /// have no answer, so only the pairs reading them are held: a short
    /// pair over raw windows still pages, and a long one never reads a gap
    /// as zero. `with_period` asks the period of SLOs without steps.
    pub async fn evaluate<'a>(
        &mut self,
        client: &Arc<Client>,
        slos: &[&'a Slo],
        now_ms: i64,
        concurrency: usize,
        batching: Batching,
        with_period: bool,
    ) -> Evaluated<'a> {
        let limiter = Arc::new(Semaphore::new(concurrency.max(1)));
        let batching = batching.spread_over(concurrency);
        self.prepare(slos, now_ms);
        let (unfilled, fill_queries, fill_requests) =
            self.fill(client, slos, &limiter, batching).await;
        if let Some((&i, e)) = unfilled.iter().next() {
            tracing::warn!(
                slos = unfilled.len(),
                first = %format!("{}/{}", slos[i].service, slos[i].name),
                error = %e,
                "steps could not be fetched: the windows summed from them are held until they are"
            );
        }
        let at = Some(now_ms as f64 / 1000.0);
        let asked = evaluate::ask_instant(client, slos, at, &limiter, batching, |slo| {
            steps::raw_queries(slo, with_period)
        })
        .await;
        let outcomes = slos
            .iter()
            .zip(asked.answers)
            .map(|(slo, answers)| {
                let result = match answers {
                    Err(e) => Err(e),
                    Ok(mut answers) => {
                        if let Some(store) = self.stores.get(&slo_id(slo)) {
                            answers.extend(store.answers());
                        }
                        Ok(evaluation::assemble(slo, &answers))
                    }
                };
                SloOutcome { slo, result }
            })
            .collect();
        Evaluated {
            outcomes,
            queries: asked.queries + fill_queries,
            requests: asked.requests + fill_requests,
        }
    }
}

/// A range answer read step by step: each series' `group_by` labels (all
/// the store reads, so a point costs no copy of its series' labels), its
/// points in time order, and how far they were read.
struct Cursors(Vec<Cursor>);

/// One series: its labels, its points, the next point to read.
type Cursor = (Labels, Vec<(f64, f64)>, usize);

impl Cursors {
    fn new(series: Vec<RangeSeries>, group_by: &[String]) -> Self {
        Self(
            series
                .into_iter()
                .map(|s| {
                    let labels = s
                        .labels
                        .into_iter()
                        .filter(|(k, _)| group_by.contains(k))
                        .collect();
                    (labels, s.points, 0)
                })
                .collect(),
        )
    }

    /// The series' values at step `t` (ms) into `out`; steps are read in
    /// increasing order.
    fn at(&mut self, t: i64, out: &mut Vec<(Labels, f64)>) {
        let ms = |s: f64| (s * 1000.0).round() as i64;
        out.clear();
        for (labels, points, i) in &mut self.0 {
            while points.get(*i).is_some_and(|p| ms(p.0) < t) {
                *i += 1;
            }
            if let Some((pt, v)) = points.get(*i)
                && ms(*pt) == t
            {
                out.push((labels.clone(), *v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(errors: &str) -> Slo {
        let yaml = format!(
            "version: slo/v1\nservice: web\nslos:\n  - name: a\n    objective: 99.9\n    sli:\n      ratio: {{errors: '{errors}', total: x}}\n"
        );
        let spec = slo_core::load::load_str(&yaml).unwrap_or_else(|d| panic!("{d:?}"));
        spec.slos[0].clone()
    }

    const NOW: i64 = 1_800_000_000_000;

    /// A steps file that is garbage, cut short or of another version is a
    /// warning and a refill, never a failed start or a panic.
    #[test]
    fn a_corrupt_or_old_steps_file_is_refilled() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = steps_file(&dir.path().join("state.json"));
        assert!(path.ends_with("state.json.steps"));
        assert!(Incremental::load(&path).stores.is_empty());
        let a = slo("x{code=\"5\"}");
        let mut inc = Incremental::default();
        inc.prepare(&[&a], NOW);
        inc.dirty = true;
        inc.save(&path).unwrap_or_else(|e| panic!("{e}"));
        let good = std::fs::read(&path).unwrap_or_default();
        assert_eq!(Incremental::load(&path).stores.len(), 1);
        let mut old = good.clone();
        old[8] = 0;
        for bytes in [
            b"{\"json\": true}".to_vec(),
            good[..good.len() / 2].to_vec(),
            old,
        ] {
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
            let mut inc = Incremental::load(&path);
            assert!(inc.stores.is_empty());
            inc.prepare(&[&a], NOW);
            assert!(inc.stats().missing >= 8_640, "refilled from Prometheus");
        }
    }

    /// Steps are kept by SLO and by what their queries ask: a changed
    /// selector refetches, a removed SLO is dropped, the others are kept.
    #[test]
    fn changed_queries_drop_their_steps() {
        let (a, b) = (slo("x{code=\"5\"}"), slo("x{code=\"4\"}"));
        let mut inc = Incremental::default();
        inc.prepare(&[&a], NOW);
        let store = inc.stores.values_mut().next();
        let Some(store) = store else {
            panic!("no store")
        };
        for t in store.missing() {
            store.record(t, &[], &[(Labels::new(), 1.0)]);
        }
        assert_eq!(inc.stats().missing, 0);
        inc.prepare(&[&a], NOW + STEP_MS);
        assert_eq!(inc.stats().missing, 1, "only the new step");
        inc.prepare(&[&b], NOW + STEP_MS);
        assert!(inc.stats().missing >= 8_640, "a new selector refetches");
        inc.prepare(&[], NOW);
        assert!(inc.stores.is_empty());
    }
}
