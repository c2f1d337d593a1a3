//! Sequence numbers compared modulo 2^32 (RFC 9293 §3.4).

use std::fmt;
use std::ops::{Add, Sub};

/// A 32-bit sequence number. Ordering is circular: `a < b` when b lies less than 2^31
/// ahead of a, so comparisons keep working across wrap-around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// Signed distance from `other` to `self` (positive when self is ahead).
    pub fn diff(self, other: Seq) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
    pub fn lt(self, other: Seq) -> bool {
        self.diff(other) < 0
    }
    pub fn le(self, other: Seq) -> bool {
        self.diff(other) <= 0
    }
    pub fn gt(self, other: Seq) -> bool {
        self.diff(other) > 0
    }
    pub fn ge(self, other: Seq) -> bool {
        self.diff(other) >= 0
    }
    /// `lo <= self < hi`, circularly.
    pub fn in_range(self, lo: Seq, hi: Seq) -> bool {
        self.ge(lo) && self.lt(hi)
    }
    pub fn max(self, other: Seq) -> Seq {
        if self.ge(other) { self } else { other }
    }
    pub fn min(self, other: Seq) -> Seq {
        if self.le(other) { self } else { other }
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }
}

impl Sub<u32> for Seq {
    type Output = Seq;
    fn sub(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }
}

/// Distance in bytes from `rhs` up to `self` (caller guarantees self ≥ rhs).
impl Sub<Seq> for Seq {
    type Output = u32;
    fn sub(self, rhs: Seq) -> u32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_across_wrap() {
        let near_top = Seq(u32::MAX - 10);
        let wrapped = near_top + 20;
        assert_eq!(wrapped, Seq(9));
        assert!(near_top.lt(wrapped));
        assert!(wrapped.gt(near_top));
        assert_eq!(wrapped - near_top, 20);
        assert_eq!(wrapped.diff(near_top), 20);
        assert_eq!(near_top.diff(wrapped), -20);
        assert!(Seq(5).in_range(near_top, wrapped));
        assert!(!wrapped.in_range(near_top, wrapped));
        assert_eq!(near_top.max(wrapped), wrapped);
    }

    #[test]
    fn half_space_boundary() {
        let a = Seq(0);
        assert!(a.lt(Seq(0x7fff_ffff)));
        // Exactly 2^31 apart is "behind" both ways by the i32 rule: never treat as ahead.
        assert!(!a.gt(Seq(0x8000_0000)) || !Seq(0x8000_0000).gt(a));
        assert!(a.le(a) && a.ge(a) && !a.lt(a));
        assert_eq!(Seq(3) - 1, Seq(2));
        assert_eq!(Seq(0) - 1, Seq(u32::MAX));
    }
}
