//! Everything a connection sends: data and the FIN as the windows allow (RFC 9293 §3.8.6,
//! RFC 5681), Nagle and sender silly-window avoidance (RFC 1122 §4.2.3.4), retransmission
//! (RFC 6298; fast retransmit and recovery, RFC 5681 §3.2 and RFC 6582; limited transmit,
//! RFC 3042), zero-window probes (RFC 9293 §3.8.6.1), the restart window after idle (RFC
//! 5681 §4.1) — and the one place that decides the send timer.

use super::congestion::{Phase, Reaction};
use super::conn::{Connection, ZeroWindow};
use super::rules;
use super::timers::SendTimer;
use super::{ConnEvent, Flags, Segment, Seq, State, Why};

/// A segment the sender may send now.
#[derive(Debug, Clone, Copy)]
struct Plan {
    seq: Seq,
    len: u32,
    fin: bool,
    /// The segment empties the send queue (RFC 9293 §3.9.1: PSH on the last of a SEND).
    push: bool,
}

/// Why nothing more can be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    /// Nothing is waiting, or the congestion window is full (ACKs will come).
    Nothing,
    /// The peer's window has no room for what is waiting.
    Window,
    /// Nagle or silly-window avoidance holds a short segment back.
    Held,
}

impl Connection {
    /// Sends whatever data and FIN the windows allow (one segment at a time after a
    /// timeout, as cwnd paces it), then lets the timer follow.
    pub(super) fn try_send(&mut self, now: u64) {
        if !self.state.is_synchronized() {
            return;
        }
        self.restart_after_idle(now);
        let blocked = loop {
            if self.rack_on() {
                if self.resend_lost(now) {
                    continue;
                }
                if self.rack.in_flight() >= self.cwnd_segments() && !self.probing_loss {
                    break Blocked::Nothing;
                }
            }
            match self.plan() {
                Ok(plan) => self.send_planned(now, plan),
                Err(blocked) => break blocked,
            }
        };
        // RFC 9293 §3.8.6.1: a zero window with something waiting and nothing in flight:
        // probe it, on the persist timer.
        if blocked == Blocked::Window && self.snd_una == self.snd_nxt {
            self.zero_window.get_or_insert_default();
        }
        self.arm_send_timer(now, false);
    }

    /// The next segment the windows, Nagle and silly-window avoidance allow, from where
    /// sending continues (SND.NXT, or below it when resending).
    fn plan(&self) -> Result<Plan, Blocked> {
        let data_end = self.data_end();
        let from = self.send_point();
        let avail = if from.lt(data_end) {
            data_end - from
        } else {
            0
        };
        // The FIN goes after the last byte, unless it has been sent from here already (or,
        // resending, the peer SACKed it).
        let fin_sacked = from.lt(self.snd_nxt) && self.scoreboard.is_sacked(data_end);
        let fin_due = self.fin_queued && from.le(data_end) && !fin_sacked;
        if avail == 0 && !fin_due {
            return Err(Blocked::Nothing);
        }
        let wnd_end = self.snd_una + self.snd_wnd;
        let limit = (self.cc.as_ref())
            .filter(|_| !self.probing_loss && !self.rack_on())
            .map_or(u32::MAX, |c| c.send_limit(self.cfg.limited_transmit));
        let cc_end = self.snd_una + self.snd_wnd.min(limit);
        let room = if cc_end.gt(from) { cc_end - from } else { 0 };
        let offset = (from - (self.iss + 1)) as u64;
        let len = avail
            .min(room)
            .min(self.unsacked_run(from))
            .min(self.eff_snd_mss())
            .min(self.send_buf.run_len_at(offset));
        // The FIN occupies a sequence number, which must lie inside the peer's window like
        // an octet (the receiver trims a FIN at its right edge): it waits for window space
        // like data, and is not limited by cwnd.
        let fin = fin_due
            && len == avail
            && (from + len).lt(wnd_end)
            && (len > 0 || self.fin_fits_cwnd());
        if len == 0 && !fin {
            let waiting = avail > 0 || fin_due;
            let window_full = !from.lt(wnd_end);
            return Err(if waiting && window_full {
                Blocked::Window
            } else {
                Blocked::Nothing
            });
        }
        if len > 0 && !self.may_send(from, len, avail, fin) {
            return Err(Blocked::Held);
        }
        Ok(Plan {
            seq: from,
            len,
            fin,
            push: len > 0 && len == avail,
        })
    }

    /// With `fin_needs_cwnd`, whether a FIN without data fits the congestion window
    /// counted in segments (Linux `tcp_cwnd_test`: packets in flight below cwnd).
    fn fin_fits_cwnd(&self) -> bool {
        let Some(cc) = self.cc.as_ref().filter(|_| self.cfg.fin_needs_cwnd) else {
            return true;
        };
        let cwnd_segs = (cc.cwnd / self.eff_snd_mss().max(1)).max(1) as usize;
        self.probing_loss || self.resend_from.is_some() || self.seg_ends.len() < cwnd_segs
    }

    /// Sends the next new segment (from SND.NXT) if the windows allow one.
    pub(super) fn send_one_new(&mut self, now: u64) -> bool {
        match self.plan() {
            Ok(plan) if plan.seq == self.snd_nxt => {
                self.send_planned(now, plan);
                true
            }
            _ => false,
        }
    }

    /// Where the next segment starts: below SND.NXT while resending, else SND.NXT.
    /// Resending passes over what the peer SACKed (RFC 6675 §5.1; Linux resends only what
    /// `tcp_timeout_mark_lost` marked, never a SACKed segment).
    fn send_point(&self) -> Seq {
        match self.resend_from {
            Some((seq, _)) => {
                let seq = self.scoreboard.skip(seq);
                if seq.lt(self.snd_nxt) {
                    seq
                } else {
                    self.snd_nxt
                }
            }
            None => self.snd_nxt,
        }
    }

    /// Bytes from `from` up to the next SACKed range (a resent segment stops there).
    fn unsacked_run(&self, from: Seq) -> u32 {
        match self.scoreboard.next_sacked(from) {
            Some(l) if from.lt(self.snd_nxt) => l - from,
            _ => u32::MAX,
        }
    }

    fn send_planned(&mut self, now: u64, p: Plan) {
        let resend = p.seq.lt(self.snd_nxt);
        let end = p.seq + p.len + p.fin as u32;
        let flight_after = self.flight_size_to(end.max(self.snd_nxt));
        let why = self.why_sent(p, resend, flight_after);
        let mut flags = Flags::ACK;
        if p.fin {
            flags = flags | Flags::FIN;
        }
        if p.push || (!resend && p.len > 0 && self.gso_packet_ends()) {
            flags = flags | Flags::PSH;
        }
        let mut seg = self.segment(p.seq, flags, p.len, why);
        seg.tag = self.send_buf.tag_at((p.seq - (self.iss + 1)) as u64);
        if resend {
            // The segment resuming at a refused probe's octet re-sends the probe, which
            // was never data in flight (tshark does not count it either).
            if why != Why::ResumeAfterProbe {
                self.stats.retransmits += 1;
            }
            self.forget_send_times(p.seq, p.len);
            self.resend_from = self.resend_from.filter(|_| end.lt(self.snd_nxt));
            if let Some((at, _)) = self.resend_from.as_mut() {
                *at = end;
            }
        }
        if self.rack_on() {
            if resend {
                self.rack.on_retransmit(p.seq, end.min(self.snd_nxt), now);
            }
            if end.gt(self.snd_nxt) {
                // Sequence space sent outside the record (a zero-window probe's octet)
                // joins it, so that nothing unacknowledged is missing from it.
                // (Never the SYN's sequence number: a SYN,ACK may still be unacknowledged.)
                let first = self.snd_una.max(self.iss + 1);
                let from = self.rack.end().unwrap_or(first).max(first);
                let start = p.seq.max(self.snd_nxt);
                if from.lt(start) {
                    self.rack.on_send(from, start, now);
                }
                self.rack.on_send(start, end, now);
                self.rack.on_new_data_sent();
            }
        }
        if end.gt(self.snd_nxt) {
            if self.cfg.fin_needs_cwnd {
                self.seg_ends.push_back(end);
            }
            self.sent_new_data = true;
            self.last_seg_start = p.seq;
            // Karn's rule: only a segment sent for the first time is timed.
            if !resend && self.rtt_probe.is_none() {
                self.rtt_probe = Some((end, now));
            }
            self.snd_nxt = end;
        }
        if p.len > 0 {
            self.last_data_sent = now;
            if p.len < self.eff_snd_mss() {
                self.snd_sml = end;
            }
        }
        // With `rack`, what is in flight is Linux's count (SACKed and lost segments out),
        // which decides whether cwnd limited sending (`tcp_cwnd_validate`).
        let cc_flight = if self.rack_on() {
            let others = self.rack.in_flight().saturating_sub(1);
            others
                .saturating_mul(self.eff_snd_mss())
                .saturating_add(p.len)
        } else {
            flight_after
        };
        if let Some(cc) = self.cc.as_mut() {
            cc.on_transmit(flight_after);
            cc.on_transmit_at(now, cc_flight, p.len, (self.snd_una, self.snd_nxt));
        }
        if !resend && p.len > 0 && self.cc.as_ref().is_some_and(|c| c.wants_rtt_samples()) {
            self.sent_times.push_back((end, now));
        }
        self.emit(seg);
    }

    /// With `push_per_gso`: whether the segment about to go ends a Linux GSO packet of
    /// `tcp_tso_autosize` segments: the pacing rate (twice cwnd per SRTT in slow start,
    /// 1.2 times after) for 1 ms, at least 2 segments.
    fn gso_packet_ends(&mut self) -> bool {
        if !self.cfg.push_per_gso {
            return false;
        }
        let mss = u64::from(self.eff_snd_mss().max(1));
        let segs = match (self.cc.as_ref(), self.rto.srtt()) {
            (Some(cc), Some(srtt)) if srtt > 0 => {
                let factor = if cc.cwnd < cc.ssthresh { 20 } else { 12 };
                let per_ms = u64::from(cc.cwnd) * factor / 10 * 1_000_000 / srtt;
                (per_ms / mss).clamp(2, 64) as u32
            }
            _ => 2,
        };
        self.segs_since_push += 1;
        if self.segs_since_push >= segs {
            self.segs_since_push = 0;
            return true;
        }
        false
    }

    fn why_sent(&self, p: Plan, resend: bool, flight_after: u32) -> Why {
        let beyond_cwnd = self
            .cc
            .as_ref()
            .is_some_and(|c| flight_after > c.cwnd && p.len > 0);
        match (p.len > 0, p.fin) {
            _ if resend => self.resend_from.map_or(Why::RtoResend, |(_, why)| why),
            _ if self.probing_loss => Why::LossProbe,
            _ if self.sws_override => Why::SwsOverride,
            _ if beyond_cwnd => Why::LimitedTransmit,
            (true, true) => Why::DataFin,
            (false, true) => Why::Fin,
            _ => Why::Data,
        }
    }

    /// Sender-side silly window avoidance and Nagle (RFC 1122 §4.2.3.4): send a full
    /// segment, or at least half the largest window the peer offered, or everything queued
    /// when nothing is unacknowledged (Nagle) — or at any time when Nagle is off.
    /// Retransmissions always go, and so does whatever the override timeout releases.
    /// With `nagle_minshall` (Linux `tcp_nagle_test`), the last short segment goes when
    /// it carries the FIN or no earlier short segment is unacknowledged.
    fn may_send(&self, from: Seq, len: u32, avail: u32, fin: bool) -> bool {
        let idle = self.snd_una == self.snd_nxt;
        let minshall = self.cfg.nagle_minshall
            && (fin || !(self.snd_sml.gt(self.snd_una) && self.snd_sml.le(self.snd_nxt)));
        len == self.eff_snd_mss()
            || from.lt(self.snd_nxt)
            || len >= self.max_snd_wnd / 2
            || (len == avail && (idle || !self.cfg.nagle || minshall))
            || self.sws_override
            || self.probing_loss
    }

    /// Linux `retransmits_timed_out` for a SYN: `syn_retries` backoffs from `rto_initial`,
    /// doubling up to `rto_max`, then at `rto_max` (`tcp_model_timeout`), since the first SYN.
    fn syn_time_is_up(&self, now: u64) -> bool {
        if !self.cfg.syn_give_up_by_time {
            return false;
        }
        let (base, max) = (self.cfg.rto_initial.max(1), self.cfg.rto_max);
        let doublings = (max / base).max(1).ilog2();
        let n = self.cfg.syn_retries;
        let limit = if n <= doublings {
            super::rto::doubled(base, n + 1).saturating_sub(base)
        } else {
            let grown = super::rto::doubled(base, doublings + 1).saturating_sub(base);
            grown.saturating_add(u64::from(n - doublings).saturating_mul(max))
        };
        now.saturating_sub(self.syn_sent_at) >= limit
    }

    /// RFC 5681 §4.1: "if the TCP has not sent data in an interval exceeding the
    /// retransmission timeout", cwnd restarts from min(IW, cwnd) before sending again.
    fn restart_after_idle(&mut self, now: u64) {
        let idle = self.snd_una == self.snd_nxt && self.has_unsent();
        if !self.cfg.restart_after_idle
            || !idle
            || now.saturating_sub(self.last_data_sent) <= self.rto.rto()
        {
            return;
        }
        if let Some(phase) = self.cc.as_mut().and_then(|c| c.restart_after_idle()) {
            self.report_congestion(phase);
        }
    }

    /// RFC 5681's FlightSize if everything up to `end` has been sent: data bytes between
    /// SND.UNA and `end` (the SYN and FIN occupy sequence space but are not data).
    fn flight_size_to(&self, end: Seq) -> u32 {
        let first = self.iss + 1;
        let start = if self.snd_una.lt(first) {
            first
        } else {
            self.snd_una
        };
        let data_end = self.data_end();
        let end = if end.gt(data_end) { data_end } else { end };
        if end.gt(start) { end - start } else { 0 }
    }

    /// Data or a FIN not yet sent from the current send point.
    fn has_unsent(&self) -> bool {
        let (from, data_end) = (self.send_point(), self.data_end());
        from.lt(data_end) || (self.fin_queued && from.le(data_end))
    }

    /// Sequence number just past the last byte the application wrote (where the FIN goes).
    pub(super) fn data_end(&self) -> Seq {
        self.iss + 1 + self.send_buf.written() as u32
    }

    pub(super) fn fin_acked(&self) -> bool {
        self.fin_queued && self.snd_una == self.data_end() + 1
    }

    // ----- the send timer ---------------------------------------------------------------

    /// The one place that decides the send timer, from the state of the send side:
    /// - a zero window with something waiting: the persist timer, which probes (RFC 9293
    ///   §3.8.6.1; SHLD-29: the first probe after one RTO);
    /// - otherwise SYN, data or FIN in flight: the retransmission timer (RFC 6298 §5.1:
    ///   started when a segment goes and it is not running; §5.3: restarted, `restart`,
    ///   when new data is acknowledged; §5.2: stopped when all is acknowledged);
    /// - otherwise a short segment that silly-window avoidance holds with nothing in flight:
    ///   the persist timer as its override timeout (RFC 1122 §4.2.3.4 suggests combining
    ///   the two);
    /// - otherwise none.
    pub(super) fn arm_send_timer(&mut self, now: u64, restart: bool) {
        let current = self.timers.send;
        let fresh = restart || std::mem::take(&mut self.sent_new_data);
        if matches!(self.state, State::Closed | State::Listen | State::TimeWait) {
            self.timers.send = SendTimer::Off;
            return;
        }
        let keep_persist = |at: u64| match current {
            SendTimer::Persist(t) => SendTimer::Persist(t),
            _ => SendTimer::Persist(self.cfg.timer_at(now, at)),
        };
        self.timers.send = if self.zero_window.is_some() {
            keep_persist(self.probe_interval())
        } else if self.snd_una != self.snd_nxt {
            let timer = self.retransmit_or_probe(now, restart, fresh);
            self.with_reorder_timer(timer)
        } else if self.state.is_synchronized() && self.plan().err() == Some(Blocked::Held) {
            keep_persist(self.rto.rto())
        } else {
            SendTimer::Off
        };
    }

    /// The interval before the next zero-window probe: the RTO, doubled per probe sent
    /// (SHLD-30: "increase exponentially the interval between successive probes"), capped
    /// at `rto_max` (Linux caps at TCP_RTO_MAX, 120 s).
    fn probe_interval(&self) -> u64 {
        let backoff = self.zero_window.map_or(0, |z| z.backoff);
        super::rto::doubled(self.rto.rto(), backoff).min(self.cfg.rto_max)
    }

    /// The send timer fired: retransmit, or probe / release what silly-window avoidance
    /// held.
    pub(super) fn on_send_timer(&mut self, now: u64) {
        match self.timers.send {
            SendTimer::Retransmit(t) if t <= now => {
                self.timers.send = SendTimer::Off;
                self.on_retransmit_timeout(now);
            }
            SendTimer::LossProbe { at, rto_at } if at <= now => {
                self.timers.send = SendTimer::Off;
                self.send_loss_probe(now, rto_at);
            }
            SendTimer::Reorder { at, rto_at } if at <= now => {
                self.timers.send = SendTimer::Off;
                self.on_reorder_timeout(now, rto_at);
            }
            SendTimer::Persist(t) if t <= now => {
                self.timers.send = SendTimer::Off;
                if self.zero_window.is_some() {
                    self.probe_window(now);
                } else {
                    self.sws_override = true;
                    self.try_send(now);
                    self.sws_override = false;
                }
            }
            _ => {}
        }
    }

    /// After an ACK that answered (or may have answered) a probe: any ACK resets the count
    /// of unanswered probes, and a window that opened ends probing. A probe the receiver
    /// refused is sent again first: sending resumes at SND.UNA, leaving no hole.
    /// With `probe_old_seq` an ACK that leaves the window closed restarts the probe timer
    /// from now (tcp_input.c `tcp_ack_probe`).
    pub(super) fn on_peer_window(&mut self, now: u64) {
        let Some(zw) = self.zero_window.as_mut() else {
            return;
        };
        zw.unanswered = 0;
        if self.snd_wnd > 0 {
            self.zero_window = None;
            if self.snd_una != self.snd_nxt {
                self.resend_from = Some((self.snd_una, Why::ResumeAfterProbe));
            }
        } else if self.cfg.probe_old_seq && matches!(self.timers.send, SendTimer::Persist(_)) {
            let at = self.cfg.timer_at(now, self.probe_interval());
            self.timers.send = SendTimer::Persist(at);
        }
    }

    /// Sends the next unit of sequence space past the closed window — "at least one octet
    /// of new data (if available)", else the FIN — which the receiver answers with an ACK
    /// showing its window (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17). Probes back off and
    /// never give up while the peer answers them (MUST-37); after `retries` unanswered
    /// probes the connection times out like any retransmission.
    fn probe_window(&mut self, now: u64) {
        let Some(zw) = self.zero_window else { return };
        if zw.unanswered >= self.cfg.retries {
            self.events.push(ConnEvent::TimedOut);
            self.enter_closed(Why::TimedOut);
            return;
        }
        let (len, flags) = if self.snd_una.lt(self.data_end()) {
            (1, Flags::ACK)
        } else if self.fin_queued && !self.fin_acked() {
            (0, Flags::ACK | Flags::FIN)
        } else {
            // Nothing left to probe with: a FIN the peer acknowledged (with a zero
            // window) is not sent again past itself.
            self.zero_window = None;
            return self.arm_send_timer(now, false);
        };
        let seg = if self.cfg.probe_old_seq {
            // tcp_xmit_probe_skb(sk, 0): "Use a previous sequence. This should cause the
            // other end to send an ack." Nothing enters the sequence space.
            self.segment(self.snd_una - 1, Flags::ACK, 0, Why::WindowProbeOldSeq)
        } else {
            let mut seg = self.segment(self.snd_una, flags, len, Why::WindowProbe);
            seg.tag = self.send_buf.tag_at((self.snd_una - (self.iss + 1)) as u64);
            self.snd_nxt = self.snd_nxt.max(self.snd_una + 1);
            seg
        };
        self.zero_window = Some(ZeroWindow {
            backoff: zw.backoff + 1,
            unanswered: zw.unanswered + 1,
        });
        self.last_data_sent = now;
        self.events.push(ConnEvent::WindowProbe {
            old_seq: self.cfg.probe_old_seq,
        });
        self.emit(seg);
        self.arm_send_timer(now, false);
    }

    // ----- retransmission -----------------------------------------------------------------

    /// RFC 6298 §5.4–5.6: resend the earliest unacknowledged segment, double the RTO,
    /// restart the timer; give up after the configured number of attempts (RFC 1122
    /// §4.2.3.5 R2; a SYN gets `syn_retries`).
    fn on_retransmit_timeout(&mut self, now: u64) {
        let syn_unacked = self.snd_una == self.iss;
        let active_syn = self.state == State::SynSent;
        let limit = match (syn_unacked, active_syn) {
            (true, true) => self.cfg.syn_retries + self.cfg.syn_linear_timeouts,
            (true, false) if self.passive => self.cfg.synack_retries,
            (true, false) => self.cfg.syn_retries,
            (false, _) => self.cfg.retries,
        };
        if self.timeouts >= limit || (active_syn && self.syn_time_is_up(now)) {
            self.events.push(ConnEvent::TimedOut);
            self.enter_closed(Why::TimedOut);
            return;
        }
        self.timeouts += 1;
        self.tlp_high_seq = None;
        // Linux's tcp_syn_linear_timeouts: the first SYN timeouts do not back off.
        if !active_syn || self.timeouts > self.cfg.syn_linear_timeouts {
            self.rto.back_off();
        }
        self.rtt_probe = None; // Karn's rule: no RTT sample from retransmitted segments.
        self.stats.timeouts += 1;
        self.events.push(ConnEvent::Retransmit {
            rto: self.rto.rto(),
            attempt: self.timeouts,
        });
        if syn_unacked {
            self.syn_retransmits += 1;
            self.send_syn(now, Why::SynRetransmit);
        } else {
            let flight = self.flight_size_to(self.snd_nxt);
            if let Some(cc) = self.cc.as_mut() {
                let phase = cc.on_timeout(flight, self.snd_nxt, now);
                self.report_congestion(phase);
            }
            self.sent_times.clear();
            if self.rack_on() {
                // tcp_enter_loss: everything not SACKed is lost, resent as cwnd allows.
                self.rack.on_timeout(self.snd_nxt);
                self.reo_at = None;
                if !self.rack.covers(self.snd_una) {
                    // What the record lacks (sent outside it) is resent from SND.UNA.
                    self.resend_from = Some((self.snd_una, Why::RtoResend));
                }
            } else {
                // Go back to the oldest unacknowledged octet; cwnd (one segment after a
                // timeout) paces what follows.
                self.resend_from = Some((self.snd_una, Why::RtoResend));
            }
            self.try_send(now);
        }
        self.arm_send_timer(now, true);
    }

    /// SND.UNA advances to `ack` (already checked to lie in (SND.UNA, SND.NXT]).
    pub(super) fn on_new_ack(&mut self, now: u64, ack: Seq) {
        let acked = ack - self.snd_una;
        let syn_acked = self.snd_una == self.iss;
        let fin_now_acked = self.fin_queued && ack == self.data_end() + 1;
        let data_acked = acked - syn_acked as u32 - fin_now_acked as u32;
        self.stats.bytes_acked += data_acked as u64;
        self.snd_una = ack;
        self.scoreboard.on_snd_una(ack);
        while self.seg_ends.front().is_some_and(|e| e.le(ack)) {
            self.seg_ends.pop_front();
        }
        self.timeouts = 0;
        self.end_loss_probe_episode(ack);
        // Resending never goes below SND.UNA.
        self.resend_from = self
            .resend_from
            .map(|(at, why)| (at.max(ack), why))
            .filter(|(at, _)| at.lt(self.snd_nxt));
        self.take_rtt_sample(now, ack);
        self.take_ca_rtt_sample(now, ack);
        if syn_acked {
            self.on_syn_acked();
        }
        let flight = self.flight_size_to(self.snd_nxt);
        if self.rack_on() {
            // The recovery state decides what the controller does (rack_after_ack).
            self.rack_acked = data_acked;
        } else if let Some(cc) = self.cc.as_mut().filter(|_| data_acked > 0) {
            let (reaction, phase) = cc.on_ack(data_acked, ack, flight, now);
            if let Some(phase) = phase {
                self.report_congestion(phase);
            }
            // RFC 6675 §5 (4): with SACK, a hole is resent only once IsLost says so; a
            // partial ACK that reordering explains resends nothing.
            let lost =
                !self.opts.sack || (self.scoreboard).is_lost(self.snd_una, self.eff_snd_mss());
            if reaction == Reaction::RetransmitFirst && lost {
                self.retransmit_first(now, Why::PartialAck);
            }
        }
        self.arm_send_timer(now, true);
    }

    /// RFC 6298 §3 / Karn: the timed segment, if this ACK covers it; else, with
    /// `rtt_from_handshake` (Linux `tcp_ack_update_rtt`), the timestamps' echo.
    fn take_rtt_sample(&mut self, now: u64, ack: Seq) {
        if let Some((probe, sent_at)) = self.rtt_probe
            && ack.ge(probe)
        {
            self.rto.on_sample(now - sent_at, ack, self.snd_nxt);
            self.rack.note_rtt(now - sent_at);
            self.rtt_probe = None;
            return;
        }
        if let Some(tsecr) = self
            .arrival_tsecr
            .filter(|&e| self.cfg.rtt_from_handshake && self.opts.ts.ok && e != 0)
        {
            let ms = super::options::ts_clock(now).wrapping_sub(tsecr).max(1);
            if ms < 1 << 31 {
                self.rto
                    .on_sample(u64::from(ms) * 1_000_000, ack, self.snd_nxt);
            }
        }
    }

    /// Linux's `ca_rtt_us` for the congestion controller (`tcp_clean_rtx_queue`): the
    /// time since the newest segment this ACK covers was sent, if it was never resent.
    fn take_ca_rtt_sample(&mut self, now: u64, ack: Seq) {
        let mut newest = None;
        while let Some(&(end, at)) = self.sent_times.front() {
            if end.gt(ack) {
                break;
            }
            newest = Some(at);
            self.sent_times.pop_front();
        }
        if let (Some(at), Some(cc)) = (newest, self.cc.as_mut()) {
            cc.on_rtt_sample(now - at, now, (self.snd_una, self.snd_nxt));
        }
    }

    /// Our SYN is acknowledged: RFC 6298 §5.7's RTO after a lost SYN, and Linux's cwnd of
    /// one segment after two lost SYNs (`tcp_init_transfer`).
    fn on_syn_acked(&mut self) {
        if self.syn_retransmits > 0
            && let Some(rto) = self.cfg.rto_after_syn_loss
        {
            // "the RTO MUST be re-initialized to 3 seconds when data transmission begins"
            self.rto.reinitialize(rto);
        }
        if self.cfg.syn_loss_cwnd_one && self.syn_retransmits >= 2 {
            let smss = self.eff_snd_mss();
            if let Some(cc) = self.cc.as_mut() {
                cc.cwnd = smss;
            }
        }
    }

    /// A duplicate ACK for congestion control: the third starts fast retransmit.
    pub(super) fn on_duplicate_ack(&mut self, now: u64) {
        if self.rack_on() {
            return; // RACK, not the duplicate-ACK count, detects losses
        }
        let flight = self.flight_size_to(self.snd_nxt);
        let Some(cc) = self.cc.as_mut() else { return };
        let (reaction, phase) = cc.on_dupack(flight, self.snd_una, self.snd_nxt);
        if let Some(phase) = phase {
            self.report_congestion(phase);
        }
        if reaction == Reaction::RetransmitFirst {
            self.retransmit_first(now, Why::FastRetransmit);
        }
    }

    /// Fast retransmit (RFC 5681 §3.2 step 2) or a partial ACK in fast recovery (RFC 6582
    /// §3.2 step 3): resend the segment at SND.UNA without moving the send point.
    fn retransmit_first(&mut self, now: u64, why: Why) {
        let data_end = self.data_end();
        let offset = (self.snd_una - (self.iss + 1)) as u64;
        let avail = if self.snd_una.lt(data_end) {
            data_end - self.snd_una
        } else {
            0
        };
        let len = avail
            .min(self.eff_snd_mss())
            .min(self.unsacked_run(self.snd_una))
            .min(self.send_buf.run_len_at(offset));
        let fin = self.fin_queued
            && len == avail
            && self.snd_nxt.gt(data_end)
            && !self.scoreboard.is_sacked(data_end);
        if len == 0 && !fin {
            return;
        }
        self.resend(now, self.snd_una, len, fin, why);
        self.arm_send_timer(now, false);
    }

    /// Sends `len` bytes at `seq` (and the FIN after them) once more, outside the send
    /// point: fast retransmit, a partial ACK's hole, a loss probe.
    pub(super) fn resend(&mut self, now: u64, seq: Seq, len: u32, fin: bool, why: Why) {
        if self.rack_on() {
            self.rack.on_retransmit(seq, seq + len + fin as u32, now);
            self.rack.stamp_retransmit(super::options::ts_clock(now));
        }
        let flags = if fin {
            Flags::ACK | Flags::FIN
        } else {
            Flags::ACK
        };
        let mut seg = self.segment(seq, flags, len, why);
        seg.tag = self.send_buf.tag_at((seq - (self.iss + 1)) as u64);
        self.rtt_probe = None; // Karn's rule
        self.forget_send_times(seq, len);
        self.stats.retransmits += 1;
        self.emit(seg);
    }

    /// Karn's rule for the congestion controller's samples: a resent range is not timed.
    pub(super) fn forget_send_times(&mut self, seq: Seq, len: u32) {
        if !self.sent_times.is_empty() {
            let end = seq + len;
            self.sent_times.retain(|&(e, _)| e.le(seq) || e.gt(end));
        }
    }

    pub(super) fn report_congestion(&mut self, phase: Phase) {
        if let Some(cc) = &self.cc {
            let (cwnd, ssthresh) = (cc.cwnd, cc.ssthresh);
            self.events.push(ConnEvent::Congestion {
                phase,
                cwnd,
                ssthresh,
            });
        }
    }

    // ----- building segments --------------------------------------------------------------

    /// Our SYN (SYN_SENT) or SYN,ACK (once the peer's SYN is known), with the MSS,
    /// window-scale and timestamps options; its window is never scaled (RFC 7323 §2.2).
    pub(super) fn send_syn(&mut self, now: u64, why: Why) {
        let answering = self.state != State::SynSent;
        let flags = if answering {
            Flags::SYN | Flags::ACK
        } else {
            Flags::SYN
        };
        // Only the OPEN sends the SYN first: any later one (a retransmission, or the
        // SYN,ACK of a simultaneous open) repeats ISS, below SND.NXT.
        if !matches!(why, Why::ActiveOpen | Why::PassiveOpen) {
            self.stats.retransmits += 1;
        }
        let mut seg = self.segment(self.iss, flags, 0, why);
        seg.mss = Some(self.cfg.mss);
        (seg.wscale, seg.ts) = self.opts.syn_options(&self.cfg, answering, now);
        seg.sack_ok = self.opts.syn_sack_ok(&self.cfg, answering);
        if self.cfg.rtt_from_handshake && self.syn_retransmits == 0 {
            // Timed as RFC 6298 times data; a retransmission clears it (Karn).
            self.rtt_probe = Some((self.iss + 1, now));
        }
        self.emit(seg);
        self.arm_send_timer(now, false);
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`
    pub(super) fn send_ack(&mut self, why: Why) {
        let seg = rules::ack(self.local, self.remote, self.snd_nxt, self.rcv_nxt, why);
        self.emit(seg);
    }

    /// RFC 5961 §7: a challenge ACK, unless the rate limit swallows it (with
    /// `oow_rate_limit`, first the connection's own: Linux `tcp_send_challenge_ack`).
    pub(super) fn challenge_ack(&mut self, now: u64) {
        let allowed = (!self.cfg.oow_rate_limit || self.oow.allow(now))
            && self.challenges.allow(now, self.cfg.challenge_ack_limit);
        self.events.push(ConnEvent::ChallengeAck {
            suppressed: !allowed,
        });
        if allowed {
            self.send_ack(Why::ChallengeAck);
        }
    }

    /// A segment from this connection with ACK=RCV.NXT when `flags` has ACK; [`Self::emit`]
    /// adds the window and options.
    pub(super) fn segment(&self, seq: Seq, flags: Flags, len: u32, why: Why) -> Segment {
        Segment {
            src: self.local,
            dst: self.remote,
            seq,
            ack: if flags.contains(Flags::ACK) {
                self.rcv_nxt
            } else {
                Seq(0)
            },
            flags,
            wnd: self.rcv_wnd.min(u16::MAX as u32) as u16,
            len,
            why,
            ..Segment::default()
        }
    }

    /// A control segment with explicit seq/ack (resets answering a bad segment).
    pub(super) fn reply(&self, seq: Seq, ack: Seq, flags: Flags, why: Why) -> Segment {
        Segment {
            src: self.local,
            dst: self.remote,
            seq,
            ack,
            flags,
            why,
            ..Segment::default()
        }
    }

    pub(super) fn emit(&mut self, mut seg: Segment) {
        if self.linux_acks() && !seg.flags.intersects(Flags::SYN | Flags::RST) {
            // tcp_select_window: the window every segment advertises.
            let wscale = self.opts.rcv_wscale;
            let new = self.lwin.select(self.charged(), self.lack.rcv_mss, wscale);
            self.rcv_wnd = self.lwin.advertise(new, self.rcv_wnd, wscale);
        }
        if seg.has(Flags::ACK) {
            // Any segment carrying an ACK acknowledges what was pending.
            self.unacked_bytes = 0;
            self.timers.delayed_ack = None;
            self.timers.compressed_ack = None;
            if self.linux_acks() && seg.ack == self.rcv_nxt {
                self.lack.on_ack_sent(self.rcv_nxt);
            }
        }
        if self.linux_acks() && seg.len > 0 {
            self.lack.on_data_sent(self.last_now);
        }
        self.opts.stamp(&mut seg, self.rcv_wnd, self.last_now);
        if self.opts.sack && seg.has(Flags::ACK) && !seg.flags.intersects(Flags::SYN | Flags::RST) {
            // tcp_established_options: three blocks fit beside timestamps, four without.
            let room = if seg.ts.is_some() { 3 } else { 4 };
            seg.sack = self.rsack.take_option(room);
        }
        self.stats.segments_sent += 1;
        self.out.push(seg);
    }
}
