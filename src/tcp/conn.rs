//! One TCP connection as a sans-IO state machine (RFC 9293 §3.10).
//!
//! Inputs are `handle_segment`, `handle_timeout` and the user calls (`send`, `close`,
//! `abort`), each given `now` in nanoseconds. Outputs are drained by the caller:
//! `poll_transmit` (segments to send), `poll_event` (what happened) and `poll_timeout`
//! (the next deadline). Nothing here knows about clocks, queues or links.
//!
//! A note on SND.NXT: after a retransmission timeout this implementation rewinds
//! `snd_nxt` to `snd_una` to resend, as BSD does, and keeps the highest sequence number
//! ever sent in `snd_max`. Wherever RFC 9293 tests an acknowledgment against SND.NXT
//! ("SEG.ACK =< SND.NXT") the test here uses `snd_max`, which is the RFC's SND.NXT.

use super::buffers::{Reassembly, SendBuffer};
use super::congestion::{NewReno, Phase, Reaction};
use super::options::Options;
use super::rto::RtoEstimator;
use super::time_wait::{TimeWait, TimeWaitSeed};
use super::{Config, Endpoint, Flags, Segment, Seq, State, Tag, Why};

/// RFC 9293 §3.7.1: the MSS to assume when the peer sends no MSS option.
const DEFAULT_MSS: u16 = 536;

/// Something the connection reports to its host and the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConnEvent {
    StateChange {
        from: State,
        to: State,
        why: Why,
    },
    /// In-order bytes for the application.
    Data {
        len: u32,
        tag: Tag,
    },
    /// The peer's FIN was reached in sequence: no more data will come.
    Eof,
    /// A valid RST arrived (RFC 9293 §3.10.7.4 second step) or SYN_SENT got one.
    Reset {
        refused: bool,
    },
    /// A valid RST ended the connection in `state`, where the user is not signalled
    /// (CLOSING, LAST_ACK, TIME_WAIT, or a passive SYN_RECEIVED).
    ResetQuietly {
        state: State,
    },
    /// Retransmissions exhausted (RFC 1122 §4.2.3.5 R2): the connection is dropped.
    TimedOut,
    /// The retransmission timer fired; `rto` is the new (backed-off) timeout.
    Retransmit {
        rto: u64,
        attempt: u32,
    },
    /// The 2×MSL timer expired (RFC 9293 §3.10.8).
    TimeWaitExpired,
    /// A retransmitted FIN arrived in TIME_WAIT: it was ACKed and 2×MSL restarted.
    TimeWaitRestart,
    /// RFC 7323 §5.3: a segment with an older timestamp was discarded as an old duplicate.
    PawsRejected,
    /// RFC 5961: a challenge ACK answered a suspicious RST, SYN or ACK (`suppressed`:
    /// the rate limit of §7 swallowed it).
    ChallengeAck {
        suppressed: bool,
    },
    /// RFC 1337: an RST in TIME_WAIT was ignored.
    RstIgnored,
    /// The FIN_WAIT_2 timeout expired; the connection is deleted without a segment.
    FinWait2Timeout,
    /// Congestion control changed phase (fast retransmit, end of recovery, timeout).
    Congestion {
        phase: Phase,
        cwnd: u32,
        ssthresh: u32,
    },
    /// RFC 9293 §3.8.6.1: the peer's window is zero; one octet probes it.
    WindowProbe,
}

/// Byte and segment counters for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConnStats {
    /// Bytes the application asked to send.
    pub bytes_written: u64,
    /// Payload bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Bytes delivered in order to the application.
    pub bytes_delivered: u64,
    pub segments_sent: u64,
    /// Segments sent again: after a timeout, by fast retransmit or in fast recovery.
    pub retransmits: u64,
    /// Congestion window and slow-start threshold in bytes (0 without congestion control).
    pub cwnd: u32,
    pub ssthresh: u32,
}

/// The two timers a connection keeps, as plain deadlines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Timers {
    retransmit: Option<u64>,
    fin_wait_2: Option<u64>,
    /// RFC 1122 §4.2.3.2: the latest moment to send a delayed ACK.
    delayed_ack: Option<u64>,
    /// RFC 9293 §3.8.6.1: the next zero-window probe.
    persist: Option<u64>,
}

/// What a SYN arriving for a connection in TIME_WAIT should do (RFC 1122 §4.2.2.13,
/// RFC 6191 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reopen {
    /// Delete the TIME_WAIT connection and give the SYN to the listener.
    Accept,
    /// RFC 6191: silently drop it, TIME_WAIT stays.
    Drop,
    /// Process it as RFC 9293 says for TIME_WAIT (an ACK for an old one).
    Process,
}

/// A TCP connection's control block (RFC 9293 §3.3.1 names).
#[derive(Debug, Clone)]
pub struct Connection {
    pub local: Endpoint,
    pub remote: Endpoint,
    state: State,
    cfg: Config,
    /// Opened by a listener (passive OPEN): an RST in SYN_RECEIVED returns to LISTEN.
    passive: bool,
    // Send sequence space.
    iss: Seq,
    snd_una: Seq,
    snd_nxt: Seq,
    snd_max: Seq,
    snd_wnd: u32,
    snd_wl1: Seq,
    snd_wl2: Seq,
    /// Largest payload the peer accepts (its MSS option, bounded by ours).
    snd_mss: u16,
    // Receive sequence space.
    irs: Seq,
    rcv_nxt: Seq,
    rcv_wnd: u32,
    /// RCV.USER of RFC 9293 §3.8.6.2.2: bytes delivered in order, not yet read.
    unread: u64,
    send_buf: SendBuffer,
    reasm: Reassembly,
    /// Application called CLOSE: a FIN follows the queued data.
    fin_queued: bool,
    timers: Timers,
    rto: RtoEstimator,
    /// Segment timed for an RTT sample: (sequence number that acknowledges it, send time).
    /// Karn's rule: cleared whenever anything is retransmitted.
    rtt_probe: Option<(Seq, u64)>,
    /// NewReno state (None when congestion control is off).
    cc: Option<NewReno>,
    /// In-order bytes received since our last ACK (delayed ACK: ACK every second segment).
    unacked_bytes: u32,
    /// Consecutive zero-window probes, for their backoff.
    probes: u32,
    /// The persist timer releases a segment silly-window avoidance held back.
    sws_override: bool,
    opts: Options,
    /// The largest window the peer has offered (RFC 5961 §5.2 MAX.SND.WND).
    max_snd_wnd: u32,
    /// RFC 5961 §7 rate limit: start of the current one-second window and ACKs sent in it.
    challenges: (u64, u32),
    /// The `now` of the latest input, for outputs produced by calls that take no time.
    last_now: u64,
    /// In TIME_WAIT everything is handled by this small record (see [`TimeWait`]).
    tw: Option<TimeWait>,
    out: Vec<Segment>,
    events: Vec<ConnEvent>,
    stats: ConnStats,
}

impl Connection {
    fn new(local: Endpoint, remote: Endpoint, iss: Seq, cfg: &Config, stream: u32) -> Self {
        Connection {
            local,
            remote,
            state: State::Closed,
            cfg: cfg.clone(),
            passive: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            snd_mss: DEFAULT_MSS.min(cfg.mss),
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_wnd: cfg.window.min(u16::MAX as u32),
            unread: 0,
            send_buf: SendBuffer::new(stream),
            reasm: Reassembly::default(),
            fin_queued: false,
            timers: Timers::default(),
            rto: RtoEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max),
            rtt_probe: None,
            cc: None,
            unacked_bytes: 0,
            probes: 0,
            sws_override: false,
            opts: Options::default(),
            max_snd_wnd: 0,
            challenges: (0, 0),
            last_now: 0,
            tw: None,
            out: Vec::new(),
            events: Vec::new(),
            stats: ConnStats::default(),
        }
    }

    /// Active OPEN (RFC 9293 §3.10.1): send SYN, enter SYN_SENT. `stream` names the bytes
    /// this side's application will write (see [`Tag`]).
    pub fn connect(
        now: u64,
        local: Endpoint,
        remote: Endpoint,
        iss: Seq,
        cfg: &Config,
        stream: u32,
    ) -> Self {
        let mut c = Connection::new(local, remote, iss, cfg, stream);
        c.last_now = now;
        c.set_state(State::SynSent, Why::ActiveOpen);
        c.snd_nxt = iss + 1;
        c.snd_max = c.snd_nxt;
        c.send_syn(now, Why::ActiveOpen);
        c
    }

    /// A SYN reached a LISTEN socket (RFC 9293 §3.10.7.2 third check): record IRS, send
    /// SYN,ACK, enter SYN_RECEIVED. The caller has already ruled out RST and ACK.
    pub fn accept(now: u64, syn: &Segment, iss: Seq, cfg: &Config, stream: u32) -> Self {
        let mut c = Connection::new(syn.dst, syn.src, iss, cfg, stream);
        c.last_now = now;
        c.passive = true;
        // The new connection starts as a copy of the LISTEN socket (RFC 9293 §3.10.7.2).
        c.state = State::Listen;
        c.rcv_nxt = syn.seq + 1;
        c.irs = syn.seq;
        c.on_peer_syn(syn);
        c.snd_wl1 = syn.seq;
        c.snd_nxt = iss + 1;
        c.snd_max = c.snd_nxt;
        c.set_state(State::SynReceived, Why::PassiveOpen);
        c.send_syn(now, Why::PassiveOpen);
        c
    }

    pub fn state(&self) -> State {
        self.state
    }
    /// Counters, with the congestion window and threshold as they are now.
    pub fn stats(&self) -> ConnStats {
        let (cwnd, ssthresh) = self.cc.as_ref().map_or((0, 0), |c| (c.cwnd, c.ssthresh));
        ConnStats {
            cwnd,
            ssthresh,
            ..self.stats
        }
    }
    pub fn iss(&self) -> Seq {
        self.iss
    }
    pub fn irs(&self) -> Seq {
        self.irs
    }
    pub fn snd_una(&self) -> Seq {
        self.snd_una
    }
    /// The RFC's SND.NXT: the highest sequence number sent (see the module note).
    #[allow(clippy::misnamed_getters)]
    pub fn snd_nxt(&self) -> Seq {
        self.snd_max
    }
    pub fn rcv_nxt(&self) -> Seq {
        self.rcv_nxt
    }
    pub fn rcv_wnd(&self) -> u32 {
        self.rcv_wnd
    }
    /// The record of what this side's application wrote.
    pub fn send_buffer(&self) -> &SendBuffer {
        &self.send_buf
    }
    /// The record of what this side's application wrote, kept after the connection ends
    /// so integrity checks can still compare against it.
    pub fn into_send_buffer(self) -> SendBuffer {
        self.send_buf
    }

    // ----- outputs -------------------------------------------------------------------

    /// Moves every pending segment into `into` (keeps this connection's buffer allocated).
    pub fn drain_transmit(&mut self, into: &mut Vec<Segment>) {
        into.append(&mut self.out);
    }

    pub fn drain_events(&mut self, into: &mut Vec<ConnEvent>) {
        into.append(&mut self.events);
    }

    /// The earliest deadline at which `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        if let Some(tw) = &self.tw {
            return tw.poll_timeout();
        }
        let t = self.timers;
        [t.retransmit, t.fin_wait_2, t.delayed_ack, t.persist]
            .into_iter()
            .flatten()
            .min()
    }

    // ----- user calls (RFC 9293 §3.10.2–3.10.5) ---------------------------------------

    /// RECEIVE: the application takes up to `max` delivered bytes, freeing buffer space.
    /// Returns how many it got.
    pub fn read(&mut self, now: u64, max: u64) -> u64 {
        self.last_now = now;
        let n = max.min(self.unread);
        self.unread -= n;
        self.open_window();
        n
    }

    /// Bytes delivered but not yet read.
    pub fn unread(&self) -> u64 {
        self.unread
    }

    /// RFC 1122 §4.2.3.3 (receiver-side silly window avoidance): move the right edge only
    /// when the window can grow by min(half the buffer, one MSS); announce it at once when
    /// the sender may be stalled on a window smaller than a segment, else with the next ACK.
    fn open_window(&mut self) {
        let buf = self
            .cfg
            .window
            .min((u16::MAX as u32) << self.opts.rcv_wscale);
        let free = (buf as u64).saturating_sub(self.unread) as u32;
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

    /// SEND: queue `len` bytes whose first byte is `tag`. Refused (false) once CLOSE was
    /// called or the connection is not open (RFC 9293 §3.10.2 "connection closing").
    pub fn send(&mut self, now: u64, len: u64, tag: Tag) -> bool {
        self.last_now = now;
        let open = matches!(
            self.state,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        );
        if !open || self.fin_queued {
            return false;
        }
        self.send_buf.write(len, tag);
        self.stats.bytes_written += len;
        self.try_send(now);
        true
    }

    /// CLOSE (RFC 9293 §3.10.4): no more data from this side; FIN follows queued data.
    pub fn close(&mut self, now: u64) {
        self.last_now = now;
        match self.state {
            // "Delete the TCB and return 'error: closing' responses to any queued SENDs."
            // enter_closed also stops the SYN's retransmission timer: a deleted TCB keeps
            // no timer (a stale one would "retransmit" from CLOSED and report TimedOut).
            State::SynSent | State::Listen => self.enter_closed(Why::CloseBeforeEstablished),
            // "Queue for processing after entering ESTABLISHED state."
            State::SynReceived => self.fin_queued = true,
            // "Queue this until all preceding SENDs have been segmentized, then form a FIN
            // segment and send it. In any case, enter FIN-WAIT-1 state."
            State::Established => {
                self.fin_queued = true;
                self.set_state(State::FinWait1, Why::CloseFromEstablished);
                self.try_send(now);
            }
            // "...then send a FIN segment, enter LAST-ACK state."
            State::CloseWait => {
                self.fin_queued = true;
                self.set_state(State::LastAck, Why::CloseFromCloseWait);
                self.try_send(now);
            }
            // Already closing: "error: connection closing".
            _ => {}
        }
    }

    /// ABORT (RFC 9293 §3.10.5): send RST where the peer may hold state, then CLOSED.
    pub fn abort(&mut self) {
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            // "<SEQ=SND.NXT><CTL=RST>"
            let rst = self.segment(self.snd_max, Flags::RST, 0, Why::Abort);
            self.emit(rst);
        }
        self.enter_closed(Why::Abort);
    }

    // ----- timers (RFC 9293 §3.10.8) ---------------------------------------------------

    pub fn handle_timeout(&mut self, now: u64) {
        self.last_now = now;
        if let Some(tw) = self.tw.as_mut() {
            tw.handle_timeout(now, &mut self.events);
            self.state = tw.state();
            return;
        }
        if self.timers.fin_wait_2.is_some_and(|t| t <= now) {
            // Not in RFC 9293, which waits in FIN_WAIT_2 for ever; Linux deletes the
            // connection after tcp_fin_timeout without sending anything.
            self.events.push(ConnEvent::FinWait2Timeout);
            self.enter_closed(Why::FinWait2Timeout);
            return;
        }
        if self.timers.delayed_ack.is_some_and(|t| t <= now) {
            self.send_ack(Why::DelayedAck);
        }
        if self.timers.persist.is_some_and(|t| t <= now) {
            self.timers.persist = None;
            self.on_persist(now);
        }
        if self.timers.retransmit.is_some_and(|t| t <= now) {
            self.timers.retransmit = None;
            self.on_retransmit_timeout(now);
        }
    }

    /// RFC 6298 §5.4–5.6: resend the earliest unacknowledged segment, double the RTO,
    /// restart the timer; give up after the configured number of attempts.
    fn on_retransmit_timeout(&mut self, now: u64) {
        let limit = match self.state {
            State::SynSent | State::SynReceived => self.cfg.syn_retries,
            _ => self.cfg.retries,
        };
        if self.rto.backoffs() >= limit {
            self.events.push(ConnEvent::TimedOut);
            self.enter_closed(Why::TimedOut);
            return;
        }
        self.rto.back_off();
        self.rtt_probe = None; // Karn's rule: no RTT sample from retransmitted segments.
        self.stats.retransmits += 1;
        self.events.push(ConnEvent::Retransmit {
            rto: self.rto.rto(),
            attempt: self.rto.backoffs(),
        });
        match self.state {
            State::SynSent | State::SynReceived => self.send_syn(now, Why::SynRetransmit),
            _ => {
                if let Some(cc) = self.cc.as_mut() {
                    let phase = cc.on_timeout(self.snd_max - self.snd_una, self.snd_max);
                    self.report_congestion(phase);
                }
                // Go back to the oldest unacknowledged octet; cwnd (one segment after a
                // timeout) paces what follows.
                self.snd_nxt = self.snd_una;
                self.try_send(now);
            }
        }
        self.arm_retransmit(now, true);
    }

    fn arm_retransmit(&mut self, now: u64, restart: bool) {
        if restart || self.timers.retransmit.is_none() {
            self.timers.retransmit = Some(now + self.rto.rto());
        }
    }

    // ----- segment arrival (RFC 9293 §3.10.7) ------------------------------------------

    /// SEGMENT ARRIVES for an existing connection (not CLOSED, not LISTEN: the host
    /// handles those through [`super::closed`]).
    pub fn handle_segment(&mut self, now: u64, seg: &Segment) {
        self.last_now = now;
        if let Some(tw) = self.tw.as_mut() {
            tw.handle_segment(now, seg, &mut self.out, &mut self.events);
            self.state = tw.state();
            return;
        }
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_segment_syn_sent(now, seg),
            _ => self.on_segment_synchronized(now, seg),
        }
    }

    /// RFC 9293 §3.10.7.3 SYN-SENT STATE.
    fn on_segment_syn_sent(&mut self, now: u64, seg: &Segment) {
        // First, check the ACK bit: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
        // (unless the RST bit is set, if so drop the segment and return)".
        let ack_ok = seg.has(Flags::ACK) && seg.ack.gt(self.iss) && seg.ack.le(self.snd_max);
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
        // Fourth, check the SYN bit.
        if !seg.has(Flags::SYN) {
            return; // "Fifth, if neither of the SYN or RST bits is set, then drop the segment and return."
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.on_peer_syn(seg);
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        if ack_ok {
            // "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has
            // been ACKed), change the connection state to ESTABLISHED, form an ACK segment
            // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
            self.on_new_ack(now, seg.ack);
            self.set_state(State::Established, Why::SynAckAccepted);
            // "If there are other controls or text in the segment, then continue processing
            // at the sixth step below where the URG bit is checked; otherwise, return."
            // Text and FIN are taken past the SYN; receive_text sends the one ACK.
            if seg.len > 0 || seg.has(Flags::FIN) {
                let rest = Segment {
                    seq: seg.seq + 1,
                    flags: Flags(seg.flags.0 & !Flags::SYN.0),
                    ..*seg
                };
                self.receive_text(now, &rest);
            } else {
                self.send_ack(Why::SynAckAccepted);
            }
            self.try_send(now);
        } else {
            // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment
            // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it."
            self.set_state(State::SynReceived, Why::SimultaneousOpen);
            self.send_syn(now, Why::SimultaneousOpen);
        }
    }

    /// RFC 9293 §3.10.7.4 "Otherwise": SYN-RECEIVED and the synchronized states.
    fn on_segment_synchronized(&mut self, now: u64, seg: &Segment) {
        // RFC 9293 §3.5 Figure 8 (simultaneous open), line 4: in SYN-RECEIVED after an
        // active OPEN the peer's SYN,ACK repeats the SYN at IRS that we already acknowledged.
        // Its SYN octet is old; the segment is taken as the ACK it also is, so the handshake
        // completes as the figure shows rather than failing the window test below.
        let repeated_syn;
        let seg = if self.state == State::SynReceived
            && !self.passive
            && seg.flags.contains(Flags::SYN | Flags::ACK)
            && seg.seq == self.irs
        {
            repeated_syn = Segment {
                seq: seg.seq + 1,
                flags: Flags(seg.flags.0 & !Flags::SYN.0),
                ..*seg
            };
            &repeated_syn
        } else {
            seg
        };
        // RFC 7323 §5.3 R1 (PAWS), before the sequence number check: an older timestamp
        // marks an old duplicate: "send an acknowledgement in reply ... and drop the
        // segment"; §3.2: a segment without the option is silently dropped.
        if self.opts.rejects(seg) {
            if seg.ts.is_some() {
                self.events.push(ConnEvent::PawsRejected);
                self.send_ack(Why::PawsAck);
            }
            return;
        }
        // First, check sequence number.
        if !self.acceptable(seg) {
            if seg.has(Flags::RST) {
                return; // "...unless the RST bit is set, if so drop the segment and return"
            }
            // "If an incoming segment is not acceptable, an acknowledgment should be sent in
            // reply: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" (TIME_WAIT: see time_wait.rs)
            self.send_ack(Why::AckUnacceptable);
            return;
        }

        // RFC 7323 §4.3 R3: record the timestamp of an acceptable segment.
        self.opts.update_recent(seg, now);

        // Second, check the RST bit (TIME_WAIT, with RFC 1337: see time_wait.rs).
        // RFC 5961 §3.2 (a setting): only an RST exactly at RCV.NXT resets; another one in
        // the window draws a challenge ACK. Without it (RFC 9293's base rule) any RST in
        // the window resets the connection.
        if seg.has(Flags::RST) && self.cfg.rfc5961 && seg.seq != self.rcv_nxt {
            self.challenge_ack(now);
            return;
        }
        if seg.has(Flags::RST) {
            if self.state == State::SynReceived && !self.passive {
                // "If this connection was initiated with an active OPEN ... the connection
                // was refused; signal the user 'connection refused'."
                self.events.push(ConnEvent::Reset { refused: true });
            } else if matches!(
                self.state,
                State::Closing | State::LastAck | State::SynReceived
            ) {
                // CLOSING, LAST-ACK (the user has closed) and a passive
                // SYN-RECEIVED (the user never saw it): nobody is told, but the trace is.
                self.events
                    .push(ConnEvent::ResetQuietly { state: self.state });
            } else {
                // ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "connection reset".
                self.events.push(ConnEvent::Reset { refused: false });
            }
            // CLOSING, LAST-ACK: "enter the CLOSED state, delete the TCB".
            self.enter_closed_or_listen(if self.state == State::SynReceived && !self.passive {
                Why::RstRefused
            } else {
                Why::RstReceived
            });
            return;
        }

        // Fourth, check the SYN bit. SYN-RECEIVED from a passive OPEN: "return this
        // connection to the LISTEN state". Synchronized states, original RFC 793 behaviour
        // (RFC 5961 not applied): "If the SYN is in the window it is an error: send a reset
        // ... enter the CLOSED state". (A SYN outside the window was ACKed in step one.)
        // With RFC 5961 §4.2 (a setting): "If the SYN bit is set, irrespective of the
        // sequence number, TCP MUST send an ACK (also referred to as challenge ACK)".
        let passive_syn_received = self.state == State::SynReceived && self.passive;
        if seg.has(Flags::SYN) && self.cfg.rfc5961 && !passive_syn_received {
            self.challenge_ack(now);
            return;
        }
        if seg.has(Flags::SYN) {
            if !passive_syn_received {
                let rst = self.segment(self.snd_max, Flags::RST, 0, Why::SynInWindow);
                self.emit(rst);
                self.events.push(ConnEvent::Reset { refused: false });
            }
            self.enter_closed_or_listen(Why::SynInWindow);
            return;
        }

        // Fifth, check the ACK field: "if the ACK bit is off, drop the segment and return".
        if !seg.has(Flags::ACK) {
            return;
        }
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
            // processing ... If the segment acknowledgment is not acceptable, form a reset
            // segment <SEQ=SEG.ACK><CTL=RST> and send it."
            if seg.ack.gt(self.snd_una) && seg.ack.le(self.snd_max) {
                self.set_snd_wnd(seg);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                self.set_state(State::Established, Why::SynAckAckAccepted);
                if self.fin_queued {
                    self.set_state(State::FinWait1, Why::CloseQueuedUntilEstablished);
                }
            } else {
                let rst = self.reply(seg.ack, Seq(0), Flags::RST, Why::RstBadAck);
                self.emit(rst);
                return;
            }
        }
        if seg.ack.gt(self.snd_max) {
            // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK,
            // drop the segment, and return."
            self.send_ack(Why::AckUnsent);
            return;
        }
        // RFC 5961 §5.2 (a setting): an ACK below SND.UNA - MAX.SND.WND is discarded
        // with a challenge ACK (blind data injection).
        if self.cfg.rfc5961 && seg.ack.lt(self.snd_una - self.max_snd_wnd) {
            self.challenge_ack(now);
            return;
        }
        // RFC 5681 §2: a duplicate ACK acknowledges nothing new, carries no data, SYN or
        // FIN, leaves the window unchanged, and arrives while data is outstanding.
        let dupack = seg.ack == self.snd_una
            && seg.len == 0
            && !seg.flags.intersects(Flags::SYN | Flags::FIN)
            && self.opts.peer_window(seg) == self.snd_wnd
            && self.snd_una != self.snd_max;
        if seg.ack.gt(self.snd_una) {
            self.on_new_ack(now, seg.ack);
        }
        if let Some(cc) = self.cc.as_mut().filter(|_| dupack) {
            let (reaction, phase) =
                cc.on_dupack(self.snd_max - self.snd_una, self.snd_una, self.snd_max);
            if let Some(phase) = phase {
                self.report_congestion(phase);
            }
            if reaction == Reaction::RetransmitFirst {
                self.retransmit_first(now, Why::FastRetransmit);
            }
        }
        // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
        // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        if seg.ack.ge(self.snd_una)
            && (self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(seg.ack)))
        {
            self.set_snd_wnd(seg);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
        }
        let fin_acked = self.fin_acked();
        match self.state {
            // "In addition to the processing for the ESTABLISHED state, if the FIN segment
            // is now acknowledged, then enter FIN-WAIT-2 and continue processing."
            State::FinWait1 if fin_acked => {
                self.set_state(State::FinWait2, Why::FinAcked);
                self.timers.fin_wait_2 = self.cfg.fin_wait_2_timeout.map(|d| now + d);
            }
            // "...if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise,
            // ignore the segment."
            // Data queued before CLOSE may still be waiting for window: the ACK may have
            // opened it (the segment itself is otherwise ignored).
            State::Closing => {
                if fin_acked {
                    self.enter_time_wait(now, Why::ClosingAcked);
                } else {
                    self.try_send(now);
                }
                return;
            }
            // "The only thing that can arrive in this state is an acknowledgment of our FIN.
            // If our FIN is now acknowledged, delete the TCB, enter the CLOSED state."
            State::LastAck => {
                if fin_acked {
                    self.enter_closed(Why::LastAckAcked);
                } else {
                    self.try_send(now);
                }
                return;
            }
            _ => {}
        }

        // Seventh, process the segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 only; in
        // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT "this should not occur since a FIN has
        // been received from the remote side. Ignore the segment text.").
        let receiving = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        if receiving && (seg.len > 0 || seg.has(Flags::FIN)) {
            self.receive_text(now, seg);
        }
        self.try_send(now);
    }

    /// RFC 9293 §3.10.7.4 first check: the four cases of segment acceptability.
    fn acceptable(&self, seg: &Segment) -> bool {
        let len = seg.seg_len();
        let wnd = self.rcv_wnd;
        let in_window = |s: Seq| s.in_range(self.rcv_nxt, self.rcv_nxt + wnd);
        match (len, wnd) {
            (0, 0) => seg.seq == self.rcv_nxt,
            (0, _) => in_window(seg.seq),
            (_, 0) => false,
            _ => in_window(seg.seq) || in_window(seg.seq + (len - 1)),
        }
    }

    /// Seventh and eighth steps: store or deliver text, then process an in-sequence FIN.
    fn receive_text(&mut self, now: u64, seg: &Segment) {
        // Trim to the window (RFC 9293 §3.10.7.4: "segments with higher beginning sequence
        // numbers may be held for later processing"; bytes beyond the window are dropped).
        let wnd_end = self.rcv_nxt + self.rcv_wnd;
        let mut start = seg.seq;
        let mut len = seg.len;
        let mut tag = seg.tag;
        if start.lt(self.rcv_nxt) {
            let cut = (self.rcv_nxt - start).min(len);
            start = start + cut;
            len -= cut;
            tag = tag.advance(cut as u64);
        }
        let end = start + len;
        if end.gt(wnd_end) {
            len -= end - wnd_end;
        }
        // The FIN occupies sequence number SEG.SEQ+SEG.LEN and, like any octet, counts only
        // inside the window: at RCV.NXT+RCV.WND it is beyond it, and trimming the segment at
        // the right edge removes it (RFC 9293 §3.10.7.4 first check and trimming note).
        let fin_seq = seg.seq + seg.len;
        if seg.has(Flags::FIN) && fin_seq.lt(wnd_end) && self.reasm.fin().is_none() {
            self.reasm.set_fin(fin_seq);
        }
        // Nothing follows a FIN in the sequence space (RFC 9293 §3.10.7.4 eighth step, "the
        // FIN implies PUSH ... no more data"): bytes past a known FIN are dropped, so they
        // can neither be delivered nor carry RCV.NXT past the FIN.
        if let Some(f) = self.reasm.fin()
            && (start + len).gt(f)
        {
            len = if f.gt(start) { f - start } else { 0 };
        }
        // RFC 5681 §4.2: out-of-order data, and data that fills a gap, is ACKed at once.
        let in_order = start == self.rcv_nxt && self.reasm.is_empty();
        if len > 0 {
            if start == self.rcv_nxt {
                self.deliver(len, tag);
            } else {
                self.reasm.insert(start, len, tag);
            }
        }
        while let Some((mut l, t)) = self.reasm.pop_at(self.rcv_nxt) {
            if let Some(f) = self.reasm.fin() {
                l = l.min(f - self.rcv_nxt); // held before the FIN was known
            }
            if l > 0 {
                self.deliver(l, t);
            }
        }
        if self.reasm.fin() == Some(self.rcv_nxt) {
            self.receive_fin(now);
        } else if in_order && len > 0 {
            self.ack_later(now, len);
        } else {
            // "...send an acknowledgment of the form <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            // Out-of-order data is ACKed at once too (RFC 5681 §4.2 duplicate ACK).
            self.send_ack(Why::AckOutOfOrder);
        }
    }

    /// RFC 1122 §4.2.3.2 / RFC 5681 §4.2 delayed ACK: "an ACK SHOULD be generated for at
    /// least every second full-sized segment, and MUST be generated within 500 ms".
    fn ack_later(&mut self, now: u64, len: u32) {
        self.unacked_bytes += len;
        // A full-sized segment from the peer: our MSS less the options it must carry.
        let full = self.cfg.mss as u32 - if self.opts.ts_ok { 12 } else { 0 };
        match self.cfg.delayed_ack {
            Some(delay) if self.unacked_bytes < 2 * full => {
                self.timers.delayed_ack.get_or_insert(now + delay);
            }
            _ => self.send_ack(Why::AckData),
        }
    }

    fn deliver(&mut self, len: u32, tag: Tag) {
        // The right edge of the window stays put until the application reads.
        self.rcv_nxt = self.rcv_nxt + len;
        self.rcv_wnd = self.rcv_wnd.saturating_sub(len);
        self.unread += len as u64;
        self.stats.bytes_delivered += len as u64;
        self.events.push(ConnEvent::Data { len, tag });
    }

    /// Eighth, check the FIN bit: "advance RCV.NXT over the FIN, and send an
    /// acknowledgment for the FIN", then the per-state transition.
    fn receive_fin(&mut self, now: u64) {
        self.rcv_nxt = self.rcv_nxt + 1;
        self.reasm.clear();
        self.send_ack(Why::AckFin);
        match self.state {
            State::SynReceived | State::Established => {
                self.set_state(State::CloseWait, Why::FinReceived)
            }
            // "If our FIN has been ACKed ... then enter TIME-WAIT ... otherwise, enter the
            // CLOSING state."
            State::FinWait1 => {
                if self.fin_acked() {
                    self.enter_time_wait(now, Why::FinAfterOurFinAcked);
                } else {
                    self.set_state(State::Closing, Why::FinBeforeOurFinAcked);
                }
            }
            // "Enter the TIME-WAIT state. Start the time-wait timer, turn off the other timers."
            State::FinWait2 => self.enter_time_wait(now, Why::FinAfterOurFinAcked),
            _ => {}
        }
        // "signal the user 'connection closing'": reported after the state change so that
        // what the application does about it reads in order.
        self.events.push(ConnEvent::Eof);
    }

    /// SND.UNA advances to `ack` (already checked to lie in (SND.UNA, snd_max]).
    fn on_new_ack(&mut self, now: u64, ack: Seq) {
        let acked = ack - self.snd_una;
        let syn_acked = self.snd_una == self.iss;
        let data_end = self.data_end();
        let fin_now_acked = self.fin_queued && ack == data_end + 1;
        self.stats.bytes_acked += (acked - syn_acked as u32 - fin_now_acked as u32) as u64;
        self.snd_una = ack;
        if self.snd_nxt.lt(ack) {
            self.snd_nxt = ack;
        }
        if let Some((probe, sent_at)) = self.rtt_probe
            && ack.ge(probe)
        {
            self.rto.on_sample(now - sent_at);
            self.rtt_probe = None;
        }
        self.rto.reset_backoff();
        let flight = self.snd_max - ack;
        let data_acked = acked - syn_acked as u32 - fin_now_acked as u32;
        if let Some(cc) = self.cc.as_mut().filter(|_| data_acked > 0) {
            let (reaction, phase) = cc.on_ack(data_acked, ack, flight);
            if let Some(phase) = phase {
                self.report_congestion(phase);
            }
            if reaction == Reaction::RetransmitFirst {
                self.retransmit_first(now, Why::PartialAck);
            }
        }
        // RFC 6298 §5.2 / §5.3: stop the timer when all is acknowledged, else restart it.
        if self.snd_una == self.snd_max {
            self.timers.retransmit = None;
        } else {
            self.arm_retransmit(now, true);
        }
    }

    fn fin_acked(&self) -> bool {
        self.fin_queued && self.snd_una == self.data_end() + 1
    }

    /// Sequence number just past the last byte the application wrote (where the FIN goes).
    fn data_end(&self) -> Seq {
        self.iss + 1 + self.send_buf.written() as u32
    }

    /// Sends whatever data and FIN the peer's window allows; one segment per call while
    /// repairing after a timeout.
    fn try_send(&mut self, now: u64) {
        if !self.state.is_synchronized() {
            return;
        }
        let data_end = self.data_end();
        loop {
            let avail = if self.snd_nxt.lt(data_end) {
                data_end - self.snd_nxt
            } else {
                0
            };
            let cwnd = self.cc.as_ref().map_or(u32::MAX, |c| c.cwnd);
            let wnd_end = self.snd_una + self.snd_wnd.min(cwnd);
            let room = if wnd_end.gt(self.snd_nxt) {
                wnd_end - self.snd_nxt
            } else {
                0
            };
            let offset = (self.snd_nxt - (self.iss + 1)) as u64;
            let len = avail
                .min(room)
                .min(self.eff_snd_mss())
                .min(self.send_buf.run_len_at(offset));
            let fin = self.fin_queued && self.snd_nxt + len == data_end && avail == len;
            if len == 0 && !fin {
                self.arm_persist(now, avail > 0);
                return;
            }
            if len > 0 && !self.may_send(len, avail) {
                self.arm_persist(now, true);
                return;
            }
            let mut flags = Flags::ACK;
            if fin {
                flags = flags | Flags::FIN;
            }
            if len > 0 && len == avail {
                flags = flags | Flags::PSH;
            }
            let is_new = self.snd_nxt == self.snd_max;
            let why = match (is_new, len > 0, fin) {
                (false, _, _) => Why::RtoResend,
                _ if self.sws_override => Why::SwsOverride,
                (true, true, true) => Why::DataFin,
                (true, false, true) => Why::Fin,
                (true, _, false) => Why::Data,
            };
            let mut seg = self.segment(self.snd_nxt, flags, len, why);
            seg.tag = self.send_buf.tag_at(offset);
            self.snd_nxt = self.snd_nxt + len + fin as u32;
            if self.snd_nxt.gt(self.snd_max) {
                self.snd_max = self.snd_nxt;
            }
            if is_new && self.rtt_probe.is_none() {
                self.rtt_probe = Some((self.snd_nxt, now));
            }
            self.emit(seg);
            self.arm_retransmit(now, false);
        }
    }

    /// With data waiting and nothing in flight (so no ACK will come to restart sending),
    /// arm the persist timer, backing off like the RTO. On a zero window it sends probes
    /// (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17), so a lost window update cannot stall the
    /// connection; on a small one it is the override timeout of sender silly-window
    /// avoidance (RFC 1122 §4.2.3.4, which suggests combining the two timers).
    fn arm_persist(&mut self, now: u64, waiting: bool) {
        if !waiting || self.timers.retransmit.is_some() {
            self.timers.persist = None;
            self.probes = 0;
        } else if self.timers.persist.is_none() {
            let backoff = self
                .rto
                .rto()
                .checked_shl(self.probes.min(30))
                .unwrap_or(u64::MAX);
            self.timers.persist = Some(now + backoff.min(self.cfg.rto_max));
        }
    }

    /// The persist timer fired: probe a zero window, or send the small segment that
    /// silly-window avoidance held back.
    fn on_persist(&mut self, now: u64) {
        if self.snd_wnd > 0 {
            self.sws_override = true;
            self.try_send(now);
            self.sws_override = false;
        } else {
            self.probe_window(now);
        }
    }

    /// Sends one octet at SND.UNA past the closed window ("at least one octet of new data
    /// (if available)"), which the receiver answers with an ACK showing its window.
    fn probe_window(&mut self, now: u64) {
        let offset = (self.snd_una - (self.iss + 1)) as u64;
        let mut seg = self.segment(self.snd_una, Flags::ACK, 1, Why::WindowProbe);
        seg.tag = self.send_buf.tag_at(offset);
        if self.snd_max == self.snd_una {
            self.snd_max = self.snd_una + 1;
        }
        self.snd_nxt = self.snd_nxt.max(self.snd_una + 1);
        self.probes += 1;
        self.events.push(ConnEvent::WindowProbe);
        self.emit(seg);
        self.arm_persist(now, true);
    }

    /// Fast retransmit (RFC 5681 §3.2 step 2) or a partial ACK in fast recovery (RFC
    /// 6582 §3.2 step 3): resend the segment at SND.UNA without rewinding SND.NXT.
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
            .min(self.send_buf.run_len_at(offset));
        let fin = self.fin_queued && len == avail && self.snd_max.gt(data_end);
        if len == 0 && !fin {
            return;
        }
        let flags = if fin {
            Flags::ACK | Flags::FIN
        } else {
            Flags::ACK
        };
        let mut seg = self.segment(self.snd_una, flags, len, why);
        seg.tag = self.send_buf.tag_at(offset);
        self.rtt_probe = None; // Karn's rule
        self.stats.retransmits += 1;
        self.emit(seg);
        self.arm_retransmit(now, false);
    }

    fn report_congestion(&mut self, phase: Phase) {
        if let Some(cc) = &self.cc {
            let (cwnd, ssthresh) = (cc.cwnd, cc.ssthresh);
            self.events.push(ConnEvent::Congestion {
                phase,
                cwnd,
                ssthresh,
            });
        }
    }

    /// Sender-side silly window avoidance and Nagle (RFC 1122 §4.2.3.4): send a full
    /// segment, or at least half the largest window the peer offered, or everything queued
    /// when nothing is unacknowledged (Nagle) — or at any time when Nagle is off.
    /// Retransmissions always go, and so does whatever the override timeout releases.
    fn may_send(&self, len: u32, avail: u32) -> bool {
        let idle = self.snd_una == self.snd_max;
        len == self.eff_snd_mss()
            || self.snd_nxt.lt(self.snd_max)
            || len >= self.max_snd_wnd / 2
            || (len == avail && (idle || !self.cfg.nagle))
            || self.sws_override
    }

    fn send_syn(&mut self, now: u64, why: Why) {
        let flags = if self.state == State::SynReceived {
            Flags::SYN | Flags::ACK
        } else {
            Flags::SYN
        };
        let mut seg = self.segment(self.iss, flags, 0, why);
        seg.mss = Some(self.cfg.mss);
        (seg.wscale, seg.ts) = self
            .opts
            .syn_options(&self.cfg, flags.contains(Flags::ACK), now);
        self.emit(seg);
        self.arm_retransmit(now, false);
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`
    fn send_ack(&mut self, why: Why) {
        let seg = self.segment(self.snd_max, Flags::ACK, 0, why);
        self.emit(seg);
    }

    /// A segment from this connection with our window, and ACK=RCV.NXT when `flags` has ACK.
    fn segment(&self, seq: Seq, flags: Flags, len: u32, why: Why) -> Segment {
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
            // A reset advertises no window, as real stacks do (the RFC leaves it open).
            wnd: if flags.contains(Flags::RST) {
                0
            } else {
                self.rcv_wnd.min(u16::MAX as u32) as u16
            },
            len,
            tag: Tag::default(),
            mss: None,
            wscale: None,
            ts: None,
            why,
        }
    }

    /// A control segment with explicit seq/ack (resets answering a bad segment).
    fn reply(&self, seq: Seq, ack: Seq, flags: Flags, why: Why) -> Segment {
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

    fn emit(&mut self, mut seg: Segment) {
        if seg.has(Flags::ACK) {
            // Any segment carrying an ACK acknowledges what was pending.
            self.unacked_bytes = 0;
            self.timers.delayed_ack = None;
        }
        self.opts.stamp(&mut seg, self.rcv_wnd, self.last_now);
        self.stats.segments_sent += 1;
        self.out.push(seg);
    }

    /// RFC 5961 §7: at most `challenge_ack_limit` challenge ACKs a second.
    fn challenge_ack(&mut self, now: u64) {
        let (start, count) = self.challenges;
        let (start, count) = if now >= start + super::SECOND {
            (now, 0)
        } else {
            (start, count)
        };
        let suppressed = count >= self.cfg.challenge_ack_limit;
        self.challenges = (start, count + !suppressed as u32);
        self.events.push(ConnEvent::ChallengeAck { suppressed });
        if !suppressed {
            self.send_ack(Why::ChallengeAck);
        }
    }

    /// SND.WND from a segment's window field (scaled unless it is a SYN).
    fn set_snd_wnd(&mut self, seg: &Segment) {
        self.snd_wnd = self.opts.peer_window(seg);
        self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
    }

    /// A SYN from the peer: its MSS, window and the options it offers.
    fn on_peer_syn(&mut self, syn: &Segment) {
        self.take_peer_mss(syn);
        self.opts.on_peer_syn(&self.cfg, syn, self.last_now);
        if self.cfg.congestion_control {
            self.cc = Some(NewReno::new(
                self.eff_snd_mss(),
                self.cfg.initial_window,
                self.iss,
            ));
        }
        self.rcv_wnd = self
            .cfg
            .window
            .min((u16::MAX as u32) << self.opts.rcv_wscale);
        self.set_snd_wnd(syn);
    }

    /// Linux's tcp_tw_reuse (a setting): a new connect() may take over this 4-tuple from
    /// TIME_WAIT when timestamps were on and the last one arrived over a second ago, so
    /// PAWS will tell the incarnations apart.
    pub fn reusable_from_time_wait(&self, now: u64) -> bool {
        self.tw.as_ref().is_some_and(|tw| tw.reusable(now))
    }

    /// What a SYN arriving in TIME_WAIT should do (see [`TimeWait::reopen`]).
    pub fn time_wait_reopen(&self, syn: &Segment) -> Reopen {
        self.tw
            .as_ref()
            .map_or(Reopen::Process, |tw| tw.reopen(syn))
    }

    /// The compact record of a connection in TIME_WAIT; the rest can be dropped.
    pub fn time_wait(&self) -> Option<&TimeWait> {
        self.tw.as_ref()
    }

    /// RFC 9293 §3.7.1 / RFC 6691 §2: the payload per segment is the peer's MSS less the
    /// TCP options every segment carries (12 bytes of timestamps once negotiated).
    fn eff_snd_mss(&self) -> u32 {
        let options = if self.opts.ts_ok { 12 } else { 0 };
        (self.snd_mss as u32).saturating_sub(options).max(1)
    }

    fn take_peer_mss(&mut self, syn: &Segment) {
        self.snd_mss = syn.mss.unwrap_or(DEFAULT_MSS).min(self.cfg.mss).max(1);
    }

    fn enter_time_wait(&mut self, now: u64, why: Why) {
        self.timers = Timers::default();
        self.set_state(State::TimeWait, why);
        self.tw = Some(TimeWait::new(TimeWaitSeed {
            local: self.local,
            remote: self.remote,
            snd_nxt: self.snd_max,
            rcv_nxt: self.rcv_nxt,
            iss: self.iss,
            irs: self.irs,
            rcv_wnd: self.rcv_wnd,
            rcv_wscale: self.opts.rcv_wscale,
            ts_ok: self.opts.ts_ok,
            ts_recent: self.opts.ts_recent,
            ts_recent_at: self.opts.ts_recent_at,
            now,
            cfg: self.cfg.clone(),
        }));
    }

    /// A passively opened connection still in SYN_RECEIVED goes back to LISTEN (the host
    /// then drops it: its listener never left LISTEN); anything else goes to CLOSED.
    fn enter_closed_or_listen(&mut self, why: Why) {
        if self.state == State::SynReceived && self.passive {
            self.timers = Timers::default();
            self.set_state(State::Listen, Why::RstBackToListen);
        } else {
            self.enter_closed(why);
        }
    }

    fn enter_closed(&mut self, why: Why) {
        self.timers = Timers::default();
        self.set_state(State::Closed, why);
    }

    /// The one place where the state changes, so every change is reported.
    fn set_state(&mut self, to: State, why: Why) {
        if self.state != to {
            self.events.push(ConnEvent::StateChange {
                from: self.state,
                to,
                why,
            });
            self.state = to;
        }
    }
}
