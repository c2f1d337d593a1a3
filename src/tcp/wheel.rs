//! Linux's timer wheel (kernel/time/timer.c), which every TCP timer but pacing sits on:
//! the retransmission, probe and keepalive timers (`sk_reset_timer`), the delayed ACK, the
//! SYN,ACK timer of a request socket and the time-wait timer (`inet_twsk_schedule`).
//!
//! A timer armed at jiffy `j` for `d` jiffies expires at `j + d`, but the wheel never lets
//! it fire early: `calc_index()` rounds the expiry up to the next multiple of its level's
//! granularity — 1 jiffy while `d` < 63, 8 below 504, 64 below 4032, 512 below 32256,
//! and so on by eights — and the timer fires on that tick. So a 220 ms RTO at HZ=250
//! fires 220–224 ms after it was armed, and a 60 s TIME_WAIT up to 2.048 s late.

/// `LVL_CLK_SHIFT`: each level is eight times coarser than the one below.
const LVL_CLK_SHIFT: u32 = 3;
/// `LVL_SIZE - 1`: the largest delta level 0 holds (`LVL_START(1)`).
const LVL0_SPAN: u64 = 63;
/// `LVL_DEPTH` for HZ > 100.
const LVL_DEPTH: u32 = 9;

/// `calc_wheel_index()`: the level a timer `delta` jiffies away is filed in.
fn level(delta: u64) -> u32 {
    (1..LVL_DEPTH)
        .find(|&n| delta < LVL0_SPAN << ((n - 1) * LVL_CLK_SHIFT))
        .map_or(LVL_DEPTH - 1, |n| n - 1)
}

/// The moment (ns) a timer armed at `now` for `delay` ns fires on a wheel ticking every
/// `jiffy` ns, with jiffy 0 starting at time 0. The delay is first made whole jiffies,
/// rounded up as `usecs_to_jiffies` does.
pub fn expiry(now: u64, delay: u64, jiffy: u64) -> u64 {
    let jiffy = jiffy.max(1);
    let delta = delay.div_ceil(jiffy);
    let expires = (now / jiffy).saturating_add(delta);
    // calc_index(): "Round up with level granularity to prevent this [early expiry]".
    let shift = level(delta) * LVL_CLK_SHIFT;
    let bucket = ((expires >> shift) + 1) << shift;
    bucket.saturating_mul(jiffy)
}

#[cfg(test)]
mod tests {
    use super::*;

    const J: u64 = 4_000_000; // HZ = 250
    const MS: u64 = 1_000_000;

    #[test]
    fn level_zero_fires_one_tick_after_expiry() {
        // Armed mid-jiffy 7 (28–32 ms) for 55 jiffies: expires 62, fires on tick 63.
        assert_eq!(expiry(30 * MS, 220 * MS, J), 252 * MS);
        // Armed on the edge of jiffy 10: expires 65, fires on tick 66.
        assert_eq!(expiry(40 * MS, 220 * MS, J), 264 * MS);
    }

    #[test]
    fn a_timer_never_fires_early() {
        for now in (0..50 * MS).step_by(1_300_000) {
            for delay in [MS, 40 * MS, 220 * MS, 3_000 * MS, 60_000 * MS] {
                let at = expiry(now, delay, J);
                assert!(at >= now + delay, "now={now} delay={delay} at={at}");
            }
        }
    }

    #[test]
    fn outer_levels_round_to_their_granularity() {
        // 1 s = 250 jiffies: level 1, eight-jiffy buckets (32 ms).
        assert_eq!(expiry(0, 1_000 * MS, J), 256 * J);
        // 60 s = 15000 jiffies: level 3, 512-jiffy buckets (2.048 s).
        assert_eq!(expiry(0, 60_000 * MS, J), 15_360 * J);
        assert_eq!(level(62), 0);
        assert_eq!(level(63), 1);
        assert_eq!(level(503), 1);
        assert_eq!(level(504), 2);
        assert_eq!(level(u64::MAX), LVL_DEPTH - 1);
    }

    #[test]
    fn huge_delays_saturate() {
        assert_eq!(expiry(u64::MAX - 5, u64::MAX, J), u64::MAX);
    }
}
