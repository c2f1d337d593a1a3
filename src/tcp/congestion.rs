//! Congestion control: RFC 5681 slow start, congestion avoidance, fast retransmit and
//! fast recovery, with RFC 6582's handling of partial acknowledgments (NewReno); with
//! `congestion = "cubic"`, the window grows and shrinks as CUBIC (RFC 9438, [`Cubic`])
//! says, counted in segments as Linux counts it (`tcp_cong.c`, `tcp_cubic.c`).

use super::Seq;
use super::config::CongestionAlgorithm;
use super::cubic::Cubic;

/// What the sender should do after an acknowledgment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Nothing,
    /// Retransmit the segment at SND.UNA now (fast retransmit, or a partial ACK in recovery).
    RetransmitFirst,
}

/// A phase change worth a line in the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Third duplicate ACK: fast retransmit, enter fast recovery (RFC 5681 §3.2 steps 2–4).
    FastRetransmit,
    /// An ACK covering `recover` ends fast recovery (RFC 6582 §3.2 step 3).
    RecoveryEnd,
    /// With `rack`: RACK found a segment lost (sent before one that was SACKed, longer
    /// ago than the RTT plus the reordering window): recovery, cwnd by PRR.
    RackRecovery,
    /// A retransmission timeout collapses cwnd to one segment (RFC 5681 §3.1 eq. 4).
    Timeout,
    /// Sending resumes after more than an RTO idle: cwnd restarts from min(IW, cwnd)
    /// (RFC 5681 §4.1).
    IdleRestart,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewReno {
    pub cwnd: u32,
    pub ssthresh: u32,
    smss: u32,
    dupacks: u32,
    /// RFC 6582 `recover`: the highest sequence number sent when loss was detected.
    recover: Seq,
    in_recovery: bool,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 §3.1).
    ca_acked: u32,
    /// The initial window, which is also the restart window's bound (RFC 5681 §4.1).
    iw: u32,
    /// Bytes sent beyond cwnd by limited transmit since the last new ACK (RFC 3042):
    /// left out of FlightSize when ssthresh is computed (RFC 5681 §3.2 step 2).
    limited_sent: u32,
    /// CUBIC's state, when it decides the window's growth and reduction.
    cubic: Option<Box<Cubic>>,
    /// Linux's `snd_cwnd_cnt`: segments ACKed since cwnd last grew in avoidance.
    cwnd_cnt: u32,
    /// ACKed bytes not yet a whole segment (Linux counts ACKed segments).
    acked_rem: u32,
    /// Linux's `tcp_cwnd_validate`: whether the window limited sending lately, the most
    /// segments in flight, and the SND.NXT that ends the current measurement.
    cwnd_limited: bool,
    max_flight: u32,
    usage_seq: Seq,
    /// A retransmission timeout is being repaired (Linux's `TCP_CA_Loss`).
    in_loss: bool,
    /// Timer ticks per second, for CUBIC's clock.
    hz: u64,
    last_send: u64,
}

impl NewReno {
    /// NewReno; `iw_segments`: None for RFC 5681's IW = min(4·SMSS, max(2·SMSS, 4380)).
    #[cfg(test)]
    pub fn new(smss: u32, iw_segments: Option<u32>, iss: Seq) -> Self {
        Self::with(
            smss,
            iw_segments,
            iss,
            CongestionAlgorithm::NewReno,
            (0, 1000),
        )
    }

    /// With the chosen algorithm; `(now, hz)`: the time it starts and the timer tick.
    pub fn with(
        smss: u32,
        iw_segments: Option<u32>,
        iss: Seq,
        algorithm: CongestionAlgorithm,
        (now, hz): (u64, u32),
    ) -> Self {
        let iw = match iw_segments {
            Some(n) => n.max(1) * smss,
            None => (4 * smss).min((2 * smss).max(4380)),
        };
        let cubic = (algorithm == CongestionAlgorithm::Cubic)
            .then(|| Box::new(Cubic::new(now / 1000, iss + 1)));
        NewReno {
            cwnd: iw,
            ssthresh: u32::MAX / 2,
            smss,
            dupacks: 0,
            recover: iss,
            in_recovery: false,
            ca_acked: 0,
            iw,
            limited_sent: 0,
            cubic,
            cwnd_cnt: 0,
            acked_rem: 0,
            cwnd_limited: false,
            max_flight: 0,
            usage_seq: iss,
            in_loss: false,
            hz: u64::from(hz.max(1)),
            last_send: now,
        }
    }

    /// How many bytes may be in flight: cwnd, plus up to two segments beyond it on the
    /// first and second duplicate ACKs when limited transmit is on (RFC 3042 §2, RFC 5681
    /// §3.2 step 1: "the total FlightSize would remain less than or equal to cwnd plus
    /// 2*SMSS").
    pub fn send_limit(&self, limited_transmit: bool) -> u32 {
        let extra = if limited_transmit && !self.in_recovery {
            self.dupacks.min(2) * self.smss
        } else {
            0
        };
        self.cwnd.saturating_add(extra)
    }

    /// A segment left with `flight` bytes outstanding afterwards; what lies beyond cwnd
    /// went by limited transmit ("cwnd MUST NOT be changed", RFC 3042 §2).
    pub fn on_transmit(&mut self, flight: u32) {
        if !self.in_recovery && flight > self.cwnd {
            self.limited_sent = self.limited_sent.max(flight - self.cwnd);
        }
    }

    /// With CUBIC, what Linux notes of each transmission: `tcp_cwnd_validate` (was the
    /// window the limit?) and `CA_EVENT_TX_START` (sending resumes with nothing in
    /// flight: the cubic epoch skips the idle time). `flight` counts what is out after
    /// the segment of `len` bytes; `(snd_una, snd_nxt)` as they are after it.
    pub fn on_transmit_at(&mut self, now: u64, flight: u32, len: u32, (una, nxt): (Seq, Seq)) {
        let Some(cubic) = self.cubic.as_mut() else {
            return;
        };
        let jiffy = 1_000_000_000 / self.hz;
        if flight == len && len > 0 {
            let idle = now.saturating_sub(self.last_send) / jiffy;
            cubic.on_restart(idle, now / jiffy);
        }
        self.last_send = now;
        let limited = flight >= self.cwnd;
        let packets = flight.div_ceil(self.smss);
        if una.ge(self.usage_seq) || limited || (!self.cwnd_limited && packets > self.max_flight) {
            self.cwnd_limited = limited;
            self.max_flight = packets;
            self.usage_seq = nxt;
        }
    }

    /// Whether per-segment RTT samples are wanted (CUBIC's HyStart and minimum RTT).
    pub fn wants_rtt_samples(&self) -> bool {
        self.cubic.is_some()
    }

    /// `tcp_is_cwnd_limited`: in slow start, while cwnd is below twice what was in
    /// flight; in avoidance, while the window was the limit. CUBIC grows only then.
    fn is_cwnd_limited(&self) -> bool {
        if self.cwnd < self.ssthresh {
            return self.cwnd / self.smss < 2 * self.max_flight;
        }
        self.cwnd_limited
    }

    /// An RTT sample of `rtt` ns at `now`: CUBIC's minimum RTT and HyStart, which may end
    /// slow start here (ssthresh = cwnd, `hystart_update`).
    pub fn on_rtt_sample(&mut self, rtt: u64, now: u64, una_nxt: (Seq, Seq)) {
        let slow_start = self.cwnd < self.ssthresh;
        let (smss, hz) = (self.smss, self.hz);
        let Some(cubic) = self.cubic.as_mut() else {
            return;
        };
        let now_j = now / (1_000_000_000 / hz);
        let cwnd = self.cwnd / smss;
        if let Some(exit) =
            cubic.on_rtt_sample(rtt / 1000, now / 1000, now_j, hz, slow_start, cwnd, una_nxt)
        {
            self.ssthresh = exit * smss;
        }
    }

    /// ACKed bytes as whole segments, the remainder kept for the next ACK.
    fn acked_segments(&mut self, acked: u32) -> u32 {
        let total = self.acked_rem.saturating_add(acked);
        self.acked_rem = total % self.smss;
        total / self.smss
    }

    /// `cubictcp_cong_avoid`: slow start by ACKed segments up to ssthresh
    /// (`tcp_slow_start`), the rest by the cubic curve (`tcp_cong_avoid_ai`).
    fn cubic_cong_avoid(&mut self, acked: u32, now: u64) {
        let mut acked = self.acked_segments(acked);
        if !self.is_cwnd_limited() || acked == 0 {
            return;
        }
        let (smss, hz) = (self.smss, self.hz);
        let mut cwnd = self.cwnd / smss;
        let ssthresh = self.ssthresh / smss;
        if cwnd < ssthresh {
            let grown = cwnd.saturating_add(acked).min(ssthresh);
            acked -= grown - cwnd;
            cwnd = grown;
        }
        if acked > 0
            && let Some(cubic) = self.cubic.as_mut()
        {
            let cnt = cubic
                .update(cwnd, acked, now / (1_000_000_000 / hz), hz)
                .max(1);
            if self.cwnd_cnt >= cnt {
                self.cwnd_cnt = 0;
                cwnd += 1;
            }
            self.cwnd_cnt += acked;
            if self.cwnd_cnt >= cnt {
                cwnd += self.cwnd_cnt / cnt;
                self.cwnd_cnt %= cnt;
            }
        }
        self.cwnd = cwnd.saturating_mul(smss);
    }

    /// ssthresh after a loss: β·cwnd with CUBIC (`cubictcp_recalc_ssthresh`), else
    /// RFC 5681 eq. 4's max(FlightSize / 2, 2·SMSS).
    fn reduced_ssthresh(&mut self, flight: u32) -> u32 {
        match self.cubic.as_mut() {
            Some(c) => c.ssthresh(self.cwnd / self.smss) * self.smss,
            None => (flight / 2).max(2 * self.smss),
        }
    }

    /// RFC 5681 §4.1: "a TCP SHOULD set cwnd to no more than RW before beginning
    /// transmission if the TCP has not sent data in an interval exceeding the
    /// retransmission timeout", RW = min(IW, cwnd).
    pub fn restart_after_idle(&mut self) -> Option<Phase> {
        (self.cwnd > self.iw).then(|| {
            self.cwnd = self.iw;
            Phase::IdleRestart
        })
    }

    /// New data was acknowledged: `acked` bytes, SND.UNA now `ack`, `flight` bytes still
    /// outstanding.
    /// `now` matters to CUBIC, whose curve is a function of time.
    pub fn on_ack(
        &mut self,
        acked: u32,
        ack: Seq,
        flight: u32,
        now: u64,
    ) -> (Reaction, Option<Phase>) {
        self.dupacks = 0;
        self.limited_sent = 0;
        if self.in_loss && ack.ge(self.recover) {
            self.in_loss = false;
        }
        if self.in_recovery {
            if ack.ge(self.recover) {
                // RFC 6582 §3.2 step 3, full acknowledgment: set cwnd to
                // min(ssthresh, max(FlightSize, SMSS) + SMSS) and leave fast recovery.
                // With CUBIC, cwnd = ssthresh (RFC 9438 §4.6; Linux
                // `tcp_end_cwnd_reduction`).
                self.in_recovery = false;
                self.cwnd = match self.cubic {
                    Some(_) => self.ssthresh,
                    None => self.ssthresh.min(flight.max(self.smss) + self.smss),
                };
                return (Reaction::Nothing, Some(Phase::RecoveryEnd));
            }
            // Step 3, partial acknowledgment: retransmit the first unacknowledged segment,
            // deflate cwnd by the amount acked, add back one SMSS if that was at least SMSS.
            self.cwnd =
                self.cwnd.saturating_sub(acked) + if acked >= self.smss { self.smss } else { 0 };
            return (Reaction::RetransmitFirst, None);
        }
        if self.cubic.is_some() {
            self.cubic_cong_avoid(acked, now);
        } else if self.cwnd < self.ssthresh {
            // RFC 5681 §3.1 slow start: cwnd += min(N, SMSS).
            self.cwnd += acked.min(self.smss);
        } else {
            // Congestion avoidance: one SMSS per cwnd of acknowledged data (§3.1, eq. 3's
            // byte-counting form).
            self.ca_acked += acked;
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd += self.smss;
            }
        }
        (Reaction::Nothing, None)
    }

    /// A duplicate ACK (RFC 5681 §2 definition, checked by the caller). `snd_nxt` is
    /// SND.NXT, `snd_una` the ACK's value.
    pub fn on_dupack(
        &mut self,
        flight: u32,
        snd_una: Seq,
        snd_nxt: Seq,
    ) -> (Reaction, Option<Phase>) {
        if self.in_recovery {
            // RFC 5681 §3.2 step 4: inflate cwnd by SMSS for each further duplicate ACK.
            self.cwnd += self.smss;
            return (Reaction::Nothing, None);
        }
        self.dupacks += 1;
        // RFC 6582 §3.2 step 2: only start fast retransmit if the ACK covers more than
        // `recover` (otherwise these are duplicates from an earlier episode).
        if self.dupacks == 3 && snd_una.gt(self.recover) {
            self.enter_recovery(flight, snd_nxt);
            return (Reaction::RetransmitFirst, Some(Phase::FastRetransmit));
        }
        (Reaction::Nothing, None)
    }

    fn enter_recovery(&mut self, flight: u32, snd_nxt: Seq) {
        // RFC 5681 §3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS) (eq. 4), without
        // what limited transmit sent ("MUST NOT be included in this calculation");
        // step 3: cwnd = ssthresh + 3*SMSS.
        let flight = flight.saturating_sub(self.limited_sent);
        self.limited_sent = 0;
        self.ssthresh = self.reduced_ssthresh(flight);
        self.cwnd_cnt = 0;
        self.cwnd = self.ssthresh + 3 * self.smss;
        self.recover = snd_nxt;
        self.in_recovery = true;
    }

    /// With `rack`, recovery begins (`tcp_init_cwnd_reduction`): ssthresh from the window
    /// (`icsk_ca_ops->ssthresh`), cwnd's growth counter reset; PRR then sets cwnd.
    pub fn begin_reduction(&mut self, flight: u32) {
        self.ssthresh = self.reduced_ssthresh(flight);
        self.cwnd_cnt = 0;
    }

    /// With `rack`: the window PRR computed, or ssthresh once recovery ends
    /// (`tcp_end_cwnd_reduction`).
    pub fn set_cwnd(&mut self, cwnd: u32) {
        self.cwnd = cwnd.max(self.smss);
    }

    /// Linux's `TCP_CA_Open`: no duplicate ACK counted, not in fast recovery, and not
    /// repairing a timeout (SND.UNA has reached `recover`).
    pub fn is_open(&self, snd_una: Seq) -> bool {
        self.dupacks == 0 && !self.in_recovery && snd_una.ge(self.recover)
    }

    /// The retransmission timer expired (RFC 5681 §3.1 eq. 4 and "cwnd ... to no more
    /// than the loss window, LW, which equals 1 full-sized segment"; RFC 6582 §3.2 step 4:
    /// record `recover`).
    ///
    /// With CUBIC, as Linux's `tcp_enter_loss`: ssthresh
    /// is kept when a recovery or an earlier timeout is still being repaired, and the
    /// cubic state starts over (`cubictcp_state(TCP_CA_Loss)`).
    pub fn on_timeout(&mut self, flight: u32, snd_nxt: Seq, now: u64) -> Phase {
        match self.cubic.as_mut() {
            Some(_) if self.in_loss || self.in_recovery => {}
            _ => self.ssthresh = self.reduced_ssthresh(flight),
        }
        if let Some(c) = self.cubic.as_mut() {
            c.on_timeout(now / 1000, snd_nxt);
        }
        self.in_loss = true;
        self.cwnd_cnt = 0;
        self.cwnd = self.smss;
        self.dupacks = 0;
        self.limited_sent = 0;
        self.in_recovery = false;
        self.recover = snd_nxt;
        Phase::Timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    fn reno() -> NewReno {
        NewReno::new(MSS, None, Seq(0))
    }

    #[test]
    fn initial_window_rfc5681_and_iw10() {
        assert_eq!(reno().cwnd, 4000, "min(4*1000, max(2000, 4380))");
        assert_eq!(NewReno::new(1460, None, Seq(0)).cwnd, 4380);
        assert_eq!(NewReno::new(1460, Some(10), Seq(0)).cwnd, 14600, "RFC 6928");
    }

    #[test]
    fn slow_start_then_congestion_avoidance() {
        let mut r = reno();
        r.on_ack(MSS, Seq(1001), 0, 0);
        assert_eq!(
            r.cwnd, 5000,
            "slow start: +1 SMSS per ACK of a full segment"
        );
        r.ssthresh = 5000;
        for i in 0..4 {
            r.on_ack(MSS, Seq(2001 + i * 1000), 0, 0);
        }
        assert_eq!(r.cwnd, 5000, "avoidance: not yet a whole cwnd acknowledged");
        r.on_ack(MSS, Seq(6001), 0, 0);
        assert_eq!(r.cwnd, 6000, "one SMSS per cwnd of acknowledged bytes");
    }

    #[test]
    fn three_dupacks_fast_retransmit_and_recovery() {
        let mut r = reno();
        r.cwnd = 10_000;
        let (una, max) = (Seq(1001), Seq(11_001));
        assert_eq!(r.on_dupack(10_000, una, max).0, Reaction::Nothing);
        assert_eq!(r.on_dupack(10_000, una, max).0, Reaction::Nothing);
        assert_eq!(
            r.on_dupack(10_000, una, max),
            (Reaction::RetransmitFirst, Some(Phase::FastRetransmit))
        );
        assert_eq!((r.ssthresh, r.cwnd), (5000, 8000));
        r.on_dupack(10_000, una, max);
        assert_eq!(r.cwnd, 9000, "inflated by one SMSS per further duplicate");
        // Partial ACK: a second hole; retransmit it, deflate.
        assert_eq!(
            r.on_ack(2000, Seq(3001), 8000, 0).0,
            Reaction::RetransmitFirst
        );
        assert_eq!(r.cwnd, 9000 - 2000 + 1000);
        assert!(r.in_recovery);
        // Full ACK ends recovery.
        assert_eq!(
            r.on_ack(8000, Seq(11_001), 0, 0),
            (Reaction::Nothing, Some(Phase::RecoveryEnd))
        );
        assert_eq!(r.cwnd, 2000, "min(ssthresh, max(FlightSize, SMSS) + SMSS)");
        assert!(!r.in_recovery);
    }

    #[test]
    fn dupacks_from_before_recover_do_not_retrigger() {
        let mut r = reno();
        r.on_timeout(8000, Seq(9001), 0);
        for _ in 0..3 {
            assert_eq!(r.on_dupack(4000, Seq(5001), Seq(9001)).0, Reaction::Nothing);
        }
    }

    #[test]
    fn limited_transmit_allows_two_segments_beyond_cwnd_outside_ssthresh() {
        let mut r = reno();
        r.cwnd = 4000;
        let (una, nxt) = (Seq(1001), Seq(5001));
        assert_eq!(r.send_limit(true), 4000);
        r.on_dupack(4000, una, nxt);
        assert_eq!(
            r.send_limit(true),
            5000,
            "first duplicate: one more segment"
        );
        assert_eq!(r.send_limit(false), 4000, "limited transmit off");
        r.on_transmit(5000);
        r.on_dupack(5000, una, nxt);
        assert_eq!(r.send_limit(true), 6000);
        r.on_transmit(6000);
        assert_eq!(r.cwnd, 4000, "cwnd MUST NOT be changed (RFC 3042 §2)");
        r.on_dupack(6000, una, Seq(7001));
        assert_eq!(
            r.ssthresh, 2000,
            "FlightSize without the 2000 bytes of limited transmit, halved"
        );
        assert_eq!(r.send_limit(true), r.cwnd, "no extra in recovery");
    }

    #[test]
    fn idle_restart_window_is_min_of_iw_and_cwnd() {
        let mut r = reno();
        assert_eq!(r.restart_after_idle(), None, "cwnd is still IW");
        r.cwnd = 20_000;
        assert_eq!(r.restart_after_idle(), Some(Phase::IdleRestart));
        assert_eq!(r.cwnd, 4000);
    }

    #[test]
    fn timeout_collapses_to_one_segment() {
        let mut r = reno();
        r.cwnd = 20_000;
        assert_eq!(r.on_timeout(20_000, Seq(20_001), 0), Phase::Timeout);
        assert_eq!((r.cwnd, r.ssthresh), (1000, 10_000));
        assert_eq!(reno().on_timeout(1000, Seq(1), 0), Phase::Timeout);
    }
}
