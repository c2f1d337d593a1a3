//! TIME_WAIT kept small: once both FINs are acknowledged a connection needs only its
//! 4-tuple, the two sequence numbers, its window and timestamp state and the expiry —
//! the way kernels keep a small time-wait record instead of the full socket. A host with
//! 100,000 connections in TIME_WAIT then holds 100,000 of these, not full connections.
//!
//! Segment arrival follows RFC 9293 §3.10.7.4's steps for TIME-WAIT, with the rules it
//! shares with the full connection (acceptability, PAWS, the challenge-ACK limit, what an
//! ACK carries) taken from `rules.rs` and `options.rs`.

use std::ops::ControlFlow::{self, Break, Continue};

use super::options::{Paws, Timestamps};
use super::rules::{self, ChallengeLimiter, OowRateLimit, acceptable};
use super::{
    Config, ConnEvent, Endpoint, Flags, Reopen, SECOND, Segment, Seq, State, TimeWaitInWindow, Why,
};

/// A connection in TIME_WAIT (RFC 9293 §3.10.7.4, TIME-WAIT STATE in each step).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWait {
    pub local: Endpoint,
    pub remote: Endpoint,
    /// SND.NXT: our FIN is acknowledged, nothing more will be sent at a new sequence number.
    snd_nxt: Seq,
    /// RCV.NXT: just past the peer's FIN.
    rcv_nxt: Seq,
    /// ISS and IRS, for injected segments that refer to them.
    iss: Seq,
    irs: Seq,
    /// The window we advertise, in bytes, and its shift (RFC 7323 §2).
    rcv_wnd: u32,
    rcv_wscale: u8,
    /// `FLAG_*` bits: which settings apply.
    flags: u8,
    ts: Timestamps,
    /// When TIME_WAIT ends, and how long it lasts when a retransmitted FIN restarts it.
    expiry: u64,
    length: u64,
    /// One jiffy (ns) when the timer sits on Linux's timer wheel (`inet_twsk_schedule`
    /// arms it with `mod_timer`), else 0: it fires on the dot.
    wheel_jiffy: u32,
    challenges: ChallengeLimiter,
    challenge_limit: u32,
    /// Segments sent while in TIME_WAIT (for the connection's statistics).
    pub segments_sent: u32,
    closed: bool,
    /// Linux's out-of-window ACK rate limit.
    oow: OowRateLimit,
}

const FLAG_RFC1337: u8 = 1;
const FLAG_RFC5961: u8 = 2;
const FLAG_TW_REUSE: u8 = 4;
const FLAG_TIMESTAMPS: u8 = 8;
/// RFC 9293's fifth step: an acceptable segment is ACKed and restarts the timer.
const FLAG_ACK_RESTARTS: u8 = 16;
/// Linux's time-wait socket rules (`tcp_timewait_state_process`) instead of RFC 9293's.
const FLAG_MINISOCK: u8 = 32;

/// What a connection hands over when it enters TIME_WAIT.
pub struct TimeWaitSeed<'a> {
    pub local: Endpoint,
    pub remote: Endpoint,
    pub snd_nxt: Seq,
    pub rcv_nxt: Seq,
    pub iss: Seq,
    pub irs: Seq,
    pub rcv_wnd: u32,
    pub rcv_wscale: u8,
    pub ts: Timestamps,
    pub now: u64,
    pub cfg: &'a Config,
}

/// Where a step's outputs go.
pub struct Outputs<'a> {
    pub segs: &'a mut Vec<Segment>,
    pub events: &'a mut Vec<ConnEvent>,
}

type Step = ControlFlow<()>;

impl TimeWait {
    pub fn new(s: TimeWaitSeed) -> Self {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        let cfg = s.cfg;
        TimeWait {
            local: s.local,
            remote: s.remote,
            snd_nxt: s.snd_nxt,
            rcv_nxt: s.rcv_nxt,
            iss: s.iss,
            irs: s.irs,
            rcv_wnd: s.rcv_wnd,
            rcv_wscale: s.rcv_wscale,
            flags: bit(cfg.rfc1337, FLAG_RFC1337)
                | bit(cfg.rfc5961, FLAG_RFC5961)
                | bit(cfg.tw_reuse, FLAG_TW_REUSE)
                | bit(cfg.timestamps, FLAG_TIMESTAMPS)
                | bit(
                    cfg.time_wait_in_window == TimeWaitInWindow::AckRestart,
                    FLAG_ACK_RESTARTS,
                )
                | bit(cfg.time_wait_minisock, FLAG_MINISOCK),
            ts: s.ts,
            expiry: cfg.timer_at(s.now, cfg.time_wait_len()),
            length: cfg.time_wait_len(),
            wheel_jiffy: if cfg.timer_wheel {
                u32::try_from(cfg.jiffy()).unwrap_or(u32::MAX)
            } else {
                0
            },
            challenges: ChallengeLimiter::default(),
            challenge_limit: cfg.challenge_ack_limit,
            segments_sent: 0,
            closed: false,
            oow: OowRateLimit::default(),
        }
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    pub fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else {
            State::TimeWait
        }
    }

    pub fn snd_nxt(&self) -> Seq {
        self.snd_nxt
    }

    pub fn rcv_nxt(&self) -> Seq {
        self.rcv_nxt
    }

    pub fn iss(&self) -> Seq {
        self.iss
    }

    pub fn irs(&self) -> Seq {
        self.irs
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        (!self.closed).then_some(self.expiry)
    }

    /// "If the time-wait timeout expires on a connection, delete the TCB, enter the
    /// CLOSED state, and return." (RFC 9293 §3.10.8)
    pub fn handle_timeout(&mut self, now: u64, events: &mut Vec<ConnEvent>) {
        if !self.closed && now >= self.expiry {
            events.push(ConnEvent::TimeWaitExpired);
            self.close(events, Why::TimeWaitExpired);
        }
    }

    /// ABORT in TIME-WAIT (RFC 9293 §3.10.5): "Respond with 'ok' and delete the TCB,
    /// enter CLOSED state, and return." Nothing is sent.
    pub fn abort(&mut self, events: &mut Vec<ConnEvent>) {
        if !self.closed {
            self.close(events, Why::AbortSilently);
        }
    }

    /// SEGMENT ARRIVES in TIME_WAIT (RFC 9293 §3.10.7.4), with the settings of RFC 7323
    /// (PAWS), RFC 5961 (challenge ACKs) and RFC 1337 (ignore RST).
    pub fn handle_segment(
        &mut self,
        now: u64,
        seg: &Segment,
        segs: &mut Vec<Segment>,
        events: &mut Vec<ConnEvent>,
    ) {
        if self.closed {
            return;
        }
        let out = &mut Outputs { segs, events };
        if self.has(FLAG_MINISOCK) {
            self.minisock_segment(now, seg, out);
        } else {
            let _ = self.steps(now, seg, out);
        }
    }

    fn steps(&mut self, now: u64, seg: &Segment, out: &mut Outputs) -> Step {
        self.check_paws(now, seg, out)?;
        self.check_sequence(now, seg, out)?;
        self.check_rst(now, seg, out)?;
        self.check_syn(now, seg, out)?;
        // Sixth and seventh: "This should not occur, since a FIN has been received from the
        // remote side. Ignore" the URG bit and the text; eighth: a FIN here is the one the
        // fifth step already ACKed ("Remain in the TIME-WAIT state. Restart the 2 MSL
        // time-wait timeout").
        self.check_ack(now, seg, out)
    }

    /// Linux's `tcp_timewait_state_process`, TIME_WAIT substate, in its order:
    /// 1. a segment exactly at RCV.NXT with no text, SYN or FIN (and not an old timestamp):
    ///    a RST kills the time-wait socket (unless tcp_rfc1337), an ACK restarts the timer
    ///    and is not answered;
    /// 2. (a new SYN that reopens the 4-tuple is the host's: see [`TimeWait::reopen`]);
    /// 3. anything else but a RST restarts the timer if it has ACK or an old timestamp, and
    ///    is ACKed — at most once per 500 ms when it is a bare ACK or SYN;
    /// 4. any other RST is ignored.
    fn minisock_segment(&mut self, now: u64, seg: &Segment, out: &mut Outputs) {
        let paws_reject = !seg.has(Flags::RST) && self.ts.paws(seg) == Paws::AckAndDrop;
        let control_only = seg.len == 0 && !seg.flags.intersects(Flags::SYN | Flags::FIN);
        if !paws_reject && seg.seq == self.rcv_nxt && (control_only || seg.has(Flags::RST)) {
            if seg.has(Flags::RST) {
                if self.has(FLAG_RFC1337) {
                    out.events.push(ConnEvent::RstIgnored);
                } else {
                    out.events.push(ConnEvent::ResetQuietly {
                        state: State::TimeWait,
                    });
                    self.close(out.events, Why::RstReceived);
                }
            } else {
                self.ts.update(seg, self.rcv_nxt, now);
                self.restart_timer(now);
            }
            return;
        }
        if seg.has(Flags::RST) {
            return;
        }
        if paws_reject || seg.has(Flags::ACK) {
            self.restart_timer(now);
        }
        if OowRateLimit::applies_to(seg) && !self.oow.allow(now) {
            return;
        }
        let why = if seg.has(Flags::FIN) && seg.seq + seg.len + 1 == self.rcv_nxt {
            out.events.push(ConnEvent::TimeWaitRestart { fin: true });
            Why::TimeWaitReAck
        } else {
            Why::AckUnacceptable
        };
        self.ack(now, why, out);
    }

    /// RFC 7323 §5.3 R1 (PAWS) and §3.2 (no timestamps once negotiated: drop).
    fn check_paws(&mut self, now: u64, seg: &Segment, out: &mut Outputs) -> Step {
        match self.ts.paws(seg) {
            Paws::Accept => Continue(()),
            Paws::Drop => Break(()),
            Paws::AckAndDrop => {
                out.events.push(ConnEvent::PawsRejected);
                self.ack(now, Why::PawsAck, out);
                Break(())
            }
        }
    }

    /// First, check sequence number. A retransmitted FIN lies just below RCV.NXT, so this
    /// check finds it unacceptable; what it means is in the TIME-WAIT paragraphs of the
    /// fifth and eighth steps: "The only thing that can arrive in this state is a
    /// retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
    fn check_sequence(&mut self, now: u64, seg: &Segment, out: &mut Outputs) -> Step {
        if acceptable(seg, self.rcv_nxt, self.rcv_wnd) {
            // RFC 7323 §4.3 R3; every ACK we send carries RCV.NXT, which is Last.ACK.sent.
            self.ts.update(seg, self.rcv_nxt, now);
            return Continue(());
        }
        if seg.has(Flags::RST) {
            return Break(());
        }
        if seg.has(Flags::FIN) && seg.seq + seg.len + 1 == self.rcv_nxt {
            self.restart(now, Why::TimeWaitReAck, out);
        } else {
            self.ack(now, Why::AckUnacceptable, out);
        }
        Break(())
    }

    /// Second, the RST bit: RFC 1337 ignores it; RFC 5961 wants it exactly at RCV.NXT;
    /// RFC 9293's base rule: "enter the CLOSED state, delete the TCB, and return".
    fn check_rst(&mut self, now: u64, seg: &Segment, out: &mut Outputs) -> Step {
        if !seg.has(Flags::RST) {
            return Continue(());
        }
        if self.has(FLAG_RFC1337) {
            out.events.push(ConnEvent::RstIgnored);
        } else if self.has(FLAG_RFC5961) && seg.seq != self.rcv_nxt {
            self.challenge_ack(now, out);
        } else {
            out.events.push(ConnEvent::ResetQuietly {
                state: State::TimeWait,
            });
            self.close(out.events, Why::RstReceived);
        }
        Break(())
    }

    /// Fourth, the SYN bit (a SYN that may reopen the 4-tuple was handled by the host, see
    /// [`TimeWait::reopen`]): RFC 5961 §4.2 challenge ACK, else RFC 793's RST and close.
    fn check_syn(&mut self, now: u64, seg: &Segment, out: &mut Outputs) -> Step {
        if !seg.has(Flags::SYN) {
            return Continue(());
        }
        if self.has(FLAG_RFC5961) {
            self.challenge_ack(now, out);
        } else {
            let rst = Segment {
                flags: Flags::RST,
                ack: Seq(0),
                ..rules::ack(
                    self.local,
                    self.remote,
                    self.snd_nxt,
                    self.rcv_nxt,
                    Why::SynInWindow,
                )
            };
            self.send(now, rst, out);
            out.events.push(ConnEvent::Reset { refused: false });
            self.close(out.events, Why::SynInWindow);
        }
        Break(())
    }

    /// Fifth, the ACK field: "if the ACK bit is off, drop the segment and return"; in
    /// TIME-WAIT, "The only thing that can arrive in this state is a retransmission of the
    /// remote FIN. Acknowledge it, and restart the 2 MSL timeout." That is RFC 9293's rule
    /// for an acceptable segment (`time_wait_in_window = "ack_restart"`); the narrower
    /// setting ignores it, since a segment at or above RCV.NXT cannot be that FIN.
    fn check_ack(&mut self, now: u64, seg: &Segment, out: &mut Outputs) -> Step {
        if seg.has(Flags::ACK) && self.has(FLAG_ACK_RESTARTS) {
            self.restart(now, Why::TimeWaitAckRestart, out);
        }
        Break(())
    }

    /// TIME_WAIT's timer starts over (`inet_twsk_reschedule`).
    fn restart_timer(&mut self, now: u64) {
        self.expiry = match self.wheel_jiffy {
            0 => now.saturating_add(self.length),
            j => super::wheel::expiry(now, self.length, u64::from(j)),
        };
    }

    /// ACK, and TIME_WAIT starts over.
    fn restart(&mut self, now: u64, why: Why, out: &mut Outputs) {
        self.restart_timer(now);
        let fin = why == Why::TimeWaitReAck;
        out.events.push(ConnEvent::TimeWaitRestart { fin });
        self.ack(now, why, out);
    }

    /// What a SYN arriving in TIME_WAIT should do: RFC 6191 §2 when the old connection
    /// used timestamps, else RFC 1122 §4.2.2.13 (reopen when the SYN's sequence number
    /// lies beyond the old connection's). The one place this is decided.
    pub fn reopen(&self, syn: &Segment) -> Reopen {
        if self.closed || syn.flags != Flags::SYN {
            return Reopen::Process;
        }
        if self.has(FLAG_MINISOCK) {
            return self.minisock_reopen(syn);
        }
        let above = syn.seq.ge(self.rcv_nxt);
        let new_ts = syn
            .ts
            .filter(|_| self.has(FLAG_TIMESTAMPS))
            .map(|(tsval, _)| Seq(tsval));
        match (self.ts.ok, new_ts) {
            (true, Some(ts)) if ts.gt(Seq(self.ts.recent)) => Reopen::Accept,
            (true, Some(ts)) if ts == Seq(self.ts.recent) && above => Reopen::Accept,
            (true, None) if above => Reopen::Accept,
            (true, _) => Reopen::Drop,
            (false, Some(_)) => Reopen::Accept,
            (false, None) if above => Reopen::Accept,
            (false, None) => Reopen::Process,
        }
    }

    /// Linux's rule (`tcp_timewait_state_process`, TCP_TW_SYN): a SYN that is not an old
    /// duplicate by its timestamp and lies beyond RCV.NXT, or carries a newer timestamp,
    /// reopens the 4-tuple; any other is answered as TIME_WAIT answers (an ACK).
    fn minisock_reopen(&self, syn: &Segment) -> Reopen {
        let tsval = syn.ts.filter(|_| self.ts.ok).map(|(v, _)| Seq(v));
        let recent = Seq(self.ts.recent);
        let paws_reject = tsval.is_some_and(|v| v.lt(recent));
        let newer = tsval.is_some_and(|v| v.gt(recent));
        if !paws_reject && (syn.seq.gt(self.rcv_nxt) || newer) {
            Reopen::Accept
        } else {
            Reopen::Process
        }
    }

    /// Linux's tcp_tw_reuse (a setting): a new connect() may take the 4-tuple over when
    /// timestamps were on and the last one arrived over a second ago.
    pub fn reusable(&self, now: u64) -> bool {
        !self.closed
            && self.has(FLAG_TW_REUSE)
            && self.ts.ok
            && now >= self.ts.recent_at.saturating_add(SECOND)
    }

    /// RFC 5961 §7: at most `challenge_ack_limit` challenge ACKs a second.
    fn challenge_ack(&mut self, now: u64, out: &mut Outputs) {
        let allowed = self.challenges.allow(now, self.challenge_limit);
        out.events.push(ConnEvent::ChallengeAck {
            suppressed: !allowed,
        });
        if allowed {
            self.ack(now, Why::ChallengeAck, out);
        }
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` with our window and timestamps.
    fn ack(&mut self, now: u64, why: Why, out: &mut Outputs) {
        let seg = rules::ack(self.local, self.remote, self.snd_nxt, self.rcv_nxt, why);
        self.send(now, seg, out);
    }

    fn send(&mut self, now: u64, mut seg: Segment, out: &mut Outputs) {
        rules::stamp(&mut seg, self.rcv_wnd, self.rcv_wscale, &self.ts, now);
        self.segments_sent += 1;
        out.segs.push(seg);
    }

    fn close(&mut self, events: &mut Vec<ConnEvent>, why: Why) {
        self.closed = true;
        events.push(ConnEvent::StateChange {
            from: State::TimeWait,
            to: State::Closed,
            why,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_wait_record_fits_in_128_bytes() {
        assert!(
            std::mem::size_of::<TimeWait>() <= 128,
            "{} bytes",
            std::mem::size_of::<TimeWait>()
        );
    }
}
