//! TIME_WAIT kept small: once both FINs are acknowledged a connection needs only its
//! 4-tuple, the two sequence numbers, its window and timestamp state and the expiry —
//! the way kernels keep a small time-wait record instead of the full socket. A host with
//! 100,000 connections in TIME_WAIT then holds 100,000 of these, not full connections.

use super::options::ts_clock;
use super::{ConnEvent, Endpoint, Flags, Reopen, SECOND, Segment, Seq, State, Why};

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
    /// `FLAG_*` bits: what was negotiated and which settings apply.
    flags: u8,
    /// TS.Recent and when it was last updated (RFC 7323 §4.3; Linux's tw_reuse rule).
    ts_recent: u32,
    ts_recent_at: u64,
    /// When TIME_WAIT ends, and how long it lasts when a retransmitted FIN restarts it.
    expiry: u64,
    length: u64,
    /// RFC 5961 §7 rate limit: start of the current second and challenge ACKs sent in it.
    challenge_start: u64,
    challenge_count: u32,
    challenge_limit: u32,
    /// Segments sent while in TIME_WAIT (for the connection's statistics).
    pub segments_sent: u32,
    closed: bool,
}

const FLAG_TS_OK: u8 = 1;
const FLAG_RFC1337: u8 = 2;
const FLAG_RFC5961: u8 = 4;
const FLAG_TW_REUSE: u8 = 8;
const FLAG_TIMESTAMPS: u8 = 16;

/// What a connection hands over when it enters TIME_WAIT.
pub struct TimeWaitSeed {
    pub local: Endpoint,
    pub remote: Endpoint,
    pub snd_nxt: Seq,
    pub rcv_nxt: Seq,
    pub iss: Seq,
    pub irs: Seq,
    pub rcv_wnd: u32,
    pub rcv_wscale: u8,
    pub ts_ok: bool,
    pub ts_recent: u32,
    pub ts_recent_at: u64,
    pub now: u64,
    pub cfg: super::Config,
}

impl TimeWait {
    pub fn new(s: TimeWaitSeed) -> Self {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        let cfg = &s.cfg;
        TimeWait {
            local: s.local,
            remote: s.remote,
            snd_nxt: s.snd_nxt,
            rcv_nxt: s.rcv_nxt,
            iss: s.iss,
            irs: s.irs,
            rcv_wnd: s.rcv_wnd,
            rcv_wscale: s.rcv_wscale,
            flags: bit(s.ts_ok, FLAG_TS_OK)
                | bit(cfg.rfc1337, FLAG_RFC1337)
                | bit(cfg.rfc5961, FLAG_RFC5961)
                | bit(cfg.tw_reuse, FLAG_TW_REUSE)
                | bit(cfg.timestamps, FLAG_TIMESTAMPS),
            ts_recent: s.ts_recent,
            ts_recent_at: s.ts_recent_at,
            expiry: s.now + cfg.time_wait_len(),
            length: cfg.time_wait_len(),
            challenge_start: 0,
            challenge_count: 0,
            challenge_limit: cfg.challenge_ack_limit,
            segments_sent: 0,
            closed: false,
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

    /// SEGMENT ARRIVES in TIME_WAIT (RFC 9293 §3.10.7.4), with the settings of RFC 7323
    /// (PAWS), RFC 5961 (challenge ACKs) and RFC 1337 (ignore RST).
    pub fn handle_segment(
        &mut self,
        now: u64,
        seg: &Segment,
        out: &mut Vec<Segment>,
        events: &mut Vec<ConnEvent>,
    ) {
        if self.closed {
            return;
        }
        // RFC 7323 §5.3 R1 (PAWS) and §3.2 (no timestamps once negotiated: drop).
        if self.has(FLAG_TS_OK) && !seg.has(Flags::RST) {
            match seg.ts {
                None => return,
                Some((tsval, _)) if Seq(tsval).lt(Seq(self.ts_recent)) => {
                    events.push(ConnEvent::PawsRejected);
                    self.ack(now, Why::PawsAck, out);
                    return;
                }
                Some(_) => {}
            }
        }
        // First, check sequence number. A retransmitted FIN lies just below RCV.NXT: "The
        // only thing that can arrive in this state is a retransmission of the remote FIN.
        // Acknowledge it, and restart the 2 MSL timeout."
        if !self.acceptable(seg) {
            if seg.has(Flags::RST) {
                return;
            }
            if seg.has(Flags::FIN) && seg.seq + seg.len + 1 == self.rcv_nxt {
                self.expiry = now + self.length;
                events.push(ConnEvent::TimeWaitRestart);
                self.ack(now, Why::TimeWaitReAck, out);
            } else {
                self.ack(now, Why::AckUnacceptable, out);
            }
            return;
        }
        // RFC 7323 §4.3 R3; every ACK we send carries RCV.NXT, which is Last.ACK.sent.
        if let Some((tsval, _)) = seg.ts.filter(|_| self.has(FLAG_TS_OK))
            && seg.seq.le(self.rcv_nxt)
            && Seq(tsval).ge(Seq(self.ts_recent))
        {
            self.ts_recent = tsval;
            self.ts_recent_at = now;
        }
        // Second, the RST bit: RFC 1337 ignores it; RFC 5961 wants it exactly at RCV.NXT;
        // RFC 9293's base rule: "enter the CLOSED state, delete the TCB".
        if seg.has(Flags::RST) {
            if self.has(FLAG_RFC1337) {
                events.push(ConnEvent::RstIgnored);
            } else if self.has(FLAG_RFC5961) && seg.seq != self.rcv_nxt {
                self.challenge_ack(now, out, events);
            } else {
                events.push(ConnEvent::ResetQuietly {
                    state: State::TimeWait,
                });
                self.close(events, Why::RstReceived);
            }
            return;
        }
        // Fourth, the SYN bit (a SYN that may reopen the 4-tuple was handled by the host,
        // see `reopen`): RFC 5961 §4.2 challenge ACK, else RFC 793's RST and close.
        if seg.has(Flags::SYN) {
            if self.has(FLAG_RFC5961) {
                self.challenge_ack(now, out, events);
            } else {
                let rst = Segment {
                    flags: Flags::RST,
                    ack: Seq(0),
                    wnd: 0,
                    ..self.segment(Why::SynInWindow)
                };
                self.send(rst, out);
                events.push(ConnEvent::Reset { refused: false });
                self.close(events, Why::SynInWindow);
            }
        }
        // Fifth onwards: an ACK in TIME_WAIT needs no action; text and FIN are ignored.
    }

    /// RFC 9293 §3.10.7.4 first check: the four cases of segment acceptability.
    fn acceptable(&self, seg: &Segment) -> bool {
        let (len, wnd) = (seg.seg_len(), self.rcv_wnd);
        let in_window = |s: Seq| s.in_range(self.rcv_nxt, self.rcv_nxt + wnd);
        match (len, wnd) {
            (0, 0) => seg.seq == self.rcv_nxt,
            (0, _) => in_window(seg.seq),
            (_, 0) => false,
            _ => in_window(seg.seq) || in_window(seg.seq + (len - 1)),
        }
    }

    /// What a SYN arriving in TIME_WAIT should do: RFC 6191 §2 when the old connection
    /// used timestamps, else RFC 1122 §4.2.2.13 (reopen when the SYN's sequence number
    /// lies beyond the old connection's).
    pub fn reopen(&self, syn: &Segment) -> Reopen {
        if self.closed || syn.flags != Flags::SYN {
            return Reopen::Process;
        }
        let above = syn.seq.ge(self.rcv_nxt);
        let new_ts = syn
            .ts
            .filter(|_| self.has(FLAG_TIMESTAMPS))
            .map(|(tsval, _)| Seq(tsval));
        match (self.has(FLAG_TS_OK), new_ts) {
            (true, Some(ts)) if ts.gt(Seq(self.ts_recent)) => Reopen::Accept,
            (true, Some(ts)) if ts == Seq(self.ts_recent) && above => Reopen::Accept,
            (true, None) if above => Reopen::Accept,
            (true, _) => Reopen::Drop,
            (false, Some(_)) => Reopen::Accept,
            (false, None) if above => Reopen::Accept,
            (false, None) => Reopen::Process,
        }
    }

    /// Linux's tcp_tw_reuse (a setting): a new connect() may take the 4-tuple over when
    /// timestamps were on and the last one arrived over a second ago.
    pub fn reusable(&self, now: u64) -> bool {
        !self.closed
            && self.has(FLAG_TW_REUSE)
            && self.has(FLAG_TS_OK)
            && now >= self.ts_recent_at + SECOND
    }

    /// RFC 5961 §7: at most `challenge_ack_limit` challenge ACKs a second.
    fn challenge_ack(&mut self, now: u64, out: &mut Vec<Segment>, events: &mut Vec<ConnEvent>) {
        if now >= self.challenge_start + SECOND {
            (self.challenge_start, self.challenge_count) = (now, 0);
        }
        let suppressed = self.challenge_count >= self.challenge_limit;
        events.push(ConnEvent::ChallengeAck { suppressed });
        if !suppressed {
            self.challenge_count += 1;
            self.ack(now, Why::ChallengeAck, out);
        }
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` with our window and timestamps.
    fn ack(&mut self, now: u64, why: Why, out: &mut Vec<Segment>) {
        let ts = self
            .has(FLAG_TS_OK)
            .then(|| (ts_clock(now), self.ts_recent));
        let seg = Segment {
            ts,
            ..self.segment(why)
        };
        self.send(seg, out);
    }

    fn segment(&self, why: Why) -> Segment {
        Segment {
            src: self.local,
            dst: self.remote,
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags: Flags::ACK,
            wnd: (self.rcv_wnd >> self.rcv_wscale).min(u16::MAX as u32) as u16,
            why,
            ..Segment::default()
        }
    }

    fn send(&mut self, seg: Segment, out: &mut Vec<Segment>) {
        self.segments_sent += 1;
        out.push(seg);
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
