//! Stable bucketing: a hash of (salt, player id) to a bucket in [0, 10000).
//!
//! Two production-compatible schemes, so that a policy proven here behaves the same when the
//! vendor's SDK assigns real players:
//!
//! - **Unleash** (`flexibleRollout`/`gradualRollout`): MurmurHash3 x86 32-bit, seed 0, of
//!   `"{groupId}:{userId}"`; a player is in a p% rollout when `hash % 100 + 1 <= p`. rollcage's bucket
//!   puts `hash % 100` in the hundreds and `(hash / 100) % 100` below it, so "bucket < 100·p" is
//!   exactly Unleash's rule for whole percentages, with finer shares ordered by further hash bits.
//! - **LaunchDarkly** (percentage rollouts): SHA-1 of `"{flagKey}.{salt}.{key}"` (or
//!   `"{seed}.{key}"` when the rollout has a seed); the first 15 hex digits divided by 0xFFFFFFFFFFFFFFF
//!   give a value v in [0, 1), and the player is in a rollout of weight w/100000 when
//!   v·100000 < w. rollcage's bucket is floor(v·10000), computed in exact integer arithmetic.

use crate::units::{BUCKETS, Bucket};
use sha1::{Digest, Sha1};

/// MurmurHash3, x86 32-bit variant (Austin Appleby's reference algorithm).
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &byte) in tail.iter().enumerate() {
            k ^= u32::from(byte) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Unleash's normalized value in [1, 100] for a stickiness id in a group.
pub fn unleash_normalized(group: &str, id: &str) -> u32 {
    murmur3_x86_32(format!("{group}:{id}").as_bytes(), 0) % 100 + 1
}

/// LaunchDarkly's bucket value in [0, 1), as the raw 60-bit hash prefix.
fn launchdarkly_prefix(key: &str, salt: &str, seed: Option<i64>, id: &str) -> u64 {
    let input = match seed {
        Some(seed) => format!("{seed}.{id}"),
        None => format!("{key}.{salt}.{id}"),
    };
    let digest = Sha1::digest(input.as_bytes());
    // The first 15 hex digits are the first 60 bits of the digest.
    let first8 = u64::from_be_bytes(digest[..8].try_into().expect("SHA-1 has 20 bytes"));
    first8 >> 4
}

const LD_SCALE: u64 = 0x0FFF_FFFF_FFFF_FFFF;

/// LaunchDarkly's bucket value in [0, 1).
pub fn launchdarkly_value(key: &str, salt: &str, seed: Option<i64>, id: &str) -> f64 {
    launchdarkly_prefix(key, salt, seed, id) as f64 / LD_SCALE as f64
}

/// How players are hashed to buckets. [`HashName`] names the schemes.
#[derive(Clone, Debug, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(HashName),
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::Display),
    strum(serialize_all = "kebab-case")
)]
pub enum HashScheme {
    /// Unleash's MurmurHash3 of `"{group}:{id}"`.
    UnleashMurmur3 { group: String },
    /// LaunchDarkly's SHA-1 of `"{key}.{salt}.{id}"`, or `"{seed}.{id}"` with a seed.
    #[strum_discriminants(strum(serialize = "launchdarkly-sha1"))]
    LaunchDarklySha1 { key: String, salt: String, seed: Option<i64> },
}

impl HashScheme {
    pub fn name(&self) -> &'static str {
        HashName::from(self).into()
    }

    /// The bucket of one player id.
    pub fn bucket(&self, id: &str) -> Bucket {
        let value = match self {
            HashScheme::UnleashMurmur3 { group } => {
                let h = murmur3_x86_32(format!("{group}:{id}").as_bytes(), 0);
                (h % 100) * 100 + (h / 100) % 100
            }
            HashScheme::LaunchDarklySha1 { key, salt, seed } => {
                let prefix = launchdarkly_prefix(key, salt, *seed, id);
                (u128::from(prefix) * u128::from(BUCKETS) / u128::from(LD_SCALE)) as u32
            }
        };
        Bucket::new(value.min(u32::from(BUCKETS) - 1) as u16).expect("bucket below 10000")
    }
}

/// The id rollcage gives simulated player `index` when hashing.
pub fn player_id(index: u32) -> String {
    format!("player-{index}")
}

/// The buckets of players 0..n under a scheme. Computed once per scenario: a player's bucket
/// depends on its id and the salt only, so it is the same in every run.
pub fn buckets(scheme: &HashScheme, players: u32) -> Vec<Bucket> {
    (0..players).map(|i| scheme.bucket(&player_id(i))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values of MurmurHash3 x86_32 from the Python `mmh3` package
    /// (`mmh3.hash(s, seed, signed=False)`), which wraps the reference C++ implementation.
    #[test]
    fn murmur3_matches_the_reference_implementation() {
        let cases: [(&str, u32, u32); 8] = [
            ("", 0, 0x0),
            ("", 1, 0x514e_28b7),
            ("hello", 0, 0x248b_fa47),
            ("hello", 1, 0xbb4a_bcad),
            ("The quick brown fox jumps over the lazy dog", 0, 0x2e4f_f723),
            ("abc", 0, 0xb3dd_93fa),
            ("abcd", 0, 0x43ed_676a),
            ("gr1:123", 0, 0x2017_a7b4),
        ];
        for (s, seed, expected) in cases {
            assert_eq!(murmur3_x86_32(s.as_bytes(), seed), expected, "{s:?} seed {seed}");
        }
    }

    /// Unleash's cross-SDK vectors, asserted identically by its Java, Node, Go, .NET and Kotlin
    /// clients (`StrategyUtilsTest`): normalizedValue("123", "gr1") = 73 and
    /// normalizedValue("999", "groupX") = 25.
    #[test]
    fn unleash_published_vectors() {
        assert_eq!(unleash_normalized("gr1", "123"), 73);
        assert_eq!(unleash_normalized("groupX", "999"), 25);
    }

    /// The bucket layout reproduces Unleash's rollout rule exactly: a player is below
    /// 100·p buckets if and only if Unleash enables it at p%.
    #[test]
    fn unleash_buckets_agree_with_unleash_rollout_rule() {
        let scheme = HashScheme::UnleashMurmur3 { group: "release-1.4.0".into() };
        for i in 0..2_000 {
            let id = player_id(i);
            let bucket = scheme.bucket(&id).value();
            let normalized = unleash_normalized("release-1.4.0", &id);
            for p in [1u16, 5, 25, 50, 95, 100] {
                assert_eq!(bucket < 100 * p, normalized <= u32::from(p), "{id} at {p}%");
            }
        }
        let vector = HashScheme::UnleashMurmur3 { group: "gr1".into() }.bucket("123").value();
        assert_eq!(vector / 100 + 1, 73);
    }

    /// LaunchDarkly's published vectors (flag key "hashKey", salt "saltyA"), asserted by its Go,
    /// Node, Python, Ruby and C SDKs and the cross-SDK test harness to 1e-7.
    #[test]
    fn launchdarkly_published_vectors() {
        let cases: [(&str, Option<i64>, f64); 6] = [
            ("userKeyA", None, 0.421_575_87),
            ("userKeyB", None, 0.670_848_5),
            ("userKeyC", None, 0.103_431_06),
            ("userKeyA", Some(61), 0.098_012_07),
            ("userKeyB", Some(61), 0.144_837_77),
            ("userKeyC", Some(61), 0.924_264_1),
        ];
        for (id, seed, expected) in cases {
            let v = launchdarkly_value("hashKey", "saltyA", seed, id);
            assert!((v - expected).abs() < 1e-7, "{id} seed {seed:?}: {v} vs {expected}");
            let scheme =
                HashScheme::LaunchDarklySha1 { key: "hashKey".into(), salt: "saltyA".into(), seed };
            assert_eq!(scheme.bucket(id).value(), (expected * 10_000.0).floor() as u16, "{id}");
        }
    }

    /// Buckets are spread evenly: over 100000 players each tenth of the range holds 10% ± 5
    /// binomial standard errors.
    #[test]
    fn buckets_are_uniform() {
        for scheme in [
            HashScheme::UnleashMurmur3 { group: "g".into() },
            HashScheme::LaunchDarklySha1 { key: "k".into(), salt: "s".into(), seed: None },
        ] {
            let n = 100_000u32;
            let mut deciles = [0u32; 10];
            for b in buckets(&scheme, n) {
                deciles[usize::from(b.value() / 1_000)] += 1;
            }
            let sd = (f64::from(n) * 0.1 * 0.9).sqrt();
            for (i, &count) in deciles.iter().enumerate() {
                let off = (f64::from(count) - f64::from(n) * 0.1).abs();
                assert!(off < 5.0 * sd, "{}: decile {i} holds {count}", scheme.name());
            }
        }
    }
}
