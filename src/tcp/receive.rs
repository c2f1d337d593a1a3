//! The receive side: the seventh and eighth steps of RFC 9293 §3.10.7.4 (segment text and
//! the FIN), the delayed-ACK policy (RFC 1122 §4.2.3.2, RFC 5681 §4.2) and the receive
//! window (RFC 9293 §3.8.6.2, RFC 1122 §4.2.3.3).

use super::arrival::Arrival;
use super::conn::Connection;
use super::linux_ack::{AckNow, MAX_QUICKACKS, Received};
use super::{ConnEvent, Flags, Segment, Seq, State, Tag, Why};

/// The acknowledgment the text step asks for; the FIN step sends it, or the FIN's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextAck {
    /// No text arrived.
    None,
    /// In-order data of this many bytes: the delayed-ACK policy decides.
    Later(u32),
    /// ACK at once, for this reason.
    Now(Why),
}

impl Connection {
    /// Seventh, process the segment text: ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 deliver
    /// it; in CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT "this should not occur since a FIN
    /// has been received from the remote side. Ignore the segment text." Text beyond the
    /// window is trimmed ("segments with higher beginning sequence numbers may be held for
    /// later processing"); bytes past a known FIN are dropped ("the FIN implies PUSH ... no
    /// more data").
    pub(super) fn process_text(&mut self, now: u64, a: &Arrival) -> TextAck {
        if a.text_refused {
            // The first step's reply to a segment the zero window refused.
            return TextAck::Now(Why::AckZeroWindow);
        }
        let receiving = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        let seg = &a.seg;
        if !receiving || (seg.len == 0 && !seg.has(Flags::FIN)) {
            return TextAck::None;
        }
        // tcp_data_queue: "Partial packet, seq < rcv_next < end_seq".
        self.report_old_text(seg);
        let (start, len, tag) = self.trim_to_window(seg.seq, seg.len, seg.tag);
        // A FIN held out of order is part of the queue (Linux keeps it as an skb there).
        let gap = !self.reasm.is_empty() || self.reasm.fin().is_some();
        let fin_held = seg.has(Flags::FIN) && self.reasm.fin() == Some(seg.seq + seg.len);
        self.note_fin(seg.seq + seg.len, seg.has(Flags::FIN));
        let len = self.trim_to_fin(start, len);
        // RFC 5681 §4.2: out-of-order data, and data that fills a gap, is ACKed at once.
        let in_order = start == self.rcv_nxt && !gap;
        if len > 0 && start == self.rcv_nxt {
            self.deliver(len, tag);
            if self.linux_acks() {
                self.linux_data_received(now, len, seg.flags);
            }
        } else if start.gt(self.rcv_nxt) {
            self.hold_out_of_order(start, len, tag, seg.has(Flags::FIN), fin_held);
            if self.linux_acks() && self.opts.sack && len > 0 {
                // tcp_data_queue_ofo: with SACK the window grows for held data too
                // (tcp_grow_window), and each growth grants a quick ACK.
                let advmss = self.advmss();
                if self.lwin.on_data(len, false, advmss, self.charged()) {
                    self.lack.grant_quick();
                }
            }
        }
        self.deliver_reassembled();
        if self.opts.sack {
            self.rsack.on_rcv_nxt(self.rcv_nxt);
        }
        // A FIN alone at RCV.NXT is in order too: the FIN step decides its ACK.
        let fin_in_order = seg.has(Flags::FIN) && self.reasm.fin() == Some(self.rcv_nxt);
        if in_order && (len > 0 || fin_in_order) {
            TextAck::Later(len)
        } else {
            // "...send an acknowledgment of the form <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            TextAck::Now(Why::AckOutOfOrder)
        }
    }

    /// Queues text beyond RCV.NXT and, with SACK, reports it (`tcp_data_queue_ofo`): bytes
    /// (or a FIN, `fin_held`) already held are a D-SACK, and the block holding the segment
    /// (its FIN included) goes first on the ACK.
    fn hold_out_of_order(&mut self, start: Seq, len: u32, tag: Tag, fin: bool, fin_held: bool) {
        let end = start + len;
        let dup = match (self.reasm.overlap(start, len), fin_held) {
            (Some((l, r)), true) if r == end => Some((l, r + 1)),
            (None, true) if len == 0 => Some((start, start + 1)),
            (d, _) => d,
        };
        if let Some((l, r)) = dup {
            self.report_duplicate(l, r);
        }
        if len > 0 {
            self.reasm.insert(start, len, tag);
        }
        let end = start + len + (fin && self.reasm.fin() == Some(start + len)) as u32;
        if self.opts.sack && end.gt(start) {
            self.rsack.on_out_of_order(start, end);
        }
    }

    /// The part of `seg`'s text below RCV.NXT arrived before: a D-SACK.
    pub(super) fn report_old_text(&mut self, seg: &Segment) {
        if seg.len > 0 && seg.seq.lt(self.rcv_nxt) {
            self.report_duplicate(seg.seq, (seg.seq + seg.len).min(self.rcv_nxt));
        }
    }

    /// RFC 2883 §4 (1) with `dsack`: the next ACK reports [seq, end) as received twice.
    fn report_duplicate(&mut self, seq: Seq, end: Seq) {
        if self.opts.sack && self.cfg.dsack {
            self.rsack.on_duplicate(seq, end);
        }
    }

    /// The part of `len` bytes at `seq` that lies in [RCV.NXT, RCV.NXT + RCV.WND).
    fn trim_to_window(&self, seq: Seq, len: u32, tag: Tag) -> (Seq, u32, Tag) {
        let (mut start, mut len, mut tag) = (seq, len, tag);
        if start.lt(self.rcv_nxt) {
            let cut = (self.rcv_nxt - start).min(len);
            start = start + cut;
            len -= cut;
            tag = tag.advance(cut as u64);
        }
        let wnd_end = self.rcv_nxt + self.rcv_wnd;
        if (start + len).gt(wnd_end) {
            len -= (start + len) - wnd_end;
        }
        (start, len, tag)
    }

    /// The FIN occupies sequence number SEG.SEQ+SEG.LEN and, like any octet, counts only
    /// inside the window: at RCV.NXT+RCV.WND it is beyond it, and trimming the segment at
    /// the right edge removes it (RFC 9293 §3.10.7.4 first check and trimming note).
    fn note_fin(&mut self, fin_seq: Seq, fin: bool) {
        let wnd_end = self.rcv_nxt + self.rcv_wnd;
        if fin && fin_seq.lt(wnd_end) && self.reasm.fin().is_none() {
            self.reasm.set_fin(fin_seq);
        }
    }

    /// Bytes past a known FIN can neither be delivered nor carry RCV.NXT past it.
    fn trim_to_fin(&self, start: Seq, len: u32) -> u32 {
        match self.reasm.fin() {
            Some(f) if (start + len).gt(f) => {
                if f.gt(start) {
                    f - start
                } else {
                    0
                }
            }
            _ => len,
        }
    }

    /// Hands over what the reassembly queue now holds at RCV.NXT.
    fn deliver_reassembled(&mut self) {
        while let Some((mut l, t)) = self.reasm.pop_at(self.rcv_nxt) {
            if let Some(f) = self.reasm.fin() {
                l = l.min(f - self.rcv_nxt); // held before the FIN was known
            }
            if l > 0 {
                self.deliver(l, t);
            }
        }
    }

    fn deliver(&mut self, len: u32, tag: Tag) {
        // The right edge of the window stays put until the application reads.
        self.rcv_nxt = self.rcv_nxt + len;
        self.rcv_wnd = self.rcv_wnd.saturating_sub(len);
        self.unread += len as u64;
        if self.cfg.rmem_per_segment {
            self.rmem.deliver(len);
        }
        self.stats.bytes_delivered += len as u64;
        self.events.push(ConnEvent::Data { len, tag });
    }

    /// Eighth, check the FIN bit: a FIN now in sequence is taken (it ACKs everything);
    /// otherwise the text step's acknowledgment goes out.
    pub(super) fn check_fin(&mut self, now: u64, ack: TextAck) {
        if self.reasm.fin() == Some(self.rcv_nxt) {
            self.receive_fin(now, matches!(ack, TextAck::Now(_)));
            return;
        }
        match ack {
            TextAck::None => {}
            TextAck::Later(len) => self.ack_later(now, len),
            TextAck::Now(Why::AckOutOfOrder) if self.linux_acks() && !self.reasm.is_empty() => {
                self.linux_out_of_order_ack(now)
            }
            TextAck::Now(why) => self.send_ack(why),
        }
    }

    /// "If the FIN bit is set, signal the user 'connection closing' ... advance RCV.NXT over
    /// the FIN, and send an acknowledgment for the FIN", then the per-state transition.
    /// Linux (`tcp_fin`) delays that ACK in ESTABLISHED, so that the application's own FIN
    /// can carry it; in FIN_WAIT_1 and FIN_WAIT_2 it goes at once.
    /// `urgent`: the segment also asked for an ACK at once (it was out of order or filled
    /// a gap), which Linux sends rather than waiting for the application's FIN.
    fn receive_fin(&mut self, now: u64, urgent: bool) {
        self.rcv_nxt = self.rcv_nxt + 1;
        self.reasm.clear();
        self.rsack.clear();
        let passive = matches!(self.state, State::SynReceived | State::Established);
        if self.linux_acks() && passive {
            self.lack.on_fin_received();
            if urgent {
                self.lack.ack_now();
            }
            self.linux_ack_check(now);
        } else {
            self.send_ack(Why::AckFin);
        }
        match self.state {
            // SYN-RECEIVED, ESTABLISHED: "Enter the CLOSE-WAIT state."
            State::SynReceived | State::Established => {
                self.set_state(State::CloseWait, Why::FinReceived)
            }
            // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT,
            // start the time-wait timer, turn off the other timers; otherwise, enter the
            // CLOSING state."
            State::FinWait1 => {
                if self.fin_acked() {
                    self.enter_time_wait(now, Why::FinAfterOurFinAcked);
                } else {
                    self.set_state(State::Closing, Why::FinBeforeOurFinAcked);
                }
            }
            // "Enter the TIME-WAIT state. Start the time-wait timer, turn off the other
            // timers."
            State::FinWait2 => self.enter_time_wait(now, Why::FinAfterOurFinAcked),
            _ => {}
        }
        // "signal the user 'connection closing'": reported after the state change so that
        // what the application does about it reads in order.
        self.events.push(ConnEvent::Eof);
    }

    /// RFC 1122 §4.2.3.2 / RFC 5681 §4.2 delayed ACK: "an ACK SHOULD be generated for at
    /// least every second full-sized segment, and MUST be generated within 500 ms". A
    /// full-sized segment is one the peer sends: its MSS (bounded by ours) less the options
    /// every segment carries, not this host's own MSS.
    fn ack_later(&mut self, now: u64, len: u32) {
        if self.linux_acks() {
            return self.linux_ack_check(now);
        }
        self.unacked_bytes += len;
        let full = self.eff_snd_mss();
        match self.cfg.delayed_ack {
            Some(delay) if self.unacked_bytes < 2 * full => {
                self.timers
                    .delayed_ack
                    .get_or_insert(self.cfg.timer_at(now, delay));
            }
            _ => self.send_ack(Why::AckData),
        }
    }

    /// Linux's `tcp_event_data_recv` for in-order data: the ATO estimate, quick ACKs, the
    /// receiver's MSS estimate.
    fn linux_data_received(&mut self, now: u64, len: u32, flags: Flags) {
        let rx = Received {
            len,
            push: flags.intersects(Flags::PSH | Flags::FIN | Flags::URG),
            header: 20 + if self.opts.ts.ok { 12 } else { 0 },
        };
        let (advmss, rcv_wnd, rto) = (self.advmss(), self.lwin.advertised, self.rto.rto());
        let new_size = len > self.lack.rcv_mss;
        self.lack.on_data(now, rx, advmss, rcv_wnd, rto);
        if self.lwin.on_data(len, new_size, advmss, self.charged()) {
            self.lack.grant_quick();
        }
    }

    /// Linux's `__tcp_ack_snd_check` (no out-of-order data; that is ACKed at once): now, or
    /// on the delayed-ACK timer.
    pub(super) fn linux_ack_check(&mut self, now: u64) {
        if !self.lack.scheduled() {
            return;
        }
        let window = self
            .lwin
            .select(self.charged(), self.lack.rcv_mss, self.opts.rcv_wscale);
        let window_ok = window >= self.lwin.advertised;
        let srtt = self.rto.srtt();
        match self
            .lack
            .decide(now, self.rcv_nxt, window_ok, srtt, self.timers.delayed_ack)
        {
            AckNow::Now => self.send_ack(Why::AckData),
            AckNow::At(t) => self.timers.delayed_ack = Some(t),
        }
    }

    /// Out-of-order data is held: ACK it now, or compress it (`tcp_comp_sack`): the
    /// compressed-ACK timer runs 5 % of the RTT, at most 1 ms (`tcp_comp_sack_delay_ns`),
    /// plus the timer's 100 µs slack (`tcp_comp_sack_slack_ns`, taken in full).
    fn linux_out_of_order_ack(&mut self, now: u64) {
        if self.lack.out_of_order_now(self.rcv_nxt) {
            return self.send_ack(Why::AckOutOfOrder);
        }
        if self.timers.compressed_ack.is_none() {
            let rtt = self.rto.srtt().unwrap_or(super::SECOND);
            let delay = (rtt / 20).min(1_000_000) + 100_000;
            self.timers.compressed_ack = Some(now.saturating_add(delay));
        }
    }

    /// Linux's `__tcp_cleanup_rbuf` after the application read `copied` bytes: a scheduled
    /// ACK may go now, or a window update when the window had shrunk to less than half.
    pub(super) fn linux_after_read(&mut self, copied: u64) {
        let rtt = self.rto.srtt().unwrap_or(super::SECOND);
        let advmss = self.advmss();
        self.lwin.on_read(self.last_now, copied, rtt, advmss);
        if self
            .lack
            .ack_on_read(copied, self.unread == 0, self.rcv_nxt)
        {
            return self.send_ack(Why::AckData);
        }
        let receiving = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        if copied == 0 || !receiving {
            return;
        }
        let remaining = self.rcv_wnd;
        let new = self
            .lwin
            .select(self.charged(), self.lack.rcv_mss, self.opts.rcv_wscale);
        if 2 * remaining <= self.lwin.clamp() && new > 0 && new >= 2 * remaining {
            self.send_ack(Why::WindowUpdate);
        }
    }

    /// Duplicate or out-of-window data (`tcp_enter_quickack_mode`, tcp_data_queue): ACK the
    /// next segments at once, and stop treating the connection as interactive.
    pub(super) fn linux_unexpected_data(&mut self) {
        let rcv_wnd = self.lwin.advertised;
        self.lack.enter_quickack(MAX_QUICKACKS, rcv_wnd);
    }

    /// RFC 1122 §4.2.3.3 (receiver-side silly window avoidance): move the right edge only
    /// when the window can grow by min(half the buffer, one MSS); announce it at once when
    /// the sender may be stalled on a window smaller than a segment, else with the next ACK.
    pub(super) fn open_window(&mut self) {
        let buf = self
            .cfg
            .window
            .min((u16::MAX as u32) << self.opts.rcv_wscale);
        let free = (buf as u64).saturating_sub(self.charged()) as u32;
        let step = (buf / 2).min(self.cfg.mss as u32);
        if free <= self.rcv_wnd || free - self.rcv_wnd < step {
            return;
        }
        let stalled = self.rcv_wnd < self.cfg.mss as u32;
        self.rcv_wnd = free;
        let receiving = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        if stalled && receiving {
            self.send_ack(Why::WindowUpdate);
        }
    }
}
