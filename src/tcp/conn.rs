//! One TCP connection as a sans-IO state machine (RFC 9293 §3.10).
//!
//! Inputs are `handle_segment`, `handle_timeout` and the user calls (`send`, `read`,
//! `close`, `abort`), each given `now` in nanoseconds. Outputs are drained by the caller:
//! `drain_transmit` (segments to send), `drain_events` (what happened) and `poll_timeout`
//! (the next deadline). Nothing here knows about clocks, queues or links.
//!
//! The control block lives here with the user calls and the state changes; segment
//! arrival (RFC 9293 §3.10.7) is in `arrival.rs`, the receive side's text handling in
//! `receive.rs`, and everything that sends (data, retransmission, probes, the timers that
//! drive them) in `send.rs`.

use std::sync::Arc;

use super::buffers::{Reassembly, SendBuffer};
use super::congestion::{NewReno, Phase};
use super::linux_ack::LinuxAcks;
use super::linux_window::{LinuxWindow, SegmentMemory};
use super::options::Options;
use super::rto::RtoEstimator;
use super::rules::{ChallengeLimiter, OowRateLimit};
use super::sack::{ReceiverSack, Scoreboard};
use super::time_wait::{TimeWait, TimeWaitSeed};
use super::timers::Timers;
use super::{AckPolicy, Config, Endpoint, Flags, SECOND, Segment, Seq, State, SynData, Tag, Why};

/// RFC 9293 §3.7.1: the MSS to assume when the peer sends no MSS option.
pub(super) const DEFAULT_MSS: u16 = 536;

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
    /// A retransmitted FIN (`fin`), or another acceptable segment RFC 9293's fifth step
    /// takes for one, arrived in TIME_WAIT: it was ACKed and 2×MSL restarted.
    TimeWaitRestart {
        fin: bool,
    },
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
    /// RFC 9293 §3.8.6.1: the peer's window is zero; one octet (or the FIN) probes it, or
    /// with `old_seq` a bare ACK at SND.UNA − 1 (Linux `tcp_xmit_probe_skb`).
    WindowProbe {
        old_seq: bool,
    },
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
    /// Segments sent again, what tshark calls retransmissions: every segment that starts
    /// below SND.NXT (a resent SYN, SYN,ACK or FIN, go-back-N resends after a timeout,
    /// fast retransmits, partial-ACK retransmits), but not a zero-window probe or its
    /// re-send (the probe is not data in flight).
    pub retransmits: u64,
    /// Retransmission timeouts: how often the retransmission timer expired.
    pub timeouts: u64,
    /// Congestion window and slow-start threshold in bytes (0 without congestion control).
    pub cwnd: u32,
    pub ssthresh: u32,
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

/// RFC 9293 §3.8.6.1: the peer offers a zero window while something waits to be sent.
/// While this lasts the only thing in flight is at most one probe (the octet at SND.UNA,
/// or the FIN), which is not data in flight: its replies are not duplicate ACKs and the
/// retransmission timer does not run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ZeroWindow {
    /// Probes sent so far, for the exponential backoff (SHLD-30).
    pub backoff: u32,
    /// Probes the peer has not answered; only these can time the connection out
    /// (MUST-37: "As long as the receiving TCP peer continues to send acknowledgments in
    /// response to the probe segments, the sending TCP peer MUST allow the connection to
    /// stay open").
    pub unanswered: u32,
}

/// What a connection's constructor takes its settings from: a host's shared
/// `Arc<Config>` (kept, not copied), or a plain `&Config` (copied once into a new `Arc`).
pub trait SharedConfig {
    fn shared(self) -> Arc<Config>;
}

impl SharedConfig for &Config {
    fn shared(self) -> Arc<Config> {
        Arc::new(self.clone())
    }
}

impl SharedConfig for &Arc<Config> {
    fn shared(self) -> Arc<Config> {
        Arc::clone(self)
    }
}

/// A TCP connection's control block (RFC 9293 §3.3.1 names).
#[derive(Debug, Clone)]
pub struct Connection {
    pub local: Endpoint,
    pub remote: Endpoint,
    pub(super) state: State,
    /// Shared with the host (and its group): settings are read on every segment, and one
    /// copy that stays in cache beats a ~500-byte copy per connection that does not.
    pub(super) cfg: Arc<Config>,
    /// Opened by a listener (passive OPEN): an RST in SYN_RECEIVED returns to LISTEN.
    pub(super) passive: bool,
    // Send sequence space (RFC 9293 §3.3.1).
    pub(super) iss: Seq,
    pub(super) snd_una: Seq,
    /// SND.NXT: every sequence number below it has been sent at least once.
    pub(super) snd_nxt: Seq,
    /// Where sending continues below SND.NXT, and why: after a retransmission timeout
    /// (go-back-N from SND.UNA) or when a refused window probe must be sent again. None:
    /// the next segment starts at SND.NXT.
    pub(super) resend_from: Option<(Seq, Why)>,
    pub(super) snd_wnd: u32,
    pub(super) snd_wl1: Seq,
    pub(super) snd_wl2: Seq,
    /// Largest payload the peer accepts (its MSS option, bounded by ours).
    pub(super) snd_mss: u16,
    /// The largest window the peer has offered (RFC 5961 §5.2 MAX.SND.WND).
    pub(super) max_snd_wnd: u32,
    // Receive sequence space.
    pub(super) irs: Seq,
    pub(super) rcv_nxt: Seq,
    pub(super) rcv_wnd: u32,
    /// RCV.USER of RFC 9293 §3.8.6.2.2: bytes delivered in order, not yet read.
    pub(super) unread: u64,
    /// With `rmem_per_segment`: the delivered segments not yet read whole.
    pub(super) rmem: SegmentMemory,
    pub(super) send_buf: SendBuffer,
    pub(super) reasm: Reassembly,
    /// The SACK blocks our ACKs carry (RFC 2018 §4), once negotiated.
    pub(super) rsack: ReceiverSack,
    /// What the peer SACKed of ours (RFC 6675 §3), once SACK is negotiated.
    pub(super) scoreboard: Scoreboard,
    /// Linux `tlp_high_seq`: SND.NXT when the outstanding tail loss probe went.
    pub(super) tlp_high_seq: Option<Seq>,
    /// New data went out since the send timer was last armed (a loss probe restarts).
    pub(super) sent_new_data: bool,
    /// A loss probe is being sent: one new segment may go beyond cwnd and Nagle.
    pub(super) probing_loss: bool,
    /// Where the most recently sent new segment starts (the one a loss probe resends).
    pub(super) last_seg_start: Seq,
    /// Text and FIN that came on the peer's SYN, "queued for processing after the
    /// ESTABLISHED state has been reached" (RFC 9293 §3.10.7.2–3).
    pub(super) syn_text: Option<Box<Segment>>,
    /// Application called CLOSE: a FIN follows the queued data.
    pub(super) fin_queued: bool,
    pub(super) timers: Timers,
    pub(super) rto: RtoEstimator,
    /// Retransmission timeouts since SND.UNA last advanced (RFC 1122 §4.2.3.5 counts
    /// retransmissions of the same segment against R2).
    pub(super) timeouts: u32,
    /// How often the SYN or SYN,ACK was retransmitted (RFC 6298 §5.7; Linux's cwnd).
    pub(super) syn_retransmits: u32,
    /// The TSecr of the segment being processed, for a timestamp RTT sample.
    pub(super) arrival_tsecr: Option<u32>,
    /// Linux's `snd_sml`: the end of the last short segment sent (Minshall's Nagle).
    pub(super) snd_sml: Seq,
    /// Linux's out-of-window rate limit (`tp->last_oow_ack_time`, and the request
    /// socket's for a repeated SYN in SYN_RECEIVED).
    pub(super) oow: OowRateLimit,
    /// When the first SYN went (Linux gives a SYN up by time too).
    pub(super) syn_sent_at: u64,
    /// The application called CLOSE and reads nothing more (half-duplex close).
    pub(super) rcv_shutdown: bool,
    /// New segments sent since the last PSH (Linux's GSO packets, `push_per_gso`).
    pub(super) segs_since_push: u32,
    /// With `fin_needs_cwnd`: where each segment sent for the first time ends, while not
    /// yet acknowledged (Linux's `packets_out`, the retransmission queue's skbs).
    pub(super) seg_ends: std::collections::VecDeque<Seq>,
    /// With `rack`: the segments in flight, RACK and PRR (Linux's recovery).
    pub(super) rack: super::rack::Rack,
    /// With `rack`: when the reorder timer is due (`ICSK_TIME_REO_TIMEOUT`).
    pub(super) reo_at: Option<u64>,
    /// With `rack`: data bytes the last ACK acknowledged, for the controller once the
    /// recovery state is known.
    pub(super) rack_acked: u32,
    /// With `rack`: this ACK showed a late original (`tcp_try_undo_partial`): resend
    /// nothing more on it.
    pub(super) hold_resends: bool,
    /// Segment timed for an RTT sample: (sequence number that acknowledges it, send time).
    /// Karn's rule: cleared whenever anything is retransmitted.
    pub(super) rtt_probe: Option<(Seq, u64)>,
    /// With CUBIC: (end, send time) of each new data segment not yet ACKed, for the
    /// controller's RTT samples (never resent ones: Karn's rule).
    pub(super) sent_times: std::collections::VecDeque<(Seq, u64)>,
    /// NewReno state (None when congestion control is off).
    pub(super) cc: Option<NewReno>,
    /// In-order bytes received since our last ACK (delayed ACK: ACK every second segment).
    pub(super) unacked_bytes: u32,
    pub(super) zero_window: Option<ZeroWindow>,
    /// The persist timer releases a segment silly-window avoidance held back.
    pub(super) sws_override: bool,
    /// When data was last sent, for the restart window after idle (RFC 5681 §4.1).
    pub(super) last_data_sent: u64,
    pub(super) opts: Options,
    /// Linux's ACK machinery and receive window (used with `ack_policy = "linux"`).
    pub(super) lack: LinuxAcks,
    pub(super) lwin: LinuxWindow,
    pub(super) challenges: ChallengeLimiter,
    /// The `now` of the latest input, for outputs produced by calls that take no time.
    pub(super) last_now: u64,
    /// In TIME_WAIT everything is handled by this small record (see [`TimeWait`]).
    pub(super) tw: Option<TimeWait>,
    /// The TIME_WAIT record whose 4-tuple this connection's SYN reopened: it comes back if
    /// the SYN proves an old duplicate (RFC 1122 §4.2.2.13 (2)).
    pub(super) reopened: Option<Box<TimeWait>>,
    pub(super) out: Vec<Segment>,
    pub(super) events: Vec<ConnEvent>,
    pub(super) stats: ConnStats,
}

impl Connection {
    fn new(
        local: Endpoint,
        remote: Endpoint,
        iss: Seq,
        cfg: impl SharedConfig,
        stream: u32,
    ) -> Self {
        let shared = cfg.shared();
        let cfg: &Config = &shared;
        Connection {
            local,
            remote,
            state: State::Closed,
            cfg: Arc::clone(&shared),
            passive: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            resend_from: None,
            snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            snd_mss: DEFAULT_MSS.min(cfg.mss),
            max_snd_wnd: 0,
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_wnd: cfg.window.min(u16::MAX as u32),
            unread: 0,
            rmem: SegmentMemory::default(),
            send_buf: SendBuffer::new(stream),
            reasm: Reassembly::default(),
            rsack: ReceiverSack::default(),
            scoreboard: Scoreboard::default(),
            tlp_high_seq: None,
            sent_new_data: false,
            probing_loss: false,
            last_seg_start: iss,
            syn_text: None,
            fin_queued: false,
            timers: Timers::default(),
            rto: match cfg.rtt_estimator {
                super::RttEstimator::Rfc6298 => {
                    RtoEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max)
                }
                super::RttEstimator::Linux => RtoEstimator::linux(
                    cfg.rto_initial,
                    cfg.rto_min,
                    cfg.rto_max,
                    SECOND / u64::from(cfg.hz.max(1)),
                ),
            },
            timeouts: 0,
            syn_retransmits: 0,
            arrival_tsecr: None,
            snd_sml: iss,
            oow: OowRateLimit::default(),
            syn_sent_at: 0,
            rcv_shutdown: false,
            segs_since_push: 0,
            seg_ends: std::collections::VecDeque::new(),
            rack: super::rack::Rack::default(),
            reo_at: None,
            rack_acked: 0,
            hold_resends: false,
            rtt_probe: None,
            sent_times: std::collections::VecDeque::new(),
            cc: None,
            unacked_bytes: 0,
            zero_window: None,
            sws_override: false,
            last_data_sent: 0,
            opts: Options::default(),
            lack: LinuxAcks::new(SECOND / u64::from(cfg.hz.max(1)), cfg.delayed_ack.is_none()),
            lwin: {
                let w = LinuxWindow::new(if cfg.window_is_sockopt {
                    cfg.window.min(super::linux_window::RMEM_MAX) * 2
                } else {
                    cfg.window
                });
                if cfg.rcv_autotune {
                    w.autotuned(super::linux_window::AUTOTUNE_MAX)
                } else {
                    w
                }
            },
            challenges: ChallengeLimiter::default(),
            last_now: 0,
            tw: None,
            reopened: None,
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
        cfg: impl SharedConfig,
        stream: u32,
    ) -> Self {
        let mut c = Connection::new(local, remote, iss, cfg, stream);
        c.last_now = now;
        if c.linux_acks() {
            c.rcv_wnd = c.lwin.syn_window(u32::from(c.cfg.mss));
        }
        c.set_state(State::SynSent, Why::ActiveOpen);
        c.snd_nxt = iss + 1;
        c.syn_sent_at = now;
        c.send_syn(now, Why::ActiveOpen);
        c
    }

    /// A SYN reached a LISTEN socket (RFC 9293 §3.10.7.2 third check): "Set RCV.NXT to
    /// SEG.SEQ+1, IRS is set to SEG.SEQ, and any other control or text should be queued
    /// for processing later. ISS should be selected and a SYN segment sent of the form
    /// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>." The caller has already ruled out RST and ACK.
    pub fn accept(now: u64, syn: &Segment, iss: Seq, cfg: impl SharedConfig, stream: u32) -> Self {
        let mut c = Connection::new(syn.dst, syn.src, iss, cfg, stream);
        c.last_now = now;
        c.passive = true;
        // The new connection starts as a copy of the LISTEN socket (RFC 9293 §3.10.7.2).
        c.state = State::Listen;
        c.rcv_nxt = syn.seq + 1;
        c.irs = syn.seq;
        c.on_peer_syn(syn);
        c.queue_syn_text(syn);
        c.snd_wl1 = syn.seq;
        c.snd_nxt = iss + 1;
        c.set_state(State::SynReceived, Why::PassiveOpen);
        c.send_syn(now, Why::PassiveOpen);
        c
    }

    /// [`Connection::accept`] for a SYN that reopened `old`'s 4-tuple from TIME_WAIT; the
    /// record returns if the SYN proves an old duplicate (RFC 1122 §4.2.2.13 (2)).
    pub fn accept_reopening(
        now: u64,
        syn: &Segment,
        iss: Seq,
        cfg: impl SharedConfig,
        stream: u32,
        old: TimeWait,
    ) -> Self {
        let mut c = Connection::accept(now, syn, iss, cfg, stream);
        c.reopened = Some(Box::new(old));
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
    /// SND.NXT: just past the highest sequence number sent.
    pub fn snd_nxt(&self) -> Seq {
        self.snd_nxt
    }
    pub fn rcv_nxt(&self) -> Seq {
        self.rcv_nxt
    }
    pub fn rcv_wnd(&self) -> u32 {
        self.rcv_wnd
    }
    /// The peer's window, SND.WND, in bytes.
    pub fn snd_wnd(&self) -> u32 {
        self.snd_wnd
    }
    /// The retransmission timeout currently in force (with backoff).
    pub fn rto(&self) -> u64 {
        self.rto.rto()
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
        match &self.tw {
            Some(tw) => tw.poll_timeout(),
            None => self.timers.next(),
        }
    }

    // ----- user calls (RFC 9293 §3.10.2–3.10.5) ---------------------------------------

    /// RECEIVE: the application takes up to `max` delivered bytes, freeing buffer space.
    /// Returns how many it got.
    pub fn read(&mut self, now: u64, max: u64) -> u64 {
        self.last_now = now;
        let n = max.min(self.unread);
        self.unread -= n;
        self.rmem.read(n);
        if self.linux_acks() {
            self.linux_after_read(n);
        } else {
            self.open_window();
        }
        n
    }

    /// Bytes delivered but not yet read.
    pub fn unread(&self) -> u64 {
        self.unread
    }

    /// Receive memory in use, in bytes: what is unread, plus (`rmem_per_segment`) what was
    /// read of a segment not yet read whole. The Linux window is what the buffer has left.
    pub(super) fn charged(&self) -> u64 {
        self.unread + self.rmem.read_but_held()
    }

    /// SEND: queue `len` bytes whose first byte is `tag`. Refused (false) once CLOSE was
    /// called or the connection is not open (RFC 9293 §3.10.2: queued in SYN_SENT and
    /// SYN_RECEIVED, "error: connection closing" once closing).
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
            // "If no SENDs have been issued and there is no pending data to send, then form
            // a FIN segment and send it, and enter FIN-WAIT-1 state; otherwise, queue for
            // processing after entering ESTABLISHED state."
            State::SynReceived if self.send_buf.written() == 0 => {
                self.fin_queued = true;
                self.set_state(State::FinWait1, Why::CloseFromSynReceived);
                self.try_send(now);
            }
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
            // FIN-WAIT-1/2, CLOSING, LAST-ACK, TIME-WAIT: "error: connection closing".
            _ => {}
        }
    }

    /// CLOSE by an application that also stops reading (the scenario's `close`, as opposed
    /// to `shutdown`). With `half_duplex_close` (RFC 1122 §4.2.2.13, Linux `tcp_close`)
    /// unread data turns the FIN into a RST, and data arriving later draws one.
    pub fn close_and_stop_reading(&mut self, now: u64) {
        self.last_now = now;
        if !self.cfg.half_duplex_close {
            return self.close(now);
        }
        if self.unread > 0 && self.tw.is_none() && self.state.is_synchronized() {
            let rst = self.segment(
                self.snd_nxt,
                Flags::RST | Flags::ACK,
                0,
                Why::CloseWithUnreadData,
            );
            self.emit(rst);
            return self.enter_closed(Why::CloseWithUnreadData);
        }
        self.rcv_shutdown = true;
        self.close(now);
    }

    /// ABORT (RFC 9293 §3.10.5): send RST where the peer may hold state, then CLOSED.
    /// "CLOSING, LAST-ACK, TIME-WAIT STATES: Respond with 'ok' and delete the TCB."
    /// Returns whether a RST went out.
    pub fn abort(&mut self) -> bool {
        if let Some(tw) = self.tw.as_mut() {
            tw.abort(&mut self.events);
            self.state = tw.state();
            return false;
        }
        let reset = matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        );
        if reset {
            // "<SEQ=SND.NXT><CTL=RST>" (Linux adds ACK = RCV.NXT)
            let flags = if self.cfg.reset_with_ack {
                Flags::RST | Flags::ACK
            } else {
                Flags::RST
            };
            let rst = self.segment(self.snd_nxt, flags, 0, Why::Abort);
            self.emit(rst);
        }
        self.enter_closed(if reset {
            Why::Abort
        } else {
            Why::AbortSilently
        });
        reset
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
        if self.timers.compressed_ack.is_some_and(|t| t <= now) {
            // tcp_compressed_ack_kick: the SACKs held back go now, as one ACK.
            self.send_ack(Why::AckOutOfOrder);
        }
        if self.timers.delayed_ack.is_some_and(|t| t <= now) {
            if self.linux_acks() {
                self.lack.on_delack_timer(self.rto.rto());
            }
            self.send_ack(Why::DelayedAck);
        }
        self.on_send_timer(now);
    }

    // ----- the SYN's options and text ----------------------------------------------------

    /// The receiver follows Linux's ACK policy and window.
    pub(super) fn linux_acks(&self) -> bool {
        self.cfg.ack_policy == AckPolicy::Linux
    }

    /// The MSS this side announced, less the options every segment carries (Linux's
    /// advmss once established).
    pub(super) fn advmss(&self) -> u32 {
        u32::from(self.cfg.mss).saturating_sub(if self.opts.ts.ok { 12 } else { 0 })
    }

    /// A SYN from the peer: its MSS, window and the options it offers.
    pub(super) fn on_peer_syn(&mut self, syn: &Segment) {
        self.snd_mss = syn.mss.unwrap_or(DEFAULT_MSS).min(self.cfg.mss).max(1);
        self.opts.on_peer_syn(&self.cfg, syn, self.last_now);
        if self.cfg.congestion_control {
            self.cc = Some(NewReno::with(
                self.eff_snd_mss(),
                self.cfg.initial_window,
                self.iss,
                self.cfg.congestion,
                (self.last_now, self.cfg.hz),
            ));
        }
        self.rcv_wnd = if self.linux_acks() {
            // tcp_openreq_init_rwin: a listener rounds to segments without the timestamps
            // option when the SYN carried it; a client keeps its SYN's window.
            match self.state {
                State::SynSent => self.rcv_wnd,
                _ => self.lwin.syn_window(self.advmss()),
            }
        } else {
            self.cfg
                .window
                .min((u16::MAX as u32) << self.opts.rcv_wscale)
        };
        self.set_snd_wnd(self.opts.peer_window(syn));
    }

    /// Keeps what followed the SYN octet (text, FIN) for after ESTABLISHED, unless the
    /// profile drops it (Linux without Fast Open: `tcp_conn_request` ignores SYN data).
    pub(super) fn queue_syn_text(&mut self, syn: &Segment) {
        let rest = syn.past_syn();
        if self.cfg.syn_data == SynData::Queue && (rest.len > 0 || rest.has(Flags::FIN)) {
            self.syn_text = Some(Box::new(rest));
        }
    }

    /// SND.WND (and MAX.SND.WND) from a window already in bytes.
    pub(super) fn set_snd_wnd(&mut self, window: u32) {
        self.snd_wnd = window;
        self.max_snd_wnd = self.max_snd_wnd.max(window);
    }

    /// RFC 9293 §3.7.1 / RFC 6691 §2: the payload per segment is the peer's MSS less the
    /// TCP options every segment carries (12 bytes of timestamps once negotiated).
    pub(super) fn eff_snd_mss(&self) -> u32 {
        let options = if self.opts.ts.ok { 12 } else { 0 };
        (self.snd_mss as u32).saturating_sub(options).max(1)
    }

    // ----- TIME_WAIT ----------------------------------------------------------------------

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

    pub(super) fn enter_time_wait(&mut self, now: u64, why: Why) {
        self.timers = Timers::default();
        self.set_state(State::TimeWait, why);
        self.tw = Some(TimeWait::new(TimeWaitSeed {
            local: self.local,
            remote: self.remote,
            snd_nxt: self.snd_nxt,
            rcv_nxt: self.rcv_nxt,
            iss: self.iss,
            irs: self.irs,
            rcv_wnd: self.rcv_wnd,
            rcv_wscale: self.opts.rcv_wscale,
            ts: self.opts.ts,
            now,
            cfg: &self.cfg,
        }));
    }

    // ----- state changes ------------------------------------------------------------------

    /// "Return this connection to the LISTEN state" (`why`: the RST or SYN that did it): a
    /// passively opened connection still in SYN_RECEIVED (the host then drops it: its
    /// listener never left LISTEN), or — for one that reopened a TIME_WAIT 4-tuple — back
    /// to that TIME_WAIT (RFC 1122 §4.2.2.13 (2)); anything else goes to CLOSED.
    pub(super) fn enter_closed_or_listen(&mut self, why: Why) {
        if self.state != State::SynReceived || !self.passive {
            return self.enter_closed(why);
        }
        self.timers = Timers::default();
        let back = self
            .reopened
            .take()
            .filter(|_| self.cfg.reopen_old_duplicate == super::ReopenOldDuplicate::TimeWait);
        match back {
            Some(tw) => {
                self.set_state(State::TimeWait, Why::OldDuplicateBackToTimeWait);
                self.tw = Some(*tw);
            }
            None => self.set_state(State::Listen, why),
        }
    }

    pub(super) fn enter_closed(&mut self, why: Why) {
        self.timers = Timers::default();
        self.zero_window = None;
        self.set_state(State::Closed, why);
    }

    /// The one place where the state changes, so every change is reported.
    pub(super) fn set_state(&mut self, to: State, why: Why) {
        let opening = matches!(self.state, State::SynSent | State::SynReceived);
        if opening && to.is_synchronized() && self.linux_acks() {
            // tcp_init_transfer: the receive buffer and the receiver's MSS estimate.
            self.lwin.establish(self.advmss());
            self.lack
                .init_rcv_mss(self.advmss(), self.rcv_wnd, self.rcv_nxt);
        }
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
