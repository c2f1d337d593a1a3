//! SEGMENT ARRIVES for an existing connection (RFC 9293 §3.10.7): SYN-SENT (§3.10.7.3) and
//! the other states (§3.10.7.4) as the RFC's ordered steps, one function per step, each
//! with its paragraph and the per-state switch the RFC gives it. CLOSED and LISTEN are the
//! host's (`closed.rs`); TIME_WAIT is the compact record's (`time_wait.rs`). The seventh and
//! eighth steps (text and FIN) live in `receive.rs`.

use std::ops::ControlFlow::{self, Break, Continue};

use super::conn::Connection;
use super::options::Paws;
use super::receive::TextAck;
use super::rules::{OowRateLimit, acceptable};
use super::{ConnEvent, Flags, Segment, Seq, State, SynData, Why};

/// A step either lets the segment go on to the next one or ends its processing.
type Step = ControlFlow<()>;

/// An arriving segment as the steps see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arrival {
    pub seg: Segment,
    /// The peer's window in bytes, computed once from the segment as it arrived: unscaled
    /// when it is a SYN (RFC 7323 §2.2), even after its SYN octet has been set aside.
    pub window: u32,
    /// RCV.WND is zero and the text was refused; only the ACK field counts (RFC 9293
    /// §3.10.7.4 first step, "special allowance").
    pub text_refused: bool,
}

impl Connection {
    /// SEGMENT ARRIVES (not CLOSED, not LISTEN: the host handles those through
    /// [`super::closed`]).
    pub fn handle_segment(&mut self, now: u64, seg: &Segment) {
        self.last_now = now;
        self.arrival_tsecr = seg.ts.map(|(_, tsecr)| tsecr);
        if let Some(tw) = self.tw.as_mut() {
            tw.handle_segment(now, seg, &mut self.out, &mut self.events);
            self.state = tw.state();
            return;
        }
        let window = self.opts.peer_window(seg);
        match self.state {
            State::Closed | State::Listen | State::TimeWait => {}
            State::SynSent => self.syn_sent_arrives(now, seg, window),
            _ => {
                if self
                    .segment_arrives(now, self.arrival(seg, window))
                    .is_continue()
                {
                    self.try_send(now);
                }
                // Holding resends back is for this ACK's own sending only.
                self.hold_resends = false;
            }
        }
    }

    /// RFC 9293 §3.5 Figure 8 (simultaneous open), line 4: after an active OPEN the peer's
    /// SYN,ACK repeats the SYN at IRS that we already acknowledged. Its SYN octet is old;
    /// the segment is taken as the ACK it also is (its window unscaled, being a SYN's), so
    /// the handshake completes as the figure shows rather than failing the sequence test.
    fn arrival(&self, seg: &Segment, window: u32) -> Arrival {
        let repeated_syn = !self.passive
            && self.snd_una == self.iss
            && seg.flags.contains(Flags::SYN | Flags::ACK)
            && seg.seq == self.irs;
        Arrival {
            seg: if repeated_syn { seg.past_syn() } else { *seg },
            window,
            text_refused: false,
        }
    }

    // ----- SYN-SENT (RFC 9293 §3.10.7.3) --------------------------------------------------

    fn syn_sent_arrives(&mut self, now: u64, seg: &Segment, window: u32) {
        // First, check the ACK bit: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
        // (unless the RST bit is set, if so drop the segment and return)".
        let ack_ok = seg.has(Flags::ACK) && seg.ack.gt(self.iss) && seg.ack.le(self.snd_nxt);
        if seg.has(Flags::ACK) && !ack_ok {
            if !seg.has(Flags::RST) {
                let rst = self.reply(seg.ack, Seq(0), Flags::RST, Why::RstBadAck);
                self.emit(rst);
            }
            return;
        }
        // Second, check the RST bit: "If the ACK was acceptable, then signal to the user
        // 'error: connection reset', drop the segment, enter CLOSED state ... Otherwise
        // (no ACK), drop the segment and return."
        if seg.has(Flags::RST) {
            if ack_ok {
                self.events.push(ConnEvent::Reset { refused: true });
                self.enter_closed(Why::RstRefused);
            }
            return;
        }
        // Third, the security check: tcpsim models no security compartments.
        // Fourth, check the SYN bit; "Fifth, if neither of the SYN or RST bits is set,
        // then drop the segment and return."
        if !seg.has(Flags::SYN) {
            return;
        }
        // "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ."
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.on_peer_syn(seg);
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        if ack_ok {
            self.syn_ack_accepted(now, seg, window);
        } else {
            // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment
            // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it ... If there are other
            // controls or text in the segment, queue them for processing after the
            // ESTABLISHED state has been reached, return."
            self.queue_syn_text(seg);
            self.set_state(State::SynReceived, Why::SimultaneousOpen);
            self.send_syn(now, Why::SimultaneousOpen);
        }
    }

    /// "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has been
    /// ACKed), change the connection state to ESTABLISHED, form an ACK segment
    /// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it. ... If there are other controls or
    /// text in the segment, then continue processing at the sixth step below".
    fn syn_ack_accepted(&mut self, now: u64, seg: &Segment, window: u32) {
        self.on_new_ack(now, seg.ack);
        self.set_state(State::Established, Why::SynAckAccepted);
        // The text and FIN past the SYN octet, unless the profile drops them (Linux frees a
        // SYN,ACK after its ACK is processed: tcp_rcv_state_process, "step6 onward by hand").
        let rest = seg.past_syn();
        let ack = if self.cfg.syn_data == SynData::Queue {
            let arrival = Arrival {
                seg: rest,
                window,
                text_refused: false,
            };
            self.process_text(now, &arrival)
        } else {
            TextAck::None
        };
        // One ACK, at once, covering whatever text came with the SYN,ACK (not on the
        // delayed-ACK timer: it completes the handshake).
        let ack = match ack {
            TextAck::None | TextAck::Later(_) => TextAck::Now(Why::SynAckAccepted),
            now_ack => now_ack,
        };
        self.check_fin(now, ack);
        self.try_send(now);
    }

    // ----- the other states (RFC 9293 §3.10.7.4) ------------------------------------------

    /// "Otherwise": SYN-RECEIVED and the synchronized states, step by step.
    fn segment_arrives(&mut self, now: u64, mut a: Arrival) -> Step {
        self.check_repeated_syn(now, &a.seg)?;
        self.check_paws(&a.seg)?;
        self.check_sequence(now, &mut a)?;
        self.check_rst(now, &a)?;
        // Third, check security: tcpsim models no security compartments.
        self.check_syn(now, &a)?;
        self.check_ack(now, &a)?;
        self.check_data_after_close(&a)?;
        // Sixth, check the URG bit: urgent data is not modelled (see the README).
        let ack = self.process_text(now, &a);
        self.check_fin(now, ack);
        Continue(())
    }

    /// Linux `tcp_check_req`: the peer's SYN again, while our SYN,ACK is unacknowledged,
    /// is answered with the SYN,ACK (at most one per 500 ms, `tcp_invalid_ratelimit`) and
    /// the retransmission timer starts over; RFC 9293 would ACK it as unacceptable.
    fn check_repeated_syn(&mut self, now: u64, seg: &Segment) -> Step {
        let repeated = self.cfg.dup_syn_resends_syn_ack
            && self.state == State::SynReceived
            && self.passive
            && seg.flags == Flags::SYN
            && seg.seq == self.irs;
        if !repeated {
            return Continue(());
        }
        if self.oow.allow(now) {
            self.syn_retransmits += 1;
            self.rtt_probe = None;
            self.send_syn(now, Why::SynRetransmit);
            self.arm_send_timer(now, true);
        }
        Break(())
    }

    /// RFC 7323 §5.3 R1 (PAWS), before the sequence number check: an older timestamp marks
    /// an old duplicate, "send an acknowledgement in reply ... and drop the segment"; §3.2:
    /// a segment without the option is silently dropped.
    fn check_paws(&mut self, seg: &Segment) -> Step {
        match self.opts.ts.paws(seg) {
            Paws::Accept => Continue(()),
            Paws::Drop => Break(()),
            Paws::AckAndDrop => {
                self.events.push(ConnEvent::PawsRejected);
                // tcp_validate_incoming → tcp_send_dupack: the copy is a D-SACK.
                self.report_old_text(seg);
                self.send_ack(Why::PawsAck);
                Break(())
            }
        }
    }

    /// First, check sequence number (the four cases in [`acceptable`]). "If an incoming
    /// segment is not acceptable, an acknowledgment should be sent in reply (unless the RST
    /// bit is set, if so drop the segment and return): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    /// ... If the RCV.WND is zero, no segments will be acceptable, but special allowance
    /// should be made to accept valid ACKs, URGs, and RSTs."
    fn check_sequence(&mut self, now: u64, a: &mut Arrival) -> Step {
        let in_zero_window = self.rcv_wnd == 0
            && a.seg.seq == self.rcv_nxt
            && a.seg.flags.intersects(Flags::ACK | Flags::RST)
            && !acceptable(&a.seg, self.rcv_nxt, self.rcv_wnd);
        if in_zero_window {
            // The special allowance: the ACK field is processed, the text refused and
            // answered with an ACK (this is how a zero-window probe is answered).
            a.seg = a.seg.without_text();
            a.text_refused = true;
        }
        if acceptable(&a.seg, self.rcv_nxt, self.rcv_wnd) {
            // RFC 7323 §4.3 R3: record the timestamp of an acceptable segment.
            self.opts.update_recent(&a.seg, now);
            return Continue(());
        }
        if a.seg.has(Flags::RST) {
            return Break(());
        }
        if self.cfg.rfc5961 && a.seg.has(Flags::SYN) {
            // RFC 5961 §4.2: a SYN draws a challenge ACK "irrespective of the sequence
            // number" (Linux tcp_validate_incoming: `goto syn_challenge`).
            self.challenge_ack(now);
            return Break(());
        }
        if self.linux_acks() && a.seg.len > 0 {
            self.linux_unexpected_data();
        }
        // Linux tcp_validate_incoming: the duplicate ACK is rate-limited.
        let limited = self.cfg.oow_rate_limit && OowRateLimit::applies_to(&a.seg);
        if !limited || self.oow.allow(now) {
            // tcp_send_dupack: data below RCV.NXT came again.
            self.report_old_text(&a.seg);
            self.send_ack(Why::AckUnacceptable);
        }
        Break(())
    }

    /// Second, check the RST bit. RFC 5961 §3.2 (a setting): only an RST exactly at RCV.NXT
    /// resets; another one in the window draws a challenge ACK. Without it (RFC 9293's base
    /// rule) any RST in the window resets the connection.
    fn check_rst(&mut self, now: u64, a: &Arrival) -> Step {
        if !a.seg.has(Flags::RST) {
            return Continue(());
        }
        if self.cfg.rfc5961 && a.seg.seq != self.rcv_nxt {
            self.challenge_ack(now);
            return Break(());
        }
        match self.state {
            // SYN-RECEIVED after a passive OPEN: "return this connection to LISTEN state
            // and return" (nobody is told, but the trace is).
            State::SynReceived if self.passive => {
                self.events.push(ConnEvent::ResetQuietly {
                    state: State::SynReceived,
                });
                self.enter_closed_or_listen(Why::RstBackToListen);
            }
            // After an active OPEN: "the connection was refused; signal the user
            // 'connection refused'".
            State::SynReceived => {
                self.events.push(ConnEvent::Reset { refused: true });
                self.enter_closed(Why::RstRefused);
            }
            // ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "any outstanding RECEIVEs and SEND
            // should receive 'reset' responses ... enter the CLOSED state".
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.events.push(ConnEvent::Reset { refused: false });
                self.enter_closed(Why::RstReceived);
            }
            // CLOSING, LAST-ACK: "enter the CLOSED state, delete the TCB, and return".
            state => {
                self.events.push(ConnEvent::ResetQuietly { state });
                self.enter_closed(Why::RstReceived);
            }
        }
        Break(())
    }

    /// Fourth, check the SYN bit. SYN-RECEIVED from a passive OPEN: "return this connection
    /// to the LISTEN state and return". Synchronized states: with RFC 5961 §4.2 (a
    /// setting), "irrespective of the sequence number, TCP endpoints MUST send a 'challenge
    /// ACK'"; otherwise RFC 793's rule, "If the SYN is in the window it is an error: send a
    /// reset ... enter the CLOSED state" (a SYN outside the window was ACKed in step one).
    fn check_syn(&mut self, now: u64, a: &Arrival) -> Step {
        if !a.seg.has(Flags::SYN) {
            return Continue(());
        }
        if self.state == State::SynReceived && self.passive {
            self.enter_closed_or_listen(Why::SynBackToListen);
        } else if self.cfg.rfc5961 {
            self.challenge_ack(now);
        } else {
            let rst = self.segment(self.snd_nxt, Flags::RST, 0, Why::SynInWindow);
            self.emit(rst);
            self.events.push(ConnEvent::Reset { refused: false });
            self.enter_closed(Why::SynInWindow);
        }
        Break(())
    }

    /// Fifth, check the ACK field: "if the ACK bit is off, drop the segment and return".
    fn check_ack(&mut self, now: u64, a: &Arrival) -> Step {
        if !a.seg.has(Flags::ACK) {
            return Break(());
        }
        if self.state == State::SynReceived {
            self.ack_in_syn_received(a)?;
        }
        let ack = a.seg.ack;
        // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK,
        // drop the segment, and return."
        if ack.gt(self.snd_nxt) {
            self.send_ack(Why::AckUnsent);
            return Break(());
        }
        // RFC 5961 §5.2 (a setting): an ACK below SND.UNA - MAX.SND.WND is discarded with a
        // challenge ACK (blind data injection).
        if self.cfg.rfc5961 && ack.lt(self.snd_una - self.max_snd_wnd) {
            self.challenge_ack(now);
            return Break(());
        }
        if self.opts.sack {
            // RFC 2018 §4 / RFC 6675 §5: record what the receiver holds above the ACK.
            self.scoreboard
                .on_ack(&a.seg.sack, ack.max(self.snd_una), self.snd_nxt);
        }
        let dupack = self.is_duplicate_ack(a);
        let prior_una = self.snd_una;
        // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. ... If the ACK is
        // a duplicate (SEG.ACK =< SND.UNA), it can be ignored."
        if ack.gt(self.snd_una) {
            self.on_new_ack(now, ack);
        }
        if dupack {
            self.on_duplicate_ack(now);
        }
        if self.rack_on() && self.state.is_synchronized() {
            // RFC 2883: a first block below the ACK, or inside the second, is a D-SACK.
            let mut blocks = a.seg.sack.iter();
            let first = blocks.next();
            let dsack = first.is_some_and(|(l, r)| {
                r.le(ack) || blocks.next().is_some_and(|(l2, r2)| l.ge(l2) && r.le(r2))
            });
            self.rack_after_ack(now, prior_una, dupack, dsack);
        }
        self.update_send_window(now, a);
        self.deliver_syn_text(now);
        self.ack_of_our_fin(now)
    }

    /// SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and
    /// continue processing with the variables below set to: SND.WND <- SEG.WND, SND.WL1 <-
    /// SEG.SEQ, SND.WL2 <- SEG.ACK. If the segment acknowledgment is not acceptable, form a
    /// reset segment <SEQ=SEG.ACK><CTL=RST> and send it."
    fn ack_in_syn_received(&mut self, a: &Arrival) -> Step {
        let ack = a.seg.ack;
        if !(ack.gt(self.snd_una) && ack.le(self.snd_nxt)) {
            let rst = self.reply(ack, Seq(0), Flags::RST, Why::RstBadAck);
            self.emit(rst);
            return Break(());
        }
        self.set_snd_wnd(a.window);
        self.snd_wl1 = a.seg.seq;
        self.snd_wl2 = ack;
        self.set_state(State::Established, Why::SynAckAckAccepted);
        // A CLOSE queued in SYN-RECEIVED is processed on entering ESTABLISHED (§3.10.4).
        if self.fin_queued {
            self.set_state(State::FinWait1, Why::CloseQueuedUntilEstablished);
        }
        Continue(())
    }

    /// RFC 1122 §4.2.2.13 with `half_duplex_close` (Linux `tcp_rcv_state_process`, the
    /// closing states): new data after the application's CLOSE is lost; a RST answering
    /// the segment (as for a closed port) says so, and the connection is gone.
    fn check_data_after_close(&mut self, a: &Arrival) -> Step {
        let new_data = a.seg.len > 0 && (a.seg.seq + a.seg.len).gt(self.rcv_nxt);
        if !self.rcv_shutdown || !new_data {
            return Continue(());
        }
        if let Some(rst) = super::closed::reset_for(&a.seg) {
            let rst = self.reply(rst.seq, rst.ack, rst.flags, Why::DataAfterClose);
            self.emit(rst);
        }
        self.enter_closed(Why::DataAfterClose);
        Break(())
    }

    /// RFC 5681 §2: a duplicate ACK (a) arrives while data is outstanding, (b) carries no
    /// data, (c) has neither SYN nor FIN, (d) acknowledges SND.UNA and (e) leaves the
    /// window unchanged. The replies to a zero-window probe are not: the probe is not data
    /// in flight (RFC 9293 §3.8.6.1).
    fn is_duplicate_ack(&self, a: &Arrival) -> bool {
        let seg = &a.seg;
        self.zero_window.is_none()
            && !a.text_refused
            && seg.ack == self.snd_una
            && seg.len == 0
            && !seg.flags.intersects(Flags::SYN | Flags::FIN)
            && a.window == self.snd_wnd
            && self.snd_una != self.snd_nxt
    }

    /// "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 <
    /// SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set
    /// SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK." Then the zero-window state follows
    /// the window: any ACK answers a probe, and an open window ends probing.
    fn update_send_window(&mut self, now: u64, a: &Arrival) {
        let (seq, ack) = (a.seg.seq, a.seg.ack);
        if ack.ge(self.snd_una)
            && (self.snd_wl1.lt(seq) || (self.snd_wl1 == seq && self.snd_wl2.le(ack)))
        {
            self.set_snd_wnd(a.window);
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
        }
        self.on_peer_window(now);
    }

    /// Text and FIN that came on the peer's SYN, once ESTABLISHED (or FIN-WAIT-1 after a
    /// CLOSE in SYN-RECEIVED) is reached and our SYN is acknowledged.
    fn deliver_syn_text(&mut self, now: u64) {
        let receiving = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        if !receiving || self.snd_una == self.iss {
            return;
        }
        if let Some(text) = self.syn_text.take() {
            let arrival = Arrival {
                seg: *text,
                window: self.snd_wnd,
                text_refused: false,
            };
            let ack = self.process_text(now, &arrival);
            self.check_fin(now, ack);
        }
    }

    /// The per-state part of the fifth step that concerns our FIN.
    fn ack_of_our_fin(&mut self, now: u64) -> Step {
        let fin_acked = self.fin_acked();
        match self.state {
            // "In addition to the processing for the ESTABLISHED state, if the FIN segment
            // is now acknowledged, then enter FIN-WAIT-2 and continue processing."
            State::FinWait1 if fin_acked => {
                self.set_state(State::FinWait2, Why::FinAcked);
                self.timers.fin_wait_2 = self
                    .cfg
                    .fin_wait_2_timeout
                    .map(|d| self.cfg.timer_at(now, d));
                Continue(())
            }
            // CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state;
            // otherwise, ignore the segment." Data queued before CLOSE may still be waiting
            // for window, which the ACK may have opened.
            State::Closing => {
                if fin_acked {
                    self.enter_time_wait(now, Why::ClosingAcked);
                } else {
                    self.try_send(now);
                }
                Break(())
            }
            // LAST-ACK: "The only thing that can arrive in this state is an acknowledgment
            // of our FIN. If our FIN is now acknowledged, delete the TCB, enter the CLOSED
            // state, and return."
            State::LastAck => {
                if fin_acked {
                    self.enter_closed(Why::LastAckAcked);
                } else {
                    self.try_send(now);
                }
                Break(())
            }
            _ => Continue(()),
        }
    }
}
