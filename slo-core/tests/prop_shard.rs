//! Sharding invariants: every SLO has exactly one owner, growing the fleet
//! only moves SLOs onto the new shard, and the load is spread evenly.

use proptest::prelude::*;
use slo_core::shard::{self, Shard};

proptest! {
    #[test]
    fn every_slo_has_exactly_one_owner(service in "[a-z-]{1,20}", slo in "[a-z0-9_-]{1,30}", count in 1u32..64) {
        let owners: Vec<u32> = (0..count)
            .filter(|&i| Shard::new(i, count).is_ok_and(|s| s.owns(&service, &slo)))
            .collect();
        prop_assert_eq!(owners.len(), 1);
        prop_assert_eq!(owners[0], shard::of(&service, &slo, count));
    }

    /// Jump hashing: from `n` to `n + 1` shards an SLO stays where it was
    /// or moves to the new shard `n`, never between old shards.
    #[test]
    fn growing_the_fleet_moves_slos_only_to_the_new_shard(service in "[a-z-]{1,20}", slo in "[a-z0-9_-]{1,30}", n in 1u32..64) {
        let before = shard::of(&service, &slo, n);
        let after = shard::of(&service, &slo, n + 1);
        prop_assert!(after == before || after == n, "{} -> {}", before, after);
    }
}

proptest! {
    /// The slot is on the grid, at least `settle` and less than
    /// `settle + interval` before `now`.
    #[test]
    fn evaluation_slots_are_on_the_grid_and_settled(now in 0i64..4_000_000_000_000, interval in 1i64..3_600_000, settle in 0i64..60_000) {
        let slot = shard::evaluation_slot(now, interval, settle);
        prop_assert_eq!(slot.rem_euclid(interval), 0);
        prop_assert!(slot <= now - settle);
        prop_assert!(slot > now - settle - interval);
    }
}

#[test]
fn load_is_spread_evenly() {
    let count = 4;
    let mut per_shard = [0usize; 4];
    for i in 0..10_000 {
        per_shard[shard::of("svc", &format!("slo-{i}"), count) as usize] += 1;
    }
    // 2,500 each expected; a fair hash stays well within 10%.
    assert!(
        per_shard.iter().all(|&n| (2_250..=2_750).contains(&n)),
        "{per_shard:?}"
    );
}

#[test]
fn impossible_shards_are_errors() {
    assert!(Shard::new(0, 0).is_err());
    assert!(Shard::new(2, 2).is_err());
    assert!(Shard::new(1, 2).is_ok());
    assert_eq!(Shard::all(), Shard::new(0, 1).unwrap_or_default());
}
