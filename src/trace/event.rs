//! The typed events a run produces. Every output (text, JSON, summary) consumes these,
//! so formats never disagree. Events hold indices and numbers, no strings: building one
//! costs nothing when nobody renders it.

use crate::scenario::model::Call;
use crate::tcp::{Endpoint, Phase, Segment, State, Why};

/// A connection as the trace names it: its id, the host it lives on, its two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRef {
    pub id: u32,
    pub host: u32,
    pub local: Endpoint,
    pub remote: Endpoint,
}

/// Why a link or fault did something to a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Loss,
    QueueFull,
    /// The link is down (a partition fault, by index).
    LinkDown(u32),
    /// A targeted `[[fault]]`, by index.
    Fault(u32),
    Reorder,
    Duplication,
    /// No route from this node to the destination address.
    NoRoute,
    /// The destination host is down (a crash fault, by index).
    HostDown(u32),
}

/// What happened to a segment on one link direction (or at its source, for faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fate {
    pub dropped: Option<Cause>,
    /// Delivered, but the receiver's checksum check will discard it.
    pub corrupted: bool,
    pub duplicated: Option<Cause>,
    /// Extra delay beyond the link's delay and jitter, in ns.
    pub delayed: Option<(u64, Cause)>,
}

impl Fate {
    /// The fate of a segment lost for `cause` and nothing else.
    pub fn dropped(cause: Cause) -> Self {
        Fate {
            dropped: Some(cause),
            ..Fate::default()
        }
    }

    pub fn is_pass(&self) -> bool {
        *self == Fate::default()
    }

    /// The one-word fate of the JSON contract: the most consequential thing that happened.
    pub fn word(&self) -> &'static str {
        if self.dropped.is_some() {
            "dropped"
        } else if self.corrupted {
            "corrupted"
        } else if self.duplicated.is_some() {
            "duplicated"
        } else if self.delayed.is_some() {
            "delayed"
        } else {
            "delivered"
        }
    }
}

/// Something a connection's TCP did on its own: a timer firing, or a rule applied to a
/// segment that deserves a line of its own in the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpNote {
    /// RFC 6298 §5.5: retransmission timeout; `rto` is the doubled timeout.
    Retransmit {
        attempt: u32,
        rto: u64,
    },
    TimeWaitExpired,
    /// A retransmitted FIN (`fin`), or another acceptable segment taken for one (RFC 9293
    /// §3.10.7.4 fifth step), was ACKed and restarted the TIME_WAIT timer.
    TimeWaitRestart {
        fin: bool,
    },
    /// A valid RST closed the connection in this state without telling the application
    /// (in TIME_WAIT this cuts TIME_WAIT short: the hazard of RFC 1337).
    ResetInState(State),
    /// RFC 7323 §5.3: an old duplicate rejected by PAWS.
    PawsRejected,
    /// RFC 5961: a challenge ACK (or one the rate limit suppressed).
    ChallengeAck {
        suppressed: bool,
    },
    /// RFC 1337: an RST ignored in TIME_WAIT.
    RstIgnored,
    /// The FIN_WAIT_2 timeout expired.
    FinWait2Timeout,
    /// A new SYN ended TIME_WAIT to open a new incarnation of the 4-tuple.
    Reopened,
    /// A local connect() took the 4-tuple over from TIME_WAIT (tw_reuse).
    TimeWaitReused,
    /// NewReno changed phase; cwnd and ssthresh after the change, in bytes.
    Congestion {
        phase: Phase,
        cwnd: u32,
        ssthresh: u32,
    },
    /// RFC 9293 §3.8.6.1: a zero-window probe (`old_seq`: Linux's, at SND.UNA − 1).
    WindowProbe {
        old_seq: bool,
    },
}

impl TcpNote {
    /// Timers get the "timer" label in transcripts, the rest "tcp".
    pub fn is_timer(self) -> bool {
        matches!(
            self,
            TcpNote::Retransmit { .. } | TcpNote::TimeWaitExpired | TcpNote::FinWait2Timeout
        )
    }
}

/// What an application did or was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEvent {
    Listen {
        port: u16,
    },
    Connect,
    Accept,
    Send {
        bytes: u64,
    },
    Receive {
        bytes: u32,
    },
    /// A slow reader took this many bytes from the receive buffer.
    Read {
        bytes: u64,
    },
    Eof,
    Shutdown,
    Close,
    /// ABORT; `rst`: a RST was sent (RFC 9293 §3.10.5: not in SYN_SENT, CLOSING,
    /// LAST_ACK or TIME_WAIT, where the TCB is only deleted).
    Abort {
        rst: bool,
    },
    /// A timed step's call that did nothing, and why.
    Skipped {
        call: Call,
        error: CallError,
    },
    Refused,
    Reset,
    TimedOut,
    /// No free ephemeral port, or the bound port is in use with the same peer.
    PortUnavailable {
        port: u16,
    },
    /// A SYN was dropped because the listener's backlog was full.
    BacklogFull {
        port: u16,
    },
}

/// Why an application call did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// The connection is gone (CLOSED and deleted, or its host crashed) or was never
    /// opened (no free port, host down at the start).
    NoConnection,
    /// RFC 9293 §3.10.2–3.10.4 "error: connection closing": a SEND or CLOSE after CLOSE,
    /// a RECEIVE in TIME_WAIT.
    Closing,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// A segment entering a link direction `from → to` (node indices). Emitted when a host
    /// sends it, and again at later hops only when its fate there is not a plain pass.
    Segment {
        seg: Segment,
        from: u32,
        to: u32,
        fate: Fate,
    },
    /// A state change and the rule behind it.
    State {
        conn: ConnRef,
        from: State,
        to: State,
        why: Why,
    },
    /// A timer or a TCP rule worth reporting (see [`TcpNote`]).
    Tcp { conn: ConnRef, note: TcpNote },
    App {
        host: u32,
        conn: Option<ConnRef>,
        what: AppEvent,
    },
    /// A link direction went down or came back (partition faults).
    Link {
        from: u32,
        to: u32,
        up: bool,
        fault: u32,
    },
    /// The integrity check found bytes that are not what the peer's application sent.
    Integrity {
        conn: ConnRef,
        offset: u64,
        len: u32,
    },
    /// The run stopped early: the event budget ran out.
    Budget { limit: u64 },
    /// A host crashed (losing all TCP state) or came back (a crash fault, by index).
    Host { host: u32, up: bool, fault: u32 },
    /// A hand-written `[[inject]]` segment (by index) enters the network; `seg` is None
    /// when its target connection did not exist at that time.
    Inject {
        index: u32,
        seg: Option<Segment>,
        from: u32,
    },
    /// An invariant of the simulation broke (a bug in tcpsim, reported rather than hidden).
    Invariant { conn: ConnRef, what: Invariant },
}

/// The invariants checked in every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    /// A new connection has the 4-tuple of a live one.
    DuplicateFourTuple,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Virtual time in nanoseconds.
    pub t: u64,
    pub kind: EventKind,
}
