//! Tail loss probe (RFC 8985 §7), as Linux schedules and sends it (`tcp_output.c`:
//! `tcp_schedule_loss_probe()`, `tcp_send_loss_probe()`): with `tlp` and SACK
//! negotiated, the retransmission timer is preceded by a probe timer while nothing is
//! being repaired, so that a lost tail is found after about two round trips instead of
//! an RTO, and the RTO after a probe starts afresh rather than backed off.

use super::Why;
use super::conn::Connection;
use super::timers::SendTimer;

impl Connection {
    /// The send timer while data is in flight: the retransmission timer (RFC 6298 §5.1:
    /// kept running, or restarted when `restart`), or a loss probe in front of it, re-armed
    /// when an ACK advanced or new data went (`tcp_set_xmit_timer`, `tcp_write_xmit`).
    pub(super) fn retransmit_or_probe(&self, now: u64, restart: bool, fresh: bool) -> SendTimer {
        let current = self.timers.send;
        let rto = self.rto.rto();
        let rto_at = match current {
            SendTimer::Retransmit(t)
            | SendTimer::LossProbe { rto_at: t, .. }
            | SendTimer::Reorder { rto_at: t, .. }
                if !restart =>
            {
                t
            }
            _ => self.cfg.timer_at(now, rto),
        };
        if !self.loss_probe_allowed() {
            return SendTimer::Retransmit(rto_at);
        }
        match current {
            SendTimer::LossProbe { .. } if !fresh => current,
            _ if fresh => {
                // "timeout = min(timeout, rto_delta)": never later than the RTO.
                let rto_left = if restart {
                    rto
                } else {
                    rto_at.saturating_sub(now).max(1)
                };
                SendTimer::LossProbe {
                    at: self.cfg.timer_at(now, self.probe_timeout().min(rto_left)),
                    rto_at,
                }
            }
            _ => SendTimer::Retransmit(rto_at),
        }
    }

    /// `tcp_schedule_loss_probe`: SACK in use, the SYN acknowledged, and the congestion
    /// state `TCP_CA_Open` (no duplicate ACK, no recovery, no timeout being repaired).
    fn loss_probe_allowed(&self) -> bool {
        self.cfg.tlp
            && self.opts.sack
            && self.snd_una != self.iss
            && self.cc.as_ref().is_none_or(|c| c.is_open(self.snd_una))
            && (!self.rack_on() || self.rack.state() == super::rack::CaState::Open)
    }

    /// RFC 8985 §7.2 PTO as Linux computes it: 2·SRTT, plus `rto_min` when one segment
    /// is out (room for a delayed ACK) or 2 ms (`TCP_TIMEOUT_MIN_US`) otherwise, rounded
    /// up to whole jiffies; `rto_initial` without an RTT sample. One segment is out
    /// (`packets_out == 1`) when everything before the last segment sent is acknowledged.
    fn probe_timeout(&self) -> u64 {
        let jiffy = self.cfg.jiffy();
        let Some(srtt) = self.rto.srtt() else {
            return self.cfg.rto_initial;
        };
        let one_segment = self.snd_una.ge(self.last_seg_start);
        let extra = if one_segment {
            self.cfg.rto_min
        } else {
            2_000_000
        };
        (2 * srtt + extra).div_ceil(jiffy) * jiffy
    }

    /// The probe timer fired (`tcp_send_loss_probe`): one new segment if the peer's window
    /// takes it (cwnd and Nagle aside), else the last segment sent, again. At most one
    /// probe is outstanding; either way the retransmission timer then restarts from now.
    pub(super) fn send_loss_probe(&mut self, now: u64, rto_at: u64) {
        if self.tlp_high_seq.is_some() {
            // tcp_rearm_rto: what is left of the RTO, at least one tick (never due now).
            let left = rto_at.saturating_sub(now).max(1);
            self.timers.send = SendTimer::Retransmit(self.cfg.timer_at(now, left));
            return;
        }
        self.probing_loss = true;
        let sent_new = self.send_one_new(now);
        self.probing_loss = false;
        if !sent_new && !self.resend_last_segment() {
            self.arm_send_timer(now, true);
            return;
        }
        self.tlp_high_seq = Some(self.snd_nxt);
        self.timers.send = SendTimer::Retransmit(self.cfg.timer_at(now, self.rto.rto()));
    }

    /// Resends the most recently sent segment (`skb_rb_last(&sk->tcp_rtx_queue)`), its
    /// FIN included; false when nothing is outstanding.
    fn resend_last_segment(&mut self) -> bool {
        let start = self.last_seg_start.max(self.snd_una);
        if start == self.snd_nxt {
            return false;
        }
        let fin = self.fin_queued && self.snd_nxt.gt(self.data_end());
        let len = (self.snd_nxt - start) - fin as u32;
        self.resend(self.last_now, start, len, fin, Why::LossProbe);
        true
    }

    /// An ACK at or beyond the probe's SND.NXT ends the probe episode (`tcp_process_tlp_ack`,
    /// simplified: Linux's cwnd reduction when the probe repaired a loss is not modelled).
    pub(super) fn end_loss_probe_episode(&mut self, ack: super::Seq) {
        if self.tlp_high_seq.is_some_and(|h| ack.ge(h)) {
            self.tlp_high_seq = None;
        }
    }
}
