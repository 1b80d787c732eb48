//! Units with their preconditions in the type: time in whole minutes, population shares in basis
//! points, and buckets in [0, 10000).

use std::fmt;
use std::ops::{Add, Sub};

/// Simulated time in whole minutes since the rollout started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minutes(pub u32);

impl Minutes {
    pub const ZERO: Minutes = Minutes(0);

    pub fn from_hours(hours: u32) -> Minutes {
        Minutes(hours * 60)
    }

    pub fn hours(self) -> f64 {
        f64::from(self.0) / 60.0
    }

    pub fn saturating_sub(self, other: Minutes) -> Minutes {
        Minutes(self.0.saturating_sub(other.0))
    }
}

impl Add for Minutes {
    type Output = Minutes;
    fn add(self, other: Minutes) -> Minutes {
        Minutes(self.0 + other.0)
    }
}

impl Sub for Minutes {
    type Output = Minutes;
    fn sub(self, other: Minutes) -> Minutes {
        Minutes(self.0.checked_sub(other.0).expect("time went backwards"))
    }
}

impl fmt::Display for Minutes {
    /// Hours and minutes, e.g. `27h05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{}h{:02}", self.0 / 60, self.0 % 60);
        f.pad(&s)
    }
}

/// The number of assignment buckets; a bucket is one hundredth of a percent of the players.
pub const BUCKETS: u16 = 10_000;

/// A share of the whole player population, in basis points (1/100 of a percent), at most 100%.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Share(u16);

impl Share {
    pub const ZERO: Share = Share(0);
    pub const ALL: Share = Share(BUCKETS);

    /// `None` above 100%.
    pub fn from_basis_points(bp: u16) -> Option<Share> {
        (bp <= BUCKETS).then_some(Share(bp))
    }

    pub fn basis_points(self) -> u16 {
        self.0
    }

    pub fn percent(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{}.{:02}%", self.0 / 100, self.0 % 100);
        f.pad(&s)
    }
}

/// A player's assignment bucket, in [0, 10000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket(u16);

impl Bucket {
    /// `None` at or above 10000.
    pub fn new(value: u16) -> Option<Bucket> {
        (value < BUCKETS).then_some(Bucket(value))
    }

    pub fn value(self) -> u16 {
        self.0
    }
}

/// Where the cohorts live in bucket space. The holdback is the top of the range,
/// [10000 − holdback, 10000); a build exposed to share s reaches buckets [0, s). As long as the
/// exposed share plus the holdback is at most 100%, the two never meet, and raising the share only
/// adds buckets: exposure is monotone and sticky by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketLayout {
    pub holdback: Share,
}

impl BucketLayout {
    /// The largest share a build may be exposed to without touching the holdback.
    pub fn max_exposure(self) -> Share {
        Share(BUCKETS - self.holdback.0)
    }

    pub fn is_holdback(self, bucket: Bucket) -> bool {
        bucket.0 >= BUCKETS - self.holdback.0
    }

    /// Whether a player in `bucket` receives a build exposed to `share`.
    pub fn is_exposed(self, bucket: Bucket, share: Share) -> bool {
        !self.is_holdback(bucket) && bucket.0 < share.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_enforce_their_ranges() {
        assert!(Share::from_basis_points(10_000).is_some());
        assert!(Share::from_basis_points(10_001).is_none());
        assert!(Bucket::new(9_999).is_some());
        assert!(Bucket::new(10_000).is_none());
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(Minutes(27 * 60 + 5).to_string(), "27h05");
        assert_eq!(Share::from_basis_points(2_550).unwrap().to_string(), "25.50%");
    }

    #[test]
    fn holdback_and_exposure_never_meet() {
        let layout = BucketLayout { holdback: Share::from_basis_points(500).unwrap() };
        let full = layout.max_exposure();
        assert_eq!(full.basis_points(), 9_500);
        for b in 0..BUCKETS {
            let bucket = Bucket::new(b).unwrap();
            assert!(!(layout.is_holdback(bucket) && layout.is_exposed(bucket, Share::ALL)));
            assert_eq!(layout.is_exposed(bucket, full), !layout.is_holdback(bucket));
        }
    }
}
