//! Independent random streams derived from one seed and a stable label.
//!
//! Every link direction and host draws from its own ChaCha stream, keyed by the run's
//! seed and selected by a hash of a label such as `"link:client>server"`. Adding a host
//! or a link therefore never changes what another link drops.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// FNV-1a, 64 bit: a stable hash (unlike `std`'s, which may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The stream for `label` under `seed`.
pub fn stream(seed: u64, label: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a(label.as_bytes()));
    rng
}

/// A keyed hash of `data` (a 32-bit word of the ChaCha stream it selects, under a key
/// derived from `seed` and `label`): the secret function F of RFC 6528.
pub fn keyed_hash(seed: u64, label: &str, data: &[u8]) -> u32 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ fnv1a(label.as_bytes()));
    rng.set_stream(fnv1a(data));
    rng.next_u32()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_label_same_stream_other_label_differs() {
        let a: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(7, "link:a>b"), |r, _: u32| Some(r.random()))
            .collect();
        let b: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(7, "link:a>b"), |r, _: u32| Some(r.random()))
            .collect();
        let c: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(7, "link:b>a"), |r, _: u32| Some(r.random()))
            .collect();
        let d: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(stream(8, "link:a>b"), |r, _: u32| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
