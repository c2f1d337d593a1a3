//! The connection's side of `rack` (Linux's SACK-based recovery, [`super::rack`]): what
//! an ACK does to the recovery state and cwnd (`tcp_ack`: `tcp_fastretrans_alert`, then
//! `tcp_cong_control`), the reorder timer (`tcp_rack_reo_timeout`), and resending the
//! segments marked lost (`tcp_xmit_retransmit_queue`).

use super::Why;
use super::congestion::Phase;
use super::conn::Connection;
use super::rack::{CaState, Delivered, Undo};
use super::timers::SendTimer;

impl Connection {
    /// `rack` applies: the setting, SACK negotiated and congestion control on.
    pub(super) fn rack_on(&self) -> bool {
        self.cfg.rack && self.opts.sack && self.cc.is_some()
    }

    /// cwnd in segments (Linux counts packets).
    pub(super) fn cwnd_segments(&self) -> u32 {
        let smss = self.eff_snd_mss().max(1);
        self.cc
            .as_ref()
            .map_or(u32::MAX, |c| (c.cwnd / smss).max(1))
    }

    /// After an ACK's SACK blocks and SND.UNA are taken (`prior_una`: SND.UNA before it):
    /// what it delivered marks the record, RACK looks for losses, the congestion state
    /// moves (`tcp_fastretrans_alert` runs on a duplicate ACK, new SACKs, or outside
    /// Open), then cwnd follows PRR in recovery or grows as the controller says.
    pub(super) fn rack_after_ack(
        &mut self,
        now: u64,
        prior_una: super::Seq,
        dupack: bool,
        dsack: bool,
    ) {
        let una = self.snd_una;
        self.rack.note_srtt(self.rto.srtt());
        let d = self.rack.on_ack(now, una, &self.scoreboard, dsack);
        let advanced = una != prior_una;
        self.hold_resends = false;
        if advanced && self.undo_partial() {
            self.hold_resends = true;
            return self.rack_cwnd(now, d, advanced, false);
        }
        self.hold_resends = false;
        let lost_before = self.rack.lost_out();
        let wait = self.rack.mark_lost(now);
        let newly_lost = self.rack.lost_out() > lost_before;
        if dupack || d.sacked > 0 || dsack || self.rack.state() != CaState::Open {
            self.rack_state_after(una);
        }
        self.rack_cwnd(now, d, advanced, newly_lost);
        // A new wait re-arms the reorder timer; an ACK of new data re-arms the RTO in its
        // place (tcp_ack's FLAG_SET_XMIT_TIMER); a bare SACK leaves it running.
        if let Some(w) = wait {
            self.reo_at = Some(self.reorder_deadline(now, w));
        } else if advanced {
            self.reo_at = None;
        }
    }

    /// `tcp_try_undo_partial` (with timestamps): an ACK in recovery for an original that
    /// arrived late. Returns whether this ACK marks and resends nothing (resent copies are
    /// out); undoes the reduction when none is.
    fn undo_partial(&mut self) -> bool {
        let Some(tsecr) = self.arrival_tsecr.filter(|_| self.opts.ts.ok) else {
            return false;
        };
        match self.rack.original_filled_hole(tsecr) {
            Some(Undo::HoldResends) => true,
            Some(Undo::Reduction { cwnd, ssthresh }) => {
                let smss = self.eff_snd_mss();
                if let Some(cc) = self.cc.as_mut() {
                    let restored = cc.cwnd.max(cwnd.saturating_mul(smss));
                    cc.set_cwnd(restored);
                    cc.ssthresh = cc.ssthresh.max(ssthresh.saturating_mul(smss));
                }
                false
            }
            None => false,
        }
    }

    /// `tcp_fastretrans_alert`: recovery ends at `high_seq` (cwnd = ssthresh,
    /// `tcp_end_cwnd_reduction`), and begins when RACK marked a segment lost.
    fn rack_state_after(&mut self, una: super::Seq) {
        let t = self.rack.update_state(una);
        if t.ended == Some(CaState::Recovery)
            && let Some(cc) = self.cc.as_mut()
        {
            let ssthresh = cc.ssthresh;
            cc.set_cwnd(ssthresh);
            self.report_congestion(Phase::RecoveryEnd);
        }
        if t.recovery_began {
            self.begin_recovery();
        }
    }

    /// `tcp_enter_recovery` → `tcp_init_cwnd_reduction`.
    fn begin_recovery(&mut self) {
        let cwnd = self.cwnd_segments();
        let smss = self.eff_snd_mss().max(1);
        let flight = self.rack.in_flight().saturating_mul(smss);
        // tcp_current_ssthresh: at least three quarters of cwnd.
        let prior = self
            .cc
            .as_ref()
            .map_or(0, |c| (c.ssthresh / smss).max(cwnd * 3 / 4));
        if let Some(cc) = self.cc.as_mut() {
            cc.begin_reduction(flight);
        }
        self.rack.start_reduction(cwnd, prior, self.snd_nxt);
        self.tlp_high_seq = None;
        self.report_congestion(Phase::RackRecovery);
    }

    /// `tcp_cong_control`: PRR while in recovery (`tcp_cwnd_reduction`), else the
    /// controller's growth when SND.UNA advanced (`tcp_may_raise_cwnd`).
    fn rack_cwnd(&mut self, now: u64, d: Delivered, advanced: bool, newly_lost: bool) {
        let acked = std::mem::take(&mut self.rack_acked);
        let smss = self.eff_snd_mss().max(1);
        if self.rack.state() == CaState::Recovery {
            let ssthresh = self.cc.as_ref().map_or(1, |c| c.ssthresh / smss);
            if let Some(cwnd) = self.rack.prr_cwnd(d, ssthresh, advanced, newly_lost)
                && let Some(cc) = self.cc.as_mut()
            {
                cc.set_cwnd(cwnd.saturating_mul(smss));
            }
            return;
        }
        if advanced && acked > 0 {
            // tcp_cong_avoid(sk, ack, acked_sacked): the segments this ACK delivered, not
            // the bytes SND.UNA moved over (what was SACKed before counted then).
            let acked = match d.segments {
                0 => acked,
                n => n.saturating_mul(smss),
            };
            let flight = self.rack.in_flight().saturating_mul(smss);
            let ack = self.snd_una;
            if let Some((_, Some(phase))) =
                self.cc.as_mut().map(|c| c.on_ack(acked, ack, flight, now))
            {
                self.report_congestion(phase);
            }
        }
    }

    /// `tcp_rack_mark_lost`: the reorder timer `wait` ns from now plus 2 ms
    /// (`TCP_TIMEOUT_MIN_US`), rounded up to whole jiffies, on the timer wheel; never
    /// later than the RTO. (Measured: the kernel here resends about 6 ms after a SACK
    /// that leaves a segment 5 ms from its window's end; adding two whole jiffies, as
    /// older kernels do, would make it 12–16 ms at HZ = 250.)
    fn reorder_deadline(&self, now: u64, wait: u64) -> u64 {
        let jiffy = self.cfg.jiffy().max(1);
        let delay = wait.saturating_add(2_000_000).div_ceil(jiffy) * jiffy;
        self.cfg.timer_at(now, delay.min(self.rto.rto()))
    }

    /// The reorder timer fired (`tcp_rack_reo_timeout`): what is now past its window is
    /// lost; recovery begins if it had not (cwnd by PRR for one segment delivered) and the
    /// lost segments go; then the retransmission timer runs again.
    pub(super) fn on_reorder_timeout(&mut self, now: u64, rto_at: u64) {
        self.reo_at = None;
        let before = self.rack.in_flight();
        self.rack.detect_loss(now);
        self.timers.send = SendTimer::Retransmit(rto_at.max(now + 1));
        if self.rack.in_flight() != before {
            if self.rack.state() != CaState::Recovery {
                self.rack.update_state(self.snd_una);
                if self.rack.state() == CaState::Recovery {
                    self.begin_recovery();
                    let one = Delivered {
                        segments: 1,
                        sacked: 0,
                    };
                    self.rack_cwnd(now, one, false, false);
                }
            }
            self.try_send(now);
        }
        self.arm_send_timer(now, false);
    }

    /// `tcp_xmit_retransmit_queue`, one segment: the first marked lost and not resent, if
    /// cwnd has room for it. Returns whether one went.
    pub(super) fn resend_lost(&mut self, now: u64) -> bool {
        if self.hold_resends || self.rack.in_flight() >= self.cwnd_segments() {
            return false;
        }
        let Some((seq, end)) = self.rack.next_lost() else {
            return false;
        };
        let data_end = self.data_end();
        let fin = self.fin_queued && end == data_end + 1;
        let len = (end - seq) - fin as u32;
        let why = if self.rack.state() == CaState::Loss {
            Why::RtoResend
        } else {
            Why::FastRetransmit
        };
        self.resend(now, seq, len, fin, why);
        true
    }

    /// The timer to arm with `rack` when RACK waits on a segment's reordering window: in
    /// front of the retransmission timeout `timer` would have run.
    pub(super) fn with_reorder_timer(&self, timer: SendTimer) -> SendTimer {
        let rto_at = match timer {
            SendTimer::Retransmit(t)
            | SendTimer::LossProbe { rto_at: t, .. }
            | SendTimer::Reorder { rto_at: t, .. } => t,
            _ => return timer,
        };
        match self.reo_at {
            Some(at) if self.rack_on() => SendTimer::Reorder {
                at: at.min(rto_at),
                rto_at,
            },
            _ => timer,
        }
    }
}
