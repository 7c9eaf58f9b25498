//! Sharding SLOs over a fleet of evaluators: each SLO belongs to exactly
//! one of `count` shards, by a stable hash of its `service/slo` id, so a
//! fleet of daemons over one TSDB evaluates every SLO once. Replicas of one
//! shard (high availability) evaluate the same SLOs and send identical
//! alerts, which Alertmanager de-duplicates.
//!
//! The hash is FNV-1a (64 bits) of the id, fed to Lamping and Veach's jump
//! consistent hash: the same on every machine and release (it never depends
//! on Rust's randomized hasher), and growing the fleet from `n` to `n + 1`
//! shards moves only about `1 / (n + 1)` of the SLOs.
//!
//! ```
//! use slo_core::shard::{self, Shard};
//!
//! let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3)).collect::<Result<_, _>>()?;
//! // Every SLO has exactly one owner.
//! let owners = shards.iter().filter(|s| s.owns("checkout", "availability")).count();
//! assert_eq!(owners, 1);
//! assert_eq!(shard::of("checkout", "availability", 1), 0);
//! assert!(Shard::new(3, 3).is_err());
//! # Ok::<(), slo_core::errors::ShardError>(())
//! ```

use crate::errors::ShardError;

/// One shard of a fleet: `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count` (`index` in `0..count`).
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        if index >= count {
            return Err(ShardError::IndexOutOfRange { index, count });
        }
        Ok(Self { index, count })
    }

    /// The whole fleet in one shard: owns every SLO.
    pub fn all() -> Self {
        Self { index: 0, count: 1 }
    }

    /// This shard's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The number of shards in the fleet.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// True when the SLO `service/slo` belongs to this shard.
    pub fn owns(&self, service: &str, slo: &str) -> bool {
        of(service, slo, self.count) == self.index
    }
}

impl Default for Shard {
    fn default() -> Self {
        Self::all()
    }
}

/// The shard (in `0..count`; 0 when `count` is 0) the SLO `service/slo`
/// belongs to.
pub fn of(service: &str, slo: &str, count: u32) -> u32 {
    jump(fnv1a(&[service.as_bytes(), b"/", slo.as_bytes()]), count)
}

/// The evaluation time for a daemon woken at `now` (ms): the latest
/// multiple of `interval` at least `settle` before `now`. Replicas evaluate
/// the same instants whenever they wake within one interval of each other,
/// so they see the same data and agree on every alert's `startsAt`;
/// `settle` leaves the TSDB time to ingest the scrapes stamped before the
/// instant. Like Prometheus's rule-group slots, but the same for every
/// replica.
///
/// ```
/// use slo_core::shard::evaluation_slot;
///
/// // Two replicas woken 0.3 s apart evaluate the same minute.
/// let a = evaluation_slot(1_800_000_012_345, 60_000, 10_000);
/// let b = evaluation_slot(1_800_000_012_645, 60_000, 10_000);
/// assert_eq!(a, b);
/// assert_eq!(a % 60_000, 0);
/// ```
pub fn evaluation_slot(now: i64, interval: i64, settle: i64) -> i64 {
    let interval = interval.max(1);
    (now - settle).div_euclid(interval) * interval
}

/// FNV-1a, 64 bits, over the concatenation of `parts`.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Jump consistent hash (Lamping and Veach, 2014): a bucket in `0..n`.
fn jump(mut key: u64, n: u32) -> u32 {
    let n = i64::from(n.max(1));
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < n {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // (b + 1) * 2^31 / ((key >> 33) + 1), in floating point as published.
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(b).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assignment is part of a fleet's contract: it must not change
    /// between releases, or upgrading half a fleet double-evaluates some
    /// SLOs and drops others. Pinned values (FNV-1a's published test vector,
    /// and this module's own outputs when written).
    #[test]
    fn assignment_is_stable_across_releases() {
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&[b"fo", b"obar"]), 0x85944171f73967e8);
        let pinned: Vec<u32> = ["availability", "latency", "checkout", "search"]
            .iter()
            .map(|s| of("shop", s, 7))
            .collect();
        assert_eq!(pinned, PINNED);
    }

    const PINNED: [u32; 4] = [3, 3, 3, 4];
}
