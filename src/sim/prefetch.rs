//! Software prefetch: ask the CPU to start loading memory the next steps will read.
//!
//! Why: in a run of 100,000 hosts each event touches the state of a random host — its
//! slot, its control block, its link direction — and each of those is a cache miss of
//! ~150 ns on this machine, taken one after the other because each address comes from
//! the previous load. Issuing the loads whose addresses are already known together lets
//! the misses overlap. A prefetch changes no value and cannot fault, so it cannot change a
//! run; on targets without one it does nothing.

/// Bytes per cache line on the machines tcpsim runs on.
const LINE: usize = 64;

/// Starts loading every cache line of `value` (at most `MAX_LINES` of them).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    /// A control block is ~1.4 KB; its first 16 lines hold what a segment touches first.
    const MAX_LINES: usize = 16;
    let start = value as *const T as *const u8;
    let lines = size_of::<T>().div_ceil(LINE).min(MAX_LINES);
    for i in 0..lines {
        line(start.wrapping_add(i * LINE));
    }
}

#[inline(always)]
fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and reads nothing the program sees,
    // and SSE (which has it) is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::prefetch;

    #[test]
    fn prefetching_changes_nothing() {
        let v: Vec<u64> = (0..1000).collect();
        prefetch(&v[10]);
        prefetch(&v);
        prefetch(&[0u8; 4096]);
        assert_eq!(v.iter().sum::<u64>(), 999 * 1000 / 2);
    }
}
