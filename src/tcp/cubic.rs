//! CUBIC window growth (RFC 9438) with Linux's hybrid slow start, in the fixed-point
//! units `tcp_cubic.c` uses: the window in segments, time in jiffies and 2^-10 s, the
//! cubic coefficient C = 0.4 (`bic_scale` 41/1024 · 10 with the RTT fixed at 100 ms),
//! β = 717/1024 ≈ 0.7. The congestion controller ([`super::congestion`]) keeps the
//! window; this module says how fast it grows in congestion avoidance (`cnt`: ACKed
//! segments per one-segment increase), what ssthresh is after a loss, and when HyStart
//! ends slow start early.
//!
//! One departure: K's cube root is exact here, where Linux uses a table lookup and one
//! Newton–Raphson step (≈ 0.2 % error on K).

use super::Seq;

/// β scaled by 1024 (`beta`, RFC 9438 §4.6 β_cubic = 0.7).
const BETA: u64 = 717;
const BETA_SCALE: u64 = 1024;
/// 2^10 time units per second (`BICTCP_HZ`).
const TIME_SHIFT: u32 = 10;
/// C/RTT with the RTT fixed at 100 ms, scaled by 1024 (`cube_rtt_scale` = 41 · 10).
const CUBE_RTT_SCALE: u64 = 410;
/// Additive increase of the Reno-friendly estimate, ×8 (`beta_scale`:
/// 8·(1024 + 717) / 3 / (1024 − 717) = 15; RFC 9438 §4.3's α_cubic = 3(1−β)/(1+β)).
const FRIENDLY_SCALE: u64 = 8 * (BETA_SCALE + BETA) / 3 / (BETA_SCALE - BETA);
/// HyStart acts only once cwnd has reached this many segments (`hystart_low_window`).
const HYSTART_LOW_WINDOW: u32 = 16;
/// ACKs closer than this belong to one train (`hystart_ack_delta_us`).
const HYSTART_ACK_DELTA_US: u64 = 2000;
/// RTT samples per round before the delay test (`HYSTART_MIN_SAMPLES`).
const HYSTART_MIN_SAMPLES: u8 = 8;

/// The state of `struct bictcp`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cubic {
    /// Segments ACKed per one-segment increase of cwnd (`ca->cnt`).
    cnt: u32,
    /// W_max: the window before the last reduction (`last_max_cwnd`).
    last_max_cwnd: u32,
    last_cwnd: u32,
    /// Jiffies of the last recomputation of `cnt`.
    last_time: u64,
    /// The plateau the curve is centred on (`bic_origin_point`).
    origin: u32,
    /// Time from the epoch's start to the plateau, in 2^-10 s (`bic_K`).
    k: u64,
    /// The smallest RTT seen, in µs (0: none yet).
    delay_min_us: u64,
    /// Jiffies when the current congestion-avoidance epoch began.
    epoch_start: Option<u64>,
    /// Segments ACKed since the Reno-friendly estimate last grew.
    ack_cnt: u32,
    /// The window standard TCP would have now (RFC 9438 §4.3 W_est).
    tcp_cwnd: u32,
    hystart: HyStart,
}

/// Linux's hybrid slow start: leave slow start when the ACKs of one round arrive as a
/// train longer than half the minimum RTT, or the round's RTT has grown by an eighth.
#[derive(Debug, Clone, Default, PartialEq)]
struct HyStart {
    found: bool,
    round_start_us: u64,
    /// The round ends when this is acknowledged (SND.NXT when it began).
    end_seq: Seq,
    last_ack_us: u64,
    /// The smallest RTT of the round's first samples.
    curr_rtt_us: u64,
    sample_cnt: u8,
}

impl Cubic {
    /// `cubictcp_init`.
    pub fn new(now_us: u64, snd_nxt: Seq) -> Self {
        let mut c = Cubic::default();
        c.hystart_reset(now_us, snd_nxt);
        c
    }

    fn hystart_reset(&mut self, now_us: u64, snd_nxt: Seq) {
        let h = &mut self.hystart;
        h.round_start_us = now_us;
        h.last_ack_us = now_us;
        h.end_seq = snd_nxt;
        h.curr_rtt_us = u64::MAX;
        h.sample_cnt = 0;
    }

    /// `bictcp_update`: how many ACKed segments earn one more segment of cwnd, for a
    /// window of `cwnd` segments after `acked` more were ACKed at jiffy `now_j`.
    pub fn update(&mut self, cwnd: u32, acked: u32, now_j: u64, hz: u64) -> u32 {
        self.ack_cnt = self.ack_cnt.saturating_add(acked);
        if self.last_cwnd == cwnd && now_j.saturating_sub(self.last_time) <= hz / 32 {
            return self.cnt;
        }
        // The curve is re-evaluated at most once per jiffy.
        if self.epoch_start.is_none() || now_j != self.last_time {
            self.recompute_cnt(cwnd, acked, now_j, hz);
        }
        self.reno_friendly(cwnd);
        // At most one segment per two ACKed: 1.5× per RTT.
        self.cnt = self.cnt.max(2);
        self.cnt
    }

    /// RFC 9438 §4.2: W_cubic(t) = C·(t − K)³ + W_max, with t counted from the epoch's
    /// start plus the minimum RTT, and `cnt` the ACKs needed to reach W_cubic(t).
    fn recompute_cnt(&mut self, cwnd: u32, acked: u32, now_j: u64, hz: u64) {
        self.last_cwnd = cwnd;
        self.last_time = now_j;
        let epoch = *self.epoch_start.get_or_insert_with(|| {
            self.ack_cnt = acked;
            self.tcp_cwnd = cwnd;
            if self.last_max_cwnd <= cwnd {
                self.k = 0;
                self.origin = cwnd;
            } else {
                // K = ∛((W_max − cwnd)·RTT/C), in 2^-10 s (RFC 9438 eq. 2).
                let factor = (1u64 << (TIME_SHIFT * 3 + 10)) / CUBE_RTT_SCALE;
                self.k = cube_root(factor.saturating_mul(u64::from(self.last_max_cwnd - cwnd)));
                self.origin = self.last_max_cwnd;
            }
            now_j
        });
        let delay_j = self.delay_min_us.saturating_mul(hz).div_ceil(1_000_000);
        let t = (now_j
            .saturating_sub(epoch)
            .saturating_add(delay_j)
            .min(1 << 40)
            << TIME_SHIFT)
            / hz.max(1);
        // u128: offs³ alone may need 63 bits once t is far from K (fuzzing found it).
        let offs = u128::from(t.abs_diff(self.k));
        let delta = ((u128::from(CUBE_RTT_SCALE) * offs * offs * offs) >> (10 + 3 * TIME_SHIFT))
            .min(u128::from(u32::MAX)) as u32;
        let target = if t < self.k {
            self.origin.saturating_sub(delta)
        } else {
            self.origin.saturating_add(delta)
        };
        self.cnt = if target > cwnd {
            cwnd / (target - cwnd)
        } else {
            100u32.saturating_mul(cwnd)
        };
        // No W_max yet (the first epoch): at least 5 % per RTT.
        if self.last_max_cwnd == 0 {
            self.cnt = self.cnt.min(20);
        }
    }

    /// RFC 9438 §4.3: never grow slower than standard TCP would (`tcp_friendliness`).
    fn reno_friendly(&mut self, cwnd: u32) {
        let delta = ((u64::from(cwnd) * FRIENDLY_SCALE) >> 3).max(1) as u32;
        while self.ack_cnt > delta {
            self.ack_cnt -= delta;
            self.tcp_cwnd += 1;
        }
        if self.tcp_cwnd > cwnd {
            let max_cnt = cwnd / (self.tcp_cwnd - cwnd);
            self.cnt = self.cnt.min(max_cnt);
        }
    }

    /// `cubictcp_recalc_ssthresh`: a loss ends the epoch; W_max is the window now, or
    /// with fast convergence (RFC 9438 §4.7) a little less when it is below the last
    /// W_max; ssthresh = β·cwnd, at least two segments.
    pub fn ssthresh(&mut self, cwnd: u32) -> u32 {
        self.epoch_start = None;
        self.last_max_cwnd = if cwnd < self.last_max_cwnd {
            (u64::from(cwnd) * (BETA_SCALE + BETA) / (2 * BETA_SCALE)) as u32
        } else {
            cwnd
        };
        ((u64::from(cwnd) * BETA / BETA_SCALE) as u32).max(2)
    }

    /// `cubictcp_state(TCP_CA_Loss)`: a retransmission timeout forgets everything but
    /// the minimum RTT's absence (Linux clears that too).
    pub fn on_timeout(&mut self, now_us: u64, snd_nxt: Seq) {
        *self = Cubic::new(now_us, snd_nxt);
    }

    /// `cubictcp_cwnd_event(CA_EVENT_TX_START)`: sending resumes after `idle_j` jiffies
    /// with nothing in flight; the epoch moves on so the curve ignores the idle time.
    pub fn on_restart(&mut self, idle_j: u64, now_j: u64) {
        if let Some(epoch) = self.epoch_start.as_mut() {
            *epoch = (*epoch + idle_j).min(now_j);
        }
    }

    /// `cubictcp_acked` and `hystart_update`: an RTT sample of `rtt_us`. Returns the
    /// window (in segments) slow start should end at, when HyStart finds the exit point.
    #[allow(clippy::too_many_arguments)]
    pub fn on_rtt_sample(
        &mut self,
        rtt_us: u64,
        now_us: u64,
        now_j: u64,
        hz: u64,
        slow_start: bool,
        cwnd: u32,
        (snd_una, snd_nxt): (Seq, Seq),
    ) -> Option<u32> {
        // Samples right after a reduction are not trusted for a second.
        if self
            .epoch_start
            .is_some_and(|e| now_j.saturating_sub(e) < hz)
        {
            return None;
        }
        let delay = rtt_us.max(1);
        if self.delay_min_us == 0 || self.delay_min_us > delay {
            self.delay_min_us = delay;
        }
        if self.hystart.found || !slow_start {
            return None;
        }
        if snd_una.gt(self.hystart.end_seq) {
            self.hystart_reset(now_us, snd_nxt);
        }
        if cwnd < HYSTART_LOW_WINDOW {
            return None;
        }
        let found = self.ack_train_found(now_us) | self.delay_increase_found(delay);
        if found {
            self.hystart.found = true;
            return Some(cwnd);
        }
        None
    }

    /// The ACKs of this round have been arriving as one train for longer than half the
    /// minimum RTT: the pipe is full.
    fn ack_train_found(&mut self, now_us: u64) -> bool {
        let h = &mut self.hystart;
        if now_us.saturating_sub(h.last_ack_us) > HYSTART_ACK_DELTA_US {
            return false;
        }
        h.last_ack_us = now_us;
        now_us.saturating_sub(h.round_start_us) > self.delay_min_us / 2
    }

    /// The round's smallest RTT exceeds the minimum by an eighth (clamped to 4–16 ms):
    /// a queue is building.
    fn delay_increase_found(&mut self, delay: u64) -> bool {
        let h = &mut self.hystart;
        h.curr_rtt_us = h.curr_rtt_us.min(delay);
        if h.sample_cnt < HYSTART_MIN_SAMPLES {
            h.sample_cnt += 1;
            return false;
        }
        let thresh = (self.delay_min_us >> 3).clamp(4000, 16_000);
        h.curr_rtt_us > self.delay_min_us + thresh
    }
}

/// ⌊∛a⌋.
fn cube_root(a: u64) -> u64 {
    let cube = |x: u64| x.checked_mul(x).and_then(|y| y.checked_mul(x));
    let mut x = (a as f64).cbrt() as u64;
    while x > 0 && cube(x).is_none_or(|c| c > a) {
        x -= 1;
    }
    while cube(x + 1).is_some_and(|c| c <= a) {
        x += 1;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 1000;

    #[test]
    fn cube_root_is_exact() {
        assert_eq!(cube_root(0), 0);
        assert_eq!(cube_root(26), 2);
        assert_eq!(cube_root(27), 3);
        assert_eq!(cube_root(u64::MAX), 2_642_245);
    }

    #[test]
    fn ssthresh_is_beta_cwnd_with_fast_convergence() {
        let mut c = Cubic::new(0, Seq(0));
        assert_eq!(c.ssthresh(100), 70, "717/1024 of 100");
        assert_eq!(c.last_max_cwnd, 100);
        assert_eq!(c.ssthresh(70), 49);
        assert_eq!(c.last_max_cwnd, 59, "70·(1+β)/2: below the last W_max");
        assert_eq!(c.ssthresh(2), 2, "never below two segments");
    }

    #[test]
    fn concave_then_convex_around_w_max() {
        let mut c = Cubic::new(0, Seq(0));
        c.delay_min_us = 100_000;
        c.ssthresh(100);
        // Just after the loss at 70 segments: far below W_max, fast growth (small cnt).
        let early = c.update(70, 1, 0, HZ);
        // K = ∛((100 − 70)/C) = ∛(30/0.4) s ≈ 4.2 s: near the plateau growth is slow.
        let plateau = c.update(99, 1, 4000, HZ);
        let beyond = c.update(101, 1, 8000, HZ);
        assert!(early < plateau, "concave: {early} < {plateau}");
        assert!(
            beyond < plateau,
            "convex beyond W_max: {beyond} < {plateau}"
        );
        assert!(
            (4150..4250).contains(&((c.k * 1000) >> 10)),
            "K ≈ 4.2 s: {}",
            c.k
        );
    }

    #[test]
    fn first_epoch_grows_at_least_five_percent_per_rtt() {
        let mut c = Cubic::new(0, Seq(0));
        assert!(c.update(100, 1, 10, HZ) <= 20);
    }

    #[test]
    fn reno_friendly_region_caps_cnt() {
        let mut c = Cubic::new(0, Seq(0));
        c.ssthresh(10);
        c.update(7, 1, 1, HZ);
        // Many ACKs soon after the loss: the Reno estimate overtakes the cubic curve.
        for i in 0..100 {
            c.update(7, 1, 40 * (i + 1), HZ);
        }
        assert!(c.tcp_cwnd > 7);
        assert!(c.cnt <= 7 / (c.tcp_cwnd - 7).max(1) + 2);
    }

    #[test]
    fn hystart_ack_train_ends_slow_start() {
        let mut c = Cubic::new(0, Seq(0));
        c.delay_min_us = 40_000;
        let mut now = 0;
        let mut exit = None;
        for _ in 0..30 {
            now += 1000; // ACKs 1 ms apart: one train
            exit = c.on_rtt_sample(40_000, now, now / 1000, HZ, true, 20, (Seq(0), Seq(100)));
            if exit.is_some() {
                break;
            }
        }
        assert_eq!(exit, Some(20));
        assert!(now > 20_000, "only after half the minimum RTT: {now}");
    }

    #[test]
    fn hystart_delay_increase_ends_slow_start() {
        let mut c = Cubic::new(0, Seq(0));
        c.delay_min_us = 40_000;
        let mut exit = None;
        for i in 0..9u32 {
            // ACKs 3 ms apart (no train) but 6 ms above the minimum RTT.
            let now = 3000 * u64::from(i + 1);
            exit = c.on_rtt_sample(46_000, now, now / 1000, HZ, true, 16, (Seq(0), Seq(100)));
        }
        assert_eq!(exit, Some(16));
    }

    #[test]
    fn hystart_waits_for_sixteen_segments() {
        let mut c = Cubic::new(0, Seq(0));
        for i in 0..50u32 {
            let now = 1000 * u64::from(i + 1);
            let exit = c.on_rtt_sample(90_000, now, now / 1000, HZ, true, 15, (Seq(0), Seq(100)));
            assert_eq!(exit, None);
        }
    }
}
