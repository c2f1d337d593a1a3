//! Retransmission timeout estimators: RFC 6298's, and Linux's (`linux`: tcp_input.c
//! `tcp_rtt_estimator`, `__tcp_set_rto`), which keeps the mean deviation's maximum over the
//! last round trip and never lets the variance term fall below `rto_min`.

use super::Seq;

/// SRTT/RTTVAR state and the current RTO with its backoff. Times in ns.
#[derive(Debug, Clone, PartialEq)]
pub struct RtoEstimator {
    srtt: Option<u64>,
    rttvar: u64,
    /// RTO before backoff, from the last sample (RFC 6298 §2).
    base: u64,
    /// Number of consecutive backoffs (RFC 6298 §5.5 doubles per expiry).
    backoffs: u32,
    min: u64,
    max: u64,
    /// Linux's extra state, when the linux estimator is in use.
    linux: Option<LinuxRtt>,
}

/// `tcp_rtt_estimator`'s state beyond SRTT and RTTVAR (ns; the kernel keeps µs).
#[derive(Debug, Clone, PartialEq)]
struct LinuxRtt {
    /// `mdev_us`: four times the smoothed mean deviation (RFC 6298's 4·RTTVAR).
    mdev: u64,
    /// `mdev_max_us`: its maximum over the current round trip.
    mdev_max: u64,
    /// `rtt_seq`: when SND.UNA passes it, a round trip is over.
    rtt_seq: Seq,
    /// One jiffy: the RTO is rounded up to whole jiffies.
    jiffy: u64,
}

/// `base` doubled `n` times, saturating (a plain shift would drop the high bits).
pub fn doubled(base: u64, n: u32) -> u64 {
    1u64.checked_shl(n)
        .map_or(u64::MAX, |factor| base.saturating_mul(factor))
}

/// RFC 6298 §2: clock granularity G; tcpsim's clock is exact, 1 ms keeps RTO sane on tiny RTTs.
const GRANULARITY: u64 = 1_000_000;

impl RtoEstimator {
    pub fn new(initial: u64, min: u64, max: u64) -> Self {
        RtoEstimator {
            srtt: None,
            rttvar: 0,
            base: initial.clamp(min, max),
            backoffs: 0,
            min,
            max,
            linux: None,
        }
    }

    /// The linux estimator, counting in jiffies of `jiffy` ns.
    pub fn linux(initial: u64, min: u64, max: u64, jiffy: u64) -> Self {
        RtoEstimator {
            linux: Some(LinuxRtt {
                mdev: 0,
                mdev_max: 0,
                rtt_seq: Seq(0),
                jiffy: jiffy.max(1),
            }),
            ..RtoEstimator::new(initial, min, max)
        }
    }

    /// The timeout to arm now, with backoff applied and bounded by the maximum.
    pub fn rto(&self) -> u64 {
        doubled(self.base, self.backoffs)
            .min(self.max)
            .max(self.base.min(self.max))
    }

    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    pub fn srtt(&self) -> Option<u64> {
        self.srtt
    }

    /// RFC 6298 §2.2 / §2.3: fold in a new measurement `r` (ns). Only a new measurement
    /// clears the backoff (§5, last paragraph: "once a new RTT measurement is obtained ...
    /// the computations outlined in Section 2 are performed ... which may result in
    /// 'collapsing' RTO back down"; Karn's algorithm keeps the backed-off RTO until then).
    /// `snd_una` and `snd_nxt` after the ACK that gave the sample mark Linux's round trips.
    pub fn on_sample(&mut self, r: u64, snd_una: Seq, snd_nxt: Seq) {
        if self.linux.is_some() {
            return self.on_linux_sample(r.max(1), snd_una, snd_nxt);
        }
        match self.srtt {
            None => {
                // §2.2: SRTT <- R, RTTVAR <- R/2
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                // §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'
                let delta = srtt.abs_diff(r);
                // Saturating: a sample is as long as the scenario's link delays make it.
                self.rttvar = self.rttvar.saturating_mul(3).saturating_add(delta) / 4;
                self.srtt = Some(srtt.saturating_mul(7).saturating_add(r) / 8);
            }
        }
        // RTO <- SRTT + max(G, K*RTTVAR) with K = 4; §2.4 minimum, §2.5 maximum.
        let srtt = self.srtt.unwrap_or(r);
        let variance = GRANULARITY.max(self.rttvar.saturating_mul(4));
        self.base = srtt.saturating_add(variance).clamp(self.min, self.max);
        self.backoffs = 0;
    }

    /// `tcp_rtt_estimator` and `__tcp_set_rto`: SRTT as RFC 6298; the mean deviation grows
    /// at once but falls slowly, RTTVAR is its maximum over the last round trip and at least
    /// `rto_min`; RTO = SRTT + RTTVAR, rounded up to whole jiffies, at most `rto_max`.
    fn on_linux_sample(&mut self, m: u64, snd_una: Seq, snd_nxt: Seq) {
        let Some(l) = self.linux.as_mut() else { return };
        match self.srtt {
            None => {
                self.srtt = Some(m);
                l.mdev = 2 * m;
                self.rttvar = l.mdev.max(self.min);
                l.mdev_max = self.rttvar;
                l.rtt_seq = snd_nxt;
            }
            Some(srtt) => {
                let err = m as i128 - srtt as i128;
                self.srtt = Some((srtt as i128 + err / 8).max(1) as u64);
                let mdev = l.mdev as i128;
                let step = if err < 0 {
                    let e = -err - mdev / 4;
                    if e > 0 { e / 8 } else { e }
                } else {
                    err - mdev / 4
                };
                l.mdev = (mdev + step).max(0) as u64;
                if l.mdev > l.mdev_max {
                    l.mdev_max = l.mdev;
                    self.rttvar = self.rttvar.max(l.mdev_max);
                }
                if snd_una.gt(l.rtt_seq) {
                    if l.mdev_max < self.rttvar {
                        self.rttvar -= (self.rttvar - l.mdev_max) / 4;
                    }
                    l.rtt_seq = snd_nxt;
                    l.mdev_max = self.min;
                }
            }
        }
        let rto = (self.srtt.unwrap_or(m) + self.rttvar).div_ceil(l.jiffy) * l.jiffy;
        self.base = rto.min(self.max);
        self.backoffs = 0;
    }

    /// RFC 6298 §5.5: the timer expired, so double the RTO ("back off the timer").
    pub fn back_off(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// RFC 6298 §5.7: the SYN timed out and no RTT sample was taken, so data transmission
    /// starts from `rto` (3 s) if the RTO in use is less, with no backoff.
    pub fn reinitialize(&mut self, rto: u64) {
        if self.srtt.is_none() {
            self.base = self.base.max(rto).clamp(self.min, self.max);
            self.backoffs = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    #[test]
    fn initial_and_backoff() {
        let mut e = RtoEstimator::new(S, S, 60 * S);
        assert_eq!(e.rto(), S);
        e.back_off();
        assert_eq!(e.rto(), 2 * S);
        e.back_off();
        assert_eq!(e.rto(), 4 * S);
        for _ in 0..10 {
            e.back_off();
        }
        assert_eq!(e.rto(), 60 * S, "bounded by the maximum (RFC 6298 §5.5)");
    }

    #[test]
    fn first_and_later_samples() {
        let mut e = RtoEstimator::new(S, 10 * MS, 60 * S);
        e.on_sample(100 * MS, Seq(0), Seq(0));
        // SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4*50 = 300 ms
        assert_eq!(e.srtt(), Some(100 * MS));
        assert_eq!(e.rto(), 300 * MS);
        e.on_sample(200 * MS, Seq(0), Seq(0));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5; RTO = 362.5 ms
        assert_eq!(e.srtt(), Some(112_500_000));
        assert_eq!(e.rto(), 362_500_000);
    }

    #[test]
    fn doubling_saturates() {
        assert_eq!(doubled(3, 2), 12);
        assert_eq!(doubled(60 * S, 40), u64::MAX);
        assert_eq!(doubled(1, 64), u64::MAX);
    }

    #[test]
    fn linux_rto_is_srtt_plus_at_least_rto_min_in_jiffies() {
        let mut e = RtoEstimator::linux(S, 200 * MS, 120 * S, 4 * MS);
        e.on_sample(20 * MS, Seq(0), Seq(1));
        assert_eq!(e.rto(), 220 * MS, "20 ms + max(10 ms, 200 ms)");
        e.on_sample(21 * MS, Seq(1), Seq(2));
        assert_eq!(e.rto(), 224 * MS, "rounded up to a 4 ms jiffy");
        e.back_off();
        assert_eq!(e.rto(), 448 * MS);
        e.on_sample(20 * MS, Seq(2), Seq(3));
        assert_eq!(e.backoffs(), 0, "a sample ends the backoff");
    }

    #[test]
    fn minimum_applies() {
        let mut e = RtoEstimator::new(S, S, 60 * S);
        e.on_sample(MS, Seq(0), Seq(0));
        assert_eq!(e.rto(), S, "RFC 6298 §2.4: rounded up to 1 s");
    }

    #[test]
    fn syn_loss_reinitializes_to_three_seconds_until_a_sample() {
        let mut e = RtoEstimator::new(S, S, 60 * S);
        e.back_off();
        e.back_off();
        e.reinitialize(3 * S);
        assert_eq!(e.rto(), 3 * S, "RFC 6298 §5.7");
        e.on_sample(100 * MS, Seq(0), Seq(0));
        assert_eq!(e.rto(), S, "the first sample takes over (rto_min 1 s)");
        e.reinitialize(3 * S);
        assert_eq!(e.rto(), S, "only before any sample");
    }

    #[test]
    fn sample_clears_backoff() {
        let mut e = RtoEstimator::new(S, 10 * MS, 60 * S);
        e.back_off();
        e.on_sample(100 * MS, Seq(0), Seq(0));
        assert_eq!(e.backoffs(), 0);
    }
}
