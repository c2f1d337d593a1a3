//! Payload bytes in bulk: [`fill`] writes exactly the bytes [`super::payload_byte`] gives,
//! byte for byte, several times faster than calling it per byte (a `--pcap` of a 100 MB
//! transfer spends most of its time here).
//!
//! Two observations make it cheap, both exact integer identities:
//! - Within a 16-aligned block of tags, `x ^ (x >> 33)` is `(base ^ c) + (lane ^ c15)`,
//!   so the first multiplication is one per block plus a per-call table of 16 lanes.
//! - Only the top byte of the second product is kept, and the final `x ^= x >> 33`
//!   never changes the top byte; that byte is bits 24..32 of a sum of three 32-bit
//!   products, which vectorises in 32-bit lanes (no 64-bit vector multiply needed).
//!
//! The block loop is compiled twice, for plain x86-64 and for AVX2 (chosen at run time);
//! both compute the same integers, so the bytes never depend on the machine.

use super::{K1, K2, payload_byte};
use crate::tcp::Tag;

const BLOCK: usize = 16;
const K2_LO: u32 = K2 as u32;
const K2_HI: u32 = (K2 >> 32) as u32;

/// `(lane ^ c15) * K1` for the 16 lanes of a block, split in 32-bit halves, for the
/// low four bits `c15` of `x >> 33` (the same for every block of a call but the rarest).
struct Lanes {
    c: u64,
    lo: [u32; BLOCK],
    hi: [u32; BLOCK],
}

impl Lanes {
    fn new(c: u64) -> Lanes {
        let mut l = Lanes {
            c,
            lo: [0; BLOCK],
            hi: [0; BLOCK],
        };
        for lane in 0..BLOCK {
            let v = (lane as u64 ^ (c & 15)).wrapping_mul(K1);
            l.lo[lane] = v as u32;
            l.hi[lane] = (v >> 32) as u32;
        }
        l
    }
}

/// The payload bytes of the 16 tags from the aligned tag `x` (see the module docs):
/// `y = (x ^ c) * K1` as `base + lane`, then the top byte of `(y ^ y >> 33) * K2` from
/// 32-bit halves: `z = y ^ y >> 33` has high half `yh` and low half `yl ^ yh >> 1`.
#[inline(always)]
fn block(x: u64, lanes: &Lanes, out: &mut [u8; BLOCK]) {
    let base = (x ^ (lanes.c & !15)).wrapping_mul(K1);
    let (bl, bh) = (base as u32, (base >> 32) as u32);
    for (lane, byte) in out.iter_mut().enumerate() {
        let yl = bl.wrapping_add(lanes.lo[lane]);
        let yh = bh
            .wrapping_add(lanes.hi[lane])
            .wrapping_add(u32::from(yl < bl));
        let zl = yl ^ (yh >> 1);
        let carry = ((u64::from(zl) * u64::from(K2_LO)) >> 32) as u32;
        let top = carry
            .wrapping_add(zl.wrapping_mul(K2_HI))
            .wrapping_add(yh.wrapping_mul(K2_LO));
        *byte = (top >> 24) as u8;
    }
}

/// The aligned blocks of [`fill`]: `tag` is 16-aligned and `out` a whole number of blocks.
#[inline(always)]
fn blocks(tag: Tag, out: &mut [u8]) {
    let mut lanes = Lanes::new(tag.0 >> 33);
    for (i, chunk) in out.chunks_exact_mut(BLOCK).enumerate() {
        // `advance` wraps the offset within its stream, as `payload_byte`'s tags do.
        let x = tag.advance((i * BLOCK) as u64).0;
        if x >> 33 != lanes.c {
            lanes = Lanes::new(x >> 33);
        }
        let chunk: &mut [u8; BLOCK] = chunk.try_into().expect("chunks_exact gives BLOCK");
        block(x, &lanes, chunk);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn blocks_avx2(tag: Tag, out: &mut [u8]) {
    blocks(tag, out);
}

/// [`blocks`], on AVX2 when the CPU has it (eight lanes at a time instead of four).
fn blocks_fastest(tag: Tag, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { blocks_avx2(tag, out) };
        return;
    }
    blocks(tag, out);
}

/// Writes the payload bytes of the tags `tag`, `tag + 1`, … into `out`: the unaligned
/// head and tail byte by byte, the 16-aligned middle in blocks.
pub fn fill(tag: Tag, out: &mut [u8]) {
    let head = (tag.0.wrapping_neg() % BLOCK as u64) as usize;
    let head = head.min(out.len());
    let (first, rest) = out.split_at_mut(head);
    let middle = rest.len() / BLOCK * BLOCK;
    let (mid, tail) = rest.split_at_mut(middle);
    for (i, b) in first.iter_mut().enumerate() {
        *b = payload_byte(tag.advance(i as u64));
    }
    blocks_fastest(tag.advance(head as u64), mid);
    let done = (head + middle) as u64;
    for (i, b) in tail.iter_mut().enumerate() {
        *b = payload_byte(tag.advance(done + i as u64));
    }
}

/// The one's complement sum of `data` as big-endian 16-bit words (an odd last byte is the
/// high byte of a word), unfolded, read eight bytes at a time: each 64-bit word adds its
/// four 16-bit words into two 32-bit lanes, which cannot overflow below 256 KiB.
pub fn sum(data: &[u8]) -> u64 {
    const LANES: u64 = 0x0000_ffff_0000_ffff;
    let mut acc = 0u64;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_be_bytes(w.try_into().expect("chunks_exact gives 8"));
        acc += (w & LANES) + ((w >> 16) & LANES);
    }
    let mut total = (acc & 0xffff_ffff) + (acc >> 32);
    let mut pairs = words.remainder().chunks_exact(2);
    for p in &mut pairs {
        total += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        total += u64::from(*last) << 8;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(tag: Tag, len: usize) -> Vec<u8> {
        (0..len as u64)
            .map(|i| payload_byte(tag.advance(i)))
            .collect()
    }

    #[test]
    fn blocks_on_both_paths_equal_the_per_byte_function() {
        // Offsets where `x >> 33` changes its low bits, and the 40-bit offset wrap.
        for offset in [0, 5, (1 << 33) - 40, (1 << 34) - 7, (1 << 40) - 100] {
            let tag = Tag::new(0x00ab_cdef, offset);
            let mut out = vec![0; 300];
            fill(tag, &mut out);
            assert_eq!(out, plain(tag, 300), "offset {offset}");
            let aligned = Tag(tag.0 & !15);
            let mut portable = vec![0; 320];
            blocks(aligned, &mut portable);
            assert_eq!(portable, plain(aligned, 320), "offset {offset}");
        }
    }

    proptest! {
        #[test]
        fn fill_equals_the_per_byte_function(stream in any::<u32>(), offset in any::<u64>(), len in 0usize..3000) {
            let tag = Tag::new(stream, offset);
            let mut out = vec![0; len];
            fill(tag, &mut out);
            prop_assert_eq!(out, plain(tag, len));
        }

        #[test]
        fn sum_equals_the_plain_sum(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            prop_assert_eq!(super::super::fold(sum(&data)), super::super::fold(super::super::sum_words(0, &data)));
        }
    }
}
